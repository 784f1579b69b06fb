//! The in-memory view the mount serves reads from: every store, alias and file of one
//! generation of the database, and what changed from one view to the next.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use zeroize::Zeroizing;

use super::capath::{generated_files, Generated};
use crate::pki::CertSummary;
use crate::store::names::{CRL_STORE, TRUSTED_ROOTS};
use crate::store::{EntryType, Grant, Half, Snapshot, StoreKind, StoreSnapshot, StoreVersion};

/// The bytes of a file as one generation had them. Shared with open read handles, which keep
/// reading it after the store changes (snapshot-at-open); zeroed when the last holder drops it.
pub type FileData = Arc<Zeroizing<Vec<u8>>>;

/// The files an alias directory can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileName {
    Cert,
    Key,
    Crl,
    /// A Private Key entry's key and chain in one read-only file: a service that loads it in
    /// one read always gets a matching pair.
    Bundle,
}

impl FileName {
    pub const ALL: [FileName; 4] = [
        FileName::Cert,
        FileName::Key,
        FileName::Crl,
        FileName::Bundle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FileName::Cert => "cert.pem",
            FileName::Key => "key.pem",
            FileName::Crl => "crl.pem",
            FileName::Bundle => "bundle.pem",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        FileName::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// The files a write changes the entry through (the others are computed or read-only).
    pub fn is_writable(self) -> bool {
        matches!(self, FileName::Cert | FileName::Key)
    }
}

pub struct View {
    pub generation: u64,
    /// Shared with the views before and after this one while the store is unchanged.
    pub stores: Vec<Arc<StoreNode>>,
    by_name: HashMap<String, usize>,
    /// SHA-256 of what the generated files are computed from (TRUSTED_ROOTS's and the CRL
    /// store's aliases and PEM), so that a reload after a change of one of them that leaves
    /// the inputs as they were reuses them instead of parsing every root again.
    generated_from: Vec<u8>,
}

#[derive(Clone)]
pub struct StoreNode {
    pub version: StoreVersion,
    pub name: String,
    pub owner_uid: u32,
    pub kind: StoreKind,
    pub grants: Vec<Grant>,
    pub created_at: i64,
    pub aliases: Vec<AliasNode>,
    by_alias: HashMap<String, usize>,
    /// Read-only files the mount computes (TRUSTED_ROOTS: CApath names and the CA bundle).
    pub generated: Generated,
}

#[derive(Clone)]
pub struct AliasNode {
    pub alias: String,
    pub entry_type: EntryType,
    pub modified_at: i64,
    pub from_sync: bool,
    pub pending: Option<(Half, i64)>,
    files: Vec<(FileName, FileData)>,
    /// The certificate's metadata (the xattrs), parsed at most once per content version: the
    /// node is shared by every view until its store changes.
    summary: OnceLock<Option<CertSummary>>,
}

/// The key under which names are unique: VECS compares them case-insensitively (ASCII only,
/// as SQLite's NOCASE does).
pub fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl View {
    /// The view of `snapshot`. The stores it did not read are taken from `previous`, which
    /// must be the view whose versions the snapshot was asked about (`None`: a full snapshot).
    /// The generated files are recomputed only when their inputs changed.
    pub fn from_snapshot(snapshot: Snapshot, previous: Option<&View>) -> Self {
        let held: HashMap<StoreVersion, &Arc<StoreNode>> = previous
            .map(|p| p.stores.iter().map(|s| (s.version, s)).collect())
            .unwrap_or_default();
        let mut stores: Vec<Arc<StoreNode>> = snapshot
            .stores
            .into_iter()
            .filter_map(|store| match store {
                StoreSnapshot::Held(version) => {
                    let kept = held.get(&version).map(|&s| Arc::clone(s));
                    if kept.is_none() {
                        // The snapshot was asked about another view: a bug, not a state of the
                        // store. Said loudly, since the store is missing until the next reload.
                        log::error!("reload: store version {version:?} is in no view; dropped");
                    }
                    kept
                }
                StoreSnapshot::Read(image) => Some(Arc::new(StoreNode::from_image(image))),
            })
            .collect();
        let by_name: HashMap<String, usize> = stores
            .iter()
            .enumerate()
            .map(|(i, s)| (fold(&s.name), i))
            .collect();
        let store_at = |name: &str| by_name.get(&fold(name)).copied();
        let (roots_at, crls_at) = (store_at(TRUSTED_ROOTS), store_at(CRL_STORE));
        let unchanged = |at: Option<usize>, name: &str| {
            let before = previous.and_then(|p| p.store(name));
            match (at.map(|i| &stores[i]), before) {
                (Some(now), Some(before)) => std::ptr::eq(now.as_ref(), before),
                (None, None) => true,
                _ => false,
            }
        };
        let generated_from = match previous {
            Some(p) if unchanged(roots_at, TRUSTED_ROOTS) && unchanged(crls_at, CRL_STORE) => {
                p.generated_from.clone()
            }
            _ => {
                let node_at = |at: Option<usize>| at.map(|i| stores[i].as_ref());
                let (roots, crls) = (node_at(roots_at), node_at(crls_at));
                let digest = inputs_digest(roots, crls);
                let reused = previous
                    .filter(|p| p.generated_from == digest)
                    .and_then(|p| p.store(TRUSTED_ROOTS))
                    .map(|s| s.generated.clone());
                let generated = reused.unwrap_or_else(|| generated_files(roots, crls));
                if let Some(i) = roots_at {
                    if stores[i].generated != generated {
                        Arc::make_mut(&mut stores[i]).generated = generated;
                    }
                }
                digest
            }
        };
        View {
            generation: snapshot.generation,
            stores,
            by_name,
            generated_from,
        }
    }

    /// A copy sharing every store node: a reload builds on it without holding the lock.
    pub fn share(&self) -> View {
        View {
            generation: self.generation,
            stores: self.stores.clone(),
            by_name: self.by_name.clone(),
            generated_from: self.generated_from.clone(),
        }
    }

    /// A store by the exact name shown (paths are case-sensitive, as on any Linux filesystem).
    pub fn store(&self, name: &str) -> Option<&StoreNode> {
        self.store_folded(name).filter(|s| s.name == name)
    }

    /// A store whatever the case: for uniqueness checks.
    pub fn store_folded(&self, name: &str) -> Option<&StoreNode> {
        self.by_name
            .get(&fold(name))
            .map(|&i| self.stores[i].as_ref())
    }
}

/// The PEM of every alias of `store` that has `file`, with the alias.
pub fn pem_files(store: Option<&StoreNode>, file: FileName) -> impl Iterator<Item = (&str, &str)> {
    store
        .into_iter()
        .flat_map(|s| s.aliases.iter())
        .filter_map(move |a| {
            let pem = std::str::from_utf8(a.file(file)?).ok()?;
            Some((a.alias.as_str(), pem))
        })
}

/// SHA-256 over the aliases and PEM of `roots` and `crls`, in order.
fn inputs_digest(roots: Option<&StoreNode>, crls: Option<&StoreNode>) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (tag, entries) in [
        (b"r", pem_files(roots, FileName::Cert)),
        (b"c", pem_files(crls, FileName::Crl)),
    ] {
        for (alias, pem) in entries {
            hasher.update(tag);
            for part in [alias.as_bytes(), pem.as_bytes()] {
                hasher.update((part.len() as u64).to_le_bytes());
                hasher.update(part);
            }
        }
    }
    hasher.finalize().to_vec()
}

impl StoreNode {
    fn from_image(image: crate::store::StoreImage) -> Self {
        let aliases: Vec<AliasNode> = image
            .entries
            .into_iter()
            .map(AliasNode::from_image)
            .collect();
        let by_alias = aliases
            .iter()
            .enumerate()
            .map(|(i, a)| (fold(&a.alias), i))
            .collect();
        StoreNode {
            version: image.version,
            name: image.name,
            owner_uid: image.owner_uid,
            kind: image.kind,
            grants: image.grants,
            created_at: image.created_at,
            aliases,
            by_alias,
            generated: Generated::new(),
        }
    }

    pub fn alias(&self, alias: &str) -> Option<&AliasNode> {
        self.alias_folded(alias).filter(|a| a.alias == alias)
    }

    pub fn alias_folded(&self, alias: &str) -> Option<&AliasNode> {
        self.by_alias.get(&fold(alias)).map(|&i| &self.aliases[i])
    }

    pub fn is_read_only(&self) -> bool {
        self.kind == StoreKind::SystemReadOnly
    }
}

impl AliasNode {
    fn from_image(image: crate::store::EntryImage) -> Self {
        let data = |bytes: &[u8]| -> FileData { Arc::new(Zeroizing::new(bytes.to_vec())) };
        let mut files = Vec::new();
        match image.entry_type {
            EntryType::Crl => {
                if let Some(pem) = &image.cert_pem {
                    files.push((FileName::Crl, data(pem.as_bytes())));
                }
            }
            _ => {
                if let Some(pem) = image
                    .cert_pem
                    .as_ref()
                    .filter(|_| image.entry_type.has_certificate())
                {
                    files.push((FileName::Cert, data(pem.as_bytes())));
                }
                if let Some(key) = image
                    .key_data
                    .as_ref()
                    .filter(|_| image.entry_type.has_key())
                {
                    files.push((FileName::Key, data(key)));
                }
                if let (EntryType::PrivateKey, Some(key), Some(chain)) =
                    (image.entry_type, &image.key_data, &image.cert_pem)
                {
                    let mut both = Zeroizing::new(Vec::with_capacity(key.len() + chain.len()));
                    both.extend_from_slice(key);
                    both.extend_from_slice(chain.as_bytes());
                    files.push((FileName::Bundle, Arc::new(both)));
                }
            }
        }
        AliasNode {
            alias: image.alias,
            entry_type: image.entry_type,
            modified_at: image.modified_at,
            from_sync: image.from_sync,
            pending: image.pending,
            files,
            summary: OnceLock::new(),
        }
    }

    /// What `getfattr` shows of the leaf certificate; None for entries without one (or whose
    /// stored certificate does not parse, which validation on the way in rules out).
    pub fn summary(&self) -> Option<&CertSummary> {
        self.summary
            .get_or_init(|| {
                let pem = self.file(FileName::Cert)?;
                let chain = crate::pki::parse_cert_chain(pem).ok()?;
                crate::pki::certificate_summary(chain.leaf_der()).ok()
            })
            .as_ref()
    }

    pub fn file(&self, name: FileName) -> Option<&FileData> {
        self.files.iter().find(|(n, _)| *n == name).map(|(_, d)| d)
    }

    pub fn files(&self) -> impl Iterator<Item = (FileName, &FileData)> {
        self.files.iter().map(|(n, d)| (*n, d))
    }
}

/// What differs between two views, as paths: the adapter turns these into kernel
/// invalidations.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Store names added or removed (dentries of the root).
    pub stores: Vec<String>,
    /// Stores whose owner or grants changed (their attributes).
    pub store_attrs: Vec<String>,
    /// (store, alias) added, removed or changed.
    pub aliases: Vec<(String, String)>,
    /// (store, alias, file) whose presence or content changed.
    pub files: Vec<(String, String, FileName)>,
    /// (store, alias, file) whose content is the same but whose mode or mtime changed.
    pub file_attrs: Vec<(String, String, FileName)>,
    /// (store, name) of generated files added, removed or changed.
    pub generated: Vec<(String, String)>,
}

impl Changes {
    pub fn between(old: &View, new: &View) -> Self {
        let mut changes = Changes::default();
        for store in &old.stores {
            match new.store(&store.name) {
                None => changes.stores.push(store.name.clone()),
                // The same node: nothing in the store changed.
                Some(now) if std::ptr::eq(now, store.as_ref()) => {}
                Some(now) => changes.diff_store(store, now),
            }
        }
        for store in &new.stores {
            if old.store(&store.name).is_none() {
                changes.stores.push(store.name.clone());
            }
        }
        changes
    }

    fn diff_store(&mut self, old: &StoreNode, new: &StoreNode) {
        let names: std::collections::BTreeSet<&String> =
            old.generated.keys().chain(new.generated.keys()).collect();
        for name in names {
            let same = match (old.generated.get(name), new.generated.get(name)) {
                (Some(a), Some(b)) => a.as_slice() == b.as_slice(),
                _ => false,
            };
            if !same {
                self.generated.push((new.name.clone(), name.clone()));
            }
        }
        if old.owner_uid != new.owner_uid || old.grants != new.grants {
            self.store_attrs.push(new.name.clone());
            // Every file's mode follows the store's permissions.
            for alias in &new.aliases {
                self.aliases.push((new.name.clone(), alias.alias.clone()));
                for (file, _) in alias.files() {
                    self.file_attrs
                        .push((new.name.clone(), alias.alias.clone(), file));
                }
            }
        }
        for alias in &old.aliases {
            match new.alias(&alias.alias) {
                None => self.aliases.push((old.name.clone(), alias.alias.clone())),
                Some(now) => self.diff_alias(&new.name, alias, now),
            }
        }
        for alias in &new.aliases {
            if old.alias(&alias.alias).is_none() {
                self.aliases.push((new.name.clone(), alias.alias.clone()));
            }
        }
    }

    fn diff_alias(&mut self, store: &str, old: &AliasNode, new: &AliasNode) {
        let entry_changed = old.entry_type != new.entry_type
            || old.modified_at != new.modified_at
            || old.pending != new.pending;
        if entry_changed {
            self.aliases.push((store.to_string(), new.alias.clone()));
        }
        for name in FileName::ALL {
            let change = (store.to_string(), new.alias.clone(), name);
            match (old.file(name), new.file(name)) {
                (None, None) => {}
                (Some(a), Some(b)) if Arc::ptr_eq(a, b) || a.as_slice() == b.as_slice() => {
                    if entry_changed {
                        self.file_attrs.push(change);
                    }
                }
                _ => self.files.push(change),
            }
        }
    }
}
