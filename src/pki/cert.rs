//! Certificate chains: VECS's `VecsValidateAndFormatCert`, without OpenSSL.
//!
//! VECS reads every certificate block with `PEM_read_bio_X509` and stores them re-written by
//! `PEM_write_bio_X509`, leaf first, dropping any other text. The alias and key matching use
//! the first certificate only.

use super::digest::sha1_hex;
use super::pem_blocks::{self, PemBlock};
use super::PkiError;
use x509_parser::prelude::{FromDer, X509Certificate};

/// A chain file is a handful of certificates; 1 MiB also fits a full CA bundle.
pub const MAX_CERT_INPUT: usize = 1 << 20;

/// A validated certificate chain in the form the store keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertChain {
    pem: String,
    ders: Vec<Vec<u8>>,
}

impl CertChain {
    /// Canonical concatenated PEM, leaf first, exactly as `PEM_write_bio_X509` writes it.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// DER of each certificate, leaf first, in input order.
    pub fn ders(&self) -> &[Vec<u8>] {
        &self.ders
    }

    /// The first certificate: the one VECS matches keys against and names entries after.
    pub fn leaf_der(&self) -> &[u8] {
        // The constructor refuses a chain without certificates.
        &self.ders[0]
    }

    /// VECS's default alias: lower-case hex SHA-1 of the leaf DER.
    pub fn alias(&self) -> String {
        sha1_hex(self.leaf_der())
    }
}

/// Reads all certificate blocks of a PEM file, ignoring text and blocks of other kinds.
pub fn parse_cert_chain(input: &[u8]) -> Result<CertChain, PkiError> {
    pem_blocks::check_input(input, MAX_CERT_INPUT)?;
    let blocks = pem_blocks::read_blocks(input)?;
    let Some(first) = blocks.first() else {
        return Err(pem_blocks::not_pem(input));
    };
    let ders = blocks
        .iter()
        .filter(|b| is_certificate_label(&b.label))
        .enumerate()
        .map(|(index, block)| certificate_der(index, block))
        .collect::<Result<Vec<_>, _>>()?;
    if ders.is_empty() {
        return Err(PkiError::WrongLabel {
            found: first.label.clone(),
            expected: "a CERTIFICATE block",
        });
    }
    let pem = ders
        .iter()
        .map(|der| pem_blocks::encode("CERTIFICATE", der))
        .collect();
    Ok(CertChain { pem, ders })
}

/// The labels `PEM_read_bio_X509` accepts. "TRUSTED CERTIFICATE" carries OpenSSL trust
/// settings after the DER and is read only by `PEM_read_bio_X509_AUX`, which VECS does not use.
pub(super) fn is_certificate_label(label: &str) -> bool {
    matches!(label, "CERTIFICATE" | "X509 CERTIFICATE")
}

fn certificate_der(index: usize, block: &PemBlock) -> Result<Vec<u8>, PkiError> {
    if block.has_headers {
        return Err(PkiError::BadPem(format!(
            "certificate {} has PEM headers; certificates are never encrypted",
            index + 1
        )));
    }
    check_certificate_der(&block.data)
        .map_err(|why| PkiError::BadCertificate(format!("certificate {}: {why}", index + 1)))?;
    Ok(block.data.to_vec())
}

/// One DER certificate as a chain of one.
pub(super) fn certificate_from_der(der: Vec<u8>) -> Result<CertChain, PkiError> {
    check_certificate_der(&der).map_err(PkiError::BadCertificate)?;
    Ok(CertChain {
        pem: pem_blocks::encode("CERTIFICATE", &der),
        ders: vec![der],
    })
}

/// Checks that the bytes are exactly one X.509 certificate, nothing before or after it.
fn check_certificate_der(der: &[u8]) -> Result<(), String> {
    parse_certificate(der).map(|_| ())
}

fn parse_certificate(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok((rest, _)) => Err(format!(
            "{} bytes of trailing data after the DER",
            rest.len()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The certificate's SubjectPublicKeyInfo DER, as it appears in the certificate.
pub(crate) fn certificate_spki(der: &[u8]) -> Result<Vec<u8>, PkiError> {
    let cert = parse_certificate(der).map_err(PkiError::BadCertificate)?;
    Ok(cert.tbs_certificate.subject_pki.raw.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::test_support::{openssl_stdout, Material};
    use std::fs;

    fn cert_pem(m: &Material, name: &str) -> Vec<u8> {
        fs::read(m.path(name)).expect("cert file")
    }

    #[test]
    fn self_signed_certs_are_canonical_like_openssl() {
        let m = Material::new();
        for name in ["rsa", "p256", "p384", "p521", "ed25519"] {
            let input = cert_pem(&m, &format!("{name}.crt"));
            let chain = parse_cert_chain(&input).expect(name);
            let expected = openssl_stdout(&["x509", "-in", &m.path_str(&format!("{name}.crt"))]);
            assert_eq!(chain.pem(), expected, "{name}");
            assert_eq!(chain.ders().len(), 1);
            assert_eq!(chain.alias(), m.sha1_fingerprint(&format!("{name}.crt")));
        }
    }

    #[test]
    fn chain_order_is_kept_and_alias_is_the_leaf() {
        let m = Material::new();
        let chain = parse_cert_chain(&cert_pem(&m, "chain.pem")).expect("chain");
        assert_eq!(chain.ders().len(), 3);
        assert_eq!(chain.alias(), m.sha1_fingerprint("leaf.crt"));
        assert_eq!(chain.alias().len(), 40);
        let expected: String = ["leaf.crt", "inter.crt", "root.crt"]
            .iter()
            .map(|f| openssl_stdout(&["x509", "-in", &m.path_str(f)]))
            .collect();
        assert_eq!(chain.pem(), expected);
        assert_eq!(chain.leaf_der(), &chain.ders()[0][..]);
    }

    #[test]
    fn junk_comments_and_other_blocks_are_ignored() {
        let m = Material::new();
        let mut input = b"Bag Attributes\n    localKeyID: 01 02\nsubject=/CN=x\n".to_vec();
        input.extend(cert_pem(&m, "leaf.crt"));
        input.extend(b"\n# a comment\n\n");
        input.extend(fs::read(m.path("rsa.key")).expect("key"));
        input.extend(b"junk between\r\n");
        input.extend(cert_pem(&m, "inter.crt"));
        input.extend(b"trailing text without newline");
        let chain = parse_cert_chain(&input).expect("mixed");
        assert_eq!(chain.ders().len(), 2);
        assert_eq!(chain.alias(), m.sha1_fingerprint("leaf.crt"));
    }

    #[test]
    fn old_x509_label_is_read_trusted_is_not() {
        let m = Material::new();
        let pem = String::from_utf8(cert_pem(&m, "leaf.crt")).expect("utf8");
        let old = pem.replace("CERTIFICATE", "X509 CERTIFICATE");
        let chain = parse_cert_chain(old.as_bytes()).expect("old label");
        assert_eq!(chain.pem(), pem);
        let trusted = pem.replace("CERTIFICATE", "TRUSTED CERTIFICATE");
        assert!(matches!(
            parse_cert_chain(trusted.as_bytes()),
            Err(PkiError::WrongLabel { .. })
        ));
    }

    #[test]
    fn bad_inputs_have_precise_errors() {
        let m = Material::new();
        let pem = cert_pem(&m, "leaf.crt");
        assert_eq!(parse_cert_chain(b""), Err(PkiError::Empty));
        let random = m.random_bytes(4096);
        assert!(matches!(
            parse_cert_chain(&random),
            Err(PkiError::NotPem(_))
        ));
        let der = fs::read(m.path("leaf.der")).expect("der");
        assert!(matches!(parse_cert_chain(&der), Err(PkiError::NotPem(m)) if m.contains("DER")));
        assert!(matches!(
            parse_cert_chain(&pem[..pem.len() / 2]),
            Err(PkiError::BadPem(_))
        ));
        let key = fs::read(m.path("rsa.key")).expect("key");
        assert_eq!(
            parse_cert_chain(&key),
            Err(PkiError::WrongLabel {
                found: "PRIVATE KEY".into(),
                expected: "a CERTIFICATE block"
            })
        );
        let big = vec![b'a'; 2 << 20];
        assert!(matches!(
            parse_cert_chain(&big),
            Err(PkiError::TooLarge {
                limit: MAX_CERT_INPUT,
                ..
            })
        ));
    }

    #[test]
    fn certificate_blocks_that_are_not_x509_are_bad_certificates() {
        let not_x509 = pem_blocks::encode("CERTIFICATE", &[0x30, 0x03, 0x02, 0x01, 0x01]);
        assert!(matches!(
            parse_cert_chain(not_x509.as_bytes()),
            Err(PkiError::BadCertificate(_))
        ));
        let m = Material::new();
        let mut der = fs::read(m.path("leaf.der")).expect("der");
        der.extend([0, 0]);
        let trailing = pem_blocks::encode("CERTIFICATE", &der);
        assert!(matches!(
            parse_cert_chain(trailing.as_bytes()),
            Err(PkiError::BadCertificate(m)) if m.contains("trailing")
        ));
    }

    #[test]
    fn expired_certificates_are_accepted() {
        let m = Material::new();
        let dates = openssl_stdout(&[
            "x509",
            "-in",
            &m.path_str("expired.crt"),
            "-noout",
            "-enddate",
        ]);
        assert!(dates.contains("2001"), "{dates}");
        parse_cert_chain(&cert_pem(&m, "expired.crt")).expect("expired cert");
    }

    #[test]
    fn every_system_ca_certificate_round_trips() {
        let path = "/etc/ssl/certs/ca-certificates.crt";
        let Ok(bundle) = fs::read_to_string(path) else {
            panic!("{path} is needed by this test (package ca-certificates)");
        };
        let chain = parse_cert_chain(bundle.as_bytes()).expect("system bundle");
        let blocks: Vec<&str> = bundle
            .split_inclusive("-----END CERTIFICATE-----\n")
            .filter_map(|s| s.find("-----BEGIN CERTIFICATE-----").map(|i| &s[i..]))
            .collect();
        assert!(blocks.len() > 100, "only {} certificates", blocks.len());
        assert_eq!(chain.ders().len(), blocks.len());
        for (block, der) in blocks.iter().zip(chain.ders()) {
            assert_eq!(pem_blocks::encode("CERTIFICATE", der), *block);
        }
        assert_eq!(chain.pem(), blocks.concat());
    }
}
