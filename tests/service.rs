//! The mount as a service: the real mount(8) with the `mount.vecs` helper installed where it
//! looks for helpers (`/sbin/mount.vecs`), fstab lines, each way mounting can fail, systemd's
//! readiness protocol and fstab generator, and recovery from a daemon killed with SIGKILL,
//! with nothing acknowledged lost. Runs as root (CI does).
//!
//! The helper under test is the build's `mount-vecs` (beside the `vecsfs` under test); while
//! any test here runs, `/sbin/mount.vecs` is a symlink to it, and whatever was there before is
//! put back when the last one ends ([`HelperInstalled`]).

#[path = "support/mount.rs"]
mod mount;

mod common;

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::Mutex;
use std::time::Duration;

use common::{openssl, run_command, NEW_EC_P256_KEY};
use mount::{is_mounted, require_fuse, vecsfs_bin, wait_for};

/// How long any one command (mount, umount, vecs-cli) may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a killed daemon may take to be brought back.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(15);
/// Where mount(8) looks for the helper of type `vecs`.
const HELPER_LINK: &str = "/sbin/mount.vecs";

// -------------------------------------------------------------------------------------------
// The helper, installed for the duration of the tests
// -------------------------------------------------------------------------------------------

/// The build's helper, beside the `vecsfs` under test. Cargo names it `mount-vecs` (a crate
/// name cannot hold a dot); it is installed as `mount.vecs`.
fn helper_bin() -> PathBuf {
    let path = Path::new(vecsfs_bin()).with_file_name("mount-vecs");
    assert!(
        path.is_file(),
        "{} is missing: the tests need the whole workspace built (`cargo test --workspace`, \
         as scripts/test.sh runs it)",
        path.display()
    );
    path
}

/// What was at [`HELPER_LINK`] before the first live test replaced it, and how many tests hold
/// the replacement.
struct Installation {
    holders: usize,
    previous: Option<PathBuf>,
}

static INSTALLATION: Mutex<Installation> = Mutex::new(Installation {
    holders: 0,
    previous: None,
});

/// While alive, mount(8) runs the build's helper.
struct HelperInstalled;

impl HelperInstalled {
    fn new() -> HelperInstalled {
        require_fuse();
        let target = helper_bin();
        let mut state = INSTALLATION.lock().unwrap_or_else(|p| p.into_inner());
        if state.holders == 0 {
            let link = Path::new(HELPER_LINK);
            state.previous = match std::fs::symlink_metadata(link) {
                // A link to this very helper is a leftover of a killed test run: not restored.
                Ok(meta) if meta.file_type().is_symlink() => std::fs::read_link(link)
                    .ok()
                    .filter(|previous| *previous != target),
                Ok(_) => panic!(
                    "{HELPER_LINK} is a file, not a symlink: an installed vecsfs? The tests \
                     would replace it with the build's helper; run scripts/uninstall.sh first"
                ),
                Err(_) => None,
            };
            replace_link(link, &target);
        }
        state.holders += 1;
        HelperInstalled
    }
}

impl Drop for HelperInstalled {
    fn drop(&mut self) {
        let mut state = INSTALLATION.lock().unwrap_or_else(|p| p.into_inner());
        state.holders -= 1;
        if state.holders == 0 {
            let link = Path::new(HELPER_LINK);
            match state.previous.take() {
                Some(previous) => replace_link(link, &previous),
                None => {
                    let _ = std::fs::remove_file(link);
                }
            }
        }
    }
}

/// Points `link` at `target` atomically (a new symlink renamed over the old one).
fn replace_link(link: &Path, target: &Path) {
    let temp = link.with_file_name(format!(".mount.vecs.{}", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    std::os::unix::fs::symlink(target, &temp)
        .unwrap_or_else(|e| panic!("symlink {}: {e}", temp.display()));
    std::fs::rename(&temp, link).unwrap_or_else(|e| panic!("rename to {}: {e}", link.display()));
}

// -------------------------------------------------------------------------------------------
// A mount made through mount(8), torn down on drop
// -------------------------------------------------------------------------------------------

/// A private database and mountpoint. Dropping it unmounts whatever is mounted there and
/// kills the daemons it recorded, even when the test panicked.
struct ServiceMount {
    _helper: HelperInstalled,
    dir: tempfile::TempDir,
    db: PathBuf,
    mountpoint: PathBuf,
    run_dir: PathBuf,
    /// Every daemon pid seen, for the teardown.
    pids: Mutex<Vec<u32>>,
}

impl ServiceMount {
    fn new() -> ServiceMount {
        let helper = HelperInstalled::new();
        let dir = tempfile::Builder::new()
            .prefix("vecsfs-service-")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        let mountpoint = root.join("mnt");
        std::fs::create_dir(&mountpoint).expect("mountpoint");
        ServiceMount {
            _helper: helper,
            db: root.join("db/vecs.db"),
            run_dir: root.join("run"),
            mountpoint,
            dir,
            pids: Mutex::new(Vec::new()),
        }
    }

    /// Makes the database directory (a missing one is refused).
    fn with_db_dir(self) -> ServiceMount {
        std::fs::create_dir_all(self.db.parent().expect("db dir")).expect("db dir");
        self
    }

    /// A command with this mount's status directory in its environment.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("VECSFS_RUN_DIR", &self.run_dir)
            .env_remove("VECS_DB");
        cmd
    }

    fn run(&self, program: &str, args: &[&str]) -> (ExitStatus, String) {
        run_command(self.command(program).args(args), COMMAND_TIMEOUT)
    }

    /// `mount -t vecs DB MOUNTPOINT` plus `extra`.
    fn mount(&self, extra: &[&str]) -> (ExitStatus, String) {
        let (db, mnt) = (self.db_str(), self.mnt_str());
        let mut args = vec!["-t", "vecs", db.as_str(), mnt.as_str()];
        args.extend_from_slice(extra);
        let result = self.run("mount", &args);
        self.remember_pids();
        result
    }

    #[track_caller]
    fn mount_ok(&self, extra: &[&str]) {
        let (status, out) = self.mount(extra);
        assert!(status.success(), "mount {extra:?}: {status}: {out}");
    }

    fn db_str(&self) -> String {
        self.db.to_string_lossy().into_owned()
    }

    fn mnt_str(&self) -> String {
        self.mountpoint.to_string_lossy().into_owned()
    }

    fn status(&self) -> (i32, String) {
        let (status, out) = self.run(vecsfs_bin(), &["status", &self.mnt_str()]);
        (status.code().unwrap_or(-1), out)
    }

    /// The (supervisor, server) pids of the status file.
    fn pids(&self) -> Option<(Option<u32>, u32)> {
        let file = self.run_dir.join(status_file_name(&self.mountpoint));
        let text = std::fs::read_to_string(file).ok()?;
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .and_then(|v| v.parse::<u32>().ok())
        };
        Some((field("supervisor_pid"), field("pid")?))
    }

    fn remember_pids(&self) {
        if let Some((supervisor, server)) = self.pids() {
            let mut pids = self.pids.lock().unwrap_or_else(|p| p.into_inner());
            pids.extend(supervisor);
            pids.push(server);
        }
    }

    fn cli(&self, args: &[&str]) -> (ExitStatus, String) {
        let mut full = args.to_vec();
        let db = self.db_str();
        full.extend(["--db", db.as_str()]);
        self.run(common::vecs_cli(), &full)
    }

    fn log_hint(&self) -> String {
        let (_, status) = self.status();
        format!("vecsfs status: {status}")
    }
}

impl Drop for ServiceMount {
    fn drop(&mut self) {
        // Supervisors first, so that nothing restarts what is being torn down.
        let pids = self.pids.lock().map(|p| p.clone()).unwrap_or_default();
        if is_mounted(&self.mountpoint) {
            let mnt = self.mnt_str();
            let (status, _) = run_command(Command::new("umount").arg(&mnt), COMMAND_TIMEOUT);
            if !status.success() {
                let _ = run_command(Command::new("umount").args(["-l", &mnt]), COMMAND_TIMEOUT);
            }
        }
        for pid in pids {
            if let Ok(pid) = libc::pid_t::try_from(pid) {
                // SAFETY: kill(2); the pid was one of this test's daemons.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        if is_mounted(&self.mountpoint) {
            let _ = run_command(
                Command::new("umount").args(["-l", &self.mnt_str()]),
                COMMAND_TIMEOUT,
            );
        }
        let _ = &self.dir;
    }
}

/// The status file's name: the mountpoint escaped as systemd names mount units.
fn status_file_name(mountpoint: &Path) -> String {
    vecsfs::daemon::status::file_for(mountpoint)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// The pids of the processes whose command line names `text` (the daemons of one database).
fn processes_naming(text: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.split(|b| *b == 0).any(|arg| arg == text.as_bytes()))
        })
        .collect()
}

fn listing(dir: &Path) -> io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<io::Result<_>>()?;
    names.sort();
    Ok(names)
}

/// A self-signed certificate in `dir`, as a path.
fn certificate(dir: &Path, name: &str) -> PathBuf {
    let (key, cert, subject) = (
        format!("{name}.key"),
        format!("{name}.pem"),
        format!("/CN={name}"),
    );
    let mut args = vec!["req", "-x509"];
    args.extend(NEW_EC_P256_KEY);
    args.extend([
        "-keyout", &key, "-out", &cert, "-subj", &subject, "-days", "2",
    ]);
    openssl(dir, &args);
    dir.join(cert)
}

// -------------------------------------------------------------------------------------------
// Tests
// -------------------------------------------------------------------------------------------

/// mount(8) returns once the mount serves: the tree is there at once, with the database as
/// the source; `vecsfs status` says so; `umount` stops both daemons cleanly.
#[test]
fn mount8_mounts_when_ready_and_umount_stops_the_daemon() {
    let m = ServiceMount::new().with_db_dir();
    m.mount_ok(&[]);
    let names = listing(&m.mountpoint).expect("ls right after mount returned");
    assert!(
        names.contains(&"TRUSTED_ROOTS".to_string()) && names.contains(&"MACHINE_SSL_CERT".into()),
        "{names:?}"
    );
    let (_, findmnt) = m.run(
        "findmnt",
        &["-n", "-o", "SOURCE,FSTYPE,OPTIONS", &m.mnt_str()],
    );
    assert!(
        findmnt.contains(&m.db_str()) && findmnt.contains("fuse.vecs"),
        "{findmnt}"
    );
    for option in ["nosuid", "nodev", "noexec"] {
        assert!(findmnt.contains(option), "{option}: {findmnt}");
    }
    let (code, text) = m.status();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("healthy") && text.contains(&m.db_str()),
        "{text}"
    );
    let (supervisor, server) = m.pids().expect("status file");
    let supervisor = supervisor.expect("mount.vecs starts a supervised daemon");
    assert!(alive(supervisor) && alive(server));
    assert!(
        text.contains(&format!(
            "daemon:    pid {server}, supervised by pid {supervisor}"
        )),
        "{text}"
    );
    // "serving since <UTC time> (N s ago)": this mount is seconds old.
    let since = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("serving since "))
        .unwrap_or_else(|| panic!("no serving-since line: {text}"));
    let ago: u64 = since
        .split_once(" (")
        .and_then(|(_, rest)| rest.strip_suffix(" s ago)"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("serving since {since}"));
    assert!(ago < 60 && since.contains(" UTC "), "serving since {since}");
    let status_file = m.run_dir.join(status_file_name(&m.mountpoint));
    assert!(status_file.is_file());

    let (status, out) = m.run("umount", &[&m.mnt_str()]);
    assert!(status.success(), "umount: {out}");
    let gone = wait_for(COMMAND_TIMEOUT, || !alive(supervisor) && !alive(server));
    assert!(gone.is_some(), "the daemons outlived umount");
    let (code, text) = m.status();
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("not mounted"), "{text}");
    assert!(!status_file.exists(), "umount left the status file");

    // Another filesystem there: status says so and does not call it healthy or dead.
    let (status, out) = m.run("mount", &["-t", "tmpfs", "vecs-test", &m.mnt_str()]);
    assert!(status.success(), "mount tmpfs: {out}");
    let (code, text) = m.status();
    let (status, out) = m.run("umount", &[&m.mnt_str()]);
    assert!(status.success(), "umount tmpfs: {out}");
    assert_eq!(code, 4, "{text}");
    assert!(
        text.contains("unknown: a tmpfs filesystem is mounted there"),
        "{text}"
    );
}

/// Each way a mount can fail gives mount(8)'s exit code (1 for usage, 32 for a mount failure)
/// and the helper's own message, and leaves nothing behind: nothing mounted, no daemon, no
/// status file, and no database created.
#[test]
fn mount8_failures_are_reported_clearly() {
    let m = ServiceMount::new();
    let check = |what: &str, result: (ExitStatus, String), code: i32, expected: &str| {
        let (status, out) = result;
        assert_eq!(status.code(), Some(code), "{what}: {status}: {out}");
        assert!(
            out.contains(&format!("mount.vecs: {expected}")),
            "{what}: expected the helper to say {expected:?}, it said: {out}"
        );
        assert!(!is_mounted(&m.mountpoint), "{what}: something was mounted");
        assert!(!m.db.exists(), "{what}: the database was created");
        assert!(
            !m.run_dir.join(status_file_name(&m.mountpoint)).exists(),
            "{what}: a status file was left"
        );
        let daemons = processes_naming(&m.db_str());
        assert!(daemons.is_empty(), "{what}: daemons left: {daemons:?}");
    };
    let mount_on = |mountpoint: &Path| {
        m.run(
            "mount",
            &["-t", "vecs", &m.db_str(), &mountpoint.to_string_lossy()],
        )
    };

    // No database directory: a typo in fstab must not create a store somewhere else.
    let db_dir = m.db.parent().expect("db dir");
    check(
        "no database directory",
        m.mount(&[]),
        32,
        &format!("database directory {} does not exist", db_dir.display()),
    );
    assert!(!db_dir.exists());
    std::fs::create_dir_all(db_dir).expect("db dir");

    check(
        "an unknown option",
        m.mount(&["-o", "bogus"]),
        1,
        "unknown mount option bogus",
    );
    // mount(8) drops `exec` (its default) before calling the helper; called directly, the
    // helper refuses it: the mount is always noexec.
    check(
        "exec on a certificate store",
        m.run(
            &helper_bin().to_string_lossy(),
            &[&m.db_str(), &m.mnt_str(), "-o", "exec"],
        ),
        1,
        "option exec is not supported",
    );

    let missing = m.mountpoint.with_file_name("missing");
    check(
        "missing mountpoint",
        mount_on(&missing),
        32,
        &format!("mountpoint {} does not exist", missing.display()),
    );
    let file = m.mountpoint.with_file_name("a-file");
    std::fs::write(&file, b"").expect("file");
    check(
        "mountpoint is a file",
        mount_on(&file),
        32,
        &format!("mountpoint {} is not a directory", file.display()),
    );

    // Busy: another filesystem on the mountpoint. It stays, untouched.
    let (status, out) = m.run("mount", &["-t", "tmpfs", "vecs-test", &m.mnt_str()]);
    assert!(status.success(), "mount tmpfs: {out}");
    std::fs::write(m.mountpoint.join("kept"), b"tmpfs data").expect("write on tmpfs");
    let (status, out) = m.mount(&[]);
    let (_, findmnt) = m.run("findmnt", &["-n", "-o", "FSTYPE", &m.mnt_str()]);
    let kept = std::fs::read(m.mountpoint.join("kept"));
    let (unmounted, umount_out) = m.run("umount", &[&m.mnt_str()]);
    assert!(unmounted.success(), "umount tmpfs: {umount_out}");
    assert_eq!(status.code(), Some(32), "mount on tmpfs: {out}");
    assert!(
        out.contains("mount.vecs:") && out.contains("already mounted (tmpfs"),
        "mount on tmpfs: {out}"
    );
    assert_eq!(findmnt.trim(), "tmpfs", "the tmpfs is still the mount");
    assert_eq!(kept.ok().as_deref(), Some(&b"tmpfs data"[..]));
    assert!(!m.db.exists(), "mount on tmpfs created the database");

    // Busy: a second mount on a live one. The first keeps serving.
    m.mount_ok(&[]);
    let (status, out) = m.mount(&[]);
    assert_eq!(status.code(), Some(32), "second mount: {out}");
    assert!(out.contains("already mounted"), "second mount: {out}");
    assert_eq!(m.status().0, 0, "the first mount is untouched");
    let (status, out) = m.run("umount", &[&m.mnt_str()]);
    assert!(status.success(), "umount: {out}");
    let gone = wait_for(COMMAND_TIMEOUT, || processes_naming(&m.db_str()).is_empty());
    assert!(gone.is_some(), "daemons outlived umount");
    std::fs::remove_file(&m.db).expect("remove the database the mount made");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", m.db_str()));
    }

    // No /dev/fuse: in a private mount namespace whose /dev is a tmpfs holding only null.
    let script = format!(
        "mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 && \
         exec mount -t vecs '{}' '{}'",
        m.db_str(),
        m.mnt_str()
    );
    check(
        "without /dev/fuse",
        m.run(
            "unshare",
            &["--mount", "--propagation", "private", "sh", "-c", &script],
        ),
        32,
        "cannot open /dev/fuse",
    );
}

/// The options mount(8), fstab and systemd pass by habit are accepted; `-f` mounts nothing.
#[test]
fn habitual_options_are_accepted_and_fake_mounts_nothing() {
    let m = ServiceMount::new().with_db_dir();
    let (status, out) = m.mount(&["-f", "-o", "defaults"]);
    assert!(status.success(), "mount -f: {out}");
    assert!(!is_mounted(&m.mountpoint), "mount -f mounted");

    m.mount_ok(&[
        "-o",
        "rw,defaults,_netdev,nofail,noauto,x-systemd.requires=network.target,x-systemd.automount,nosuid,nodev,noexec,noatime",
    ]);
    assert_eq!(m.status().0, 0);
    let (status, out) = m.run("umount", &[&m.mnt_str()]);
    assert!(status.success(), "umount: {out}");

    // ro: everything reads, nothing writes, root included.
    m.mount_ok(&["-o", "ro"]);
    let target = m.mountpoint.join("BACKUP_STORE/x");
    let err = std::fs::create_dir(&target).expect_err("mkdir on a read-only mount");
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    let (status, out) = m.run("umount", &[&m.mnt_str()]);
    assert!(status.success(), "umount: {out}");
}

/// A line in fstab works with `mount MOUNTPOINT` and `mount -a`; systemd's fstab generator
/// makes a mount unit of it.
#[test]
fn an_fstab_line_mounts_with_mount_and_mount_a() {
    let m = ServiceMount::new().with_db_dir();
    let fstab = m.dir.path().join("fstab");
    std::fs::write(
        &fstab,
        format!(
            "# vecsfs\n{}  {}  vecs  defaults  0  0\n",
            m.db_str(),
            m.mnt_str()
        ),
    )
    .expect("fstab");
    let fstab = fstab.to_string_lossy().into_owned();

    let (status, out) = m.run("mount", &["-T", &fstab, &m.mnt_str()]);
    m.remember_pids();
    assert!(status.success(), "mount MOUNTPOINT: {out}");
    assert!(listing(&m.mountpoint.join("TRUSTED_ROOTS")).is_ok());
    let (status, out) = m.run("umount", &[&m.mnt_str()]);
    assert!(status.success(), "umount: {out}");

    let (status, out) = m.run("mount", &["-a", "-t", "vecs", "-T", &fstab]);
    m.remember_pids();
    assert!(status.success(), "mount -a: {out}");
    assert_eq!(m.status().0, 0, "{}", m.log_hint());
    // Already mounted: `mount -a` leaves it alone and succeeds.
    let (status, out) = m.run("mount", &["-a", "-t", "vecs", "-T", &fstab]);
    assert!(status.success(), "mount -a again: {out}");
    let (status, out) = m.run("umount", &[&m.mnt_str()]);
    assert!(status.success(), "umount: {out}");

    let generator = [
        "/usr/lib/systemd/system-generators/systemd-fstab-generator",
        "/lib/systemd/system-generators/systemd-fstab-generator",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists());
    let generator =
        generator.expect("systemd-fstab-generator is not installed (apt-get install systemd)");
    let out_dir = m.dir.path().join("generated");
    std::fs::create_dir(&out_dir).expect("generator dir");
    let out_str = out_dir.to_string_lossy().into_owned();
    let (status, out) = run_command(
        Command::new(generator)
            .args([&out_str, &out_str, &out_str])
            .env("SYSTEMD_FSTAB", &fstab)
            .env("SYSTEMD_LOG_LEVEL", "debug"),
        COMMAND_TIMEOUT,
    );
    assert!(status.success(), "fstab generator: {out}");
    let unit_name = format!(
        "{}.mount",
        status_file_name(&m.mountpoint).trim_end_matches(".status")
    );
    let unit = std::fs::read_to_string(out_dir.join(&unit_name))
        .unwrap_or_else(|e| panic!("{unit_name} not generated ({e}): {out}"));
    assert!(unit.contains(&format!("What={}", m.db_str())), "{unit}");
    assert!(unit.contains(&format!("Where={}", m.mnt_str())), "{unit}");
    assert!(unit.contains("Type=vecs"), "{unit}");
    // A local mount: local-fs.target waits for it, so services see /etc/vecs at start.
    let wants = out_dir.join("local-fs.target.requires").join(&unit_name);
    assert!(
        wants.exists()
            || out_dir
                .join("local-fs.target.wants")
                .join(&unit_name)
                .exists(),
        "local-fs.target does not pull in {unit_name}: {out}"
    );
    assert!(unit.contains("Before=local-fs.target"), "{unit}");
}

/// A daemon killed with SIGKILL leaves a dead mount; its supervisor detaches it and mounts
/// again. If the supervisor dies too (what systemd's Restart= answers), starting the service
/// again does the same. Nothing acknowledged is lost either way.
#[test]
fn a_killed_daemon_comes_back_with_nothing_lost() {
    let m = ServiceMount::new().with_db_dir();
    m.mount_ok(&[]);
    let certs = m.dir.path().join("certs");
    std::fs::create_dir(&certs).expect("certs dir");
    let by_cli = certificate(&certs, "by-cli");
    let by_mount = certificate(&certs, "by-mount");
    let (status, out) = m.cli(&[
        "entry",
        "create",
        "--store",
        "TRUSTED_ROOTS",
        "--alias",
        "by-cli",
        "--cert",
        &by_cli.to_string_lossy(),
    ]);
    assert!(status.success(), "vecs-cli: {out}");
    let alias_dir = m.mountpoint.join("TRUSTED_ROOTS/by-mount");
    std::fs::create_dir(&alias_dir).expect("mkdir alias");
    std::fs::copy(&by_mount, alias_dir.join("cert.pem")).expect("cp through the mount");
    let expected = listing(&m.mountpoint.join("TRUSTED_ROOTS")).expect("ls");
    assert!(expected.contains(&"by-cli".to_string()) && expected.contains(&"by-mount".into()));

    // 1. The server dies; the supervisor brings the mount back.
    let (supervisor, server) = m.pids().expect("status file");
    let supervisor = supervisor.expect("supervised");
    // SAFETY: kill(2) of the test's own daemon.
    assert_eq!(unsafe { libc::kill(server as i32, libc::SIGKILL) }, 0);
    let back = wait_for(RECOVERY_TIMEOUT, || {
        m.pids().is_some_and(|(_, pid)| pid != server && alive(pid))
            && listing(&m.mountpoint.join("TRUSTED_ROOTS")).is_ok_and(|l| l == expected)
    });
    m.remember_pids();
    let took = back.unwrap_or_else(|| panic!("the mount did not come back: {}", m.log_hint()));
    println!("recovery by the supervisor: {took:?}");
    let (code, text) = m.status();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("restarts:  1") && text.contains("signal 9"),
        "{text}"
    );
    assert!(alive(supervisor));

    // 2. Everything dies at once: the mount is dead until the service starts again.
    let (_, server) = m.pids().expect("status file");
    for pid in [supervisor, server] {
        // SAFETY: kill(2) of the test's own daemons.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
    assert!(wait_for(RECOVERY_TIMEOUT, || !alive(supervisor) && !alive(server)).is_some());
    let err = listing(&m.mountpoint).expect_err("a dead mount");
    assert_eq!(err.raw_os_error(), Some(libc::ENOTCONN), "{err}");
    let (code, text) = m.status();
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("dead"), "{text}");
    // What the unit's ExecStart runs after systemd's restart (and what `mount` does too).
    m.mount_ok(&[]);
    assert_eq!(
        listing(&m.mountpoint.join("TRUSTED_ROOTS")).expect("ls after the restart"),
        expected
    );
    let cert = std::fs::read(m.mountpoint.join("TRUSTED_ROOTS/by-mount/cert.pem"))
        .expect("the certificate written through the mount");
    assert_eq!(cert, std::fs::read(&by_mount).expect("source"));
    let (status, out) = m.run("umount", &[&m.mnt_str()]);
    assert!(status.success(), "umount: {out}");
}

/// A server killed while writers keep the mount busy can be left half dead: a thread stuck in
/// the kernel on an invalidation that waits for a lookup only that server could answer (found
/// by tests/crash_consistency.rs). The supervisor aborts such a connection and brings the
/// mount back; the writers get errors, never hang. Three kills, each in a storm of
/// mkdir + cp through the mount.
#[test]
fn a_server_killed_in_a_storm_of_writes_comes_back() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc};

    let m = ServiceMount::new().with_db_dir();
    m.mount_ok(&[]);
    let certs = m.dir.path().join("certs");
    std::fs::create_dir(&certs).expect("certs dir");
    let cert = std::fs::read(certificate(&certs, "storm")).expect("certificate");
    for round in 0..3 {
        let stop = Arc::new(AtomicBool::new(false));
        let (done_tx, done_rx) = mpsc::channel();
        for writer in 0..3 {
            let (stop, done_tx, cert) = (Arc::clone(&stop), done_tx.clone(), cert.clone());
            let store = m.mountpoint.join("TRUSTED_ROOTS");
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let dir = store.join(format!("storm-{round}-{writer}-{n}"));
                    // Errors are expected once the server is dead: keep going until told.
                    let _ = std::fs::create_dir(&dir)
                        .and_then(|()| std::fs::write(dir.join("cert.pem"), &cert));
                    n += 1;
                }
                let _ = done_tx.send(n);
            });
        }
        drop(done_tx);
        std::thread::sleep(Duration::from_millis(300));
        let (_, server) = m.pids().expect("status file");
        // SAFETY: kill(2) of the test's own daemon.
        assert_eq!(unsafe { libc::kill(server as i32, libc::SIGKILL) }, 0);
        let back = wait_for(RECOVERY_TIMEOUT, || {
            m.pids().is_some_and(|(_, pid)| pid != server && alive(pid))
                && listing(&m.mountpoint.join("TRUSTED_ROOTS")).is_ok()
        });
        m.remember_pids();
        stop.store(true, Ordering::SeqCst);
        let took = back.unwrap_or_else(|| {
            panic!(
                "round {round}: the mount did not come back: {}",
                m.log_hint()
            )
        });
        let writes: Vec<u32> = (0..3)
            .map(|_| {
                done_rx.recv_timeout(RECOVERY_TIMEOUT).unwrap_or_else(|_| {
                    panic!(
                        "round {round}: a writer hangs on the mount: {}",
                        m.log_hint()
                    )
                })
            })
            .collect();
        println!("round {round}: back after {took:?}; writers made {writes:?} attempts");
    }
    let (status, out) = m.run("umount", &[&m.mnt_str()]);
    assert!(status.success(), "umount: {out}");
}

/// What a service that holds files open sees when the serving daemon is killed and its
/// supervisor brings the mount back (README, "Running as a service", Daemon death):
/// - a descriptor opened before the death is dead for good: a read the kernel must ask the
///   daemon for fails with ENOTCONN, before and after the restart (the new mount is another
///   filesystem); one whose pages the kernel had cached may still return that same version,
///   never anything else;
/// - a write not yet committed is lost, and its close(2) says so (ENOTCONN): the file keeps its
///   previous content, whole;
/// - a fresh open(2) of the same path works again within [`RECOVERY_TIMEOUT`] (measured: about
///   0.1 s) and reads the same content: nothing acknowledged is lost.
#[test]
fn open_files_across_a_daemon_death() {
    use std::io::{Read, Write};
    use std::os::fd::{AsRawFd, IntoRawFd};
    use std::os::unix::fs::FileExt;

    let m = ServiceMount::new().with_db_dir();
    m.mount_ok(&[]);
    let certs = m.dir.path().join("certs");
    std::fs::create_dir(&certs).expect("certs dir");
    let held = certificate(&certs, "held");
    let other = certificate(&certs, "other");
    let expected = std::fs::read(&held).expect("source");
    let alias_dir = m.mountpoint.join("TRUSTED_ROOTS/held");
    std::fs::create_dir(&alias_dir).expect("mkdir alias");
    let path = alias_dir.join("cert.pem");
    std::fs::copy(&held, &path).expect("cp through the mount");

    // Never read: nothing of it is in the kernel's page cache.
    let unread = std::fs::File::open(&path).expect("open");
    // Read whole: its pages are cached.
    let mut cached = std::fs::File::open(&path).expect("open");
    let mut shown = Vec::new();
    cached.read_to_end(&mut shown).expect("read");
    assert_eq!(shown, expected);
    // A writer in the middle of replacing the file: written, not closed (not committed).
    let mut writer = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .expect("open for writing");
    writer
        .write_all(&std::fs::read(&other).expect("other"))
        .expect("write (buffered by the daemon)");

    let (supervisor, server) = m.pids().expect("status file");
    let supervisor = supervisor.expect("supervised");
    // Both processes run with no core dumps (the child sets it again after its exec).
    for pid in [supervisor, server] {
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
        let core = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .expect("core limit");
        assert_eq!(
            core.split_whitespace().nth(4),
            Some("0"),
            "pid {pid}: {core}"
        );
    }
    // SAFETY: kill(2) of the test's own daemon.
    assert_eq!(unsafe { libc::kill(server as i32, libc::SIGKILL) }, 0);
    assert!(
        wait_for(RECOVERY_TIMEOUT, || !alive(server)).is_some(),
        "the server did not die"
    );

    let mut buf = vec![0u8; 64 * 1024];
    let err = unread
        .read_at(&mut buf, 0)
        .expect_err("a read of an uncached file of a dead daemon");
    assert_eq!(err.raw_os_error(), Some(libc::ENOTCONN), "{err}");
    match cached.read_at(&mut buf[..expected.len()], 0) {
        Ok(n) => {
            assert_eq!(&buf[..n], &expected[..], "the cached version, whole");
            println!("cached descriptor after the death: read the cached version");
        }
        Err(e) => {
            assert_eq!(e.raw_os_error(), Some(libc::ENOTCONN), "{e}");
            println!("cached descriptor after the death: ENOTCONN");
        }
    }
    // close(2) reports the lost write (std's File would drop the error).
    let fd = writer.into_raw_fd();
    // SAFETY: `fd` was just taken from the File and is closed exactly once.
    let rc = unsafe { libc::close(fd) };
    let close_err = io::Error::last_os_error();
    assert_eq!(
        rc, -1,
        "close of an uncommitted write to a dead daemon succeeded"
    );
    assert_eq!(
        close_err.raw_os_error(),
        Some(libc::ENOTCONN),
        "{close_err}"
    );

    // A fresh open works again once the supervisor has mounted again: the same content.
    let back = wait_for(RECOVERY_TIMEOUT, || {
        std::fs::read(&path).is_ok_and(|now| now == expected)
    });
    m.remember_pids();
    let took = back.unwrap_or_else(|| {
        panic!(
            "no fresh open within {RECOVERY_TIMEOUT:?}: {}",
            m.log_hint()
        )
    });
    println!("fresh open works again after: {took:?}");
    assert!(alive(supervisor));
    // The old descriptors stay dead: a service must reopen its files.
    let err = unread
        .read_at(&mut buf, 0)
        .expect_err("an old descriptor after the restart");
    assert_eq!(err.raw_os_error(), Some(libc::ENOTCONN), "{err}");
    let _ = unread.as_raw_fd();
    drop((unread, cached));
    let (status, out) = m.cli(&["entry", "list", "--store", "TRUSTED_ROOTS", "--aliases"]);
    assert!(status.success() && out.contains("held"), "{out}");
    let (status, out) = m.run("umount", &[&m.mnt_str()]);
    assert!(status.success(), "umount: {out}");
}

/// Under systemd (`Type=notify`) the daemon says READY=1 once the mount serves, and stops
/// cleanly on SIGTERM: tested with a real notification socket, as systemd provides it.
#[test]
fn readiness_is_notified_the_way_systemd_expects() {
    let m = ServiceMount::new().with_db_dir();
    let socket_path = m.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
    socket
        .set_read_timeout(Some(COMMAND_TIMEOUT))
        .expect("socket timeout");
    let mut daemon = m
        .command(vecsfs_bin())
        .args(["--db", &m.db_str(), "--supervise", &m.mnt_str()])
        .env("NOTIFY_SOCKET", &socket_path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start vecsfs");
    let mut buf = [0u8; 1024];
    let received = socket.recv(&mut buf);
    m.remember_pids();
    let message = match received {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(e) => {
            let _ = daemon.kill();
            let _ = daemon.wait();
            panic!("no notification within {COMMAND_TIMEOUT:?}: {e}");
        }
    };
    assert!(message.lines().any(|l| l == "READY=1"), "{message:?}");
    assert!(
        listing(&m.mountpoint.join("TRUSTED_ROOTS")).is_ok(),
        "READY=1 came before the mount served"
    );
    // SAFETY: kill(2) of our own child.
    assert_eq!(unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) }, 0);
    let exited = wait_for(COMMAND_TIMEOUT, || matches!(daemon.try_wait(), Ok(Some(_))));
    if exited.is_none() {
        let _ = daemon.kill();
    }
    let status = daemon.wait().expect("wait");
    assert!(status.success(), "vecsfs after SIGTERM: {status}");
    assert!(!is_mounted(&m.mountpoint), "SIGTERM left the mount");
}

/// A rotation half done shows in `vecsfs status`: which entry waits for which half.
#[test]
fn status_shows_a_pending_half() {
    let m = ServiceMount::new().with_db_dir();
    let certs = m.dir.path().join("certs");
    std::fs::create_dir(&certs).expect("certs dir");
    let live = certificate(&certs, "live");
    let next = certificate(&certs, "next");
    let (status, out) = m.cli(&[
        "entry",
        "create",
        "--store",
        "MACHINE_SSL_CERT",
        "--alias",
        "__MACHINE_CERT",
        "--cert",
        &live.to_string_lossy(),
        "--key",
        &certs.join("live.key").to_string_lossy(),
    ]);
    assert!(status.success(), "vecs-cli: {out}");
    m.mount_ok(&[]);
    let (_, text) = m.status();
    assert!(!text.contains("pending"), "{text}");
    // The new certificate first: it waits for its key.
    // Written as `cat > cert.pem` does (std::fs::copy would also copy the file's mode, which
    // the mount refuses: modes follow the store's permissions).
    let dir = m.mountpoint.join("MACHINE_SSL_CERT/__MACHINE_CERT");
    std::fs::write(dir.join("cert.pem"), std::fs::read(&next).expect("next"))
        .expect("write the new certificate");
    let (code, text) = m.status();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("pending:   MACHINE_SSL_CERT/__MACHINE_CERT: cert.pem written")
            && text.contains("waiting for its key.pem"),
        "{text}"
    );
    std::fs::write(
        dir.join("key.pem"),
        std::fs::read(certs.join("next.key")).expect("next.key"),
    )
    .expect("write the new key");
    let (_, text) = m.status();
    assert!(!text.contains("pending"), "the pair is complete: {text}");
    let (status, out) = m.run("umount", &[&m.mnt_str()]);
    assert!(status.success(), "umount: {out}");
}

/// A server that keeps dying is not restarted forever: the supervisor brings the mount back
/// 5 times within a minute, and at the 6th death gives up and exits 1, leaving the decision
/// to systemd's Restart= or the admin (the README says so).
#[test]
fn a_supervisor_gives_up_after_five_restarts_within_a_minute() {
    let m = ServiceMount::new().with_db_dir();
    let mut supervisor = m
        .command(vecsfs_bin())
        .args(["--db", &m.db_str(), "--supervise", &m.mnt_str()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start vecsfs --supervise");
    let mut killed: Option<u32> = None;
    for death in 1..=6 {
        let serving = wait_for(RECOVERY_TIMEOUT, || {
            m.pids()
                .is_some_and(|(_, pid)| Some(pid) != killed && alive(pid))
        });
        m.remember_pids();
        let Some((_, server)) = m.pids().filter(|_| serving.is_some()) else {
            let _ = supervisor.kill();
            let _ = supervisor.wait();
            panic!("no server before death {death}: {}", m.log_hint());
        };
        // SAFETY: kill(2) of the test's own daemon.
        unsafe { libc::kill(server as i32, libc::SIGKILL) };
        killed = Some(server);
    }
    let ended = wait_for(RECOVERY_TIMEOUT, || {
        matches!(supervisor.try_wait(), Ok(Some(_)))
    });
    if ended.is_none() {
        let _ = supervisor.kill();
    }
    let status = supervisor.wait().expect("wait");
    assert_eq!(
        status.code(),
        Some(1),
        "the supervisor after a 6th death within a minute: {status}"
    );
}

/// Detached, the daemon logs to syslog as `vecsfs[pid]` with facility daemon: info and up
/// normally, debug records too with `-o debug`; vecs-cli logs with facility authpriv. The
/// test is the syslog: in a private mount
/// namespace, /dev/log is this test's socket (and /dev holds only null and fuse).
#[test]
fn a_detached_daemon_logs_to_syslog_and_debug_adds_detail() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let m = ServiceMount::new().with_db_dir();
    let socket_path = m.dir.path().join("log.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind the test's syslog socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("read timeout");
    // Drained all along: a full queue would block the daemon's syslog(3).
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut messages = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            while !stop.load(Ordering::Relaxed) {
                if let Ok(n) = socket.recv(&mut buf) {
                    messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            }
            messages
        })
    };

    let (db, mnt) = (m.db_str(), m.mnt_str());
    let script = format!(
        "set -e; mount -t tmpfs none /dev; mknod -m 666 /dev/null c 1 3; \
         mknod -m 666 /dev/fuse c 10 229; touch /dev/log; mount --bind '{sock}' /dev/log; \
         mount -t vecs '{db}' '{mnt}'; ls '{mnt}/TRUSTED_ROOTS' >/dev/null; umount '{mnt}'; \
         mount -t vecs '{db}' '{mnt}' -o debug; ls '{mnt}/TRUSTED_ROOTS' >/dev/null; \
         '{cli}' store create --name logged --db '{db}' >/dev/null; umount '{mnt}'",
        sock = socket_path.display(),
        cli = common::vecs_cli(),
    );
    let (status, out) = m.run(
        "unshare",
        &["--mount", "--propagation", "private", "sh", "-c", &script],
    );
    m.remember_pids();
    let quiet = wait_for(COMMAND_TIMEOUT, || processes_naming(&db).is_empty());
    stop.store(true, Ordering::Relaxed);
    let messages = reader.join().expect("syslog reader");
    assert!(status.success(), "mount, ls, umount twice: {out}");
    assert!(quiet.is_some(), "daemons outlived umount");

    // "<PRI>timestamp vecsfs[pid]: text", PRI = facility daemon (3 << 3) + severity.
    let serving: Vec<(&str, &str)> = messages
        .iter()
        .filter(|l| l.contains(&format!("serving {db} at {mnt}")))
        .filter_map(|l| {
            let pid = l.split_once("vecsfs[")?.1.split_once(']')?.0;
            Some((l.as_str(), pid))
        })
        .collect();
    assert_eq!(serving.len(), 2, "two 'serving' lines in: {messages:#?}");
    for (line, _) in &serving {
        assert!(line.starts_with("<30>"), "daemon.info: {line}");
    }
    let debug_lines_of = |pid: &str| {
        messages
            .iter()
            .filter(|l| l.starts_with("<31>") && l.contains(&format!("vecsfs[{pid}]:")))
            .count()
    };
    let (plain, debug) = (serving[0].1, serving[1].1);
    assert_eq!(debug_lines_of(plain), 0, "debug records without -o debug");
    assert!(
        debug_lines_of(debug) > 0,
        "-o debug sent no debug record to syslog: {messages:#?}"
    );
    // vecs-cli's changes are security events: facility authpriv (10 << 3), info.
    let cli_line = messages
        .iter()
        .find(|l| l.contains("vecs-cli[") && l.contains("[logged]"))
        .unwrap_or_else(|| panic!("no vecs-cli line for the store it made: {messages:#?}"));
    assert!(cli_line.starts_with("<86>"), "authpriv.info: {cli_line}");
    println!(
        "syslog: {} messages; {} debug records from the -o debug daemon",
        messages.len(),
        debug_lines_of(debug)
    );
}

/// If only the supervisor dies, the server keeps serving (nothing is lost, nothing unmounts),
/// and `vecsfs status` says the mount is no longer supervised and how to restore that.
#[test]
fn a_lost_supervisor_is_reported_and_the_mount_keeps_serving() {
    let m = ServiceMount::new().with_db_dir();
    m.mount_ok(&[]);
    let (supervisor, server) = m.pids().expect("status file");
    let supervisor = supervisor.expect("mount.vecs starts a supervised daemon");
    let pid = libc::pid_t::try_from(supervisor).expect("pid");
    // SAFETY: kill(2) of this test's own supervisor.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let reported = wait_for(COMMAND_TIMEOUT, || m.status().1.contains("NOT supervised"));
    let (code, text) = m.status();
    assert!(reported.is_some(), "{text}");
    assert_eq!(code, 0, "the mount still serves: {text}");
    assert!(
        text.contains(&format!("supervisor pid {supervisor} is gone"))
            && text.contains("umount and mount again"),
        "{text}"
    );
    assert!(alive(server), "the server died with its supervisor");
    assert!(listing(&m.mountpoint.join("TRUSTED_ROOTS")).is_ok());
    let (status, out) = m.run("umount", &[&m.mnt_str()]);
    assert!(status.success(), "umount: {out}");
    let gone = wait_for(COMMAND_TIMEOUT, || !alive(server));
    assert!(gone.is_some(), "the server outlived umount");
}
