//! One step back, as VMware's certificate manager keeps it: when the pair of a Private Key
//! entry is replaced or deleted (through the mount, or with vecs-cli's `entry delete` then
//! `entry create`), the previous pair is kept in BACKUP_STORE as `bkp_<alias>`, and `mv -T` of
//! the backup over the entry, or `vecs-cli entry restore`, restores it (keeping the pair it
//! replaces as the new backup). On a real mount and with the real vecs-cli, with keys made by
//! openssl.

#[path = "support/mount.rs"]
mod mount;

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{
    genpkey, identity, openssl, run_command, run_with_input, vecs_cli, vecs_on_db, Identity,
    KeyKind, Run, Workspace,
};
use mount::{MountSpec, Mounted};

const LIVE: &str = "MACHINE_SSL_CERT/__MACHINE_CERT";
const BACKUP: &str = "BACKUP_STORE/bkp___MACHINE_CERT";

/// A self-signed certificate and its key, with subject CN=`name`.
fn pair(ws: &Workspace, name: &str) -> (PathBuf, PathBuf) {
    let dir = ws.dir.path();
    genpkey(dir, KeyKind::EcP256, &format!("{name}.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/CN={name}"),
            "-days",
            "5",
            "-out",
            &format!("{name}.crt"),
        ],
    );
    (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    )
}

/// The subject CN of the certificate in `dir/cert.pem`, and whether `dir/key.pem` matches it.
fn who(dir: &Path) -> (String, bool) {
    let cert = dir.join("cert.pem").to_string_lossy().into_owned();
    let key = dir.join("key.pem").to_string_lossy().into_owned();
    let subject = openssl(
        Path::new("/"),
        &[
            "x509",
            "-in",
            &cert,
            "-noout",
            "-subject",
            "-nameopt",
            "multiline",
        ],
    );
    let cn = subject
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("commonName")
                .map(|v| v.trim_start_matches([' ', '=']).trim().to_string())
        })
        .unwrap_or_default();
    let from_cert = openssl(Path::new("/"), &["x509", "-in", &cert, "-noout", "-pubkey"]);
    let from_key = openssl(Path::new("/"), &["pkey", "-in", &key, "-pubout"]);
    (cn, from_cert == from_key)
}

/// `cat key crt > cert.pem`: one write that replaces the whole pair.
fn replace_pair(m: &Mounted, (cert, key): &(PathBuf, PathBuf)) {
    let mut combined = std::fs::read(key).expect("key");
    combined.extend(std::fs::read(cert).expect("cert"));
    std::fs::write(m.path(&format!("{LIVE}/cert.pem")), combined).expect("write the pair");
}

#[test]
fn a_replaced_pair_is_kept_one_step_back_and_mv_restores_it() {
    let ws = Workspace::new();
    let first = pair(&ws, "first");
    let second = pair(&ws, "second");
    let third = pair(&ws, "third");
    let (cert, key) = (
        first.0.to_string_lossy().into_owned(),
        first.1.to_string_lossy().into_owned(),
    );
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        common::add_machine_pair(db, std::path::Path::new(&cert), std::path::Path::new(&key));
    }));
    let (live, backup) = (m.path(LIVE), m.path(BACKUP));
    assert!(!backup.exists(), "no backup before any replacement");

    // Writing the same pair again replaces nothing.
    replace_pair(&m, &first);
    assert!(!backup.exists(), "rewriting the live pair made a backup");

    replace_pair(&m, &second);
    assert_eq!(who(&live), ("second".into(), true));
    assert_eq!(who(&backup), ("first".into(), true), "the replaced pair");

    // Two-step rotation (certificate, then key): one backup, of the pair it replaced.
    std::fs::write(
        live.join("cert.pem"),
        std::fs::read(&third.0).expect("cert"),
    )
    .expect("cert half");
    assert_eq!(
        who(&backup),
        ("first".into(), true),
        "a pending half replaces nothing"
    );
    std::fs::write(live.join("key.pem"), std::fs::read(&third.1).expect("key")).expect("key half");
    assert_eq!(who(&live), ("third".into(), true));
    assert_eq!(
        who(&backup),
        ("second".into(), true),
        "one step back, not two"
    );
    let run = vecs_on_db(&m.db, &["entry", "list", "--store", "BACKUP_STORE"]);
    assert!(run.ok().contains("bkp___MACHINE_CERT"), "{run:?}");

    // Restore: one command; the two pairs swap.
    let (status, out) = run_command(
        Command::new("mv").arg("-T").arg(&backup).arg(&live),
        Duration::from_secs(20),
    );
    assert!(status.success(), "mv -T: {out}");
    assert_eq!(who(&live), ("second".into(), true), "restored");
    assert_eq!(
        who(&backup),
        ("third".into(), true),
        "the restored-over pair is the backup"
    );
    let run = vecs_on_db(
        &m.db,
        &[
            "entry",
            "getcert",
            "--store",
            "MACHINE_SSL_CERT",
            "--alias",
            "__MACHINE_CERT",
        ],
    );
    let shown = std::fs::read_to_string(live.join("cert.pem")).expect("cert.pem");
    // getcert prints the PEM and, as VMware's tool does, one more newline.
    assert_eq!(
        run.ok().trim_end(),
        shown.trim_end(),
        "vecs-cli sees the restored pair"
    );
}

// ---------------------------------------------------------------------------------------------
// vecs-cli: a pair replaced by `entry delete` + `entry create`, and `entry restore`

const MACHINE_SSL_CERT: &str = "MACHINE_SSL_CERT";
const MACHINE_CERT: &str = "__MACHINE_CERT";
const BACKUP_STORE: &str = "BACKUP_STORE";
const MACHINE_BACKUP: &str = "bkp___MACHINE_CERT";

/// What `entry getcert` and `entry getkey` print for an entry: the bytes VECS holds.
#[derive(Debug, PartialEq, Eq)]
struct Held {
    cert: String,
    key: String,
}

fn held(db: &Path, store: &str, alias: &str) -> Held {
    let get = |what: &str| {
        vecs_on_db(db, &["entry", what, "--store", store, "--alias", alias])
            .ok()
            .to_string()
    };
    Held {
        cert: get("getcert"),
        key: get("getkey"),
    }
}

/// `entry create --store STORE --alias ALIAS` with `files` (`--cert`, `--key`, `--password`).
fn create(db: &Path, store: &str, alias: &str, files: &[&str]) {
    let mut args = vec!["entry", "create", "--store", store, "--alias", alias];
    args.extend_from_slice(files);
    vecs_on_db(db, &args).ok();
}

fn create_pair(db: &Path, store: &str, alias: &str, id: &Identity) {
    create(db, store, alias, &["--cert", &id.cert, "--key", &id.key]);
}

/// `entry delete -y`, which must print exactly what VMware's prints, and nothing on stderr.
fn delete(db: &Path, store: &str, alias: &str) {
    let run = vecs_on_db(
        db,
        &["entry", "delete", "--store", store, "--alias", alias, "-y"],
    );
    assert_eq!(
        run.ok(),
        format!("Deleted entry with alias [{alias}] in store [{store}] successfully\n "),
        "VMware's output"
    );
    assert_eq!(run.stderr, "", "VMware's (empty) stderr");
}

/// A pair (a new EC key, CN=`name`) created then deleted with vecs-cli, so that BACKUP_STORE
/// keeps it: what it held.
fn deleted_pair(ws: &Workspace, store: &str, alias: &str, name: &str) -> Held {
    let id = identity(ws, KeyKind::EcP256, name);
    create_pair(&ws.db, store, alias, &id);
    let was = held(&ws.db, store, alias);
    delete(&ws.db, store, alias);
    was
}

fn restore(db: &Path, store: &str, alias: &str) -> Run {
    vecs_on_db(
        db,
        &["entry", "restore", "--store", store, "--alias", alias],
    )
}

/// What [`aliases`] lists for an empty store.
const NO_ALIASES: [&str; 0] = [];

/// The aliases of a store as `entry list --aliases` prints them, after a count that must
/// agree.
fn aliases(db: &Path, store: &str) -> Vec<String> {
    let run = vecs_on_db(db, &["entry", "list", "--store", store, "--aliases"]);
    let mut lines = run.ok().lines();
    let count = lines.next().unwrap_or_default().to_string();
    let listed: Vec<String> = lines.map(str::to_string).collect();
    assert_eq!(
        count,
        format!("Number of entries in store :\t{}", listed.len()),
        "{run:?}"
    );
    listed
}

/// `vecs-cli ARGS --db DB` with `RUST_LOG` set, so that the log shows on stderr.
fn vecs_logging(db: &Path, level: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new(vecs_cli());
    cmd.args(args)
        .arg("--db")
        .arg(db)
        .env_remove("VECS_DB")
        .env("RUST_LOG", level);
    run_with_input(cmd, b"")
}

/// The restore line `entry restore` prints on success.
fn restored_line(store: &str, alias: &str) -> String {
    format!(
        "Restored entry with alias [{alias}] in store [{store}] from [bkp_{alias}] in store \
         [{BACKUP_STORE}] successfully\n"
    )
}

#[test]
fn vecs_cli_delete_then_create_keeps_the_old_pair_and_restore_swaps_it_back() {
    let ws = Workspace::new();
    let db = ws.db.as_path();
    let (first, second, third) = (
        identity(&ws, KeyKind::EcP256, "first"),
        identity(&ws, KeyKind::Ed25519, "second"),
        identity(&ws, KeyKind::EcP384, "third"),
    );
    create_pair(db, MACHINE_SSL_CERT, MACHINE_CERT, &first);
    let first_held = held(db, MACHINE_SSL_CERT, MACHINE_CERT);
    assert_eq!(aliases(db, BACKUP_STORE), NO_ALIASES);

    // VMware's way to replace a pair: delete, then create (create refuses an existing alias).
    // The log says what was kept, and never shows key material.
    let run = vecs_logging(
        db,
        "info",
        &[
            "entry",
            "delete",
            "--store",
            MACHINE_SSL_CERT,
            "--alias",
            MACHINE_CERT,
            "-y",
        ],
    );
    assert_eq!(
        run.ok(),
        "Deleted entry with alias [__MACHINE_CERT] in store [MACHINE_SSL_CERT] successfully\n "
    );
    assert!(
        run.stderr.contains(
            "kept the deleted pair of [MACHINE_SSL_CERT/__MACHINE_CERT] as \
             [BACKUP_STORE/bkp___MACHINE_CERT]"
        ),
        "{run:?}"
    );
    assert!(!run.stderr.contains("PRIVATE KEY"), "{run:?}");
    assert_eq!(
        held(db, BACKUP_STORE, MACHINE_BACKUP),
        first_held,
        "the deleted pair, byte for byte"
    );
    let listed = vecs_on_db(db, &["entry", "list", "--store", BACKUP_STORE]);
    assert!(
        listed
            .ok()
            .contains("Alias :\tbkp___MACHINE_CERT\nEntry type :\tPrivate Key\n"),
        "{listed:?}"
    );
    create_pair(db, MACHINE_SSL_CERT, MACHINE_CERT, &second);
    let second_held = held(db, MACHINE_SSL_CERT, MACHINE_CERT);
    assert_ne!(second_held, first_held);
    assert_eq!(held(db, BACKUP_STORE, MACHINE_BACKUP), first_held);

    // One step back: the next replacement's backup replaces the older one.
    delete(db, MACHINE_SSL_CERT, MACHINE_CERT);
    create_pair(db, MACHINE_SSL_CERT, MACHINE_CERT, &third);
    let third_held = held(db, MACHINE_SSL_CERT, MACHINE_CERT);
    assert_eq!(held(db, BACKUP_STORE, MACHINE_BACKUP), second_held);
    assert_eq!(aliases(db, BACKUP_STORE), ["bkp___MACHINE_CERT"]);

    // Restore: the backup is live again, and the pair it replaced is the backup.
    let run = restore(db, MACHINE_SSL_CERT, MACHINE_CERT);
    assert_eq!(
        run.ok(),
        format!(
            "{}The pair it replaced is now [bkp___MACHINE_CERT] in store [BACKUP_STORE]; run \
             the same command again to undo\n",
            restored_line(MACHINE_SSL_CERT, MACHINE_CERT)
        )
    );
    assert_eq!(run.stderr, "");
    assert_eq!(held(db, MACHINE_SSL_CERT, MACHINE_CERT), second_held);
    assert_eq!(held(db, BACKUP_STORE, MACHINE_BACKUP), third_held);

    // A second restore swaps them again.
    restore(db, MACHINE_SSL_CERT, MACHINE_CERT).ok();
    assert_eq!(held(db, MACHINE_SSL_CERT, MACHINE_CERT), third_held);
    assert_eq!(held(db, BACKUP_STORE, MACHINE_BACKUP), second_held);
    assert_eq!(aliases(db, BACKUP_STORE), ["bkp___MACHINE_CERT"]);
}

#[test]
fn restore_undoes_a_delete_and_leaves_no_backup_behind() {
    let ws = Workspace::new();
    let db = ws.db.as_path();
    let before = deleted_pair(&ws, "vpxd", "vpxd", "undo");
    assert_eq!(aliases(db, "vpxd"), NO_ALIASES);

    // Case-insensitive, as every alias and store name.
    let run = restore(db, "VPXD", "VPXD");
    assert_eq!(
        run.ok(),
        restored_line("VPXD", "VPXD"),
        "nothing was replaced"
    );
    assert_eq!(held(db, "vpxd", "vpxd"), before);
    assert_eq!(aliases(db, "vpxd"), ["vpxd"], "the alias as it was spelled");
    assert_eq!(aliases(db, BACKUP_STORE), NO_ALIASES);
}

#[test]
fn an_encrypted_pair_is_kept_encrypted_and_restored() {
    let ws = Workspace::new();
    let db = ws.db.as_path();
    let id = identity(&ws, KeyKind::EcP256, "sealed");
    let files = ["--cert", &id.cert, "--key", &id.key, "--password", "pw"];
    create(db, "machine", "sealed", &files);
    let getkey = |store: &str, alias: &str| {
        vecs_on_db(
            db,
            &[
                "entry",
                "getkey",
                "--store",
                store,
                "--alias",
                alias,
                "--password",
                "pw",
            ],
        )
        .ok()
        .to_string()
    };
    let key = getkey("machine", "sealed");
    let cert = held_cert(db, "machine", "sealed");
    delete(db, "machine", "sealed");
    let listed = vecs_on_db(db, &["entry", "list", "--store", BACKUP_STORE]);
    assert!(
        listed
            .ok()
            .contains("Alias :\tbkp_sealed\nEntry type :\tEncrypted Private Key\n"),
        "{listed:?}"
    );
    assert_eq!(getkey(BACKUP_STORE, "bkp_sealed"), key);
    // Still encrypted: without the password there is no key.
    vecs_on_db(
        db,
        &[
            "entry",
            "getkey",
            "--store",
            BACKUP_STORE,
            "--alias",
            "bkp_sealed",
        ],
    )
    .failed_with(1323);
    restore(db, "machine", "sealed").ok();
    assert_eq!(getkey("machine", "sealed"), key);
    assert_eq!(held_cert(db, "machine", "sealed"), cert);
}

fn held_cert(db: &Path, store: &str, alias: &str) -> String {
    vecs_on_db(
        db,
        &["entry", "getcert", "--store", store, "--alias", alias],
    )
    .ok()
    .to_string()
}

/// Everything vecs-cli shows of the stores a restore touches: their entries with their
/// certificates, and the keys of the pairs.
fn restore_state(db: &Path, keys: &[(&str, &str)]) -> String {
    let mut state = String::new();
    for store in ["machine", BACKUP_STORE] {
        let run = vecs_on_db(db, &["entry", "list", "--store", store]);
        state.push_str(&format!("{} {}{}", run.code, run.stdout, run.stderr));
    }
    for (store, alias) in keys {
        let run = vecs_on_db(db, &["entry", "getkey", "--store", store, "--alias", alias]);
        state.push_str(&format!("{} {}{}", run.code, run.stdout, run.stderr));
    }
    state
}

/// vecs-cli as `nobody` on a database `nobody` may open (the store's rules, not the file's
/// mode, are under test).
fn vecs_as_nobody(db: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "nobody", "--", vecs_cli()])
        .args(args)
        .arg("--db")
        .arg(db)
        .env_remove("VECS_DB")
        .env_remove("RUST_LOG");
    run_with_input(cmd, b"")
}

#[test]
fn restore_refusals_say_why_and_change_neither_store() {
    let ws = Workspace::new();
    let db = ws.db.as_path();
    let old_held = deleted_pair(&ws, "machine", "web", "old");
    let (new, alone) = (
        identity(&ws, KeyKind::EcP256, "new"),
        identity(&ws, KeyKind::EcP256, "alone"),
    );
    create_pair(db, "machine", "web", &new);
    create_pair(db, "machine", "alone", &alone);
    let keys = [
        ("machine", "web"),
        ("machine", "alone"),
        (BACKUP_STORE, "bkp_web"),
    ];
    let before = restore_state(db, &keys);
    let unchanged = |what: &str| {
        assert_eq!(restore_state(db, &keys), before, "{what} changed a store");
    };

    // No backup of that alias.
    let run = restore(db, "machine", "alone");
    run.failed_with(4312);
    assert!(
        run.stderr.starts_with(
            "Error: There is no backup of [alone] to restore: no entry [bkp_alone] in store \
             [BACKUP_STORE]"
        ),
        "{run:?}"
    );
    unchanged("a restore without a backup");

    // No such store.
    let run = restore(db, "nosuch", "web");
    run.failed_with(4312);
    assert!(
        run.stderr
            .starts_with("Error: store [nosuch] does not exist \n"),
        "{run:?}"
    );
    unchanged("a restore into a store that does not exist");

    // BACKUP_STORE holds the backups; a restore goes into the store the pair came from.
    let run = restore(db, BACKUP_STORE, "web");
    run.failed_with(87);
    assert!(
        run.stderr.contains("BACKUP_STORE holds the backups"),
        "{run:?}"
    );
    unchanged("a restore into BACKUP_STORE");

    // A store and an alias are both needed (usage, as for any bad arguments).
    let run = vecs_on_db(db, &["entry", "restore", "--store", "machine"]);
    run.failed_with(87);
    assert!(run.stdout.starts_with("Usage: vecs-cli"), "{run:?}");
    unchanged("a restore without an alias");

    // Permissions: write on the store and on BACKUP_STORE, as for any move between them. Let
    // nobody open the database file itself; the store's grants decide the rest.
    let nobody = vecsfs::users::uid_of("nobody").expect("user nobody");
    std::os::unix::fs::chown(ws.dir.path(), Some(nobody), None).expect("chown dir");
    for suffix in ["", "-wal", "-shm"] {
        let _ =
            std::os::unix::fs::chown(format!("{}{suffix}", ws.db.display()), Some(nobody), None);
    }
    let grant = |store: &str, access: &str| {
        let args = [
            "store",
            "permission",
            "--name",
            store,
            "--user",
            "nobody",
            "--grant",
            access,
        ];
        vecs_on_db(db, &args).ok();
    };
    let restore_as_nobody = || {
        vecs_as_nobody(
            db,
            &["entry", "restore", "--store", "machine", "--alias", "web"],
        )
    };
    // (grant on the store, grant on BACKUP_STORE, the store the refusal names)
    for (on_store, on_backups, refused_on) in [
        (None, None, "machine"),
        (Some("read"), Some("write"), "machine"),
        (Some("write"), Some("read"), BACKUP_STORE),
    ] {
        for (store, access) in [("machine", on_store), (BACKUP_STORE, on_backups)] {
            if let Some(access) = access {
                grant(store, access);
            }
        }
        let run = restore_as_nobody();
        run.failed_with(5);
        assert!(
            run.stderr.contains(&format!("store [{refused_on}]")),
            "{run:?}"
        );
        unchanged(&format!(
            "a restore by a user with {on_store:?} on the store and {on_backups:?} on \
             BACKUP_STORE"
        ));
    }
    // Write on both: the restore is theirs to make.
    grant(BACKUP_STORE, "write");
    restore_as_nobody().ok();
    assert_eq!(held(db, "machine", "web"), old_held, "restored by nobody");
}

#[test]
fn deleting_inside_backup_store_keeps_nothing() {
    let ws = Workspace::new();
    let db = ws.db.as_path();
    deleted_pair(&ws, "machine", "web", "kept");
    let other = identity(&ws, KeyKind::EcP256, "other");
    create_pair(db, BACKUP_STORE, "by-hand", &other);
    assert_eq!(aliases(db, BACKUP_STORE), ["bkp_web", "by-hand"]);
    delete(db, BACKUP_STORE, "bkp_web");
    assert_eq!(aliases(db, BACKUP_STORE), ["by-hand"], "no bkp_bkp_web");
    delete(db, BACKUP_STORE, "by-hand");
    assert_eq!(aliases(db, BACKUP_STORE), NO_ALIASES);
}

#[test]
fn without_room_for_the_backup_alias_or_without_backup_store_the_delete_still_succeeds() {
    let ws = Workspace::new();
    let db = ws.db.as_path();
    let (long_id, id) = (
        identity(&ws, KeyKind::EcP256, "long"),
        identity(&ws, KeyKind::EcP256, "plain"),
    );

    // 252 bytes: a valid alias, but bkp_ makes 256, over the 255-byte limit.
    let long = "l".repeat(252);
    create_pair(db, "machine", &long, &long_id);
    let run = vecs_logging(
        db,
        "warn",
        &[
            "entry", "delete", "--store", "machine", "--alias", &long, "-y",
        ],
    );
    assert_eq!(
        run.ok(),
        format!("Deleted entry with alias [{long}] in store [machine] successfully\n ")
    );
    assert!(
        run.stderr
            .contains("would be over the 255-byte alias limit"),
        "{run:?}"
    );
    assert_eq!(aliases(db, BACKUP_STORE), NO_ALIASES);
    restore(db, "machine", &long).failed_with(4312);

    // BACKUP_STORE deleted: the administrator's decision stands (it is not recreated), and
    // deleting a pair still works as VMware's does.
    vecs_on_db(db, &["store", "delete", "--name", BACKUP_STORE, "-y"]).ok();
    create_pair(db, "machine", "web", &id);
    let run = vecs_logging(
        db,
        "warn",
        &[
            "entry", "delete", "--store", "machine", "--alias", "web", "-y",
        ],
    );
    assert_eq!(
        run.ok(),
        "Deleted entry with alias [web] in store [machine] successfully\n "
    );
    assert!(run.stderr.contains("BACKUP_STORE was deleted"), "{run:?}");
    let stores = vecs_on_db(db, &["store", "list"]);
    assert!(!stores.ok().contains(BACKUP_STORE), "{stores:?}");
    // And there is nothing to restore.
    create_pair(db, "machine", "web", &id);
    let before = vecs_on_db(db, &["entry", "list", "--store", "machine"]);
    let run = restore(db, "machine", "web");
    run.failed_with(4312);
    assert!(
        run.stderr.starts_with(
            "Error: There is no backup of [web] to restore: store [BACKUP_STORE] does not exist"
        ),
        "{run:?}"
    );
    assert_eq!(
        vecs_on_db(db, &["entry", "list", "--store", "machine"]).stdout,
        before.stdout
    );
    assert!(!vecs_on_db(db, &["store", "list"])
        .ok()
        .contains(BACKUP_STORE));
}

// ---------------------------------------------------------------------------------------------
// The same backups through the mount

/// `rm -r` and `rmdir` of an alias directory delete the entry through the store, and keep the
/// pair as `entry delete` does; `entry restore` brings it back into the running mount.
#[test]
fn rm_r_and_rmdir_through_the_mount_keep_the_pair_and_restore_shows_in_the_mount() {
    let ws = Workspace::new();
    let (a, b) = (
        identity(&ws, KeyKind::EcP256, "alpha"),
        identity(&ws, KeyKind::Ed25519, "beta"),
    );
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        create_pair(db, "vpxd", "A", &a);
        create_pair(db, "vpxd", "B", &b);
    }));
    let (a_held, b_held) = (held(&m.db, "vpxd", "A"), held(&m.db, "vpxd", "B"));

    let (status, out) = run_command(
        Command::new("rm").arg("-r").arg(m.path("vpxd/A")),
        Duration::from_secs(20),
    );
    assert!(status.success(), "rm -r: {out}");
    let (status, out) = run_command(
        Command::new("rmdir").arg(m.path("vpxd/B")),
        Duration::from_secs(20),
    );
    assert!(status.success(), "rmdir: {out}");
    assert_eq!(aliases(&m.db, "vpxd"), NO_ALIASES);
    assert_eq!(
        held(&m.db, BACKUP_STORE, "bkp_A"),
        a_held,
        "rm -r kept the pair"
    );
    assert_eq!(
        held(&m.db, BACKUP_STORE, "bkp_B"),
        b_held,
        "rmdir kept the pair"
    );
    assert_eq!(who(&m.path("BACKUP_STORE/bkp_A")), ("alpha".into(), true));
    assert!(!m.path("vpxd/A").exists());

    restore(&m.db, "vpxd", "A").ok();
    m.wait_until(
        "the restored pair in the mount",
        Duration::from_secs(10),
        || m.path("vpxd/A/cert.pem").exists(),
    );
    assert_eq!(who(&m.path("vpxd/A")), ("alpha".into(), true));
    assert!(!m.path("BACKUP_STORE/bkp_A").exists());
}

/// A pair replaced through the mount and restored with vecs-cli while the mount runs: the
/// mount serves the restored pair, and the replaced one as the backup.
#[test]
fn vecs_cli_restore_shows_in_a_running_mount() {
    let ws = Workspace::new();
    let first = pair(&ws, "first");
    let second = pair(&ws, "second");
    let (cert, key) = (first.0.clone(), first.1.clone());
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        common::add_machine_pair(db, &cert, &key);
    }));
    let (live, backup) = (m.path(LIVE), m.path(BACKUP));
    replace_pair(&m, &second);
    assert_eq!(who(&live), ("second".into(), true));
    assert_eq!(who(&backup), ("first".into(), true));

    restore(&m.db, MACHINE_SSL_CERT, MACHINE_CERT).ok();
    m.wait_until("the restore in the mount", Duration::from_secs(10), || {
        who(&live).0 == "first"
    });
    assert_eq!(who(&live), ("first".into(), true), "restored");
    assert_eq!(
        who(&backup),
        ("second".into(), true),
        "swapped into the backup"
    );
    let shown = std::fs::read_to_string(live.join("cert.pem")).expect("cert.pem");
    assert_eq!(
        held_cert(&m.db, MACHINE_SSL_CERT, MACHINE_CERT).trim_end(),
        shown.trim_end()
    );
}

#[test]
fn restore_over_an_entry_that_is_not_a_pair_says_it_was_not_kept() {
    let ws = Workspace::new();
    let db = ws.db.as_path();
    let before = deleted_pair(&ws, "machine", "web", "paired");
    let cert_only = identity(&ws, KeyKind::EcP256, "cert-only");
    create(db, "machine", "web", &["--cert", &cert_only.cert]);
    let run = restore(db, "machine", "web");
    assert_eq!(
        run.ok(),
        format!(
            "{}The [Trusted Cert] entry it replaced was not kept: only key pairs are backed up\n",
            restored_line("machine", "web")
        )
    );
    assert_eq!(held(db, "machine", "web"), before);
    assert_eq!(aliases(db, BACKUP_STORE), NO_ALIASES);
}

#[test]
fn help_lists_entry_restore_and_the_backup_on_delete() {
    let ws = Workspace::new();
    let help = vecs_on_db(&ws.db, &["--help"]);
    assert!(
        help.ok()
            .contains("\tentry restore --store <store-name> --alias <alias>\n"),
        "{help:?}"
    );
    assert!(
        help.stdout.contains("is kept there as bkp_<alias>"),
        "{help:?}"
    );
    // VMware's usage (`help`) stays VMware's.
    assert!(!vecs_on_db(&ws.db, &["help"]).ok().contains("restore"));
}
