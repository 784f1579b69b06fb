//! What `getfattr -d` shows of an entry on a real mount: type, source and the certificate's
//! subject, issuer, serial, fingerprints and validity, each as openssl reports it.

#[path = "support/mount.rs"]
mod mount;

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::trust::{make_crl, make_root, make_server_cert};
use common::{openssl, run_command, Workspace};
use mount::{xattr, MountSpec, Mounted};

/// `key=value` lines of `openssl x509 -noout` with `options`.
fn openssl_field(cert: &Path, option: &str) -> String {
    let out = openssl(
        Path::new("/"),
        &["x509", "-in", &cert.to_string_lossy(), "-noout", option],
    );
    out.trim()
        .split_once('=')
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

#[test]
fn entries_carry_their_certificates_metadata_as_xattrs() {
    let ws = Workspace::new();
    let root = make_root(&ws, "metadata-root");
    let cert = root.cert.to_string_lossy().into_owned();
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        common::add_root(db, std::path::Path::new(&cert));
    }));
    let dir = m.path(&format!("TRUSTED_ROOTS/{}", root.sha1));
    let get = |name: &str| {
        xattr(&dir, &format!("user.vecs.{name}"))
            .expect("getxattr")
            .unwrap_or_else(|| panic!("no user.vecs.{name}"))
    };
    assert_eq!(get("type"), "Trusted Cert");
    assert_eq!(get("source"), "hand");
    assert_eq!(get("sha1"), root.sha1);
    let fingerprint = openssl(
        Path::new("/"),
        &[
            "x509",
            "-in",
            &root.cert.to_string_lossy(),
            "-noout",
            "-fingerprint",
            "-sha256",
        ],
    );
    let expected = fingerprint
        .trim()
        .rsplit('=')
        .next()
        .unwrap_or_default()
        .replace(':', "")
        .to_lowercase();
    assert_eq!(get("sha256"), expected);
    assert_eq!(
        get("serial"),
        openssl_field(&root.cert, "-serial").to_lowercase()
    );
    let subject = get("subject");
    assert!(subject.contains("CN=metadata-root"), "{subject}");
    assert_eq!(get("issuer"), subject, "self-signed");
    // Validity: openssl's notAfter, as the date `date -u` gives for it.
    let not_after = openssl_field(&root.cert, "-enddate");
    let (status, date) = run_command(
        Command::new("date").args(["-u", "-d", &not_after, "+%Y-%m-%d %H:%M:%S UTC"]),
        Duration::from_secs(10),
    );
    assert!(status.success(), "date: {date}");
    assert_eq!(get("not_after"), date.trim());
    let not_before = openssl_field(&root.cert, "-startdate");
    let (status, date) = run_command(
        Command::new("date").args(["-u", "-d", &not_before, "+%Y-%m-%d %H:%M:%S UTC"]),
        Duration::from_secs(10),
    );
    assert!(status.success(), "date: {date}");
    assert_eq!(get("not_before"), date.trim());
    // The same on the file, and the tool users reach for shows them.
    assert_eq!(
        xattr(&dir.join("cert.pem"), "user.vecs.sha1").expect("getxattr"),
        Some(root.sha1.clone())
    );
    let (status, dump) = run_command(
        Command::new("getfattr").arg("-d").arg(&dir),
        Duration::from_secs(10),
    );
    assert!(status.success(), "getfattr -d: {dump}");
    for name in [
        "type",
        "source",
        "subject",
        "issuer",
        "serial",
        "sha1",
        "sha256",
        "not_before",
        "not_after",
    ] {
        assert!(
            dump.contains(&format!("user.vecs.{name}=")),
            "{name} in {dump}"
        );
    }
}

/// A Private Key entry shows its certificate's metadata on the alias directory and on each of
/// its files, key.pem included; a CRL entry shows its type and source (a CRL has no subject or
/// validity of a certificate).
#[test]
fn private_key_and_crl_entries_carry_their_metadata() {
    let ws = Workspace::new();
    let root = make_root(&ws, "metadata-ca");
    let (leaf, leaf_key) = make_server_cert(&ws, &root, "metadata-leaf", "0x5151");
    let crl = make_crl(&ws, &root);
    let (leaf_path, key_path, crl_pem) = (leaf.clone(), leaf_key.clone(), crl.pem.clone());
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        common::add_machine_pair(db, &leaf_path, &key_path);
        let mut store = vecsfs::store::Database::open(db).expect("open db");
        let parsed = vecsfs::pki::parse_crl(&crl_pem).expect("crl parses");
        store
            .add_entry(
                0,
                "TRUSTED_ROOTS_CRLS",
                None,
                &vecsfs::store::EntryContent::crl(&parsed),
            )
            .expect("seed the CRL");
    }));
    let dir = m.path("MACHINE_SSL_CERT/__MACHINE_CERT");
    let serial = openssl_field(&leaf, "-serial").to_lowercase();
    for path in [dir.clone(), dir.join("cert.pem"), dir.join("key.pem")] {
        let get = |name: &str| xattr(&path, &format!("user.vecs.{name}")).expect("getxattr");
        assert_eq!(
            get("type").as_deref(),
            Some("Private Key"),
            "{}",
            path.display()
        );
        assert_eq!(get("source").as_deref(), Some("hand"));
        assert_eq!(get("serial").as_deref(), Some(serial.as_str()));
        let issuer = get("issuer").unwrap_or_default();
        assert!(issuer.contains("CN=metadata-ca"), "{issuer}");
        assert_eq!(get("pending"), None, "no pending half");
    }
    let crl_dir = m.path(&format!("TRUSTED_ROOTS_CRLS/{}", crl.sha1));
    let (status, dump) = run_command(
        Command::new("getfattr").arg("-d").arg(&crl_dir),
        Duration::from_secs(10),
    );
    assert!(status.success(), "getfattr -d: {dump}");
    assert!(
        dump.contains("user.vecs.type=\"Certification Revocation List\""),
        "{dump}"
    );
    assert!(dump.contains("user.vecs.source=\"hand\""), "{dump}");
}

/// Only `user.` attributes exist. Other namespaces answer EOPNOTSUPP, which ls(1) and cp(1)
/// remember for the whole filesystem; with ENODATA, `ls -l` asked three times per alias.
#[test]
fn other_attribute_namespaces_are_not_supported() {
    let ws = Workspace::new();
    let root = make_root(&ws, "namespaces-root");
    let cert = root.cert.to_string_lossy().into_owned();
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        common::add_root(db, std::path::Path::new(&cert));
    }));
    let dir = m.path(&format!("TRUSTED_ROOTS/{}", root.sha1));
    for path in [dir.clone(), dir.join("cert.pem"), m.path("TRUSTED_ROOTS")] {
        for name in [
            "security.selinux",
            "system.posix_acl_access",
            "system.posix_acl_default",
            "trusted.overlay.opaque",
        ] {
            let err = xattr(&path, name).expect_err("not a supported namespace");
            assert_eq!(
                err.raw_os_error(),
                Some(libc::EOPNOTSUPP),
                "{name} of {}: {err}",
                path.display()
            );
        }
    }
    assert!(xattr(&dir, "user.vecs.type")
        .expect("user.vecs.type")
        .is_some());
    assert_eq!(xattr(&dir, "user.vecs.nothing").expect("absent"), None);
}
