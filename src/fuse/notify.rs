//! Kernel cache invalidation, off the request path.
//!
//! The kernel handles `FUSE_NOTIFY_INVAL_ENTRY` synchronously and takes the parent directory's
//! inode lock while doing so; a handler that sent it inline while the kernel holds that lock
//! for the very request being answered would deadlock (libfuse, `fuse_lowlevel_notify_inval_entry`).
//! So handlers only queue [`Invalidation`]s on a channel, and ONE dedicated thread sends them.
//! A second thread polls the database for changes made by other processes (vecs-cli, the trust
//! sync) and feeds the same channel.
//!
//! A handler that must not reply before its invalidations reached the kernel (close(2) of a
//! file it committed: the next open of that name must find the new version) queues a
//! [`Notice::Settled`] after them and waits for it, bounded, never holding a lock.

use std::ffi::OsStr;
use std::io;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use log::{debug, error, warn};

use crate::fs::FsResult;
use crate::fs::{Ino, Invalidation};

/// How often the database is checked for changes made by other processes. The contract asks
/// for visibility within one second; 200 ms leaves room for the refresh itself.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// How long shutdown waits for the invalidation thread before leaving it behind.
const JOIN_TIMEOUT: Duration = Duration::from_secs(2);

/// What the invalidation thread is given.
#[derive(Debug)]
pub enum Notice {
    Invalidate(Invalidation),
    /// Answered once everything queued before it has been sent.
    Settled(Sender<()>),
}

/// Where invalidations go: the kernel through [`fuser::Notifier`], or a recorder in tests.
pub trait InvalSink: Send + 'static {
    /// Drops the attributes and all cached pages of `ino`.
    fn inval_inode(&self, ino: Ino) -> io::Result<()>;
    /// Drops the (positive or negative) dentry `name` in `parent`.
    fn inval_entry(&self, parent: Ino, name: &OsStr) -> io::Result<()>;
}

impl InvalSink for fuser::Notifier {
    fn inval_inode(&self, ino: Ino) -> io::Result<()> {
        // offset 0, len 0: attributes plus every cached page. A renewed certificate often has
        // the same length, so the kernel would not drop the pages by itself.
        fuser::Notifier::inval_inode(self, fuser::INodeNo(ino), 0, 0)
    }

    fn inval_entry(&self, parent: Ino, name: &OsStr) -> io::Result<()> {
        fuser::Notifier::inval_entry(self, fuser::INodeNo(parent), name)
    }
}

/// Sends one invalidation. Failures are expected only when the kernel has already forgotten
/// the node (fuser treats ENOENT as success) or the session is ending, so they are not fatal.
fn apply(sink: &dyn InvalSink, inval: &Invalidation) {
    let result = match inval {
        Invalidation::Inode(ino) => sink.inval_inode(*ino),
        Invalidation::Entry { parent, name } => sink.inval_entry(*parent, name),
    };
    if let Err(e) = result {
        debug!("invalidation {inval:?} not sent: {e}");
    }
}

/// The invalidation thread's loop: it ends when every sender is gone.
fn drain(sink: &dyn InvalSink, rx: &Receiver<Notice>) {
    for notice in rx.iter() {
        match notice {
            Notice::Invalidate(inval) => apply(sink, &inval),
            // The waiter may have given up already: nothing to do then.
            Notice::Settled(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// The poller's loop: refresh, queue what changed, sleep; it ends when `stop` is dropped or
/// signalled, or when nobody listens for invalidations any more.
fn poll(
    refresh: &mut dyn FnMut() -> FsResult<Vec<Invalidation>>,
    tx: &Sender<Notice>,
    stop: &Receiver<()>,
    interval: Duration,
) {
    let mut last_error: Option<String> = None;
    loop {
        match refresh() {
            Ok(invals) => {
                if last_error.take().is_some() {
                    warn!("database refresh works again");
                }
                for inval in invals {
                    if tx.send(Notice::Invalidate(inval)).is_err() {
                        return;
                    }
                }
            }
            // The same failure every 200 ms would flood the log: report changes only.
            Err(e) => {
                let text = e.to_string();
                if last_error.as_deref() != Some(text.as_str()) {
                    error!("cannot refresh from the database: {text}");
                    last_error = Some(text);
                }
            }
        }
        match stop.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// The two background threads of a mount. Create it before the session runs and call
/// [`Invalidators::shutdown`] once the session has ended.
pub struct Invalidators {
    stop_poller: Option<Sender<()>>,
    poller: Option<JoinHandle<()>>,
    notifier: Option<JoinHandle<()>>,
}

impl Invalidators {
    /// Starts the invalidation thread on `rx` and, when `refresh` is given, the poller that
    /// feeds `tx` every `interval`. `tx` is moved into the poller (or dropped), so the
    /// invalidation thread ends once the poller and every other sender are gone.
    pub fn start(
        sink: impl InvalSink,
        rx: Receiver<Notice>,
        tx: Sender<Notice>,
        refresh: Option<Box<dyn FnMut() -> FsResult<Vec<Invalidation>> + Send>>,
        interval: Duration,
    ) -> io::Result<Invalidators> {
        let notifier = thread::Builder::new()
            .name("vecs-inval".into())
            .spawn(move || drain(&sink, &rx))?;
        let mut this = Invalidators {
            stop_poller: None,
            poller: None,
            notifier: Some(notifier),
        };
        if let Some(mut refresh) = refresh {
            let (stop_tx, stop_rx) = mpsc::channel();
            let poller = thread::Builder::new()
                .name("vecs-poll".into())
                .spawn(move || poll(&mut *refresh, &tx, &stop_rx, interval))?;
            this.stop_poller = Some(stop_tx);
            this.poller = Some(poller);
        }
        Ok(this)
    }

    /// Stops the poller, then waits (bounded) for the invalidation thread to drain. The
    /// filesystem's own sender must be gone already (it is, once `Session::run` returned).
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        drop(self.stop_poller.take());
        if let Some(poller) = self.poller.take() {
            if poller.join().is_err() {
                error!("the database poller panicked");
            }
        }
        if let Some(notifier) = self.notifier.take() {
            join_with_timeout(notifier, JOIN_TIMEOUT);
        }
    }
}

impl Drop for Invalidators {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Joins `handle` unless it takes longer than `timeout`: a notification stuck in the kernel
/// must not keep the daemon from exiting.
fn join_with_timeout(handle: JoinHandle<()>, timeout: Duration) {
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let waiter = thread::Builder::new()
        .name("vecs-join".into())
        .spawn(move || {
            let panicked = handle.join().is_err();
            let _ = done_tx.send(());
            panicked
        });
    let Ok(waiter) = waiter else {
        warn!("cannot wait for the invalidation thread; leaving it behind");
        return;
    };
    match done_rx.recv_timeout(timeout) {
        Ok(()) => {
            if waiter.join().unwrap_or(true) {
                error!("the invalidation thread panicked");
            }
        }
        Err(_) => warn!("the invalidation thread did not stop within {timeout:?}; leaving it"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use crate::fs::FsError;

    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Invalidation>>>);

    impl Recorder {
        fn seen(&self) -> Vec<Invalidation> {
            self.0.lock().map(|v| v.clone()).unwrap_or_default()
        }
    }

    impl InvalSink for Recorder {
        fn inval_inode(&self, ino: Ino) -> io::Result<()> {
            self.0.lock().unwrap().push(Invalidation::Inode(ino));
            Ok(())
        }
        fn inval_entry(&self, parent: Ino, name: &OsStr) -> io::Result<()> {
            self.0.lock().unwrap().push(Invalidation::Entry {
                parent,
                name: name.to_os_string(),
            });
            // A failing kernel answer must not stop the thread.
            Err(io::Error::from_raw_os_error(libc::ENODEV))
        }
    }

    fn entry(parent: Ino, name: &str) -> Invalidation {
        Invalidation::Entry {
            parent,
            name: OsString::from(name),
        }
    }

    #[test]
    fn queued_invalidations_reach_the_sink_in_order() {
        let sink = Recorder::default();
        let (tx, rx) = mpsc::channel();
        let handler_tx = tx.clone();
        let threads = Invalidators::start(sink.clone(), rx, tx, None, POLL_INTERVAL).unwrap();
        let send = |inval| handler_tx.send(Notice::Invalidate(inval)).unwrap();
        send(Invalidation::Inode(5));
        send(entry(1, "vpxd"));
        let (done_tx, done_rx) = mpsc::channel();
        handler_tx.send(Notice::Settled(done_tx)).unwrap();
        done_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("settled is answered");
        assert_eq!(
            sink.seen().len(),
            2,
            "everything queued before it was sent first"
        );
        send(Invalidation::Inode(6));
        drop(handler_tx);
        threads.shutdown();
        assert_eq!(
            sink.seen(),
            vec![
                Invalidation::Inode(5),
                entry(1, "vpxd"),
                Invalidation::Inode(6)
            ]
        );
    }

    #[test]
    fn poller_feeds_changes_and_stops_promptly() {
        let sink = Recorder::default();
        let (tx, rx) = mpsc::channel();
        let mut calls = 0u32;
        let refresh = Box::new(move || {
            calls += 1;
            match calls {
                1 => Ok(vec![Invalidation::Inode(9)]),
                2 => Err(FsError::new(libc::EIO, "database is locked")),
                _ => Ok(Vec::new()),
            }
        });
        let threads = Invalidators::start(
            sink.clone(),
            rx,
            tx,
            Some(refresh),
            Duration::from_millis(5),
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while sink.seen().is_empty() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        let started = Instant::now();
        threads.shutdown();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(sink.seen(), vec![Invalidation::Inode(9)]);
    }
}
