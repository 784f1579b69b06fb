//! Reading a trust source: every object it publishes, as bytes with where they came from.
//! Nothing here parses certificates or touches the database.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapConn, LdapConnSettings, LdapError, Scope, SearchEntry};
use zeroize::Zeroizing;

use super::config::{LdapSource, SourceKind, TrustSource};

/// One published object: a certificate or CRL value, or a file.
pub struct SourceObject {
    /// The LDAP entry's DN, or the file's path.
    pub origin: String,
    /// The bytes, or why the object has none to give.
    pub data: Result<Vec<u8>, String>,
}

/// Why a source could not be read, with the code VECS would report (an LDAP result code).
#[derive(Debug)]
pub struct FetchError {
    pub reason: String,
    pub code: u32,
}

/// LDAP result codes VECS reports for these failures.
const LDAP_OPERATIONS_ERROR: u32 = 1;
const LDAP_INVALID_CREDENTIALS: u32 = 49;
const LDAP_SERVER_DOWN: u32 = 81;
const LDAP_CONNECT_ERROR: u32 = 91;

const FILTER: &str = "(objectClass=vmwCertificationAuthority)";
const CERT_ATTR: &str = "cACertificate";
const CRL_ATTR: &str = "certificateRevocationList";
/// Entries per page: no limit on the total, the server's size limit applies per page.
const PAGE_SIZE: i32 = 500;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);
/// A file larger than this is not a certificate or CRL file (a CRL can be large).
const MAX_FILE: u64 = 128 << 20;

pub fn fetch(source: &TrustSource) -> Result<Vec<SourceObject>, FetchError> {
    match &source.kind {
        SourceKind::Ldap(ldap) => fetch_ldap(ldap),
        SourceKind::Directory(dir) => fetch_dir(dir),
    }
}

fn fetch_ldap(source: &LdapSource) -> Result<Vec<SourceObject>, FetchError> {
    let password = read_password(&source.password_file)?;
    let mut settings = LdapConnSettings::new().set_conn_timeout(CONNECT_TIMEOUT);
    if source.url.starts_with("ldaps://") {
        settings = settings.set_config(Arc::new(tls_config(source.ca_file.as_deref())?));
    }
    let mut conn = LdapConn::with_settings(settings, &source.url).map_err(|e| FetchError {
        reason: format!("cannot connect: {}", ldap_reason(&e)),
        code: connect_code(&e),
    })?;
    conn.with_timeout(OPERATION_TIMEOUT);
    let bound = conn
        .simple_bind(&source.bind_dn, &password)
        .and_then(|r| r.success());
    if let Err(e) = bound {
        return Err(FetchError {
            reason: format!("bind as {} refused: {}", source.bind_dn, ldap_reason(&e)),
            code: result_code(&e).unwrap_or(LDAP_INVALID_CREDENTIALS),
        });
    }
    let objects = search(&mut conn, &source.base_dn);
    let _ = conn.unbind();
    objects
}

fn search(conn: &mut LdapConn, base_dn: &str) -> Result<Vec<SourceObject>, FetchError> {
    let failed = |e: LdapError| FetchError {
        reason: format!("search under {base_dn} failed: {}", ldap_reason(&e)),
        code: result_code(&e).unwrap_or(LDAP_OPERATIONS_ERROR),
    };
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(PAGE_SIZE)),
    ];
    conn.with_timeout(OPERATION_TIMEOUT);
    let mut stream = conn
        .streaming_search_with(
            adapters,
            base_dn,
            Scope::Subtree,
            FILTER,
            vec![CERT_ATTR, CRL_ATTR],
        )
        .map_err(failed)?;
    let mut objects = Vec::new();
    while let Some(entry) = stream.next().map_err(failed)? {
        let entry = SearchEntry::construct(entry);
        let values = |attr: &str| -> Vec<Vec<u8>> {
            // ldap3 puts UTF-8 values (PEM text) in `attrs`, the rest (DER) in `bin_attrs`.
            let text = entry
                .attrs
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(attr))
                .flat_map(|(_, v)| v.iter().map(|s| s.as_bytes().to_vec()));
            let binary = entry
                .bin_attrs
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(attr))
                .flat_map(|(_, v)| v.iter().cloned());
            text.chain(binary).collect()
        };
        let certs = values(CERT_ATTR);
        if certs.is_empty() {
            // VECS aborts the whole run here; one bad object must not block the others.
            objects.push(SourceObject {
                origin: entry.dn.clone(),
                data: Err(format!("no {CERT_ATTR} attribute")),
            });
        }
        for data in certs.into_iter().chain(values(CRL_ATTR)) {
            objects.push(SourceObject {
                origin: entry.dn.clone(),
                data: Ok(data),
            });
        }
    }
    stream.result().success().map_err(failed)?;
    Ok(objects)
}

fn read_password(path: &Path) -> Result<Zeroizing<String>, FetchError> {
    let mut text = Zeroizing::new(String::new());
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| FetchError {
            reason: format!("cannot read the password file {}: {e}", path.display()),
            code: LDAP_INVALID_CREDENTIALS,
        })?;
    let trimmed = text.trim_end_matches(['\n', '\r']).len();
    text.truncate(trimmed);
    Ok(text)
}

/// TLS for ldaps: the server must be trusted by `ca_file`, or by the system's roots.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, FetchError> {
    let file = ca_file.unwrap_or(Path::new(SYSTEM_ROOTS));
    let pem = std::fs::read(file).map_err(|e| FetchError {
        reason: format!("cannot read the CA file {}: {e}", file.display()),
        code: LDAP_CONNECT_ERROR,
    })?;
    let mut roots = rustls::RootCertStore::empty();
    let chain = crate::pki::parse_cert_chain(&pem).map_err(|e| FetchError {
        reason: format!("the CA file {}: {e}", file.display()),
        code: LDAP_CONNECT_ERROR,
    })?;
    let (added, _ignored) =
        roots.add_parsable_certificates(chain.ders().iter().map(|d| d.clone().into()));
    if added == 0 {
        return Err(FetchError {
            reason: format!(
                "the CA file {} holds no usable CA certificate",
                file.display()
            ),
            code: LDAP_CONNECT_ERROR,
        });
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
        .map_err(|e| FetchError {
            reason: format!("TLS setup: {e}"),
            code: LDAP_CONNECT_ERROR,
        })
}

/// Debian's bundle of the system's trusted roots.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

fn result_code(e: &LdapError) -> Option<u32> {
    match e {
        LdapError::LdapResult { result } => Some(result.rc),
        _ => None,
    }
}

fn connect_code(e: &LdapError) -> u32 {
    match e {
        LdapError::Io { .. } => LDAP_SERVER_DOWN,
        _ => LDAP_CONNECT_ERROR,
    }
}

/// One line: the server's diagnostic when it gave one.
fn ldap_reason(e: &LdapError) -> String {
    match e {
        LdapError::LdapResult { result } => {
            let text = if result.text.is_empty() {
                String::new()
            } else {
                format!(": {}", result.text)
            };
            format!("LDAP result {}{text}", result.rc)
        }
        other => other.to_string().replace('\n', " "),
    }
}

/// Every regular file directly in `dir` (symlinks followed), except hidden, backup and
/// temporary names that editors and sync tools leave.
fn fetch_dir(dir: &Path) -> Result<Vec<SourceObject>, FetchError> {
    let unreadable = |e: std::io::Error| FetchError {
        reason: format!("cannot read the directory {}: {e}", dir.display()),
        code: crate::error::io_vecs_code(&e),
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_source_name)
        })
        .collect();
    paths.sort();
    let mut objects = Vec::new();
    for path in paths {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue; // a dangling link, or a file removed meanwhile
        };
        if !meta.is_file() {
            continue;
        }
        let origin = path.display().to_string();
        let data = if meta.len() > MAX_FILE {
            Err(format!(
                "{} bytes, over the limit of {MAX_FILE}",
                meta.len()
            ))
        } else {
            match std::fs::read(&path) {
                Ok(data) => Ok(data),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => Err(format!("cannot read it: {e}")),
            }
        };
        objects.push(SourceObject { origin, data });
    }
    Ok(objects)
}

fn is_source_name(name: &str) -> bool {
    !(name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".tmp")
        || name.ends_with(".swp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_and_sync_tool_leftovers_are_not_sources() {
        for name in ["root.pem", "ca.crt", "crl.der", "x"] {
            assert!(is_source_name(name), "{name}");
        }
        for name in [
            ".hidden.pem",
            "root.pem~",
            "root.pem.tmp",
            ".root.pem.swp",
            "a.swp",
        ] {
            assert!(!is_source_name(name), "{name}");
        }
    }
}
