//! Importing a VECS afd.db into a vecsfs database: every store with its owner and grants, every
//! entry re-validated as `vecs-cli entry create` would validate it, and the sync flag.
//!
//! Validation happens first, outside the database's write lock; then everything is applied in
//! one transaction ([`Database::import_stores`]), which is committed only when nothing had to
//! be skipped, or when the caller allowed a partial import. Anything not imported is reported
//! with its reason: nothing is dropped silently.

use std::path::Path;

use zeroize::Zeroizing;

use super::afd::{self, AfdEntry, AfdStore, ACE_ALLOWED};
use super::MigrateError;
use crate::error::{code, Error};
use crate::pki;
use crate::store::{
    self, Database, EntryContent, EntryType, Grant, GrantChange, ImportedAs, ImportedEntry,
    ImportedStore, READ_STORE, WRITE_STORE,
};
use crate::users::{self, Principal};

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Do everything, then roll it back: the report says what an import would do.
    pub dry_run: bool,
    /// Import what can be imported even if some items are skipped (they are still reported).
    pub allow_partial: bool,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Whether the target database was changed.
    pub committed: bool,
    pub stores: Vec<StoreReport>,
    /// Everything that was not imported, and why.
    pub skipped: Vec<Skipped>,
    /// Things worth knowing that are not a loss (a uid without a local user, a renamed store).
    pub notes: Vec<String>,
}

#[derive(Debug)]
pub struct StoreReport {
    /// The store's name in the afd.db.
    pub source_name: String,
    /// Its name in the target (the CRL store is TRUSTED_ROOTS_CRLS there).
    pub target_name: String,
    pub created: bool,
    pub owner: Principal,
    pub previous_owner: Option<u32>,
    pub grants: Vec<GrantChange>,
    pub entries: Vec<EntryReport>,
}

#[derive(Debug)]
pub struct EntryReport {
    pub alias: String,
    pub entry_type: EntryType,
    pub from_sync: bool,
    pub result: ImportedAs,
}

/// One item not imported: a store, an entry, an owner or a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub store: String,
    /// What it is: `entry [alias]`, `owner`, `grant to EVERYONE`, `store (3 entries)`.
    pub item: String,
    pub reason: String,
    /// The VECS code of the reason (90018 for a key that does not match, 183 for an alias
    /// present in the target with other content, ...): a refused import exits with the first.
    pub code: u32,
}

impl ImportReport {
    /// Whether the import was refused because something would have been skipped.
    pub fn refused(&self) -> bool {
        !self.dry_run && !self.committed
    }

    pub fn entry_count(&self, result: ImportedAs) -> usize {
        self.stores
            .iter()
            .flat_map(|s| &s.entries)
            .filter(|e| e.result == result)
            .count()
    }
}

/// A store ready to apply, with what the report needs to say about it.
struct PlannedStore {
    source_name: String,
    store: ImportedStore,
}

/// Imports the afd.db at `afd_path` into `db` as `caller` (root only). The afd.db is only read.
pub fn import_afd(
    db: &mut Database,
    caller: u32,
    afd_path: &Path,
    options: ImportOptions,
) -> Result<ImportReport, MigrateError> {
    if caller != 0 {
        return Err(Error::OnlyRoot("import a VECS database").into());
    }
    let source = afd::read(afd_path)?;
    let mut plan = Plan::default();
    if !source.has_security_tables {
        plan.notes.push(
            "the afd.db has no SDTable/AceTable (permissions): every store is owned by root, \
             without grants"
                .into(),
        );
    }
    let planned: Vec<PlannedStore> = source
        .stores
        .into_iter()
        .filter_map(|store| plan.store(store))
        .collect();
    for orphan in source.orphan_entries {
        plan.skip(
            &format!("(store id {})", orphan.store_id),
            entry_item(&orphan),
            "its StoreID names no store of StoreTable".into(),
            code::OBJECT_NOT_FOUND,
        );
    }
    let Plan {
        mut skipped,
        mut notes,
    } = plan;
    let (source_names, to_apply): (Vec<String>, Vec<ImportedStore>) = planned
        .into_iter()
        .map(|p| (p.source_name, p.store))
        .unzip();
    let skipped_before = skipped.len();
    let (outcome, committed) = db.import_stores(caller, &to_apply, |outcome| {
        let conflicts = outcome
            .iter()
            .flat_map(|s| &s.entries)
            .any(|(_, result)| *result == ImportedAs::Conflict);
        !options.dry_run && (options.allow_partial || (skipped_before == 0 && !conflicts))
    })?;
    let mut stores = Vec::with_capacity(outcome.len());
    for ((applied, source_name), planned) in outcome.into_iter().zip(source_names).zip(&to_apply) {
        if applied.name != source_name {
            notes.push(format!("store [{source_name}] is [{}] here", applied.name));
        }
        let mut entries = Vec::with_capacity(applied.entries.len());
        for ((alias, result), entry) in applied.entries.into_iter().zip(&planned.entries) {
            if result == ImportedAs::Conflict {
                skipped.push(Skipped {
                    store: source_name.clone(),
                    item: format!("entry [{alias}]"),
                    reason: format!(
                        "the alias is already present in [{}] with other content (kept)",
                        applied.name
                    ),
                    code: code::ALREADY_EXISTS,
                });
            }
            entries.push(EntryReport {
                alias,
                entry_type: entry.content.entry_type(),
                from_sync: entry.from_sync,
                result,
            });
        }
        stores.push(StoreReport {
            source_name,
            target_name: applied.name,
            created: applied.created,
            owner: Principal::User(planned.owner_uid),
            previous_owner: applied.previous_owner,
            grants: applied.grants,
            entries,
        });
    }
    Ok(ImportReport {
        dry_run: options.dry_run,
        committed,
        stores,
        skipped,
        notes,
    })
}

/// What planning collects besides the stores.
#[derive(Default)]
struct Plan {
    skipped: Vec<Skipped>,
    notes: Vec<String>,
}

impl Plan {
    fn skip(&mut self, store: &str, item: String, reason: String, code: u32) {
        self.skipped.push(Skipped {
            store: store.to_string(),
            item,
            reason,
            code,
        });
    }

    fn store(&mut self, source: AfdStore) -> Option<PlannedStore> {
        let name = match &source.name {
            Ok(name) => name.clone(),
            Err(why) => {
                self.skip(
                    &format!("(store id {})", source.id),
                    store_item(&source),
                    format!("its name is {why}"),
                    code::BAD_FORMAT,
                );
                return None;
            }
        };
        if let Err(e) = store::names::check_store_name(&name) {
            self.skip(&name, store_item(&source), e.to_string(), e.vecs_code());
            return None;
        }
        let owner_uid = self.owner(&name, &source);
        let grants = self.grants(&name, &source, owner_uid);
        let entries = source
            .entries
            .iter()
            .filter_map(|entry| match plan_entry(&name, entry) {
                Ok(planned) => Some(planned),
                Err((reason, code)) => {
                    self.skip(&name, entry_item(entry), reason, code);
                    None
                }
            })
            .collect();
        Some(PlannedStore {
            source_name: name.clone(),
            store: ImportedStore {
                name,
                owner_uid,
                grants,
                entries,
            },
        })
    }

    /// The owner's uid. A store whose owner cannot be carried over is owned by root, which is
    /// reported as a skip: it takes a permission away from somebody.
    fn owner(&mut self, store: &str, source: &AfdStore) -> u32 {
        match &source.owner {
            None => {
                self.notes.push(format!(
                    "store [{store}] has no owner in SDTable: it is owned by root"
                ));
                0
            }
            Some(Ok(Principal::User(uid))) => {
                self.note_unknown_uid(store, *uid);
                *uid
            }
            Some(Ok(Principal::Everyone)) => {
                self.skip(
                    store,
                    "owner".into(),
                    "the owner is EVERYONE, which cannot own a store; root owns it".into(),
                    code::BAD_FORMAT,
                );
                0
            }
            Some(Err(why)) => {
                self.skip(
                    store,
                    "owner".into(),
                    format!("the owner is {why}; root owns it"),
                    code::BAD_FORMAT,
                );
                0
            }
        }
    }

    fn grants(&mut self, store: &str, source: &AfdStore, owner_uid: u32) -> Vec<Grant> {
        let mut grants = Vec::new();
        for ace in &source.aces {
            let principal = match &ace.principal {
                Ok(principal) => *principal,
                Err(why) => {
                    self.skip(
                        store,
                        "grant".into(),
                        format!("its principal is {why}"),
                        code::BAD_FORMAT,
                    );
                    continue;
                }
            };
            let item = format!("grant to {}", principal_name(principal));
            if ace.access_type != ACE_ALLOWED {
                self.skip(
                    store,
                    item,
                    format!(
                        "an access entry of type {} (only ALLOWED, 1, exists in vecsfs)",
                        ace.access_type
                    ),
                    code::BAD_FORMAT,
                );
                continue;
            }
            let mask = ace.access_mask & (READ_STORE | WRITE_STORE);
            if mask == 0 {
                self.skip(
                    store,
                    item,
                    format!(
                        "access mask {:#010x} has neither read nor write",
                        ace.access_mask
                    ),
                    code::BAD_FORMAT,
                );
                continue;
            }
            if mask != ace.access_mask {
                self.notes.push(format!(
                    "store [{store}]: {item}: bits {:#010x} of the mask mean nothing to VECS \
                     and were left out",
                    ace.access_mask & !mask
                ));
            }
            if principal == Principal::User(owner_uid) {
                self.notes.push(format!(
                    "store [{store}]: {item} is not needed: the owner has every right"
                ));
                continue;
            }
            if let Principal::User(uid) = principal {
                self.note_unknown_uid(store, uid);
            }
            grants.push(Grant { principal, mask });
        }
        grants
    }

    fn note_unknown_uid(&mut self, store: &str, uid: u32) {
        if users::name_of(uid).is_none() {
            self.notes.push(format!(
                "store [{store}]: uid {uid} has no local user here (kept as the number)"
            ));
        }
    }
}

fn store_item(source: &AfdStore) -> String {
    format!("store ({} entries)", source.entries.len())
}

fn entry_item(entry: &AfdEntry) -> String {
    match &entry.alias {
        Ok(alias) => format!("entry [{alias}]"),
        Err(_) => "entry (alias unreadable)".into(),
    }
}

fn principal_name(principal: Principal) -> String {
    match principal {
        Principal::Everyone => "EVERYONE".into(),
        Principal::User(uid) => match users::name_of(uid) {
            Some(name) => format!("{name} (uid {uid})"),
            None => format!("uid {uid}"),
        },
    }
}

/// Validates one entry as vecsfs validates a new one, keeping its type.
fn plan_entry(store: &str, entry: &AfdEntry) -> Result<ImportedEntry, (String, u32)> {
    let alias = entry
        .alias
        .as_ref()
        .map_err(|why| (format!("its alias is {why}"), code::BAD_FORMAT))?;
    store::names::check_alias_in(store, alias).map_err(refusal)?;
    let cert = entry
        .cert
        .as_ref()
        .map_err(|why| (format!("its certificate is {why}"), code::BAD_FORMAT))?;
    let key = entry
        .key
        .as_ref()
        .map_err(|why| (format!("its key is {why}"), code::BAD_FORMAT))?;
    let content = entry_content(entry.entry_type, cert.as_ref(), key.as_ref())?;
    Ok(ImportedEntry {
        alias: alias.to_string(),
        content,
        from_sync: entry.auto_refresh,
        created_at: entry.date.filter(|d| *d > 0),
    })
}

fn entry_content(
    entry_type: i64,
    cert: Option<&Zeroizing<String>>,
    key: Option<&Zeroizing<String>>,
) -> Result<EntryContent, (String, u32)> {
    let missing = |what: &str| {
        (
            format!("a {} entry without its {what}", type_name(entry_type)),
            code::INVALID_PARAMETER,
        )
    };
    let unexpected = |what: &str| {
        (
            format!(
                "a {} entry that also holds a {what}, which VECS never writes",
                type_name(entry_type)
            ),
            code::INVALID_PARAMETER,
        )
    };
    let chain = || -> Result<pki::CertChain, (String, u32)> {
        let pem = cert.ok_or_else(|| missing("certificate"))?;
        pki::parse_cert_chain(pem.as_bytes()).map_err(|e| refusal(e.into()))
    };
    match EntryType::from_db(entry_type) {
        Some(EntryType::PrivateKey) => {
            let key = key.ok_or_else(|| missing("key"))?;
            if pki::is_encrypted_key(key.as_bytes()) {
                return Err((
                    "a Private Key entry whose key is encrypted (only Encrypted Private Key \
                     entries may hold one)"
                        .into(),
                    code::BAD_FORMAT,
                ));
            }
            let chain = chain()?;
            let key = pki::parse_private_key(key.as_bytes()).map_err(|e| refusal(e.into()))?;
            EntryContent::private_key(&chain, &key).map_err(refusal)
        }
        Some(EntryType::SecretKey) => {
            if cert.is_some() {
                return Err(unexpected("certificate"));
            }
            let secret = key.ok_or_else(|| missing("secret"))?;
            EntryContent::secret_key(secret.as_bytes()).map_err(refusal)
        }
        Some(EntryType::TrustedCert) => {
            if key.is_some() {
                return Err(unexpected("key"));
            }
            Ok(EntryContent::trusted_cert(&chain()?))
        }
        Some(EntryType::Crl) => {
            if key.is_some() {
                return Err(unexpected("key"));
            }
            let pem = cert.ok_or_else(|| missing("CRL"))?;
            let crl = pki::parse_crl(pem.as_bytes()).map_err(|e| refusal(e.into()))?;
            Ok(EntryContent::crl(&crl))
        }
        Some(EntryType::EncryptedPrivateKey) => {
            let key = key.ok_or_else(|| missing("key"))?;
            EntryContent::encrypted_private_key_as_stored(&chain()?, key.as_bytes())
                .map_err(refusal)
        }
        None => Err((
            format!("entry type {entry_type}, which VECS does not define (1 to 5)"),
            code::INVALID_PARAMETER,
        )),
    }
}

fn type_name(entry_type: i64) -> &'static str {
    EntryType::from_db(entry_type).map_or("Unknown", EntryType::vecs_name)
}

fn refusal(e: Error) -> (String, u32) {
    (e.to_string(), e.vecs_code())
}
