//! Object identifier names and dotted text, as OpenSSL's `OBJ_obj2txt` produces them.

use super::oids_table::OBJECTS;

/// Well-known OID content octets the renderers dispatch on.
pub(super) mod known {
    pub const RSA_ENCRYPTION: &[u8] = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01";
    pub const RSASSA_PSS: &[u8] = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a";
    pub const MGF1: &[u8] = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x08";
    pub const DSA: &[u8] = b"\x2a\x86\x48\xce\x38\x04\x01";
    pub const EC_PUBLIC_KEY: &[u8] = b"\x2a\x86\x48\xce\x3d\x02\x01";
    pub const X25519: &[u8] = b"\x2b\x65\x6e";
    pub const X448: &[u8] = b"\x2b\x65\x6f";
    pub const ED25519: &[u8] = b"\x2b\x65\x70";
    pub const ED448: &[u8] = b"\x2b\x65\x71";
    pub const ID_QT_CPS: &[u8] = b"\x2b\x06\x01\x05\x05\x07\x02\x01";
    pub const ID_QT_UNOTICE: &[u8] = b"\x2b\x06\x01\x05\x05\x07\x02\x02";
    pub const SMTP_UTF8_MAILBOX: &[u8] = b"\x2b\x06\x01\x05\x05\x07\x08\x09";
    pub const XMPP_ADDR: &[u8] = b"\x2b\x06\x01\x05\x05\x07\x08\x05";
    pub const SRV_NAME: &[u8] = b"\x2b\x06\x01\x05\x05\x07\x08\x07";
    pub const MS_UPN: &[u8] = b"\x2b\x06\x01\x04\x01\x82\x37\x14\x02\x03";
    pub const NAI_REALM: &[u8] = b"\x2b\x06\x01\x05\x05\x07\x08\x08";
}

/// `(short name, long name)` of a registered OID.
pub(super) fn lookup(oid: &[u8]) -> Option<(&'static str, &'static str)> {
    OBJECTS
        .binary_search_by(|(der, _, _)| (*der).cmp(oid))
        .ok()
        .and_then(|i| OBJECTS.get(i))
        .map(|(_, sn, ln)| (*sn, *ln))
}

/// The attribute type name in a distinguished name: short name if known, otherwise
/// the dotted form as it fits OpenSSL's 80-byte buffer.
pub(super) fn field_name(oid: &[u8]) -> String {
    match lookup(oid) {
        Some((sn, _)) => sn.to_string(),
        None => {
            let mut text = dotted(oid);
            text.truncate(79);
            text
        }
    }
}

/// `OBJ_obj2txt(.., no_name = 0)` without a buffer limit: long name or dotted form.
/// This is what `i2a_ASN1_OBJECT` prints.
pub(super) fn long_name(oid: &[u8]) -> String {
    match lookup(oid) {
        Some((_, ln)) => ln.to_string(),
        None => dotted(oid),
    }
}

/// `i2t_ASN1_OBJECT` into a fixed buffer of `buf_len` bytes: the text is cut to
/// `buf_len - 1` characters, which OpenSSL does in the extension printers.
pub(super) fn long_name_truncated(oid: &[u8], buf_len: usize) -> String {
    let mut text = long_name(oid);
    text.truncate(buf_len.saturating_sub(1));
    text
}

/// Dotted decimal form of OID content octets.
pub(super) fn dotted(oid: &[u8]) -> String {
    let mut out = String::new();
    let mut first = true;
    let mut arc: Vec<u8> = Vec::new();
    for byte in oid {
        arc.push(byte & 0x7f);
        if byte & 0x80 != 0 {
            continue;
        }
        let mut value = Decimal::from_base128(&arc);
        arc.clear();
        if first {
            first = false;
            // The first sub-identifier packs two arcs: 40 * X + Y, with X capped at 2.
            let top = if value.at_least(80) {
                2
            } else if value.at_least(40) {
                1
            } else {
                0
            };
            value.subtract_small(40 * top);
            out.push(char::from(b'0' + top as u8));
        }
        out.push('.');
        out.push_str(&value.to_string());
    }
    out
}

/// An unbounded non-negative integer for OID arcs (OpenSSL switches to bignums too).
struct Decimal {
    /// Little-endian limbs in base 10^9.
    limbs: Vec<u32>,
}

const LIMB: u64 = 1_000_000_000;

impl Decimal {
    fn from_base128(digits: &[u8]) -> Decimal {
        let mut d = Decimal { limbs: vec![0] };
        for digit in digits {
            d.mul_add(128, u64::from(*digit));
        }
        d
    }

    fn mul_add(&mut self, mul: u64, add: u64) {
        let mut carry = add;
        for limb in self.limbs.iter_mut() {
            let v = u64::from(*limb) * mul + carry;
            *limb = (v % LIMB) as u32;
            carry = v / LIMB;
        }
        while carry > 0 {
            self.limbs.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
    }

    fn at_least(&self, n: u32) -> bool {
        self.limbs.len() > 1 || self.limbs.first().is_some_and(|l| *l >= n)
    }

    /// Subtracts a value the caller knows is not larger than `self`.
    fn subtract_small(&mut self, n: u32) {
        let mut borrow = u64::from(n);
        for limb in self.limbs.iter_mut() {
            let v = u64::from(*limb);
            if v >= borrow {
                *limb = (v - borrow) as u32;
                break;
            }
            *limb = (v + LIMB - borrow) as u32;
            borrow = 1;
        }
        while self.limbs.len() > 1 && self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut limbs = self.limbs.iter().rev();
        if let Some(top) = limbs.next() {
            write!(f, "{top}")?;
        }
        for limb in limbs {
            write!(f, "{limb:09}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_forms() {
        assert_eq!(
            dotted(b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b"),
            "1.2.840.113549.1.1.11"
        );
        assert_eq!(dotted(b"\x55\x1d\x13"), "2.5.29.19");
        assert_eq!(dotted(b"\x88\x37\x01"), "2.999.1");
        assert_eq!(dotted(b"\x00"), "0.0");
        // An arc beyond 64 bits.
        assert_eq!(
            dotted(b"\x2a\x82\x80\x80\x80\x80\x80\x80\x80\x80\x00"),
            "1.2.18446744073709551616"
        );
    }

    #[test]
    fn names() {
        assert_eq!(field_name(b"\x55\x04\x03"), "CN");
        assert_eq!(long_name(b"\x55\x04\x03"), "commonName");
        assert_eq!(
            long_name(b"\x2b\x06\x01\x05\x05\x07\x03\x01"),
            "TLS Web Server Authentication"
        );
        assert_eq!(field_name(b"\x2a\x03\x04"), "1.2.3.4");
        assert_eq!(long_name_truncated(b"\x55\x04\x03", 5), "comm");
    }
}
