//! Byte-for-byte comparisons with the installed `openssl` (3.0) binary.

use super::{certificate_text, certificate_text_bytes, private_key_text};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `openssl args...` with `input` on stdin and returns stdout, panicking on failure.
fn openssl(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl must be installed to run these tests");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("openssl output");
    writer.join().expect("writer thread").expect("write to openssl");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Runs openssl in `dir` without stdin (for generating material).
fn openssl_in(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl must be installed to run these tests");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Splits a PEM bundle into the DER of each CERTIFICATE block.
fn pem_certificates(pem: &str) -> Vec<Vec<u8>> {
    let mut certs = Vec::new();
    let mut body = String::new();
    let mut inside = false;
    for line in pem.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            inside = true;
            body.clear();
        } else if line == "-----END CERTIFICATE-----" {
            inside = false;
            certs.push(base64_decode(&body));
        } else if inside {
            body.push_str(line);
        }
    }
    certs
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// A unified-style excerpt around the first differing line.
fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let expected = String::from_utf8_lossy(expected);
    let actual = String::from_utf8_lossy(actual);
    let e: Vec<&str> = expected.split('\n').collect();
    let a: Vec<&str> = actual.split('\n').collect();
    let at = e
        .iter()
        .zip(a.iter())
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let from = at.saturating_sub(3);
    let mut diff = format!("@@ line {} @@\n", at + 1);
    for line in e.iter().take(at).skip(from) {
        diff.push_str(&format!(" {line:?}\n"));
    }
    for line in e.iter().skip(at).take(4) {
        diff.push_str(&format!("-{line:?}\n"));
    }
    for line in a.iter().skip(at).take(4) {
        diff.push_str(&format!("+{line:?}\n"));
    }
    diff
}

fn subject_of(text: &[u8]) -> String {
    String::from_utf8_lossy(text)
        .lines()
        .find(|l| l.trim_start().starts_with("Subject:"))
        .unwrap_or("(no subject line)")
        .trim()
        .to_string()
}

/// Compares our rendering of `der` with `openssl x509 -text -noout`; returns a report on
/// mismatch.
fn compare_certificate(der: &[u8]) -> Result<(), String> {
    let expected = openssl(&["x509", "-inform", "DER", "-text", "-noout"], der);
    match certificate_text_bytes(der) {
        Ok(actual) if actual == expected => Ok(()),
        Ok(actual) => Err(format!(
            "{}\n{}",
            subject_of(&expected),
            first_difference(&expected, &actual)
        )),
        Err(err) => Err(format!("{}: error {err}", subject_of(&expected))),
    }
}

fn assert_certificate_matches(der: &[u8]) {
    if let Err(report) = compare_certificate(der) {
        panic!("certificate text differs from openssl:\n{report}");
    }
}

#[test]
fn every_certificate_in_the_system_bundle_matches_openssl() {
    let bundle_path = "/etc/ssl/certs/ca-certificates.crt";
    let bundle = std::fs::read_to_string(bundle_path).expect("CA bundle present");
    let certs = pem_certificates(&bundle);
    assert!(certs.len() > 100, "only {} certificates in {bundle_path}", certs.len());
    let failures: Vec<String> = certs
        .iter()
        .enumerate()
        .filter_map(|(i, der)| compare_certificate(der).err().map(|r| format!("#{i}: {r}")))
        .collect();
    eprintln!(
        "compared {} bundle certificates with openssl, {} differ",
        certs.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
