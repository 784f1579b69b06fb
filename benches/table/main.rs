//! The vecsfs benchmark table (issue 7): `scripts/bench.sh`, i.e. `cargo bench --bench table`.
//!
//! Builds its data, mounts vecsfs, the FUSE floor and tmpfs copies, measures every figure and
//! its baselines in the same run, tears everything down and prints one table with cost ratios
//! and the targets. Under `cargo test` (no `--bench` argument) it only says so and exits, so CI
//! compiles it without spending minutes on it. `--quick` runs every row at a twentieth of
//! its size, to check the harness itself.
//!
//! Needs root and /dev/fuse (it mounts), and slapd (scripts/install-deps.sh installs it).

mod data;
mod floor;
mod measure;
mod mounts;
mod scenarios;
mod table;

// The tests' slapd harness and the helpers it runs commands with (these allow dead code).
#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/support/slapd.rs"]
mod slapd;
// Key pairs made in-process, as the crash and load tests make them.
#[path = "../../tests/support/storm.rs"]
mod storm;

use std::path::{Path, PathBuf};
use std::time::Instant;

use mounts::{Served, Tmpfs};
use scenarios::Bench;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__floor") {
        let [_, _, source, mountpoint] = args.as_slice() else {
            eprintln!("usage: table __floor SOURCE MOUNTPOINT");
            std::process::exit(2);
        };
        if let Err(e) = floor::serve(Path::new(source), Path::new(mountpoint)) {
            eprintln!("floor: {e}");
            std::process::exit(1);
        }
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        println!("the benchmark table runs with scripts/bench.sh (cargo bench --bench table)");
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    preflight();
    let started = Instant::now();
    let work = tempfile::Builder::new()
        .prefix("vecsfs-bench-")
        .tempdir_in(std::env::var_os("BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from))
        .expect("work dir");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_vecsfs"))
        .parent()
        .expect("binary dir")
        .to_path_buf();
    let bench = Bench {
        work: work.path().to_path_buf(),
        bin_dir,
        quick,
    };

    let step = |what: &str| eprintln!("[{:>6.1} s] {what}", started.elapsed().as_secs_f64());
    step("making certificates, keys and the CRL; filling the databases");
    let pairs = storm::pairs(if quick { 40 } else { 301 }, "svc");
    let main_db = scenarios::main_db(&bench, &pairs);
    let tmpfs = Tmpfs::new();
    let mut rows = Vec::new();
    {
        step("mounting vecsfs on the main database");
        let served = Served::vecsfs(
            &bench.bin_dir,
            &main_db.path,
            &bench.work.join("mnt"),
            &bench.work.join("run"),
        );
        let mount = served.mountpoint.clone();
        step("hot reads: vecsfs, tmpfs, the FUSE floor");
        let (hot, floor) = scenarios::hot_rows(&bench, &mount, &main_db, &tmpfs);
        rows.extend(hot);
        step("first reads after a change");
        rows.extend(scenarios::cold_rows(&bench, &mount, &main_db, &tmpfs));
        step("commits");
        rows.extend(scenarios::commit_rows(&bench, &mount, &pairs));
        step("walking 10,000 aliases");
        rows.extend(scenarios::walk_rows(&bench, &mount, &main_db, &tmpfs));
        step("the big CRL");
        rows.extend(scenarios::crl_rows(
            &mount,
            &main_db,
            &tmpfs,
            &floor.mountpoint,
        ));
    }
    step("100,000 entries");
    rows.extend(scenarios::big_store_rows(&bench, &main_db.hot_certs));
    step("trust sync from slapd");
    rows.extend(scenarios::trust_sync_rows(&bench));
    step("done");
    let title = format!(
        "vecsfs benchmark{} ({} cores, kernel {}), {:.0} s",
        if quick { " --quick" } else { "" },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim(),
        started.elapsed().as_secs_f64()
    );
    print!("{}", table::render(&title, &rows));
}

/// Fails loudly, with the reason, where the benchmark cannot run.
fn preflight() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        panic!("the benchmark mounts filesystems: run it as root (scripts/bench.sh)");
    }
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        panic!("/dev/fuse cannot be used: {e}");
    }
}
