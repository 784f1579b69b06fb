//! Private keys: read from the PEM encodings OpenSSL writes, kept as canonical PKCS#8.
//!
//! VECS stores keys the way `PEM_write_bio_PrivateKey` writes them (unencrypted PKCS#8), checks
//! them against the certificate with `X509_check_private_key`, and encrypts them with a
//! password on request. Key bytes never appear in an error or a log, and every buffer holding
//! them is zeroized on drop.

use super::pem_blocks::{self, PemBlock};
use super::{cert, key_algs, key_crypt, PkiError};
use std::fmt;
use zeroize::Zeroizing;

/// A PEM key is a few kilobytes even at 16384 bits; anything much larger is not a key file.
pub const MAX_KEY_INPUT: usize = 64 << 10;

const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// What a [`PrivateKey`] is; callers decide which algorithms an entry may hold (VECS: RSA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    Rsa { bits: usize },
    EcP256,
    EcP384,
    EcP521,
    Ed25519,
}

/// A validated private key. Holds the canonical PKCS#8 DER in zeroize-on-drop storage.
#[derive(Clone)]
pub struct PrivateKey {
    algorithm: KeyAlgorithm,
    pkcs8: Zeroizing<Vec<u8>>,
    spki: Vec<u8>,
}

/// Shows the algorithm only: a key must not end up in a log through `{:?}`.
impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The form VECS stores and `getkey` prints: what `openssl pkey` writes.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        pem_blocks::encode_secret("PRIVATE KEY", &self.pkcs8)
    }

    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public half, as a certificate carries it; EC points uncompressed.
    pub fn public_key_spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }

    /// `X509_check_private_key`: the certificate's public key must be this key's public half.
    /// An EC certificate with a compressed point matches the same key.
    pub fn matches_certificate(&self, cert_der: &[u8]) -> Result<(), PkiError> {
        let cert_spki = cert::certificate_spki(cert_der)?;
        match key_algs::canonical_spki(&cert_spki) {
            Some(spki) if spki == self.spki => Ok(()),
            _ => Err(PkiError::KeyMismatch),
        }
    }

    /// PBES2-encrypted PKCS#8 PEM ("ENCRYPTED PRIVATE KEY"): PBKDF2-HMAC-SHA256 with 600 000
    /// iterations, AES-256-CBC, random salt and IV; `openssl pkey -passin` decrypts it.
    /// An empty password is refused with `WrongPassword`.
    pub fn encrypt(&self, password: &[u8]) -> Result<Zeroizing<String>, PkiError> {
        let der = key_crypt::encrypt(&self.pkcs8, password)?;
        Ok(pem_blocks::encode_secret(ENCRYPTED_LABEL, &der))
    }

    fn from_canonical(canonical: key_algs::Canonical) -> Self {
        PrivateKey {
            algorithm: canonical.algorithm,
            pkcs8: canonical.pkcs8,
            spki: canonical.spki,
        }
    }
}

/// Reads the first private key block: "RSA PRIVATE KEY" (PKCS#1), "EC PRIVATE KEY" (SEC1) or
/// "PRIVATE KEY" (PKCS#8), skipping other text and blocks such as "EC PARAMETERS". An
/// encrypted key is refused with `WrongPassword`: this path has no password to offer.
pub fn parse_private_key(input: &[u8]) -> Result<PrivateKey, PkiError> {
    let block = key_block(input)?;
    if block.label == ENCRYPTED_LABEL || block.encrypted {
        return Err(PkiError::WrongPassword);
    }
    plain_key(&block).map(PrivateKey::from_canonical)
}

/// Decrypts an "ENCRYPTED PRIVATE KEY" PEM. An unencrypted key is returned as it is, because
/// VECS stores the key of an "encrypted" entry unencrypted when it was given an empty password.
pub fn decrypt_private_key(encrypted_pem: &[u8], password: &[u8]) -> Result<PrivateKey, PkiError> {
    let block = key_block(encrypted_pem)?;
    if block.label == ENCRYPTED_LABEL {
        let der = key_crypt::decrypt(&block.data, password)?;
        // A wrong password that happens to leave valid CBC padding decrypts to garbage.
        if !key_algs::is_pkcs8(&der) {
            return Err(PkiError::WrongPassword);
        }
        return key_algs::from_pkcs8(&der).map(PrivateKey::from_canonical);
    }
    if block.encrypted {
        return Err(PkiError::UnsupportedKey(
            "legacy PEM encryption (Proc-Type: 4,ENCRYPTED); convert the key with \
             `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
                .into(),
        ));
    }
    plain_key(&block).map(PrivateKey::from_canonical)
}

/// The canonical form of an "ENCRYPTED PRIVATE KEY" PEM that is kept encrypted: the block
/// re-encoded without the text around it, after checking that its encryption is one
/// [`decrypt_private_key`] can undo. The key itself cannot be checked without its password.
pub fn canonical_encrypted_private_key(input: &[u8]) -> Result<Zeroizing<String>, PkiError> {
    let block = key_block(input)?;
    if block.label != ENCRYPTED_LABEL {
        return Err(PkiError::WrongLabel {
            found: block.label.clone(),
            expected: "an ENCRYPTED PRIVATE KEY block",
        });
    }
    key_crypt::check_decryptable(&block.data)?;
    Ok(pem_blocks::encode_secret(ENCRYPTED_LABEL, &block.data))
}

/// True when the first key block is encrypted, so that a caller can refuse it with a clear
/// message instead of a parse error.
pub fn is_encrypted_key(input: &[u8]) -> bool {
    key_block(input).is_ok_and(|b| b.label == ENCRYPTED_LABEL || b.encrypted)
}

/// The first private key block, with the errors every key entry point shares.
fn key_block(input: &[u8]) -> Result<PemBlock, PkiError> {
    pem_blocks::check_input(input, MAX_KEY_INPUT)?;
    let blocks = pem_blocks::read_blocks(input)?;
    let Some(first) = blocks.first() else {
        return Err(pem_blocks::not_pem(input));
    };
    let found = first.label.clone();
    blocks
        .into_iter()
        .find(|b| b.label.ends_with("PRIVATE KEY"))
        .ok_or(PkiError::WrongLabel {
            found,
            expected: "a private key block",
        })
}

fn plain_key(block: &PemBlock) -> Result<key_algs::Canonical, PkiError> {
    match block.label.as_str() {
        "PRIVATE KEY" => key_algs::from_pkcs8(&block.data),
        "RSA PRIVATE KEY" => key_algs::from_pkcs1(&block.data),
        "EC PRIVATE KEY" => key_algs::from_sec1(&block.data),
        "DSA PRIVATE KEY" => Err(PkiError::UnsupportedKey(
            "DSA key (supported: RSA, EC P-256/P-384/P-521, Ed25519)".into(),
        )),
        "OPENSSH PRIVATE KEY" => Err(PkiError::UnsupportedKey(
            "OpenSSH key format; convert it with `ssh-keygen -p -m PKCS8 -f FILE`".into(),
        )),
        other => Err(PkiError::UnsupportedKey(format!("'{other}' block"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::test_support::{openssl_stdout, openssl_with_stdin, Material};
    use crate::pki::{parse_cert_chain, pem_blocks};

    fn parse(m: &Material, name: &str) -> PrivateKey {
        parse_private_key(&m.read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// `openssl pkey` output for a key file: OpenSSL's canonical unencrypted PKCS#8.
    fn openssl_pkcs8(m: &Material, name: &str) -> String {
        openssl_stdout(&["pkey", "-in", &m.path_str(name)])
    }

    fn cert_der(m: &Material, name: &str) -> Vec<u8> {
        let chain = parse_cert_chain(&m.read(name)).expect("cert");
        chain.leaf_der().to_vec()
    }

    #[test]
    fn canonical_pem_equals_openssl_pkey_for_every_supported_format() {
        let m = Material::new();
        let cases = [
            ("rsa.key", KeyAlgorithm::Rsa { bits: 2048 }),
            ("rsa-pkcs1.key", KeyAlgorithm::Rsa { bits: 2048 }),
            ("p256.key", KeyAlgorithm::EcP256),
            ("p256-sec1.key", KeyAlgorithm::EcP256),
            ("p384.key", KeyAlgorithm::EcP384),
            ("p384-sec1.key", KeyAlgorithm::EcP384),
            ("p521.key", KeyAlgorithm::EcP521),
            ("p521-sec1.key", KeyAlgorithm::EcP521),
            ("ed25519.key", KeyAlgorithm::Ed25519),
        ];
        for (name, algorithm) in cases {
            let key = parse(&m, name);
            assert_eq!(key.algorithm(), algorithm, "{name}");
            assert_eq!(
                key.to_pkcs8_pem().as_str(),
                openssl_pkcs8(&m, name),
                "{name}"
            );
            let der = pem_blocks::read_blocks(key.to_pkcs8_pem().as_bytes()).expect("pem");
            assert_eq!(&der[0].data[..], key.pkcs8_der(), "{name}");
            let pubout = openssl_stdout(&["pkey", "-in", &m.path_str(name), "-pubout"]);
            let spki = pem_blocks::read_blocks(pubout.as_bytes()).expect("pubout");
            assert_eq!(&spki[0].data[..], &key.public_key_spki_der()[..], "{name}");
        }
    }

    #[test]
    fn sec1_file_with_ec_parameters_block_is_read() {
        let m = Material::new();
        let text = String::from_utf8(m.read("p256-sec1.key")).expect("utf8");
        assert!(text.starts_with("-----BEGIN EC PARAMETERS-----"));
        assert_eq!(parse(&m, "p256-sec1.key").algorithm(), KeyAlgorithm::EcP256);
    }

    #[test]
    fn keys_match_their_own_certificates_only() {
        let m = Material::new();
        let names = ["rsa", "p256", "p384", "p521", "ed25519"];
        for key_name in names {
            let key = parse(&m, &format!("{key_name}.key"));
            for cert_name in names {
                let result = key.matches_certificate(&cert_der(&m, &format!("{cert_name}.crt")));
                if key_name == cert_name {
                    assert_eq!(result, Ok(()), "{key_name}");
                } else {
                    assert_eq!(
                        result,
                        Err(PkiError::KeyMismatch),
                        "{key_name} vs {cert_name}"
                    );
                }
            }
        }
        // Same algorithm, different key.
        let other_rsa = parse(&m, "root.key");
        assert_eq!(
            other_rsa.matches_certificate(&cert_der(&m, "rsa.crt")),
            Err(PkiError::KeyMismatch)
        );
        assert!(matches!(
            other_rsa.matches_certificate(b"not a certificate"),
            Err(PkiError::BadCertificate(_))
        ));
    }

    #[test]
    fn pkcs1_key_matches_its_certificate() {
        let m = Material::new();
        let key = parse(&m, "rsa-pkcs1.key");
        let cert = m.path_str("rsa-pkcs1.crt");
        openssl_stdout(&[
            "req",
            "-x509",
            "-new",
            "-key",
            &m.path_str("rsa-pkcs1.key"),
            "-subj",
            "/CN=x",
            "-out",
            &cert,
        ]);
        assert_eq!(
            key.matches_certificate(&cert_der(&m, "rsa-pkcs1.crt")),
            Ok(())
        );
    }

    #[test]
    fn compressed_ec_points_match_the_same_key() {
        let m = Material::new();
        let uncompressed_cert = cert_der(&m, "p256.crt");
        let compressed_cert = cert_der(&m, "p256c.crt");
        let spki = cert::certificate_spki(&compressed_cert).expect("spki");
        assert_eq!(
            spki.len(),
            59,
            "the certificate should carry a compressed point"
        );
        for name in ["p256.key", "p256c.key"] {
            let key = parse(&m, name);
            assert_eq!(key.matches_certificate(&compressed_cert), Ok(()), "{name}");
            assert_eq!(
                key.matches_certificate(&uncompressed_cert),
                Ok(()),
                "{name}"
            );
        }
        // The canonical form does not depend on how the input encoded the point.
        assert_eq!(
            parse(&m, "p256c.key").pkcs8_der(),
            parse(&m, "p256.key").pkcs8_der()
        );
    }

    #[test]
    fn unsupported_algorithms_say_what_they_are() {
        let m = Material::new();
        let cases = [
            ("dsa.key", "DSA"),
            ("dsa-traditional.key", "DSA"),
            ("dh.key", "Diffie-Hellman"),
            ("x25519.key", "X25519"),
            ("ed448.key", "Ed448"),
            ("secp256k1.key", "secp256k1"),
            ("secp256k1-sec1.key", "secp256k1"),
            ("brainpool.key", "brainpoolP256r1"),
            ("explicit-sec1.key", "explicit"),
            ("rsa512.key", "512-bit RSA"),
            ("rsa-pss.key", "RSA-PSS"),
        ];
        for (name, what) in cases {
            match parse_private_key(&m.read(name)) {
                Err(PkiError::UnsupportedKey(msg)) => assert!(msg.contains(what), "{name}: {msg}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn encrypted_key_round_trips_through_openssl() {
        let m = Material::new();
        for name in ["rsa.key", "p384.key", "ed25519.key"] {
            let key = parse(&m, name);
            let encrypted = key.encrypt(b"s3cret pass").expect("encrypt");
            assert!(encrypted.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
            assert!(is_encrypted_key(encrypted.as_bytes()));
            let out = openssl_with_stdin(
                &["pkey", "-passin", "pass:s3cret pass"],
                encrypted.as_bytes(),
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                key.to_pkcs8_pem().as_str()
            );
            let back = decrypt_private_key(encrypted.as_bytes(), b"s3cret pass").expect("decrypt");
            assert_eq!(back.pkcs8_der(), key.pkcs8_der());
            assert_eq!(
                decrypt_private_key(encrypted.as_bytes(), b"wrong").map(|k| k.algorithm()),
                Err(PkiError::WrongPassword)
            );
            assert_eq!(
                parse_private_key(encrypted.as_bytes()).map(|k| k.algorithm()),
                Err(PkiError::WrongPassword)
            );
        }
    }

    #[test]
    fn encryption_uses_pbes2_with_strong_parameters() {
        let m = Material::new();
        let encrypted = parse(&m, "p256.key").encrypt(b"pw").expect("encrypt");
        let dump =
            String::from_utf8(openssl_with_stdin(&["asn1parse"], encrypted.as_bytes()).stdout)
                .expect("asn1parse");
        for expected in [
            "PBES2",
            "PBKDF2",
            "hmacWithSHA256",
            "aes-256-cbc",
            ":0927C0",
        ] {
            assert!(dump.contains(expected), "{expected} missing in\n{dump}");
        }
        let again = parse(&m, "p256.key").encrypt(b"pw").expect("encrypt");
        assert_ne!(
            encrypted.as_str(),
            again.as_str(),
            "salt and IV must be random"
        );
        assert_eq!(
            parse(&m, "p256.key").encrypt(b"").map(|_| ()),
            Err(PkiError::WrongPassword)
        );
    }

    #[test]
    fn openssl_encrypted_keys_decrypt() {
        let m = Material::new();
        for (name, plain) in [
            ("rsa.enc", "rsa.key"),
            ("rsa.3des", "rsa.key"),
            ("p256.scrypt", "p256.key"),
        ] {
            assert!(is_encrypted_key(&m.read(name)), "{name}");
            let key = decrypt_private_key(&m.read(name), b"secret").expect(name);
            assert_eq!(
                key.to_pkcs8_pem().as_str(),
                openssl_pkcs8(&m, plain),
                "{name}"
            );
            assert_eq!(
                decrypt_private_key(&m.read(name), b"Secret").map(|k| k.algorithm()),
                Err(PkiError::WrongPassword),
                "{name}"
            );
        }
    }

    #[test]
    fn legacy_encrypted_pem_is_recognised() {
        let m = Material::new();
        let legacy = m.read("rsa-legacy.enc");
        assert!(is_encrypted_key(&legacy));
        assert_eq!(
            parse_private_key(&legacy).map(|k| k.algorithm()),
            Err(PkiError::WrongPassword)
        );
        assert!(matches!(
            decrypt_private_key(&legacy, b"secret"),
            Err(PkiError::UnsupportedKey(_))
        ));
        assert!(!is_encrypted_key(&m.read("rsa-pkcs1.key")));
        assert!(!is_encrypted_key(b""));
    }

    #[test]
    fn decrypting_a_plain_key_returns_it() {
        let m = Material::new();
        let key = decrypt_private_key(&m.read("rsa.key"), b"anything").expect("plain");
        assert_eq!(key.to_pkcs8_pem().as_str(), openssl_pkcs8(&m, "rsa.key"));
    }

    #[test]
    fn bad_inputs_have_precise_errors() {
        let m = Material::new();
        let err = |input: &[u8]| parse_private_key(input).map(|k| k.algorithm()).unwrap_err();
        assert_eq!(err(b""), PkiError::Empty);
        assert!(matches!(
            err(&vec![b'k'; 2 << 20]),
            PkiError::TooLarge {
                limit: MAX_KEY_INPUT,
                ..
            }
        ));
        assert!(matches!(err(&m.random_bytes(1024)), PkiError::NotPem(_)));
        let der = openssl_stdout_bytes(&m, "rsa.key");
        assert!(matches!(err(&der), PkiError::NotPem(msg) if msg.contains("DER")));
        let pem = m.read("rsa.key");
        assert!(matches!(err(&pem[..pem.len() / 2]), PkiError::BadPem(_)));
        assert_eq!(
            err(&m.read("rsa.crt")),
            PkiError::WrongLabel {
                found: "CERTIFICATE".into(),
                expected: "a private key block"
            }
        );
        let garbage = pem_blocks::encode("PRIVATE KEY", &[0x30, 0x03, 0x02, 0x01, 0x00]);
        assert!(matches!(err(garbage.as_bytes()), PkiError::BadKey(_)));
        let garbage = pem_blocks::encode("RSA PRIVATE KEY", b"\x30\x00");
        assert!(matches!(err(garbage.as_bytes()), PkiError::BadKey(_)));
    }

    #[test]
    fn inconsistent_rsa_key_is_bad() {
        let m = Material::new();
        // Corrupt the CRT coefficient: the structure parses, the arithmetic does not.
        let text = openssl_stdout(&["rsa", "-in", &m.path_str("rsa-pkcs1.key"), "-traditional"]);
        let blocks = pem_blocks::read_blocks(text.as_bytes()).expect("pem");
        let mut der = blocks[0].data.to_vec();
        let last = der.len() - 1;
        der[last] ^= 1; // the CRT coefficient's last byte
        let broken = pem_blocks::encode("RSA PRIVATE KEY", &der);
        assert!(matches!(
            parse_private_key(broken.as_bytes()),
            Err(PkiError::BadKey(_))
        ));
    }

    #[test]
    fn key_among_other_blocks_and_text_is_found() {
        let m = Material::new();
        let mut input = b"Bag Attributes\n    friendlyName: x\n".to_vec();
        input.extend(m.read("p256.crt"));
        input.extend(b"junk\n");
        input.extend(m.read("p256.key"));
        let key = parse_private_key(&input).expect("key after cert");
        assert_eq!(key.to_pkcs8_pem().as_str(), openssl_pkcs8(&m, "p256.key"));
    }

    #[test]
    fn debug_output_has_no_key_material() {
        let m = Material::new();
        let key = parse(&m, "ed25519.key");
        let shown = format!("{key:?}");
        assert_eq!(shown, "PrivateKey { algorithm: Ed25519, .. }");
    }

    fn openssl_stdout_bytes(m: &Material, name: &str) -> Vec<u8> {
        crate::pki::test_support::openssl(&["pkey", "-in", &m.path_str(name), "-outform", "DER"])
    }
}
