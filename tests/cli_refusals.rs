//! Bad input through vecs-cli: each refusal has its exact error, and the store is left as it was.

mod common;

use common::{identity, openssl, KeyKind, Workspace};

/// A workspace whose `machine` store already holds one entry, so that "nothing changed" means
/// something.
fn populated() -> (Workspace, common::Identity) {
    let ws = Workspace::new();
    let id = identity(&ws, KeyKind::Rsa2048, "good");
    ws.vecs(&[
        "entry", "create", "--store", "machine", "--alias", "machine", "--cert", &id.cert, "--key",
        &id.key,
    ])
    .ok();
    (ws, id)
}

/// Runs `args`, checks the VECS error, and checks that the store did not change.
#[track_caller]
fn refused(ws: &Workspace, args: &[&str], code: u32) -> common::Run {
    let before = ws.snapshot("machine");
    let out = ws.vecs(args);
    out.failed_with(code);
    assert_eq!(
        ws.snapshot("machine"),
        before,
        "the store changed after {args:?}"
    );
    out
}

fn create_cert(cert: &str) -> Vec<String> {
    [
        "entry", "create", "--store", "machine", "--alias", "new", "--cert", cert,
    ]
    .map(String::from)
    .to_vec()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn an_empty_certificate_file_is_no_certificate() {
    let (ws, _) = populated();
    let empty = ws.write("empty.pem", b"");
    let out = refused(&ws, &strs(&create_cert(&empty)), 87);
    assert!(out
        .stderr
        .starts_with("Error: A certificate or a key must be specified. \n"));
}

#[test]
fn unparseable_certificates_are_bad_format() {
    let (ws, id) = populated();
    let pem = std::fs::read_to_string(&id.cert).unwrap();
    let mut random = vec![0u8; 4096];
    for (i, b) in random.iter_mut().enumerate() {
        *b = (i.wrapping_mul(2654435761) >> 7) as u8;
    }
    let truncated = &pem[..pem.len() / 2];
    let der = ws.path("cert.der");
    openssl(
        ws.dir.path(),
        &[
            "x509",
            "-in",
            &id.cert,
            "-outform",
            "DER",
            "-out",
            der.to_str().unwrap(),
        ],
    );
    let cases = [
        ("random.bin", random),
        ("truncated.pem", truncated.as_bytes().to_vec()),
        (
            "label.pem",
            pem.replace("CERTIFICATE", "PRIVATE KEY").into_bytes(),
        ),
        ("der.crt", std::fs::read(&der).unwrap()),
        ("nul.pem", b"\0\0\0\0".to_vec()),
        ("garbled.pem", pem.replace('M', "!").into_bytes()),
    ];
    for (name, content) in cases {
        let file = ws.write(name, &content);
        // With an alias, the store refuses it; without one, vecs-cli cannot compute the alias.
        refused(&ws, &strs(&create_cert(&file)), 11);
        let out = refused(
            &ws,
            &["entry", "create", "--store", "machine", "--cert", &file],
            11,
        );
        assert!(
            out.stderr
                .starts_with("Error: Could not generate alias from certificate\n"),
            "{name}"
        );
    }
}

#[test]
fn a_key_that_matches_another_certificate_is_refused() {
    let (ws, id) = populated();
    let other = identity(&ws, KeyKind::Rsa2048, "other");
    let out = refused(
        &ws,
        &[
            "entry", "create", "--store", "machine", "--alias", "new", "--cert", &id.cert, "--key",
            &other.key,
        ],
        90018,
    );
    assert_eq!(out.code, 162);
    assert_eq!(
        out.stderr,
        "vecs-cli failed. Error 90018: Private key does not match certificate \n"
    );
    // A key of another algorithm does not match either.
    let ec = identity(&ws, KeyKind::EcP256, "ec");
    refused(
        &ws,
        &[
            "entry", "create", "--store", "machine", "--alias", "new", "--cert", &id.cert, "--key",
            &ec.key,
        ],
        90018,
    );
}

#[test]
fn unsupported_and_broken_keys_are_bad_format() {
    let (ws, id) = populated();
    let dir = ws.dir.path();
    openssl(
        dir,
        &["genpkey", "-algorithm", "ED448", "-out", "ed448.key"],
    );
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:secp256k1",
            "-out",
            "k1.key",
        ],
    );
    openssl(
        dir,
        &[
            "genpkey",
            "-genparam",
            "-algorithm",
            "DSA",
            "-pkeyopt",
            "dsa_paramgen_bits:2048",
            "-out",
            "dsa.param",
        ],
    );
    openssl(
        dir,
        &["genpkey", "-paramfile", "dsa.param", "-out", "dsa.key"],
    );
    let key_pem = std::fs::read_to_string(&id.key).unwrap();
    ws.write("truncated.key", &key_pem.as_bytes()[..key_pem.len() / 2]);
    ws.write("random.key", &[0x5au8; 300]);
    ws.write(
        "cert-as-key.key",
        std::fs::read(&id.cert).unwrap().as_slice(),
    );
    for name in [
        "ed448.key",
        "k1.key",
        "dsa.key",
        "truncated.key",
        "random.key",
        "cert-as-key.key",
    ] {
        let key = ws.path(name);
        refused(
            &ws,
            &[
                "entry",
                "create",
                "--store",
                "machine",
                "--alias",
                "new",
                "--cert",
                &id.cert,
                "--key",
                key.to_str().unwrap(),
            ],
            11,
        );
    }
}

#[test]
fn files_over_the_limit_are_refused_unread() {
    let (ws, id) = populated();
    let big = ws.path("big.pem");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(50 * 1024 * 1024).unwrap();
    let big = big.to_str().unwrap();
    let out = refused(&ws, &strs(&create_cert(big)), 223);
    assert_eq!(
        out.stderr,
        "vecs-cli failed. Error 223: Operation failed with error ERROR_FILE_TOO_LARGE (223) \n"
    );
    refused(
        &ws,
        &[
            "entry", "create", "--store", "machine", "--alias", "new", "--cert", &id.cert, "--key",
            big,
        ],
        223,
    );
}

#[test]
fn a_missing_file_says_which() {
    let (ws, _) = populated();
    let missing = ws.path("does-not-exist.pem");
    let missing = missing.to_str().unwrap();
    let out = refused(&ws, &strs(&create_cert(missing)), 2);
    assert!(out
        .stderr
        .starts_with(&format!("Error: Failed to open file [{missing}] \n")));
}

/// A name the mount would show as a path component over 255 bytes (`/` and `%` are shown
/// percent-encoded, 3 bytes each) is refused like a name that is too long; one that just fits
/// is taken.
#[test]
fn names_the_mount_could_not_show_are_refused() {
    let (ws, id) = populated();
    let shown_256 = format!("a{}", "/".repeat(85));
    refused(
        &ws,
        &[
            "entry", "create", "--store", "machine", "--alias", &shown_256, "--cert", &id.cert,
        ],
        154,
    );
    refused(&ws, &["store", "create", "--name", &"%".repeat(86)], 154);
    let shown_255 = "/".repeat(85);
    ws.vecs(&["store", "create", "--name", &"%".repeat(85)])
        .ok();
    ws.vecs(&[
        "entry", "create", "--store", "machine", "--alias", &shown_255, "--cert", &id.cert,
    ])
    .ok();
}

#[test]
fn names_of_ten_thousand_characters_are_refused() {
    let (ws, id) = populated();
    let long = "a".repeat(10_000);
    refused(
        &ws,
        &[
            "entry", "create", "--store", "machine", "--alias", &long, "--cert", &id.cert,
        ],
        154,
    );
    refused(&ws, &["store", "create", "--name", &long], 154);
    refused(
        &ws,
        &[
            "entry", "create", "--store", &long, "--alias", "x", "--cert", &id.cert,
        ],
        4312,
    );
    refused(
        &ws,
        &["entry", "getcert", "--store", "machine", "--alias", &long],
        4312,
    );
}

#[test]
fn a_wrong_password_reveals_nothing_and_changes_nothing() {
    let (ws, id) = populated();
    ws.vecs(&[
        "entry",
        "create",
        "--store",
        "vpxd",
        "--alias",
        "vpxd",
        "--cert",
        &id.cert,
        "--key",
        &id.key,
        "--password",
        "right",
    ])
    .ok();
    let out = refused(
        &ws,
        &[
            "entry",
            "getkey",
            "--store",
            "vpxd",
            "--alias",
            "vpxd",
            "--password",
            "wrong",
        ],
        1323,
    );
    assert!(!out.stdout.contains("PRIVATE KEY"));
    assert!(!out.stderr.contains("PRIVATE KEY"));
}

#[test]
fn rust_log_shows_the_reason_of_a_refusal_and_otherwise_stderr_stays_vmware_s() {
    let (ws, _) = populated();
    let bad = ws.write("bad.pem", b"not a certificate");
    let args = [
        "entry", "create", "--store", "machine", "--alias", "x", "--cert", &bad,
    ];
    let quiet = ws.vecs(&args);
    quiet.failed_with(11);
    assert!(quiet.stderr.starts_with("vecs-cli failed"), "{quiet:?}");
    let mut cmd = std::process::Command::new(common::vecs_cli());
    cmd.args(args)
        .env("VECS_DB", &ws.db)
        .env("RUST_LOG", "info");
    let told = common::run_with_input(cmd, b"");
    told.failed_with(11);
    assert!(
        told.stderr.contains("[WARN]") && told.stderr.contains("no PEM block found"),
        "{told:?}"
    );
}
