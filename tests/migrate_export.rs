//! `vecs-cli export`: a store or an entry as the files VMware tooling and services take (PEM
//! chain, key, CRL, secret) and PKCS#12, read back with the `openssl` command. Keys are 0600,
//! nothing is ever overwritten, and a refusal writes nothing.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::trust::{make_crl, make_root};
use common::{identity, openssl, openssl_with_input, vecs_on_db, KeyKind, Run, Workspace};
use vecsfs::store::{Database, EntryContent};

fn export(db: &Path, args: &[&str]) -> Run {
    let mut all = vec!["export"];
    all.extend(args);
    vecs_on_db(db, &all)
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("exported file")
        .permissions()
        .mode()
        & 0o777
}

/// The files of a directory, sorted (an absent directory has none).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| {
                    e.expect("dir entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// MACHINE_SSL_CERT/__MACHINE_CERT with an RSA key and a chain of two certificates.
struct Machine {
    key: String,
    chain: String,
}

fn machine(ws: &Workspace) -> Machine {
    let leaf = identity(ws, KeyKind::Rsa2048, "machine");
    let ca = identity(ws, KeyKind::Rsa2048, "vmca");
    let chain = format!(
        "{}{}",
        std::fs::read_to_string(&leaf.cert).expect("leaf"),
        std::fs::read_to_string(&ca.cert).expect("ca")
    );
    let chain_file = ws.write("chain.pem", chain.as_bytes());
    create_entry(
        ws,
        "MACHINE_SSL_CERT",
        &[
            "--alias",
            "__MACHINE_CERT",
            "--cert",
            &chain_file,
            "--key",
            &leaf.key,
        ],
    );
    Machine {
        key: leaf.key,
        chain,
    }
}

/// Reads a PKCS#12 with `openssl pkcs12 -info` (OpenSSL 3, no legacy provider) and returns
/// its key as `openssl pkey` writes it, its certificates, and the -info report.
fn read_pkcs12(ws: &Workspace, p12: &Path, passin: &str) -> (String, String, String) {
    let p12 = p12.to_string_lossy();
    let dir = ws.dir.path();
    let mut cmd = std::process::Command::new("openssl");
    cmd.args(["pkcs12", "-info", "-in", &p12, "-passin", passin, "-noenc"])
        .current_dir(dir);
    let info = common::run_with_input(cmd, b"");
    assert_eq!(info.code, 0, "openssl pkcs12 -info: {info:#?}");
    let key_pem = openssl(
        dir,
        &[
            "pkcs12", "-in", &p12, "-passin", passin, "-nocerts", "-noenc",
        ],
    );
    let key = openssl_with_input(dir, &["pkey"], key_pem.as_bytes());
    let certs = openssl(dir, &["pkcs12", "-in", &p12, "-passin", passin, "-nokeys"]);
    (key, certs, format!("{}{}", info.stdout, info.stderr))
}

/// The certificates of PEM text, re-encoded by openssl (so that headers such as "Bag
/// Attributes" do not count).
fn certificates(ws: &Workspace, pem: &str) -> Vec<String> {
    pem.split_inclusive("-----END CERTIFICATE-----")
        .filter(|part| part.contains("-----BEGIN CERTIFICATE-----"))
        .map(|part| openssl_with_input(ws.dir.path(), &["x509"], part.as_bytes()))
        .collect()
}

#[test]
fn a_private_key_entry_exports_as_pem_and_as_a_pkcs12_openssl_reads() {
    let ws = Workspace::new();
    let m = machine(&ws);
    let out = ws.path("out");
    let password = ws.write("p12.pass", b"s3cret p\xc3\xa4ss\n");
    let run = export(
        &ws.db,
        &[
            "--store",
            "MACHINE_SSL_CERT",
            "--alias",
            "__MACHINE_CERT",
            "--output",
            &out.to_string_lossy(),
            "--pkcs12",
            "--password-file",
            &password,
        ],
    );
    let text = run.ok();
    assert!(
        text.contains("Exported 1 entries of store [MACHINE_SSL_CERT]"),
        "{text}"
    );
    assert_eq!(
        listing(&out),
        [
            "__MACHINE_CERT.crt",
            "__MACHINE_CERT.key",
            "__MACHINE_CERT.p12"
        ]
    );
    assert_eq!(mode_of(&out), 0o700);
    assert_eq!(mode_of(&out.join("__MACHINE_CERT.crt")), 0o644);
    assert_eq!(mode_of(&out.join("__MACHINE_CERT.key")), 0o600);
    assert_eq!(mode_of(&out.join("__MACHINE_CERT.p12")), 0o600);

    let original_key = openssl(ws.dir.path(), &["pkey", "-in", &m.key]);
    let key = std::fs::read_to_string(out.join("__MACHINE_CERT.key")).expect("key");
    assert_eq!(key, original_key);
    let crt = std::fs::read_to_string(out.join("__MACHINE_CERT.crt")).expect("crt");
    assert_eq!(certificates(&ws, &crt), certificates(&ws, &m.chain));

    let passin = format!("file:{password}");
    let (p12_key, p12_certs, info) = read_pkcs12(&ws, &out.join("__MACHINE_CERT.p12"), &passin);
    assert_eq!(p12_key, original_key);
    assert_eq!(certificates(&ws, &p12_certs), certificates(&ws, &m.chain));
    assert!(info.contains("MAC: sha256"), "{info}");
    assert!(info.contains("PBES2, PBKDF2, AES-256-CBC"), "{info}");
    assert!(!info.contains("RC2") && !info.contains("3DES"), "{info}");
    assert!(info.contains("friendlyName: __MACHINE_CERT"), "{info}");

    // A wrong password does not open it.
    let mut cmd = std::process::Command::new("openssl");
    cmd.args(["pkcs12", "-in"])
        .arg(out.join("__MACHINE_CERT.p12"))
        .args(["-passin", "pass:wrong", "-noout"]);
    assert_ne!(common::run_with_input(cmd, b"").code, 0);
}

#[test]
fn the_pkcs12_password_comes_from_standard_input_or_the_environment() {
    let ws = Workspace::new();
    let m = machine(&ws);
    let original_key = openssl(ws.dir.path(), &["pkey", "-in", &m.key]);
    let base = |dir: &str| {
        vec![
            "export".to_string(),
            "--store".into(),
            "MACHINE_SSL_CERT".into(),
            "--alias".into(),
            "__MACHINE_CERT".into(),
            "--output".into(),
            ws.path(dir).to_string_lossy().into_owned(),
            "--pkcs12".into(),
        ]
    };
    let mut cmd = std::process::Command::new(common::vecs_cli());
    cmd.args(base("stdin"))
        .args(["--password-file", "-", "--db"])
        .arg(&ws.db)
        .env_remove("RUST_LOG");
    common::run_with_input(cmd, b"from stdin\n").ok();
    let (key, _, _) = read_pkcs12(&ws, &ws.path("stdin/__MACHINE_CERT.p12"), "pass:from stdin");
    assert_eq!(key, original_key);

    let mut cmd = std::process::Command::new(common::vecs_cli());
    cmd.args(base("env"))
        .args(["--password-env", "VECS_P12_PASSWORD", "--db"])
        .arg(&ws.db)
        .env("VECS_P12_PASSWORD", "from env")
        .env_remove("RUST_LOG");
    common::run_with_input(cmd, b"").ok();
    let (key, _, _) = read_pkcs12(&ws, &ws.path("env/__MACHINE_CERT.p12"), "pass:from env");
    assert_eq!(key, original_key);
}

#[test]
fn a_store_exports_every_entry_type() {
    let ws = Workspace::new();
    let dir = ws.dir.path();
    let root = make_root(&ws, "export-root");
    let crl = make_crl(&ws, &root);
    let pair = identity(&ws, KeyKind::EcP256, "solution");
    let store = "solution-user";
    vecs_on_db(&ws.db, &["store", "create", "--name", store]).ok();
    let add = |args: &[&str]| create_entry(&ws, store, args);
    add(&["--alias", "pair", "--cert", &pair.cert, "--key", &pair.key]);
    add(&[
        "--alias",
        "locked",
        "--cert",
        &pair.cert,
        "--key",
        &pair.key,
        "--password",
        "vmware",
    ]);
    add(&[
        "--alias",
        "a/b root",
        "--cert",
        &root.cert.to_string_lossy(),
    ]);
    let secret = ws.write("secret.txt", b"location password \xe2\x9c\x93");
    add(&["--alias", "location_password_default", "--key", &secret]);
    // vecs-cli cannot make a CRL entry (neither can VMware's); the library can.
    let mut db = Database::open(&ws.db).expect("db");
    let parsed = vecsfs::pki::parse_crl(&crl.pem).expect("crl");
    db.add_entry(0, store, None, &EntryContent::crl(&parsed))
        .expect("crl entry");
    drop(db);

    let out = ws.path("all");
    let entry_password = ws.write("entry.pass", b"vmware\n");
    let password = ws.write("p12.pass", b"export\n");
    let run = export(
        &ws.db,
        &[
            "--store",
            store,
            "--output",
            &out.to_string_lossy(),
            "--pkcs12",
            "--password-file",
            &password,
            "--entry-password-file",
            &entry_password,
        ],
    );
    assert!(run.ok().contains("Exported 5 entries"), "{run:#?}");
    let crl_file = format!("{}.crl", crl.sha1);
    let mut expected = vec![
        "a%2Fb root.crt".to_string(),
        crl_file.clone(),
        "location_password_default.secret".into(),
        "locked.crt".into(),
        "locked.key".into(),
        "locked.p12".into(),
        "pair.crt".into(),
        "pair.key".into(),
        "pair.p12".into(),
    ];
    expected.sort();
    assert_eq!(listing(&out), expected);

    let original_key = openssl(dir, &["pkey", "-in", &pair.key]);
    assert_eq!(
        std::fs::read_to_string(out.join("pair.key")).expect("key"),
        original_key
    );
    // The Encrypted Private Key entry's key stays encrypted; its password opens it.
    let locked = out.join("locked.key");
    let locked_text = std::fs::read_to_string(&locked).expect("locked key");
    assert!(locked_text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let opened = openssl(
        dir,
        &[
            "pkey",
            "-in",
            &locked.to_string_lossy(),
            "-passin",
            "pass:vmware",
        ],
    );
    assert_eq!(opened, original_key);
    for p12 in ["pair.p12", "locked.p12"] {
        let (key, _, _) = read_pkcs12(&ws, &out.join(p12), "pass:export");
        assert_eq!(key, original_key, "{p12}");
    }
    assert_eq!(
        std::fs::read(out.join("location_password_default.secret")).expect("secret"),
        b"location password \xe2\x9c\x93"
    );
    assert_eq!(
        mode_of(&out.join("location_password_default.secret")),
        0o600
    );
    let crl_out = out.join(&crl_file);
    assert_eq!(mode_of(&crl_out), 0o644);
    let crl_text = openssl(
        dir,
        &["crl", "-in", &crl_out.to_string_lossy(), "-noout", "-hash"],
    );
    assert!(!crl_text.trim().is_empty());
    let root_out = std::fs::read(out.join("a%2Fb root.crt")).expect("root");
    assert_eq!(
        certificates(&ws, &String::from_utf8_lossy(&root_out)),
        certificates(&ws, &String::from_utf8_lossy(&root.pem))
    );
}

/// Everything a refusal must leave alone: the database and the output directory.
fn state(ws: &Workspace, out: &Path) -> (u64, Vec<String>) {
    let db = Database::open(&ws.db).expect("db");
    (db.generation().expect("generation"), listing(out))
}

/// `vecs-cli entry create --store STORE` with `args` on the test's database.
fn create_entry(ws: &Workspace, store: &str, args: &[&str]) {
    let mut all = vec!["entry", "create", "--store", store];
    all.extend(args);
    vecs_on_db(&ws.db, &all).ok();
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[test]
fn refusals_write_nothing() {
    let ws = Workspace::new();
    machine(&ws);
    let trusted = identity(&ws, KeyKind::EcP256, "trusted");
    create_entry(
        &ws,
        "TRUSTED_ROOTS",
        &["--alias", "trusted", "--cert", &trusted.cert],
    );
    let pair = identity(&ws, KeyKind::EcP256, "locked");
    let locked = ["--alias", "vpxd", "--cert", &pair.cert, "--key", &pair.key];
    create_entry(
        &ws,
        "vpxd",
        &[&locked[..], &["--password", "right"]].concat(),
    );
    let out = ws.path("out");
    let out_s = out.to_string_lossy().into_owned();
    let password = ws.write("p12.pass", b"export\n");
    let empty = ws.write("empty.pass", b"\n");
    let wrong = ws.write("wrong.pass", b"wrong\n");
    let missing = ws.path("missing.pass").to_string_lossy().into_owned();
    let machine_ssl = [
        "--store",
        "MACHINE_SSL_CERT",
        "--alias",
        "__MACHINE_CERT",
        "--output",
        &out_s,
    ];
    let vpxd_p12 = [
        "--store",
        "vpxd",
        "--alias",
        "vpxd",
        "--output",
        &out_s,
        "--pkcs12",
        "--password-file",
        &password,
    ];
    let with = |base: &[&str], extra: &[&str]| strings(&[base, extra].concat());
    let before = state(&ws, &out);
    let cases: Vec<(Vec<String>, u32, &str)> = vec![
        (
            with(&machine_ssl, &["--pkcs12", "--password-file", &missing]),
            2,
            "Error: cannot read ",
        ),
        (
            with(&machine_ssl, &["--pkcs12", "--password-file", &empty]),
            87,
            "is empty",
        ),
        (
            with(&machine_ssl, &["--pkcs12", "--password", "inline"]),
            87,
            "",
        ),
        (
            with(&machine_ssl, &["--pkcs12"]),
            87,
            "--pkcs12 needs its password",
        ),
        (
            with(&machine_ssl, &["--password-file", &password]),
            87,
            "go with --pkcs12",
        ),
        (
            with(
                &machine_ssl,
                &["--pkcs12", "--password-env", "VECS_NO_SUCH_VARIABLE"],
            ),
            87,
            "is empty",
        ),
        (
            strings(&["--store", "no-such-store", "--output", &out_s]),
            4312,
            "",
        ),
        (
            strings(&[
                "--store",
                "MACHINE_SSL_CERT",
                "--alias",
                "nope",
                "--output",
                &out_s,
            ]),
            4312,
            "",
        ),
        (
            strings(&[
                "--store",
                "TRUSTED_ROOTS",
                "--alias",
                "trusted",
                "--output",
                &out_s,
                "--pkcs12",
                "--password-file",
                &password,
            ]),
            87,
            "a PKCS#12 file holds a private key",
        ),
        (
            with(&vpxd_p12, &[]),
            87,
            "entry [vpxd]: an Encrypted Private Key entry: its PKCS#12 needs its password \
             (--entry-password-file)",
        ),
        (
            with(&vpxd_p12, &["--entry-password-file", &wrong]),
            1323,
            "entry [vpxd]: ",
        ),
        (strings(&["--output", &out_s]), 87, "export needs --store"),
    ];
    for (args, code, says) in cases {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = export(&ws.db, &refs);
        run.failed_with(code);
        assert!(run.stderr.contains(says), "{args:?}: {run:#?}");
        assert_eq!(state(&ws, &out), before, "{args:?} changed something");
    }

    // An existing file is never overwritten, and then nothing else is written either.
    std::fs::create_dir(&out).expect("out");
    std::fs::write(out.join("__MACHINE_CERT.key"), b"keep me").expect("existing");
    let before = state(&ws, &out);
    let run = export(&ws.db, &machine_ssl);
    run.failed_with(183);
    assert!(
        run.stderr
            .contains("__MACHINE_CERT.key exists already; nothing was written"),
        "{run:#?}"
    );
    assert_eq!(state(&ws, &out), before);
    assert_eq!(
        std::fs::read(out.join("__MACHINE_CERT.key")).expect("kept"),
        b"keep me"
    );
}

/// Unmounts (lazily) the small tmpfs a test made, even when the test fails.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    /// A tmpfs of one 4 KiB page at `dir`: the second file of an export cannot fit.
    fn mount(dir: std::path::PathBuf) -> SmallDisk {
        std::fs::create_dir(&dir).expect("mountpoint");
        let (status, out) = common::run_command(
            std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=4k", "vecs-export-test"])
                .arg(&dir),
            std::time::Duration::from_secs(30),
        );
        assert!(status.success(), "mount a small tmpfs (run as root): {out}");
        SmallDisk(dir)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = common::run_command(
            std::process::Command::new("umount").arg("-l").arg(&self.0),
            std::time::Duration::from_secs(30),
        );
    }
}

/// A disk that fills up half way through an export: the export fails naming the file it could
/// not write, and leaves nothing behind, neither the files it finished nor the one it started
/// (a truncated key) nor the directory it made.
#[test]
fn an_export_that_runs_out_of_space_leaves_nothing() {
    let ws = Workspace::new();
    machine(&ws);
    let disk = SmallDisk::mount(ws.path("small"));
    let out = disk.0.join("out");
    let run = export(
        &ws.db,
        &[
            "--store",
            "MACHINE_SSL_CERT",
            "--output",
            &out.to_string_lossy(),
        ],
    );
    assert_ne!(run.code, 0, "the export fit in 4 KiB: {run:#?}");
    assert!(
        run.stderr.contains(&disk.0.to_string_lossy().into_owned())
            && run.stderr.contains("No space left on device"),
        "{run:#?}"
    );
    assert_eq!(listing(&disk.0), Vec::<String>::new(), "left behind");
}
