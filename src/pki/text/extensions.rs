//! X509v3 extensions as `X509V3_extensions_print` renders them in OpenSSL 3.0.
//!
//! Each extension OpenSSL knows has a printer of one of three shapes, mirrored here:
//! `i2s` (one string), `i2v` (name/value pairs joined by ", " or one per line) and `i2r`
//! (free-form). When the value does not decode, or a printer gives up (an empty list, a
//! NUL byte in a name), OpenSSL prints the raw extension bytes with non-printable
//! characters as dots; [`render_value`] returning `None` selects that fallback.

use super::der::{self, tag, DerResult, Integer, Tlv};
use super::names::{self, NameEntry};
use super::oids::{self, known};
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
fn c_str(bytes: &[u8]) -> &[u8] {
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
struct ConfValue {
    name: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

impl ConfValue {
    fn value(value: impl Into<Vec<u8>>) -> ConfValue {
        ConfValue {
            name: None,
            value: Some(value.into()),
        }
    }

    fn name(name: impl Into<Vec<u8>>) -> ConfValue {
        ConfValue {
            name: Some(name.into()),
            value: None,
        }
    }

    fn pair(name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> ConfValue {
        ConfValue {
            name: Some(name.into()),
            value: Some(value.into()),
        }
    }

    /// `x509v3_add_len_value`: values with a NUL byte make the whole printer fail.
    fn checked_pair(name: impl Into<Vec<u8>>, value: &[u8]) -> Option<ConfValue> {
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
fn integer_text(value: &Integer) -> String {
    let sign = if value.negative && !value.is_zero() { "-" } else { "" };
    let magnitude = der::strip_leading_zeros(&value.magnitude);
    if value.bits() < 128 {
        let n = magnitude.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
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
        values.push(ConfValue::pair("serial", hex_colon_upper(&serial.magnitude)));
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
// General names

/// A decoded `GeneralName` CHOICE.
enum GeneralName<'a> {
    Other { oid: &'a [u8], value: Tlv<'a> },
    Email(&'a [u8]),
    Dns(&'a [u8]),
    X400,
    Directory(Vec<NameEntry<'a>>),
    EdiParty,
    Uri(&'a [u8]),
    Ip(&'a [u8]),
    RegisteredId(&'a [u8]),
}

fn parse_general_names<'a>(seq: &Tlv<'a>) -> DerResult<Vec<GeneralName<'a>>> {
    seq.children()?
        .collect_all()?
        .iter()
        .map(parse_general_name)
        .collect()
}

fn parse_general_name<'a>(tlv: &Tlv<'a>) -> DerResult<GeneralName<'a>> {
    let err = der::DerError;
    if tlv.class != Class::ContextSpecific {
        return Err(err);
    }
    let primitive = |gn: GeneralName<'a>| if tlv.constructed { Err(err) } else { Ok(gn) };
    match tlv.tag {
        0 => {
            let mut fields = tlv.children()?;
            let oid = fields.expect(tag::OID)?.content;
            der::check_oid(oid)?;
            let wrapper = fields.next_tlv()?;
            fields.finish()?;
            if !wrapper.is_context(0) || !wrapper.constructed {
                return Err(err);
            }
            let value = der::read_all(wrapper.content)?;
            Ok(GeneralName::Other { oid, value })
        }
        1 => primitive(GeneralName::Email(tlv.content)),
        2 => primitive(GeneralName::Dns(tlv.content)),
        3 => tlv.children().map(|_| GeneralName::X400),
        4 if tlv.constructed => {
            let name = der::read_all(tlv.content)?;
            Ok(GeneralName::Directory(names::parse_name(&name)?))
        }
        5 => edi_party(tlv),
        6 => primitive(GeneralName::Uri(tlv.content)),
        7 => primitive(GeneralName::Ip(tlv.content)),
        8 => {
            der::check_oid(tlv.content)?;
            primitive(GeneralName::RegisteredId(tlv.content))
        }
        _ => Err(err),
    }
}

/// EDIPartyName: `[0] nameAssigner OPTIONAL, [1] partyName`, both DirectoryStrings.
fn edi_party<'a>(tlv: &Tlv<'a>) -> DerResult<GeneralName<'a>> {
    let mut fields = tlv.children()?;
    let _assigner = fields.next_if(|t| t.is_context(0))?;
    let party = fields.next_tlv()?;
    fields.finish()?;
    if !party.is_context(1) {
        return Err(der::DerError);
    }
    Ok(GeneralName::EdiParty)
}

/// OtherName types OpenSSL prints by name, with the string type each must have.
fn special_other_name(oid: &[u8]) -> Option<(&'static str, u32)> {
    match oid {
        known::SMTP_UTF8_MAILBOX => Some(("SmtpUTF8Mailbox", tag::UTF8_STRING)),
        known::XMPP_ADDR => Some(("XmppAddr", tag::UTF8_STRING)),
        known::SRV_NAME => Some(("SRVName", tag::IA5_STRING)),
        known::MS_UPN => Some(("UPN", tag::UTF8_STRING)),
        known::NAI_REALM => Some(("NAIRealm", tag::UTF8_STRING)),
        _ => None,
    }
}

impl GeneralName<'_> {
    /// `i2v_GENERAL_NAME`; `None` makes the whole extension fall back to a dump.
    fn to_conf_value(&self) -> Option<ConfValue> {
        match self {
            GeneralName::Other { oid, value } => other_name_value(oid, value),
            GeneralName::X400 => Some(ConfValue::pair("X400Name", "<unsupported>")),
            GeneralName::EdiParty => Some(ConfValue::pair("EdiPartyName", "<unsupported>")),
            GeneralName::Email(s) => ConfValue::checked_pair("email", s),
            GeneralName::Dns(s) => ConfValue::checked_pair("DNS", s),
            GeneralName::Uri(s) => ConfValue::checked_pair("URI", s),
            GeneralName::Directory(entries) => {
                Some(ConfValue::pair("DirName", names::legacy_oneline(entries, 256)))
            }
            GeneralName::Ip(bytes) => Some(ConfValue::pair("IP Address", ip_text(bytes))),
            GeneralName::RegisteredId(oid) => Some(ConfValue::pair(
                "Registered ID",
                oids::long_name_truncated(oid, 256),
            )),
        }
    }

    /// `GENERAL_NAME_print`.
    fn print(&self, out: &mut Vec<u8>) {
        match self {
            GeneralName::Other { oid, value } => {
                let special = special_other_name(oid);
                let expected = special.map_or(tag::UTF8_STRING, |(_, t)| t);
                match special {
                    Some((label, _)) if value.is_universal(expected) => {
                        out.put_str("othername:");
                        out.put_str(label);
                        out.put_str(":");
                        out.extend_from_slice(c_str(value.content));
                    }
                    _ => out.put_str("othername:<unsupported>"),
                }
            }
            GeneralName::X400 => out.put_str("X400Name:<unsupported>"),
            GeneralName::EdiParty => out.put_str("EdiPartyName:<unsupported>"),
            GeneralName::Email(s) => {
                out.put_str("email:");
                ascii_dump(out, s);
            }
            GeneralName::Dns(s) => {
                out.put_str("DNS:");
                ascii_dump(out, s);
            }
            GeneralName::Uri(s) => {
                out.put_str("URI:");
                ascii_dump(out, s);
            }
            GeneralName::Directory(entries) => {
                out.put_str("DirName:");
                names::print_oneline(out, entries);
            }
            GeneralName::Ip(bytes) => {
                out.put_str("IP Address:");
                out.put_str(&ip_text(bytes));
            }
            GeneralName::RegisteredId(oid) => {
                out.put_str("Registered ID:");
                out.put_str(&oids::long_name(oid));
            }
        }
    }
}

fn other_name_value(oid: &[u8], value: &Tlv<'_>) -> Option<ConfValue> {
    if let Some((label, expected)) = special_other_name(oid) {
        if !value.is_universal(expected) {
            return None;
        }
        return ConfValue::checked_pair(format!("othername: {label}:"), value.content);
    }
    let name = format!("othername: {}:", oids::long_name_truncated(oid, 256));
    let printable = value.is_universal(tag::IA5_STRING) || value.is_universal(tag::UTF8_STRING);
    if printable && !value.content.contains(&0) {
        return Some(ConfValue::pair(name, value.content));
    }
    Some(ConfValue::pair(name, "<unsupported>"))
}

/// `ossl_ipaddr_to_asc`: dotted quad, eight uncompressed hex groups, or a length note.
fn ip_text(bytes: &[u8]) -> String {
    match bytes {
        [a, b, c, d] => format!("{a}.{b}.{c}.{d}"),
        _ if bytes.len() == 16 => bytes
            .chunks(2)
            .map(|pair| {
                let hi = pair.first().copied().unwrap_or(0);
                let lo = pair.get(1).copied().unwrap_or(0);
                format!("{:X}", u16::from(hi) << 8 | u16::from(lo))
            })
            .collect::<Vec<_>>()
            .join(":"),
        _ => format!("<invalid length={}>", bytes.len()),
    }
}

/// OpenSSL's `print_gens`: one name per line at `indent + 2`, no final newline.
fn print_general_names(out: &mut Vec<u8>, list: &[GeneralName<'_>], indent: usize) {
    for (i, name) in list.iter().enumerate() {
        if i > 0 {
            out.put_str("\n");
        }
        out.put_spaces(indent + 2);
        name.print(out);
    }
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
    for label in ["signTool    : ", "cATool      : ", "signToolCert: ", "cAToolCert  : "] {
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
        Some(wrapper) if wrapper.constructed => Some(dist_point_name(&der::read_all(wrapper.content)?)?),
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

/// A PolicyQualifierInfo.
enum Qualifier<'a> {
    Cps(&'a [u8]),
    Notice(UserNotice<'a>),
    Other(&'a [u8]),
}

/// A UserNotice: optional (organization, numbers) reference and explicit text.
struct UserNotice<'a> {
    reference: Option<(&'a [u8], Vec<Integer>)>,
    text: Option<&'a [u8]>,
}

/// DisplayText: IA5String, VisibleString, BMPString or UTF8String.
fn display_text<'a>(tlv: &Tlv<'a>) -> DerResult<&'a [u8]> {
    let ok = tlv.class == Class::Universal
        && !tlv.constructed
        && matches!(tlv.tag, 12 | 22 | 26 | 30);
    if ok {
        Ok(tlv.content)
    } else {
        Err(der::DerError)
    }
}

fn is_display_text(tlv: &Tlv<'_>) -> bool {
    display_text(tlv).is_ok()
}

fn user_notice<'a>(tlv: &Tlv<'a>) -> DerResult<UserNotice<'a>> {
    let mut fields = tlv.sequence()?;
    let reference = match fields.next_if(|t| t.is_universal(tag::SEQUENCE))? {
        Some(seq) => {
            let mut parts = seq.sequence()?;
            let organization = display_text(&parts.next_tlv()?)?;
            let mut numbers = Vec::new();
            for n in parts.expect(tag::SEQUENCE)?.sequence()?.collect_all()? {
                numbers.push(Integer::from_content(n.expect(tag::INTEGER)?)?);
            }
            parts.finish()?;
            Some((organization, numbers))
        }
        None => None,
    };
    let text = match fields.next_if(is_display_text)? {
        Some(t) => Some(t.content),
        None => None,
    };
    fields.finish()?;
    Ok(UserNotice { reference, text })
}

fn qualifier<'a>(tlv: &Tlv<'a>) -> DerResult<Qualifier<'a>> {
    let mut fields = tlv.sequence()?;
    let id = fields.expect(tag::OID)?.content;
    der::check_oid(id)?;
    let value = fields.next_tlv()?;
    fields.finish()?;
    Ok(match id {
        known::ID_QT_CPS => Qualifier::Cps(value.expect(tag::IA5_STRING)?),
        known::ID_QT_UNOTICE => Qualifier::Notice(user_notice(&value)?),
        _ => Qualifier::Other(id),
    })
}

/// A PolicyInformation: the policy OID and its qualifiers, if the field is present.
type PolicyInfo<'a> = (&'a [u8], Option<Vec<Qualifier<'a>>>);

fn policy_info<'a>(tlv: &Tlv<'a>) -> DerResult<PolicyInfo<'a>> {
    let mut fields = tlv.sequence()?;
    let id = fields.expect(tag::OID)?.content;
    der::check_oid(id)?;
    let qualifiers = match fields.next_opt()? {
        Some(list) => Some(
            list.sequence()?
                .collect_all()?
                .iter()
                .map(qualifier)
                .collect::<DerResult<Vec<_>>>()?,
        ),
        None => None,
    };
    fields.finish()?;
    Ok((id, qualifiers))
}

fn certificate_policies(out: &mut Vec<u8>, item: &Tlv<'_>, indent: usize) -> Option<()> {
    let policies: Vec<PolicyInfo<'_>> = item
        .sequence()
        .ok()?
        .collect_all()
        .ok()?
        .iter()
        .map(policy_info)
        .collect::<DerResult<_>>()
        .ok()?;
    for (i, (id, qualifiers)) in policies.iter().enumerate() {
        if i > 0 {
            out.put_str("\n");
        }
        out.put_spaces(indent);
        out.put_str("Policy: ");
        out.put_str(&oids::long_name(id));
        if let Some(qualifiers) = qualifiers {
            out.put_str("\n");
            print_qualifiers(out, qualifiers, indent + 2);
        }
    }
    Some(())
}

fn print_qualifiers(out: &mut Vec<u8>, qualifiers: &[Qualifier<'_>], indent: usize) {
    for (i, q) in qualifiers.iter().enumerate() {
        if i > 0 {
            out.put_str("\n");
        }
        match q {
            Qualifier::Cps(uri) => {
                out.put_spaces(indent);
                out.put_str("CPS: ");
                out.extend_from_slice(c_str(uri));
            }
            Qualifier::Notice(notice) => {
                out.put_spaces(indent);
                out.put_str("User Notice:\n");
                print_notice(out, notice, indent + 2);
            }
            Qualifier::Other(id) => {
                out.put_spaces(indent + 2);
                out.put_str("Unknown Qualifier: ");
                out.put_str(&oids::long_name(id));
            }
        }
    }
}

fn print_notice(out: &mut Vec<u8>, notice: &UserNotice<'_>, indent: usize) {
    if let Some((organization, numbers)) = &notice.reference {
        out.put_spaces(indent);
        out.put_str("Organization: ");
        out.extend_from_slice(c_str(organization));
        out.put_str("\n");
        out.put_spaces(indent);
        out.put_str(if numbers.len() > 1 { "Numbers: " } else { "Number: " });
        let texts: Vec<String> = numbers.iter().map(integer_text).collect();
        out.put_str(&texts.join(", "));
        if notice.text.is_some() {
            out.put_str("\n");
        }
    }
    if let Some(text) = notice.text {
        out.put_spaces(indent);
        out.put_str("Explicit Text: ");
        out.extend_from_slice(c_str(text));
    }
}
