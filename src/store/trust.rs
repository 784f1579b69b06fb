//! What the trust sync keeps in the database: its settings (the source, read by the daemon and
//! by `vecs-cli force-refresh`), its status, and the one-transaction application of a sync to
//! TRUSTED_ROOTS and the CRL store.

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::names::{CRL_STORE, TRUSTED_ROOTS};
use super::{insert_entry, require_store, Database, EntryContent, Origin};
use crate::error::{Error, Result};

/// One object a sync wants in a store, under its alias (SHA-1 of its DER).
pub struct SyncedEntry {
    pub alias: String,
    pub content: EntryContent,
}

/// What a sync should leave in TRUSTED_ROOTS and the CRL store (besides hand-added entries).
#[derive(Default)]
pub struct SyncTarget {
    pub roots: Vec<SyncedEntry>,
    pub crls: Vec<SyncedEntry>,
}

/// What one store gained and lost, by alias.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StoreChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: usize,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncChanges {
    pub roots: StoreChanges,
    pub crls: StoreChanges,
}

impl SyncChanges {
    pub fn is_empty(&self) -> bool {
        self.roots.added.is_empty()
            && self.roots.removed.is_empty()
            && self.crls.added.is_empty()
            && self.crls.removed.is_empty()
    }
}

impl Database {
    /// Settings whose key starts with `prefix`.
    pub fn settings(&self, prefix: &str) -> Result<BTreeMap<String, String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, value FROM settings WHERE key >= ?1 ORDER BY key")?;
        let rows = stmt.query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (key, value): (String, String) = row?;
            if !key.starts_with(prefix) {
                break;
            }
            out.insert(key, value);
        }
        Ok(out)
    }

    /// Replaces every setting under `prefix` with `values`, in one transaction. Root only:
    /// the settings decide what every process on the host trusts.
    pub fn replace_settings(
        &mut self,
        caller: u32,
        prefix: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<()> {
        if caller != 0 {
            return Err(Error::OnlyRoot("configure the trust source"));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        delete_prefix(&tx, prefix)?;
        for (key, value) in values {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)",
                params![key, value],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records `values` (status keys), leaving other settings alone. Not a store change: the
    /// change counter stays, so mounts do not reload for it.
    pub fn record_settings(&mut self, values: &BTreeMap<String, String>) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (key, value) in values {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Makes TRUSTED_ROOTS and the CRL store hold `target`, in one transaction: missing
    /// objects are added (marked as the sync's), the sync's entries `target` lacks are removed,
    /// hand-added entries are left as they are. The change counter moves only if something
    /// changed.
    pub fn apply_sync(&mut self, target: &SyncTarget) -> Result<SyncChanges> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changes = SyncChanges {
            roots: apply_to_store(&tx, TRUSTED_ROOTS, &target.roots)?,
            crls: apply_to_store(&tx, CRL_STORE, &target.crls)?,
        };
        if !changes.is_empty() {
            tx.execute("UPDATE change_counter SET generation = generation + 1", [])?;
        }
        tx.commit()?;
        Ok(changes)
    }

    /// How many entries of TRUSTED_ROOTS and the CRL store the sync holds.
    pub fn synced_counts(&self) -> Result<(usize, usize)> {
        let count = |store: &str| -> Result<usize> {
            let store = require_store(&self.conn, store)?;
            let n: i64 = self.conn.query_row(
                "SELECT COUNT(*) FROM entries WHERE store_id = ?1 AND from_sync = 1",
                [store.id],
                |r| r.get(0),
            )?;
            Ok(n as usize)
        };
        Ok((count(TRUSTED_ROOTS)?, count(CRL_STORE)?))
    }
}

fn delete_prefix(tx: &Transaction, prefix: &str) -> rusqlite::Result<()> {
    let keys: Vec<String> = {
        let mut stmt = tx.prepare("SELECT key FROM settings WHERE key >= ?1")?;
        let rows = stmt.query_map([prefix], |r| r.get::<_, String>(0))?;
        rows.filter_map(|r| r.ok())
            .filter(|k| k.starts_with(prefix))
            .collect()
    };
    for key in keys {
        tx.execute("DELETE FROM settings WHERE key = ?1", [key])?;
    }
    Ok(())
}

fn apply_to_store(tx: &Transaction, store: &str, wanted: &[SyncedEntry]) -> Result<StoreChanges> {
    let store = require_store(tx, store)?;
    // Every entry, whatever the count (VECS reads one page of 256 and loses the rest).
    let existing: HashMap<String, bool> = {
        let mut stmt =
            tx.prepare_cached("SELECT alias, from_sync FROM entries WHERE store_id = ?1")?;
        let rows = stmt.query_map([store.id], |r| {
            Ok((
                r.get::<_, String>(0)?.to_ascii_lowercase(),
                r.get::<_, i64>(1)? == 1,
            ))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut changes = StoreChanges::default();
    let mut seen = HashSet::new();
    for entry in wanted {
        let folded = entry.alias.to_ascii_lowercase();
        if !seen.insert(folded.clone()) {
            continue; // the same object published twice
        }
        if existing.contains_key(&folded) {
            changes.unchanged += 1;
            continue;
        }
        insert_entry(
            tx,
            &store,
            &entry.alias,
            entry.content.entry_type,
            entry.content.cert_pem.as_deref(),
            None,
            Origin::Sync,
        )?;
        changes.added.push(entry.alias.clone());
    }
    let mut gone: Vec<&String> = existing
        .iter()
        .filter(|(alias, from_sync)| **from_sync && !seen.contains(*alias))
        .map(|(alias, _)| alias)
        .collect();
    gone.sort();
    for alias in gone {
        let real: Option<String> = tx
            .query_row(
                "DELETE FROM entries WHERE store_id = ?1 AND alias = ?2 AND from_sync = 1 RETURNING alias",
                params![store.id, alias],
                |r| r.get(0),
            )
            .optional()?;
        changes.removed.extend(real);
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::test_support::Material;
    use crate::pki::{parse_cert_chain, parse_crl};

    fn synced(content: EntryContent, alias: &str) -> SyncedEntry {
        SyncedEntry {
            alias: alias.to_string(),
            content,
        }
    }

    fn aliases(db: &Database, store: &str) -> Vec<(String, bool)> {
        let mut out: Vec<(String, bool)> = db
            .entries(0, store)
            .unwrap()
            .into_iter()
            .map(|e| (e.alias, e.from_sync))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn a_sync_adds_prunes_its_own_and_never_touches_hand_entries() {
        let m = Material::new();
        let dir = tempfile::tempdir().unwrap();
        let mut db = Database::open(&dir.path().join("v.db")).unwrap();
        let root =
            |name: &str| EntryContent::trusted_cert(&parse_cert_chain(&m.read(name)).unwrap());
        let crl = || EntryContent::crl(&parse_crl(&m.read("crl.pem")).unwrap());
        db.add_entry(0, TRUSTED_ROOTS, Some("hand"), &root("rsa.crt"))
            .unwrap();
        db.add_entry(0, TRUSTED_ROOTS, Some("both"), &root("p256.crt"))
            .unwrap();
        let generation = db.generation().unwrap();

        let first = SyncTarget {
            roots: vec![
                synced(root("p384.crt"), "p384"),
                synced(root("p256.crt"), "BOTH"),
            ],
            crls: vec![synced(crl(), "crl1")],
        };
        let changes = db.apply_sync(&first).unwrap();
        assert_eq!(changes.roots.added, ["p384"]);
        assert_eq!(changes.roots.unchanged, 1, "a hand entry is not replaced");
        assert_eq!(changes.crls.added, ["crl1"]);
        assert!(db.generation().unwrap() > generation);

        let generation = db.generation().unwrap();
        assert!(db.apply_sync(&first).unwrap().is_empty());
        assert_eq!(
            db.generation().unwrap(),
            generation,
            "a sync that changes nothing does not make mounts reload"
        );

        let changes = db.apply_sync(&SyncTarget::default()).unwrap();
        assert_eq!(changes.roots.removed, ["p384"]);
        assert_eq!(changes.crls.removed, ["crl1"]);
        assert_eq!(
            aliases(&db, TRUSTED_ROOTS),
            [("both".to_string(), false), ("hand".to_string(), false)]
        );
        assert!(aliases(&db, CRL_STORE).is_empty());
    }

    #[test]
    fn no_page_limit_on_what_a_sync_keeps_or_prunes() {
        let m = Material::new();
        let dir = tempfile::tempdir().unwrap();
        let mut db = Database::open(&dir.path().join("v.db")).unwrap();
        let chain = parse_cert_chain(&m.read("rsa.crt")).unwrap();
        // Aliases differ; the content may repeat: the store keys entries by alias.
        let many = |n: usize| SyncTarget {
            roots: (0..n)
                .map(|i| synced(EntryContent::trusted_cert(&chain), &format!("root-{i:04}")))
                .collect(),
            crls: Vec::new(),
        };
        assert_eq!(db.apply_sync(&many(600)).unwrap().roots.added.len(), 600);
        let changes = db.apply_sync(&many(300)).unwrap();
        assert_eq!(
            (changes.roots.removed.len(), changes.roots.unchanged),
            (300, 300)
        );
        assert_eq!(db.synced_counts().unwrap(), (300, 0));
    }

    #[test]
    fn settings_are_root_only_and_status_is_recorded_apart() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Database::open(&dir.path().join("v.db")).unwrap();
        let values: BTreeMap<String, String> =
            [("trust.kind".to_string(), "dir".to_string())].into();
        assert!(matches!(
            db.replace_settings(1000, "trust.", &values),
            Err(Error::OnlyRoot(_))
        ));
        assert!(db.settings("trust.").unwrap().is_empty());
        db.replace_settings(0, "trust.", &values).unwrap();
        db.record_settings(&[("trust-status.last_result".to_string(), "ok".to_string())].into())
            .unwrap();
        assert_eq!(db.settings("trust.").unwrap(), values);
        assert_eq!(db.settings("trust-status.").unwrap().len(), 1);
    }
}
