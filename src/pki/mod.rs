//! PKI validation: pure functions from untrusted bytes to canonical material or a precise error.
//!
//! Nothing here touches the database or the filesystem. Every function takes bytes as a user
//! gave them and returns either canonical material (what the store keeps) or a [`PkiError`]
//! that says exactly what was wrong.

pub mod text;

mod cert;
mod crl;
mod digest;
mod key;
mod key_algs;
mod key_crypt;
mod name_hash;
mod pem_blocks;
mod summary;
#[cfg(test)]
pub(crate) mod test_support;
mod trust;

pub use cert::{parse_cert_chain, CertChain, MAX_CERT_INPUT};
pub use crl::{parse_crl, Crl, MAX_CRL_INPUT};
pub use digest::{sha1_hex, sha256_hex};
pub use key::{
    canonical_encrypted_private_key, decrypt_private_key, is_encrypted_key, parse_private_key,
    KeyAlgorithm, PrivateKey, MAX_KEY_INPUT,
};
pub use name_hash::{crl_issuer_hashes, subject_hashes, NameHashes};
pub use summary::{certificate_summary, CertSummary};
pub use trust::{parse_trust_material, TrustItem};

/// What was wrong with a piece of PKI input. Mapped to VECS codes and errnos in `crate::error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkiError {
    #[error("the input is empty")]
    Empty,
    #[error("the input is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("no PEM block found ({0})")]
    NotPem(String),
    #[error("PEM block labelled '{found}' where {expected} was expected")]
    WrongLabel {
        found: String,
        expected: &'static str,
    },
    #[error("malformed PEM: {0}")]
    BadPem(String),
    #[error("certificate does not parse: {0}")]
    BadCertificate(String),
    #[error("private key does not parse: {0}")]
    BadKey(String),
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    #[error("the private key does not match the certificate")]
    KeyMismatch,
    #[error("wrong or missing password for the encrypted private key")]
    WrongPassword,
    #[error("CRL does not parse: {0}")]
    BadCrl(String),
}
