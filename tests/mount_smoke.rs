//! The vecsfs daemon end to end on a real FUSE mount: it mounts, shows the store, and ends
//! cleanly (exit 0, mount gone) on SIGTERM, SIGINT and umount. Runs as root (CI does).

#[path = "support/mount.rs"]
mod mount;

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::run_command;
use mount::{Mounted, EXIT_TIMEOUT};

const SEEDED_STORES: [&str; 8] = [
    "MACHINE_SSL_CERT",
    "TRUSTED_ROOTS",
    "TRUSTED_ROOTS_CRLS",
    "machine",
    "vsphere-webclient",
    "vpxd",
    "vpxd-extension",
    "BACKUP_STORE",
];

#[test]
fn root_lists_the_seeded_stores_and_the_crl_alias() {
    let m = Mounted::fresh();
    let (status, out) = run_command(
        Command::new("ls").arg("-1").arg(&m.mountpoint),
        Duration::from_secs(10),
    );
    assert!(
        status.success(),
        "ls failed: {out}\ndaemon log:\n{}",
        m.log()
    );
    let listed: BTreeSet<&str> = out.lines().collect();
    let mut expected: BTreeSet<&str> = SEEDED_STORES.into_iter().collect();
    expected.insert("TRUSTED_ROOT_CRLS");
    assert_eq!(listed, expected, "daemon log:\n{}", m.log());

    let link = m.path("TRUSTED_ROOT_CRLS");
    let meta = std::fs::symlink_metadata(&link).expect("lstat TRUSTED_ROOT_CRLS");
    assert!(meta.file_type().is_symlink());
    let target = std::fs::read_link(&link).expect("readlink");
    assert_eq!(target, Path::new("TRUSTED_ROOTS_CRLS"));
    assert!(m.path("TRUSTED_ROOT_CRLS").is_dir(), "the symlink resolves");
    let store = std::fs::metadata(m.path("TRUSTED_ROOTS_CRLS")).expect("stat the CRL store");
    assert_eq!(
        meta.modified().expect("mtime"),
        store.modified().expect("mtime"),
        "the link is as old as the store it names"
    );

    // Every local user may use it, and nothing in it runs or acts as a device.
    let (status, options) = run_command(
        Command::new("findmnt")
            .args(["-n", "-o", "FSTYPE,VFS-OPTIONS,FS-OPTIONS"])
            .arg(&m.mountpoint),
        Duration::from_secs(10),
    );
    assert!(status.success(), "findmnt: {options}");
    assert!(options.starts_with("fuse.vecs "), "{options}");
    for option in ["nosuid", "nodev", "noexec", "allow_other"] {
        assert!(
            options.split([' ', ',', '\n']).any(|o| o == option),
            "{option} in {options}"
        );
    }
}

#[test]
fn sigterm_and_sigint_unmount_and_exit_zero() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let mut m = Mounted::fresh();
        m.signal(signal);
        let status = m.wait_exit(EXIT_TIMEOUT);
        assert!(
            status.success(),
            "signal {signal}: exit status {status}; log:\n{}",
            m.log()
        );
        m.wait_unmounted(Duration::from_secs(2));
    }
}

#[test]
fn umount_ends_the_daemon_with_status_zero() {
    let mut m = Mounted::fresh();
    let (status, out) = run_command(
        Command::new("umount").arg(&m.mountpoint),
        Duration::from_secs(10),
    );
    assert!(status.success(), "umount failed: {out}");
    let status = m.wait_exit(EXIT_TIMEOUT);
    assert!(status.success(), "exit status {status}; log:\n{}", m.log());
    assert!(!m.is_mounted());
}

#[test]
fn unknown_mount_option_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (status, out) = run_command(
        Command::new(mount::vecsfs_bin())
            .arg("--db")
            .arg(dir.path().join("vecs.db"))
            .args(["-o", "ro,bogus"])
            .arg(dir.path()),
        Duration::from_secs(10),
    );
    assert_eq!(status.code(), Some(2), "{out}");
    assert!(out.contains("bogus"), "{out}");
    assert!(!dir.path().join("vecs.db").exists(), "nothing was started");
}

#[test]
fn missing_mountpoint_is_one_clear_line_and_status_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such-dir");
    let (status, out) = run_command(
        Command::new(mount::vecsfs_bin())
            .arg("--db")
            .arg(dir.path().join("vecs.db"))
            .arg(&missing)
            .env_remove("RUST_LOG"),
        Duration::from_secs(10),
    );
    assert_eq!(status.code(), Some(1), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("no-such-dir"), "{out}");
}

#[test]
fn a_panicking_test_still_unmounts_and_stops_the_daemon() {
    let seen = std::sync::Mutex::new(None);
    let outcome = std::panic::catch_unwind(|| {
        let m = Mounted::fresh();
        *seen.lock().unwrap() = Some((m.mountpoint.clone(), m.pid()));
        panic!("a test failing while mounted");
    });
    assert!(outcome.is_err());
    let (mountpoint, pid) = seen
        .lock()
        .unwrap()
        .clone()
        .expect("mounted before panicking");
    assert!(!mount::is_mounted(&mountpoint), "still mounted");
    let pid = i32::try_from(pid).expect("pid");
    // SAFETY: signal 0 only checks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(!alive, "daemon {pid} still running");
}

#[test]
fn a_read_only_mount_serves_reads_and_refuses_every_change() {
    let m = Mounted::start(mount::MountSpec::default().option("ro"));
    let (status, out) = run_command(
        Command::new("ls").arg(m.path("TRUSTED_ROOTS")),
        Duration::from_secs(10),
    );
    assert!(status.success(), "ls: {out}");
    for cmd in [
        Command::new("mkdir").arg(m.path("newstore")),
        Command::new("mkdir").arg(m.path("machine/alias")),
        Command::new("rmdir").arg(m.path("BACKUP_STORE")),
    ] {
        let (status, out) = run_command(cmd, Duration::from_secs(10));
        assert!(!status.success(), "{out}");
        assert!(out.contains("Read-only file system"), "{out}");
    }
}
