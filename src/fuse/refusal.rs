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

/// Logs a refusal: the operation, the filesystem's sentence (which names store, alias, file
/// and reason, never content) and who asked.
pub fn log_refusal(op: &str, caller: &Caller, err: &FsError) {
    log!(
        level(err.errno),
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
