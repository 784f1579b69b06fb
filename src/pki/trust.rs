//! Trust material as a trust source publishes it (a vmdir `cACertificate` value, a file in a
//! directory source): PEM text with any number of certificates and CRLs, or one DER
//! certificate or CRL. Each certificate is its own root; nothing is a chain here.

use super::cert::{certificate_from_der, is_certificate_label, CertChain, MAX_CERT_INPUT};
use super::crl::{crl_from_der, Crl, CRL_LABEL, MAX_CRL_INPUT};
use super::pem_blocks;
use super::PkiError;

/// One published object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustItem {
    /// A single certificate (a chain of one).
    Root(CertChain),
    Crl(Crl),
}

/// Everything in `input`: every certificate and CRL block of PEM text (other blocks, such as
/// keys, are not trust material and make the input invalid if nothing else is there), or a
/// single DER certificate or CRL. An invalid block makes the whole input invalid: a source
/// object is taken whole or not at all.
pub fn parse_trust_material(input: &[u8]) -> Result<Vec<TrustItem>, PkiError> {
    pem_blocks::check_input(input, MAX_CRL_INPUT.max(MAX_CERT_INPUT))?;
    if !pem_blocks::has_begin_line(input) {
        return match certificate_from_der(input.to_vec()) {
            Ok(root) => Ok(vec![TrustItem::Root(root)]),
            Err(cert_error) => crl_from_der(input.to_vec())
                .map(|crl| vec![TrustItem::Crl(crl)])
                .map_err(|_| {
                    log::debug!("not a DER certificate: {cert_error}");
                    PkiError::NotPem("and not a DER certificate or CRL".into())
                }),
        };
    }
    let blocks = pem_blocks::read_blocks(input)?;
    let mut items = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        if block.has_headers {
            return Err(PkiError::BadPem(format!(
                "block {} ({}) has PEM headers",
                index + 1,
                block.label
            )));
        }
        if is_certificate_label(&block.label) {
            let root = certificate_from_der(block.data.to_vec())
                .map_err(|e| PkiError::BadCertificate(format!("block {}: {e}", index + 1)))?;
            items.push(TrustItem::Root(root));
        } else if block.label == CRL_LABEL {
            let crl = crl_from_der(block.data.to_vec())
                .map_err(|e| PkiError::BadCrl(format!("block {}: {e}", index + 1)))?;
            items.push(TrustItem::Crl(crl));
        }
    }
    if items.is_empty() {
        return Err(PkiError::WrongLabel {
            found: blocks.first().map(|b| b.label.clone()).unwrap_or_default(),
            expected: "a CERTIFICATE or X509 CRL block",
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::test_support::Material;

    #[test]
    fn pem_with_certificates_and_crls_der_and_garbage() {
        let m = Material::new();
        let mut mixed = m.read("rsa.crt");
        mixed.extend_from_slice(&m.read("crl.pem"));
        mixed.extend_from_slice(&m.read("p256.crt"));
        let items = parse_trust_material(&mixed).unwrap();
        assert!(matches!(
            items.as_slice(),
            [TrustItem::Root(_), TrustItem::Crl(_), TrustItem::Root(_)]
        ));

        let der = m.read("leaf.der");
        let TrustItem::Root(root) = &parse_trust_material(&der).unwrap()[0] else {
            panic!("a DER certificate is a root");
        };
        assert_eq!(root.ders(), std::slice::from_ref(&der));
        assert!(matches!(
            parse_trust_material(&m.read("crl.der")).unwrap()[..],
            [TrustItem::Crl(_)]
        ));

        assert!(matches!(
            parse_trust_material(&m.read("rsa.key")),
            Err(PkiError::WrongLabel { .. })
        ));
        let mut spoiled = m.read("rsa.crt");
        spoiled
            .extend_from_slice(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        assert!(
            parse_trust_material(&spoiled).is_err(),
            "one bad block spoils the object"
        );
        assert!(parse_trust_material(b"garbage").is_err());
        assert!(parse_trust_material(b"").is_err());
    }
}
