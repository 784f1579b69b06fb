//! The named elliptic curves OpenSSL 3.0 knows, with what its key printer needs: the
//! order size (shown as `Public-Key: (N bit)`, and the printed length of a private
//! scalar) and the NIST alias printed as `NIST CURVE:`. The order sizes were read from
//! `openssl pkey -text` for a key on every curve `openssl ecparam -list_curves` lists.

use super::oids;

/// `(short name, order bits, NIST name)` of the named curves OpenSSL 3.0 knows. The order
/// size is what `Public-Key: (N bit)` shows and fixes the private scalar's printed length.
static CURVES: &[(&str, usize, Option<&str>)] = &[
    ("secp112r1", 112, None),
    ("secp112r2", 110, None),
    ("secp128r1", 128, None),
    ("secp128r2", 126, None),
    ("secp160k1", 161, None),
    ("secp160r1", 161, None),
    ("secp160r2", 161, None),
    ("secp192k1", 192, None),
    ("secp224k1", 225, None),
    ("secp224r1", 224, Some("P-224")),
    ("secp256k1", 256, None),
    ("secp384r1", 384, Some("P-384")),
    ("secp521r1", 521, Some("P-521")),
    ("prime192v1", 192, Some("P-192")),
    ("prime192v2", 192, None),
    ("prime192v3", 192, None),
    ("prime239v1", 239, None),
    ("prime239v2", 239, None),
    ("prime239v3", 239, None),
    ("prime256v1", 256, Some("P-256")),
    ("sect113r1", 113, None),
    ("sect113r2", 113, None),
    ("sect131r1", 131, None),
    ("sect131r2", 131, None),
    ("sect163k1", 163, Some("K-163")),
    ("sect163r1", 162, None),
    ("sect163r2", 163, Some("B-163")),
    ("sect193r1", 193, None),
    ("sect193r2", 193, None),
    ("sect233k1", 232, Some("K-233")),
    ("sect233r1", 233, Some("B-233")),
    ("sect239k1", 238, None),
    ("sect283k1", 281, Some("K-283")),
    ("sect283r1", 282, Some("B-283")),
    ("sect409k1", 407, Some("K-409")),
    ("sect409r1", 409, Some("B-409")),
    ("sect571k1", 570, Some("K-571")),
    ("sect571r1", 570, Some("B-571")),
    ("c2pnb163v1", 163, None),
    ("c2pnb163v2", 162, None),
    ("c2pnb163v3", 162, None),
    ("c2pnb176v1", 161, None),
    ("c2tnb191v1", 191, None),
    ("c2tnb191v2", 190, None),
    ("c2tnb191v3", 189, None),
    ("c2pnb208w1", 193, None),
    ("c2tnb239v1", 238, None),
    ("c2tnb239v2", 237, None),
    ("c2tnb239v3", 236, None),
    ("c2pnb272w1", 257, None),
    ("c2pnb304w1", 289, None),
    ("c2tnb359v1", 353, None),
    ("c2pnb368w1", 353, None),
    ("c2tnb431r1", 418, None),
    ("wap-wsg-idm-ecid-wtls1", 112, None),
    ("wap-wsg-idm-ecid-wtls3", 163, None),
    ("wap-wsg-idm-ecid-wtls4", 113, None),
    ("wap-wsg-idm-ecid-wtls5", 163, None),
    ("wap-wsg-idm-ecid-wtls6", 112, None),
    ("wap-wsg-idm-ecid-wtls7", 161, None),
    ("wap-wsg-idm-ecid-wtls8", 113, None),
    ("wap-wsg-idm-ecid-wtls9", 161, None),
    ("wap-wsg-idm-ecid-wtls10", 232, None),
    ("wap-wsg-idm-ecid-wtls11", 233, None),
    ("wap-wsg-idm-ecid-wtls12", 224, None),
    ("brainpoolP160r1", 160, None),
    ("brainpoolP160t1", 160, None),
    ("brainpoolP192r1", 192, None),
    ("brainpoolP192t1", 192, None),
    ("brainpoolP224r1", 224, None),
    ("brainpoolP224t1", 224, None),
    ("brainpoolP256r1", 256, None),
    ("brainpoolP256t1", 256, None),
    ("brainpoolP320r1", 320, None),
    ("brainpoolP320t1", 320, None),
    ("brainpoolP384r1", 384, None),
    ("brainpoolP384t1", 384, None),
    ("brainpoolP512r1", 512, None),
    ("brainpoolP512t1", 512, None),
    ("SM2", 256, None),
];

/// A named curve: its short name, order size in bits and NIST alias.
pub(super) struct Curve {
    pub name: &'static str,
    pub order_bits: usize,
    pub nist: Option<&'static str>,
}

/// The curve with this OID, if OpenSSL knows it by name.
pub(super) fn by_oid(oid: &[u8]) -> Option<Curve> {
    let (sn, _) = oids::lookup(oid)?;
    CURVES
        .iter()
        .find(|(name, _, _)| *name == sn)
        .map(|(name, order_bits, nist)| Curve {
            name,
            order_bits: *order_bits,
            nist: *nist,
        })
}
