//! GeneralName (RFC 5280 section 4.2.1.6) in OpenSSL's two renderings: the `i2v` form
//! used by alternative names and AIA (`DNS:a`, `DirName:/CN=x`, `othername: UPN::u`) and
//! `GENERAL_NAME_print`, used by CRL distribution points and name constraints
//! (`DirName:CN = x`, `othername:UPN:u`).

use super::der::{self, tag, DerResult, Tlv};
use super::extensions::{ascii_dump, c_str, ConfValue};
use super::names::{self, NameEntry};
use super::oids::{self, known};
use super::Sink;
use x509_parser::der_parser::asn1_rs::Class;

/// A decoded `GeneralName` CHOICE.
pub(super) enum GeneralName<'a> {
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

pub(super) fn parse_general_names<'a>(seq: &Tlv<'a>) -> DerResult<Vec<GeneralName<'a>>> {
    seq.children()?
        .collect_all()?
        .iter()
        .map(parse_general_name)
        .collect()
}

pub(super) fn parse_general_name<'a>(tlv: &Tlv<'a>) -> DerResult<GeneralName<'a>> {
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
    pub(super) fn to_conf_value(&self) -> Option<ConfValue> {
        match self {
            GeneralName::Other { oid, value } => other_name_value(oid, value),
            GeneralName::X400 => Some(ConfValue::pair("X400Name", "<unsupported>")),
            GeneralName::EdiParty => Some(ConfValue::pair("EdiPartyName", "<unsupported>")),
            GeneralName::Email(s) => ConfValue::checked_pair("email", s),
            GeneralName::Dns(s) => ConfValue::checked_pair("DNS", s),
            GeneralName::Uri(s) => ConfValue::checked_pair("URI", s),
            GeneralName::Directory(entries) => Some(ConfValue::pair(
                "DirName",
                names::legacy_oneline(entries, 256),
            )),
            GeneralName::Ip(bytes) => Some(ConfValue::pair("IP Address", ip_text(bytes))),
            GeneralName::RegisteredId(oid) => Some(ConfValue::pair(
                "Registered ID",
                oids::long_name_truncated(oid, 256),
            )),
        }
    }

    /// `GENERAL_NAME_print`.
    pub(super) fn print(&self, out: &mut Vec<u8>) {
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
pub(super) fn ip_text(bytes: &[u8]) -> String {
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
pub(super) fn print_general_names(out: &mut Vec<u8>, list: &[GeneralName<'_>], indent: usize) {
    for (i, name) in list.iter().enumerate() {
        if i > 0 {
            out.put_str("\n");
        }
        out.put_spaces(indent + 2);
        name.print(out);
    }
}
