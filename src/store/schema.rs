//! Schema and versioned migrations. `PRAGMA user_version` records how many have run.
//!
//! A migration runs once per database, inside the same IMMEDIATE transaction that re-reads the
//! version, so two processes opening a new database at once cannot both apply it.

use rusqlite::{params, Connection, TransactionBehavior};

use super::names::{SeededStore, SEEDED_STORES};

/// Migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[fn(&rusqlite::Transaction) -> rusqlite::Result<()>] =
    &[initial_schema, pending_halves, settings, store_versions];

pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current >= MIGRATIONS.len() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for migration in MIGRATIONS.iter().skip(current) {
        migration(&tx)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len())?;
    tx.commit()
}

fn initial_schema(tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "
        CREATE TABLE stores (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            name        TEXT    NOT NULL COLLATE NOCASE UNIQUE,
            owner_uid   INTEGER NOT NULL,
            -- 0 ordinary, 1 system (never deleted), 2 system and read-only through the mount
            kind        INTEGER NOT NULL DEFAULT 0 CHECK (kind IN (0, 1, 2)),
            created_at  INTEGER NOT NULL
        );
        CREATE TABLE entries (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            store_id    INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
            alias       TEXT    NOT NULL COLLATE NOCASE,
            entry_type  INTEGER NOT NULL CHECK (entry_type BETWEEN 1 AND 5),
            -- certificate chain (canonical PEM) or CRL (canonical PEM)
            cert_pem    TEXT,
            -- PKCS#8 PEM, encrypted PKCS#8 PEM, or a secret kept verbatim
            key_data    BLOB,
            created_at  INTEGER NOT NULL,
            -- 1 when the trust sync added the entry: only those may it prune
            from_sync   INTEGER NOT NULL DEFAULT 0 CHECK (from_sync IN (0, 1)),
            UNIQUE (store_id, alias)
        );
        CREATE TABLE acl (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            store_id      INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
            principal_uid INTEGER NOT NULL,  -- -1 is EVERYONE
            access_mask   INTEGER NOT NULL CHECK (access_mask > 0),
            UNIQUE (store_id, principal_uid)
        );
        -- One row: bumped by every committed change so that another process can poll it.
        CREATE TABLE change_counter (
            only_row    INTEGER PRIMARY KEY CHECK (only_row = 1),
            generation  INTEGER NOT NULL
        );
        INSERT INTO change_counter (only_row, generation) VALUES (1, 1);
        ",
    )?;
    let now = super::unix_now();
    for store in SEEDED_STORES {
        seed_store(tx, store, now)?;
    }
    Ok(())
}

fn seed_store(tx: &rusqlite::Transaction, store: &SeededStore, now: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO stores (name, owner_uid, kind, created_at) VALUES (?1, 0, ?2, ?3)",
        params![store.name, store.kind as i64, now],
    )?;
    if store.everyone_reads {
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO acl (store_id, principal_uid, access_mask) VALUES (?1, ?2, ?3)",
            params![
                id,
                crate::users::EVERYONE_UID,
                i64::from(super::access::READ_STORE)
            ],
        )?;
    }
    Ok(())
}

/// Pair rotation through the mount: the half of a pair that arrived first waits here, durably,
/// until its other half comes; `modified_at` is the entry's time as files show it.
fn pending_halves(tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "
        ALTER TABLE entries ADD COLUMN modified_at INTEGER;
        UPDATE entries SET modified_at = created_at;
        CREATE TABLE pending_halves (
            entry_id    INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,
            half        TEXT    NOT NULL CHECK (half IN ('cert', 'key')),
            data        BLOB    NOT NULL,
            created_at  INTEGER NOT NULL
        );
        ",
    )
}

/// The trust sync: its source and status, as `key = value` settings that the daemon and
/// vecs-cli both read.
fn settings(tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "
        CREATE TABLE settings (
            key     TEXT PRIMARY KEY,
            value   TEXT NOT NULL
        );
        ",
    )
}

/// A version per store, bumped by triggers on every change to the store, its entries, its
/// grants or its pending halves, by any process: a reader re-reads only the stores whose
/// version moved (`Database::snapshot_since`).
fn store_versions(tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
    let bump = |id: &str| format!("UPDATE stores SET version = version + 1 WHERE id = {id};");
    let entry_store = |entry: &str| format!("(SELECT store_id FROM entries WHERE id = {entry})");
    let mut sql =
        String::from("ALTER TABLE stores ADD COLUMN version INTEGER NOT NULL DEFAULT 0;\n");
    let triggers = [
        (
            "store_changed",
            "AFTER UPDATE OF name, owner_uid, kind ON stores",
            bump("NEW.id"),
        ),
        (
            "entry_added",
            "AFTER INSERT ON entries",
            bump("NEW.store_id"),
        ),
        (
            "entry_changed",
            "AFTER UPDATE ON entries",
            format!("{} {}", bump("OLD.store_id"), bump("NEW.store_id")),
        ),
        (
            "entry_removed",
            "AFTER DELETE ON entries",
            bump("OLD.store_id"),
        ),
        ("grant_added", "AFTER INSERT ON acl", bump("NEW.store_id")),
        ("grant_changed", "AFTER UPDATE ON acl", bump("NEW.store_id")),
        ("grant_removed", "AFTER DELETE ON acl", bump("OLD.store_id")),
        (
            "half_added",
            "AFTER INSERT ON pending_halves",
            bump(&entry_store("NEW.entry_id")),
        ),
        (
            "half_changed",
            "AFTER UPDATE ON pending_halves",
            bump(&entry_store("NEW.entry_id")),
        ),
        (
            "half_removed",
            "AFTER DELETE ON pending_halves",
            bump(&entry_store("OLD.entry_id")),
        ),
    ];
    for (name, when, body) in triggers {
        sql.push_str(&format!(
            "CREATE TRIGGER version_{name} {when} BEGIN {body} END;\n"
        ));
    }
    tx.execute_batch(&sql)
}
