//! X509v3 extensions as `X509V3_extensions_print` renders them in OpenSSL 3.0.
//!
//! Each extension OpenSSL knows has a printer of one of three shapes, mirrored here:
//! `i2s` (one string), `i2v` (name/value pairs joined by ", " or one per line) and `i2r`
//! (free-form). When the value does not decode, or a printer gives up (an empty list, a
//! NUL byte in a name), OpenSSL prints the raw extension bytes with non-printable
//! characters as dots; [`render_value`] returning `None` selects that fallback.

use super::der::{self, tag, DerResult, Integer, Tlv};
use super::general_names::{
    ip_text, parse_general_name, parse_general_names, print_general_names, GeneralName,
};
use super::names::{self, NameEntry};
use super::oids;
use super::policies::certificate_policies;
use super::{sct, time, Sink};
use x509_parser::der_parser::asn1_rs::Class;

/// Indent of extension names and of their bodies inside `x509 -text`.
const NAME_INDENT: usize = 12;
const BODY_INDENT: usize = 16;

/// Renders the `[3]` extensions of a TBSCertificate.
pub(super) fn print_extensions(out: &mut Vec<u8>, list: &Tlv<'_>) -> DerResult<()> {
    let exts = list.sequence()?.collect_all()?;
    if exts.is_empty() {
        return Ok(());
    }
    out.put_str("        X509v3 extensions:\n");
    for ext in exts {
        let mut fields = ext.sequence()?;
        let oid = fields.expect(tag::OID)?.content;
        der::check_oid(oid)?;
        let critical = match fields.next_if(|t| t.is_universal(tag::BOOLEAN))? {
            Some(flag) => der::boolean(flag.content)?,
            None => false,
        };
        let value = fields.expect(tag::OCTET_STRING)?.content;
        fields.finish()?;
        out.put_spaces(NAME_INDENT);
        out.put_str(&oids::long_name(oid));
        // OpenSSL always prints the space, hence the trailing blank on most lines.
        out.put_str(if critical { ": critical\n" } else { ": \n" });
        match render_value(oid, value) {
            Some(body) => out.extend_from_slice(&body),
            None => {
                out.put_spaces(BODY_INDENT);
                ascii_dump(out, value);
            }
        }
        out.put_str("\n");
    }
    Ok(())
}

/// `ASN1_STRING_print`: printable ASCII, CR and LF as is, everything else as '.'.
pub(super) fn ascii_dump(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend(bytes.iter().map(|&b| {
        if (b' '..=b'~').contains(&b) || b == b'\n' || b == b'\r' {
            b
        } else {
            b'.'
        }
    }));
}

/// `%s` / `%.*s`: C string semantics stop at the first NUL byte.
pub(super) fn c_str(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    bytes.get(..end).unwrap_or(bytes)
}

/// Uppercase colon-separated hex (`OPENSSL_buf2hexstr`).
fn hex_colon_upper(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        out.put_hex_byte(*b, true);
    }
    out
}

/// How OpenSSL prints one extension type.
enum Printer {
    /// An `i2s` method: the string at the body indent.
    Str(fn(&Tlv<'_>) -> Option<Vec<u8>>),
    /// An `i2v` method; `true` prints one value per line.
    Values(fn(&Tlv<'_>) -> Option<Vec<ConfValue>>, bool),
    /// An `i2r` method writing at the given indent.
    Raw(fn(&mut Vec<u8>, &Tlv<'_>, usize) -> Option<()>),
    /// Certificate Transparency lists, which are not ASN.1 inside their OCTET STRING.
    Scts,
}

fn printer_for(oid: &[u8]) -> Option<Printer> {
    const NETSCAPE: &[u8] = b"\x60\x86\x48\x01\x86\xf8\x42\x01";
    const ID_CE: &[u8] = b"\x55\x1d";
    const ID_PE: &[u8] = b"\x2b\x06\x01\x05\x05\x07\x01";
    const CT: &[u8] = b"\x2b\x06\x01\x04\x01\xd6\x79\x02\x04";
    if let Some(rest) = oid.strip_prefix(ID_CE) {
        return match rest {
            [14] => Some(Printer::Str(skid)),
            [15] => Some(Printer::Values(key_usage, false)),
            [16] => Some(Printer::Raw(private_key_usage_period)),
            [17] | [18] | [29] => Some(Printer::Values(general_names_values, false)),
            [19] => Some(Printer::Values(basic_constraints, false)),
            [20] | [27] | [54] => Some(Printer::Str(integer_string)),
            [21] => Some(Printer::Str(crl_reason)),
            [23] => Some(Printer::Raw(hold_instruction)),
            [24] => Some(Printer::Raw(invalidity_date)),
            [30] => Some(Printer::Raw(name_constraints)),
            [31] | [46] => Some(Printer::Raw(crl_distribution_points)),
            [32] => Some(Printer::Raw(certificate_policies)),
            [33] => Some(Printer::Values(policy_mappings, false)),
            [35] => Some(Printer::Values(authority_key_id, true)),
            [36] => Some(Printer::Values(policy_constraints, false)),
            [37] => Some(Printer::Values(extended_key_usage, false)),
            _ => None,
        };
    }
    if let Some(rest) = oid.strip_prefix(ID_PE) {
        return match rest {
            [1] | [11] => Some(Printer::Values(info_access, true)),
            [24] => Some(Printer::Values(tls_feature, false)),
            _ => None,
        };
    }
    if let Some(rest) = oid.strip_prefix(NETSCAPE) {
        return match rest {
            [1] => Some(Printer::Values(netscape_cert_type, false)),
            [2] | [3] | [4] | [7] | [8] | [12] | [13] => Some(Printer::Str(ia5_string)),
            _ => None,
        };
    }
    if let Some(rest) = oid.strip_prefix(CT) {
        return match rest {
            [2] | [5] => Some(Printer::Scts),
            [3] => Some(Printer::Str(ct_poison)),
            _ => None,
        };
    }
    match oid {
        // id-pkix-ocsp-nocheck: a NULL, printed as nothing at all.
        b"\x2b\x06\x01\x05\x05\x07\x30\x01\x05" => Some(Printer::Raw(ocsp_no_check)),
        // subjectSignTool and issuerSignTool (Russian qualified certificates).
        b"\x2a\x85\x03\x64\x6f" => Some(Printer::Str(utf8_string)),
        b"\x2a\x85\x03\x64\x70" => Some(Printer::Raw(issuer_sign_tool)),
        _ => None,
    }
}

/// The body of one extension at indent 16, or `None` for OpenSSL's raw fallback.
pub(super) fn render_value(oid: &[u8], value: &[u8]) -> Option<Vec<u8>> {
    let printer = printer_for(oid)?;
    let mut out = Vec::new();
    if let Printer::Scts = printer {
        sct::print_sct_list(&mut out, value, BODY_INDENT)?;
        return Some(out);
    }
    // `ASN1_item_d2i` decodes one item and ignores anything after it.
    let (item, _) = der::read(value).ok()?;
    match printer {
        Printer::Str(i2s) => {
            let text = i2s(&item)?;
            out.put_spaces(BODY_INDENT);
            out.extend_from_slice(c_str(&text));
        }
        Printer::Values(i2v, multiline) => {
            let values = i2v(&item)?;
            print_values(&mut out, &values, BODY_INDENT, multiline);
        }
        Printer::Raw(i2r) => i2r(&mut out, &item, BODY_INDENT)?,
        Printer::Scts => return None,
    }
    Some(out)
}

/// A `CONF_VALUE`: what the `i2v` printers produce.
pub(super) struct ConfValue {
    pub name: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

impl ConfValue {
    pub fn value(value: impl Into<Vec<u8>>) -> ConfValue {
        ConfValue {
            name: None,
            value: Some(value.into()),
        }
    }

    pub fn name(name: impl Into<Vec<u8>>) -> ConfValue {
        ConfValue {
            name: Some(name.into()),
            value: None,
        }
    }

    pub fn pair(name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> ConfValue {
        ConfValue {
            name: Some(name.into()),
            value: Some(value.into()),
        }
    }

    /// `x509v3_add_len_value`: values with a NUL byte make the whole printer fail.
    pub fn checked_pair(name: impl Into<Vec<u8>>, value: &[u8]) -> Option<ConfValue> {
        if value.contains(&0) {
            None
        } else {
            Some(ConfValue::pair(name, value))
        }
    }
}

/// `X509V3_EXT_val_prn`.
fn print_values(out: &mut Vec<u8>, values: &[ConfValue], indent: usize, multiline: bool) {
    if !multiline || values.is_empty() {
        out.put_spaces(indent);
        if values.is_empty() {
            out.put_str("<EMPTY>\n");
        }
    }
    for (i, v) in values.iter().enumerate() {
        if multiline {
            if i > 0 {
                out.put_str("\n");
            }
            out.put_spaces(indent);
        } else if i > 0 {
            out.put_str(", ");
        }
        match (&v.name, &v.value) {
            (None, Some(value)) => out.extend_from_slice(c_str(value)),
            (Some(name), None) => out.extend_from_slice(c_str(name)),
            (Some(name), Some(value)) => {
                out.extend_from_slice(c_str(name));
                out.put_str(":");
                out.extend_from_slice(c_str(value));
            }
            (None, None) => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// Numbers

/// `i2s_ASN1_INTEGER`: decimal below 128 bits, `0x`-prefixed uppercase hex above.
pub(super) fn integer_text(value: &Integer) -> String {
    let sign = if value.negative && !value.is_zero() {
        "-"
    } else {
        ""
    };
    let magnitude = der::strip_leading_zeros(&value.magnitude);
    if value.bits() < 128 {
        let n = magnitude
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
        format!("{sign}{n}")
    } else {
        format!("{sign}0x{}", names::hex_upper(magnitude))
    }
}

fn integer(tlv: &Tlv<'_>, tag_number: u32) -> Option<Integer> {
    if tlv.class != Class::Universal || tlv.tag != tag_number || tlv.constructed {
        return None;
    }
    Integer::from_content(tlv.content).ok()
}

/// An `[n] IMPLICIT INTEGER`.
fn implicit_integer(tlv: &Tlv<'_>) -> Option<Integer> {
    if tlv.constructed {
        return None;
    }
    Integer::from_content(tlv.content).ok()
}

fn integer_string(item: &Tlv<'_>) -> Option<Vec<u8>> {
    Some(integer_text(&integer(item, tag::INTEGER)?).into_bytes())
}

fn crl_reason(item: &Tlv<'_>) -> Option<Vec<u8>> {
    const REASONS: [(i64, &str); 10] = [
        (0, "Unspecified"),
        (1, "Key Compromise"),
        (2, "CA Compromise"),
        (3, "Affiliation Changed"),
        (4, "Superseded"),
        (5, "Cessation Of Operation"),
        (6, "Certificate Hold"),
        (8, "Remove From CRL"),
        (9, "Privilege Withdrawn"),
        (10, "AA Compromise"),
    ];
    let value = integer(item, tag::ENUMERATED)?;
    let code = value.to_i64();
    match REASONS.iter().find(|(n, _)| Some(*n) == code) {
        Some((_, name)) => Some(name.as_bytes().to_vec()),
        None => Some(integer_text(&value).into_bytes()),
    }
}

// ---------------------------------------------------------------------------------------
// Simple strings

fn skid(item: &Tlv<'_>) -> Option<Vec<u8>> {
    Some(hex_colon_upper(item.expect(tag::OCTET_STRING).ok()?))
}

/// `i2s_ASN1_IA5STRING`: empty strings make the printer fail.
fn ia5_string(item: &Tlv<'_>) -> Option<Vec<u8>> {
    let text = item.expect(tag::IA5_STRING).ok()?;
    (!text.is_empty()).then(|| text.to_vec())
}

fn utf8_string(item: &Tlv<'_>) -> Option<Vec<u8>> {
    let text = item.expect(tag::UTF8_STRING).ok()?;
    (!text.is_empty()).then(|| text.to_vec())
}

fn ct_poison(item: &Tlv<'_>) -> Option<Vec<u8>> {
    (item.is_universal(tag::NULL) && item.content.is_empty()).then(|| b"NULL".to_vec())
}

// ---------------------------------------------------------------------------------------
// Bit strings

const KEY_USAGE: [&str; 9] = [
    "Digital Signature",
    "Non Repudiation",
    "Key Encipherment",
    "Data Encipherment",
    "Key Agreement",
    "Certificate Sign",
    "CRL Sign",
    "Encipher Only",
    "Decipher Only",
];

const NETSCAPE_CERT_TYPE: [&str; 8] = [
    "SSL Client",
    "SSL Server",
    "S/MIME",
    "Object Signing",
    "Unused",
    "SSL CA",
    "S/MIME CA",
    "Object Signing CA",
];

const REASON_FLAGS: [&str; 9] = [
    "Unused",
    "Key Compromise",
    "CA Compromise",
    "Affiliation Changed",
    "Superseded",
    "Cessation Of Operation",
    "Certificate Hold",
    "Privilege Withdrawn",
    "AA Compromise",
];

/// Names of the set bits; `None` (printer failure) when no named bit is set.
fn bit_names(item: &Tlv<'_>, table: &[&str]) -> Option<Vec<ConfValue>> {
    let bits = der::bit_string(item.expect(tag::BIT_STRING).ok()?).ok()?;
    let values: Vec<ConfValue> = table
        .iter()
        .enumerate()
        .filter(|(i, _)| der::bit_is_set(&bits, *i))
        .map(|(_, name)| ConfValue::name(*name))
        .collect();
    (!values.is_empty()).then_some(values)
}

fn key_usage(item: &Tlv<'_>) -> Option<Vec<ConfValue>> {
    bit_names(item, &KEY_USAGE)
}

fn netscape_cert_type(item: &Tlv<'_>) -> Option<Vec<ConfValue>> {
    bit_names(item, &NETSCAPE_CERT_TYPE)
}

// ---------------------------------------------------------------------------------------
// Structured i2v extensions

fn basic_constraints(item: &Tlv<'_>) -> Option<Vec<ConfValue>> {
    let mut fields = item.sequence().ok()?;
    let ca = match fields.next_if(|t| t.is_universal(tag::BOOLEAN)).ok()? {
        Some(flag) => der::boolean(flag.content).ok()?,
        None => false,
    };
    let pathlen = match fields.next_opt().ok()? {
        Some(t) => Some(integer(&t, tag::INTEGER)?),
        None => None,
    };
    fields.finish().ok()?;
    let mut values = vec![ConfValue::pair("CA", if ca { "TRUE" } else { "FALSE" })];
    if let Some(n) = pathlen {
        values.push(ConfValue::pair("pathlen", integer_text(&n)));
    }
    Some(values)
}

fn extended_key_usage(item: &Tlv<'_>) -> Option<Vec<ConfValue>> {
    let values: Vec<ConfValue> = oid_list(item)?
        .iter()
        .map(|oid| ConfValue::value(oids::long_name_truncated(oid, 80)))
        .collect();
    (!values.is_empty()).then_some(values)
}

/// A SEQUENCE OF OBJECT IDENTIFIER.
fn oid_list<'a>(item: &Tlv<'a>) -> Option<Vec<&'a [u8]>> {
    let mut list = Vec::new();
    for tlv in item.sequence().ok()?.collect_all().ok()? {
        let oid = tlv.expect(tag::OID).ok()?;
        der::check_oid(oid).ok()?;
        list.push(oid);
    }
    Some(list)
}

fn policy_mappings(item: &Tlv<'_>) -> Option<Vec<ConfValue>> {
    let mut values = Vec::new();
    for mapping in item.sequence().ok()?.collect_all().ok()? {
        let mut fields = mapping.sequence().ok()?;
        let issuer = fields.expect(tag::OID).ok()?.content;
        let subject = fields.expect(tag::OID).ok()?.content;
        fields.finish().ok()?;
        der::check_oid(issuer).ok()?;
        der::check_oid(subject).ok()?;
        values.push(ConfValue::pair(
            oids::long_name_truncated(issuer, 80),
            oids::long_name_truncated(subject, 80),
        ));
    }
    (!values.is_empty()).then_some(values)
}

fn policy_constraints(item: &Tlv<'_>) -> Option<Vec<ConfValue>> {
    let mut fields = item.sequence().ok()?;
    let require = fields.next_if(|t| t.is_context(0)).ok()?;
    let inhibit = fields.next_if(|t| t.is_context(1)).ok()?;
    fields.finish().ok()?;
    let mut values = Vec::new();
    if let Some(t) = require {
        let n = implicit_integer(&t)?;
        values.push(ConfValue::pair("Require Explicit Policy", integer_text(&n)));
    }
    if let Some(t) = inhibit {
        let n = implicit_integer(&t)?;
        values.push(ConfValue::pair("Inhibit Policy Mapping", integer_text(&n)));
    }
    (!values.is_empty()).then_some(values)
}

fn tls_feature(item: &Tlv<'_>) -> Option<Vec<ConfValue>> {
    let mut values = Vec::new();
    for tlv in item.sequence().ok()?.collect_all().ok()? {
        let n = integer(&tlv, tag::INTEGER)?;
        values.push(match n.to_i64() {
            Some(5) => ConfValue::value("status_request"),
            Some(17) => ConfValue::value("status_request_v2"),
            _ => ConfValue::value(integer_text(&n)),
        });
    }
    (!values.is_empty()).then_some(values)
}

fn authority_key_id(item: &Tlv<'_>) -> Option<Vec<ConfValue>> {
    let mut fields = item.sequence().ok()?;
    let keyid = fields.next_if(|t| t.is_context(0)).ok()?;
    let issuer = fields.next_if(|t| t.is_context(1)).ok()?;
    let serial = fields.next_if(|t| t.is_context(2)).ok()?;
    fields.finish().ok()?;
    let issuer = match issuer {
        Some(t) if t.constructed => Some(parse_general_names(&t).ok()?),
        Some(_) => return None,
        None => None,
    };
    let serial = match serial {
        Some(t) => Some(implicit_integer(&t)?),
        None => None,
    };
    let mut values = Vec::new();
    if let Some(keyid) = keyid {
        if keyid.constructed {
            return None;
        }
        let hex = hex_colon_upper(keyid.content);
        // The "keyid:" label only appears when other fields follow.
        values.push(if issuer.is_some() || serial.is_some() {
            ConfValue::pair("keyid", hex)
        } else {
            ConfValue::value(hex)
        });
    }
    if let Some(names) = &issuer {
        for name in names {
            values.push(name.to_conf_value()?);
        }
    }
    if let Some(serial) = serial {
        values.push(ConfValue::pair(
            "serial",
            hex_colon_upper(&serial.magnitude),
        ));
    }
    // An AKID with no fields makes OpenSSL's printer fail.
    (!values.is_empty()).then_some(values)
}

fn general_names_values(item: &Tlv<'_>) -> Option<Vec<ConfValue>> {
    if !item.is_universal(tag::SEQUENCE) {
        return None;
    }
    parse_general_names(item)
        .ok()?
        .iter()
        .map(GeneralName::to_conf_value)
        .collect()
}

/// Authority and Subject Information Access: `OCSP - URI:http://...`.
fn info_access(item: &Tlv<'_>) -> Option<Vec<ConfValue>> {
    let mut values = Vec::new();
    for desc in item.sequence().ok()?.collect_all().ok()? {
        let mut fields = desc.sequence().ok()?;
        let method = fields.expect(tag::OID).ok()?.content;
        der::check_oid(method).ok()?;
        let location = parse_general_name(&fields.next_tlv().ok()?).ok()?;
        fields.finish().ok()?;
        let mut value = location.to_conf_value()?;
        let mut name = oids::long_name_truncated(method, 80).into_bytes();
        name.extend_from_slice(b" - ");
        name.extend_from_slice(c_str(value.name.as_deref().unwrap_or(b"")));
        value.name = Some(name);
        values.push(value);
    }
    Some(values)
}

// ---------------------------------------------------------------------------------------
// i2r extensions

fn private_key_usage_period(out: &mut Vec<u8>, item: &Tlv<'_>, indent: usize) -> Option<()> {
    let mut fields = item.sequence().ok()?;
    let not_before = fields.next_if(|t| t.is_context(0)).ok()?;
    let not_after = fields.next_if(|t| t.is_context(1)).ok()?;
    fields.finish().ok()?;
    let as_time = |t: Tlv<'_>| -> Option<String> {
        if t.constructed {
            return None;
        }
        let retagged = Tlv {
            class: Class::Universal,
            tag: tag::GENERALIZED_TIME,
            ..t
        };
        Some(time::render(&retagged))
    };
    let before = match not_before {
        Some(t) => Some(as_time(t)?),
        None => None,
    };
    let after = match not_after {
        Some(t) => Some(as_time(t)?),
        None => None,
    };
    out.put_spaces(indent);
    if let Some(before) = before {
        out.put_str("Not Before: ");
        out.put_str(&before);
        if after.is_some() {
            out.put_str(", ");
        }
    }
    if let Some(after) = after {
        out.put_str("Not After: ");
        out.put_str(&after);
    }
    Some(())
}

fn invalidity_date(out: &mut Vec<u8>, item: &Tlv<'_>, indent: usize) -> Option<()> {
    if !item.is_universal(tag::GENERALIZED_TIME) {
        return None;
    }
    out.put_spaces(indent);
    out.put_str(&time::render(item));
    Some(())
}

fn hold_instruction(out: &mut Vec<u8>, item: &Tlv<'_>, indent: usize) -> Option<()> {
    let oid = item.expect(tag::OID).ok()?;
    der::check_oid(oid).ok()?;
    out.put_spaces(indent);
    out.put_str(&oids::long_name(oid));
    Some(())
}

fn ocsp_no_check(_out: &mut Vec<u8>, item: &Tlv<'_>, _indent: usize) -> Option<()> {
    (item.is_universal(tag::NULL) && item.content.is_empty()).then_some(())
}

fn issuer_sign_tool(out: &mut Vec<u8>, item: &Tlv<'_>, indent: usize) -> Option<()> {
    let mut fields = item.sequence().ok()?;
    let mut parts = Vec::new();
    for label in [
        "signTool    : ",
        "cATool      : ",
        "signToolCert: ",
        "cAToolCert  : ",
    ] {
        parts.push((label, fields.expect(tag::UTF8_STRING).ok()?.content));
    }
    fields.finish().ok()?;
    for (i, (label, text)) in parts.iter().enumerate() {
        if i > 0 {
            out.put_str("\n");
        }
        out.put_spaces(indent);
        out.put_str(label);
        out.extend_from_slice(text);
    }
    Some(())
}

fn name_constraints(out: &mut Vec<u8>, item: &Tlv<'_>, indent: usize) -> Option<()> {
    let mut fields = item.sequence().ok()?;
    let permitted = fields.next_if(|t| t.is_context(0)).ok()?;
    let excluded = fields.next_if(|t| t.is_context(1)).ok()?;
    fields.finish().ok()?;
    let permitted = match permitted {
        Some(t) => Some(subtrees(&t)?),
        None => None,
    };
    let excluded = match excluded {
        Some(t) => Some(subtrees(&t)?),
        None => None,
    };
    print_subtrees(out, permitted.as_deref(), indent, "Permitted");
    if permitted.is_some() && excluded.is_some() {
        out.put_str("\n");
    }
    print_subtrees(out, excluded.as_deref(), indent, "Excluded");
    Some(())
}

/// `[n] IMPLICIT SEQUENCE OF GeneralSubtree`; only each subtree's base is printed.
fn subtrees<'a>(list: &Tlv<'a>) -> Option<Vec<GeneralName<'a>>> {
    let mut bases = Vec::new();
    for subtree in list.children().ok()?.collect_all().ok()? {
        let mut fields = subtree.sequence().ok()?;
        let base = parse_general_name(&fields.next_tlv().ok()?).ok()?;
        for n in 0..2 {
            if let Some(bound) = fields.next_if(|t| t.is_context(n)).ok()? {
                implicit_integer(&bound)?;
            }
        }
        fields.finish().ok()?;
        bases.push(base);
    }
    Some(bases)
}

fn print_subtrees(out: &mut Vec<u8>, list: Option<&[GeneralName<'_>]>, indent: usize, title: &str) {
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return;
    };
    out.put_spaces(indent);
    out.put_str(title);
    out.put_str(":\n");
    for (i, base) in list.iter().enumerate() {
        if i > 0 {
            out.put_str("\n");
        }
        out.put_spaces(indent + 2);
        match base {
            // Name constraint addresses carry a mask: address/mask.
            GeneralName::Ip(bytes) => {
                let first = if bytes.len() >= 16 {
                    16
                } else if bytes.len() >= 4 {
                    4
                } else {
                    bytes.len()
                };
                let (addr, mask) = bytes.split_at(first);
                out.put_str("IP:");
                out.put_str(&ip_text(addr));
                out.put_str("/");
                out.put_str(&ip_text(mask));
            }
            other => other.print(out),
        }
    }
}

/// A DistributionPointName.
enum DistPointName<'a> {
    Full(Vec<GeneralName<'a>>),
    Relative(Vec<NameEntry<'a>>),
}

/// One DistributionPoint.
struct DistPoint<'a> {
    name: Option<DistPointName<'a>>,
    reasons: Option<Vec<u8>>,
    issuer: Option<Vec<GeneralName<'a>>>,
}

fn dist_point<'a>(tlv: &Tlv<'a>) -> DerResult<DistPoint<'a>> {
    let mut fields = tlv.sequence()?;
    let name = fields.next_if(|t| t.is_context(0))?;
    let reasons = fields.next_if(|t| t.is_context(1))?;
    let issuer = fields.next_if(|t| t.is_context(2))?;
    fields.finish()?;
    let name = match name {
        Some(wrapper) if wrapper.constructed => {
            Some(dist_point_name(&der::read_all(wrapper.content)?)?)
        }
        Some(_) => return Err(der::DerError),
        None => None,
    };
    let reasons = match reasons {
        Some(t) if !t.constructed => Some(der::bit_string(t.content)?),
        Some(_) => return Err(der::DerError),
        None => None,
    };
    let issuer = match issuer {
        Some(t) if t.constructed => Some(parse_general_names(&t)?),
        Some(_) => return Err(der::DerError),
        None => None,
    };
    Ok(DistPoint {
        name,
        reasons,
        issuer,
    })
}

fn dist_point_name<'a>(tlv: &Tlv<'a>) -> DerResult<DistPointName<'a>> {
    if tlv.is_context(0) && tlv.constructed {
        Ok(DistPointName::Full(parse_general_names(tlv)?))
    } else if tlv.is_context(1) && tlv.constructed {
        // A bare RDN: every entry shares one set, so they print joined with " + ".
        Ok(DistPointName::Relative(names::parse_rdn(tlv, 0)?))
    } else {
        Err(der::DerError)
    }
}

fn crl_distribution_points(out: &mut Vec<u8>, item: &Tlv<'_>, indent: usize) -> Option<()> {
    let points: Vec<DistPoint<'_>> = item
        .sequence()
        .ok()?
        .collect_all()
        .ok()?
        .iter()
        .map(dist_point)
        .collect::<DerResult<_>>()
        .ok()?;
    for (i, point) in points.iter().enumerate() {
        if i > 0 {
            out.put_str("\n");
        }
        match &point.name {
            Some(DistPointName::Full(list)) => {
                out.put_spaces(indent);
                out.put_str("Full Name:\n");
                print_general_names(out, list, indent);
            }
            Some(DistPointName::Relative(entries)) => {
                out.put_spaces(indent);
                out.put_str("Relative Name:\n");
                out.put_spaces(indent + 2);
                names::print_oneline(out, entries);
                out.put_str("\n");
            }
            None => {}
        }
        if let Some(bits) = &point.reasons {
            print_reasons(out, bits, indent);
        }
        if let Some(list) = &point.issuer {
            out.put_spaces(indent);
            out.put_str("CRL Issuer:\n");
            print_general_names(out, list, indent);
        }
    }
    Some(())
}

fn print_reasons(out: &mut Vec<u8>, bits: &[u8], indent: usize) {
    out.put_spaces(indent);
    out.put_str("Reasons:\n");
    out.put_spaces(indent + 2);
    let set: Vec<&str> = REASON_FLAGS
        .iter()
        .enumerate()
        .filter(|(i, _)| der::bit_is_set(bits, *i))
        .map(|(_, name)| *name)
        .collect();
    if set.is_empty() {
        out.put_str("<EMPTY>\n");
    } else {
        out.put_str(&set.join(", "));
        out.put_str("\n");
    }
}
