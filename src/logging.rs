//! Logging to syslog (the journal on systemd hosts): vecs-cli logs every change and refusal
//! there, and the detached mount daemon everything it says. With `RUST_LOG` set, records at or
//! above that level also go to stderr, so vecs-cli's own stderr stays byte-compatible with
//! VMware's unless the user asks for more.

use std::ffi::CString;
use std::io::Write;
use std::sync::OnceLock;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Who is logging, which decides the syslog facility (and so, on rsyslog hosts, the file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    /// vecs-cli: changes to the store and refusals are security events (LOG_AUTHPRIV).
    Cli,
    /// The mount daemon (LOG_DAEMON), which lands in /var/log/syslog and the journal like any
    /// other service's log.
    Daemon,
}

struct SyslogLogger {
    syslog_level: LevelFilter,
    stderr_level: Option<LevelFilter>,
}

static LOGGER: OnceLock<SyslogLogger> = OnceLock::new();
/// openlog(3) keeps the pointer it is given, so the identity must live for the whole process.
static IDENT: OnceLock<CString> = OnceLock::new();

/// Installs the logger once; `ident` names the program in syslog, which receives records at
/// `syslog_level` and above (Info normally; Debug for the daemon's `-o debug`).
pub fn init(ident: &str, program: Program, syslog_level: LevelFilter) {
    let stderr_level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<LevelFilter>().ok());
    let ident = IDENT.get_or_init(|| CString::new(ident).unwrap_or_default());
    let facility = match program {
        Program::Cli => libc::LOG_AUTHPRIV,
        Program::Daemon => libc::LOG_DAEMON,
    };
    // SAFETY: `ident` is 'static; LOG_PID and the facilities are valid flags.
    unsafe { libc::openlog(ident.as_ptr(), libc::LOG_PID, facility) };
    let logger = LOGGER.get_or_init(|| SyslogLogger {
        syslog_level,
        stderr_level,
    });
    if log::set_logger(logger).is_ok() {
        log::set_max_level(syslog_level.max(stderr_level.unwrap_or(LevelFilter::Off)));
    }
}

impl Log for SyslogLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = format!("{}", record.args());
        if record.level() <= self.syslog_level {
            let priority = match record.level() {
                Level::Error => libc::LOG_ERR,
                Level::Warn => libc::LOG_WARNING,
                Level::Info => libc::LOG_INFO,
                Level::Debug | Level::Trace => libc::LOG_DEBUG,
            };
            if let Ok(text) = CString::new(message.replace('\0', " ")) {
                // SAFETY: "%s" with one NUL-terminated argument.
                unsafe { libc::syslog(priority, c"%s".as_ptr(), text.as_ptr()) };
            }
        }
        if self.stderr_level.is_some_and(|l| record.level() <= l) {
            let _ = writeln!(std::io::stderr(), "[{}] {}", record.level(), message);
        }
    }

    fn flush(&self) {}
}
