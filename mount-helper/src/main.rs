//! mount.vecs: what mount(8) runs for a filesystem of type `vecs` (see "EXTERNAL HELPERS" in
//! mount(8)), so that `mount -t vecs DB DIR`, an fstab line and a systemd mount unit start the
//! vecsfs daemon, and return only once the mount serves requests, or fail with its reason.
//!
//! Exit statuses are mount(8)'s: 0 mounted, 1 bad invocation or not root, 32 mount failure.
//!
//! Cargo builds it as `mount-vecs` (a binary name with a dot is not a valid crate name); it is
//! installed as `/sbin/mount.vecs`, the name mount(8) looks for.

mod args;
mod spawn;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

const EXIT_USAGE: u8 = 1;
const EXIT_MOUNT_FAILURE: u8 = 32;

fn main() -> ExitCode {
    ExitCode::from(run())
}

fn run() -> u8 {
    let arguments: Vec<OsString> = std::env::args_os().skip(1).collect();
    // Needed only for relative paths; an unknown one refuses those, not the whole call.
    let cwd = std::env::current_dir().ok();

    let invocation = match args::parse(&arguments, cwd.as_deref()) {
        Ok(invocation) => invocation,
        Err(error) => {
            eprintln!("mount.vecs: {}", error.message);
            if error.show_usage {
                eprintln!("{}", args::USAGE);
            }
            return EXIT_USAGE;
        }
    };
    for option in &invocation.sloppy_skipped_options {
        eprintln!("mount.vecs: warning: ignoring unknown mount option {option}");
    }
    if invocation.verbose {
        for option in &invocation.ignored_options {
            eprintln!("mount.vecs: ignoring mount option {option} (no effect on a vecs mount)");
        }
    }

    // The daemon calls mount(2) itself (no fusermount3), which takes root.
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("mount.vecs: must be run as root");
        return EXIT_USAGE;
    }

    let daemon = match spawn::locate_daemon(
        std::env::var_os("VECSFS_BIN"),
        std::env::current_exe(),
        cwd.as_deref(),
    ) {
        Ok(daemon) => daemon,
        Err(message) => {
            eprintln!("mount.vecs: {message}");
            return EXIT_MOUNT_FAILURE;
        }
    };
    let daemon_arguments = spawn::daemon_arguments(&invocation);
    if invocation.verbose {
        eprintln!(
            "mount.vecs: {} {}",
            if invocation.fake {
                "would run"
            } else {
                "running"
            },
            command_line(&daemon, &daemon_arguments)
        );
    }
    if invocation.fake {
        return 0;
    }

    match spawn::start(
        spawn::daemon_command(&daemon, &daemon_arguments),
        spawn::READY_TIMEOUT,
        spawn::REAP_TIMEOUT,
    ) {
        Ok(ready) => {
            if invocation.verbose {
                eprintln!(
                    "mount.vecs: {} mounted at {} (daemon pid {})",
                    invocation.source.display(),
                    invocation.mountpoint.display(),
                    ready.child.id()
                );
            }
            0
        }
        Err(message) => {
            eprintln!("mount.vecs: {message}");
            EXIT_MOUNT_FAILURE
        }
    }
}

/// For -v only: the command as a person would type it (not quoted; the paths are absolute).
fn command_line(daemon: &Path, arguments: &[OsString]) -> String {
    let mut line = daemon.display().to_string();
    for argument in arguments {
        line.push(' ');
        line.push_str(&argument.to_string_lossy());
    }
    line
}
