//! Distinguished names: decoding as `X509_NAME` does and the two text forms OpenSSL uses.
//!
//! `openssl x509 -text` prints names with `XN_FLAG_ONELINE` (`CN = a, O = "b, c"`, RFC 2253
//! escapes, bytes above 0x7f as `\XX` of their UTF-8 form), while subject alternative names
//! use the legacy `X509_NAME_oneline` form (`/CN=a/O=b`) cut to a 256-byte buffer.

use super::der::{self, tag, DerError, DerResult, Reader, Tlv};
use super::oids;
use x509_parser::der_parser::asn1_rs::Class;

/// One attribute of a name, with the index of the RDN (SET) it belongs to.
#[derive(Debug, Clone, Copy)]
pub(super) struct NameEntry<'a> {
    pub oid: &'a [u8],
    /// Index of the enclosing RDN; equal values are printed joined with `+`.
    pub set: usize,
    pub value: Tlv<'a>,
}

/// Decodes a `Name` (SEQUENCE OF SET OF AttributeTypeAndValue) and applies the
/// string checks OpenSSL's canonicalisation makes, which reject the whole name.
pub(super) fn parse_name<'a>(name: &Tlv<'a>) -> DerResult<Vec<NameEntry<'a>>> {
    let mut rdns = name.sequence()?;
    let mut entries = Vec::new();
    let mut set = 0;
    while let Some(rdn) = rdns.next_opt()? {
        if !rdn.is_universal(tag::SET) {
            return Err(DerError);
        }
        for entry in parse_rdn(&rdn, set)? {
            canonical_check(&entry.value)?;
            entries.push(entry);
        }
        set += 1;
    }
    Ok(entries)
}

/// Decodes one RDN (a SET OF AttributeTypeAndValue); all entries share `set`.
pub(super) fn parse_rdn<'a>(rdn: &Tlv<'a>, set: usize) -> DerResult<Vec<NameEntry<'a>>> {
    let mut atvs = rdn.children()?;
    let mut entries = Vec::new();
    while let Some(atv) = atvs.next_opt()? {
        let mut fields = atv.sequence()?;
        let oid = fields.expect(tag::OID)?.content;
        der::check_oid(oid)?;
        let value = fields.next_tlv()?;
        fields.finish()?;
        check_printable_type(&value)?;
        entries.push(NameEntry { oid, set, value });
    }
    Ok(entries)
}

/// The `ASN1_PRINTABLE` CHOICE: which universal tags a name value may carry.
fn check_printable_type(value: &Tlv<'_>) -> DerResult<()> {
    let allowed = matches!(
        value.tag,
        3 | 7 | 8 | 9 | 11 | 12 | 13 | 14 | 15 | 16 | 18 | 19 | 20 | 22 | 28 | 29 | 30
    );
    // Strings must be primitive here; only SEQUENCE (kept as raw DER) is constructed.
    let form_ok = value.constructed == (value.tag == tag::SEQUENCE);
    if value.class == Class::Universal && allowed && form_ok {
        Ok(())
    } else {
        Err(DerError)
    }
}

/// `x509_name_canon` converts text strings to UTF-8 and fails the decode if it cannot.
fn canonical_check(value: &Tlv<'_>) -> DerResult<()> {
    let data = value.content;
    match value.tag {
        tag::UTF8_STRING => std::str::from_utf8(data).map(|_| ()).map_err(|_| DerError),
        tag::BMP_STRING => decode_wide(data, 2).map(|_| ()),
        28 => decode_wide(data, 4).map(|_| ()),
        _ => Ok(()),
    }
}

/// Decodes a BMPString (width 2) or UniversalString (width 4) into code points,
/// rejecting what OpenSSL's UTF-8 conversion rejects.
fn decode_wide(data: &[u8], width: usize) -> DerResult<Vec<u32>> {
    if !data.len().is_multiple_of(width) {
        return Err(DerError);
    }
    data.chunks(width)
        .map(|chunk| {
            let c = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
            if char::from_u32(c).is_some() {
                Ok(c)
            } else {
                Err(DerError)
            }
        })
        .collect()
}

// Character classes from OpenSSL's charmap: which ASCII characters RFC 2253 escapes.
const ESC_2253: u16 = 1;
const ESC_CTRL: u16 = 2;
const ESC_QUOTE: u16 = 8;
const FIRST_ESC: u16 = 32;
const LAST_ESC: u16 = 64;

/// Escape classes of one ASCII byte (the relevant bits of OpenSSL's `char_type`).
fn char_class(c: u8) -> u16 {
    match c {
        0..=0x1f | 0x7f => ESC_CTRL,
        b' ' => FIRST_ESC | LAST_ESC | ESC_QUOTE,
        b'#' => FIRST_ESC | ESC_QUOTE,
        b'"' | b'\\' => ESC_2253,
        b'+' | b',' | b';' | b'<' | b'>' => ESC_2253 | ESC_QUOTE,
        _ => 0,
    }
}

/// Appends one byte the way `do_esc_char` does under `XN_FLAG_ONELINE`; `position`
/// adds the first/last-character escapes. Returns true if the value needs quotes.
fn escape_byte(out: &mut Vec<u8>, c: u8, position: u16) -> bool {
    if c > 0x7f {
        out.extend_from_slice(format!("\\{c:02X}").as_bytes());
        return false;
    }
    let class = char_class(c) & (ESC_2253 | ESC_CTRL | ESC_QUOTE | position);
    if class & (ESC_2253 | FIRST_ESC | LAST_ESC) != 0 {
        // With ESC_QUOTE the character stays as is and the whole value is quoted.
        if class & ESC_QUOTE != 0 {
            out.push(c);
            return true;
        }
        out.push(b'\\');
        out.push(c);
        return false;
    }
    if class & ESC_CTRL != 0 {
        out.extend_from_slice(format!("\\{c:02X}").as_bytes());
        return false;
    }
    out.push(c);
    false
}

/// Characters of a value as the byte sequences OpenSSL escapes one by one: UTF-8 for
/// multi-byte string types, raw bytes otherwise. `None` means "hex dump instead".
fn value_chars(value: &Tlv<'_>) -> Option<Vec<Vec<u8>>> {
    let data = value.content;
    let utf8_of = |c: u32| -> Vec<u8> {
        // Decoding was validated; an invalid code point prints nothing, as in OpenSSL.
        char::from_u32(c).map_or_else(Vec::new, |ch| ch.to_string().into_bytes())
    };
    match value.tag {
        // UTF8String is printed byte by byte (already UTF-8).
        tag::UTF8_STRING => Some(data.iter().map(|b| vec![*b]).collect()),
        // One byte per character, taken as Latin-1 and converted to UTF-8.
        18 | 19 | 20 | 22 | 23 | 24 | 26 => {
            Some(data.iter().map(|b| utf8_of(u32::from(*b))).collect())
        }
        tag::BMP_STRING => decode_wide(data, 2)
            .ok()
            .map(|cs| cs.into_iter().map(utf8_of).collect()),
        28 => decode_wide(data, 4)
            .ok()
            .map(|cs| cs.into_iter().map(utf8_of).collect()),
        _ => None,
    }
}

/// `do_print_ex` with the `XN_FLAG_ONELINE` string flags.
fn print_value_ex(out: &mut Vec<u8>, value: &Tlv<'_>) {
    let Some(chars) = value_chars(value) else {
        // Unknown types are dumped as '#' and the hex of their DER encoding.
        out.push(b'#');
        out.extend_from_slice(hex_upper(value.raw).as_bytes());
        return;
    };
    let mut body = Vec::new();
    let mut quote = false;
    let count = chars.len();
    for (i, bytes) in chars.iter().enumerate() {
        // A one-character value only gets the "last" treatment, as in `do_buf`.
        let position = if i + 1 == count {
            LAST_ESC
        } else if i == 0 {
            FIRST_ESC
        } else {
            0
        };
        for b in bytes {
            quote |= escape_byte(&mut body, *b, position);
        }
    }
    if quote {
        out.push(b'"');
        out.extend_from_slice(&body);
        out.push(b'"');
    } else {
        out.extend_from_slice(&body);
    }
}

/// `X509_NAME_print_ex(.., XN_FLAG_ONELINE)`: `C = US, O = Org, CN = a + OU = b`.
pub(super) fn print_oneline(out: &mut Vec<u8>, entries: &[NameEntry<'_>]) {
    let mut prev: Option<usize> = None;
    for entry in entries {
        if let Some(p) = prev {
            out.extend_from_slice(if p == entry.set { b" + " } else { b", " });
        }
        prev = Some(entry.set);
        out.extend_from_slice(oids::field_name(entry.oid).as_bytes());
        out.extend_from_slice(b" = ");
        print_value_ex(out, &entry.value);
    }
}

/// `X509_NAME_oneline(name, buf, buf_len)`: `/C=US/CN=a+OU=b`, dropping every entry
/// from the first one that no longer fits the buffer.
pub(super) fn legacy_oneline(entries: &[NameEntry<'_>], buf_len: usize) -> Vec<u8> {
    let limit = buf_len.saturating_sub(1);
    let mut out = Vec::new();
    let mut prev: Option<usize> = None;
    for entry in entries {
        let field = oids::field_name(entry.oid);
        let mut piece = Vec::new();
        piece.push(if prev == Some(entry.set) { b'+' } else { b'/' });
        piece.extend_from_slice(field.as_bytes());
        piece.push(b'=');
        // OpenSSL keeps a SEQUENCE value as its whole encoding and a BIT STRING
        // without its unused-bits octet.
        let data = match entry.value.tag {
            tag::SEQUENCE => entry.value.raw,
            tag::BIT_STRING => entry.value.content.get(1..).unwrap_or(&[]),
            _ => entry.value.content,
        };
        for &b in data {
            if !(b' '..=b'~').contains(&b) {
                piece.extend_from_slice(format!("\\x{b:02X}").as_bytes());
            } else {
                if b == b'/' || b == b'+' {
                    piece.push(b'\\');
                }
                piece.push(b);
            }
        }
        if out.len() + piece.len() > limit {
            break;
        }
        out.extend_from_slice(&piece);
        prev = Some(entry.set);
    }
    out
}

/// Uppercase hex without separators.
pub(super) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Reads a `Name` from a reader position and parses it.
pub(super) fn read_name<'a>(reader: &mut Reader<'a>) -> DerResult<Vec<NameEntry<'a>>> {
    let tlv = reader.next_tlv()?;
    parse_name(&tlv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(tag: u32, content: &[u8]) -> Vec<u8> {
        let mut raw = vec![tag as u8, content.len() as u8];
        raw.extend_from_slice(content);
        raw
    }

    fn render(tag: u32, content: &[u8]) -> String {
        let raw = value(tag, content);
        let tlv = der::read_all(&raw).expect("test value");
        let mut out = Vec::new();
        print_value_ex(&mut out, &tlv);
        String::from_utf8(out).expect("ascii")
    }

    #[test]
    fn escapes() {
        assert_eq!(render(19, b"Acme, Inc."), "\"Acme, Inc.\"");
        assert_eq!(render(12, "Fő".as_bytes()), "F\\C5\\91");
        assert_eq!(render(19, b" x "), "\" x \"");
        assert_eq!(render(19, b"#x"), "\"#x\"");
        assert_eq!(render(19, b"#"), "#");
        assert_eq!(render(19, b"a\"b\\c"), "a\\\"b\\\\c");
        assert_eq!(render(22, b"a\nb\xe9"), "a\\0Ab\\C3\\A9");
        assert_eq!(render(30, b"\x00\xe9\x00a"), "\\C3\\A9a");
        assert_eq!(render(4, b"\x01"), "#040101");
    }
}
