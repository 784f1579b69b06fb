//! Shared support of the trust sync tests (tests/trust_sync_dir.rs, tests/trust_sync_ldap.rs):
//! root certificates and CRLs made with the `openssl` command, with their VECS aliases computed
//! by openssl (lower-case hex SHA-1 of the DER), not by vecsfs; force-refresh's report and
//! `trust-source show`, parsed strictly; and what the trust stores hold, read with the library.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use vecsfs::store::{Database, EntryType};

use super::{gencrl, openssl, vecs_on_db, Run, Workspace, NEW_EC_P256_KEY};

pub const ROOTS: &str = "TRUSTED_ROOTS";
pub const CRLS: &str = "TRUSTED_ROOTS_CRLS";

/// `trust-source show`'s keys, in the contract's order.
pub const SHOW_KEYS: [&str; 15] = [
    "source",
    "base_dn",
    "bind_dn",
    "password_file",
    "ca_file",
    "interval",
    "last_run",
    "last_result",
    "last_success",
    "last_error",
    "added",
    "removed",
    "skipped",
    "synced_roots",
    "synced_crls",
];

// -------------------------------------------------------------------------------------------
// Material
// -------------------------------------------------------------------------------------------

/// A self-signed EC P-256 CA certificate: its key and certificate files, the certificate as PEM
/// and DER, and its VECS alias.
pub struct Root {
    pub key: PathBuf,
    pub cert: PathBuf,
    pub pem: Vec<u8>,
    pub der: Vec<u8>,
    pub sha1: String,
}

/// A CRL: its PEM file, as PEM and DER, and its VECS alias.
pub struct Crl {
    pub path: PathBuf,
    pub pem: Vec<u8>,
    pub der: Vec<u8>,
    pub sha1: String,
}

/// Where material is made: a folder of the workspace that is never a trust source.
pub fn material_dir(ws: &Workspace) -> PathBuf {
    let dir = ws.path("material");
    fs::create_dir_all(&dir).expect("material dir");
    dir
}

/// Lower-case hex SHA-1 of a file, by openssl.
pub fn sha1_of_file(dir: &Path, file: &str) -> String {
    let out = openssl(dir, &["dgst", "-sha1", "-r", file]);
    let hex = out.split_whitespace().next().unwrap_or_default();
    assert_eq!(hex.len(), 40, "openssl dgst output: {out:?}");
    hex.to_lowercase()
}

/// Makes a self-signed CA certificate (EC P-256) with subject CN=`name`, in the material folder.
pub fn make_root(ws: &Workspace, name: &str) -> Root {
    make_root_named(ws, name, name)
}

/// A self-signed CA like [`make_root`], in files named `file`.* with subject CN=`cn`: two of
/// them with one `cn` are twins (same subject, so the same subject hash; different keys).
pub fn make_root_named(ws: &Workspace, file: &str, cn: &str) -> Root {
    let name = file;
    let dir = material_dir(ws);
    let (key, cert, der) = (
        format!("{name}.key"),
        format!("{name}.crt"),
        format!("{name}.der"),
    );
    let subject = format!("/O=vecsfs trust sync tests/CN={cn}");
    let mut args = vec!["req", "-x509"];
    args.extend(NEW_EC_P256_KEY);
    args.extend([
        "-keyout",
        &key,
        "-out",
        &cert,
        "-subj",
        &subject,
        "-days",
        "30",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&dir, &args);
    openssl(
        &dir,
        &["x509", "-in", &cert, "-outform", "DER", "-out", &der],
    );
    Root {
        sha1: sha1_of_file(&dir, &der),
        pem: fs::read(dir.join(&cert)).expect("cert pem"),
        der: fs::read(dir.join(&der)).expect("cert der"),
        key: dir.join(key),
        cert: dir.join(cert),
    }
}

/// The next CRL issued by `root` (`openssl ca -gencrl`): every call makes a new version (the
/// CRL number goes up), so a new alias.
pub fn make_crl(ws: &Workspace, root: &Root) -> Crl {
    let stem = root
        .cert
        .file_stem()
        .expect("cert name")
        .to_string_lossy()
        .into_owned();
    let ca_dir = material_dir(ws).join(format!("ca-{stem}"));
    let path = gencrl(&ca_dir, &root.cert, &root.key);
    let der = path.with_extension("der");
    let (pem_name, der_name) = (path.to_string_lossy(), der.to_string_lossy());
    openssl(
        &ca_dir,
        &[
            "crl", "-in", &pem_name, "-outform", "DER", "-out", &der_name,
        ],
    );
    Crl {
        sha1: sha1_of_file(&ca_dir, &der_name),
        pem: fs::read(&path).expect("crl pem"),
        der: fs::read(&der).expect("crl der"),
        path,
    }
}

/// The aliases given, as a set.
pub fn set_of<'a>(aliases: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    aliases.into_iter().cloned().collect()
}

// -------------------------------------------------------------------------------------------
// force-refresh's report
// -------------------------------------------------------------------------------------------

/// The four counts of force-refresh's summary line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub added: usize,
    pub removed: usize,
    pub unchanged: usize,
    pub skipped: usize,
}

/// What a successful force-refresh printed, parsed strictly: every line is one of the
/// contract's forms (`Added [STORE] alias`, `Removed [STORE] alias` for the two trust stores,
/// `Skipped <origin>: <reason>`), no change twice, and the last line is the summary
/// `Trust sync from <source>: A added, R removed, U unchanged, S skipped`, whose counts agree
/// with the lines.
#[derive(Debug, Default)]
pub struct Report {
    pub added_roots: BTreeSet<String>,
    pub removed_roots: BTreeSet<String>,
    pub added_crls: BTreeSet<String>,
    pub removed_crls: BTreeSet<String>,
    /// (origin, reason), in the order printed.
    pub skipped: Vec<(String, String)>,
    /// The summary's `<source>`.
    pub source: String,
    pub counts: Counts,
    /// The whole output, for failure messages.
    pub text: String,
}

impl Report {
    #[track_caller]
    pub fn parse(text: &str) -> Report {
        let mut report = Report {
            text: text.to_string(),
            ..Report::default()
        };
        let lines: Vec<&str> = text.lines().collect();
        let Some((last, changes)) = lines.split_last() else {
            panic!("force-refresh printed nothing; expected at least the summary line");
        };
        #[track_caller]
        fn bad(line: &str, text: &str) -> ! {
            panic!("unexpected line {line:?} in force-refresh output:\n{text}")
        }
        for line in changes {
            let (change, rest) = if let Some(rest) = line.strip_prefix("Added [") {
                ("Added", rest)
            } else if let Some(rest) = line.strip_prefix("Removed [") {
                ("Removed", rest)
            } else if let Some(rest) = line.strip_prefix("Skipped ") {
                let Some((origin, reason)) = rest.split_once(": ") else {
                    bad(line, text)
                };
                report
                    .skipped
                    .push((origin.to_string(), reason.to_string()));
                continue;
            } else {
                bad(line, text)
            };
            let Some((store, alias)) = rest.split_once("] ") else {
                bad(line, text)
            };
            let set = match (change, store) {
                ("Added", ROOTS) => &mut report.added_roots,
                ("Added", CRLS) => &mut report.added_crls,
                ("Removed", ROOTS) => &mut report.removed_roots,
                ("Removed", CRLS) => &mut report.removed_crls,
                _ => bad(line, text),
            };
            assert!(set.insert(alias.to_string()), "{line:?} twice:\n{text}");
        }
        let (source, counts) = parse_summary(last)
            .unwrap_or_else(|| panic!("last line {last:?} is not the summary line:\n{text}"));
        report.source = source;
        report.counts = counts;
        report.check_counts();
        report
    }

    /// The summary's counts agree with the lines.
    #[track_caller]
    fn check_counts(&self) {
        let c = &self.counts;
        assert_eq!(
            c.added,
            self.added_roots.len() + self.added_crls.len(),
            "summary `added` vs Added lines:\n{}",
            self.text
        );
        assert_eq!(
            c.removed,
            self.removed_roots.len() + self.removed_crls.len(),
            "summary `removed` vs Removed lines:\n{}",
            self.text
        );
        assert_eq!(
            c.skipped,
            self.skipped.len(),
            "summary `skipped` vs Skipped lines:\n{}",
            self.text
        );
    }

    /// Asserts the summary's four counts.
    #[track_caller]
    pub fn assert_counts(&self, added: usize, removed: usize, unchanged: usize, skipped: usize) {
        let c = &self.counts;
        assert_eq!(
            (c.added, c.removed, c.unchanged, c.skipped),
            (added, removed, unchanged, skipped),
            "summary (added, removed, unchanged, skipped): expected ({added}, {removed}, \
             {unchanged}, {skipped}), saw the output:\n{}",
            self.text
        );
    }

    /// The aliases of `store` (ROOTS or CRLS) with an `Added` line.
    pub fn added_to(&self, store: &str) -> BTreeSet<String> {
        match store {
            ROOTS => self.added_roots.clone(),
            CRLS => self.added_crls.clone(),
            _ => panic!("not a trust store: {store}"),
        }
    }

    /// The aliases of `store` (ROOTS or CRLS) with a `Removed` line.
    pub fn removed_from(&self, store: &str) -> BTreeSet<String> {
        match store {
            ROOTS => self.removed_roots.clone(),
            CRLS => self.removed_crls.clone(),
            _ => panic!("not a trust store: {store}"),
        }
    }

    /// No `Added` line.
    pub fn added_nothing(&self) -> bool {
        self.added_roots.is_empty() && self.added_crls.is_empty()
    }

    /// No `Removed` line.
    pub fn removed_nothing(&self) -> bool {
        self.removed_roots.is_empty() && self.removed_crls.is_empty()
    }

    /// Neither an `Added` nor a `Removed` line.
    pub fn no_changes(&self) -> bool {
        self.added_nothing() && self.removed_nothing()
    }
}

/// `Trust sync from <source>: A added, R removed, U unchanged, S skipped`: the source and the
/// counts, the words exactly these and in this order.
fn parse_summary(line: &str) -> Option<(String, Counts)> {
    let rest = line.strip_prefix("Trust sync from ")?;
    let (source, counts) = rest.rsplit_once(": ")?;
    let parts: Vec<&str> = counts.split(", ").collect();
    if parts.len() != 4 {
        return None;
    }
    let mut numbers = [0usize; 4];
    for (i, (part, word)) in parts
        .iter()
        .zip(["added", "removed", "unchanged", "skipped"])
        .enumerate()
    {
        let (n, w) = part.split_once(' ')?;
        if w != word {
            return None;
        }
        numbers[i] = n.parse().ok()?;
    }
    Some((
        source.to_string(),
        Counts {
            added: numbers[0],
            removed: numbers[1],
            unchanged: numbers[2],
            skipped: numbers[3],
        },
    ))
}

// -------------------------------------------------------------------------------------------
// trust-source set and show
// -------------------------------------------------------------------------------------------

/// Asserts `trust-source set` succeeded and printed one line.
#[track_caller]
pub fn assert_set_ok(run: &Run) {
    assert_eq!(run.code, 0, "trust-source set should succeed: {run:#?}");
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "trust-source set should print one line: {run:#?}"
    );
}

/// `trust-source show` on `db`, parsed; asserts the keys and their order.
#[track_caller]
pub fn show(db: &Path) -> BTreeMap<String, String> {
    let run = vecs_on_db(db, &["trust-source", "show"]);
    assert_eq!(run.code, 0, "trust-source show should succeed: {run:#?}");
    let mut keys = Vec::new();
    let mut values = BTreeMap::new();
    for line in run.stdout.lines() {
        let (key, value) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("show line {line:?} is not `key: value`: {run:#?}"));
        keys.push(key.to_string());
        values.insert(key.to_string(), value.to_string());
    }
    assert_eq!(
        keys,
        SHOW_KEYS.to_vec(),
        "trust-source show keys and order: {run:#?}"
    );
    values
}

// -------------------------------------------------------------------------------------------
// What the stores hold
// -------------------------------------------------------------------------------------------

/// One entry of a store, as the library reads it.
#[derive(Debug, Clone)]
pub struct Held {
    pub entry_type: EntryType,
    pub from_sync: bool,
    /// The certificate or CRL as PEM.
    pub pem: String,
}

/// What `store` of `db` holds: alias → entry, read with the library.
#[track_caller]
pub fn held_in(db: &Path, store: &str) -> BTreeMap<String, Held> {
    let database = Database::open(db).unwrap_or_else(|e| panic!("open {}: {e}", db.display()));
    database
        .entries(0, store)
        .unwrap_or_else(|e| panic!("entries of {store}: {e}"))
        .into_iter()
        .map(|e| {
            (
                e.alias,
                Held {
                    entry_type: e.entry_type,
                    from_sync: e.from_sync,
                    pem: e.cert_pem.unwrap_or_default(),
                },
            )
        })
        .collect()
}

/// A server certificate for 127.0.0.1 (IP SAN, serverAuth) issued by `root` with `serial`, in the
/// material folder: its certificate and key files.
pub fn make_server_cert(
    ws: &Workspace,
    root: &Root,
    name: &str,
    serial: &str,
) -> (PathBuf, PathBuf) {
    let dir = material_dir(ws);
    let (key, csr, cert) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
    );
    let ext = dir.join(format!("{name}.ext"));
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext file");
    let mut args = vec!["req"];
    args.extend(super::NEW_EC_P256_KEY);
    args.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=127.0.0.1"]);
    openssl(&dir, &args);
    let (ca, ca_key, ext) = (
        root.cert.to_string_lossy().into_owned(),
        root.key.to_string_lossy().into_owned(),
        ext.to_string_lossy().into_owned(),
    );
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-set_serial",
            serial,
            "-days",
            "5",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ],
    );
    (dir.join(cert), dir.join(key))
}
