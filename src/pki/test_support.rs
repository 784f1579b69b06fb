//! Test material made by the `openssl` command, our oracle for what OpenSSL (and so VECS) does.
//!
//! Each test gets its own directory; files are made on first use, so a test pays only for
//! the keys it reads.

use std::path::PathBuf;
use std::process::Command;
use tempfile::TempDir;

/// Runs `openssl` with the arguments and panics with its stderr if it fails.
pub(crate) fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl command is needed by the PKI tests");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub(crate) fn openssl_stdout(args: &[&str]) -> String {
    String::from_utf8(openssl(args)).expect("openssl printed text")
}

/// Runs `openssl` with input on stdin.
pub(crate) fn openssl_with_stdin(args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the openssl command is needed by the PKI tests");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin).expect("write to openssl");
    }
    child.wait_with_output().expect("openssl output")
}

pub(crate) struct Material {
    dir: TempDir,
}

impl Material {
    pub(crate) fn new() -> Self {
        Material {
            dir: TempDir::new().expect("temp dir"),
        }
    }

    /// The path of a material file, made first if it is one of the known recipes.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if !path.exists() {
            self.make(name);
        }
        path
    }

    /// The material's directory, for files a test writes itself.
    pub(crate) fn dir_path(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub(crate) fn path_str(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }

    pub(crate) fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).expect("material file")
    }

    /// `openssl x509 -fingerprint -sha1` as VECS prints aliases: lower case, no colons.
    pub(crate) fn sha1_fingerprint(&self, cert: &str) -> String {
        let out = openssl_stdout(&[
            "x509",
            "-in",
            &self.path_str(cert),
            "-noout",
            "-fingerprint",
            "-sha1",
        ]);
        let hex = out.trim().rsplit('=').next().expect("fingerprint");
        hex.replace(':', "").to_lowercase()
    }

    pub(crate) fn random_bytes(&self, len: usize) -> Vec<u8> {
        openssl(&["rand", &len.to_string()])
    }

    fn out(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn genpkey(&self, name: &str, opts: &[&str]) {
        let out = self.out(name);
        let mut args = vec!["genpkey", "-out", &out];
        args.extend_from_slice(opts);
        openssl(&args);
    }

    fn make(&self, name: &str) {
        match name {
            "rsa.key" | "root.key" | "inter.key" => {
                self.genpkey(
                    name,
                    &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                );
            }
            "leaf.key" | "p256.key" => {
                self.genpkey(
                    name,
                    &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                );
            }
            "p384.key" => self.genpkey(
                name,
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            ),
            "p521.key" => self.genpkey(
                name,
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
            ),
            "ed25519.key" => self.genpkey(name, &["-algorithm", "ED25519"]),
            "x25519.key" => self.genpkey(name, &["-algorithm", "X25519"]),
            "ed448.key" => self.genpkey(name, &["-algorithm", "ED448"]),
            "rsa512.key" => self.genpkey(
                name,
                &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:512"],
            ),
            "rsa-pss.key" => self.genpkey(
                name,
                &["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"],
            ),
            "secp256k1.key" => {
                self.genpkey(
                    name,
                    &[
                        "-algorithm",
                        "EC",
                        "-pkeyopt",
                        "ec_paramgen_curve:secp256k1",
                    ],
                );
            }
            "brainpool.key" => {
                self.genpkey(
                    name,
                    &[
                        "-algorithm",
                        "EC",
                        "-pkeyopt",
                        "ec_paramgen_curve:brainpoolP256r1",
                    ],
                );
            }
            "dh.key" => self.genpkey(name, &["-algorithm", "DH", "-pkeyopt", "group:ffdhe2048"]),
            "dsa.key" => {
                openssl(&["dsaparam", "-out", &self.out("dsa.params"), "1024"]);
                self.genpkey(name, &["-paramfile", &self.out("dsa.params")]);
            }
            "dsa-traditional.key" => {
                // `openssl dsa` still writes the traditional "DSA PRIVATE KEY" form.
                openssl(&[
                    "dsa",
                    "-in",
                    &self.path_str("dsa.key"),
                    "-out",
                    &self.out(name),
                ]);
            }
            "rsa-pkcs1.key" => {
                openssl(&["genrsa", "-traditional", "-out", &self.out(name), "2048"]);
            }
            "p256-sec1.key" | "p384-sec1.key" | "p521-sec1.key" | "secp256k1-sec1.key" => {
                let curve = match name {
                    "p256-sec1.key" => "prime256v1",
                    "p384-sec1.key" => "secp384r1",
                    "p521-sec1.key" => "secp521r1",
                    _ => "secp256k1",
                };
                openssl(&[
                    "ecparam",
                    "-name",
                    curve,
                    "-genkey",
                    "-out",
                    &self.out(name),
                ]);
            }
            "explicit-sec1.key" => {
                let out = self.out(name);
                openssl(&[
                    "ecparam",
                    "-name",
                    "prime256v1",
                    "-genkey",
                    "-noout",
                    "-param_enc",
                    "explicit",
                    "-out",
                    &out,
                ]);
            }
            "rsa.enc" | "rsa.3des" | "p256.scrypt" => {
                let (key, scheme): (&str, &[&str]) = match name {
                    "rsa.enc" => ("rsa.key", &["-v2", "aes-256-cbc"]),
                    "rsa.3des" => ("rsa.key", &["-v2", "des3"]),
                    _ => ("p256.key", &["-scrypt"]),
                };
                let (input, out) = (self.path_str(key), self.out(name));
                let mut args = vec![
                    "pkcs8",
                    "-topk8",
                    "-in",
                    &input,
                    "-passout",
                    "pass:secret",
                    "-out",
                    &out,
                ];
                args.extend_from_slice(scheme);
                openssl(&args);
            }
            "rsa-legacy.enc" => {
                let input = self.path_str("rsa-pkcs1.key");
                openssl(&[
                    "rsa",
                    "-in",
                    &input,
                    "-aes256",
                    "-traditional",
                    "-passout",
                    "pass:secret",
                    "-out",
                    &self.out(name),
                ]);
            }
            "p256c.key" => {
                // The same key with its public point compressed; certificates made from it
                // carry a compressed point too.
                let input = self.path_str("p256.key");
                openssl(&[
                    "ec",
                    "-in",
                    &input,
                    "-conv_form",
                    "compressed",
                    "-out",
                    &self.out(name),
                ]);
            }
            "rsa.crt" | "p256.crt" | "p256c.crt" | "p384.crt" | "p521.crt" | "ed25519.crt"
            | "root.crt" => {
                let stem = name.trim_end_matches(".crt");
                let key = self.path_str(&format!("{stem}.key"));
                let subj = format!("/CN={stem}");
                openssl(&[
                    "req",
                    "-x509",
                    "-new",
                    "-key",
                    &key,
                    "-subj",
                    &subj,
                    "-days",
                    "30",
                    "-out",
                    &self.out(name),
                ]);
            }
            "inter.crt" => self.issue("inter", "root", true, "2"),
            "leaf.crt" => self.issue("leaf", "inter", false, "3"),
            "leaf.der" => {
                openssl(&[
                    "x509",
                    "-in",
                    &self.path_str("leaf.crt"),
                    "-outform",
                    "DER",
                    "-out",
                    &self.out(name),
                ]);
            }
            "chain.pem" => {
                let chain: Vec<u8> = ["leaf.crt", "inter.crt", "root.crt"]
                    .iter()
                    .flat_map(|f| self.read(f))
                    .collect();
                std::fs::write(self.out(name), chain).expect("write chain");
            }
            "ca.cnf" => self.make_ca(),
            "crl.pem" => {
                let cnf = self.path_str("ca.cnf");
                openssl(&[
                    "ca",
                    "-config",
                    &cnf,
                    "-revoke",
                    &self.path_str("inter.crt"),
                ]);
                openssl(&["ca", "-config", &cnf, "-gencrl", "-out", &self.out(name)]);
            }
            "crl.der" => {
                openssl(&[
                    "crl",
                    "-in",
                    &self.path_str("crl.pem"),
                    "-outform",
                    "DER",
                    "-out",
                    &self.out(name),
                ]);
            }
            "expired.crt" => {
                let cnf = self.path_str("ca.cnf");
                let csr = self.path_str("leaf.csr");
                openssl(&[
                    "ca",
                    "-config",
                    &cnf,
                    "-batch",
                    "-notext",
                    "-in",
                    &csr,
                    "-startdate",
                    "20000101000000Z",
                    "-enddate",
                    "20010101000000Z",
                    "-out",
                    &self.out(name),
                ]);
            }
            "leaf.csr" | "inter.csr" => {
                let stem = name.trim_end_matches(".csr");
                let key = self.path_str(&format!("{stem}.key"));
                let subj = format!("/CN={stem}");
                openssl(&[
                    "req",
                    "-new",
                    "-key",
                    &key,
                    "-subj",
                    &subj,
                    "-out",
                    &self.out(name),
                ]);
            }
            "ca.ext" => {
                std::fs::write(self.out(name), "basicConstraints=critical,CA:TRUE\n").expect("ext")
            }
            _ => {}
        }
    }

    fn issue(&self, stem: &str, issuer: &str, ca: bool, serial: &str) {
        let csr = self.path_str(&format!("{stem}.csr"));
        let issuer_crt = self.path_str(&format!("{issuer}.crt"));
        let issuer_key = self.path_str(&format!("{issuer}.key"));
        let out = self.out(&format!("{stem}.crt"));
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &issuer_crt,
            "-CAkey",
            &issuer_key,
            "-set_serial",
            serial,
            "-days",
            "30",
            "-out",
            &out,
        ];
        let ext = self.path_str("ca.ext");
        if ca {
            args.extend_from_slice(&["-extfile", &ext]);
        }
        openssl(&args);
    }

    /// A minimal `openssl ca` directory around root.crt, for CRLs and back-dated certificates.
    fn make_ca(&self) {
        let dir = self.dir.path().join("ca");
        std::fs::create_dir_all(dir.join("new")).expect("ca dir");
        std::fs::write(dir.join("index.txt"), "").expect("index");
        std::fs::write(dir.join("crlnumber"), "01\n").expect("crlnumber");
        std::fs::write(dir.join("serial"), "10\n").expect("serial");
        let cnf = format!(
            "[ca]\ndefault_ca = ca_default\n[ca_default]\ndir = {dir}\ndatabase = $dir/index.txt\n\
             crlnumber = $dir/crlnumber\nserial = $dir/serial\nnew_certs_dir = $dir/new\n\
             certificate = {crt}\nprivate_key = {key}\ndefault_md = sha256\ndefault_crl_days = 30\n\
             default_days = 30\npolicy = policy_any\nunique_subject = no\n[policy_any]\ncommonName = supplied\n",
            dir = dir.display(),
            crt = self.path_str("root.crt"),
            key = self.path_str("root.key"),
        );
        std::fs::write(self.out("ca.cnf"), cnf).expect("ca.cnf");
    }
}
