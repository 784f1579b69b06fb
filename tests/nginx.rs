//! nginx serving TLS straight from the mount: `ssl_certificate`/`ssl_certificate_key` pointing
//! at MACHINE_SSL_CERT's cert.pem and key.pem, or both at bundle.pem. The pair is rotated with
//! two `cp`, nginx is reloaded (also between the two copies, which must still work: the live
//! pair is whole until the second half lands), and a client sees the new certificate.

#[path = "support/mount.rs"]
mod mount;

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::trust::{make_root, make_server_cert};
use common::{run_command, run_with_input, Workspace};
use mount::{wait_for, MountSpec, Mounted};

const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
const PAIR: &str = "MACHINE_SSL_CERT/__MACHINE_CERT";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// nginx in the foreground with its own prefix and config; killed on drop.
struct Nginx {
    child: Child,
    prefix: PathBuf,
    config: PathBuf,
}

impl Nginx {
    fn start(prefix: &Path, servers: &[(u16, PathBuf, PathBuf)]) -> Nginx {
        std::fs::create_dir_all(prefix.join("tmp")).expect("nginx prefix");
        let p = prefix.display();
        let mut config = format!(
            "daemon off;\nmaster_process on;\nworker_processes 1;\npid {p}/nginx.pid;\n\
             error_log {p}/error.log notice;\nevents {{}}\nhttp {{\n  access_log off;\n\
             client_body_temp_path {p}/tmp/body;\n  proxy_temp_path {p}/tmp/proxy;\n\
             fastcgi_temp_path {p}/tmp/fastcgi;\n  uwsgi_temp_path {p}/tmp/uwsgi;\n\
             scgi_temp_path {p}/tmp/scgi;\n"
        );
        for (port, cert, key) in servers {
            config.push_str(&format!(
                "  server {{\n    listen 127.0.0.1:{port} ssl;\n    ssl_certificate {};\n    \
                 ssl_certificate_key {};\n    location / {{ return 200 \"ok\\n\"; }}\n  }}\n",
                cert.display(),
                key.display()
            ));
        }
        config.push_str("}\n");
        let config_path = prefix.join("nginx.conf");
        std::fs::write(&config_path, config).expect("nginx.conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx (installed by scripts/install-deps.sh)");
        let mut nginx = Nginx {
            child,
            prefix: prefix.to_path_buf(),
            config: config_path,
        };
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        for (port, _, _) in servers {
            while TcpStream::connect(("127.0.0.1", *port)).is_err() {
                if let Ok(Some(status)) = nginx.child.try_wait() {
                    panic!("nginx exited ({status}): {}", nginx.error_log());
                }
                assert!(Instant::now() < deadline, "nginx not listening on {port}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        nginx
    }

    fn error_log(&self) -> String {
        common::tail(
            &std::fs::read_to_string(self.prefix.join("error.log")).unwrap_or_default(),
            20,
        )
    }

    /// `nginx -s reload`: the master re-reads the configuration and the certificate files.
    /// `-s reload` only sends the signal; whether the master took the new files shows in its
    /// log: new workers started, or an `[emerg]` (a certificate and key that do not match)
    /// and the old configuration kept.
    fn reload(&self) {
        let log = self.prefix.join("error.log");
        let reloads = |text: &str| text.matches("reconfiguring").count();
        let before = reloads(&std::fs::read_to_string(&log).unwrap_or_default());
        let (status, out) = run_command(
            Command::new("nginx")
                .arg("-p")
                .arg(&self.prefix)
                .arg("-c")
                .arg(&self.config)
                .args(["-s", "reload"]),
            COMMAND_TIMEOUT,
        );
        assert!(
            status.success(),
            "nginx -s reload: {out}\n{}",
            self.error_log()
        );
        let outcome = || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if reloads(&text) <= before {
                return None;
            }
            let after = text.rsplit("reconfiguring").next().unwrap_or_default();
            if after.contains("[emerg]") {
                Some(false)
            } else if after.contains("start worker process") {
                Some(true)
            } else {
                None
            }
        };
        assert!(
            wait_for(COMMAND_TIMEOUT, || outcome().is_some()).is_some(),
            "nginx did not act on the reload: {}",
            self.error_log()
        );
        assert_eq!(
            outcome(),
            Some(true),
            "nginx refused the reload: {}",
            self.error_log()
        );
    }
}

impl Drop for Nginx {
    /// SIGTERM: the master stops its workers and exits (SIGKILL would orphan the workers);
    /// SIGKILL only if it does not exit in time.
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) of our own child.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        if common::wait_child(&mut self.child, COMMAND_TIMEOUT).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The serial of the certificate a TLS client gets on `port`, verified against `capath`.
fn served_serial(port: u16, capath: &Path) -> Option<String> {
    let mut client = Command::new("openssl");
    client
        .args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-CApath")
        .arg(capath)
        .args(["-verify_return_error", "-verify_ip", "127.0.0.1"]);
    let session = run_with_input(client, b"");
    if session.code != 0 {
        eprintln!("s_client on {port}: {}", common::tail(&session.stderr, 8));
        return None;
    }
    let x509 = run_with_input(
        {
            let mut cmd = Command::new("openssl");
            cmd.args(["x509", "-noout", "-serial"]);
            cmd
        },
        session.stdout.as_bytes(),
    );
    x509.stdout
        .trim()
        .strip_prefix("serial=")
        .map(str::to_lowercase)
}

fn cp(from: &Path, to: &Path) {
    let (status, out) = run_command(Command::new("cp").arg(from).arg(to), COMMAND_TIMEOUT);
    assert!(
        status.success(),
        "cp {} {}: {out}",
        from.display(),
        to.display()
    );
}

#[test]
fn nginx_serves_the_mounts_pair_and_follows_a_rotation_on_reload() {
    let ws = Workspace::new();
    let root = make_root(&ws, "nginx-root");
    let (first, first_key) = make_server_cert(&ws, &root, "nginx-first", "0x1001");
    let (second, second_key) = make_server_cert(&ws, &root, "nginx-second", "0x1002");
    let (root_cert, cert, key) = (root.cert.clone(), first.clone(), first_key.clone());
    let m = Mounted::start(MountSpec::default().before_mount(move |db| {
        common::add_root(db, &root_cert);
        common::add_machine_pair(db, &cert, &key);
    }));
    let dir = m.path(PAIR);
    let capath = m.path("TRUSTED_ROOTS");
    let (files_port, bundle_port) = (free_port(), free_port());
    let nginx = Nginx::start(
        &ws.path("nginx"),
        &[
            (files_port, dir.join("cert.pem"), dir.join("key.pem")),
            (bundle_port, dir.join("bundle.pem"), dir.join("bundle.pem")),
        ],
    );
    for port in [files_port, bundle_port] {
        assert_eq!(
            served_serial(port, &capath).as_deref(),
            Some("1001"),
            "port {port}: {}",
            nginx.error_log()
        );
    }

    // The first half: the live pair is still whole, so a reload now works and serves it.
    cp(&second, &dir.join("cert.pem"));
    nginx.reload();
    for port in [files_port, bundle_port] {
        assert_eq!(
            served_serial(port, &capath).as_deref(),
            Some("1001"),
            "port {port}"
        );
    }

    // The second half: both become live; after a reload clients get the new certificate.
    cp(&second_key, &dir.join("key.pem"));
    nginx.reload();
    for port in [files_port, bundle_port] {
        let took = wait_for(COMMAND_TIMEOUT, || {
            served_serial(port, &capath).as_deref() == Some("1002")
        });
        assert!(
            took.is_some(),
            "port {port} still serves {:?}: {}",
            served_serial(port, &capath),
            nginx.error_log()
        );
    }
}
