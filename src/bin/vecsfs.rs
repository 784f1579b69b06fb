//! vecsfs: serves the certificate database as files, in the foreground, until unmounted.
//!
//! `vecsfs [--db PATH] [-o OPTIONS] [--supervise] [--ready-fd FD] [--log WHERE] MOUNTPOINT`
//! `vecsfs status MOUNTPOINT`
//!
//! Exit status: 0 after `umount MOUNTPOINT` or SIGTERM/SIGINT/SIGHUP (the daemon unmounts
//! itself); 1 when it cannot start (mountpoint, /dev/fuse, database, mount); 2 for bad usage.
//! `status`: 0 healthy, 1 dead, 3 not mounted, 4 unknown.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use clap::Parser;
use log::{error, info, warn, LevelFilter, Log, Metadata, Record};

use vecsfs::daemon::cli_socket::CliSocket;
use vecsfs::daemon::mountinfo::{self, MountState};
use vecsfs::daemon::ready::Readiness;
use vecsfs::daemon::status::{self, Status};
use vecsfs::daemon::supervise::{self, ENV_LAST_RESTART, ENV_RESTARTS, ENV_SUPERVISOR_PID};
use vecsfs::fs::{FsOptions, VecsFs};
use vecsfs::fuse::mount::{detach, mount, Unmounter};
use vecsfs::fuse::notify::{Invalidators, POLL_INTERVAL};
use vecsfs::fuse::VecsFuse;
use vecsfs::sync::runner::SyncThread;

/// Signals that end the daemon cleanly: it unmounts, then exits 0. SIGHUP is included so that
/// a closed terminal does not kill a foreground daemon and leave a dead mount behind.
const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

#[derive(Parser, Debug)]
#[command(
    name = "vecsfs",
    version,
    about = "Serve a VECS certificate database as files (FUSE), in the foreground"
)]
struct Args {
    /// The database (default: $VECS_DB, else /var/lib/vecs/vecs.db).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Comma-separated mount options: ro, debug (ignored: rw, defaults, allow_other, nosuid,
    /// nodev, noexec).
    #[arg(short = 'o', value_name = "OPTIONS")]
    options: Vec<String>,
    /// Serve in a child process and mount again if it dies (the service and mount.vecs use
    /// this).
    #[arg(long)]
    supervise: bool,
    /// Write `READY` (or `ERROR <reason>`) as one line to this inherited descriptor once the
    /// mount serves (or cannot), then close it.
    #[arg(long, value_name = "FD")]
    ready_fd: Option<i32>,
    /// Where the log goes: stderr (the journal, under systemd) or syslog (detached, as
    /// mount.vecs starts it).
    #[arg(long, value_enum, default_value_t = LogTarget::Stderr)]
    log: LogTarget,
    /// Where to mount (an existing directory).
    mountpoint: PathBuf,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogTarget {
    Stderr,
    Syslog,
}

/// What `-o` asked for.
#[derive(Debug, Default, PartialEq, Eq)]
struct MountFlags {
    read_only: bool,
    debug: bool,
}

impl MountFlags {
    /// Parses every `-o` argument. Options mount(8) and fstab pass by habit are accepted and
    /// ignored, because the daemon always behaves that way (allow_other, nosuid, nodev,
    /// noexec) or because they are the default (rw, defaults).
    fn parse(args: &[String]) -> Result<MountFlags, String> {
        let mut flags = MountFlags::default();
        for option in args.iter().flat_map(|a| a.split(',')) {
            match option.trim() {
                "" | "rw" | "defaults" | "allow_other" | "nosuid" | "nodev" | "noexec" => {}
                "ro" => flags.read_only = true,
                "debug" => flags.debug = true,
                other => {
                    return Err(format!(
                        "unknown mount option `{other}` (known: ro, rw, debug, defaults, \
                         allow_other, nosuid, nodev, noexec)"
                    ))
                }
            }
        }
        Ok(flags)
    }
}

/// A minimal stderr logger: one line per record, level and origin first. Under systemd the
/// journal adds time and pid.
struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            let _ = writeln!(
                io::stderr().lock(),
                "[{}] {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

/// The level `RUST_LOG` asks for: a plain level (`debug`), or the most verbose level of a
/// `target=level,...` list, since this logger does not filter by target.
fn env_level(value: &str) -> Option<LevelFilter> {
    value
        .split(',')
        .filter_map(|part| part.rsplit('=').next()?.trim().parse::<LevelFilter>().ok())
        .max()
}

fn init_logging(target: LogTarget, debug: bool) {
    if target == LogTarget::Syslog {
        let level = if debug {
            LevelFilter::Debug
        } else {
            LevelFilter::Info
        };
        vecsfs::logging::init("vecsfs", vecsfs::logging::Program::Daemon, level);
        return;
    }
    static LOGGER: StderrLogger = StderrLogger;
    let from_env = std::env::var("RUST_LOG").ok().and_then(|v| env_level(&v));
    let mut level = from_env.unwrap_or(LevelFilter::Info);
    if debug {
        level = level.max(LevelFilter::Debug);
    }
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

/// The daemon holds private keys in memory: no core dump may ever write them to disk, and no
/// other process of the same uid may ptrace it.
fn forbid_core_dumps() {
    // SAFETY: plain syscalls with constant arguments.
    let dumpable = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    if dumpable != 0 {
        warn!(
            "prctl(PR_SET_DUMPABLE, 0) failed: {}",
            io::Error::last_os_error()
        );
    }
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `none` is a valid rlimit for the duration of the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) } != 0 {
        warn!(
            "setrlimit(RLIMIT_CORE, 0) failed: {}",
            io::Error::last_os_error()
        );
    }
}

/// Blocks the stop signals in this thread, so that every thread spawned later inherits the
/// mask and only the signal thread's `sigwait` ever receives them.
fn block_stop_signals() -> Result<libc::sigset_t, String> {
    // SAFETY: sigset_t is plain data, initialised by sigemptyset before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in STOP_SIGNALS {
            libc::sigaddset(&mut set, signal);
        }
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(format!(
                "cannot block signals: {}",
                io::Error::from_raw_os_error(rc)
            ));
        }
        Ok(set)
    }
}

fn signal_name(signal: libc::c_int) -> &'static str {
    match signal {
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// Waits for stop signals. The first unmounts (lazily if the mount is busy), which ends
/// `Session::run` on the main thread; a second one exits at once, for a mount that stays busy.
fn spawn_signal_thread(
    set: libc::sigset_t,
    mut unmounter: Unmounter,
    mountpoint: PathBuf,
) -> io::Result<()> {
    let wait_loop = move || {
        let mut stopping = false;
        loop {
            let mut signal: libc::c_int = 0;
            // SAFETY: `set` and `signal` are valid for the call.
            let rc = unsafe { libc::sigwait(&set, &mut signal) };
            if rc != 0 {
                error!("sigwait failed: {}", io::Error::from_raw_os_error(rc));
                return;
            }
            if stopping {
                warn!(
                    "{} again: exiting with the mount still busy",
                    signal_name(signal)
                );
                std::process::exit(1);
            }
            stopping = true;
            info!(
                "{}: unmounting {}",
                signal_name(signal),
                mountpoint.display()
            );
            if let Err(e) = unmounter.unmount() {
                warn!("unmount failed ({e}); detaching the mount instead");
                if let Err(e) = detach(&mountpoint) {
                    error!("cannot detach {}: {e}", mountpoint.display());
                }
            }
        }
    };
    thread::Builder::new()
        .name("vecs-signals".into())
        .spawn(wait_loop)
        .map(drop)
}

/// The mountpoint, absolute, after checking it is an existing directory with nothing mounted
/// on it. A dead vecsfs mount there (its daemon was killed) is detached first: that is how the
/// supervisor, systemd's restart and a plain rerun bring the mount back.
fn check_mountpoint(mountpoint: &Path) -> Result<PathBuf, String> {
    let shown = mountpoint.display();
    let absolute =
        mountinfo::absolute_without_following_last(mountpoint).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => format!("mountpoint {shown} does not exist"),
            _ => format!("mountpoint {shown}: {e}"),
        })?;
    let shown = absolute.display();
    match mountinfo::state_of(&absolute).map_err(|e| format!("reading the mount table: {e}"))? {
        MountState::Free => {}
        MountState::Live(entry) => {
            return Err(format!(
                "{shown} is already mounted ({} from {})",
                entry.fstype,
                entry.source.to_string_lossy()
            ))
        }
        MountState::Dead(entry) => {
            warn!(
                "{shown}: a dead vecsfs mount of {} (its daemon is gone); detaching it",
                entry.source.to_string_lossy()
            );
            detach(&absolute).map_err(|e| format!("cannot detach the dead mount {shown}: {e}"))?;
        }
    }
    let meta = std::fs::metadata(&absolute).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => format!("mountpoint {shown} does not exist"),
        _ => format!("mountpoint {shown}: {e}"),
    })?;
    if !meta.is_dir() {
        return Err(format!("mountpoint {shown} is not a directory"));
    }
    absolute
        .canonicalize()
        .map_err(|e| format!("mountpoint {shown}: {e}"))
}

/// The database, absolute. Its directory must exist: a typo in fstab must not quietly create
/// an empty store somewhere else (the file itself is created on first use).
fn check_database(db: &Path) -> Result<PathBuf, String> {
    let absolute = if db.is_absolute() {
        db.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("current directory: {e}"))?
            .join(db)
    };
    let dir = absolute.parent().unwrap_or(Path::new("/"));
    if !dir.is_dir() {
        return Err(format!(
            "database directory {} does not exist (create it with mode 0700, or fix the path)",
            dir.display()
        ));
    }
    Ok(absolute)
}

/// Fails early and clearly when FUSE cannot work here (no module, no permission, a container
/// without the device), instead of through a less telling mount error.
fn check_dev_fuse() -> Result<(), String> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
        .map(drop)
        .map_err(|e| format!("cannot open /dev/fuse: {e}"))
}

/// Mounts and serves until the session ends. Errors are one line for the user.
fn serve(
    args: &Args,
    flags: &MountFlags,
    signals: libc::sigset_t,
    readiness: &mut Readiness,
) -> Result<(), String> {
    let mountpoint = check_mountpoint(&args.mountpoint)?;
    check_dev_fuse()?;
    let db = check_database(&vecsfs::store::resolve_db_path(args.db.as_deref()))?;
    let options = FsOptions {
        read_only: flags.read_only,
    };
    let fs = VecsFs::open_db(&db, options).map(Arc::new).map_err(|e| {
        // The store's own message usually names the file already.
        let message = e.to_string();
        let shown = db.display().to_string();
        if message.contains(&shown) {
            message
        } else {
            format!("cannot open database {shown}: {message}")
        }
    })?;

    let (tx, rx) = mpsc::channel();
    let adapter = VecsFuse::new(Arc::clone(&fs), tx.clone());
    let (session, unmounter) = mount(adapter, &mountpoint, &db, flags.read_only)
        .map_err(|e| format!("cannot mount {}: {e}", mountpoint.display()))?;
    // Before `run`, which consumes the session (fuse-anchors §1.5, pattern (a)).
    let notifier = session.notifier();

    let poll_fs = Arc::clone(&fs);
    let refresh = Box::new(move || poll_fs.refresh_if_changed());
    let background = Invalidators::start(notifier, rx, tx, Some(refresh), POLL_INTERVAL)
        .map_err(|e| format!("cannot start the invalidation threads: {e}"))?;
    spawn_signal_thread(signals, unmounter, mountpoint.clone())
        .map_err(|e| format!("cannot start the signal thread: {e}"))?;

    info!(
        "serving {} at {}{}",
        db.display(),
        mountpoint.display(),
        if flags.read_only { " (read-only)" } else { "" }
    );
    let status = status_of(&mountpoint, &db);
    if let Err(e) = status.save() {
        warn!(
            "cannot write the status file {}: {e}",
            status::file_for(&mountpoint).display()
        );
    }
    readiness.ready(&format!(
        "serving {} at {}",
        db.display(),
        mountpoint.display()
    ));
    // Users who cannot open the database read through this socket, as vmafd's clients do.
    let cli_socket = CliSocket::start(&db)
        .map_err(|e| warn!("no vecs-cli socket for other users: {e}"))
        .ok();
    // The trust sync writes through its own connection; the poller shows its commits.
    let trust_sync = match SyncThread::start(db.clone()) {
        Ok(thread) => Some(thread),
        Err(e) => {
            error!("cannot start the trust sync thread: {e}");
            None
        }
    };
    let result = session.run();
    if let Some(thread) = trust_sync {
        thread.stop();
    }
    status.remove();
    drop(cli_socket);
    // The adapter (and its sender) is gone with the session: stop the poller, drain the rest.
    background.shutdown();
    result.map_err(|e| format!("the FUSE session failed: {e}"))?;
    info!("{} unmounted; exiting", mountpoint.display());
    Ok(())
}

/// What the status file says about this server: who supervises it (from the supervisor's
/// environment) and how often the mount was brought back.
fn status_of(mountpoint: &Path, db: &Path) -> Status {
    let env = |name| std::env::var(name).ok();
    Status {
        mountpoint: mountpoint.to_path_buf(),
        database: db.to_path_buf(),
        pid: std::process::id(),
        supervisor_pid: env(ENV_SUPERVISOR_PID).and_then(|v| v.parse().ok()),
        since: status::now(),
        restarts: env(ENV_RESTARTS).and_then(|v| v.parse().ok()).unwrap_or(0),
        last_restart: env(ENV_LAST_RESTART).and_then(|v| {
            let (when, why) = v.split_once(' ')?;
            Some((when.parse().ok()?, why.to_string()))
        }),
    }
}

/// The child's command line: the same options, without `--supervise` and with its own
/// ready pipe (the supervisor's descriptor 3 in the child).
fn server_args(args: &Args) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    if let Some(db) = &args.db {
        out.extend(["--db".into(), db.clone().into_os_string()]);
    }
    for option in &args.options {
        out.extend(["-o".into(), option.into()]);
    }
    let log = match args.log {
        LogTarget::Stderr => "stderr",
        LogTarget::Syslog => "syslog",
    };
    out.extend(["--log".into(), log.into(), "--ready-fd".into(), "3".into()]);
    out.extend(["--".into(), args.mountpoint.clone().into_os_string()]);
    out
}

fn supervise(
    args: &Args,
    signals: libc::sigset_t,
    readiness: &mut Readiness,
) -> Result<(), String> {
    let program = std::env::current_exe()
        .map_err(|e| format!("cannot find my own executable: {e}"))?
        .into_os_string();
    info!("supervising the mount at {}", args.mountpoint.display());
    // Never resolved through the mount itself: a dead one would hang the lookup.
    let mountpoint = mountinfo::absolute_without_following_last(&args.mountpoint)
        .map_err(|e| format!("{}: {e}", args.mountpoint.display()))?;
    supervise::supervise(
        &program,
        &server_args(args),
        &mountpoint,
        signals,
        readiness,
    )
}

/// `vecsfs status MOUNTPOINT`.
fn status_command(mountpoint: &Path) -> ExitCode {
    match status::check(mountpoint) {
        Ok(health) => {
            print!("{}", status::report(mountpoint, &health));
            ExitCode::from(health.exit_code())
        }
        Err(e) => {
            eprintln!("vecsfs: status of {}: {e}", mountpoint.display());
            ExitCode::from(4)
        }
    }
}

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    if argv.len() == 3 && argv[1] == "status" {
        return status_command(Path::new(&argv[2]));
    }
    // clap exits 2 on bad usage and 0 for --help/--version.
    let args = Args::parse();
    // SAFETY: the descriptor was inherited for exactly this purpose and nothing else uses it.
    let mut readiness = unsafe { Readiness::from_fd(args.ready_fd) };
    let flags = match MountFlags::parse(&args.options) {
        Ok(flags) => flags,
        Err(message) => {
            readiness.failed(&message);
            eprintln!("vecsfs: {message}");
            return ExitCode::from(2);
        }
    };
    init_logging(args.log, flags.debug);
    forbid_core_dumps();
    // Before any thread exists, so that every thread inherits the mask.
    let result = block_stop_signals().and_then(|signals| {
        if args.supervise {
            supervise(&args, signals, &mut readiness)
        } else {
            serve(&args, &flags, signals, &mut readiness)
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            readiness.failed(&message);
            if args.log == LogTarget::Syslog {
                error!("{message}");
            }
            eprintln!("vecsfs: {message}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> Result<MountFlags, String> {
        MountFlags::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn mount_options_are_parsed_and_habitual_ones_ignored() {
        assert_eq!(opts(&[]), Ok(MountFlags::default()));
        assert_eq!(
            opts(&["rw,defaults,allow_other,nosuid,nodev,noexec"]),
            Ok(MountFlags::default())
        );
        assert_eq!(
            opts(&["ro", "debug"]),
            Ok(MountFlags {
                read_only: true,
                debug: true
            })
        );
        let err = opts(&["ro,exec"]).unwrap_err();
        assert!(err.contains("`exec`"), "{err}");
    }

    #[test]
    fn rust_log_levels() {
        assert_eq!(env_level("debug"), Some(LevelFilter::Debug));
        assert_eq!(
            env_level("fuser=warn,vecsfs=trace"),
            Some(LevelFilter::Trace)
        );
        assert_eq!(env_level("nonsense"), None);
    }
}
