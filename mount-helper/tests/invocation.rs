//! The mount-vecs binary end to end against stand-in daemons (shell scripts given through
//! VECSFS_BIN), so no FUSE mount is made: what reaches stderr, the exit statuses mount(8)
//! relies on, and the daemon's argument vector.
//!
//! Having an integration test also makes `cargo test` at the workspace root build the binary
//! into target/{debug,release}, where the mount tests and the installation take it from.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HELPER: &str = env!("CARGO_BIN_EXE_mount-vecs");

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The helper refuses to run for anyone but root (it mounts); these tests run it as root, as
/// CI does, and say so instead of passing without testing anything.
fn require_root() {
    assert!(
        is_root(),
        "this test runs mount.vecs, which only root may run: run the tests as root"
    );
}

/// A scratch directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("mount-vecs-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create the scratch directory");
        Scratch(path)
    }

    /// An executable shell script standing in for the daemon.
    fn daemon(&self, script: &str) -> PathBuf {
        let path = self.0.join("vecsfs");
        fs::write(&path, format!("#!/bin/sh\n{script}\n")).expect("write the daemon script");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn helper(daemon: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(HELPER);
    command.args(args).env_remove("VECSFS_BIN");
    if let Some(daemon) = daemon {
        command.env("VECSFS_BIN", daemon);
    }
    command.output().expect("run mount-vecs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn missing_mountpoint_prints_usage_and_exits_1() {
    let output = helper(None, &["/db"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.starts_with("mount.vecs: the database and the mountpoint are required\n"));
    assert!(
        text.contains("usage: mount.vecs DATABASE MOUNTPOINT"),
        "{text}"
    );
}

#[test]
fn refused_option_exits_1_without_usage() {
    let output = helper(None, &["/db", "/mnt", "-o", "exec"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "mount.vecs: option exec is not supported: the vecs mount is always nosuid,nodev,noexec\n"
    );
}

#[test]
fn namespaces_exit_1() {
    let output = helper(None, &["/db", "/mnt", "-N", "/proc/1/ns/mnt"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "mount.vecs: mount namespaces are not supported\n"
    );
}

#[test]
fn fake_mount_runs_nothing() {
    let scratch = Scratch::new("fake");
    let marker = scratch.0.join("ran");
    let daemon = scratch.daemon(&format!("touch {}", marker.display()));
    let output = helper(
        Some(&daemon),
        &["/db", "/mnt", "-fv", "-o", "ro,x-systemd.automount"],
    );
    if !is_root() {
        assert_eq!(output.status.code(), Some(1));
        assert!(stderr(&output).ends_with("mount.vecs: must be run as root\n"));
        return;
    }
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains(&format!(
        "mount.vecs: would run {} --db /db --supervise --ready-fd 3 --log syslog -o ro /mnt\n",
        daemon.display()
    )));
    assert!(!marker.exists());
}

#[test]
fn missing_daemon_exits_32() {
    require_root();
    let output = helper(Some(Path::new("/nonexistent/vecsfs")), &["/db", "/mnt"]);
    assert_eq!(output.status.code(), Some(32));
    assert_eq!(
        stderr(&output),
        "mount.vecs: cannot find the daemon at /nonexistent/vecsfs\n"
    );
}

#[test]
fn ready_daemon_exits_0_with_its_arguments() {
    require_root();
    let scratch = Scratch::new("ready");
    let recorded = scratch.0.join("arguments");
    let daemon = scratch.daemon(&format!(
        "for argument; do echo \"$argument\"; done > {}\necho READY >&3",
        recorded.display()
    ));
    let output = helper(
        Some(&daemon),
        &["/db", "/mnt", "-n", "-o", "rw,debug,nofail", "-t", "vecs"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let arguments = fs::read_to_string(&recorded).expect("the daemon recorded its arguments");
    assert_eq!(
        arguments.lines().collect::<Vec<_>>(),
        [
            "--db",
            "/db",
            "--supervise",
            "--ready-fd",
            "3",
            "--log",
            "syslog",
            "-o",
            "debug",
            "/mnt"
        ]
    );
}

#[test]
fn daemon_error_exits_32_with_its_message() {
    require_root();
    let scratch = Scratch::new("error");
    let daemon = scratch.daemon("echo 'ERROR database directory /y does not exist' >&3; exit 1");
    let output = helper(Some(&daemon), &["/y/vecs.db", "/mnt"]);
    assert_eq!(output.status.code(), Some(32));
    assert_eq!(
        stderr(&output),
        "mount.vecs: database directory /y does not exist\n"
    );
}

#[test]
fn daemon_dying_silently_exits_32() {
    require_root();
    let scratch = Scratch::new("dies");
    let daemon = scratch.daemon("exit 2");
    let output = helper(Some(&daemon), &["/db", "/mnt"]);
    assert_eq!(output.status.code(), Some(32));
    assert_eq!(
        stderr(&output),
        "mount.vecs: the daemon exited (exit status 2) before the mount was ready; see the \
         system log (journalctl -t vecsfs)\n"
    );
}
