//! Moving off VMware VECS, and back: import a VECS `afd.db` (stores, entries, owners, grants,
//! the sync flag) into a vecsfs database, and export a store or an entry to the files VMware
//! tooling and services take (PEM, PKCS#12).
//!
//! - [`afd`] reads VECS's own SQLite schema, read-only, without changing the file;
//! - [`import`] validates what it read as `vecs-cli entry create` would and applies it through
//!   the store's one-transaction import, reporting everything it skips;
//! - [`export`] writes PEM and PKCS#12 files, keys 0600, all or nothing.

mod afd;
mod export;
mod import;

pub use export::{export_entries, ExportReport, ExportRequest, ExportedFile};
pub use import::{import_afd, EntryReport, ImportOptions, ImportReport, Skipped, StoreReport};

use crate::error::{code, Error};

/// Why an import or an export failed as a whole (one skipped item is not a failure: it is in
/// the report).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a VECS database: {reason}")]
    NotVecs { path: String, reason: String },
    #[error("{path} cannot be imported now: {reason}")]
    Busy { path: String, reason: String },
    #[error("{0} exists already; nothing was written")]
    OutputExists(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("cannot write the PKCS#12 file: {0}")]
    Pkcs12(String),
    #[error(transparent)]
    Store(#[from] Error),
    /// A failure of one entry of a store's export, named: which one broke it.
    #[error("entry [{alias}]: {source}")]
    Entry {
        alias: String,
        #[source]
        source: Box<MigrateError>,
    },
}

impl MigrateError {
    /// The VECS code vecs-cli reports (its exit status is the low byte).
    pub fn vecs_code(&self) -> u32 {
        match self {
            MigrateError::Io { source, .. } | MigrateError::Write { source, .. } => {
                crate::error::io_vecs_code(source)
            }
            MigrateError::NotVecs { .. } => code::BAD_FORMAT,
            MigrateError::Busy { .. } => code::BUSY,
            MigrateError::OutputExists(_) => code::ALREADY_EXISTS,
            MigrateError::InvalidRequest(_) => code::INVALID_PARAMETER,
            MigrateError::Pkcs12(_) => code::VECS_GENERIC_FILE_IO,
            MigrateError::Store(e) => e.vecs_code(),
            MigrateError::Entry { source, .. } => source.vecs_code(),
        }
    }
}
