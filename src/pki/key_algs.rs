//! Per-algorithm key handling: from any accepted encoding to the PKCS#8 DER and public key
//! that `openssl pkey` would write for the same key.
//!
//! OpenSSL re-encodes a key from its parsed components, so the canonical form is rebuilt here
//! from validated components too: RSA as PKCS#1 inside PKCS#8 v1 with NULL parameters; EC as
//! SEC1 without its own parameters but with the uncompressed public point, the scalar padded
//! to the field size; Ed25519 as PKCS#8 v1 without the public key.

use super::key::KeyAlgorithm;
use super::PkiError;
use p256::elliptic_curve::sec1::{FromSec1Point, ModulusSize, ToSec1Point};
use p256::elliptic_curve::{AffinePoint, CurveArithmetic, FieldBytesSize, PublicKey, SecretKey};
use pkcs8::der::asn1::{AnyRef, BitStringRef, ContextSpecific, ObjectIdentifier, OctetStringRef};
use pkcs8::der::{self, Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};
use pkcs8::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use pkcs8::PrivateKeyInfoRef;
use zeroize::Zeroizing;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// Below this, RSA keys are breakable; OpenSSL's own default security level refuses them.
const MIN_RSA_BITS: usize = 1024;
/// OpenSSL refuses larger moduli (`OPENSSL_RSA_MAX_MODULUS_BITS`): nothing could use such a key.
const MAX_RSA_BITS: usize = 16384;

/// A key in canonical form.
pub(crate) struct Canonical {
    pub(crate) algorithm: KeyAlgorithm,
    pub(crate) pkcs8: Zeroizing<Vec<u8>>,
    pub(crate) spki: Vec<u8>,
}

/// PKCS#8 `PrivateKeyInfo` (v1 or v2) of a supported algorithm.
pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Canonical, PkiError> {
    let info = PrivateKeyInfoRef::from_der(der)
        .map_err(|e| PkiError::BadKey(format!("PKCS#8 private key does not parse: {e}")))?;
    let inner = info.private_key.as_bytes();
    match info.algorithm.oid {
        RSA_ENCRYPTION => {
            check_rsa_parameters(info.algorithm.parameters)?;
            from_pkcs1(inner)
        }
        EC_PUBLIC_KEY => sec1_in_curve(
            inner,
            Some(Curve::from_parameters(info.algorithm.parameters)?),
        ),
        ED25519 => from_ed25519(inner, info.public_key.as_ref()),
        other => Err(PkiError::UnsupportedKey(describe_algorithm(other))),
    }
}

/// Whether the bytes are a PKCS#8 structure at all, whatever the key inside.
pub(crate) fn is_pkcs8(der: &[u8]) -> bool {
    PrivateKeyInfoRef::from_der(der).is_ok()
}

fn check_rsa_parameters(parameters: Option<AnyRef<'_>>) -> Result<(), PkiError> {
    match parameters {
        None => Ok(()),
        Some(p) if p.is_null() => Ok(()),
        Some(_) => Err(PkiError::BadKey(
            "rsaEncryption key with unexpected algorithm parameters".into(),
        )),
    }
}

/// What an unsupported PKCS#8 algorithm is, in words a user can act on.
fn describe_algorithm(oid: ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.10040.4.1" => "DSA key",
        "1.2.840.113549.1.3.1" | "1.2.840.10046.2.1" => "Diffie-Hellman key",
        "1.3.101.110" => "X25519 key",
        "1.3.101.111" => "X448 key",
        "1.3.101.113" => "Ed448 key",
        "1.2.840.113549.1.1.10" => "RSA-PSS restricted key",
        "1.2.156.10197.1.301" => "SM2 key",
        _ => return format!("key algorithm {oid}"),
    };
    format!("{name} (supported: RSA, EC P-256/P-384/P-521, Ed25519)")
}

// ---------------------------------------------------------------------------------------------
// RSA

/// PKCS#1 `RSAPrivateKey`, checked to be a consistent two-prime key.
pub(crate) fn from_pkcs1(der: &[u8]) -> Result<Canonical, PkiError> {
    let key = pkcs1::RsaPrivateKeyRef::from_der(der)
        .map_err(|e| PkiError::BadKey(format!("RSA private key does not parse: {e}")))?;
    if key.other_prime_infos.is_some() {
        return Err(PkiError::UnsupportedKey("multi-prime RSA key".into()));
    }
    let bits = bit_length(key.modulus.as_bytes());
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(PkiError::UnsupportedKey(format!(
            "{bits}-bit RSA key (supported: {MIN_RSA_BITS} to {MAX_RSA_BITS} bits)"
        )));
    }
    let pkcs1 = encode_secret(&key)?;
    check_rsa_consistency(&key, &pkcs1)?;
    let spki = rsa_spki(&key.public_key())?;
    let pkcs8 = pkcs8_der(RSA_ENCRYPTION, Some(AnyRef::NULL), &pkcs1)?;
    Ok(Canonical {
        algorithm: KeyAlgorithm::Rsa { bits },
        pkcs8,
        spki,
    })
}

/// Checks the RSA arithmetic (n = p·q, e·d ≡ 1, CRT values) with the `rsa` crate: a key that
/// parses but is inconsistent would produce bad signatures long after it was stored.
fn check_rsa_consistency(
    key: &pkcs1::RsaPrivateKeyRef<'_>,
    canonical_pkcs1: &[u8],
) -> Result<(), PkiError> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let inconsistent = || PkiError::BadKey("RSA key components are inconsistent".into());
    let checked = rsa::PrivateKey::from_components_with_wide_primes(
        big_uint(key.modulus.as_bytes())?,
        big_uint(key.public_exponent.as_bytes())?,
        big_uint(key.private_exponent.as_bytes())?,
        vec![
            big_uint(key.prime1.as_bytes())?,
            big_uint(key.prime2.as_bytes())?,
        ],
    )
    .map_err(|e| match e {
        rsa::Error::PublicExponentTooLarge => {
            PkiError::UnsupportedKey("RSA key with a public exponent above 2^33".into())
        }
        _ => inconsistent(),
    })?;
    // The rsa crate recomputes the CRT values; the stored ones must agree with them.
    let recomputed = checked.to_pkcs1_der().map_err(|_| inconsistent())?;
    if recomputed.as_bytes() != canonical_pkcs1 {
        return Err(inconsistent());
    }
    Ok(())
}

fn big_uint(bytes: &[u8]) -> Result<rsa::BoxedUint, PkiError> {
    let bits = u32::try_from(bytes.len().max(1) * 8)
        .map_err(|_| PkiError::BadKey("RSA key component too large".into()))?;
    rsa::BoxedUint::from_be_slice(bytes, bits)
        .map_err(|_| PkiError::BadKey("RSA key component does not parse".into()))
}

fn bit_length(be_bytes: &[u8]) -> usize {
    let Some(pos) = be_bytes.iter().position(|&b| b != 0) else {
        return 0;
    };
    let rest = be_bytes.len() - pos - 1;
    rest * 8 + (8 - be_bytes[pos].leading_zeros() as usize)
}

fn rsa_spki(public: &pkcs1::RsaPublicKeyRef<'_>) -> Result<Vec<u8>, PkiError> {
    let key = public.to_der().map_err(internal)?;
    spki_der(RSA_ENCRYPTION, Some(AnyRef::NULL), &key)
}

// ---------------------------------------------------------------------------------------------
// Elliptic curves

/// The curves VECS-using software can be expected to handle.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    fn from_oid(oid: ObjectIdentifier) -> Result<Self, PkiError> {
        match oid {
            SECP256R1 => Ok(Curve::P256),
            SECP384R1 => Ok(Curve::P384),
            SECP521R1 => Ok(Curve::P521),
            other => Err(PkiError::UnsupportedKey(format!(
                "EC key on curve {} (supported: P-256, P-384, P-521)",
                curve_name(other)
            ))),
        }
    }

    /// ECParameters: a named curve; explicit parameters and implicitCA are refused.
    fn from_parameters(parameters: Option<AnyRef<'_>>) -> Result<Self, PkiError> {
        let Some(parameters) = parameters else {
            return Err(PkiError::BadKey("EC key names no curve".into()));
        };
        match parameters.tag() {
            Tag::ObjectIdentifier => {
                let oid = parameters
                    .decode_as::<ObjectIdentifier>()
                    .map_err(|e| PkiError::BadKey(format!("EC curve name does not parse: {e}")))?;
                Curve::from_oid(oid)
            }
            Tag::Sequence => Err(PkiError::UnsupportedKey(
                "EC key with explicit curve parameters (use a named curve: P-256, P-384, P-521)"
                    .into(),
            )),
            _ => Err(PkiError::UnsupportedKey(
                "EC key without a named curve".into(),
            )),
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            Curve::P256 => SECP256R1,
            Curve::P384 => SECP384R1,
            Curve::P521 => SECP521R1,
        }
    }

    fn algorithm(self) -> KeyAlgorithm {
        match self {
            Curve::P256 => KeyAlgorithm::EcP256,
            Curve::P384 => KeyAlgorithm::EcP384,
            Curve::P521 => KeyAlgorithm::EcP521,
        }
    }

    fn key_parts(self, scalar: &[u8], public: Option<&[u8]>) -> Result<EcParts, PkiError> {
        match self {
            Curve::P256 => ec_key_parts::<p256::NistP256>(scalar, public),
            Curve::P384 => ec_key_parts::<p384::NistP384>(scalar, public),
            Curve::P521 => ec_key_parts::<p521::NistP521>(scalar, public),
        }
    }

    fn uncompressed_point(self, point: &[u8]) -> Option<Vec<u8>> {
        match self {
            Curve::P256 => uncompressed::<p256::NistP256>(point),
            Curve::P384 => uncompressed::<p384::NistP384>(point),
            Curve::P521 => uncompressed::<p521::NistP521>(point),
        }
    }
}

fn curve_name(oid: ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.3.132.0.10" => "secp256k1",
        "1.3.132.0.33" => "P-224",
        "1.2.840.10045.3.1.1" => "P-192",
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1",
        "1.3.36.3.3.2.8.1.1.11" => "brainpoolP384r1",
        "1.3.36.3.3.2.8.1.1.13" => "brainpoolP512r1",
        "1.2.156.10197.1.301" => "SM2",
        other => return other.to_string(),
    };
    name.to_string()
}

/// The private scalar padded to the field size, and the uncompressed public point.
struct EcParts {
    scalar: Zeroizing<Vec<u8>>,
    point: Vec<u8>,
}

fn ec_key_parts<C>(scalar: &[u8], public: Option<&[u8]>) -> Result<EcParts, PkiError>
where
    C: CurveArithmetic,
    FieldBytesSize<C>: ModulusSize,
    AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
{
    use p256::elliptic_curve::array::typenum::Unsigned;
    let field_len = FieldBytesSize::<C>::USIZE;
    if scalar.is_empty() || scalar.len() > field_len {
        return Err(PkiError::BadKey(
            "EC private key has the wrong length for its curve".into(),
        ));
    }
    // Old encoders dropped leading zero bytes; OpenSSL writes the full field width.
    let mut padded = Zeroizing::new(vec![0u8; field_len]);
    padded[field_len - scalar.len()..].copy_from_slice(scalar);
    let secret = SecretKey::<C>::from_slice(&padded)
        .map_err(|_| PkiError::BadKey("EC private key is out of range for its curve".into()))?;
    let derived = secret.public_key();
    if let Some(given) = public {
        let given = PublicKey::<C>::from_sec1_bytes(given)
            .map_err(|_| PkiError::BadKey("EC public key is not a point on the curve".into()))?;
        if given != derived {
            return Err(PkiError::BadKey(
                "EC public key does not belong to the private key".into(),
            ));
        }
    }
    Ok(EcParts {
        scalar: padded,
        point: derived.to_sec1_point(false).as_bytes().to_vec(),
    })
}

fn uncompressed<C>(point: &[u8]) -> Option<Vec<u8>>
where
    C: CurveArithmetic,
    FieldBytesSize<C>: ModulusSize,
    AffinePoint<C>: FromSec1Point<C> + ToSec1Point<C>,
{
    let key = PublicKey::<C>::from_sec1_bytes(point).ok()?;
    Some(key.to_sec1_point(false).as_bytes().to_vec())
}

/// SEC1 `ECPrivateKey` fields, read by hand because the `sec1` crate cannot decode explicit
/// curve parameters, which deserve an "unsupported" answer rather than "does not parse".
struct Sec1Fields<'a> {
    scalar: &'a [u8],
    parameters: Option<AnyRef<'a>>,
    public: Option<BitStringRef<'a>>,
}

fn decode_sec1(der: &[u8]) -> der::Result<Sec1Fields<'_>> {
    let mut reader = SliceReader::new(der)?;
    let fields = reader.sequence(|r| {
        let version = u8::decode(r)?;
        if version != 1 {
            return Err(der::Error::from(Tag::Integer.value_error()));
        }
        let scalar = <&OctetStringRef>::decode(r)?.as_bytes();
        let parameters =
            ContextSpecific::<AnyRef<'_>>::decode_explicit(r, TagNumber(0))?.map(|f| f.value);
        let public =
            ContextSpecific::<BitStringRef<'_>>::decode_explicit(r, TagNumber(1))?.map(|f| f.value);
        Ok::<_, der::Error>(Sec1Fields {
            scalar,
            parameters,
            public,
        })
    })?;
    reader.finish()?;
    Ok(fields)
}

/// SEC1 `ECPrivateKey` from an "EC PRIVATE KEY" block.
pub(crate) fn from_sec1(der: &[u8]) -> Result<Canonical, PkiError> {
    sec1_in_curve(der, None)
}

/// SEC1 `ECPrivateKey`, alone or inside PKCS#8 (which names the curve outside it).
fn sec1_in_curve(der: &[u8], outer: Option<Curve>) -> Result<Canonical, PkiError> {
    let fields = decode_sec1(der)
        .map_err(|e| PkiError::BadKey(format!("EC private key does not parse: {e}")))?;
    let inner = fields
        .parameters
        .map(|p| Curve::from_parameters(Some(p)))
        .transpose()?;
    let curve = match (outer, inner) {
        (Some(a), Some(b)) if a != b => {
            return Err(PkiError::BadKey("EC key names two different curves".into()))
        }
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => return Err(PkiError::BadKey("EC key names no curve".into())),
    };
    let public = match fields.public {
        Some(bits) => Some(bits.as_bytes().ok_or_else(|| {
            PkiError::BadKey("EC public key is not a whole number of bytes".into())
        })?),
        None => None,
    };
    let parts = curve.key_parts(fields.scalar, public)?;
    let sec1 = encode_secret(&sec1::EcPrivateKey {
        private_key: &parts.scalar,
        parameters: None,
        public_key: Some(&parts.point),
    })?;
    let curve_oid = curve.oid();
    Ok(Canonical {
        algorithm: curve.algorithm(),
        pkcs8: pkcs8_der(EC_PUBLIC_KEY, Some(AnyRef::from(&curve_oid)), &sec1)?,
        spki: spki_der(EC_PUBLIC_KEY, Some(AnyRef::from(&curve_oid)), &parts.point)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Ed25519

/// RFC 8410 `CurvePrivateKey`: an OCTET STRING holding the 32-byte seed.
fn from_ed25519(inner: &[u8], public: Option<&BitStringRef<'_>>) -> Result<Canonical, PkiError> {
    let seed = <&OctetStringRef>::from_der(inner)
        .map_err(|e| PkiError::BadKey(format!("Ed25519 private key does not parse: {e}")))?
        .as_bytes();
    let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
        seed.try_into()
            .map_err(|_| PkiError::BadKey("Ed25519 private key is not 32 bytes".into()))?,
    );
    let public_key = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    if let Some(given) = public {
        if given.as_bytes() != Some(&public_key[..]) {
            return Err(PkiError::BadKey(
                "Ed25519 public key does not belong to the private key".into(),
            ));
        }
    }
    let inner = encode_secret(&OctetStringRef::new(&seed[..]).map_err(internal)?)?;
    Ok(Canonical {
        algorithm: KeyAlgorithm::Ed25519,
        pkcs8: pkcs8_der(ED25519, None, &inner)?,
        spki: spki_der(ED25519, None, &public_key)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Public keys

/// A certificate's SubjectPublicKeyInfo in the same canonical form as [`Canonical::spki`], so
/// that key matching is a byte comparison; `None` for a public key no supported key can match.
pub(crate) fn canonical_spki(der: &[u8]) -> Option<Vec<u8>> {
    let info = SubjectPublicKeyInfoRef::from_der(der).ok()?;
    let key = info.subject_public_key.as_bytes()?;
    match info.algorithm.oid {
        RSA_ENCRYPTION => rsa_spki(&pkcs1::RsaPublicKeyRef::from_der(key).ok()?).ok(),
        EC_PUBLIC_KEY => {
            let curve = Curve::from_parameters(info.algorithm.parameters).ok()?;
            let point = curve.uncompressed_point(key)?;
            spki_der(EC_PUBLIC_KEY, Some(AnyRef::from(&curve.oid())), &point).ok()
        }
        ED25519 if key.len() == 32 => spki_der(ED25519, None, key).ok(),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

fn pkcs8_der(
    oid: ObjectIdentifier,
    parameters: Option<AnyRef<'_>>,
    private_key: &[u8],
) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    let info = PrivateKeyInfoRef {
        algorithm: AlgorithmIdentifierRef { oid, parameters },
        private_key: OctetStringRef::new(private_key).map_err(internal)?,
        public_key: None,
    };
    encode_secret(&info)
}

fn spki_der(
    oid: ObjectIdentifier,
    parameters: Option<AnyRef<'_>>,
    public_key: &[u8],
) -> Result<Vec<u8>, PkiError> {
    let info = SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef { oid, parameters },
        subject_public_key: BitStringRef::from_bytes(public_key).map_err(internal)?,
    };
    info.to_der().map_err(internal)
}

/// DER into a buffer that is zeroized on drop and sized in advance, so that no copy of the
/// key is left behind by a reallocation.
pub(crate) fn encode_secret(message: &impl Encode) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    let len = usize::try_from(message.encoded_len().map_err(internal)?).map_err(internal)?;
    let mut buf = Zeroizing::new(vec![0u8; len]);
    message.encode_to_slice(&mut buf).map_err(internal)?;
    Ok(buf)
}

/// Encoding values that were just decoded or built cannot fail; if it does, say so without
/// echoing any key material.
fn internal(e: der::Error) -> PkiError {
    PkiError::BadKey(format!("internal DER encoding error: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::test_support::openssl_with_stdin;
    use crate::pki::{parse_private_key, pem_blocks};

    fn ed25519_pkcs8(seed: &[u8; 32], public: Option<&[u8]>) -> Vec<u8> {
        let inner = OctetStringRef::new(seed)
            .expect("seed")
            .to_der()
            .expect("der");
        PrivateKeyInfoRef {
            algorithm: AlgorithmIdentifierRef {
                oid: ED25519,
                parameters: None,
            },
            private_key: OctetStringRef::new(&inner).expect("inner"),
            public_key: public.map(|p| BitStringRef::from_bytes(p).expect("bits")),
        }
        .to_der()
        .expect("pkcs8")
    }

    fn sec1(scalar: &[u8], curve: Option<ObjectIdentifier>, public: Option<&[u8]>) -> Vec<u8> {
        sec1::EcPrivateKey {
            private_key: scalar,
            parameters: curve.map(sec1::EcParameters::NamedCurve),
            public_key: public,
        }
        .to_der()
        .expect("sec1")
    }

    #[test]
    fn ed25519_v2_with_its_public_key_becomes_v1() {
        let seed = [7u8; 32];
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        let v1 = from_pkcs8(&ed25519_pkcs8(&seed, None)).expect("v1");
        let v2 = from_pkcs8(&ed25519_pkcs8(&seed, Some(&public))).expect("v2");
        assert_eq!(v1.pkcs8, v2.pkcs8);
        assert_eq!(&v1.pkcs8[..], &ed25519_pkcs8(&seed, None)[..]);
        // OpenSSL 3.0 cannot read v2 keys; what it writes for the v1 form is the reference.
        let v1_pem = pem_blocks::encode("PRIVATE KEY", &ed25519_pkcs8(&seed, None));
        let out = openssl_with_stdin(&["pkey"], v1_pem.as_bytes());
        assert!(out.status.success());
        let v2_pem = pem_blocks::encode("PRIVATE KEY", &ed25519_pkcs8(&seed, Some(&public)));
        let ours = parse_private_key(v2_pem.as_bytes()).expect("parse");
        assert_eq!(out.stdout, ours.to_pkcs8_pem().as_bytes());
    }

    #[test]
    fn ed25519_v2_with_another_public_key_is_bad() {
        let wrong = [9u8; 32];
        assert!(matches!(
            from_pkcs8(&ed25519_pkcs8(&[7u8; 32], Some(&wrong))),
            Err(PkiError::BadKey(_))
        ));
    }

    #[test]
    fn short_ec_scalar_is_padded_to_the_field_size() {
        let scalar: Vec<u8> = (0u8..32).collect();
        let full = from_sec1(&sec1(&scalar, Some(SECP256R1), None)).expect("full");
        let short = from_sec1(&sec1(&scalar[1..], Some(SECP256R1), None)).expect("short");
        assert_eq!(full.pkcs8, short.pkcs8);
        assert_eq!(full.spki, short.spki);
        assert_eq!(full.algorithm, KeyAlgorithm::EcP256);
    }

    #[test]
    fn ec_keys_with_bad_parts_are_bad() {
        let scalar: Vec<u8> = (1u8..33).collect();
        let other: Vec<u8> = (2u8..34).collect();
        let other_point = from_sec1(&sec1(&other, Some(SECP256R1), None))
            .expect("other")
            .spki;
        // The point is the SPKI's last 65 bytes.
        let point = &other_point[other_point.len() - 65..];
        let cases = [
            sec1(&scalar, Some(SECP256R1), Some(point)),
            sec1(&scalar, None, None),
            sec1(&[0u8; 32], Some(SECP256R1), None),
            sec1(&[0xffu8; 32], Some(SECP256R1), None),
            sec1(&[1u8; 33], Some(SECP256R1), None),
        ];
        for (i, der) in cases.iter().enumerate() {
            assert!(
                matches!(from_sec1(der), Err(PkiError::BadKey(_))),
                "case {i}"
            );
        }
    }

    #[test]
    fn pkcs8_and_sec1_curves_must_agree() {
        let scalar: Vec<u8> = (1u8..33).collect();
        let inner = sec1(&scalar, Some(SECP384R1), None);
        let outer = pkcs8_der(EC_PUBLIC_KEY, Some(AnyRef::from(&SECP256R1)), &inner).expect("der");
        assert!(matches!(from_pkcs8(&outer), Err(PkiError::BadKey(_))));
    }

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[0, 1]), 1);
        assert_eq!(bit_length(&[0x80, 0]), 16);
        assert_eq!(bit_length(&[0, 0x7f, 0]), 15);
    }

    #[test]
    fn spki_of_unknown_algorithm_matches_nothing() {
        let spki = SubjectPublicKeyInfoRef {
            algorithm: AlgorithmIdentifierRef {
                oid: ObjectIdentifier::new_unwrap("1.3.101.113"),
                parameters: None,
            },
            subject_public_key: BitStringRef::from_bytes(&[1u8; 57]).expect("bits"),
        }
        .to_der()
        .expect("spki");
        assert_eq!(canonical_spki(&spki), None);
        assert_eq!(canonical_spki(b"junk"), None);
    }
}
