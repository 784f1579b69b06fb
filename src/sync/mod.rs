//! The trust sync: TRUSTED_ROOTS and TRUSTED_ROOTS_CRLS follow a trust source (an LDAP
//! directory laid out as vmdir, or a folder of files), as VECS follows vmdir
//! (../shared/reference/vecs-reference.md §5), without its 256-entry page limit and without
//! aborting on one bad object.
//!
//! A run: fetch every object (no database lock held), parse each (an invalid one is skipped
//! and named), then apply the result to both stores in one transaction, and record the
//! outcome as the sync status.

pub mod config;
mod fetch;
pub mod runner;

use std::collections::BTreeMap;

use crate::daemon::status::{now, utc};
use crate::error::{Error, Result};
use crate::pki::{parse_trust_material, TrustItem};
use crate::store::{Database, EntryContent, SyncChanges, SyncTarget, SyncedEntry};

pub use config::{SourceKind, TrustSource};

/// What one run did.
#[derive(Debug, Default)]
pub struct SyncReport {
    pub source: String,
    pub changes: SyncChanges,
    /// Objects left out: where each came from, and why.
    pub skipped: Vec<(String, String)>,
}

impl SyncReport {
    pub fn added(&self) -> usize {
        self.changes.roots.added.len() + self.changes.crls.added.len()
    }

    pub fn removed(&self) -> usize {
        self.changes.roots.removed.len() + self.changes.crls.removed.len()
    }

    pub fn unchanged(&self) -> usize {
        self.changes.roots.unchanged + self.changes.crls.unchanged
    }

    /// The last line `force-refresh` prints and the daemon logs.
    pub fn summary(&self) -> String {
        format!(
            "Trust sync from {}: {} added, {} removed, {} unchanged, {} skipped",
            self.source,
            self.added(),
            self.removed(),
            self.unchanged(),
            self.skipped.len()
        )
    }
}

/// Runs one sync from `source` into `db` and records how it went.
pub fn run_once(db: &mut Database, source: &TrustSource) -> Result<SyncReport> {
    let started = now();
    let result = sync(db, source);
    let mut status = BTreeMap::new();
    let mut put = |key: &str, value: String| {
        status.insert(format!("{}{key}", config::STATUS_PREFIX), value);
    };
    put("last_run", started.to_string());
    match &result {
        Ok(report) => {
            put("last_result", "ok".into());
            put("last_success", started.to_string());
            put("last_error", String::new());
            put("added", report.added().to_string());
            put("removed", report.removed().to_string());
            put("skipped", report.skipped.len().to_string());
        }
        Err(e) => {
            put("last_result", "failed".into());
            put("last_error", e.to_string().replace('\n', " "));
        }
    }
    if let Err(e) = db.record_settings(&status) {
        log::warn!("cannot record the trust sync status: {e}");
    }
    result
}

fn sync(db: &mut Database, source: &TrustSource) -> Result<SyncReport> {
    let name = source.name();
    let objects = fetch::fetch(source).map_err(|e| Error::TrustSync {
        source_name: name.clone(),
        reason: e.reason,
        code: e.code,
    })?;
    let mut report = SyncReport {
        source: name,
        ..SyncReport::default()
    };
    let mut target = SyncTarget::default();
    for object in objects {
        let parsed = object
            .data
            .and_then(|data| parse_trust_material(&data).map_err(|e| e.to_string()));
        match parsed {
            Ok(items) => {
                for item in items {
                    match item {
                        TrustItem::Root(root) => target.roots.push(SyncedEntry {
                            alias: root.alias(),
                            content: EntryContent::trusted_cert(&root),
                        }),
                        TrustItem::Crl(crl) => target.crls.push(SyncedEntry {
                            alias: crl.alias(),
                            content: EntryContent::crl(&crl),
                        }),
                    }
                }
            }
            Err(reason) => {
                log::warn!("trust sync: skipped {}: {reason}", object.origin);
                report.skipped.push((object.origin, reason));
            }
        }
    }
    report.changes = db.apply_sync(&target)?;
    for alias in &report.changes.roots.added {
        log::info!("trust sync: added [TRUSTED_ROOTS] {alias}");
    }
    for alias in &report.changes.roots.removed {
        log::info!("trust sync: removed [TRUSTED_ROOTS] {alias}");
    }
    for alias in &report.changes.crls.added {
        log::info!("trust sync: added [TRUSTED_ROOTS_CRLS] {alias}");
    }
    for alias in &report.changes.crls.removed {
        log::info!("trust sync: removed [TRUSTED_ROOTS_CRLS] {alias}");
    }
    Ok(report)
}

/// The sync status as `key: value` lines, in the order `vecs-cli trust-source show` prints
/// them (`-` for what is not set).
pub fn status_lines(db: &Database) -> Result<Vec<(&'static str, String)>> {
    let source = config::load(db)?;
    let settings = db.settings(config::STATUS_PREFIX)?;
    let status = |key: &str| {
        settings
            .get(&format!("{}{key}", config::STATUS_PREFIX))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let time = |key: &str| {
        status(key)
            .and_then(|v| v.parse::<u64>().ok())
            .map(utc)
            .unwrap_or_else(|| "-".into())
    };
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let ldap = match source.as_ref().map(|s| &s.kind) {
        Some(SourceKind::Ldap(ldap)) => Some(ldap),
        _ => None,
    };
    let (roots, crls) = db.synced_counts()?;
    Ok(vec![
        (
            "source",
            source
                .as_ref()
                .map_or_else(|| "none".into(), TrustSource::name),
        ),
        ("base_dn", dash(ldap.map(|l| l.base_dn.clone()))),
        ("bind_dn", dash(ldap.map(|l| l.bind_dn.clone()))),
        (
            "password_file",
            dash(ldap.map(|l| l.password_file.display().to_string())),
        ),
        (
            "ca_file",
            dash(
                ldap.and_then(|l| l.ca_file.as_ref())
                    .map(|f| f.display().to_string()),
            ),
        ),
        (
            "interval",
            source
                .as_ref()
                .map_or_else(|| "-".into(), |s| s.interval.as_secs().to_string()),
        ),
        ("last_run", time("last_run")),
        ("last_result", dash(status("last_result"))),
        ("last_success", time("last_success")),
        ("last_error", dash(status("last_error"))),
        ("added", dash(status("added"))),
        ("removed", dash(status("removed"))),
        ("skipped", dash(status("skipped"))),
        ("synced_roots", roots.to_string()),
        ("synced_crls", crls.to_string()),
    ])
}
