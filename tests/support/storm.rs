//! What the crash and load tests (tests/crash_consistency.rs, tests/load.rs) share: a pool of
//! key pairs made in-process with rcgen, writes through the mount that report what close(2)
//! returned, a seeded random generator, checks of a pair with vecsfs's own parsers, and
//! thread joins that never wait forever.
//!
//! Use it from a test file with
//! ```ignore
//! #[path = "support/storm.rs"]
//! mod storm;
//! ```
#![allow(dead_code)]

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::IntoRawFd;
use std::path::Path;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rcgen::{CertificateParams, DnType, KeyPair};
use vecsfs::pki::{parse_cert_chain, parse_private_key};

/// An EC P-256 key and a self-signed certificate for it: the bytes written, and the forms the
/// store gives back (canonical chain PEM, PKCS#8 PEM) to recognise what is read.
#[derive(Clone)]
pub struct Pair {
    /// PEM as rcgen makes it.
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
    /// DER of the certificate: how a stored chain is recognised.
    pub leaf: Vec<u8>,
    /// DER of the public key: how a stored key is recognised.
    pub spki: Vec<u8>,
    /// cert.pem and key.pem exactly as the store serves them.
    pub served_cert: Vec<u8>,
    pub served_key: Vec<u8>,
}

impl Pair {
    /// The key followed by the certificate: one PEM holding the whole pair, which a write to
    /// either cert.pem or key.pem commits at once.
    pub fn combined(&self) -> Vec<u8> {
        [self.key.as_slice(), self.cert.as_slice()].concat()
    }
}

/// `count` distinct pairs, each with its own key.
pub fn pairs(count: usize, label: &str) -> Vec<Pair> {
    (0..count)
        .map(|i| {
            let key = KeyPair::generate().expect("rcgen key");
            let mut params = CertificateParams::new(vec![format!("{label}-{i}.example")])
                .expect("certificate parameters");
            params
                .distinguished_name
                .push(DnType::CommonName, format!("{label} {i}"));
            let cert = params.self_signed(&key).expect("certificate");
            let (cert, key) = (cert.pem().into_bytes(), key.serialize_pem().into_bytes());
            let chain = parse_cert_chain(&cert).expect("own certificate parses");
            let parsed = parse_private_key(&key).expect("own key parses");
            parsed
                .matches_certificate(chain.leaf_der())
                .expect("own key matches");
            Pair {
                leaf: chain.leaf_der().to_vec(),
                spki: parsed.public_key_spki_der(),
                served_cert: chain.pem().as_bytes().to_vec(),
                served_key: parsed.to_pkcs8_pem().as_bytes().to_vec(),
                cert,
                key,
            }
        })
        .collect()
}

/// The index in `pool` of the pair whose certificate is the leaf of `cert_pem`.
pub fn pair_of_cert(pool: &[Pair], cert_pem: &[u8]) -> Result<usize, String> {
    let chain = parse_cert_chain(cert_pem).map_err(|e| format!("cert does not parse: {e:?}"))?;
    pool.iter()
        .position(|p| p.leaf == chain.leaf_der())
        .ok_or_else(|| "a certificate of no pair in the pool".to_string())
}

/// The index in `pool` of the pair whose key `key_pem` is.
pub fn pair_of_key(pool: &[Pair], key_pem: &[u8]) -> Result<usize, String> {
    let key = parse_private_key(key_pem).map_err(|e| format!("key does not parse: {e:?}"))?;
    let spki = key.public_key_spki_der();
    pool.iter()
        .position(|p| p.spki == spki)
        .ok_or_else(|| "a key of no pair in the pool".to_string())
}

/// Whether `key_pem` parses and is the key of the first certificate of `cert_pem` (which
/// parses): the check vecsfs itself makes before a pair goes live.
pub fn key_matches(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), String> {
    let chain = parse_cert_chain(cert_pem).map_err(|e| format!("cert does not parse: {e:?}"))?;
    parse_private_key(key_pem)
        .map_err(|e| format!("key does not parse: {e:?}"))?
        .matches_certificate(chain.leaf_der())
        .map_err(|e| format!("key does not match the certificate: {e:?}"))
}

/// Writes `content` to `path` with open(O_TRUNC)/write/close and returns the first error,
/// including close(2)'s: std's `File` drops close errors, and close is where the mount
/// reports a refused (or an unacknowledged) commit.
pub fn write_through(path: &Path, content: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    let written = file.write_all(content);
    close_checked(file).and(written)
}

/// Closes `file` and returns what close(2) said (std's drop ignores it).
pub fn close_checked(file: fs::File) -> io::Result<()> {
    let fd = file.into_raw_fd();
    // SAFETY: `fd` was just released from an owned File and is closed exactly once.
    if unsafe { libc::close(fd) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads a whole file in one open.
pub fn read_whole(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    fs::File::open(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Whether `e` is what a call on a mount whose daemon died returns: ENOTCONN for a call made
/// after, ECONNABORTED for one the kernel had sent to the daemon when it died.
pub fn is_dead_mount(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOTCONN) | Some(libc::ECONNABORTED)
    )
}

/// A small deterministic generator (xorshift64*): seeded from `env` when it is set (to replay
/// a run), from the clock otherwise; the seed is printed.
pub struct Rng(u64);

impl Rng {
    pub fn from_env(env: &str) -> Rng {
        let seed = std::env::var(env)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0x9E37_79B9_7F4A_7C15)
            });
        println!("random seed: {seed} (set {env}={seed} to replay)");
        Rng::new(seed)
    }

    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    /// A generator for a thread, derived from this one.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next())
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A whole-number setting from the environment, or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a whole number")),
        Err(_) => default,
    }
}

/// Joins `handle` if it finishes before `deadline`; otherwise says so (the thread is left
/// running: a test that gets this error fails, and the mount guard's lazy unmount frees it).
pub fn join_by<T>(handle: JoinHandle<T>, deadline: Instant, what: &str) -> Result<T, String> {
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return Err(format!("{what} still running at its deadline: hung?"));
        }
        thread::sleep(Duration::from_millis(5));
    }
    handle
        .join()
        .map_err(|panic| format!("{what} panicked: {}", panic_message(&panic)))
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(not a string)".to_string()
    }
}

/// The `q` quantile (0..=1) of sorted durations.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
