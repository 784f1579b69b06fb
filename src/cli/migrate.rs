//! `vecs-cli import` and `vecs-cli export` (vecsfs's additions): moving off VMware VECS and
//! back. The work is done in `crate::migrate`; this is the arguments, the passwords and what
//! is printed.

use std::fmt::Write as _;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::args::{ExportCommand, ImportCommand};
use super::commands::access_name;
use super::{print, Failure, Io};
use crate::error::code;
use crate::migrate::{self, ExportRequest, ImportOptions, ImportReport, MigrateError};
use crate::store::{Database, ImportedAs};
use crate::users::Principal;

type Outcome = Result<(), Failure>;

/// A password file is one line; anything much longer is not a password file.
const MAX_PASSWORD_FILE: u64 = 4096;

/// An import checked before the target database is opened (and so perhaps created).
pub(super) struct ImportRequest {
    afd_db: PathBuf,
    options: ImportOptions,
    verbose: bool,
}

pub(super) fn import_request(command: ImportCommand, uid: u32) -> Result<ImportRequest, Failure> {
    let afd_db = command
        .afd_db
        .filter(|p| !p.is_empty())
        .ok_or_else(|| usage_note("import needs --afd-db <path of the VECS afd.db>"))?;
    if uid != 0 {
        return Err(failure(MigrateError::Store(crate::Error::OnlyRoot(
            "import a VECS database",
        ))));
    }
    Ok(ImportRequest {
        afd_db: PathBuf::from(afd_db),
        options: ImportOptions {
            dry_run: command.dry_run,
            allow_partial: command.allow_partial,
        },
        verbose: command.verbose,
    })
}

pub(super) fn import(request: ImportRequest, io: &mut Io, uid: u32, db: &mut Database) -> Outcome {
    let started = std::time::Instant::now();
    let report = migrate::import_afd(db, uid, &request.afd_db, request.options).map_err(failure)?;
    let text = render_import(&request, db.path(), &report);
    print(io, &text)?;
    log::info!(
        "uid {uid} imported {} from {} into {}: {} entries added, {} skipped, in {:.2} s",
        if report.committed {
            "stores"
        } else {
            "nothing (dry run or refused)"
        },
        request.afd_db.display(),
        db.path().display(),
        report.entry_count(ImportedAs::Added),
        report.skipped.len(),
        started.elapsed().as_secs_f64()
    );
    if report.refused() {
        let first = report
            .skipped
            .first()
            .map_or(code::INVALID_PARAMETER, |s| s.code);
        return Err(Failure::with_note(
            first,
            format!(
                "Error: nothing was imported: {} item(s) cannot be imported as they are (listed \
                 above); fix them in VECS, or run again with --allow-partial to import the rest \n",
                report.skipped.len()
            ),
        ));
    }
    Ok(())
}

fn render_import(request: &ImportRequest, target: &Path, report: &ImportReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Import of VECS database {} into {}{}",
        request.afd_db.display(),
        target.display(),
        if report.dry_run {
            " (dry run: nothing is changed)"
        } else {
            ""
        }
    );
    for store in &report.stores {
        let name = if store.source_name == store.target_name {
            format!("[{}]", store.source_name)
        } else {
            format!("[{}] -> [{}]", store.source_name, store.target_name)
        };
        let mut line = format!(
            "Store {name}: {}, owner {}",
            if store.created { "new" } else { "exists" },
            store.owner.display_name()
        );
        if let Some(previous) = store.previous_owner {
            let _ = write!(line, " (was {})", Principal::User(previous).display_name());
        }
        let grants: Vec<String> = store
            .grants
            .iter()
            .map(|g| format!("{} {}", g.principal.display_name(), access_name(g.mask)))
            .collect();
        if !grants.is_empty() {
            let _ = write!(line, "; grants: {}", grants.join(", "));
        }
        let added = store
            .entries
            .iter()
            .filter(|e| e.result == ImportedAs::Added)
            .count();
        let synced = store
            .entries
            .iter()
            .filter(|e| e.result == ImportedAs::Added && e.from_sync)
            .count();
        let present = store
            .entries
            .iter()
            .filter(|e| e.result == ImportedAs::Identical)
            .count();
        let _ = write!(line, "; {added} entries added");
        if synced > 0 {
            let _ = write!(line, " ({synced} from the trust sync)");
        }
        if present > 0 {
            let _ = write!(line, ", {present} already present");
        }
        out.push_str(&line);
        out.push('\n');
        if request.verbose {
            for entry in &store.entries {
                let (mark, what) = match entry.result {
                    ImportedAs::Added => ("+", ""),
                    ImportedAs::Identical => ("=", ", already present"),
                    ImportedAs::Conflict => ("!", ", skipped"),
                };
                let sync = if entry.from_sync { ", sync" } else { "" };
                let _ = writeln!(
                    out,
                    "  {mark} {} ({}{sync}{what})",
                    entry.alias,
                    entry.entry_type.vecs_name()
                );
            }
        }
    }
    if !report.skipped.is_empty() {
        let _ = writeln!(out, "Skipped ({}):", report.skipped.len());
        for skipped in &report.skipped {
            let _ = writeln!(
                out,
                "  store [{}] {}: {} (error {})",
                skipped.store, skipped.item, skipped.reason, skipped.code
            );
        }
    }
    if !report.notes.is_empty() {
        out.push_str("Notes:\n");
        for note in &report.notes {
            let _ = writeln!(out, "  {note}");
        }
    }
    let created = report.stores.iter().filter(|s| s.created).count();
    let grants_changed = report
        .stores
        .iter()
        .flat_map(|s| &s.grants)
        .filter(|g| g.previous != Some(g.mask))
        .count();
    let summary = format!(
        "{} stores ({created} new), {} entries added, {} already present, {grants_changed} grants changed, {} skipped",
        report.stores.len(),
        report.entry_count(ImportedAs::Added),
        report.entry_count(ImportedAs::Identical),
        report.skipped.len()
    );
    let _ = match (report.dry_run, report.committed) {
        (true, _) if !report.skipped.is_empty() && !request.options.allow_partial => writeln!(
            out,
            "Dry run: {summary}. An import would be refused because of the skipped items \
             (--allow-partial imports the rest). Nothing was changed."
        ),
        (true, _) => writeln!(out, "Dry run: {summary}. Nothing was changed."),
        (false, true) => writeln!(out, "Imported: {summary}."),
        (false, false) => writeln!(
            out,
            "Refused, nothing was changed. The import would have been: {summary}."
        ),
    };
    out
}

/// An export checked, with its passwords read, before the database is opened.
pub(super) struct ExportPlan {
    store: String,
    alias: Option<String>,
    output: PathBuf,
    pkcs12_password: Option<Zeroizing<String>>,
    entry_password: Option<Zeroizing<String>>,
}

pub(super) fn export_request(command: ExportCommand, io: &mut Io) -> Result<ExportPlan, Failure> {
    let store = command
        .store
        .filter(|s| !s.is_empty())
        .ok_or_else(|| usage_note("export needs --store <store-name>"))?;
    let output = command
        .output
        .filter(|s| !s.is_empty())
        .ok_or_else(|| usage_note("export needs --output <directory>"))?;
    let password_sources =
        usize::from(command.password_file.is_some()) + usize::from(command.password_env.is_some());
    if !command.pkcs12 && (password_sources > 0 || command.entry_password_file.is_some()) {
        return Err(usage_note(
            "--password-file, --password-env and --entry-password-file go with --pkcs12",
        ));
    }
    let pkcs12_password = if command.pkcs12 {
        let password = match (&command.password_file, &command.password_env) {
            (Some(file), None) => read_password_file(file, io)?,
            (None, Some(variable)) => read_password_env(variable)?,
            _ => {
                return Err(usage_note(
                    "--pkcs12 needs its password from one of --password-file <file, or - for \
                     standard input> or --password-env <variable>",
                ))
            }
        };
        Some(password)
    } else {
        None
    };
    let entry_password = match &command.entry_password_file {
        Some(file) if command.password_file.as_deref() == Some("-") && file == "-" => {
            return Err(usage_note(
                "standard input can give only one of the two passwords",
            ))
        }
        Some(file) => Some(read_password_file(file, io)?),
        None => None,
    };
    Ok(ExportPlan {
        store,
        alias: command.alias.filter(|a| !a.is_empty()),
        output: PathBuf::from(output),
        pkcs12_password,
        entry_password,
    })
}

pub(super) fn export(plan: ExportPlan, io: &mut Io, uid: u32, db: &Database) -> Outcome {
    let request = ExportRequest {
        store: &plan.store,
        alias: plan.alias.as_deref(),
        output_dir: &plan.output,
        pkcs12_password: plan.pkcs12_password,
        entry_password: plan.entry_password,
    };
    let report = migrate::export_entries(db, uid, &request).map_err(failure)?;
    let mut out = String::new();
    if report.created_dir {
        let _ = writeln!(out, "Created {} (0700)", plan.output.display());
    }
    for file in &report.files {
        let _ = writeln!(
            out,
            "Wrote {} ({}, {:04o})",
            file.path.display(),
            file.content,
            file.mode
        );
    }
    let mut aliases: Vec<&str> = report.files.iter().map(|f| f.alias.as_str()).collect();
    aliases.dedup();
    let _ = writeln!(
        out,
        "Exported {} entries of store [{}] to {} ({} files).",
        aliases.len(),
        plan.store,
        plan.output.display(),
        report.files.len()
    );
    log::info!(
        "uid {uid} exported {} entries of store [{}] to {} ({} files)",
        aliases.len(),
        plan.store,
        plan.output.display(),
        report.files.len()
    );
    print(io, &out)
}

/// The first line of a password file, or of standard input for `-`; never empty.
fn read_password_file(path: &str, io: &mut Io) -> Result<Zeroizing<String>, Failure> {
    let raw = if path == "-" {
        // Room for the most that is read, so that growing leaves no copy behind.
        let mut raw = Zeroizing::new(Vec::with_capacity(MAX_PASSWORD_FILE as usize));
        io.stdin
            .take(MAX_PASSWORD_FILE)
            .read_until(b'\n', &mut raw)
            .map_err(|e| {
                failure(MigrateError::Io {
                    path: "standard input".into(),
                    source: e,
                })
            })?;
        raw
    } else {
        std::fs::File::open(path)
            .and_then(|file| crate::secret::read_to_end(file, MAX_PASSWORD_FILE))
            .map_err(|e| {
                failure(MigrateError::Io {
                    path: path.to_string(),
                    source: e,
                })
            })?
    };
    let line_end = raw.iter().position(|&b| b == b'\n').unwrap_or(raw.len());
    let line = raw[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&raw[..line_end]);
    let source = if path == "-" { "standard input" } else { path };
    password_from(line, source)
}

fn read_password_env(variable: &str) -> Result<Zeroizing<String>, Failure> {
    let value = Zeroizing::new(
        std::env::var_os(variable)
            .map(std::os::unix::ffi::OsStringExt::into_vec)
            .unwrap_or_default(),
    );
    password_from(&value, &format!("the environment variable {variable}"))
}

fn password_from(bytes: &[u8], source: &str) -> Result<Zeroizing<String>, Failure> {
    if bytes.is_empty() {
        return Err(usage_note(&format!(
            "the password from {source} is empty; a PKCS#12 file needs a password"
        )));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| usage_note(&format!("the password from {source} is not UTF-8 text")))?;
    Ok(Zeroizing::new(text.to_string()))
}

fn usage_note(text: &str) -> Failure {
    log::warn!("{text}");
    Failure::with_note(code::INVALID_PARAMETER, format!("Error: {text} \n"))
}

fn failure(e: MigrateError) -> Failure {
    log::warn!("{e}");
    Failure::with_note(e.vecs_code(), format!("Error: {e} \n"))
}
