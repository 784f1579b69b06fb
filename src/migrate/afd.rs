//! Reading a VECS `afd.db` as vmafd writes it (lightwave `vmafd/server/db`): StoreTable,
//! CertTable with certificates and keys as UTF-16LE text blobs, SDTable and AceTable with the
//! owner's and each principal's uid as a 4-byte security context.
//!
//! The file is opened read-only and `immutable`: SQLite then takes no lock, creates no journal,
//! WAL or SHM file and never writes, so that reading a copy (or, with vmafd stopped, the
//! original) cannot change it. The price is that SQLite no longer sees a hot journal or a WAL:
//! a database that has one is refused, since its main file alone may be a torn state.
//!
//! Rows are read as they are; a value that cannot be decoded is kept as the reason why, so the
//! importer can report that entry as skipped instead of failing the whole database.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::SystemTime;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use zeroize::Zeroizing;

use super::MigrateError;
use crate::users::Principal;

/// What every SQLite 3 database file starts with.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The columns the importer reads; a database without them is not one vmafd wrote.
const STORE_COLUMNS: [&str; 2] = ["StoreID", "StoreName"];
const CERT_COLUMNS: [&str; 8] = [
    "ID",
    "StoreID",
    "Alias",
    "Date",
    "CertBlob",
    "EntryType",
    "PrivateKey",
    "AutoRefresh",
];
const SD_COLUMNS: [&str; 2] = ["StoreID", "ContextBlob"];
const ACE_COLUMNS: [&str; 5] = ["ID", "StoreID", "ContextBlob", "AccessMask", "AccessType"];

/// vmafd's `VMAFD_ACE_TYPE`: 1 allows, 2 denies.
pub(super) const ACE_ALLOWED: i64 = 1;

/// A decoded text value, or why it could not be decoded.
pub(super) type Decoded<T> = Result<T, String>;

/// Everything of an afd.db the import carries over.
pub(super) struct AfdDatabase {
    pub stores: Vec<AfdStore>,
    /// Entries whose StoreID names no store (vmafd enforces no foreign keys).
    pub orphan_entries: Vec<AfdEntry>,
    /// Whether the database has SDTable and AceTable (every vmafd since 2015 does).
    pub has_security_tables: bool,
}

pub(super) struct AfdStore {
    pub id: i64,
    pub name: Decoded<String>,
    /// The owner's security context; `None` when SDTable has no row for the store.
    pub owner: Option<Decoded<Principal>>,
    pub aces: Vec<AfdAce>,
    /// In vmafd's order (`ORDER BY ID`, the order vecs-cli lists them).
    pub entries: Vec<AfdEntry>,
}

pub(super) struct AfdAce {
    pub principal: Decoded<Principal>,
    pub access_mask: u32,
    pub access_type: i64,
}

pub(super) struct AfdEntry {
    pub store_id: i64,
    pub alias: Decoded<String>,
    pub entry_type: i64,
    /// CertBlob: a certificate chain or a CRL, as PEM text.
    pub cert: Decoded<Option<Zeroizing<String>>>,
    /// PrivateKey: a PEM key, or a Secret Key's text.
    pub key: Decoded<Option<Zeroizing<String>>>,
    pub auto_refresh: bool,
    /// vmafd's `Date` column: Unix seconds when the entry was added.
    pub date: Option<i64>,
}

/// Reads the afd.db at `path`, which it never changes.
pub(super) fn read(path: &Path) -> Result<AfdDatabase, MigrateError> {
    let io_error = |source| MigrateError::Io {
        path: path.display().to_string(),
        source,
    };
    let not_vecs = |reason: &str| MigrateError::NotVecs {
        path: path.display().to_string(),
        reason: reason.to_string(),
    };
    let before = std::fs::metadata(path).map_err(io_error)?;
    if !before.is_file() {
        return Err(not_vecs("not a regular file"));
    }
    let mut header = [0u8; 16];
    let read_header = std::fs::File::open(path)
        .and_then(|mut file| file.read(&mut header))
        .map_err(io_error)?;
    if read_header < header.len() || &header != SQLITE_HEADER {
        return Err(not_vecs("not an SQLite database"));
    }
    refuse_unfinished_writes(path)?;
    let conn = open_immutable(path).map_err(|e| not_vecs(&e.to_string()))?;
    let database = read_tables(&conn).map_err(|e| match e {
        TableError::Missing(reason) => not_vecs(&reason),
        TableError::Sqlite(e) => not_vecs(&format!("cannot read it: {e}")),
    })?;
    drop(conn);
    let after = std::fs::metadata(path).map_err(io_error)?;
    if modified(&before) != modified(&after) || before.len() != after.len() {
        return Err(MigrateError::Busy {
            path: path.display().to_string(),
            reason: "it changed while it was read (is vmafd running?); copy it with vmafd \
                     stopped and import the copy"
                .into(),
        });
    }
    Ok(database)
}

fn modified(metadata: &std::fs::Metadata) -> Option<SystemTime> {
    metadata.modified().ok()
}

/// A non-empty rollback journal or WAL next to the database means a transaction is under way
/// or was cut short: the main file alone may be half-written, and `immutable` would hide that.
fn refuse_unfinished_writes(path: &Path) -> Result<(), MigrateError> {
    for suffix in ["-journal", "-wal"] {
        let mut side = path.as_os_str().to_os_string();
        side.push(suffix);
        let side = Path::new(&side);
        if std::fs::metadata(side).is_ok_and(|m| m.len() > 0) {
            return Err(MigrateError::Busy {
                path: path.display().to_string(),
                reason: format!(
                    "{} exists: vmafd is writing to the database or stopped in the middle of a \
                     write; stop vmafdd (or open the database once with sqlite3 to finish the \
                     write) and import again",
                    side.display()
                ),
            });
        }
    }
    Ok(())
}

/// Opens read-only and immutable, through a `file:` URI (the only way to say `immutable`).
fn open_immutable(path: &Path) -> rusqlite::Result<Connection> {
    let uri = format!(
        "file:{}?mode=ro&immutable=1",
        percent_encode_path(path.as_os_str())
    );
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Belt and braces: even a statement that tried to write would be refused.
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// A path as a URI path: `?`, `#`, `%` and anything unusual percent-encoded.
fn percent_encode_path(path: &OsStr) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

enum TableError {
    Missing(String),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for TableError {
    fn from(e: rusqlite::Error) -> Self {
        TableError::Sqlite(e)
    }
}

fn read_tables(conn: &Connection) -> Result<AfdDatabase, TableError> {
    require_columns(conn, "StoreTable", &STORE_COLUMNS)?;
    require_columns(conn, "CertTable", &CERT_COLUMNS)?;
    let has_security_tables =
        has_columns(conn, "SDTable", &SD_COLUMNS)? && has_columns(conn, "AceTable", &ACE_COLUMNS)?;
    let mut stores = read_stores(conn)?;
    if has_security_tables {
        read_owners(conn, &mut stores)?;
        read_aces(conn, &mut stores)?;
    }
    let mut orphan_entries = Vec::new();
    for entry in read_entries(conn)? {
        match stores.iter_mut().find(|s| s.id == entry.store_id) {
            Some(store) => store.entries.push(entry),
            None => orphan_entries.push(entry),
        }
    }
    Ok(AfdDatabase {
        stores,
        orphan_entries,
        has_security_tables,
    })
}

fn columns_of(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt.query_map([table], |r| r.get::<_, String>(0))?;
    names.collect()
}

fn has_columns(conn: &Connection, table: &str, wanted: &[&str]) -> rusqlite::Result<bool> {
    let present = columns_of(conn, table)?;
    Ok(wanted
        .iter()
        .all(|w| present.iter().any(|p| p.eq_ignore_ascii_case(w))))
}

fn require_columns(conn: &Connection, table: &str, wanted: &[&str]) -> Result<(), TableError> {
    let present = columns_of(conn, table)?;
    if present.is_empty() {
        return Err(TableError::Missing(format!("it has no {table} table")));
    }
    for column in wanted {
        if !present.iter().any(|p| p.eq_ignore_ascii_case(column)) {
            return Err(TableError::Missing(format!(
                "its {table} table has no {column} column"
            )));
        }
    }
    Ok(())
}

fn read_stores(conn: &Connection) -> rusqlite::Result<Vec<AfdStore>> {
    let mut stmt = conn.prepare("SELECT StoreID, StoreName FROM StoreTable ORDER BY StoreID")?;
    let rows = stmt.query_map([], |r| {
        Ok(AfdStore {
            id: r.get(0)?,
            name: text_value(r.get_ref(1)?).map(|name| name.to_string()),
            owner: None,
            aces: Vec::new(),
            entries: Vec::new(),
        })
    })?;
    rows.collect()
}

fn read_owners(conn: &Connection, stores: &mut [AfdStore]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("SELECT StoreID, ContextBlob FROM SDTable ORDER BY ID")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let store_id: i64 = row.get(0)?;
        if let Some(store) = stores.iter_mut().find(|s| s.id == store_id) {
            store.owner = Some(security_context(row.get_ref(1)?));
        }
    }
    Ok(())
}

fn read_aces(conn: &Connection, stores: &mut [AfdStore]) -> rusqlite::Result<()> {
    let mut stmt = conn
        .prepare("SELECT StoreID, ContextBlob, AccessMask, AccessType FROM AceTable ORDER BY ID")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let store_id: i64 = row.get(0)?;
        let Some(store) = stores.iter_mut().find(|s| s.id == store_id) else {
            continue; // the ACE of a deleted store, which vmafd's trigger would have removed
        };
        store.aces.push(AfdAce {
            principal: security_context(row.get_ref(1)?),
            // vmafd binds the DWORD mask as a C int: WRITE_STORE is stored negative.
            access_mask: integer(row.get_ref(2)?).unwrap_or(0) as u32,
            access_type: integer(row.get_ref(3)?).unwrap_or(0),
        });
    }
    Ok(())
}

fn read_entries(conn: &Connection) -> rusqlite::Result<Vec<AfdEntry>> {
    let mut stmt = conn.prepare(
        "SELECT StoreID, Alias, Date, CertBlob, EntryType, PrivateKey, AutoRefresh
         FROM CertTable ORDER BY ID",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(AfdEntry {
            store_id: integer(r.get_ref(0)?).unwrap_or(-1),
            alias: text_value(r.get_ref(1)?).map(|alias| alias.to_string()),
            date: integer(r.get_ref(2)?),
            cert: optional_text(r.get_ref(3)?),
            entry_type: integer(r.get_ref(4)?).unwrap_or(0),
            key: optional_text(r.get_ref(5)?),
            auto_refresh: integer(r.get_ref(6)?).unwrap_or(0) != 0,
        })
    })?;
    rows.collect()
}

/// On Linux vmafd's security context is the raw `struct { uid_t uid; }`: 4 bytes, in the
/// machine's (little-endian) order; uid -1 is EVERYONE.
fn security_context(value: ValueRef) -> Decoded<Principal> {
    match value {
        ValueRef::Blob(bytes) => match <[u8; 4]>::try_from(bytes) {
            Ok(raw) => Ok(match u32::from_le_bytes(raw) {
                u32::MAX => Principal::Everyone,
                uid => Principal::User(uid),
            }),
            Err(_) => Err(format!(
                "a security context of {} bytes, not a Linux uid (4 bytes)",
                bytes.len()
            )),
        },
        ValueRef::Null => Err("no security context".into()),
        _ => Err("a security context that is not a blob".into()),
    }
}

fn integer(value: ValueRef) -> Option<i64> {
    match value {
        ValueRef::Integer(i) => Some(i),
        // `Date` defaults to STRFTIME('%s'), text that NUMERIC affinity normally converts.
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        ValueRef::Real(r) => Some(r as i64),
        _ => None,
    }
}

/// StoreName and Alias: bound with `sqlite3_bind_text16`, so stored as TEXT (SQLite converts
/// to the database's encoding); a blob is decoded as CertBlob is, to be safe.
fn text_value(value: ValueRef) -> Decoded<Zeroizing<String>> {
    match value {
        ValueRef::Text(bytes) => std::str::from_utf8(bytes)
            .map(|s| Zeroizing::new(s.to_string()))
            .map_err(|_| "text that is not UTF-8".to_string()),
        ValueRef::Blob(bytes) => decode_text_blob(bytes),
        ValueRef::Null => Err("NULL".into()),
        _ => Err("a number where text was expected".into()),
    }
}

fn optional_text(value: ValueRef) -> Decoded<Option<Zeroizing<String>>> {
    match value {
        ValueRef::Null => Ok(None),
        other => text_value(other).map(|text| Some(text).filter(|t| !t.is_empty())),
    }
}

/// CertBlob and PrivateKey hold `wchar16_t` text with its 2-byte NUL (`VecsDbAddCert`), as
/// little-endian UTF-16 on x86; text ends at the first NUL, as vmafd's `wcslen` reads it. A blob
/// without that 2-byte NUL and with no zero byte inside is taken as UTF-8 (what other tools that
/// filled the table wrote); UTF-16 text always has zero bytes, UTF-8 text never has.
pub(super) fn decode_text_blob(bytes: &[u8]) -> Decoded<Zeroizing<String>> {
    let vecs_terminated = bytes.len().is_multiple_of(2) && bytes.ends_with(&[0, 0]);
    let body = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if vecs_terminated || body.contains(&0) {
        return decode_utf16le(bytes);
    }
    std::str::from_utf8(body)
        .map(|s| Zeroizing::new(s.to_string()))
        .map_err(|_| "a blob that is neither UTF-16LE nor UTF-8 text".to_string())
}

fn decode_utf16le(bytes: &[u8]) -> Decoded<Zeroizing<String>> {
    if !bytes.len().is_multiple_of(2) {
        return Err(format!(
            "a UTF-16 blob of odd length ({} bytes)",
            bytes.len()
        ));
    }
    let mut units: Zeroizing<Vec<u16>> = Zeroizing::new(
        bytes
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect(),
    );
    if let Some(end) = units.iter().position(|&u| u == 0) {
        units.truncate(end);
    }
    let start = usize::from(units.first() == Some(&0xFEFF));
    String::from_utf16(&units[start..])
        .map(Zeroizing::new)
        .map_err(|_| "a blob that is not valid UTF-16LE".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16_blob(text: &str) -> Vec<u8> {
        let mut bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        bytes.extend_from_slice(&[0, 0]);
        bytes
    }

    #[test]
    fn vecs_blobs_are_utf16le_with_a_nul() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert_eq!(
            decode_text_blob(&utf16_blob(pem)).as_deref(),
            Ok(&pem.to_string())
        );
        assert_eq!(
            decode_text_blob(&utf16_blob("pässwörd ✓")).as_deref(),
            Ok(&"pässwörd ✓".to_string())
        );
        // Text ends at the first NUL, as vmafd's wcslen reads it.
        let mut trailing = utf16_blob("abc");
        trailing.extend_from_slice(&utf16_blob("junk"));
        assert_eq!(
            decode_text_blob(&trailing).as_deref(),
            Ok(&"abc".to_string())
        );
    }

    #[test]
    fn utf8_blobs_are_read_too() {
        assert_eq!(decode_text_blob(b"abc").as_deref(), Ok(&"abc".to_string()));
        assert_eq!(
            decode_text_blob(b"abc\0").as_deref(),
            Ok(&"abc".to_string())
        );
    }

    #[test]
    fn broken_blobs_say_why() {
        assert!(decode_text_blob(&[0x41, 0, 0x42]).is_err());
        // An unpaired surrogate.
        assert!(decode_text_blob(&[0x00, 0xD8, 0x41, 0x00, 0, 0]).is_err());
    }

    #[test]
    fn contexts_are_uids_and_minus_one_is_everyone() {
        let uid = 1005u32.to_le_bytes();
        assert_eq!(
            security_context(ValueRef::Blob(&uid)),
            Ok(Principal::User(1005))
        );
        let everyone = (-1i32).to_le_bytes();
        assert_eq!(
            security_context(ValueRef::Blob(&everyone)),
            Ok(Principal::Everyone)
        );
        assert!(security_context(ValueRef::Blob(&[0; 28])).is_err());
    }

    #[test]
    fn uri_paths_are_escaped() {
        assert_eq!(
            percent_encode_path(OsStr::new("/a b/c?d#e%.db")),
            "/a%20b/c%3Fd%23e%25.db"
        );
    }
}
