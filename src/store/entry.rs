//! What an entry is: VECS's five types, and content that can only be built from validated
//! material, so that the store never holds an entry VECS would refuse.

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::pki::{CertChain, Crl, PrivateKey};

/// VECS's entry types, with their numeric values (vmafd `CERT_ENTRY_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryType {
    PrivateKey = 1,
    SecretKey = 2,
    TrustedCert = 3,
    Crl = 4,
    EncryptedPrivateKey = 5,
}

impl EntryType {
    /// The name vecs-cli prints (vmafd `VecsMapEntryType`).
    pub fn vecs_name(self) -> &'static str {
        match self {
            EntryType::PrivateKey => "Private Key",
            EntryType::SecretKey => "Secret Key",
            EntryType::TrustedCert => "Trusted Cert",
            EntryType::Crl => "Certification Revocation List",
            EntryType::EncryptedPrivateKey => "Encrypted Private Key",
        }
    }

    pub(crate) fn from_db(value: i64) -> Option<Self> {
        Some(match value {
            1 => EntryType::PrivateKey,
            2 => EntryType::SecretKey,
            3 => EntryType::TrustedCert,
            4 => EntryType::Crl,
            5 => EntryType::EncryptedPrivateKey,
            _ => return None,
        })
    }

    /// Whether the entry carries a certificate chain (the `cert_pem` of a CRL is the CRL).
    pub fn has_certificate(self) -> bool {
        matches!(
            self,
            EntryType::PrivateKey | EntryType::TrustedCert | EntryType::EncryptedPrivateKey
        )
    }

    /// A certificate and its private key (encrypted or not): what BACKUP_STORE keeps and an
    /// export writes as a .key or PKCS#12.
    pub fn is_key_pair(self) -> bool {
        matches!(self, EntryType::PrivateKey | EntryType::EncryptedPrivateKey)
    }

    pub fn has_key(self) -> bool {
        matches!(
            self,
            EntryType::PrivateKey | EntryType::SecretKey | EntryType::EncryptedPrivateKey
        )
    }
}

/// The validated content of a new entry.
pub struct EntryContent {
    pub(super) entry_type: EntryType,
    pub(super) cert_pem: Option<String>,
    pub(super) key_data: Option<Zeroizing<Vec<u8>>>,
    /// The alias VECS gives the entry when none is named (SHA-1 of the certificate or CRL).
    pub(super) default_alias: Option<String>,
}

impl EntryContent {
    /// A certificate chain with the private key of its first certificate.
    pub fn private_key(chain: &CertChain, key: &PrivateKey) -> Result<Self> {
        key.matches_certificate(chain.leaf_der())?;
        let pem = key.to_pkcs8_pem();
        Ok(Self::with_key(
            EntryType::PrivateKey,
            chain,
            Zeroizing::new(pem.as_bytes().to_vec()),
        ))
    }

    /// As `private_key`, with the key kept encrypted under `password` (PBES2).
    pub fn encrypted_private_key(
        chain: &CertChain,
        key: &PrivateKey,
        password: &[u8],
    ) -> Result<Self> {
        key.matches_certificate(chain.leaf_der())?;
        let encrypted = key.encrypt(password)?;
        Ok(Self::with_key(
            EntryType::EncryptedPrivateKey,
            chain,
            Zeroizing::new(encrypted.as_bytes().to_vec()),
        ))
    }

    /// An Encrypted Private Key entry as another VECS stored it (an import): the key is kept
    /// as it is, encrypted, since its password is not ours to know; only its encryption scheme
    /// is checked. An unencrypted key (VECS stores one when given an empty password) is
    /// validated and matched against the certificate as usual.
    pub fn encrypted_private_key_as_stored(chain: &CertChain, stored_key: &[u8]) -> Result<Self> {
        let key_pem = if crate::pki::is_encrypted_key(stored_key) {
            crate::pki::canonical_encrypted_private_key(stored_key)?
        } else {
            let key = crate::pki::parse_private_key(stored_key)?;
            key.matches_certificate(chain.leaf_der())?;
            key.to_pkcs8_pem()
        };
        Ok(Self::with_key(
            EntryType::EncryptedPrivateKey,
            chain,
            Zeroizing::new(key_pem.as_bytes().to_vec()),
        ))
    }

    /// A certificate chain without a key.
    pub fn trusted_cert(chain: &CertChain) -> Self {
        EntryContent {
            entry_type: EntryType::TrustedCert,
            cert_pem: Some(chain.pem().to_string()),
            key_data: None,
            default_alias: Some(chain.alias()),
        }
    }

    /// A secret kept verbatim, as VECS does (it needs an explicit alias).
    pub fn secret_key(secret: &[u8]) -> Result<Self> {
        if secret.is_empty() {
            return Err(crate::pki::PkiError::Empty.into());
        }
        Ok(EntryContent {
            entry_type: EntryType::SecretKey,
            cert_pem: None,
            key_data: Some(Zeroizing::new(secret.to_vec())),
            default_alias: None,
        })
    }

    pub fn crl(crl: &Crl) -> Self {
        EntryContent {
            entry_type: EntryType::Crl,
            cert_pem: Some(crl.pem().to_string()),
            key_data: None,
            default_alias: Some(crl.alias()),
        }
    }

    pub fn entry_type(&self) -> EntryType {
        self.entry_type
    }

    /// The alias to use: the one named, else the default VECS computes.
    pub(super) fn alias_for(&self, named: Option<&str>) -> Result<String> {
        match (named.filter(|a| !a.is_empty()), &self.default_alias) {
            (Some(alias), _) => Ok(alias.to_string()),
            (None, Some(alias)) => Ok(alias.clone()),
            (None, None) => Err(Error::EmptyName("alias")),
        }
    }

    fn with_key(entry_type: EntryType, chain: &CertChain, key: Zeroizing<Vec<u8>>) -> Self {
        EntryContent {
            entry_type,
            cert_pem: Some(chain.pem().to_string()),
            key_data: Some(key),
            default_alias: Some(chain.alias()),
        }
    }
}

/// An entry as listed: everything but the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    pub alias: String,
    pub entry_type: EntryType,
    /// The certificate chain, or the CRL, as canonical PEM.
    pub cert_pem: Option<String>,
    pub created_at: i64,
    pub from_sync: bool,
}
