#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vecsfs_fuzz::checks::fs_ops(data));
