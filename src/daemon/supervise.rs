//! The supervisor: serves the mount in a child process and brings the mount back when that
//! child dies (killed, crashed, out of memory). A FUSE daemon that dies leaves its mount dead
//! ("Transport endpoint is not connected") for every service reading certificates; the new
//! child detaches the dead mount and mounts again (see `vecsfs`'s start), so recovery takes
//! one process start, without systemd (mount(8) and fstab use this too).
//!
//! A child that exits 0 ended cleanly (`umount`, or the stop signal the supervisor forwarded):
//! the supervisor exits 0 with it. A child that fails to start before its first mount is a
//! configuration error and is reported, not retried. Restarts are limited to
//! [`MAX_RESTARTS`] within [`RESTART_WINDOW`], after which the supervisor gives up (and systemd,
//! if it runs the service, decides what next).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use log::{error, info, warn};

use super::ready::{Readiness, ERROR_PREFIX, READY_LINE};
use super::status;

/// The descriptor the child's ready pipe has in the child.
const CHILD_READY_FD: i32 = 3;
/// How long a child may take to mount.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_RESTARTS: usize = 5;
pub const RESTART_WINDOW: Duration = Duration::from_secs(60);

/// Environment the supervisor gives its child, for the status file.
pub const ENV_SUPERVISOR_PID: &str = "VECSFS_SUPERVISOR_PID";
pub const ENV_RESTARTS: &str = "VECSFS_RESTARTS";
pub const ENV_LAST_RESTART: &str = "VECSFS_LAST_RESTART";

/// What a child said on its ready pipe.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadyOutcome {
    Ready,
    Failed(String),
    /// The pipe closed without a line: the child died first.
    Closed,
    TimedOut,
}

/// Reads the one line a starting server writes to its ready pipe, waiting at most `timeout`.
pub fn read_ready_line(pipe: &mut File, timeout: Duration) -> ReadyOutcome {
    let deadline = Instant::now() + timeout;
    let mut line = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return ReadyOutcome::TimedOut;
        }
        let mut poll = libc::pollfd {
            fd: pipe.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(left.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut poll, 1, ms.max(1)) };
        if rc < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return ReadyOutcome::Closed;
        }
        if rc == 0 {
            continue;
        }
        let mut buf = [0u8; 512];
        match pipe.read(&mut buf) {
            Ok(0) => return parse_line(&line).unwrap_or(ReadyOutcome::Closed),
            Ok(n) => {
                line.extend_from_slice(&buf[..n]);
                if let Some(end) = line.iter().position(|&b| b == b'\n') {
                    return parse_line(&line[..end]).unwrap_or(ReadyOutcome::Closed);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return ReadyOutcome::Closed,
        }
    }
}

fn parse_line(line: &[u8]) -> Option<ReadyOutcome> {
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end();
    if line == READY_LINE {
        Some(ReadyOutcome::Ready)
    } else {
        line.strip_prefix(ERROR_PREFIX)
            .map(|reason| ReadyOutcome::Failed(reason.to_string()))
    }
}

/// A pipe whose write end the child gets as fd 3.
fn ready_pipe() -> io::Result<(File, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 returns.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 just returned these two open descriptors, owned by nobody else.
    Ok(unsafe { (File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// How a child ended, for the log and the status file.
pub fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("the server exited with status {code}"),
        (_, Some(signal)) => format!("the server was killed by signal {signal}"),
        _ => "the server ended".to_string(),
    }
}

/// Serves through children running `program args`, until one ends cleanly or a stop signal
/// arrives (forwarded to the child). The stop signals must be blocked in every thread
/// (`signals` is that set) before this is called.
pub fn supervise(
    program: &OsString,
    args: &[OsString],
    mountpoint: &Path,
    signals: libc::sigset_t,
    readiness: &mut Readiness,
) -> Result<(), String> {
    let child_pid = Arc::new(AtomicI32::new(0));
    let stopping = Arc::new(AtomicBool::new(false));
    forward_stop_signals(signals, Arc::clone(&child_pid), Arc::clone(&stopping))
        .map_err(|e| format!("cannot start the signal thread: {e}"))?;

    let mut first = true;
    let mut restarts = 0u32;
    let mut last_restart: Option<(u64, String)> = None;
    let mut recent: VecDeque<Instant> = VecDeque::new();
    loop {
        let (mut pipe, write_end) = ready_pipe().map_err(|e| format!("cannot make a pipe: {e}"))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .arg0("vecsfs")
            .env(ENV_SUPERVISOR_PID, std::process::id().to_string())
            .env(ENV_RESTARTS, restarts.to_string())
            // systemd hears from the supervisor (its main pid) only.
            .env_remove("NOTIFY_SOCKET");
        match &last_restart {
            Some((when, why)) => command.env(ENV_LAST_RESTART, format!("{when} {why}")),
            None => command.env_remove(ENV_LAST_RESTART),
        };
        let raw = write_end.as_raw_fd();
        // SAFETY: dup2 is async-signal-safe; it also clears CLOEXEC on the copy the child keeps.
        unsafe {
            command.pre_exec(move || {
                if raw == CHILD_READY_FD {
                    let flags = libc::fcntl(raw, libc::F_GETFD);
                    libc::fcntl(raw, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
                } else if libc::dup2(raw, CHILD_READY_FD) < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start the server {}: {e}", program.to_string_lossy()))?;
        drop(write_end);
        child_pid.store(child.id() as i32, Ordering::SeqCst);

        let outcome = read_ready_line(&mut pipe, READY_TIMEOUT);
        match &outcome {
            ReadyOutcome::Ready if first => {
                first = false;
                readiness.ready("serving");
            }
            ReadyOutcome::Ready => info!("the mount is back (server pid {})", child.id()),
            ReadyOutcome::Failed(reason) if first => {
                readiness.failed(reason);
                let _ = child.wait();
                return Err(reason.clone());
            }
            ReadyOutcome::Failed(reason) => error!("the server could not mount again: {reason}"),
            ReadyOutcome::TimedOut => {
                warn!("the server did not mount within {READY_TIMEOUT:?}; stopping it");
                let _ = child.kill();
            }
            ReadyOutcome::Closed => {}
        }
        let status = wait_unwedging(&mut child, mountpoint)
            .map_err(|e| format!("cannot wait for the server: {e}"))?;
        child_pid.store(0, Ordering::SeqCst);
        let why = describe_exit(status);
        if first {
            let reason = format!("{why} before the mount was ready");
            readiness.failed(&reason);
            return Err(reason);
        }
        if stopping.load(Ordering::SeqCst) || status.success() {
            info!("{why}; the mount has ended");
            return if status.success() { Ok(()) } else { Err(why) };
        }
        let now = Instant::now();
        recent.push_back(now);
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > RESTART_WINDOW)
        {
            recent.pop_front();
        }
        if recent.len() > MAX_RESTARTS {
            let reason = format!(
                "giving up after {} restarts within {RESTART_WINDOW:?}; last: {why}",
                recent.len() - 1
            );
            error!("{reason}");
            return Err(reason);
        }
        error!("{why}; bringing the mount back");
        restarts += 1;
        last_restart = Some((status::now(), why));
        thread::sleep(Duration::from_millis(100) * recent.len() as u32);
        if stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
    }
}

/// How long a dead server may stay unreapable before its FUSE connection is aborted.
const WEDGE_GRACE: Duration = Duration::from_secs(1);

/// Waits for the server to exit. A server killed while a request was in flight can be stuck
/// half dead: its main thread is gone, but one thread sits in the kernel sending an
/// invalidation that waits for a directory lock, held by a lookup that waits for an answer
/// from this very server. Its /dev/fuse stays open until that thread returns, so nothing ever
/// ends (and the lookup's caller hangs). Past [`WEDGE_GRACE`] of that, the connection is
/// aborted (umount -f), which fails both waits, and the server exits.
fn wait_unwedging(child: &mut Child, mountpoint: &Path) -> io::Result<ExitStatus> {
    let mut dead_since: Option<Instant> = None;
    let mut aborted = false;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if super::leader_is_dead(child.id()) {
            let since = *dead_since.get_or_insert_with(Instant::now);
            if !aborted && since.elapsed() > WEDGE_GRACE {
                warn!(
                    "the server (pid {}) died with a thread stuck on its own mount; aborting the FUSE connection of {}",
                    child.id(),
                    mountpoint.display()
                );
                if let Err(e) = crate::fuse::mount::abort(mountpoint) {
                    warn!("cannot abort the FUSE connection: {e}");
                }
                aborted = true;
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Stop signals go to the child, which unmounts and exits 0; the supervisor then exits too.
fn forward_stop_signals(
    set: libc::sigset_t,
    child_pid: Arc<AtomicI32>,
    stopping: Arc<AtomicBool>,
) -> io::Result<()> {
    thread::Builder::new()
        .name("vecs-supervisor-signals".into())
        .spawn(move || loop {
            let mut signal: libc::c_int = 0;
            // SAFETY: `set` and `signal` are valid for the call.
            if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
                return;
            }
            stopping.store(true, Ordering::SeqCst);
            let pid = child_pid.load(Ordering::SeqCst);
            info!("signal {signal}: stopping the server (pid {pid})");
            if pid > 0 {
                // SAFETY: sending a signal to our own child.
                unsafe { libc::kill(pid, signal) };
            }
        })
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    fn child_says(script: &str, timeout: Duration) -> ReadyOutcome {
        let (mut pipe, write_end) = ready_pipe().unwrap();
        let raw = write_end.as_raw_fd();
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        // SAFETY: dup2 only.
        unsafe {
            command.pre_exec(move || {
                if libc::dup2(raw, CHILD_READY_FD) < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().unwrap();
        drop(write_end);
        let outcome = read_ready_line(&mut pipe, timeout);
        let _ = child.kill();
        let _ = child.wait();
        outcome
    }

    #[test]
    fn the_ready_pipe_carries_one_line() {
        let long = Duration::from_secs(10);
        assert_eq!(child_says("echo READY >&3", long), ReadyOutcome::Ready);
        assert_eq!(
            child_says("echo 'ERROR /x is already mounted' >&3", long),
            ReadyOutcome::Failed("/x is already mounted".into())
        );
        assert_eq!(child_says("exit 3", long), ReadyOutcome::Closed);
        assert_eq!(child_says("printf READY >&3", long), ReadyOutcome::Ready);
        assert_eq!(
            child_says("sleep 5", Duration::from_millis(200)),
            ReadyOutcome::TimedOut
        );
    }
}
