//! Byte-for-byte comparisons with the installed `openssl` (3.0) binary.

use super::{certificate_text, certificate_text_bytes, private_key_text};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `openssl args...` with `input` on stdin and returns stdout, panicking on failure.
pub(super) fn openssl(args: &[&str], input: &[u8]) -> Vec<u8> {
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
    writer
        .join()
        .expect("writer thread")
        .expect("write to openssl");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Runs openssl in `dir` without stdin (for generating material).
pub(super) fn openssl_in(dir: &Path, args: &[&str]) {
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
pub(super) fn pem_certificates(pem: &str) -> Vec<Vec<u8>> {
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
pub(super) fn compare_certificate(der: &[u8]) -> Result<(), String> {
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

pub(super) fn assert_certificate_matches(der: &[u8]) {
    if let Err(report) = compare_certificate(der) {
        panic!("certificate text differs from openssl:\n{report}");
    }
}

#[test]
fn every_certificate_in_the_system_bundle_matches_openssl() {
    let bundle_path = "/etc/ssl/certs/ca-certificates.crt";
    let bundle = std::fs::read_to_string(bundle_path).expect("CA bundle present");
    let certs = pem_certificates(&bundle);
    assert!(
        certs.len() > 100,
        "only {} certificates in {bundle_path}",
        certs.len()
    );
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

// ---------------------------------------------------------------------------------------
// Certificates and keys made by `openssl` at test time

/// A scratch directory with helpers to make keys and certificates with openssl.
pub(super) struct Workshop {
    dir: tempfile::TempDir,
}

impl Workshop {
    pub(super) fn new() -> Workshop {
        Workshop {
            dir: tempfile::TempDir::new().expect("temp dir"),
        }
    }

    pub(super) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(super) fn run(&self, args: &[&str]) {
        openssl_in(self.path(), args);
    }

    pub(super) fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path().join(name)).expect("generated file")
    }

    /// DER of a PEM certificate in the workshop.
    pub(super) fn cert_der(&self, pem_name: &str) -> Vec<u8> {
        let pem = self.read(pem_name);
        openssl(&["x509", "-outform", "DER"], &pem)
    }

    /// A self-signed certificate from `openssl req -x509` with a fresh key.
    pub(super) fn self_signed(&self, name: &str, newkey: &[&str], extra: &[&str]) -> Vec<u8> {
        let key = format!("{name}.key");
        let pem = format!("{name}.pem");
        let mut args = vec!["req", "-x509", "-nodes", "-days", "30"];
        args.extend_from_slice(newkey);
        args.extend_from_slice(&["-keyout", &key, "-out", &pem]);
        args.extend_from_slice(extra);
        self.run(&args);
        self.cert_der(&pem)
    }
}

#[test]
fn certificates_made_by_openssl_match() {
    let w = Workshop::new();
    let san = [
        "-addext",
        "subjectAltName=DNS:example.com,DNS:*.example.org,IP:192.0.2.1,IP:2001:db8::1,\
         email:admin@example.com,URI:https://example.com/path",
        "-addext",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "-addext",
        "extendedKeyUsage=serverAuth,clientAuth,codeSigning,1.2.3.4",
    ];
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let curve =
        |name: &'static str| -> Vec<&'static str> { vec!["-newkey", "ec", "-pkeyopt", name] };
    for (name, newkey) in [
        ("rsa2048", vec!["-newkey", "rsa:2048"]),
        ("rsa4096", vec!["-newkey", "rsa:4096"]),
        ("p256", curve("ec_paramgen_curve:P-256")),
        ("p384", curve("ec_paramgen_curve:P-384")),
        ("p521", curve("ec_paramgen_curve:P-521")),
        ("ed25519", vec!["-newkey", "ed25519"]),
    ] {
        let subject = format!("/C=US/O=Example, Inc./CN={name}");
        let mut extra = vec!["-subj", subject.as_str()];
        extra.extend_from_slice(&san);
        cases.push((name, w.self_signed(name, &newkey, &extra)));
    }
    let rsa = ["-newkey", "rsa:2048"];
    cases.push((
        "serial 5",
        w.self_signed("s5", &rsa, &["-subj", "/CN=small", "-set_serial", "5"]),
    ));
    cases.push((
        "20-byte serial",
        w.self_signed(
            "s20",
            &rsa,
            &[
                "-subj",
                "/CN=big",
                "-set_serial",
                "0x7fa1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3",
            ],
        ),
    ));
    cases.push((
        "negative serial",
        w.self_signed("sneg", &rsa, &["-subj", "/CN=neg", "-set_serial", "-4660"]),
    ));
    cases.push((
        "UTF-8 subject",
        w.self_signed(
            "utf8",
            &rsa,
            &["-utf8", "-subj", "/CN=Fő tanúsítvány/O=Ünïcödé"],
        ),
    ));
    cases.push((
        "multi-valued RDN",
        w.self_signed("mv", &rsa, &["-multivalue-rdn", "-subj", "/CN=a+OU=b/O=x"]),
    ));
    cases.push((
        "notAfter after 2049",
        w.self_signed("far", &rsa, &["-subj", "/CN=far", "-days", "15000"]),
    ));
    cases.push((
        "RSA-PSS signature",
        w.self_signed(
            "pss",
            &rsa,
            &["-subj", "/CN=pss", "-sigopt", "rsa_padding_mode:pss"],
        ),
    ));
    cases.push((
        "RSA-PSS salt 32",
        w.self_signed(
            "pss32",
            &rsa,
            &[
                "-subj",
                "/CN=pss",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:32",
            ],
        ),
    ));
    cases.push((
        "sha1",
        w.self_signed("sha1", &rsa, &["-subj", "/CN=sha1", "-sha1"]),
    ));
    cases.push((
        "md5",
        w.self_signed("md5", &rsa, &["-subj", "/CN=md5", "-md5"]),
    ));
    cases.push((
        "RSA-PSS key",
        w.self_signed("psskey", &["-newkey", "rsa-pss"], &["-subj", "/CN=k"]),
    ));
    cases.push((
        "Ed448",
        w.self_signed("ed448", &["-newkey", "ed448"], &["-subj", "/CN=ed448"]),
    ));
    cases.push((
        "many extensions",
        w.self_signed(
            "ext",
            &rsa,
            &[
                "-subj",
                "/CN=ext/emailAddress=x@example.com",
                "-addext",
                "basicConstraints=critical,CA:TRUE,pathlen:3",
                "-addext",
                "nsCertType=server,client,sslCA",
                "-addext",
                "nsComment=Hello world",
                "-addext",
                "certificatePolicies=1.2.3.4,2.5.29.32.0",
                "-addext",
                "crlDistributionPoints=URI:http://crl.example/a.crl,URI:ldap://x",
                "-addext",
                "authorityInfoAccess=OCSP;URI:http://ocsp.example,caIssuers;URI:http://ca.example/ca.crt",
                "-addext",
                "nameConstraints=permitted;DNS:.example.com,permitted;IP:192.168.0.0/255.255.0.0,\
                 excluded;email:.bad.com,excluded;IP:2001:db8::/ffff:ffff::",
                "-addext",
                "policyConstraints=requireExplicitPolicy:3,inhibitPolicyMapping:1",
                "-addext",
                "inhibitAnyPolicy=2",
                "-addext",
                "issuerAltName=DNS:issuer.example,email:i@x",
                "-addext",
                "tlsfeature=status_request",
                "-addext",
                "authorityKeyIdentifier=keyid:always,issuer:always",
            ],
        ),
    ));
    cases.push(("chain", chain_leaf(&w)));
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, der)| {
            compare_certificate(der)
                .err()
                .map(|r| format!("{name}: {r}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A leaf signed by an intermediate signed by a root, all made with openssl.
fn chain_leaf(w: &Workshop) -> Vec<u8> {
    w.run(&[
        "req",
        "-x509",
        "-nodes",
        "-newkey",
        "rsa:2048",
        "-keyout",
        "root.key",
        "-out",
        "root.pem",
        "-subj",
        "/CN=Test Root",
        "-days",
        "30",
    ]);
    w.run(&[
        "req",
        "-new",
        "-nodes",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-keyout",
        "int.key",
        "-out",
        "int.csr",
        "-subj",
        "/O=Test/CN=Test Intermediate",
    ]);
    std::fs::write(
        w.path().join("int.ext"),
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n",
    )
    .expect("write extfile");
    w.run(&[
        "x509",
        "-req",
        "-in",
        "int.csr",
        "-CA",
        "root.pem",
        "-CAkey",
        "root.key",
        "-set_serial",
        "4096",
        "-days",
        "30",
        "-extfile",
        "int.ext",
        "-out",
        "int.pem",
    ]);
    w.run(&[
        "req",
        "-new",
        "-nodes",
        "-newkey",
        "rsa:2048",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=leaf.example",
    ]);
    std::fs::write(
        w.path().join("leaf.ext"),
        "subjectAltName=DNS:leaf.example\nextendedKeyUsage=serverAuth\n\
         authorityKeyIdentifier=keyid:always\n",
    )
    .expect("write extfile");
    w.run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "int.pem",
        "-CAkey",
        "int.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        "leaf.ext",
        "-sha384",
        "-out",
        "leaf.pem",
    ]);
    let int = w.cert_der("int.pem");
    assert_certificate_matches(&int);
    w.cert_der("leaf.pem")
}

/// Compares `private_key_text` for a PEM key file with `openssl pkey -text -noout`.
pub(super) fn compare_key(w: &Workshop, key_name: &str) -> Result<(), String> {
    let pem = w.read(key_name);
    let pkcs8 = openssl(&["pkcs8", "-topk8", "-nocrypt", "-outform", "DER"], &pem);
    let spki = openssl(&["pkey", "-pubout", "-outform", "DER"], &pem);
    let expected = openssl(&["pkey", "-inform", "DER", "-text", "-noout"], &pkcs8);
    match private_key_text(&pkcs8, &spki) {
        Ok(actual) if actual.as_bytes() == expected.as_slice() => Ok(()),
        // Key material: report only where the texts diverge, not the texts themselves.
        Ok(actual) => {
            let at = actual
                .bytes()
                .zip(expected.iter())
                .position(|(a, e)| a != *e)
                .unwrap_or(actual.len().min(expected.len()));
            Err(format!("{key_name}: differs from openssl at byte {at}"))
        }
        Err(err) => Err(format!("{key_name}: {err}")),
    }
}

#[test]
fn private_keys_made_by_openssl_match() {
    let w = Workshop::new();
    let keys: [(&str, &[&str]); 11] = [
        (
            "rsa2048.key",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        ),
        (
            "rsa3primes.key",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_primes:3"],
        ),
        ("rsapss.key", &["-algorithm", "RSA-PSS"]),
        (
            "rsapss-restricted.key",
            &[
                "-algorithm",
                "RSA-PSS",
                "-pkeyopt",
                "rsa_pss_keygen_md:sha256",
                "-pkeyopt",
                "rsa_pss_keygen_saltlen:32",
            ],
        ),
        (
            "p256.key",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
        (
            "p384.key",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        ),
        (
            "p521.key",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
        ),
        (
            "k256.key",
            &[
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:secp256k1",
            ],
        ),
        ("ed25519.key", &["-algorithm", "ED25519"]),
        ("ed448.key", &["-algorithm", "ED448"]),
        ("x25519.key", &["-algorithm", "X25519"]),
    ];
    let mut failures = Vec::new();
    for (name, algorithm) in keys {
        let mut args = vec!["genpkey"];
        args.extend_from_slice(algorithm);
        args.extend_from_slice(&["-out", name]);
        w.run(&args);
        if let Err(report) = compare_key(&w, name) {
            failures.push(report);
        }
    }
    // An EC key whose PKCS#8 lacks the public point: it comes from the SPKI instead.
    w.run(&[
        "ec",
        "-in",
        "p256.key",
        "-no_public",
        "-out",
        "p256-nopub.key",
    ]);
    // An EC key that stores its point compressed: OpenSSL prints it as stored.
    w.run(&[
        "ec",
        "-in",
        "k256.key",
        "-conv_form",
        "compressed",
        "-out",
        "k256-compressed.key",
    ]);
    for name in ["p256-nopub.key", "k256-compressed.key"] {
        if let Err(report) = compare_key(&w, name) {
            failures.push(report);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Malformed input

#[test]
fn truncated_or_garbled_certificates_are_errors_not_panics() {
    let bundle =
        std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").expect("CA bundle present");
    let der = pem_certificates(&bundle)
        .into_iter()
        .next()
        .expect("a certificate");
    assert!(certificate_text(&der).is_ok());
    for len in 0..der.len() {
        assert!(
            certificate_text(&der[..len]).is_err(),
            "truncated to {len} bytes"
        );
    }
    assert!(
        certificate_text(&[der.clone(), vec![0]].concat()).is_err(),
        "trailing byte"
    );
    // Flipping bytes must never panic; most flips are errors, some still render.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..3000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut garbled = der.clone();
        let at = (state % garbled.len() as u64) as usize;
        garbled[at] ^= (state >> 32) as u8 | 1;
        let _ = certificate_text(&garbled);
    }
    for junk in [
        &b""[..],
        b"\x30",
        b"\x30\x80\x00\x00",
        b"\x30\x84\xff\xff\xff\xff",
        b"not a certificate",
    ] {
        assert!(certificate_text(junk).is_err());
    }
}

#[test]
fn truncated_or_mismatched_keys_are_errors_not_panics() {
    let w = Workshop::new();
    w.run(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "ec.key",
    ]);
    w.run(&["genpkey", "-algorithm", "ED25519", "-out", "ed.key"]);
    let pkcs8 = openssl(
        &["pkcs8", "-topk8", "-nocrypt", "-outform", "DER"],
        &w.read("ec.key"),
    );
    let spki = openssl(&["pkey", "-pubout", "-outform", "DER"], &w.read("ec.key"));
    let ed_spki = openssl(&["pkey", "-pubout", "-outform", "DER"], &w.read("ed.key"));
    assert!(private_key_text(&pkcs8, &spki).is_ok());
    for len in 0..pkcs8.len() {
        assert!(
            private_key_text(&pkcs8[..len], &spki).is_err(),
            "truncated to {len} bytes"
        );
    }
    for len in 0..spki.len() {
        assert!(
            private_key_text(&pkcs8, &spki[..len]).is_err(),
            "SPKI truncated to {len} bytes"
        );
    }
    assert!(
        private_key_text(&pkcs8, &ed_spki).is_err(),
        "SPKI of another key type"
    );
    assert!(private_key_text(b"junk", b"junk").is_err());
}
