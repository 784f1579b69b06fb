//! vecsfs's trust-sync commands: `trust-source set|show|unset` (an addition) and
//! `force-refresh` (VMware's command, which runs the configured sync now).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::args::{TrustSourceCommand, TrustSourceOptions};
use super::{print, refusal, Failure, Io};
use crate::error::{code, Error};
use crate::store::Database;
use crate::sync::config::{self, LdapSource, DEFAULT_INTERVAL};
use crate::sync::{self, SourceKind, TrustSource};

type Outcome = Result<(), Failure>;

pub(super) fn trust_source(
    command: TrustSourceCommand,
    io: &mut Io,
    uid: u32,
    db: &mut Database,
) -> Outcome {
    match command {
        TrustSourceCommand::Set(options) => {
            let source = source_from(&options).map_err(refusal)?;
            config::save(db, uid, Some(&source)).map_err(refusal)?;
            log::info!("uid {uid} set the trust source to {}", source.name());
            print(io, &format!("Trust source set: {}\n", describe(&source)))
        }
        TrustSourceCommand::Unset => {
            config::save(db, uid, None).map_err(refusal)?;
            log::info!("uid {uid} removed the trust source");
            print(io, "Trust source removed\n")
        }
        TrustSourceCommand::Show => {
            let lines = sync::status_lines(db).map_err(refusal)?;
            let text: String = lines
                .iter()
                .map(|(key, value)| format!("{key}: {value}\n"))
                .collect();
            print(io, &text)
        }
    }
}

/// Runs the configured sync now and says what changed. Without a source, VMware's answer on a
/// host that is not joined to a domain.
pub(super) fn force_refresh(io: &mut Io, uid: u32, db: &mut Database) -> Outcome {
    let not_joined = |uid| {
        let code = if uid == 0 {
            code::VECS_NOT_JOINED
        } else {
            code::ACCESS_DENIED
        };
        Failure::with_note(code, "Error: Failed to trigger root cert refresh \n\n")
    };
    let Some(source) = config::load(db).map_err(refusal)? else {
        return Err(not_joined(uid));
    };
    if uid != 0 {
        return Err(not_joined(uid));
    }
    let report = sync::run_once(db, &source).map_err(refusal)?;
    let mut text = String::new();
    let changes = &report.changes;
    for (verb, store, aliases) in [
        ("Added", "TRUSTED_ROOTS", &changes.roots.added),
        ("Removed", "TRUSTED_ROOTS", &changes.roots.removed),
        ("Added", "TRUSTED_ROOTS_CRLS", &changes.crls.added),
        ("Removed", "TRUSTED_ROOTS_CRLS", &changes.crls.removed),
    ] {
        for alias in aliases {
            text.push_str(&format!("{verb} [{store}] {alias}\n"));
        }
    }
    for (origin, reason) in &report.skipped {
        text.push_str(&format!("Skipped {origin}: {reason}\n"));
    }
    text.push_str(&report.summary());
    text.push('\n');
    print(io, &text)
}

fn describe(source: &TrustSource) -> String {
    let every = format!("every {} s", source.interval.as_secs());
    match &source.kind {
        SourceKind::Ldap(ldap) => format!(
            "{} base {} as {} ({every})",
            ldap.url, ldap.base_dn, ldap.bind_dn
        ),
        SourceKind::Directory(dir) => format!("dir:{} ({every})", dir.display()),
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParameter(message.into())
}

fn source_from(o: &TrustSourceOptions) -> Result<TrustSource, Error> {
    let interval = match &o.interval {
        None => DEFAULT_INTERVAL,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|&s| s > 0)
            .map(Duration::from_secs)
            .ok_or_else(|| invalid(format!("--interval [{text}] is not a number of seconds")))?,
    };
    let kind = match (&o.ldap, &o.dir) {
        (Some(_), Some(_)) => return Err(invalid("give --ldap or --dir, not both")),
        (None, None) => return Err(invalid("give the source: --ldap URL or --dir PATH")),
        (None, Some(dir)) => {
            let ldap_only = [
                &o.domain,
                &o.base_dn,
                &o.bind_dn,
                &o.password_file,
                &o.ca_file,
            ];
            if ldap_only.iter().any(|v| v.is_some()) {
                return Err(invalid("--dir takes no LDAP options"));
            }
            SourceKind::Directory(absolute(dir)?)
        }
        (Some(url), None) => SourceKind::Ldap(ldap_source(url, o)?),
    };
    Ok(TrustSource { kind, interval })
}

fn ldap_source(url: &str, o: &TrustSourceOptions) -> Result<LdapSource, Error> {
    let rest = url
        .strip_prefix("ldap://")
        .or_else(|| url.strip_prefix("ldaps://"))
        .ok_or_else(|| invalid(format!("[{url}] is not an ldap:// or ldaps:// URL")))?;
    if rest.trim_end_matches('/').is_empty() || rest.trim_end_matches('/').contains('/') {
        return Err(invalid(format!(
            "[{url}] must be ldap[s]://HOST[:PORT] (the base DN is --domain or --base-dn)"
        )));
    }
    let base_dn = match (&o.domain, &o.base_dn) {
        (Some(_), Some(_)) => return Err(invalid("give --domain or --base-dn, not both")),
        (None, None) => return Err(invalid("give --domain NAME or --base-dn DN")),
        (Some(domain), None) => config::base_dn_of_domain(domain)?,
        (None, Some(dn)) => dn.clone(),
    };
    let bind_dn = o
        .bind_dn
        .clone()
        .ok_or_else(|| invalid("give --bind-dn DN"))?;
    let password_file = absolute(o.password_file.as_deref().ok_or_else(|| {
        invalid("give --password-file FILE (the password is never an argument)")
    })?)?;
    std::fs::File::open(&password_file)
        .map_err(|e| Error::io(password_file.display().to_string(), e))?;
    let ca_file = match &o.ca_file {
        // There is no StartTLS: a CA file on a plain ldap:// URL would verify nothing.
        Some(_) if url.starts_with("ldap://") => return Err(invalid(
            "--ca-file is for ldaps:// URLs (ldap:// is not encrypted, and StartTLS is not used)",
        )),
        Some(file) => {
            let file = absolute(file)?;
            std::fs::File::open(&file).map_err(|e| Error::io(file.display().to_string(), e))?;
            Some(file)
        }
        None => None,
    };
    Ok(LdapSource {
        url: url.trim_end_matches('/').to_string(),
        base_dn,
        bind_dn,
        password_file,
        ca_file,
    })
}

/// The daemon runs in `/`: relative paths are made absolute where the command was given.
fn absolute(path: &str) -> Result<PathBuf, Error> {
    let path = Path::new(path);
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .map_err(|e| Error::io(".", e))
}
