//! The store's library API: the change counter other processes poll, migrations, and refusals
//! that roll back.

mod common;

use vecsfs::store::{Database, EntryContent, EntryType, StoreSnapshot, StoreVersion};

fn cert(ws: &common::Workspace) -> vecsfs::pki::CertChain {
    let id = common::identity(ws, common::KeyKind::EcP256, "api");
    vecsfs::pki::parse_cert_chain(&std::fs::read(&id.cert).unwrap()).unwrap()
}

#[test]
fn every_change_bumps_the_counter_seen_by_another_connection() {
    let ws = common::Workspace::new();
    let mut writer = Database::open(&ws.db).unwrap();
    let reader = Database::open(&ws.db).unwrap();
    let chain = cert(&ws);
    let start = reader.generation().unwrap();
    writer.create_store(0, "S").unwrap();
    assert_eq!(reader.generation().unwrap(), start + 1);
    writer
        .add_entry(0, "S", None, &EntryContent::trusted_cert(&chain))
        .unwrap();
    assert_eq!(reader.generation().unwrap(), start + 2);
    // A change made by another process (vecs-cli) is seen too.
    ws.vecs(&["store", "create", "--name", "T"]).ok();
    assert_eq!(reader.generation().unwrap(), start + 3);
    // Reads do not count.
    reader.entries(0, "S").unwrap();
    assert_eq!(writer.generation().unwrap(), start + 3);
}

#[test]
fn a_refused_change_rolls_back_and_does_not_count() {
    let ws = common::Workspace::new();
    let mut db = Database::open(&ws.db).unwrap();
    let chain = cert(&ws);
    let content = EntryContent::trusted_cert(&chain);
    let alias = db.add_entry(0, "machine", None, &content).unwrap();
    assert_eq!(alias, chain.alias());
    let before = db.generation().unwrap();
    let err = db.add_entry(0, "machine", Some(&alias.to_uppercase()), &content);
    assert!(
        matches!(err, Err(vecsfs::Error::EntryExists { .. })),
        "{err:?}"
    );
    let err = db.delete_store(1000, "machine");
    assert!(
        matches!(err, Err(vecsfs::Error::AccessDenied { .. })),
        "{err:?}"
    );
    assert_eq!(db.generation().unwrap(), before);
    let entries = db.entries(0, "machine").unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].entry_type, EntryType::TrustedCert);
    assert!(!entries[0].from_sync);
    assert!(entries[0].created_at > 1_700_000_000);
}

#[test]
fn reopening_keeps_the_schema_and_the_data() {
    let ws = common::Workspace::new();
    {
        let mut db = Database::open(&ws.db).unwrap();
        db.create_store(0, "kept").unwrap();
        db.delete_store(0, "BACKUP_STORE").unwrap();
    }
    let db = Database::open(&ws.db).unwrap();
    let names: Vec<String> = db.stores().unwrap().into_iter().map(|s| s.name).collect();
    assert!(names.contains(&"kept".to_string()));
    assert!(!names.contains(&"BACKUP_STORE".to_string()));
    let conn = rusqlite::Connection::open(&ws.db).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    // initial schema, pending halves, trust-sync settings, store versions
    assert_eq!(version, 4);
}

#[test]
fn the_crl_store_has_two_names() {
    let ws = common::Workspace::new();
    let db = Database::open(&ws.db).unwrap();
    assert_eq!(
        db.store("TRUSTED_ROOT_CRLS").unwrap().name,
        "TRUSTED_ROOTS_CRLS"
    );
    assert!(db.store("trusted_roots_crls").unwrap().kind.is_system());
}

/// The names of the stores a snapshot read, given the versions held from `before`.
fn read_since(db: &Database, before: &[StoreVersion]) -> Vec<String> {
    db.snapshot_since(&|v| before.contains(&v))
        .unwrap()
        .stores
        .into_iter()
        .filter_map(StoreSnapshot::into_image)
        .map(|s| s.name)
        .collect()
}

fn versions(db: &Database) -> Vec<StoreVersion> {
    db.snapshot()
        .unwrap()
        .stores
        .into_iter()
        .filter_map(StoreSnapshot::into_image)
        .map(|s| s.version)
        .collect()
}

/// A reader holding an image re-reads exactly the stores changed since, whatever changed
/// them (an entry, a grant, a deletion) and whichever connection did.
#[test]
fn a_snapshot_since_reads_only_the_stores_that_changed() {
    let ws = common::Workspace::new();
    let mut writer = Database::open(&ws.db).unwrap();
    let reader = Database::open(&ws.db).unwrap();
    let chain = cert(&ws);
    writer.create_store(0, "A").unwrap();
    writer.create_store(0, "B").unwrap();
    let held = versions(&reader);
    assert!(read_since(&reader, &held).is_empty(), "nothing changed");

    writer
        .add_entry(0, "A", Some("one"), &EntryContent::trusted_cert(&chain))
        .unwrap();
    assert_eq!(read_since(&reader, &held), ["A"]);
    let held = versions(&reader);

    writer
        .grant(
            0,
            "B",
            vecsfs::users::Principal::User(1000),
            vecsfs::store::READ_STORE,
        )
        .unwrap();
    assert_eq!(read_since(&reader, &held), ["B"]);
    let held = versions(&reader);

    writer.delete_entry(0, "A", "one").unwrap();
    assert_eq!(read_since(&reader, &held), ["A"]);
    let held = versions(&reader);

    writer.create_store(0, "C").unwrap();
    assert_eq!(read_since(&reader, &held), ["C"], "a new store is read");
}
