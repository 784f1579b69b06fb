//! OpenSSL-compatible text rendering of certificates and keys.
//!
//! `vecs-cli entry getcert --text` and `entry getkey --text` must print exactly what
//! `openssl x509 -text -noout` and `openssl pkey -text -noout` print (OpenSSL 3.0), so that
//! people and scripts grepping that output keep working. The renderers here re-implement
//! OpenSSL's printing rules, quirks included (trailing spaces after extension names,
//! `%.*s` stopping at NUL bytes, hex fallbacks for extensions it cannot decode), on top of
//! a small DER walker. They are pure functions: no I/O, no crypto arithmetic.
//!
//! Layout: `cert` drives the certificate layout; `names` renders distinguished names;
//! `extensions` the X509v3 extensions, helped by `general_names`, `policies` and `sct`;
//! `keys` public and private keys; `time` ASN.1 times; `oids` object names (from the
//! table in `oids_table`, generated from OpenSSL 3.0's object database); `der` is the DER
//! reading they share. The tests compare against the installed `openssl` binary.

mod cert;
mod curves;
mod der;
mod extensions;
mod general_names;
mod keys;
mod names;
mod oids;
mod oids_table;
mod policies;
mod sct;
pub(crate) mod time;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_crafted;

use crate::pki::PkiError;
use zeroize::Zeroizing;

/// Exactly the output of `openssl x509 -in cert.pem -text -noout`, including the final newline.
///
/// OpenSSL writes some fields byte for byte (for example non-ASCII bytes inside a subject
/// alternative name or a policy's explicit text); where that is not valid UTF-8 the
/// offending bytes are replaced with U+FFFD. [`certificate_text_bytes`] keeps them.
pub fn certificate_text(der: &[u8]) -> Result<String, PkiError> {
    let bytes = certificate_text_bytes(der)?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
}

/// The byte-exact form of [`certificate_text`].
pub fn certificate_text_bytes(der: &[u8]) -> Result<Vec<u8>, PkiError> {
    cert::render(der)
}

/// Exactly the output of `openssl pkey -in key.pem -text -noout` for an unencrypted PKCS#8
/// private key.
///
/// `spki_der` is the SubjectPublicKeyInfo of the key's public half (Ed25519 and some SEC1
/// keys do not carry their public key inside the PKCS#8), so no crypto arithmetic is
/// needed here. Supports RSA (and RSA-PSS), DSA, EC on named curves, Ed25519, Ed448, X25519
/// and X448. The text is built in zeroizing buffers since it contains key material.
pub fn private_key_text(pkcs8_der: &[u8], spki_der: &[u8]) -> Result<Zeroizing<String>, PkiError> {
    let mut out = SecretText::with_capacity(pkcs8_der.len() * 4 + 1024);
    keys::private_key_text(&mut out, pkcs8_der, spki_der)?;
    out.into_string()
}

/// Where rendered text goes. Numbers are formatted straight into the sink so that key
/// material never passes through temporary heap strings.
trait Sink {
    fn put(&mut self, bytes: &[u8]);

    fn put_str(&mut self, text: &str) {
        self.put(text.as_bytes());
    }

    fn put_spaces(&mut self, count: usize) {
        for _ in 0..count {
            self.put(b" ");
        }
    }

    /// Two hex digits of a byte.
    fn put_hex_byte(&mut self, byte: u8, upper: bool) {
        let digits: &[u8; 16] = if upper {
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        let pair = [
            digits[usize::from(byte >> 4)],
            digits[usize::from(byte & 0x0f)],
        ];
        self.put(&pair);
    }

    /// `%lu`
    fn put_dec(&mut self, value: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = value;
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        self.put(&digits[at..]);
    }

    /// `%lx`
    fn put_hex_u64(&mut self, value: u64) {
        let digits = b"0123456789abcdef";
        let mut buf = [0u8; 16];
        let mut at = buf.len();
        let mut rest = value;
        loop {
            at -= 1;
            buf[at] = digits[(rest & 0xf) as usize];
            rest >>= 4;
            if rest == 0 {
                break;
            }
        }
        self.put(&buf[at..]);
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A growable text buffer that never leaves copies of its contents behind: growing moves
/// the text into a larger zeroizing buffer and the old one is wiped when dropped.
struct SecretText {
    buf: Zeroizing<Vec<u8>>,
}

impl SecretText {
    fn with_capacity(capacity: usize) -> Self {
        SecretText {
            buf: Zeroizing::new(Vec::with_capacity(capacity)),
        }
    }

    fn into_string(mut self) -> Result<Zeroizing<String>, PkiError> {
        let bytes = std::mem::take(&mut *self.buf);
        match String::from_utf8(bytes) {
            // `from_utf8` reuses the allocation, so no unzeroized copy is made.
            Ok(text) => Ok(Zeroizing::new(text)),
            Err(err) => {
                drop(Zeroizing::new(err.into_bytes()));
                Err(PkiError::BadKey("key text is not ASCII".to_string()))
            }
        }
    }
}

impl Sink for SecretText {
    fn put(&mut self, bytes: &[u8]) {
        let needed = self.buf.len() + bytes.len();
        if needed > self.buf.capacity() {
            let mut bigger =
                Zeroizing::new(Vec::with_capacity(needed.max(self.buf.capacity() * 2)));
            bigger.extend_from_slice(&self.buf);
            // The previous buffer is zeroized as it is dropped here.
            self.buf = bigger;
        }
        self.buf.extend_from_slice(bytes);
    }
}
