//! The trust sync from an LDAP source (issue 5, the contract in the trust sync spec), end to end
//! against a real OpenLDAP slapd laid out like vmdir (tests/support/slapd.rs): `vecs-cli
//! trust-source set --ldap`, `force-refresh`, `trust-source show`, and the `vecsfs` daemon
//! syncing on its interval into a real FUSE mount.
//!
//! Each test has its own slapd (own ports, own data) and its own database. Material is made at
//! test time: self-signed EC P-256 roots and CRLs (`openssl ca -gencrl`) with the `openssl`
//! command, and, for the hundreds and thousands, certificates made in-process with rcgen. The
//! expected aliases (lower-case hex SHA-1 of the DER) are computed by openssl (or the sha1
//! crate for the rcgen ones), not by vecsfs. Every test checks both what vecs-cli reports and
//! what the stores hold afterwards. Runs as root (CI does): only root may configure the source.

mod common;

#[path = "support/mount.rs"]
mod mount;

#[path = "support/slapd.rs"]
mod slapd;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::trust::{
    assert_set_ok, held_in, make_crl, make_root, set_of, show, Crl, Held, Report, Root, CRLS, ROOTS,
};
use common::{run_command, vecs_on_db, Run, Workspace};
use mount::{xattr, MountSpec, Mounted};
use slapd::{Slapd, SlapdOptions};

/// How long the daemon may take to show a change of the directory in the mount before the test
/// fails (the interval is 1 s; the measured delay is printed).
const DAEMON_LIMIT: Duration = Duration::from_secs(20);

// -------------------------------------------------------------------------------------------
// Material
// -------------------------------------------------------------------------------------------

/// Lower-case hex SHA-1 of bytes (for the rcgen certificates, too many for openssl runs).
fn sha1_hex(data: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    Sha1::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `count` distinct self-signed CA certificates made in-process (one key signs them all):
/// (PEM, alias).
fn bulk_roots(count: usize, label: &str) -> Vec<(Vec<u8>, String)> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SerialNumber};
    let key = KeyPair::generate().expect("rcgen key");
    (0..count)
        .map(|i| {
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
            params
                .distinguished_name
                .push(DnType::OrganizationName, "vecsfs trust sync tests");
            params
                .distinguished_name
                .push(DnType::CommonName, format!("{label} root {i}"));
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.serial_number = Some(SerialNumber::from(i as u64 + 1));
            let cert = params.self_signed(&key).expect("rcgen certificate");
            (cert.pem().into_bytes(), sha1_hex(cert.der()))
        })
        .collect()
}

/// PEM text without its whitespace: equal for the same DER however lines are wrapped.
fn squeeze(pem: &[u8]) -> String {
    String::from_utf8_lossy(pem)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

// -------------------------------------------------------------------------------------------
// A test's slapd and database
// -------------------------------------------------------------------------------------------

struct Fixture {
    ws: Workspace,
    ldap: Slapd,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with(SlapdOptions::default())
    }

    fn with(opts: SlapdOptions) -> Fixture {
        Fixture {
            ws: Workspace::new(),
            ldap: Slapd::start(opts),
        }
    }

    /// vecs-cli on this test's database (`--db`, as the contract writes it).
    fn cli(&self, args: &[&str]) -> Run {
        vecs_on_db(&self.ws.db, args)
    }

    /// `trust-source set` for `url` with the slapd's account, plus `extra` options.
    #[track_caller]
    fn configure_url(&self, url: &str, password_file: &Path, extra: &[&str]) -> Run {
        vecs_args(
            &self.ws.db,
            &set_ldap_args(&self.ldap, url, password_file, extra),
        )
    }

    /// `trust-source set` for the slapd's ldap:// URL; asserts it succeeds with one line.
    #[track_caller]
    fn configure(&self) {
        let run = self.configure_url(&self.ldap.url(), self.ldap.password_file(), &[]);
        assert_set_ok(&run);
    }

    fn refresh(&self) -> Run {
        self.cli(&["force-refresh"])
    }

    /// force-refresh, which must succeed: its parsed report.
    #[track_caller]
    fn refresh_ok(&self) -> Report {
        self.refresh_ok_for(&self.ldap.url())
    }

    /// force-refresh for a source other than `url()`.
    #[track_caller]
    fn refresh_ok_for(&self, source: &str) -> Report {
        let run = self.refresh();
        assert_eq!(run.code, 0, "force-refresh failed: {run:#?}");
        let report = Report::parse(&run.stdout);
        assert_eq!(report.source, source, "the summary names the source");
        report
    }

    /// `trust-source show` as (key, value) pairs, in its order.
    #[track_caller]
    fn show(&self) -> BTreeMap<String, String> {
        show(&self.ws.db)
    }

    /// What a store holds: alias → entry.
    #[track_caller]
    fn held(&self, store: &str) -> BTreeMap<String, Held> {
        held_in(&self.ws.db, store)
    }

    #[track_caller]
    fn aliases(&self, store: &str) -> BTreeSet<String> {
        self.held(store).into_keys().collect()
    }

    /// Everything vecs-cli lists of both stores, to compare before and after a failure.
    fn listing(&self) -> String {
        let roots = self.cli(&["entry", "list", "--store", ROOTS]);
        let crls = self.cli(&["entry", "list", "--store", CRLS]);
        format!(
            "{}{}{}{}",
            roots.stdout, roots.stderr, crls.stdout, crls.stderr
        )
    }

    /// Publishes `root` as CA object `name`, with `crls`.
    fn publish(&self, name: &str, root: &Root, crls: &[&Crl]) {
        let crls: Vec<&[u8]> = crls.iter().map(|c| c.pem.as_slice()).collect();
        self.ldap.publish_ca(name, &[&root.pem], &crls);
    }
}

/// The arguments of `trust-source set --ldap URL` with the domain and account of `ldap`, plus
/// `extra` options.
fn set_ldap_args(ldap: &Slapd, url: &str, password_file: &Path, extra: &[&str]) -> Vec<String> {
    let password_file = password_file.to_string_lossy();
    let mut args = vec![
        "trust-source",
        "set",
        "--ldap",
        url,
        "--domain",
        ldap.domain(),
        "--bind-dn",
        ldap.bind_dn(),
        "--password-file",
        &password_file,
    ];
    args.extend_from_slice(extra);
    args.into_iter().map(String::from).collect()
}

/// vecs-cli on `db` with owned arguments.
fn vecs_args(db: &Path, args: &[String]) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    vecs_on_db(db, &args)
}

/// Asserts a failed force-refresh: non-zero, the contract's two error lines naming the source.
#[track_caller]
fn assert_sync_failed(run: &Run, source: &str) {
    println!(
        "force-refresh failed as expected:\n{}",
        run.stderr.trim_end()
    );
    assert_ne!(run.code, 0, "force-refresh should fail: {run:#?}");
    let prefix = format!("Error: trust sync from {source} failed: ");
    assert!(
        run.stderr.lines().any(|l| l.starts_with(&prefix)),
        "stderr names the source with `{prefix}<reason>`: {run:#?}"
    );
    assert!(
        run.stderr.contains("vecs-cli failed. Error "),
        "stderr ends with the usual vecs-cli error line: {run:#?}"
    );
    assert!(
        !run.stdout.contains("Added [") && !run.stdout.contains("Removed ["),
        "a failed sync reports no change: {run:#?}"
    );
}

/// The reason a failed force-refresh gave, lower-cased.
fn failure_reason(run: &Run) -> String {
    run.stderr
        .lines()
        .find(|l| l.starts_with("Error: trust sync from "))
        .unwrap_or_default()
        .to_lowercase()
}

// -------------------------------------------------------------------------------------------
// The harness itself (needs no trust sync code)
// -------------------------------------------------------------------------------------------

/// The server is what the sync tests assume: vmdir's layout, the sync's account bound by the
/// size limit unless it pages, ldaps verified with the harness's CA, a restart keeps the data.
#[test]
fn the_harness_serves_vmdir_objects_with_a_size_limit_and_ldaps() {
    let mut ldap = Slapd::start(SlapdOptions::with_ldaps());
    let cas: Vec<(String, Vec<Vec<u8>>)> = (0..150)
        .map(|i| {
            (
                format!("ca-{i:03}"),
                vec![format!("value {i}").into_bytes()],
            )
        })
        .collect();
    ldap.publish_many(&cas);
    let filter = "(objectClass=vmwCertificationAuthority)";

    let (status, out) = ldap.search_as_user(ldap.base_dn(), filter, &[]);
    assert_eq!(
        status.code(),
        Some(4),
        "unpaged: size limit exceeded: {out}"
    );
    assert_eq!(out.matches("dn: ").count(), 100, "unpaged: cut at 100");

    let (status, out) = ldap.search_as_user(ldap.base_dn(), filter, &["-E", "pr=1000/noprompt"]);
    assert!(status.success(), "paged: {out}");
    assert_eq!(out.matches("dn: ").count(), 150, "paged: everything");

    ldap.publish_ca("edit", &[b"one", b"two"], &[b"crl"]);
    ldap.set_certs("edit", &[b"three"]);
    ldap.set_crls("edit", &[]);
    ldap.remove_ca("edit");

    // ldaps, verified with the harness's CA.
    let url = ldap.ldaps_url().expect("ldaps url");
    let (status, out) = run_command(
        Command::new("ldapsearch")
            .args(["-x", "-LLL", "-o", "nettimeout=5", "-H", &url])
            .args(["-b", "", "-s", "base", "(objectClass=*)", "namingContexts"])
            .env("LDAPTLS_CACERT", ldap.ca_file())
            .env("LDAPTLS_REQCERT", "demand"),
        Duration::from_secs(20),
    );
    assert!(status.success(), "ldaps with the CA: {out}");
    let (status, _) = run_command(
        Command::new("ldapsearch")
            .args(["-x", "-LLL", "-o", "nettimeout=5", "-H", &url])
            .args(["-b", "", "-s", "base", "(objectClass=*)", "namingContexts"])
            .env("LDAPTLS_CACERT", "/etc/ssl/certs/ca-certificates.crt")
            .env("LDAPTLS_REQCERT", "demand"),
        Duration::from_secs(20),
    );
    assert!(!status.success(), "ldaps without the CA must fail");

    ldap.stop();
    let (status, _) = ldap.search_as_user(ldap.base_dn(), filter, &[]);
    assert!(!status.success(), "a stopped server does not answer");
    ldap.start_again();
    let (status, out) = ldap.search_as_user(ldap.base_dn(), filter, &["-E", "pr=1000/noprompt"]);
    assert!(status.success(), "after the restart: {out}");
    assert_eq!(
        out.matches("dn: ").count(),
        150,
        "the data survived the restart"
    );
}

// -------------------------------------------------------------------------------------------
// Sync runs
// -------------------------------------------------------------------------------------------

/// Each malformed `trust-source set` is refused with its reason, and the source configured
/// before it (and its status) is kept. Also `--base-dn` given instead of `--domain`.
#[test]
fn bad_source_settings_are_refused_and_the_previous_source_kept() {
    let ws = Workspace::new();
    let password = ws.path("bind.pw");
    fs::write(&password, b"secret\n").expect("password file");
    let password = password.to_string_lossy().into_owned();
    let ca_file = ws.path("ca.pem");
    fs::write(&ca_file, b"").expect("ca file");
    let ca_file = ca_file.to_string_lossy().into_owned();
    let good = [
        "trust-source",
        "set",
        "--ldap",
        "ldaps://127.0.0.1:6361",
        "--base-dn",
        "cn=Configuration,dc=example,dc=test",
        "--bind-dn",
        "cn=sync,dc=example,dc=test",
        "--password-file",
        &password,
        "--ca-file",
        &ca_file,
    ];
    assert_set_ok(&vecs_on_db(&ws.db, &good));
    let before = show(&ws.db);
    assert_eq!(
        before.get("base_dn").map(String::as_str),
        Some("cn=Configuration,dc=example,dc=test"),
        "{before:?}"
    );
    let with = |replace: &[(&str, &str)], extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = good.iter().map(|a| a.to_string()).collect();
        for (option, value) in replace {
            match args.iter().position(|a| a == option) {
                Some(i) if value.is_empty() => {
                    args.drain(i..i + 2);
                }
                Some(i) => args[i + 1] = value.to_string(),
                None => args.extend([option.to_string(), value.to_string()]),
            }
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "--domain and --base-dn",
            with(&[("--domain", "example.test")], &[]),
            "give --domain or --base-dn, not both",
        ),
        (
            "neither --domain nor --base-dn",
            with(&[("--base-dn", "")], &[]),
            "give --domain NAME or --base-dn DN",
        ),
        (
            "no --password-file",
            with(&[("--password-file", "")], &[]),
            "the password is never an argument",
        ),
        (
            "a missing password file",
            with(&[("--password-file", "/nonexistent/bind.pw")], &[]),
            "/nonexistent/bind.pw",
        ),
        (
            "an http:// URL",
            with(&[("--ldap", "http://127.0.0.1")], &[]),
            "is not an ldap:// or ldaps:// URL",
        ),
        (
            "a URL with a path",
            with(&[("--ldap", "ldap://127.0.0.1/dc=x")], &[]),
            "must be ldap[s]://HOST[:PORT]",
        ),
        (
            "--ca-file with ldap://",
            with(&[("--ldap", "ldap://127.0.0.1:3891")], &[]),
            "--ca-file is for ldaps:// URLs",
        ),
    ];
    for (what, args, reason) in cases {
        let run = vecs_args(&ws.db, &args);
        assert_ne!(run.code, 0, "{what}: accepted: {run:#?}");
        assert!(
            run.stderr.contains(reason),
            "{what}: expected {reason:?} in: {run:#?}"
        );
        assert_eq!(
            show(&ws.db),
            before,
            "{what}: the configured source changed"
        );
    }
}

#[test]
fn the_first_sync_adds_every_root_and_crl_and_a_second_changes_nothing() {
    let fx = Fixture::new();
    let roots: Vec<Root> = (1..=4)
        .map(|i| make_root(&fx.ws, &format!("initial-{i}")))
        .collect();
    let crl1 = make_crl(&fx.ws, &roots[0]);
    let crl3 = make_crl(&fx.ws, &roots[2]);
    fx.publish("initial-1", &roots[0], &[&crl1]);
    fx.publish("initial-2", &roots[1], &[]);
    fx.publish("initial-3", &roots[2], &[&crl3]);
    fx.publish("initial-4", &roots[3], &[]);
    fx.configure();

    let report = fx.refresh_ok();
    let root_aliases: BTreeSet<String> = roots.iter().map(|r| r.sha1.clone()).collect();
    let crl_aliases = set_of([&crl1.sha1, &crl3.sha1]);
    assert_eq!(report.added_to(ROOTS), root_aliases, "{report:#?}");
    assert_eq!(report.added_to(CRLS), crl_aliases, "{report:#?}");
    report.assert_counts(6, 0, 0, 0);

    let held = fx.held(ROOTS);
    assert_eq!(held.keys().cloned().collect::<BTreeSet<_>>(), root_aliases);
    for root in &roots {
        let entry = &held[&root.sha1];
        assert!(entry.from_sync, "{} is a sync entry", root.sha1);
        assert_eq!(squeeze(entry.pem.as_bytes()), squeeze(&root.pem));
    }
    let held = fx.held(CRLS);
    assert_eq!(held.keys().cloned().collect::<BTreeSet<_>>(), crl_aliases);
    assert!(held.values().all(|e| e.from_sync), "{held:#?}");
    assert_eq!(squeeze(held[&crl1.sha1].pem.as_bytes()), squeeze(&crl1.pem));

    // vecs-cli lists them too.
    let listed = fx.cli(&["entry", "list", "--store", ROOTS, "--aliases"]);
    let listed = listed.ok();
    assert!(
        listed.starts_with("Number of entries in store :\t4\n"),
        "{listed}"
    );
    for alias in &root_aliases {
        assert!(
            listed.lines().any(|l| l == alias),
            "{alias} listed: {listed}"
        );
    }

    let show = fx.show();
    assert_eq!(show["source"], fx.ldap.url());
    assert_eq!(show["base_dn"], fx.ldap.base_dn());
    assert_eq!(show["bind_dn"], fx.ldap.bind_dn());
    assert_eq!(
        show["password_file"],
        fx.ldap.password_file().to_string_lossy()
    );
    assert_eq!(show["ca_file"], "-");
    assert_eq!(show["interval"], "60");
    assert_eq!(show["last_result"], "ok", "{show:#?}");
    assert!(show["last_run"].ends_with(" UTC"), "{show:#?}");
    assert_ne!(show["last_success"], "-", "{show:#?}");
    assert_eq!(show["last_error"], "-", "{show:#?}");
    assert_eq!(
        [&show["added"], &show["removed"], &show["skipped"]],
        ["6", "0", "0"],
        "{show:#?}"
    );
    assert_eq!(
        [&show["synced_roots"], &show["synced_crls"]],
        ["4", "2"],
        "{show:#?}"
    );

    let again = fx.refresh_ok();
    assert!(again.no_changes(), "{again:#?}");
    again.assert_counts(0, 0, 6, 0);
    assert_eq!(fx.aliases(ROOTS), root_aliases);
    assert_eq!(fx.aliases(CRLS), crl_aliases);
    let show = fx.show();
    assert_eq!(
        [
            &show["added"],
            &show["removed"],
            &show["synced_roots"],
            &show["synced_crls"]
        ],
        ["0", "0", "4", "2"],
        "{show:#?}"
    );
}

/// Every value of both attributes counts; a value is PEM (one or more blocks) or DER.
#[test]
fn every_value_is_used_whether_pem_blocks_or_der() {
    let fx = Fixture::new();
    let r: Vec<Root> = (1..=4)
        .map(|i| make_root(&fx.ws, &format!("multi-{i}")))
        .collect();
    let crl_pem = make_crl(&fx.ws, &r[0]);
    let crl_der = make_crl(&fx.ws, &r[1]);
    let two_blocks = [r[2].pem.as_slice(), r[3].pem.as_slice()].concat();
    fx.ldap.publish_ca(
        "multi",
        &[&r[0].pem, &r[1].der, &two_blocks],
        &[&crl_pem.pem, &crl_der.der],
    );
    fx.configure();

    let report = fx.refresh_ok();
    let roots: BTreeSet<String> = r.iter().map(|r| r.sha1.clone()).collect();
    let crls = set_of([&crl_pem.sha1, &crl_der.sha1]);
    assert_eq!(report.added_to(ROOTS), roots, "{report:#?}");
    assert_eq!(report.added_to(CRLS), crls, "{report:#?}");
    report.assert_counts(6, 0, 0, 0);
    assert_eq!(fx.aliases(ROOTS), roots);
    assert_eq!(fx.aliases(CRLS), crls);
    let held = fx.held(ROOTS);
    assert_eq!(squeeze(held[&r[1].sha1].pem.as_bytes()), squeeze(&r[1].pem));
}

#[test]
fn a_newly_published_root_is_added_by_the_next_sync() {
    let fx = Fixture::new();
    let a = make_root(&fx.ws, "add-a");
    let b = make_root(&fx.ws, "add-b");
    fx.publish("add-a", &a, &[]);
    fx.configure();
    fx.refresh_ok().assert_counts(1, 0, 0, 0);

    fx.publish("add-b", &b, &[]);
    let report = fx.refresh_ok();
    assert_eq!(report.added_to(ROOTS), set_of([&b.sha1]), "{report:#?}");
    assert!(report.added_to(CRLS).is_empty() && report.removed_nothing());
    report.assert_counts(1, 0, 1, 0);
    assert_eq!(fx.aliases(ROOTS), set_of([&a.sha1, &b.sha1]));
    assert!(fx.held(ROOTS)[&b.sha1].from_sync);
    assert!(fx.aliases(CRLS).is_empty());
}

#[test]
fn an_unpublished_ca_loses_its_root_and_its_crl() {
    let fx = Fixture::new();
    let a = make_root(&fx.ws, "gone-a");
    let b = make_root(&fx.ws, "stay-b");
    let crl_a = make_crl(&fx.ws, &a);
    let crl_b = make_crl(&fx.ws, &b);
    fx.publish("gone-a", &a, &[&crl_a]);
    fx.publish("stay-b", &b, &[&crl_b]);
    fx.configure();
    fx.refresh_ok().assert_counts(4, 0, 0, 0);

    fx.ldap.remove_ca("gone-a");
    let report = fx.refresh_ok();
    assert!(report.added_nothing(), "{report:#?}");
    assert_eq!(report.removed_from(ROOTS), set_of([&a.sha1]), "{report:#?}");
    assert_eq!(
        report.removed_from(CRLS),
        set_of([&crl_a.sha1]),
        "{report:#?}"
    );
    report.assert_counts(0, 2, 2, 0);
    assert_eq!(fx.aliases(ROOTS), set_of([&b.sha1]));
    assert_eq!(fx.aliases(CRLS), set_of([&crl_b.sha1]));
    let show = fx.show();
    assert_eq!(
        [
            &show["removed"],
            &show["synced_roots"],
            &show["synced_crls"]
        ],
        ["2", "1", "1"],
        "{show:#?}"
    );
}

#[test]
fn a_new_crl_replaces_the_old_one() {
    let fx = Fixture::new();
    let a = make_root(&fx.ws, "crl-a");
    let old = make_crl(&fx.ws, &a);
    fx.publish("crl-a", &a, &[&old]);
    fx.configure();
    fx.refresh_ok().assert_counts(2, 0, 0, 0);

    let new = make_crl(&fx.ws, &a);
    assert_ne!(old.sha1, new.sha1, "a new CRL version has a new alias");
    fx.ldap.set_crls("crl-a", &[&new.pem]);
    let report = fx.refresh_ok();
    assert_eq!(report.added_to(CRLS), set_of([&new.sha1]), "{report:#?}");
    assert_eq!(
        report.removed_from(CRLS),
        set_of([&old.sha1]),
        "{report:#?}"
    );
    assert!(report.added_to(ROOTS).is_empty() && report.removed_from(ROOTS).is_empty());
    report.assert_counts(1, 1, 1, 0);
    assert_eq!(fx.aliases(CRLS), set_of([&new.sha1]));
    assert_eq!(fx.aliases(ROOTS), set_of([&a.sha1]));
    assert_eq!(
        squeeze(fx.held(CRLS)[&new.sha1].pem.as_bytes()),
        squeeze(&new.pem)
    );
}

#[test]
fn hand_added_roots_are_never_pruned() {
    let fx = Fixture::new();
    let both = make_root(&fx.ws, "hand-and-ldap");
    let hand = make_root(&fx.ws, "hand-only");
    let synced = make_root(&fx.ws, "ldap-only");
    for root in [&both, &hand] {
        fx.cli(&[
            "entry",
            "create",
            "--store",
            ROOTS,
            "--cert",
            &root.cert.to_string_lossy(),
        ])
        .ok();
    }
    assert_eq!(
        fx.aliases(ROOTS),
        set_of([&both.sha1, &hand.sha1]),
        "entry create: SHA-1 aliases"
    );
    fx.publish("hand-and-ldap", &both, &[]);
    fx.publish("ldap-only", &synced, &[]);
    fx.configure();

    let report = fx.refresh_ok();
    assert_eq!(
        report.added_to(ROOTS),
        set_of([&synced.sha1]),
        "a root already there by hand is not added again: {report:#?}"
    );
    assert!(report.removed_nothing(), "{report:#?}");
    let held = fx.held(ROOTS);
    assert_eq!(
        held.keys().cloned().collect::<BTreeSet<_>>(),
        set_of([&both.sha1, &hand.sha1, &synced.sha1])
    );
    assert!(
        !held[&both.sha1].from_sync,
        "a hand-added root stays hand-added"
    );
    assert!(!held[&hand.sha1].from_sync);
    assert!(held[&synced.sha1].from_sync);

    fx.ldap.remove_ca("hand-and-ldap");
    fx.ldap.remove_ca("ldap-only");
    let report = fx.refresh_ok();
    assert!(report.added_nothing(), "{report:#?}");
    assert_eq!(
        report.removed_from(ROOTS),
        set_of([&synced.sha1]),
        "only the sync's own root goes: {report:#?}"
    );
    assert_eq!(report.counts.removed, 1, "{report:#?}");
    let held = fx.held(ROOTS);
    assert_eq!(
        held.keys().cloned().collect::<BTreeSet<_>>(),
        set_of([&both.sha1, &hand.sha1])
    );
    assert!(held.values().all(|e| !e.from_sync), "{held:#?}");
    assert_eq!(fx.show()["synced_roots"], "0");
}

#[test]
fn invalid_objects_are_skipped_and_the_rest_is_synced() {
    let fx = Fixture::new();
    let good = make_root(&fx.ws, "valid");
    let crl = make_crl(&fx.ws, &good);
    fx.publish("valid", &good, &[&crl]);
    fx.ldap
        .publish_ca("garbage", &[b"this is not a certificate"], &[]);
    let key_pem = fs::read(&good.key).expect("key");
    fx.ldap.publish_ca("a-key", &[&key_pem], &[]);
    fx.ldap.add_raw_ldif(&format!(
        "dn: {}\nobjectClass: vmwCertificationAuthority\ncn: no-certificate\n\n",
        fx.ldap.ca_dn("no-certificate")
    ));
    fx.configure();

    let run = fx.refresh();
    assert_eq!(run.code, 0, "invalid objects do not fail the run: {run:#?}");
    println!("{}", run.stdout.trim_end());
    let report = Report::parse(&run.stdout);
    assert_eq!(report.added_to(ROOTS), set_of([&good.sha1]), "{report:#?}");
    assert_eq!(report.added_to(CRLS), set_of([&crl.sha1]), "{report:#?}");
    report.assert_counts(2, 0, 0, 3);
    let skipped: BTreeSet<String> = report
        .skipped
        .iter()
        .map(|(origin, _)| origin.to_lowercase())
        .collect();
    let expected: BTreeSet<String> = ["garbage", "a-key", "no-certificate"]
        .iter()
        .map(|n| fx.ldap.ca_dn(n).to_lowercase())
        .collect();
    assert_eq!(
        skipped, expected,
        "each skipped object is named by its DN: {report:#?}"
    );
    assert!(
        report
            .skipped
            .iter()
            .all(|(_, reason)| !reason.trim().is_empty()),
        "with a reason: {report:#?}"
    );
    assert_eq!(fx.aliases(ROOTS), set_of([&good.sha1]));
    assert_eq!(fx.aliases(CRLS), set_of([&crl.sha1]));
    let show = fx.show();
    assert_eq!(
        [&show["last_result"], &show["added"], &show["skipped"]],
        ["ok", "2", "3"],
        "{show:#?}"
    );
}

/// The server stops an unpaged search at 100 entries: the sync must page to see all 300.
#[test]
fn more_cas_than_the_server_size_limit_are_all_synced() {
    let fx = Fixture::new();
    let roots = bulk_roots(300, "paged");
    let cas: Vec<(String, Vec<Vec<u8>>)> = roots
        .iter()
        .enumerate()
        .map(|(i, (pem, _))| (format!("paged-{i:03}"), vec![pem.clone()]))
        .collect();
    fx.ldap.publish_many(&cas);
    // The premise: without paging, this account sees only 100.
    let (status, _) = fx.ldap.search_as_user(
        fx.ldap.base_dn(),
        "(objectClass=vmwCertificationAuthority)",
        &[],
    );
    assert_eq!(
        status.code(),
        Some(4),
        "unpaged searches hit the size limit"
    );
    fx.configure();

    let report = fx.refresh_ok();
    let expected: BTreeSet<String> = roots.iter().map(|(_, a)| a.clone()).collect();
    report.assert_counts(300, 0, 0, 0);
    assert_eq!(report.added_to(ROOTS), expected);
    assert_eq!(fx.aliases(ROOTS), expected);
    assert_eq!(fx.show()["synced_roots"], "300");
}

#[test]
fn an_unreachable_server_fails_the_sync_and_keeps_the_last_good_state() {
    let mut fx = Fixture::new();
    let a = make_root(&fx.ws, "reach-a");
    let crl = make_crl(&fx.ws, &a);
    fx.publish("reach-a", &a, &[&crl]);
    fx.configure();
    fx.refresh_ok();
    let before = fx.listing();
    let held_before = fx.aliases(ROOTS);
    let success = fx.show()["last_success"].clone();

    fx.ldap.stop();
    let run = fx.refresh();
    assert_sync_failed(&run, &fx.ldap.url());
    assert_eq!(
        run.code, 81,
        "LDAP_SERVER_DOWN, as the README says: {run:#?}"
    );
    assert_eq!(fx.listing(), before, "a failed sync changes nothing");
    assert_eq!(fx.aliases(ROOTS), held_before);
    let show = fx.show();
    assert_eq!(show["last_result"], "failed", "{show:#?}");
    assert_ne!(show["last_error"], "-", "{show:#?}");
    assert!(!show["last_error"].contains('\n'));
    assert_eq!(
        show["last_success"], success,
        "the last success stays: {show:#?}"
    );
    assert_eq!(
        [&show["synced_roots"], &show["synced_crls"]],
        ["1", "1"],
        "{show:#?}"
    );

    fx.ldap.start_again();
    let b = make_root(&fx.ws, "reach-b");
    fx.publish("reach-b", &b, &[]);
    let report = fx.refresh_ok();
    assert_eq!(report.added_to(ROOTS), set_of([&b.sha1]), "{report:#?}");
    assert!(report.removed_nothing(), "{report:#?}");
    assert_eq!(fx.aliases(ROOTS), set_of([&a.sha1, &b.sha1]));
    assert_eq!(fx.aliases(CRLS), set_of([&crl.sha1]));
    assert_eq!(fx.show()["last_result"], "ok");
}

/// The password is read from its file at every sync: a wrong one is refused by the server.
#[test]
fn a_refused_bind_fails_the_sync_and_keeps_the_state() {
    let fx = Fixture::new();
    let password = fs::read_to_string(fx.ldap.password_file()).expect("password");
    let file = fx.ws.path("bind-password");
    fs::write(&file, &password).expect("password copy");
    let a = make_root(&fx.ws, "bind-a");
    fx.publish("bind-a", &a, &[]);
    assert_set_ok(&fx.configure_url(&fx.ldap.url(), &file, &[]));
    fx.refresh_ok();
    let before = fx.listing();

    fs::write(&file, "not the password\n").expect("wrong password");
    let b = make_root(&fx.ws, "bind-b");
    fx.publish("bind-b", &b, &[]);
    let run = fx.refresh();
    assert_sync_failed(&run, &fx.ldap.url());
    assert_eq!(
        run.code, 49,
        "invalid credentials, as the README says: {run:#?}"
    );
    assert_eq!(fx.listing(), before, "a refused bind changes nothing");
    let show = fx.show();
    assert_eq!(show["last_result"], "failed", "{show:#?}");
    assert_ne!(show["last_error"], "-", "{show:#?}");
    assert_eq!(show["synced_roots"], "1", "{show:#?}");

    fs::write(&file, &password).expect("right password");
    let report = fx.refresh_ok();
    assert_eq!(report.added_to(ROOTS), set_of([&b.sha1]), "{report:#?}");
    assert_eq!(fx.aliases(ROOTS), set_of([&a.sha1, &b.sha1]));
}

#[test]
fn ldaps_with_the_servers_ca_file_syncs() {
    let fx = Fixture::with(SlapdOptions::with_ldaps());
    let a = make_root(&fx.ws, "tls-a");
    let crl = make_crl(&fx.ws, &a);
    fx.publish("tls-a", &a, &[&crl]);
    let url = fx.ldap.ldaps_url().expect("ldaps");
    let ca = fx.ldap.ca_file().to_string_lossy().into_owned();
    assert_set_ok(&fx.configure_url(&url, fx.ldap.password_file(), &["--ca-file", &ca]));

    let run = fx.refresh();
    assert_eq!(run.code, 0, "ldaps with --ca-file: {run:#?}");
    let report = Report::parse(&run.stdout);
    assert_eq!(report.source, url);
    assert_eq!(report.added_to(ROOTS), set_of([&a.sha1]), "{report:#?}");
    assert_eq!(report.added_to(CRLS), set_of([&crl.sha1]), "{report:#?}");
    assert_eq!(fx.aliases(ROOTS), set_of([&a.sha1]));
    let show = fx.show();
    assert_eq!(
        [&show["source"], &show["ca_file"]],
        [&url, &ca],
        "{show:#?}"
    );
    assert_eq!(show["last_result"], "ok");
}

/// Without the server's CA (the system roots, or another CA) the TLS handshake fails.
#[test]
fn ldaps_without_the_servers_ca_fails_and_keeps_the_state() {
    let fx = Fixture::with(SlapdOptions::with_ldaps());
    let a = make_root(&fx.ws, "notls-a");
    fx.publish("notls-a", &a, &[]);
    let url = fx.ldap.ldaps_url().expect("ldaps");
    let ca = fx.ldap.ca_file().to_string_lossy().into_owned();
    assert_set_ok(&fx.configure_url(&url, fx.ldap.password_file(), &["--ca-file", &ca]));
    fx.refresh_ok_for(&url);
    let before = fx.listing();
    let b = make_root(&fx.ws, "notls-b");
    fx.publish("notls-b", &b, &[]);

    let other_ca = make_root(&fx.ws, "some-other-ca");
    let other = other_ca.cert.to_string_lossy().into_owned();
    for (what, extra) in [
        ("the system roots", vec![]),
        ("another CA", vec!["--ca-file", other.as_str()]),
    ] {
        assert_set_ok(&fx.configure_url(&url, fx.ldap.password_file(), &extra));
        let run = fx.refresh();
        assert_sync_failed(&run, &url);
        // As OpenLDAP's clients say it: "Can't contact LDAP server".
        assert_eq!(
            run.code, 81,
            "with {what}: an untrusted server, as the README says: {run:#?}"
        );
        let reason = failure_reason(&run);
        assert!(
            ["certificate", "tls", "issuer", "handshake"]
                .iter()
                .any(|w| reason.contains(w)),
            "with {what}: a TLS/certificate error: {run:#?}"
        );
        assert_eq!(fx.listing(), before, "with {what}: the state stays");
        let show = fx.show();
        assert_eq!(show["last_result"], "failed", "with {what}: {show:#?}");
        assert_ne!(show["last_error"], "-", "with {what}: {show:#?}");
    }

    // A CA file that has gone since it was set: 91, and the state stays.
    let gone = fx.ws.path("gone-ca.pem");
    fs::copy(fx.ldap.ca_file(), &gone).expect("copy the CA file");
    let gone_arg = gone.to_string_lossy().into_owned();
    assert_set_ok(&fx.configure_url(&url, fx.ldap.password_file(), &["--ca-file", &gone_arg]));
    fs::remove_file(&gone).expect("remove the CA file");
    let run = fx.refresh();
    assert_sync_failed(&run, &url);
    assert_eq!(run.code, 91, "a CA file that cannot be read: {run:#?}");
    assert!(failure_reason(&run).contains("gone-ca.pem"), "{run:#?}");
    assert_eq!(fx.listing(), before, "without its CA file: the state stays");
    assert_eq!(fx.aliases(ROOTS), set_of([&a.sha1]));
}

// -------------------------------------------------------------------------------------------
// The daemon
// -------------------------------------------------------------------------------------------

/// A mount whose daemon syncs from `ldap` every second (configured before it starts).
fn mount_syncing_every_second(ldap: &Slapd) -> Mounted {
    let args = set_ldap_args(
        ldap,
        &ldap.url(),
        ldap.password_file(),
        &["--interval", "1"],
    );
    Mounted::start(
        MountSpec::default().before_mount(move |db| assert_set_ok(&vecs_args(db, &args))),
    )
}

#[test]
fn the_daemon_syncs_on_its_interval_and_the_mount_follows() {
    let ldap = Slapd::start(SlapdOptions::default());
    let ws = Workspace::new();
    let first = make_root(&ws, "daemon-first");
    ldap.publish_ca("daemon-first", &[&first.pem], &[]);
    let m = mount_syncing_every_second(&ldap);

    // The sync at start.
    let first_pem = m.path(&format!("{ROOTS}/{}/cert.pem", first.sha1));
    m.wait_until(
        "daemon: root present at start visible (after the mount)",
        DAEMON_LIMIT,
        || first_pem.exists(),
    );

    // A root published while the daemon runs.
    let second = make_root(&ws, "daemon-second");
    let dir = m.path(&format!("{ROOTS}/{}", second.sha1));
    let pem = dir.join("cert.pem");
    ldap.publish_ca("daemon-second", &[&second.pem], &[]);
    m.wait_until(
        "daemon: published root visible in the mount with its certificate",
        DAEMON_LIMIT,
        || fs::read(&pem).is_ok_and(|c| squeeze(&c) == squeeze(&second.pem)),
    );
    assert_eq!(
        xattr(&dir, "user.vecs.source").ok().flatten().as_deref(),
        Some("sync")
    );
    assert!(held_in(&m.db, ROOTS)[&second.sha1].from_sync);

    ldap.remove_ca("daemon-second");
    m.wait_until(
        "daemon: unpublished root gone from the mount",
        DAEMON_LIMIT,
        || !dir.exists(),
    );
    assert!(first_pem.exists(), "the other root stays");

    let shown = show(&m.db);
    assert_eq!(shown["last_result"], "ok", "{shown:#?}");
    assert_eq!(shown["interval"], "1", "{shown:#?}");
    assert_eq!(shown["synced_roots"], "1", "{shown:#?}");
    let line = trust_sync_status_line(&m);
    assert!(
        line.starts_with(&format!("  trust sync: {}, last run ", ldap.url()))
            && line.ends_with(" ok"),
        "vecsfs status: {line:?}"
    );
}

/// The `  trust sync: ...` line of `vecsfs status MOUNTPOINT`.
#[track_caller]
fn trust_sync_status_line(m: &Mounted) -> String {
    m.status_line("  trust sync: ")
}

/// A failing source: the daemon keeps the last good state, records the error, and recovers by
/// itself (retry backoff capped at the 1 s interval) once the server is back.
#[test]
fn the_daemon_keeps_the_last_good_state_while_the_server_is_down() {
    let mut ldap = Slapd::start(SlapdOptions::default());
    let ws = Workspace::new();
    let first = make_root(&ws, "down-first");
    let crl = make_crl(&ws, &first);
    ldap.publish_ca("down-first", &[&first.pem], &[&crl.pem]);
    let m = mount_syncing_every_second(&ldap);
    let root_pem = m.path(&format!("{ROOTS}/{}/cert.pem", first.sha1));
    let crl_pem = m.path(&format!("{CRLS}/{}/crl.pem", crl.sha1));
    m.wait_until("daemon: the first sync shows", DAEMON_LIMIT, || {
        root_pem.exists() && crl_pem.exists()
    });

    ldap.stop();
    m.wait_until(
        "daemon: server down, failure recorded",
        DAEMON_LIMIT,
        || show(&m.db)["last_result"] == "failed",
    );
    let shown = show(&m.db);
    assert_ne!(shown["last_error"], "-", "{shown:#?}");
    assert_eq!(
        [&shown["synced_roots"], &shown["synced_crls"]],
        ["1", "1"],
        "{shown:#?}"
    );
    let line = trust_sync_status_line(&m);
    assert!(line.contains(" failed: "), "vecsfs status: {line:?}");
    assert!(
        root_pem.exists() && crl_pem.exists(),
        "the last good state stays in the mount"
    );
    assert_eq!(
        held_in(&m.db, ROOTS)
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        set_of([&first.sha1])
    );

    ldap.start_again();
    let second = make_root(&ws, "down-second");
    ldap.publish_ca("down-second", &[&second.pem], &[]);
    let second_pem = m.path(&format!("{ROOTS}/{}/cert.pem", second.sha1));
    m.wait_until(
        "daemon: server back, new root visible",
        DAEMON_LIMIT,
        || second_pem.exists(),
    );
    assert!(root_pem.exists() && crl_pem.exists());
    m.wait_until("daemon: last_result ok again", DAEMON_LIMIT, || {
        show(&m.db)["last_result"] == "ok"
    });
}

// -------------------------------------------------------------------------------------------
// Scale
// -------------------------------------------------------------------------------------------

/// 5,000 CA objects (VECS stops at 256): all synced in one run. A benchmark report, not a
/// timed assertion: only correctness is asserted; the times are printed.
#[test]
fn five_thousand_roots_are_synced() {
    const N: usize = 5000;
    let fx = Fixture::new();
    let made = Instant::now();
    let roots = bulk_roots(N, "bulk");
    let cas: Vec<(String, Vec<Vec<u8>>)> = roots
        .iter()
        .enumerate()
        .map(|(i, (pem, _))| (format!("bulk-{i:04}"), vec![pem.clone()]))
        .collect();
    let made = made.elapsed();
    let published = Instant::now();
    fx.ldap.publish_many(&cas);
    let published = published.elapsed();
    fx.configure();

    let start = Instant::now();
    let run = fx.refresh();
    let initial = start.elapsed();
    assert_eq!(run.code, 0, "force-refresh failed: {}", run.stderr);
    let report = Report::parse(&run.stdout);
    report.assert_counts(N, 0, 0, 0);
    let expected: BTreeSet<String> = roots.iter().map(|(_, a)| a.clone()).collect();
    assert_eq!(expected.len(), N, "distinct certificates");
    assert_eq!(report.added_to(ROOTS), expected);
    let held = fx.held(ROOTS);
    assert_eq!(held.len(), N);
    assert!(
        held.keys().eq(expected.iter()),
        "the aliases held are the SHA-1s"
    );
    assert!(held.values().all(|e| e.from_sync));

    let start = Instant::now();
    let again = fx.refresh_ok();
    let no_change = start.elapsed();
    again.assert_counts(0, 0, N, 0);
    assert_eq!(fx.aliases(ROOTS).len(), N);
    println!(
        "trust sync of {N} roots: initial {initial:?}, no-change {no_change:?} \
         (made in {made:?}, published with one ldapadd in {published:?})"
    );
}
