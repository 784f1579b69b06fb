//! One step back, as VMware's certificate manager keeps it: when the pair of a Private Key
//! entry is replaced, the previous pair is kept in BACKUP_STORE as `bkp_<alias>`, and `mv -T`
//! of the backup over the entry restores it (keeping the pair it replaces as the new backup).
//! On a real mount, with real tools and keys made by openssl.

#[path = "support/mount.rs"]
mod mount;

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{genpkey, openssl, run_command, vecs_on_db, KeyKind, Workspace};
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
