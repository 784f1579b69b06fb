//! What each fuzz target checks, one public function a target (named as the target).
//!
//! Every function takes arbitrary bytes and panics when a property does not hold; an input
//! that a parser refuses is fine as long as the refusal is consistent with the other parsers.
//! This file is also compiled into tests/fuzz_regressions.rs (by path), which runs every
//! committed corpus file and crash reproducer through these same checks on stable Rust; it
//! may only use `vecsfs`, `std` and the filesystem model, which both crates have as
//! `crate::fs_model`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use vecsfs::fs::names;
use vecsfs::pki::fuzzing::{encode_pem, has_begin_line, read_pem_blocks};
use vecsfs::pki::{
    self, canonical_encrypted_private_key, crl_issuer_hashes, decrypt_private_key,
    is_encrypted_key, parse_cert_chain, parse_crl, parse_private_key, parse_trust_material,
    sha1_hex, CertChain, Crl, PkiError, PrivateKey, TrustItem,
};

use crate::fs_model::{self, Content, File, Op, ALIASES, CERTS, KEYS, PAIRS, STORES};

/// The password of the encrypted-key seeds (fuzz/README.md): with it the fuzzer reaches the
/// decryption and the key parsers behind it, not only the password check.
pub const SEED_PASSWORD: &[u8] = b"vecs-fuzz";

/// More steps make each run slower without reaching states that 40 cannot: the model has
/// three stores and three aliases.
pub const MAX_FS_OPS: usize = 40;

// ---------------------------------------------------------------------------------------------
// PEM splitting
// ---------------------------------------------------------------------------------------------

/// The PEM reader that every parser uses: what it finds is what its writer writes back, and
/// line ends (LF or CRLF) change nothing.
pub fn pem(data: &[u8]) {
    let read = read_pem_blocks(data);
    let crlf: Vec<u8> = data
        .iter()
        .flat_map(|&b| {
            if b == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![b]
            }
        })
        .collect();
    assert_eq!(
        read_pem_blocks(&crlf),
        read,
        "CRLF line ends read differently"
    );
    let Ok(blocks) = read else {
        return;
    };
    // Input without a BEGIN line is read as DER by the CRL and trust parsers: the two views
    // must agree on which inputs are PEM.
    assert_eq!(has_begin_line(data), !blocks.is_empty());
    let canonical: String = blocks
        .iter()
        .map(|b| encode_pem(&b.label, &b.data))
        .collect();
    let again = read_pem_blocks(canonical.as_bytes()).expect("canonical PEM reads back");
    assert_eq!(again.len(), blocks.len());
    for (block, back) in blocks.iter().zip(&again) {
        assert_eq!(back.label, block.label);
        assert_eq!(back.data, block.data);
        assert!(!back.has_headers && !back.encrypted);
    }
}

// ---------------------------------------------------------------------------------------------
// Certificates and chains
// ---------------------------------------------------------------------------------------------

/// `parse_cert_chain`: an accepted chain is canonical (its PEM parses to the same chain), and
/// everything the store later computes from a stored certificate works on it.
pub fn cert_chain(data: &[u8]) {
    let Ok(chain) = parse_cert_chain(data) else {
        return;
    };
    check_chain(&chain);
}

fn check_chain(chain: &CertChain) {
    assert!(!chain.ders().is_empty());
    assert_eq!(chain.leaf_der(), &chain.ders()[0][..]);
    assert_eq!(chain.alias(), sha1_hex(chain.leaf_der()));
    let expected: String = chain
        .ders()
        .iter()
        .map(|der| encode_pem("CERTIFICATE", der))
        .collect();
    assert_eq!(chain.pem(), expected);
    assert_eq!(
        parse_cert_chain(chain.pem().as_bytes()).as_ref(),
        Ok(chain),
        "the canonical PEM of a chain parses to another chain"
    );
    for der in chain.ders() {
        // The mount's metadata and `vecs-cli status` read every stored certificate.
        let summary = pki::certificate_summary(der).expect("summary of a valid certificate");
        assert_eq!(summary.sha1, sha1_hex(der));
        assert_eq!(summary.sha256, pki::sha256_hex(der));
        // CApath names and `--text` may refuse a certificate, but must not panic on it.
        let _ = pki::subject_hashes(der);
        let _ = pki::text::certificate_text(der);
        // The same certificate as DER is trust material (unless its bytes happen to hold a
        // BEGIN line, which makes any input PEM).
        if !has_begin_line(der) {
            let items = parse_trust_material(der).expect("a valid DER certificate is a root");
            assert!(
                matches!(&items[..], [TrustItem::Root(root)] if root.ders() == [der.clone()]),
                "DER certificate read as {items:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Private keys
// ---------------------------------------------------------------------------------------------

/// `parse_private_key` and `decrypt_private_key`: a key that is read is canonical (its PKCS#8
/// PEM reads back as the same key), the two entry points agree on unencrypted input, and an
/// encrypted key is refused as such by the one without a password.
pub fn private_key(data: &[u8]) {
    let parsed = parse_private_key(data);
    let encrypted = is_encrypted_key(data);
    assert_eq!(
        matches!(parsed, Err(PkiError::WrongPassword)),
        encrypted,
        "parse_private_key and is_encrypted_key disagree: {parsed:?}"
    );
    if let Ok(key) = &parsed {
        check_key(key);
    }
    let decrypted = decrypt_private_key(data, SEED_PASSWORD);
    if let Ok(key) = &decrypted {
        check_key(key);
    }
    if !encrypted {
        assert_eq!(
            summary(&parsed),
            summary(&decrypted),
            "an unencrypted key reads differently with a password"
        );
    } // An encrypted key kept encrypted (imported without its password) is stored as the
      // canonical re-encoding of its block: that must be a fixed point and decrypt as the input.
    if let Ok(kept) = canonical_encrypted_private_key(data) {
        assert_eq!(
            canonical_encrypted_private_key(kept.as_bytes()).as_deref(),
            Ok(&*kept),
            "the canonical encrypted key is not canonical"
        );
        assert_eq!(
            summary(&decrypt_private_key(kept.as_bytes(), SEED_PASSWORD)),
            summary(&decrypted),
            "the canonical encrypted key decrypts differently"
        );
    }
}

/// What identifies a parse result, for comparisons (`PrivateKey` is not `PartialEq`, so that
/// key bytes are not compared in non-constant time by accident elsewhere).
fn summary(r: &Result<PrivateKey, PkiError>) -> Result<(pki::KeyAlgorithm, Vec<u8>), PkiError> {
    r.as_ref()
        .map(|k| (k.algorithm(), k.pkcs8_der().to_vec()))
        .map_err(Clone::clone)
}

fn check_key(key: &PrivateKey) {
    let pem = key.to_pkcs8_pem();
    let blocks = read_pem_blocks(pem.as_bytes()).expect("canonical key PEM");
    assert!(matches!(&blocks[..], [b] if b.label == "PRIVATE KEY" && b.data == key.pkcs8_der()));
    let again = parse_private_key(pem.as_bytes()).expect("the canonical key reads back");
    assert_eq!(again.algorithm(), key.algorithm());
    assert_eq!(again.pkcs8_der(), key.pkcs8_der());
    assert_eq!(again.public_key_spki_der(), key.public_key_spki_der());
    let _ = pki::text::private_key_text(key.pkcs8_der(), &key.public_key_spki_der());
}

// ---------------------------------------------------------------------------------------------
// CRLs
// ---------------------------------------------------------------------------------------------

/// `parse_crl`: an accepted CRL is canonical, as PEM and as DER.
pub fn crl(data: &[u8]) {
    let Ok(crl) = parse_crl(data) else {
        return;
    };
    check_crl(&crl);
}

fn check_crl(crl: &Crl) {
    assert_eq!(crl.pem(), encode_pem("X509 CRL", crl.der()));
    assert_eq!(crl.alias(), sha1_hex(crl.der()));
    assert_eq!(parse_crl(crl.pem().as_bytes()).as_ref(), Ok(crl));
    if !has_begin_line(crl.der()) {
        assert_eq!(parse_crl(crl.der()).as_ref(), Ok(crl));
    }
    let issuer = crl.issuer_der();
    assert!(
        crl.der().windows(issuer.len()).any(|w| w == issuer),
        "the issuer is not the CRL's own bytes"
    );
    // CApath `<hash>.rN` names: may refuse, must not panic.
    let _ = crl_issuer_hashes(crl.der());
}

// ---------------------------------------------------------------------------------------------
// Trust material
// ---------------------------------------------------------------------------------------------

/// `parse_trust_material`: every item is canonical, the items written out read back the same,
/// and the chain and CRL parsers read the same PEM the same way.
pub fn trust_material(data: &[u8]) {
    let Ok(items) = parse_trust_material(data) else {
        return;
    };
    assert!(!items.is_empty());
    let mut canonical = String::new();
    let mut roots = Vec::new();
    let mut crls = Vec::new();
    for item in &items {
        match item {
            TrustItem::Root(root) => {
                assert_eq!(root.ders().len(), 1, "a root is one certificate");
                check_chain(root);
                canonical.push_str(root.pem());
                roots.push(root.leaf_der().to_vec());
            }
            TrustItem::Crl(crl) => {
                check_crl(crl);
                canonical.push_str(crl.pem());
                crls.push(crl.clone());
            }
        }
    }
    assert_eq!(
        parse_trust_material(canonical.as_bytes()).as_ref(),
        Ok(&items),
        "the items written out read differently"
    );
    if !has_begin_line(data) {
        return;
    }
    // PEM accepted as trust material has no headers and only valid certificate and CRL
    // blocks, so the entry parsers accept it too and find the same objects.
    if !roots.is_empty() {
        let chain = parse_cert_chain(data).expect("trust PEM is a chain");
        assert_eq!(chain.ders(), &roots[..]);
    }
    if let Some(first) = crls.first() {
        assert_eq!(parse_crl(data).as_ref(), Ok(first));
    }
}

// ---------------------------------------------------------------------------------------------
// Names in the mount
// ---------------------------------------------------------------------------------------------

/// `fs::names`: every name is shown as a valid path component that reads back as the name,
/// and every component that names something names it again once re-encoded.
pub fn names(data: &[u8]) {
    let name = String::from_utf8_lossy(data);
    let shown = names::encode(&name);
    let bytes = shown.as_bytes();
    assert!(!bytes.contains(&b'/') && !bytes.contains(&0), "{shown:?}");
    assert!(bytes != b"." && bytes != b"..", "{shown:?}");
    assert_eq!(bytes.is_empty(), name.is_empty());
    assert_eq!(names::decode(&shown).as_deref(), Some(&*name));

    let component = OsStr::from_bytes(data);
    match names::decode(component) {
        Some(decoded) => {
            assert_eq!(names::decode(&names::encode(&decoded)), Some(decoded));
        }
        // Only a bad escape or bytes that are not UTF-8 name nothing.
        None => assert!(data.contains(&b'%') || std::str::from_utf8(data).is_err()),
    }
    if !data.contains(&b'%') {
        assert_eq!(
            names::decode(component).as_deref(),
            std::str::from_utf8(data).ok()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Filesystem operations
// ---------------------------------------------------------------------------------------------

/// Sequences of operations on `VecsFs` against the reference model (tests/support/fs_model.rs):
/// after every step the errno, listings, file contents, pending halves and the database agree.
pub fn fs_ops(data: &[u8]) {
    let ops = decode_ops(data);
    if let Err(disagreement) = fs_model::run_case(&ops) {
        panic!("{ops:?}\n{disagreement}");
    }
}

/// The operations `data` stands for: a tag byte an operation, then one byte a parameter
/// (reduced modulo its range, so that every byte string is a valid sequence and a mutation
/// changes one operation, not the parse of everything after it).
pub fn decode_ops(data: &[u8]) -> Vec<Op> {
    let mut bytes = data.iter().map(|&b| usize::from(b));
    let mut next = move || bytes.next();
    let mut ops = Vec::new();
    while ops.len() < MAX_FS_OPS {
        let Some(tag) = next() else {
            break;
        };
        let mut param = |range: usize| next().unwrap_or(0) % range;
        let mut store_alias = || (param(STORES.len()), param(ALIASES.len()));
        let op = match tag % 10 {
            0 => Op::MkdirStore(param(STORES.len())),
            1 => Op::RmdirStore(param(STORES.len())),
            2 => {
                let (s, a) = store_alias();
                Op::MkdirAlias(s, a)
            }
            3 | 4 => {
                let (s, a) = store_alias();
                let file = file(param(3));
                let content = content(param(CONTENTS));
                if tag % 10 == 3 {
                    Op::Write(s, a, file, content)
                } else {
                    Op::WriteViaTemp(s, a, file, content)
                }
            }
            5 => {
                let (s, a) = store_alias();
                Op::Unlink(s, a, file(param(3)))
            }
            6 => {
                let (s, a) = store_alias();
                Op::RmdirAlias(s, a)
            }
            7 => {
                let from = store_alias();
                let to = store_alias();
                Op::Rename {
                    from,
                    to,
                    noreplace: param(2) == 1,
                }
            }
            8 => {
                let (s, a) = store_alias();
                Op::ExternalAdd(s, a, param(CERTS))
            }
            _ => {
                let (s, a) = store_alias();
                Op::ExternalDelete(s, a)
            }
        };
        ops.push(op);
    }
    ops
}

/// Every [`Content`]: certificates, keys, the PKCS#1 key, key-and-chain bundles, garbage and
/// an unsupported key.
const CONTENTS: usize = CERTS + KEYS + 1 + PAIRS + 2;

fn content(i: usize) -> Content {
    match i {
        i if i < CERTS => Content::Cert(i),
        i if i < CERTS + KEYS => Content::Key(i - CERTS),
        i if i == CERTS + KEYS => Content::Pkcs1,
        i if i < CERTS + KEYS + 1 + PAIRS => Content::Bundle(i - CERTS - KEYS - 1),
        i if i == CERTS + KEYS + 1 + PAIRS => Content::Garbage,
        _ => Content::Ed448,
    }
}

fn file(i: usize) -> File {
    match i {
        0 => File::Cert,
        1 => File::Key,
        _ => File::Bundle,
    }
}
