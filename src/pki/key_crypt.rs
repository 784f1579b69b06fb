//! Password-based encryption of PKCS#8 keys (PKCS#5 v2 / PBES2), readable by OpenSSL.
//!
//! Encryption always uses PBKDF2-HMAC-SHA256 with AES-256-CBC, the scheme every OpenSSL since
//! 1.0 decrypts. Decryption also takes what OpenSSL and older VECS write: DES-EDE3-CBC (VECS
//! itself encrypts with `EVP_des_ede3_cbc`), AES-128/192-CBC, HMAC-SHA1 and scrypt.

use super::PkiError;
use pkcs8::der::asn1::{ObjectIdentifier, OctetStringRef};
use pkcs8::der::{self, Decode, Encode, Reader, SliceReader};
use pkcs8::pkcs5::pbes2::{self, Kdf};
use pkcs8::pkcs5::{self, EncryptionScheme};
use pkcs8::spki::AlgorithmIdentifierRef;
use pkcs8::EncryptedPrivateKeyInfoRef;
use zeroize::Zeroizing;

/// OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256; about a quarter second per use.
const PBKDF2_ITERATIONS: u32 = 600_000;

/// Decryption cost limits: the parameters come with the (untrusted) ciphertext, and without a
/// cap a crafted key could make a single decryption take hours or gigabytes.
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
const MAX_SCRYPT_MEMORY: u128 = 256 << 20;
const MAX_SCRYPT_WORK: u128 = 1 << 24;

const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");

/// Encrypts PKCS#8 DER into `EncryptedPrivateKeyInfo` DER with a fresh random salt and IV.
pub(crate) fn encrypt(pkcs8: &[u8], password: &[u8]) -> Result<Vec<u8>, PkiError> {
    // An empty password protects nothing; VECS treats it as "store unencrypted".
    if password.is_empty() {
        return Err(PkiError::WrongPassword);
    }
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    getrandom::fill(&mut salt)
        .and_then(|()| getrandom::fill(&mut iv))
        .map_err(|_| {
            PkiError::BadKey("cannot encrypt: the system random generator failed".into())
        })?;
    let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, iv)
        .map_err(|e| PkiError::BadKey(format!("cannot encrypt: {e}")))?;
    let ciphertext = params
        .encrypt(password, pkcs8)
        .map_err(|e| PkiError::BadKey(format!("cannot encrypt: {e}")))?;
    let info = EncryptedPrivateKeyInfoRef {
        encryption_algorithm: params.into(),
        encrypted_data: OctetStringRef::new(&ciphertext).map_err(internal)?,
    };
    info.to_der().map_err(internal)
}

/// Decrypts `EncryptedPrivateKeyInfo` DER to the inner (still unchecked) PKCS#8 DER.
pub(crate) fn decrypt(der: &[u8], password: &[u8]) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    let info = EncryptedPrivateKeyInfoRef::from_der(der).map_err(|e| undecodable(der, e))?;
    let params = usable_scheme(&info)?;
    let mut buffer = Zeroizing::new(info.encrypted_data.as_bytes().to_vec());
    let len = params
        .decrypt_in_place(password, &mut buffer)
        .map_err(decrypt_error)?
        .len();
    buffer.truncate(len);
    Ok(buffer)
}

/// Checks that `EncryptedPrivateKeyInfo` DER is a scheme [`decrypt`] can undo (PBES2 with a
/// supported cipher and PRF, affordable parameters) without decrypting it: an imported key
/// whose password nobody gives us must still be known to be usable later.
pub(crate) fn check_decryptable(der: &[u8]) -> Result<(), PkiError> {
    let info = EncryptedPrivateKeyInfoRef::from_der(der).map_err(|e| undecodable(der, e))?;
    usable_scheme(&info).map(drop)
}

/// The PBES2 parameters of `info`, if [`decrypt`] can use them: PBES1 is refused, and so are
/// parameters too costly to try.
fn usable_scheme<'a>(
    info: &'a EncryptedPrivateKeyInfoRef<'_>,
) -> Result<&'a pbes2::Parameters, PkiError> {
    let EncryptionScheme::Pbes2(params) = &info.encryption_algorithm else {
        return Err(PkiError::UnsupportedKey(
            "key encrypted with PKCS#5 v1.5 (PBES1); re-encrypt it with \
             `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
                .into(),
        ));
    };
    check_cost(&params.kdf)?;
    Ok(params)
}

fn check_cost(kdf: &Kdf) -> Result<(), PkiError> {
    let too_costly = match kdf {
        Kdf::Pbkdf2(p) => p.iteration_count > MAX_PBKDF2_ITERATIONS,
        Kdf::Scrypt(s) => {
            let n = u128::from(s.cost_parameter);
            let r = u128::from(s.block_size);
            let p = u128::from(s.parallelization);
            128 * r * n > MAX_SCRYPT_MEMORY || n * r * p > MAX_SCRYPT_WORK
        }
        _ => false,
    };
    if too_costly {
        return Err(PkiError::UnsupportedKey(
            "key encryption parameters too costly to decrypt".into(),
        ));
    }
    Ok(())
}

fn decrypt_error(e: pkcs5::Error) -> PkiError {
    match e {
        // CBC padding did not check out: the usual result of a wrong password.
        pkcs5::Error::DecryptFailed => PkiError::WrongPassword,
        pkcs5::Error::UnsupportedAlgorithm { oid } => {
            PkiError::UnsupportedKey(format!("key encryption algorithm {oid}"))
        }
        other => PkiError::BadKey(format!("encrypted private key: {other}")),
    }
}

/// Says why an `EncryptedPrivateKeyInfo` did not decode: an encryption scheme we do not
/// implement (PKCS#12 PBE, PBES2 with an unusual cipher) or plain garbage.
fn undecodable(der: &[u8], error: der::Error) -> PkiError {
    match encryption_oid(der) {
        Some(PBES2) => PkiError::UnsupportedKey(
            "PBES2 key encryption with an unsupported cipher or PRF (supported: AES-CBC or \
             DES-EDE3-CBC with PBKDF2-HMAC-SHA1/SHA-2, or scrypt)"
                .into(),
        ),
        Some(oid) => PkiError::UnsupportedKey(format!(
            "key encryption scheme {oid}; re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
        )),
        None => PkiError::BadKey(format!("encrypted private key does not parse: {error}")),
    }
}

fn encryption_oid(der: &[u8]) -> Option<ObjectIdentifier> {
    let mut reader = SliceReader::new(der).ok()?;
    reader
        .sequence(|r| {
            let algorithm = AlgorithmIdentifierRef::decode(r)?;
            <&OctetStringRef>::decode(r)?;
            Ok::<_, der::Error>(algorithm.oid)
        })
        .ok()
}

fn internal(e: der::Error) -> PkiError {
    PkiError::BadKey(format!("internal DER encoding error: {e}"))
}
