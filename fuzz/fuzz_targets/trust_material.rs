#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vecsfs_fuzz::checks::trust_material(data));
