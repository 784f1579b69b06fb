//! The certificate layout of `X509_print_ex` with `openssl x509`'s defaults
//! (`XN_FLAG_ONELINE` names, every section shown).

use super::der::{self, tag, DerError, DerResult, Integer, Tlv};
use super::extensions;
use super::keys::{self, AlgId};
use super::names;
use super::oids;
use super::time;
use super::Sink;
use crate::pki::PkiError;

fn malformed(what: &str) -> impl Fn(DerError) -> PkiError + '_ {
    move |_| PkiError::BadCertificate(format!("malformed {what}"))
}

/// Renders a DER certificate.
pub(super) fn render(der: &[u8]) -> Result<Vec<u8>, PkiError> {
    let cert = der::read_all(der).map_err(malformed("certificate encoding"))?;
    let mut parts = cert.sequence().map_err(malformed("certificate"))?;
    let (tbs, sig_alg, signature) = read_top(&mut parts).map_err(malformed("certificate"))?;
    let tbs = Tbs::parse(&tbs).map_err(malformed("TBSCertificate"))?;

    let mut out = Vec::with_capacity(4096 + der.len() * 4);
    out.put_str("Certificate:\n    Data:\n");
    print_version(&mut out, tbs.version.as_ref());
    out.put_str("        Serial Number:");
    print_serial(&mut out, &tbs.serial);
    out.put_str("    ");
    print_signature_algorithm(&mut out, &tbs.signature, None);
    out.put_str("        Issuer: ");
    names::print_oneline(&mut out, &tbs.issuer);
    out.put_str("\n        Validity\n            Not Before: ");
    out.put_str(&time::render(&tbs.not_before));
    out.put_str("\n            Not After : ");
    out.put_str(&time::render(&tbs.not_after));
    out.put_str("\n        Subject: ");
    names::print_oneline(&mut out, &tbs.subject);
    out.put_str("\n");
    print_public_key(&mut out, &tbs.spki)?;
    for (label, uid) in [
        ("Issuer Unique ID: ", &tbs.issuer_uid),
        ("Subject Unique ID: ", &tbs.subject_uid),
    ] {
        if let Some(uid) = uid {
            out.put_str("        ");
            out.put_str(label);
            signature_dump(&mut out, uid, 12);
        }
    }
    if let Some(exts) = &tbs.extensions {
        extensions::print_extensions(&mut out, exts).map_err(malformed("extensions"))?;
    }
    print_signature_algorithm(&mut out, &sig_alg, Some(&signature));
    Ok(out)
}

/// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }.
fn read_top<'a>(parts: &mut der::Reader<'a>) -> DerResult<(Tlv<'a>, AlgId<'a>, Vec<u8>)> {
    let tbs = parts.expect(tag::SEQUENCE)?;
    let sig_alg = keys::parse_alg_id(&parts.next_tlv()?)?;
    let signature = der::bit_string(parts.expect(tag::BIT_STRING)?.content)?;
    parts.finish()?;
    Ok((tbs, sig_alg, signature))
}

/// The fields of a TBSCertificate that get printed.
struct Tbs<'a> {
    version: Option<Integer>,
    serial: Integer,
    signature: AlgId<'a>,
    issuer: Vec<names::NameEntry<'a>>,
    not_before: Tlv<'a>,
    not_after: Tlv<'a>,
    subject: Vec<names::NameEntry<'a>>,
    spki: Tlv<'a>,
    issuer_uid: Option<Vec<u8>>,
    subject_uid: Option<Vec<u8>>,
    extensions: Option<Tlv<'a>>,
}

impl<'a> Tbs<'a> {
    fn parse(tbs: &Tlv<'a>) -> DerResult<Tbs<'a>> {
        let mut f = tbs.sequence()?;
        let version = match f.next_if(|t| t.is_context(0) && t.constructed)? {
            Some(wrapper) => Some(Integer::from_content(
                der::read_all(wrapper.content)?.expect(tag::INTEGER)?,
            )?),
            None => None,
        };
        let serial = Integer::from_content(f.expect(tag::INTEGER)?.content)?;
        let signature = keys::parse_alg_id(&f.next_tlv()?)?;
        let issuer = names::read_name(&mut f)?;
        let mut validity = f.expect(tag::SEQUENCE)?.sequence()?;
        let not_before = time_field(validity.next_tlv()?)?;
        let not_after = time_field(validity.next_tlv()?)?;
        validity.finish()?;
        let subject = names::read_name(&mut f)?;
        let spki = f.expect(tag::SEQUENCE)?;
        let mut uid = |n: u32| -> DerResult<Option<Vec<u8>>> {
            match f.next_if(|t| t.is_context(n))? {
                Some(t) if !t.constructed => der::bit_string(t.content).map(Some),
                Some(_) => Err(DerError),
                None => Ok(None),
            }
        };
        let issuer_uid = uid(1)?;
        let subject_uid = uid(2)?;
        let extensions = match f.next_if(|t| t.is_context(3) && t.constructed)? {
            Some(wrapper) => Some(der::read_all(wrapper.content)?),
            None => None,
        };
        f.finish()?;
        Ok(Tbs {
            version,
            serial,
            signature,
            issuer,
            not_before,
            not_after,
            subject,
            spki,
            issuer_uid,
            subject_uid,
            extensions,
        })
    }
}

/// A validity time must be a primitive UTCTime or GeneralizedTime.
fn time_field(t: Tlv<'_>) -> DerResult<Tlv<'_>> {
    let is_time = t.is_universal(tag::UTC_TIME) || t.is_universal(tag::GENERALIZED_TIME);
    if is_time && !t.constructed {
        Ok(t)
    } else {
        Err(DerError)
    }
}

/// `Version: 3 (0x2)`; values outside v1..v3 print as `Unknown (n)`.
fn print_version(out: &mut Vec<u8>, version: Option<&Integer>) {
    // ASN1_INTEGER_get reports values it cannot represent as -1.
    let v = version.map_or(0, |v| v.to_i64().unwrap_or(-1));
    if (0..=2).contains(&v) {
        out.put_str(&format!("        Version: {} (0x{:x})\n", v + 1, v));
    } else {
        out.put_str(&format!("        Version: Unknown ({v})\n"));
    }
}

/// ` 12345 (0x3039)` when the serial fits a long (and is not -1, OpenSSL's error value),
/// otherwise colon hex of the magnitude on the next line.
fn print_serial(out: &mut Vec<u8>, serial: &Integer) {
    let small = if serial.magnitude.len() <= 8 {
        serial.to_i64().filter(|v| *v != -1)
    } else {
        None
    };
    if let Some(v) = small {
        let sign = if serial.negative { "-" } else { "" };
        let abs = v.unsigned_abs();
        out.put_str(&format!(" {sign}{abs} ({sign}0x{abs:x})\n"));
        return;
    }
    out.put_str("\n            ");
    if serial.negative {
        out.put_str(" (Negative)");
    }
    for (i, b) in serial.magnitude.iter().enumerate() {
        if i > 0 {
            out.put_str(":");
        }
        out.put_hex_byte(*b, false);
    }
    out.put_str("\n");
}

/// `X509_signature_dump`: lowercase colon hex, 18 bytes per line.
fn signature_dump(out: &mut Vec<u8>, bytes: &[u8], indent: usize) {
    for (i, b) in bytes.iter().enumerate() {
        if i % 18 == 0 {
            if i > 0 {
                out.put_str("\n");
            }
            out.put_spaces(indent);
        }
        out.put_hex_byte(*b, false);
        if i + 1 != bytes.len() {
            out.put_str(":");
        }
    }
    out.put_str("\n");
}

/// Signature algorithms whose key type has an OpenSSL `sig_print` method.
enum SigPrinter {
    Pss,
    Dsa,
    Plain,
}

fn sig_printer(oid: &[u8]) -> SigPrinter {
    match oid {
        oids::known::RSASSA_PSS => SigPrinter::Pss,
        // dsaWithSHA, dsaWithSHA1-old, dsaWithSHA1, dsa_with_SHA224, dsa_with_SHA256.
        b"\x2b\x0e\x03\x02\x0d"
        | b"\x2b\x0e\x03\x02\x1b"
        | b"\x2a\x86\x48\xce\x38\x04\x03"
        | b"\x60\x86\x48\x01\x65\x03\x04\x03\x01"
        | b"\x60\x86\x48\x01\x65\x03\x04\x03\x02" => SigPrinter::Dsa,
        _ => SigPrinter::Plain,
    }
}

/// `X509_signature_print`: the algorithm, PSS parameters or DSA `r`/`s` where OpenSSL
/// decodes them, and the value dump when a signature is given.
fn print_signature_algorithm(out: &mut Vec<u8>, alg: &AlgId<'_>, signature: Option<&[u8]>) {
    out.put_str("    Signature Algorithm: ");
    out.put_str(&oids::long_name(alg.oid));
    if signature.is_some() {
        out.put_str("\n    Signature Value:");
    }
    match sig_printer(alg.oid) {
        SigPrinter::Pss => print_pss_parameters(out, alg.params.as_ref(), 8),
        SigPrinter::Dsa => {
            if let Some((r, s)) = signature.and_then(dsa_signature) {
                out.put_str("\n");
                bn_print(out, "r:   ", &r, 8);
                bn_print(out, "s:   ", &s, 8);
                return;
            }
            out.put_str("\n");
        }
        SigPrinter::Plain => out.put_str("\n"),
    }
    if let Some(sig) = signature {
        signature_dump(out, sig, 8);
    }
}

/// `rsa_pss_param_print` for a signature (not a key): note the odd indentation, which
/// puts blanks at the end of the first line and before "Salt Length".
fn print_pss_parameters(out: &mut Vec<u8>, params: Option<&Tlv<'_>>, indent: usize) {
    out.put_spaces(indent);
    let Some(pss) = keys::decode_pss(params) else {
        out.put_str("(INVALID PSS PARAMETERS)\n");
        return;
    };
    out.put_str("\n");
    out.put_spaces(indent);
    out.put_str("Hash Algorithm: ");
    match &pss.hash {
        Some(hash) => out.put_str(&oids::long_name(hash.oid)),
        None => out.put_str("sha1 (default)"),
    }
    out.put_str("\n");
    out.put_spaces(indent);
    out.put_str("Mask Algorithm: ");
    match (&pss.mask_gen, &pss.mask_hash) {
        (Some(mgf), Some(hash)) => {
            out.put_str(&oids::long_name(mgf.oid));
            out.put_str(" with ");
            out.put_str(&oids::long_name(hash.oid));
        }
        (Some(mgf), None) => {
            out.put_str(&oids::long_name(mgf.oid));
            out.put_str(" with INVALID");
        }
        (None, _) => out.put_str("mgf1 with sha1 (default)"),
    }
    out.put_str("\n");
    out.put_spaces(indent);
    out.put_str(" Salt Length: 0x");
    match &pss.salt_length {
        Some(n) => integer_hex(out, n),
        None => out.put_str("14 (default)"),
    }
    out.put_str("\n");
    out.put_spaces(indent);
    out.put_str("Trailer Field: 0x");
    match &pss.trailer_field {
        Some(n) => integer_hex(out, n),
        None => out.put_str("01 (default)"),
    }
    out.put_str("\n");
}

/// `i2a_ASN1_INTEGER`: uppercase hex of the magnitude, a backslash-newline every 35 bytes.
fn integer_hex(out: &mut Vec<u8>, n: &Integer) {
    if n.negative {
        out.put_str("-");
    }
    for (i, b) in n.magnitude.iter().enumerate() {
        if i != 0 && i % 35 == 0 {
            out.put_str("\\\n");
        }
        out.put_hex_byte(*b, true);
    }
}

/// A DSA-Sig-Value: two non-negative INTEGERs filling the signature.
fn dsa_signature(sig: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut fields = der::read_all(sig).ok()?.sequence().ok()?;
    let mut next = || -> Option<Vec<u8>> {
        let n = Integer::from_content(fields.expect(tag::INTEGER).ok()?.content).ok()?;
        (!n.negative).then(|| n.magnitude.clone())
    };
    let r = next()?;
    let s = next()?;
    fields.finish().ok()?;
    Some((r, s))
}

/// `ASN1_bn_print` of a non-negative number.
fn bn_print(out: &mut Vec<u8>, label: &str, magnitude: &[u8], indent: usize) {
    let magnitude = der::strip_leading_zeros(magnitude);
    out.put_spaces(indent);
    if magnitude.is_empty() {
        out.put_str(label);
        out.put_str(" 0\n");
        return;
    }
    if magnitude.len() <= 8 {
        let v = magnitude
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        out.put_str(&format!("{label} {v} (0x{v:x})\n"));
        return;
    }
    out.put_str(label);
    out.put_str("\n");
    let mut bytes = Vec::with_capacity(magnitude.len() + 1);
    if magnitude.first().is_some_and(|b| b & 0x80 != 0) {
        bytes.push(0);
    }
    bytes.extend_from_slice(magnitude);
    for (i, b) in bytes.iter().enumerate() {
        if i % 15 == 0 {
            if i > 0 {
                out.put_str("\n");
            }
            out.put_spaces(indent + 4);
        }
        out.put_hex_byte(*b, false);
        if i + 1 != bytes.len() {
            out.put_str(":");
        }
    }
    out.put_str("\n");
}

/// The Subject Public Key Info block: algorithm line, then the key text at indent 16.
fn print_public_key(out: &mut Vec<u8>, spki: &Tlv<'_>) -> Result<(), PkiError> {
    let alg = spki
        .sequence()
        .and_then(|mut f| keys::parse_alg_id(&f.next_tlv()?))
        .map_err(malformed("subject public key info"))?;
    out.put_str("        Subject Public Key Info:\n            Public Key Algorithm: ");
    out.put_str(&oids::long_name(alg.oid));
    out.put_str("\n");
    let mut body = Vec::new();
    keys::public_key_text(&mut body, spki).map_err(keys::KeyError::for_certificate)?;
    // OpenSSL prints the key through a prefix BIO that indents every line.
    for line in body.split_inclusive(|b| *b == b'\n') {
        out.put_spaces(16);
        out.extend_from_slice(line);
    }
    Ok(())
}
