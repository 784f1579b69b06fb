//! The certificate store: one SQLite database holding stores, entries and permissions.
//!
//! Several processes share it (the mount daemon, vecs-cli, the trust sync): the database runs in
//! WAL mode with a busy timeout, every operation is one transaction, and writers take the write
//! lock up front (`BEGIN IMMEDIATE`) so that two writers queue instead of failing half-way.

pub mod access;
mod entry;
mod halves;
mod import;
pub mod names;
mod schema;
mod snapshot;
mod trust;

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use zeroize::Zeroizing;

pub use access::{Access, Grant, READ_STORE, WRITE_STORE};
pub use entry::{EntryContent, EntryInfo, EntryType};
pub use halves::{Displaced, Half, PendingHalf, WriteOutcome};
pub use import::{GrantChange, ImportedAs, ImportedEntry, ImportedStore, StoreImport};
pub use names::{canonical_store_name, StoreKind};
pub use snapshot::{EntryImage, Snapshot, StoreImage, StoreSnapshot, StoreVersion};
pub use trust::{StoreChanges, SyncChanges, SyncTarget, SyncedEntry};

use crate::error::{Error, Result};
use crate::users::Principal;

/// Where the database is when neither `--db` nor `VECS_DB` says otherwise.
pub const DEFAULT_DB_PATH: &str = "/var/lib/vecs/vecs.db";
/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The database path: the one given, else `VECS_DB`, else the default.
pub fn resolve_db_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_path_buf();
    }
    match std::env::var_os("VECS_DB") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(DEFAULT_DB_PATH),
    }
}

/// A store as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    pub name: String,
    pub owner_uid: u32,
    pub kind: StoreKind,
}

/// A store's owner and access list, newest grant first (as vmafd prepends them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorePermissions {
    pub name: String,
    pub owner_uid: u32,
    pub grants: Vec<Grant>,
}

/// A store row as the checks need it.
struct StoreRow {
    id: i64,
    name: String,
    owner_uid: u32,
    kind: StoreKind,
}

/// An open certificate database.
pub struct Database {
    conn: Connection,
    path: PathBuf,
}

impl Database {
    /// Opens the database at `path`, creating it (mode 0600, parent directory 0700) and its
    /// system stores when it does not exist yet, and bringing its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        let display = path.display().to_string();
        create_private_file(path)?;
        let db_err = |source| Error::DatabaseOpen {
            path: display.clone(),
            source,
        };
        let mut conn = Connection::open(path).map_err(db_err)?;
        configure(&conn).map_err(db_err)?;
        schema::migrate(&mut conn).map_err(db_err)?;
        Ok(Database {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A number that grows with every committed change, by any process: poll it to learn that
    /// the store changed.
    pub fn generation(&self) -> Result<u64> {
        let generation: i64 =
            self.conn
                .query_row("SELECT generation FROM change_counter", [], |r| r.get(0))?;
        Ok(generation as u64)
    }

    /// Creates a store owned by `caller` (any local user may, as in VECS).
    pub fn create_store(&mut self, caller: u32, name: &str) -> Result<()> {
        names::check_store_name(name)?;
        let name = canonical_store_name(name);
        self.write(|tx| {
            if find_store(tx, name)?.is_some() {
                return Err(Error::StoreExists(name.to_string()));
            }
            insert_store(tx, name, caller)
        })
    }

    /// Every store, in creation order. Listing is open to everybody, as in VECS.
    pub fn stores(&self) -> Result<Vec<StoreInfo>> {
        let run = || -> rusqlite::Result<Vec<StoreInfo>> {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT name, owner_uid, kind FROM stores ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok(StoreInfo {
                    name: r.get(0)?,
                    owner_uid: r.get(1)?,
                    kind: StoreKind::from_db(r.get(2)?),
                })
            })?;
            rows.collect()
        };
        Ok(run()?)
    }

    /// One store, by name (either spelling of the CRL store).
    pub fn store(&self, name: &str) -> Result<StoreInfo> {
        let row = require_store(&self.conn, name)?;
        Ok(StoreInfo {
            name: row.name,
            owner_uid: row.owner_uid,
            kind: row.kind,
        })
    }

    /// Deletes a store and its entries. Owner or root only; system stores never.
    pub fn delete_store(&mut self, caller: u32, name: &str) -> Result<()> {
        self.write(|tx| {
            let store = require_store(tx, name)?;
            if store.kind.is_system() {
                return Err(Error::SystemStore(store.name));
            }
            require_owner(caller, &store, "delete")?;
            tx.execute("DELETE FROM stores WHERE id = ?1", [store.id])?;
            Ok(())
        })
    }

    /// Grants `mask` to `principal`, replacing what it had (vmafd's SET semantics).
    pub fn grant(
        &mut self,
        caller: u32,
        store: &str,
        principal: Principal,
        mask: u32,
    ) -> Result<()> {
        self.write(|tx| {
            let store = require_store(tx, store)?;
            require_owner(caller, &store, "change the permissions of")?;
            if principal == Principal::User(store.owner_uid) {
                return Ok(()); // the owner already has everything
            }
            set_acl(tx, store.id, principal, mask)
        })
    }

    /// Takes the bits of `mask` away from `principal`; a grant left empty disappears.
    pub fn revoke(
        &mut self,
        caller: u32,
        store: &str,
        principal: Principal,
        mask: u32,
    ) -> Result<()> {
        self.write(|tx| {
            let store = require_store(tx, store)?;
            require_owner(caller, &store, "change the permissions of")?;
            let current: Option<i64> = tx
                .query_row(
                    "SELECT access_mask FROM acl WHERE store_id = ?1 AND principal_uid = ?2",
                    params![store.id, principal.to_db()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(current) = current else {
                return Ok(()); // nothing granted, nothing to take away
            };
            let left = current & !i64::from(mask);
            if left == 0 {
                tx.execute(
                    "DELETE FROM acl WHERE store_id = ?1 AND principal_uid = ?2",
                    params![store.id, principal.to_db()],
                )?;
            } else {
                tx.execute(
                    "UPDATE acl SET access_mask = ?3 WHERE store_id = ?1 AND principal_uid = ?2",
                    params![store.id, principal.to_db(), left],
                )?;
            }
            Ok(())
        })
    }

    /// The owner and grants of a store. Owner or root only, as in VECS.
    pub fn permissions(&self, caller: u32, store: &str) -> Result<StorePermissions> {
        self.read(|conn| {
            let store = require_store(conn, store)?;
            require_owner(caller, &store, "read the permissions of")?;
            Ok(StorePermissions {
                grants: load_acl(conn, store.id)?,
                name: store.name,
                owner_uid: store.owner_uid,
            })
        })
    }

    /// Adds an entry; an alias already present (in any case) is refused, never overwritten.
    /// Returns the alias used.
    pub fn add_entry(
        &mut self,
        caller: u32,
        store: &str,
        alias: Option<&str>,
        content: &EntryContent,
    ) -> Result<String> {
        let mut added = self.add_entries(caller, store, [(alias, content)])?;
        Ok(added.pop().unwrap_or_default())
    }

    /// Adds entries in one transaction: all of them, or none if one is refused (as
    /// [`Self::add_entry`] would refuse it). Returns the aliases used, in order.
    pub fn add_entries<'a>(
        &mut self,
        caller: u32,
        store: &str,
        entries: impl IntoIterator<Item = (Option<&'a str>, &'a EntryContent)>,
    ) -> Result<Vec<String>> {
        let mut named = Vec::new();
        for (alias, content) in entries {
            let alias = content.alias_for(alias)?;
            names::check_alias_in(store, &alias)?;
            named.push((alias, content));
        }
        self.write(|tx| {
            let store = require_access(tx, caller, store, Access::Write)?;
            let mut added = Vec::with_capacity(named.len());
            for (alias, content) in named {
                if find_entry_id(tx, store.id, &alias)?.is_some() {
                    return Err(Error::EntryExists {
                        store: store.name,
                        alias,
                    });
                }
                insert_entry(
                    tx,
                    &store,
                    &alias,
                    content.entry_type,
                    content.cert_pem.as_deref(),
                    content.key_data.as_ref().map(|k| k.as_slice()),
                    Origin::Hand,
                )?;
                added.push(alias);
            }
            Ok(added)
        })
    }

    /// The entries of a store in insertion order, without their keys. Needs read.
    pub fn entries(&self, caller: u32, store: &str) -> Result<Vec<EntryInfo>> {
        self.read(|conn| {
            let store = require_access(conn, caller, store, Access::Read)?;
            let mut stmt = conn.prepare_cached(
                "SELECT alias, entry_type, cert_pem, created_at, from_sync
                 FROM entries WHERE store_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([store.id], entry_info)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// One entry, without its key. Needs read.
    pub fn entry(&self, caller: u32, store: &str, alias: &str) -> Result<EntryInfo> {
        self.read(|conn| {
            let store = require_access(conn, caller, store, Access::Read)?;
            conn.query_row(
                "SELECT alias, entry_type, cert_pem, created_at, from_sync
                 FROM entries WHERE store_id = ?1 AND alias = ?2",
                params![store.id, alias],
                entry_info,
            )
            .optional()?
            .ok_or_else(|| entry_not_found(&store, alias))
        })
    }

    /// The entries of a store, or its one entry `alias`, each with its stored key (if it has
    /// one), all read in one transaction (an export's certificate and key are always one pair). Needs read.
    pub fn entries_with_keys(
        &self,
        caller: u32,
        store: &str,
        alias: Option<&str>,
    ) -> Result<Vec<EntryWithKey>> {
        self.read(|conn| {
            let store = require_access(conn, caller, store, Access::Read)?;
            let mut stmt = conn.prepare_cached(
                "SELECT alias, entry_type, cert_pem, created_at, from_sync, key_data
                 FROM entries WHERE store_id = ?1 AND (?2 IS NULL OR alias = ?2) ORDER BY id",
            )?;
            let rows = stmt.query_map(params![store.id, alias], |r| {
                let key: Option<Vec<u8>> = r.get(5)?;
                Ok((entry_info(r)?, key.map(Zeroizing::new)))
            })?;
            let entries = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            match alias {
                Some(alias) if entries.is_empty() => Err(entry_not_found(&store, alias)),
                _ => Ok(entries),
            }
        })
    }

    /// The stored key of an entry (PKCS#8 PEM, encrypted PKCS#8 PEM, or a secret). Needs read:
    /// VECS lets every reader of a store export its keys.
    pub fn key(&self, caller: u32, store: &str, alias: &str) -> Result<Zeroizing<Vec<u8>>> {
        self.read(|conn| {
            let store = require_access(conn, caller, store, Access::Read)?;
            let key: Option<Option<Vec<u8>>> = conn
                .query_row(
                    "SELECT key_data FROM entries WHERE store_id = ?1 AND alias = ?2",
                    params![store.id, alias],
                    |r| r.get(0),
                )
                .optional()?;
            match key {
                None => Err(entry_not_found(&store, alias)),
                Some(None) => Err(Error::NoSuchPart {
                    store: store.name,
                    alias: alias.to_string(),
                    what: "key",
                }),
                Some(Some(key)) => Ok(Zeroizing::new(key)),
            }
        })
    }

    /// Deletes an entry. Needs write. A key pair deleted from any store but BACKUP_STORE is
    /// kept there as `bkp_<alias>`, in the same transaction, as a replaced pair is: with
    /// vecs-cli a pair is replaced by `entry delete` then `entry create`. Returns whether there
    /// was an entry (VECS reports success either way; the caller decides what to say).
    pub fn delete_entry(&mut self, caller: u32, store: &str, alias: &str) -> Result<bool> {
        self.write(|tx| {
            let store = require_access(tx, caller, store, Access::Write)?;
            halves::delete_entry_keeping_backup(tx, &store, alias)
        })
    }

    /// Runs `f` in one write transaction, bumping the change counter when it commits.
    fn write<T>(&mut self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.execute("UPDATE change_counter SET generation = generation + 1", [])?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` in one read transaction, so that what it reads is one consistent state.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN DEFERRED")?;
        let value = f(&self.conn);
        // A read transaction has nothing to keep; ending it cannot lose anything.
        let _ = self.conn.execute_batch("COMMIT");
        value
    }
}

/// Creates the database file 0600 (and its directory 0700) before SQLite opens it, so that it
/// never exists with a wider mode; SQLite gives the WAL and SHM files the same mode (it sets
/// the mode of a file it creates explicitly, whatever the umask). An existing database, WAL or
/// SHM file that others may read (an older install, a copy made with a loose umask) is made
/// 0600 when it is ours to change, and refused otherwise: it holds every private key.
fn create_private_file(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Error::io(dir.display().to_string(), e))?;
        }
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(file) => file
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(path.display().to_string(), e)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.as_os_str().to_owned();
                file.push(suffix);
                keep_private(Path::new(&file))?;
            }
            Ok(())
        }
        Err(e) => Err(Error::io(path.display().to_string(), e)),
    }
}

/// Makes an existing file of the database 0600 if group or others have any access to it; a
/// file that does not exist (yet) is fine.
fn keep_private(path: &Path) -> Result<()> {
    let shown = || path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(shown(), e)),
    };
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid(2) cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 && euid != meta.uid() {
        return Err(Error::io(
            shown(),
            std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "other users may read it (mode {mode:04o}); its owner (uid {}) must make \
                     it private first: chmod 600 {}",
                    meta.uid(),
                    shown()
                ),
            ),
        ));
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(shown(), e))?;
    log::warn!(
        "{}: other users could read it (mode {mode:04o}); made it 0600",
        shown()
    );
    Ok(())
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // An acknowledged change must survive a crash of the machine, not only of the process.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

fn find_store(conn: &Connection, name: &str) -> rusqlite::Result<Option<StoreRow>> {
    conn.query_row(
        "SELECT id, name, owner_uid, kind FROM stores WHERE name = ?1",
        [canonical_store_name(name)],
        |r| {
            Ok(StoreRow {
                id: r.get(0)?,
                name: r.get(1)?,
                owner_uid: r.get(2)?,
                kind: StoreKind::from_db(r.get(3)?),
            })
        },
    )
    .optional()
}

fn require_store(conn: &Connection, name: &str) -> Result<StoreRow> {
    find_store(conn, name)?.ok_or_else(|| Error::StoreNotFound(name.to_string()))
}

fn require_owner(caller: u32, store: &StoreRow, action: &'static str) -> Result<()> {
    if caller == 0 || caller == store.owner_uid {
        Ok(())
    } else {
        Err(Error::AccessDenied {
            uid: caller,
            action,
            store: store.name.clone(),
        })
    }
}

fn require_access(conn: &Connection, caller: u32, name: &str, access: Access) -> Result<StoreRow> {
    let store = require_store(conn, name)?;
    let acl = load_acl(conn, store.id)?;
    if access::allows(caller, store.owner_uid, &acl, access) {
        Ok(store)
    } else {
        Err(Error::AccessDenied {
            uid: caller,
            action: access.verb(),
            store: store.name,
        })
    }
}

fn load_acl(conn: &Connection, store_id: i64) -> rusqlite::Result<Vec<Grant>> {
    let mut stmt = conn.prepare_cached(
        "SELECT principal_uid, access_mask FROM acl WHERE store_id = ?1 ORDER BY id DESC",
    )?;
    let rows = stmt.query_map([store_id], |r| {
        let mask: i64 = r.get(1)?;
        Ok(Grant {
            principal: Principal::from_db(r.get(0)?),
            mask: mask as u32,
        })
    })?;
    rows.collect()
}

/// Who put an entry there: a person (vecs-cli, the mount) or the trust sync, which prunes only
/// its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Hand,
    Sync,
}

/// The one place a new entry row is written.
fn insert_entry(
    tx: &Transaction,
    store: &StoreRow,
    alias: &str,
    entry_type: EntryType,
    cert_pem: Option<&str>,
    key_data: Option<&[u8]>,
    origin: Origin,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO entries (store_id, alias, entry_type, cert_pem, key_data, created_at, modified_at, from_sync)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
        params![
            store.id,
            alias,
            entry_type as i64,
            cert_pem,
            key_data,
            unix_now(),
            origin == Origin::Sync
        ],
    )?;
    Ok(())
}

fn find_entry_id(conn: &Connection, store_id: i64, alias: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT id FROM entries WHERE store_id = ?1 AND alias = ?2",
        params![store_id, alias],
        |r| r.get(0),
    )
    .optional()
}

/// An entry and its stored key, if it has one (see [`Database::entries_with_keys`]).
pub type EntryWithKey = (EntryInfo, Option<Zeroizing<Vec<u8>>>);

/// Adds an ordinary store (canonical `name`, not there yet) within VECS's store limit.
fn insert_store(tx: &Transaction, name: &str, owner_uid: u32) -> Result<()> {
    let count: i64 = tx.query_row("SELECT count(*) FROM stores", [], |r| r.get(0))?;
    if count as usize >= names::MAX_STORES {
        return Err(Error::TooManyStores(names::MAX_STORES));
    }
    tx.execute(
        "INSERT INTO stores (name, owner_uid, kind, created_at) VALUES (?1, ?2, 0, ?3)",
        params![name, owner_uid, unix_now()],
    )?;
    Ok(())
}

/// vmafd's SET semantics: `principal`'s mask on the store becomes `mask`.
fn set_acl(tx: &Transaction, store_id: i64, principal: Principal, mask: u32) -> Result<()> {
    tx.execute(
        "INSERT INTO acl (store_id, principal_uid, access_mask) VALUES (?1, ?2, ?3)
         ON CONFLICT (store_id, principal_uid) DO UPDATE SET access_mask = excluded.access_mask",
        params![store_id, principal.to_db(), i64::from(mask)],
    )?;
    Ok(())
}

fn entry_info(r: &rusqlite::Row) -> rusqlite::Result<EntryInfo> {
    let raw_type: i64 = r.get(1)?;
    let entry_type = EntryType::from_db(raw_type).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            1,
            rusqlite::types::Type::Integer,
            format!("unknown entry type {raw_type}").into(),
        )
    })?;
    Ok(EntryInfo {
        alias: r.get(0)?,
        entry_type,
        cert_pem: r.get(2)?,
        created_at: r.get(3)?,
        from_sync: r.get(4)?,
    })
}

fn entry_not_found(store: &StoreRow, alias: &str) -> Error {
    Error::EntryNotFound {
        store: store.name.clone(),
        alias: alias.to_string(),
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
