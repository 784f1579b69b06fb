//! A real mount for integration tests: the `vecsfs` binary serving a private database on a
//! private mountpoint, torn down on drop even when the test panics.
//!
//! Use it from a test file with
//! ```ignore
//! #[path = "support/mount.rs"]
//! mod mount;
//! mod common; // the harness waits for its child processes with common's helpers
//! let m = mount::Mounted::fresh();
//! std::fs::read_dir(m.path("TRUSTED_ROOTS"))?;
//! ```
//!
//! FUSE tests fail loudly: without a usable `/dev/fuse`, or if the mount does not come up, the
//! harness panics with the reason and the daemon's log. Every wait has a timeout.
#![allow(dead_code)]

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{run_command, tail, wait_child};

/// How long the daemon may take to mount.
pub const MOUNT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the daemon may take to exit once unmounted or signalled.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a helper command (umount, fusermount3) may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);

/// The fstype the daemon's mounts show in /proc/self/mountinfo (`fuse.` + subtype).
pub const FSTYPE: &str = "fuse.vecs";

/// How long a daemon killed with SIGKILL may take to die before [`Mounted::kill9`] aborts its
/// connection.
pub const WEDGE_TIMEOUT: Duration = Duration::from_secs(1);

/// What [`Mounted::kill9`] saw.
pub struct Killed {
    pub status: ExitStatus,
    /// Where the daemon's threads were stuck in the kernel, when it did not die of SIGKILL
    /// alone and its connection had to be aborted.
    pub wedged: Option<String>,
}

/// Prepares the database before the daemon starts.
pub type Prepare = Box<dyn FnOnce(&Path)>;

/// How to start the daemon.
#[derive(Default)]
pub struct MountSpec {
    /// `-o` options, e.g. `["ro"]`.
    pub options: Vec<String>,
    /// Extra environment for the daemon (e.g. `RUST_LOG=debug`).
    pub env: Vec<(String, String)>,
    /// Runs before the daemon starts, with the database path (which does not exist yet): seed
    /// it with vecs-cli here to test what the mount shows of an existing store.
    pub before_mount: Option<Prepare>,
}

impl MountSpec {
    pub fn option(mut self, option: &str) -> Self {
        self.options.push(option.to_string());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn before_mount(mut self, prepare: impl FnOnce(&Path) + 'static) -> Self {
        self.before_mount = Some(Box::new(prepare));
        self
    }
}

/// A running daemon and its mount. Dropping it unmounts and stops the daemon.
pub struct Mounted {
    /// Holds the database, the mountpoint and the daemon's log. `None` once handed back to
    /// the test or deliberately leaked (see `Drop`).
    dir: Option<tempfile::TempDir>,
    pub db: PathBuf,
    pub mountpoint: PathBuf,
    log: PathBuf,
    child: Child,
    status: Option<ExitStatus>,
    /// How the daemon was started, for [`Mounted::restart`].
    options: Vec<String>,
    env: Vec<(String, String)>,
}

impl Mounted {
    /// A fresh database (the daemon creates it with the seeded stores), mounted read-write.
    pub fn fresh() -> Mounted {
        Mounted::start(MountSpec::default())
    }

    /// Starts the daemon as `spec` says and waits until the mount is up.
    #[track_caller]
    pub fn start(spec: MountSpec) -> Mounted {
        require_fuse();
        let dir = tempfile::Builder::new()
            .prefix("vecsfs-mount-")
            .tempdir()
            .expect("temp dir");
        let db = dir.path().join("vecs.db");
        let mountpoint = dir.path().join("mnt");
        std::fs::create_dir(&mountpoint).expect("mountpoint");
        let mountpoint = mountpoint.canonicalize().expect("canonical mountpoint");
        if let Some(prepare) = spec.before_mount {
            prepare(&db);
        }
        let log = dir.path().join("vecsfs.log");
        let child = spawn_daemon(&db, &mountpoint, &spec.options, &spec.env, &log);
        let mut mounted = Mounted {
            dir: Some(dir),
            db,
            mountpoint,
            log,
            child,
            status: None,
            options: spec.options,
            env: spec.env,
        };
        mounted.wait_until_mounted();
        mounted
    }

    /// `kill -9` of the daemon: waits for it to die and returns its status. The mount stays
    /// behind, dead (every call on it fails with ENOTCONN), until [`Mounted::restart`].
    ///
    /// A killed daemon can stay half-dead: a thread of it blocked in the kernel (uninterruptibly)
    /// on a reverse invalidation of a directory entry while a lookup in that directory waits for
    /// the daemon's answer, and the connection is not aborted while that thread lives. If it
    /// has not died within [`WEDGE_TIMEOUT`] and a thread of it is in uninterruptible sleep, the
    /// connection is aborted with umount(MNT_FORCE), as an administrator would, and `wedged`
    /// tells where its threads were stuck.
    #[track_caller]
    pub fn kill9(&mut self) -> Killed {
        if self.status.is_none() {
            self.signal(libc::SIGKILL);
        }
        if let Some(status) = self.try_wait_exit(WEDGE_TIMEOUT) {
            return Killed {
                status,
                wedged: None,
            };
        }
        let stacks = kernel_stacks(&format!("/proc/{}", self.child.id()));
        if !stacks.contains(" state D:") {
            // Only slow to die (a loaded machine): no thread is stuck.
            if let Some(status) = self.try_wait_exit(EXIT_TIMEOUT) {
                return Killed {
                    status,
                    wedged: None,
                };
            }
        }
        let forced = force_unmount(&self.mountpoint);
        match self.try_wait_exit(EXIT_TIMEOUT) {
            Some(status) => Killed {
                status,
                wedged: Some(stacks),
            },
            None => panic!(
                "vecsfs (pid {}) did not die within {WEDGE_TIMEOUT:?} of SIGKILL, nor within \
                 {EXIT_TIMEOUT:?} of umount(MNT_FORCE) ({forced:?}).\nIts threads in the kernel \
                 then:\n{stacks}\nnow:\n{}\nThe test's threads:\n{}\nIts log (tail):\n{}",
                self.child.id(),
                kernel_stacks(&format!("/proc/{}", self.child.id())),
                kernel_stacks("/proc/self"),
                crate::common::tail(&self.log(), 40),
            ),
        }
    }

    /// Starts a new daemon, as the first was started, on the same database and mountpoint,
    /// once the old one has exited (see [`Mounted::kill9`]): lazily unmounts what it left
    /// behind, then waits until the new mount is up. The daemon's log goes on in the same file.
    #[track_caller]
    pub fn restart(&mut self) {
        assert!(
            self.try_wait_exit(Duration::ZERO).is_some(),
            "restart: the daemon (pid {}) is still running",
            self.child.id()
        );
        self.unmount_lazily();
        self.wait_unmounted(EXIT_TIMEOUT);
        self.child = spawn_daemon(
            &self.db,
            &self.mountpoint,
            &self.options,
            &self.env,
            &self.log,
        );
        self.status = None;
        self.wait_until_mounted();
    }

    /// A path inside the mount.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.mountpoint.join(relative)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the daemon has logged so far (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What `vecsfs status MOUNTPOINT` prints about this mount (stdout, then stderr).
    pub fn status(&self) -> String {
        let mut cmd = Command::new(vecsfs_bin());
        cmd.arg("status")
            .arg(&self.mountpoint)
            .env("VECSFS_RUN_DIR", run_dir(&self.log));
        run_command(&mut cmd, COMMAND_TIMEOUT).1
    }

    /// The line of `vecsfs status MOUNTPOINT` that starts with `prefix`; panics without one.
    #[track_caller]
    pub fn status_line(&self, prefix: &str) -> String {
        let out = self.status();
        out.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("vecsfs status has no {prefix:?} line:\n{out}"))
            .to_string()
    }

    /// Whether the mount shows in this process's mount table.
    pub fn is_mounted(&self) -> bool {
        is_mounted(&self.mountpoint)
    }

    /// Sends `signal` to the daemon.
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("pid fits in pid_t");
        // SAFETY: kill(2) on our own child.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits for the daemon to exit; panics (with its log) after `timeout`.
    #[track_caller]
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        match self.try_wait_exit(timeout) {
            Some(status) => status,
            None => panic!(
                "vecsfs did not exit within {timeout:?}; its log:\n{}",
                self.log()
            ),
        }
    }

    /// Waits up to `timeout` for the daemon to exit.
    pub fn try_wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = wait_child(&mut self.child, timeout);
        }
        self.status
    }

    /// Waits until `check` holds, at most `limit` (polling with [`wait_for`]); prints and
    /// returns how long it took. Panics with `what` and the tail of the daemon's log if it
    /// never does.
    #[track_caller]
    pub fn wait_until(&self, what: &str, limit: Duration, check: impl FnMut() -> bool) -> Duration {
        match wait_for(limit, check) {
            Some(delay) => {
                println!("{what}: {delay:?}");
                delay
            }
            None => panic!(
                "{what}: not within {limit:?}; daemon log (tail):\n{}",
                tail(&self.log(), 60)
            ),
        }
    }

    /// Waits until the mount has disappeared from the mount table.
    #[track_caller]
    pub fn wait_unmounted(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.is_mounted() {
            assert!(
                Instant::now() < deadline,
                "{} still mounted after {timeout:?}; daemon log:\n{}",
                self.mountpoint.display(),
                self.log()
            );
            thread::sleep(POLL);
        }
    }

    #[track_caller]
    fn wait_until_mounted(&mut self) {
        let deadline = Instant::now() + MOUNT_TIMEOUT;
        loop {
            if self.is_mounted() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.status = Some(status);
                panic!(
                    "vecsfs exited ({status}) instead of mounting {}; its log:\n{}",
                    self.mountpoint.display(),
                    self.log()
                );
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                self.status = wait_child(&mut self.child, EXIT_TIMEOUT);
                panic!(
                    "vecsfs did not mount {} within {MOUNT_TIMEOUT:?}; its log:\n{}",
                    self.mountpoint.display(),
                    self.log()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Unmounts lazily (so that a test's leftover open file cannot block it), first with
    /// umount(8), then with fusermount3.
    fn unmount_lazily(&self) {
        if !self.is_mounted() {
            return;
        }
        let mountpoint = self.mountpoint.as_os_str();
        if run_quietly(Command::new("umount").arg("-l").arg(mountpoint)) {
            return;
        }
        run_quietly(Command::new("fusermount3").arg("-uz").arg(mountpoint));
    }
}

impl Drop for Mounted {
    /// Never panics (it may run during a panic): problems are reported on stderr.
    fn drop(&mut self) {
        self.unmount_lazily();
        if self.try_wait_exit(EXIT_TIMEOUT).is_none() {
            eprintln!("vecsfs (pid {}) did not exit: killing it", self.child.id());
            let _ = self.child.kill();
            let _ = wait_child(&mut self.child, EXIT_TIMEOUT);
        }
        if self.is_mounted() {
            // Removing the temp dir would recurse into a live mount: leave it behind.
            eprintln!(
                "{} is still mounted; leaving its directory in place",
                self.mountpoint.display()
            );
            if let Some(dir) = self.dir.take() {
                let _ = dir.keep();
            }
        }
    }
}

/// umount2(MNT_FORCE): for FUSE, aborts the connection (every waiting call fails with
/// ECONNABORTED) whether or not the mount can then go.
pub fn force_unmount(mountpoint: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(mountpoint.as_os_str().as_bytes()).expect("path without NUL");
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::umount2(path.as_ptr(), libc::MNT_FORCE) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Where each thread of a process is blocked in the kernel (`/proc/PID/task/*/stack`, root
/// only), to explain a process that does not die.
pub fn kernel_stacks(proc_dir: &str) -> String {
    let mut out = String::new();
    let Ok(tasks) = std::fs::read_dir(format!("{proc_dir}/task")) else {
        return format!("({proc_dir} is gone)");
    };
    for task in tasks.flatten() {
        let path = task.path();
        let read = |name: &str| std::fs::read_to_string(path.join(name)).unwrap_or_default();
        out.push_str(&format!(
            "task {} ({}) state {}:\n{}\n",
            task.file_name().to_string_lossy(),
            read("comm").trim(),
            read("stat").split_whitespace().nth(2).unwrap_or("?"),
            read("stack").trim_end()
        ));
    }
    out
}

/// Panics unless FUSE can work here: these tests must fail, never pass silently.
#[track_caller]
pub fn require_fuse() {
    if let Err(e) = OpenOptions::new().read(true).write(true).open("/dev/fuse") {
        panic!("FUSE tests need a usable /dev/fuse (run as root with the fuse module): {e}");
    }
}

/// The path of the vecsfs binary under test.
pub fn vecsfs_bin() -> &'static str {
    env!("CARGO_BIN_EXE_vecsfs")
}

fn spawn_daemon(
    db: &Path,
    mountpoint: &Path,
    options: &[String],
    env: &[(String, String)],
    log: &Path,
) -> Child {
    // A file, not a pipe: nobody might read a pipe, and a full one would block the daemon.
    // Appended to, so that a restarted daemon's log follows its predecessor's.
    let log_file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("daemon log file");
    let mut cmd = Command::new(vecsfs_bin());
    cmd.arg("--db").arg(db);
    for option in options {
        cmd.arg("-o").arg(option);
    }
    cmd.arg(mountpoint)
        .env_remove("VECS_DB")
        .env("VECSFS_RUN_DIR", run_dir(log))
        .env("RUST_LOG", "debug")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file));
    cmd.spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", vecsfs_bin()))
}

/// Where the daemon keeps its status files: beside its log, not in the host's /run/vecsfs.
fn run_dir(log: &Path) -> PathBuf {
    log.parent().unwrap_or(Path::new("/tmp")).join("run")
}

/// Runs a helper command with a timeout; true if it exited 0.
fn run_quietly(cmd: &mut Command) -> bool {
    let Ok(mut child) = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    match wait_child(&mut child, COMMAND_TIMEOUT) {
        Some(status) => status.success(),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            false
        }
    }
}

/// Whether `mountpoint` (absolute, canonical) is a vecsfs mount in this mount namespace.
pub fn is_mounted(mountpoint: &Path) -> bool {
    vecsfs::daemon::mountinfo::mount_at(mountpoint)
        .ok()
        .flatten()
        .is_some_and(|m| m.is_vecs())
}

/// The value of the extended attribute `name` of `path` (getxattr(2)), `None` when it is
/// absent (ENODATA).
pub fn xattr(path: &Path, name: &str) -> std::io::Result<Option<String>> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path without NUL");
    let c_name = std::ffi::CString::new(name).expect("name without NUL");
    let mut buf = vec![0u8; 4096];
    // SAFETY: valid NUL-terminated strings and a buffer of the given length.
    let n = unsafe {
        libc::getxattr(
            c_path.as_ptr(),
            c_name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        let err = std::io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENODATA) => Ok(None),
            _ => Err(err),
        };
    }
    buf.truncate(n as usize);
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// Polls `check` every few milliseconds until it holds or `limit` passes: how long it took.
pub fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if check() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}
