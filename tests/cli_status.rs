//! `vecs-cli status`: certificates expired or expiring within N days, pair rotations half done
//! and the trust sync, for people and as JSON (checked by Python's json module).

mod common;

use std::process::Command;

use common::trust::{make_root, material_dir};
use common::{gencrl, openssl, vecs_on_db, Workspace};
use vecsfs::pki::parse_cert_chain;
use vecsfs::store::Database;

/// A certificate signed by `root` valid over `dates` (`-days N`, or `-startdate`/`-enddate`
/// through `openssl ca`), as a PEM file in the material folder.
fn issue(ws: &Workspace, root: &common::trust::Root, name: &str, dates: &[&str]) -> String {
    let dir = material_dir(ws);
    let ca_dir = dir.join("status-ca");
    // The first CRL sets the CA folder up (index, serial, ca.cnf).
    gencrl(&ca_dir, &root.cert, &root.key);
    let mut req = vec!["req"];
    req.extend(common::NEW_EC_P256_KEY);
    let (key, csr, cert) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
    );
    let subject = format!("/CN={name}");
    req.extend(["-keyout", &key, "-out", &csr, "-subj", &subject]);
    openssl(&dir, &req);
    let config = ca_dir.join("ca.cnf").to_string_lossy().into_owned();
    let mut ca = vec![
        "ca", "-config", &config, "-batch", "-notext", "-in", &csr, "-out", &cert,
    ];
    ca.extend_from_slice(dates);
    openssl(&dir, &ca);
    dir.join(cert).to_string_lossy().into_owned()
}

fn python_json(text: &str, expression: &str) -> String {
    let script = format!("import json,sys; d=json.load(sys.stdin); print({expression})");
    let mut cmd = Command::new("python3");
    cmd.args(["-c", &script]);
    let run = common::run_with_input(cmd, text.as_bytes());
    assert_eq!(run.code, 0, "python json: {run:?}");
    run.stdout.trim().to_string()
}

#[test]
fn status_lists_what_needs_attention_for_people_and_as_json() {
    let ws = Workspace::new();
    let db = ws.db.clone();
    let root = make_root(&ws, "status-root");
    let soon = issue(&ws, &root, "soon", &["-days", "3"]);
    let later = issue(&ws, &root, "later", &["-days", "400"]);
    let expired = issue(
        &ws,
        &root,
        "expired",
        &[
            "-startdate",
            "20000101000000Z",
            "-enddate",
            "20010101000000Z",
        ],
    );
    for (alias, cert) in [("soon", &soon), ("later", &later), ("expired", &expired)] {
        vecs_on_db(
            &db,
            &[
                "entry", "create", "--store", "vpxd", "--alias", alias, "--cert", cert,
            ],
        )
        .ok();
    }
    // A rotation half done: a certificate that does not match the live key waits.
    let pair_dir = material_dir(&ws);
    let (pair_cert, pair_key) = (
        pair_dir.join("later.crt").to_string_lossy().into_owned(),
        pair_dir.join("later.key").to_string_lossy().into_owned(),
    );
    common::add_machine_pair(
        &db,
        std::path::Path::new(&pair_cert),
        std::path::Path::new(&pair_key),
    );
    let other = parse_cert_chain(&std::fs::read(&soon).expect("soon")).expect("parse");
    Database::open(&db)
        .expect("db")
        .write_cert(0, "MACHINE_SSL_CERT", "__MACHINE_CERT", &other)
        .expect("pending half");

    let text = vecs_on_db(&db, &["status"]).ok().to_string();
    assert!(
        text.starts_with("Certificates expired or expiring within 30 days:"),
        "{text}"
    );
    let line = |alias: &str| text.lines().find(|l| l.contains(&format!("vpxd/{alias} ")));
    assert!(
        line("expired").is_some_and(|l| l.contains("EXPIRED")),
        "{text}"
    );
    assert!(
        line("soon").is_some_and(|l| l.contains("EXPIRING")),
        "{text}"
    );
    assert!(line("later").is_none(), "400 days is not within 30: {text}");
    assert!(
        text.contains("MACHINE_SSL_CERT/__MACHINE_CERT: cert.pem written")
            && text.contains("waiting for its key.pem"),
        "{text}"
    );
    assert!(text.contains("Trust sync:\n  source: none"), "{text}");

    let wide = vecs_on_db(&db, &["status", "--days", "500"])
        .ok()
        .to_string();
    assert!(wide.contains("vpxd/later "), "{wide}");

    let json = vecs_on_db(&db, &["status", "--json"]).ok().to_string();
    assert_eq!(
        python_json(
            &json,
            "sorted(c['alias'] for c in d['certificates'] if c['store']=='vpxd')"
        ),
        "['expired', 'soon']"
    );
    assert_eq!(
        python_json(&json, "[(c['expired'], c['days_left'] in (2, 3)) for c in d['certificates'] if c['alias']=='soon']"),
        "[(False, True)]"
    );
    assert_eq!(
        python_json(
            &json,
            "[(p['alias'], p['written'], p['waiting_for']) for p in d['pending']]"
        ),
        "[('__MACHINE_CERT', 'cert.pem', 'key.pem')]"
    );
    assert_eq!(python_json(&json, "d['trust_sync']['source']"), "none");

    let bad = vecs_on_db(&db, &["status", "--days", "soon"]);
    assert_ne!(bad.code, 0, "{bad:?}");
    assert!(bad.stderr.contains("--days [soon]"), "{bad:?}");
}

/// After a real sync from a folder, `status` reports it: the source, when it last ran and
/// succeeded, what it added, and how many synced entries the stores hold; after a failed
/// run, the error, with the last success kept.
#[test]
fn status_reports_the_trust_syncs_last_runs() {
    let ws = Workspace::new();
    let db = ws.path("vecs.db");
    let db = db.as_path();
    let root = make_root(&ws, "status-sync-root");
    let source = ws.path("trust-source");
    std::fs::create_dir(&source).expect("source dir");
    std::fs::copy(&root.cert, source.join("root.pem")).expect("copy root");
    let source_str = source.to_string_lossy().into_owned();
    vecs_on_db(db, &["trust-source", "set", "--dir", &source_str]).ok();
    vecs_on_db(db, &["force-refresh"]).ok();

    let json = vecs_on_db(db, &["status", "--json"]).ok().to_string();
    let field = |json: &str, key: &str| python_json(json, &format!("d['trust_sync']['{key}']"));
    assert!(field(&json, "source").contains(&source_str), "{json}");
    assert_eq!(field(&json, "last_result"), "ok", "{json}");
    assert_eq!(field(&json, "added"), "1");
    assert_eq!(field(&json, "synced_roots"), "1");
    assert_eq!(field(&json, "last_error"), "-");
    let success = field(&json, "last_success");
    assert!(success.ends_with("UTC"), "{json}");
    assert_eq!(field(&json, "last_run"), success);
    let text = vecs_on_db(db, &["status"]).ok().to_string();
    assert!(text.contains("Trust sync:\n  source: "), "{text}");
    assert!(text.contains("  synced_roots: 1"), "{text}");

    // The folder goes: the run fails, the error is reported, the last success stays.
    std::fs::rename(&source, ws.path("moved-away")).expect("move the source");
    let failed = vecs_on_db(db, &["force-refresh"]);
    assert_ne!(failed.code, 0, "{failed:?}");
    let json = vecs_on_db(db, &["status", "--json"]).ok().to_string();
    assert_ne!(field(&json, "last_result"), "ok", "{json}");
    assert!(field(&json, "last_error").contains(&source_str), "{json}");
    assert_eq!(field(&json, "last_success"), success, "{json}");
    assert_eq!(
        field(&json, "synced_roots"),
        "1",
        "the last good state is kept"
    );
}
