//! Certificate Policies (RFC 5280 section 4.2.1.4) as OpenSSL's `i2r_certpol` prints it:
//! policy OIDs, CPS pointers and user notices, with `%.*s` semantics for the texts (raw
//! bytes up to the first NUL, whatever the string type).

use super::der::{self, tag, DerResult, Integer, Tlv};
use super::extensions::{c_str, integer_text};
use super::oids::{self, known};
use super::Sink;
use x509_parser::der_parser::asn1_rs::Class;

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
    let ok =
        tlv.class == Class::Universal && !tlv.constructed && matches!(tlv.tag, 12 | 22 | 26 | 30);
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
    let text = fields.next_if(is_display_text)?.map(|t| t.content);
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

pub(super) fn certificate_policies(out: &mut Vec<u8>, item: &Tlv<'_>, indent: usize) -> Option<()> {
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
        out.put_str(if numbers.len() > 1 {
            "Numbers: "
        } else {
            "Number: "
        });
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
