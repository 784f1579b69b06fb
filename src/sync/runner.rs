//! The sync inside the mount daemon: a thread that runs the configured sync at start and every
//! interval, a directory source also when its folder changes, and that retries a failing
//! source with backoff while the stores keep their last good state. The settings are read
//! again before every run, so `vecs-cli trust-source set` needs no restart.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use super::config::{self, SourceKind, TrustSource};
use crate::store::Database;

/// How often the settings are looked at while no source is configured.
const UNCONFIGURED_POLL: Duration = Duration::from_secs(5);
/// A burst of file events (an editor's write-rename, a `cp` of many files) makes one run.
const DEBOUNCE: Duration = Duration::from_millis(250);
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// What wakes the thread.
enum Wake {
    Stop,
    SourceChanged,
}

/// The running thread; dropping it stops it.
pub struct SyncThread {
    wake: Sender<Wake>,
    handle: Option<JoinHandle<()>>,
}

impl SyncThread {
    pub fn start(db_path: PathBuf) -> std::io::Result<SyncThread> {
        let (wake, wakes) = mpsc::channel();
        let watcher_wake = wake.clone();
        let handle = thread::Builder::new()
            .name("vecs-trust-sync".into())
            .spawn(move || run(&db_path, &wakes, watcher_wake))?;
        Ok(SyncThread {
            wake,
            handle: Some(handle),
        })
    }

    /// Stops the thread, waiting for a run in progress (bounded by the source's timeouts).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.wake.send(Wake::Stop);
        if let Some(handle) = self.handle.take() {
            if handle.join().is_err() {
                log::error!("the trust sync thread panicked");
            }
        }
    }
}

impl Drop for SyncThread {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The watch on a directory source; replaced when the configured folder changes.
struct DirWatch {
    dir: PathBuf,
    _watcher: notify::RecommendedWatcher,
}

fn watch(dir: &Path, wake: &Sender<Wake>) -> Option<DirWatch> {
    let wake = wake.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            let _ = wake.send(Wake::SourceChanged);
        }
    })
    .map_err(|e| log::warn!("trust sync: cannot watch {}: {e}", dir.display()))
    .ok()?;
    match watcher.watch(dir, RecursiveMode::NonRecursive) {
        Ok(()) => Some(DirWatch {
            dir: dir.to_path_buf(),
            _watcher: watcher,
        }),
        Err(e) => {
            log::warn!(
                "trust sync: cannot watch {} ({e}); rescanning every interval",
                dir.display()
            );
            None
        }
    }
}

fn run(db_path: &Path, wakes: &Receiver<Wake>, wake: Sender<Wake>) {
    let mut db: Option<Database> = None;
    let mut dir_watch: Option<DirWatch> = None;
    let mut retry = FIRST_RETRY;
    loop {
        let source = match load_source(db_path, &mut db) {
            Ok(source) => source,
            Err(e) => {
                log::error!("trust sync: cannot read its settings: {e}");
                None
            }
        };
        let wait = match (&source, db.as_mut()) {
            (Some(source), Some(db)) => {
                dir_watch = keep_watching(source, dir_watch, &wake);
                match super::run_once(db, source) {
                    Ok(report) => {
                        retry = FIRST_RETRY;
                        if report.added() + report.removed() > 0 || !report.skipped.is_empty() {
                            log::info!("{}", report.summary());
                        } else {
                            log::debug!("{}", report.summary());
                        }
                        source.interval
                    }
                    Err(e) => {
                        let wait = retry.min(source.interval);
                        log::error!("{e}; keeping the last good state, retrying in {wait:?}");
                        retry = (retry * 2).min(source.interval);
                        wait
                    }
                }
            }
            _ => {
                dir_watch = None;
                UNCONFIGURED_POLL
            }
        };
        if !sleep(wakes, wait) {
            return;
        }
    }
}

/// The configured source, opening the database on first use (and again after a failure).
fn load_source(path: &Path, db: &mut Option<Database>) -> crate::Result<Option<TrustSource>> {
    if db.is_none() {
        *db = Some(Database::open(path)?);
    }
    let Some(open) = db.as_ref() else {
        return Ok(None);
    };
    let loaded = config::load(open);
    if loaded.is_err() {
        *db = None;
    }
    loaded
}

fn keep_watching(
    source: &TrustSource,
    current: Option<DirWatch>,
    wake: &Sender<Wake>,
) -> Option<DirWatch> {
    let SourceKind::Directory(dir) = &source.kind else {
        return None;
    };
    match current {
        Some(w) if w.dir == *dir => Some(w),
        _ => watch(dir, wake),
    }
}

/// Waits `wait`, or less when the source changes (then lets the burst settle); `false` when
/// told to stop.
fn sleep(wakes: &Receiver<Wake>, wait: Duration) -> bool {
    match wakes.recv_timeout(wait) {
        Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => false,
        Err(RecvTimeoutError::Timeout) => true,
        Ok(Wake::SourceChanged) => settle(wakes),
    }
}

fn settle(wakes: &Receiver<Wake>) -> bool {
    loop {
        match wakes.recv_timeout(DEBOUNCE) {
            Ok(Wake::SourceChanged) => continue,
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return false,
            Err(RecvTimeoutError::Timeout) => return true,
        }
    }
}
