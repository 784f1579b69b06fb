//! Every certificate of the Debian CA bundle goes through vecs-cli, and `--text` prints each one
//! exactly as `openssl x509 -text -noout` does.

mod common;

use common::{openssl_with_input, Workspace};

const BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

fn bundle_certificates() -> Vec<String> {
    let bundle = std::fs::read_to_string(BUNDLE)
        .unwrap_or_else(|e| panic!("{BUNDLE}: {e} (install the ca-certificates package)"));
    let end = "-----END CERTIFICATE-----\n";
    bundle
        .split_inclusive(end)
        .filter_map(|block| {
            block
                .find("-----BEGIN CERTIFICATE-----")
                .map(|i| block[i..].to_string())
        })
        .collect()
}

#[test]
fn the_debian_bundle_round_trips_and_prints_as_openssl() {
    let ws = Workspace::new();
    let certs = bundle_certificates();
    assert!(
        certs.len() > 100,
        "only {} certificates in {BUNDLE}",
        certs.len()
    );
    let mut mismatches = Vec::new();
    for (i, pem) in certs.iter().enumerate() {
        let file = ws.write(&format!("ca{i}.pem"), pem.as_bytes());
        let created = ws.vecs(&[
            "entry",
            "create",
            "--store",
            "TRUSTED_ROOTS",
            "--cert",
            &file,
        ]);
        let alias = created
            .ok()
            .strip_prefix("Entry with alias [")
            .and_then(|s| s.split(']').next())
            .expect("alias in the success line")
            .to_string();
        let expected_pem = openssl_with_input(ws.dir.path(), &["x509"], pem.as_bytes());
        let got = ws.vecs(&[
            "entry",
            "getcert",
            "--store",
            "TRUSTED_ROOTS",
            "--alias",
            &alias,
        ]);
        assert_eq!(got.ok(), format!("{expected_pem}\n"), "certificate {i}");
        let expected_text =
            openssl_with_input(ws.dir.path(), &["x509", "-text", "-noout"], pem.as_bytes());
        let text = ws.vecs(&[
            "entry",
            "getcert",
            "--store",
            "TRUSTED_ROOTS",
            "--alias",
            &alias,
            "--text",
        ]);
        if text.ok() != expected_text {
            mismatches.push(first_difference(i, &expected_text, &text.stdout));
        }
    }
    let listed = ws.vecs(&["entry", "list", "--store", "TRUSTED_ROOTS", "--aliases"]);
    assert!(listed
        .ok()
        .starts_with(&format!("Number of entries in store :\t{}\n", certs.len())));
    assert!(
        mismatches.is_empty(),
        "{} of {} certificates print differently from openssl:\n{}",
        mismatches.len(),
        certs.len(),
        mismatches.join("\n")
    );
    eprintln!(
        "compared {} certificates of {BUNDLE} with openssl x509 -text",
        certs.len()
    );
}

fn first_difference(index: usize, expected: &str, got: &str) -> String {
    let line = expected
        .lines()
        .zip(got.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| expected.lines().count().min(got.lines().count()));
    format!(
        "certificate {index}, line {}:\n  openssl: {:?}\n  vecs:    {:?}",
        line + 1,
        expected.lines().nth(line),
        got.lines().nth(line)
    )
}
