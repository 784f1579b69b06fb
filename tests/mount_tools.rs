//! Real shell tools on a real mount (../shared/spec/filesystem.md): every test drives programs
//! a user would run (cat, ls, cp, mv, rm, tar, rsync, sed, tee, dd, install, python) and checks
//! both what the user sees and what the store holds, as the real `vecs-cli` reports it from the
//! same database. Runs as root (CI does).

#[path = "support/mount.rs"]
mod mount;

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use common::{gencrl, identity, openssl, run_command, Identity, KeyKind, Workspace};
use mount::{xattr, MountSpec, Mounted};

/// The longest any one tool may run.
const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Running tools

/// A command with string arguments (every path in these tests is plain ASCII).
fn tool(program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args);
    cmd
}

/// `sh -c SCRIPT sh ARGS...`: the script sees the arguments as "$1", "$2", ...
fn sh(script: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).arg("sh").args(args);
    cmd
}

fn run(cmd: &mut Command) -> (ExitStatus, String) {
    run_command(cmd, TOOL_TIMEOUT)
}

/// What the daemon logged, without the per-request trace of fuser.
fn log_tail(m: &Mounted) -> String {
    let log = m.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains("fuser::request") && !l.contains("fuser::session"))
        .collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// Runs a tool that must succeed; returns its output.
#[track_caller]
fn ok(m: &Mounted, cmd: &mut Command) -> String {
    let (status, out) = run(cmd);
    assert!(
        status.success(),
        "{cmd:?} failed ({status}):\n{out}\ndaemon log:\n{}",
        log_tail(m)
    );
    out
}

/// Runs a tool that must fail with `message` (the strerror of the errno it got).
#[track_caller]
fn fails(m: &Mounted, cmd: &mut Command, message: &str) -> String {
    let (status, out) = run(cmd);
    assert!(
        !status.success() && out.contains(message),
        "{cmd:?} should fail with {message:?}, got {status}:\n{out}\ndaemon log:\n{}",
        log_tail(m)
    );
    out
}

/// A path inside the mount, as a string.
fn at(m: &Mounted, relative: &str) -> String {
    m.path(relative).to_string_lossy().into_owned()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// `ls -A` of a directory as a sorted set of names.
#[track_caller]
fn listing(m: &Mounted, dir: &str) -> BTreeSet<String> {
    ok(m, &mut tool("ls", &["-A", dir]))
        .lines()
        .map(str::to_string)
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The mode string and owner `ls -ld` shows for a path.
#[track_caller]
fn ls_mode_owner(m: &Mounted, path: &str) -> (String, String) {
    let out = ok(m, &mut tool("ls", &["-ld", path]));
    let fields: Vec<&str> = out.split_whitespace().collect();
    (fields[0].to_string(), fields[2].to_string())
}

// ---------------------------------------------------------------------------------------------
// What the store holds, according to the real vecs-cli

struct Cli<'a>(&'a Path);

impl Cli<'_> {
    fn run(&self, args: &[&str]) -> common::Run {
        let mut cmd = Command::new(common::vecs_cli());
        cmd.args(args)
            .arg("--db")
            .arg(self.0)
            .env_remove("VECS_DB")
            .env_remove("RUST_LOG");
        common::run_with_input(cmd, b"")
    }

    /// The store names, in order.
    fn stores(&self) -> Vec<String> {
        self.run(&["store", "list"])
            .ok()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The aliases of a store, in order.
    fn aliases(&self, store: &str) -> Vec<String> {
        self.run(&["entry", "list", "--store", store, "--aliases"])
            .ok()
            .lines()
            .skip(1) // Number of entries in store :	N
            .map(str::to_string)
            .collect()
    }

    /// The VECS entry type of an alias, or None when the store has no such entry.
    fn entry_type(&self, store: &str, alias: &str) -> Option<String> {
        let listed = self.run(&["entry", "list", "--store", store]);
        let stdout = listed.ok();
        let mut lines = stdout.lines();
        while let Some(line) = lines.next() {
            if line == format!("Alias :\t{alias}") {
                let kind = lines.next()?;
                return kind.strip_prefix("Entry type :\t").map(str::to_string);
            }
        }
        None
    }

    /// `entry getcert` without the newline vecs-cli prints after the stored text.
    fn cert(&self, store: &str, alias: &str) -> String {
        let out = self.run(&["entry", "getcert", "--store", store, "--alias", alias]);
        without_final_newline(out.ok())
    }

    /// `entry getkey` without the newline vecs-cli prints after the stored text.
    fn key(&self, store: &str, alias: &str) -> String {
        let out = self.run(&["entry", "getkey", "--store", store, "--alias", alias]);
        without_final_newline(out.ok())
    }

    /// Everything vecs-cli shows of one store and of the list of stores, keys included.
    fn snapshot(&self, store: &str) -> String {
        let mut all = self.stores().join("\n");
        all.push_str(self.run(&["entry", "list", "--store", store]).ok());
        for alias in self.aliases(store) {
            let key = self.run(&["entry", "getkey", "--store", store, "--alias", &alias]);
            all.push_str(&format!("{alias}: {} {}", key.stdout, key.stderr));
        }
        all
    }
}

/// The files the mount lists for an entry type (filesystem.md, "Layout").
fn files_of(entry_type: Option<&str>) -> BTreeSet<String> {
    names(match entry_type {
        Some("Private Key") | Some("Encrypted Private Key") => &["cert.pem", "key.pem"],
        Some("Trusted Cert") => &["cert.pem"],
        Some("Secret Key") => &["key.pem"],
        Some("Certification Revocation List") => &["crl.pem"],
        _ => &[],
    })
}

/// The read-only files the mount generates for an entry type: found by name (stat, cat) but
/// not listed, and named by the directory's `user.vecs.generated` xattr.
fn generated_of(entry_type: Option<&str>) -> BTreeSet<String> {
    names(match entry_type {
        Some("Private Key") => &["bundle.pem"],
        _ => &[],
    })
}

/// What `cat` shows of the alias is what vecs-cli says the store holds, file for file, and
/// the alias directory lists nothing else; its generated files (bundle.pem) are served by
/// path and named by `user.vecs.generated`.
#[track_caller]
fn assert_served(m: &Mounted, cli: &Cli, store: &str, alias: &str) {
    let entry_type = cli.entry_type(store, alias);
    let dir = at(m, &format!("{store}/{alias}"));
    let files = files_of(entry_type.as_deref());
    let generated = generated_of(entry_type.as_deref());
    assert_eq!(
        listing(m, &dir),
        files,
        "ls -A {dir} for a {entry_type:?} entry"
    );
    let named = xattr(Path::new(&dir), "user.vecs.generated")
        .unwrap_or_else(|e| panic!("getxattr user.vecs.generated of {dir}: {e}"));
    let expected = (!generated.is_empty()).then(|| generated.iter().cloned().collect::<Vec<_>>());
    assert_eq!(
        named,
        expected.map(|names| names.join(" ")),
        "user.vecs.generated of {dir} for a {entry_type:?} entry"
    );
    if generated.is_empty() {
        let absent = format!("{dir}/bundle.pem");
        fails(
            m,
            &mut tool("stat", &[&absent]),
            "No such file or directory",
        );
    }
    for file in &generated {
        let path = format!("{dir}/{file}");
        let mode = ok(m, &mut tool("stat", &["-c", "%a", &path]));
        assert_eq!(mode.trim(), "600", "stat -c %a {path}: it holds the key");
    }
    for file in files.into_iter().chain(generated) {
        let path = format!("{dir}/{file}");
        let stored = match file.as_str() {
            "key.pem" => cli.key(store, alias),
            // The key, then its chain: one read gets a matching pair.
            "bundle.pem" => cli.key(store, alias) + &cli.cert(store, alias),
            _ => cli.cert(store, alias),
        };
        assert_eq!(ok(m, &mut tool("cat", &[&path])), stored, "cat {path}");
        let size = ok(m, &mut tool("stat", &["-c", "%s", &path]));
        assert_eq!(size.trim(), stored.len().to_string(), "stat -c %s {path}");
    }
}

fn without_final_newline(s: &str) -> String {
    s.strip_suffix('\n').unwrap_or(s).to_string()
}

// ---------------------------------------------------------------------------------------------
// Material and seeded mounts

/// An entry made with vecs-cli before the daemon starts.
struct Seed {
    store: &'static str,
    alias: &'static str,
    cert: String,
    key: Option<String>,
}

fn pair(store: &'static str, alias: &'static str, id: &Identity) -> Seed {
    Seed {
        store,
        alias,
        cert: id.cert.clone(),
        key: Some(id.key.clone()),
    }
}

fn trusted(store: &'static str, alias: &'static str, id: &Identity) -> Seed {
    Seed {
        store,
        alias,
        cert: id.cert.clone(),
        key: None,
    }
}

/// A mount of a database that holds `seeds`, created with vecs-cli.
fn seeded(seeds: Vec<Seed>) -> Mounted {
    Mounted::start(MountSpec::default().before_mount(move |db| {
        for seed in seeds {
            let mut args = vec![
                "entry", "create", "--store", seed.store, "--alias", seed.alias, "--cert",
                &seed.cert,
            ];
            if let Some(key) = &seed.key {
                args.extend(["--key", key.as_str()]);
            }
            let created = Cli(db).run(&args);
            assert_eq!(created.code, 0, "seeding {args:?}: {created:#?}");
        }
    }))
}

/// The canonical PEM of a certificate file, as the store keeps it.
fn canonical_cert(ws: &Workspace, cert: &str) -> String {
    openssl(ws.dir.path(), &["x509", "-in", cert])
}

/// The PKCS#8 PEM of a key file, as the store keeps it.
fn canonical_key(ws: &Workspace, key: &str) -> String {
    openssl(ws.dir.path(), &["pkey", "-in", key])
}

/// A second certificate for the key of `id` (same key, new subject): it matches the live key.
fn reissued(ws: &Workspace, id: &Identity, name: &str) -> String {
    let out = ws
        .path(&format!("{name}.crt"))
        .to_string_lossy()
        .into_owned();
    let subject = format!("/CN={name}");
    openssl(
        ws.dir.path(),
        &[
            "req", "-x509", "-new", "-key", &id.key, "-subj", &subject, "-days", "30", "-out", &out,
        ],
    );
    out
}

/// A CRL (PEM) issued by the self-signed `ca`, made with `openssl ca -gencrl`.
fn make_crl(ws: &Workspace, ca: &Identity) -> Vec<u8> {
    let crl = gencrl(&ws.path("ca"), Path::new(&ca.cert), Path::new(&ca.key));
    std::fs::read(crl).expect("crl")
}

/// A mount whose CRL store holds `crl` (inserted with the library, as the trust sync does);
/// returns it with the CRL's alias.
fn mounted_with_crl(crl: Vec<u8>) -> (Mounted, String) {
    let alias = vecsfs::pki::parse_crl(&crl).expect("parse CRL").alias();
    let expected = alias.clone();
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        let parsed = vecsfs::pki::parse_crl(&crl).expect("parse CRL");
        let added = vecsfs::store::Database::open(db)
            .expect("open db")
            .add_entry(
                0,
                "TRUSTED_ROOTS_CRLS",
                None,
                &vecsfs::store::EntryContent::crl(&parsed),
            )
            .expect("add CRL");
        assert_eq!(added, expected);
    }));
    (m, alias)
}

// ---------------------------------------------------------------------------------------------
// Reading

#[test]
fn cat_ls_stat_find_and_df_agree_with_vecs_cli() {
    let ws = Workspace::new();
    let machine = identity(&ws, KeyKind::Rsa2048, "machine-ssl");
    let vpxd = identity(&ws, KeyKind::EcP256, "vpxd");
    let root = identity(&ws, KeyKind::EcP384, "root");
    let m = seeded(vec![
        pair("MACHINE_SSL_CERT", "__MACHINE_CERT", &machine),
        pair("vpxd", "vpxd", &vpxd),
        trusted("TRUSTED_ROOTS", "root", &root),
    ]);
    let cli = Cli(&m.db);

    for (store, alias) in [
        ("MACHINE_SSL_CERT", "__MACHINE_CERT"),
        ("vpxd", "vpxd"),
        ("TRUSTED_ROOTS", "root"),
    ] {
        let cert = at(&m, &format!("{store}/{alias}/cert.pem"));
        let shown = ok(&m, &mut tool("cat", &[&cert]));
        assert_eq!(shown, cli.cert(store, alias), "cat {cert}");
        let size = ok(&m, &mut tool("stat", &["-c", "%s", &cert]));
        assert_eq!(size.trim(), shown.len().to_string(), "stat -c %s {cert}");
    }
    for (store, alias) in [("MACHINE_SSL_CERT", "__MACHINE_CERT"), ("vpxd", "vpxd")] {
        let key = at(&m, &format!("{store}/{alias}/key.pem"));
        let shown = ok(&m, &mut tool("cat", &[&key]));
        assert_eq!(shown, cli.key(store, alias), "cat {key}");
        let size = ok(&m, &mut tool("stat", &["-c", "%s", &key]));
        assert_eq!(size.trim(), shown.len().to_string(), "stat -c %s {key}");
        assert_eq!(
            ls_mode_owner(&m, &key),
            ("-rw-------".to_string(), "root".to_string()),
            "key.pem is never group- or world-readable"
        );
    }
    assert_eq!(
        ok(&m, &mut tool("cat", &[&at(&m, "vpxd/vpxd/cert.pem")])),
        canonical_cert(&ws, &vpxd.cert),
        "the certificate as openssl writes it"
    );

    // TRUSTED_ROOTS is readable by EVERYONE: world-readable directories and cert.pem.
    let world_readable = [
        ("TRUSTED_ROOTS", "drwxr-xr-x"),
        ("TRUSTED_ROOTS/root", "drwxr-xr-x"),
        ("TRUSTED_ROOTS/root/cert.pem", "-rw-r--r--"),
    ];
    for (path, mode) in world_readable {
        assert_eq!(
            ls_mode_owner(&m, &at(&m, path)),
            (mode.to_string(), "root".to_string()),
            "ls -ld {path}"
        );
    }
    // A store only its owner (root) may read.
    assert_eq!(ls_mode_owner(&m, &at(&m, "vpxd")).0, "drwx------");
    let long = ok(&m, &mut tool("ls", &["-l", &at(&m, "vpxd/vpxd")]));
    assert!(
        long.lines()
            .any(|l| l.starts_with("-rw------- ") && l.ends_with(" key.pem")),
        "ls -l:\n{long}"
    );

    // find sees every alias's cert.pem, and nothing else by that name.
    let found: BTreeSet<String> = ok(&m, &mut tool("find", &[&at(&m, ""), "-name", "cert.pem"]))
        .lines()
        .map(str::to_string)
        .collect();
    let expected: BTreeSet<String> = [
        "MACHINE_SSL_CERT/__MACHINE_CERT/cert.pem",
        "vpxd/vpxd/cert.pem",
        "TRUSTED_ROOTS/root/cert.pem",
    ]
    .iter()
    .map(|p| at(&m, p))
    .collect();
    assert_eq!(found, expected);

    let df = ok(&m, &mut tool("df", &[&at(&m, "")]));
    assert!(
        df.contains(m.mountpoint.to_string_lossy().as_ref()),
        "df shows the mount:\n{df}"
    );
}

// ---------------------------------------------------------------------------------------------
// cp

#[test]
fn cp_creates_a_trusted_cert_then_a_private_key_and_copies_alias_directories() {
    let ws = Workspace::new();
    let new = identity(&ws, KeyKind::EcP256, "new");
    let copied = identity(&ws, KeyKind::Ed25519, "copied");
    let m = Mounted::fresh();
    let cli = Cli(&m.db);

    ok(&m, &mut tool("mkdir", &[&at(&m, "vpxd/A")]));
    assert_eq!(
        cli.entry_type("vpxd", "A"),
        None,
        "mkdir alone makes no entry"
    );
    assert!(listing(&m, &at(&m, "vpxd/A")).is_empty());

    ok(
        &m,
        &mut tool("cp", &[&new.cert, &at(&m, "vpxd/A/cert.pem")]),
    );
    assert_eq!(cli.entry_type("vpxd", "A").as_deref(), Some("Trusted Cert"));
    assert_eq!(cli.cert("vpxd", "A"), canonical_cert(&ws, &new.cert));
    assert_served(&m, &cli, "vpxd", "A");

    ok(&m, &mut tool("cp", &[&new.key, &at(&m, "vpxd/A/key.pem")]));
    assert_eq!(cli.entry_type("vpxd", "A").as_deref(), Some("Private Key"));
    assert_eq!(cli.key("vpxd", "A"), canonical_key(&ws, &new.key));
    assert_served(&m, &cli, "vpxd", "A");

    // cp -r of a local directory holding cert.pem and key.pem makes the entry of that name.
    let dir = ws.path("svc");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::copy(&copied.cert, dir.join("cert.pem")).expect("copy");
    std::fs::copy(&copied.key, dir.join("key.pem")).expect("copy");
    ok(
        &m,
        &mut tool("cp", &["-r", &dir.to_string_lossy(), &at(&m, "vpxd/")]),
    );
    assert_eq!(cli.aliases("vpxd"), ["A", "svc"]);
    assert_eq!(
        cli.entry_type("vpxd", "svc").as_deref(),
        Some("Private Key")
    );
    assert_eq!(cli.cert("vpxd", "svc"), canonical_cert(&ws, &copied.cert));
    assert_eq!(cli.key("vpxd", "svc"), canonical_key(&ws, &copied.key));
    assert_served(&m, &cli, "vpxd", "svc");
}

#[test]
fn cp_p_restores_what_the_mount_exported_and_refuses_another_mode_after_committing() {
    let ws = Workspace::new();
    let pk = identity(&ws, KeyKind::EcP256, "pk");
    let root = identity(&ws, KeyKind::EcP256, "root");
    let other_root = identity(&ws, KeyKind::EcP256, "other-root");
    let m = seeded(vec![
        pair("vpxd", "A", &pk),
        trusted("TRUSTED_ROOTS", "root", &root),
    ]);
    let cli = Cli(&m.db);

    // Export with cp -p (mode and times kept), then cp -p the same files back: there is
    // nothing to change, so nothing is refused.
    let exported_key = ws.path("exported-key.pem").to_string_lossy().into_owned();
    let exported_cert = ws.path("exported-cert.pem").to_string_lossy().into_owned();
    let key_path = at(&m, "vpxd/A/key.pem");
    let root_path = at(&m, "TRUSTED_ROOTS/root/cert.pem");
    ok(&m, &mut tool("cp", &["-p", &key_path, &exported_key]));
    ok(&m, &mut tool("cp", &["-p", &root_path, &exported_cert]));
    assert_eq!(ls_mode_owner(&m, &exported_key).0, "-rw-------");
    assert_eq!(ls_mode_owner(&m, &exported_cert).0, "-rw-r--r--");
    let before = cli.snapshot("vpxd");
    ok(&m, &mut tool("cp", &["-p", &exported_key, &key_path]));
    ok(&m, &mut tool("cp", &["-p", &exported_cert, &root_path]));
    assert_eq!(cli.snapshot("vpxd"), before);
    assert_eq!(
        cli.cert("TRUSTED_ROOTS", "root"),
        canonical_cert(&ws, &root.cert)
    );
    assert_eq!(ls_mode_owner(&m, &key_path).0, "-rw-------");
    assert_served(&m, &cli, "vpxd", "A");

    // cp -p of a file whose mode differs: cp writes and closes the content first (committed),
    // then its fchmod is refused with EPERM and cp fails. The store holds the new content,
    // consistently, and the mode is still the store's.
    let new_root = ws.path("new-root.pem").to_string_lossy().into_owned();
    std::fs::copy(&other_root.cert, &new_root).expect("copy");
    ok(&m, &mut tool("chmod", &["600", &new_root]));
    let out = fails(
        &m,
        &mut tool("cp", &["-p", &new_root, &root_path]),
        "Operation not permitted",
    );
    assert!(out.contains("preserving permissions"), "{out}");
    assert_eq!(
        cli.entry_type("TRUSTED_ROOTS", "root").as_deref(),
        Some("Trusted Cert")
    );
    assert_eq!(
        cli.cert("TRUSTED_ROOTS", "root"),
        canonical_cert(&ws, &other_root.cert),
        "the content was committed before the chmod was refused"
    );
    assert_served(&m, &cli, "TRUSTED_ROOTS", "root");
    assert_eq!(ls_mode_owner(&m, &root_path).0, "-rw-r--r--");
}

#[test]
fn cp_backup_keeps_a_copy_of_the_old_file_and_writes_the_new_one() {
    let ws = Workspace::new();
    let a = identity(&ws, KeyKind::EcP256, "a");
    let b = identity(&ws, KeyKind::EcP256, "b");
    let m = seeded(vec![trusted("vpxd", "A", &a)]);
    let cli = Cli(&m.db);
    let old = cli.cert("vpxd", "A");

    // cp renames cert.pem to cert.pem~ (which leaves a copy and keeps the live file), then
    // creates cert.pem with O_EXCL.
    ok(
        &m,
        &mut tool(
            "cp",
            &["--backup=simple", &b.cert, &at(&m, "vpxd/A/cert.pem")],
        ),
    );
    assert_eq!(cli.entry_type("vpxd", "A").as_deref(), Some("Trusted Cert"));
    assert_eq!(cli.cert("vpxd", "A"), canonical_cert(&ws, &b.cert));
    assert_eq!(read(&at(&m, "vpxd/A/cert.pem")), cli.cert("vpxd", "A"));
    assert_eq!(
        read(&at(&m, "vpxd/A/cert.pem~")),
        old,
        "the backup holds the old file"
    );
}

// ---------------------------------------------------------------------------------------------
// mv

#[test]
fn mv_renames_moves_and_atomically_replaces_aliases() {
    let ws = Workspace::new();
    let a = identity(&ws, KeyKind::EcP256, "a");
    let b = identity(&ws, KeyKind::Rsa2048, "b");
    let m = seeded(vec![pair("vpxd", "A", &a)]);
    let cli = Cli(&m.db);
    let live = (cli.cert("vpxd", "A"), cli.key("vpxd", "A"));

    // Rename within the store.
    ok(&m, &mut tool("mv", &[&at(&m, "vpxd/A"), &at(&m, "vpxd/B")]));
    assert_eq!(cli.aliases("vpxd"), ["B"]);
    assert_eq!((cli.cert("vpxd", "B"), cli.key("vpxd", "B")), live);
    assert_eq!(listing(&m, &at(&m, "vpxd")), names(&["B"]));
    assert_served(&m, &cli, "vpxd", "B");

    // Move to another store.
    ok(
        &m,
        &mut tool("mv", &[&at(&m, "vpxd/B"), &at(&m, "machine/")]),
    );
    assert!(cli.aliases("vpxd").is_empty());
    assert_eq!(cli.aliases("machine"), ["B"]);
    assert_eq!(
        cli.entry_type("machine", "B").as_deref(),
        Some("Private Key")
    );
    assert_eq!((cli.cert("machine", "B"), cli.key("machine", "B")), live);
    assert!(listing(&m, &at(&m, "vpxd")).is_empty());
    assert_served(&m, &cli, "machine", "B");

    // Prepare B.new next to B, then mv -T it over B: one entry, holding the new pair.
    ok(&m, &mut tool("mkdir", &[&at(&m, "machine/B.new")]));
    ok(
        &m,
        &mut tool("cp", &[&b.cert, &at(&m, "machine/B.new/cert.pem")]),
    );
    ok(
        &m,
        &mut tool("cp", &[&b.key, &at(&m, "machine/B.new/key.pem")]),
    );
    assert_eq!(cli.aliases("machine"), ["B", "B.new"]);
    ok(
        &m,
        &mut tool(
            "mv",
            &["-T", &at(&m, "machine/B.new"), &at(&m, "machine/B")],
        ),
    );
    assert_eq!(cli.aliases("machine"), ["B"]);
    assert_eq!(
        cli.entry_type("machine", "B").as_deref(),
        Some("Private Key")
    );
    assert_eq!(cli.cert("machine", "B"), canonical_cert(&ws, &b.cert));
    assert_eq!(cli.key("machine", "B"), canonical_key(&ws, &b.key));
    assert_eq!(listing(&m, &at(&m, "machine")), names(&["B"]));
    assert_served(&m, &cli, "machine", "B");
}

// ---------------------------------------------------------------------------------------------
// rm, rmdir, mkdir

#[test]
fn rm_drops_halves_and_entries_and_alias_directories_outlive_them_until_rmdir() {
    let ws = Workspace::new();
    let a = identity(&ws, KeyKind::EcP256, "a");
    let b = identity(&ws, KeyKind::EcP256, "b");
    let m = seeded(vec![pair("vpxd", "A", &a), pair("vpxd", "B", &b)]);
    let cli = Cli(&m.db);

    ok(&m, &mut tool("rm", &[&at(&m, "vpxd/A/key.pem")]));
    assert_eq!(cli.entry_type("vpxd", "A").as_deref(), Some("Trusted Cert"));
    assert_eq!(cli.cert("vpxd", "A"), canonical_cert(&ws, &a.cert));
    assert_served(&m, &cli, "vpxd", "A");

    ok(&m, &mut tool("rm", &[&at(&m, "vpxd/A/cert.pem")]));
    assert_eq!(cli.aliases("vpxd"), ["B"], "the Trusted Cert is gone");
    assert_eq!(
        listing(&m, &at(&m, "vpxd")),
        names(&["A", "B"]),
        "the alias directory stays until rmdir"
    );
    assert!(listing(&m, &at(&m, "vpxd/A")).is_empty());
    ok(&m, &mut tool("rmdir", &[&at(&m, "vpxd/A")]));
    assert_eq!(listing(&m, &at(&m, "vpxd")), names(&["B"]));

    ok(&m, &mut tool("rm", &["-r", &at(&m, "vpxd/B")]));
    assert!(cli.aliases("vpxd").is_empty());
    assert!(listing(&m, &at(&m, "vpxd")).is_empty());
}

#[test]
fn mkdir_and_rmdir_make_and_delete_stores_and_refuse_system_and_full_ones() {
    let ws = Workspace::new();
    let a = identity(&ws, KeyKind::EcP256, "a");
    let m = Mounted::fresh();
    let cli = Cli(&m.db);

    ok(&m, &mut tool("mkdir", &[&at(&m, "my-service")]));
    assert!(cli.stores().contains(&"my-service".to_string()));
    assert_eq!(
        ls_mode_owner(&m, &at(&m, "my-service")).1,
        "root",
        "owned by the caller"
    );

    // mkdir S/A, then write cert.pem in it.
    ok(&m, &mut tool("mkdir", &[&at(&m, "my-service/A")]));
    assert!(cli.aliases("my-service").is_empty());
    ok(
        &m,
        &mut tool("cp", &[&a.cert, &at(&m, "my-service/A/cert.pem")]),
    );
    assert_eq!(
        cli.entry_type("my-service", "A").as_deref(),
        Some("Trusted Cert")
    );
    assert_served(&m, &cli, "my-service", "A");

    let stores = cli.stores();
    let refused = [
        ("my-service", "Directory not empty"),
        ("MACHINE_SSL_CERT", "Operation not permitted"),
        ("TRUSTED_ROOTS", "Operation not permitted"),
        ("TRUSTED_ROOTS_CRLS", "Read-only file system"),
    ];
    for (store, message) in refused {
        fails(&m, &mut tool("rmdir", &[&at(&m, store)]), message);
    }
    assert_eq!(cli.stores(), stores, "no store was deleted");
    assert_eq!(cli.aliases("my-service"), ["A"]);
    assert_served(&m, &cli, "my-service", "A");

    ok(&m, &mut tool("rm", &["-r", &at(&m, "my-service/A")]));
    ok(&m, &mut tool("rmdir", &[&at(&m, "my-service")]));
    assert!(!cli.stores().contains(&"my-service".to_string()));
    assert!(!listing(&m, &at(&m, "")).contains("my-service"));
}

// ---------------------------------------------------------------------------------------------
// Backup and sync tools

#[test]
fn tar_of_a_store_restores_a_removed_entry_identically() {
    let ws = Workspace::new();
    let a = identity(&ws, KeyKind::EcP384, "a");
    let root = identity(&ws, KeyKind::EcP256, "root");
    let m = seeded(vec![pair("vpxd", "A", &a), trusted("vpxd", "R", &root)]);
    let cli = Cli(&m.db);
    let live = (cli.cert("vpxd", "A"), cli.key("vpxd", "A"));
    let root_cert = cli.cert("vpxd", "R");

    let archive = ws.path("vpxd.tar").to_string_lossy().into_owned();
    ok(
        &m,
        &mut tool("tar", &["-C", &at(&m, ""), "-cf", &archive, "vpxd"]),
    );
    let contents = ok(&m, &mut tool("tar", &["-tvf", &archive]));
    assert!(
        contents
            .lines()
            .any(|l| l.starts_with("-rw------- root/root") && l.ends_with("vpxd/A/key.pem")),
        "{contents}"
    );

    ok(&m, &mut tool("rm", &["-r", &at(&m, "vpxd/A")]));
    assert_eq!(cli.aliases("vpxd"), ["R"]);
    ok(&m, &mut tool("tar", &["-C", &at(&m, ""), "-xpf", &archive]));
    let mut aliases = cli.aliases("vpxd");
    aliases.sort();
    assert_eq!(aliases, ["A", "R"]);
    assert_eq!(cli.entry_type("vpxd", "A").as_deref(), Some("Private Key"));
    assert_eq!((cli.cert("vpxd", "A"), cli.key("vpxd", "A")), live);
    assert_eq!(cli.entry_type("vpxd", "R").as_deref(), Some("Trusted Cert"));
    assert_eq!(
        cli.cert("vpxd", "R"),
        root_cert,
        "extracting over R changed nothing"
    );
    assert_served(&m, &cli, "vpxd", "A");
    assert_served(&m, &cli, "vpxd", "R");
    assert_eq!(ls_mode_owner(&m, &at(&m, "vpxd/A/key.pem")).0, "-rw-------");
}

#[test]
fn rsync_a_round_trip_restores_an_entry() {
    let ws = Workspace::new();
    let a = identity(&ws, KeyKind::Rsa2048, "a");
    let m = seeded(vec![pair("vpxd", "A", &a)]);
    let cli = Cli(&m.db);
    let (cert, key) = (cli.cert("vpxd", "A"), cli.key("vpxd", "A"));

    let local = ws.path("backup").to_string_lossy().into_owned();
    ok(
        &m,
        &mut tool("rsync", &["-a", &at(&m, "vpxd/A"), &format!("{local}/")]),
    );
    assert_eq!(read(&format!("{local}/A/key.pem")), key);
    assert_eq!(read(&format!("{local}/A/cert.pem")), cert);

    ok(&m, &mut tool("rm", &["-r", &at(&m, "vpxd/A")]));
    assert!(cli.aliases("vpxd").is_empty());
    // rsync makes A, writes .cert.pem.XXXXXX and .key.pem.XXXXXX and renames them, then sets
    // the modes and times it saved: the mount's own, so accepted.
    ok(
        &m,
        &mut tool("rsync", &["-a", &format!("{local}/A"), &at(&m, "vpxd/")]),
    );
    assert_eq!(cli.aliases("vpxd"), ["A"]);
    assert_eq!(cli.entry_type("vpxd", "A").as_deref(), Some("Private Key"));
    assert_eq!((cli.cert("vpxd", "A"), cli.key("vpxd", "A")), (cert, key));
    assert_served(&m, &cli, "vpxd", "A");
    assert_eq!(ls_mode_owner(&m, &at(&m, "vpxd/A/key.pem")).0, "-rw-------");
}

#[test]
fn rsync_rt_of_a_local_tree_creates_entries_through_temporary_files() {
    let ws = Workspace::new();
    let root = identity(&ws, KeyKind::EcP256, "root");
    let svc = identity(&ws, KeyKind::Ed25519, "svc");
    let m = Mounted::fresh();
    let cli = Cli(&m.db);

    let tree = ws.path("tree");
    for (alias, files) in [
        ("R", vec![("cert.pem", &root.cert)]),
        ("S", vec![("cert.pem", &svc.cert), ("key.pem", &svc.key)]),
    ] {
        std::fs::create_dir_all(tree.join(alias)).expect("mkdir");
        for (name, from) in files {
            std::fs::copy(from, tree.join(alias).join(name)).expect("copy");
        }
    }
    ok(
        &m,
        &mut tool(
            "rsync",
            &["-rt", &format!("{}/", tree.display()), &at(&m, "vpxd/")],
        ),
    );
    let mut aliases = cli.aliases("vpxd");
    aliases.sort();
    assert_eq!(aliases, ["R", "S"]);
    assert_eq!(cli.entry_type("vpxd", "R").as_deref(), Some("Trusted Cert"));
    assert_eq!(cli.cert("vpxd", "R"), canonical_cert(&ws, &root.cert));
    assert_eq!(cli.entry_type("vpxd", "S").as_deref(), Some("Private Key"));
    assert_eq!(cli.cert("vpxd", "S"), canonical_cert(&ws, &svc.cert));
    assert_eq!(cli.key("vpxd", "S"), canonical_key(&ws, &svc.key));
    assert_served(&m, &cli, "vpxd", "R");
    assert_served(&m, &cli, "vpxd", "S");
}

// ---------------------------------------------------------------------------------------------
// Editors and writers

#[test]
fn sed_i_and_python_os_replace_commit_through_a_temporary_file() {
    let ws = Workspace::new();
    let a = identity(&ws, KeyKind::EcP256, "a");
    let m = seeded(vec![pair("vpxd", "A", &a)]);
    let cli = Cli(&m.db);
    let cert_path = at(&m, "vpxd/A/cert.pem");
    let before = cli.snapshot("vpxd");

    // A no-op edit: sed writes a temp file in the alias directory and renames it over cert.pem.
    ok(&m, &mut tool("sed", &["-i", "s/x/x/", &cert_path]));
    assert_eq!(cli.snapshot("vpxd"), before, "the entry is unchanged");
    assert_served(&m, &cli, "vpxd", "A");
    assert_eq!(
        ls_mode_owner(&m, &cert_path).0,
        "-rw-------",
        "the store's mode"
    );

    // An edit that breaks the PEM: the rename onto cert.pem returns the refusal to sed.
    let out = fails(
        &m,
        &mut tool(
            "sed",
            &["-i", "s/BEGIN CERTIFICATE/BEGIN JUNK/", &cert_path],
        ),
        "Bad message",
    );
    assert!(out.contains("cannot rename"), "{out}");
    assert_eq!(
        cli.snapshot("vpxd"),
        before,
        "the refused edit changed nothing"
    );
    assert_served(&m, &cli, "vpxd", "A");

    // Python's write-temp-then-os.replace, with a new certificate for the live key.
    let renewed = reissued(&ws, &a, "a-renewed");
    let script = "import os, sys\n\
                  target, source = sys.argv[1], sys.argv[2]\n\
                  tmp = os.path.join(os.path.dirname(target), '.cert.pem.py-tmp')\n\
                  data = open(source, 'rb').read()\n\
                  with open(tmp, 'wb') as f:\n    f.write(data)\n\
                  os.replace(tmp, target)\n";
    ok(
        &m,
        &mut tool("python3", &["-c", script, &cert_path, &renewed]),
    );
    assert_eq!(cli.entry_type("vpxd", "A").as_deref(), Some("Private Key"));
    assert_eq!(cli.cert("vpxd", "A"), canonical_cert(&ws, &renewed));
    assert_eq!(cli.key("vpxd", "A"), canonical_key(&ws, &a.key));
    assert_served(&m, &cli, "vpxd", "A");
}

#[test]
fn tee_dd_install_and_shell_redirection_write_in_place() {
    let ws = Workspace::new();
    let a = identity(&ws, KeyKind::EcP256, "a");
    let b = identity(&ws, KeyKind::EcP256, "b");
    let c = identity(&ws, KeyKind::Rsa2048, "c");
    let m = seeded(vec![trusted("vpxd", "A", &a), trusted("vpxd", "C", &c)]);
    let cli = Cli(&m.db);
    let cert_path = at(&m, "vpxd/A/cert.pem");

    // tee replaces the certificate of a Trusted Cert (same size as the old one: the mount
    // must not serve the old bytes from the kernel's cache).
    ok(
        &m,
        &mut sh(r#"tee "$1" < "$2" > /dev/null"#, &[&cert_path, &b.cert]),
    );
    assert_eq!(cli.entry_type("vpxd", "A").as_deref(), Some("Trusted Cert"));
    assert_eq!(cli.cert("vpxd", "A"), canonical_cert(&ws, &b.cert));
    assert_served(&m, &cli, "vpxd", "A");

    // dd writes the matching key: a Private Key.
    let of = format!("of={}", at(&m, "vpxd/A/key.pem"));
    ok(&m, &mut tool("dd", &[&format!("if={}", b.key), &of]));
    assert_eq!(cli.entry_type("vpxd", "A").as_deref(), Some("Private Key"));
    assert_eq!(cli.key("vpxd", "A"), canonical_key(&ws, &b.key));
    assert_served(&m, &cli, "vpxd", "A");

    // install -m 600 of a key next to a Trusted Cert.
    ok(
        &m,
        &mut tool("install", &["-m", "600", &c.key, &at(&m, "vpxd/C/key.pem")]),
    );
    assert_eq!(cli.entry_type("vpxd", "C").as_deref(), Some("Private Key"));
    assert_eq!(cli.key("vpxd", "C"), canonical_key(&ws, &c.key));
    assert_served(&m, &cli, "vpxd", "C");
    assert_eq!(ls_mode_owner(&m, &at(&m, "vpxd/C/key.pem")).0, "-rw-------");
    // install onto an existing key.pem unlinks it first (the entry is a Trusted Cert until
    // the new key is closed), then writes it: the same Private Key in the end.
    let live = cli.snapshot("vpxd");
    ok(
        &m,
        &mut tool("install", &["-m", "600", &c.key, &at(&m, "vpxd/C/key.pem")]),
    );
    assert_eq!(cli.snapshot("vpxd"), live);
    assert_served(&m, &cli, "vpxd", "C");

    // cat new.crt > cert.pem: the shell opens with O_TRUNC and flushes the still empty file
    // when it moves the descriptor (refused harmlessly); cat's close commits.
    let renewed = reissued(&ws, &b, "b-renewed");
    ok(&m, &mut sh(r#"cat "$1" > "$2""#, &[&renewed, &cert_path]));
    assert_eq!(cli.entry_type("vpxd", "A").as_deref(), Some("Private Key"));
    assert_eq!(cli.cert("vpxd", "A"), canonical_cert(&ws, &renewed));
    assert_eq!(cli.key("vpxd", "A"), canonical_key(&ws, &b.key));
    assert_served(&m, &cli, "vpxd", "A");
}

// ---------------------------------------------------------------------------------------------
// Refusals: loud for the tool, harmless for the store

#[test]
fn content_that_is_not_a_certificate_is_refused_and_the_old_one_is_still_served() {
    let ws = Workspace::new();
    let a = identity(&ws, KeyKind::EcP256, "a");
    let m = seeded(vec![pair("vpxd", "A", &a)]);
    let cli = Cli(&m.db);
    let before = cli.snapshot("vpxd");
    let cert_path = at(&m, "vpxd/A/cert.pem");
    let served = read(&cert_path);

    let garbage = ws.write("garbage.txt", b"this is not a certificate\n");
    let out = fails(&m, &mut tool("cp", &[&garbage, &cert_path]), "Bad message");
    assert!(out.contains("cert.pem"), "{out}");
    assert_eq!(cli.snapshot("vpxd"), before);
    assert_eq!(ok(&m, &mut tool("cat", &[&cert_path])), served);
    assert_served(&m, &cli, "vpxd", "A");

    // A 2 MB file: refused with EFBIG.
    let big = ws.write("big.pem", &vec![b'A'; 2 * 1024 * 1024]);
    fails(&m, &mut tool("cp", &[&big, &cert_path]), "File too large");
    assert_eq!(cli.snapshot("vpxd"), before);
    assert_eq!(ok(&m, &mut tool("cat", &[&cert_path])), served);

    // echo junk > cert.pem: the write is refused when it is committed, at the last close of
    // the descriptor. dash makes that close with dup2(2), which reports no error, so the shell
    // cannot fail; what must hold is that the daemon refused and logged it, and the live
    // state did not change.
    let logged = m.log().len();
    let (status, out) = run(&mut sh(r#"echo junk > "$1""#, &[&cert_path]));
    assert_eq!(cli.snapshot("vpxd"), before, "sh exited {status}: {out}");
    assert_eq!(ok(&m, &mut tool("cat", &[&cert_path])), served);
    let log = m.log();
    assert!(
        log[logged..].lines().any(|l| l.starts_with("[WARN]")
            && l.contains("[vpxd/A/cert.pem]")
            && l.contains("Bad message")),
        "the refused write of [vpxd/A/cert.pem] is logged:\n{}",
        log_tail(&m)
    );
    let (status, out) = run(&mut tool(
        "getfattr",
        &["-n", "user.vecs.pending", &at(&m, "vpxd/A")],
    ));
    assert!(
        !status.success(),
        "garbage never becomes a pending half: {out}"
    );
    assert_served(&m, &cli, "vpxd", "A");
}

#[test]
fn a_refused_write_is_one_warning_naming_store_alias_file_and_caller() {
    let ws = Workspace::new();
    let a = identity(&ws, KeyKind::EcP256, "a");
    let m = seeded(vec![pair("vpxd", "A", &a)]);
    let garbage = ws.write("garbage.txt", b"this is not a certificate\n");
    let big = ws.write("big.pem", &vec![b'A'; 2 * 1024 * 1024]);

    let mut problems = Vec::new();
    for (source, reason) in [(&garbage, "Bad message"), (&big, "File too large")] {
        let logged = m.log().len();
        // The shell prints its pid, then becomes cp: the caller the daemon must name.
        let (status, out) = run(&mut sh(
            r#"echo $$; exec cp "$1" "$2""#,
            &[source, &at(&m, "vpxd/A/cert.pem")],
        ));
        assert!(!status.success() && out.contains(reason), "{out}");
        let pid = out.lines().next().expect("pid").trim().to_string();
        let log = m.log();
        let warnings: Vec<&str> = log[logged..]
            .lines()
            .filter(|l| l.starts_with("[WARN]") || l.starts_with("[ERROR]"))
            .collect();
        if warnings.len() != 1 {
            problems.push(format!(
                "{reason}: {} warning lines, not one:\n  {}",
                warnings.len(),
                warnings.join("\n  ")
            ));
        }
        for line in warnings {
            let caller = format!("pid {pid}");
            let missing: Vec<&str> = ["vpxd", "A", "cert.pem", reason, "uid 0", &caller]
                .into_iter()
                .filter(|part| !line.contains(part))
                .collect();
            if !missing.is_empty() {
                problems.push(format!("{reason}: {line}\n  does not name {missing:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_key_that_does_not_match_waits_as_the_pending_half_and_ed448_is_rejected() {
    let ws = Workspace::new();
    let a = identity(&ws, KeyKind::EcP256, "a");
    let b = identity(&ws, KeyKind::EcP256, "b");
    let m = seeded(vec![pair("vpxd", "A", &a)]);
    let cli = Cli(&m.db);
    let live = (cli.cert("vpxd", "A"), cli.key("vpxd", "A"));
    let alias_dir = at(&m, "vpxd/A");
    let key_path = at(&m, "vpxd/A/key.pem");
    let pending_of = || {
        run(&mut tool(
            "getfattr",
            &["-n", "user.vecs.pending", &alias_dir],
        ))
    };

    // A key for another certificate: the close succeeds, the key waits as the pending half.
    ok(&m, &mut tool("cp", &[&b.key, &key_path]));
    let (status, pending) = pending_of();
    assert!(
        status.success() && pending.contains("user.vecs.pending=\"key.pem"),
        "{pending}"
    );
    assert_eq!((cli.cert("vpxd", "A"), cli.key("vpxd", "A")), live);
    assert_eq!(cli.entry_type("vpxd", "A").as_deref(), Some("Private Key"));
    assert_served(&m, &cli, "vpxd", "A");
    assert!(
        m.log()
            .lines()
            .any(|l| l.starts_with("[WARN]") && l.contains("[vpxd/A]") && l.contains("pending")),
        "a pending half is logged at warning level:\n{}",
        log_tail(&m)
    );

    // An Ed448 key is of an unsupported kind: EKEYREJECTED at close; the pending half and the
    // live pair are untouched.
    let ed448 = ws.path("ed448.key").to_string_lossy().into_owned();
    openssl(
        ws.dir.path(),
        &["genpkey", "-algorithm", "ED448", "-out", &ed448],
    );
    let before = cli.snapshot("vpxd");
    fails(
        &m,
        &mut tool("cp", &[&ed448, &key_path]),
        "Key was rejected by service",
    );
    assert_eq!(cli.snapshot("vpxd"), before);
    assert_served(&m, &cli, "vpxd", "A");
    assert_eq!(pending_of().1, pending, "the pending half is unchanged");

    // The partner of the pending key arrives: both become live together.
    ok(&m, &mut tool("cp", &[&b.cert, &at(&m, "vpxd/A/cert.pem")]));
    assert_eq!(cli.cert("vpxd", "A"), canonical_cert(&ws, &b.cert));
    assert_eq!(cli.key("vpxd", "A"), canonical_key(&ws, &b.key));
    assert_served(&m, &cli, "vpxd", "A");
    let (status, out) = pending_of();
    assert!(!status.success(), "nothing is pending any more: {out}");

    // On an alias with no certificate, key-only content is a Secret Key, kept verbatim (as
    // `vecs-cli entry create --key` does), whatever the key's kind: Ed448 included.
    ok(&m, &mut tool("mkdir", &[&at(&m, "vpxd/S")]));
    ok(&m, &mut tool("cp", &[&ed448, &at(&m, "vpxd/S/key.pem")]));
    assert_eq!(cli.entry_type("vpxd", "S").as_deref(), Some("Secret Key"));
    assert_eq!(read(&at(&m, "vpxd/S/key.pem")), read(&ed448));
    assert_served(&m, &cli, "vpxd", "S");
}

#[test]
fn everything_under_the_crl_store_is_read_only() {
    let ws = Workspace::new();
    let ca = identity(&ws, KeyKind::EcP256, "crl-ca");
    let other = identity(&ws, KeyKind::EcP256, "other");
    let crl = make_crl(&ws, &ca);
    let crl_file = ws.write("copy.crl", &crl);
    let (m, alias) = mounted_with_crl(crl.clone());
    let cli = Cli(&m.db);
    let store = "TRUSTED_ROOTS_CRLS";
    let before = cli.snapshot(store);
    assert_eq!(cli.aliases(store), std::slice::from_ref(&alias));
    assert_eq!(
        cli.entry_type(store, &alias).as_deref(),
        Some("Certification Revocation List")
    );

    // Reading works, through the real name and through vCenter's spelling (a symlink).
    let crl_path = at(&m, &format!("{store}/{alias}/crl.pem"));
    let shown = ok(&m, &mut tool("cat", &[&crl_path]));
    assert_eq!(
        shown,
        String::from_utf8(crl.clone()).expect("PEM"),
        "the CRL as openssl wrote it"
    );
    assert_eq!(
        without_final_newline(&shown),
        cli.cert(store, &alias),
        "vecs-cli shows a CRL without its final newline (and adds its own)"
    );
    let via_link = ok(&m, &mut tool("ls", &[&at(&m, "TRUSTED_ROOT_CRLS/")]));
    assert_eq!(
        via_link.trim(),
        alias,
        "ls follows the symlink to the CRL store"
    );
    let linked = at(&m, &format!("TRUSTED_ROOT_CRLS/{alias}/crl.pem"));
    assert_eq!(ok(&m, &mut tool("cat", &[&linked])), shown);
    assert_eq!(ls_mode_owner(&m, &at(&m, store)).0, "dr-xr-xr-x");
    assert_eq!(ls_mode_owner(&m, &crl_path).0, "-r--r--r--");

    // Any change, by root too, is EROFS.
    let alias_dir = at(&m, &format!("{store}/{alias}"));
    let changes: Vec<Command> = vec![
        tool("touch", &[&crl_path]),
        tool("touch", &[&at(&m, &format!("{store}/newfile"))]),
        tool("touch", &[&format!("{alias_dir}/newfile")]),
        tool("touch", &[&at(&m, "TRUSTED_ROOT_CRLS/newfile")]),
        tool("mkdir", &[&at(&m, &format!("{store}/new-alias"))]),
        tool("rm", &["-f", &crl_path]),
        tool("rm", &["-rf", &alias_dir]),
        tool("rmdir", &[&alias_dir]),
        tool("mv", &[&alias_dir, &at(&m, &format!("{store}/renamed"))]),
        tool("mv", &[&alias_dir, &at(&m, "vpxd/")]),
        tool("cp", &[&crl_file, &crl_path]),
        tool("cp", &[&other.cert, &format!("{alias_dir}/cert.pem")]),
        tool("chmod", &["644", &crl_path]),
    ];
    for mut cmd in changes {
        fails(&m, &mut cmd, "Read-only file system");
        assert_eq!(cli.snapshot(store), before, "after {cmd:?}");
    }
    assert_eq!(listing(&m, &alias_dir), names(&["crl.pem"]));
    assert_eq!(ok(&m, &mut tool("cat", &[&crl_path])), shown);
    assert!(cli.aliases("vpxd").is_empty());
}

#[test]
fn meaningless_names_existing_names_and_mode_changes_are_refused() {
    let ws = Workspace::new();
    let a = identity(&ws, KeyKind::EcP256, "a");
    let m = seeded(vec![pair("vpxd", "A", &a)]);
    let cli = Cli(&m.db);
    let before = cli.snapshot("vpxd");
    let key_path = at(&m, "vpxd/A/key.pem");

    fails(
        &m,
        &mut tool("touch", &[&at(&m, "vpxd/newfile")]),
        "Operation not permitted",
    );
    // Names are unique case-insensitively: stores and aliases alike.
    fails(&m, &mut tool("mkdir", &[&at(&m, "VPXD")]), "File exists");
    fails(&m, &mut tool("mkdir", &[&at(&m, "vpxd/a")]), "File exists");
    fails(
        &m,
        &mut tool("chmod", &["644", &key_path]),
        "Operation not permitted",
    );
    fails(
        &m,
        &mut tool("chown", &["nobody", &key_path]),
        "Operation not permitted",
    );
    assert_eq!(
        ls_mode_owner(&m, &key_path),
        ("-rw-------".into(), "root".into())
    );
    // Changes that change nothing are accepted.
    ok(&m, &mut tool("chmod", &["600", &key_path]));
    ok(&m, &mut tool("chown", &["root:root", &key_path]));
    ok(&m, &mut tool("touch", &[&key_path]));

    assert_eq!(cli.snapshot("vpxd"), before);
    assert!(!cli.stores().iter().any(|s| s == "VPXD"));
    assert_eq!(listing(&m, &at(&m, "vpxd")), names(&["A"]));
    assert_served(&m, &cli, "vpxd", "A");
}

/// `rm cert.pem` of a Private Key leaves its key as a Secret Key (the contract's rm row), and
/// names that do not exist are ENOENT with every store as it was.
#[test]
fn rm_of_cert_pem_leaves_a_secret_key_and_missing_names_are_enoent() {
    let ws = Workspace::new();
    let c = identity(&ws, KeyKind::EcP256, "c");
    let m = seeded(vec![pair("vpxd", "C", &c)]);
    let cli = Cli(&m.db);

    ok(&m, &mut tool("rm", &[&at(&m, "vpxd/C/cert.pem")]));
    assert_eq!(cli.entry_type("vpxd", "C").as_deref(), Some("Secret Key"));
    assert_eq!(cli.key("vpxd", "C"), canonical_key(&ws, &c.key));
    assert_eq!(listing(&m, &at(&m, "vpxd/C")), files_of(Some("Secret Key")));
    assert_served(&m, &cli, "vpxd", "C");

    let before = (cli.stores(), cli.snapshot("vpxd"));
    for missing in [
        "NO_SUCH_STORE",
        "vpxd/NO_SUCH_ALIAS",
        "vpxd/C/cert.pem",
        "vpxd/C/x",
    ] {
        let path = at(&m, missing);
        let err = std::fs::metadata(&path).expect_err(missing);
        assert_eq!(
            err.raw_os_error(),
            Some(libc::ENOENT),
            "stat {missing}: {err}"
        );
        let err = std::fs::read(&path).expect_err(missing);
        assert_eq!(
            err.raw_os_error(),
            Some(libc::ENOENT),
            "read {missing}: {err}"
        );
    }
    let err = std::fs::remove_dir(at(&m, "NO_SUCH_STORE")).expect_err("rmdir of nothing");
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "{err}");
    let err = std::fs::rename(at(&m, "vpxd/NO_SUCH_ALIAS"), at(&m, "vpxd/D")).expect_err("mv");
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "{err}");
    assert_eq!(
        (cli.stores(), cli.snapshot("vpxd")),
        before,
        "a miss changed the store"
    );
}

/// fsync is a commit point: what was written is in the store while the file is still open.
/// Closing the handle, and then a dup of it, with nothing written since, commits nothing more.
#[test]
fn fsync_commits_and_a_close_with_nothing_new_does_not() {
    use std::io::Write;

    let ws = Workspace::new();
    let c = identity(&ws, KeyKind::EcP256, "c");
    let m = seeded(vec![pair("vpxd", "C", &c)]);
    let cli = Cli(&m.db);
    let renewed = reissued(&ws, &c, "c-renewed");
    let commits = |m: &Mounted| {
        m.log()
            .lines()
            .filter(|l| l.contains("committed cert.pem of [vpxd/C]"))
            .count()
    };

    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(at(&m, "vpxd/C/cert.pem"))
        .expect("open cert.pem for writing");
    file.write_all(read(&renewed).as_bytes()).expect("write");
    file.sync_all().expect("fsync commits");
    assert_eq!(
        cli.cert("vpxd", "C"),
        canonical_cert(&ws, &renewed),
        "the store after fsync, the file still open"
    );
    assert_eq!(commits(&m), 1, "{}", log_tail(&m));
    let dup = file.try_clone().expect("dup");
    drop(file);
    drop(dup);
    assert_eq!(commits(&m), 1, "closes with nothing new committed again");
    assert_eq!(cli.cert("vpxd", "C"), canonical_cert(&ws, &renewed));
    assert_served(&m, &cli, "vpxd", "C");
}

/// An Encrypted Private Key entry (`entry create --password`) shows cert.pem and key.pem, and
/// key.pem is the encrypted PKCS#8 the store keeps: the mount never decrypts it.
#[test]
fn an_encrypted_private_key_entry_shows_its_key_encrypted() {
    let ws = Workspace::new();
    let e = identity(&ws, KeyKind::EcP256, "e");
    let (cert, key) = (e.cert.clone(), e.key.clone());
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        let created = Cli(db).run(&[
            "entry",
            "create",
            "--store",
            "vpxd",
            "--alias",
            "E",
            "--cert",
            &cert,
            "--key",
            &key,
            "--password",
            "correct horse",
        ]);
        assert_eq!(created.code, 0, "{created:#?}");
    }));
    let cli = Cli(&m.db);
    assert_eq!(
        cli.entry_type("vpxd", "E").as_deref(),
        Some("Encrypted Private Key")
    );
    assert_eq!(
        listing(&m, &at(&m, "vpxd/E")),
        files_of(Some("Encrypted Private Key"))
    );
    assert_eq!(read(&at(&m, "vpxd/E/cert.pem")), cli.cert("vpxd", "E"));
    let shown = read(&at(&m, "vpxd/E/key.pem"));
    assert!(
        shown.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{shown}"
    );
    // The file decrypts, with the password, to the key vecs-cli gives with it.
    let encrypted = ws.write("shown.key", shown.as_bytes());
    let decrypted = openssl(
        ws.dir.path(),
        &["pkey", "-in", &encrypted, "-passin", "pass:correct horse"],
    );
    let with_password = cli.run(&[
        "entry",
        "getkey",
        "--store",
        "vpxd",
        "--alias",
        "E",
        "--password",
        "correct horse",
    ]);
    assert_eq!(with_password.ok().trim_end(), decrypted.trim_end());
    assert_eq!(decrypted.trim_end(), canonical_key(&ws, &e.key).trim_end());
}

/// Temporary files (what editors and sync tools write before a rename) are bounded, 16 per
/// alias: the 17th is ENOSPC and the store is untouched. They are memory only: a remount
/// finds none of them, and the entry as it was.
#[test]
fn temporary_files_are_bounded_and_vanish_at_unmount() {
    let ws = Workspace::new();
    let c = identity(&ws, KeyKind::EcP256, "c");
    let mut m = seeded(vec![pair("vpxd", "C", &c)]);
    let db = m.db.clone();
    let cli = Cli(&db);
    let before = cli.snapshot("vpxd");
    let cert = read(&c.cert);
    for n in 0..16 {
        std::fs::write(at(&m, &format!("vpxd/C/.tmp{n}")), &cert)
            .unwrap_or_else(|e| panic!("temporary file {n}: {e}"));
    }
    let err = std::fs::write(at(&m, "vpxd/C/.tmp16"), &cert).expect_err("a 17th temporary file");
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
    assert_eq!(
        listing(&m, &at(&m, "vpxd/C")).len(),
        2 + 16,
        "pair and 16 temporary files"
    );
    assert_eq!(
        cli.snapshot("vpxd"),
        before,
        "temporary files changed the store"
    );

    m.signal(libc::SIGTERM);
    let status = m.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "the daemon's exit: {status}");
    m.restart();
    assert_eq!(
        listing(&m, &at(&m, "vpxd/C")),
        files_of(Some("Private Key")),
        "temporary files outlived the mount"
    );
    assert_eq!(cli.snapshot("vpxd"), before);
    assert_served(&m, &cli, "vpxd", "C");
}

/// An alias is shown as one file name, `/` and `%` percent-encoded: one whose file name would
/// be over 255 bytes is ENAMETOOLONG, even when the alias itself is short, and one of exactly
/// 255 is made and listed back as it was written.
#[test]
fn aliases_must_fit_one_file_name_as_shown() {
    let ws = Workspace::new();
    let c = identity(&ws, KeyKind::EcP256, "c");
    let m = seeded(vec![pair("vpxd", "C", &c)]);
    let cli = Cli(&m.db);
    let before = cli.snapshot("vpxd");
    let too_long = format!("a{}", "%2F".repeat(85));
    let err = std::fs::create_dir(at(&m, &format!("vpxd/{too_long}"))).expect_err("mkdir");
    assert_eq!(err.raw_os_error(), Some(libc::ENAMETOOLONG), "{err}");
    assert_eq!(
        cli.snapshot("vpxd"),
        before,
        "a refused mkdir changed the store"
    );

    let fits = "%2F".repeat(85);
    ok(&m, &mut tool("mkdir", &[&at(&m, &format!("vpxd/{fits}"))]));
    ok(
        &m,
        &mut tool("cp", &[&c.cert, &at(&m, &format!("vpxd/{fits}/cert.pem"))]),
    );
    assert_eq!(cli.aliases("vpxd"), ["C".to_string(), "/".repeat(85)]);
    assert_eq!(listing(&m, &at(&m, "vpxd")), names(&[&fits, "C"]));
}
