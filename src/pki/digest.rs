//! Fingerprints in the form VECS uses for default aliases.

use sha1::{Digest, Sha1};
use sha2::Sha256;
use std::fmt::Write;

/// Lower-case hex SHA-1, no separators: VECS's default alias for a certificate or CRL
/// (`X509_digest` with `EVP_sha1`, printed with `"%02x"`).
pub fn sha1_hex(bytes: &[u8]) -> String {
    hex_lower(&Sha1::digest(bytes))
}

/// Lower-case hex SHA-256, for fingerprints where SHA-1 is not required by compatibility.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex_lower(&Sha256::digest(bytes))
}

fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
