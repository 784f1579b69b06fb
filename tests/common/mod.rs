//! Shared test support: a private database per test, the real vecs-cli binary, and real key
//! material made by the `openssl` command.
#![allow(dead_code)]

pub mod trust;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The longest any child process of a test may run.
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);
/// How often [`wait_child`] looks whether the child has exited.
const CHILD_POLL: Duration = Duration::from_millis(20);

/// A test's own directory and database.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

/// What a run of a program printed and returned.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Run {
    fn from_output(out: Output) -> Self {
        Run {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code().unwrap_or(-1),
        }
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        &self.stdout
    }

    /// Asserts the VECS error line for `code` and the matching exit status.
    #[track_caller]
    pub fn failed_with(&self, code: u32) -> &Self {
        assert_eq!(
            self.code,
            (code & 0xFF) as i32,
            "exit status for {code}: {self:#?}"
        );
        let line = vecsfs::cli::error_line(code);
        assert!(self.stderr.ends_with(&line), "expected `{line}`: {self:#?}");
        self
    }
}

impl Workspace {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("vecsfs-test-")
            .tempdir()
            .expect("temp dir");
        let db = dir.path().join("vecs.db");
        Workspace { dir, db }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs vecs-cli on this workspace's database.
    pub fn vecs(&self, args: &[&str]) -> Run {
        self.vecs_with_input(args, b"")
    }

    pub fn vecs_with_input(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut cmd = Command::new(vecs_cli());
        cmd.args(args)
            .env("VECS_DB", &self.db)
            .env_remove("RUST_LOG");
        run_with_input(cmd, stdin)
    }

    /// Writes a file into the workspace and returns its path as a string.
    pub fn write(&self, name: &str, content: &[u8]) -> String {
        let path = self.path(name);
        std::fs::write(&path, content).expect("write test file");
        path.to_string_lossy().into_owned()
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).expect("read test file")
    }

    /// A snapshot of everything vecs-cli can see of a store, to check that a refusal changed nothing.
    pub fn snapshot(&self, store: &str) -> String {
        let stores = self.vecs(&["store", "list"]);
        let entries = self.vecs(&["entry", "list", "--store", store]);
        format!("{}{}{}", stores.stdout, entries.stdout, entries.stderr)
    }
}

pub fn vecs_cli() -> &'static str {
    env!("CARGO_BIN_EXE_vecs-cli")
}

/// Runs vecs-cli with `--db db` appended (and neither VECS_DB nor RUST_LOG from the caller).
pub fn vecs_on_db(db: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(vecs_cli());
    cmd.args(args)
        .arg("--db")
        .arg(db)
        .env_remove("VECS_DB")
        .env_remove("RUST_LOG");
    run_with_input(cmd, b"")
}

/// `vecs-cli entry create --store TRUSTED_ROOTS --cert CERT` on `db` (the alias is the SHA-1).
pub fn add_root(db: &Path, cert: &Path) {
    let cert = cert.to_string_lossy();
    vecs_on_db(
        db,
        &[
            "entry",
            "create",
            "--store",
            "TRUSTED_ROOTS",
            "--cert",
            &cert,
        ],
    )
    .ok();
}

/// The machine's TLS identity: MACHINE_SSL_CERT/__MACHINE_CERT with `cert` and `key`.
pub fn add_machine_pair(db: &Path, cert: &Path, key: &Path) {
    let (cert, key) = (cert.to_string_lossy(), key.to_string_lossy());
    vecs_on_db(
        db,
        &[
            "entry",
            "create",
            "--store",
            "MACHINE_SSL_CERT",
            "--alias",
            "__MACHINE_CERT",
            "--cert",
            &cert,
            "--key",
            &key,
        ],
    )
    .ok();
}

/// Runs a command with `stdin`, killing it if it outlives the test timeout.
pub fn run_with_input(mut cmd: Command, stdin: &[u8]) -> Run {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    // Read while the child runs: a full pipe would block it (5,000 lines of a sync do).
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    if let Some(mut pipe) = child.stdin.take() {
        let _ = pipe.write_all(stdin);
    }
    let deadline = Instant::now() + CHILD_TIMEOUT;
    let status = loop {
        match child.try_wait().expect("wait") {
            Some(status) => break status,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("{cmd:?} did not finish within {CHILD_TIMEOUT:?}");
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    Run::from_output(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Runs a command with a timeout (killed after it) and returns its status and combined
/// output (stdout, then stderr).
pub fn run_command(cmd: &mut Command, timeout: Duration) -> (ExitStatus, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    // Read on threads so that a chatty command cannot block on a full pipe.
    let stdout = child.stdout.take().map(read_in_background);
    let stderr = child.stderr.take().map(read_in_background);
    let Some(status) = wait_child(&mut child, timeout) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{cmd:?} did not finish within {timeout:?}");
    };
    let mut output = String::new();
    for reader in [stdout, stderr].into_iter().flatten() {
        output.push_str(&reader.join().unwrap_or_default());
    }
    (status, output)
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// Waits up to `timeout` for `child` to exit.
pub fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(CHILD_POLL),
            _ => return None,
        }
    }
}

/// The last `lines` lines of `text` (of a log, for a failure message).
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs `openssl` with `args` in `dir`; panics with its stderr if it fails.
pub fn openssl(dir: &Path, args: &[&str]) -> String {
    openssl_with_input(dir, args, b"")
}

pub fn openssl_with_input(dir: &Path, args: &[&str], stdin: &[u8]) -> String {
    let mut cmd = Command::new("openssl");
    cmd.args(args).current_dir(dir);
    let run = run_with_input(cmd, stdin);
    assert_eq!(run.code, 0, "openssl {args:?} failed: {}", run.stderr);
    run.stdout
}

/// Key kinds the store accepts.
#[derive(Debug, Clone, Copy)]
pub enum KeyKind {
    Rsa2048,
    EcP256,
    EcP384,
    EcP521,
    Ed25519,
}

impl KeyKind {
    pub const ALL: [KeyKind; 5] = [
        KeyKind::Rsa2048,
        KeyKind::EcP256,
        KeyKind::EcP384,
        KeyKind::EcP521,
        KeyKind::Ed25519,
    ];

    fn genpkey_args(self) -> Vec<&'static str> {
        match self {
            KeyKind::Rsa2048 => vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            KeyKind::EcP256 => vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            KeyKind::EcP384 => vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            KeyKind::EcP521 => vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
            KeyKind::Ed25519 => vec!["-algorithm", "ED25519"],
        }
    }

    /// The "traditional" (PKCS#1 / SEC1) encoding, where the kind has one.
    pub fn traditional_label(self) -> Option<&'static str> {
        match self {
            KeyKind::Rsa2048 => Some("RSA PRIVATE KEY"),
            KeyKind::Ed25519 => None,
            _ => Some("EC PRIVATE KEY"),
        }
    }
}

/// A key and a self-signed certificate for it, as files in the workspace.
pub struct Identity {
    pub key: String,
    pub cert: String,
    /// Lower-case hex SHA-1 of the certificate's DER: the alias VECS gives it.
    pub sha1: String,
}

/// `openssl req` options that make a new EC P-256 key, unencrypted, with the request (`-keyout`
/// names its file).
pub const NEW_EC_P256_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
];

/// Makes a key of `kind` (PKCS#8 PEM) as the file `out` in `dir`.
pub fn genpkey(dir: &Path, kind: KeyKind, out: &str) {
    let mut args = vec!["genpkey", "-out", out];
    args.extend(kind.genpkey_args());
    openssl(dir, &args);
}

/// Makes a key of `kind` (PKCS#8 PEM) and a self-signed certificate with subject CN=`name`.
pub fn identity(ws: &Workspace, kind: KeyKind, name: &str) -> Identity {
    let dir = ws.dir.path();
    let key = format!("{name}.key");
    let cert = format!("{name}.crt");
    genpkey(dir, kind, &key);
    let subject = format!("/CN={name}");
    openssl(
        dir,
        &[
            "req", "-x509", "-new", "-key", &key, "-subj", &subject, "-days", "30", "-out", &cert,
        ],
    );
    Identity {
        sha1: sha1_of(ws, &cert),
        key: ws.path(&key).to_string_lossy().into_owned(),
        cert: ws.path(&cert).to_string_lossy().into_owned(),
    }
}

/// The SHA-1 fingerprint of a certificate file, as a VECS alias.
pub fn sha1_of(ws: &Workspace, cert: &str) -> String {
    let out = openssl(
        ws.dir.path(),
        &["x509", "-in", cert, "-noout", "-fingerprint", "-sha1"],
    );
    alias_of_fingerprint(&out)
}

/// The SHA-1 fingerprint of a PEM certificate given as bytes (openssl runs in `dir`), as a VECS
/// alias.
pub fn sha1_of_pem(dir: &Path, pem: &[u8]) -> String {
    let out = openssl_with_input(dir, &["x509", "-noout", "-fingerprint", "-sha1"], pem);
    alias_of_fingerprint(&out)
}

/// `SHA1 Fingerprint=AB:CD:...` (openssl x509 -fingerprint) → `abcd...`.
fn alias_of_fingerprint(out: &str) -> String {
    out.trim()
        .rsplit('=')
        .next()
        .unwrap_or_default()
        .replace(':', "")
        .to_lowercase()
}

/// Makes the next CRL of the CA `cert`/`key` with `openssl ca -gencrl` in `ca_dir`, which the
/// first call sets up (index, serial, CRL number and a minimal `ca.cnf`); returns the PEM file.
/// Every CRL has the next CRL number, so each one is a new version with a new alias.
pub fn gencrl(ca_dir: &Path, cert: &Path, key: &Path) -> PathBuf {
    let config = ca_dir.join("ca.cnf");
    if !config.exists() {
        std::fs::create_dir_all(ca_dir.join("new")).expect("ca dir");
        std::fs::write(ca_dir.join("index.txt"), "").expect("index");
        std::fs::write(ca_dir.join("crlnumber"), "01\n").expect("crlnumber");
        std::fs::write(ca_dir.join("serial"), "10\n").expect("serial");
        let cnf = format!(
            "[ca]\ndefault_ca = ca_default\n[ca_default]\ndir = {d}\ndatabase = $dir/index.txt\n\
             crlnumber = $dir/crlnumber\nserial = $dir/serial\nnew_certs_dir = $dir/new\n\
             certificate = {cert}\nprivate_key = {key}\ndefault_md = sha256\n\
             default_crl_days = 30\ndefault_days = 30\npolicy = policy_any\n\
             [policy_any]\ncommonName = supplied\n",
            d = ca_dir.display(),
            cert = cert.display(),
            key = key.display(),
        );
        std::fs::write(&config, cnf).expect("ca.cnf");
    }
    let number = std::fs::read_to_string(ca_dir.join("crlnumber")).expect("crlnumber");
    let out = ca_dir.join(format!("crl-{}.pem", number.trim()));
    openssl(
        ca_dir,
        &[
            "ca",
            "-config",
            &config.to_string_lossy(),
            "-gencrl",
            "-out",
            &out.to_string_lossy(),
        ],
    );
    out
}

/// The key in the traditional encoding (PKCS#1 for RSA, SEC1 for EC), written next to it.
pub fn traditional_key(ws: &Workspace, key: &str, kind: KeyKind) -> String {
    let out = format!("{key}.trad");
    match kind {
        KeyKind::Rsa2048 => openssl(
            ws.dir.path(),
            &["rsa", "-in", key, "-traditional", "-out", &out],
        ),
        _ => openssl(ws.dir.path(), &["ec", "-in", key, "-out", &out]),
    };
    out
}
