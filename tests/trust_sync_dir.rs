//! The trust sync from a DIRECTORY source (issue 5, the contract in the trust sync spec), end to
//! end with the real binaries: `vecs-cli trust-source set --dir`, `force-refresh`,
//! `trust-source show`, and the `vecsfs` daemon watching the folder on a real FUSE mount.
//!
//! Material is made at test time with the `openssl` command (self-signed EC P-256 roots, CRLs
//! made with `openssl ca -gencrl`), plus the Debian CA bundle for a many-certificates file. The
//! expected aliases (lower-case hex SHA-1 of the DER) are computed by `openssl`, not by vecsfs.
//! Every test checks both what vecs-cli reports and what the stores hold afterwards.
//! Runs as root (CI does), with `runuser` and the `nobody` user for the non-root case.

mod common;

#[path = "support/mount.rs"]
mod mount;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::trust::{
    assert_set_ok, held_in, make_crl, make_root, material_dir, set_of, show, Report, Root, CRLS,
    ROOTS,
};
use common::{
    genpkey, run_with_input, sha1_of_pem, tail, vecs_cli, vecs_on_db, KeyKind, Run, Workspace,
};
use mount::{xattr, MountSpec, Mounted};
use vecsfs::store::{Database, EntryContent, EntryType};

/// How long a change in the watched folder may take to show in the mount before the test fails
/// (the contract: debounce ~250 ms, then visible within one second of the commit).
const WATCH_LIMIT: Duration = Duration::from_secs(10);

/// The daemon tests' interval: an hour, so that what they see is the watch or a settings
/// change taking effect, never the periodic rescan.
const LONG_INTERVAL: &str = "3600";

/// The contract: a sync's commit shows in the mount within one second.
const COMMIT_VISIBLE: Duration = Duration::from_secs(1);

// -------------------------------------------------------------------------------------------
// Material
// -------------------------------------------------------------------------------------------

/// A PEM private key only (no certificate): an invalid trust file.
fn private_key_pem(ws: &Workspace) -> Vec<u8> {
    let dir = material_dir(ws);
    genpkey(&dir, KeyKind::EcP256, "only.key");
    fs::read(dir.join("only.key")).expect("key")
}

/// Concatenates PEM texts into one file's content.
fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

/// A trust source folder of the workspace.
fn source_dir(ws: &Workspace, name: &str) -> PathBuf {
    let dir = ws.path(name);
    fs::create_dir_all(&dir).expect("source dir");
    dir
}

fn put(dir: &Path, name: &str, content: &[u8]) {
    fs::write(dir.join(name), content).unwrap_or_else(|e| panic!("write {name}: {e}"));
}

fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

// -------------------------------------------------------------------------------------------
// vecs-cli
// -------------------------------------------------------------------------------------------

/// `trust-source set --dir DIR [extra]`: must succeed with one line.
#[track_caller]
fn set_dir(db: &Path, dir: &Path, extra: &[&str]) -> String {
    let dir = path_str(dir);
    let mut args = vec!["trust-source", "set", "--dir", dir.as_str()];
    args.extend_from_slice(extra);
    let run = vecs_on_db(db, &args);
    assert_set_ok(&run);
    run.stdout.trim_end().to_string()
}

/// The aliases of a store, as `vecs-cli entry list --aliases` lists them.
#[track_caller]
fn aliases(db: &Path, store: &str) -> BTreeSet<String> {
    let run = vecs_on_db(db, &["entry", "list", "--aliases", "--store", store]);
    let out = run.ok();
    let mut lines = out.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("Number of entries in store :"),
        "entry list header: {run:#?}"
    );
    let count: usize = header
        .rsplit('\t')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("entry count in {header:?}"));
    let list: BTreeSet<String> = lines.map(str::to_string).collect();
    assert_eq!(list.len(), count, "entry list count vs lines: {run:#?}");
    list
}

/// Everything a sync may change, to check that a run changed nothing: alias, type, from_sync
/// and creation time of every entry of both stores.
fn store_state(db: &Path) -> String {
    let database = Database::open(db).expect("open database");
    let mut out = String::new();
    for store in [ROOTS, CRLS] {
        for e in database.entries(0, store).expect("entries") {
            out.push_str(&format!(
                "{store} {} {:?} sync={} created={}\n",
                e.alias, e.entry_type, e.from_sync, e.created_at
            ));
        }
    }
    out
}

/// Asserts two alias sets are equal, naming what is missing and what is extra.
#[track_caller]
fn assert_aliases(what: &str, expected: &BTreeSet<String>, seen: &BTreeSet<String>, ctx: &str) {
    if expected != seen {
        let missing: Vec<_> = expected.difference(seen).collect();
        let extra: Vec<_> = seen.difference(expected).collect();
        panic!(
            "{what}: expected {} aliases, saw {}; missing {missing:?}, unexpected {extra:?}\n{ctx}",
            expected.len(),
            seen.len()
        );
    }
}

/// Asserts `store` holds exactly `expected`, as vecs-cli lists it; `when` ends the assertion's
/// name (`TRUSTED_ROOTS after ...`).
#[track_caller]
fn assert_holds<'a>(
    db: &Path,
    store: &str,
    expected: impl IntoIterator<Item = &'a String>,
    when: &str,
    ctx: &str,
) {
    let what = format!("{store} {when}");
    assert_aliases(what.trim_end(), &set_of(expected), &aliases(db, store), ctx);
}

/// Asserts the `Added [store]` lines name exactly `expected`.
#[track_caller]
fn assert_added<'a>(report: &Report, store: &str, expected: impl IntoIterator<Item = &'a String>) {
    let what = format!("Added [{store}] lines");
    assert_aliases(
        &what,
        &set_of(expected),
        &report.added_to(store),
        &report.text,
    );
}

/// Asserts the `Removed [store]` lines name exactly `expected`.
#[track_caller]
fn assert_removed<'a>(
    report: &Report,
    store: &str,
    expected: impl IntoIterator<Item = &'a String>,
) {
    let what = format!("Removed [{store}] lines");
    assert_aliases(
        &what,
        &set_of(expected),
        &report.removed_from(store),
        &report.text,
    );
}

/// Asserts every entry of `store` is of `kind` and marked `from_sync`.
#[track_caller]
fn assert_all_synced(db: &Path, store: &str, kind: EntryType) {
    let entries = held_in(db, store);
    for (alias, entry) in &entries {
        assert_eq!(entry.entry_type, kind, "{store}/{alias}: {entries:#?}");
        assert!(
            entry.from_sync,
            "{store}/{alias} should be from_sync: {entries:#?}"
        );
    }
}

/// Asserts every entry of `store` is marked `from_sync == sync`, for the aliases given.
#[track_caller]
fn assert_source<'a>(
    db: &Path,
    store: &str,
    aliases: impl IntoIterator<Item = &'a String>,
    sync: bool,
) {
    let entries = held_in(db, store);
    for alias in aliases {
        match entries.get(alias) {
            Some(entry) => assert_eq!(
                entry.from_sync, sync,
                "{store}/{alias}: from_sync should be {sync}; entries {entries:#?}"
            ),
            None => panic!("{store}/{alias} missing; entries {entries:#?}"),
        }
    }
}

// -------------------------------------------------------------------------------------------
// force-refresh's report
// -------------------------------------------------------------------------------------------

/// Runs force-refresh, asserts exit 0, parses and cross-checks the report; the summary names
/// the source folder.
#[track_caller]
fn refresh(db: &Path, dir: &Path) -> Report {
    let run = vecs_on_db(db, &["force-refresh"]);
    assert_eq!(run.code, 0, "force-refresh should succeed: {run:#?}");
    let report = Report::parse(&run.stdout);
    // A folder's objects are its files: each skipped one is named once, with a reason.
    let mut origins = BTreeSet::new();
    for (origin, reason) in &report.skipped {
        assert!(
            !reason.trim().is_empty(),
            "no reason for {origin}:\n{}",
            report.text
        );
        assert!(
            origins.insert(origin),
            "{origin} skipped twice:\n{}",
            report.text
        );
    }
    assert!(
        report.source.contains(&path_str(dir)),
        "the summary should name the source {}: {run:#?}",
        dir.display()
    );
    report
}

/// Runs force-refresh expecting the contract's failure: non-zero, `Error: trust sync from
/// <source> failed: <reason>` naming the folder, then the vecs-cli error line.
#[track_caller]
fn refresh_fails(db: &Path, dir: &Path) -> Run {
    let run = vecs_on_db(db, &["force-refresh"]);
    assert_ne!(run.code, 0, "force-refresh should fail: {run:#?}");
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("Error: trust sync from "))
        .unwrap_or_else(|| panic!("no `Error: trust sync from <source> failed:` line: {run:#?}"));
    assert!(
        line.contains(&path_str(dir)) && line.contains(" failed: "),
        "the error line should name the source {} and say `failed: <reason>`: {run:#?}",
        dir.display()
    );
    assert!(
        run.stderr.contains("vecs-cli failed. Error "),
        "the usual `vecs-cli failed. Error N:` line should follow: {run:#?}"
    );
    run
}

// -------------------------------------------------------------------------------------------
// trust-source show
// -------------------------------------------------------------------------------------------

/// Asserts values of `trust-source show` (parsed by `show`).
#[track_caller]
fn assert_show(shown: &BTreeMap<String, String>, expected: &[(&str, &str)], when: &str) {
    for (key, value) in expected {
        assert_eq!(
            shown[*key], *value,
            "trust-source show {when}: `{key}` should be `{value}`; all: {shown:#?}"
        );
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` → seconds since the epoch.
fn parse_utc(text: &str) -> Option<i64> {
    let rest = text.strip_suffix(" UTC")?;
    let (date, time) = rest.split_once(' ')?;
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let t: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if d.len() != 3 || t.len() != 3 || date.len() != 10 || time.len() != 8 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m, day) = (if d[1] <= 2 { d[0] - 1 } else { d[0] }, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2])
}

/// Asserts a `show` time value is well formed and within a few minutes of now.
#[track_caller]
fn assert_recent(shown: &BTreeMap<String, String>, key: &str) -> i64 {
    let value = &shown[key];
    let at = parse_utc(value).unwrap_or_else(|| {
        panic!("`{key}` should be `YYYY-MM-DD HH:MM:SS UTC`, saw {value:?}; all: {shown:#?}")
    });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert!(
        (now - at).abs() <= 300,
        "`{key}` = {value} should be about now ({now} s since the epoch); all: {shown:#?}"
    );
    at
}

// -------------------------------------------------------------------------------------------
// 1. force-refresh from a directory
// -------------------------------------------------------------------------------------------

#[test]
fn force_refresh_syncs_pem_and_der_files_and_a_second_run_changes_nothing() {
    let ws = Workspace::new();
    let dir = source_dir(&ws, "trust");
    let roots: Vec<Root> = (1..=5).map(|i| make_root(&ws, &format!("r{i}"))).collect();
    let crl3 = make_crl(&ws, &roots[2]);
    let crl4 = make_crl(&ws, &roots[3]);

    put(&dir, "one.pem", &roots[0].pem);
    put(&dir, "two.crt", &roots[1].pem);
    // Several certificates and a CRL in one PEM file.
    put(
        &dir,
        "bundle.pem",
        &concat(&[&roots[2].pem, &crl3.pem, &roots[3].pem]),
    );
    put(&dir, "five.der", &roots[4].der);
    put(&dir, "four.crl", &crl4.der);

    set_dir(&ws.db, &dir, &[]);
    let before_roots = aliases(&ws.db, ROOTS);
    let before_crls = aliases(&ws.db, CRLS);
    assert!(
        before_roots.is_empty() && before_crls.is_empty(),
        "a fresh database should have empty trust stores: {before_roots:?} {before_crls:?}"
    );

    let started = Instant::now();
    let first = refresh(&ws.db, &dir);
    println!("first force-refresh took {:?}", started.elapsed());
    let want_roots = set_of(roots.iter().map(|r| &r.sha1));
    let want_crls = set_of([&crl3.sha1, &crl4.sha1]);
    assert_added(&first, ROOTS, &want_roots);
    assert_added(&first, CRLS, &want_crls);
    assert!(
        first.removed_nothing() && first.skipped.is_empty(),
        "nothing removed or skipped on a first run:\n{}",
        first.text
    );
    first.assert_counts(7, 0, 0, 0);

    assert_holds(&ws.db, ROOTS, &want_roots, "after the first run", "");
    assert_holds(&ws.db, CRLS, &want_crls, "after the first run", "");
    assert_all_synced(&ws.db, ROOTS, EntryType::TrustedCert);
    assert_all_synced(&ws.db, CRLS, EntryType::Crl);
    // The stored certificate is the file's (getcert prints it as PEM).
    let run = vecs_on_db(
        &ws.db,
        &[
            "entry",
            "getcert",
            "--store",
            ROOTS,
            "--alias",
            &roots[4].sha1,
        ],
    );
    let stored = run.ok();
    let pem = String::from_utf8_lossy(&roots[4].pem);
    assert_eq!(
        stored.trim(),
        pem.trim(),
        "the DER file's certificate as stored, by getcert: {run:#?}"
    );

    let state = store_state(&ws.db);
    let second = refresh(&ws.db, &dir);
    assert!(
        second.no_changes(),
        "a second run should change nothing:\n{}",
        second.text
    );
    second.assert_counts(0, 0, 7, 0);
    assert_eq!(
        store_state(&ws.db),
        state,
        "a second run should leave the stores exactly as they were (same entries, same creation times)"
    );
}

// -------------------------------------------------------------------------------------------
// 2. ignored names, subfolders, symlinks
// -------------------------------------------------------------------------------------------

#[test]
fn hidden_backup_temp_swap_files_and_subfolders_are_ignored_and_symlinks_followed() {
    let ws = Workspace::new();
    let dir = source_dir(&ws, "trust");
    let kept = make_root(&ws, "kept");
    let linked = make_root(&ws, "linked");
    let ignored: Vec<(&str, Root)> = [".hidden.pem", "x.pem~", "y.tmp", "z.swp", "sub/inner.pem"]
        .into_iter()
        .enumerate()
        .map(|(i, name)| (name, make_root(&ws, &format!("ignored{i}"))))
        .collect();
    put(&dir, "kept.pem", &kept.pem);
    fs::create_dir(dir.join("sub")).expect("subfolder");
    for (name, root) in &ignored {
        put(&dir, name, &root.pem);
    }
    // A symlink to a file outside the folder is followed.
    let outside = material_dir(&ws).join("outside.pem");
    fs::write(&outside, &linked.pem).expect("outside file");
    std::os::unix::fs::symlink(&outside, dir.join("link.pem")).expect("symlink");

    set_dir(&ws.db, &dir, &[]);
    let report = refresh(&ws.db, &dir);
    let want = set_of([&kept.sha1, &linked.sha1]);
    assert_added(&report, ROOTS, &want);
    assert!(
        report.skipped.is_empty(),
        "ignored names and subfolders are not invalid objects: no Skipped line expected:\n{}",
        report.text
    );
    report.assert_counts(2, 0, 0, 0);
    assert_holds(&ws.db, ROOTS, &want, "", &report.text);
    let held = aliases(&ws.db, ROOTS);
    for (name, root) in &ignored {
        assert!(
            !held.contains(&root.sha1),
            "{name} should be ignored: {held:?}"
        );
    }
    assert!(aliases(&ws.db, CRLS).is_empty(), "no CRL expected");
}

// -------------------------------------------------------------------------------------------
// 3. invalid files
// -------------------------------------------------------------------------------------------

#[test]
fn invalid_files_are_skipped_and_named_and_the_rest_is_synced() {
    let ws = Workspace::new();
    let dir = source_dir(&ws, "trust");
    let good = make_root(&ws, "good");
    put(&dir, "good.pem", &good.pem);
    put(
        &dir,
        "garbage.pem",
        b"this is not a certificate\n\x01\x02\x03 at all\n",
    );
    put(&dir, "empty.pem", b"");
    put(&dir, "key-only.pem", &private_key_pem(&ws));
    let invalid = ["garbage.pem", "empty.pem", "key-only.pem"];

    set_dir(&ws.db, &dir, &[]);
    let report = refresh(&ws.db, &dir);
    let want_skipped: BTreeSet<String> = invalid.iter().map(|n| path_str(&dir.join(n))).collect();
    let seen_skipped: BTreeSet<String> = report.skipped.iter().map(|(o, _)| o.clone()).collect();
    assert_aliases(
        "Skipped <path> lines (full paths of the invalid files)",
        &want_skipped,
        &seen_skipped,
        &report.text,
    );
    report.assert_counts(1, 0, 0, 3);
    assert_holds(&ws.db, ROOTS, [&good.sha1], "", &report.text);
    assert!(aliases(&ws.db, CRLS).is_empty(), "no CRL expected");
    let shown = show(&ws.db);
    assert_show(
        &shown,
        &[("last_result", "ok"), ("skipped", "3"), ("added", "1")],
        "after a run with 3 invalid files",
    );
    println!("skip reasons: {:#?}", report.skipped);
}

// -------------------------------------------------------------------------------------------
// 4. removals and a new CRL version
// -------------------------------------------------------------------------------------------

#[test]
fn removed_files_lose_their_entries_and_a_newer_crl_replaces_the_old() {
    let ws = Workspace::new();
    let dir = source_dir(&ws, "trust");
    let a = make_root(&ws, "a");
    let b = make_root(&ws, "b");
    let ca = make_root(&ws, "ca");
    let crl1 = make_crl(&ws, &ca);
    let crl2 = make_crl(&ws, &ca);
    assert_ne!(crl1.sha1, crl2.sha1, "two CRL versions must differ");
    put(&dir, "a.pem", &a.pem);
    put(&dir, "b.pem", &b.pem);
    put(&dir, "ca.crl", &crl1.pem);

    set_dir(&ws.db, &dir, &[]);
    refresh(&ws.db, &dir).assert_counts(3, 0, 0, 0);

    fs::remove_file(dir.join("a.pem")).expect("rm a.pem");
    let report = refresh(&ws.db, &dir);
    assert_removed(&report, ROOTS, [&a.sha1]);
    assert!(
        report.added_nothing() && report.removed_crls.is_empty(),
        "only a.pem's root should go:\n{}",
        report.text
    );
    report.assert_counts(0, 1, 2, 0);
    assert_holds(&ws.db, ROOTS, [&b.sha1], "after rm a.pem", &report.text);
    assert_holds(&ws.db, CRLS, [&crl1.sha1], "after rm a.pem", &report.text);

    // The CRL file replaced by the next version (as DER this time).
    put(&dir, "ca.crl", &crl2.der);
    let report = refresh(&ws.db, &dir);
    assert_added(&report, CRLS, [&crl2.sha1]);
    assert_removed(&report, CRLS, [&crl1.sha1]);
    assert!(
        report.added_roots.is_empty() && report.removed_roots.is_empty(),
        "roots unchanged:\n{}",
        report.text
    );
    report.assert_counts(1, 1, 1, 0);
    assert_holds(
        &ws.db,
        CRLS,
        [&crl2.sha1],
        "after the new CRL",
        &report.text,
    );
    assert_holds(&ws.db, ROOTS, [&b.sha1], "after the new CRL", &report.text);
}

// -------------------------------------------------------------------------------------------
// 5. hand-added entries are never removed
// -------------------------------------------------------------------------------------------

#[test]
fn hand_added_root_and_crl_stay_hand_and_survive_their_file_going() {
    let ws = Workspace::new();
    let dir = source_dir(&ws, "trust");
    let hand = make_root(&ws, "hand");
    let other = make_root(&ws, "other");
    let hand_crl = make_crl(&ws, &hand);

    // By hand: the root with vecs-cli (no --alias: the SHA-1 alias).
    let cert = path_str(&hand.cert);
    let run = vecs_on_db(
        &ws.db,
        &["entry", "create", "--store", ROOTS, "--cert", &cert],
    );
    run.ok();
    assert!(
        run.stdout.contains(&hand.sha1),
        "entry create without --alias should use the SHA-1: {run:#?}"
    );
    // vecs-cli cannot add a CRL (entry create parses --cert as a certificate: error 11), so the
    // hand-added CRL goes in through the library, as a hand entry.
    let run = vecs_on_db(
        &ws.db,
        &[
            "entry",
            "create",
            "--store",
            CRLS,
            "--cert",
            &path_str(&hand_crl.path),
        ],
    );
    assert_ne!(
        run.code, 0,
        "vecs-cli is not expected to add a CRL; if it now does, use it here: {run:#?}"
    );
    {
        let mut database = Database::open(&ws.db).expect("open database");
        let crl = vecsfs::pki::parse_crl(&hand_crl.pem).expect("parse CRL");
        let alias = database
            .add_entry(0, CRLS, None, &EntryContent::crl(&crl))
            .expect("add the hand CRL");
        assert_eq!(alias, hand_crl.sha1, "the library's CRL alias is its SHA-1");
    }
    assert_source(&ws.db, ROOTS, [&hand.sha1], false);
    assert_source(&ws.db, CRLS, [&hand_crl.sha1], false);

    put(&dir, "hand.pem", &hand.pem);
    put(&dir, "hand.crl", &hand_crl.pem);
    put(&dir, "other.pem", &other.pem);
    set_dir(&ws.db, &dir, &[]);
    let report = refresh(&ws.db, &dir);
    assert_added(&report, ROOTS, [&other.sha1]);
    assert!(
        report.added_crls.is_empty(),
        "the hand CRL is present already:\n{}",
        report.text
    );
    assert_eq!(
        report.counts.added, 1,
        "only other.pem is new:\n{}",
        report.text
    );
    println!(
        "summary with hand entries also in the source: {:?}",
        report.counts
    );
    assert_holds(&ws.db, ROOTS, [&hand.sha1, &other.sha1], "", &report.text);
    assert_source(&ws.db, ROOTS, [&hand.sha1], false);
    assert_source(&ws.db, ROOTS, [&other.sha1], true);
    assert_source(&ws.db, CRLS, [&hand_crl.sha1], false);
    let shown = show(&ws.db);
    assert_show(
        &shown,
        &[("synced_roots", "1"), ("synced_crls", "0")],
        "with hand entries also in the source (they stay hand)",
    );

    fs::remove_file(dir.join("hand.pem")).expect("rm hand.pem");
    fs::remove_file(dir.join("hand.crl")).expect("rm hand.crl");
    let report = refresh(&ws.db, &dir);
    assert!(
        report.no_changes(),
        "hand entries are never removed:\n{}",
        report.text
    );
    assert_eq!(
        (report.counts.added, report.counts.removed),
        (0, 0),
        "{}",
        report.text
    );
    assert_holds(
        &ws.db,
        ROOTS,
        [&hand.sha1, &other.sha1],
        "after the files went",
        &report.text,
    );
    assert_holds(
        &ws.db,
        CRLS,
        [&hand_crl.sha1],
        "after the files went",
        &report.text,
    );
    assert_source(&ws.db, ROOTS, [&hand.sha1], false);
    assert_source(&ws.db, CRLS, [&hand_crl.sha1], false);
}

// -------------------------------------------------------------------------------------------
// 6. a missing or unreadable folder
// -------------------------------------------------------------------------------------------

/// A force-refresh that must fail (`refresh_fails`) and leave the stores as they were
/// (`good`, from `store_state`); returns `trust-source show` after it, which says `failed`.
#[track_caller]
/// A force-refresh that fails with exit status `exit` (the README's, per cause) and leaves the
/// stores as `good`; returns `trust-source show`.
fn refresh_fails_and_keeps(
    db: &Path,
    dir: &Path,
    good: &str,
    why: &str,
    exit: i32,
) -> BTreeMap<String, String> {
    let run = refresh_fails(db, dir);
    println!("{why}: {}", run.stderr.trim_end());
    assert_eq!(run.code, exit, "{why}: the exit status: {run:#?}");
    assert_eq!(
        store_state(db),
        good,
        "a failed run must leave the stores as they were: {run:#?}"
    );
    let shown = show(db);
    let when = format!("after a failed run ({why})");
    assert_show(&shown, &[("last_result", "failed")], &when);
    shown
}

#[test]
fn a_missing_or_unreadable_folder_fails_and_keeps_the_last_good_state() {
    let ws = Workspace::new();
    let dir = source_dir(&ws, "trust");
    let root = make_root(&ws, "root");
    let ca = make_root(&ws, "ca");
    let crl = make_crl(&ws, &ca);
    put(&dir, "root.pem", &root.pem);
    put(&dir, "ca.crl", &crl.pem);
    set_dir(&ws.db, &dir, &[]);
    refresh(&ws.db, &dir).assert_counts(2, 0, 0, 0);
    let good = store_state(&ws.db);

    // Missing.
    let away = ws.path("trust.away");
    fs::rename(&dir, &away).expect("move the folder away");
    let shown = refresh_fails_and_keeps(&ws.db, &dir, &good, "missing folder", 2);
    assert_ne!(
        shown["last_error"], "-",
        "last_error should hold the reason: {shown:#?}"
    );

    // Not a readable folder (a regular file in its place: root reads every folder, so a mode
    // would not do).
    fs::write(&dir, b"not a folder").expect("file in the folder's place");
    // Another I/O error: 90001, exit status 145.
    refresh_fails_and_keeps(&ws.db, &dir, &good, "not a folder", 145);

    // Back: the next run succeeds and finds nothing to change.
    fs::remove_file(&dir).expect("rm the file");
    fs::rename(&away, &dir).expect("move the folder back");
    let report = refresh(&ws.db, &dir);
    assert!(report.no_changes(), "{}", report.text);
    report.assert_counts(0, 0, 2, 0);
    assert_eq!(store_state(&ws.db), good, "stores after recovery");
    let shown = show(&ws.db);
    assert_show(&shown, &[("last_result", "ok")], "after recovery");
    println!("last_error after recovery: {:?}", shown["last_error"]);
}

// -------------------------------------------------------------------------------------------
// 7. trust-source show
// -------------------------------------------------------------------------------------------

#[test]
fn show_before_any_run_after_success_and_after_failure() {
    let ws = Workspace::new();
    let dir = source_dir(&ws, "trust");
    let d = path_str(&dir);

    // No source.
    let shown = show(&ws.db);
    assert_show(&shown, &[("source", "none")], "with no source");
    println!("show with no source: {shown:#?}");

    // Configured, never run.
    let line = set_dir(&ws.db, &dir, &["--interval", "90"]);
    assert!(
        line.contains(&d),
        "set's line should describe the source {d}: {line:?}"
    );
    let source = format!("dir:{d}");
    let shown = show(&ws.db);
    assert_show(
        &shown,
        &[
            ("source", source.as_str()),
            ("base_dn", "-"),
            ("bind_dn", "-"),
            ("password_file", "-"),
            ("ca_file", "-"),
            ("interval", "90"),
            ("last_run", "-"),
            ("last_result", "-"),
            ("last_success", "-"),
            ("last_error", "-"),
            ("added", "-"),
            ("removed", "-"),
            ("skipped", "-"),
            ("synced_roots", "0"),
            ("synced_crls", "0"),
        ],
        "before any run",
    );

    // Success: 2 roots, 1 CRL, 1 invalid file.
    let r1 = make_root(&ws, "r1");
    let r2 = make_root(&ws, "r2");
    let crl = make_crl(&ws, &r1);
    put(&dir, "r1.pem", &concat(&[&r1.pem, &crl.pem]));
    put(&dir, "r2.pem", &r2.pem);
    put(
        &dir,
        "bad.pem",
        b"-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n",
    );
    let report = refresh(&ws.db, &dir);
    report.assert_counts(3, 0, 0, 1);
    assert_eq!(
        report.source, source,
        "the summary's <source> as show's `source`:\n{}",
        report.text
    );
    // What the successful run recorded: a later failure keeps it.
    let recorded = [
        ("added", "3"),
        ("removed", "0"),
        ("skipped", "1"),
        ("synced_roots", "2"),
        ("synced_crls", "1"),
    ];
    let shown = show(&ws.db);
    let when = "after a successful run";
    assert_show(
        &shown,
        &[
            ("source", source.as_str()),
            ("interval", "90"),
            ("last_result", "ok"),
            ("last_error", "-"),
        ],
        when,
    );
    assert_show(&shown, &recorded, when);
    let run_at = assert_recent(&shown, "last_run");
    assert_eq!(
        shown["last_success"], shown["last_run"],
        "last_success after a success: {shown:#?}"
    );

    // Failure: the folder gone.
    fs::rename(&dir, ws.path("gone")).expect("move the folder away");
    let failed = refresh_fails(&ws.db, &dir);
    let after = show(&ws.db);
    let when = "after a failed run (counts stay those of the last success)";
    assert_show(
        &after,
        &[
            ("source", source.as_str()),
            ("last_result", "failed"),
            ("last_success", shown["last_success"].as_str()),
        ],
        when,
    );
    assert_show(&after, &recorded, when);
    let failed_at = assert_recent(&after, "last_run");
    assert!(failed_at >= run_at, "last_run should move on: {after:#?}");
    let error = &after["last_error"];
    assert!(
        error != "-" && !error.is_empty(),
        "last_error should hold the reason: {after:#?} {failed:#?}"
    );
    println!("last_error after the failure: {error:?}");

    // The default interval, then unset.
    set_dir(&ws.db, ws.path("gone").as_path(), &[]);
    assert_show(
        &show(&ws.db),
        &[("interval", "60")],
        "after set without --interval",
    );
    let run = vecs_on_db(&ws.db, &["trust-source", "unset"]);
    assert_eq!(run.code, 0, "unset should succeed: {run:#?}");
    assert_show(&show(&ws.db), &[("source", "none")], "after unset");
    let run = vecs_on_db(&ws.db, &["force-refresh"]);
    assert_ne!(
        run.code, 0,
        "force-refresh with no source should fail: {run:#?}"
    );
}

// -------------------------------------------------------------------------------------------
// 8. only root configures
// -------------------------------------------------------------------------------------------

#[test]
fn a_non_root_user_cannot_set_or_unset_the_source() {
    let ws = Workspace::new();
    let dir = source_dir(&ws, "trust");
    let other = source_dir(&ws, "other");
    set_dir(&ws.db, &dir, &[]);
    let before = show(&ws.db);

    let db = path_str(&ws.db);
    let other = path_str(&other);
    let commands = [
        vec![
            "trust-source",
            "set",
            "--dir",
            other.as_str(),
            "--db",
            db.as_str(),
        ],
        vec!["trust-source", "unset", "--db", db.as_str()],
    ];
    // First as installed (the database 0600 root, in a private folder): refused either way.
    // Then with the database open to everyone, so that only the contract's rule can refuse.
    for open_to_all in [false, true] {
        if open_to_all {
            use std::os::unix::fs::PermissionsExt;
            let everyone = |path: &Path, mode: u32| {
                fs::set_permissions(path, fs::Permissions::from_mode(mode))
                    .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()))
            };
            everyone(ws.dir.path(), 0o777);
            for suffix in ["", "-wal", "-shm"] {
                let file = PathBuf::from(format!("{db}{suffix}"));
                if file.exists() {
                    everyone(&file, 0o666);
                }
            }
        }
        for args in &commands {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "nobody", "--", vecs_cli()])
                .args(args)
                .env_remove("VECS_DB")
                .env_remove("RUST_LOG");
            let run = run_with_input(cmd, b"");
            let what = format!(
                "nobody's `{}` (database open to all: {open_to_all})",
                args[1]
            );
            assert_ne!(run.code, 0, "{what} should be refused: {run:#?}");
            assert!(
                !(125..=127).contains(&run.code),
                "vecs-cli should have run as nobody (runuser/exec failure instead): {run:#?}"
            );
            if open_to_all {
                assert!(
                    run.stderr
                        .contains("Error: only root may configure the trust source"),
                    "{what}: expected the contract's message: {run:#?}"
                );
            }
            println!(
                "{what}: exit {}, stderr {:?}",
                run.code,
                run.stderr.trim_end()
            );
            assert_eq!(
                show(&ws.db),
                before,
                "the settings must not change after {what}"
            );
        }
    }
}

// -------------------------------------------------------------------------------------------
// 9. the daemon watches the folder
// -------------------------------------------------------------------------------------------

/// `user.vecs.source` of an alias folder in the mount: `sync` or `hand`.
#[track_caller]
fn source_xattr(m: &Mounted, store: &str, alias: &str) -> Option<String> {
    let dir = m.path(&format!("{store}/{alias}"));
    xattr(&dir, "user.vecs.source")
        .unwrap_or_else(|e| panic!("getxattr user.vecs.source of {}: {e}", dir.display()))
}

#[test]
fn the_daemon_follows_the_folder_within_seconds() {
    let ws = Workspace::new();
    let dir = source_dir(&ws, "trust");
    let initial = make_root(&ws, "initial");
    let first = make_root(&ws, "first");
    let second = make_root(&ws, "second");
    let third = make_root(&ws, "third");
    let hand = make_root(&ws, "hand");
    let ca = make_root(&ws, "ca");
    let crl = make_crl(&ws, &ca);
    let linked = make_root(&ws, "linked");
    let relinked = make_root(&ws, "relinked");
    put(&dir, "initial.pem", &initial.pem);
    let outside = link_outside(&ws, &dir, "linked.pem", &linked.pem);

    let m = mount_following(&dir);
    let cert_of = |sha1: &str| m.path(&format!("{ROOTS}/{sha1}/cert.pem"));

    // The sync at start.
    m.wait_until(
        "the daemon's first sync (initial.pem in the mount)",
        WATCH_LIMIT,
        || cert_of(&initial.sha1).exists() && cert_of(&linked.sha1).exists(),
    );
    assert_eq!(
        source_xattr(&m, ROOTS, &initial.sha1).as_deref(),
        Some("sync"),
        "xattr of a synced alias"
    );

    // A file appears.
    put(&dir, "new.pem", &first.pem);
    m.wait_until(
        "new.pem appears → its cert.pem in the mount",
        WATCH_LIMIT,
        || cert_of(&first.sha1).exists(),
    );
    let shown = fs::read(cert_of(&first.sha1)).expect("read the synced cert.pem");
    assert_eq!(
        sha1_of_pem(&material_dir(&ws), &shown),
        first.sha1,
        "the mount's cert.pem is new.pem's certificate"
    );
    assert_eq!(
        source_xattr(&m, ROOTS, &first.sha1).as_deref(),
        Some("sync")
    );

    // Changed in place (truncate and write).
    put(&dir, "new.pem", &second.pem);
    m.wait_until(
        "new.pem rewritten in place → old alias gone, new present",
        WATCH_LIMIT,
        || cert_of(&second.sha1).exists() && !cert_of(&first.sha1).exists(),
    );

    // Replaced by write-temp-then-rename (the temp name ends in .tmp: ignored).
    put(&dir, "new.pem.tmp", &third.pem);
    fs::rename(dir.join("new.pem.tmp"), dir.join("new.pem")).expect("rename onto new.pem");
    m.wait_until(
        "new.pem replaced by rename → old alias gone, new present",
        WATCH_LIMIT,
        || cert_of(&third.sha1).exists() && !cert_of(&second.sha1).exists(),
    );

    // Gone.
    fs::remove_file(dir.join("new.pem")).expect("rm new.pem");
    m.wait_until("new.pem removed → its alias gone", WATCH_LIMIT, || {
        !cert_of(&third.sha1).exists()
    });
    assert!(cert_of(&initial.sha1).exists(), "initial.pem's root stays");

    // A CRL appears.
    put(&dir, "ca.crl", &crl.pem);
    let crl_file = m.path(&format!("{CRLS}/{}/crl.pem", crl.sha1));
    m.wait_until(
        "ca.crl appears → its crl.pem in the mount",
        WATCH_LIMIT,
        || crl_file.exists(),
    );
    assert_eq!(source_xattr(&m, CRLS, &crl.sha1).as_deref(), Some("sync"));

    // A hand-added root shows as `hand`.
    let run = vecs_on_db(
        &m.db,
        &[
            "entry",
            "create",
            "--store",
            ROOTS,
            "--cert",
            &path_str(&hand.cert),
        ],
    );
    run.ok();
    m.wait_until("a hand-added root shows in the mount", WATCH_LIMIT, || {
        cert_of(&hand.sha1).exists()
    });
    assert_eq!(
        source_xattr(&m, ROOTS, &hand.sha1).as_deref(),
        Some("hand"),
        "xattr of a hand-added alias"
    );

    // What the store holds, and the recorded status.
    assert_holds(
        &m.db,
        ROOTS,
        [&initial.sha1, &linked.sha1, &hand.sha1],
        "after the daemon's syncs",
        &tail(&m.log(), 40),
    );
    assert_holds(&m.db, CRLS, [&crl.sha1], "after the daemon's syncs", "");
    let shown = show(&m.db);
    assert_show(
        &shown,
        &[
            ("last_result", "ok"),
            ("interval", LONG_INTERVAL),
            ("synced_roots", "2"),
            ("synced_crls", "1"),
        ],
        "after the daemon's syncs",
    );

    // force-refresh's commit, seen by the running mount within one second of its return. The
    // change is behind the symlink, so no event reaches the daemon and its interval is an
    // hour: the commit can only be force-refresh's, as its report shows.
    fs::write(&outside, &relinked.pem).expect("rewrite the outside file");
    let report = refresh(&m.db, &dir);
    // Timed from here: wait_until prints the delay (the report is checked after).
    m.wait_until(
        "force-refresh returned → its commit visible in the mount (contract: within 1 s)",
        COMMIT_VISIBLE,
        || cert_of(&relinked.sha1).exists() && !cert_of(&linked.sha1).exists(),
    );
    assert_added(&report, ROOTS, [&relinked.sha1]);
    assert_removed(&report, ROOTS, [&linked.sha1]);
    assert_holds(
        &m.db,
        ROOTS,
        [&initial.sha1, &relinked.sha1, &hand.sha1],
        "after force-refresh",
        &report.text,
    );
}

// -------------------------------------------------------------------------------------------
// 9b. the daemon: a folder made again, a new source, a folder gone
// -------------------------------------------------------------------------------------------

/// A mount whose daemon follows `dir` with an hour's interval (configured before it starts).
fn mount_following(dir: &Path) -> Mounted {
    let source = dir.to_path_buf();
    Mounted::start(MountSpec::default().before_mount(move |db| {
        set_dir(db, &source, &["--interval", LONG_INTERVAL]);
    }))
}

/// Makes `dir/name` a symlink to a new file outside the folder holding `content`, and returns
/// that file: rewriting it changes what the folder holds without an event in the folder, so
/// only a rescan or a force-refresh can see it.
fn link_outside(ws: &Workspace, dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let outside = material_dir(ws).join(format!("outside-{name}"));
    fs::write(&outside, content).expect("outside file");
    std::os::unix::fs::symlink(&outside, dir.join(name)).expect("symlink");
    outside
}

/// The path of `sha1`'s cert.pem in TRUSTED_ROOTS of the mount.
fn root_in(m: &Mounted, sha1: &str) -> PathBuf {
    m.path(&format!("{ROOTS}/{sha1}/cert.pem"))
}

#[test]
fn the_daemon_watches_a_folder_removed_and_made_again() {
    let ws = Workspace::new();
    let dir = source_dir(&ws, "trust");
    let before = make_root(&ws, "before");
    let after = make_root(&ws, "after");
    let later = make_root(&ws, "later");
    put(&dir, "before.pem", &before.pem);
    let m = mount_following(&dir);
    m.wait_until("the daemon's first sync", WATCH_LIMIT, || {
        root_in(&m, &before.sha1).exists()
    });

    // A new folder at the same path: the old watch is on a dead inode, and the interval is an
    // hour, so only the daemon noticing the new folder can find its root.
    fs::remove_dir_all(&dir).expect("rm -rf the folder");
    fs::create_dir(&dir).expect("mkdir the folder again");
    put(&dir, "after.pem", &after.pem);
    m.wait_until(
        "folder removed and made again → its root in the mount, the old one gone",
        WATCH_LIMIT,
        || root_in(&m, &after.sha1).exists() && !root_in(&m, &before.sha1).exists(),
    );

    // And the new folder is watched: a file added to it shows as promptly as before.
    put(&dir, "later.pem", &later.pem);
    m.wait_until(
        "a file added to the new folder → its root in the mount",
        WATCH_LIMIT,
        || root_in(&m, &later.sha1).exists(),
    );
    let ctx = tail(&m.log(), 40);
    assert_holds(&m.db, ROOTS, [&after.sha1, &later.sha1], "at the end", &ctx);
    m.wait_until("last_result ok", WATCH_LIMIT, || {
        show(&m.db)["last_result"] == "ok"
    });
}

#[test]
fn a_new_source_interval_or_unset_takes_effect_in_the_running_daemon() {
    let ws = Workspace::new();
    let first = source_dir(&ws, "first");
    let second = source_dir(&ws, "second");
    let a = make_root(&ws, "a");
    let b = make_root(&ws, "b");
    let c1 = make_root(&ws, "c1");
    let c2 = make_root(&ws, "c2");
    put(&first, "a.pem", &a.pem);
    put(&second, "b.pem", &b.pem);
    let outside = link_outside(&ws, &second, "c.pem", &c1.pem);
    let m = mount_following(&first);
    m.wait_until("the daemon's first sync", WATCH_LIMIT, || {
        root_in(&m, &a.sha1).exists()
    });

    // Another folder, still an hour's interval: the daemon must not sleep out the old one.
    set_dir(&m.db, &second, &["--interval", LONG_INTERVAL]);
    m.wait_until(
        "trust-source set to another folder → its roots in the mount, the first's gone",
        WATCH_LIMIT,
        || {
            root_in(&m, &b.sha1).exists()
                && root_in(&m, &c1.sha1).exists()
                && !root_in(&m, &a.sha1).exists()
        },
    );

    // A one-second interval: `set` forgets the last run, so a `last_run` again means the
    // daemon has run with the new settings; after that only its rescan can find a change
    // behind the symlink (no event in the folder).
    set_dir(&m.db, &second, &["--interval", "1"]);
    m.wait_until(
        "trust-source set --interval 1 → the daemon runs with it",
        WATCH_LIMIT,
        || {
            let shown = show(&m.db);
            shown["interval"] == "1" && shown["last_run"] != "-"
        },
    );
    fs::write(&outside, &c2.pem).expect("rewrite the outside file");
    m.wait_until(
        "a change behind a symlink found by the new 1 s rescan",
        WATCH_LIMIT,
        || root_in(&m, &c2.sha1).exists() && !root_in(&m, &c1.sha1).exists(),
    );

    // Unset: the daemon says so at once, and the stores keep what they have.
    let run = vecs_on_db(&m.db, &["trust-source", "unset"]);
    assert_eq!(run.code, 0, "unset should succeed: {run:#?}");
    m.wait_until(
        "trust-source unset → the daemon's log says it has no source",
        WATCH_LIMIT,
        || m.log().contains("trust sync: no source any more"),
    );
    assert_holds(
        &m.db,
        ROOTS,
        [&b.sha1, &c2.sha1],
        "after unset",
        &tail(&m.log(), 40),
    );
}

#[test]
fn the_daemon_keeps_the_last_good_state_while_the_folder_is_gone_and_recovers() {
    let ws = Workspace::new();
    let dir = source_dir(&ws, "trust");
    let root = make_root(&ws, "root");
    let more = make_root(&ws, "more");
    let ca = make_root(&ws, "ca");
    let crl = make_crl(&ws, &ca);
    put(&dir, "root.pem", &root.pem);
    put(&dir, "ca.crl", &crl.pem);
    put(&dir, "bad.pem", b"not a certificate\n");
    let m = mount_following(&dir);
    let crl_pem = m.path(&format!("{CRLS}/{}/crl.pem", crl.sha1));
    m.wait_until("the daemon's first sync", WATCH_LIMIT, || {
        root_in(&m, &root.sha1).exists() && crl_pem.exists()
    });

    // The invalid file is skipped, and the daemon's log names it.
    let bad = path_str(&dir.join("bad.pem"));
    m.wait_until(
        "the daemon's log names the skipped file",
        WATCH_LIMIT,
        || m.log().contains(&format!("trust sync: skipped {bad}: ")),
    );
    let good = store_state(&m.db);
    let in_mount = |m: &Mounted| {
        (
            fs::read(root_in(m, &root.sha1)).ok(),
            fs::read(&crl_pem).ok(),
        )
    };
    let mount_good = in_mount(&m);
    assert!(
        mount_good.0.is_some() && mount_good.1.is_some(),
        "the root and the CRL read from the mount"
    );

    // The folder moved away: the run fails, the error is recorded, nothing else changes.
    let away = ws.path("trust.away");
    fs::rename(&dir, &away).expect("move the folder away");
    m.wait_until(
        "folder moved away → the daemon records the failure",
        WATCH_LIMIT,
        || show(&m.db)["last_result"] == "failed",
    );
    let shown = show(&m.db);
    assert!(
        shown["last_error"].contains(&path_str(&dir)),
        "last_error should name the folder: {shown:#?}"
    );
    assert_show(
        &shown,
        &[("synced_roots", "1"), ("synced_crls", "1")],
        "while the folder is gone",
    );
    let line = m.status_line("  trust sync: ");
    assert!(line.contains(" failed: "), "vecsfs status: {line:?}");
    println!("while the folder is gone: {line}");
    assert_eq!(
        store_state(&m.db),
        good,
        "the stores while the folder is gone"
    );
    assert_eq!(
        in_mount(&m),
        mount_good,
        "the mount while the folder is gone"
    );

    // Back, with one more root: the daemon recovers by itself.
    put(&away, "more.pem", &more.pem);
    fs::rename(&away, &dir).expect("move the folder back");
    m.wait_until(
        "folder back → the daemon syncs it by itself",
        WATCH_LIMIT,
        || root_in(&m, &more.sha1).exists(),
    );
    m.wait_until("last_result ok again", WATCH_LIMIT, || {
        show(&m.db)["last_result"] == "ok"
    });
    assert_eq!(in_mount(&m), mount_good, "the mount after recovery");
    assert_holds(
        &m.db,
        ROOTS,
        [&root.sha1, &more.sha1],
        "after recovery",
        &tail(&m.log(), 40),
    );
    assert_holds(&m.db, CRLS, [&crl.sha1], "after recovery", "");
}

// -------------------------------------------------------------------------------------------
// 10. the Debian CA bundle
// -------------------------------------------------------------------------------------------

const DEBIAN_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[test]
fn the_debian_ca_bundle_syncs_every_certificate() {
    let ws = Workspace::new();
    let dir = source_dir(&ws, "trust");
    let bundle = fs::read_to_string(DEBIAN_BUNDLE)
        .unwrap_or_else(|e| panic!("{DEBIAN_BUNDLE} (package ca-certificates) is needed: {e}"));
    put(&dir, "ca-certificates.crt", bundle.as_bytes());

    // The SHA-1 of every certificate of the bundle, by openssl.
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in bundle.lines() {
        if line == "-----BEGIN CERTIFICATE-----" {
            current = Some(String::new());
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
        if line == "-----END CERTIFICATE-----" {
            blocks.extend(current.take());
        }
    }
    let begins = bundle
        .lines()
        .filter(|l| *l == "-----BEGIN CERTIFICATE-----")
        .count();
    assert_eq!(blocks.len(), begins, "every BEGIN has its END");
    let material = material_dir(&ws);
    let want: BTreeSet<String> = blocks
        .iter()
        .map(|block| sha1_of_pem(&material, block.as_bytes()))
        .collect();
    println!(
        "{DEBIAN_BUNDLE}: {begins} certificates, {} distinct SHA-1s",
        want.len()
    );

    set_dir(&ws.db, &dir, &[]);
    let started = Instant::now();
    let report = refresh(&ws.db, &dir);
    println!(
        "force-refresh of the Debian bundle took {:?}",
        started.elapsed()
    );
    assert!(
        report.skipped.is_empty(),
        "no certificate of the bundle should be skipped:\n{}",
        report.text
    );
    assert_added(&report, ROOTS, &want);
    report.assert_counts(want.len(), 0, 0, 0);
    assert_holds(&ws.db, ROOTS, &want, "", "");
    assert_source(&ws.db, ROOTS, &want, true);

    let started = Instant::now();
    let again = refresh(&ws.db, &dir);
    println!(
        "second force-refresh (no change) took {:?}",
        started.elapsed()
    );
    again.assert_counts(0, 0, want.len(), 0);
}
