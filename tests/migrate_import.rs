//! `vecs-cli import --afd-db`: a VECS afd.db built here with vmafd's exact schema and encodings
//! (CREATE statements from lightwave `vmafd/server/db/database.c`, certificates and keys as
//! UTF-16LE blobs with their 2-byte NUL, uid security contexts, WRITE_STORE stored as a
//! negative C int) is imported by the real binary and checked entry by entry, with the library
//! reading the target. Every refusal is checked to leave the target as it was, and the afd.db
//! is checked never to change (bytes, mtime, no journal).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use common::trust::{make_crl, make_root};
use common::{identity, openssl, vecs_on_db, KeyKind, Run, Workspace};
use rusqlite::{params, Connection};
use vecsfs::store::{Database, EntryType};

// -------------------------------------------------------------------------------------------
// An afd.db as vmafd writes it
// -------------------------------------------------------------------------------------------

/// vmafd's schema, statement for statement (`VecsDbCreateAppDatabase`,
/// `VecsDbLocalAuthenticationTablesCreate`).
const VECS_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS StoreTable (StoreID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE NOT NULL,StoreName  VARCHAR(128)  COLLATE NOCASE NOT NULL,Password VARCHAR(128),Salt VARCHAR(128),UNIQUE(StoreName));
CREATE TABLE IF NOT EXISTS CertTable (ID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE NOT NULL,StoreID INTEGER,Alias  VARCHAR(128)  COLLATE NOCASE NOT NULL,Serial      VARCHAR(256)  COLLATE NOCASE,Date        DATE DEFAULT (STRFTIME('%s','now')),CertSize    INTEGER,CertBlob    BLOB,Password    VARCHAR(256),EntryType   INTEGER  DEFAULT 0,KeySize      INTEGER,PrivateKey   BLOB,AutoRefresh  INTEGER, UNIQUE(StoreID, Alias),CHECK( EntryType == 1 OR EntryType == 2 OR EntryType == 3 OR EntryType == 4 OR EntryType == 5),FOREIGN KEY(StoreID) REFERENCES StoreTable(StoreID));
CREATE TRIGGER delete_store AFTER DELETE on StoreTable BEGIN DELETE FROM CertTable WHERE StoreID = old.StoreID;END;
CREATE TABLE IF NOT EXISTS PassTable (ID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE NOT NULL,AccountName  VARCHAR(128)  COLLATE NOCASE NOT NULL,Password    VARCHAR(256),UNIQUE(AccountName) ON CONFLICT REPLACE);
CREATE TABLE IF NOT EXISTS SDTable (ID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE NOT NULL,StoreID INTEGER,Revision INTEGER,ContextSize INTEGER,ContextBlob BLOB,IsAclPresent INTEGER,UNIQUE(StoreID),CHECK( IsAclPresent == 0 OR IsAclPresent == 1),FOREIGN KEY(StoreID) REFERENCES StoreTable(StoreID));
CREATE TABLE IF NOT EXISTS AceTable (ID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE NOT NULL,StoreID INTEGER,ContextSize INTEGER,ContextBlob BLOB,AccessMask INTEGER,AccessType INTEGER,UNIQUE(StoreID, ContextBlob),FOREIGN KEY(StoreID) REFERENCES StoreTable(StoreID));
CREATE TRIGGER delete_store_SD AFTER DELETE on StoreTable BEGIN DELETE FROM SDTable WHERE StoreID = old.StoreID; END;
CREATE TRIGGER delete_store_Ace AFTER DELETE on StoreTable BEGIN DELETE FROM AceTable WHERE StoreID = old.StoreID; END;
CREATE TRIGGER delete_ace_on_insert AFTER INSERT on AceTable FOR EACH ROW BEGIN DELETE FROM AceTable WHERE AccessMask = 0; END;
CREATE TRIGGER delete_ace_on_update AFTER UPDATE on AceTable FOR EACH ROW BEGIN DELETE FROM AceTable WHERE AccessMask = 0; END;
CREATE INDEX IF NOT EXISTS idxVecsAlias ON CertTable (Alias);
CREATE INDEX IF NOT EXISTS idxVecsSerial ON CertTable (Serial);
CREATE INDEX IF NOT EXISTS idxAccount ON PassTable (AccountName);
";

const READ_STORE: u32 = 0x4000_0000;
const WRITE_STORE: u32 = 0x8000_0000;
const EVERYONE: i32 = -1;

/// `wchar16_t` text with its NUL, as `VecsDbAddCert` binds it.
fn utf16_blob(text: &str) -> Vec<u8> {
    let mut blob: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    blob.extend_from_slice(&[0, 0]);
    blob
}

/// The raw `struct { uid_t uid; }` vmafd stores as a security context.
fn context(uid: i32) -> Vec<u8> {
    uid.to_le_bytes().to_vec()
}

/// One entry of the afd.db, and what the import must make of it.
#[derive(Clone)]
struct SourceEntry {
    store: String,
    alias: String,
    entry_type: i64,
    cert: Option<String>,
    key: Option<String>,
    auto_refresh: bool,
    date: i64,
}

struct Afd {
    path: PathBuf,
    conn: Connection,
    entries: Vec<SourceEntry>,
}

impl Afd {
    fn create(path: &Path, encoding: Option<&str>) -> Afd {
        let conn = Connection::open(path).expect("afd.db");
        if let Some(encoding) = encoding {
            conn.pragma_update(None, "encoding", encoding)
                .expect("encoding");
        }
        // synchronous=OFF only makes building the test file fast; it is no part of the file.
        conn.execute_batch("PRAGMA page_size = 2048; PRAGMA synchronous = OFF;")
            .expect("page size");
        conn.execute_batch(VECS_SCHEMA).expect("VECS schema");
        Afd {
            path: path.to_path_buf(),
            conn,
            entries: Vec::new(),
        }
    }

    /// A store owned by `owner` with an empty ACL, as `VecsSrvCreateCertStoreWithAuth` makes it.
    fn store(&self, name: &str, owner: i32) -> i64 {
        self.conn
            .execute("INSERT INTO StoreTable (StoreName) VALUES (?1)", [name])
            .expect("store");
        let id = self.conn.last_insert_rowid();
        self.conn
            .execute(
                "INSERT INTO SDTable (StoreID, Revision, ContextSize, ContextBlob, IsAclPresent)
                 VALUES (?1, 1, 4, ?2, 1)",
                params![id, context(owner)],
            )
            .expect("owner");
        id
    }

    /// An ALLOWED ACE; the DWORD mask is bound as a C int, as vmafd does.
    fn grant(&self, store_id: i64, principal: i32, mask: u32) {
        self.conn
            .execute(
                "INSERT INTO AceTable (StoreID, ContextSize, ContextBlob, AccessMask, AccessType)
                 VALUES (?1, 4, ?2, ?3, 1)",
                params![store_id, context(principal), mask as i32],
            )
            .expect("ace");
    }

    #[allow(clippy::too_many_arguments)]
    fn entry(
        &mut self,
        store_id: i64,
        store: &str,
        alias: &str,
        entry_type: i64,
        cert: Option<&str>,
        key: Option<&str>,
        auto_refresh: bool,
    ) {
        let cert_blob = cert.map(utf16_blob);
        let key_blob = key.map(utf16_blob);
        let date = 1_600_000_000 + self.entries.len() as i64;
        self.conn
            .execute(
                "INSERT INTO CertTable (StoreID, Alias, Date, CertSize, CertBlob, Password, EntryType,
                                        KeySize, PrivateKey, AutoRefresh)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, ?8, ?9)",
                params![
                    store_id,
                    alias,
                    date,
                    cert_blob.as_ref().map(|b| b.len() as i64),
                    cert_blob,
                    entry_type,
                    key_blob.as_ref().map(|b| b.len() as i64),
                    key_blob,
                    i64::from(auto_refresh)
                ],
            )
            .expect("entry");
        self.entries.push(SourceEntry {
            store: store.to_string(),
            alias: alias.to_string(),
            entry_type,
            cert: cert.map(str::to_string),
            key: key.map(str::to_string),
            auto_refresh,
            date,
        });
    }

    /// Closes the connection, so that the file is complete and nothing writes it any more.
    fn finish(self) -> (PathBuf, Vec<SourceEntry>) {
        drop(self.conn);
        (self.path, self.entries)
    }
}

/// The afd.db's bytes and mtime, and that it has no journal beside it.
#[derive(Debug, PartialEq, Eq)]
struct FileState {
    bytes: Vec<u8>,
    modified: SystemTime,
    side_files: Vec<String>,
}

fn file_state(path: &Path) -> FileState {
    let side_files = ["-journal", "-wal", "-shm"]
        .iter()
        .map(|suffix| format!("{}{suffix}", path.display()))
        .filter(|p| Path::new(p).exists())
        .collect();
    FileState {
        bytes: std::fs::read(path).expect("afd bytes"),
        modified: std::fs::metadata(path)
            .and_then(|m| m.modified())
            .expect("mtime"),
        side_files,
    }
}

// -------------------------------------------------------------------------------------------
// The target, read with the library
// -------------------------------------------------------------------------------------------

/// One imported entry as the target holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    entry_type: EntryType,
    cert: Option<String>,
    key: Option<Vec<u8>>,
    from_sync: bool,
    created_at: i64,
}

/// Everything of the target: stores (owner, grants, entries with keys) and the change counter.
fn dump(db: &Path) -> String {
    let db = Database::open(db).expect("target");
    let mut out = format!("generation {}\n", db.generation().expect("generation"));
    for store in db.stores().expect("stores") {
        let perms = db.permissions(0, &store.name).expect("permissions");
        out.push_str(&format!(
            "store {} owner {} kind {:?} grants {:?}\n",
            store.name, perms.owner_uid, store.kind, perms.grants
        ));
        for entry in db.entries(0, &store.name).expect("entries") {
            let key = db.key(0, &store.name, &entry.alias).ok();
            out.push_str(&format!("  {entry:?} key {:?}\n", key.as_deref()));
        }
    }
    out
}

fn held(db: &Path, store: &str, alias: &str) -> Held {
    let db = Database::open(db).expect("target");
    let entry = db
        .entry(0, store, alias)
        .unwrap_or_else(|e| panic!("{store}/{alias}: {e}"));
    Held {
        entry_type: entry.entry_type,
        cert: entry.cert_pem,
        key: db.key(0, store, alias).ok().map(|k| k.to_vec()),
        from_sync: entry.from_sync,
        created_at: entry.created_at,
    }
}

fn import(db: &Path, afd: &Path, extra: &[&str]) -> Run {
    let afd = afd.to_string_lossy();
    let mut args = vec!["import", "--afd-db", &afd];
    args.extend(extra);
    vecs_on_db(db, &args)
}

fn entry_type_of(value: i64) -> EntryType {
    match value {
        1 => EntryType::PrivateKey,
        2 => EntryType::SecretKey,
        3 => EntryType::TrustedCert,
        4 => EntryType::Crl,
        5 => EntryType::EncryptedPrivateKey,
        other => panic!("entry type {other}"),
    }
}

/// The store an afd.db store becomes in vecsfs.
fn target_store(name: &str) -> &str {
    if name.eq_ignore_ascii_case("TRUSTED_ROOT_CRLS") {
        "TRUSTED_ROOTS_CRLS"
    } else {
        name
    }
}

/// Checks one source entry against the target: type, canonical certificate or CRL, key (as
/// `openssl pkey` writes it, or kept encrypted, or the secret verbatim), sync flag, date.
#[track_caller]
fn assert_imported(ws: &Workspace, db: &Path, source: &SourceEntry) {
    let store = target_store(&source.store);
    let got = held(db, store, &source.alias);
    let what = format!("{store}/{}", source.alias);
    let entry_type = entry_type_of(source.entry_type);
    assert_eq!(got.entry_type, entry_type, "{what}");
    assert_eq!(got.from_sync, source.auto_refresh, "{what}");
    assert_eq!(got.created_at, source.date, "{what}");
    let expected_cert = source.cert.as_ref().map(|pem| match entry_type {
        EntryType::Crl => vecsfs::pki::parse_crl(pem.as_bytes())
            .expect("crl")
            .pem()
            .to_string(),
        _ => vecsfs::pki::parse_cert_chain(pem.as_bytes())
            .expect("chain")
            .pem()
            .to_string(),
    });
    assert_eq!(got.cert, expected_cert, "{what}");
    let key = source.key.as_deref();
    match entry_type {
        EntryType::PrivateKey => {
            let canonical =
                common::openssl_with_input(ws.dir.path(), &["pkey"], key.unwrap_or("").as_bytes());
            assert_eq!(got.key.as_deref(), Some(canonical.as_bytes()), "{what}");
        }
        EntryType::EncryptedPrivateKey | EntryType::SecretKey => {
            assert_eq!(got.key.as_deref(), key.map(str::as_bytes), "{what}");
        }
        EntryType::TrustedCert | EntryType::Crl => assert_eq!(got.key, None, "{what}"),
    }
}

// -------------------------------------------------------------------------------------------
// Material
// -------------------------------------------------------------------------------------------

fn read(path: &str) -> String {
    std::fs::read_to_string(path).expect("material")
}

/// Everything VECS stores, in the stores vCenter has: an RSA pair with a chain in
/// MACHINE_SSL_CERT, synced and hand-added roots, a CRL, a solution user's store owned by
/// another uid with grants, a Secret Key with non-ASCII text, an Encrypted Private Key (3DES,
/// as VECS encrypts), and a store and alias in mixed case.
fn full_afd(ws: &Workspace) -> (PathBuf, Vec<SourceEntry>) {
    let dir = ws.dir.path();
    let machine = identity(ws, KeyKind::Rsa2048, "machine");
    let ca = identity(ws, KeyKind::Rsa2048, "vmca");
    let solution = identity(ws, KeyKind::Rsa2048, "vpxd-extension");
    let sms = identity(ws, KeyKind::Rsa2048, "sms");
    let hand_root = identity(ws, KeyKind::EcP256, "hand-root");
    let mixed = identity(ws, KeyKind::EcP256, "mixed");
    let root = make_root(ws, "synced-root");
    let crl = make_crl(ws, &root);
    // VECS keeps keys as unencrypted PKCS#8 (what `openssl pkey` writes) ...
    let machine_key = openssl(dir, &["pkey", "-in", &machine.key]);
    let solution_key = openssl(dir, &["pkey", "-in", &solution.key]);
    // ... and encrypts with EVP_des_ede3_cbc through PEM_write_bio_PrivateKey: PBES2 3DES.
    let sms_key = openssl(
        dir,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "des3",
            "-in",
            &sms.key,
            "-passout",
            "pass:vmware",
        ],
    );
    let chain = format!("{}{}", read(&machine.cert), read(&ca.cert));
    // VECS stores a CRL without its final newline.
    let crl_pem = String::from_utf8(crl.pem.clone()).expect("crl");
    let crl_pem = crl_pem.trim_end_matches('\n').to_string();

    let mut afd = Afd::create(&ws.path("afd.db"), None);
    let ssl = afd.store("MACHINE_SSL_CERT", 0);
    let roots = afd.store("TRUSTED_ROOTS", 0);
    afd.grant(roots, EVERYONE, READ_STORE);
    let crls = afd.store("TRUSTED_ROOT_CRLS", 0);
    afd.grant(crls, EVERYONE, READ_STORE);
    let ext = afd.store("vpxd-extension", 1); // owned by `daemon`
    afd.grant(ext, 65534, WRITE_STORE); // nobody: stored as a negative int
    afd.grant(ext, EVERYONE, READ_STORE);
    let appl = afd.store("APPLMGMT_PASSWORD", 0);
    let sms_store = afd.store("SMS", 0);
    let mixed_store = afd.store("Mixed-Case-Store", 0);

    afd.entry(
        ssl,
        "MACHINE_SSL_CERT",
        "__MACHINE_CERT",
        1,
        Some(&chain),
        Some(&machine_key),
        false,
    );
    afd.entry(
        roots,
        "TRUSTED_ROOTS",
        &root.sha1,
        3,
        Some(&String::from_utf8(root.pem.clone()).expect("pem")),
        None,
        true,
    );
    afd.entry(
        roots,
        "TRUSTED_ROOTS",
        &hand_root.sha1,
        3,
        Some(&read(&hand_root.cert)),
        None,
        false,
    );
    afd.entry(
        crls,
        "TRUSTED_ROOT_CRLS",
        &crl.sha1,
        4,
        Some(&crl_pem),
        None,
        true,
    );
    afd.entry(
        ext,
        "vpxd-extension",
        "vpxd-extension",
        1,
        Some(&read(&solution.cert)),
        Some(&solution_key),
        false,
    );
    afd.entry(
        appl,
        "APPLMGMT_PASSWORD",
        "location_password_default",
        2,
        None,
        Some("päss✓wörd \"x\" 🔑"),
        false,
    );
    afd.entry(
        sms_store,
        "SMS",
        "sms_self_signed",
        5,
        Some(&read(&sms.cert)),
        Some(&sms_key),
        false,
    );
    afd.entry(
        mixed_store,
        "Mixed-Case-Store",
        "MiXeD-Alias",
        3,
        Some(&read(&mixed.cert)),
        None,
        false,
    );
    afd.finish()
}

// -------------------------------------------------------------------------------------------
// Tests
// -------------------------------------------------------------------------------------------

#[test]
fn every_store_entry_owner_grant_and_sync_flag_is_imported() {
    let ws = Workspace::new();
    let (afd, entries) = full_afd(&ws);
    let afd_before = file_state(&afd);
    vecs_on_db(&ws.db, &["store", "list"]).ok(); // the target exists, with its seeded stores

    let run = import(&ws.db, &afd, &["--verbose"]);
    let out = run.ok();
    assert!(
        out.contains(
            "Imported: 7 stores (3 new), 8 entries added, 0 already present, 2 grants changed, 0 skipped."
        ),
        "{out}"
    );
    assert!(
        out.contains("Store [TRUSTED_ROOT_CRLS] -> [TRUSTED_ROOTS_CRLS]: exists"),
        "{out}"
    );
    assert!(out.contains("Store [vpxd-extension]: exists, owner daemon (was root); grants: nobody write, EVERYONE read; 1 entries added"), "{out}");
    assert!(
        out.contains("  + sms_self_signed (Encrypted Private Key)"),
        "{out}"
    );
    assert_eq!(file_state(&afd), afd_before, "the afd.db changed");

    for entry in &entries {
        assert_imported(&ws, &ws.db, entry);
    }
    // Owners and grants, as vecs-cli shows them.
    let perms = vecs_on_db(
        &ws.db,
        &["store", "get-permissions", "--name", "vpxd-extension"],
    );
    assert_eq!(
        perms.ok(),
        "PERMISSIONS FOR STORE: [vpxd-extension]\nOWNER : daemon\nUSER\t\tACCESS\nEVERYONE\tread\nnobody\twrite\n"
    );
    let perms = vecs_on_db(
        &ws.db,
        &["store", "get-permissions", "--name", "TRUSTED_ROOT_CRLS"],
    );
    assert!(perms.ok().contains("EVERYONE\tread\n"));
    // The encrypted key stays encrypted and opens with its VECS password.
    let key = vecs_on_db(
        &ws.db,
        &[
            "entry",
            "getkey",
            "--store",
            "SMS",
            "--alias",
            "sms_self_signed",
            "--password",
            "vmware",
        ],
    );
    let sms_key = openssl(ws.dir.path(), &["pkey", "-in", "sms.key"]);
    assert_eq!(key.ok(), format!("{sms_key}\n"));
    // Names stay case-insensitive.
    let cert = vecs_on_db(
        &ws.db,
        &[
            "entry",
            "getcert",
            "--store",
            "mixed-case-store",
            "--alias",
            "mixed-alias",
        ],
    );
    assert!(cert.ok().starts_with("-----BEGIN CERTIFICATE-----"));
    // The secret comes back as it went in (UTF-16 in VECS, UTF-8 here).
    let secret = vecs_on_db(
        &ws.db,
        &[
            "entry",
            "getkey",
            "--store",
            "APPLMGMT_PASSWORD",
            "--alias",
            "location_password_default",
        ],
    );
    assert_eq!(secret.ok(), "päss✓wörd \"x\" 🔑\n");

    // Again: everything is there already, nothing changes, not even the change counter.
    let before = dump(&ws.db);
    let again = import(&ws.db, &afd, &[]);
    assert!(
        again.ok().contains(
            "Imported: 7 stores (0 new), 0 entries added, 8 already present, 0 grants changed"
        ),
        "{again:#?}"
    );
    assert_eq!(dump(&ws.db), before);
    assert_eq!(file_state(&afd), afd_before, "the afd.db changed");
}

#[test]
fn a_dry_run_reports_the_same_and_changes_nothing() {
    let ws = Workspace::new();
    let (afd, _) = full_afd(&ws);
    let afd_before = file_state(&afd);
    let target_before = dump(&ws.db);
    let dry = import(&ws.db, &afd, &["--dry-run", "--verbose"]);
    let dry_out = dry.ok().to_string();
    assert!(
        dry_out.contains("(dry run: nothing is changed)"),
        "{dry_out}"
    );
    assert!(
        dry_out.contains("Dry run: 7 stores (3 new), 8 entries added"),
        "{dry_out}"
    );
    assert_eq!(dump(&ws.db), target_before, "a dry run changed the target");
    assert_eq!(file_state(&afd), afd_before);

    // The real import does what the dry run said, line for line.
    let real = import(&ws.db, &afd, &["--verbose"]);
    let store_lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("Store ") || l.starts_with("  "))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(store_lines(real.ok()), store_lines(&dry_out));
}

#[test]
fn utf16_encoded_database_and_case_insensitive_store_names() {
    let ws = Workspace::new();
    let cert = identity(&ws, KeyKind::EcP256, "unicode");
    let mut afd = Afd::create(&ws.path("afd16.db"), Some("UTF-16le"));
    // vCenter's vpxd store, spelled in another case: the target's seeded `vpxd` takes it.
    let vpxd = afd.store("VPXD", 0);
    afd.entry(
        vpxd,
        "vpxd",
        "zertifikat-ü-✓",
        3,
        Some(&read(&cert.cert)),
        None,
        false,
    );
    let (afd, entries) = afd.finish();
    vecs_on_db(&ws.db, &["store", "list"]).ok();

    let run = import(&ws.db, &afd, &[]);
    let out = run.ok();
    assert!(out.contains("Store [VPXD] -> [vpxd]: exists"), "{out}");
    assert!(out.contains("store [VPXD] is [vpxd] here"), "{out}");
    assert_imported(&ws, &ws.db, &entries[0]);
    let list = vecs_on_db(&ws.db, &["entry", "list", "--store", "Vpxd", "--aliases"]);
    assert_eq!(
        list.ok(),
        "Number of entries in store :\t1\nzertifikat-ü-✓\n"
    );
}

/// Lower-case hex SHA-1 of bytes.
fn sha1_hex(data: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    Sha1::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_store_of_a_thousand_entries_is_imported_entry_by_entry() {
    use rcgen::{CertificateParams, DnType, KeyPair, SerialNumber};
    let ws = Workspace::new();
    let signer = KeyPair::generate().expect("rcgen key");
    let mut afd = Afd::create(&ws.path("afd.db"), None);
    let store = afd.store("BACKUP_STORE_H5C", 0);
    for i in 0..1000u64 {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, format!("backup {i}"));
        params.serial_number = Some(SerialNumber::from(i + 1));
        let cert = params.self_signed(&signer).expect("certificate");
        afd.entry(
            store,
            "BACKUP_STORE_H5C",
            &sha1_hex(cert.der()),
            3,
            Some(&cert.pem()),
            None,
            i % 2 == 0,
        );
    }
    let (afd, entries) = afd.finish();

    let started = Instant::now();
    let run = import(&ws.db, &afd, &[]);
    let elapsed = started.elapsed();
    assert!(run.ok().contains("1000 entries added"), "{run:#?}");
    eprintln!("import of 1,000 entries (vecs-cli, wall clock): {elapsed:.2?}");

    // In VECS's order (ORDER BY ID), every one as it was.
    let listed = vecs_on_db(
        &ws.db,
        &["entry", "list", "--store", "BACKUP_STORE_H5C", "--aliases"],
    );
    let expected: String = entries.iter().map(|e| format!("{}\n", e.alias)).collect();
    assert_eq!(
        listed.ok(),
        format!("Number of entries in store :\t1000\n{expected}")
    );
    let db = Database::open(&ws.db).expect("target");
    let held: BTreeMap<String, _> = db
        .entries(0, "BACKUP_STORE_H5C")
        .expect("entries")
        .into_iter()
        .map(|e| (e.alias.clone(), e))
        .collect();
    for source in &entries {
        let got = &held[&source.alias];
        let canonical =
            vecsfs::pki::parse_cert_chain(source.cert.as_deref().unwrap_or("").as_bytes())
                .expect("chain");
        assert_eq!(
            got.cert_pem.as_deref(),
            Some(canonical.pem()),
            "{}",
            source.alias
        );
        assert_eq!(got.from_sync, source.auto_refresh, "{}", source.alias);
        assert_eq!(got.entry_type, EntryType::TrustedCert);
        assert_eq!(got.created_at, source.date);
    }
}

/// A store with a good entry and a Private Key entry whose key belongs to another certificate.
fn mismatched_afd(ws: &Workspace) -> (PathBuf, Vec<SourceEntry>) {
    let good = identity(ws, KeyKind::Rsa2048, "good");
    let other = identity(ws, KeyKind::Rsa2048, "other");
    let mut afd = Afd::create(&ws.path("afd.db"), None);
    let store = afd.store("solution", 0);
    afd.entry(
        store,
        "solution",
        "good",
        1,
        Some(&read(&good.cert)),
        Some(&read(&good.key)),
        false,
    );
    afd.entry(
        store,
        "solution",
        "mismatched",
        1,
        Some(&read(&good.cert)),
        Some(&read(&other.key)),
        false,
    );
    afd.finish()
}

#[test]
fn a_key_that_does_not_match_refuses_the_import_unless_partial() {
    let ws = Workspace::new();
    let (afd, entries) = mismatched_afd(&ws);
    let afd_before = file_state(&afd);
    vecs_on_db(&ws.db, &["store", "list"]).ok();
    let before = dump(&ws.db);

    let refused = import(&ws.db, &afd, &[]);
    refused.failed_with(90018);
    assert!(refused.stdout.contains("store [solution] entry [mismatched]: the private key does not match the certificate (error 90018)"), "{refused:#?}");
    assert!(
        refused.stdout.contains("Refused, nothing was changed."),
        "{refused:#?}"
    );
    assert!(
        refused
            .stderr
            .contains("Error: nothing was imported: 1 item(s)"),
        "{refused:#?}"
    );
    assert_eq!(dump(&ws.db), before, "a refused import changed the target");

    let dry = import(&ws.db, &afd, &["--dry-run"]);
    assert!(
        dry.ok()
            .contains("An import would be refused because of the skipped items"),
        "{dry:#?}"
    );
    assert_eq!(dump(&ws.db), before);

    let partial = import(&ws.db, &afd, &["--allow-partial"]);
    let out = partial.ok();
    assert!(
        out.contains(
            "Imported: 1 stores (1 new), 1 entries added, 0 already present, 0 grants changed, 1 skipped."
        ),
        "{out}"
    );
    assert!(
        out.contains("entry [mismatched]: the private key does not match the certificate"),
        "{out}"
    );
    assert_imported(&ws, &ws.db, &entries[0]);
    vecs_on_db(
        &ws.db,
        &[
            "entry",
            "getcert",
            "--store",
            "solution",
            "--alias",
            "mismatched",
        ],
    )
    .failed_with(4312);
    assert_eq!(file_state(&afd), afd_before);
}

#[test]
fn an_alias_present_in_the_target_with_other_content_is_refused() {
    let ws = Workspace::new();
    let mine = identity(&ws, KeyKind::EcP256, "mine");
    let theirs = identity(&ws, KeyKind::EcP256, "theirs");
    let extra = identity(&ws, KeyKind::EcP256, "extra");
    vecs_on_db(
        &ws.db,
        &[
            "entry",
            "create",
            "--store",
            "TRUSTED_ROOTS",
            "--alias",
            "Corp-Root",
            "--cert",
            &mine.cert,
        ],
    )
    .ok();
    let mut afd = Afd::create(&ws.path("afd.db"), None);
    let roots = afd.store("TRUSTED_ROOTS", 0);
    afd.entry(
        roots,
        "TRUSTED_ROOTS",
        "corp-root",
        3,
        Some(&read(&theirs.cert)),
        None,
        false,
    );
    afd.entry(
        roots,
        "TRUSTED_ROOTS",
        &extra.sha1,
        3,
        Some(&read(&extra.cert)),
        None,
        false,
    );
    let (afd, entries) = afd.finish();
    let before = dump(&ws.db);

    let refused = import(&ws.db, &afd, &[]);
    refused.failed_with(183);
    assert!(refused.stdout.contains("entry [corp-root]: the alias is already present in [TRUSTED_ROOTS] with other content (kept)"), "{refused:#?}");
    assert_eq!(dump(&ws.db), before, "a refused import changed the target");

    import(&ws.db, &afd, &["--allow-partial"]).ok();
    assert_imported(&ws, &ws.db, &entries[1]);
    let kept = vecs_on_db(
        &ws.db,
        &[
            "entry",
            "getcert",
            "--store",
            "TRUSTED_ROOTS",
            "--alias",
            "corp-root",
        ],
    );
    assert_eq!(kept.ok(), format!("{}\n", read(&mine.cert)));
}

#[test]
fn refusals_name_the_problem_and_leave_the_target_unchanged() {
    let ws = Workspace::new();
    vecs_on_db(&ws.db, &["store", "list"]).ok();
    let before = dump(&ws.db);
    let (afd, _) = mismatched_afd(&ws);

    // No such file.
    let run = import(&ws.db, &ws.path("no-such-afd.db"), &[]);
    run.failed_with(2);
    assert!(run.stderr.contains("Error: cannot read "), "{run:#?}");
    // Not an SQLite database.
    let text = ws.write("notes.txt", b"this is not a database\n");
    let run = import(&ws.db, Path::new(&text), &[]);
    run.failed_with(11);
    assert!(
        run.stderr
            .contains("is not a VECS database: not an SQLite database"),
        "{run:#?}"
    );
    // SQLite, but not VECS's: our own database is one.
    let run = import(&ws.db, &ws.db, &[]);
    run.failed_with(11);
    assert!(
        run.stderr
            .contains("is not a VECS database: it has no StoreTable table"),
        "{run:#?}"
    );
    // A hot journal: vmafd is writing, or stopped half-way.
    let journal = format!("{}-journal", afd.display());
    std::fs::write(&journal, b"journal").expect("journal");
    let run = import(&ws.db, &afd, &["--dry-run"]);
    run.failed_with(170);
    assert!(run.stderr.contains("-journal exists"), "{run:#?}");
    std::fs::remove_file(&journal).expect("journal");
    // A directory.
    let run = import(&ws.db, ws.dir.path(), &[]);
    run.failed_with(11);
    // No --afd-db at all.
    vecs_on_db(&ws.db, &["import", "--dry-run"]).failed_with(87);
    // Not root.
    if vecsfs::users::current_uid() == 0 {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            common::vecs_cli(),
            "import",
            "--afd-db",
        ])
        .arg(&afd)
        .arg("--db")
        .arg(&ws.db)
        .env_remove("RUST_LOG");
        let run = common::run_with_input(cmd, b"");
        run.failed_with(5);
        assert!(
            run.stderr.contains("only root may import a VECS database"),
            "{run:#?}"
        );
    }
    assert_eq!(dump(&ws.db), before);
}
