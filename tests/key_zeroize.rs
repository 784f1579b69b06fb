//! Key material is zeroed after use: no heap block the program frees holds a byte of a private
//! key. Checked with a watching allocator: while armed, every block freed (and every block a
//! reallocation leaves, since growth is forced to move) is searched for two fingerprints of a
//! test key, 16 bytes of its private scalar (DER) and 16 characters of its PEM text. Each path
//! that holds keys runs once under watch: parsing, the store, the filesystem layer's read and
//! write handles, vecs-cli `entry create` and `getkey`, and export to PEM.
//!
//! What this cannot see: memory SQLite allocates itself (its page cache and the blobs it
//! reads, with malloc, outside Rust's allocator; SQLite frees them without zeroing), and copies
//! the kernel makes (FUSE buffers, page cache).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::OsStr;
use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use zeroize::Zeroizing;

use vecsfs::fs::{Caller, FsOptions, VecsFs, ROOT_INO};
use vecsfs::pki::{parse_cert_chain, parse_private_key};
use vecsfs::store::{Database, EntryContent};

const FINGERPRINT: usize = 16;

/// The fingerprints looked for, set once before the watch is armed.
static FINGERPRINTS: OnceLock<[[u8; FINGERPRINT]; 2]> = OnceLock::new();
static ARMED: AtomicBool = AtomicBool::new(false);
/// Freed blocks that held a fingerprint, and the size of the last one (for the message).
static LEAKS: AtomicUsize = AtomicUsize::new(0);
static LAST_LEAK_SIZE: AtomicUsize = AtomicUsize::new(0);
/// One watched step at a time (the test harness runs tests on several threads).
static WATCH: Mutex<()> = Mutex::new(());

struct Watching;

// SAFETY: every call is forwarded to the system allocator; `dealloc` only reads the block it
// is about to free, and `realloc` allocates, copies and frees through the methods below.
unsafe impl GlobalAlloc for Watching {
    /// Blocks start zeroed, so that what a block holds when freed was written into it by Rust
    /// code during its life: a block can reuse memory SQLite (which allocates with malloc,
    /// outside this allocator) freed with key bytes in it, and its unwritten part (the spare
    /// slots of a hash table) would otherwise show them.
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::Acquire) {
            if let Some(prints) = FINGERPRINTS.get() {
                // SAFETY: the block is `layout.size()` bytes, allocated by us and still live.
                let block = std::slice::from_raw_parts(ptr, layout.size());
                if prints.iter().any(|p| holds(block, p)) {
                    LEAKS.fetch_add(1, Ordering::Relaxed);
                    LAST_LEAK_SIZE.store(layout.size(), Ordering::Relaxed);
                    // LEAK_BACKTRACE=1 prints where each such block is freed (the watch is
                    // off meanwhile: capturing a backtrace allocates).
                    if std::env::var_os("LEAK_BACKTRACE").is_some() {
                        ARMED.store(false, Ordering::Release);
                        eprintln!("{}", std::backtrace::Backtrace::force_capture());
                        ARMED.store(true, Ordering::Release);
                    }
                }
            }
        }
        System.dealloc(ptr, layout)
    }

    /// Always moves, so that what a growing buffer leaves behind is freed (and searched) here,
    /// whether or not the system allocator would have grown it in place.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        let new = self.alloc(new_layout);
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Watching = Watching;

fn holds(block: &[u8], print: &[u8; FINGERPRINT]) -> bool {
    block.len() >= FINGERPRINT
        && block
            .iter()
            .enumerate()
            .take(block.len() - FINGERPRINT + 1)
            .any(|(i, &b)| b == print[0] && &block[i..i + FINGERPRINT] == print)
}

/// Runs `step` with the watch armed; panics if a freed block held key material.
fn watched<T>(name: &str, step: impl FnOnce() -> T) -> T {
    let _one = WATCH.lock().unwrap_or_else(|p| p.into_inner());
    LEAKS.store(0, Ordering::Relaxed);
    ARMED.store(true, Ordering::Release);
    let value = step();
    ARMED.store(false, Ordering::Release);
    let leaks = LEAKS.load(Ordering::Relaxed);
    assert_eq!(
        leaks,
        0,
        "{name}: {leaks} freed heap block(s) still held key material (the last of {} bytes)",
        LAST_LEAK_SIZE.load(Ordering::Relaxed)
    );
    value
}

/// A P-256 key and a certificate for it, made by openssl in `dir`; the key is read into a
/// zeroizing buffer, and the fingerprints are taken from it.
struct Material {
    key_path: std::path::PathBuf,
    cert_path: std::path::PathBuf,
    key_pem: Zeroizing<Vec<u8>>,
    cert_pem: Vec<u8>,
}

fn material(dir: &Path) -> Material {
    common::genpkey(dir, common::KeyKind::EcP256, "k.key");
    common::openssl(
        dir,
        &[
            "req", "-x509", "-new", "-key", "k.key", "-subj", "/CN=z", "-days", "2", "-out",
            "k.crt",
        ],
    );
    let key_path = dir.join("k.key");
    let cert_path = dir.join("k.crt");
    // `fs::read` sizes its buffer from the file's length: no growth, and it is wrapped at once.
    let key_pem = Zeroizing::new(std::fs::read(&key_path).expect("read key"));
    let cert_pem = std::fs::read(&cert_path).expect("read cert");
    let key = parse_private_key(&key_pem).expect("test key");
    let der = key.pkcs8_der();
    // The private scalar: `INTEGER 1, OCTET STRING (32)` in the ECPrivateKey inside PKCS#8.
    let at = der
        .windows(5)
        .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
        .expect("an EC private key")
        + 5;
    let mut scalar = [0u8; FINGERPRINT];
    scalar.copy_from_slice(&der[at..at + FINGERPRINT]);
    // The same scalar as PEM text: 16 base64 characters that encode 12 of its bytes (from a
    // multiple of 3, where base64 groups start), on one line of the PEM body. Text of the
    // public part would not do: the certificate holds the same algorithm header and point.
    let pem = key.to_pkcs8_pem();
    // Zeroized and sized in advance like everything else here: a stale copy freed before the
    // watch is armed would turn up later in a reused block.
    let mut body = Zeroizing::new(String::with_capacity(pem.len()));
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        body.push_str(line);
    }
    let first = at.div_ceil(3) * 3;
    assert!(
        first + 12 <= at + 32,
        "a whole base64 group inside the scalar"
    );
    let char_at = first / 3 * 4;
    assert!(char_at % 64 + FINGERPRINT <= 64, "on one PEM line");
    let mut text = [0u8; FINGERPRINT];
    text.copy_from_slice(&body.as_bytes()[char_at..char_at + FINGERPRINT]);
    assert!(
        key_pem.windows(FINGERPRINT).any(|w| w == text.as_slice()),
        "openssl writes the key as the store does (PKCS#8)"
    );
    FINGERPRINTS
        .set([scalar, text])
        .expect("fingerprints set once");
    Material {
        key_path,
        cert_path,
        key_pem,
        cert_pem,
    }
}

/// Runs vecs-cli in-process; what it prints goes to a buffer sized in advance (so it never
/// grows) and zeroed when dropped.
fn cli(args: &[&str]) -> u32 {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let mut stdin = Cursor::new(Vec::new());
    let mut stdout = Zeroizing::new(Vec::with_capacity(1 << 20));
    let mut stderr = Zeroizing::new(Vec::with_capacity(1 << 20));
    vecsfs::cli::run(
        &args,
        &mut vecsfs::cli::Io {
            stdin: &mut stdin,
            stdout: &mut *stdout,
            stderr: &mut *stderr,
        },
        0,
    )
}

/// The one test: the fingerprints are global, so every path runs here, one after another.
#[test]
fn no_freed_memory_holds_key_material() {
    let dir = tempfile::tempdir().expect("temp dir");
    let m = material(dir.path());
    let chain = parse_cert_chain(&m.cert_pem).expect("test cert");

    watched("parse a key and write it as PKCS#8", || {
        let key = parse_private_key(&m.key_pem).expect("key");
        let pem = key.to_pkcs8_pem();
        assert!(!pem.is_empty());
        let combined = {
            let mut both = Zeroizing::new(Vec::with_capacity(m.key_pem.len() + m.cert_pem.len()));
            both.extend_from_slice(&m.key_pem);
            both.extend_from_slice(&m.cert_pem);
            both
        };
        parse_private_key(&combined).expect("key and chain in one PEM");
    });

    let db_path = dir.path().join("vecs.db");
    watched("store a pair, read its key and a snapshot", || {
        let key = parse_private_key(&m.key_pem).expect("key");
        let mut db = Database::open(&db_path).expect("open");
        let content = EntryContent::private_key(&chain, &key).expect("pair");
        db.add_entry(0, "MACHINE_SSL_CERT", Some("__MACHINE_CERT"), &content)
            .expect("add");
        let stored = db
            .key(0, "MACHINE_SSL_CERT", "__MACHINE_CERT")
            .expect("key");
        assert!(!stored.is_empty());
        drop(db.snapshot().expect("snapshot"));
    });

    watched(
        "the filesystem: read key.pem and bundle.pem, write key.pem",
        || {
            let fs = VecsFs::open_db(&db_path, FsOptions::default()).expect("fs");
            let root = Caller::ROOT;
            let store = fs
                .lookup(&root, ROOT_INO, OsStr::new("MACHINE_SSL_CERT"))
                .expect("store");
            let alias = fs
                .lookup(&root, store.ino, OsStr::new("__MACHINE_CERT"))
                .expect("alias");
            for name in ["key.pem", "bundle.pem"] {
                let file = fs.lookup(&root, alias.ino, OsStr::new(name)).expect(name);
                let opened = fs.open(&root, file.ino, libc::O_RDONLY).expect("open");
                let data = fs.read(opened.fh, 0, 1 << 16).expect("read");
                assert!(!data.is_empty());
                drop(data);
                fs.release(&root, opened.fh).expect("release");
            }
            // The kernel writes in pieces: the handle's buffer grows many times.
            let key = fs
                .lookup(&root, alias.ino, OsStr::new("key.pem"))
                .expect("key.pem");
            let opened = fs
                .open(&root, key.ino, libc::O_WRONLY | libc::O_TRUNC)
                .expect("open for writing");
            for (i, piece) in m.key_pem.chunks(7).enumerate() {
                fs.write(&root, opened.fh, (i * 7) as u64, piece)
                    .expect("write");
            }
            // Read back through the write handle (what a program that rewrites in place does).
            drop(fs.read(opened.fh, 0, 1 << 16).expect("read the buffer"));
            fs.flush(&root, opened.fh).expect("commit");
            fs.release(&root, opened.fh).expect("release");
        },
    );

    let (key_arg, cert_arg) = (
        m.key_path.to_string_lossy().into_owned(),
        m.cert_path.to_string_lossy().into_owned(),
    );
    let db_arg = db_path.to_string_lossy().into_owned();
    let out = dir.path().join("got.key");
    let out_arg = out.to_string_lossy().into_owned();
    watched("vecs-cli entry create and getkey", || {
        let created = cli(&[
            "entry",
            "create",
            "--store",
            "MACHINE_SSL_CERT",
            "--alias",
            "other",
            "--cert",
            &cert_arg,
            "--key",
            &key_arg,
            "--db",
            &db_arg,
        ]);
        assert_eq!(created, 0, "entry create");
        let got = cli(&[
            "entry",
            "getkey",
            "--store",
            "MACHINE_SSL_CERT",
            "--alias",
            "other",
            "--output",
            &out_arg,
            "--db",
            &db_arg,
        ]);
        assert_eq!(got, 0, "getkey");
    });
    assert!(out.exists());

    let export_dir = dir.path().join("export");
    watched("export to PEM files", || {
        let db = Database::open(&db_path).expect("open");
        let request = vecsfs::migrate::ExportRequest {
            store: "MACHINE_SSL_CERT",
            alias: Some("__MACHINE_CERT"),
            output_dir: &export_dir,
            pkcs12_password: None,
            entry_password: None,
        };
        vecsfs::migrate::export_entries(&db, 0, &request).expect("export");
    });
    assert!(export_dir.join("__MACHINE_CERT.key").exists());
}
