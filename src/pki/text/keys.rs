//! Public and private keys as OpenSSL 3's text encoders print them
//! (`providers/implementations/encode_decode/encode_key2text.c`).
//!
//! Public keys appear inside `x509 -text` (each line indented by the caller); private keys
//! are the whole of `pkey -text -noout`. Key material is written straight into the sink.

use super::curves::{self, Curve};
use super::der::{self, tag, DerError, DerResult, Integer, Reader, Tlv};
use super::oids::{self, known};
use super::Sink;
use crate::pki::PkiError;

/// Why a key could not be rendered; callers turn it into the right [`PkiError`].
#[derive(Debug)]
pub(super) enum KeyError {
    /// The encoding is not what OpenSSL would decode.
    Malformed(&'static str),
    /// A key type or parameter set this module does not render.
    Unsupported(String),
}

impl From<DerError> for KeyError {
    fn from(_: DerError) -> Self {
        KeyError::Malformed("malformed DER")
    }
}

impl KeyError {
    pub fn for_certificate(self) -> PkiError {
        match self {
            KeyError::Malformed(what) => {
                PkiError::BadCertificate(format!("subject public key: {what}"))
            }
            KeyError::Unsupported(what) => PkiError::UnsupportedKey(what),
        }
    }

    fn for_private_key(self) -> PkiError {
        match self {
            KeyError::Malformed(what) => PkiError::BadKey(what.to_string()),
            KeyError::Unsupported(what) => PkiError::UnsupportedKey(what),
        }
    }
}

type KeyResult<T> = Result<T, KeyError>;

fn curve_for(params: Option<&Tlv<'_>>) -> KeyResult<Curve> {
    let oid = match params {
        Some(p) if p.is_universal(tag::OID) => p.content,
        // Explicit curve parameters (a SEQUENCE) are rare and not rendered here.
        _ => return Err(KeyError::Unsupported("EC key without a named curve".into())),
    };
    curves::by_oid(oid)
        .ok_or_else(|| KeyError::Unsupported(format!("EC curve {}", oids::dotted(oid))))
}

/// An AlgorithmIdentifier: OID content octets and optional parameters.
#[derive(Debug, Clone, Copy)]
pub(super) struct AlgId<'a> {
    pub oid: &'a [u8],
    pub params: Option<Tlv<'a>>,
}

pub(super) fn parse_alg_id<'a>(tlv: &Tlv<'a>) -> DerResult<AlgId<'a>> {
    let mut fields = tlv.sequence()?;
    let oid = fields.expect(tag::OID)?.content;
    der::check_oid(oid)?;
    let params = fields.next_opt()?;
    fields.finish()?;
    Ok(AlgId { oid, params })
}

/// The ECX key types: label and key length in bytes.
fn ecx_kind(oid: &[u8]) -> Option<(&'static str, usize)> {
    match oid {
        known::ED25519 => Some(("ED25519", 32)),
        known::ED448 => Some(("ED448", 57)),
        known::X25519 => Some(("X25519", 32)),
        known::X448 => Some(("X448", 56)),
        _ => None,
    }
}

/// `print_labeled_bignum` for the non-negative numbers of a key: small values in decimal
/// and hex, large ones as a colon dump of 15 bytes per line with a leading `00` when the
/// top bit is set.
fn labeled_bignum(out: &mut dyn Sink, label: Option<&str>, value: &[u8]) {
    let (label, space) = match label {
        Some(label) => (label, " "),
        None => ("", ""),
    };
    let magnitude = der::strip_leading_zeros(value);
    out.put_str(label);
    if magnitude.is_empty() {
        out.put_str(space);
        out.put_str("0\n");
        return;
    }
    if magnitude.len() <= 8 {
        let word = magnitude
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        out.put_str(space);
        out.put_dec(word);
        out.put_str(" (0x");
        out.put_hex_u64(word);
        out.put_str(")\n");
        return;
    }
    out.put_str("\n");
    out.put_str("    ");
    let mut count = 0usize;
    let mut separator = false;
    if magnitude.first().is_some_and(|b| *b >= 0x80) {
        out.put_str("00");
        count = 1;
        separator = true;
    }
    for byte in magnitude {
        if count.is_multiple_of(15) && count > 0 {
            out.put_str(":\n    ");
            separator = false;
        }
        if separator {
            out.put_str(":");
        }
        out.put_hex_byte(*byte, false);
        count += 1;
        separator = true;
    }
    out.put_str("\n");
}

/// `print_labeled_buf`: a label line, then the bytes 15 per line.
fn labeled_buf(out: &mut dyn Sink, label: &str, bytes: &[u8]) {
    out.put_str(label);
    out.put_str("\n");
    for (i, byte) in bytes.iter().enumerate() {
        if i % 15 == 0 {
            if i > 0 {
                out.put_str("\n");
            }
            out.put_str("    ");
        }
        out.put_hex_byte(*byte, false);
        if i + 1 != bytes.len() {
            out.put_str(":");
        }
    }
    out.put_str("\n");
}

/// An unsigned big number as OpenSSL's BIGNUM ASN.1 type reads an INTEGER (content octets
/// taken as unsigned magnitude).
fn read_bignum<'a>(fields: &mut Reader<'a>) -> DerResult<&'a [u8]> {
    let content = fields.expect(tag::INTEGER)?.content;
    if content.is_empty() {
        return Err(DerError);
    }
    Ok(der::strip_leading_zeros(content))
}

/// The key body of a SubjectPublicKeyInfo, as `EVP_PKEY_print_public` prints it at
/// indent 0 (the certificate printer indents each line).
pub(super) fn public_key_text(out: &mut dyn Sink, spki: &Tlv<'_>) -> KeyResult<()> {
    let mut fields = spki.sequence()?;
    let alg = parse_alg_id(&fields.next_tlv()?)?;
    let key = der::bit_string(fields.expect(tag::BIT_STRING)?.content)?;
    fields.finish()?;
    match alg.oid {
        known::RSA_ENCRYPTION | known::RSASSA_PSS => rsa_public(out, &alg, &key),
        known::EC_PUBLIC_KEY => ec_public(out, &alg, &key),
        known::DSA => dsa_public(out, alg.params.as_ref(), &key),
        oid => match ecx_kind(oid) {
            Some(kind) => ecx_public(out, &alg, kind, &key),
            None => Err(KeyError::Unsupported(format!(
                "public key algorithm {}",
                oids::long_name(oid)
            ))),
        },
    }
}

/// RSAPublicKey: size, modulus and exponent, plus an RSA-PSS key's restrictions.
fn rsa_public(out: &mut dyn Sink, alg: &AlgId<'_>, key: &[u8]) -> KeyResult<()> {
    let mut rsa = der::read_all(key)?.sequence()?;
    let n = read_bignum(&mut rsa)?;
    let e = read_bignum(&mut rsa)?;
    rsa.finish()?;
    out.put_str("Public-Key: (");
    out.put_dec(der::bit_length(n) as u64);
    out.put_str(" bit)\n");
    labeled_bignum(out, Some("Modulus:"), n);
    labeled_bignum(out, Some("Exponent:"), e);
    if alg.oid == known::RSASSA_PSS {
        pss_key_restrictions(out, alg.params.as_ref())?;
    }
    Ok(())
}

/// An EC point on a named curve, printed in the encoding it came in.
fn ec_public(out: &mut dyn Sink, alg: &AlgId<'_>, point: &[u8]) -> KeyResult<()> {
    let curve = curve_for(alg.params.as_ref())?;
    check_point(point)?;
    out.put_str("Public-Key: (");
    out.put_dec(curve.order_bits as u64);
    out.put_str(" bit)\n");
    labeled_buf(out, "pub:", point);
    curve_lines(out, &curve);
    Ok(())
}

/// X25519, X448, Ed25519 and Ed448: the raw public key, which must have no parameters.
fn ecx_public(
    out: &mut dyn Sink,
    alg: &AlgId<'_>,
    (label, len): (&str, usize),
    key: &[u8],
) -> KeyResult<()> {
    if alg.params.is_some() || key.len() != len {
        return Err(KeyError::Malformed("bad ECX public key"));
    }
    out.put_str(label);
    out.put_str(" Public-Key:\n");
    labeled_buf(out, "pub:", key);
    Ok(())
}

/// A point encoding must at least name a known form (OpenSSL also checks the curve
/// equation, which needs arithmetic this module deliberately does not do).
fn check_point(point: &[u8]) -> KeyResult<()> {
    match point.first() {
        Some(2 | 3 | 4 | 6 | 7) if point.len() > 1 => Ok(()),
        _ => Err(KeyError::Malformed("bad EC point")),
    }
}

fn curve_lines(out: &mut dyn Sink, curve: &Curve) {
    out.put_str("ASN1 OID: ");
    out.put_str(curve.name);
    out.put_str("\n");
    if let Some(nist) = curve.nist {
        out.put_str("NIST CURVE: ");
        out.put_str(nist);
        out.put_str("\n");
    }
}

/// DSA: `pub:` then the domain parameters.
fn dsa_public(out: &mut dyn Sink, params: Option<&Tlv<'_>>, key: &[u8]) -> KeyResult<()> {
    let y = dsa_public_value(key)?;
    let (p, q, g) = dsa_params(params)?;
    out.put_str("Public-Key: (");
    out.put_dec(der::bit_length(p) as u64);
    out.put_str(" bit)\n");
    labeled_bignum(out, Some("pub: "), y);
    labeled_bignum(out, Some("P:   "), p);
    labeled_bignum(out, Some("Q:   "), q);
    labeled_bignum(out, Some("G:   "), g);
    Ok(())
}

/// The INTEGER inside a DSA public key BIT STRING.
fn dsa_public_value(key: &[u8]) -> KeyResult<&[u8]> {
    let tlv = der::read_all(key)?;
    if !tlv.is_universal(tag::INTEGER) || tlv.content.is_empty() {
        return Err(KeyError::Malformed("bad DSA public key"));
    }
    Ok(der::strip_leading_zeros(tlv.content))
}

/// Dss-Parms `(p, q, g)`. Without inline parameters OpenSSL cannot load the key
/// (it prints "Unable to load Public Key" with its error queue).
fn dsa_params<'a>(params: Option<&Tlv<'a>>) -> KeyResult<(&'a [u8], &'a [u8], &'a [u8])> {
    let Some(params) = params.filter(|p| p.is_universal(tag::SEQUENCE)) else {
        return Err(KeyError::Malformed("DSA key without parameters"));
    };
    let mut pqg = params.sequence()?;
    let p = read_bignum(&mut pqg)?;
    let q = read_bignum(&mut pqg)?;
    let g = read_bignum(&mut pqg)?;
    pqg.finish()?;
    Ok((p, q, g))
}

/// RSASSA-PSS-params, decoded as `RSA_PSS_PARAMS` with its OPTIONAL fields.
#[derive(Debug, Default)]
pub(super) struct PssParams<'a> {
    pub hash: Option<AlgId<'a>>,
    pub mask_gen: Option<AlgId<'a>>,
    /// The MGF1 hash, decoded from `mask_gen`'s parameters.
    pub mask_hash: Option<AlgId<'a>>,
    pub salt_length: Option<Integer>,
    pub trailer_field: Option<Integer>,
}

/// `ossl_rsa_pss_decode`: `None` where OpenSSL reports invalid PSS parameters.
pub(super) fn decode_pss<'a>(params: Option<&Tlv<'a>>) -> Option<PssParams<'a>> {
    let seq = params.filter(|p| p.is_universal(tag::SEQUENCE))?;
    let mut fields = seq.sequence().ok()?;
    let mut pss = PssParams::default();
    fn explicit<'a>(fields: &mut Reader<'a>, n: u32) -> DerResult<Option<Tlv<'a>>> {
        match fields.next_if(|t| t.is_context(n) && t.constructed)? {
            Some(wrapper) => Ok(Some(der::read_all(wrapper.content)?)),
            None => Ok(None),
        }
    }
    let hash = explicit(&mut fields, 0).ok()?;
    let mask = explicit(&mut fields, 1).ok()?;
    let salt = explicit(&mut fields, 2).ok()?;
    let trailer = explicit(&mut fields, 3).ok()?;
    fields.finish().ok()?;
    if let Some(hash) = hash {
        pss.hash = Some(parse_alg_id(&hash).ok()?);
    }
    if let Some(mask) = mask {
        let mask = parse_alg_id(&mask).ok()?;
        // The MGF must be MGF1 with an AlgorithmIdentifier (SEQUENCE) as parameter.
        if mask.oid != known::MGF1 {
            return None;
        }
        let inner = mask.params.filter(|p| p.is_universal(tag::SEQUENCE))?;
        pss.mask_hash = Some(parse_alg_id(&inner).ok()?);
        pss.mask_gen = Some(mask);
    }
    let integer = |tlv: Tlv<'_>| -> Option<Integer> {
        Integer::from_content(tlv.expect(tag::INTEGER).ok()?).ok()
    };
    if let Some(salt) = salt {
        pss.salt_length = Some(integer(salt)?);
    }
    if let Some(trailer) = trailer {
        pss.trailer_field = Some(integer(trailer)?);
    }
    Some(pss)
}

/// Digest names used by the RSA-PSS key restrictions block.
fn pss_digest_name(oid: &[u8]) -> Option<&'static str> {
    let (sn, _) = oids::lookup(oid)?;
    Some(match sn {
        "SHA1" => "SHA1",
        "SHA224" => "SHA2-224",
        "SHA256" => "SHA2-256",
        "SHA384" => "SHA2-384",
        "SHA512" => "SHA2-512",
        "SHA512-224" => "SHA2-512/224",
        "SHA512-256" => "SHA2-512/256",
        _ => return None,
    })
}

/// The "other parameters" of an RSA-PSS key: unrestricted, or the parameter block.
fn pss_key_restrictions(out: &mut dyn Sink, params: Option<&Tlv<'_>>) -> KeyResult<()> {
    let Some(params) = params else {
        out.put_str("No PSS parameter restrictions\n");
        return Ok(());
    };
    let pss = decode_pss(Some(params)).ok_or(KeyError::Malformed("bad RSA-PSS parameters"))?;
    let unsupported = || KeyError::Unsupported("RSA-PSS key restrictions".into());
    let hash = match &pss.hash {
        Some(alg) => pss_digest_name(alg.oid).ok_or_else(unsupported)?,
        None => "SHA1",
    };
    let mgf1_hash = match &pss.mask_hash {
        Some(alg) => pss_digest_name(alg.oid).ok_or_else(unsupported)?,
        None => "SHA1",
    };
    let salt = match &pss.salt_length {
        Some(v) if !v.negative => v.to_i64().ok_or_else(unsupported)?,
        Some(_) => return Err(KeyError::Malformed("negative PSS salt length")),
        None => 20,
    };
    if pss
        .trailer_field
        .as_ref()
        .is_some_and(|t| t.to_i64() != Some(1))
    {
        return Err(KeyError::Malformed("bad PSS trailer field"));
    }
    out.put_str("PSS parameter restrictions:\n  Hash Algorithm: ");
    out.put_str(hash);
    out.put_str(if hash == "SHA1" { " (default)\n" } else { "\n" });
    out.put_str("  Mask Algorithm: MGF1 with ");
    out.put_str(mgf1_hash);
    out.put_str(if mgf1_hash == "SHA1" {
        " (default)\n"
    } else {
        "\n"
    });
    out.put_str("  Minimum Salt Length: ");
    out.put_dec(salt.unsigned_abs());
    out.put_str(if salt == 20 { " (default)\n" } else { "\n" });
    out.put_str("  Trailer Field: 0x1 (default)\n");
    Ok(())
}

/// `pkey -text -noout` for a PKCS#8 PrivateKeyInfo (or OneAsymmetricKey).
pub(super) fn private_key_text(
    out: &mut dyn Sink,
    pkcs8_der: &[u8],
    spki_der: &[u8],
) -> Result<(), PkiError> {
    render_private(out, pkcs8_der, spki_der).map_err(KeyError::for_private_key)
}

fn render_private(out: &mut dyn Sink, pkcs8_der: &[u8], spki_der: &[u8]) -> KeyResult<()> {
    let info = der::read_all(pkcs8_der)?;
    let mut fields = info.sequence()?;
    let version = Integer::from_content(fields.expect(tag::INTEGER)?.content)?;
    if version.to_i64().is_none_or(|v| !(0..=1).contains(&v)) {
        return Err(KeyError::Malformed("unknown PKCS#8 version"));
    }
    let alg = parse_alg_id(&fields.next_tlv()?)?;
    let private = fields.expect(tag::OCTET_STRING)?.content;
    // [0] attributes and [1] publicKey may follow; OpenSSL ignores both for printing.

    let spki = der::read_all(spki_der)?;
    let mut spki_fields = spki.sequence()?;
    let spki_alg = parse_alg_id(&spki_fields.next_tlv()?)?;
    let spki_key = der::bit_string(spki_fields.expect(tag::BIT_STRING)?.content)?;
    spki_fields.finish()?;
    if spki_alg.oid != alg.oid {
        return Err(KeyError::Malformed(
            "public key does not belong to the private key",
        ));
    }

    match alg.oid {
        known::RSA_ENCRYPTION | known::RSASSA_PSS => {
            rsa_private(out, private)?;
            if alg.oid == known::RSASSA_PSS {
                pss_key_restrictions(out, alg.params.as_ref())?;
            }
            Ok(())
        }
        known::EC_PUBLIC_KEY => ec_private(out, &alg, private, &spki_key),
        known::DSA => dsa_private(out, &alg, private, &spki_key),
        oid => match ecx_kind(oid) {
            Some((label, len)) => {
                let inner = der::read_all(private)?.expect(tag::OCTET_STRING)?;
                if inner.len() != len || spki_key.len() != len {
                    return Err(KeyError::Malformed("bad key length"));
                }
                out.put_str(label);
                out.put_str(" Private-Key:\n");
                labeled_buf(out, "priv:", inner);
                labeled_buf(out, "pub:", &spki_key);
                Ok(())
            }
            None => Err(KeyError::Unsupported(format!(
                "private key algorithm {}",
                oids::long_name(oid)
            ))),
        },
    }
}

/// DSA: the private INTEGER, the public value from the SPKI, then the domain parameters.
fn dsa_private(
    out: &mut dyn Sink,
    alg: &AlgId<'_>,
    private: &[u8],
    spki_key: &[u8],
) -> KeyResult<()> {
    let x = {
        let tlv = der::read_all(private)?;
        if !tlv.is_universal(tag::INTEGER) || tlv.content.is_empty() {
            return Err(KeyError::Malformed("bad DSA private key"));
        }
        der::strip_leading_zeros(tlv.content)
    };
    let y = dsa_public_value(spki_key)?;
    let (p, q, g) = dsa_params(alg.params.as_ref())?;
    out.put_str("Private-Key: (");
    out.put_dec(der::bit_length(p) as u64);
    out.put_str(" bit)\n");
    labeled_bignum(out, Some("priv:"), x);
    labeled_bignum(out, Some("pub: "), y);
    labeled_bignum(out, Some("P:   "), p);
    labeled_bignum(out, Some("Q:   "), q);
    labeled_bignum(out, Some("G:   "), g);
    Ok(())
}

/// RSAPrivateKey: all CRT components, plus any extra primes of a multi-prime key.
fn rsa_private(out: &mut dyn Sink, private: &[u8]) -> KeyResult<()> {
    let mut fields = der::read_all(private)?.sequence()?;
    let _version = fields.expect(tag::INTEGER)?;
    let mut parts = Vec::with_capacity(8);
    for _ in 0..8 {
        parts.push(read_bignum(&mut fields)?);
    }
    // Version 1 keys list further primes as (prime, exponent, coefficient) triples.
    let mut extra: Vec<[&[u8]; 3]> = Vec::new();
    if let Some(others) = fields.next_opt()? {
        let mut triples = others.sequence()?;
        while let Some(triple) = triples.next_opt()? {
            let mut t = triple.sequence()?;
            let r = read_bignum(&mut t)?;
            let d = read_bignum(&mut t)?;
            let c = read_bignum(&mut t)?;
            t.finish()?;
            extra.push([r, d, c]);
        }
    }
    fields.finish()?;
    let [n, e, d, p, q, dp, dq, qinv] = parts[..] else {
        return Err(KeyError::Malformed("bad RSA key"));
    };
    out.put_str("Private-Key: (");
    out.put_dec(der::bit_length(n) as u64);
    out.put_str(" bit, ");
    out.put_dec(2 + extra.len() as u64);
    out.put_str(" primes)\n");
    labeled_bignum(out, Some("modulus:"), n);
    labeled_bignum(out, Some("publicExponent:"), e);
    labeled_bignum(out, Some("privateExponent:"), d);
    labeled_bignum(out, Some("prime1:"), p);
    labeled_bignum(out, Some("prime2:"), q);
    labeled_bignum(out, Some("exponent1:"), dp);
    labeled_bignum(out, Some("exponent2:"), dq);
    labeled_bignum(out, Some("coefficient:"), qinv);
    for (i, [r, d, c]) in extra.iter().enumerate() {
        let index = i as u64 + 3;
        for (name, value) in [("prime", r), ("exponent", d), ("coefficient", c)] {
            out.put_str(name);
            out.put_dec(index);
            out.put_str(":");
            labeled_bignum(out, None, value);
        }
    }
    Ok(())
}

/// ECPrivateKey: the scalar padded to the order size, the public point (embedded one
/// first, as OpenSSL keeps its encoding, else the caller's), then the curve.
fn ec_private(
    out: &mut dyn Sink,
    alg: &AlgId<'_>,
    private: &[u8],
    spki_point: &[u8],
) -> KeyResult<()> {
    let mut fields = der::read_all(private)?.sequence()?;
    let _version = fields.expect(tag::INTEGER)?;
    let scalar = fields.expect(tag::OCTET_STRING)?.content;
    let params = fields.next_if(|t| t.is_context(0))?;
    let embedded = fields.next_if(|t| t.is_context(1))?;
    fields.finish()?;
    // The curve comes from the PKCS#8 algorithm, or from the key's own [0] parameters.
    let inner_params = match params {
        Some(wrapper) => Some(der::read_all(wrapper.content)?),
        None => None,
    };
    let curve = curve_for(alg.params.as_ref().or(inner_params.as_ref()))?;
    let point = match embedded {
        Some(wrapper) => der::bit_string(der::read_all(wrapper.content)?.expect(tag::BIT_STRING)?)?,
        None => spki_point.to_vec(),
    };
    check_point(&point)?;
    let width = curve.order_bits.div_ceil(8);
    let scalar = der::strip_leading_zeros(scalar);
    if scalar.len() > width {
        return Err(KeyError::Malformed("EC private scalar too long"));
    }
    out.put_str("Private-Key: (");
    out.put_dec(curve.order_bits as u64);
    out.put_str(" bit)\n");
    // Sized up front so the scalar is never left behind by a reallocation.
    let mut padded = zeroize::Zeroizing::new(Vec::with_capacity(width));
    padded.resize(width - scalar.len(), 0u8);
    padded.extend_from_slice(scalar);
    labeled_buf(out, "priv:", &padded);
    labeled_buf(out, "pub:", &point);
    curve_lines(out, &curve);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bignum(label: Option<&str>, bytes: &[u8]) -> String {
        let mut out = Vec::new();
        labeled_bignum(&mut out, label, bytes);
        String::from_utf8(out).expect("ascii")
    }

    #[test]
    fn bignum_forms() {
        assert_eq!(
            bignum(Some("Exponent:"), &[1, 0, 1]),
            "Exponent: 65537 (0x10001)\n"
        );
        assert_eq!(bignum(Some("x:"), &[0]), "x: 0\n");
        assert_eq!(bignum(None, &[]), "0\n");
        let big: Vec<u8> = (0x80..0x91).collect();
        assert_eq!(
            bignum(Some("m:"), &big),
            "m:\n    00:80:81:82:83:84:85:86:87:88:89:8a:8b:8c:8d:\n    8e:8f:90\n"
        );
    }
}
