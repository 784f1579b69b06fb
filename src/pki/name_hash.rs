//! OpenSSL's name hashes, which name the files of a CApath directory (`c_rehash`,
//! `openssl rehash`): `<hash>.N` for certificates by subject, `<hash>.rN` for CRLs by issuer.
//!
//! - The current hash (`X509_NAME_hash_ex`, `openssl x509 -hash`): SHA-1 of the name's
//!   canonical encoding, its first four bytes read little-endian. The canonical encoding
//!   (`x509_name_canon` in crypto/x509/x_name.c) re-encodes every string value as a UTF8String
//!   with ASCII letters lowered, leading and trailing white space removed and inner runs of
//!   white space made one space, then concatenates the DER of each RDN's SET without the
//!   outer SEQUENCE.
//! - The old hash (`X509_NAME_hash_old`, `-subject_hash_old`, OpenSSL before 1.0): MD5 of
//!   the name's DER, read the same way.

use md5::Md5;
use sha1::{Digest, Sha1};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::revocation_list::CertificateRevocationList;

use super::PkiError;

/// Both hashes of a name, as CApath file names use them (`{:08x}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameHashes {
    pub current: u32,
    pub old: u32,
}

/// The hashes of a certificate's subject.
pub fn subject_hashes(cert_der: &[u8]) -> Result<NameHashes, PkiError> {
    let (_, cert) =
        X509Certificate::from_der(cert_der).map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    name_hashes(cert.subject()).map_err(PkiError::BadCertificate)
}

/// The hashes of a CRL's issuer.
pub fn crl_issuer_hashes(crl_der: &[u8]) -> Result<NameHashes, PkiError> {
    let (_, crl) = CertificateRevocationList::from_der(crl_der)
        .map_err(|e| PkiError::BadCrl(e.to_string()))?;
    name_hashes(crl.issuer()).map_err(PkiError::BadCrl)
}

fn name_hashes(name: &X509Name) -> Result<NameHashes, String> {
    let canonical = canonical_encoding(name)?;
    Ok(NameHashes {
        current: first_four_le(&Sha1::digest(&canonical)),
        old: first_four_le(&Md5::digest(name.as_raw())),
    })
}

fn first_four_le(digest: &[u8]) -> u32 {
    u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The string types OpenSSL canonicalises (`ASN1_MASK_CANON`), by universal tag number.
const UTF8_STRING: u32 = 12;
const PRINTABLE_STRING: u32 = 19;
const T61_STRING: u32 = 20;
const IA5_STRING: u32 = 22;
const VISIBLE_STRING: u32 = 26;
const UNIVERSAL_STRING: u32 = 28;
const BMP_STRING: u32 = 30;

fn canonical_encoding(name: &X509Name) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for rdn in name.iter() {
        let mut entries: Vec<Vec<u8>> = Vec::new();
        for ava in rdn.iter() {
            let mut entry = tlv(0x06, ava.attr_type().as_bytes());
            entry.extend(canonical_value(ava.attr_value())?);
            entries.push(tlv(0x30, &entry));
        }
        // DER orders a SET OF by the encodings of its elements.
        entries.sort_by(|a, b| der_set_order(a, b));
        out.extend(tlv(0x31, &entries.concat()));
    }
    Ok(out)
}

/// OpenSSL's `der_cmp`: bytes first, then the shorter first.
fn der_set_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let common = a.len().min(b.len());
    a[..common].cmp(&b[..common]).then(a.len().cmp(&b.len()))
}

fn canonical_value(value: &x509_parser::der_parser::asn1_rs::Any) -> Result<Vec<u8>, String> {
    let header = &value.header;
    let universal = header.class() == x509_parser::der_parser::asn1_rs::Class::Universal
        && header.is_primitive();
    let tag = header.tag().0;
    let text = match (universal, tag) {
        (true, UTF8_STRING) => std::str::from_utf8(value.data)
            .map_err(|_| "a UTF8String in the name is not UTF-8".to_string())?
            .to_string(),
        // One byte per character (OpenSSL reads them as Latin-1).
        (true, PRINTABLE_STRING | T61_STRING | IA5_STRING | VISIBLE_STRING) => {
            value.data.iter().map(|&b| char::from(b)).collect()
        }
        (true, BMP_STRING) => ucs(value.data, 2)?,
        (true, UNIVERSAL_STRING) => ucs(value.data, 4)?,
        _ => {
            // Any other type is kept as it is encoded.
            let class = header.class() as u8;
            let constructed = if header.is_constructed() { 0x20 } else { 0 };
            if tag >= 31 {
                return Err(format!("a name value with the high tag number {tag}"));
            }
            return Ok(tlv((class << 6) | constructed | tag as u8, value.data));
        }
    };
    Ok(tlv(UTF8_STRING as u8, canonical_text(&text).as_bytes()))
}

/// UCS-2 or UCS-4, big-endian, to a string.
fn ucs(data: &[u8], width: usize) -> Result<String, String> {
    if !data.len().is_multiple_of(width) {
        return Err("a BMPString or UniversalString of odd length".into());
    }
    data.chunks(width)
        .map(|c| {
            let code = c.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
            char::from_u32(code).ok_or_else(|| format!("U+{code:X} is not a character"))
        })
        .collect()
}

/// `asn1_string_canon`: trim white space, make inner runs one space, lower ASCII letters;
/// other characters are kept.
fn canonical_text(text: &str) -> String {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.trim_matches(is_space).chars() {
        if is_space(c) {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_space = false;
        }
    }
    out
}

/// A DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::test_support::{openssl_stdout, Material};
    use crate::pki::{parse_cert_chain, parse_crl};

    fn hex(h: u32) -> String {
        format!("{h:08x}")
    }

    /// Every certificate of the system bundle hashes as `openssl x509 -hash` and
    /// `-subject_hash_old` say: names in every string type and odd spacing are there.
    #[test]
    fn the_system_bundle_hashes_as_openssl_does() {
        let bundle = std::fs::read("/etc/ssl/certs/ca-certificates.crt").expect("CA bundle");
        let chain = parse_cert_chain(&bundle).expect("bundle parses");
        let m = Material::new();
        let mut checked = 0;
        for (i, der) in chain.ders().iter().enumerate() {
            let path = m.dir_path().join(format!("c{i}.der"));
            std::fs::write(&path, der).unwrap();
            let path = path.to_string_lossy().into_owned();
            let out = openssl_stdout(&[
                "x509",
                "-inform",
                "DER",
                "-in",
                &path,
                "-noout",
                "-subject_hash",
                "-subject_hash_old",
            ]);
            let mut lines = out.lines();
            let hashes = subject_hashes(der).unwrap();
            assert_eq!(Some(hex(hashes.current).as_str()), lines.next(), "cert {i}");
            assert_eq!(Some(hex(hashes.old).as_str()), lines.next(), "cert {i}");
            checked += 1;
        }
        assert!(checked > 100, "only {checked} certificates in the bundle");
    }

    #[test]
    fn crl_issuer_hashes_as_openssl_does() {
        let m = Material::new();
        let crl = parse_crl(&m.read("crl.pem")).unwrap();
        let out = openssl_stdout(&["crl", "-in", &m.path_str("crl.pem"), "-noout", "-hash"]);
        let hashes = crl_issuer_hashes(crl.der()).unwrap();
        assert_eq!(hex(hashes.current), out.trim());
    }

    #[test]
    fn canonical_text_is_openssl_s() {
        assert_eq!(canonical_text("  Foo   BAR\t baz  "), "foo bar baz");
        assert_eq!(canonical_text("ÄÖ x"), "ÄÖ x");
        assert_eq!(canonical_text("   "), "");
    }
}
