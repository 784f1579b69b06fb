//! The fuzz corpora and crash reproducers as regression tests, on stable and without libFuzzer:
//! every file of fuzz/corpus/<target>/ and fuzz/regressions/<target>/ goes through the same
//! property checks as the fuzz target of that name (fuzz/src/checks.rs, included here).

#[path = "../fuzz/src/checks.rs"]
mod checks;
#[path = "support/fs_model.rs"]
mod fs_model;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The inputs kept for `target`: its minimized corpus and its crash reproducers, in name order.
fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else {
            continue;
        };
        files.extend(entries.map(|e| e.expect("corpus entry").path()));
    }
    files.sort();
    files
}

/// Runs every input of `target` through `check`; fails naming every input that broke it.
fn replay(target: &str, check: fn(&[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no corpus for fuzz target {target}");
    let failed: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let data = std::fs::read(path).expect("read corpus file");
            catch_unwind(AssertUnwindSafe(|| check(&data)))
                .err()
                .map(|_| path.display().to_string())
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} inputs of {target} fail (panic messages above): {failed:#?}",
        failed.len(),
        files.len()
    );
}

#[test]
fn pem() {
    replay("pem", checks::pem);
}

#[test]
fn cert_chain() {
    replay("cert_chain", checks::cert_chain);
}

#[test]
fn private_key() {
    replay("private_key", checks::private_key);
}

#[test]
fn crl() {
    replay("crl", checks::crl);
}

#[test]
fn trust_material() {
    replay("trust_material", checks::trust_material);
}

#[test]
fn names() {
    replay("names", checks::names);
}

#[test]
fn fs_ops() {
    replay("fs_ops", checks::fs_ops);
}
