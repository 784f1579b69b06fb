//! The audit trail of key access: one line per open of a key.pem or bundle.pem, allowed or
//! refused, naming who opened it as the kernel tells the daemon (uid, pid) and the command
//! (`/proc/<pid>/comm`, read by the daemon itself: never through the mount, which would call
//! back into this very daemon).
//!
//! The line starts with the stable prefix `audit: key read` / `audit: key write`, then
//! `allowed` or `denied (<errno name>)`, then `store=… alias=… file=… uid=… pid=… comm=…`.
//! Names are quoted and escaped (`{:?}`), so that an alias or a command name cannot forge a
//! line of its own. No key material is ever part of it.

use super::error::FsResult;
use super::types::{Caller, Opened};

/// Logs one open of a key file (at info, the daemon's default level).
pub(super) fn key_open(
    caller: &Caller,
    store: &str,
    alias: &str,
    file: &str,
    flags: i32,
    result: &FsResult<Opened>,
) {
    // The line reads /proc: only when someone will see it.
    if log::log_enabled!(log::Level::Info) {
        log::info!("{}", line(caller, store, alias, file, flags, result));
    }
}

fn line(
    caller: &Caller,
    store: &str,
    alias: &str,
    file: &str,
    flags: i32,
    result: &FsResult<Opened>,
) -> String {
    let access = if flags & libc::O_ACCMODE == libc::O_RDONLY && flags & libc::O_TRUNC == 0 {
        "read"
    } else {
        "write"
    };
    let outcome = match result {
        Ok(_) => "allowed".to_string(),
        Err(e) => format!("denied ({})", errno_name(e.errno)),
    };
    format!(
        "audit: key {access} {outcome} store={store:?} alias={alias:?} file={file} uid={} pid={} comm={:?}",
        caller.uid,
        caller.pid,
        command_name(caller.pid)
    )
}

/// The caller's command name, or `?` when it is gone (or was never a process: pid 0).
fn command_name(pid: u32) -> String {
    if pid == 0 {
        return "?".to_string();
    }
    match std::fs::read(format!("/proc/{pid}/comm")) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            text.strip_suffix('\n').unwrap_or(&text).to_string()
        }
        Err(_) => "?".to_string(),
    }
}

fn errno_name(errno: i32) -> String {
    match errno {
        libc::EACCES => "EACCES".to_string(),
        libc::EPERM => "EPERM".to_string(),
        libc::EROFS => "EROFS".to_string(),
        libc::ENOENT => "ENOENT".to_string(),
        other => format!("errno {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::FsError;

    fn me() -> Caller {
        Caller {
            uid: 1000,
            gid: 1000,
            pid: std::process::id(),
        }
    }

    #[test]
    fn a_line_names_store_alias_file_uid_pid_and_command() {
        let opened = Ok(Opened {
            fh: 1,
            keep_cache: true,
            no_flush: true,
            direct_io: false,
        });
        let text = line(&me(), "S", "a b", "key.pem", libc::O_RDONLY, &opened);
        let comm = std::fs::read_to_string("/proc/self/comm").expect("own comm");
        assert_eq!(
            text,
            format!(
                "audit: key read allowed store=\"S\" alias=\"a b\" file=key.pem uid=1000 pid={} comm={:?}",
                std::process::id(),
                comm.trim_end()
            )
        );
    }

    #[test]
    fn refusals_writes_and_hostile_names() {
        let denied = Err(FsError::new(libc::EACCES, "no"));
        let text = line(
            &me(),
            "S",
            "x\nforged",
            "bundle.pem",
            libc::O_WRONLY,
            &denied,
        );
        assert!(
            text.starts_with("audit: key write denied (EACCES) store=\"S\" alias=\"x\\nforged\""),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1, "{text}");
        let truncating = line(
            &me(),
            "S",
            "a",
            "key.pem",
            libc::O_RDONLY | libc::O_TRUNC,
            &denied,
        );
        assert!(
            truncating.starts_with("audit: key write denied"),
            "{truncating}"
        );
        let gone = Caller {
            uid: 0,
            gid: 0,
            pid: 0,
        };
        assert!(line(&gone, "S", "a", "key.pem", 0, &denied).ends_with("comm=\"?\""));
    }
}
