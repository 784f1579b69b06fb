//! vecs-cli run by a user who is not root, against a real daemon: the database stays root's
//! (0600, in a 0700 directory), and the serving vecsfs answers the reading commands on its
//! socket as the caller's uid (SO_PEERCRED), with VECS's permissions. The user is `nobody`,
//! through `setpriv`.

#[path = "support/mount.rs"]
mod mount;

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::{identity, run_with_input, vecs_cli, vecs_on_db, Identity, KeyKind, Run, Workspace};
use mount::{MountSpec, Mounted};

const NOBODY: u32 = 65534;

/// A directory every user may enter and write (sticky, as /tmp), removed on drop.
fn shared_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777))
        .expect("chmod 1777");
    dir
}

/// vecs-cli as `nobody` on `db`, finding the daemon's socket in `run_dir`.
fn as_nobody(run_dir: &Path, db: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        &format!("--reuid={NOBODY}"),
        &format!("--regid={NOBODY}"),
        "--clear-groups",
    ])
    .arg(vecs_cli())
    .args(args)
    .arg("--db")
    .arg(db)
    .env("VECSFS_RUN_DIR", run_dir)
    .env_remove("VECS_DB")
    .env_remove("RUST_LOG");
    run_with_input(cmd, b"")
}

/// The store `shared` (read granted to nobody) with a pair, and `secret` (nothing granted).
fn seed(db: &Path, cert: &str, key: &str) {
    vecs_on_db(db, &["store", "create", "--name", "shared"]).ok();
    vecs_on_db(db, &["store", "create", "--name", "secret"]).ok();
    for store in ["shared", "secret"] {
        vecs_on_db(
            db,
            &[
                "entry", "create", "--store", store, "--alias", "web", "--cert", cert, "--key", key,
            ],
        )
        .ok();
    }
    vecs_on_db(
        db,
        &[
            "store",
            "permission",
            "--name",
            "shared",
            "--user",
            "nobody",
            "--grant",
            "read",
        ],
    )
    .ok();
}

/// A daemon serving a database seeded by [`seed`] with a pair named `name`, its socket in a
/// run directory every user can reach (returned with it, to keep it alive), and the pair.
fn seeded_daemon(ws: &Workspace, name: &str) -> (Mounted, tempfile::TempDir, Identity) {
    let id = identity(ws, KeyKind::EcP256, name);
    let run_dir = shared_dir("vecsfs-run-");
    let (cert, key) = (id.cert.clone(), id.key.clone());
    let m = Mounted::start(
        MountSpec::default()
            .env("VECSFS_RUN_DIR", &run_dir.path().to_string_lossy())
            .before_mount(move |db| seed(db, &cert, &key)),
    );
    (m, run_dir, id)
}

#[test]
fn a_user_reads_what_vecs_lets_them_and_nothing_else() {
    let ws = Workspace::new();
    let (m, run_dir, id) = seeded_daemon(&ws, "nonroot");
    let run = run_dir.path();
    let root_view = |args: &[&str]| vecs_on_db(&m.db, args).ok().to_string();
    let before = format!(
        "{}{}{}",
        root_view(&["store", "list"]),
        root_view(&["entry", "list", "--store", "shared"]),
        root_view(&["entry", "list", "--store", "secret"])
    );

    // Read permission: listing, certificates and keys, as VECS allows.
    let stores = as_nobody(run, &m.db, &["store", "list"]);
    assert_eq!(stores.ok(), root_view(&["store", "list"]));
    let listing = as_nobody(run, &m.db, &["entry", "list", "--store", "shared"]);
    assert_eq!(
        listing.ok(),
        root_view(&["entry", "list", "--store", "shared"])
    );
    let getcert = ["entry", "getcert", "--store", "shared", "--alias", "web"];
    assert_eq!(as_nobody(run, &m.db, &getcert).ok(), root_view(&getcert));
    let getkey = ["entry", "getkey", "--store", "shared", "--alias", "web"];
    let key_pem = root_view(&getkey);
    assert!(key_pem.contains("PRIVATE KEY"));
    assert_eq!(as_nobody(run, &m.db, &getkey).ok(), key_pem);

    // --output is written by the client, as the user, 0600, with what stdout would show.
    let out_dir = shared_dir("vecsfs-out-");
    let out = out_dir.path().join("web.key");
    let out_arg = out.to_string_lossy().into_owned();
    let mut with_output = getkey.to_vec();
    with_output.extend(["--output", &out_arg]);
    assert_eq!(as_nobody(run, &m.db, &with_output).ok(), "");
    let meta = std::fs::metadata(&out).expect("output file");
    assert_eq!((meta.uid(), meta.mode() & 0o777), (NOBODY, 0o600));
    assert_eq!(std::fs::read_to_string(&out).expect("read output"), key_pem);
    // An output file that cannot be made private (not the user's: /dev/full) fails as it
    // does without the daemon, access denied, not as a daemon that did not answer.
    let mut to_full = getkey.to_vec();
    to_full.extend(["--output", "/dev/full"]);
    let failed = as_nobody(run, &m.db, &to_full);
    failed.failed_with(5);
    assert!(!failed.stderr.contains("daemon"), "{failed:#?}");

    // No permission: error 5, as VECS answers it.
    as_nobody(run, &m.db, &["entry", "list", "--store", "secret"]).failed_with(5);
    as_nobody(
        run,
        &m.db,
        &["entry", "getkey", "--store", "secret", "--alias", "web"],
    )
    .failed_with(5);
    // Writes are not served on the socket (the mount takes them): error 5, nothing changed.
    let refused = as_nobody(
        run,
        &m.db,
        &[
            "entry", "create", "--store", "shared", "--alias", "new", "--cert", &id.cert,
        ],
    );
    refused.failed_with(5);
    assert!(
        refused.stderr.contains("write through the mount"),
        "{refused:#?}"
    );
    as_nobody(run, &m.db, &["store", "delete", "--name", "shared", "-y"]).failed_with(5);
    let after = format!(
        "{}{}{}",
        root_view(&["store", "list"]),
        root_view(&["entry", "list", "--store", "shared"]),
        root_view(&["entry", "list", "--store", "secret"])
    );
    assert_eq!(after, before, "the refusals changed nothing");

    // The database itself stays root's.
    for path in [m.db.clone(), m.db.with_extension("db-wal")] {
        if let Ok(meta) = std::fs::metadata(&path) {
            assert_eq!(
                (meta.uid(), meta.mode() & 0o777),
                (0, 0o600),
                "{}",
                path.display()
            );
        }
    }
    let log = m.log();
    assert!(
        log.contains(&format!("vecs-cli for uid {NOBODY}")),
        "the daemon logs who asked: {log}"
    );
    assert!(!log.contains("BEGIN PRIVATE KEY"), "no key in the log");
}

/// Without a daemon serving the database, a user who cannot open it is told so: VECS's
/// "cannot connect to vmafd" (1021), naming the database and the socket.
#[test]
fn without_a_daemon_the_user_is_told_why() {
    let private = tempfile::tempdir().expect("temp dir");
    let db = private.path().join("vecs.db");
    vecs_on_db(&db, &["store", "list"]).ok();
    let run_dir = shared_dir("vecsfs-run-");
    let run = as_nobody(run_dir.path(), &db, &["store", "list"]);
    run.failed_with(1021);
    assert!(run.stderr.contains("no vecsfs daemon answers"), "{run:#?}");
    assert!(run.stdout.is_empty());
}

/// The socket is open to every local user, so the daemon serves at most 32 connections at
/// once: the 33rd is closed at once (not given a thread), and when the others end, users are
/// served again.
#[test]
fn the_daemon_serves_a_bounded_number_of_connections() {
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    let ws = Workspace::new();
    let (m, run_dir, _) = seeded_daemon(&ws, "bounded");
    let socket = std::fs::read_dir(run_dir.path())
        .expect("run dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "sock"))
        .expect("the daemon's socket");
    let idle: Vec<UnixStream> = (0..32)
        .map(|_| UnixStream::connect(&socket).expect("connect"))
        .collect();
    let mut extra = UnixStream::connect(&socket).expect("connect the 33rd");
    extra
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let mut byte = [0u8; 1];
    let read = extra.read(&mut byte);
    assert!(
        matches!(read, Ok(0)),
        "the 33rd connection was not closed at once: {read:?}"
    );
    assert!(m.log().contains("32 connections at once"), "{}", m.log());

    drop(idle);
    let served = mount::wait_for(std::time::Duration::from_secs(10), || {
        as_nobody(run_dir.path(), &m.db, &["store", "list"]).code == 0
    });
    assert!(served.is_some(), "not served again after the others closed");
}

/// Serving users must not cost the daemon its SQLite locks. The daemon used to probe the
/// database file with an open and a close for each socket request, and a close drops every
/// POSIX lock the process holds on that file: the next root vecs-cli to close its connection
/// then took itself for the last one and deleted the WAL the daemon was still writing to, so
/// that writes through the mount were seen by no one else and lost at restart. Here: socket
/// requests, root's vecs-cli, then a store made through the mount, which root sees, and which
/// a restart keeps. The store is nobody's: its permissions are read through the daemon (only
/// an owner, or root, reads a store's permissions, as in VECS; not shared's).
#[test]
fn serving_users_keeps_the_daemons_writes_visible_and_durable() {
    let ws = Workspace::new();
    let (mut m, run_dir, _) = seeded_daemon(&ws, "locks");
    let run = run_dir.path();
    for _ in 0..3 {
        as_nobody(run, &m.db, &["store", "list"]).ok();
        vecs_on_db(&m.db, &["store", "list"]).ok();
    }
    std::fs::set_permissions(
        m.mountpoint.parent().expect("mountpoint's parent"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod 0755");
    let (made, out) = common::run_command(
        Command::new("setpriv")
            .args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                "mkdir",
            ])
            .arg(m.path("nobodys")),
        std::time::Duration::from_secs(30),
    );
    assert!(made.success(), "nobody's mkdir of a store: {out}");
    let stores = vecs_on_db(&m.db, &["store", "list"]).ok().to_string();
    assert!(
        stores.lines().any(|l| l == "nobodys"),
        "root's vecs-cli does not see the store made through the mount: {stores}"
    );

    let permissions = ["store", "get-permissions", "--name", "nobodys"];
    let shown = as_nobody(run, &m.db, &permissions);
    assert_eq!(shown.ok(), vecs_on_db(&m.db, &permissions).ok());
    assert!(shown.stdout.contains("OWNER : nobody"), "{shown:#?}");
    as_nobody(
        run,
        &m.db,
        &["store", "get-permissions", "--name", "shared"],
    )
    .failed_with(5);

    m.signal(libc::SIGTERM);
    let status = m.wait_exit(std::time::Duration::from_secs(10));
    assert!(status.success(), "the daemon's exit: {status}");
    m.restart();
    assert!(
        m.path("nobodys").is_dir(),
        "the store did not survive a restart"
    );
    let stores = vecs_on_db(&m.db, &["store", "list"]).ok().to_string();
    assert!(stores.lines().any(|l| l == "nobodys"), "{stores}");
}
