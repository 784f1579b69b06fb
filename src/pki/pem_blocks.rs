//! A small PEM reader and writer with OpenSSL's tolerance for text around blocks.
//!
//! VECS reads its inputs with OpenSSL's `PEM_read_bio_*`, which skips any line that is not a
//! `-----BEGIN` line (comments, "Bag Attributes", blank lines) but fails on a block that is
//! malformed. This reader does the same, and keeps the decoded bytes in zeroize-on-drop storage
//! because the same code reads private keys.

use super::PkiError;
use base64ct::{Base64, Encoding};
use zeroize::Zeroizing;

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

/// Real labels are short ("ENCRYPTED PRIVATE KEY" is among the longest); a longer one is text,
/// which also keeps labels quoted back in errors short.
const MAX_LABEL_LEN: usize = 64;

/// One decoded PEM block.
pub(crate) struct PemBlock {
    pub(crate) label: String,
    /// A legacy `Proc-Type: 4,ENCRYPTED` header: the body is ciphertext, not DER.
    pub(crate) encrypted: bool,
    pub(crate) has_headers: bool,
    pub(crate) data: Zeroizing<Vec<u8>>,
}

/// Refuses empty and oversized input before any parsing work is spent on it.
pub(crate) fn check_input(input: &[u8], limit: usize) -> Result<(), PkiError> {
    if input.is_empty() {
        return Err(PkiError::Empty);
    }
    if input.len() > limit {
        return Err(PkiError::TooLarge {
            size: input.len(),
            limit,
        });
    }
    Ok(())
}

/// The error for input without any `-----BEGIN` line, saying what it looks like instead.
pub(crate) fn not_pem(input: &[u8]) -> PkiError {
    // A DER SEQUENCE starts with 0x30; that is the usual "I gave it the .der file" mistake.
    let what = if input.first() == Some(&0x30) {
        "the input looks like binary DER; convert it with `openssl x509 -inform DER` (or `pkey`)"
    } else if std::str::from_utf8(input).is_err() {
        "the input is binary, not PEM text"
    } else {
        "no '-----BEGIN' line in the input"
    };
    PkiError::NotPem(what.to_string())
}

/// True when the input has at least one `-----BEGIN ...-----` line.
pub(crate) fn has_begin_line(input: &[u8]) -> bool {
    lines(input).any(|line| begin_label(line).is_some())
}

/// Reads every PEM block in the input, in order. No block at all is `Ok(vec![])`.
pub(crate) fn read_blocks(input: &[u8]) -> Result<Vec<PemBlock>, PkiError> {
    let mut blocks = Vec::new();
    let mut lines = lines(input);
    while let Some(line) = lines.next() {
        if let Some(label) = begin_label(line) {
            blocks.push(read_block(label, &mut lines)?);
        }
    }
    Ok(blocks)
}

/// Reads the headers and body of a block whose BEGIN line has just been consumed.
fn read_block<'a>(
    label: &str,
    lines: &mut impl Iterator<Item = &'a [u8]>,
) -> Result<PemBlock, PkiError> {
    let mut body = Zeroizing::new(Vec::new());
    let mut headers = Vec::new();
    let mut in_headers = true;
    for line in lines {
        if line.starts_with(END) {
            check_end_line(label, line)?;
            return finish_block(label, &headers, body);
        }
        if line.starts_with(BEGIN) {
            break;
        }
        if in_headers && line.contains(&b':') {
            headers.push(String::from_utf8_lossy(line).into_owned());
            continue;
        }
        in_headers = false;
        // Grown without leaving the base64 of a key in a freed allocation.
        crate::secret::extend_from_iter(
            &mut body,
            line.iter().copied().filter(|b| !b.is_ascii_whitespace()),
        );
    }
    Err(PkiError::BadPem(format!(
        "'-----BEGIN {}-----' has no matching END line (truncated?)",
        label
    )))
}

fn finish_block(
    label: &str,
    headers: &[String],
    mut body: Zeroizing<Vec<u8>>,
) -> Result<PemBlock, PkiError> {
    if body.is_empty() {
        return Err(PkiError::BadPem(format!("the {} block is empty", label)));
    }
    let len = Base64::decode_in_place(&mut body)
        .map_err(|_| {
            PkiError::BadPem(format!(
                "invalid base64 in the {} block (truncated or corrupted)",
                label
            ))
        })?
        .len();
    body.truncate(len);
    Ok(PemBlock {
        label: label.to_string(),
        encrypted: headers.iter().any(|h| is_encrypted_header(h)),
        has_headers: !headers.is_empty(),
        data: body,
    })
}

/// RFC 1421 `Proc-Type: 4,ENCRYPTED`, as OpenSSL writes for legacy encrypted keys.
fn is_encrypted_header(header: &str) -> bool {
    header
        .split_once(':')
        .is_some_and(|(name, value)| name.trim() == "Proc-Type" && value.contains("ENCRYPTED"))
}

fn check_end_line(label: &str, line: &[u8]) -> Result<(), PkiError> {
    let expected = label.as_bytes();
    let found = &line[END.len()..];
    if found.strip_suffix(DASHES) == Some(expected) {
        return Ok(());
    }
    Err(PkiError::BadPem(format!(
        "'-----BEGIN {}-----' is closed by a different END line",
        label
    )))
}

/// The label of a `-----BEGIN LABEL-----` line, if this is one.
fn begin_label(line: &[u8]) -> Option<&str> {
    let label = line.strip_prefix(BEGIN)?.strip_suffix(DASHES)?;
    let printable = label.iter().all(|b| (b' '..=b'~').contains(b));
    if label.is_empty() || label.len() > MAX_LABEL_LEN || !printable {
        return None;
    }
    std::str::from_utf8(label).ok()
}

/// Lines without their terminator or trailing whitespace: CRLF files and
/// trailing blanks are as common in PEM files as in any text file.
fn lines(input: &[u8]) -> impl Iterator<Item = &[u8]> {
    input.split(|&b| b == b'\n').map(<[u8]>::trim_ascii_end)
}

/// Canonical PEM as OpenSSL's `PEM_write_bio_*` writes it: 64-column base64, LF line ends.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(label, der.len()));
    write_pem(&mut out, label, der);
    out
}

/// As [`encode`], for key material: the output is zeroized on drop and is written into a
/// buffer sized in advance, so no partial copy is left behind by a reallocation.
pub(crate) fn encode_secret(label: &str, der: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(encoded_len(label, der.len())));
    write_pem(&mut out, label, der);
    out
}

fn encoded_len(label: &str, der_len: usize) -> usize {
    let b64_len = der_len.div_ceil(3) * 4;
    let lines = b64_len.div_ceil(64);
    let frame = "-----BEGIN -----\n".len() + "-----END -----\n".len() + 2 * label.len();
    frame + b64_len + lines
}

fn write_pem(out: &mut String, label: &str, der: &[u8]) {
    // 48 input bytes make one full 64-column line.
    let mut line = Zeroizing::new([0u8; 64]);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in der.chunks(48) {
        // A 48-byte chunk always fits a 64-byte buffer, so encoding cannot fail.
        if let Ok(text) = Base64::encode(chunk, &mut line[..]) {
            out.push_str(text);
        }
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only_block(input: &str) -> PemBlock {
        let mut blocks = read_blocks(input.as_bytes()).expect("valid PEM");
        assert_eq!(blocks.len(), 1);
        blocks.remove(0)
    }

    #[test]
    fn encode_round_trips_and_wraps_at_64_columns() {
        let der: Vec<u8> = (0..=255u8).collect();
        let pem = encode("X", &der);
        assert_eq!(pem.len(), encoded_len("X", der.len()));
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert!(pem.ends_with("-----END X-----\n"));
        let block = only_block(&pem);
        assert_eq!(block.label, "X");
        assert_eq!(&block.data[..], &der[..]);
        assert_eq!(encode_secret("X", &der).as_str(), pem);
    }

    #[test]
    fn exact_multiple_of_48_bytes_has_no_empty_line() {
        let pem = encode("X", &[7u8; 96]);
        assert_eq!(pem.lines().count(), 4);
    }

    #[test]
    fn tolerates_crlf_junk_and_long_lines() {
        let input = "junk\r\n-----BEGIN A-----\r\nAAEC\r\nAw==  \r\n-----END A-----\r\nmore junk\n";
        let block = only_block(input);
        assert_eq!(&block.data[..], &[0, 1, 2, 3]);
        assert!(!block.has_headers);
    }

    #[test]
    fn reads_legacy_encryption_headers() {
        let input = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                     DEK-Info: AES-128-CBC,00\n\nAAEC\n-----END RSA PRIVATE KEY-----\n";
        let block = only_block(input);
        assert!(block.encrypted && block.has_headers);
    }

    #[test]
    fn malformed_blocks_are_bad_pem() {
        let cases = [
            "-----BEGIN A-----\nAAEC\n",
            "-----BEGIN A-----\nAAEC\n-----END B-----\n",
            "-----BEGIN A-----\nA!EC\n-----END A-----\n",
            "-----BEGIN A-----\nAAE\n-----END A-----\n",
            "-----BEGIN A-----\n-----END A-----\n",
            "-----BEGIN A-----\nAAEC\n-----BEGIN B-----\nAAEC\n-----END B-----\n",
        ];
        for case in cases {
            assert!(
                matches!(read_blocks(case.as_bytes()), Err(PkiError::BadPem(_))),
                "{case:?}"
            );
        }
    }

    #[test]
    fn text_without_blocks_is_no_blocks() {
        assert!(read_blocks(b"hello\nworld").expect("text").is_empty());
        assert!(!has_begin_line(b"-----BEGIN \n"));
        assert!(has_begin_line(b"x\n-----BEGIN A-----\n"));
    }

    #[test]
    fn input_checks() {
        assert_eq!(check_input(b"", 4), Err(PkiError::Empty));
        assert_eq!(
            check_input(b"12345", 4),
            Err(PkiError::TooLarge { size: 5, limit: 4 })
        );
        assert!(matches!(not_pem(&[0x30, 0x82]), PkiError::NotPem(m) if m.contains("DER")));
    }
}
