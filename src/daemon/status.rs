//! The status file of a mount and `vecsfs status`: which database a mountpoint serves, which
//! processes serve it, since when, and how often it was brought back. The serving process
//! writes the file once the mount is ready and removes it when it ends cleanly; a file left by
//! a killed daemon is recognised by its dead pid.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::mountinfo::{self, MountState};

/// Where status files live unless `VECSFS_RUN_DIR` says otherwise.
pub const DEFAULT_RUN_DIR: &str = "/run/vecsfs";

/// What the serving process records.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    pub mountpoint: PathBuf,
    pub database: PathBuf,
    pub pid: u32,
    /// The supervisor that restarts the server, if any.
    pub supervisor_pid: Option<u32>,
    /// Serving since (unix seconds).
    pub since: u64,
    pub restarts: u32,
    /// When and why the server was last brought back.
    pub last_restart: Option<(u64, String)>,
}

pub fn run_dir() -> PathBuf {
    std::env::var_os("VECSFS_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_RUN_DIR))
}

/// The status file of `mountpoint`: its path escaped the way systemd names mount units
/// (`/etc/vecs` → `etc-vecs`), so one directory holds every mount's file.
pub fn file_for(mountpoint: &Path) -> PathBuf {
    let mut name = String::new();
    let path = mountpoint.as_os_str().as_encoded_bytes();
    let path = path.strip_prefix(b"/").unwrap_or(path);
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    for (i, &b) in trimmed.iter().enumerate() {
        match b {
            b'/' => name.push('-'),
            b'.' if i == 0 => name.push_str("\\x2e"),
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' => name.push(b as char),
            b => {
                let _ = write!(name, "\\x{b:02x}");
            }
        }
    }
    if name.is_empty() {
        name.push('-');
    }
    run_dir().join(format!("{name}.status"))
}

impl Status {
    fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "mountpoint={}", self.mountpoint.display());
        let _ = writeln!(out, "database={}", self.database.display());
        let _ = writeln!(out, "pid={}", self.pid);
        if let Some(pid) = self.supervisor_pid {
            let _ = writeln!(out, "supervisor_pid={pid}");
        }
        let _ = writeln!(out, "since={}", self.since);
        let _ = writeln!(out, "restarts={}", self.restarts);
        if let Some((when, why)) = &self.last_restart {
            let _ = writeln!(out, "last_restart={when} {}", why.replace('\n', " "));
        }
        out
    }

    fn parse(text: &str) -> Status {
        let mut status = Status::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key {
                "mountpoint" => status.mountpoint = PathBuf::from(value),
                "database" => status.database = PathBuf::from(value),
                "pid" => status.pid = value.parse().unwrap_or(0),
                "supervisor_pid" => status.supervisor_pid = value.parse().ok(),
                "since" => status.since = value.parse().unwrap_or(0),
                "restarts" => status.restarts = value.parse().unwrap_or(0),
                "last_restart" => {
                    status.last_restart = value
                        .split_once(' ')
                        .and_then(|(when, why)| Some((when.parse().ok()?, why.to_string())))
                }
                _ => {}
            }
        }
        status
    }

    /// Writes the file atomically (temp + rename), world-readable: it names paths and pids
    /// only, and `vecsfs status` should work for every user.
    pub fn save(&self) -> io::Result<()> {
        let path = file_for(&self.mountpoint);
        let dir = path.parent().unwrap_or(Path::new("/"));
        if !dir.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)?;
            // Explicitly: the service runs with UMask=0077, and every user may ask for status.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        }
        let temp = path.with_extension(format!("status.{}", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&temp)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        file.write_all(self.render().as_bytes())?;
        std::fs::rename(&temp, &path)
    }

    pub fn load(mountpoint: &Path) -> io::Result<Status> {
        std::fs::read_to_string(file_for(mountpoint)).map(|text| Status::parse(&text))
    }

    /// Removes the file if it is still this process's (a newer server may have replaced it).
    pub fn remove(&self) {
        if Status::load(&self.mountpoint).is_ok_and(|s| s.pid == self.pid) {
            let _ = std::fs::remove_file(file_for(&self.mountpoint));
        }
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// Alive and not a zombie: a supervisor killed while its own parent does not reap it still
/// answers kill(2).
fn running(pid: u32) -> bool {
    alive(pid) && !super::leader_is_dead(pid)
}

/// The health of a mountpoint, as `vecsfs status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Mounted, answering, its server alive.
    Healthy(Status),
    /// Mounted but dead (the server is gone; access fails with ENOTCONN).
    Dead(Option<Status>),
    /// Something answers there, but not a vecsfs mount, or one this host has no status of.
    Foreign(String),
    NotMounted,
}

impl Health {
    /// The exit code of `vecsfs status`, after LSB's status codes: 0 healthy, 1 dead, 3 not
    /// mounted (4: unknown).
    pub fn exit_code(&self) -> u8 {
        match self {
            Health::Healthy(_) => 0,
            Health::Dead(_) => 1,
            Health::NotMounted => 3,
            Health::Foreign(_) => 4,
        }
    }
}

pub fn check(mountpoint: &Path) -> io::Result<Health> {
    let mountpoint = mountinfo::absolute_without_following_last(mountpoint)?;
    let status = Status::load(&mountpoint).ok();
    Ok(match mountinfo::state_of(&mountpoint)? {
        MountState::Free => Health::NotMounted,
        MountState::Dead(_) => Health::Dead(status),
        MountState::Live(entry) if !entry.is_vecs() => {
            Health::Foreign(format!("a {} filesystem is mounted there", entry.fstype))
        }
        MountState::Live(entry) => match status {
            Some(s) if alive(s.pid) => Health::Healthy(s),
            Some(s) => Health::Dead(Some(s)),
            None => Health::Foreign(format!(
                "a vecsfs mount of {} with no status file in {}",
                entry.source.to_string_lossy(),
                run_dir().display()
            )),
        },
    })
}

/// The report `vecsfs status` prints.
pub fn report(mountpoint: &Path, health: &Health) -> String {
    let mut out = String::new();
    let shown = mountpoint.display();
    match health {
        Health::Healthy(s) => {
            let _ = writeln!(out, "{shown}: healthy");
            describe(&mut out, s);
        }
        Health::Dead(s) => {
            let _ = writeln!(
                out,
                "{shown}: dead (the daemon is gone; access fails with \"Transport endpoint is \
                 not connected\"; its supervisor or `vecsfs` at start replaces the mount)"
            );
            if let Some(s) = s {
                describe(&mut out, s);
            }
        }
        Health::Foreign(what) => {
            let _ = writeln!(out, "{shown}: unknown: {what}");
        }
        Health::NotMounted => {
            let _ = writeln!(out, "{shown}: not mounted");
        }
    }
    out
}

/// The trust sync's line of the report, when the database has a source.
fn trust_sync_line(db: &crate::store::Database) -> Option<String> {
    let lines = crate::sync::status_lines(db).ok()?;
    let get = |key: &str| {
        lines
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if get("source") == "none" {
        return None;
    }
    let result = match get("last_result").as_str() {
        "ok" => "ok".to_string(),
        "failed" => format!("failed: {}", get("last_error")),
        _ => "not run yet".to_string(),
    };
    Some(format!(
        "  trust sync: {}, last run {} {result}",
        get("source"),
        get("last_run")
    ))
}

fn describe(out: &mut String, s: &Status) {
    let now = now();
    let _ = writeln!(out, "  database:  {}", s.database.display());
    let supervisor = match s.supervisor_pid {
        Some(pid) if running(pid) => format!(", supervised by pid {pid}"),
        Some(pid) => format!(
            ", NOT supervised: supervisor pid {pid} is gone, so a crash would not be \
             recovered (umount and mount again to restore it)"
        ),
        None => String::new(),
    };
    let _ = writeln!(out, "  daemon:    pid {}{supervisor}", s.pid);
    let _ = writeln!(
        out,
        "  serving since {} ({} ago)",
        utc(s.since),
        ago(now.saturating_sub(s.since))
    );
    match &s.last_restart {
        Some((when, why)) => {
            let _ = writeln!(
                out,
                "  restarts:  {}, the last at {}: {why}",
                s.restarts,
                utc(*when)
            );
        }
        None => {
            let _ = writeln!(out, "  restarts:  {}", s.restarts);
        }
    }
    // What the database says, when this user can read it (it is 0600 root's).
    let db = s
        .database
        .is_file()
        .then(|| crate::store::Database::open(&s.database).ok())
        .flatten();
    if let Some(db) = db {
        if let Some(line) = trust_sync_line(&db) {
            let _ = writeln!(out, "{line}");
        }
        for line in pending_lines(&db) {
            let _ = writeln!(out, "{line}");
        }
    }
}

/// One line per pair rotation half-done: the half written first waits for its partner.
fn pending_lines(db: &crate::store::Database) -> Vec<String> {
    let pending = db.pending_halves().unwrap_or_default();
    pending
        .into_iter()
        .map(|p| {
            let (written, missing) = match p.half {
                crate::store::Half::Cert => ("cert.pem", "key.pem"),
                crate::store::Half::Key => ("key.pem", "cert.pem"),
            };
            format!(
                "  pending:   {}/{}: {written} written {}, waiting for its {missing}",
                p.store,
                p.alias,
                crate::pki::utc(p.since)
            )
        })
        .collect()
}

fn ago(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC`, from unix seconds.
pub fn utc(unix: u64) -> String {
    crate::pki::utc(i64::try_from(unix).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_files_are_named_like_systemd_mount_units() {
        let name = |p: &str| {
            file_for(Path::new(p))
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        };
        assert_eq!(name("/etc/vecs"), "etc-vecs.status");
        assert_eq!(name("/tmp/a b/.x"), "tmp-a\\x20b-.x.status");
        assert_eq!(name("/"), "-.status");
    }

    #[test]
    fn status_round_trips() {
        let status = Status {
            mountpoint: "/etc/vecs".into(),
            database: "/var/lib/vecs/vecs.db".into(),
            pid: 42,
            supervisor_pid: Some(41),
            since: 1_795_760_000,
            restarts: 2,
            last_restart: Some((1_795_759_999, "killed by signal 9".into())),
        };
        assert_eq!(Status::parse(&status.render()), status);
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_795_760_000), "2026-11-27 06:13:20 UTC");
    }
}
