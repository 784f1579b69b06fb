//! The rows of the table, one function per group. Every group measures vecsfs and its
//! baselines back to back in the same run.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::data;
use crate::measure::{self, hot_reads, median_shell, read_whole, time, HotReads, Samples};
use crate::mounts::{Served, Tmpfs};
use crate::slapd::{Slapd, SlapdOptions};
use crate::storm::Pair;
use crate::table::{Row, Target, Value};

pub const HOT_STORE: &str = "BENCH_HOT";
pub const HOT_ALIASES: usize = 1_000;
pub const WIDE_STORE: &str = "BENCH_10K";
pub const WIDE_ALIASES: usize = 10_000;
const PAIR_STORE: &str = "BENCH_PAIRS";
const NEW_STORE: &str = "BENCH_NEW";
const CLI_STORE: &str = "BENCH_CLI";
const HOT_DURATION: Duration = Duration::from_secs(3);
const HOT_ROUNDS: usize = 3;

/// Where the run keeps its files, and the binaries under test.
pub struct Bench {
    pub work: PathBuf,
    pub bin_dir: PathBuf,
    pub quick: bool,
}

impl Bench {
    fn vecs_cli(&self) -> PathBuf {
        self.bin_dir.join("vecs-cli")
    }

    fn scaled(&self, full: usize) -> usize {
        if self.quick {
            (full / 20).max(10)
        } else {
            full
        }
    }
}

/// The main database a host would have: the 1,000-alias store the hot rows read, the
/// 10,000-alias store the walk rows list, one service's key pair and the big CRL.
pub struct MainDb {
    pub path: PathBuf,
    pub crl_alias: String,
    pub crl_pem: Vec<u8>,
    pub hot_certs: Vec<Vec<u8>>,
}

pub fn main_db(bench: &Bench, pairs: &[Pair]) -> MainDb {
    let path = bench.work.join("main.db");
    let mut db = data::database(&path);
    let hot_certs = data::roots(HOT_ALIASES, "hot");
    data::fill_trusted(&mut db, HOT_STORE, "alias-", HOT_ALIASES, &hot_certs);
    data::fill_trusted(
        &mut db,
        WIDE_STORE,
        "alias-",
        bench.scaled(WIDE_ALIASES),
        &hot_certs,
    );
    data::add_pair(&mut db, PAIR_STORE, "svc", &pairs[0]);
    let crl_pem = data::big_crl(if bench.quick { 1 << 20 } else { 50 << 20 });
    let crl_alias = data::add_crl(&mut db, &crl_pem);
    for store in [NEW_STORE, CLI_STORE] {
        db.create_store(0, store).expect("create store");
    }
    MainDb {
        path,
        crl_alias,
        crl_pem,
        hot_certs,
    }
}

fn cert_paths(root: &Path, count: usize) -> Vec<PathBuf> {
    (0..count)
        .map(|n| root.join(format!("alias-{n}/cert.pem")))
        .collect()
}

/// The same tree of cert.pem files as the mount's `store`, on tmpfs: each file the canonical
/// PEM the mount serves for it, so that both hold the same bytes.
fn tmpfs_tree(tmpfs: &Path, store: &str, count: usize, certs: &[Vec<u8>]) -> PathBuf {
    let served: Vec<String> = certs
        .iter()
        .map(|pem| {
            vecsfs::pki::parse_cert_chain(pem)
                .expect("certificate")
                .pem()
                .to_string()
        })
        .collect();
    let root = tmpfs.join(store);
    for n in 0..count {
        let dir = root.join(format!("alias-{n}"));
        fs::create_dir_all(&dir).expect("tmpfs dir");
        fs::write(dir.join("cert.pem"), &served[n % served.len()]).expect("tmpfs file");
    }
    root
}

/// Hot open+read+close over 1,000 aliases, 1 and 2 reader threads: vecsfs, tmpfs, the floor.
/// Returns the floor too, which also serves the big CRL (`crl.pem` at its root).
pub fn hot_rows(bench: &Bench, mount: &Path, db: &MainDb, tmpfs: &Tmpfs) -> (Vec<Row>, Served) {
    let shm = tmpfs_tree(tmpfs.path(), HOT_STORE, HOT_ALIASES, &db.hot_certs);
    let floor_source = bench.work.join("floor-src");
    fs::create_dir_all(&floor_source).expect("floor source");
    let status = Command::new("cp")
        .arg("-r")
        .arg(&shm)
        .arg(&floor_source)
        .status()
        .expect("cp");
    assert!(status.success(), "copying the floor's tree failed");
    fs::write(
        floor_source.join("crl.pem"),
        fs::read(crl_path(mount, db)).expect("read the CRL"),
    )
    .expect("the floor's CRL");
    let floor = Served::floor(&floor_source, &bench.work.join("floor-mnt"));

    let ours = cert_paths(&mount.join(HOT_STORE), HOT_ALIASES);
    let theirs = cert_paths(&shm, HOT_ALIASES);
    let floors = cert_paths(&floor.mountpoint.join(HOT_STORE), HOT_ALIASES);
    let mut rows = Vec::new();
    for threads in [1, 2] {
        // Rounds interleave the three, so that a burst of other load on the machine falls
        // on all of them alike.
        let mut runs: [Vec<HotReads>; 3] = Default::default();
        for _ in 0..HOT_ROUNDS {
            for (paths, out) in [&ours, &theirs, &floors].into_iter().zip(runs.iter_mut()) {
                out.push(hot_reads(paths, threads, HOT_DURATION / HOT_ROUNDS as u32));
            }
        }
        let [v, t, f] = runs.map(HotReads::combine);
        let (cost_tmpfs, cost_floor) = if threads == 2 {
            (3.0, 1.2)
        } else {
            (f64::MAX, f64::MAX)
        };
        let with_targets = |row: Row| {
            if threads == 2 {
                row.target(Target::CostAtMost("floor", cost_floor))
            } else {
                row
            }
        };
        rows.push(with_targets(
            Row::new(
                format!("hot open+read+close cert.pem, {threads} thr: ops/s"),
                Value::Rate(v.ops_per_s, "op/s"),
            )
            .against("tmpfs", Value::Rate(t.ops_per_s, "op/s"))
            .against("floor", Value::Rate(f.ops_per_s, "op/s")),
        ));
        let mut p50 = Row::new(
            format!("hot open+read+close cert.pem, {threads} thr: p50"),
            Value::Time(v.latency.p50()),
        )
        .against("tmpfs", Value::Time(t.latency.p50()))
        .against("floor", Value::Time(f.latency.p50()));
        if threads == 2 {
            p50 = p50.target(Target::CostAtMost("tmpfs", cost_tmpfs));
        }
        rows.push(p50);
        rows.push(
            Row::new(
                format!("hot open+read+close cert.pem, {threads} thr: p99"),
                Value::Time(v.latency.p99()),
            )
            .against("tmpfs", Value::Time(t.latency.p99()))
            .against("floor", Value::Time(f.latency.p99())),
        );
    }
    (rows, floor)
}

/// Replaces a file the way cp does (open O_TRUNC, write, close) and returns how long it took.
fn replace(path: &Path, bytes: &[u8], sync: bool) -> Duration {
    let (took, result) = time(|| -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        file.write_all(bytes)?;
        if sync {
            file.sync_all()?;
        }
        Ok(())
    });
    result.unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    took
}

/// The first read of a file after its entry changed (a new version: nothing cached).
pub fn cold_rows(bench: &Bench, mount: &Path, db: &MainDb, tmpfs: &Tmpfs) -> Vec<Row> {
    let rounds = bench.scaled(200);
    let target = mount.join(HOT_STORE).join("alias-0/cert.pem");
    let shm = tmpfs.path().join("cold.pem");
    let mut ours = Samples::default();
    let mut theirs = Samples::default();
    let mut buf = Vec::new();
    for i in 0..rounds {
        let cert = &db.hot_certs[1 + i % 2];
        replace(&target, cert, false);
        let (took, read) = time(|| read_whole(&target, &mut buf));
        read.expect("cold read");
        assert_eq!(buf.len(), cert.len(), "the new version is what is read");
        ours.push(took);
        replace(&shm, cert, false);
        let (took, read) = time(|| read_whole(&shm, &mut buf));
        read.expect("tmpfs read");
        theirs.push(took);
    }
    vec![
        Row::new(
            "first read after the entry changed: p50",
            Value::Time(ours.p50()),
        )
        .against("tmpfs", Value::Time(theirs.p50())),
        Row::new(
            "first read after the entry changed: p99",
            Value::Time(ours.p99()),
        )
        .against("tmpfs", Value::Time(theirs.p99())),
    ]
}

/// cp of a certificate and of its key into a Private Key entry (each a validated, durable
/// commit), against write+fsync of the same bytes to a file on the database's disk; then
/// entries committed per second through the mount and through vecs-cli.
pub fn commit_rows(bench: &Bench, mount: &Path, pairs: &[Pair]) -> Vec<Row> {
    let dir = mount.join(PAIR_STORE).join("svc");
    let disk = bench.work.join("fsync-baseline.pem");
    let (mut cert_t, mut key_t, mut disk_t) =
        (Samples::default(), Samples::default(), Samples::default());
    let rounds = bench.scaled(100).min(pairs.len() - 1);
    for pair in &pairs[1..=rounds] {
        cert_t.push(replace(&dir.join("cert.pem"), &pair.cert, false));
        key_t.push(replace(&dir.join("key.pem"), &pair.key, false));
        disk_t.push(replace(&disk, &pair.cert, true));
    }
    let last = &pairs[rounds];
    assert_eq!(
        fs::read(dir.join("key.pem")).map(|k| k.len()).ok(),
        Some(last.key.len()),
        "the last pair is live"
    );
    let target_p50 = Target::AtMost(Value::Time(Duration::from_millis(2)));
    let mut rows = vec![
        Row::new(
            "cp of a certificate (commit): p50",
            Value::Time(cert_t.p50()),
        )
        .against("disk write+fsync", Value::Time(disk_t.p50()))
        .target(target_p50),
        Row::new(
            "cp of a certificate (commit): p99",
            Value::Time(cert_t.p99()),
        )
        .against("disk write+fsync", Value::Time(disk_t.p99())),
        Row::new("cp of a key (commit): p50", Value::Time(key_t.p50()))
            .against("disk write+fsync", Value::Time(disk_t.p50()))
            .target(Target::AtMost(Value::Time(Duration::from_millis(2)))),
        Row::new("cp of a key (commit): p99", Value::Time(key_t.p99()))
            .against("disk write+fsync", Value::Time(disk_t.p99())),
    ];

    // New entries through the mount: mkdir + cp of a certificate.
    let count = bench.scaled(300).min(pairs.len());
    let start = Instant::now();
    for (i, pair) in pairs.iter().take(count).enumerate() {
        let alias = mount.join(NEW_STORE).join(format!("new-{i}"));
        fs::create_dir(&alias).expect("mkdir alias");
        replace(&alias.join("cert.pem"), &pair.cert, false);
    }
    let mount_rate = count as f64 / start.elapsed().as_secs_f64();
    let disk_start = Instant::now();
    for (i, pair) in pairs.iter().take(count).enumerate() {
        replace(&bench.work.join(format!("rate-{i}.pem")), &pair.cert, true);
    }
    let disk_rate = count as f64 / disk_start.elapsed().as_secs_f64();

    // The same through vecs-cli, one process per entry as scripts do.
    let cli_count = bench.scaled(100).min(pairs.len());
    let files: Vec<PathBuf> = (0..cli_count)
        .map(|i| bench.work.join(format!("rate-{i}.pem")))
        .collect();
    let db = bench.work.join("main.db");
    let start = Instant::now();
    for (i, file) in files.iter().enumerate() {
        let status = Command::new(bench.vecs_cli())
            .args(["entry", "create", "--store", CLI_STORE, "--alias"])
            .arg(format!("cli-{i}"))
            .arg("--cert")
            .arg(file)
            .arg("--db")
            .arg(&db)
            .stdout(Stdio::null())
            .status()
            .expect("vecs-cli");
        assert!(status.success(), "vecs-cli entry create failed");
    }
    let cli_rate = cli_count as f64 / start.elapsed().as_secs_f64();
    rows.push(
        Row::new(
            "entries committed through the mount (mkdir+cp)",
            Value::Rate(mount_rate, "/s"),
        )
        .against("disk write+fsync", Value::Rate(disk_rate, "/s")),
    );
    rows.push(
        Row::new(
            "entries committed through vecs-cli (a process each)",
            Value::Rate(cli_rate, "/s"),
        )
        .against("disk write+fsync", Value::Rate(disk_rate, "/s")),
    );
    rows
}

/// `ls -l` and `find | xargs cat` over 10,000 aliases, against the same tree on tmpfs; and
/// `vecs-cli entry list` of them against `vecs-cli store list` (process start + open).
pub fn walk_rows(bench: &Bench, mount: &Path, db: &MainDb, tmpfs: &Tmpfs) -> Vec<Row> {
    let count = bench.scaled(WIDE_ALIASES);
    let shm = tmpfs_tree(tmpfs.path(), WIDE_STORE, count, &db.hot_certs);
    let ours = mount.join(WIDE_STORE);
    let quote = |p: &Path| format!("'{}'", p.display());
    let ls = |root: &Path| median_shell(&format!("ls -l {} >/dev/null", quote(root)), 5);
    let find = |root: &Path| {
        median_shell(
            &format!(
                "find {} -name cert.pem -print0 | xargs -0 cat >/dev/null",
                quote(root)
            ),
            3,
        )
    };
    let (ls_v, ls_t) = (ls(&ours), ls(&shm));
    let (find_v, find_t) = (find(&ours), find(&shm));
    let cli = bench.vecs_cli();
    let cli_line = |args: &str| {
        format!(
            "{} {args} --db {}",
            quote(&cli),
            quote(&bench.work.join("main.db"))
        )
    };
    let list = median_shell(&cli_line(&format!("entry list --store {WIDE_STORE}")), 5);
    let stores = median_shell(&cli_line("store list"), 5);
    vec![
        Row::new(format!("ls -l of {count} aliases"), Value::Time(ls_v))
            .against("tmpfs", Value::Time(ls_t))
            .target(Target::CostAtMost("tmpfs", 3.0)),
        Row::new(
            format!("find -name cert.pem | xargs cat, {count} aliases"),
            Value::Time(find_v),
        )
        .against("tmpfs", Value::Time(find_t)),
        Row::new(
            format!("vecs-cli entry list, {count} entries"),
            Value::Time(list),
        )
        .against("vecs-cli store list", Value::Time(stores)),
    ]
}

fn crl_path(mount: &Path, db: &MainDb) -> PathBuf {
    mount
        .join(vecsfs::store::names::CRL_STORE)
        .join(&db.crl_alias)
        .join("crl.pem")
}

/// Reading the big CRL: the first read (served by the daemon) against the floor's first read
/// and tmpfs, and a cached read.
pub fn crl_rows(mount: &Path, db: &MainDb, tmpfs: &Tmpfs, floor: &Path) -> Vec<Row> {
    let ours = crl_path(mount, db);
    let floors = floor.join("crl.pem");
    let theirs = tmpfs.path().join("big-crl.pem");
    fs::write(&theirs, fs::read(&ours).expect("read the CRL")).expect("tmpfs CRL");
    let mb = db.crl_pem.len() as f64 / 1e6;
    let median = |path: &Path, cold: bool| {
        let mut runs: Vec<f64> = (0..5)
            .map(|_| measure::read_throughput(path, cold))
            .collect();
        runs.sort_by(f64::total_cmp);
        runs[runs.len() / 2]
    };
    let cold_f = median(&floors, true);
    let (cold_v, hot_v, tmp) = (
        median(&ours, true),
        median(&ours, false),
        median(&theirs, false),
    );
    vec![
        Row::new(
            format!("read the {mb:.0} MB CRL, first read"),
            Value::Rate(cold_v, "MB/s"),
        )
        .against("tmpfs", Value::Rate(tmp, "MB/s"))
        .against("floor", Value::Rate(cold_f, "MB/s"))
        .target(Target::CostAtMost("tmpfs", 2.0)),
        Row::new(
            format!("read the {mb:.0} MB CRL, cached"),
            Value::Rate(hot_v, "MB/s"),
        )
        .against("tmpfs", Value::Rate(tmp, "MB/s"))
        .target(Target::CostAtMost("tmpfs", 2.0)),
    ]
}

/// A store of 100,000 entries: from `vecsfs` start to a ready mount, and the daemon's peak
/// RSS after start and after `ls -l` of the store.
pub fn big_store_rows(bench: &Bench, certs: &[Vec<u8>]) -> Vec<Row> {
    let count = bench.scaled(100_000);
    let path = bench.work.join("big.db");
    let mut db = data::database(&path);
    data::fill_trusted(&mut db, "BENCH_100K", "alias-", count, certs);
    drop(db);
    let cli_open = median_shell(
        &format!(
            "'{}' store list --db '{}'",
            bench.vecs_cli().display(),
            path.display()
        ),
        3,
    );
    let served = Served::vecsfs(
        &bench.bin_dir,
        &path,
        &bench.work.join("big-mnt"),
        &bench.work.join("run-big"),
    );
    let rss_ready = measure::peak_rss_mb(served.pid());
    let store = served.mountpoint.join("BENCH_100K");
    let (ls_took, status) = time(|| {
        Command::new("ls")
            .arg("-l")
            .arg(&store)
            .stdout(Stdio::null())
            .status()
    });
    assert!(status.is_ok_and(|s| s.success()), "ls -l of the big store");
    let rss_walked = measure::peak_rss_mb(served.pid());
    vec![
        Row::new(
            format!("{count} entries: vecsfs start to ready mount"),
            Value::Time(served.startup),
        )
        .against("vecs-cli store list", Value::Time(cli_open))
        .target(Target::AtMost(Value::Time(Duration::from_secs(1)))),
        Row::new(
            format!("{count} entries: daemon peak RSS when ready"),
            Value::Megabytes(rss_ready),
        )
        .target(Target::AtMost(Value::Megabytes(200.0))),
        Row::new(
            format!("{count} entries: ls -l of the store"),
            Value::Time(ls_took),
        ),
        Row::new(
            format!("{count} entries: daemon peak RSS after ls -l"),
            Value::Megabytes(rss_walked),
        )
        .target(Target::AtMost(Value::Megabytes(200.0))),
    ]
}

/// The trust sync of 5,000 roots from a real slapd: the first run and one with no change,
/// against fetching the same objects with ldapsearch (paged).
pub fn trust_sync_rows(bench: &Bench) -> Vec<Row> {
    let count = bench.scaled(5_000);
    let ldap = Slapd::start(SlapdOptions::default());
    let cas: Vec<(String, Vec<Vec<u8>>)> = data::roots(count, "sync")
        .into_iter()
        .enumerate()
        .map(|(i, pem)| (format!("bulk-{i:04}"), vec![pem]))
        .collect();
    ldap.publish_many(&cas);
    let db = bench.work.join("sync.db");
    let cli = |args: &[&str]| {
        let (took, out) = time(|| {
            Command::new(bench.vecs_cli())
                .args(args)
                .arg("--db")
                .arg(&db)
                .output()
                .expect("vecs-cli")
        });
        assert!(
            out.status.success(),
            "vecs-cli {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        took
    };
    let password = ldap.password_file().to_string_lossy().into_owned();
    cli(&[
        "trust-source",
        "set",
        "--ldap",
        &ldap.url(),
        "--domain",
        ldap.domain(),
        "--bind-dn",
        ldap.bind_dn(),
        "--password-file",
        &password,
    ]);
    let initial = cli(&["force-refresh"]);
    let again = cli(&["force-refresh"]);
    let synced = data::database(&db)
        .entries(0, vecsfs::store::names::TRUSTED_ROOTS)
        .map(|e| e.len())
        .unwrap_or(0);
    assert_eq!(synced, count, "every root was synced");
    let search = median_shell(
        &format!(
            "ldapsearch -LLL -x -H '{}' -D '{}' -w \"$(cat '{password}')\" -b '{}' \
             -E pr=1000/noprompt \
             '(objectClass=vmwCertificationAuthority)' >/dev/null",
            ldap.url(),
            ldap.bind_dn(),
            ldap.base_dn()
        ),
        3,
    );
    vec![
        Row::new(
            format!("trust sync of {count} roots from slapd: initial"),
            Value::Time(initial),
        )
        .against("ldapsearch of them", Value::Time(search)),
        Row::new(
            format!("trust sync of {count} roots from slapd: no change"),
            Value::Time(again),
        )
        .against("ldapsearch of them", Value::Time(search)),
    ]
}
