//! One log line per refused or failed request, at a level that fits the refusal, and the
//! panic guard every handler runs in.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use log::{error, log, Level};

use crate::fs::Caller;
use crate::fs::FsError;

/// How loudly a refusal is logged. Expected misses (a probe for an optional file, an xattr
/// that is not there, the size question of the xattr protocol) stay at debug; refusals a
/// user or an administrator must hear about (permissions, read-only store, rejected content,
/// names that already exist) are warnings; EIO and ENOMEM mean the daemon itself failed.
pub fn level(errno: i32) -> Level {
    match errno {
        libc::ENOENT | libc::ENODATA | libc::ERANGE | libc::EOPNOTSUPP => Level::Debug,
        libc::EIO | libc::ENOMEM => Level::Error,
        _ => Level::Warn,
    }
}

/// Operations whose refusals the filesystem layer logs itself, with the store and alias the
/// refused commit was for (`VecsFs::commit_handle`, `VecsFs::release`). The adapter repeats
/// them only at debug, so that a refused write is one warning line, as the contract asks.
const LOGGED_BY_FS: [&str; 3] = ["flush", "fsync", "release"];

/// The level of `op`'s refusal with `errno` in the adapter's log.
pub fn op_level(op: &str, errno: i32) -> Level {
    if LOGGED_BY_FS.contains(&op) {
        Level::Debug
    } else {
        level(errno)
    }
}

/// Logs a refusal: the operation, the filesystem's sentence (which names store, alias, file
/// and reason, never content) and who asked.
pub fn log_refusal(op: &str, caller: &Caller, err: &FsError) {
    log!(
        op_level(op, err.errno),
        "{op} refused: {err}; uid {} pid {}",
        caller.uid,
        caller.pid
    );
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "unknown panic payload"
    }
}

/// Runs a handler body. A panic must not end the event-loop thread (fuser would lose one of
/// its workers and the daemon its ability to serve): it is caught and logged, and the reply the
/// body owned is dropped unanswered, which makes fuser answer EIO (`ReplyRaw::drop`).
pub fn guarded(op: &str, caller: &Caller, body: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
        error!(
            "{op}: internal error, answered EIO: panic: {}; uid {} pid {}",
            panic_message(payload.as_ref()),
            caller.uid,
            caller.pid
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_fit_the_refusal() {
        assert_eq!(level(libc::ENOENT), Level::Debug);
        assert_eq!(level(libc::ENODATA), Level::Debug);
        for errno in [
            libc::EACCES,
            libc::EROFS,
            libc::EBADMSG,
            libc::EKEYREJECTED,
            libc::EPERM,
            libc::EEXIST,
            libc::EFBIG,
        ] {
            assert_eq!(level(errno), Level::Warn, "errno {errno}");
        }
        assert_eq!(level(libc::EIO), Level::Error);
    }

    #[test]
    fn commit_refusals_are_left_to_the_filesystem_log() {
        assert_eq!(op_level("flush", libc::EBADMSG), Level::Debug);
        assert_eq!(op_level("release", libc::EKEYREJECTED), Level::Debug);
        assert_eq!(op_level("write", libc::EFBIG), Level::Warn);
        assert_eq!(op_level("create", libc::EACCES), Level::Warn);
    }

    #[test]
    fn a_panic_is_contained() {
        let mut after = false;
        guarded("test", &Caller::ROOT, || panic!("boom"));
        guarded("test", &Caller::ROOT, || after = true);
        assert!(after);
    }

    #[test]
    fn panic_messages_are_extracted() {
        let payload: Box<dyn Any + Send> = Box::new(String::from("owned"));
        assert_eq!(panic_message(payload.as_ref()), "owned");
        let payload: Box<dyn Any + Send> = Box::new("static");
        assert_eq!(panic_message(payload.as_ref()), "static");
        let payload: Box<dyn Any + Send> = Box::new(3);
        assert_eq!(panic_message(payload.as_ref()), "unknown panic payload");
    }
}
