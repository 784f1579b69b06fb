//! Changing an entry one file at a time, as the mount does: a certificate or a key written on
//! its own, pair rotation in either order through a durable pending half, removal of one half,
//! and moving entries between aliases and stores.
//!
//! The rule every operation keeps: a Private Key entry's live certificate and key always match.
//! A half that does not match the live other half waits as the entry's pending half until its
//! partner arrives; then both become live in the same transaction.

use rusqlite::{params, OptionalExtension, Transaction};
use zeroize::Zeroizing;

use super::{
    entry_not_found, insert_entry, names, require_access, unix_now, Access, Database, EntryType,
    Origin, StoreRow,
};
use crate::error::{Error, Result};
use crate::pki::{self, CertChain, PkiError, PrivateKey};

/// One half of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Half {
    Cert,
    Key,
}

impl Half {
    fn db_name(self) -> &'static str {
        match self {
            Half::Cert => "cert",
            Half::Key => "key",
        }
    }

    pub(super) fn from_db(name: &str) -> Option<Self> {
        match name {
            "cert" => Some(Half::Cert),
            "key" => Some(Half::Key),
            _ => None,
        }
    }
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// A new entry of this type.
    Created(EntryType),
    /// The entry is live with the new content, now of this type.
    Replaced(EntryType),
    /// The half did not match the live pair and waits for its partner.
    Pending(Half),
}

/// The entry row as the half operations need it.
struct EntryRow {
    id: i64,
    entry_type: EntryType,
    cert_pem: Option<String>,
    key_data: Option<Zeroizing<Vec<u8>>>,
    pending: Option<(Half, Zeroizing<Vec<u8>>)>,
}

impl EntryRow {
    fn key(&self) -> &[u8] {
        self.key_data
            .as_ref()
            .map(|k| k.as_slice())
            .unwrap_or_default()
    }
}

/// A half that waits for its partner: where, which, and since when (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingHalf {
    pub store: String,
    pub alias: String,
    pub half: Half,
    pub since: i64,
}

impl Database {
    /// Every half waiting for its partner, for the status report. Reads no key material.
    pub fn pending_halves(&self) -> Result<Vec<PendingHalf>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.name, e.alias, p.half, p.created_at
             FROM pending_halves p JOIN entries e ON e.id = p.entry_id
             JOIN stores s ON s.id = e.store_id ORDER BY p.created_at",
        )?;
        let rows = stmt.query_map([], |r| {
            let half: String = r.get(2)?;
            Ok(PendingHalf {
                store: r.get(0)?,
                alias: r.get(1)?,
                half: if half == "cert" {
                    Half::Cert
                } else {
                    Half::Key
                },
                since: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Writes the certificate (chain) of an alias: creates a Trusted Cert entry, replaces the
    /// chain of one, or rotates the certificate of a pair.
    pub fn write_cert(
        &mut self,
        caller: u32,
        store: &str,
        alias: &str,
        chain: &CertChain,
    ) -> Result<WriteOutcome> {
        names::check_alias_in(store, alias)?;
        self.write(|tx| {
            let store = require_access(tx, caller, store, Access::Write)?;
            let Some(entry) = load_entry(tx, &store, alias)? else {
                insert_entry(
                    tx,
                    &store,
                    alias,
                    EntryType::TrustedCert,
                    Some(chain.pem()),
                    None,
                    Origin::Hand,
                )?;
                return Ok(WriteOutcome::Created(EntryType::TrustedCert));
            };
            match entry.entry_type {
                EntryType::TrustedCert => {
                    if let Some(key) = pending_key_matching(&entry, chain) {
                        return set_pair(tx, &entry, chain, &key);
                    }
                    update(
                        tx,
                        entry.id,
                        EntryType::TrustedCert,
                        Some(chain.pem()),
                        None,
                    )?;
                    Ok(WriteOutcome::Replaced(EntryType::TrustedCert))
                }
                EntryType::PrivateKey => {
                    let live = parse_stored_key(&entry)?;
                    if live.matches_certificate(chain.leaf_der()).is_ok() {
                        return set_pair(tx, &entry, chain, &live);
                    }
                    if let Some(key) = pending_key_matching(&entry, chain) {
                        return set_pair(tx, &entry, chain, &key);
                    }
                    set_pending(tx, entry.id, Half::Cert, chain.pem().as_bytes())
                }
                EntryType::SecretKey => {
                    if let Some(key) = pending_key_matching(&entry, chain) {
                        return set_pair(tx, &entry, chain, &key);
                    }
                    let secret = entry.key();
                    match pki::parse_private_key(secret) {
                        Ok(key) if key.matches_certificate(chain.leaf_der()).is_ok() => {
                            set_pair(tx, &entry, chain, &key)
                        }
                        _ => set_pending(tx, entry.id, Half::Cert, chain.pem().as_bytes()),
                    }
                }
                other => Err(not_through_files(other)),
            }
        })
    }

    /// Writes the key of an alias: any content on an alias without a certificate is a Secret
    /// Key (as `vecs-cli entry create --key` makes); on a certificate it must be a private key.
    pub fn write_key(
        &mut self,
        caller: u32,
        store: &str,
        alias: &str,
        data: &[u8],
    ) -> Result<WriteOutcome> {
        names::check_alias_in(store, alias)?;
        self.write(|tx| {
            let store = require_access(tx, caller, store, Access::Write)?;
            let Some(entry) = load_entry(tx, &store, alias)? else {
                check_secret(data)?;
                insert_entry(
                    tx,
                    &store,
                    alias,
                    EntryType::SecretKey,
                    None,
                    Some(data),
                    Origin::Hand,
                )?;
                return Ok(WriteOutcome::Created(EntryType::SecretKey));
            };
            match entry.entry_type {
                EntryType::SecretKey => {
                    if let Some(chain) = pending_cert(&entry)? {
                        if let Ok(key) = pki::parse_private_key(data) {
                            if key.matches_certificate(chain.leaf_der()).is_ok() {
                                return set_pair(tx, &entry, &chain, &key);
                            }
                        }
                    }
                    check_secret(data)?;
                    update(tx, entry.id, EntryType::SecretKey, None, Some(data))?;
                    Ok(WriteOutcome::Replaced(EntryType::SecretKey))
                }
                EntryType::TrustedCert | EntryType::PrivateKey => {
                    let key = pki::parse_private_key(data)?;
                    let live = live_chain(&entry)?;
                    if key.matches_certificate(live.leaf_der()).is_ok() {
                        return set_pair(tx, &entry, &live, &key);
                    }
                    if let Some(chain) = pending_cert(&entry)? {
                        if key.matches_certificate(chain.leaf_der()).is_ok() {
                            return set_pair(tx, &entry, &chain, &key);
                        }
                    }
                    set_pending(tx, entry.id, Half::Key, key.to_pkcs8_pem().as_bytes())
                }
                other => Err(not_through_files(other)),
            }
        })
    }

    /// Replaces the whole pair at once (a single PEM holding the key and the chain).
    pub fn write_pair(
        &mut self,
        caller: u32,
        store: &str,
        alias: &str,
        chain: &CertChain,
        key: &PrivateKey,
    ) -> Result<WriteOutcome> {
        names::check_alias_in(store, alias)?;
        key.matches_certificate(chain.leaf_der())?;
        self.write(|tx| {
            let store = require_access(tx, caller, store, Access::Write)?;
            match load_entry(tx, &store, alias)? {
                None => {
                    let pem = key.to_pkcs8_pem();
                    insert_entry(
                        tx,
                        &store,
                        alias,
                        EntryType::PrivateKey,
                        Some(chain.pem()),
                        Some(pem.as_bytes()),
                        Origin::Hand,
                    )?;
                    Ok(WriteOutcome::Created(EntryType::PrivateKey))
                }
                Some(entry)
                    if matches!(
                        entry.entry_type,
                        EntryType::Crl | EntryType::EncryptedPrivateKey
                    ) =>
                {
                    Err(not_through_files(entry.entry_type))
                }
                Some(entry) => set_pair(tx, &entry, chain, key),
            }
        })
    }

    /// Removes one half: a pair without its key is a Trusted Cert, without its certificate a
    /// Secret Key; an entry left with nothing is deleted.
    pub fn remove_half(&mut self, caller: u32, store: &str, alias: &str, half: Half) -> Result<()> {
        self.write(|tx| {
            let store = require_access(tx, caller, store, Access::Write)?;
            let entry =
                load_entry(tx, &store, alias)?.ok_or_else(|| entry_not_found(&store, alias))?;
            let missing = || Error::NoSuchPart {
                store: store.name.clone(),
                alias: alias.to_string(),
                what: if half == Half::Cert {
                    "certificate"
                } else {
                    "key"
                },
            };
            match (entry.entry_type, half) {
                (EntryType::PrivateKey | EntryType::EncryptedPrivateKey, Half::Key) => {
                    set_content(
                        tx,
                        entry.id,
                        EntryType::TrustedCert,
                        entry.cert_pem.as_deref(),
                        None,
                    )?;
                }
                (EntryType::PrivateKey | EntryType::EncryptedPrivateKey, Half::Cert) => {
                    set_content(tx, entry.id, EntryType::SecretKey, None, Some(entry.key()))?;
                }
                (EntryType::SecretKey, Half::Key) | (EntryType::TrustedCert, Half::Cert) => {
                    tx.execute("DELETE FROM entries WHERE id = ?1", [entry.id])?;
                }
                _ => return Err(missing()),
            }
            Ok(())
        })
    }

    /// Moves an entry to another alias, in the same store or another (write on both). An
    /// existing target is an error unless `replace`, which swaps it out in the same transaction.
    pub fn rename_entry(
        &mut self,
        caller: u32,
        from: (&str, &str),
        to: (&str, &str),
        replace: bool,
    ) -> Result<()> {
        names::check_alias_in(to.0, to.1)?;
        self.write(|tx| {
            let source_store = require_access(tx, caller, from.0, Access::Write)?;
            let target_store = require_access(tx, caller, to.0, Access::Write)?;
            let entry = load_entry(tx, &source_store, from.1)?
                .ok_or_else(|| entry_not_found(&source_store, from.1))?;
            let mut replaced = None;
            if let Some(target) = load_entry(tx, &target_store, to.1)? {
                if target.id != entry.id {
                    if !replace {
                        return Err(Error::EntryExists {
                            store: target_store.name,
                            alias: to.1.to_string(),
                        });
                    }
                    tx.execute("DELETE FROM entries WHERE id = ?1", [target.id])?;
                    replaced = Some(target);
                }
            }
            tx.execute(
                "UPDATE entries SET store_id = ?2, alias = ?3, modified_at = ?4 WHERE id = ?1",
                params![entry.id, target_store.id, to.1, unix_now()],
            )?;
            // After the move: restoring `bkp_<alias>` over `<alias>` swaps the two pairs.
            if let Some(replaced) = replaced {
                back_up_pair(tx, &target_store.name, to.1, &replaced)?;
            }
            Ok(())
        })
    }

    /// Deletes a store only when it has no entries (rmdir); owner or root; never a system store.
    pub fn delete_empty_store(&mut self, caller: u32, name: &str) -> Result<()> {
        self.write(|tx| {
            let store = super::require_store(tx, name)?;
            if store.kind.is_system() {
                return Err(Error::SystemStore(store.name));
            }
            super::require_owner(caller, &store, "delete")?;
            let count: i64 = tx.query_row(
                "SELECT count(*) FROM entries WHERE store_id = ?1",
                [store.id],
                |r| r.get(0),
            )?;
            if count > 0 {
                return Err(Error::StoreNotEmpty(store.name));
            }
            tx.execute("DELETE FROM stores WHERE id = ?1", [store.id])?;
            Ok(())
        })
    }
}

fn load_entry(tx: &Transaction, store: &StoreRow, alias: &str) -> Result<Option<EntryRow>> {
    let row = tx
        .query_row(
            "SELECT e.id, e.entry_type, e.cert_pem, e.key_data, p.half, p.data
             FROM entries e LEFT JOIN pending_halves p ON p.entry_id = e.id
             WHERE e.store_id = ?1 AND e.alias = ?2",
            params![store.id, alias],
            |r| {
                let half: Option<String> = r.get(4)?;
                let data: Option<Vec<u8>> = r.get(5)?;
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<Vec<u8>>>(3)?,
                    half.zip(data),
                ))
            },
        )
        .optional()?;
    let Some((id, raw_type, cert_pem, key_data, pending)) = row else {
        return Ok(None);
    };
    let entry_type = EntryType::from_db(raw_type).ok_or_else(|| {
        Error::InvalidParameter(format!("entry {id} has the unknown type {raw_type}"))
    })?;
    Ok(Some(EntryRow {
        id,
        entry_type,
        cert_pem,
        key_data: key_data.map(Zeroizing::new),
        pending: pending
            .and_then(|(half, data)| Half::from_db(&half).map(|h| (h, Zeroizing::new(data)))),
    }))
}

/// Makes the entry live with this content; whatever was pending is settled by it.
fn update(
    tx: &Transaction,
    id: i64,
    entry_type: EntryType,
    cert_pem: Option<&str>,
    key_data: Option<&[u8]>,
) -> Result<()> {
    set_content(tx, id, entry_type, cert_pem, key_data)?;
    tx.execute("DELETE FROM pending_halves WHERE entry_id = ?1", [id])?;
    Ok(())
}

/// Changes the live content and keeps a pending half waiting: removing the key of a pair
/// whose new certificate is pending (as `install` does before it writes the new key) must not
/// lose that certificate.
fn set_content(
    tx: &Transaction,
    id: i64,
    entry_type: EntryType,
    cert_pem: Option<&str>,
    key_data: Option<&[u8]>,
) -> Result<()> {
    tx.execute(
        "UPDATE entries SET entry_type = ?2, cert_pem = ?3, key_data = ?4, modified_at = ?5 WHERE id = ?1",
        params![id, entry_type as i64, cert_pem, key_data, unix_now()],
    )?;
    Ok(())
}

fn set_pair(
    tx: &Transaction,
    entry: &EntryRow,
    chain: &CertChain,
    key: &PrivateKey,
) -> Result<WriteOutcome> {
    let pem = key.to_pkcs8_pem();
    let same = entry.cert_pem.as_deref() == Some(chain.pem())
        && entry.key_data.as_deref().map(|k| k.as_slice()) == Some(pem.as_bytes());
    if entry.entry_type == EntryType::PrivateKey && !same {
        let (store, alias): (String, String) = tx.query_row(
            "SELECT s.name, e.alias FROM entries e JOIN stores s ON s.id = e.store_id
             WHERE e.id = ?1",
            [entry.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        back_up_pair(tx, &store, &alias, entry)?;
    }
    update(
        tx,
        entry.id,
        EntryType::PrivateKey,
        Some(chain.pem()),
        Some(pem.as_bytes()),
    )?;
    Ok(WriteOutcome::Replaced(EntryType::PrivateKey))
}

/// VMware's certificate manager keeps the pair it replaces in BACKUP_STORE as `bkp_<alias>`:
/// one step back, restored with `mv -T` (or vecs-cli getcert/getkey + create). A pair of
/// BACKUP_STORE itself is not backed up, and neither is one whose backup alias would be too
/// long, or when BACKUP_STORE was deleted (logged).
fn back_up_pair(tx: &Transaction, store: &str, alias: &str, replaced: &EntryRow) -> Result<()> {
    if replaced.entry_type != EntryType::PrivateKey
        || names::canonical_store_name(store).eq_ignore_ascii_case(names::BACKUP_STORE)
    {
        return Ok(());
    }
    let backup_alias = format!("bkp_{alias}");
    if names::check_alias(&backup_alias).is_err() {
        log::warn!(
            "[{store}/{alias}]: no backup of the replaced pair: [{backup_alias}] is too long"
        );
        return Ok(());
    }
    let Some(backup) = super::find_store(tx, names::BACKUP_STORE)? else {
        log::warn!("[{store}/{alias}]: no backup of the replaced pair: BACKUP_STORE was deleted");
        return Ok(());
    };
    tx.execute(
        "DELETE FROM entries WHERE store_id = ?1 AND alias = ?2",
        params![backup.id, backup_alias],
    )?;
    insert_entry(
        tx,
        &backup,
        &backup_alias,
        EntryType::PrivateKey,
        replaced.cert_pem.as_deref(),
        replaced.key_data.as_deref().map(|k| k.as_slice()),
        Origin::Hand,
    )?;
    log::info!("kept the replaced pair of [{store}/{alias}] as [BACKUP_STORE/{backup_alias}]");
    Ok(())
}

/// Keeps `data` as the entry's pending half, replacing any earlier one.
fn set_pending(tx: &Transaction, id: i64, half: Half, data: &[u8]) -> Result<WriteOutcome> {
    tx.execute(
        "INSERT INTO pending_halves (entry_id, half, data, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (entry_id) DO UPDATE SET half = excluded.half, data = excluded.data,
                                              created_at = excluded.created_at",
        params![id, half.db_name(), data, unix_now()],
    )?;
    Ok(WriteOutcome::Pending(half))
}

fn pending_key_matching(entry: &EntryRow, chain: &CertChain) -> Option<PrivateKey> {
    match &entry.pending {
        Some((Half::Key, data)) => pki::parse_private_key(data)
            .ok()
            .filter(|key| key.matches_certificate(chain.leaf_der()).is_ok()),
        _ => None,
    }
}

fn pending_cert(entry: &EntryRow) -> Result<Option<CertChain>> {
    match &entry.pending {
        Some((Half::Cert, data)) => Ok(Some(pki::parse_cert_chain(data)?)),
        _ => Ok(None),
    }
}

fn live_chain(entry: &EntryRow) -> Result<CertChain> {
    let pem = entry.cert_pem.as_deref().unwrap_or_default();
    Ok(pki::parse_cert_chain(pem.as_bytes())?)
}

fn parse_stored_key(entry: &EntryRow) -> Result<PrivateKey> {
    Ok(pki::parse_private_key(entry.key())?)
}

fn check_secret(data: &[u8]) -> Result<()> {
    if data.is_empty() {
        return Err(PkiError::Empty.into());
    }
    if data.len() > pki::MAX_KEY_INPUT {
        return Err(PkiError::TooLarge {
            size: data.len(),
            limit: pki::MAX_KEY_INPUT,
        }
        .into());
    }
    Ok(())
}

fn not_through_files(entry_type: EntryType) -> Error {
    Error::NotThroughFiles(entry_type.vecs_name())
}
