//! The contract of the mount (shared/spec/filesystem.md) end to end, on a real FUSE mount served
//! by the `vecsfs` binary: pair rotation in either order, snapshots and read-your-writes around
//! the kernel's cache, readers racing 100 rotations, per-user permissions checked as a second
//! real user, the two doors (mount and vecs-cli) to one store, durability across umount and
//! `kill -9`, moving a file out of an entry and back, and hostile input that must never panic
//! the daemon. Runs as root (CI does), with `runuser` and the `nobody` user.
//!
//! Every write through the mount goes through [`write_through`], which reports what close(2)
//! returned: std's `File` drops close errors, and close is where the mount reports a refused
//! commit.

#[path = "support/mount.rs"]
mod mount;
#[path = "support/storm.rs"]
mod storm;

mod common;

use std::collections::{BTreeMap, HashMap};
use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{gencrl, genpkey, openssl, run_command, vecs_on_db, KeyKind, Workspace};
use mount::{xattr, MountSpec, Mounted, EXIT_TIMEOUT};
use storm::{close_checked, write_through};
use vecsfs::pki::{parse_cert_chain, parse_crl, parse_private_key};
use vecsfs::store::{Database, EntryContent};

/// The contract's bound on how long a change through one door may take to show at the other.
const VISIBLE_WITHIN: Duration = Duration::from_secs(1);
/// How long a visibility poll goes on, so that a late change is measured, not just missed.
const POLL_LIMIT: Duration = Duration::from_secs(5);
/// How long a helper command (runuser, ls, cat, umount) may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

const PAIR_STORE: &str = "MACHINE_SSL_CERT";
const PAIR_ALIAS: &str = "__MACHINE_CERT";

// -------------------------------------------------------------------------------------------
// Material
// -------------------------------------------------------------------------------------------

/// An EC P-256 key and a self-signed certificate for it, as files and as bytes.
#[derive(Clone)]
struct Pair {
    name: String,
    cert_path: PathBuf,
    key_path: PathBuf,
    cert: Vec<u8>,
    key: Vec<u8>,
}

impl Pair {
    /// Makes `<stem>.key` and `<stem>.crt` in the workspace, with subject `subject`.
    fn new(ws: &Workspace, stem: &str, subject: &str) -> Pair {
        let key = format!("{stem}.key");
        let cert = format!("{stem}.crt");
        let dir = ws.dir.path();
        genpkey(dir, KeyKind::EcP256, &key);
        openssl(
            dir,
            &[
                "req", "-x509", "-new", "-key", &key, "-subj", subject, "-days", "30", "-out",
                &cert,
            ],
        );
        let (key_path, cert_path) = (ws.path(&key), ws.path(&cert));
        Pair {
            name: stem.to_string(),
            cert: fs::read(&cert_path).expect("read cert"),
            key: fs::read(&key_path).expect("read key"),
            cert_path,
            key_path,
        }
    }

    fn named(ws: &Workspace, stem: &str) -> Pair {
        Pair::new(ws, stem, &format!("/CN={stem}"))
    }

    fn leaf(&self) -> Vec<u8> {
        leaf_der(&self.cert).expect("own certificate parses")
    }

    fn spki(&self) -> Vec<u8> {
        spki(&self.key).expect("own key parses")
    }

    /// The key followed by the certificate: one PEM holding the whole pair.
    fn combined(&self) -> Vec<u8> {
        [self.key.as_slice(), self.cert.as_slice()].concat()
    }
}

fn leaf_der(cert_pem: &[u8]) -> Result<Vec<u8>, String> {
    parse_cert_chain(cert_pem)
        .map(|chain| chain.leaf_der().to_vec())
        .map_err(|e| format!("certificate does not parse: {e:?}"))
}

fn spki(key_pem: &[u8]) -> Result<Vec<u8>, String> {
    parse_private_key(key_pem)
        .map(|key| key.public_key_spki_der())
        .map_err(|e| format!("key does not parse: {e:?}"))
}

/// Whether `key_pem` is the private key of the first certificate of `cert_pem`.
fn key_matches(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), String> {
    let leaf = leaf_der(cert_pem)?;
    parse_private_key(key_pem)
        .map_err(|e| format!("key does not parse: {e:?}"))?
        .matches_certificate(&leaf)
        .map_err(|e| format!("key does not match the certificate: {e:?}"))
}

/// A CRL signed by a throwaway CA (`openssl ca -gencrl`).
fn make_crl(ws: &Workspace) -> Vec<u8> {
    let ca = Pair::named(ws, "crl-ca");
    let crl = gencrl(&ws.path("ca"), &ca.cert_path, &ca.key_path);
    fs::read(crl).expect("crl.pem")
}

/// A small deterministic generator (xorshift64*), seeded per run and printed.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Rng(nanos | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

// -------------------------------------------------------------------------------------------
// Doing things through the mount and through vecs-cli
// -------------------------------------------------------------------------------------------

/// A libc return code as a result (errno read right after the call).
fn rc_result(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn errno_of<T>(result: &io::Result<T>) -> Option<i32> {
    result.as_ref().err().and_then(io::Error::raw_os_error)
}

/// The value of the `user.vecs.pending` extended attribute, `None` when it is absent.
fn pending_xattr(dir: &Path) -> io::Result<Option<String>> {
    xattr(dir, "user.vecs.pending")
}

/// Runs vecs-cli on `db` (another process, the other door); it must succeed: its stdout.
#[track_caller]
fn vecs_ok(db: &Path, args: &[&str]) -> String {
    let run = vecs_on_db(db, args);
    assert_eq!(run.code, 0, "vecs-cli {args:?} failed: {run:#?}");
    run.stdout
}

/// `vecs-cli store permission --name STORE --user nobody --grant|--revoke WHAT` on `db`.
#[track_caller]
fn nobody_permission(db: &Path, store: &str, change: &str, what: &str) {
    vecs_ok(
        db,
        &[
            "store",
            "permission",
            "--name",
            store,
            "--user",
            "nobody",
            change,
            what,
        ],
    );
}

/// Puts `pair` at `store`/`alias` of `db` with vecs-cli.
fn seed_pair(db: &Path, store: &str, alias: &str, pair: &Pair) {
    vecs_ok(
        db,
        &[
            "entry",
            "create",
            "--store",
            store,
            "--alias",
            alias,
            "--cert",
            pair.cert_path.to_str().expect("utf-8 path"),
            "--key",
            pair.key_path.to_str().expect("utf-8 path"),
        ],
    );
}

/// Runs `program args` as the user `nobody` and returns (success, combined output).
fn as_nobody(program: &str, args: &[&OsStr]) -> (bool, String) {
    let (status, out) = run_command(
        Command::new("runuser")
            .args(["-u", "nobody", "--", program])
            .args(args),
        COMMAND_TIMEOUT,
    );
    (status.success(), out)
}

/// Lets every user reach the mountpoint (the harness's temp dir is 0700).
fn open_the_way_to(m: &Mounted) {
    let parent = m.mountpoint.parent().expect("mountpoint has a parent");
    fs::set_permissions(parent, fs::Permissions::from_mode(0o755)).expect("chmod 0755");
}

/// The daemon's log without the per-request debug lines, last `n` lines.
fn log_tail(m: &Mounted, n: usize) -> String {
    let log = m.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains("fuser::request"))
        .collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Polls `check` every 5 ms until it holds or `POLL_LIMIT` passes; returns how long it took.
fn time_until(check: impl FnMut() -> bool) -> Option<Duration> {
    time_until_within(POLL_LIMIT, check)
}

fn time_until_within(limit: Duration, check: impl FnMut() -> bool) -> Option<Duration> {
    mount::wait_for(limit, check)
}

/// Asserts that a change became visible within the contract's second, and prints the delay.
#[track_caller]
fn assert_visible_in_time(what: &str, took: Option<Duration>, m: &Mounted) -> Duration {
    match took {
        Some(d) => {
            println!("{what}: visible after {d:?}");
            assert!(
                d < VISIBLE_WITHIN,
                "{what}: took {d:?}, the contract says within {VISIBLE_WITHIN:?}; log:\n{}",
                log_tail(m, 30)
            );
            d
        }
        None => panic!(
            "{what}: not visible after {POLL_LIMIT:?}; log:\n{}",
            log_tail(m, 30)
        ),
    }
}

/// Asserts that the mount serves `pair` at `dir` (cert.pem's leaf and key.pem's public key)
/// and that the two files match.
#[track_caller]
fn assert_live(m: &Mounted, dir: &Path, pair: &Pair, step: &str) {
    let cert = fs::read(dir.join("cert.pem"))
        .unwrap_or_else(|e| panic!("{step}: read cert.pem: {e}; log:\n{}", log_tail(m, 30)));
    let key = fs::read(dir.join("key.pem"))
        .unwrap_or_else(|e| panic!("{step}: read key.pem: {e}; log:\n{}", log_tail(m, 30)));
    assert_eq!(
        leaf_der(&cert),
        Ok(pair.leaf()),
        "{step}: cert.pem is not {}'s certificate; log:\n{}",
        pair.name,
        log_tail(m, 30)
    );
    assert_eq!(
        spki(&key),
        Ok(pair.spki()),
        "{step}: key.pem is not {}'s key; log:\n{}",
        pair.name,
        log_tail(m, 30)
    );
    key_matches(&cert, &key).unwrap_or_else(|e| panic!("{step}: live pair: {e}"));
}

/// Asserts that vecs-cli (the other door) sees `pair` at `store`/`alias`, and the same bytes
/// as the mount at `dir`.
#[track_caller]
fn assert_cli_live(db: &Path, store: &str, alias: &str, pair: &Pair, dir: &Path, step: &str) {
    let cert = vecs_ok(
        db,
        &["entry", "getcert", "--store", store, "--alias", alias],
    );
    let key = vecs_ok(db, &["entry", "getkey", "--store", store, "--alias", alias]);
    assert_eq!(
        leaf_der(cert.as_bytes()),
        Ok(pair.leaf()),
        "{step}: vecs-cli getcert"
    );
    assert_eq!(
        spki(key.as_bytes()),
        Ok(pair.spki()),
        "{step}: vecs-cli getkey"
    );
    let mounted_cert = fs::read_to_string(dir.join("cert.pem")).expect("read cert.pem");
    let mounted_key = fs::read_to_string(dir.join("key.pem")).expect("read key.pem");
    assert_eq!(
        cert.trim_end(),
        mounted_cert.trim_end(),
        "{step}: cert bytes"
    );
    assert_eq!(key.trim_end(), mounted_key.trim_end(), "{step}: key bytes");
}

#[track_caller]
fn assert_pending(m: &Mounted, dir: &Path, expected: Option<&str>, step: &str) {
    let value =
        pending_xattr(dir).unwrap_or_else(|e| panic!("{step}: getxattr user.vecs.pending: {e}"));
    match (expected, &value) {
        (None, None) => {}
        (Some(half), Some(v)) if v.contains(half) => {}
        _ => panic!(
            "{step}: user.vecs.pending is {value:?}, expected one naming {expected:?}; log:\n{}",
            log_tail(m, 30)
        ),
    }
}

#[track_caller]
fn write_ok(m: &Mounted, path: &Path, content: &[u8], step: &str) {
    if let Err(e) = write_through(path, content) {
        panic!(
            "{step}: writing {} failed: {e}; log:\n{}",
            path.display(),
            log_tail(m, 30)
        );
    }
}

// -------------------------------------------------------------------------------------------
// 1. Rotation in either order
// -------------------------------------------------------------------------------------------

#[test]
fn rotation_in_either_order_and_by_one_combined_pem() {
    let ws = Workspace::new();
    let p: Vec<Pair> = (1..=6)
        .map(|i| Pair::named(&ws, &format!("rot{i}")))
        .collect();
    let seed = p[0].clone();
    let m = Mounted::start(
        MountSpec::default().before_mount(move |db| seed_pair(db, PAIR_STORE, PAIR_ALIAS, &seed)),
    );
    let dir = m.path(&format!("{PAIR_STORE}/{PAIR_ALIAS}"));
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    assert_live(&m, &dir, &p[0], "seeded");
    assert_pending(&m, &dir, None, "seeded");

    // Certificate first: it waits as the pending half, the old pair stays live.
    write_ok(&m, &cert, &p[1].cert, "cert first: write c2");
    assert_live(&m, &dir, &p[0], "cert first: after c2 only");
    assert_pending(&m, &dir, Some("cert.pem"), "cert first: after c2 only");
    assert_cli_live(
        &m.db,
        PAIR_STORE,
        PAIR_ALIAS,
        &p[0],
        &dir,
        "cert first: c2 only",
    );
    assert!(
        log_tail(&m, 200).to_lowercase().contains("pending"),
        "a pending half is logged; log:\n{}",
        log_tail(&m, 30)
    );
    write_ok(&m, &key, &p[1].key, "cert first: write k2");
    assert_live(&m, &dir, &p[1], "cert first: after k2");
    assert_pending(&m, &dir, None, "cert first: after k2");
    assert_cli_live(
        &m.db,
        PAIR_STORE,
        PAIR_ALIAS,
        &p[1],
        &dir,
        "cert first: done",
    );

    // Key first.
    write_ok(&m, &key, &p[2].key, "key first: write k3");
    assert_live(&m, &dir, &p[1], "key first: after k3 only");
    assert_pending(&m, &dir, Some("key.pem"), "key first: after k3 only");
    assert_cli_live(
        &m.db,
        PAIR_STORE,
        PAIR_ALIAS,
        &p[1],
        &dir,
        "key first: k3 only",
    );
    write_ok(&m, &cert, &p[2].cert, "key first: write c3");
    assert_live(&m, &dir, &p[2], "key first: after c3");
    assert_pending(&m, &dir, None, "key first: after c3");
    assert_cli_live(
        &m.db,
        PAIR_STORE,
        PAIR_ALIAS,
        &p[2],
        &dir,
        "key first: done",
    );

    // A new pending half replaces the old one.
    write_ok(&m, &cert, &p[3].cert, "replace pending: write c4");
    write_ok(&m, &cert, &p[4].cert, "replace pending: write c5");
    assert_live(&m, &dir, &p[2], "replace pending: c5 pending");
    assert_pending(&m, &dir, Some("cert.pem"), "replace pending: c5 pending");
    write_ok(&m, &key, &p[4].key, "replace pending: write k5");
    assert_live(&m, &dir, &p[4], "replace pending: after k5");
    assert_pending(&m, &dir, None, "replace pending: after k5");

    // One PEM with the key and the chain replaces the pair at once, through either file.
    write_ok(&m, &cert, &p[5].combined(), "combined PEM to cert.pem");
    assert_live(&m, &dir, &p[5], "combined PEM to cert.pem");
    assert_pending(&m, &dir, None, "combined PEM to cert.pem");
    assert_cli_live(
        &m.db,
        PAIR_STORE,
        PAIR_ALIAS,
        &p[5],
        &dir,
        "combined to cert.pem",
    );
    let cert_then_key = [p[0].cert.as_slice(), p[0].key.as_slice()].concat();
    write_ok(&m, &key, &cert_then_key, "combined PEM to key.pem");
    assert_live(&m, &dir, &p[0], "combined PEM to key.pem");
    assert_pending(&m, &dir, None, "combined PEM to key.pem");
    assert_cli_live(
        &m.db,
        PAIR_STORE,
        PAIR_ALIAS,
        &p[0],
        &dir,
        "combined to key.pem",
    );
}

/// What a writer has not closed yet is nobody else's business: while one handle has opened
/// cert.pem or key.pem with O_TRUNC (as cp does) and written part of the new content, readers
/// see the live file, whole: a handle opened before reads its snapshot, a fresh open + read
/// gets the live bytes, and stat shows the live size.
#[test]
fn an_unfinished_write_does_not_change_what_readers_see() {
    let ws = Workspace::new();
    let (old, new) = (
        Pair::named(&ws, "unfinished-old"),
        Pair::named(&ws, "unfinished-new"),
    );
    let seed = old.clone();
    let m = Mounted::start(
        MountSpec::default().before_mount(move |db| seed_pair(db, PAIR_STORE, PAIR_ALIAS, &seed)),
    );
    let dir = m.path(&format!("{PAIR_STORE}/{PAIR_ALIAS}"));
    let mut failures = Vec::new();
    for (file, new_content) in [("cert.pem", &new.cert), ("key.pem", &new.key)] {
        let path = dir.join(file);
        let live = fs::read(&path).expect("read the live file");
        let check = |when: &str, how: &str, got: io::Result<Vec<u8>>| match got {
            Ok(bytes) if bytes == live => None,
            Ok(bytes) => Some(format!(
                "{file}, {when}: {how} gave {} bytes, expected the live {} bytes",
                bytes.len(),
                live.len()
            )),
            Err(e) => Some(format!("{file}, {when}: {how} failed: {e}")),
        };
        let check_size = |when: &str| match fs::metadata(&path).map(|md| md.len()) {
            Ok(len) if len == live.len() as u64 => None,
            other => Some(format!(
                "{file}, {when}: stat size {other:?}, expected the live {}",
                live.len()
            )),
        };
        // pread(2) only, no fstat: what a reader that already knows the file's size does.
        let pread = |f: &fs::File| -> io::Result<Vec<u8>> {
            let mut out = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = f.read_at(&mut buf, out.len() as u64)?;
                if n == 0 {
                    return Ok(out);
                }
                out.extend_from_slice(&buf[..n]);
            }
        };
        let first = fs::File::open(&path).expect("reader opened before the writer");
        let second = fs::File::open(&path).expect("reader opened before the writer");
        let third = fs::File::open(&path).expect("reader opened before the writer");
        failures.extend(check("before the writer", "pread", pread(&first)));
        failures.extend(check_size("before the writer"));
        let mut writer = OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .expect("open O_WRONLY|O_TRUNC");
        let when = "after the writer's open(O_TRUNC)";
        failures.extend(check(
            when,
            "pread of a handle opened before",
            pread(&second),
        ));
        failures.extend(check_size(when));
        failures.extend(check(when, "a fresh open + read", fs::read(&path)));
        writer
            .write_all(&new_content[..new_content.len() / 2])
            .expect("write half");
        let when = "after half of the new content was written";
        failures.extend(check(
            when,
            "pread of a handle opened before",
            pread(&third),
        ));
        failures.extend(check_size(when));
        failures.extend(check(when, "a fresh open + read", fs::read(&path)));
        writer
            .write_all(&new_content[new_content.len() / 2..])
            .expect("write the rest");
        close_checked(writer).expect("close commits");
    }
    assert!(
        failures.is_empty(),
        "readers saw an unfinished write:\n{}\nlog:\n{}",
        failures.join("\n"),
        log_tail(&m, 20)
    );
    // Both halves have arrived: the new pair is live.
    assert_live(&m, &dir, &new, "after both closes");
}

/// A handle opened before a change keeps reading its snapshot, whole, whatever the size of
/// the new file; and reading it must not put the old bytes back into the kernel's cache for
/// everybody else: an open after the change reads the new file.
#[test]
fn an_old_handle_reads_its_whole_snapshot_and_does_not_bring_it_back() {
    let ws = Workspace::new();
    let (first, same_size) = same_size_certs(&ws);
    let other_size = (0..20)
        .map(|i| Pair::new(&ws, &format!("other-size{i}"), "/CN=same-size"))
        .find(|p| p.cert.len() != first.cert.len())
        .expect("a certificate of another length");
    let m = Mounted::fresh();
    let store = m.path("refill");
    fs::create_dir(&store).expect("mkdir refill");
    let mut failures = Vec::new();
    for (alias, new) in [("same-size", &same_size), ("other-size", &other_size)] {
        let dir = store.join(alias);
        fs::create_dir(&dir).expect("mkdir alias");
        let cert = dir.join("cert.pem");
        write_ok(&m, &cert, &first.cert, "the first certificate");
        let shown_before = fs::read(&cert).expect("read (and cache) the first certificate");
        let old_handle = fs::File::open(&cert).expect("open before the change");
        write_ok(&m, &cert, &new.cert, "the replacement");
        // Let the invalidation of the change reach the kernel first.
        thread::sleep(Duration::from_millis(300));
        let mut snapshot = Vec::new();
        io::Read::read_to_end(&mut &old_handle, &mut snapshot).expect("read the old handle");
        let fresh = fs::read(&cert).expect("fresh read");
        let (old_len, new_len) = (shown_before.len(), new.cert.len());
        if snapshot != shown_before {
            failures.push(format!(
                "{alias} ({old_len} -> {new_len} bytes): the handle opened before the change \
                 read {} bytes, not its snapshot of {old_len}: {:?}",
                snapshot.len(),
                String::from_utf8_lossy(&snapshot[snapshot.len().saturating_sub(40)..])
            ));
        }
        if leaf_der(&fresh) != Ok(new.leaf()) {
            let what = if fresh == shown_before {
                "the old certificate".to_string()
            } else {
                format!("{} bytes that are neither certificate", fresh.len())
            };
            let stale_for = Duration::from_secs(2);
            let recovered = time_until_within(stale_for, || {
                fs::read(&cert).is_ok_and(|c| leaf_der(&c) == Ok(new.leaf()))
            });
            failures.push(format!(
                "{alias} ({old_len} -> {new_len} bytes): an open after the change (and after \
                 the old handle was read) read {what}; fresh reads show the new certificate \
                 {}",
                match recovered {
                    Some(d) => format!("only {d:?} later"),
                    None => format!("still not after {stale_for:?}"),
                }
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nlog:\n{}",
        failures.join("\n"),
        log_tail(&m, 20)
    );
}

/// Pages resident in the kernel's page cache for `path`, by `fincore` (util-linux).
fn cached_pages(path: &Path) -> Result<u64, String> {
    let (status, out) = run_command(
        Command::new("fincore")
            .args(["--raw", "--noheadings", "--output", "PAGES"])
            .arg(path),
        COMMAND_TIMEOUT,
    );
    if !status.success() {
        return Err(format!("fincore {}: {out}", path.display()));
    }
    out.trim()
        .parse()
        .map_err(|e| format!("fincore said {out:?}: {e}"))
}

/// keep_cache: a file read once stays in the kernel's page cache, so later opens read it
/// without asking the daemon; a new version is a new inode, so the cache never shows an old
/// one (a same-size replacement included, which the kernel would not notice by size).
#[test]
fn reads_are_served_from_the_page_cache_and_never_stale() {
    let ws = Workspace::new();
    let (first, same_size) = same_size_certs(&ws);
    let m = Mounted::fresh();
    let dir = m.path("cached/web");
    fs::create_dir_all(&dir).expect("mkdir cached/web");
    let cert = dir.join("cert.pem");
    write_ok(&m, &cert, &first.cert, "the first certificate");
    let shown = fs::read(&cert).expect("first read");
    assert_eq!(leaf_der(&shown), Ok(first.leaf()));
    let pages = cached_pages(&cert).expect("fincore");
    assert!(
        pages >= 1,
        "after a read the file has {pages} pages in the page cache (keep_cache off?)"
    );
    assert_eq!(fs::read(&cert).expect("second read"), shown);

    // Through the mount: the next open after close(2) sees the new version.
    write_ok(&m, &cert, &same_size.cert, "same-size replacement");
    assert_eq!(
        leaf_der(&fs::read(&cert).expect("read after close")),
        Ok(same_size.leaf()),
        "right after close(2) of a same-size replacement through the mount"
    );
    // A same-size replacement by vecs-cli is `both_doors_see_each_others_changes_within_a_second`.
}

/// Read your writes: once close(2) of a write through the mount has returned, the writer's
/// next open + read of either file shows the new pair, even though both files were in the
/// kernel's cache. Replaces the pair 300 times by one combined PEM, reading both files before
/// (to cache them) and right after each close.
#[test]
fn a_closed_write_is_what_the_next_read_shows() {
    let ws = Workspace::new();
    let pairs: Vec<Pair> = (0..4)
        .map(|i| Pair::named(&ws, &format!("ryw{i}")))
        .collect();
    let seed = pairs[0].clone();
    let m = Mounted::start(
        MountSpec::default()
            .env("RUST_LOG", "info")
            .before_mount(move |db| seed_pair(db, PAIR_STORE, PAIR_ALIAS, &seed)),
    );
    let dir = m.path(&format!("{PAIR_STORE}/{PAIR_ALIAS}"));
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let mut stale = BTreeMap::<String, u32>::new();
    const WRITES: usize = 300;
    for i in 1..=WRITES {
        let next = &pairs[i % pairs.len()];
        let _ = (fs::read(&cert), fs::read(&key));
        let target = if i % 2 == 0 { &cert } else { &key };
        write_ok(&m, target, &next.combined(), "combined PEM");
        let (c, k) = (
            fs::read(&cert).unwrap_or_default(),
            fs::read(&key).unwrap_or_default(),
        );
        let cert_ok = leaf_der(&c) == Ok(next.leaf());
        let key_ok = spki(&k) == Ok(next.spki());
        if !(cert_ok && key_ok) {
            let what = format!(
                "written to {}: then read {} and {}",
                target.file_name().unwrap_or_default().to_string_lossy(),
                describe(&c, "cert.pem", &pairs),
                describe(&k, "key.pem", &pairs)
            );
            *stale.entry(what).or_default() += 1;
        }
    }
    println!(
        "read-your-writes: {} of {WRITES} reads right after close were stale",
        stale.values().sum::<u32>()
    );
    assert!(
        stale.is_empty(),
        "right after close(2) returned, reads showed the old content: {stale:#?}"
    );
}

// -------------------------------------------------------------------------------------------
// 2. 100 rotations with readers
// -------------------------------------------------------------------------------------------

#[derive(Default)]
struct ReaderReport {
    checks: u64,
    changed_between: u64,
    /// Reads that failed or gave a cert.pem that is not a whole known certificate, by kind.
    errors: BTreeMap<String, u32>,
    /// Stable cert.pem with a key.pem that does not match it, by kind.
    mismatches: BTreeMap<String, u32>,
}

/// Says what `content` read from `file` is, in terms of the rotation's pairs.
fn describe(content: &[u8], file: &str, pairs: &[Pair]) -> String {
    let whole = |p: &Pair| -> Vec<u8> {
        if file == "cert.pem" {
            p.cert.clone()
        } else {
            p.key.clone()
        }
    };
    if content.is_empty() {
        return format!("{file} empty (0 bytes)");
    }
    for (i, pair) in pairs.iter().enumerate() {
        let full = whole(pair);
        if content == full.as_slice() {
            return format!("{file} of pair {i}");
        }
        if full.starts_with(content) {
            return format!(
                "{file} cut short: the first {} of the {} bytes of pair {i}'s",
                content.len(),
                full.len()
            );
        }
        if content.starts_with(&full) {
            return format!(
                "{file} too long: pair {i}'s {} bytes followed by {} more",
                full.len(),
                content.len() - full.len()
            );
        }
    }
    format!("{file}: {} unrecognised bytes", content.len())
}

/// Reads cert.pem, key.pem and cert.pem again (fresh opens) until `done`; whenever the two
/// certificate reads agree, the key must match that certificate.
fn reader(dir: PathBuf, pairs: Arc<Vec<Pair>>, done: Arc<AtomicBool>) -> ReaderReport {
    let mut report = ReaderReport::default();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let known: Vec<Vec<u8>> = pairs.iter().map(Pair::leaf).collect();
    let note = |map: &mut BTreeMap<String, u32>, what: String| *map.entry(what).or_default() += 1;
    while !done.load(Ordering::Relaxed) {
        let reads = (fs::read(&cert), fs::read(&key), fs::read(&cert));
        let (c1, k, c2) = match reads {
            (Ok(c1), Ok(k), Ok(c2)) => (c1, k, c2),
            (a, b, c) => {
                let what = format!(
                    "read failed: cert {:?} key {:?} cert {:?}",
                    a.err(),
                    b.err(),
                    c.err()
                );
                note(&mut report.errors, what);
                continue;
            }
        };
        let mut whole = true;
        for c in [&c1, &c2] {
            if !leaf_der(c).is_ok_and(|leaf| known.contains(&leaf)) {
                note(&mut report.errors, describe(c, "cert.pem", &pairs));
                whole = false;
            }
        }
        if c1 != c2 || !whole {
            report.changed_between += u64::from(c1 != c2);
            continue;
        }
        report.checks += 1;
        if key_matches(&c1, &k).is_err() {
            let what = format!(
                "{} with {}",
                describe(&c1, "cert.pem", &pairs),
                describe(&k, "key.pem", &pairs)
            );
            note(&mut report.mismatches, what);
        }
    }
    report
}

#[test]
fn hundred_rotations_never_show_a_mismatched_pair() {
    const ROTATIONS: usize = 100;
    let ws = Workspace::new();
    let pairs: Vec<Pair> = (0..6)
        .map(|i| Pair::named(&ws, &format!("spin{i}")))
        .collect();
    let seed = pairs[0].clone();
    let m = Mounted::start(
        MountSpec::default()
            .env("RUST_LOG", "info")
            .before_mount(move |db| seed_pair(db, PAIR_STORE, PAIR_ALIAS, &seed)),
    );
    let dir = m.path(&format!("{PAIR_STORE}/{PAIR_ALIAS}"));
    let shared = Arc::new(pairs.clone());
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (dir, pairs, done) = (dir.clone(), Arc::clone(&shared), Arc::clone(&done));
            thread::spawn(move || reader(dir, pairs, done))
        })
        .collect();

    let started = Instant::now();
    let writer = {
        let (dir, pairs) = (dir.clone(), pairs.clone());
        thread::spawn(move || -> Vec<String> {
            let mut failures = Vec::new();
            for i in 1..=ROTATIONS {
                let next = &pairs[i % pairs.len()];
                let cert = (dir.join("cert.pem"), &next.cert, "cert");
                let key = (dir.join("key.pem"), &next.key, "key");
                let order = if i % 2 == 0 { [cert, key] } else { [key, cert] };
                for (path, content, half) in order {
                    if let Err(e) = write_through(&path, content) {
                        failures.push(format!("rotation {i}: {half} write: {e}"));
                    }
                }
            }
            failures
        })
    };
    let writer_failures = writer.join().expect("writer thread");
    let rotating = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let reports: Vec<ReaderReport> = readers
        .into_iter()
        .map(|r| r.join().expect("reader thread"))
        .collect();

    let checks: u64 = reports.iter().map(|r| r.checks).sum();
    let changed: u64 = reports.iter().map(|r| r.changed_between).sum();
    let merge = |pick: fn(&ReaderReport) -> &BTreeMap<String, u32>| {
        let mut all = BTreeMap::<String, u32>::new();
        for (what, n) in reports.iter().flat_map(pick) {
            *all.entry(what.clone()).or_default() += n;
        }
        all
    };
    let errors = merge(|r| &r.errors);
    let mismatches = merge(|r| &r.mismatches);
    println!(
        "{ROTATIONS} rotations in {rotating:?}: {checks} matched-pair checks, {changed} skipped \
         (cert changed between the two reads), {} bad reads, {} mismatches",
        errors.values().sum::<u32>(),
        mismatches.values().sum::<u32>()
    );
    assert!(
        writer_failures.is_empty(),
        "rotation writes refused: {writer_failures:#?}; log:\n{}",
        log_tail(&m, 40)
    );
    assert!(
        errors.is_empty() && mismatches.is_empty(),
        "readers saw what the live state never is.\nbad reads: {errors:#?}\n\
         a stable cert.pem with a key.pem that does not match it: {mismatches:#?}"
    );
    assert!(checks > 0, "the readers never saw a stable certificate");
    assert_live(
        &m,
        &dir,
        &pairs[ROTATIONS % pairs.len()],
        "after 100 rotations",
    );
    assert_pending(&m, &dir, None, "after 100 rotations");
    assert_cli_live(
        &m.db,
        PAIR_STORE,
        PAIR_ALIAS,
        &pairs[ROTATIONS % pairs.len()],
        &dir,
        "after 100 rotations",
    );
}

// -------------------------------------------------------------------------------------------
// 3. Permissions as a second real user
// -------------------------------------------------------------------------------------------

#[track_caller]
fn assert_denied(outcome: (bool, String), expected: &str, what: &str, m: &Mounted) {
    let (ok, out) = outcome;
    assert!(
        !ok && out.contains(expected),
        "{what}: expected failure with \"{expected}\", got ok={ok}: {out}; log:\n{}",
        log_tail(m, 20)
    );
}

#[track_caller]
fn assert_allowed(outcome: (bool, String), what: &str, m: &Mounted) -> String {
    let (ok, out) = outcome;
    assert!(ok, "{what}: failed: {out}; log:\n{}", log_tail(m, 20));
    out
}

/// Runs a command as root and returns (success, combined output).
fn as_root(program: &str, args: &[&OsStr]) -> (bool, String) {
    let (status, out) = run_command(Command::new(program).args(args), COMMAND_TIMEOUT);
    (status.success(), out)
}

#[test]
fn store_permissions_hold_for_a_second_real_user() {
    let ws = Workspace::new();
    let pair = Pair::named(&ws, "svc");
    let other = Pair::named(&ws, "other");
    let root_ca = Pair::named(&ws, "root-ca");
    let crl = make_crl(&ws);
    let root_alias = common::sha1_of(&ws, root_ca.cert_path.to_str().expect("utf-8"));
    let crl_alias = parse_crl(&crl).expect("crl parses").alias();
    let (seed, ca) = (pair.clone(), root_ca.clone());
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        vecs_ok(db, &["store", "create", "--name", "S"]);
        seed_pair(db, "S", "A", &seed);
        let ca_path = ca.cert_path.to_str().expect("utf-8");
        vecs_ok(
            db,
            &[
                "entry",
                "create",
                "--store",
                "TRUSTED_ROOTS",
                "--cert",
                ca_path,
            ],
        );
        let mut store = Database::open(db).expect("open db");
        let content = EntryContent::crl(&parse_crl(&crl).expect("crl parses"));
        store
            .add_entry(0, "TRUSTED_ROOTS_CRLS", None, &content)
            .expect("seed the CRL");
    }));
    open_the_way_to(&m);
    let s = m.path("S");
    let a = m.path("S/A");
    let (cert, key) = (a.join("cert.pem"), a.join("key.pem"));

    // Root reads first, so that the kernel has the entries, attributes and pages cached.
    assert_live(&m, &a, &pair, "root reads");
    let before = (fs::read(&cert).unwrap(), fs::read(&key).unwrap());

    // No grant: nothing of S.
    assert_denied(
        as_nobody("ls", &[s.as_os_str()]),
        "Permission denied",
        "ls S",
        &m,
    );
    for f in [&cert, &key] {
        let what = format!("cat {}", f.display());
        assert_denied(
            as_nobody("cat", &[f.as_os_str()]),
            "Permission denied",
            &what,
            &m,
        );
    }
    // EVERYONE may read TRUSTED_ROOTS.
    let trusted = m.path("TRUSTED_ROOTS");
    let listed = assert_allowed(
        as_nobody("ls", &[trusted.as_os_str()]),
        "ls TRUSTED_ROOTS",
        &m,
    );
    assert!(listed.lines().any(|l| l == root_alias), "{listed}");
    let root_cert = trusted.join(&root_alias).join("cert.pem");
    let shown = assert_allowed(
        as_nobody("cat", &[root_cert.as_os_str()]),
        "cat TRUSTED_ROOTS/<sha1>/cert.pem",
        &m,
    );
    assert_eq!(leaf_der(shown.as_bytes()), Ok(root_ca.leaf()));

    // A read grant: reading works, writing does not.
    nobody_permission(&m.db, "S", "--grant", "read");
    let took = time_until(|| as_nobody("ls", &[s.as_os_str()]).0);
    assert_visible_in_time("read grant (nobody can ls S)", took, &m);
    let listed = assert_allowed(as_nobody("ls", &[s.as_os_str()]), "ls S with read", &m);
    assert_eq!(listed.trim(), "A");
    let shown = assert_allowed(as_nobody("cat", &[cert.as_os_str()]), "cat cert.pem", &m);
    assert_eq!(shown.as_bytes(), before.0.as_slice());
    let shown = assert_allowed(as_nobody("cat", &[key.as_os_str()]), "cat key.pem", &m);
    assert_eq!(shown.as_bytes(), before.1.as_slice());

    // The file nobody copies from must be readable by nobody.
    let public = tempfile::Builder::new()
        .prefix("vecsfs-public-")
        .tempdir()
        .expect("temp dir");
    fs::set_permissions(public.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let new_cert = public.path().join("new.pem");
    fs::write(&new_cert, &other.cert).expect("write new.pem");
    fs::set_permissions(&new_cert, fs::Permissions::from_mode(0o644)).expect("chmod");
    let snapshot = |db: &Path| {
        format!(
            "{}{}{}",
            vecs_ok(db, &["entry", "list", "--store", "S"]),
            vecs_ok(db, &["entry", "getcert", "--store", "S", "--alias", "A"]),
            vecs_ok(db, &["entry", "getkey", "--store", "S", "--alias", "A"]),
        )
    };
    let store_before = snapshot(&m.db);
    let cp = as_nobody("cp", &[new_cert.as_os_str(), cert.as_os_str()]);
    assert_denied(
        cp,
        "Permission denied",
        "cp onto cert.pem with read only",
        &m,
    );
    let new_alias = m.path("S/B");
    assert_denied(
        as_nobody("mkdir", &[new_alias.as_os_str()]),
        "Permission denied",
        "mkdir S/B with read only",
        &m,
    );
    assert_denied(
        as_nobody("rm", &[OsStr::new("-f"), key.as_os_str()]),
        "Permission denied",
        "rm key.pem with read only",
        &m,
    );
    assert_eq!(snapshot(&m.db), store_before, "a refused write changed S");
    assert_live(&m, &a, &pair, "after the refused writes");
    assert_pending(&m, &a, None, "after the refused writes");

    // TRUSTED_ROOTS_CRLS is read-only, for root too.
    let crls = m.path("TRUSTED_ROOTS_CRLS");
    let crl_dir = crls.join(&crl_alias);
    let crl_file = crl_dir.join("crl.pem");
    let crl_before = fs::read(&crl_file).expect("root reads crl.pem");
    let listed = assert_allowed(as_nobody("ls", &[crls.as_os_str()]), "ls CRLs", &m);
    assert!(listed.lines().any(|l| l == crl_alias), "{listed}");
    let erofs = "Read-only file system";
    let new_file = crls.join("new-file");
    let new_dir = crls.join("new-dir");
    let cases: [(&str, &[&OsStr], &str); 7] = [
        ("touch", &[new_file.as_os_str()], "touch CRLS/new-file"),
        (
            "touch",
            &[crl_file.as_os_str()],
            "touch CRLS/<alias>/crl.pem",
        ),
        ("mkdir", &[new_dir.as_os_str()], "mkdir CRLS/new-dir"),
        ("rmdir", &[crls.as_os_str()], "rmdir TRUSTED_ROOTS_CRLS"),
        ("rmdir", &[crl_dir.as_os_str()], "rmdir CRLS/<alias>"),
        (
            "rm",
            &[OsStr::new("-f"), crl_file.as_os_str()],
            "rm crl.pem",
        ),
        (
            "cp",
            &[new_cert.as_os_str(), crl_file.as_os_str()],
            "cp onto crl.pem",
        ),
    ];
    for (program, args, what) in cases {
        assert_denied(as_root(program, args), erofs, &format!("root: {what}"), &m);
    }
    assert_eq!(fs::read(&crl_file).expect("crl.pem"), crl_before);
}

/// A grant revoked with vecs-cli holds within the contract's second even though nobody's
/// names, attributes and file pages are all in the kernel's caches (60 s TTLs, keep_cache):
/// every open is checked against the store's permissions as they are now. And moving an
/// alias between stores needs write on both: with write on one only, mv is refused and both
/// stores keep what they had.
#[test]
fn a_revoked_grant_holds_at_once_and_a_move_needs_write_on_both_stores() {
    let ws = Workspace::new();
    let pair = Pair::named(&ws, "svc");
    let seed = pair.clone();
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        for store in ["S", "T"] {
            vecs_ok(db, &["store", "create", "--name", store]);
        }
        seed_pair(db, "S", "A", &seed);
        seed_pair(db, "T", "B", &seed);
        // A grant replaces the previous one, and write passes read checks (VECS compares
        // the masks numerically): write on S, read on T.
        nobody_permission(db, "S", "--grant", "write");
        nobody_permission(db, "T", "--grant", "read");
    }));
    open_the_way_to(&m);
    let (s, t) = (m.path("S"), m.path("T"));
    let (a, b) = (m.path("S/A"), m.path("T/B"));
    let (cert, key) = (a.join("cert.pem"), a.join("key.pem"));
    let listing = |db: &Path| {
        format!(
            "{}{}",
            vecs_ok(db, &["entry", "list", "--store", "S"]),
            vecs_ok(db, &["entry", "list", "--store", "T"])
        )
    };
    let before = listing(&m.db);

    // Write on S, read only on T: neither direction of a move between them.
    let moves: [(&Path, PathBuf, &str); 2] = [
        (&a, m.path("T/A"), "mv S/A T/A (no write on T)"),
        (&b, m.path("S/B"), "mv T/B S/B (no write on T)"),
    ];
    for (from, to, what) in moves {
        assert_denied(
            as_nobody("mv", &[from.as_os_str(), to.as_os_str()]),
            "Permission denied",
            what,
            &m,
        );
    }
    assert_eq!(listing(&m.db), before, "a refused move changed a store");
    assert_live(&m, &a, &pair, "after the refused moves");
    assert_live(&m, &b, &pair, "after the refused moves");

    // nobody reads everything, twice: names, attributes and pages are cached now.
    for _ in 0..2 {
        assert_allowed(as_nobody("ls", &[s.as_os_str()]), "ls S", &m);
        let shown = assert_allowed(as_nobody("cat", &[cert.as_os_str()]), "cat cert.pem", &m);
        assert_eq!(
            shown.as_bytes(),
            fs::read(&cert).expect("cert.pem").as_slice()
        );
        assert_allowed(as_nobody("cat", &[key.as_os_str()]), "cat key.pem", &m);
    }
    assert_allowed(as_nobody("ls", &[t.as_os_str()]), "ls T", &m);

    nobody_permission(&m.db, "S", "--revoke", "write");
    let took = time_until(|| {
        !as_nobody("cat", &[cert.as_os_str()]).0 && !as_nobody("cat", &[key.as_os_str()]).0
    });
    assert_visible_in_time(
        "revoked grant (nobody's cat of cert.pem and key.pem fails)",
        took,
        &m,
    );
    for (path, what) in [
        (cert.as_path(), "cat cert.pem after the revoke"),
        (key.as_path(), "cat key.pem after the revoke"),
    ] {
        assert_denied(
            as_nobody("cat", &[path.as_os_str()]),
            "Permission denied",
            what,
            &m,
        );
    }
    assert_denied(
        as_nobody("ls", &[s.as_os_str()]),
        "Permission denied",
        "ls S after the revoke",
        &m,
    );
    // Only S changed: T still reads, and root still reads S.
    assert_allowed(
        as_nobody("ls", &[t.as_os_str()]),
        "ls T after S's revoke",
        &m,
    );
    assert_live(&m, &a, &pair, "root after the revoke");
}

// -------------------------------------------------------------------------------------------
// 4. Two doors to one store
// -------------------------------------------------------------------------------------------

/// Two certificates with the same subject whose PEM has exactly the same length.
fn same_size_certs(ws: &Workspace) -> (Pair, Pair) {
    let mut by_len: HashMap<usize, Pair> = HashMap::new();
    for i in 0..60 {
        let pair = Pair::new(ws, &format!("same{i}"), "/CN=same-size");
        if let Some(first) = by_len.get(&pair.cert.len()) {
            if first.cert != pair.cert {
                return (first.clone(), pair);
            }
        }
        by_len.insert(pair.cert.len(), pair);
    }
    panic!("no two of 60 certificates had the same PEM length");
}

#[test]
fn both_doors_see_each_others_changes_within_a_second() {
    let ws = Workspace::new();
    let e1 = Pair::named(&ws, "door-e1");
    let (same_a, same_b) = same_size_certs(&ws);
    let m = Mounted::start(MountSpec::default());
    open_the_way_to(&m);
    let db = m.db.clone();
    let mut delays = BTreeMap::new();

    // store create: the name was looked up first, so the kernel holds a negative entry.
    let store = m.path("doors");
    assert!(!store.exists());
    vecs_ok(&db, &["store", "create", "--name", "doors"]);
    let took = time_until(|| store.is_dir());
    delays.insert(
        "store create",
        assert_visible_in_time("store create", took, &m),
    );
    let listed: Vec<OsString> = fs::read_dir(&m.mountpoint)
        .expect("ls root")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(listed.contains(&OsString::from("doors")), "{listed:?}");

    // entry create, after a negative lookup of its directory and file.
    let e1_cert = store.join("e1/cert.pem");
    assert!(fs::read(&e1_cert).is_err());
    let e1_path = e1.cert_path.to_str().expect("utf-8");
    vecs_ok(
        &db,
        &[
            "entry", "create", "--store", "doors", "--alias", "e1", "--cert", e1_path,
        ],
    );
    let took = time_until(|| fs::read(&e1_cert).is_ok_and(|c| leaf_der(&c) == Ok(e1.leaf())));
    delays.insert(
        "entry create",
        assert_visible_in_time("entry create", took, &m),
    );

    // entry delete, after the file was read (cached).
    vecs_ok(
        &db,
        &["entry", "delete", "--store", "doors", "--alias", "e1", "-y"],
    );
    let took = time_until(|| {
        fs::read(&e1_cert).is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
            && !store.join("e1").exists()
    });
    delays.insert(
        "entry delete",
        assert_visible_in_time("entry delete", took, &m),
    );

    // store permission: nobody gains read.
    assert_denied(
        as_nobody("ls", &[store.as_os_str()]),
        "Permission denied",
        "nobody: ls doors before the grant",
        &m,
    );
    nobody_permission(&db, "doors", "--grant", "read");
    let took = time_until(|| as_nobody("ls", &[store.as_os_str()]).0);
    delays.insert(
        "permission grant",
        assert_visible_in_time("permission grant (nobody: ls doors)", took, &m),
    );

    // Same-size replacement of a certificate the kernel has cached.
    let same = store.join("same/cert.pem");
    let path_a = same_a.cert_path.to_str().expect("utf-8");
    let path_b = same_b.cert_path.to_str().expect("utf-8");
    vecs_ok(
        &db,
        &[
            "entry", "create", "--store", "doors", "--alias", "same", "--cert", path_a,
        ],
    );
    let took = time_until(|| fs::read(&same).is_ok_and(|c| leaf_der(&c) == Ok(same_a.leaf())));
    assert_visible_in_time("same-size: first certificate", took, &m);
    let cached = fs::read(&same).expect("read to cache");
    assert_eq!(fs::read(&same).expect("read again"), cached);
    let old_meta = fs::metadata(&same).expect("stat");
    vecs_ok(
        &db,
        &[
            "entry", "delete", "--store", "doors", "--alias", "same", "-y",
        ],
    );
    vecs_ok(
        &db,
        &[
            "entry", "create", "--store", "doors", "--alias", "same", "--cert", path_b,
        ],
    );
    let expected = vecs_ok(
        &db,
        &["entry", "getcert", "--store", "doors", "--alias", "same"],
    );
    let mut seen_other = Vec::new();
    let took = time_until(|| match fs::read(&same) {
        Ok(c) if leaf_der(&c) == Ok(same_b.leaf()) => true,
        Ok(c) if c == cached => false,
        Ok(c) => {
            seen_other.push(String::from_utf8_lossy(&c).into_owned());
            false
        }
        Err(_) => false,
    });
    let shown = fs::read(&same).unwrap_or_default();
    assert_eq!(
        shown.len(),
        cached.len(),
        "the replacement has the same size (test premise)"
    );
    assert_eq!(
        String::from_utf8_lossy(&shown).trim_end(),
        expected.trim_end()
    );
    println!(
        "same-size replacement: {} bytes, mtime {:?} -> {:?}",
        cached.len(),
        old_meta.modified().ok(),
        fs::metadata(&same).and_then(|md| md.modified()).ok()
    );
    assert!(
        seen_other.is_empty(),
        "reads showed neither the old nor the new certificate: {seen_other:#?}"
    );
    delays.insert(
        "same-size replacement",
        assert_visible_in_time("same-size replacement of a cached file", took, &m),
    );

    // Through the mount: vecs-cli sees it at once.
    fs::create_dir(store.join("m1")).expect("mkdir doors/m1");
    write_ok(
        &m,
        &store.join("m1/cert.pem"),
        &e1.cert,
        "mount: write doors/m1",
    );
    let got = vecs_ok(
        &db,
        &["entry", "getcert", "--store", "doors", "--alias", "m1"],
    );
    assert_eq!(leaf_der(got.as_bytes()), Ok(e1.leaf()));
    fs::remove_dir_all(store.join("m1")).expect("rm -r doors/m1");
    let aliases = vecs_ok(&db, &["entry", "list", "--store", "doors", "--aliases"]);
    assert!(
        !aliases.contains("m1"),
        "deleted through the mount: {aliases}"
    );
    vecs_on_db(
        &db,
        &["entry", "getcert", "--store", "doors", "--alias", "m1"],
    )
    .failed_with(4312);
    fs::create_dir(m.path("made-by-mkdir")).expect("mkdir a store");
    let stores = vecs_ok(&db, &["store", "list"]);
    assert!(
        stores.lines().any(|l| l.trim() == "made-by-mkdir"),
        "{stores}"
    );

    println!("visibility delays (vecs-cli -> mount): {delays:?}");
}

// -------------------------------------------------------------------------------------------
// 5. Durability
// -------------------------------------------------------------------------------------------

/// Copies a database (and its WAL, if any) to `to`.
fn copy_db(from: &Path, to: &Path) {
    fs::copy(from, to).expect("copy db");
    let mut wal = from.as_os_str().to_owned();
    wal.push("-wal");
    if Path::new(&wal).exists() {
        let mut dst = to.as_os_str().to_owned();
        dst.push("-wal");
        fs::copy(&wal, &dst).expect("copy wal");
    }
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
        .expect("integrity_check")
}

#[test]
fn acknowledged_writes_survive_umount_and_remount() {
    let ws = Workspace::new();
    let (tc, pk, next) = (
        Pair::named(&ws, "dur-tc"),
        Pair::named(&ws, "dur-pk"),
        Pair::named(&ws, "dur-next"),
    );
    let mut first = Mounted::fresh();
    let store = first.path("durable");
    fs::create_dir(&store).expect("mkdir durable");
    for alias in ["tc", "pk", "sk"] {
        fs::create_dir(store.join(alias)).expect("mkdir alias");
    }
    write_ok(&first, &store.join("tc/cert.pem"), &tc.cert, "tc cert");
    write_ok(&first, &store.join("pk/cert.pem"), &pk.cert, "pk cert");
    write_ok(&first, &store.join("pk/key.pem"), &pk.key, "pk key");
    write_ok(&first, &store.join("sk/key.pem"), b"durable secret\n", "sk");
    // A pending half, acknowledged by close.
    write_ok(
        &first,
        &store.join("pk/cert.pem"),
        &next.cert,
        "pending cert",
    );
    assert_pending(&first, &store.join("pk"), Some("cert.pem"), "before umount");

    let (status, out) = run_command(
        Command::new("umount").arg(&first.mountpoint),
        COMMAND_TIMEOUT,
    );
    assert!(status.success(), "umount: {out}");
    let exit = first.wait_exit(EXIT_TIMEOUT);
    assert!(
        exit.success(),
        "daemon exit {exit}; log:\n{}",
        log_tail(&first, 20)
    );

    // vecs-cli on the database the daemon left.
    let db = first.db.clone();
    assert_eq!(integrity(&db), "ok");
    let stores = vecs_ok(&db, &["store", "list"]);
    assert!(stores.lines().any(|l| l.trim() == "durable"), "{stores}");
    let get = |what: &str, alias: &str| {
        vecs_ok(
            &db,
            &["entry", what, "--store", "durable", "--alias", alias],
        )
    };
    assert_eq!(leaf_der(get("getcert", "tc").as_bytes()), Ok(tc.leaf()));
    assert_eq!(leaf_der(get("getcert", "pk").as_bytes()), Ok(pk.leaf()));
    assert_eq!(spki(get("getkey", "pk").as_bytes()), Ok(pk.spki()));
    assert_eq!(get("getkey", "sk").trim_end(), "durable secret");

    // A new daemon on a copy of that database.
    let old_db = db.clone();
    let second = Mounted::start(MountSpec::default().before_mount(move |db| copy_db(&old_db, db)));
    let store = second.path("durable");
    let tc_shown = fs::read(store.join("tc/cert.pem")).expect("tc after remount");
    assert_eq!(leaf_der(&tc_shown), Ok(tc.leaf()));
    assert_live(&second, &store.join("pk"), &pk, "pk after remount");
    assert_eq!(
        fs::read(store.join("sk/key.pem")).expect("sk after remount"),
        b"durable secret\n"
    );
    assert_pending(
        &second,
        &store.join("pk"),
        Some("cert.pem"),
        "the pending half survives the remount",
    );
    write_ok(
        &second,
        &store.join("pk/key.pem"),
        &next.key,
        "complete the rotation",
    );
    assert_live(
        &second,
        &store.join("pk"),
        &next,
        "rotation completed after remount",
    );
    drop(first);
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let ws = Workspace::new();
    let (old, new) = (Pair::named(&ws, "kill-old"), Pair::named(&ws, "kill-new"));
    let seed = old.clone();
    let mut m = Mounted::start(
        MountSpec::default()
            .env("RUST_LOG", "info")
            .before_mount(move |db| seed_pair(db, PAIR_STORE, PAIR_ALIAS, &seed)),
    );
    let store = m.path("killed");
    fs::create_dir(&store).expect("mkdir killed");
    let pair_dir = m.path(&format!("{PAIR_STORE}/{PAIR_ALIAS}"));
    write_ok(&m, &pair_dir.join("key.pem"), &new.key, "rotate: key");
    write_ok(&m, &pair_dir.join("cert.pem"), &new.cert, "rotate: cert");

    // A writer keeps committing secrets; the daemon is killed while it does.
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let attempts = Arc::new(AtomicU64::new(0));
    let writer = {
        let (store, acknowledged, attempts) = (
            store.clone(),
            Arc::clone(&acknowledged),
            Arc::clone(&attempts),
        );
        thread::spawn(move || -> Option<io::Error> {
            let deadline = Instant::now() + Duration::from_secs(20);
            for i in 0..100_000 {
                if Instant::now() > deadline {
                    return None;
                }
                attempts.fetch_add(1, Ordering::Relaxed);
                let alias = format!("s{i:05}");
                let secret = format!("secret number {i}");
                let dir = store.join(&alias);
                if let Err(e) = fs::create_dir(&dir) {
                    return Some(e);
                }
                if let Err(e) = write_through(&dir.join("key.pem"), secret.as_bytes()) {
                    return Some(e);
                }
                acknowledged.lock().unwrap().push((alias, secret));
            }
            None
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while acknowledged.lock().unwrap().len() < 25 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    m.signal(libc::SIGKILL);
    let killed_after = acknowledged.lock().unwrap().len();
    let stopped_by = writer.join().expect("writer thread");
    let status = m.wait_exit(EXIT_TIMEOUT);
    println!(
        "kill -9 after {killed_after} acknowledged secrets ({} attempts); writer stopped by \
         {stopped_by:?}; daemon status {status}",
        attempts.load(Ordering::Relaxed)
    );
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 25, "too few writes before the kill");

    // The mount is dead, not silently showing the directory underneath.
    let err = fs::metadata(&m.mountpoint).expect_err("a dead mount answers with an error");
    assert_eq!(err.raw_os_error(), Some(libc::ENOTCONN), "{err}");

    // Every acknowledged write is in the database, which is intact.
    assert_eq!(integrity(&m.db), "ok");
    let aliases = vecs_ok(&m.db, &["entry", "list", "--store", "killed", "--aliases"]);
    let present: Vec<&str> = aliases.split_whitespace().collect();
    let missing: Vec<&String> = acknowledged
        .iter()
        .map(|(alias, _)| alias)
        .filter(|alias| !present.contains(&alias.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes lost: {missing:?}",
        missing.len()
    );
    for (alias, secret) in acknowledged.iter().step_by(5) {
        let got = vecs_ok(
            &m.db,
            &["entry", "getkey", "--store", "killed", "--alias", alias],
        );
        assert_eq!(got.trim_end(), secret, "secret of {alias}");
    }
    let cert = vecs_ok(
        &m.db,
        &[
            "entry", "getcert", "--store", PAIR_STORE, "--alias", PAIR_ALIAS,
        ],
    );
    let key = vecs_ok(
        &m.db,
        &[
            "entry", "getkey", "--store", PAIR_STORE, "--alias", PAIR_ALIAS,
        ],
    );
    assert_eq!(leaf_der(cert.as_bytes()), Ok(new.leaf()), "rotated cert");
    assert_eq!(spki(key.as_bytes()), Ok(new.spki()), "rotated key");
}

/// `mv cert.pem cert.pem~` moves the half out of the entry into a temporary file (README), as
/// `cp --backup` and editors do; moving it back must give the entry back exactly as it was,
/// whatever its type (or the move out is refused and nothing changes).
#[test]
fn moving_a_file_out_and_back_restores_every_entry_type() {
    let ws = Workspace::new();
    let (pk, tc, epk) = (
        Pair::named(&ws, "move-pk"),
        Pair::named(&ws, "move-tc"),
        Pair::named(&ws, "move-epk"),
    );
    let secret = ws.write("move-secret.bin", b"a moved secret\n");
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        seed_pair(db, "machine", "pk", &pk);
        let path = |p: &PathBuf| p.to_str().expect("utf-8").to_string();
        let (tc_cert, epk_cert, epk_key) = (
            path(&tc.cert_path),
            path(&epk.cert_path),
            path(&epk.key_path),
        );
        let create = |args: &[&str]| {
            let mut all = vec!["entry", "create", "--store", "machine"];
            all.extend_from_slice(args);
            vecs_ok(db, &all)
        };
        create(&["--alias", "tc", "--cert", &tc_cert]);
        create(&["--alias", "sk", "--key", &secret]);
        for alias in ["epk", "epk2"] {
            create(&[
                "--alias",
                alias,
                "--cert",
                &epk_cert,
                "--key",
                &epk_key,
                "--password",
                "pw",
            ]);
        }
    }));
    let state = |alias: &str| -> String {
        let run = |args: &[&str]| {
            let r = vecs_on_db(&m.db, args);
            format!("{} {}{}", r.code, r.stdout, r.stderr)
        };
        let list = run(&["entry", "list", "--store", "machine"]);
        let entry = list
            .split("Alias :")
            .find(|e| e.trim_start().starts_with(&format!("{alias}\n")))
            .unwrap_or("(no such entry)")
            .to_string();
        format!(
            "{entry}\ngetkey: {}",
            run(&[
                "entry",
                "getkey",
                "--store",
                "machine",
                "--alias",
                alias,
                "--password",
                "pw"
            ])
        )
    };
    let mut failures = Vec::new();
    for (alias, file) in [
        ("pk", "cert.pem"),
        ("pk", "key.pem"),
        ("tc", "cert.pem"),
        ("sk", "key.pem"),
        ("epk", "cert.pem"),
        ("epk2", "key.pem"),
    ] {
        let dir = m.path(&format!("machine/{alias}"));
        let (live, backup) = (dir.join(file), dir.join(format!("{file}~")));
        let before = state(alias);
        let shown = fs::read(&live).expect("read the live file");
        let out = fs::rename(&live, &backup);
        let back = out.as_ref().ok().map(|_| fs::rename(&backup, &live));
        let after = state(alias);
        let pending = pending_xattr(&dir).ok().flatten();
        let shown_after = fs::read(&live).ok();
        let step = format!(
            "mv machine/{alias}/{file} {file}~ -> {:?}, and back -> {:?}",
            out.as_ref().map_err(|e| e.to_string()),
            back.map(|r| r.map_err(|e| e.to_string()))
        );
        if after != before {
            failures.push(format!(
                "{step}: the entry changed\n--- before:\n{before}\n--- after:\n{after}"
            ));
        } else if pending.is_some() || shown_after.as_deref() != Some(shown.as_slice()) {
            failures.push(format!(
                "{step}: pending {pending:?}, {file} now {:?} bytes (was {})",
                shown_after.map(|c| c.len()),
                shown.len()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nlog:\n{}",
        failures.join("\n\n"),
        log_tail(&m, 20)
    );
}

// -------------------------------------------------------------------------------------------
// 6. Hostile input
// -------------------------------------------------------------------------------------------

fn odd_names() -> Vec<OsString> {
    let mut names: Vec<OsString> = [
        "%",
        "%%",
        "%2F",
        "%2f",
        "%25",
        "%00",
        "%zz",
        "a%",
        "%2E",
        "%2E%2E",
        "...",
        " ",
        "-rf",
        "new\nline",
        "tab\there",
        "ключ-証明書-🔐",
        "CERT.PEM",
        "cert.pem ",
        ".cert.pem.swp",
        "key.pem~",
        "back\\slash",
        "*?[",
        "\u{202e}gnp.pem",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    names.push("x".repeat(255).into());
    names.push("€".repeat(85).into());
    names.push("%".repeat(255).into());
    names.push("%2F".repeat(85).into());
    names.push("y".repeat(256).into());
    names.push(OsString::from_vec(vec![0xff, 0xfe, b'a']));
    names
}

/// What happened to each hostile operation: errno (0 for success) → count, per kind.
#[derive(Default)]
struct Tally(BTreeMap<String, BTreeMap<i32, u32>>);

impl Tally {
    fn note<T>(&mut self, kind: &str, result: &io::Result<T>) {
        let errno = match result {
            Ok(_) => 0,
            Err(e) => e.raw_os_error().unwrap_or(-1),
        };
        *self
            .0
            .entry(kind.to_string())
            .or_default()
            .entry(errno)
            .or_default() += 1;
    }
}

#[test]
fn hostile_input_never_panics_the_daemon() {
    let ws = Workspace::new();
    let pair = Pair::named(&ws, "hostile-pair");
    let root_ca = Pair::named(&ws, "hostile-root");
    let epk = Pair::named(&ws, "hostile-epk");
    let crl = make_crl(&ws);
    let root_alias = common::sha1_of(&ws, root_ca.cert_path.to_str().expect("utf-8"));
    let crl_alias = parse_crl(&crl).expect("crl").alias();
    let secret = ws.write("secret.bin", b"a secret\0with a NUL\n");
    let (seed_pair_, seed_ca, seed_epk, seed_crl) =
        (pair.clone(), root_ca.clone(), epk.clone(), crl.clone());
    let mut m = Mounted::start(MountSpec::default().before_mount(move |db| {
        seed_pair(db, PAIR_STORE, PAIR_ALIAS, &seed_pair_);
        let ca = seed_ca.cert_path.to_str().expect("utf-8");
        vecs_ok(
            db,
            &["entry", "create", "--store", "TRUSTED_ROOTS", "--cert", ca],
        );
        vecs_ok(
            db,
            &[
                "entry", "create", "--store", "machine", "--alias", "sk", "--key", &secret,
            ],
        );
        vecs_ok(
            db,
            &[
                "entry",
                "create",
                "--store",
                "machine",
                "--alias",
                "epk",
                "--cert",
                seed_epk.cert_path.to_str().expect("utf-8"),
                "--key",
                seed_epk.key_path.to_str().expect("utf-8"),
                "--password",
                "pw",
            ],
        );
        let mut store = Database::open(db).expect("open db");
        let content = EntryContent::crl(&parse_crl(&seed_crl).expect("crl"));
        store
            .add_entry(0, "TRUSTED_ROOTS_CRLS", None, &content)
            .expect("seed the CRL");
    }));
    let snapshot = |db: &Path| -> String {
        let get = |args: &[&str]| {
            let run = vecs_on_db(db, args);
            format!("{args:?} -> {} {}{}", run.code, run.stdout, run.stderr)
        };
        [
            get(&[
                "entry", "getcert", "--store", PAIR_STORE, "--alias", PAIR_ALIAS,
            ]),
            get(&[
                "entry", "getkey", "--store", PAIR_STORE, "--alias", PAIR_ALIAS,
            ]),
            get(&["entry", "list", "--store", "TRUSTED_ROOTS"]),
            get(&["entry", "list", "--store", "TRUSTED_ROOTS_CRLS"]),
            get(&["entry", "getcert", "--store", "machine", "--alias", "epk"]),
        ]
        .join("\n")
    };
    let untouched = snapshot(&m.db);

    let mut rng = Rng::seeded();
    println!("hostile input seed {:#x}", rng.0);
    let mut pem_garbage = b"-----BEGIN CERTIFICATE-----\n".to_vec();
    pem_garbage.extend(rng.bytes(600).iter().map(|b| b'A' + b % 26));
    pem_garbage.extend_from_slice(b"\n-----END CERTIFICATE-----\n");
    let mut key_garbage =
        b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0w\n".to_vec();
    key_garbage.extend_from_slice(b"-----END PRIVATE KEY-----\n");
    let mut nul_inside = pair.cert.clone();
    nul_inside.insert(pair.cert.len() / 2, 0);
    let repeated: Vec<u8> = pair.cert.iter().copied().cycle().take(2 << 20).collect();
    let payloads: Vec<(&str, Vec<u8>)> = vec![
        ("random 1 KiB", rng.bytes(1024)),
        ("empty", Vec::new()),
        ("4 KiB of NUL", vec![0; 4096]),
        ("random 2 MiB", rng.bytes(2 << 20)),
        ("2 MiB of one certificate repeated", repeated),
        ("PEM armour around garbage", pem_garbage),
        ("truncated private key", key_garbage),
        (
            "half a certificate",
            pair.cert[..pair.cert.len() / 2].to_vec(),
        ),
        ("certificate with a NUL inside", nul_inside),
        ("a CRL", crl.clone()),
    ];

    let pair_dir = format!("{PAIR_STORE}/{PAIR_ALIAS}");
    let root_dir = format!("TRUSTED_ROOTS/{root_alias}");
    let crl_dir = format!("TRUSTED_ROOTS_CRLS/{crl_alias}");
    let alias_dirs = [
        pair_dir.as_str(),
        root_dir.as_str(),
        crl_dir.as_str(),
        "machine/sk",
        "machine/epk",
    ];
    let mut tally = Tally::default();
    let mut pair_refusals = Vec::new();

    // Every payload to every file of every kind of alias, and to names with no meaning.
    fs::create_dir(m.path("machine/fresh")).expect("mkdir machine/fresh");
    let mut files: Vec<String> = Vec::new();
    for dir in alias_dirs.iter().chain(&["machine/fresh"]) {
        for file in ["cert.pem", "key.pem", "crl.pem", "scratch.tmp"] {
            files.push(format!("{dir}/{file}"));
        }
    }
    for name in ["stray.pem", "cert.pem"] {
        files.push(format!("machine/{name}"));
        files.push(name.to_string());
    }
    for file in &files {
        for (label, payload) in &payloads {
            let result = write_through(&m.path(file), payload);
            tally.note(&format!("write {label}"), &result);
            let live_file = file.ends_with("/cert.pem") || file.ends_with("/key.pem");
            if file.starts_with(&pair_dir) && live_file {
                pair_refusals.push((file.clone(), *label, errno_of(&result)));
            }
        }
    }

    // Odd names: make, write, rename and remove them in every kind of directory.
    let dirs: Vec<&str> = [
        "",
        PAIR_STORE,
        "TRUSTED_ROOTS",
        "TRUSTED_ROOTS_CRLS",
        "machine",
    ]
    .into_iter()
    .chain(alias_dirs)
    .collect();
    let mut round_trips = Vec::new();
    for dir in &dirs {
        let base = m.path(dir);
        let is_alias = dir.contains('/');
        for name in odd_names() {
            let path = base.join(&name);
            let made = fs::create_dir(&path);
            tally.note("mkdir odd name", &made);
            if made.is_ok() && *dir == "machine" {
                // A new alias under an odd name: what is written reads back.
                let written = write_through(&path.join("cert.pem"), &pair.cert);
                tally.note("write cert.pem under an odd alias", &written);
                if written.is_ok() {
                    let back = fs::read(path.join("cert.pem")).map(|c| leaf_der(&c));
                    if !matches!(back, Ok(Ok(ref leaf)) if *leaf == pair.leaf()) {
                        round_trips.push(format!("{name:?}: read back {back:?}"));
                    }
                }
            }
            let removed = fs::remove_dir_all(&path);
            tally.note("rm -r odd name", &removed);
            let written = write_through(&path, &rng.bytes(200));
            tally.note("write file with odd name", &written);
            if is_alias {
                let renamed = fs::rename(&path, base.join("cert.pem"));
                tally.note("rename odd name onto cert.pem", &renamed);
            }
            tally.note("unlink odd name", &fs::remove_file(&path));
            tally.note(
                "symlink odd name",
                &std::os::unix::fs::symlink("cert.pem", &path),
            );
            tally.note(
                "link odd name",
                &fs::hard_link(base.join("cert.pem"), &path),
            );
            tally.note("unlink odd name", &fs::remove_file(&path));
        }
    }

    // Odd offsets and sizes, xattrs, truncation without a write.
    for file in [
        format!("{pair_dir}/cert.pem"),
        format!("{pair_dir}/key.pem"),
        format!("{pair_dir}/scratch.tmp"),
    ] {
        let path = m.path(&file);
        if let Ok(f) = OpenOptions::new().write(true).open(&path) {
            tally.note("pwrite at 1 TiB", &f.write_at(b"x", 1 << 40));
            tally.note("pwrite at u64::MAX/2", &f.write_at(b"x", u64::MAX / 2));
            tally.note("ftruncate to 1 TiB", &f.set_len(1 << 40));
            tally.note("close after odd offsets", &close_checked(f));
        }
        if let Ok(f) = OpenOptions::new().append(true).open(&path) {
            let mut f = f;
            tally.note("append garbage", &f.write_all(&rng.bytes(300)));
            tally.note("close after append", &close_checked(f));
        }
        let truncated = OpenOptions::new().write(true).truncate(true).open(&path);
        tally.note("open O_TRUNC, no write", &truncated);
        if let Ok(f) = truncated {
            tally.note("close after O_TRUNC only", &close_checked(f));
        }
        let c_path = CString::new(path.as_os_str().as_bytes()).expect("path");
        let value = rng.bytes(300);
        for name in [
            c"user.vecs.pending",
            c"user.vecs.type",
            c"user.x",
            c"trusted.x",
        ] {
            // SAFETY: valid NUL-terminated strings and a buffer of the stated size.
            let rc = unsafe {
                libc::setxattr(
                    c_path.as_ptr(),
                    name.as_ptr(),
                    value.as_ptr().cast(),
                    value.len(),
                    0,
                )
            };
            tally.note("setxattr", &rc_result(rc));
            // SAFETY: as above.
            let rc = unsafe { libc::removexattr(c_path.as_ptr(), name.as_ptr()) };
            tally.note("removexattr", &rc_result(rc));
        }
        // SAFETY: a valid NUL-terminated path.
        let rc = unsafe { libc::truncate(c_path.as_ptr(), 0) };
        tally.note("truncate(2) to 0", &rc_result(rc));
        let chmod = fs::set_permissions(&path, fs::Permissions::from_mode(0o777));
        tally.note("chmod 0777", &chmod);
    }

    for (kind, errnos) in &tally.0 {
        println!("{kind}: {errnos:?}");
    }

    // The daemon is alive, answers, and never panicked.
    assert!(
        m.try_wait_exit(Duration::ZERO).is_none(),
        "the daemon exited; log:\n{}",
        log_tail(&m, 40)
    );
    // SAFETY: signal 0 only checks that the process exists.
    assert_eq!(
        unsafe { libc::kill(m.pid() as i32, 0) },
        0,
        "daemon pid gone"
    );
    let (status, out) = run_command(Command::new("ls").arg(&m.mountpoint), COMMAND_TIMEOUT);
    assert!(status.success(), "ls of the mount: {out}");
    for store in [PAIR_STORE, "TRUSTED_ROOTS", "TRUSTED_ROOTS_CRLS", "machine"] {
        let (status, out) = run_command(Command::new("ls").arg(m.path(store)), COMMAND_TIMEOUT);
        assert!(status.success(), "ls {store}: {out}");
    }
    let log = m.log();
    let panics: Vec<&str> = log
        .lines()
        .filter(|l| l.to_lowercase().contains("panic"))
        .collect();
    assert!(
        panics.is_empty(),
        "the daemon panicked:\n{}",
        panics.join("\n")
    );

    // Refused writes are harmless: the pair, the roots and the CRLs are as they were.
    assert_live(&m, &m.path(&pair_dir), &pair, "after the hostile input");
    assert_eq!(
        snapshot(&m.db),
        untouched,
        "refused writes changed the store"
    );
    let accepted: Vec<_> = pair_refusals
        .iter()
        .filter(|(_, _, errno)| errno.is_none())
        .collect();
    assert!(
        accepted.is_empty(),
        "garbage accepted into the live pair: {accepted:#?}"
    );
    for (file, label, errno) in &pair_refusals {
        let expected = match *label {
            "empty" => Some(libc::EBADMSG),
            "random 2 MiB" | "2 MiB of one certificate repeated" => Some(libc::EFBIG),
            _ => None,
        };
        if let Some(expected) = expected {
            assert_eq!(*errno, Some(expected), "{file} <- {label}");
        }
    }
    assert!(
        round_trips.is_empty(),
        "odd alias names did not read back: {round_trips:#?}"
    );
}
