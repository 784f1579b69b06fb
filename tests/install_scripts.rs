//! scripts/install.sh and scripts/uninstall.sh, run into a private staging root (`DESTDIR`, a
//! temp dir) with `PREFIX=/usr/local`, installing the binaries under test: where each file
//! lands and with what mode, the mount(8) helper's link, the rendered systemd unit, idempotence,
//! and what uninstall removes and keeps. Nothing outside the staging root is touched: with
//! `DESTDIR` set the scripts never call systemctl.
//!
//! The binaries come from the directory of the `vecs-cli` under test (`VECSFS_BUILD_DIR`).
//! The mount(8) helper is built there as `mount-vecs` by the workspace member mount-helper/, a
//! default member, so `cargo test` at the root builds it (so does `cargo test --workspace`); if
//! it is missing, these tests fail saying so.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{run_with_input, Run};

const PREFIX: &str = "/usr/local";
const EXEC_START: &str =
    "ExecStart=/usr/local/sbin/vecsfs --db /var/lib/vecs/vecs.db --supervise /etc/vecs";

/// The directory holding the binaries under test; panics unless all three are there.
fn build_dir() -> PathBuf {
    let dir = Path::new(common::vecs_cli())
        .parent()
        .expect("vecs-cli has a directory")
        .to_path_buf();
    for name in ["vecs-cli", "vecsfs", helper_name(&dir)] {
        assert!(
            dir.join(name).is_file(),
            "{name} is missing from {}: build every workspace binary first \
             (`cargo build --bins --workspace`; `cargo test --workspace --all-targets` does it)",
            dir.display()
        );
    }
    dir
}

/// The mount(8) helper as cargo names it: `mount-vecs` (a crate name cannot hold a dot);
/// install.sh also takes a `mount.vecs` found in the build directory.
fn helper_name(dir: &Path) -> &'static str {
    if !dir.join("mount-vecs").exists() && dir.join("mount.vecs").exists() {
        "mount.vecs"
    } else {
        "mount-vecs"
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A staging root that the scripts install into.
struct Staging {
    dir: tempfile::TempDir,
}

impl Staging {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("vecsfs-install-")
            .tempdir()
            .expect("temp dir");
        Staging { dir }
    }

    /// The staging root, symlinks resolved (as the mount table shows paths).
    fn root(&self) -> PathBuf {
        self.dir
            .path()
            .canonicalize()
            .expect("canonical staging root")
    }

    /// A path under the staging root, `rel` without its leading `/`.
    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel.trim_start_matches('/'))
    }

    fn script(&self, script: &str, args: &[&str]) -> Run {
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("scripts").join(script))
            .args(args)
            .env("DESTDIR", self.root())
            .env("PREFIX", PREFIX)
            .env("VECSFS_BUILD_DIR", build_dir())
            .current_dir(repo());
        run_with_input(cmd, b"")
    }

    #[track_caller]
    fn install(&self) -> Run {
        let run = self.script("install.sh", &["--no-build"]);
        run.ok();
        run
    }

    fn uninstall(&self, args: &[&str]) -> Run {
        self.script("uninstall.sh", args)
    }

    /// Every path under the root with its type, mode, symlink target and (for files) inode,
    /// sorted: equal listings mean nothing was created, removed, replaced or chmod'ed.
    fn listing(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root(), &self.root(), &mut out);
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("dir entry").path();
        let meta = std::fs::symlink_metadata(&path).expect("lstat");
        let rel = path
            .strip_prefix(root)
            .expect("under root")
            .display()
            .to_string();
        let mode = meta.mode() & 0o7777;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).expect("readlink");
            out.push(format!("{rel} link -> {}", target.display()));
        } else if meta.is_dir() {
            out.push(format!("{rel} dir {mode:o}"));
            walk(root, &path, out);
        } else {
            out.push(format!("{rel} file {mode:o} ino {}", meta.ino()));
        }
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

#[test]
fn install_puts_binaries_helper_link_unit_and_directories_in_place() {
    let staging = Staging::new();
    staging.install();

    let build = build_dir();
    for (name, dest) in [
        ("vecs-cli", "usr/local/bin/vecs-cli"),
        ("vecsfs", "usr/local/sbin/vecsfs"),
        (helper_name(&build), "usr/local/sbin/mount.vecs"),
    ] {
        let dest = staging.path(dest);
        assert_eq!(mode(&dest), 0o755, "{}", dest.display());
        assert!(
            std::fs::read(&dest).expect("installed") == std::fs::read(build.join(name)).unwrap(),
            "{} is not a copy of {name}",
            dest.display()
        );
    }
    // An empty staging root has no merged /usr: the helper is linked from /sbin.
    assert_eq!(
        std::fs::read_link(staging.path("sbin/mount.vecs")).expect("helper link"),
        Path::new("/usr/local/sbin/mount.vecs")
    );
    assert_eq!(
        mode(&staging.path("usr/local/share/doc/vecsfs/README.md")),
        0o644
    );

    let unit_path = staging.path("etc/systemd/system/vecsfs.service");
    assert_eq!(mode(&unit_path), 0o644);
    let unit = std::fs::read_to_string(&unit_path).expect("unit");
    assert!(
        unit.lines().any(|l| l == EXEC_START),
        "no `{EXEC_START}` in:\n{unit}"
    );
    assert!(
        unit.contains("Documentation=file:///usr/local/share/doc/vecsfs/README.md"),
        "{unit}"
    );
    assert!(
        !unit.contains("@SBINDIR@") && !unit.contains("@DOCDIR@"),
        "{unit}"
    );
    // What the service promises: readiness only once the mount serves, from the supervisor;
    // restart when the supervisor dies; up before (and down after) every ordinary service.
    for directive in [
        "Type=notify",
        "NotifyAccess=main",
        "Restart=on-failure",
        "KillMode=mixed",
        "DefaultDependencies=no",
        "Before=local-fs.target",
        "Conflicts=umount.target",
        "Before=umount.target",
        "RequiresMountsFor=/var/lib/vecs",
        "WantedBy=local-fs.target",
        "UMask=0077",
        "LimitCORE=0",
    ] {
        assert!(
            unit.lines().any(|l| l == directive),
            "no `{directive}` in:\n{unit}"
        );
    }

    assert!(staging.path("var/lib/vecs").is_dir());
    assert_eq!(mode(&staging.path("var/lib/vecs")), 0o700);
    assert!(staging.path("etc/vecs").is_dir());
    assert_eq!(mode(&staging.path("etc/vecs")), 0o755);
    // Neither enabled nor started.
    assert!(!exists(
        &staging.path("etc/systemd/system/local-fs.target.wants")
    ));
}

#[test]
fn install_links_the_helper_in_usr_sbin_when_sbin_is_merged_into_usr() {
    let staging = Staging::new();
    std::fs::create_dir_all(staging.path("usr/sbin")).unwrap();
    std::os::unix::fs::symlink("usr/sbin", staging.path("sbin")).unwrap();
    staging.install();

    assert_eq!(
        std::fs::read_link(staging.path("usr/sbin/mount.vecs")).expect("helper link"),
        Path::new("/usr/local/sbin/mount.vecs")
    );
    assert_eq!(
        std::fs::read_link(staging.path("sbin")).unwrap(),
        Path::new("usr/sbin"),
        "the /sbin symlink itself must stay"
    );
}

#[test]
fn install_twice_changes_nothing() {
    let staging = Staging::new();
    staging.install();
    let first = staging.listing();
    let again = staging.install();
    assert_eq!(
        staging.listing(),
        first,
        "second install changed the tree:\n{again:#?}"
    );
    assert!(!again.stdout.contains("  installed "), "{again:#?}");
}

#[test]
fn install_replaces_a_changed_binary_and_keeps_an_existing_database() {
    let staging = Staging::new();
    staging.install();
    let vecsfs = staging.path("usr/local/sbin/vecsfs");
    std::fs::write(&vecsfs, b"old daemon").unwrap();
    let db = staging.path("var/lib/vecs/vecs.db");
    std::fs::write(&db, b"not really a database").unwrap();

    staging.install();
    assert_eq!(
        std::fs::read(&vecsfs).unwrap(),
        std::fs::read(build_dir().join("vecsfs")).unwrap()
    );
    assert_eq!(mode(&vecsfs), 0o755);
    assert_eq!(std::fs::read(&db).unwrap(), b"not really a database");
    // The temporary name of the atomic install is gone.
    let leftovers: Vec<_> = std::fs::read_dir(staging.path("usr/local/sbin"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn install_refuses_to_replace_another_programs_mount_helper() {
    let staging = Staging::new();
    std::fs::create_dir_all(staging.path("sbin")).unwrap();
    std::fs::write(staging.path("sbin/mount.vecs"), b"someone else's").unwrap();

    let run = staging.script("install.sh", &["--no-build"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("sbin/mount.vecs exists"), "{run:#?}");
    assert_eq!(
        std::fs::read(staging.path("sbin/mount.vecs")).unwrap(),
        b"someone else's"
    );
    assert!(
        !exists(&staging.path("usr/local/sbin/vecsfs")),
        "nothing is installed after a refusal"
    );
}

/// systemd-analyze (package systemd, which scripts/install-deps.sh installs) verifies the
/// unit; without it the test fails rather than passing unverified.
#[test]
fn installed_unit_passes_systemd_analyze_verify() {
    let analyze = find_in_path("systemd-analyze")
        .expect("systemd-analyze is not installed (apt-get install systemd)");
    let staging = Staging::new();
    staging.install();
    // verify checks that ExecStart's binary exists: point it at the staged copy.
    let unit = std::fs::read_to_string(staging.path("etc/systemd/system/vecsfs.service")).unwrap();
    let staged = staging.path("usr/local/sbin/vecsfs");
    let unit = unit.replace(
        "ExecStart=/usr/local/sbin/vecsfs ",
        &format!("ExecStart={} ", staged.display()),
    );
    let check = tempfile::Builder::new()
        .prefix("vecsfs-unit-")
        .tempdir()
        .unwrap();
    let copy = check.path().join("vecsfs.service");
    std::fs::write(&copy, unit).unwrap();

    let mut cmd = Command::new(analyze);
    cmd.args(["verify", "--man=no"]).arg(&copy);
    let run = run_with_input(cmd, b"");
    let ours: Vec<&str> = run
        .stdout
        .lines()
        .chain(run.stderr.lines())
        .filter(|l| l.contains("vecsfs"))
        .collect();
    assert!(
        run.code == 0 && ours.is_empty(),
        "systemd-analyze verify: {run:#?}"
    );
}

#[test]
fn uninstall_removes_what_install_put_and_keeps_the_database() {
    let staging = Staging::new();
    staging.install();
    std::fs::write(staging.path("var/lib/vecs/vecs.db"), b"db").unwrap();
    let installed: Vec<PathBuf> = [
        "usr/local/bin/vecs-cli",
        "usr/local/sbin/vecsfs",
        "usr/local/sbin/mount.vecs",
        "usr/local/share/doc/vecsfs",
        "sbin/mount.vecs",
        "etc/systemd/system/vecsfs.service",
        "etc/vecs",
    ]
    .iter()
    .map(|p| staging.path(p))
    .collect();

    let run = staging.uninstall(&[]);
    run.ok();
    for path in &installed {
        assert!(!exists(path), "{} left behind: {run:#?}", path.display());
    }
    assert_eq!(
        std::fs::read(staging.path("var/lib/vecs/vecs.db")).unwrap(),
        b"db"
    );
    assert_eq!(mode(&staging.path("var/lib/vecs")), 0o700);
    assert!(
        run.stdout.contains("/var/lib/vecs"),
        "says the database is kept: {run:#?}"
    );
    // What remains is directories and the database only.
    let rest: Vec<String> = staging
        .listing()
        .into_iter()
        .filter(|l| !l.contains(" dir ") && !l.starts_with("var/lib/vecs/vecs.db "))
        .collect();
    assert!(rest.is_empty(), "left behind: {rest:#?}");

    let after_first = staging.listing();
    staging.uninstall(&[]).ok();
    assert_eq!(
        staging.listing(),
        after_first,
        "a second uninstall changed the tree"
    );
}

#[test]
fn uninstall_purge_removes_the_database_directory() {
    let staging = Staging::new();
    staging.install();
    std::fs::write(staging.path("var/lib/vecs/vecs.db"), b"db").unwrap();
    staging.uninstall(&["--purge"]).ok();
    assert!(!exists(&staging.path("var/lib/vecs")));
    staging.uninstall(&["--purge"]).ok();
}

#[test]
fn uninstall_keeps_a_helper_link_and_a_mountpoint_that_are_not_its_own() {
    let staging = Staging::new();
    staging.install();
    let link = staging.path("sbin/mount.vecs");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("/opt/other/sbin/mount.vecs", &link).unwrap();
    std::fs::write(staging.path("etc/vecs/placed-by-hand"), b"").unwrap();

    staging.uninstall(&[]).ok();
    assert_eq!(
        std::fs::read_link(&link).expect("foreign link kept"),
        Path::new("/opt/other/sbin/mount.vecs")
    );
    assert!(staging.path("etc/vecs/placed-by-hand").exists());
    assert!(!exists(&staging.path("usr/local/sbin/mount.vecs")));
}

#[test]
fn uninstall_refuses_while_mounted_and_force_unmounts() {
    require_fuse();
    let staging = Staging::new();
    staging.install();
    let daemon = Daemon::start(&staging);

    let refused = staging.uninstall(&[]);
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert!(
        refused.stderr.contains("is mounted by vecsfs"),
        "{refused:#?}"
    );
    assert!(refused.stderr.contains("--force"), "{refused:#?}");
    assert!(
        is_mounted(&daemon.mountpoint),
        "a refusal must leave the mount alone"
    );
    assert!(
        exists(&staging.path("usr/local/sbin/vecsfs")),
        "nothing removed"
    );

    let forced = staging.uninstall(&["--force"]);
    forced.ok();
    assert!(!is_mounted(&daemon.mountpoint), "{forced:#?}");
    assert!(
        !exists(&staging.path("etc/vecs")),
        "the emptied mountpoint is removed"
    );
    assert!(!exists(&staging.path("usr/local/sbin/vecsfs")));
}

// --- a real mount at the staging root's /etc/vecs -------------------------------------------------

const MOUNT_TIMEOUT: Duration = Duration::from_secs(10);

#[track_caller]
fn require_fuse() {
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        panic!("this test needs a usable /dev/fuse (run as root with the fuse module): {e}");
    }
}

/// The installed vecsfs serving the staged database at the staged /etc/vecs; unmounted (lazily)
/// and stopped on drop, even if the test panics.
struct Daemon {
    child: Child,
    mountpoint: PathBuf,
}

impl Daemon {
    #[track_caller]
    fn start(staging: &Staging) -> Daemon {
        let mountpoint = staging.path("etc/vecs");
        let child = Command::new(staging.path("usr/local/sbin/vecsfs"))
            .arg("--db")
            .arg(staging.path("var/lib/vecs/vecs.db"))
            .arg(&mountpoint)
            .env_remove("VECS_DB")
            .env_remove("NOTIFY_SOCKET")
            .env("VECSFS_RUN_DIR", staging.path("run/vecsfs"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start vecsfs");
        let mut daemon = Daemon { child, mountpoint };
        let deadline = Instant::now() + MOUNT_TIMEOUT;
        while !is_mounted(&daemon.mountpoint) {
            if let Ok(Some(status)) = daemon.child.try_wait() {
                panic!("vecsfs exited ({status}) instead of mounting");
            }
            assert!(
                Instant::now() < deadline,
                "vecsfs did not mount within {MOUNT_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if is_mounted(&self.mountpoint) {
            let mut umount = Command::new("umount");
            umount.arg("-l").arg(&self.mountpoint);
            let _ = run_with_input(umount, b"");
        }
        let deadline = Instant::now() + MOUNT_TIMEOUT;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a vecsfs mount (`fuse.vecs`) sits at `mountpoint`.
fn is_mounted(mountpoint: &Path) -> bool {
    vecsfs::daemon::mountinfo::mount_at(mountpoint)
        .ok()
        .flatten()
        .is_some_and(|m| m.is_vecs())
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
