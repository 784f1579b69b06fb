//! Starting the daemon detached, and waiting for its word on the mount.
//!
//! mount(8) must not return before the mount serves requests (the next command of a script, or
//! a unit ordered after the mount, would see the empty directory underneath), and must fail
//! when the daemon cannot mount. The daemon runs in its own session with its standard streams
//! on /dev/null, so its only channel back is the ready pipe on its fd 3: exactly one line,
//! `READY` or `ERROR <message>`, then the pipe is closed. Its logs go to syslog, which is where
//! a failure without a message is to be looked up.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::args::{self, Invocation};

/// The daemon's fd for the ready line (its `--ready-fd`).
pub const READY_FD: RawFd = 3;
/// How long the daemon may take to mount: opening the database and mounting are fast, so this
/// only bounds a hang, long before systemd's own mount timeout (90 s).
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a failed daemon may take to exit before it is killed.
pub const REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// A ready line longer than this is not the daemon speaking the protocol.
const MAX_READY_LINE: usize = 4096;

/// The daemon binary: `$VECSFS_BIN` when set, else `vecsfs` in the directory of the helper's
/// own executable (`current_exe` resolves the /sbin/mount.vecs symlink, so an installation
/// keeps the two side by side and needs no PATH, which mount(8) and systemd sanitise).
pub fn locate_daemon(
    override_path: Option<OsString>,
    current_exe: io::Result<PathBuf>,
    cwd: Option<&Path>,
) -> Result<PathBuf, String> {
    let daemon = match override_path {
        Some(path) if !path.is_empty() => {
            args::absolute(Path::new(&path), cwd).map_err(|error| error.message)?
        }
        _ => {
            let helper = current_exe.map_err(|error| {
                format!("cannot find the daemon: cannot locate mount.vecs itself: {error}")
            })?;
            match helper.parent() {
                Some(directory) => directory.join("vecsfs"),
                None => {
                    return Err(format!(
                        "cannot find the daemon: mount.vecs is at {}, which has no directory",
                        helper.display()
                    ))
                }
            }
        }
    };
    if daemon.is_file() {
        Ok(daemon)
    } else {
        Err(format!("cannot find the daemon at {}", daemon.display()))
    }
}

/// The daemon's arguments (without its name): the contract between the two binaries.
pub fn daemon_arguments(invocation: &Invocation) -> Vec<OsString> {
    let mut arguments: Vec<OsString> = vec![
        "--db".into(),
        invocation.source.clone().into(),
        "--supervise".into(),
        "--ready-fd".into(),
        READY_FD.to_string().into(),
        "--log".into(),
        "syslog".into(),
    ];
    if let Some(options) = invocation.daemon_options() {
        arguments.push("-o".into());
        arguments.push(options.into());
    }
    arguments.push(invocation.mountpoint.clone().into());
    arguments
}

/// The daemon's command, to give to [`start`].
pub fn daemon_command(daemon: &Path, arguments: &[OsString]) -> Command {
    let mut command = Command::new(daemon);
    command.args(arguments);
    command
}

/// A daemon that reported its mount ready. It keeps running once the helper exits (it is
/// reparented); dropping `child` neither waits for nor kills it.
#[derive(Debug)]
pub struct Ready {
    pub child: Child,
}

/// Spawns `command` detached (new session, standard streams on /dev/null, working directory `/`
/// so as not to keep the caller's directory busy, the write end of a pipe on fd 3) and waits up
/// to `ready_timeout` for its ready line. On failure the child is reaped (killed if it does not
/// exit within `reap_timeout`) and the error is the message for the user.
pub fn start(
    mut command: Command,
    ready_timeout: Duration,
    reap_timeout: Duration,
) -> Result<Ready, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let (read_end, write_end) =
        ready_pipe().map_err(|error| format!("cannot create the ready pipe: {error}"))?;
    let write_fd = write_end.as_raw_fd();
    command
        .current_dir("/")
        .stdin(dev_null()?)
        .stdout(dev_null()?)
        .stderr(dev_null()?);
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe calls (setsid, dup2, fcntl) on plain integers.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            install_ready_fd(write_fd)
        });
    }
    let mut child = command
        .spawn()
        .map_err(|error| format!("cannot start the daemon {program}: {error}"))?;
    // Only the child may hold the write end, or the end of file that tells a dead daemon
    // would never come.
    drop(write_end);

    match read_ready_line(read_end.as_fd(), ready_timeout) {
        Ok(ReadyLine::Ready) => Ok(Ready { child }),
        Ok(ReadyLine::Error(message)) => {
            reap(&mut child, reap_timeout);
            Err(if message.is_empty() {
                "the daemon could not mount (no reason given); see the system log \
                 (journalctl -t vecsfs)"
                    .to_owned()
            } else {
                message
            })
        }
        Ok(ReadyLine::Unexpected(line)) => {
            terminate(&mut child, reap_timeout);
            Err(format!(
                "the daemon sent an unexpected ready line: {line:?}"
            ))
        }
        Ok(ReadyLine::Eof) => Err(match reap(&mut child, reap_timeout) {
            Reaped::Exited(status) => format!(
                "the daemon exited ({}) before the mount was ready; see the system log \
                 (journalctl -t vecsfs)",
                describe_status(status)
            ),
            Reaped::Killed => format!(
                "the daemon closed its ready pipe without a word and did not exit within {}; \
                 it was killed; see the system log (journalctl -t vecsfs)",
                describe_duration(reap_timeout)
            ),
        }),
        Ok(ReadyLine::TimedOut) => {
            terminate(&mut child, reap_timeout);
            Err(format!(
                "the mount was not ready within {}",
                describe_duration(ready_timeout)
            ))
        }
        Err(error) => {
            terminate(&mut child, reap_timeout);
            Err(format!("cannot read the daemon's ready pipe: {error}"))
        }
    }
}

/// /dev/null for one of the child's standard streams. Opened here rather than with
/// `Stdio::null()` so that a missing /dev/null (an empty /dev) is reported as such, not as the
/// daemon's spawn failing with "No such file or directory".
fn dev_null() -> Result<Stdio, String> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map(Stdio::from)
        .map_err(|error| {
            format!("cannot open /dev/null for the daemon's standard streams: {error}")
        })
}

/// A close-on-exec pipe, `(read end, write end)`, with the write end not on a standard fd:
/// the child's /dev/null streams replace fds 0 to 2 before `pre_exec` runs, so a write end
/// there (the helper was started with a standard stream closed) would be lost.
fn ready_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [RawFd; 2] = [-1; 2];
    // SAFETY: pipe2 writes two fds into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    if write_end.as_raw_fd() >= READY_FD {
        return Ok((read_end, write_end));
    }
    // SAFETY: F_DUPFD_CLOEXEC on an open fd returns a new fd that nobody else owns.
    let moved = unsafe { libc::fcntl(write_end.as_raw_fd(), libc::F_DUPFD_CLOEXEC, READY_FD) };
    if moved == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above; the original write end is closed when `write_end` drops.
    Ok((read_end, unsafe { OwnedFd::from_raw_fd(moved) }))
}

/// In the child: puts the pipe's write end on [`READY_FD`], inheritable across exec. dup2
/// clears close-on-exec on the new fd; when the write end already is that fd, dup2 would do
/// nothing, so the flag is cleared by hand.
fn install_ready_fd(write_fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl and dup2 on integers; async-signal-safe.
    unsafe {
        if write_fd == READY_FD {
            let flags = libc::fcntl(READY_FD, libc::F_GETFD);
            if flags == -1 || libc::fcntl(READY_FD, libc::F_SETFD, flags & !libc::FD_CLOEXEC) == -1
            {
                return Err(io::Error::last_os_error());
            }
        } else if libc::dup2(write_fd, READY_FD) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What came through the ready pipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadyLine {
    Ready,
    /// The daemon's message, control characters replaced (it is printed on a terminal).
    Error(String),
    /// A line that is neither `READY` nor `ERROR ...`.
    Unexpected(String),
    /// End of file before any byte: the daemon died or closed the pipe.
    Eof,
    TimedOut,
}

/// Reads the first line from `fd` within `timeout` overall. A last line without its newline
/// counts as a line, since it is what the daemon meant.
pub fn read_ready_line(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<ReadyLine> {
    let deadline = Instant::now() + timeout;
    let mut line: Vec<u8> = Vec::new();
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(ReadyLine::TimedOut);
        }
        // Rounded up, so that a wake-up never comes before the deadline.
        let poll_millis = remaining
            .as_nanos()
            .div_ceil(1_000_000)
            .min(libc::c_int::MAX as u128) as libc::c_int;
        let mut poll_fd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll_fd, 1, poll_millis) };
        if ready == -1 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        if ready == 0 {
            continue;
        }
        if poll_fd.revents & libc::POLLNVAL != 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let mut buffer = [0u8; 512];
        // SAFETY: reads at most buffer.len() bytes into buffer.
        let count = unsafe { libc::read(fd.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len()) };
        if count < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        if count == 0 {
            return Ok(if line.is_empty() {
                ReadyLine::Eof
            } else {
                parse_ready_line(&line)
            });
        }
        line.extend_from_slice(&buffer[..count as usize]);
        if let Some(end) = line.iter().position(|&byte| byte == b'\n') {
            return Ok(parse_ready_line(&line[..end]));
        }
        if line.len() > MAX_READY_LINE {
            return Ok(parse_ready_line(&line[..MAX_READY_LINE]));
        }
    }
}

fn parse_ready_line(line: &[u8]) -> ReadyLine {
    let text: String = String::from_utf8_lossy(line)
        .trim_end_matches('\r')
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text == "READY" {
        ReadyLine::Ready
    } else if text == "ERROR" {
        ReadyLine::Error(String::new())
    } else if let Some(message) = text.strip_prefix("ERROR ") {
        ReadyLine::Error(message.trim().to_owned())
    } else {
        ReadyLine::Unexpected(text)
    }
}

enum Reaped {
    Exited(ExitStatus),
    /// It did not exit in time and was killed (and reaped).
    Killed,
}

/// Waits up to `timeout` for the child to exit, then SIGKILLs it; never leaves a zombie.
fn reap(child: &mut Child, timeout: Duration) -> Reaped {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Reaped::Exited(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            // Out of time, or waiting failed: killing is all that is left.
            _ => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Reaped::Killed
}

/// SIGTERM first, so that a daemon that did mount can unmount; SIGKILL after `grace`.
fn terminate(child: &mut Child, grace: Duration) {
    // The child is not reaped yet, so its pid cannot have been reused.
    // SAFETY: kill(2) with a valid signal.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    reap(child, grace);
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => status.to_string(),
    }
}

fn describe_duration(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    fn start_shell(script: &str) -> Result<Ready, String> {
        start(
            shell(script),
            Duration::from_secs(10),
            Duration::from_millis(500),
        )
    }

    fn invocation(read_only: bool, debug: bool) -> Invocation {
        Invocation {
            source: PathBuf::from("/var/lib/vecs/vecs.db"),
            mountpoint: PathBuf::from("/etc/vecs"),
            fake: false,
            verbose: false,
            read_only,
            debug,
            ignored_options: Vec::new(),
            sloppy_skipped_options: Vec::new(),
        }
    }

    #[test]
    fn arguments_without_options() {
        let arguments = daemon_arguments(&invocation(false, false));
        assert_eq!(
            arguments,
            [
                "--db",
                "/var/lib/vecs/vecs.db",
                "--supervise",
                "--ready-fd",
                "3",
                "--log",
                "syslog",
                "/etc/vecs"
            ]
        );
    }

    #[test]
    fn arguments_with_options_in_one_o() {
        let arguments = daemon_arguments(&invocation(true, true));
        assert_eq!(
            arguments,
            [
                "--db",
                "/var/lib/vecs/vecs.db",
                "--supervise",
                "--ready-fd",
                "3",
                "--log",
                "syslog",
                "-o",
                "ro,debug",
                "/etc/vecs"
            ]
        );
    }

    #[test]
    fn daemon_from_the_environment() {
        let found = locate_daemon(
            Some("/bin/sh".into()),
            Ok("/nowhere/mount.vecs".into()),
            None,
        );
        assert_eq!(found, Ok(PathBuf::from("/bin/sh")));
        let relative = locate_daemon(
            Some("sh".into()),
            Ok("/nowhere/mount.vecs".into()),
            Some(Path::new("/bin")),
        );
        assert_eq!(relative, Ok(PathBuf::from("/bin/sh")));
        let missing = locate_daemon(
            Some("/nowhere/vecsfs".into()),
            Ok("/bin/mount.vecs".into()),
            None,
        );
        assert_eq!(
            missing,
            Err("cannot find the daemon at /nowhere/vecsfs".to_owned())
        );
    }

    #[test]
    fn daemon_next_to_the_helper() {
        // An empty VECSFS_BIN counts as unset.
        let missing = locate_daemon(Some("".into()), Ok("/nowhere/mount.vecs".into()), None);
        assert_eq!(
            missing,
            Err("cannot find the daemon at /nowhere/vecsfs".to_owned())
        );
        let unknown = locate_daemon(None, Err(io::Error::other("gone")), None);
        assert_eq!(
            unknown,
            Err("cannot find the daemon: cannot locate mount.vecs itself: gone".to_owned())
        );
        // A directory holding both, as an installation does.
        let directory =
            std::env::temp_dir().join(format!("mount-vecs-test-{}", std::process::id()));
        std::fs::create_dir_all(&directory).expect("create the test directory");
        let daemon = directory.join("vecsfs");
        std::fs::write(&daemon, b"").expect("create the daemon file");
        let found = locate_daemon(None, Ok(directory.join("mount.vecs")), None);
        std::fs::remove_dir_all(&directory).expect("remove the test directory");
        assert_eq!(found, Ok(daemon));
    }

    #[test]
    fn ready() {
        // The child stays alive after READY: start must return without waiting for it.
        let began = Instant::now();
        let Ready { mut child } = start_shell("echo READY >&3; exec 3>&-; exec sleep 5")
            .expect("the daemon reported READY");
        assert!(began.elapsed() < Duration::from_secs(4));
        assert_eq!(child.try_wait().expect("try_wait"), None);
        child.kill().expect("kill");
        child.wait().expect("wait");
    }

    #[test]
    fn ready_without_closing_the_pipe() {
        let Ready { mut child } =
            start_shell("echo READY >&3; exec sleep 5").expect("the daemon reported READY");
        child.kill().expect("kill");
        child.wait().expect("wait");
    }

    #[test]
    fn the_child_is_detached() {
        // A session leader (sid = pid), standard streams on /dev/null, in /, with fd 3.
        let script = r#"
            read -r pid comm state ppid pgrp sid rest < /proc/$$/stat
            [ "$sid" = "$$" ] || { echo "ERROR session $sid, pid $$" >&3; exit 1; }
            for fd in 0 1 2; do
                target=$(readlink /proc/$$/fd/$fd)
                [ "$target" = /dev/null ] || { echo "ERROR fd $fd is $target" >&3; exit 1; }
            done
            [ "$(pwd -P)" = / ] || { echo "ERROR cwd $(pwd -P)" >&3; exit 1; }
            echo READY >&3
        "#;
        let Ready { mut child } = start_shell(script).unwrap_or_else(|message| panic!("{message}"));
        assert!(child.wait().expect("wait").success());
    }

    #[test]
    fn error_line() {
        let result =
            start_shell("echo 'ERROR mountpoint /x: No such file or directory' >&3; exit 1");
        assert_eq!(
            result.map(|_| ()),
            Err("mountpoint /x: No such file or directory".to_owned())
        );
    }

    #[test]
    fn error_line_from_a_daemon_that_does_not_exit() {
        let began = Instant::now();
        let result = start_shell("echo 'ERROR /x is already mounted' >&3; exec sleep 30");
        assert_eq!(result.map(|_| ()), Err("/x is already mounted".to_owned()));
        assert!(began.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn error_without_message() {
        let error = start_shell("echo ERROR >&3").map(|_| ()).unwrap_err();
        assert!(error.contains("no reason given"), "{error}");
    }

    #[test]
    fn eof_reports_the_exit_status() {
        let error = start_shell("exit 3").map(|_| ()).unwrap_err();
        assert_eq!(
            error,
            "the daemon exited (exit status 3) before the mount was ready; see the system log \
             (journalctl -t vecsfs)"
        );
    }

    #[test]
    fn eof_reports_the_signal() {
        let error = start_shell("kill -9 $$").map(|_| ()).unwrap_err();
        assert!(
            error.starts_with("the daemon exited (signal 9) before"),
            "{error}"
        );
    }

    #[test]
    fn eof_from_a_daemon_that_does_not_exit() {
        let error = start_shell("exec 3>&-; exec sleep 30")
            .map(|_| ())
            .unwrap_err();
        assert!(
            error.contains("did not exit within 500 ms; it was killed"),
            "{error}"
        );
    }

    #[test]
    fn unexpected_line() {
        let error = start_shell("echo HELLO >&3; exec sleep 30")
            .map(|_| ())
            .unwrap_err();
        assert_eq!(error, "the daemon sent an unexpected ready line: \"HELLO\"");
    }

    #[test]
    fn timeout_terminates_the_child() {
        let began = Instant::now();
        let result = start(
            shell("exec sleep 30"),
            Duration::from_millis(200),
            Duration::from_secs(5),
        );
        assert_eq!(
            result.map(|_| ()),
            Err("the mount was not ready within 200 ms".to_owned())
        );
        // SIGTERM ended it: no need to wait for the 5 s before SIGKILL.
        assert!(began.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn timeout_kills_a_child_that_ignores_sigterm() {
        let began = Instant::now();
        let result = start(
            shell("trap '' TERM; while :; do sleep 0.1; done"),
            Duration::from_millis(200),
            Duration::from_millis(300),
        );
        assert_eq!(
            result.map(|_| ()),
            Err("the mount was not ready within 200 ms".to_owned())
        );
        assert!(began.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn missing_program() {
        let error = start(
            Command::new("/nowhere/vecsfs"),
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .map(|_| ())
        .unwrap_err();
        assert!(
            error.starts_with("cannot start the daemon /nowhere/vecsfs: "),
            "{error}"
        );
    }

    fn pipe_with(contents: &[u8], close: bool) -> (OwnedFd, Option<std::fs::File>) {
        let (read_end, write_end) = ready_pipe().expect("pipe");
        let mut writer = std::fs::File::from(write_end);
        writer.write_all(contents).expect("write");
        (read_end, if close { None } else { Some(writer) })
    }

    #[test]
    fn read_line_from_a_plain_pipe() {
        let cases: &[(&[u8], ReadyLine)] = &[
            (b"READY\n", ReadyLine::Ready),
            (b"READY\r\n", ReadyLine::Ready),
            (b"READY", ReadyLine::Ready),
            (b"READY\nERROR later\n", ReadyLine::Ready),
            (b"ERROR a b\n", ReadyLine::Error("a b".into())),
            (b"ERROR bad\x1b[31m\n", ReadyLine::Error("bad?[31m".into())),
            (b"", ReadyLine::Eof),
            (b"\n", ReadyLine::Unexpected(String::new())),
            (b"READY now\n", ReadyLine::Unexpected("READY now".into())),
        ];
        for (contents, expected) in cases {
            let (read_end, _) = pipe_with(contents, true);
            let line = read_ready_line(read_end.as_fd(), Duration::from_secs(1)).expect("read");
            assert_eq!(&line, expected, "{:?}", String::from_utf8_lossy(contents));
        }
    }

    #[test]
    fn read_line_times_out_on_an_open_silent_pipe() {
        let (read_end, _writer) = pipe_with(b"READ", false);
        let began = Instant::now();
        let line = read_ready_line(read_end.as_fd(), Duration::from_millis(100)).expect("read");
        assert_eq!(line, ReadyLine::TimedOut);
        assert!(began.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn read_line_caps_its_length() {
        let (read_end, _writer) = pipe_with(&[b'x'; MAX_READY_LINE + 600], false);
        match read_ready_line(read_end.as_fd(), Duration::from_secs(1)).expect("read") {
            ReadyLine::Unexpected(text) => assert_eq!(text.len(), MAX_READY_LINE),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn read_line_in_pieces() {
        let (read_end, write_end) = ready_pipe().expect("pipe");
        let writer = thread::spawn(move || {
            let mut writer = std::fs::File::from(write_end);
            for piece in [&b"ERR"[..], b"OR no", b"pe\n"] {
                writer.write_all(piece).expect("write");
                thread::sleep(Duration::from_millis(20));
            }
        });
        let line = read_ready_line(read_end.as_fd(), Duration::from_secs(5)).expect("read");
        assert_eq!(line, ReadyLine::Error("nope".into()));
        writer.join().expect("writer thread");
    }

    #[test]
    fn durations() {
        assert_eq!(describe_duration(Duration::from_secs(30)), "30 s");
        assert_eq!(describe_duration(Duration::from_millis(200)), "200 ms");
    }
}
