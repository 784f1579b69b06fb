//! A small DER walker over `asn1-rs`, shaped after how OpenSSL's templates read data.
//!
//! The renderers need the raw bytes of every element (OpenSSL prints content octets,
//! re-dumps DER, and decodes some extensions leniently), so they walk TLVs themselves
//! instead of going through typed parsers. Every failure is a [`DerError`]: callers
//! decide whether it fails the whole input or only makes OpenSSL fall back to a dump.

use x509_parser::der_parser::asn1_rs::{Any, Class, FromBer, Length};

/// Input that OpenSSL's decoder would reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DerError;

pub(super) type DerResult<T> = Result<T, DerError>;

/// Universal tag numbers used by the renderers.
pub(super) mod tag {
    pub const BOOLEAN: u32 = 1;
    pub const INTEGER: u32 = 2;
    pub const BIT_STRING: u32 = 3;
    pub const OCTET_STRING: u32 = 4;
    pub const NULL: u32 = 5;
    pub const OID: u32 = 6;
    pub const ENUMERATED: u32 = 10;
    pub const UTF8_STRING: u32 = 12;
    pub const SEQUENCE: u32 = 16;
    pub const SET: u32 = 17;
    pub const IA5_STRING: u32 = 22;
    pub const UTC_TIME: u32 = 23;
    pub const GENERALIZED_TIME: u32 = 24;
    pub const UNIVERSAL_STRING: u32 = 28;
    pub const BMP_STRING: u32 = 30;
}

/// One element: identifier, content octets and the whole encoding.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tlv<'a> {
    pub class: Class,
    pub constructed: bool,
    pub tag: u32,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// True for a universal-class element with this tag number.
    pub fn is_universal(&self, tag: u32) -> bool {
        self.class == Class::Universal && self.tag == tag
    }

    /// True for a context-specific element `[n]`.
    pub fn is_context(&self, n: u32) -> bool {
        self.class == Class::ContextSpecific && self.tag == n
    }

    /// The content of a universal element with this tag, or an error.
    pub fn expect(&self, tag: u32) -> DerResult<&'a [u8]> {
        if self.is_universal(tag) {
            Ok(self.content)
        } else {
            Err(DerError)
        }
    }

    /// A reader over the content of a constructed element.
    pub fn children(&self) -> DerResult<Reader<'a>> {
        if self.constructed {
            Ok(Reader::new(self.content))
        } else {
            Err(DerError)
        }
    }

    /// A reader over a universal SEQUENCE's content.
    pub fn sequence(&self) -> DerResult<Reader<'a>> {
        if self.is_universal(tag::SEQUENCE) {
            self.children()
        } else {
            Err(DerError)
        }
    }
}

/// Reads one definite-length element from the front of `input`.
pub(super) fn read(input: &[u8]) -> DerResult<(Tlv<'_>, &[u8])> {
    let (rest, any) = Any::from_ber(input).map_err(|_| DerError)?;
    // Indefinite lengths never occur in the DER we render; refusing them keeps
    // `content` and `raw` exact.
    if !matches!(any.header.length(), Length::Definite(_)) {
        return Err(DerError);
    }
    // Like `asn1_ex_c2i`, refuse BMPString and UniversalString contents that are not
    // whole characters, wherever they appear.
    if any.header.class() == Class::Universal && !any.header.is_constructed() {
        let width = match any.header.tag().0 {
            tag::BMP_STRING => 2,
            tag::UNIVERSAL_STRING => 4,
            _ => 1,
        };
        if any.data.len() % width != 0 {
            return Err(DerError);
        }
    }
    let used = input.len().checked_sub(rest.len()).ok_or(DerError)?;
    let raw = input.get(..used).ok_or(DerError)?;
    let tlv = Tlv {
        class: any.header.class(),
        constructed: any.header.is_constructed(),
        tag: any.header.tag().0,
        content: any.data,
        raw,
    };
    Ok((tlv, rest))
}

/// Reads exactly one element that must fill `input`.
pub(super) fn read_all(input: &[u8]) -> DerResult<Tlv<'_>> {
    let (tlv, rest) = read(input)?;
    if rest.is_empty() {
        Ok(tlv)
    } else {
        Err(DerError)
    }
}

/// Sequential access to the elements inside a constructed value.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(content: &'a [u8]) -> Self {
        Reader { rest: content }
    }

    /// The next element, or an error at the end.
    pub fn next_tlv(&mut self) -> DerResult<Tlv<'a>> {
        let (tlv, rest) = read(self.rest)?;
        self.rest = rest;
        Ok(tlv)
    }

    /// The next element if one is left.
    pub fn next_opt(&mut self) -> DerResult<Option<Tlv<'a>>> {
        if self.rest.is_empty() {
            Ok(None)
        } else {
            self.next_tlv().map(Some)
        }
    }

    /// The next element if it satisfies `pred` (an OPTIONAL field), leaving it otherwise.
    pub fn next_if(&mut self, pred: impl Fn(&Tlv<'a>) -> bool) -> DerResult<Option<Tlv<'a>>> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let (tlv, rest) = read(self.rest)?;
        if pred(&tlv) {
            self.rest = rest;
            Ok(Some(tlv))
        } else {
            Ok(None)
        }
    }

    /// The next element's content, which must be a universal element with this tag.
    pub fn expect(&mut self, tag: u32) -> DerResult<Tlv<'a>> {
        let tlv = self.next_tlv()?;
        if tlv.is_universal(tag) {
            Ok(tlv)
        } else {
            Err(DerError)
        }
    }

    /// Succeeds only if every element has been consumed (OpenSSL rejects extra fields).
    pub fn finish(&self) -> DerResult<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DerError)
        }
    }

    /// Every remaining element, e.g. the members of a SEQUENCE OF.
    pub fn collect_all(mut self) -> DerResult<Vec<Tlv<'a>>> {
        let mut items = Vec::new();
        while let Some(tlv) = self.next_opt()? {
            items.push(tlv);
        }
        Ok(items)
    }
}

/// An INTEGER as OpenSSL's `ASN1_INTEGER` holds it: sign plus big-endian magnitude.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Integer {
    pub negative: bool,
    /// Minimal big-endian magnitude; a single zero byte for zero.
    pub magnitude: Vec<u8>,
}

impl Integer {
    /// Decodes INTEGER content octets, rejecting the padding OpenSSL 3 rejects.
    pub fn from_content(content: &[u8]) -> DerResult<Integer> {
        let (first, tail) = content.split_first().ok_or(DerError)?;
        if let Some(second) = tail.first() {
            // A redundant leading 0x00 or 0xFF byte is "illegal padding" to OpenSSL 3.
            if (*first == 0 && second & 0x80 == 0) || (*first == 0xff && second & 0x80 != 0) {
                return Err(DerError);
            }
        }
        let negative = first & 0x80 != 0;
        let magnitude = if negative {
            twos_complement_magnitude(content)
        } else if *first == 0 && !tail.is_empty() {
            tail.to_vec()
        } else {
            content.to_vec()
        };
        Ok(Integer {
            negative,
            magnitude,
        })
    }

    /// The value if it fits an `i64`, as `ASN1_INTEGER_get` would return it.
    pub fn to_i64(&self) -> Option<i64> {
        if self.magnitude.len() > 8 {
            return None;
        }
        let value = self
            .magnitude
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        if self.negative {
            if value > 1u64 << 63 {
                None
            } else {
                Some(0i64.wrapping_sub_unsigned(value))
            }
        } else {
            i64::try_from(value).ok()
        }
    }

    /// Number of significant bits of the magnitude (`BN_num_bits`).
    pub fn bits(&self) -> usize {
        bit_length(&self.magnitude)
    }

    pub fn is_zero(&self) -> bool {
        self.magnitude.iter().all(|b| *b == 0)
    }
}

impl Drop for Integer {
    // Integers also carry private key components; clear them like the rest of key material.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.magnitude);
    }
}

/// The magnitude of a negative two's-complement number, minimal big-endian.
fn twos_complement_magnitude(content: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = content.iter().map(|b| !b).collect();
    for byte in out.iter_mut().rev() {
        let (sum, carry) = byte.overflowing_add(1);
        *byte = sum;
        if !carry {
            break;
        }
    }
    let start = out
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(out.len().saturating_sub(1));
    out.split_off(start)
}

/// Number of significant bits in a big-endian byte string.
pub(super) fn bit_length(bytes: &[u8]) -> usize {
    match bytes.iter().position(|b| *b != 0) {
        None => 0,
        Some(i) => {
            let lead = bytes.get(i).copied().unwrap_or(0);
            (bytes.len() - i - 1) * 8 + (8 - lead.leading_zeros() as usize)
        }
    }
}

/// Strips leading zero bytes (what `BN_bn2bin` produces from a big-endian value).
pub(super) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or(&[])
}

/// A BIT STRING's data bytes with the unused trailing bits cleared, as OpenSSL stores it.
pub(super) fn bit_string(content: &[u8]) -> DerResult<Vec<u8>> {
    let (unused, data) = content.split_first().ok_or(DerError)?;
    if *unused > 7 {
        return Err(DerError);
    }
    let mut bytes = data.to_vec();
    if let Some(last) = bytes.last_mut() {
        *last &= 0xffu8 << unused;
    }
    Ok(bytes)
}

/// Whether bit `n` (0 = most significant bit of the first byte) is set.
pub(super) fn bit_is_set(bytes: &[u8], n: usize) -> bool {
    bytes.get(n / 8).is_some_and(|b| b & (0x80 >> (n % 8)) != 0)
}

/// A BOOLEAN's value as OpenSSL reads it (any non-zero octet is true).
pub(super) fn boolean(content: &[u8]) -> DerResult<bool> {
    match content {
        [b] => Ok(*b != 0),
        _ => Err(DerError),
    }
}

/// Checks OBJECT IDENTIFIER content octets the way `c2i_ASN1_OBJECT` does.
pub(super) fn check_oid(content: &[u8]) -> DerResult<()> {
    let last_ok = content.last().is_some_and(|b| b & 0x80 == 0);
    // A sub-identifier may not start with 0x80 (non-minimal encoding).
    let mut at_start = true;
    for b in content {
        if at_start && *b == 0x80 {
            return Err(DerError);
        }
        at_start = b & 0x80 == 0;
    }
    if last_ok {
        Ok(())
    } else {
        Err(DerError)
    }
}
