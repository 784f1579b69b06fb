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

/// What to warn about when a certificate of `chain` is outside its validity period at `now`.
/// VECS accepts such certificates (a root may be stored before it is valid, an
/// expired one to be replaced later), and so does vecsfs: with this warning in the log.
pub fn validity_warning(chain: &super::CertChain, now: std::time::SystemTime) -> Option<String> {
    let now = match now.duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    };
    chain.ders().iter().enumerate().find_map(|(i, der)| {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let validity = cert.validity();
        let (not_before, not_after) = (
            validity.not_before.timestamp(),
            validity.not_after.timestamp(),
        );
        let which = || {
            let subject = cert.subject();
            if i == 0 {
                format!("the certificate [{subject}]")
            } else {
                format!("certificate {} of the chain [{subject}]", i + 1)
            }
        };
        if now > not_after {
            Some(format!("{} expired on {}", which(), utc(not_after)))
        } else if now < not_before {
            Some(format!(
                "{} is not valid before {}",
                which(),
                utc(not_before)
            ))
        } else {
            None
        }
    })
}

/// `YYYY-MM-DD hh:mm:ss UTC` of Unix seconds: how vecsfs shows every time (xattrs, status,
/// logs).
pub fn utc(unix: i64) -> String {
    let (year, month, day) = super::text::time::civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::parse_cert_chain;
    use crate::pki::test_support::{openssl_stdout, Material};

    #[test]
    fn certificates_outside_their_validity_are_named_with_the_date() {
        use std::time::{Duration, SystemTime, UNIX_EPOCH};
        let m = Material::new();
        let expired = parse_cert_chain(&m.read("expired.crt")).expect("expired certificate");
        let warning = validity_warning(&expired, SystemTime::now()).expect("a warning");
        assert!(warning.contains("expired on"), "{warning}");
        assert!(warning.contains("2001"), "names the end date: {warning}");
        // 1999: before its start (2000-01-01).
        let in_1999 = UNIX_EPOCH + Duration::from_secs(930_000_000);
        let early = validity_warning(&expired, in_1999).expect("a warning");
        assert!(early.contains("not valid before"), "{early}");
        let current = parse_cert_chain(&m.read("rsa.crt")).expect("certificate");
        assert_eq!(validity_warning(&current, SystemTime::now()), None);
    }

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
