//! `vecs-cli`: VMware's command-line tool for VECS, with the same commands, output and exit
//! codes, working on a vecsfs database.

mod args;
mod commands;
mod messages;
mod migrate;
pub mod remote;
mod status;
mod trust;

use std::io::{BufRead, Write};

pub use messages::error_line;

use crate::error::code;

/// Where a run of vecs-cli reads and writes: the process's standard streams, or buffers in tests.
pub struct Io<'a> {
    pub stdin: &'a mut dyn BufRead,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
}

/// Why a command failed: the VECS code, and the line VECS prints before the generic one.
#[derive(Debug)]
pub(crate) struct Failure {
    code: u32,
    note: Option<String>,
}

impl Failure {
    fn code(code: u32) -> Self {
        Failure { code, note: None }
    }

    fn with_note(code: u32, note: impl Into<String>) -> Self {
        Failure {
            code,
            note: Some(note.into()),
        }
    }
}

/// Writes `text` to stdout; a closed stdout is VECS's file I/O error.
fn print(io: &mut Io, text: &str) -> Result<(), Failure> {
    io.stdout
        .write_all(text.as_bytes())
        .map_err(|_| Failure::code(code::VECS_GENERIC_FILE_IO))
}

/// A refusal with its reason on stderr (vecsfs's commands say why), then VMware's error line.
fn refusal(e: crate::Error) -> Failure {
    log::warn!("{e}");
    Failure::with_note(e.vecs_code(), format!("Error: {e} \n"))
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Self {
        log::warn!("{e}");
        Failure::code(e.vecs_code())
    }
}

/// Runs vecs-cli with `args` (without the program name) as the user `uid`, and returns the
/// VECS code; the process exit status is `code & 0xFF`, as VECS's.
pub fn run(args: &[String], io: &mut Io, uid: u32) -> u32 {
    match args::parse(args) {
        Ok(invocation) if remote::needs_daemon(&invocation, uid) => {
            remote::forward(args, &invocation, io)
        }
        Ok(invocation) => run_here(invocation, io, uid),
        Err(args::UsageError) => report(Failure::code(code::INVALID_PARAMETER), io),
    }
}

/// Runs a parsed command in this process, on the database it names (the daemon's socket
/// serves requests this way: never forwarded again, and without probing the database file,
/// whose every open and close in the daemon would drop SQLite's locks).
fn run_here(invocation: args::Invocation, io: &mut Io, uid: u32) -> u32 {
    match commands::execute(invocation, io, uid) {
        Ok(()) => {
            let _ = io.stdout.flush();
            0
        }
        Err(failure) => report(failure, io),
    }
}

fn report(failure: Failure, io: &mut Io) -> u32 {
    // Output errors are ignored on purpose: nothing better can be done with a closed stream,
    // and the exit status still tells the failure.
    if let Some(note) = &failure.note {
        let _ = io.stderr.write_all(note.as_bytes());
    }
    if failure.code == code::INVALID_PARAMETER {
        let _ = io.stdout.write_all(messages::USAGE.as_bytes());
    }
    let _ = io.stdout.flush();
    let _ = io
        .stderr
        .write_all(messages::error_line(failure.code).as_bytes());
    let _ = io.stderr.flush();
    failure.code
}
