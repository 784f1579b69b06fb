//! Whole stores brought in from elsewhere (a migration from VMware VECS): each store created or
//! adopted with its owner, its grants set, its entries added, all in one transaction that the
//! caller commits only if it accepts the outcome. So an import that is refused, or only tried
//! (a dry run), leaves the database exactly as it was.

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use zeroize::Zeroizing;

use super::{find_store, insert_entry, names, Database, EntryContent, Grant, Origin, StoreRow};
use crate::error::{Error, Result};
use crate::users::Principal;

/// A store as it should be after the import (it may exist already).
pub struct ImportedStore {
    pub name: String,
    pub owner_uid: u32,
    pub grants: Vec<Grant>,
    pub entries: Vec<ImportedEntry>,
}

/// One validated entry to add.
pub struct ImportedEntry {
    pub alias: String,
    pub content: EntryContent,
    /// Put there by a trust sync (VECS's AutoRefresh): a later sync may prune it.
    pub from_sync: bool,
    /// When the entry was first added, in Unix seconds; `None` for now.
    pub created_at: Option<i64>,
}

/// What became of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportedAs {
    Added,
    /// The alias holds the same content already (an import run twice): nothing to do.
    Identical,
    /// The alias holds other content: the entry was not added, the existing one kept.
    Conflict,
}

/// One grant as set, with what the principal had before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantChange {
    pub principal: Principal,
    pub previous: Option<u32>,
    pub mask: u32,
}

/// What the import did to one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreImport {
    /// The store's name in this database (the CRL store under its vecsfs spelling).
    pub name: String,
    pub created: bool,
    /// The owner before, when the import changed it.
    pub previous_owner: Option<u32>,
    pub grants: Vec<GrantChange>,
    /// Every entry, in the order given, by alias.
    pub entries: Vec<(String, ImportedAs)>,
}

impl Database {
    /// Applies `stores` in one transaction, then commits it only if `accept` says so given what
    /// happened; returns what happened and whether it was committed. Root only: an import sets
    /// owners and grants of stores it does not own.
    pub fn import_stores(
        &mut self,
        caller: u32,
        stores: &[ImportedStore],
        accept: impl FnOnce(&[StoreImport]) -> bool,
    ) -> Result<(Vec<StoreImport>, bool)> {
        if caller != 0 {
            return Err(Error::OnlyRoot("import stores"));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcome = Vec::with_capacity(stores.len());
        for store in stores {
            outcome.push(import_store(&tx, store)?);
        }
        if !accept(&outcome) {
            tx.rollback()?;
            return Ok((outcome, false));
        }
        // An import run again changes nothing: the mounts need not reload for it.
        if outcome.iter().any(StoreImport::changed_anything) {
            tx.execute("UPDATE change_counter SET generation = generation + 1", [])?;
        }
        tx.commit()?;
        Ok((outcome, true))
    }
}

impl StoreImport {
    fn changed_anything(&self) -> bool {
        self.created
            || self.previous_owner.is_some()
            || self.grants.iter().any(|g| g.previous != Some(g.mask))
            || self.entries.iter().any(|(_, r)| *r == ImportedAs::Added)
    }
}

fn import_store(tx: &Transaction, wanted: &ImportedStore) -> Result<StoreImport> {
    let (store, created) = match find_store(tx, &wanted.name)? {
        Some(store) => (store, false),
        None => (create_store(tx, &wanted.name, wanted.owner_uid)?, true),
    };
    let previous_owner = (store.owner_uid != wanted.owner_uid).then_some(store.owner_uid);
    if previous_owner.is_some() {
        tx.execute(
            "UPDATE stores SET owner_uid = ?2 WHERE id = ?1",
            params![store.id, wanted.owner_uid],
        )?;
    }
    let mut grants = Vec::with_capacity(wanted.grants.len());
    for grant in &wanted.grants {
        // As `Database::grant`: the owner has every right already.
        if grant.principal == Principal::User(wanted.owner_uid) {
            continue;
        }
        grants.push(set_grant(tx, store.id, grant)?);
    }
    let mut entries = Vec::with_capacity(wanted.entries.len());
    for entry in &wanted.entries {
        entries.push((entry.alias.clone(), import_entry(tx, &store, entry)?));
    }
    Ok(StoreImport {
        name: store.name,
        created,
        previous_owner,
        grants,
        entries,
    })
}

fn create_store(tx: &Transaction, name: &str, owner_uid: u32) -> Result<StoreRow> {
    names::check_store_name(name)?;
    super::insert_store(tx, names::canonical_store_name(name), owner_uid)?;
    find_store(tx, name)?.ok_or_else(|| Error::StoreNotFound(name.to_string()))
}

/// vmafd's SET semantics, as `Database::grant`: the principal's mask is replaced.
fn set_grant(tx: &Transaction, store_id: i64, grant: &Grant) -> Result<GrantChange> {
    let previous: Option<i64> = tx
        .query_row(
            "SELECT access_mask FROM acl WHERE store_id = ?1 AND principal_uid = ?2",
            params![store_id, grant.principal.to_db()],
            |r| r.get(0),
        )
        .optional()?;
    super::set_acl(tx, store_id, grant.principal, grant.mask)?;
    Ok(GrantChange {
        principal: grant.principal,
        previous: previous.map(|mask| mask as u32),
        mask: grant.mask,
    })
}

fn import_entry(tx: &Transaction, store: &StoreRow, entry: &ImportedEntry) -> Result<ImportedAs> {
    let content = &entry.content;
    let existing: Option<(i64, Option<String>, Option<Vec<u8>>)> = tx
        .query_row(
            "SELECT entry_type, cert_pem, key_data FROM entries WHERE store_id = ?1 AND alias = ?2",
            params![store.id, entry.alias],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((entry_type, cert_pem, key_data)) = existing {
        let key_data = key_data.map(Zeroizing::new);
        let same = entry_type == content.entry_type as i64
            && cert_pem == content.cert_pem
            && key_data.as_deref() == content.key_data.as_deref();
        return Ok(if same {
            ImportedAs::Identical
        } else {
            ImportedAs::Conflict
        });
    }
    let origin = if entry.from_sync {
        Origin::Sync
    } else {
        Origin::Hand
    };
    insert_entry(
        tx,
        store,
        &entry.alias,
        content.entry_type,
        content.cert_pem.as_deref(),
        content.key_data.as_ref().map(|k| k.as_slice()),
        origin,
    )?;
    if let Some(created_at) = entry.created_at {
        // The entry keeps the age it had: the mount shows it as the files' time.
        tx.execute(
            "UPDATE entries SET created_at = ?2, modified_at = ?2 WHERE id = ?1",
            params![tx.last_insert_rowid(), created_at],
        )?;
    }
    Ok(ImportedAs::Added)
}
