//! Telling whoever started the daemon that the mount serves (or why it never will): a line on
//! an inherited pipe (`--ready-fd`, used by mount.vecs and by the supervisor) and systemd's
//! `sd_notify` protocol (`Type=notify` units), implemented here because it is one datagram.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::FromRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The line a ready daemon writes.
pub const READY_LINE: &str = "READY";
/// The prefix of the line a daemon that cannot mount writes, followed by one line of reason.
pub const ERROR_PREFIX: &str = "ERROR ";

/// Where readiness goes. Reports once: later calls do nothing.
pub struct Readiness {
    pipe: Option<File>,
}

impl Readiness {
    /// Takes ownership of `fd` (from `--ready-fd`), which the parent left open for us.
    ///
    /// # Safety
    /// `fd` must be an open descriptor this process owns and uses for nothing else.
    pub unsafe fn from_fd(fd: Option<i32>) -> Readiness {
        Readiness {
            // SAFETY: the caller hands over an owned, open descriptor.
            pipe: fd.map(|fd| unsafe { File::from_raw_fd(fd) }),
        }
    }

    pub fn none() -> Readiness {
        Readiness { pipe: None }
    }

    /// The mount serves: say so on the pipe and to systemd.
    pub fn ready(&mut self, status: &str) {
        if let Some(mut pipe) = self.pipe.take() {
            let _ = writeln!(pipe, "{READY_LINE}");
        }
        notify_systemd(&format!("READY=1\nSTATUS={status}"));
    }

    /// The daemon cannot mount: the reason, on one line.
    pub fn failed(&mut self, reason: &str) {
        if let Some(mut pipe) = self.pipe.take() {
            let _ = writeln!(pipe, "{ERROR_PREFIX}{}", reason.replace('\n', " "));
        }
        notify_systemd(&format!("STATUS=failed: {}", reason.replace('\n', " ")));
    }
}

/// Sends `state` to systemd if it is listening (`NOTIFY_SOCKET`), as sd_notify(3) does.
/// Failures are not the daemon's problem: systemd then times the start out and says so.
pub fn notify_systemd(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send_datagram(path.as_encoded_bytes(), state.as_bytes()) {
        log::warn!("cannot notify systemd ({}): {e}", path.to_string_lossy());
    }
}

fn send_datagram(path: &[u8], message: &[u8]) -> io::Result<()> {
    // `@name` is a socket in the abstract namespace.
    let addr = match path.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name)?,
        None => SocketAddr::from_pathname(std::ffi::OsStr::from_bytes(path))?,
    };
    let socket = UnixDatagram::unbound()?;
    socket.send_to_addr(message, &addr)?;
    Ok(())
}
