//! Exporting a store or one entry to the files VMware tooling and services take: the
//! certificate chain (`<alias>.crt`, leaf first, as `entry getcert` gives it), the key
//! (`<alias>.key`, PKCS#8 PEM, or encrypted PKCS#8 as stored for an Encrypted Private Key
//! entry), a CRL (`<alias>.crl`), a secret (`<alias>.secret`, verbatim), and on request a
//! PKCS#12 file (`<alias>.p12`) for each entry with a private key.
//!
//! All or nothing: every file is built in memory first, then written with `O_EXCL` (an
//! existing file is never overwritten); if one write fails, the files already written are
//! removed. Keys, secrets and PKCS#12 files are created 0600, certificates and CRLs 0644.
//!
//! PKCS#12 is written with p12-keystore: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for the key
//! and the certificates, an HMAC-SHA256 MAC, so that OpenSSL 3 reads it without its legacy
//! provider, and Java's keytool and Windows too.

use std::ffi::OsString;
use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKeyChain,
};
use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use super::MigrateError;
use crate::pki;
use crate::store::{Database, EntryInfo, EntryType};

/// What to export, and where.
pub struct ExportRequest<'a> {
    pub store: &'a str,
    /// One entry; every entry of the store when `None`.
    pub alias: Option<&'a str>,
    pub output_dir: &'a Path,
    /// Also write `<alias>.p12` for each entry with a private key, under this password.
    pub pkcs12_password: Option<Zeroizing<String>>,
    /// The password of Encrypted Private Key entries, needed to put their key in a PKCS#12.
    pub entry_password: Option<Zeroizing<String>>,
}

/// One file written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFile {
    pub path: PathBuf,
    pub alias: String,
    /// What it holds, for people: `certificate chain (2 certificates)`, `private key`, ...
    pub content: String,
    pub mode: u32,
}

#[derive(Debug, Default)]
pub struct ExportReport {
    pub files: Vec<ExportedFile>,
    /// Whether the output directory was created.
    pub created_dir: bool,
}

/// A file to write: its contents may be key material, so they are zeroized when dropped.
struct PendingFile {
    name: OsString,
    bytes: Zeroizing<Vec<u8>>,
    mode: u32,
    alias: String,
    content: String,
}

/// Mode of files that hold a key, a secret or a PKCS#12.
const PRIVATE_MODE: u32 = 0o600;
/// Mode of certificates and CRLs: public material.
const PUBLIC_MODE: u32 = 0o644;

/// Exports as `caller`, who needs read permission on the store (as for `entry getkey`).
pub fn export_entries(
    db: &Database,
    caller: u32,
    request: &ExportRequest,
) -> Result<ExportReport, MigrateError> {
    let entries = db.entries_with_keys(caller, request.store, request.alias)?;
    if request.alias.is_some()
        && request.pkcs12_password.is_some()
        && !entries.iter().any(|(e, _)| e.entry_type.is_key_pair())
    {
        let kind = entries
            .first()
            .map_or("", |(e, _)| e.entry_type.vecs_name());
        return Err(MigrateError::InvalidRequest(format!(
            "a PKCS#12 file holds a private key: entry [{}] is a {kind} entry",
            request.alias.unwrap_or_default()
        )));
    }
    let mut pending = Vec::new();
    for (entry, key) in entries {
        let alias = entry.alias.clone();
        files_of(request, entry, key, &mut pending).map_err(|e| MigrateError::Entry {
            alias,
            source: Box::new(e),
        })?;
    }
    write_all(request.output_dir, pending)
}

/// The files of one entry, by its type.
fn files_of(
    request: &ExportRequest,
    entry: EntryInfo,
    key: Option<Zeroizing<Vec<u8>>>,
    out: &mut Vec<PendingFile>,
) -> Result<(), MigrateError> {
    let stored_key = || {
        key.ok_or_else(|| {
            MigrateError::Store(crate::error::Error::NoSuchPart {
                store: request.store.to_string(),
                alias: entry.alias.clone(),
                what: "key",
            })
        })
    };
    let alias = &entry.alias;
    let stem = crate::fs::names::encode(alias);
    let file = |extension: &str, bytes: Zeroizing<Vec<u8>>, mode, content: String| {
        let mut name = stem.clone();
        name.push(extension);
        PendingFile {
            name,
            bytes,
            mode,
            alias: alias.clone(),
            content,
        }
    };
    let public = |text: &str| Zeroizing::new(text.as_bytes().to_vec());
    let pem = entry.cert_pem.as_deref().unwrap_or("");
    match entry.entry_type {
        EntryType::TrustedCert => {
            let chain = parse_chain(pem)?;
            out.push(file(
                ".crt",
                public(pem),
                PUBLIC_MODE,
                chain_content(&chain),
            ));
        }
        EntryType::Crl => {
            out.push(file(
                ".crl",
                public(pem),
                PUBLIC_MODE,
                "certificate revocation list".into(),
            ));
        }
        EntryType::SecretKey => {
            let secret = stored_key()?;
            out.push(file(".secret", secret, PRIVATE_MODE, "secret".into()));
        }
        EntryType::PrivateKey | EntryType::EncryptedPrivateKey => {
            let chain = parse_chain(pem)?;
            let stored_key = stored_key()?;
            let encrypted = pki::is_encrypted_key(&stored_key);
            let pkcs12 = match &request.pkcs12_password {
                Some(password) => {
                    let key = usable_key(&stored_key, request.entry_password.as_ref())?;
                    Some(pkcs12(alias, &chain, &key, password)?)
                }
                None => None,
            };
            out.push(file(
                ".crt",
                public(pem),
                PUBLIC_MODE,
                chain_content(&chain),
            ));
            let key_content = if encrypted {
                "private key, encrypted PKCS#8 as stored"
            } else {
                "private key, PKCS#8"
            };
            out.push(file(".key", stored_key, PRIVATE_MODE, key_content.into()));
            if let Some(bytes) = pkcs12 {
                out.push(file(
                    ".p12",
                    bytes,
                    PRIVATE_MODE,
                    "PKCS#12: key and chain".into(),
                ));
            }
        }
    }
    Ok(())
}

fn parse_chain(pem: &str) -> Result<pki::CertChain, MigrateError> {
    pki::parse_cert_chain(pem.as_bytes()).map_err(|e| MigrateError::Store(e.into()))
}

fn chain_content(chain: &pki::CertChain) -> String {
    match chain.ders().len() {
        1 => "certificate".into(),
        n => format!("certificate chain ({n} certificates, leaf first)"),
    }
}

/// The entry's key in the clear, for a PKCS#12: an Encrypted Private Key entry's key is
/// decrypted with the entry password, which must then be given.
fn usable_key(
    stored_key: &[u8],
    entry_password: Option<&Zeroizing<String>>,
) -> Result<pki::PrivateKey, MigrateError> {
    if !pki::is_encrypted_key(stored_key) {
        return pki::parse_private_key(stored_key).map_err(|e| MigrateError::Store(e.into()));
    }
    let Some(password) = entry_password else {
        return Err(MigrateError::InvalidRequest(
            "an Encrypted Private Key entry: its PKCS#12 needs its password \
             (--entry-password-file)"
                .into(),
        ));
    };
    pki::decrypt_private_key(stored_key, password.as_bytes())
        .map_err(|e| MigrateError::Store(e.into()))
}

/// A PKCS#12 with the key and the chain, leaf first; the key bag's friendlyName is the alias
/// and its localKeyId the SHA-1 of the leaf certificate, as `openssl pkcs12 -export` sets them.
fn pkcs12(
    alias: &str,
    chain: &pki::CertChain,
    key: &pki::PrivateKey,
    password: &str,
) -> Result<Zeroizing<Vec<u8>>, MigrateError> {
    let fail = |e: p12_keystore::error::Error| MigrateError::Pkcs12(e.to_string());
    let certs = chain
        .ders()
        .iter()
        .map(|der| Certificate::from_der(der))
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    let p12_key = p12_keystore::PrivateKey::from_der(key.pkcs8_der()).map_err(fail)?;
    let local_key_id = Sha1::digest(chain.leaf_der()).to_vec();
    let mut keystore = KeyStore::new();
    keystore.add_entry(
        alias,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, p12_key, certs)),
    );
    let bytes = keystore
        .writer(password)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .mac_algorithm(MacAlgorithm::HmacSha256)
        .write()
        .map_err(fail)?;
    Ok(Zeroizing::new(bytes))
}

/// Creates the directory if needed (0700), refuses if any file exists, then writes them all or
/// none.
fn write_all(dir: &Path, pending: Vec<PendingFile>) -> Result<ExportReport, MigrateError> {
    let write_error = |path: &Path, source| MigrateError::Write {
        path: path.display().to_string(),
        source,
    };
    for file in &pending {
        let path = dir.join(&file.name);
        if path.symlink_metadata().is_ok() {
            return Err(MigrateError::OutputExists(path.display().to_string()));
        }
    }
    let created_dir = !dir.exists();
    if created_dir {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| write_error(dir, e))?;
    }
    let mut report = ExportReport {
        files: Vec::with_capacity(pending.len()),
        created_dir,
    };
    for file in pending {
        let path = dir.join(&file.name);
        if let Err(e) = write_new(&path, &file.bytes, file.mode) {
            // All or nothing: take back what this export wrote.
            for written in &report.files {
                let _ = std::fs::remove_file(&written.path);
            }
            if created_dir {
                let _ = std::fs::remove_dir(dir);
            }
            return Err(match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    MigrateError::OutputExists(path.display().to_string())
                }
                _ => write_error(&path, e),
            });
        }
        report.files.push(ExportedFile {
            path,
            alias: file.alias,
            content: file.content,
            mode: file.mode,
        });
    }
    Ok(report)
}

/// Writes a new file (never an existing one, nor through a symlink) with `mode` from the start,
/// so that a key is never readable by others even for a moment. A file this call created and
/// could not finish (a full disk) is removed: no truncated key or PKCS#12 is left behind.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    // The umask may have taken bits away from a 0644 file; set exactly what was meant.
    let finished =
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .and_then(|()| file.write_all(bytes))
            .and_then(|()| file.sync_all());
    if finished.is_err() {
        let _ = std::fs::remove_file(path);
    }
    finished
}
