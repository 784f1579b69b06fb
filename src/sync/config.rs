//! The trust source, as settings in the database: one place that the daemon and
//! `vecs-cli force-refresh` both read, and that `vecs-cli trust-source set` writes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::store::Database;

/// Setting keys of the source.
pub const PREFIX: &str = "trust.";
/// Setting keys of the last runs' status.
pub const STATUS_PREFIX: &str = "trust-status.";
/// VECS's `CertificateSyncInterval` default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapSource {
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    pub base_dn: String,
    pub bind_dn: String,
    /// The bind password is read from here at every sync, never stored.
    pub password_file: PathBuf,
    /// CA certificates that verify an ldaps server; the system's roots without it.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    Ldap(LdapSource),
    Directory(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustSource {
    pub kind: SourceKind,
    pub interval: Duration,
}

impl TrustSource {
    /// How the source is named in messages: its URL, or `dir:PATH`.
    pub fn name(&self) -> String {
        match &self.kind {
            SourceKind::Ldap(ldap) => ldap.url.clone(),
            SourceKind::Directory(dir) => format!("dir:{}", dir.display()),
        }
    }

    fn to_settings(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut put = |key: &str, value: String| {
            out.insert(format!("{PREFIX}{key}"), value);
        };
        match &self.kind {
            SourceKind::Ldap(ldap) => {
                put("kind", "ldap".into());
                put("url", ldap.url.clone());
                put("base_dn", ldap.base_dn.clone());
                put("bind_dn", ldap.bind_dn.clone());
                put("password_file", ldap.password_file.display().to_string());
                if let Some(ca) = &ldap.ca_file {
                    put("ca_file", ca.display().to_string());
                }
            }
            SourceKind::Directory(dir) => {
                put("kind", "dir".into());
                put("dir", dir.display().to_string());
            }
        }
        put("interval", self.interval.as_secs().to_string());
        out
    }

    fn from_settings(settings: &BTreeMap<String, String>) -> Result<Option<TrustSource>> {
        let get = |key: &str| settings.get(&format!("{PREFIX}{key}")).cloned();
        let need = |key: &str| {
            get(key).ok_or_else(|| {
                Error::InvalidParameter(format!(
                    "the trust source setting {PREFIX}{key} is missing"
                ))
            })
        };
        let kind = match get("kind").as_deref() {
            None => return Ok(None),
            Some("ldap") => SourceKind::Ldap(LdapSource {
                url: need("url")?,
                base_dn: need("base_dn")?,
                bind_dn: need("bind_dn")?,
                password_file: need("password_file")?.into(),
                ca_file: get("ca_file").map(PathBuf::from),
            }),
            Some("dir") => SourceKind::Directory(need("dir")?.into()),
            Some(other) => {
                return Err(Error::InvalidParameter(format!(
                    "unknown trust source kind [{other}]"
                )))
            }
        };
        let interval = get("interval")
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&s| s > 0)
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_INTERVAL);
        Ok(Some(TrustSource { kind, interval }))
    }
}

/// The configured source, if any.
pub fn load(db: &Database) -> Result<Option<TrustSource>> {
    TrustSource::from_settings(&db.settings(PREFIX)?)
}

/// Replaces the source (or removes it, with `None`) and forgets the old one's status.
pub fn save(db: &mut Database, caller: u32, source: Option<&TrustSource>) -> Result<()> {
    let settings = source.map(TrustSource::to_settings).unwrap_or_default();
    db.replace_settings(caller, PREFIX, &settings)?;
    db.replace_settings(caller, STATUS_PREFIX, &BTreeMap::new())
}

/// `--domain vsphere.local` → vmdir's `cn=Configuration,dc=vsphere,dc=local`.
pub fn base_dn_of_domain(domain: &str) -> Result<String> {
    let labels: Vec<&str> = domain.trim_end_matches('.').split('.').collect();
    if labels
        .iter()
        .any(|l| l.is_empty() || l.contains([',', '=', '+', '"', '\\', '<', '>', ';']))
    {
        return Err(Error::InvalidParameter(format!(
            "[{domain}] is not a domain name"
        )));
    }
    let dcs: Vec<String> = labels.iter().map(|l| format!("dc={l}")).collect();
    Ok(format!("cn=Configuration,{}", dcs.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_become_vmdir_base_dns() {
        assert_eq!(
            base_dn_of_domain("vsphere.local").unwrap(),
            "cn=Configuration,dc=vsphere,dc=local"
        );
        assert!(base_dn_of_domain("a..b").is_err());
        assert!(base_dn_of_domain("x,y").is_err());
    }

    #[test]
    fn sources_round_trip_through_settings() {
        for source in [
            TrustSource {
                kind: SourceKind::Ldap(LdapSource {
                    url: "ldaps://dc.example:636".into(),
                    base_dn: "cn=Configuration,dc=example".into(),
                    bind_dn: "cn=host,dc=example".into(),
                    password_file: "/etc/vecs-sync.pass".into(),
                    ca_file: Some("/etc/ssl/dc-ca.pem".into()),
                }),
                interval: Duration::from_secs(300),
            },
            TrustSource {
                kind: SourceKind::Directory("/srv/trust".into()),
                interval: DEFAULT_INTERVAL,
            },
        ] {
            assert_eq!(
                TrustSource::from_settings(&source.to_settings()).unwrap(),
                Some(source)
            );
        }
        assert_eq!(TrustSource::from_settings(&BTreeMap::new()).unwrap(), None);
    }
}
