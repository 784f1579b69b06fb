//! The hostile-input catalogue (issue 8, item 3): every kind of bad input, through the mount
//! and through vecs-cli, each with the exact errno or VECS code it gets and a check that what
//! was stored before is intact. Inputs VECS accepts (junk between PEM blocks, certificates
//! outside their validity) are accepted here too, expired ones with a warning in the log.

#[path = "support/mount.rs"]
mod mount;
#[path = "support/storm.rs"]
mod storm;

mod common;

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::thread;

use common::{openssl, vecs_on_db, Run, Workspace};
use mount::{MountSpec, Mounted};

const STORE: &str = "hostile";
const PAIR: &str = "pair";

/// A certificate and its key (PEM), made with rcgen.
struct Identity {
    cert: Vec<u8>,
    key: Vec<u8>,
}

fn identity(cn: &str, valid: Option<(i32, i32)>) -> Identity {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec![format!("{cn}.example")]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn.to_string());
    if let Some((from, to)) = valid {
        params.not_before = rcgen::date_time_ymd(from, 1, 1);
        params.not_after = rcgen::date_time_ymd(to, 1, 1);
    }
    let cert = params.self_signed(&key).expect("certificate");
    Identity {
        cert: cert.pem().into_bytes(),
        key: key.serialize_pem().into_bytes(),
    }
}

/// Every hostile input, made once.
struct Inputs {
    pair: Identity,
    other: Identity,
    expired: Identity,
    future: Identity,
    crl: Vec<u8>,
    der: Vec<u8>,
    ed448: Vec<u8>,
    x25519: Vec<u8>,
    dsa: Vec<u8>,
    encrypted_key: Vec<u8>,
    public_key: Vec<u8>,
}

fn inputs(ws: &Workspace) -> Inputs {
    let dir = ws.dir.path();
    let pair = identity("hostile pair", None);
    fs::write(dir.join("pair.crt"), &pair.cert).expect("write");
    fs::write(dir.join("pair.key"), &pair.key).expect("write");
    let made = |args: &[&str], out: &str| {
        openssl(dir, args);
        fs::read(dir.join(out)).expect("openssl output")
    };
    let crl = {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let issuer = rcgen::Issuer::new(ca, key);
        rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2026, 1, 1),
            next_update: rcgen::date_time_ymd(2036, 1, 1),
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: Vec::new(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&issuer)
        .expect("CRL")
        .pem()
        .expect("CRL PEM")
        .into_bytes()
    };
    Inputs {
        der: made(
            &[
                "x509", "-in", "pair.crt", "-outform", "DER", "-out", "pair.der",
            ],
            "pair.der",
        ),
        ed448: made(
            &["genpkey", "-algorithm", "ED448", "-out", "ed448.pem"],
            "ed448.pem",
        ),
        x25519: made(
            &["genpkey", "-algorithm", "X25519", "-out", "x25519.pem"],
            "x25519.pem",
        ),
        dsa: made(
            &["dsaparam", "-genkey", "-out", "dsa.pem", "1024"],
            "dsa.pem",
        ),
        encrypted_key: made(
            &[
                "pkcs8", "-topk8", "-in", "pair.key", "-v2", "aes256", "-passout", "pass:x",
                "-out", "enc.pem",
            ],
            "enc.pem",
        ),
        public_key: made(
            &["pkey", "-in", "pair.key", "-pubout", "-out", "pub.pem"],
            "pub.pem",
        ),
        pair,
        other: identity("hostile other", None),
        expired: identity("hostile expired", Some((2019, 2021))),
        future: identity("hostile future", Some((2040, 2041))),
        crl,
    }
}

/// Deterministic noise.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// Writes `content` as cp does and returns the errno of the first call that failed (open,
/// write or close), or 0.
fn errno_of_write(path: &Path, content: &[u8]) -> i32 {
    storm::write_through(path, content)
        .err()
        .and_then(|e| e.raw_os_error())
        .unwrap_or(0)
}

/// What vecs-cli and the mount show of the store: the state a refusal must leave intact.
fn state(m: &Mounted) -> String {
    let cli = |args: &[&str]| {
        let run = vecs_on_db(&m.db, args);
        format!("{args:?}: {} {}{}", run.code, run.stdout, run.stderr)
    };
    let file = |name: &str| {
        let bytes = fs::read(m.path(&format!("{STORE}/{PAIR}/{name}"))).unwrap_or_default();
        format!("{name}: {}", String::from_utf8_lossy(&bytes))
    };
    [
        cli(&["entry", "list", "--store", STORE]),
        cli(&["entry", "getkey", "--store", STORE, "--alias", PAIR]),
        file("cert.pem"),
        file("key.pem"),
        file("bundle.pem"),
    ]
    .join("\n")
}

/// A mount whose store holds the pair of `inputs` (written into `ws` by [`inputs`]).
fn mounted(ws: &Workspace) -> Mounted {
    let dir = ws.dir.path().to_path_buf();
    Mounted::start(MountSpec::default().before_mount(move |db| {
        let cert = dir.join("pair.crt").to_string_lossy().into_owned();
        let key = dir.join("pair.key").to_string_lossy().into_owned();
        vecs_on_db(db, &["store", "create", "--name", STORE]).ok();
        vecs_on_db(
            db,
            &[
                "entry", "create", "--store", STORE, "--alias", PAIR, "--cert", &cert, "--key",
                &key,
            ],
        )
        .ok();
    }))
}

#[test]
fn bad_writes_through_the_mount_get_their_errno_and_change_nothing() {
    let ws = Workspace::new();
    let inp = inputs(&ws);
    let m = mounted(&ws);
    let cert_pem = &inp.pair.cert;
    let truncated = &cert_pem[..cert_pem.len() / 2];
    let cases: Vec<(&str, &str, Vec<u8>, i32)> = vec![
        ("cert.pem", "empty", Vec::new(), libc::EBADMSG),
        ("cert.pem", "random bytes", noise(1024, 1), libc::EBADMSG),
        ("cert.pem", "NUL bytes", vec![0; 4096], libc::EBADMSG),
        (
            "cert.pem",
            "truncated PEM",
            truncated.to_vec(),
            libc::EBADMSG,
        ),
        (
            "cert.pem",
            "a CRL (wrong label)",
            inp.crl.clone(),
            libc::EBADMSG,
        ),
        (
            "cert.pem",
            "a public key (wrong label)",
            inp.public_key.clone(),
            libc::EBADMSG,
        ),
        ("cert.pem", "DER", inp.der.clone(), libc::EBADMSG),
        ("cert.pem", "100 MB", noise(100 << 20, 2), libc::EFBIG),
        ("key.pem", "empty", Vec::new(), libc::EBADMSG),
        ("key.pem", "random bytes", noise(1024, 3), libc::EBADMSG),
        ("key.pem", "NUL bytes", vec![0; 4096], libc::EBADMSG),
        (
            "key.pem",
            "a public key",
            inp.public_key.clone(),
            libc::EBADMSG,
        ),
        (
            "key.pem",
            "an Ed448 key",
            inp.ed448.clone(),
            libc::EKEYREJECTED,
        ),
        (
            "key.pem",
            "an X25519 key",
            inp.x25519.clone(),
            libc::EKEYREJECTED,
        ),
        ("key.pem", "a DSA key", inp.dsa.clone(), libc::EKEYREJECTED),
        (
            "key.pem",
            "an encrypted key",
            inp.encrypted_key.clone(),
            libc::EKEYREJECTED,
        ),
        ("key.pem", "100 MB", noise(100 << 20, 4), libc::EFBIG),
        (
            "cert.pem",
            "a key and a chain that do not match",
            [inp.other.key.clone(), inp.pair.cert.clone()].concat(),
            libc::EKEYREJECTED,
        ),
        (
            "key.pem",
            "a key and a chain that do not match",
            [inp.pair.key.clone(), inp.other.cert.clone()].concat(),
            libc::EKEYREJECTED,
        ),
        (
            "bundle.pem",
            "a valid pair",
            [inp.other.key.clone(), inp.other.cert.clone()].concat(),
            libc::EPERM,
        ),
    ];
    let before = state(&m);
    let mut wrong = Vec::new();
    for (file, what, content, expected) in &cases {
        let path = m.path(&format!("{STORE}/{PAIR}/{file}"));
        let got = errno_of_write(&path, content);
        if got != *expected {
            wrong.push(format!(
                "{file} <- {what}: errno {got} ({}), expected {expected} ({})",
                io::Error::from_raw_os_error(got),
                io::Error::from_raw_os_error(*expected)
            ));
        }
        let now = state(&m);
        if now != before {
            wrong.push(format!("{file} <- {what}: the state changed:\n{now}"));
        }
    }
    assert!(wrong.is_empty(), "{}\nlog:\n{}", wrong.join("\n"), m.log());
}

#[test]
fn bad_input_to_vecs_cli_gets_its_code_and_changes_nothing() {
    let ws = Workspace::new();
    let inp = inputs(&ws);
    let m = mounted(&ws);
    let file = |name: &str, content: &[u8]| ws.write(name, content);
    let pair_cert = ws
        .dir
        .path()
        .join("pair.crt")
        .to_string_lossy()
        .into_owned();
    let truncated = inp.pair.cert[..inp.pair.cert.len() / 2].to_vec();
    let certs: Vec<(&str, String, u32)> = vec![
        // VECS reads an empty file as no certificate at all: invalid parameter.
        ("empty", file("empty.pem", b""), 87),
        ("random bytes", file("random.pem", &noise(1024, 5)), 11),
        ("NUL bytes", file("nul.pem", &[0; 4096]), 11),
        ("truncated PEM", file("trunc.pem", &truncated), 11),
        ("a CRL (wrong label)", file("crl.pem", &inp.crl), 11),
        ("DER", file("cert.der", &inp.der), 11),
        ("100 MB", file("huge.pem", &noise(100 << 20, 6)), 223),
    ];
    let keys: Vec<(&str, String, u32)> = vec![
        ("a public key", file("pub.pem", &inp.public_key), 11),
        ("an Ed448 key", file("ed448.pem", &inp.ed448), 11),
        ("an X25519 key", file("x25519.pem", &inp.x25519), 11),
        ("a DSA key", file("dsa.pem", &inp.dsa), 11),
        ("an encrypted key", file("enc.pem", &inp.encrypted_key), 11),
        (
            "another certificate's key",
            file("other.key", &inp.other.key),
            90018,
        ),
        ("100 MB", file("huge.key", &noise(100 << 20, 7)), 223),
    ];
    let before = state(&m);
    let mut wrong = Vec::new();
    let mut check = |what: String, run: Run, expected: u32| {
        if run.code != (expected & 0xFF) as i32
            || !run.stderr.ends_with(&vecsfs::cli::error_line(expected))
        {
            wrong.push(format!("{what}: expected {expected}, got {run:?}"));
        }
        let now = state(&m);
        if now != before {
            wrong.push(format!("{what}: the state changed:\n{now}"));
        }
    };
    for (what, path, expected) in certs {
        let run = vecs_on_db(
            &m.db,
            &[
                "entry", "create", "--store", STORE, "--alias", "new", "--cert", &path,
            ],
        );
        check(format!("--cert {what}"), run, expected);
    }
    for (what, path, expected) in keys {
        let run = vecs_on_db(
            &m.db,
            &[
                "entry", "create", "--store", STORE, "--alias", "new", "--cert", &pair_cert,
                "--key", &path,
            ],
        );
        check(format!("--key {what}"), run, expected);
    }
    let long = "a".repeat(10_000);
    let run = vecs_on_db(
        &m.db,
        &[
            "entry", "create", "--store", STORE, "--alias", &long, "--cert", &pair_cert,
        ],
    );
    check("an alias of 10,000 characters".into(), run, 154);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// VECS accepts text between PEM blocks and certificates outside their validity period; so
/// does vecsfs, through both doors, and an expired or not-yet-valid one is named in the log.
#[test]
fn accepted_oddities_are_stored_canonical_and_dates_are_warned_about() {
    let ws = Workspace::new();
    let inp = inputs(&ws);
    let m = mounted(&ws);
    let mixed = [
        inp.other.cert.clone(),
        b"junk between the blocks\n".to_vec(),
        inp.pair.cert.clone(),
    ]
    .concat();
    for (alias, content, note) in [
        ("mixed", &mixed, None),
        ("expired", &inp.expired.cert, Some("expired on")),
        ("future", &inp.future.cert, Some("is not valid before")),
    ] {
        let dir = m.path(&format!("{STORE}/{alias}"));
        fs::create_dir(&dir).expect("mkdir");
        assert_eq!(errno_of_write(&dir.join("cert.pem"), content), 0, "{alias}");
        let shown = fs::read(dir.join("cert.pem")).expect("read back");
        assert!(
            !String::from_utf8_lossy(&shown).contains("junk"),
            "{alias}: stored canonical"
        );
        if let Some(note) = note {
            let log = m.log();
            assert!(
                log.lines().any(|l| l
                    .contains(&format!("[{STORE}/{alias}/cert.pem] accepted, but"))
                    && l.contains(note)),
                "{alias}: the log warns `{note}`:\n{log}"
            );
        }
        // The same through vecs-cli, whose stderr stays VMware's (the warning is logged).
        let path = ws.write(&format!("{alias}.pem"), content);
        let cli_alias = format!("cli-{alias}");
        let mut cmd = std::process::Command::new(common::vecs_cli());
        cmd.args([
            "entry", "create", "--store", STORE, "--alias", &cli_alias, "--cert", &path,
        ])
        .arg("--db")
        .arg(&m.db)
        .env("RUST_LOG", "warn");
        let run = common::run_with_input(cmd, b"");
        assert_eq!(run.code, 0, "{alias}: {run:?}");
        if let Some(note) = note {
            assert!(run.stderr.contains(note), "{alias}: {run:?}");
        }
    }

    // A refused write of an expired certificate (the alias exists) is not "accepted": the
    // warning comes only once the store has taken it, through either door.
    let path = ws.write("expired-again.pem", &inp.expired.cert);
    let mut cmd = std::process::Command::new(common::vecs_cli());
    cmd.args([
        "entry",
        "create",
        "--store",
        STORE,
        "--alias",
        "cli-mixed",
        "--cert",
        &path,
    ])
    .arg("--db")
    .arg(&m.db)
    .env("RUST_LOG", "warn");
    let run = common::run_with_input(cmd, b"");
    assert_eq!(run.code, 183, "an existing alias: {run:?}");
    assert!(!run.stderr.contains("accepted, but"), "{run:?}");
    // Through the mount: a certificate written as key.pem parses as a chain, but is no key.
    let key = m.path(&format!("{STORE}/{PAIR}/key.pem"));
    assert_eq!(errno_of_write(&key, &inp.expired.cert), libc::EBADMSG);
    let log = m.log();
    assert!(
        !log.contains(&format!("[{STORE}/{PAIR}/key.pem] accepted, but")),
        "a refused write was logged as accepted:\n{log}"
    );
}

/// Many write handles open on one file at once, and writers racing on one file: every close
/// succeeds, and what remains is one writer's whole content, never a mix.
#[test]
fn many_handles_and_concurrent_writers_leave_one_whole_version() {
    let ws = Workspace::new();
    let inp = Arc::new(inputs(&ws));
    let m = mounted(&ws);
    let cert = m.path(&format!("{STORE}/{PAIR}/cert.pem"));
    let key = m.path(&format!("{STORE}/{PAIR}/key.pem"));
    let combined = |id: &Identity| -> Vec<u8> { [id.key.clone(), id.cert.clone()].concat() };
    let versions = [combined(&inp.pair), combined(&inp.other)];

    // 64 handles open together, each written whole, closed in reverse order.
    let handles: Vec<fs::File> = (0..64)
        .map(|_| {
            OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&cert)
                .expect("open for writing")
        })
        .collect();
    let mut failures = Vec::new();
    for (i, mut handle) in handles.into_iter().enumerate().rev() {
        let result = handle
            .write_all(&versions[i % 2])
            .and_then(|()| storm::close_checked(handle));
        if let Err(e) = result {
            failures.push(format!("handle {i}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");

    // Four writers, 25 rounds each, on the same file.
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let cert = cert.clone();
            let versions = versions.clone();
            thread::spawn(move || {
                (0..25)
                    .filter_map(|round| {
                        let errno = errno_of_write(&cert, &versions[(w + round) % 2]);
                        (errno != 0).then(|| format!("writer {w} round {round}: errno {errno}"))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for writer in writers {
        failures.extend(writer.join().expect("writer thread"));
    }
    assert!(failures.is_empty(), "{failures:?}");
    let (shown_cert, shown_key) = (
        fs::read(&cert).expect("cert.pem"),
        fs::read(&key).expect("key.pem"),
    );
    let pairs = [&inp.pair, &inp.other];
    let live = pairs
        .iter()
        .position(|p| {
            vecsfs::pki::parse_cert_chain(&p.cert).map(|c| c.pem().as_bytes().to_vec())
                == Ok(shown_cert.clone())
        })
        .expect("cert.pem is one of the written certificates, whole");
    let key = vecsfs::pki::parse_private_key(&shown_key).expect("key.pem parses");
    let chain = vecsfs::pki::parse_cert_chain(&pairs[live].cert).expect("certificate");
    key.matches_certificate(chain.leaf_der())
        .expect("the live key matches the live certificate");
}

/// Odd names through both doors: `/`, `.`, `..`, control characters and unicode are kept
/// exactly by vecs-cli and shown in the mount percent-encoded where a path needs it; 10,000
/// characters are refused (154 by vecs-cli, ENAMETOOLONG by the kernel).
#[test]
fn odd_names_round_trip_and_overlong_ones_are_refused() {
    let ws = Workspace::new();
    let inp = inputs(&ws);
    let m = mounted(&ws);
    let cert = ws
        .dir
        .path()
        .join("pair.crt")
        .to_string_lossy()
        .into_owned();
    for (alias, shown) in [
        ("a/b", "a%2Fb"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("tab\there", "tab\there"),
        ("café-證書", "café-證書"),
    ] {
        vecs_on_db(
            &m.db,
            &[
                "entry", "create", "--store", STORE, "--alias", alias, "--cert", &cert,
            ],
        )
        .ok();
        let path = m.path(&format!("{STORE}/{shown}/cert.pem"));
        let found = mount::wait_for(std::time::Duration::from_secs(5), || path.exists());
        assert!(found.is_some(), "{alias:?} shown as {shown:?}");
        assert_eq!(
            vecs_on_db(
                &m.db,
                &["entry", "getcert", "--store", STORE, "--alias", alias]
            )
            .ok()
            .trim(),
            String::from_utf8_lossy(&fs::read(&path).expect("read")).trim()
        );
    }
    // Made through the mount, named by vecs-cli exactly.
    let unicode = m.path(&format!("{STORE}/ключ-ü"));
    fs::create_dir(&unicode).expect("mkdir unicode");
    assert_eq!(
        errno_of_write(&unicode.join("cert.pem"), &inp.other.cert),
        0
    );
    let aliases = vecs_on_db(&m.db, &["entry", "list", "--store", STORE, "--aliases"]);
    assert!(aliases.ok().lines().any(|l| l == "ключ-ü"), "{aliases:?}");
    let before = state(&m);
    let err =
        fs::create_dir(m.path(&format!("{STORE}/{}", "a".repeat(10_000)))).expect_err("overlong");
    assert_eq!(err.raw_os_error(), Some(libc::ENAMETOOLONG));
    assert_eq!(state(&m), before);
}
