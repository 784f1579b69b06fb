//! An image of the database, read in one transaction: what the mount serves from memory.
//!
//! Every store carries a version that triggers bump on any change to it, its entries, grants
//! or pending halves (schema migration 4), so that a reader holding an older image re-reads
//! only the stores that changed: a commit to one small store does not re-read a 50 MB CRL.

use zeroize::Zeroizing;

use super::halves::Half;
use super::{load_acl, Database, EntryType, Grant, StoreKind};
use crate::error::{Error, Result};

/// Every store in the database at one generation, in creation order.
pub struct Snapshot {
    pub generation: u64,
    pub stores: Vec<StoreSnapshot>,
}

/// Which version of which store: equal exactly when nothing in the store changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoreVersion {
    pub id: i64,
    pub version: i64,
}

pub enum StoreSnapshot {
    /// The caller holds this version already: nothing was read.
    Held(StoreVersion),
    Read(StoreImage),
}

impl StoreSnapshot {
    /// The store as read, if it was.
    pub fn into_image(self) -> Option<StoreImage> {
        match self {
            StoreSnapshot::Held(_) => None,
            StoreSnapshot::Read(image) => Some(image),
        }
    }
}

pub struct StoreImage {
    pub version: StoreVersion,
    pub name: String,
    pub owner_uid: u32,
    pub kind: StoreKind,
    pub grants: Vec<Grant>,
    pub created_at: i64,
    /// In insertion order.
    pub entries: Vec<EntryImage>,
}

pub struct EntryImage {
    pub alias: String,
    pub entry_type: EntryType,
    /// The chain, or the CRL, as canonical PEM.
    pub cert_pem: Option<String>,
    /// PKCS#8 PEM, encrypted PKCS#8 PEM, or a secret.
    pub key_data: Option<Zeroizing<Vec<u8>>>,
    pub created_at: i64,
    pub modified_at: i64,
    pub from_sync: bool,
    /// A half waiting for its partner, and since when.
    pub pending: Option<(Half, i64)>,
}

impl Database {
    /// Reads the whole database in one read transaction, so the image is one consistent state.
    pub fn snapshot(&self) -> Result<Snapshot> {
        self.snapshot_since(&|_| false)
    }

    /// Like [`Self::snapshot`], but the stores whose version `held` says the caller already
    /// has are not read.
    pub fn snapshot_since(&self, held: &dyn Fn(StoreVersion) -> bool) -> Result<Snapshot> {
        self.read(|conn| {
            let generation: i64 =
                conn.query_row("SELECT generation FROM change_counter", [], |r| r.get(0))?;
            let mut stmt = conn.prepare_cached(
                "SELECT id, version, name, owner_uid, kind, created_at FROM stores ORDER BY id",
            )?;
            let mut rows = stmt.query([])?;
            let mut stores = Vec::new();
            while let Some(r) = rows.next()? {
                let version = StoreVersion {
                    id: r.get(0)?,
                    version: r.get(1)?,
                };
                if held(version) {
                    stores.push(StoreSnapshot::Held(version));
                    continue;
                }
                stores.push(StoreSnapshot::Read(StoreImage {
                    version,
                    name: r.get(2)?,
                    owner_uid: r.get(3)?,
                    kind: StoreKind::from_db(r.get(4)?),
                    grants: load_acl(conn, version.id)?,
                    created_at: r.get(5)?,
                    entries: load_entries(conn, version.id)?,
                }));
            }
            Ok(Snapshot {
                generation: generation as u64,
                stores,
            })
        })
    }
}

/// A store's entries, in insertion order, with their pending halves.
fn load_entries(conn: &rusqlite::Connection, store_id: i64) -> Result<Vec<EntryImage>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.alias, e.entry_type, e.cert_pem, e.key_data, e.created_at,
                coalesce(e.modified_at, e.created_at), e.from_sync, p.half, p.created_at
         FROM entries e LEFT JOIN pending_halves p ON p.entry_id = e.id
         WHERE e.store_id = ?1 ORDER BY e.id",
    )?;
    let mut rows = stmt.query([store_id])?;
    let mut entries = Vec::new();
    while let Some(r) = rows.next()? {
        let raw_type: i64 = r.get(1)?;
        let entry_type = EntryType::from_db(raw_type).ok_or_else(|| {
            Error::InvalidParameter(format!("an entry has the unknown type {raw_type}"))
        })?;
        let half: Option<String> = r.get(7)?;
        let since: Option<i64> = r.get(8)?;
        entries.push(EntryImage {
            alias: r.get(0)?,
            entry_type,
            cert_pem: r.get(2)?,
            key_data: r.get::<_, Option<Vec<u8>>>(3)?.map(Zeroizing::new),
            created_at: r.get(4)?,
            modified_at: r.get(5)?,
            from_sync: r.get(6)?,
            pending: half.as_deref().and_then(Half::from_db).zip(since),
        });
    }
    Ok(entries)
}
