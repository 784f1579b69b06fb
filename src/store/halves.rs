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
    /// As stored (an alias is found case-insensitively; a backup is named after this spelling).
    alias: String,
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
                        return set_pair(tx, &store.name, &entry, chain, &key);
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
                        return set_pair(tx, &store.name, &entry, chain, &live);
                    }
                    if let Some(key) = pending_key_matching(&entry, chain) {
                        return set_pair(tx, &store.name, &entry, chain, &key);
                    }
                    set_pending(tx, entry.id, Half::Cert, chain.pem().as_bytes())
                }
                EntryType::SecretKey => {
                    if let Some(key) = pending_key_matching(&entry, chain) {
                        return set_pair(tx, &store.name, &entry, chain, &key);
                    }
                    let secret = entry.key();
                    match pki::parse_private_key(secret) {
                        Ok(key) if key.matches_certificate(chain.leaf_der()).is_ok() => {
                            set_pair(tx, &store.name, &entry, chain, &key)
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
                                return set_pair(tx, &store.name, &entry, &chain, &key);
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
                        return set_pair(tx, &store.name, &entry, &live, &key);
                    }
                    if let Some(chain) = pending_cert(&entry)? {
                        if key.matches_certificate(chain.leaf_der()).is_ok() {
                            return set_pair(tx, &store.name, &entry, &chain, &key);
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
                Some(entry) => set_pair(tx, &store.name, &entry, chain, key),
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
            // A pair that loses a half is gone as a pair: `rm -r` of an alias removes its files
            // one by one, and must keep the pair as `entry delete` does.
            back_up_pair(tx, &store.name, PairGone::Split, &entry)?;
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
    /// existing target is an error unless `replace`, which swaps it out in the same transaction
    /// (a key pair it replaces is kept as BACKUP_STORE's `bkp_<alias>`).
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
            move_entry(tx, &entry, &target_store, to.1, replace)?;
            Ok(())
        })
    }

    /// Puts BACKUP_STORE's `bkp_<alias>` back as `alias` of `store` (vecs-cli `entry restore`;
    /// `mv -T` through the mount does the same move). The key pair it replaces becomes the new
    /// `bkp_<alias>`, so restoring twice undoes the first restore. Write on both stores, as for
    /// any move; `store` is checked first, so that a store that does not exist is named as
    /// such rather than as a missing backup.
    pub fn restore_backup(&mut self, caller: u32, store: &str, alias: &str) -> Result<Displaced> {
        if names::canonical_store_name(store).eq_ignore_ascii_case(names::BACKUP_STORE) {
            return Err(Error::InvalidParameter(format!(
                "{} holds the backups: restore into the store the pair came from",
                names::BACKUP_STORE
            )));
        }
        names::check_alias_in(store, alias)?;
        let saved_alias = names::backup_alias(alias);
        self.write(|tx| {
            let target = require_access(tx, caller, store, Access::Write)?;
            let backups = require_access(tx, caller, names::BACKUP_STORE, Access::Write)?;
            let saved = load_entry(tx, &backups, &saved_alias)?
                .ok_or_else(|| entry_not_found(&backups, &saved_alias))?;
            // Aliases are found case-insensitively, but listed as stored: the entry keeps the
            // spelling of the one it replaces, else the one it had before it was backed up.
            let spelling = match load_entry(tx, &target, alias)? {
                Some(live) => live.alias,
                None => saved
                    .alias
                    .get(names::BACKUP_ALIAS_PREFIX.len()..)
                    .unwrap_or(alias)
                    .to_string(),
            };
            move_entry(tx, &saved, &target, &spelling, true)
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
            "SELECT e.id, e.entry_type, e.cert_pem, e.key_data, p.half, p.data, e.alias
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
                    r.get::<_, String>(6)?,
                ))
            },
        )
        .optional()?;
    let Some((id, raw_type, cert_pem, key_data, pending, stored_alias)) = row else {
        return Ok(None);
    };
    let entry_type = EntryType::from_db(raw_type).ok_or_else(|| {
        Error::InvalidParameter(format!("entry {id} has the unknown type {raw_type}"))
    })?;
    Ok(Some(EntryRow {
        id,
        alias: stored_alias,
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
    store: &str,
    entry: &EntryRow,
    chain: &CertChain,
    key: &PrivateKey,
) -> Result<WriteOutcome> {
    let pem = key.to_pkcs8_pem();
    let same = entry.cert_pem.as_deref() == Some(chain.pem())
        && entry.key_data.as_deref().map(|k| k.as_slice()) == Some(pem.as_bytes());
    if !same {
        back_up_pair(tx, store, PairGone::Replaced, entry)?;
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

/// Why a pair stops being live, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PairGone {
    /// Another pair (or entry) took its place.
    Replaced,
    /// The entry was deleted (vecs-cli `entry delete`, `rmdir` or `rm -r` through the mount).
    Deleted,
    /// One of its halves was removed (`rm key.pem`, the first file `rm -r` removes).
    Split,
}

impl PairGone {
    fn word(self) -> &'static str {
        match self {
            PairGone::Replaced => "replaced",
            PairGone::Deleted => "deleted",
            PairGone::Split => "split",
        }
    }
}

/// VMware's certificate manager keeps the pair it replaces in BACKUP_STORE as `bkp_<alias>`:
/// one step back (an older backup of the same alias is replaced), restored with `mv -T` or
/// `vecs-cli entry restore`. Every way a pair stops being live comes here, in the transaction
/// that ends it, so that the mount and vecs-cli keep the same backups. Nothing is kept for an
/// entry that is not a key pair (Encrypted Private Key entries are: deleting one loses a key
/// as surely, and the copy stays encrypted), for a pair of BACKUP_STORE itself (a backup of a backup would
/// replace the backup of another alias), when the backup alias would be over the alias limit,
/// or when BACKUP_STORE was deleted (the administrator's decision, not recreated behind their
/// back); the last two are logged. Returns whether the pair was kept.
fn back_up_pair(tx: &Transaction, store: &str, gone: PairGone, pair: &EntryRow) -> Result<bool> {
    if !pair.entry_type.is_key_pair()
        || names::canonical_store_name(store).eq_ignore_ascii_case(names::BACKUP_STORE)
    {
        return Ok(false);
    }
    let (alias, why) = (&pair.alias, gone.word());
    let backup_alias = names::backup_alias(alias);
    if names::check_alias(&backup_alias).is_err() {
        log::warn!(
            "[{store}/{alias}]: no backup of the {why} pair: [{backup_alias}] would be over the \
             {}-byte alias limit",
            names::MAX_ALIAS
        );
        return Ok(false);
    }
    let Some(backup) = super::find_store(tx, names::BACKUP_STORE)? else {
        log::warn!("[{store}/{alias}]: no backup of the {why} pair: BACKUP_STORE was deleted");
        return Ok(false);
    };
    tx.execute(
        "DELETE FROM entries WHERE store_id = ?1 AND alias = ?2",
        params![backup.id, backup_alias],
    )?;
    insert_entry(
        tx,
        &backup,
        &backup_alias,
        pair.entry_type,
        pair.cert_pem.as_deref(),
        pair.key_data.as_deref().map(|k| k.as_slice()),
        Origin::Hand,
    )?;
    log::info!("kept the {why} pair of [{store}/{alias}] as [BACKUP_STORE/{backup_alias}]");
    Ok(true)
}

/// Deletes an entry of `store` (whose write permission the caller checked); a key pair is kept
/// as its backup in the same transaction. Returns whether there was an entry.
pub(super) fn delete_entry_keeping_backup(
    tx: &Transaction,
    store: &StoreRow,
    alias: &str,
) -> Result<bool> {
    let Some(entry) = load_entry(tx, store, alias)? else {
        return Ok(false);
    };
    tx.execute("DELETE FROM entries WHERE id = ?1", [entry.id])?;
    back_up_pair(tx, &store.name, PairGone::Deleted, &entry)?;
    Ok(true)
}

/// What moving an entry onto an alias did to the entry that was there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Displaced {
    /// The alias was free.
    Nothing,
    /// A key pair was there; it is now BACKUP_STORE's `bkp_<alias>`.
    KeptAsBackup,
    /// An entry of this type was there, and is gone: it was not a key pair (or no backup could
    /// be kept, which the log says).
    Dropped(EntryType),
}

/// Moves `entry` to `alias` in `target` (both checked by the caller). An entry already there
/// is an error unless `replace`; a replaced key pair is kept as its backup.
fn move_entry(
    tx: &Transaction,
    entry: &EntryRow,
    target: &StoreRow,
    alias: &str,
    replace: bool,
) -> Result<Displaced> {
    let mut replaced = None;
    if let Some(existing) = load_entry(tx, target, alias)? {
        if existing.id != entry.id {
            if !replace {
                return Err(Error::EntryExists {
                    store: target.name.clone(),
                    alias: alias.to_string(),
                });
            }
            tx.execute("DELETE FROM entries WHERE id = ?1", [existing.id])?;
            replaced = Some(existing);
        }
    }
    tx.execute(
        "UPDATE entries SET store_id = ?2, alias = ?3, modified_at = ?4 WHERE id = ?1",
        params![entry.id, target.id, alias, unix_now()],
    )?;
    // After the move, not before: restoring `bkp_<alias>` over `<alias>` must not have the
    // backup it restores deleted as the "older backup"; this way the two pairs swap.
    let Some(replaced) = replaced else {
        return Ok(Displaced::Nothing);
    };
    if back_up_pair(tx, &target.name, PairGone::Replaced, &replaced)? {
        Ok(Displaced::KeptAsBackup)
    } else {
        Ok(Displaced::Dropped(replaced.entry_type))
    }
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
