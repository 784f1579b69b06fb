//! Crash consistency (issue 8, item 1): the daemon is killed with SIGKILL at a random moment
//! of a storm of writes through the mount and of `vecs-cli` writes to the same database, then
//! restarted on the same database and mountpoint, many times over. After every kill:
//!
//! - `PRAGMA integrity_check` says ok and `PRAGMA foreign_key_check` finds nothing;
//! - every acknowledged write is there: each alias written through the mount holds exactly
//!   what its last write whose close(2) returned 0 left, or what the one write that was in
//!   flight at the kill (no answer, or ENOTCONN/ECONNABORTED) would leave: live pair and
//!   pending half alike. Every alias vecs-cli changed is exactly as its last command that
//!   exited 0 left it (vecs-cli is not killed, each of its commands finishes);
//! - nothing is half-written: every entry of every store (BACKUP_STORE's `bkp_` pairs too) and
//!   every pending half parses with vecsfs's own parsers, and every Private Key entry's key is
//!   the key of its certificate;
//! - after the restart, the mount shows exactly the database: the aliases listed, and for each
//!   pair cert.pem and key.pem as stored and matching, bundle.pem a matching pair.
//!
//! Mount writers rotate pairs in every way the mount offers: one PEM holding key and chain
//! written to cert.pem or key.pem, and cert then key (or key then cert) through a pending
//! half. A vecs-cli thread creates and deletes entries in the same store meanwhile.
//!
//! `VECSFS_CRASH_ITERATIONS` sets the number of kills (15 by default, for CI; run hundreds
//! locally), `VECSFS_CRASH_SEED` replays a run (the seed is printed).

#[path = "support/mount.rs"]
mod mount;
#[path = "support/storm.rs"]
mod storm;

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::vecs_on_db;
use mount::{MountSpec, Mounted};
use storm::{
    env_number, is_dead_mount, join_by, key_matches, pair_of_cert, pair_of_key, read_whole,
    write_through, Pair, Rng,
};
use vecsfs::pki::{is_encrypted_key, parse_cert_chain, parse_crl, parse_private_key};
use vecsfs::store::{Database, EntryContent, EntryType};

const STORE: &str = "crash";
const MOUNT_WRITERS: usize = 3;
const ALIASES_PER_WRITER: usize = 2;
const CLI_ALIASES: usize = 3;
/// Distinct pairs the writers choose from.
const POOL: usize = 12;
/// The kill comes at a uniformly random moment this long after the writers start.
const KILL_WINDOW: Duration = Duration::from_millis(300);
/// How long the writers may take to notice the dead mount (and vecs-cli to finish).
const JOIN_LIMIT: Duration = Duration::from_secs(30);

/// Which half of a pair waits for its partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Half {
    Cert,
    Key,
}

/// A mount writer's alias as the store holds it: the live pair and the pending half, as
/// indices into the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PairState {
    live: usize,
    pending: Option<(Half, usize)>,
}

/// What a mount writer knows of one of its aliases.
#[derive(Clone, Debug)]
struct AliasRecord {
    alias: String,
    /// The state after the last write whose close returned 0.
    acked: PairState,
    /// The state the write in flight at the kill would leave, if it committed.
    in_flight: Option<PairState>,
}

#[derive(Default)]
struct WriterReport {
    aliases: Vec<AliasRecord>,
    attempts: u64,
    acked: u64,
    /// What stopped the writer on the dead mount.
    stopped_by: Option<String>,
    /// Any other error: a failure of the test.
    unexpected: Option<String>,
}

#[derive(Default)]
struct CliReport {
    states: Vec<Option<usize>>,
    acked: u64,
    unexpected: Option<String>,
}

#[derive(Default)]
struct Totals {
    kills: u64,
    /// Kills after which the daemon stayed half-dead until its connection was aborted.
    wedged: u64,
    mount_attempts: u64,
    mount_acked: u64,
    cli_acked: u64,
    in_flight_committed: u64,
    in_flight_not_committed: u64,
    aliases_checked: u64,
    entries_checked: u64,
}

fn mount_alias(writer: usize, n: usize) -> String {
    format!("m{writer}-{n}")
}

fn cli_alias(n: usize) -> String {
    format!("c{n}")
}

#[test]
fn acknowledged_writes_survive_random_kill_9_under_a_write_storm() {
    let iterations = env_number("VECSFS_CRASH_ITERATIONS", 15);
    let mut rng = Rng::from_env("VECSFS_CRASH_SEED");
    let started = Instant::now();
    let pool = Arc::new(storm::pairs(POOL, "crash"));
    let files = tempfile::Builder::new()
        .prefix("vecsfs-crash-")
        .tempdir()
        .expect("temp dir");
    let pool_files = write_pool_files(files.path(), &pool);

    // Every mount alias starts as a Private Key entry, made with vecsfs's store API.
    let mut writers: Vec<Vec<AliasRecord>> = (0..MOUNT_WRITERS)
        .map(|w| {
            (0..ALIASES_PER_WRITER)
                .map(|n| AliasRecord {
                    alias: mount_alias(w, n),
                    acked: PairState {
                        live: (w * ALIASES_PER_WRITER + n) % POOL,
                        pending: None,
                    },
                    in_flight: None,
                })
                .collect()
        })
        .collect();
    let seed: Vec<(String, Pair)> = writers
        .iter()
        .flatten()
        .map(|r| (r.alias.clone(), pool[r.acked.live].clone()))
        .collect();
    let mut m = Mounted::start(
        MountSpec::default()
            .env("RUST_LOG", "info")
            .before_mount(move |db| seed_store(db, &seed)),
    );
    let mut cli_states: Vec<Option<usize>> = vec![None; CLI_ALIASES];
    let mut totals = Totals::default();

    for iteration in 0..iterations {
        let stop = Arc::new(AtomicBool::new(false));
        let killed = Arc::new(AtomicBool::new(false));
        let mount_threads: Vec<_> = writers
            .iter()
            .map(|aliases| {
                let (pool, stop, killed) = (Arc::clone(&pool), stop.clone(), killed.clone());
                let (store_dir, aliases, rng) = (m.path(STORE), aliases.clone(), rng.fork());
                thread::spawn(move || mount_writer(&store_dir, aliases, &pool, rng, &stop, &killed))
            })
            .collect();
        let cli_thread = {
            let (db, files, stop) = (m.db.clone(), pool_files.clone(), stop.clone());
            let (states, rng) = (cli_states.clone(), rng.fork());
            thread::spawn(move || cli_writer(&db, &files, states, rng, &stop))
        };

        let delay = Duration::from_micros(rng.below(KILL_WINDOW.as_micros() as u64 + 1));
        thread::sleep(delay);
        killed.store(true, Ordering::SeqCst);
        let killed_as = m.kill9();
        let status = killed_as.status;
        stop.store(true, Ordering::SeqCst);
        totals.kills += 1;
        if let Some(stacks) = &killed_as.wedged {
            // Only the known deadlock is tolerated: any other way of surviving SIGKILL fails.
            assert!(
                stacks.contains("fuse_reverse_inval_entry"),
                "kill {}: the daemon did not die of SIGKILL, stuck at:\n{stacks}",
                iteration + 1
            );
            totals.wedged += 1;
            if totals.wedged == 1 {
                println!(
                    "kill {}: the daemon did not die of SIGKILL; connection aborted with \
                     umount(MNT_FORCE). Its threads were stuck at:\n{stacks}",
                    iteration + 1
                );
            }
        }

        let deadline = Instant::now() + JOIN_LIMIT;
        let mut stopped_by = BTreeSet::new();
        let (mut attempts, mut acked) = (0, 0);
        for (w, handle) in mount_threads.into_iter().enumerate() {
            let report = join_by(handle, deadline, &format!("mount writer {w}"))
                .unwrap_or_else(|e| panic!("iteration {iteration}: {e}"));
            if let Some(e) = report.unexpected {
                panic!(
                    "iteration {iteration}: mount writer {w} failed before the kill: {e}\n\
                     daemon log (tail):\n{}",
                    common::tail(&m.log(), 40)
                );
            }
            stopped_by.extend(report.stopped_by);
            attempts += report.attempts;
            acked += report.acked;
            writers[w] = report.aliases;
        }
        let cli = join_by(cli_thread, deadline, "vecs-cli writer")
            .unwrap_or_else(|e| panic!("iteration {iteration}: {e}"));
        if let Some(e) = cli.unexpected {
            panic!("iteration {iteration}: vecs-cli failed: {e}");
        }
        cli_states = cli.states;
        totals.mount_attempts += attempts;
        totals.mount_acked += acked;
        totals.cli_acked += cli.acked;

        // The database as the crash left it, before a daemon opens it again.
        let durable = check_database(&m.db, &pool, &writers, &cli_states, &mut totals)
            .unwrap_or_else(|e| {
                panic!(
                    "iteration {iteration} (kill after {delay:?}): {e}\ndaemon log (tail):\n{}",
                    common::tail(&m.log(), 40)
                )
            });
        for (record, state) in writers.iter_mut().flatten().zip(durable) {
            if let Some(in_flight) = record.in_flight.take() {
                if state == in_flight && state != record.acked {
                    totals.in_flight_committed += 1;
                } else {
                    totals.in_flight_not_committed += 1;
                }
            }
            record.acked = state;
        }

        m.restart();
        check_mount(&m, &pool, &writers, &cli_states).unwrap_or_else(|e| {
            panic!(
                "iteration {iteration}: after the restart, the mount: {e}\ndaemon log (tail):\n{}",
                common::tail(&m.log(), 40)
            )
        });
        println!(
            "kill {:>3} after {:>6.1} ms ({status}): {acked:>3} acknowledged of {attempts:>3} \
             mount writes, {:>3} vecs-cli commands; writers stopped by {stopped_by:?}",
            iteration + 1,
            delay.as_secs_f64() * 1e3,
            cli.acked,
        );
    }

    println!(
        "{} kills ({} left the daemon half-dead until its connection was aborted) in {:.1} s: \
         {} mount writes acknowledged (of {} attempted), {} vecs-cli \
         commands acknowledged; writes in flight at a kill: {} committed, {} not; {} alias \
         states and {} stored entries checked",
        totals.kills,
        totals.wedged,
        started.elapsed().as_secs_f64(),
        totals.mount_acked,
        totals.mount_attempts,
        totals.cli_acked,
        totals.in_flight_committed,
        totals.in_flight_not_committed,
        totals.aliases_checked,
        totals.entries_checked,
    );
    // A daemon that SIGKILL leaves half-dead hangs the callers of a lookup, and its supervisor
    // (which waits for it to exit) never restarts it: a known defect, reported in issue 8,
    // tolerated here unless asked for.
    if env_number("VECSFS_CRASH_FAIL_ON_WEDGE", 0) != 0 {
        assert_eq!(totals.wedged, 0, "kills that left the daemon half-dead");
    }
    assert!(
        totals.mount_acked > 0 && totals.cli_acked > 0,
        "the storm acknowledged nothing: the test tested nothing"
    );
}

/// Creates the store and the mount writers' aliases, each a Private Key entry.
fn seed_store(db: &Path, aliases: &[(String, Pair)]) {
    let mut database = Database::open(db).expect("open the database");
    database.create_store(0, STORE).expect("create the store");
    for (alias, pair) in aliases {
        let chain = parse_cert_chain(&pair.cert).expect("certificate");
        let key = parse_private_key(&pair.key).expect("key");
        let content = EntryContent::private_key(&chain, &key).expect("matching pair");
        database
            .add_entry(0, STORE, Some(alias), &content)
            .expect("seed entry");
    }
}

/// Writes every pair of the pool as `<i>.crt` and `<i>.key` for vecs-cli.
fn write_pool_files(dir: &Path, pool: &[Pair]) -> Vec<(String, String)> {
    pool.iter()
        .enumerate()
        .map(|(i, pair)| {
            let (cert, key) = (dir.join(format!("{i}.crt")), dir.join(format!("{i}.key")));
            fs::write(&cert, &pair.cert).expect("write cert");
            fs::write(&key, &pair.key).expect("write key");
            (
                cert.to_string_lossy().into_owned(),
                key.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

/// Rotates the pairs of `aliases` through the mount until `stop`, or until the mount dies.
fn mount_writer(
    store_dir: &Path,
    mut aliases: Vec<AliasRecord>,
    pool: &[Pair],
    mut rng: Rng,
    stop: &AtomicBool,
    killed: &AtomicBool,
) -> WriterReport {
    let mut report = WriterReport::default();
    'storm: while !stop.load(Ordering::SeqCst) {
        let i = rng.below(aliases.len() as u64) as usize;
        let now = aliases[i].acked;
        // A pair that is neither live nor pending, so that every write changes something.
        let next = loop {
            let p = rng.below(pool.len() as u64) as usize;
            if p != now.live && now.pending.is_none_or(|(_, q)| q != p) {
                break p;
            }
        };
        let pair = &pool[next];
        let done = PairState {
            live: next,
            pending: None,
        };
        let steps: Vec<(&str, Vec<u8>, PairState)> = match rng.below(10) {
            0..=3 => vec![("cert.pem", pair.combined(), done)],
            4..=5 => vec![("key.pem", pair.combined(), done)],
            6..=7 => vec![
                (
                    "cert.pem",
                    pair.cert.clone(),
                    PairState {
                        live: now.live,
                        pending: Some((Half::Cert, next)),
                    },
                ),
                ("key.pem", pair.key.clone(), done),
            ],
            _ => vec![
                (
                    "key.pem",
                    pair.key.clone(),
                    PairState {
                        live: now.live,
                        pending: Some((Half::Key, next)),
                    },
                ),
                ("cert.pem", pair.cert.clone(), done),
            ],
        };
        let dir = store_dir.join(&aliases[i].alias);
        for (file, bytes, after) in steps {
            aliases[i].in_flight = Some(after);
            report.attempts += 1;
            match write_through(&dir.join(file), &bytes) {
                Ok(()) => {
                    aliases[i].acked = after;
                    aliases[i].in_flight = None;
                    report.acked += 1;
                }
                Err(e) if is_dead_mount(&e) && killed.load(Ordering::SeqCst) => {
                    report.stopped_by = Some(e.to_string());
                    break 'storm;
                }
                Err(e) => {
                    report.unexpected = Some(format!(
                        "{}/{file}: {e} (expected {after:?})",
                        aliases[i].alias
                    ));
                    break 'storm;
                }
            }
        }
    }
    report.aliases = aliases;
    report
}

/// Creates and deletes the vecs-cli aliases with the real vecs-cli until `stop`.
fn cli_writer(
    db: &Path,
    files: &[(String, String)],
    mut states: Vec<Option<usize>>,
    mut rng: Rng,
    stop: &AtomicBool,
) -> CliReport {
    let mut report = CliReport::default();
    while !stop.load(Ordering::SeqCst) {
        let i = rng.below(states.len() as u64) as usize;
        let alias = cli_alias(i);
        let (args, after): (Vec<&str>, Option<usize>) = match states[i] {
            Some(_) => (
                vec!["entry", "delete", "--store", STORE, "--alias", &alias, "-y"],
                None,
            ),
            None => {
                let p = rng.below(files.len() as u64) as usize;
                let (cert, key) = &files[p];
                (
                    vec![
                        "entry", "create", "--store", STORE, "--alias", &alias, "--cert", cert,
                        "--key", key,
                    ],
                    Some(p),
                )
            }
        };
        let run = vecs_on_db(db, &args);
        if run.code != 0 {
            report.unexpected = Some(format!("vecs-cli {args:?}: {run:#?}"));
            break;
        }
        states[i] = after;
        report.acked += 1;
    }
    report.states = states;
    report
}

/// Checks the database left by a kill and returns the state of every mount alias (in the
/// order of `writers`).
fn check_database(
    db: &Path,
    pool: &[Pair],
    writers: &[Vec<AliasRecord>],
    cli_states: &[Option<usize>],
    totals: &mut Totals,
) -> Result<Vec<PairState>, String> {
    let conn = rusqlite::Connection::open(db).map_err(|e| format!("open: {e}"))?;
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| format!("integrity_check: {e}"))?;
    if integrity != ["ok"] {
        return Err(format!("PRAGMA integrity_check: {integrity:?}"));
    }
    let dangling: usize = conn
        .prepare("PRAGMA foreign_key_check")
        .and_then(|mut s| Ok(s.query_map([], |_| Ok(()))?.count()))
        .map_err(|e| format!("foreign_key_check: {e}"))?;
    if dangling != 0 {
        return Err(format!(
            "PRAGMA foreign_key_check: {dangling} dangling rows"
        ));
    }
    let pending_of = |alias: &str| -> Result<Option<(String, Vec<u8>)>, String> {
        let mut stmt = conn
            .prepare(
                "SELECT p.half, p.data FROM pending_halves p JOIN entries e ON e.id = p.entry_id
                 JOIN stores s ON s.id = e.store_id WHERE s.name = ?1 AND e.alias = ?2",
            )
            .map_err(|e| e.to_string())?;
        let rows: Vec<(String, Vec<u8>)> = stmt
            .query_map([STORE, alias], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| e.to_string())?;
        Ok(rows.into_iter().next())
    };

    let database = Database::open(db).map_err(|e| format!("Database::open: {e}"))?;
    let mut durable = Vec::new();
    for record in writers.iter().flatten() {
        let alias = &record.alias;
        let live = stored_pair(&database, pool, alias)?
            .ok_or_else(|| format!("{alias}: the entry is gone"))?;
        let pending = match pending_of(alias)? {
            None => None,
            Some((half, data)) if half == "cert" => Some((
                Half::Cert,
                pair_of_cert(pool, &data).map_err(|e| format!("{alias}: pending cert: {e}"))?,
            )),
            Some((_, data)) => Some((
                Half::Key,
                pair_of_key(pool, &data).map_err(|e| format!("{alias}: pending key: {e}"))?,
            )),
        };
        let state = PairState { live, pending };
        if state != record.acked && Some(state) != record.in_flight {
            return Err(format!(
                "{alias}: an acknowledged write is lost: the store holds {state:?}, the last \
                 acknowledged write left {:?}, the write in flight would leave {:?}",
                record.acked, record.in_flight
            ));
        }
        durable.push(state);
        totals.aliases_checked += 1;
    }
    for (n, expected) in cli_states.iter().enumerate() {
        let alias = cli_alias(n);
        let got = stored_pair(&database, pool, &alias)?;
        if got != *expected {
            return Err(format!(
                "{alias} (vecs-cli): the store holds pair {got:?}, the last vecs-cli command \
                 that exited 0 left {expected:?}"
            ));
        }
        totals.aliases_checked += 1;
    }
    totals.entries_checked += check_every_entry(&database, &conn)?;
    Ok(durable)
}

/// The pool index of the pair of `STORE/alias`, `None` when there is no such entry; an
/// error unless it is a Private Key entry whose key and certificate parse and match.
fn stored_pair(database: &Database, pool: &[Pair], alias: &str) -> Result<Option<usize>, String> {
    let listed = database
        .entries(0, STORE)
        .map_err(|e| format!("entries of {STORE}: {e}"))?;
    let Some(entry) = listed.into_iter().find(|e| e.alias == alias) else {
        return Ok(None);
    };
    if entry.entry_type != EntryType::PrivateKey {
        return Err(format!("{alias}: a {:?} entry", entry.entry_type));
    }
    let cert = entry
        .cert_pem
        .ok_or_else(|| format!("{alias}: no certificate"))?;
    let key = database
        .key(0, STORE, alias)
        .map_err(|e| format!("{alias}: key: {e}"))?;
    key_matches(cert.as_bytes(), &key).map_err(|e| format!("{alias}: {e}"))?;
    let p = pair_of_cert(pool, cert.as_bytes()).map_err(|e| format!("{alias}: {e}"))?;
    Ok(Some(p))
}

/// Every entry of every store parses as its type says (a pair matches), and so does every
/// pending half. Returns how many entries it checked.
fn check_every_entry(database: &Database, conn: &rusqlite::Connection) -> Result<u64, String> {
    let mut checked = 0;
    for store in database.stores().map_err(|e| format!("stores: {e}"))? {
        let entries = database
            .entries(0, &store.name)
            .map_err(|e| format!("entries of {}: {e}", store.name))?;
        for entry in entries {
            let at = format!("{}/{}", store.name, entry.alias);
            let cert = entry.cert_pem.as_deref().unwrap_or_default().as_bytes();
            let key = || {
                database
                    .key(0, &store.name, &entry.alias)
                    .map_err(|e| format!("{at}: key: {e}"))
            };
            match entry.entry_type {
                EntryType::PrivateKey => {
                    key_matches(cert, &key()?).map_err(|e| format!("{at}: {e}"))?;
                }
                EntryType::TrustedCert => {
                    parse_cert_chain(cert).map_err(|e| format!("{at}: cert: {e:?}"))?;
                }
                EntryType::Crl => {
                    parse_crl(cert).map_err(|e| format!("{at}: CRL: {e:?}"))?;
                }
                EntryType::SecretKey => {
                    if key()?.is_empty() {
                        return Err(format!("{at}: an empty secret"));
                    }
                }
                EntryType::EncryptedPrivateKey => {
                    parse_cert_chain(cert).map_err(|e| format!("{at}: cert: {e:?}"))?;
                    if !is_encrypted_key(&key()?) {
                        key_matches(cert, &key()?).map_err(|e| format!("{at}: {e}"))?;
                    }
                }
            }
            checked += 1;
        }
    }
    let halves: Vec<(String, Vec<u8>)> = conn
        .prepare("SELECT half, data FROM pending_halves")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(|e| format!("pending halves: {e}"))?;
    for (half, data) in halves {
        let parsed = if half == "cert" {
            parse_cert_chain(&data).map(drop)
        } else {
            parse_private_key(&data).map(drop)
        };
        parsed.map_err(|e| format!("a pending {half} does not parse: {e:?}"))?;
    }
    Ok(checked)
}

/// After the restart: the mount lists exactly the aliases of the database, and shows every
/// pair as stored, matching, in cert.pem, key.pem and bundle.pem.
fn check_mount(
    m: &Mounted,
    pool: &[Pair],
    writers: &[Vec<AliasRecord>],
    cli_states: &[Option<usize>],
) -> Result<(), String> {
    let store_dir = m.path(STORE);
    let mut expected: Vec<(String, usize)> = writers
        .iter()
        .flatten()
        .map(|r| (r.alias.clone(), r.acked.live))
        .collect();
    expected.extend(
        cli_states
            .iter()
            .enumerate()
            .filter_map(|(n, s)| s.map(|p| (cli_alias(n), p))),
    );
    let listed: BTreeSet<String> = fs::read_dir(&store_dir)
        .map_err(|e| format!("ls {STORE}: {e}"))?
        .map(|d| d.map(|d| d.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("ls {STORE}: {e}"))?;
    let wanted: BTreeSet<String> = expected.iter().map(|(a, _)| a.clone()).collect();
    if listed != wanted {
        return Err(format!(
            "{STORE} lists {listed:?}, the store holds {wanted:?}"
        ));
    }
    let database = Database::open(&m.db).map_err(|e| format!("Database::open: {e}"))?;
    for (alias, live) in expected {
        let dir: PathBuf = store_dir.join(&alias);
        let read =
            |file: &str| read_whole(&dir.join(file)).map_err(|e| format!("{alias}/{file}: {e}"));
        let (cert, key, bundle) = (read("cert.pem")?, read("key.pem")?, read("bundle.pem")?);
        let entry = database
            .entry(0, STORE, &alias)
            .map_err(|e| format!("{alias}: {e}"))?;
        let stored_key = database
            .key(0, STORE, &alias)
            .map_err(|e| format!("{alias}: key: {e}"))?;
        if entry.cert_pem.as_deref().map(str::as_bytes) != Some(&cert[..]) {
            return Err(format!("{alias}/cert.pem differs from the database"));
        }
        if stored_key.as_slice() != &key[..] {
            return Err(format!("{alias}/key.pem differs from the database"));
        }
        key_matches(&cert, &key).map_err(|e| format!("{alias} cert.pem/key.pem: {e}"))?;
        key_matches(&bundle, &bundle).map_err(|e| format!("{alias}/bundle.pem: {e}"))?;
        let shown = pair_of_cert(pool, &bundle).map_err(|e| format!("{alias}/bundle.pem: {e}"))?;
        if shown != live || pair_of_cert(pool, &cert) != Ok(live) {
            return Err(format!(
                "{alias}: the mount shows pair {shown}, the store holds {live}"
            ));
        }
    }
    Ok(())
}
