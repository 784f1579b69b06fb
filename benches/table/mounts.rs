//! What the rows read from: a vecsfs daemon on a database, the FUSE floor, and tmpfs. Each is
//! torn down on drop (lazy unmount, then the process is reaped or killed), even on panic.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a mount may take to come up (the 100,000-entry database included).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a daemon may take to exit after its unmount.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A mounted filesystem served by a child process.
pub struct Served {
    pub mountpoint: PathBuf,
    pub child: Child,
    /// From spawn to the daemon's READY line (vecsfs) or to the mount appearing (floor).
    pub startup: Duration,
}

impl Served {
    /// `vecsfs --db DB MOUNTPOINT`, waited for through its `--ready-fd` pipe.
    pub fn vecsfs(bin_dir: &Path, db: &Path, mountpoint: &Path, run_dir: &Path) -> Served {
        std::fs::create_dir_all(mountpoint).expect("mountpoint");
        let (read_end, write_end) = pipe();
        let started = Instant::now();
        let child = Command::new(bin_dir.join("vecsfs"))
            .arg("--db")
            .arg(db)
            .arg("--ready-fd")
            .arg(write_end.to_string())
            .arg(mountpoint)
            .env("VECSFS_RUN_DIR", run_dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stderr(log_file(run_dir))
            .spawn()
            .expect("start vecsfs");
        // SAFETY: the write end was inherited by the child; the parent's copy is closed here
        // so that EOF shows a daemon that died before READY.
        drop(unsafe { OwnedFd::from_raw_fd(write_end) });
        // SAFETY: `read_end` is a pipe fd this process owns.
        let reader = BufReader::new(unsafe { File::from_raw_fd(read_end) });
        let mut served = Served {
            mountpoint: mountpoint.to_path_buf(),
            child,
            startup: Duration::ZERO,
        };
        let line = read_line_within(reader, READY_TIMEOUT);
        served.startup = started.elapsed();
        assert!(
            line.starts_with("READY"),
            "vecsfs did not become ready: {line:?}"
        );
        served
    }

    /// The FUSE floor serving a copy of `source`.
    pub fn floor(source: &Path, mountpoint: &Path) -> Served {
        std::fs::create_dir_all(mountpoint).expect("mountpoint");
        let started = Instant::now();
        let child = Command::new(std::env::current_exe().expect("own path"))
            .arg("__floor")
            .arg(source)
            .arg(mountpoint)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the floor");
        let mut served = Served {
            mountpoint: mountpoint.to_path_buf(),
            child,
            startup: Duration::ZERO,
        };
        while !is_fuse(mountpoint) {
            assert!(started.elapsed() < READY_TIMEOUT, "the floor did not mount");
            if let Ok(Some(status)) = served.child.try_wait() {
                panic!("the floor exited: {status}");
            }
            thread::sleep(Duration::from_millis(10));
        }
        served.startup = started.elapsed();
        served
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mountpoint)
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + EXIT_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The daemon's log, `vecsfs.log` in `run_dir`: the table keeps stdout and stderr.
fn log_file(run_dir: &Path) -> File {
    std::fs::create_dir_all(run_dir).expect("run dir");
    File::create(run_dir.join("vecsfs.log")).expect("daemon log")
}

/// A directory on tmpfs (/dev/shm), removed on drop.
pub struct Tmpfs(pub tempfile::TempDir);

impl Tmpfs {
    pub fn new() -> Tmpfs {
        Tmpfs(
            tempfile::Builder::new()
                .prefix("vecsfs-bench-")
                .tempdir_in("/dev/shm")
                .expect("a directory on /dev/shm"),
        )
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

fn is_fuse(path: &Path) -> bool {
    const FUSE_SUPER_MAGIC: i64 = 0x6573_5546;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statfs writes into a zeroed struct of the right type.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path.
    (unsafe { libc::statfs(c.as_ptr(), &mut st) } == 0) && st.f_type as i64 == FUSE_SUPER_MAGIC
}

/// A pipe whose write end a child inherits (no CLOEXEC) and whose read end it does not.
fn pipe() -> (i32, i32) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe(2)");
    // SAFETY: a valid fd of this process.
    unsafe { libc::fcntl(fds[0], libc::F_SETFD, libc::FD_CLOEXEC) };
    (fds[0], fds[1])
}

/// The first line from `reader`, or what is known by `timeout` (a reader thread: every wait is
/// bounded).
fn read_line_within(mut reader: BufReader<File>, timeout: Duration) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(timeout)
        .unwrap_or_else(|_| format!("nothing within {timeout:?}"))
}
