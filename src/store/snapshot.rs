//! A complete image of the database, read in one transaction: what the mount serves from memory.

use std::collections::HashMap;

use zeroize::Zeroizing;

use super::halves::Half;
use super::{load_acl, Database, EntryType, Grant, StoreKind};
use crate::error::{Error, Result};

/// Everything in the database at one generation.
pub struct Snapshot {
    pub generation: u64,
    pub stores: Vec<StoreImage>,
}

pub struct StoreImage {
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
        self.read(|conn| {
            let generation: i64 =
                conn.query_row("SELECT generation FROM change_counter", [], |r| r.get(0))?;
            let mut stores = Vec::new();
            let mut index = HashMap::new();
            let mut stmt = conn
                .prepare("SELECT id, name, owner_uid, kind, created_at FROM stores ORDER BY id")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                index.insert(id, stores.len());
                stores.push(StoreImage {
                    name: r.get(1)?,
                    owner_uid: r.get(2)?,
                    kind: StoreKind::from_db(r.get(3)?),
                    grants: load_acl(conn, id)?,
                    created_at: r.get(4)?,
                    entries: Vec::new(),
                });
            }
            let mut stmt = conn.prepare(
                "SELECT e.store_id, e.alias, e.entry_type, e.cert_pem, e.key_data, e.created_at,
                        coalesce(e.modified_at, e.created_at), e.from_sync, p.half, p.created_at
                 FROM entries e LEFT JOIN pending_halves p ON p.entry_id = e.id
                 ORDER BY e.id",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let store_id: i64 = r.get(0)?;
                let raw_type: i64 = r.get(2)?;
                let entry_type = EntryType::from_db(raw_type).ok_or_else(|| {
                    Error::InvalidParameter(format!("an entry has the unknown type {raw_type}"))
                })?;
                let half: Option<String> = r.get(8)?;
                let since: Option<i64> = r.get(9)?;
                let image = EntryImage {
                    alias: r.get(1)?,
                    entry_type,
                    cert_pem: r.get(3)?,
                    key_data: r.get::<_, Option<Vec<u8>>>(4)?.map(Zeroizing::new),
                    created_at: r.get(5)?,
                    modified_at: r.get(6)?,
                    from_sync: r.get(7)?,
                    pending: half.as_deref().and_then(Half::from_db).zip(since),
                };
                if let Some(&i) = index.get(&store_id) {
                    stores[i].entries.push(image);
                }
            }
            Ok(Snapshot {
                generation: generation as u64,
                stores,
            })
        })
    }
}
