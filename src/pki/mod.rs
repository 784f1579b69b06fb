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
pub use summary::{certificate_summary, utc, validity_warning, CertSummary};
pub use trust::{parse_trust_material, TrustItem};

/// The PEM reader and writer that every parser above shares, for the fuzz targets (fuzz/) and
/// their regression test only: not an API, and not to be used by the rest of the crate.
#[doc(hidden)]
pub mod fuzzing {
    use super::{pem_blocks, PkiError};

    /// One PEM block as the reader found it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Block {
        pub label: String,
        pub encrypted: bool,
        pub has_headers: bool,
        pub data: Vec<u8>,
    }

    /// Every PEM block of `input`, as the parsers split it.
    pub fn read_pem_blocks(input: &[u8]) -> Result<Vec<Block>, PkiError> {
        let blocks = pem_blocks::read_blocks(input)?;
        Ok(blocks
            .into_iter()
            .map(|b| Block {
                label: b.label,
                encrypted: b.encrypted,
                has_headers: b.has_headers,
                data: b.data.to_vec(),
            })
            .collect())
    }

    /// Whether the parsers see a `-----BEGIN` line (and so read `input` as PEM, not DER).
    pub fn has_begin_line(input: &[u8]) -> bool {
        pem_blocks::has_begin_line(input)
    }

    /// Canonical PEM, as the store writes every certificate, key and CRL.
    pub fn encode_pem(label: &str, der: &[u8]) -> String {
        pem_blocks::encode(label, der)
    }
}

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
