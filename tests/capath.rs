//! TRUSTED_ROOTS as an OpenSSL CApath and CA bundle, on a real mount, used by real TLS
//! software: `openssl verify -CApath` (with `-crl_check` against the CRL store), and `curl
//! --capath` and Python's `ssl` against an `openssl s_server` whose certificate and key are
//! MACHINE_SSL_CERT's files in the mount. A root removed or added with vecs-cli leaves or
//! joins the CApath, and the clients' verdict follows.

#[path = "support/mount.rs"]
mod mount;

mod common;

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::trust::{make_crl, make_root, make_root_named, make_server_cert};
use common::{openssl, run_command, vecs_on_db, Workspace};
use mount::{wait_for, xattr, MountSpec, Mounted};

const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// The contract: a change through vecs-cli shows in the mount within a second; polls go on
/// longer so that a late change is seen as late, not as missing.
const POLL_LIMIT: Duration = Duration::from_secs(5);
const PAIR: &str = "MACHINE_SSL_CERT/__MACHINE_CERT";

/// `openssl x509 -hash` and `-subject_hash_old` of a certificate file.
fn subject_hashes(cert: &Path) -> (String, String) {
    let out = openssl(
        Path::new("/"),
        &[
            "x509",
            "-in",
            &cert.to_string_lossy(),
            "-noout",
            "-hash",
            "-subject_hash_old",
        ],
    );
    let mut lines = out.lines().map(str::to_string);
    (lines.next().expect("hash"), lines.next().expect("old hash"))
}

/// `openssl verify` of `leaf` against the mount's TRUSTED_ROOTS: whether it succeeded, and
/// what it said.
fn verify(capath: &Path, leaf: &Path, crl_check: bool) -> (bool, String) {
    let mut cmd = Command::new("openssl");
    cmd.arg("verify").arg("-CApath").arg(capath);
    if crl_check {
        cmd.arg("-crl_check");
    }
    cmd.arg(leaf);
    let (status, out) = run_command(&mut cmd, COMMAND_TIMEOUT);
    (status.success(), out)
}

/// The generated files of a directory, as its `user.vecs.generated` xattr names them (they
/// are found by name but not listed); empty when it has none.
fn generated_in(dir: &Path) -> Vec<String> {
    let value = xattr(dir, "user.vecs.generated")
        .unwrap_or_else(|e| panic!("getxattr user.vecs.generated of {}: {e}", dir.display()));
    let Some(value) = value else {
        return Vec::new();
    };
    let names: Vec<String> = value.split(' ').map(str::to_string).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "sorted, joined by single spaces: {value:?}");
    assert!(
        names.iter().all(|n| !n.is_empty()),
        "single spaces: {value:?}"
    );
    names
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `openssl s_server` on 127.0.0.1 with its certificate and key read from the mount.
struct TlsServer {
    child: Child,
    port: u16,
}

impl TlsServer {
    fn start(cert: &Path, key: &Path) -> TlsServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("openssl")
            .args(["s_server", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        let mut server = TlsServer { child, port };
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("openssl s_server exited ({status}) before listening on {port}");
            }
            assert!(
                Instant::now() < deadline,
                "s_server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// `curl --capath`: its exit status (0 verified, 60 not verified) and output.
    fn curl(&self, capath: &Path) -> (i32, String) {
        let (status, out) = run_command(
            Command::new("curl")
                .args(["-sS", "-o", "/dev/null", "--max-time", "10", "--capath"])
                .arg(capath)
                .arg(format!("https://127.0.0.1:{}/", self.port)),
            COMMAND_TIMEOUT,
        );
        (status.code().unwrap_or(-1), out)
    }

    /// A Python `ssl` client with `capath`: `OK` or the exception it raised.
    fn python(&self, capath: &Path) -> String {
        let script = format!(
            "import socket, ssl\n\
             ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n\
             ctx.load_verify_locations(capath={capath:?})\n\
             try:\n\
             \x20   with socket.create_connection(('127.0.0.1', {port}), timeout=10) as raw:\n\
             \x20       with ctx.wrap_socket(raw, server_hostname='127.0.0.1') as tls:\n\
             \x20           print('OK', tls.version())\n\
             except Exception as e:\n\
             \x20   print('FAILED', type(e).__name__, e)\n",
            capath = capath.to_string_lossy(),
            port = self.port,
        );
        run_command(
            Command::new("python3").args(["-c", &script]),
            COMMAND_TIMEOUT,
        )
        .1
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn trusted_roots_is_an_openssl_capath_with_crls() {
    let ws = Workspace::new();
    let root = make_root(&ws, "capath-root");
    let (leaf, _) = make_server_cert(&ws, &root, "capath-leaf", "4242");
    let root_cert = root.cert.to_string_lossy().into_owned();
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        common::add_root(db, std::path::Path::new(&root_cert));
    }));
    let capath = m.path("TRUSTED_ROOTS");
    let (hash, old_hash) = subject_hashes(&root.cert);
    // `ls` shows the root's alias only (rm -r, tar and rsync see nothing they cannot write
    // back); the generated files are found by name and named by `user.vecs.generated`.
    assert_eq!(names_in(&capath), [root.sha1.as_str()], "ls TRUSTED_ROOTS");
    let mut expected = vec![
        format!("{hash}.0"),
        format!("{old_hash}.0"),
        "ca-bundle.pem".to_string(),
    ];
    expected.sort();
    assert_eq!(generated_in(&capath), expected, "user.vecs.generated");
    for name in expected {
        let path = capath.join(&name);
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o444, "{name}: mode {mode:o}");
        assert_eq!(std::fs::read(&path).expect("read"), root.pem, "{name}");
    }
    let (ok, out) = verify(&capath, &leaf, false);
    assert!(ok, "openssl verify -CApath: {out}");
    let (status, out) = run_command(
        Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(capath.join("ca-bundle.pem"))
            .arg(&leaf),
        COMMAND_TIMEOUT,
    );
    assert!(
        status.success(),
        "openssl verify -CAfile ca-bundle.pem: {out}"
    );

    // The generated files are read-only, for root too; their names are no aliases there.
    let bundle = capath.join("ca-bundle.pem");
    let refused = std::fs::write(&bundle, b"x").expect_err("write to ca-bundle.pem");
    assert_eq!(refused.raw_os_error(), Some(libc::EPERM), "{refused}");
    let refused = std::fs::remove_file(capath.join(format!("{hash}.0"))).expect_err("rm");
    assert_eq!(refused.raw_os_error(), Some(libc::EPERM), "{refused}");
    assert_eq!(std::fs::read(&bundle).expect("read"), root.pem, "unchanged");
    let refused = std::fs::create_dir(capath.join("0123abcd.r0")).expect_err("mkdir");
    assert_eq!(refused.raw_os_error(), Some(libc::EPERM), "{refused}");
    let run = root_as(&m.db, "0123abcd.0", &root.cert);
    assert_eq!(run.code, 87, "an alias that is a CApath name: {run:?}");
    assert!(!capath.join("0123abcd.0").exists());

    // A CRL revoking the leaf reaches the CRL store through the trust sync (the only way in),
    // and then `-crl_check` refuses the leaf.
    let first_crl = make_crl(&ws, &root);
    let ca_dir = first_crl.path.parent().expect("ca dir").to_path_buf();
    openssl(
        &ca_dir,
        &[
            "ca",
            "-config",
            &ca_dir.join("ca.cnf").to_string_lossy(),
            "-revoke",
            &leaf.to_string_lossy(),
        ],
    );
    let revoking = make_crl(&ws, &root);
    let source = ws.path("crl-source");
    std::fs::create_dir(&source).expect("source dir");
    std::fs::copy(&revoking.path, source.join("revoking.pem")).expect("copy crl");
    vecs_on_db(
        &m.db,
        &["trust-source", "set", "--dir", &source.to_string_lossy()],
    )
    .ok();
    vecs_on_db(&m.db, &["force-refresh"]).ok();
    let (issuer_hash, issuer_old) = (hash.clone(), old_hash.clone());
    let took = wait_for(POLL_LIMIT, || {
        capath.join(format!("{issuer_hash}.r0")).exists()
            && capath.join(format!("{issuer_old}.r0")).exists()
    });
    assert!(took.is_some(), "no .r0 files: {:?}", names_in(&capath));
    assert_eq!(
        std::fs::read(capath.join(format!("{hash}.r0"))).expect("read crl"),
        revoking.pem
    );
    let mut expected = vec![
        format!("{hash}.0"),
        format!("{old_hash}.0"),
        format!("{hash}.r0"),
        format!("{old_hash}.r0"),
        "ca-bundle.pem".to_string(),
    ];
    expected.sort();
    assert_eq!(generated_in(&capath), expected, "with the CRL's files");
    assert_eq!(names_in(&capath), [root.sha1.as_str()], "still not listed");
    let (ok, out) = verify(&capath, &leaf, true);
    assert!(!ok, "a revoked certificate verified: {out}");
    assert!(out.contains("certificate revoked"), "{out}");
}

/// `vecs-cli entry create --store TRUSTED_ROOTS --alias ALIAS --cert CERT` on `db`.
fn root_as(db: &Path, alias: &str, cert: &Path) -> common::Run {
    let cert = cert.to_string_lossy();
    vecs_on_db(
        db,
        &[
            "entry",
            "create",
            "--store",
            "TRUSTED_ROOTS",
            "--alias",
            alias,
            "--cert",
            &cert,
        ],
    )
}

/// `openssl dgst -sha256` of a DER file, lower-case hex.
fn sha256_of(der: &[u8], ws: &Workspace) -> String {
    let file = ws.path(&format!("digest-{}.der", der.len()));
    std::fs::write(&file, der).expect("write der");
    let out = openssl(
        Path::new("/"),
        &["dgst", "-sha256", "-r", &file.to_string_lossy()],
    );
    out.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Two roots with one subject share a subject hash: they become `<hash>.0` and `<hash>.1`,
/// ordered by the SHA-256 of their DER (so the numbering never depends on the order they
/// came in), under both hashes; the same root under a second alias is no third file and is
/// once in ca-bundle.pem. OpenSSL finds the issuer of a leaf among the twins. The names the
/// mount generates are no aliases: `ca-bundle.pem` and a hash name are refused by vecs-cli
/// and by mv through the mount, and nothing changes.
#[test]
fn twin_subjects_are_numbered_by_content_and_generated_names_are_no_aliases() {
    let ws = Workspace::new();
    let first = make_root_named(&ws, "twin-a", "twin");
    let second = make_root_named(&ws, "twin-b", "twin");
    let (hash, old_hash) = subject_hashes(&first.cert);
    assert_eq!(
        subject_hashes(&second.cert),
        (hash.clone(), old_hash.clone())
    );
    let (leaf, _) = make_server_cert(&ws, &second, "leaf-of-b", "0x77");
    let seeds = [first.cert.clone(), second.cert.clone()];
    let again = first.cert.clone();
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        for cert in &seeds {
            common::add_root(db, cert);
        }
        root_as(db, "again", &again).ok();
    }));
    let capath = m.path("TRUSTED_ROOTS");
    let mut expected = vec![
        format!("{hash}.0"),
        format!("{hash}.1"),
        format!("{old_hash}.0"),
        format!("{old_hash}.1"),
        "ca-bundle.pem".to_string(),
    ];
    expected.sort();
    assert_eq!(generated_in(&capath), expected, "user.vecs.generated");
    let (lower, higher) = if sha256_of(&first.der, &ws) < sha256_of(&second.der, &ws) {
        (&first, &second)
    } else {
        (&second, &first)
    };
    for h in [&hash, &old_hash] {
        let read = |n: u32| std::fs::read(capath.join(format!("{h}.{n}"))).expect("read");
        assert_eq!(read(0), lower.pem, "{h}.0 is the lower SHA-256");
        assert_eq!(read(1), higher.pem, "{h}.1 is the higher SHA-256");
    }
    assert!(!capath.join(format!("{hash}.2")).exists(), "a third file");
    let bundle = String::from_utf8(std::fs::read(capath.join("ca-bundle.pem")).expect("bundle"))
        .expect("utf-8");
    assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2, "{bundle}");
    let (ok, out) = verify(&capath, &leaf, false);
    assert!(ok, "openssl verify -CApath with twin issuers: {out}");

    let aliases_before = names_in(&capath);
    for alias in ["ca-bundle.pem", &format!("{hash}.7"), "0123abcd.r3"] {
        let run = root_as(&m.db, alias, &first.cert);
        assert_eq!(run.code, 87, "alias {alias}: {run:?}");
    }
    let target = capath.join("0123abcd.5");
    let refused = std::fs::rename(capath.join("again"), &target).expect_err("mv onto a hash name");
    assert_eq!(refused.raw_os_error(), Some(libc::EPERM), "{refused}");
    assert!(!target.exists());
    assert_eq!(
        names_in(&capath),
        aliases_before,
        "a refusal changed TRUSTED_ROOTS"
    );
    assert_eq!(
        generated_in(&capath),
        expected,
        "a refusal changed the generated files"
    );
}

#[test]
fn tls_clients_trust_what_the_store_trusts() {
    let ws = Workspace::new();
    let root = make_root(&ws, "tls-root");
    let (leaf, leaf_key) = make_server_cert(&ws, &root, "tls-leaf", "4243");
    let (root_cert, leaf_cert, leaf_key_path) = (
        root.cert.to_string_lossy().into_owned(),
        leaf.to_string_lossy().into_owned(),
        leaf_key.to_string_lossy().into_owned(),
    );
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        common::add_root(db, std::path::Path::new(&root_cert));
        common::add_machine_pair(
            db,
            std::path::Path::new(&leaf_cert),
            std::path::Path::new(&leaf_key_path),
        );
    }));
    let capath = m.path("TRUSTED_ROOTS");
    let server = TlsServer::start(
        &m.path(&format!("{PAIR}/cert.pem")),
        &m.path(&format!("{PAIR}/key.pem")),
    );
    let (code, out) = server.curl(&capath);
    assert_eq!(code, 0, "curl --capath with the root in the store: {out}");
    let python = server.python(&capath);
    assert!(python.starts_with("OK"), "python ssl capath=: {python}");

    // The root leaves the store: it leaves the CApath (both hashes) and ca-bundle.pem, and
    // curl and Python no longer trust the server.
    let (hash, old_hash) = subject_hashes(&root.cert);
    let bundle = capath.join("ca-bundle.pem");
    assert_eq!(std::fs::read(&bundle).expect("ca-bundle.pem"), root.pem);
    vecs_on_db(
        &m.db,
        &[
            "entry",
            "delete",
            "--store",
            "TRUSTED_ROOTS",
            "--alias",
            &root.sha1,
            "-y",
        ],
    )
    .ok();
    let gone = wait_for(POLL_LIMIT, || !capath.join(format!("{hash}.0")).exists());
    assert!(
        gone.is_some(),
        "{hash}.0 still there: {:?}",
        names_in(&capath)
    );
    assert!(
        !capath.join(format!("{old_hash}.0")).exists(),
        "old hash left"
    );
    assert_eq!(
        std::fs::read(&bundle).expect("ca-bundle.pem"),
        b"",
        "bundle kept it"
    );
    let (code, out) = server.curl(&capath);
    assert_eq!(code, 60, "curl without the root: {out}");
    let python = server.python(&capath);
    assert!(
        python.starts_with("FAILED"),
        "python ssl without the root: {python}"
    );

    // And back.
    common::add_root(&m.db, &root.cert);
    let back = wait_for(POLL_LIMIT, || capath.join(format!("{hash}.0")).exists());
    assert!(back.is_some(), "{hash}.0 not back: {:?}", names_in(&capath));
    println!(
        "CApath follows vecs-cli: gone after {:?}, back after {:?}",
        gone.unwrap_or_default(),
        back.unwrap_or_default()
    );
    let (code, out) = server.curl(&capath);
    assert_eq!(code, 0, "curl with the root back: {out}");
    let python = server.python(&capath);
    assert!(
        python.starts_with("OK"),
        "python ssl with the root back: {python}"
    );
    assert!(
        capath.join(format!("{old_hash}.0")).exists(),
        "old hash not back"
    );
    assert_eq!(std::fs::read(&bundle).expect("ca-bundle.pem"), root.pem);
}

/// The public key of the certificate and of the key in one PEM file, by openssl: equal when
/// the file holds a matching pair.
fn pair_public_keys(file: &Path) -> (String, String) {
    let path = file.to_string_lossy().into_owned();
    let from_cert = openssl(Path::new("/"), &["x509", "-in", &path, "-noout", "-pubkey"]);
    let from_key = openssl(Path::new("/"), &["pkey", "-in", &path, "-pubout"]);
    (from_cert, from_key)
}

/// bundle.pem holds the live key and chain in one file: a server that loads it in one read
/// always gets a matching pair, before, during (one half written) and after a rotation.
#[test]
fn bundle_pem_is_always_a_matching_pair() {
    let ws = Workspace::new();
    let root = make_root(&ws, "bundle-root");
    let (first, first_key) = make_server_cert(&ws, &root, "bundle-first", "4244");
    let (second, second_key) = make_server_cert(&ws, &root, "bundle-second", "4245");
    let (root_cert, cert, key) = (
        root.cert.to_string_lossy().into_owned(),
        first.to_string_lossy().into_owned(),
        first_key.to_string_lossy().into_owned(),
    );
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        common::add_root(db, std::path::Path::new(&root_cert));
        common::add_machine_pair(db, std::path::Path::new(&cert), std::path::Path::new(&key));
    }));
    let dir = m.path(PAIR);
    let bundle = dir.join("bundle.pem");
    // Found by name, not listed: named by the alias directory's `user.vecs.generated`.
    assert_eq!(names_in(&dir), ["cert.pem", "key.pem"], "ls {PAIR}");
    assert_eq!(
        generated_in(&dir),
        ["bundle.pem"],
        "user.vecs.generated of {PAIR}"
    );
    let mode = std::fs::metadata(&bundle)
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "bundle.pem holds a key: mode {mode:o}");
    let mut expected = std::fs::read(dir.join("key.pem")).expect("key.pem");
    expected.extend(std::fs::read(dir.join("cert.pem")).expect("cert.pem"));
    assert_eq!(std::fs::read(&bundle).expect("bundle.pem"), expected);
    let (a, b) = pair_public_keys(&bundle);
    assert_eq!(a, b, "the bundle's certificate and key match");
    let refused = std::fs::write(&bundle, b"x").expect_err("write bundle.pem");
    assert_eq!(refused.raw_os_error(), Some(libc::EPERM), "{refused}");
    let refused = std::fs::remove_file(&bundle).expect_err("rm bundle.pem");
    assert_eq!(refused.raw_os_error(), Some(libc::EPERM), "{refused}");

    // A TLS server loading both from the one file.
    let server = TlsServer::start(&bundle, &bundle);
    let (code, out) = server.curl(&m.path("TRUSTED_ROOTS"));
    assert_eq!(
        code, 0,
        "curl against s_server -cert/-key bundle.pem: {out}"
    );
    drop(server);

    // Rotation with two writes: the bundle stays the old pair until the second half lands.
    let first_public = pair_public_keys(&bundle).0;
    std::fs::write(
        dir.join("cert.pem"),
        std::fs::read(&second).expect("second"),
    )
    .expect("write the new certificate");
    let (a, b) = pair_public_keys(&bundle);
    assert_eq!(a, b, "between the two writes the bundle is still a pair");
    assert_eq!(a, first_public, "and still the live (old) pair");
    std::fs::write(
        dir.join("key.pem"),
        std::fs::read(&second_key).expect("second key"),
    )
    .expect("write the new key");
    let (a, b) = pair_public_keys(&bundle);
    assert_eq!(a, b, "after the rotation the bundle is a pair");
    assert_ne!(a, first_public, "the new one");
}
