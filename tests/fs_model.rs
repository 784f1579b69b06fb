//! Model-based test of the filesystem layer: random sequences of operations run against
//! `vecsfs::fs::VecsFs` (as the kernel would drive it) and against the reference model of
//! tests/support/fs_model.rs (shared with the fuzz target `fs_ops`).
//!
//! `PROPTEST_CASES=n` runs more (or fewer) cases than the default 256 (a few seconds).

#[path = "support/fs_model.rs"]
mod model;

use model::{material, run_case, Content, File, Op, CERTS, KEYS, PAIRS, STORES};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const MAX_STEPS: usize = 30;

// ---------------------------------------------------------------------------------------------
// Generating operations
// ---------------------------------------------------------------------------------------------

fn content() -> impl Strategy<Value = Content> {
    prop_oneof![
        4 => (0..CERTS).prop_map(Content::Cert),
        4 => (0..KEYS).prop_map(Content::Key),
        1 => Just(Content::Pkcs1),
        1 => (0..PAIRS).prop_map(Content::Bundle),
        1 => Just(Content::Garbage),
        1 => Just(Content::Ed448),
    ]
}

fn file() -> impl Strategy<Value = File> {
    prop_oneof![
        4 => Just(File::Cert),
        4 => Just(File::Key),
        1 => Just(File::Bundle),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let s = || 0..STORES.len();
    // Most of the action is in store S, on aliases a and b.
    let s_mostly = || prop_oneof![3 => Just(0usize), 1 => 0..STORES.len()];
    let a = || prop_oneof![4 => Just(0usize), 2 => Just(1usize), 1 => Just(2usize)];
    prop_oneof![
        1 => s().prop_map(Op::MkdirStore),
        1 => s().prop_map(Op::RmdirStore),
        3 => (s_mostly(), a()).prop_map(|(s, a)| Op::MkdirAlias(s, a)),
        14 => (s_mostly(), a(), file(), content()).prop_map(|(s, a, f, c)| Op::Write(s, a, f, c)),
        3 => (s_mostly(), a(), file(), content())
            .prop_map(|(s, a, f, c)| Op::WriteViaTemp(s, a, f, c)),
        3 => (s_mostly(), a(), file()).prop_map(|(s, a, f)| Op::Unlink(s, a, f)),
        1 => (s_mostly(), a()).prop_map(|(s, a)| Op::RmdirAlias(s, a)),
        3 => (s_mostly(), a(), s_mostly(), a(), any::<bool>()).prop_map(
            |(s1, a1, s2, a2, noreplace)| Op::Rename {
                from: (s1, a1),
                to: (s2, a2),
                noreplace,
            }
        ),
        1 => (s_mostly(), a(), 0..CERTS).prop_map(|(s, a, c)| Op::ExternalAdd(s, a, c)),
        1 => (s_mostly(), a()).prop_map(|(s, a)| Op::ExternalDelete(s, a)),
    ]
}

#[test]
fn the_filesystem_agrees_with_the_model() {
    material();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 400,
        max_shrink_time: 60_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = proptest::collection::vec(op(), 1..=MAX_STEPS);
    let result = runner.run(&strategy, |ops| {
        run_case(&ops).map_err(proptest::test_runner::TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// A few sequences worth keeping whatever the random generator picks.
#[test]
fn known_sequences_agree_with_the_model() {
    use Content as C;
    use File::{Cert, Key};
    let rotation = vec![
        Op::MkdirAlias(0, 0),
        Op::Write(0, 0, Cert, C::Cert(0)),
        Op::Write(0, 0, Key, C::Key(0)),
        Op::Write(0, 0, Cert, C::Cert(1)),
        Op::Write(0, 0, Key, C::Pkcs1),
        Op::Write(0, 0, Key, C::Key(2)),
        // Key 2 waits as the pending half: bundle.pem is still the live pair 1, and it can be
        // neither written, replaced through a temporary file, nor removed.
        Op::Write(0, 0, File::Bundle, C::Bundle(2)),
        Op::WriteViaTemp(0, 0, File::Bundle, C::Bundle(0)),
        Op::Unlink(0, 0, File::Bundle),
        Op::Write(0, 0, Cert, C::Cert(2)),
        Op::Unlink(0, 0, Cert),
        Op::Unlink(0, 0, File::Bundle),
        Op::Write(0, 0, File::Bundle, C::Bundle(2)),
        Op::Write(0, 0, Cert, C::Cert(3)),
        Op::Write(0, 0, Cert, C::Cert(2)),
        Op::Rename {
            from: (0, 0),
            to: (1, 1),
            noreplace: false,
        },
        Op::WriteViaTemp(1, 1, Key, C::Ed448),
        Op::WriteViaTemp(1, 1, Cert, C::Bundle(1)),
        Op::MkdirAlias(0, 2),
        Op::Write(0, 2, Key, C::Garbage),
        Op::Write(0, 2, Cert, C::Cert(0)),
        Op::Write(0, 2, Key, C::Key(0)),
        Op::RmdirStore(0),
        Op::RmdirAlias(0, 2),
        Op::RmdirStore(0),
        Op::MkdirStore(2),
    ];
    run_case(&rotation).unwrap_or_else(|e| panic!("{e}"));
}
