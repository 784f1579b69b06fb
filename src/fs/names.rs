//! How store names and aliases appear as path components.
//!
//! VECS names are arbitrary strings; a path component cannot hold `/` or NUL and cannot be `.`
//! or `..`. Such characters are shown percent-encoded, and `%` itself always is (as `%25`), so
//! that the encoding is reversible: `decode(encode(n)) == n` for every name.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// The path component that shows `name`.
pub fn encode(name: &str) -> OsString {
    if name == "." || name == ".." {
        return OsString::from(name.replace('.', "%2E"));
    }
    let mut out = Vec::with_capacity(name.len());
    for &b in name.as_bytes() {
        match b {
            b'%' | b'/' | 0 => out.extend_from_slice(format!("%{b:02X}").as_bytes()),
            _ => out.push(b),
        }
    }
    OsString::from_vec(out)
}

/// The name a path component stands for; `None` if it is not a valid encoding (a `%` not
/// followed by two hex digits, or bytes that are not UTF-8).
pub fn decode(component: &OsStr) -> Option<String> {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let value = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            out.push(value);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_are_shown_as_they_are() {
        assert_eq!(
            encode("MACHINE_SSL_CERT"),
            OsString::from("MACHINE_SSL_CERT")
        );
        assert_eq!(encode("vpxd-extension"), OsString::from("vpxd-extension"));
        assert_eq!(encode("ünïcödé name"), OsString::from("ünïcödé name"));
    }

    #[test]
    fn the_store_counts_a_name_as_long_as_its_encoding() {
        for name in ["plain", ".", "..", "a/b", "%", "100%/x\0y", "...", "ünï/%"] {
            assert_eq!(
                crate::store::names::component_len(name),
                encode(name).len(),
                "{name:?}"
            );
        }
    }

    #[test]
    fn impossible_components_are_encoded_reversibly() {
        for (name, shown) in [
            ("a/b", "a%2Fb"),
            ("100%", "100%25"),
            (".", "%2E"),
            ("..", "%2E%2E"),
            ("nul\0byte", "nul%00byte"),
            ("a%2Fb", "a%252Fb"),
        ] {
            assert_eq!(encode(name), OsString::from(shown));
            assert_eq!(decode(OsStr::new(shown)).as_deref(), Some(name));
        }
    }

    #[test]
    fn broken_encodings_name_nothing() {
        assert_eq!(decode(OsStr::new("a%2")), None);
        assert_eq!(decode(OsStr::new("a%zz")), None);
        assert_eq!(decode(OsStr::from_bytes(b"\xff")), None);
    }

    #[test]
    fn decode_inverts_encode_for_any_string() {
        let samples = ["", "%", "%%2F", "/", "//..//", "a.b", "...", "x\u{1F512}y"];
        for name in samples {
            assert_eq!(decode(&encode(name)).as_deref(), Some(name), "{name:?}");
        }
    }
}
