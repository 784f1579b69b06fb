//! vecs-cli entry commands with real certificates and keys of every supported kind.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{genpkey, identity, openssl, openssl_with_input, traditional_key, KeyKind, Workspace};

fn created(alias: &str, store: &str) -> String {
    format!("Entry with alias [{alias}] in store [{store}] was created successfully \n")
}

#[test]
fn a_trusted_cert_gets_its_sha1_as_alias() {
    let ws = Workspace::new();
    let id = identity(&ws, KeyKind::Rsa2048, "root-ca");
    assert_eq!(
        ws.vecs(&[
            "entry",
            "create",
            "--store",
            "TRUSTED_ROOTS",
            "--cert",
            &id.cert
        ])
        .ok(),
        created(&id.sha1, "TRUSTED_ROOTS")
    );
    let canonical = openssl(ws.dir.path(), &["x509", "-in", &id.cert]);
    assert_eq!(
        ws.vecs(&[
            "entry",
            "getcert",
            "--store",
            "TRUSTED_ROOTS",
            "--alias",
            &id.sha1
        ])
        .ok(),
        format!("{canonical}\n")
    );
    assert_eq!(
        ws.vecs(&["entry", "list", "--store", "TRUSTED_ROOTS"]).ok(),
        format!(
            "Number of entries in store :\t1\nAlias :\t{}\nEntry type :\tTrusted Cert\nCertificate :\t{canonical}\n\n",
            id.sha1
        )
    );
}

#[test]
fn private_keys_of_every_kind_and_encoding_are_stored_as_pkcs8() {
    let ws = Workspace::new();
    for kind in KeyKind::ALL {
        let name = format!("{kind:?}").to_lowercase();
        let id = identity(&ws, kind, &name);
        let pkcs8 = openssl(ws.dir.path(), &["pkey", "-in", &id.key]);
        let mut inputs = vec![(format!("{name}-pkcs8"), id.key.clone())];
        if kind.traditional_label().is_some() {
            let trad = traditional_key(&ws, &id.key, kind);
            let label = format!("-----BEGIN {}-----", kind.traditional_label().unwrap());
            assert!(std::fs::read_to_string(&trad).unwrap().contains(&label));
            inputs.push((format!("{name}-traditional"), trad));
        }
        for (alias, key) in inputs {
            assert_eq!(
                ws.vecs(&[
                    "entry", "create", "--store", "machine", "--alias", &alias, "--cert", &id.cert,
                    "--key", &key
                ])
                .ok(),
                created(&alias, "machine")
            );
            let got = ws.vecs(&["entry", "getkey", "--store", "machine", "--alias", &alias]);
            assert_eq!(got.ok(), format!("{pkcs8}\n"), "{alias}");
            let listed = ws.vecs(&["entry", "list", "--store", "machine"]);
            assert!(listed
                .ok()
                .contains(&format!("Alias :\t{alias}\nEntry type :\tPrivate Key\n")));
        }
    }
}

#[test]
fn key_text_is_what_openssl_prints() {
    let ws = Workspace::new();
    for kind in KeyKind::ALL {
        let alias = format!("{kind:?}");
        let id = identity(&ws, kind, &alias.to_lowercase());
        ws.vecs(&[
            "entry", "create", "--store", "vpxd", "--alias", &alias, "--cert", &id.cert, "--key",
            &id.key,
        ])
        .ok();
        let expected = openssl(ws.dir.path(), &["pkey", "-in", &id.key, "-text", "-noout"]);
        let got = ws.vecs(&[
            "entry", "getkey", "--store", "vpxd", "--alias", &alias, "--text",
        ]);
        assert_eq!(got.ok(), expected, "{kind:?}");
        let cert_text = openssl(ws.dir.path(), &["x509", "-in", &id.cert, "-text", "-noout"]);
        let got = ws.vecs(&[
            "entry", "getcert", "--store", "vpxd", "--alias", &alias, "--text",
        ]);
        assert_eq!(got.ok(), cert_text, "{kind:?}");
    }
}

/// Root → intermediate → leaf, each signed by the one before; returns the PEM files.
fn chain(ws: &Workspace) -> (String, String, String, String) {
    let dir = ws.dir.path();
    let ext = ws.write(
        "ca.ext",
        b"basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n",
    );
    genpkey(dir, KeyKind::EcP384, "root.key");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "root.key",
            "-subj",
            "/CN=Chain Root",
            "-days",
            "30",
            "-out",
            "root.crt",
        ],
    );
    genpkey(dir, KeyKind::EcP256, "int.key");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "int.key",
            "-subj",
            "/CN=Chain Intermediate",
            "-out",
            "int.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "int.csr",
            "-CA",
            "root.crt",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            &ext,
            "-out",
            "int.crt",
        ],
    );
    genpkey(dir, KeyKind::Rsa2048, "leaf.key");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "leaf.key",
            "-subj",
            "/CN=leaf.example",
            "-out",
            "leaf.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "int.crt",
            "-CAkey",
            "int.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-out",
            "leaf.crt",
        ],
    );
    let leaf = ws.read("leaf.crt");
    let int = ws.read("int.crt");
    let root = ws.read("root.crt");
    // Comments and a stray key block between the certificates are dropped, as VECS does.
    let file = ws.write(
        "chain.pem",
        format!("subject=leaf\n{leaf}\n# intermediate\n{int}Bag Attributes: junk\n{root}")
            .as_bytes(),
    );
    (
        file,
        ws.path("leaf.key").to_string_lossy().into_owned(),
        format!("{leaf}{int}{root}"),
        ws.path("leaf.crt").to_string_lossy().into_owned(),
    )
}

#[test]
fn chains_are_kept_leaf_first_and_the_key_matches_the_leaf() {
    let ws = Workspace::new();
    let (file, key, canonical, leaf) = chain(&ws);
    let alias = common::sha1_of(&ws, &leaf);
    assert_eq!(
        ws.vecs(&[
            "entry",
            "create",
            "--store",
            "MACHINE_SSL_CERT",
            "--cert",
            &file,
            "--key",
            &key
        ])
        .ok(),
        created(&alias, "MACHINE_SSL_CERT")
    );
    assert_eq!(
        ws.vecs(&[
            "entry",
            "getcert",
            "--store",
            "MACHINE_SSL_CERT",
            "--alias",
            &alias
        ])
        .ok(),
        format!("{canonical}\n")
    );
    // --text shows the leaf only.
    let leaf_text = openssl(ws.dir.path(), &["x509", "-in", &leaf, "-text", "-noout"]);
    assert_eq!(
        ws.vecs(&["entry", "list", "--store", "MACHINE_SSL_CERT", "--text"]).ok(),
        format!("Number of entries in store :\t1\nAlias :\t{alias}\nEntry type :\tPrivate Key\n{leaf_text}")
    );
}

#[test]
fn getcert_and_getkey_write_private_output_files() {
    let ws = Workspace::new();
    let id = identity(&ws, KeyKind::EcP384, "out");
    ws.vecs(&[
        "entry", "create", "--store", "vpxd", "--alias", "vpxd", "--cert", &id.cert, "--key",
        &id.key,
    ])
    .ok();
    let cert_out = ws.path("exported.crt");
    let key_out = ws.path("exported.key");
    let out = ws.vecs(&[
        "entry",
        "getcert",
        "--store",
        "vpxd",
        "--alias",
        "VPXD",
        "--output",
        cert_out.to_str().unwrap(),
    ]);
    assert_eq!(out.ok(), "");
    let canonical = openssl(ws.dir.path(), &["x509", "-in", &id.cert]);
    assert_eq!(
        std::fs::read_to_string(&cert_out).unwrap(),
        format!("{canonical}\n")
    );
    let out = ws.vecs(&[
        "entry",
        "getkey",
        "--store",
        "vpxd",
        "--alias",
        "vpxd",
        "--output",
        key_out.to_str().unwrap(),
    ]);
    assert_eq!(out.ok(), "");
    let pkcs8 = openssl(ws.dir.path(), &["pkey", "-in", &id.key]);
    assert_eq!(
        std::fs::read_to_string(&key_out).unwrap(),
        format!("{pkcs8}\n")
    );
    for path in [&cert_out, &key_out] {
        assert_eq!(
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // --text with --output prints the text and still writes the PEM.
    let text_out = ws.path("text.crt");
    let out = ws.vecs(&[
        "entry",
        "getcert",
        "--store",
        "vpxd",
        "--alias",
        "vpxd",
        "--text",
        "--output",
        text_out.to_str().unwrap(),
    ]);
    assert!(out.ok().starts_with("Certificate:\n    Data:\n"));
    assert_eq!(
        std::fs::read_to_string(&text_out).unwrap(),
        format!("{canonical}\n")
    );
}

#[test]
fn secret_keys_need_an_alias_and_have_no_certificate() {
    let ws = Workspace::new();
    let secret = ws.write("secret.txt", b"location_password_default=hunter2");
    let out = ws.vecs(&["entry", "create", "--store", "machine", "--key", &secret]);
    out.failed_with(87);
    assert!(out.stderr.starts_with("Error: The alias [] is invalid \n"));
    assert_eq!(
        ws.vecs(&["entry", "create", "--store", "machine", "--alias", "pw", "--key", &secret])
            .ok(),
        created("pw", "machine")
    );
    assert_eq!(
        ws.vecs(&["entry", "getkey", "--store", "machine", "--alias", "pw"])
            .ok(),
        "location_password_default=hunter2\n"
    );
    let out = ws.vecs(&["entry", "getcert", "--store", "machine", "--alias", "pw"]);
    out.failed_with(87);
    assert!(out
        .stderr
        .starts_with("Error: No certificates were found for entry [pw] of type [Secret Key].\n"));
    assert_eq!(
        ws.vecs(&["entry", "list", "--store", "machine"]).ok(),
        "Number of entries in store :\t1\nAlias :\tpw\nEntry type :\tSecret Key\nCertificate :\t\n\n"
    );
    assert_eq!(
        ws.vecs(&["entry", "list", "--store", "machine", "--text"]).ok(),
        "Number of entries in store :\t1\nAlias :\tpw\nEntry type :\tSecret Key\nCertificate :\t\n\n"
    );
}

#[test]
fn getkey_on_a_trusted_cert_and_list_aliases() {
    let ws = Workspace::new();
    let a = identity(&ws, KeyKind::Ed25519, "a");
    let b = identity(&ws, KeyKind::EcP256, "b");
    ws.vecs(&[
        "entry",
        "create",
        "--store",
        "TRUSTED_ROOTS",
        "--alias",
        "zeta",
        "--cert",
        &a.cert,
    ])
    .ok();
    ws.vecs(&[
        "entry",
        "create",
        "--store",
        "TRUSTED_ROOTS",
        "--alias",
        "alpha",
        "--cert",
        &b.cert,
    ])
    .ok();
    let out = ws.vecs(&[
        "entry",
        "getkey",
        "--store",
        "TRUSTED_ROOTS",
        "--alias",
        "zeta",
    ]);
    out.failed_with(87);
    assert!(out
        .stderr
        .starts_with("Error: No key was found for entry [zeta] of type [Trusted Cert]\n"));
    // Insertion order, not alphabetical.
    assert_eq!(
        ws.vecs(&["entry", "list", "--store", "TRUSTED_ROOTS", "--aliases"])
            .ok(),
        "Number of entries in store :\t2\nzeta\nalpha\n"
    );
    // The vCenter name of the CRL store works wherever a store name is taken.
    assert_eq!(
        ws.vecs(&["entry", "list", "--store", "TRUSTED_ROOT_CRLS"])
            .ok(),
        "Number of entries in store :\t0\n"
    );
}

#[test]
fn encrypted_private_keys_need_their_password() {
    let ws = Workspace::new();
    let id = identity(&ws, KeyKind::Rsa2048, "enc");
    ws.vecs(&[
        "entry",
        "create",
        "--store",
        "vpxd-extension",
        "--alias",
        "ext",
        "--cert",
        &id.cert,
        "--key",
        &id.key,
        "--password",
        "s3cret",
    ])
    .ok();
    assert!(ws
        .vecs(&["entry", "list", "--store", "vpxd-extension"])
        .ok()
        .contains("Entry type :\tEncrypted Private Key\n"));
    let before = ws.snapshot("vpxd-extension");
    ws.vecs(&[
        "entry",
        "getkey",
        "--store",
        "vpxd-extension",
        "--alias",
        "ext",
    ])
    .failed_with(1323);
    let out = ws.vecs(&[
        "entry",
        "getkey",
        "--store",
        "vpxd-extension",
        "--alias",
        "ext",
        "--password",
        "wrong",
    ]);
    out.failed_with(1323);
    assert_eq!(out.code, 43);
    assert_eq!(ws.snapshot("vpxd-extension"), before);
    let pkcs8 = openssl(ws.dir.path(), &["pkey", "-in", &id.key]);
    assert_eq!(
        ws.vecs(&[
            "entry",
            "getkey",
            "--store",
            "vpxd-extension",
            "--alias",
            "ext",
            "--password",
            "s3cret"
        ])
        .ok(),
        format!("{pkcs8}\n")
    );
}

#[test]
fn duplicate_aliases_are_refused_without_overwriting() {
    let ws = Workspace::new();
    let first = identity(&ws, KeyKind::EcP256, "first");
    let second = identity(&ws, KeyKind::EcP256, "second");
    ws.vecs(&[
        "entry",
        "create",
        "--store",
        "machine",
        "--alias",
        "Machine",
        "--cert",
        &first.cert,
    ])
    .ok();
    let before = ws.snapshot("machine");
    ws.vecs(&[
        "entry",
        "create",
        "--store",
        "machine",
        "--alias",
        "MACHINE",
        "--cert",
        &second.cert,
    ])
    .failed_with(183);
    ws.vecs(&[
        "entry",
        "create",
        "--store",
        "machine",
        "--alias",
        "machine",
        "--cert",
        &second.cert,
        "--key",
        &second.key,
    ])
    .failed_with(183);
    assert_eq!(ws.snapshot("machine"), before);
}

#[test]
fn entry_delete_asks_and_reports_success_even_when_absent() {
    let ws = Workspace::new();
    let id = identity(&ws, KeyKind::EcP256, "del");
    ws.vecs(&[
        "entry", "create", "--store", "machine", "--alias", "x", "--cert", &id.cert,
    ])
    .ok();
    let prompt = "Warning: This operation will delete entry [x] from store [machine]\nDo you wish to continue? Y/N [N] \n";
    assert_eq!(
        ws.vecs_with_input(
            &["entry", "delete", "--store", "machine", "--alias", "x"],
            b"n"
        )
        .ok(),
        prompt
    );
    assert!(ws
        .vecs(&["entry", "list", "--store", "machine"])
        .ok()
        .contains("Alias :\tx\n"));
    assert_eq!(
        ws.vecs_with_input(
            &["entry", "delete", "--store", "machine", "--alias", "X"],
            b"Y\n"
        )
        .ok(),
        "Warning: This operation will delete entry [X] from store [machine]\nDo you wish to continue? Y/N [N] \nDeleted entry with alias [X] in store [machine] successfully\n "
    );
    assert_eq!(
        ws.vecs(&["entry", "list", "--store", "machine"]).ok(),
        "Number of entries in store :\t0\n"
    );
    assert_eq!(
        ws.vecs(&["entry", "delete", "--store", "machine", "--alias", "never", "-y"])
            .ok(),
        "Deleted entry with alias [never] in store [machine] successfully\n "
    );
    let out = ws.vecs(&[
        "entry", "delete", "--store", "nostore", "--alias", "x", "-y",
    ]);
    out.failed_with(4312);
    assert!(out.stderr.starts_with("Error: Failed to open the store\n"));
    let out = ws.vecs(&["entry", "delete", "--alias", "x", "-y"]);
    out.failed_with(87);
    assert!(out
        .stderr
        .starts_with("Error : An invalid store name [] was specified\n "));
}

#[test]
fn entry_commands_on_missing_stores_and_aliases() {
    let ws = Workspace::new();
    let id = identity(&ws, KeyKind::EcP256, "m");
    let out = ws.vecs(&[
        "entry", "create", "--store", "nostore", "--alias", "a", "--cert", &id.cert,
    ]);
    out.failed_with(4312);
    assert!(out.stderr.starts_with("Error: Failed to open the store.\n"));
    let out = ws.vecs(&["entry", "list", "--store", "nostore"]);
    out.failed_with(4312);
    assert!(out.stderr.starts_with("vecs-cli failed"));
    let out = ws.vecs(&["entry", "getcert", "--store", "nostore", "--alias", "a"]);
    out.failed_with(4312);
    assert!(out.stderr.starts_with("Error: Failed to open the store.\n"));
    ws.vecs(&["entry", "getcert", "--store", "machine", "--alias", "a"])
        .failed_with(4312);
    ws.vecs(&["entry", "getkey", "--store", "machine", "--alias", "a"])
        .failed_with(4312);
    let out = ws.vecs(&["entry", "getcert", "--store", "machine"]);
    out.failed_with(87);
    assert!(out
        .stderr
        .starts_with("Error: The store name [machine] or the Alias [] is invalid \n"));
    let out = ws.vecs(&["entry", "create", "--alias", "a", "--cert", &id.cert]);
    out.failed_with(87);
    assert!(out
        .stderr
        .starts_with("Error: The store name [] is invalid \n"));
    let out = ws.vecs(&["entry", "list"]);
    out.failed_with(87);
    assert!(out
        .stderr
        .starts_with("Error : An invalid store name [] was specified \n"));
}

#[test]
fn a_key_in_an_encrypted_file_is_refused_clearly() {
    let ws = Workspace::new();
    let id = identity(&ws, KeyKind::EcP256, "encin");
    let encrypted = ws.path("enc.key");
    openssl_with_input(
        ws.dir.path(),
        &[
            "pkcs8",
            "-topk8",
            "-in",
            &id.key,
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:pw",
            "-out",
            encrypted.to_str().unwrap(),
        ],
        b"",
    );
    let before = ws.snapshot("machine");
    let out = ws.vecs(&[
        "entry",
        "create",
        "--store",
        "machine",
        "--alias",
        "a",
        "--cert",
        &id.cert,
        "--key",
        encrypted.to_str().unwrap(),
    ]);
    out.failed_with(11);
    assert!(out.stderr.contains("encrypted"));
    assert_eq!(ws.snapshot("machine"), before);
}
