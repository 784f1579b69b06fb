//! The fuzz targets' property checks, in a library so that tests/fuzz_regressions.rs (in the
//! main crate, on stable, without libFuzzer) replays every corpus file through the very same
//! code: `checks.rs` and the filesystem model are included there by path.

pub mod checks;

#[path = "../../tests/support/fs_model.rs"]
pub mod fs_model;
