//! Load (issue 8, item 4): two readers and a writer on one Private Key entry through the mount,
//! for `VECSFS_LOAD_SECONDS` (10 by default, for CI; the figure is 60).
//!
//! The writer rotates the pair of MACHINE_SSL_CERT/__MACHINE_CERT as fast as it can, in every
//! way the mount offers: one PEM holding key and chain written to cert.pem or to key.pem, and
//! cert.pem then key.pem (or the other way round) through a pending half. Rotation `v` makes
//! pair `v % POOL` live; the writer publishes `v` once the close(2) that made it live returned 0.
//!
//! The readers read, each in one open, bundle.pem, cert.pem and key.pem in turn, and check:
//!
//! - no error, ever (writer included);
//! - no torn read: cert.pem and key.pem are each byte for byte one complete version of the file
//!   as the store serves it;
//! - no mismatched read: bundle.pem is always a key with the certificate it belongs to;
//! - no stale read: what a read shows is a version that was live at some moment of the read,
//!   never older than the last rotation acknowledged before the open (README: "a read that
//!   starts after a write's close returned sees that write").
//!
//! cert.pem and key.pem read one after the other, in two opens, may legitimately come from two
//! rotations: that is what bundle.pem is for. How often it happens is printed, not judged.
//! Throughput and latencies are printed (run with --nocapture), never asserted.

#[path = "support/mount.rs"]
mod mount;
#[path = "support/storm.rs"]
mod storm;

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mount::{MountSpec, Mounted};
use storm::{env_number, join_by, key_matches, pair_of_cert, quantile, write_through, Pair, Rng};
use vecsfs::pki::{parse_cert_chain, parse_private_key};
use vecsfs::store::{Database, EntryContent};

const STORE: &str = "MACHINE_SSL_CERT";
const ALIAS: &str = "__MACHINE_CERT";
/// Distinct pairs the writer cycles through.
const POOL: usize = 16;
const READERS: usize = 2;
/// How long after the run the threads may take to stop.
const JOIN_LIMIT: Duration = Duration::from_secs(30);
/// How many examples of each kind of failure a report keeps.
const EXAMPLES: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Bundle,
    Cert,
    Key,
}

const KINDS: [Kind; 3] = [Kind::Bundle, Kind::Cert, Kind::Key];

impl Kind {
    fn file(self) -> &'static str {
        match self {
            Kind::Bundle => "bundle.pem",
            Kind::Cert => "cert.pem",
            Kind::Key => "key.pem",
        }
    }
}

#[derive(Default)]
struct ReaderReport {
    /// Latencies of open + read + close, per kind (in the order of `KINDS`).
    latencies: [Vec<Duration>; 3],
    errors: Vec<String>,
    error_count: u64,
    torn: Vec<String>,
    torn_count: u64,
    mismatched: Vec<String>,
    mismatched_count: u64,
    stale: Vec<String>,
    stale_count: u64,
    /// Torn reads of one kind: a whole version followed by NUL bytes (see `nul_padded_version`).
    padded: Vec<String>,
    padded_count: u64,
    /// cert.pem then key.pem read in two opens from two different rotations.
    split_pairs: u64,
}

impl ReaderReport {
    fn merge(&mut self, other: ReaderReport) {
        for (mine, theirs) in self.latencies.iter_mut().zip(other.latencies) {
            mine.extend(theirs);
        }
        for (mine, theirs) in [
            (&mut self.errors, other.errors),
            (&mut self.torn, other.torn),
            (&mut self.mismatched, other.mismatched),
            (&mut self.stale, other.stale),
            (&mut self.padded, other.padded),
        ] {
            mine.extend(theirs);
            mine.truncate(EXAMPLES);
        }
        self.error_count += other.error_count;
        self.torn_count += other.torn_count;
        self.mismatched_count += other.mismatched_count;
        self.stale_count += other.stale_count;
        self.padded_count += other.padded_count;
        self.split_pairs += other.split_pairs;
    }
}

#[derive(Default)]
struct WriterReport {
    /// Latencies of open + write + close of every acknowledged write.
    latencies: Vec<Duration>,
    rotations: u64,
    combined: u64,
    split: u64,
    errors: Vec<String>,
}

fn note(list: &mut Vec<String>, count: &mut u64, what: String) {
    *count += 1;
    if list.len() < EXAMPLES {
        list.push(what);
    }
}

#[test]
fn two_readers_and_a_writer_through_the_mount() {
    let seconds = env_number("VECSFS_LOAD_SECONDS", 10);
    let run_for = Duration::from_secs(seconds);
    let pool = Arc::new(storm::pairs(POOL, "load"));
    let first = pool[0].clone();
    let m = Mounted::start(
        MountSpec::default()
            .env("RUST_LOG", "info")
            .before_mount(move |db| seed(db, &first)),
    );
    let dir = m.path(&format!("{STORE}/{ALIAS}"));
    let version = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut rng = Rng::from_env("VECSFS_LOAD_SEED");

    let started = Instant::now();
    let writer = {
        let (dir, pool, version, stop) = (dir.clone(), pool.clone(), version.clone(), stop.clone());
        let rng = rng.fork();
        thread::spawn(move || write_loop(&dir, &pool, &version, &stop, rng))
    };
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let (dir, pool, version, stop) =
                (dir.clone(), pool.clone(), version.clone(), stop.clone());
            thread::spawn(move || read_loop(&dir, &pool, &version, &stop, r))
        })
        .collect();
    thread::sleep(run_for);
    stop.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + JOIN_LIMIT;
    let written = join_by(writer, deadline, "writer").unwrap_or_else(|e| panic!("{e}"));
    let mut read = ReaderReport::default();
    for (r, handle) in readers.into_iter().enumerate() {
        read.merge(
            join_by(handle, deadline, &format!("reader {r}")).unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let elapsed = started.elapsed();
    let daemon_alive = m.is_mounted() && std::fs::metadata(&dir).is_ok();

    // The figures.
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut all_reads: Vec<Duration> = read.latencies.iter().flatten().copied().collect();
    all_reads.sort();
    let mut writes = written.latencies.clone();
    writes.sort();
    println!(
        "load: {READERS} readers and 1 writer on {STORE}/{ALIAS} for {:.1} s",
        elapsed.as_secs_f64()
    );
    println!(
        "writer: {} rotations ({} as one combined PEM, {} as cert and key through a pending \
         half), {} acknowledged writes ({:.0}/s); write (open+write+close) p50 {:.3} ms, p99 \
         {:.3} ms, max {:.3} ms; {} errors",
        written.rotations,
        written.combined,
        written.split,
        writes.len(),
        writes.len() as f64 / elapsed.as_secs_f64(),
        ms(quantile(&writes, 0.5)),
        ms(quantile(&writes, 0.99)),
        ms(quantile(&writes, 1.0)),
        written.errors.len(),
    );
    println!(
        "readers: {} reads ({:.0}/s); read (open+read+close) p50 {:.3} ms, p99 {:.3} ms, max \
         {:.3} ms",
        all_reads.len(),
        all_reads.len() as f64 / elapsed.as_secs_f64(),
        ms(quantile(&all_reads, 0.5)),
        ms(quantile(&all_reads, 0.99)),
        ms(quantile(&all_reads, 1.0)),
    );
    for (kind, latencies) in KINDS.iter().zip(read.latencies.iter_mut()) {
        latencies.sort();
        println!(
            "  {:<10} {:>9} reads, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            kind.file(),
            latencies.len(),
            ms(quantile(latencies, 0.5)),
            ms(quantile(latencies, 0.99)),
            ms(quantile(latencies, 1.0)),
        );
    }
    println!(
        "errors {}, torn {} (and {} whole versions padded with NUL bytes), mismatched {}, stale \
         {}; cert.pem and key.pem read in two opens \
         from two rotations: {} times (legitimate)",
        read.error_count + written.errors.len() as u64,
        read.torn_count,
        read.padded_count,
        read.mismatched_count,
        read.stale_count,
        read.split_pairs,
    );

    let log = || common::tail(&m.log(), 40);
    assert!(
        daemon_alive,
        "the mount is gone at the end; daemon log:\n{}",
        log()
    );
    assert!(
        written.errors.is_empty(),
        "writer errors: {:#?}\ndaemon log (tail):\n{}",
        written.errors,
        log()
    );
    assert_eq!(read.error_count, 0, "read errors: {:#?}", read.errors);
    assert_eq!(read.torn_count, 0, "torn reads: {:#?}", read.torn);
    assert_eq!(
        read.mismatched_count, 0,
        "mismatched bundles: {:#?}",
        read.mismatched
    );
    assert_eq!(read.stale_count, 0, "stale reads: {:#?}", read.stale);
    // Reads racing a longer write to the same file once got the live version followed by
    // NUL bytes (the kernel grows the shared inode's size as the writer's bytes go by); fixed
    // by FUSE_AUTO_INVAL_DATA and uncached opens while a writer is busy (src/fuse, src/fs).
    assert_eq!(read.padded_count, 0, "NUL-padded reads: {:#?}", read.padded);
    assert!(written.rotations > 0, "the writer rotated nothing");
    assert!(all_reads.len() > 100, "the readers read almost nothing");
}

/// Makes MACHINE_SSL_CERT/__MACHINE_CERT the first pair of the pool (rotation 0).
fn seed(db: &Path, pair: &Pair) {
    let mut database = Database::open(db).expect("open the database");
    let chain = parse_cert_chain(&pair.cert).expect("certificate");
    let key = parse_private_key(&pair.key).expect("key");
    let content = EntryContent::private_key(&chain, &key).expect("matching pair");
    database
        .add_entry(0, STORE, Some(ALIAS), &content)
        .expect("seed the machine pair");
}

/// Rotates the pair until `stop`; publishes in `version` every rotation made live.
fn write_loop(
    dir: &Path,
    pool: &[Pair],
    version: &AtomicU64,
    stop: &AtomicBool,
    mut rng: Rng,
) -> WriterReport {
    let mut report = WriterReport::default();
    // For a diagnosis: VECSFS_LOAD_MODES=0,1 limits the writer to some of the four ways.
    let modes: Option<Vec<u64>> = std::env::var("VECSFS_LOAD_MODES").ok().map(|m| {
        m.split(',')
            .map(|n| n.trim().parse().expect("a mode number"))
            .collect()
    });
    let modes = modes.as_deref();
    while !stop.load(Ordering::SeqCst) {
        let v = version.load(Ordering::SeqCst) + 1;
        let pair = &pool[v as usize % pool.len()];
        let mode = match modes {
            Some(m) => m[rng.below(m.len() as u64) as usize],
            None => rng.below(4),
        };
        let steps: Vec<(&str, Vec<u8>)> = match mode {
            0 => vec![("cert.pem", pair.combined())],
            1 => vec![("key.pem", pair.combined())],
            2 => vec![
                ("cert.pem", pair.cert.clone()),
                ("key.pem", pair.key.clone()),
            ],
            _ => vec![
                ("key.pem", pair.key.clone()),
                ("cert.pem", pair.cert.clone()),
            ],
        };
        let split = steps.len() == 2;
        for (file, bytes) in steps {
            let start = Instant::now();
            if let Err(e) = write_through(&dir.join(file), &bytes) {
                report.errors.push(format!("rotation {v}, {file}: {e}"));
                return report;
            }
            report.latencies.push(start.elapsed());
        }
        version.store(v, Ordering::SeqCst);
        report.rotations += 1;
        if split {
            report.split += 1;
        } else {
            report.combined += 1;
        }
    }
    report
}

/// Reads bundle.pem, cert.pem and key.pem in turn until `stop`, checking each read.
fn read_loop(
    dir: &Path,
    pool: &[Pair],
    version: &AtomicU64,
    stop: &AtomicBool,
    reader: usize,
) -> ReaderReport {
    let mut report = ReaderReport::default();
    let mut last_cert = None;
    // Each reader starts at another file, so that the two do not move in step.
    let mut turn = reader;
    while !stop.load(Ordering::SeqCst) {
        let k = turn % KINDS.len();
        let kind = KINDS[k];
        turn += 1;
        let before = version.load(Ordering::SeqCst);
        let start = Instant::now();
        let result = read_sized(&dir.join(kind.file()));
        let took = start.elapsed();
        let after = version.load(Ordering::SeqCst);
        let (bytes, size) = match result {
            Ok(read) => read,
            Err(e) => {
                let what = format!("{}: {e}", kind.file());
                note(&mut report.errors, &mut report.error_count, what);
                continue;
            }
        };
        report.latencies[k].push(took);
        let shown = match kind {
            Kind::Bundle => match key_matches(&bytes, &bytes) {
                Ok(()) => pair_of_cert(pool, &bytes).ok(),
                Err(e) => {
                    let what = format!("bundle.pem ({} bytes): {e}", bytes.len());
                    note(&mut report.mismatched, &mut report.mismatched_count, what);
                    continue;
                }
            },
            Kind::Cert => pool.iter().position(|p| p.served_cert == bytes),
            Kind::Key => pool.iter().position(|p| p.served_key == bytes),
        };
        let Some(shown) = shown else {
            if let Some(version) = nul_padded_version(pool, kind, &bytes) {
                let what = format!(
                    "{} ({} bytes, fstat size {size}): pair {version} followed by {} NUL bytes",
                    kind.file(),
                    bytes.len(),
                    bytes.len() - pool_file(&pool[version], kind).len()
                );
                note(&mut report.padded, &mut report.padded_count, what);
                continue;
            }
            let what = format!(
                "{} ({} bytes, fstat size {size}, read during rotations {before}..={}) is no \
                 version of the file: {}\n{}",
                kind.file(),
                bytes.len(),
                after + 1,
                torn_diagnosis(pool, kind, &bytes),
                String::from_utf8_lossy(&bytes)
            );
            note(&mut report.torn, &mut report.torn_count, what);
            continue;
        };
        // Live at some moment of the read: rotations `before` (acknowledged before the open)
        // to `after + 1` (made live, perhaps not yet acknowledged, when the read ended).
        let live_then = (before..=after + 1).any(|v| v as usize % pool.len() == shown);
        if !live_then {
            let what = format!(
                "{} shows pair {shown}, but rotations {before}..={} (pairs {}..={}) were live \
                 during the read",
                kind.file(),
                after + 1,
                before as usize % pool.len(),
                (after + 1) as usize % pool.len()
            );
            note(&mut report.stale, &mut report.stale_count, what);
        }
        match kind {
            Kind::Cert => last_cert = Some(shown),
            Kind::Key => {
                if last_cert.take().is_some_and(|c| c != shown) {
                    report.split_pairs += 1;
                }
            }
            Kind::Bundle => {}
        }
    }
    report
}

/// Reads a whole file in one open; also what fstat(2) said of its size after the open.
fn read_sized(path: &Path) -> std::io::Result<(Vec<u8>, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok((bytes, size))
}

/// The file `kind` of `pair` as the store serves it.
fn pool_file(pair: &Pair, kind: Kind) -> &[u8] {
    match kind {
        Kind::Key => &pair.served_key,
        _ => &pair.served_cert,
    }
}

/// The pair whose whole file `bytes` is, followed by NUL bytes only: what a reader gets when a
/// write longer than the live file is in flight on the same inode (the kernel extends the
/// inode's size as the writer's data goes by, and the reader's pages past the version's end
/// read as zeros). A known defect (issue 8), told apart from every other torn read.
fn nul_padded_version(pool: &[Pair], kind: Kind, bytes: &[u8]) -> Option<usize> {
    pool.iter().position(|pair| {
        let file = pool_file(pair, kind);
        bytes.len() > file.len()
            && bytes.starts_with(file)
            && bytes[file.len()..].iter().all(|&b| b == 0)
    })
}

/// What a torn read is made of: for each version of the file, how many of its first bytes the
/// read has, and whether the rest of the read is that version's end.
fn torn_diagnosis(pool: &[Pair], kind: Kind, bytes: &[u8]) -> String {
    let mut parts = Vec::new();
    for (i, pair) in pool.iter().enumerate() {
        let version = pool_file(pair, kind);
        let prefix = version
            .iter()
            .zip(bytes)
            .take_while(|(a, b)| a == b)
            .count();
        let suffix = version
            .iter()
            .rev()
            .zip(bytes.iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        if prefix > 30 || suffix > 30 {
            parts.push(format!(
                "pair {i} ({} bytes): first {prefix} and last {suffix} bytes",
                version.len()
            ));
        }
    }
    let parses = match kind {
        Kind::Key => storm::pair_of_key(pool, bytes),
        _ => pair_of_cert(pool, bytes),
    };
    format!("{}; parses as {parses:?}", parts.join(", "))
}
