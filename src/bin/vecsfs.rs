//! vecsfs: serves the certificate database as files, in the foreground, until unmounted.
//!
//! `vecsfs [--db PATH] [-o OPTIONS] MOUNTPOINT`
//!
//! Exit status: 0 after `umount MOUNTPOINT` or SIGTERM/SIGINT/SIGHUP (the daemon unmounts
//! itself); 1 when it cannot start (mountpoint, /dev/fuse, database, mount); 2 for bad usage.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use clap::Parser;
use log::{error, info, warn, LevelFilter, Log, Metadata, Record};

use vecsfs::fs::{FsOptions, VecsFs};
use vecsfs::fuse::mount::{detach, mount, Unmounter};
use vecsfs::fuse::notify::{Invalidators, POLL_INTERVAL};
use vecsfs::fuse::VecsFuse;

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
    /// Where to mount (an existing directory).
    mountpoint: PathBuf,
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

fn init_logging(debug: bool) {
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

/// The mountpoint, absolute, after checking it is an existing directory.
fn check_mountpoint(mountpoint: &Path) -> Result<PathBuf, String> {
    let shown = mountpoint.display();
    let meta = std::fs::metadata(mountpoint).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOTCONN) => {
            format!("mountpoint {shown}: {e} (a previous daemon died; `umount -l {shown}` first)")
        }
        _ => format!("mountpoint {shown}: {e}"),
    })?;
    if !meta.is_dir() {
        return Err(format!("mountpoint {shown} is not a directory"));
    }
    mountpoint
        .canonicalize()
        .map_err(|e| format!("mountpoint {shown}: {e}"))
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
fn serve(args: &Args, flags: &MountFlags) -> Result<(), String> {
    // First, before any thread exists (the filesystem layer or fuser may start some).
    let signals = block_stop_signals()?;
    let mountpoint = check_mountpoint(&args.mountpoint)?;
    check_dev_fuse()?;
    let db = vecsfs::store::resolve_db_path(args.db.as_deref());
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
    let (session, unmounter) = mount(adapter, &mountpoint, flags.read_only)
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
    let result = session.run();
    // The adapter (and its sender) is gone with the session: stop the poller, drain the rest.
    background.shutdown();
    result.map_err(|e| format!("the FUSE session failed: {e}"))?;
    info!("{} unmounted; exiting", mountpoint.display());
    Ok(())
}

fn main() -> ExitCode {
    // clap exits 2 on bad usage and 0 for --help/--version.
    let args = Args::parse();
    let flags = match MountFlags::parse(&args.options) {
        Ok(flags) => flags,
        Err(message) => {
            eprintln!("vecsfs: {message}");
            return ExitCode::from(2);
        }
    };
    init_logging(flags.debug);
    forbid_core_dumps();
    match serve(&args, &flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
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
