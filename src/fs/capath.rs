//! The files the mount generates in TRUSTED_ROOTS so that OpenSSL, curl, Python and Java can
//! use the directory as it is (`-CApath`, `capath=`): `<subject hash>.N` for every root, under
//! both the current and the old OpenSSL hash, `<issuer hash>.rN` for every CRL of the CRL
//! store, and `ca-bundle.pem` with every root in one file (`-CAfile`, `cafile=`). They are
//! computed from the same snapshot as the aliases, so they are never stale or half-written.
//!
//! Numbering resolves hash collisions the same way every time: the objects of one hash are
//! ordered by the SHA-256 of their DER, and the same object under two aliases is one file.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use zeroize::Zeroizing;

use super::view::{pem_files, FileData, FileName, StoreNode};
use crate::pki::{self, TrustItem};
use crate::store::names::CA_BUNDLE;

/// The generated files, by name.
pub type Generated = BTreeMap<String, FileData>;

/// The files for `roots` (TRUSTED_ROOTS) and `crls` (the CRL store).
pub fn generated_files(roots: Option<&StoreNode>, crls: Option<&StoreNode>) -> Generated {
    let mut files = Generated::new();
    // hash → (sha-256 → PEM), so that numbering follows content, not insertion order.
    let mut certs: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
    let mut revocations: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
    let mut bundle = String::new();
    let mut bundled = BTreeSet::new();
    for (alias, pem) in pem_files(roots, FileName::Cert) {
        let Ok(chain) = pki::parse_cert_chain(pem.as_bytes()) else {
            log::warn!("TRUSTED_ROOTS/{alias}: stored certificate does not parse");
            continue;
        };
        let leaf = chain.leaf_der();
        if bundled.insert(pki::sha256_hex(pem.as_bytes())) {
            bundle.push_str(pem);
        }
        let Ok(hashes) = pki::subject_hashes(leaf) else {
            continue;
        };
        let Ok(items) = pki::parse_trust_material(leaf) else {
            continue;
        };
        let Some(TrustItem::Root(root)) = items.into_iter().next() else {
            continue;
        };
        for hash in [hashes.current, hashes.old] {
            certs
                .entry(hash)
                .or_default()
                .insert(pki::sha256_hex(leaf), root.pem().to_string());
        }
    }
    for (alias, pem) in pem_files(crls, FileName::Crl) {
        let Ok(crl) = pki::parse_crl(pem.as_bytes()) else {
            log::warn!("TRUSTED_ROOTS_CRLS/{alias}: stored CRL does not parse");
            continue;
        };
        let Ok(hashes) = pki::crl_issuer_hashes(crl.der()) else {
            continue;
        };
        for hash in [hashes.current, hashes.old] {
            revocations
                .entry(hash)
                .or_default()
                .insert(pki::sha256_hex(crl.der()), crl.pem().to_string());
        }
    }
    let data = |text: String| -> FileData { Arc::new(Zeroizing::new(text.into_bytes())) };
    for (hash, by_digest) in certs {
        for (n, pem) in by_digest.into_values().enumerate() {
            files.insert(format!("{hash:08x}.{n}"), data(pem));
        }
    }
    for (hash, by_digest) in revocations {
        for (n, pem) in by_digest.into_values().enumerate() {
            files.insert(format!("{hash:08x}.r{n}"), data(pem));
        }
    }
    files.insert(CA_BUNDLE.to_string(), data(bundle));
    files
}
