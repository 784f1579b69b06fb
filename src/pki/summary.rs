//! What people and monitoring ask of a certificate at a glance: names, serial, fingerprints
//! and validity. Names are shown as OpenSSL's `-nameopt RFC2253` shows them.

use x509_parser::prelude::{FromDer, X509Certificate};

use super::digest::{sha1_hex, sha256_hex};
use super::PkiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    /// Lower-case hex, without separators.
    pub serial: String,
    pub sha1: String,
    pub sha256: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

pub fn certificate_summary(der: &[u8]) -> Result<CertSummary, PkiError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    let validity = cert.validity();
    Ok(CertSummary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: cert
            .raw_serial()
            .iter()
            .skip_while(|&&b| b == 0)
            .map(|b| format!("{b:02x}"))
            .collect(),
        sha1: sha1_hex(der),
        sha256: sha256_hex(der),
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::parse_cert_chain;
    use crate::pki::test_support::{openssl_stdout, Material};

    #[test]
    fn summaries_agree_with_openssl() {
        let m = Material::new();
        let chain = parse_cert_chain(&m.read("leaf.crt")).unwrap();
        let summary = certificate_summary(chain.leaf_der()).unwrap();
        let out = openssl_stdout(&[
            "x509",
            "-in",
            &m.path_str("leaf.crt"),
            "-noout",
            "-serial",
            "-enddate",
            "-fingerprint",
            "-sha256",
        ]);
        let serial = out.lines().find_map(|l| l.strip_prefix("serial=")).unwrap();
        assert_eq!(summary.serial, serial.to_lowercase());
        let fingerprint = out
            .lines()
            .find_map(|l| l.strip_prefix("sha256 Fingerprint="))
            .unwrap();
        assert_eq!(summary.sha256, fingerprint.replace(':', "").to_lowercase());
        assert!(summary.not_after > summary.not_before);
        assert!(summary.subject.contains("CN=leaf"), "{}", summary.subject);
        assert!(summary.issuer.contains("CN=inter"), "{}", summary.issuer);
    }
}
