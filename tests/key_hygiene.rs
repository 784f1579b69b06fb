//! Key hygiene of the daemon and the database, on real mounts served by the `vecsfs` binary:
//! no core dump can hold a key, every open of a key file is an audit line naming who opened
//! it, no key is ever logged (at RUST_LOG=trace, the most), and the database, its WAL and its
//! SHM file are 0600 whatever the umask or the mode an older database had. Runs as root (CI does), with
//! the `nobody` user. (That freed memory holds no key: tests/key_zeroize.rs.)

#[path = "support/mount.rs"]
mod mount;

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use common::{add_machine_pair, genpkey, openssl, run_command, wait_child, KeyKind, Workspace};
use mount::{MountSpec, Mounted};

const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a log line may take to show in the daemon's log file.
const LOG_WAIT: Duration = Duration::from_secs(5);
const NOBODY: u32 = 65534;
const KEY: &str = "MACHINE_SSL_CERT/__MACHINE_CERT/key.pem";
const BUNDLE: &str = "MACHINE_SSL_CERT/__MACHINE_CERT/bundle.pem";

/// A P-256 key and a self-signed certificate in `ws`.
fn pair(ws: &Workspace) -> (PathBuf, PathBuf) {
    let dir = ws.dir.path();
    genpkey(dir, KeyKind::EcP256, "m.key");
    openssl(
        dir,
        &[
            "req", "-x509", "-new", "-key", "m.key", "-subj", "/CN=m", "-days", "2", "-out",
            "m.crt",
        ],
    );
    (ws.path("m.crt"), ws.path("m.key"))
}

/// A mount whose MACHINE_SSL_CERT holds the pair (RUST_LOG=trace: the README promises no key at any level).
fn mounted_with_pair(ws: &Workspace) -> (Mounted, PathBuf) {
    let (cert, key) = pair(ws);
    let key_path = key.clone();
    let m = Mounted::start(
        MountSpec::default()
            .env("RUST_LOG", "trace")
            .before_mount(move |db| add_machine_pair(db, &cert, &key)),
    );
    (m, key_path)
}

/// Runs `program args` (as `uid` if given) with its output in a file; returns its pid, status
/// and output. The pid is what the daemon must name in its audit line.
fn run_with_pid(uid: Option<u32>, program: &str, args: &[&Path]) -> (u32, ExitStatus, Vec<u8>) {
    let out = tempfile::tempfile().expect("output file");
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup"))
        .stderr(Stdio::null());
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    let mut child = cmd.spawn().expect("spawn");
    let pid = child.id();
    let status = wait_child(&mut child, COMMAND_TIMEOUT).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{program} did not finish within {COMMAND_TIMEOUT:?}")
    });
    let mut out = out;
    use std::io::{Read, Seek};
    let mut bytes = Vec::new();
    out.rewind().expect("rewind");
    out.read_to_end(&mut bytes).expect("read output");
    (pid, status, bytes)
}

/// The audit lines of the daemon's log that name `pid`.
fn audit_lines(m: &Mounted, pid: u32) -> Vec<String> {
    let needle = format!(" pid={pid} ");
    m.log()
        .lines()
        .filter(|l| l.contains("audit: key") && l.contains(&needle))
        .map(str::to_string)
        .collect()
}

/// Waits (bounded) until the log holds at least one audit line for `pid`, then returns them.
fn audit_lines_of(m: &Mounted, pid: u32) -> Vec<String> {
    m.wait_until(&format!("audit line of pid {pid}"), LOG_WAIT, || {
        !audit_lines(m, pid).is_empty()
    });
    audit_lines(m, pid)
}

/// `cat key.pem` is exactly one audit line naming cat, its pid and uid, the store and the
/// alias; bundle.pem too; a write is a `key write` line; an open the store's permissions
/// refuse is a `denied` line. And after all that (at RUST_LOG=trace) the log holds no piece
/// of the key.
#[test]
fn key_opens_are_audited_and_keys_are_never_logged() {
    let ws = Workspace::new();
    let (m, key_path) = mounted_with_pair(&ws);

    let (pid, status, shown) = run_with_pid(None, "cat", &[&m.path(KEY)]);
    assert!(status.success(), "cat key.pem: {status}");
    let canonical = vecsfs::pki::parse_private_key(&fs::read(&key_path).expect("key"))
        .expect("test key")
        .to_pkcs8_pem();
    assert_eq!(shown, canonical.as_bytes(), "cat key.pem");
    let lines = audit_lines_of(&m, pid);
    assert_eq!(lines.len(), 1, "one audit line for one open: {lines:#?}");
    let expected = format!(
        "audit: key read allowed store=\"MACHINE_SSL_CERT\" alias=\"__MACHINE_CERT\" \
         file=key.pem uid=0 pid={pid} comm=\"cat\""
    );
    assert!(
        lines[0].ends_with(&expected),
        "{}\nwanted {expected}",
        lines[0]
    );
    assert!(lines[0].starts_with("[INFO]"), "{}", lines[0]);

    let (pid, status, _) = run_with_pid(None, "cat", &[&m.path(BUNDLE)]);
    assert!(status.success(), "cat bundle.pem: {status}");
    let lines = audit_lines_of(&m, pid);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("key read allowed") && lines[0].contains("file=bundle.pem"));

    // A write through the mount (the same key again), by this very thread.
    // SAFETY: gettid(2) cannot fail.
    let tid = unsafe { libc::gettid() } as u32;
    let mut file = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(m.path(KEY))
        .expect("open key.pem for writing");
    file.write_all(canonical.as_bytes()).expect("write");
    drop(file);
    let lines = audit_lines_of(&m, tid);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains("audit: key write allowed") && lines[0].contains("uid=0"),
        "{}",
        lines[0]
    );

    // nobody has no grant on MACHINE_SSL_CERT. Root looks the path up again first (the
    // write's commit invalidated the alias's names), so the names are in the kernel's cache
    // and nobody's open reaches the daemon, which refuses it: EACCES, audited. (Without
    // them the refusal comes at lookup, before anyone knows a key was meant.)
    let parent = m.mountpoint.parent().expect("mountpoint has a parent");
    fs::set_permissions(parent, fs::Permissions::from_mode(0o755)).expect("chmod 0755");
    fs::metadata(m.path(KEY)).expect("root looks key.pem up again");
    let (pid, status, shown) = run_with_pid(Some(NOBODY), "cat", &[&m.path(KEY)]);
    assert!(!status.success() && shown.is_empty(), "nobody read key.pem");
    let lines = audit_lines_of(&m, pid);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains("audit: key read denied (EACCES)")
            && lines[0].contains(&format!("uid={NOBODY} pid={pid} comm=\"cat\"")),
        "{}",
        lines[0]
    );

    // Never logged: no line of the key's base64 body, in either form, nor any 20 characters
    // of it, nor its first bytes as a debug-printed byte list.
    let log = m.log();
    let flat: String = log.lines().collect();
    let original = fs::read_to_string(&key_path).expect("key");
    for pem in [original.as_str(), canonical.as_str()] {
        let body: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        for line in &body {
            assert!(
                !log.contains(line),
                "the log holds a line of the key: {line}"
            );
        }
        let joined = body.concat();
        for start in (0..joined.len().saturating_sub(20)).step_by(10) {
            let piece = &joined[start..start + 20];
            assert!(!flat.contains(piece), "the log holds key text {piece}");
        }
        let bytes: Vec<String> = pem.as_bytes()[30..38].iter().map(u8::to_string).collect();
        assert!(!log.contains(&bytes.join(", ")), "the log holds key bytes");
    }
    assert!(
        log.contains("[DEBUG]"),
        "the daemon logged at debug level (else this proves little)"
    );
}

/// No crash can write the daemon's memory (its keys) to a core file: its core limit is 0, soft
/// and hard, so that not even a child it started could raise it. (It also sets itself not
/// dumpable, PR_SET_DUMPABLE 0; that flag shows from outside only as /proc/<pid> owned by
/// root, which a daemon running as root is anyway.) Root still reads /proc/<pid>/status, as
/// `vecsfs status` and ps do.
#[test]
fn the_daemon_dumps_no_core() {
    let m = Mounted::fresh();
    let pid = m.pid();
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .expect("a core limit line");
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(fields[4..6], ["0", "0"], "{core}");
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("root reads status");
    assert!(status.contains("vecsfs"), "{status}");
    let meta = fs::metadata(format!("/proc/{pid}")).expect("/proc/<pid>");
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .mode()
        & 0o7777
}

fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Asserts that the database, its WAL and its SHM file exist, belong to root, and are 0600.
#[track_caller]
fn assert_private(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let path = with_suffix(db, suffix);
        let meta = fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            (meta.mode() & 0o7777, meta.uid()),
            (0o600, 0),
            "{}",
            path.display()
        );
    }
}

/// vecs-cli with `args` on `db`, under umask 000 (what a careless service or shell may have).
fn cli_umask0(db: &Path, args: &[&str]) -> (ExitStatus, String) {
    let mut cmd = Command::new(common::vecs_cli());
    cmd.args(args).arg("--db").arg(db).env_remove("VECS_DB");
    // SAFETY: umask(2) in the child between fork and exec; async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    run_command(&mut cmd, COMMAND_TIMEOUT)
}

/// A database the daemon creates and one vecs-cli writes to, both under umask 000, with writes
/// through the mount and through vecs-cli: the database, WAL and SHM files are 0600 (while the
/// daemon holds it open, so the WAL and SHM exist).
#[test]
fn database_wal_and_shm_are_0600_whatever_the_umask() {
    let ws = Workspace::new();
    let (cert, _) = pair(&ws);
    // The daemon inherits the umask at spawn; restored at once (the tests of this file that
    // run meanwhile only make private temp dirs, which mkdtemp makes 0700 anyway).
    // SAFETY: umask(2) cannot fail.
    let previous = unsafe { libc::umask(0) };
    let m = std::panic::catch_unwind(Mounted::fresh);
    // SAFETY: as above.
    unsafe { libc::umask(previous) };
    let m = m.unwrap_or_else(|e| std::panic::resume_unwind(e));
    assert_private(&m.db);

    let alias = m.path("TRUSTED_ROOTS/by-mount");
    fs::create_dir(&alias).expect("mkdir alias");
    fs::copy(&cert, alias.join("cert.pem")).expect("cp through the mount");
    let cert_arg = cert.to_string_lossy().into_owned();
    let (status, out) = cli_umask0(
        &m.db,
        &[
            "entry",
            "create",
            "--store",
            "TRUSTED_ROOTS",
            "--alias",
            "by-cli",
            "--cert",
            &cert_arg,
        ],
    );
    assert!(status.success(), "vecs-cli: {out}");
    assert!(
        m.path("TRUSTED_ROOTS/by-cli").exists() || {
            // The mount shows vecs-cli's change within a second (the daemon polls).
            mount::wait_for(Duration::from_secs(5), || {
                m.path("TRUSTED_ROOTS/by-cli").exists()
            })
            .is_some()
        }
    );
    assert_private(&m.db);
}

/// A database left readable by others (an older install, a copy made under a loose umask) is
/// made 0600 by the first program that opens it, WAL included, and the daemon says so; one
/// that is not ours to change is refused with the reason and the fix, and left as it was.
#[test]
fn a_database_readable_by_others_is_made_private_or_refused() {
    let m = Mounted::start(MountSpec::default().before_mount(|db| {
        let (status, out) = cli_umask0(db, &["store", "list"]);
        assert!(status.success(), "vecs-cli: {out}");
        fs::set_permissions(db, fs::Permissions::from_mode(0o644)).expect("chmod db");
        let wal = with_suffix(db, "-wal");
        fs::write(&wal, b"").expect("an empty WAL");
        fs::set_permissions(&wal, fs::Permissions::from_mode(0o644)).expect("chmod wal");
    }));
    assert_private(&m.db);
    assert!(
        m.log().contains("made it 0600"),
        "the daemon says what it changed: {}",
        m.log()
    );

    // Not ours: a root database that nobody could read, opened by nobody.
    let dir = tempfile::Builder::new()
        .prefix("vecsfs-hygiene-")
        .tempdir()
        .expect("temp dir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let db = dir.path().join("vecs.db");
    let (status, out) = cli_umask0(&db, &["store", "list"]);
    assert!(status.success(), "vecs-cli: {out}");
    fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).expect("chmod db");
    let (status, out) = run_command(
        Command::new(common::vecs_cli())
            .args(["store", "list", "--db"])
            .arg(&db)
            .env("RUST_LOG", "info")
            .uid(NOBODY)
            .gid(NOBODY),
        COMMAND_TIMEOUT,
    );
    assert!(
        !status.success(),
        "nobody opened a database it should not: {out}"
    );
    assert!(
        out.contains("other users may read it (mode 0644)") && out.contains("chmod 600"),
        "{out}"
    );
    assert_eq!(mode_of(&db), 0o644, "left as it was");
}
