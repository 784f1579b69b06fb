//! Certificate revocation lists, as VECS keeps them in TRUSTED_ROOT_CRLS.
//!
//! VECS reads a CRL with `PEM_read_bio_X509_CRL` and stores it as PEM; CRLs fetched from the
//! directory arrive as DER, so both forms are accepted here. The alias is the SHA-1 of the DER.

use super::digest::sha1_hex;
use super::pem_blocks::{self, PemBlock};
use super::PkiError;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

/// Large CAs publish CRLs of tens of megabytes; they must still fit.
pub const MAX_CRL_INPUT: usize = 128 << 20;

pub(super) const CRL_LABEL: &str = "X509 CRL";

/// A validated CRL in the form the store keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crl {
    pem: String,
    der: Vec<u8>,
    issuer: Vec<u8>,
}

impl Crl {
    /// Canonical PEM as `PEM_write_bio_X509_CRL` writes it, ending with a newline.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// VECS's CRL alias (`X509_CRL_digest` with SHA-1), lower-case hex.
    pub fn alias(&self) -> String {
        sha1_hex(&self.der)
    }

    /// The issuer Name exactly as encoded in the CRL, to find the CA it belongs to.
    pub fn issuer_der(&self) -> Vec<u8> {
        self.issuer.clone()
    }
}

/// Reads a CRL given as PEM (the first "X509 CRL" block) or as raw DER.
pub fn parse_crl(input: &[u8]) -> Result<Crl, PkiError> {
    pem_blocks::check_input(input, MAX_CRL_INPUT)?;
    if !pem_blocks::has_begin_line(input) {
        return crl_from_der(input.to_vec());
    }
    let blocks = pem_blocks::read_blocks(input)?;
    let found = blocks.first().map(|b| b.label.clone()).unwrap_or_default();
    let block = blocks
        .into_iter()
        .find(|b| b.label == CRL_LABEL)
        .ok_or(PkiError::WrongLabel {
            found,
            expected: "an X509 CRL block",
        })?;
    crl_from_block(block)
}

fn crl_from_block(block: PemBlock) -> Result<Crl, PkiError> {
    if block.has_headers {
        return Err(PkiError::BadPem(
            "the X509 CRL block has PEM headers".into(),
        ));
    }
    crl_from_der(block.data.to_vec())
}

pub(super) fn crl_from_der(der: Vec<u8>) -> Result<Crl, PkiError> {
    let issuer = match CertificateRevocationList::from_der(&der) {
        Ok(([], crl)) => crl.tbs_cert_list.issuer.as_raw().to_vec(),
        Ok((rest, _)) => {
            return Err(PkiError::BadCrl(format!(
                "{} bytes of trailing data after the DER",
                rest.len()
            )))
        }
        Err(e) => return Err(PkiError::BadCrl(e.to_string())),
    };
    Ok(Crl {
        pem: pem_blocks::encode(CRL_LABEL, &der),
        der,
        issuer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::test_support::{openssl, openssl_stdout, Material};

    #[test]
    fn pem_and_der_crls_are_canonical_like_openssl() {
        let m = Material::new();
        let expected = openssl_stdout(&["crl", "-in", &m.path_str("crl.pem")]);
        let from_pem = parse_crl(&m.read("crl.pem")).expect("pem crl");
        assert_eq!(from_pem.pem(), expected);
        let from_der = parse_crl(&m.read("crl.der")).expect("der crl");
        assert_eq!(from_der, from_pem);
        assert_eq!(from_pem.der(), &m.read("crl.der")[..]);
        let fingerprint = openssl_stdout(&[
            "crl",
            "-in",
            &m.path_str("crl.pem"),
            "-noout",
            "-fingerprint",
            "-sha1",
        ]);
        let fingerprint = fingerprint
            .trim()
            .rsplit('=')
            .next()
            .expect("fp")
            .replace(':', "")
            .to_lowercase();
        assert_eq!(from_pem.alias(), fingerprint);
    }

    #[test]
    fn issuer_is_the_raw_name_of_the_ca() {
        let m = Material::new();
        let crl = parse_crl(&m.read("crl.pem")).expect("crl");
        let root = openssl(&["x509", "-in", &m.path_str("root.crt"), "-outform", "DER"]);
        let subject = root
            .windows(crl.issuer_der().len())
            .any(|w| w == crl.issuer_der());
        assert!(subject, "issuer Name should appear in the CA certificate");
        assert_eq!(crl.issuer_der()[0], 0x30);
    }

    #[test]
    fn crl_among_other_text_is_found() {
        let m = Material::new();
        let mut input = b"comment\n".to_vec();
        input.extend(m.read("root.crt"));
        input.extend(m.read("crl.pem"));
        assert!(parse_crl(&input).is_ok());
    }

    #[test]
    fn bad_inputs_have_precise_errors() {
        let m = Material::new();
        assert_eq!(parse_crl(b""), Err(PkiError::Empty));
        assert!(matches!(
            parse_crl(&m.random_bytes(512)),
            Err(PkiError::BadCrl(_))
        ));
        assert!(matches!(
            parse_crl(&m.read("root.crt")),
            Err(PkiError::WrongLabel {
                expected: "an X509 CRL block",
                ..
            })
        ));
        let pem = m.read("crl.pem");
        assert!(matches!(
            parse_crl(&pem[..pem.len() - 40]),
            Err(PkiError::BadPem(_))
        ));
        let mut der = m.read("crl.der");
        der.push(0);
        assert!(matches!(parse_crl(&der), Err(PkiError::BadCrl(_))));
        let cert_as_crl = pem_blocks::encode(CRL_LABEL, &m.read("leaf.der"));
        assert!(matches!(
            parse_crl(cert_as_crl.as_bytes()),
            Err(PkiError::BadCrl(_))
        ));
        let big = vec![0u8; MAX_CRL_INPUT + 1];
        assert!(matches!(parse_crl(&big), Err(PkiError::TooLarge { .. })));
    }
}
