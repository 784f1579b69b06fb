//! Timing: latency samples with their percentiles, and the loops every row shares.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

/// Latencies of one operation.
#[derive(Default)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The `p`-th percentile (0..=100), nearest rank.
    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    pub fn p50(&self) -> Duration {
        self.percentile(50.0)
    }

    pub fn p99(&self) -> Duration {
        self.percentile(99.0)
    }
}

/// Times `op` once.
pub fn time<T>(op: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = op();
    (start.elapsed(), out)
}

/// open + read to the end + close, as a service reading its certificate does.
pub fn read_whole(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    buf.clear();
    File::open(path)?.read_to_end(buf)
}

/// Hot reads: what `threads` readers achieve together over `paths` for `duration`.
pub struct HotReads {
    pub ops_per_s: f64,
    pub latency: Samples,
}

impl HotReads {
    /// Rounds of the same measurement as one: the median round's rate, every latency.
    pub fn combine(rounds: Vec<HotReads>) -> HotReads {
        let mut rates: Vec<f64> = rounds.iter().map(|r| r.ops_per_s).collect();
        rates.sort_by(f64::total_cmp);
        let ops_per_s = rates.get(rates.len() / 2).copied().unwrap_or(0.0);
        let mut latency = Samples::default();
        for round in rounds {
            latency.extend(round.latency);
        }
        HotReads { ops_per_s, latency }
    }
}

/// Every reader walks all of `paths` (each from its own offset) until `duration` has passed;
/// one warm-up pass first, so that dentries and pages are cached as on a long-running host.
pub fn hot_reads(paths: &[PathBuf], threads: usize, duration: Duration) -> HotReads {
    let mut buf = Vec::with_capacity(8192);
    for path in paths {
        read_whole(path, &mut buf).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let barrier = Barrier::new(threads);
    let (wall, per_thread) = thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let mut samples = Samples::default();
                    let mut buf = Vec::with_capacity(8192);
                    barrier.wait();
                    let start = Instant::now();
                    let mut i = t * paths.len() / threads.max(1);
                    while start.elapsed() < duration {
                        let path = &paths[i % paths.len()];
                        let began = Instant::now();
                        if let Err(e) = read_whole(path, &mut buf) {
                            panic!("{}: {e}", path.display());
                        }
                        samples.push(began.elapsed());
                        i += 1;
                    }
                    (start.elapsed(), samples)
                })
            })
            .collect();
        let mut wall = Duration::ZERO;
        let mut all = Samples::default();
        for worker in workers {
            let (elapsed, samples) = worker.join().expect("reader thread");
            wall = wall.max(elapsed);
            all.extend(samples);
        }
        (wall, all)
    });
    HotReads {
        ops_per_s: per_thread.len() as f64 / wall.as_secs_f64(),
        latency: per_thread,
    }
}

/// The median wall time of `runs` runs of a shell command line (after one warm-up run).
pub fn median_shell(line: &str, runs: usize) -> Duration {
    let mut samples = Samples::default();
    for run in 0..=runs {
        let (took, status) = time(|| {
            Command::new("sh")
                .args(["-c", line])
                .stdout(Stdio::null())
                .status()
        });
        match status {
            Ok(s) if s.success() => {}
            other => panic!("`{line}` failed: {other:?}"),
        }
        if run > 0 {
            samples.push(took);
        }
    }
    samples.p50()
}

/// Sequential read throughput of one large file in MB/s, the file's pages dropped from the
/// page cache first (`cold`) or left there.
pub fn read_throughput(path: &Path, cold: bool) -> f64 {
    use std::os::fd::AsRawFd;
    let mut file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if cold {
        // SAFETY: a valid open fd; advice only.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
    let mut buf = vec![0u8; 1 << 20];
    let (took, bytes) = time(|| {
        let mut total = 0usize;
        loop {
            match file.read(&mut buf) {
                Ok(0) => break total,
                Ok(n) => total += n,
                Err(e) => panic!("{}: {e}", path.display()),
            }
        }
    });
    bytes as f64 / 1e6 / took.as_secs_f64()
}

/// The largest resident set `pid` has had, in MB (`VmHWM`).
pub fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
