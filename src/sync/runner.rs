//! The sync inside the mount daemon: a thread that runs the configured sync at start and every
//! interval, a directory source also when its folder changes, and that retries a failing
//! source with backoff while the stores keep their last good state.
//!
//! Between runs the thread looks at the settings and at the watched folder every [`TICK`], so
//! that `vecs-cli trust-source set|unset` takes effect within about a second without a
//! restart, and a folder removed and made again (`rm -rf DIR; mkdir DIR`) is watched again
//! instead of waiting for the next interval: inotify watches an inode, not a path.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use notify::event::{EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};

use super::config::{self, SourceKind, TrustSource};
use crate::store::Database;

/// How often the settings are read again while no source is configured, or the database
/// could not be opened (the tick notices a new source sooner; this retries the opening).
const UNCONFIGURED_POLL: Duration = Duration::from_secs(5);
/// How often, between runs, the settings and the watched folder's identity are checked: a
/// one-row query and a stat(2), cheap enough to keep a settings change within a second.
const TICK: Duration = Duration::from_millis(500);
/// A burst of file events (an editor's write-rename, a `cp` of many files) makes one run.
const DEBOUNCE: Duration = Duration::from_millis(250);
/// ... but a steady stream of events (a slow copy, a tool rewriting a file in a loop) must not
/// put the run off forever: it runs at the latest this long after the first event.
const MAX_SETTLE: Duration = Duration::from_secs(2);
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

/// Which folder a path names: inotify's watch stays on the folder it was set on, so a folder
/// removed (or moved) and made again at the same path is another one to watch. A new folder
/// often gets the inode number its predecessor freed, so this alone does not tell them apart:
/// the watch's own report of its folder's removal does (`DirWatch::gone`).
type FolderId = (u64, u64);

fn folder_id(dir: &Path) -> Option<FolderId> {
    std::fs::metadata(dir)
        .ok()
        .filter(|m| m.is_dir())
        .map(|m| (m.dev(), m.ino()))
}

/// The watch on a directory source: the folder at `dir` when it was set (`None`: there was
/// none), the watcher, if one could be set on it, and whether it has reported its folder
/// removed or moved away.
struct DirWatch {
    dir: PathBuf,
    folder: Option<FolderId>,
    gone: Arc<AtomicBool>,
    _watcher: Option<notify::RecommendedWatcher>,
}

impl DirWatch {
    /// Watches the folder now at `dir`. Its identity is taken before the watch is set: if the
    /// folder is replaced in between, the watch is on the new one and the recorded identity
    /// the old one's, so the next check sets it again, rather than the other way round (a
    /// watch on a dead folder that the check would take for the live one).
    fn new(dir: &Path, wake: &Sender<Wake>) -> DirWatch {
        let folder = folder_id(dir);
        let gone = Arc::new(AtomicBool::new(false));
        let watcher = folder.and_then(|_| watcher(dir, wake, &gone));
        DirWatch {
            dir: dir.to_path_buf(),
            folder,
            gone,
            _watcher: watcher,
        }
    }

    /// Whether `dir` names another folder than the watched one (or none, or one again).
    fn replaced(&self) -> bool {
        self.gone.load(Ordering::SeqCst) || folder_id(&self.dir) != self.folder
    }
}

fn watcher(
    dir: &Path,
    wake: &Sender<Wake>,
    gone: &Arc<AtomicBool>,
) -> Option<notify::RecommendedWatcher> {
    let wake = wake.clone();
    let gone = Arc::clone(gone);
    let watched = dir.to_path_buf();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            return;
        };
        if event.kind.is_access() {
            return;
        }
        // The folder itself removed (inotify's DELETE_SELF) or moved away (MOVE_SELF): this
        // watch is done, and the run this wakes watches whatever the path names now.
        let about_the_folder = event.paths.contains(&watched);
        let ended = matches!(
            event.kind,
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
        );
        if about_the_folder && ended {
            gone.store(true, Ordering::SeqCst);
        }
        let _ = wake.send(Wake::SourceChanged);
    })
    .map_err(|e| log::warn!("trust sync: cannot watch {}: {e}", dir.display()))
    .ok()?;
    match watcher.watch(dir, RecursiveMode::NonRecursive) {
        Ok(()) => Some(watcher),
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
    // What the last run used (outer `None`: no run yet), to notice a new source or interval.
    let mut last: Option<Option<TrustSource>> = None;
    loop {
        let (source, read) = match load_source(db_path, &mut db) {
            Ok(source) => (source, true),
            Err(e) => {
                log::error!("trust sync: cannot read its settings: {e}");
                (None, false)
            }
        };
        if last.as_ref() != Some(&source) {
            match &source {
                Some(s) => log::info!(
                    "trust sync: source {}, every {} s",
                    s.name(),
                    s.interval.as_secs()
                ),
                // Only a setting read as absent says so, not one that could not be read.
                None if read && last.is_some() => log::info!("trust sync: no source any more"),
                None => {}
            }
            // A new source starts its backoff afresh.
            retry = FIRST_RETRY;
        }
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
        let stale = || {
            // A settings error is the next run's to report; here it only means "no change".
            let settings_changed = db
                .as_ref()
                .and_then(|db| config::load(db).ok())
                .is_some_and(|now| now != source);
            settings_changed || dir_watch.as_ref().is_some_and(DirWatch::replaced)
        };
        let woken = sleep(wakes, wait, stale);
        last = Some(source);
        if !woken {
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

/// The watch for `source`: the current one while it is on the configured folder as that path
/// names it now, else a new one (none for an LDAP source).
fn keep_watching(
    source: &TrustSource,
    current: Option<DirWatch>,
    wake: &Sender<Wake>,
) -> Option<DirWatch> {
    let SourceKind::Directory(dir) = &source.kind else {
        return None;
    };
    match current {
        Some(w) if w.dir == *dir && !w.replaced() => Some(w),
        stale => {
            // The old watcher goes first, so that its folder's last events are not queued
            // after the new watch's.
            drop(stale);
            Some(DirWatch::new(dir, wake))
        }
    }
}

/// Waits `wait`, or less: until the source changes (then lets the burst settle), or `stale`
/// says, at a tick, that the settings or the watched folder changed; `false` when told to
/// stop.
fn sleep(wakes: &Receiver<Wake>, wait: Duration, mut stale: impl FnMut() -> bool) -> bool {
    let due = Instant::now() + wait;
    loop {
        let Some(left) = remaining(Instant::now(), due) else {
            return true;
        };
        match wakes.recv_timeout(left.min(TICK)) {
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return false,
            Ok(Wake::SourceChanged) => return settle(wakes, Burst::new(Instant::now())),
            Err(RecvTimeoutError::Timeout) => {
                if stale() {
                    return true;
                }
            }
        }
    }
}

/// The time left until `due`, `None` when it has come.
fn remaining(now: Instant, due: Instant) -> Option<Duration> {
    due.checked_duration_since(now).filter(|d| !d.is_zero())
}

/// A burst of file events: the run is due [`DEBOUNCE`] after the last event, but never later
/// than [`MAX_SETTLE`] after the first.
struct Burst {
    first: Instant,
    last: Instant,
}

impl Burst {
    fn new(at: Instant) -> Burst {
        Burst {
            first: at,
            last: at,
        }
    }

    fn event(&mut self, at: Instant) {
        self.last = at;
    }

    /// How long to wait for more events, `None` when the run is due.
    fn left(&self, now: Instant) -> Option<Duration> {
        let due = (self.last + DEBOUNCE).min(self.first + MAX_SETTLE);
        remaining(now, due)
    }
}

fn settle(wakes: &Receiver<Wake>, mut burst: Burst) -> bool {
    while let Some(left) = burst.left(Instant::now()) {
        match wakes.recv_timeout(left) {
            Ok(Wake::SourceChanged) => burst.event(Instant::now()),
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return false,
            Err(RecvTimeoutError::Timeout) => return true,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_quiet_burst_runs_a_debounce_after_its_last_event() {
        let t0 = Instant::now();
        let mut burst = Burst::new(t0);
        burst.event(t0 + 100 * MS);
        assert_eq!(burst.left(t0 + 100 * MS), Some(DEBOUNCE));
        assert_eq!(burst.left(t0 + 300 * MS), Some(50 * MS));
        assert_eq!(burst.left(t0 + 350 * MS), None);
    }

    #[test]
    fn a_steady_stream_of_events_runs_at_most_max_settle_after_the_first() {
        let t0 = Instant::now();
        let mut burst = Burst::new(t0);
        // An event every 100 ms, each well within the debounce of the one before.
        let mut at = t0;
        while at < t0 + 10 * MAX_SETTLE {
            at += 100 * MS;
            burst.event(at);
            let left = burst.left(at);
            if at >= t0 + MAX_SETTLE {
                assert_eq!(left, None, "due at {:?}", at - t0);
            } else {
                let left = left.unwrap_or_else(|| panic!("due early, at {:?}", at - t0));
                assert!(at + left <= t0 + MAX_SETTLE, "{:?} + {left:?}", at - t0);
            }
        }
    }

    #[test]
    fn settle_returns_while_the_stream_goes_on() {
        let (tx, rx) = mpsc::channel();
        let stream_over = Arc::new(AtomicBool::new(false));
        let over = Arc::clone(&stream_over);
        let feeder = thread::spawn(move || {
            // An event every 10 ms (never a debounce's pause) until settle has returned and
            // dropped the receiver, or for at most 15 times the cap (so that a settle without
            // a cap fails this test instead of hanging it).
            let end = Instant::now() + 15 * MAX_SETTLE;
            while Instant::now() < end && tx.send(Wake::SourceChanged).is_ok() {
                thread::sleep(10 * MS);
            }
            over.store(true, Ordering::SeqCst);
        });
        assert!(settle(&rx, Burst::new(Instant::now())), "not told to stop");
        let returned_during_the_stream = !stream_over.load(Ordering::SeqCst);
        drop(rx);
        feeder.join().expect("feeder");
        assert!(
            returned_during_the_stream,
            "settle waited for the stream to end: no cap"
        );
    }
}
