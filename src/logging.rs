//! Logging for the command-line tools: every record goes to syslog (the journal on systemd
//! hosts); with `RUST_LOG` set, records at or above that level also go to stderr. vecs-cli's own
//! stderr stays byte-compatible with VMware's unless the user asks for more.

use std::ffi::CString;
use std::io::Write;
use std::sync::OnceLock;

use log::{Level, LevelFilter, Log, Metadata, Record};

struct SyslogLogger {
    stderr_level: Option<LevelFilter>,
}

static LOGGER: OnceLock<SyslogLogger> = OnceLock::new();
/// openlog(3) keeps the pointer it is given, so the identity must live for the whole process.
static IDENT: OnceLock<CString> = OnceLock::new();

/// Installs the logger once; `ident` names the program in syslog.
pub fn init(ident: &str) {
    let stderr_level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<LevelFilter>().ok());
    let ident = IDENT.get_or_init(|| CString::new(ident).unwrap_or_default());
    // SAFETY: `ident` is 'static; LOG_PID|LOG_AUTHPRIV are valid flags.
    unsafe { libc::openlog(ident.as_ptr(), libc::LOG_PID, libc::LOG_AUTHPRIV) };
    let logger = LOGGER.get_or_init(|| SyslogLogger { stderr_level });
    if log::set_logger(logger).is_ok() {
        log::set_max_level(LevelFilter::Info.max(stderr_level.unwrap_or(LevelFilter::Off)));
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
        if record.level() <= Level::Info {
            let priority = match record.level() {
                Level::Error => libc::LOG_ERR,
                Level::Warn => libc::LOG_WARNING,
                _ => libc::LOG_INFO,
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
