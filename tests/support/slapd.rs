//! A real OpenLDAP server for integration tests: `/usr/sbin/slapd` in the foreground with its
//! own configuration, schema, database and ports in a temp dir, laid out like vmdir (the
//! directory a vCenter's VECS syncs its trusted roots from), torn down on drop even when the
//! test panics.
//!
//! Use it from a test file with
//! ```ignore
//! #[path = "support/slapd.rs"]
//! mod slapd;
//! mod common; // the harness runs its commands with common's helpers
//! let ldap = slapd::Slapd::start(slapd::SlapdOptions::default());
//! ldap.publish_ca("root-1", &[pem.as_bytes()], &[]);
//! // vecs-cli trust-source set --ldap <ldap.url()> --domain <ldap.domain()>
//! //     --bind-dn <ldap.bind_dn()> --password-file <ldap.password_file()>
//! ```
//!
//! The server:
//! - schema: the few types vmdir's CA objects use, written by the harness (no core.schema).
//!   Certificate attributes have the octet string syntax, as in vmdir, where a `cACertificate`
//!   value is PEM text. `cn` and `userPassword` are not defined there: slapd 2.5 has them built
//!   in (it refuses a second definition).
//! - data: `dc=vsphere,dc=local`, `cn=Configuration` and `cn=Certificate-Authorities` under it;
//!   one `vmwCertificationAuthority` entry per published CA, `cn=<name>` under
//!   `cn=Certificate-Authorities,cn=Configuration,dc=vsphere,dc=local`.
//! - the sync's account: `cn=Administrator,cn=Users,dc=vsphere,dc=local` (vmdir's DN of
//!   administrator@vsphere.local), an ordinary entry with a `userPassword`. It is deliberately
//!   NOT the rootdn: slapd applies no limits to the rootdn, and this account must be bound by
//!   the size limit. The harness itself writes as the rootdn `cn=Manager,dc=vsphere,dc=local`.
//! - limits: `sizelimit size.soft=N size.hard=N size.prtotal=unlimited` (N = 100 by default): a
//!   search without the paged results control stops after N entries ("Size limit exceeded"),
//!   a paged search returns everything. A client that does not page sees at most N CAs.
//! - access: the root DSE for everyone; otherwise only bound users read, anonymous clients may
//!   only bind (so a failed bind cannot fall back to reading anonymously).
//! - listeners: `ldap://127.0.0.1:PORT/`, and with `SlapdOptions::ldaps` also
//!   `ldaps://127.0.0.1:PORT/` with a server certificate for 127.0.0.1 (IP SAN and CN) issued by
//!   a CA made with openssl for this server only (`ca_file()`).
//!
//! Every external command runs with a timeout; every wait is bounded; failures panic with the
//! reason and the server's log.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs::File;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{openssl, run_command, tail, wait_child, NEW_EC_P256_KEY};

/// The slapd binary (Debian's package `slapd`; scripts/install-deps.sh installs it).
pub const SLAPD: &str = "/usr/sbin/slapd";
/// Where Debian keeps slapd's dynamically loaded backends (back_mdb).
const MODULE_PATH: &str = "/usr/lib/ldap";
/// How long slapd may take to answer after it was started.
pub const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long slapd may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one client command (ldapadd, ldapsearch) may run (openssl: `common::openssl`).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a start is retried when another process took a port in the meantime.
const START_ATTEMPTS: usize = 5;
const POLL: Duration = Duration::from_millis(20);

pub const SUFFIX: &str = "dc=vsphere,dc=local";
pub const DOMAIN: &str = "vsphere.local";
/// The base DN `--domain vsphere.local` means.
pub const BASE_DN: &str = "cn=Configuration,dc=vsphere,dc=local";
/// The container of the CA objects.
pub const CA_CONTAINER: &str = "cn=Certificate-Authorities,cn=Configuration,dc=vsphere,dc=local";
/// The account the sync binds as (an ordinary entry, subject to the limits).
pub const BIND_DN: &str = "cn=Administrator,cn=Users,dc=vsphere,dc=local";
/// The harness's own account (the rootdn: no limits, no ACLs).
const ROOT_DN: &str = "cn=Manager,dc=vsphere,dc=local";

/// The schema the server loads: vmdir's CA object with octet-string certificate values.
const SCHEMA: &str = "\
# cn (2.5.4.3) and userPassword (2.5.4.35) are built into slapd 2.5.
attributetype ( 0.9.2342.19200300.100.1.25 NAME 'dc'
\tEQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
\tSYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 2.5.4.37 NAME 'cACertificate'
\tDESC 'vmdir: PEM text (or DER) of a CA certificate'
\tEQUALITY octetStringMatch
\tSYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )
attributetype ( 2.5.4.39 NAME 'certificateRevocationList'
\tDESC 'vmdir: PEM text (or DER) of a CRL'
\tEQUALITY octetStringMatch
\tSYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )
attributetype ( 1.3.6.1.4.1.6876.40.10.1.1 NAME 'cACertificateDN'
\tEQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
\tSYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
objectclass ( 0.9.2342.19200300.100.4.13 NAME 'domain' SUP top STRUCTURAL MUST dc )
objectclass ( 1.3.6.1.4.1.6876.40.10.2.1 NAME 'container' SUP top STRUCTURAL MUST cn )
objectclass ( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST cn MAY userPassword )
objectclass ( 1.3.6.1.4.1.6876.40.10.2.2 NAME 'vmwCertificationAuthority' SUP top STRUCTURAL
\tMUST cn MAY ( cACertificate $ certificateRevocationList $ cACertificateDN ) )
";

/// How to start the server.
#[derive(Debug, Clone)]
pub struct SlapdOptions {
    /// Also listen on ldaps:// with a certificate from the harness's own CA.
    pub ldaps: bool,
    /// The server's hard size limit for searches without paging.
    pub size_limit: usize,
}

impl Default for SlapdOptions {
    fn default() -> Self {
        SlapdOptions {
            ldaps: false,
            size_limit: 100,
        }
    }
}

impl SlapdOptions {
    pub fn with_ldaps() -> Self {
        SlapdOptions {
            ldaps: true,
            ..SlapdOptions::default()
        }
    }
}

/// A running (or deliberately stopped) slapd. Dropping it stops the server.
pub struct Slapd {
    dir: tempfile::TempDir,
    port: u16,
    ldaps_port: Option<u16>,
    child: Option<Child>,
    conf: PathBuf,
    log: PathBuf,
    password_file: PathBuf,
    root_password_file: PathBuf,
    ca_file: Option<PathBuf>,
}

impl Slapd {
    /// Writes the configuration, starts slapd on free ports, waits until it answers and adds
    /// the base entries.
    #[track_caller]
    pub fn start(opts: SlapdOptions) -> Slapd {
        assert!(
            Path::new(SLAPD).exists(),
            "{SLAPD} is missing: run scripts/install-deps.sh (packages slapd and ldap-utils)"
        );
        let dir = tempfile::Builder::new()
            .prefix("vecsfs-slapd-")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().to_path_buf();
        std::fs::create_dir(root.join("db")).expect("db dir");
        std::fs::write(root.join("vmdir.schema"), SCHEMA).expect("schema");

        // A password as `echo secret > file` writes it: the sync strips the newline.
        let password = format!("vecs-sync-{}-{}", std::process::id(), nanos());
        let password_file = root.join("password");
        write_private(&password_file, format!("{password}\n").as_bytes());
        // ldap tools read -y files verbatim: no newline here.
        let root_password = format!("manager-{}", nanos());
        let root_password_file = root.join("manager-password");
        write_private(&root_password_file, root_password.as_bytes());

        let ca_file = opts.ldaps.then(|| make_tls_material(&root));
        let conf = root.join("slapd.conf");
        std::fs::write(&conf, slapd_conf(&root, &opts, &root_password)).expect("slapd.conf");
        let (status, out) = run_command(
            Command::new("slaptest").arg("-u").arg("-f").arg(&conf),
            COMMAND_TIMEOUT,
        );
        assert!(status.success(), "slaptest refuses slapd.conf: {out}");

        let mut slapd = Slapd {
            log: root.join("slapd.log"),
            dir,
            port: 0,
            ldaps_port: None,
            child: None,
            conf,
            password_file,
            root_password_file,
            ca_file,
        };
        slapd.start_on_free_ports(opts.ldaps);
        slapd.add_base_entries(&password);
        slapd
    }

    /// `ldap://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// `ldaps://127.0.0.1:PORT`, when started with `ldaps`.
    pub fn ldaps_url(&self) -> Option<String> {
        self.ldaps_port.map(|p| format!("ldaps://127.0.0.1:{p}"))
    }

    pub fn base_dn(&self) -> &'static str {
        BASE_DN
    }

    pub fn domain(&self) -> &'static str {
        DOMAIN
    }

    pub fn bind_dn(&self) -> &'static str {
        BIND_DN
    }

    /// The bind password of `bind_dn()`, followed by a newline, in a 0600 file.
    pub fn password_file(&self) -> &Path {
        &self.password_file
    }

    /// The CA that issued the ldaps server certificate (PEM).
    #[track_caller]
    pub fn ca_file(&self) -> &Path {
        self.ca_file
            .as_deref()
            .expect("ca_file: this slapd was started without ldaps")
    }

    /// The temp dir holding the server's files (a test may put its own files there).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The DN of the CA object `name`.
    pub fn ca_dn(&self, name: &str) -> String {
        format!("cn={name},{CA_CONTAINER}")
    }

    /// What slapd has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    // ---- content ----

    /// Adds the CA object `cn=<name>` with these `cACertificate` and
    /// `certificateRevocationList` values (each value as given: PEM text, DER or garbage).
    #[track_caller]
    pub fn publish_ca(&self, name: &str, certs: &[&[u8]], crls: &[&[u8]]) {
        self.ldapadd(&ca_ldif(&self.ca_dn(name), name, certs, crls));
    }

    /// Adds many CA objects with one ldapadd: `(name, certificate values)`.
    #[track_caller]
    pub fn publish_many(&self, cas: &[(String, Vec<Vec<u8>>)]) {
        let mut ldif = String::new();
        for (name, certs) in cas {
            let certs: Vec<&[u8]> = certs.iter().map(Vec::as_slice).collect();
            ldif.push_str(&ca_ldif(&self.ca_dn(name), name, &certs, &[]));
        }
        self.ldapadd(&ldif);
    }

    /// Replaces the CRL values of CA `name` (an empty slice deletes them all).
    #[track_caller]
    pub fn set_crls(&self, name: &str, crls: &[&[u8]]) {
        self.replace_values(name, "certificateRevocationList", crls);
    }

    /// Replaces the certificate values of CA `name` (an empty slice deletes them all).
    #[track_caller]
    pub fn set_certs(&self, name: &str, certs: &[&[u8]]) {
        self.replace_values(name, "cACertificate", certs);
    }

    /// Deletes the CA object `name`.
    #[track_caller]
    pub fn remove_ca(&self, name: &str) {
        let ldif = format!("dn: {}\nchangetype: delete\n\n", self.ca_dn(name));
        self.ldapmodify(&ldif);
    }

    /// Adds arbitrary entries (LDIF without changetype), e.g. a CA object without a
    /// certificate.
    #[track_caller]
    pub fn add_raw_ldif(&self, ldif: &str) {
        self.ldapadd(ldif);
    }

    /// Searches as the sync's account, `extra` being ldapsearch options (e.g. `-E
    /// pr=500/noprompt`); returns the exit status and the output.
    #[track_caller]
    pub fn search_as_user(&self, base: &str, filter: &str, extra: &[&str]) -> (ExitStatus, String) {
        let password = self.dir.path().join("password.raw");
        if !password.exists() {
            let text = std::fs::read_to_string(&self.password_file).expect("password file");
            write_private(&password, text.trim_end_matches('\n').as_bytes());
        }
        let mut cmd = Command::new("ldapsearch");
        cmd.args(["-x", "-LLL", "-o", "nettimeout=10", "-H", &self.url()])
            .args(["-D", BIND_DN, "-y"])
            .arg(&password)
            .args(["-b", base])
            .args(extra)
            .arg(filter)
            .arg("dn");
        self.client_env(&mut cmd);
        run_command(&mut cmd, COMMAND_TIMEOUT)
    }

    // ---- lifecycle ----

    /// Stops the server (SIGTERM, bounded wait, then SIGKILL). Data stays for `start_again`.
    #[track_caller]
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
        let deadline = Instant::now() + READY_TIMEOUT;
        while self.answers(&self.url()) {
            assert!(
                Instant::now() < deadline,
                "{} still answers after slapd was stopped",
                self.url()
            );
            thread::sleep(POLL);
        }
    }

    /// Starts the stopped server again on the same ports with the same data; waits until it
    /// answers.
    #[track_caller]
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "start_again: slapd is running");
        let deadline = Instant::now() + READY_TIMEOUT;
        // The ports were ours a moment ago; retry briefly if the old socket lingers.
        loop {
            match self.spawn_and_wait() {
                Ok(()) => return,
                Err(why) if Instant::now() < deadline && why.contains("Address already in use") => {
                    thread::sleep(Duration::from_millis(200));
                }
                Err(why) => panic!("slapd did not start again: {why}"),
            }
        }
    }

    #[track_caller]
    fn start_on_free_ports(&mut self, ldaps: bool) {
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            self.port = free_port();
            self.ldaps_port = ldaps.then(free_port);
            match self.spawn_and_wait() {
                Ok(()) => return,
                // Another process took a port between our probe and slapd's bind: new ports.
                Err(why) if why.contains("Address already in use") => last = why,
                Err(why) => panic!("{why}"),
            }
        }
        panic!("slapd could not bind free ports in {START_ATTEMPTS} attempts: {last}");
    }

    /// Starts slapd and waits until every listener answers. Err: why not, with the log.
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        // Appends, so that the log of a restarted server keeps its earlier life.
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("slapd log");
        let mut urls = vec![format!("ldap://127.0.0.1:{}/", self.port)];
        if let Some(p) = self.ldaps_port {
            urls.push(format!("ldaps://127.0.0.1:{p}/"));
        }
        // -d: stay in the foreground (so that we can stop it) and log operations to stderr.
        let mut cmd = Command::new(SLAPD);
        cmd.arg("-d")
            .arg("stats")
            .arg("-f")
            .arg(&self.conf)
            .arg("-h")
            .arg(urls.join(" "))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {SLAPD}: {e}"));
        self.child = Some(child);

        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let child = self.child.as_mut().expect("child");
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Err(format!(
                    "slapd exited ({status}) at start; its log:\n{}",
                    self.log()
                ));
            }
            let mut all = self.answers(&self.url());
            if let Some(url) = self.ldaps_url() {
                all = all && self.answers(&url);
            }
            if all {
                return Ok(());
            }
            if Instant::now() >= deadline {
                if let Some(mut child) = self.child.take() {
                    terminate(&mut child);
                }
                return Err(format!(
                    "slapd did not answer on {urls:?} within {READY_TIMEOUT:?}; its log:\n{}",
                    self.log()
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether a root DSE search on `url` succeeds.
    fn answers(&self, url: &str) -> bool {
        let mut cmd = Command::new("ldapsearch");
        cmd.args(["-x", "-LLL", "-o", "nettimeout=2", "-H", url])
            .args(["-b", "", "-s", "base", "(objectClass=*)", "namingContexts"]);
        self.client_env(&mut cmd);
        let (status, _) = run_command(&mut cmd, Duration::from_secs(10));
        status.success()
    }

    /// Points the ldap tools at this server's CA (ldaps) and nothing of the host's.
    fn client_env(&self, cmd: &mut Command) {
        cmd.env_remove("LDAPURI")
            .env_remove("LDAPBASE")
            .env_remove("LDAPBINDDN")
            .env("LDAPTLS_REQCERT", "demand");
        if let Some(ca) = &self.ca_file {
            cmd.env("LDAPTLS_CACERT", ca);
        }
    }

    #[track_caller]
    fn add_base_entries(&self, password: &str) {
        let ldif = format!(
            "dn: {SUFFIX}\nobjectClass: domain\ndc: vsphere\n\n\
             dn: cn=Users,{SUFFIX}\nobjectClass: container\ncn: Users\n\n\
             dn: {BIND_DN}\nobjectClass: person\ncn: Administrator\nuserPassword:: {}\n\n\
             dn: {BASE_DN}\nobjectClass: container\ncn: Configuration\n\n\
             dn: {CA_CONTAINER}\nobjectClass: container\ncn: Certificate-Authorities\n\n",
            base64(password.as_bytes())
        );
        self.ldapadd(&ldif);
    }

    #[track_caller]
    fn replace_values(&self, name: &str, attribute: &str, values: &[&[u8]]) {
        let mut ldif = format!(
            "dn: {}\nchangetype: modify\nreplace: {attribute}\n",
            self.ca_dn(name)
        );
        for value in values {
            let _ = writeln!(ldif, "{attribute}:: {}", base64(value));
        }
        ldif.push_str("-\n\n");
        self.ldapmodify(&ldif);
    }

    #[track_caller]
    fn ldapadd(&self, ldif: &str) {
        self.ldap_write("ldapadd", ldif);
    }

    #[track_caller]
    fn ldapmodify(&self, ldif: &str) {
        self.ldap_write("ldapmodify", ldif);
    }

    /// Runs ldapadd/ldapmodify as the rootdn with `ldif` (from a file: no stdin).
    #[track_caller]
    fn ldap_write(&self, tool: &str, ldif: &str) {
        let file = self.dir.path().join(format!("change-{}.ldif", nanos()));
        std::fs::write(&file, ldif).expect("write ldif");
        let mut cmd = Command::new(tool);
        cmd.args([
            "-x",
            "-o",
            "nettimeout=10",
            "-H",
            &self.url(),
            "-D",
            ROOT_DN,
        ])
        .arg("-y")
        .arg(&self.root_password_file)
        .arg("-f")
        .arg(&file);
        self.client_env(&mut cmd);
        let (status, out) = run_command(&mut cmd, COMMAND_TIMEOUT);
        assert!(
            status.success(),
            "{tool} failed ({status}): {}\nLDIF (first 2000 chars):\n{}\nslapd log (tail):\n{}",
            out.lines().rev().take(20).collect::<Vec<_>>().join("\n"),
            &ldif[..ldif.len().min(2000)],
            tail(&self.log(), 40)
        );
        let _ = std::fs::remove_file(&file);
    }
}

impl Drop for Slapd {
    /// Never panics (it may run during a panic).
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
        if thread::panicking() {
            eprintln!("slapd log ({}):\n{}", self.url(), tail(&self.log(), 60));
        }
    }
}

/// SIGTERM, a bounded wait, then SIGKILL.
fn terminate(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) on our own child, which has not been reaped yet.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    if wait_child(child, STOP_TIMEOUT).is_none() {
        eprintln!("slapd (pid {}) ignored SIGTERM: killing it", child.id());
        let _ = child.kill();
        let _ = wait_child(child, STOP_TIMEOUT);
    }
}

fn slapd_conf(root: &Path, opts: &SlapdOptions, root_password: &str) -> String {
    let r = root.display();
    let n = opts.size_limit;
    let mut conf = format!(
        "include {r}/vmdir.schema\n\
         pidfile {r}/slapd.pid\n\
         argsfile {r}/slapd.args\n\
         modulepath {MODULE_PATH}\n\
         moduleload back_mdb\n\
         # Searches stop at {n} entries unless paged (rootdn: no limits).\n\
         sizelimit size.soft={n} size.hard={n} size.prtotal=unlimited\n"
    );
    if opts.ldaps {
        let _ = write!(
            conf,
            "TLSCACertificateFile {r}/tls/ca.pem\n\
             TLSCertificateFile {r}/tls/server.pem\n\
             TLSCertificateKeyFile {r}/tls/server.key\n"
        );
    }
    let _ = write!(
        conf,
        "access to dn.base=\"\" by * read\n\
         access to attrs=userPassword by anonymous auth by * none\n\
         access to * by users read by * none\n\
         database mdb\n\
         suffix \"{SUFFIX}\"\n\
         rootdn \"{ROOT_DN}\"\n\
         rootpw {root_password}\n\
         directory {r}/db\n\
         maxsize 1073741824\n\
         # A test server: durability across a crash does not matter, bulk adds do.\n\
         dbnosync\n"
    );
    conf
}

/// A CA and a server certificate for 127.0.0.1 issued by it, made with openssl in
/// `root/tls`; returns the CA file.
#[track_caller]
fn make_tls_material(root: &Path) -> PathBuf {
    let tls = root.join("tls");
    std::fs::create_dir(&tls).expect("tls dir");
    let mut ca = vec!["req", "-x509"];
    ca.extend(NEW_EC_P256_KEY);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem", "-days", "30"]);
    ca.extend(["-subj", "/O=vecsfs tests/CN=slapd test CA"]);
    ca.extend(["-addext", "basicConstraints=critical,CA:TRUE"]);
    ca.extend(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(&tls, &ca);
    std::fs::write(
        tls.join("server.ext"),
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\n\
         subjectAltName=IP:127.0.0.1\n",
    )
    .expect("server.ext");
    let mut server = vec!["req", "-new"];
    server.extend(NEW_EC_P256_KEY);
    server.extend(["-keyout", "server.key", "-out", "server.csr"]);
    server.extend(["-subj", "/CN=127.0.0.1"]);
    openssl(&tls, &server);
    openssl(
        &tls,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-sha256",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
    tls.join("ca.pem")
}

/// The LDIF of one CA object.
fn ca_ldif(dn: &str, name: &str, certs: &[&[u8]], crls: &[&[u8]]) -> String {
    let mut ldif = format!("dn: {dn}\nobjectClass: vmwCertificationAuthority\ncn: {name}\n");
    for cert in certs {
        let _ = writeln!(ldif, "cACertificate:: {}", base64(cert));
    }
    for crl in crls {
        let _ = writeln!(ldif, "certificateRevocationList:: {}", base64(crl));
    }
    ldif.push('\n');
    ldif
}

/// Standard base64 with padding, for `attr:: value` LDIF lines.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A port nobody listens on right now (bound to 127.0.0.1:0, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

fn write_private(path: &Path, content: &[u8]) {
    std::fs::write(path, content).expect("write private file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 0600");
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
