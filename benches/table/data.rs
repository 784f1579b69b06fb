//! The data the rows read and write: real certificates, keys and CRLs made in-process with
//! rcgen (thousands in seconds), and databases filled through vecsfs's own store API.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa, Issuer,
    KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams, SerialNumber,
};
use vecsfs::pki::{parse_cert_chain, parse_crl, parse_private_key};
use vecsfs::store::{Database, EntryContent};

/// `count` distinct CA certificates (one key, so that thousands take a second).
pub fn roots(count: usize, label: &str) -> Vec<Vec<u8>> {
    let key = KeyPair::generate().expect("rcgen key");
    (0..count)
        .map(|i| {
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("parameters");
            params
                .distinguished_name
                .push(DnType::OrganizationName, "vecsfs benchmark");
            params
                .distinguished_name
                .push(DnType::CommonName, format!("{label} root {i}"));
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.serial_number = Some(SerialNumber::from(i as u64 + 1));
            params
                .self_signed(&key)
                .expect("certificate")
                .pem()
                .into_bytes()
        })
        .collect()
}

/// A CRL of about `bytes` bytes of PEM (about 32 bytes per revoked serial).
pub fn big_crl(bytes: usize) -> Vec<u8> {
    let key = KeyPair::generate().expect("rcgen key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("parameters");
    ca.distinguished_name
        .push(DnType::CommonName, "vecsfs benchmark CRL issuer");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let issuer = Issuer::new(ca, key);
    let when = rcgen::date_time_ymd(2026, 1, 1);
    let revoked = (0..bytes / 32)
        .map(|i| RevokedCertParams {
            serial_number: SerialNumber::from((i as u64 + 1) * 7919),
            revocation_time: when,
            reason_code: None,
            invalidity_date: None,
        })
        .collect();
    let params = CertificateRevocationListParams {
        this_update: when,
        next_update: rcgen::date_time_ymd(2036, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    params
        .signed_by(&issuer)
        .expect("CRL")
        .pem()
        .expect("CRL PEM")
        .into_bytes()
}

/// Opens (creating) a vecsfs database.
pub fn database(path: &Path) -> Database {
    Database::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Fills `store` (created if missing) with `count` Trusted Cert entries `<prefix><n>`, cycling
/// through `certs`, in one transaction.
pub fn fill_trusted(db: &mut Database, store: &str, prefix: &str, count: usize, certs: &[Vec<u8>]) {
    if db.store(store).is_err() {
        db.create_store(0, store).expect("create store");
    }
    let contents: Vec<EntryContent> = certs
        .iter()
        .map(|pem| EntryContent::trusted_cert(&parse_cert_chain(pem).expect("certificate")))
        .collect();
    let aliases: Vec<String> = (0..count).map(|n| format!("{prefix}{n}")).collect();
    db.add_entries(
        0,
        store,
        aliases
            .iter()
            .enumerate()
            .map(|(n, alias)| (Some(alias.as_str()), &contents[n % contents.len()])),
    )
    .expect("fill the store");
}

/// A Private Key entry `alias` in `store` (created if missing).
pub fn add_pair(db: &mut Database, store: &str, alias: &str, pair: &crate::storm::Pair) {
    if db.store(store).is_err() {
        db.create_store(0, store).expect("create store");
    }
    let chain = parse_cert_chain(&pair.cert).expect("certificate");
    let key = parse_private_key(&pair.key).expect("key");
    let content = EntryContent::private_key(&chain, &key).expect("matching pair");
    db.add_entry(0, store, Some(alias), &content)
        .expect("add pair");
}

/// The CRL as an entry of TRUSTED_ROOTS_CRLS; returns its alias.
pub fn add_crl(db: &mut Database, pem: &[u8]) -> String {
    let crl = parse_crl(pem).expect("CRL");
    db.add_entry(
        0,
        vecsfs::store::names::CRL_STORE,
        None,
        &EntryContent::crl(&crl),
    )
    .expect("add CRL")
}
