//! vecs-cli for users who cannot open the database (it is root's, 0600), as vmafd does it: the
//! serving `vecsfs` daemon listens on a Unix socket, learns the caller's uid from the kernel
//! (SO_PEERCRED, which the caller cannot forge), runs the command as that uid against its
//! database (so VECS's per-store permissions decide, and a refusal is error 5), and sends
//! back the exit code and output.
//!
//! Only the reading commands go this way (`store list`, `store get-permissions`,
//! `entry list`, `entry getcert`, `entry getkey`): they need nothing from the caller's files.
//! `--output` is written by the client, as the caller, never by the daemon. Writes by
//! non-root users go through the mount, where the same permissions apply.
//!
//! The socket: `<run dir>/cli-<16 hex digits of SHA-256 of the database path>.sock`, mode
//! 0666 (the peer's uid is the authentication). Wire format, all integers u32 little-endian:
//! request = argument count, then each argument as length + bytes; reply = code, then stdout
//! and stderr as length + bytes.

use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use zeroize::Zeroizing;

use super::args::{Command, Invocation};
use super::{Failure, Io};
use crate::error::code;

/// How long either side waits for the other: a stuck peer must not hold a thread forever.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// The most a request may carry, all its arguments together (a few KB at most).
const MAX_REQUEST: usize = 64 * 1024;
/// The most a reply may carry (a listing of a very large store).
const MAX_REPLY: usize = 256 << 20;

/// The socket of the daemon serving `db` (absolute, as the daemon was given it).
pub fn socket_for(db: &Path) -> PathBuf {
    use sha2::{Digest, Sha256};
    let absolute = std::path::absolute(db).unwrap_or_else(|_| db.to_path_buf());
    let digest = Sha256::digest(absolute.as_os_str().as_encoded_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    crate::daemon::status::run_dir().join(format!("cli-{hex}.sock"))
}

/// Whether `command` can be answered by the daemon for a caller without the database.
fn is_remote(command: &Command) -> bool {
    matches!(
        command,
        Command::StoreList
            | Command::StoreGetPermissions { .. }
            | Command::EntryList { .. }
            | Command::EntryGetCert { .. }
            | Command::EntryGetKey { .. }
    )
}

/// Whether this caller must go through the daemon: not root, and the database cannot be
/// opened (its file or directory is root's alone).
/// Other commands run here and fail as they would (opening the database, or their own
/// root-only check), so their messages stay theirs.
pub(super) fn needs_daemon(invocation: &Invocation, uid: u32) -> bool {
    if uid == 0 || !is_remote(&invocation.command) {
        return false;
    }
    let db = crate::store::resolve_db_path(invocation.db.as_deref());
    // access(2), not an open: an open and close of the database file by a process that also
    // has it open through SQLite would drop all of that process's locks on it.
    let Ok(path) = std::ffi::CString::new(db.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: a NUL-terminated path and a constant mode.
    let readable = unsafe { libc::access(path.as_ptr(), libc::R_OK) } == 0;
    !readable && io::Error::last_os_error().raw_os_error() == Some(libc::EACCES)
}

/// Runs `args` through the daemon serving the database, writing the output to `io`; returns
/// the VECS code.
/// Only for the commands [`needs_daemon`] sends here.
pub(super) fn forward(args: &[String], invocation: &Invocation, io: &mut Io) -> u32 {
    let db = crate::store::resolve_db_path(invocation.db.as_deref());
    let socket = socket_for(&db);
    let mut stream = match UnixStream::connect(&socket) {
        Ok(stream) => stream,
        Err(e) => {
            return refuse(
                io,
                code::CANNOT_CONNECT_VMAFD,
                &format!(
                    "cannot open the certificate database {} (root only), and no vecsfs \
                     daemon answers for it at {}: {e}",
                    db.display(),
                    socket.display()
                ),
            )
        }
    };
    // `--output` is the caller's file: ask for the blob on stdout and write it here.
    let (output, text) = match &invocation.command {
        Command::EntryGetCert { output, text, .. } | Command::EntryGetKey { output, text, .. } => {
            (output.clone().filter(|p| !p.is_empty()), *text)
        }
        _ => (None, false),
    };
    let plain = without_option(args, "--output");
    let result = match &output {
        None => exchange(&mut stream, &plain),
        Some(path) => {
            // Opened first, as vecs-cli opens `--output` before anything else.
            let file = match super::commands::output_file(Some(path)) {
                Ok(Some((file, _))) => file,
                Ok(None) => return super::report(Failure::code(code::INVALID_PARAMETER), io),
                Err(failure) => return super::report(failure, io),
            };
            // The blob (asked without `--text`) goes to the file, 0600 as VECS makes it; with
            // `--text`, a second request prints the text.
            match exchange(&mut stream, &without_flag(&plain, "--text")) {
                Ok(blob) if blob.code == 0 => {
                    if let Err(failure) =
                        super::commands::write_private_output(file, path, &blob.stdout)
                    {
                        return super::report(failure, io);
                    }
                    if text {
                        UnixStream::connect(&socket).and_then(|mut s| exchange(&mut s, &plain))
                    } else {
                        Ok(Reply {
                            code: 0,
                            stdout: Zeroizing::new(Vec::new()),
                            stderr: blob.stderr,
                        })
                    }
                }
                other => other,
            }
        }
    };
    match result {
        Ok(reply) => {
            let _ = io.stdout.write_all(&reply.stdout);
            let _ = io.stdout.flush();
            let _ = io.stderr.write_all(&reply.stderr);
            reply.code
        }
        Err(e) => refuse(
            io,
            code::CANNOT_CONNECT_VMAFD,
            &format!("the vecsfs daemon did not answer: {e}"),
        ),
    }
}

/// `args` without `option` and its value.
fn without_option(args: &[String], option: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut skip = false;
    for arg in args {
        if skip {
            skip = false;
        } else if arg == option {
            skip = true;
        } else {
            out.push(arg.clone());
        }
    }
    out
}

fn without_flag(args: &[String], flag: &str) -> Vec<String> {
    args.iter().filter(|a| *a != flag).cloned().collect()
}

fn refuse(io: &mut Io, vecs_code: u32, why: &str) -> u32 {
    super::report(
        Failure::with_note(vecs_code, format!("Error: {why} \n")),
        io,
    )
}

/// What the daemon answered. Output may hold a key: zeroed when dropped.
struct Reply {
    code: u32,
    stdout: Zeroizing<Vec<u8>>,
    stderr: Zeroizing<Vec<u8>>,
}

fn exchange(stream: &mut UnixStream, args: &[String]) -> io::Result<Reply> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut request = Vec::new();
    put_u32(&mut request, args.len())?;
    for arg in args {
        put_bytes(&mut request, arg.as_bytes())?;
    }
    stream.write_all(&request)?;
    Ok(Reply {
        code: read_u32(stream)?,
        stdout: read_bytes(stream, MAX_REPLY)?,
        stderr: read_bytes(stream, MAX_REPLY)?,
    })
}

/// Serves one connection of the daemon's socket: the command runs as the peer's uid on `db`.
pub fn serve_connection(mut stream: UnixStream, db: &Path) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let (uid, pid) = peer_of(&stream)?;
    let count = read_u32(&mut stream)? as usize;
    if count > MAX_REQUEST / 2 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "too many arguments",
        ));
    }
    let mut args = Vec::with_capacity(count + 2);
    let mut left = MAX_REQUEST;
    for _ in 0..count {
        let bytes = read_bytes(&mut stream, left)?;
        left -= bytes.len();
        args.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    // This daemon's database, whatever the client named (it found the socket by that name).
    let mut args = without_option(&args, "--db");
    args.push("--db".to_string());
    args.push(db.to_string_lossy().into_owned());
    let reply = match super::args::parse(&args) {
        Ok(invocation) if is_remote(&invocation.command) && !has_output(&invocation) => {
            log::info!(
                "vecs-cli for uid {uid} (pid {pid}): {}",
                args.first().map_or("", String::as_str)
            );
            let mut stdout = Zeroizing::new(Vec::new());
            let mut stderr = Zeroizing::new(Vec::new());
            let mut stdin = io::empty();
            let code = super::run_here(
                invocation,
                &mut Io {
                    stdin: &mut stdin,
                    stdout: &mut *stdout,
                    stderr: &mut *stderr,
                },
                uid,
            );
            Reply {
                code,
                stdout,
                stderr,
            }
        }
        _ => {
            log::warn!("vecs-cli for uid {uid} (pid {pid}): refused a command not served here");
            Reply {
                code: code::ACCESS_DENIED,
                stdout: Zeroizing::new(Vec::new()),
                stderr: Zeroizing::new(super::messages::error_line(code::ACCESS_DENIED).into()),
            }
        }
    };
    let mut out = Zeroizing::new(Vec::with_capacity(reply.stdout.len() + 64));
    put_u32(&mut out, reply.code as usize)?;
    put_bytes(&mut out, &reply.stdout)?;
    put_bytes(&mut out, &reply.stderr)?;
    stream.write_all(&out)
}

fn has_output(invocation: &Invocation) -> bool {
    matches!(
        &invocation.command,
        Command::EntryGetCert {
            output: Some(_),
            ..
        } | Command::EntryGetKey {
            output: Some(_),
            ..
        }
    )
}

/// Binds the daemon's socket for `db`, replacing one a dead daemon left behind (nobody
/// answers it) but never one a live daemon serves.
pub fn bind(db: &Path) -> io::Result<(UnixListener, PathBuf)> {
    let path = socket_for(db);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let listener = match UnixListener::bind(&path) {
        Ok(listener) => listener,
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            if UnixStream::connect(&path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!(
                        "another daemon serves {} at {}",
                        db.display(),
                        path.display()
                    ),
                ));
            }
            std::fs::remove_file(&path)?;
            UnixListener::bind(&path)?
        }
        Err(e) => return Err(e),
    };
    // Every local user may connect; who they are comes from SO_PEERCRED.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))?;
    Ok((listener, path))
}

/// The connecting process's uid and pid, from the kernel.
fn peer_of(stream: &UnixStream) -> io::Result<(u32, i32)> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` is a ucred and `len` its size, as SO_PEERCRED expects.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((cred.uid, cred.pid))
}

fn put_u32(out: &mut Vec<u8>, value: usize) -> io::Result<()> {
    let value = u32::try_from(value)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "message too large"))?;
    out.extend_from_slice(&value.to_le_bytes());
    Ok(())
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) -> io::Result<()> {
    put_u32(out, bytes.len())?;
    out.extend_from_slice(bytes);
    Ok(())
}

fn read_u32(stream: &mut impl Read) -> io::Result<u32> {
    let mut raw = [0u8; 4];
    stream.read_exact(&mut raw)?;
    Ok(u32::from_le_bytes(raw))
}

fn read_bytes(stream: &mut impl Read, limit: usize) -> io::Result<Zeroizing<Vec<u8>>> {
    let len = read_u32(stream)? as usize;
    if len > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "message too large",
        ));
    }
    let mut bytes = Zeroizing::new(vec![0u8; len]);
    stream.read_exact(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_and_flags_are_removed_with_their_values() {
        let args = strings(&[
            "entry", "getkey", "--output", "k.pem", "--store", "S", "--text",
        ]);
        assert_eq!(
            without_option(&args, "--output"),
            strings(&["entry", "getkey", "--store", "S", "--text"])
        );
        assert_eq!(
            without_flag(&args, "--text"),
            strings(&["entry", "getkey", "--output", "k.pem", "--store", "S"])
        );
    }

    /// `--output` would make the daemon (root) write a file the caller names: a request
    /// carrying it is refused, and nothing is written.
    #[test]
    fn the_daemon_never_writes_an_output_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("written-by-root.pem");
        let db = dir.path().join("vecs.db");
        let (mut client, server) = UnixStream::pair().expect("socket pair");
        let served = std::thread::spawn(move || serve_connection(server, &db));
        let args = strings(&[
            "entry",
            "getcert",
            "--store",
            "TRUSTED_ROOTS",
            "--alias",
            "a",
            "--output",
            &target.to_string_lossy(),
        ]);
        let reply = exchange(&mut client, &args).expect("a reply");
        served.join().expect("server thread").expect("served");
        assert_eq!(reply.code, code::ACCESS_DENIED);
        assert!(!target.exists());
    }

    /// The arguments of one request are bounded together, not each: many large ones are
    /// refused before the daemon holds more than MAX_REQUEST of them.
    #[test]
    fn a_request_over_the_limit_in_all_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("vecs.db");
        let (mut client, server) = UnixStream::pair().expect("socket pair");
        let served = std::thread::spawn(move || serve_connection(server, &db));
        let big = "x".repeat(MAX_REQUEST / 4);
        let args = vec![big; 5];
        // The daemon stops reading at the fifth argument and closes: the client's write or
        // its read of the reply fails.
        assert!(exchange(&mut client, &args).is_err());
        let refused = served.join().expect("server thread").expect_err("refused");
        assert_eq!(refused.kind(), io::ErrorKind::InvalidData, "{refused}");
        assert!(!dir.path().join("vecs.db").exists(), "nothing ran");
    }

    #[test]
    fn the_socket_name_follows_the_database_path() {
        let a = socket_for(Path::new("/var/lib/vecs/vecs.db"));
        assert_eq!(a, socket_for(Path::new("/var/lib/vecs/vecs.db")));
        assert_ne!(a, socket_for(Path::new("/srv/other.db")));
        let name = a.file_name().map(|n| n.to_string_lossy().into_owned());
        assert!(name.is_some_and(|n| n.starts_with("cli-") && n.ends_with(".sock")));
    }
}
