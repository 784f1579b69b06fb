//! Certificate Transparency SCT lists (RFC 6962), printed as OpenSSL's `SCT_LIST_print`.
//!
//! The extension holds an OCTET STRING whose content is a TLS-encoded list, not ASN.1,
//! so it gets its own small reader. Anything OpenSSL's `o2i_SCT_LIST` rejects makes the
//! whole extension fall back to the raw dump.

use super::der::{self, tag};
use super::{time, Sink};

/// One SCT: a parsed v1 SCT or the raw bytes of an unknown version.
enum Sct<'a> {
    V1 {
        log_id: &'a [u8],
        timestamp: u64,
        extensions: &'a [u8],
        signature_name: &'static str,
        signature: &'a [u8],
    },
    Unknown(&'a [u8]),
}

/// Splits a big-endian length-prefixed field (`width` bytes of length) off `data`.
fn take(data: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    (data.len() >= n).then(|| data.split_at(n))
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// `o2i_SCT` for one serialized SCT.
fn parse_sct(data: &[u8]) -> Option<Sct<'_>> {
    let (&version, body) = data.split_first()?;
    if version != 0 {
        return Some(Sct::Unknown(data));
    }
    if data.len() < 43 {
        return None;
    }
    let (log_id, rest) = take(body, 32)?;
    let (timestamp, rest) = take(rest, 8)?;
    let (ext_len, rest) = take(rest, 2)?;
    let (extensions, rest) = take(rest, be(ext_len) as usize)?;
    // digitally-signed: hash(1) signature(1) length(2) bytes; empty signatures are invalid.
    if rest.len() <= 4 {
        return None;
    }
    let (algs, rest) = take(rest, 2)?;
    let signature_name = match algs {
        [4, 1] => "sha256WithRSAEncryption",
        [4, 3] => "ecdsa-with-SHA256",
        _ => return None,
    };
    let (sig_len, rest) = take(rest, 2)?;
    let (signature, _) = take(rest, be(sig_len) as usize)?;
    Some(Sct::V1 {
        log_id,
        timestamp: be(timestamp),
        extensions,
        signature_name,
        signature,
    })
}

/// `o2i_SCT_LIST`: a 2-byte total length, then 2-byte-length-prefixed SCTs.
fn parse_list(data: &[u8]) -> Option<Vec<Sct<'_>>> {
    if data.len() < 2 || data.len() > 65_535 {
        return None;
    }
    let (total, mut rest) = take(data, 2)?;
    if be(total) as usize != rest.len() {
        return None;
    }
    let mut list = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = take(rest, 2)?;
        let len = be(len) as usize;
        if len == 0 || len > tail.len() {
            return None;
        }
        let (one, tail) = tail.split_at(len);
        list.push(parse_sct(one)?);
        rest = tail;
    }
    Some(list)
}

/// `BIO_hex_string`: uppercase colon hex, `width` bytes per line, continuation lines
/// indented by `indent`.
fn hex_string(out: &mut Vec<u8>, indent: usize, width: usize, data: &[u8]) {
    let Some((last, head)) = data.split_last() else {
        return;
    };
    let mut column = 0;
    for (i, byte) in head.iter().enumerate() {
        if i > 0 && column == 0 {
            out.put_spaces(indent);
        }
        out.put_hex_byte(*byte, true);
        out.put_str(":");
        column = (column + 1) % width;
        if column == 0 {
            out.put_str("\n");
        }
    }
    if !head.is_empty() && column == 0 {
        out.put_spaces(indent);
    }
    out.put_hex_byte(*last, true);
}

/// The SCT timestamp (milliseconds since the epoch) as a GeneralizedTime with millis.
fn timestamp_text(millis: u64) -> String {
    let days = (millis / 86_400_000) as i64;
    let seconds = (millis % 86_400_000) / 1000;
    let (year, month, day) = time::civil_from_days(days);
    if year > 9999 {
        return String::new();
    }
    let text = format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}.{:03}Z",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60,
        millis % 1000
    );
    time::render_generalized(&text)
}

fn print_sct(out: &mut Vec<u8>, sct: &Sct<'_>, indent: usize) {
    out.put_spaces(indent);
    out.put_str("Signed Certificate Timestamp:\n");
    out.put_spaces(indent + 4);
    out.put_str("Version   : ");
    let Sct::V1 {
        log_id,
        timestamp,
        extensions,
        signature_name,
        signature,
    } = sct
    else {
        if let Sct::Unknown(raw) = sct {
            out.put_str("unknown\n");
            out.put_spaces(indent + 16);
            hex_string(out, indent + 16, 16, raw);
        }
        return;
    };
    out.put_str("v1 (0x0)");
    let field = |out: &mut Vec<u8>, label: &str| {
        out.put_str("\n");
        out.put_spaces(indent + 4);
        out.put_str(label);
    };
    field(out, "Log ID    : ");
    hex_string(out, indent + 16, 16, log_id);
    field(out, "Timestamp : ");
    out.put_str(&timestamp_text(*timestamp));
    field(out, "Extensions: ");
    if extensions.is_empty() {
        out.put_str("none");
    } else {
        hex_string(out, indent + 16, 16, extensions);
    }
    field(out, "Signature : ");
    out.put_str(signature_name);
    field(out, "            ");
    hex_string(out, indent + 16, 16, signature);
}

/// Prints the SCT list held in an extension value, or `None` if OpenSSL cannot decode it.
pub(super) fn print_sct_list(out: &mut Vec<u8>, value: &[u8], indent: usize) -> Option<()> {
    let (octets, _) = der::read(value).ok()?;
    let list = parse_list(octets.expect(tag::OCTET_STRING).ok()?)?;
    for (i, sct) in list.iter().enumerate() {
        if i > 0 {
            out.put_str("\n");
        }
        print_sct(out, sct, indent);
    }
    Some(())
}
