//! Model-based test of the filesystem layer: random sequences of operations run against
//! `vecsfs::fs::VecsFs` (as the kernel would drive it) and against a small reference model of
//! the contract (../shared/spec/filesystem.md). After every step the errno of the operation,
//! the directory listings, the file contents, the pending-half attribute and what the store
//! holds (through a second `Database` handle) must agree with the model.
//!
//! `PROPTEST_CASES=n` runs more (or fewer) cases than the default 256 (a few seconds).

mod common;

use std::ffi::OsStr;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use vecsfs::fs::{Caller, FsOptions, FsResult, Ino, VecsFs, RENAME_NOREPLACE, ROOT_INO};
use vecsfs::pki::{parse_cert_chain, parse_private_key};
use vecsfs::store::{Database, EntryContent, EntryType, Half};

const STORES: [&str; 3] = ["S", "T", "s"];
const ALIASES: [&str; 3] = ["a", "b", "A"];
const MAX_STEPS: usize = 30;
const ROOT: Caller = Caller::ROOT;

// ---------------------------------------------------------------------------------------------
// Key material, made once
// ---------------------------------------------------------------------------------------------

/// Certificates 0..3 have keys 0..3 (EC P-256, RSA, Ed25519); certificate 3 is alone (its key
/// is not in the pool) and key 3 matches no certificate.
const CERTS: usize = 4;
const KEYS: usize = 4;
const PAIRS: usize = 3;

struct Material {
    certs: Vec<Vec<u8>>,
    keys: Vec<Vec<u8>>,
    /// Key 1 (RSA) in PKCS#1.
    pkcs1: Vec<u8>,
    /// A key of an unsupported kind.
    ed448: Vec<u8>,
    canonical_certs: Vec<Vec<u8>>,
    canonical_keys: Vec<Vec<u8>>,
}

fn material() -> &'static Material {
    static MATERIAL: OnceLock<Material> = OnceLock::new();
    MATERIAL.get_or_init(|| {
        let ws = common::Workspace::new();
        let dir = ws.dir.path();
        let read = |name: &str| std::fs::read(dir.join(name)).expect("generated file");
        let algorithms: [&[&str]; 4] = [
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            &["-algorithm", "ED25519"],
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        ];
        let mut certs = Vec::new();
        let mut keys = Vec::new();
        for (i, algorithm) in algorithms.iter().enumerate() {
            let key = format!("k{i}.key");
            let crt = format!("c{i}.crt");
            let mut args = vec!["genpkey", "-out", key.as_str()];
            args.extend_from_slice(algorithm);
            common::openssl(dir, &args);
            let subj = format!("/CN=model{i}");
            common::openssl(
                dir,
                &[
                    "req", "-x509", "-new", "-key", &key, "-subj", &subj, "-days", "30", "-out",
                    &crt,
                ],
            );
            certs.push(read(&crt));
            keys.push(read(&key));
        }
        // Certificate 3's key stays out of the pool; key 3 is a key of its own.
        common::openssl(
            dir,
            &[
                "genpkey",
                "-out",
                "lone.key",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ],
        );
        keys[3] = read("lone.key");
        common::openssl(
            dir,
            &["rsa", "-in", "k1.key", "-traditional", "-out", "k1.pkcs1"],
        );
        common::openssl(
            dir,
            &["genpkey", "-algorithm", "ED448", "-out", "ed448.key"],
        );
        let canonical_certs = certs
            .iter()
            .map(|c| parse_cert_chain(c).unwrap().pem().as_bytes().to_vec())
            .collect();
        let canonical_keys = keys
            .iter()
            .map(|k| {
                parse_private_key(k)
                    .unwrap()
                    .to_pkcs8_pem()
                    .as_bytes()
                    .to_vec()
            })
            .collect();
        Material {
            certs,
            keys,
            pkcs1: read("k1.pkcs1"),
            ed448: read("ed448.key"),
            canonical_certs,
            canonical_keys,
        }
    })
}

/// What a test writes into a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    Cert(usize),
    Key(usize),
    /// Key 1 in PKCS#1.
    Pkcs1,
    /// Key i followed by certificate i, in one PEM.
    Bundle(usize),
    Garbage,
    Ed448,
}

impl Content {
    fn bytes(self) -> Vec<u8> {
        let m = material();
        match self {
            Content::Cert(i) => m.certs[i].clone(),
            Content::Key(i) => m.keys[i].clone(),
            Content::Pkcs1 => m.pkcs1.clone(),
            Content::Bundle(i) => [m.keys[i].as_slice(), m.certs[i].as_slice()].concat(),
            Content::Garbage => b"this is not a PEM file\n".to_vec(),
            Content::Ed448 => m.ed448.clone(),
        }
    }

    /// The supported private key this content is, if any.
    fn key(self) -> Option<usize> {
        match self {
            Content::Key(k) => Some(k),
            Content::Pkcs1 => Some(1),
            _ => None,
        }
    }
}

fn matches(key: usize, cert: usize) -> bool {
    key == cert && key < PAIRS
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum File {
    Cert,
    Key,
    /// A Private Key entry's key then its chain, computed and read-only.
    Bundle,
}

impl File {
    fn name(self) -> &'static str {
        match self {
            File::Cert => "cert.pem",
            File::Key => "key.pem",
            File::Bundle => "bundle.pem",
        }
    }
}

/// The bytes of a Secret Key: as written, or the canonical form of a key it was left with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Secret {
    Raw(Content),
    Canonical(usize),
}

impl Secret {
    fn key(self) -> Option<usize> {
        match self {
            Secret::Raw(c) => c.key(),
            Secret::Canonical(k) => Some(k),
        }
    }

    fn bytes(self) -> Vec<u8> {
        match self {
            Secret::Raw(c) => c.bytes(),
            Secret::Canonical(k) => material().canonical_keys[k].clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Live {
    /// An alias directory made with mkdir: no entry yet.
    Empty,
    Trusted {
        cert: usize,
    },
    Private {
        cert: usize,
        key: usize,
    },
    Secret(Secret),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Cert(usize),
    Key(usize),
}

#[derive(Debug, Clone)]
struct Alias {
    name: String,
    live: Live,
    pending: Option<Pending>,
}

impl Alias {
    /// The files the alias directory lists, and their bytes.
    fn files(&self) -> Vec<(File, Vec<u8>)> {
        let m = material();
        match self.live {
            Live::Empty => vec![],
            Live::Trusted { cert } => vec![(File::Cert, m.canonical_certs[cert].clone())],
            Live::Private { cert, key } => vec![
                (File::Cert, m.canonical_certs[cert].clone()),
                (File::Key, m.canonical_keys[key].clone()),
            ],
            Live::Secret(s) => vec![(File::Key, s.bytes())],
        }
    }

    /// bundle.pem: found by name but not listed, only in a Private Key entry's directory. It
    /// is always the live pair (the key, then its chain), never a pending half.
    fn bundle(&self) -> Option<Vec<u8>> {
        let m = material();
        match self.live {
            Live::Private { cert, key } => {
                Some([m.canonical_keys[key].as_slice(), &m.canonical_certs[cert]].concat())
            }
            _ => None,
        }
    }

    fn entry_type(&self) -> Option<EntryType> {
        match self.live {
            Live::Empty => None,
            Live::Trusted { .. } => Some(EntryType::TrustedCert),
            Live::Private { .. } => Some(EntryType::PrivateKey),
            Live::Secret(_) => Some(EntryType::SecretKey),
        }
    }

    fn set(&mut self, live: Live) {
        self.live = live;
        self.pending = None;
    }

    /// A commit of `content` to `file`, as the contract's write table and pair rotation say.
    fn write(&mut self, file: File, content: Content) -> Result<(), i32> {
        // bundle.pem is computed: it is never written (nor created where there is none).
        if file == File::Bundle {
            return Err(libc::EPERM);
        }
        // A single PEM holding the key and the chain replaces the pair at once.
        if let Content::Bundle(i) = content {
            self.set(Live::Private { cert: i, key: i });
            return Ok(());
        }
        match file {
            File::Cert => {
                let Content::Cert(c) = content else {
                    return Err(libc::EBADMSG);
                };
                self.write_cert(c);
                Ok(())
            }
            File::Key => self.write_key(content),
            File::Bundle => unreachable!("refused above"),
        }
    }

    fn write_cert(&mut self, c: usize) {
        let pending_key = match self.pending {
            Some(Pending::Key(k)) if matches(k, c) => Some(k),
            _ => None,
        };
        match self.live {
            Live::Empty => self.set(Live::Trusted { cert: c }),
            Live::Trusted { .. } => match pending_key {
                Some(k) => self.set(Live::Private { cert: c, key: k }),
                None => self.set(Live::Trusted { cert: c }),
            },
            Live::Private { key, .. } if matches(key, c) => {
                self.set(Live::Private { cert: c, key })
            }
            Live::Private { .. } => match pending_key {
                Some(k) => self.set(Live::Private { cert: c, key: k }),
                None => self.pending = Some(Pending::Cert(c)),
            },
            Live::Secret(s) => match (s.key(), pending_key) {
                (Some(k), _) if matches(k, c) => self.set(Live::Private { cert: c, key: k }),
                // The key written before `rm cert.pem` pairs with the certificate written after.
                (_, Some(k)) => self.set(Live::Private { cert: c, key: k }),
                _ => self.pending = Some(Pending::Cert(c)),
            },
        }
    }

    fn write_key(&mut self, content: Content) -> Result<(), i32> {
        let pending = self.pending;
        let pending_cert = |key: Option<usize>| match pending {
            Some(Pending::Cert(c)) if key.is_some_and(|k| matches(k, c)) => Some(c),
            _ => None,
        };
        match self.live {
            // Any key-only content on an alias without a certificate is a Secret Key.
            Live::Empty => self.set(Live::Secret(Secret::Raw(content))),
            Live::Secret(_) => match pending_cert(content.key()) {
                Some(c) => self.set(Live::Private {
                    cert: c,
                    key: content.key().unwrap(),
                }),
                None => self.set(Live::Secret(Secret::Raw(content))),
            },
            Live::Trusted { cert } | Live::Private { cert, .. } => {
                let k = match content {
                    Content::Ed448 => return Err(libc::EKEYREJECTED),
                    _ => content.key().ok_or(libc::EBADMSG)?,
                };
                if matches(k, cert) {
                    self.set(Live::Private { cert, key: k });
                } else if let Some(c) = pending_cert(Some(k)) {
                    self.set(Live::Private { cert: c, key: k });
                } else {
                    self.pending = Some(Pending::Key(k));
                }
            }
        }
        Ok(())
    }

    /// `rm file`; `None` when the entry is left with nothing.
    fn unlink(&mut self, file: File) -> Result<(), i32> {
        let next = match (self.live, file) {
            (Live::Private { cert, .. }, File::Key) => Live::Trusted { cert },
            (Live::Private { key, .. }, File::Cert) => Live::Secret(Secret::Canonical(key)),
            // The entry is gone; the directory stays, as on any filesystem.
            (Live::Trusted { .. }, File::Cert) | (Live::Secret(_), File::Key) => Live::Empty,
            (Live::Private { .. }, File::Bundle) => return Err(libc::EPERM),
            _ => return Err(libc::ENOENT),
        };
        // A pending half survives the removal of the other half (`install` removes the old
        // key before it writes the new one); it goes with the entry.
        self.live = next;
        if next == Live::Empty {
            self.pending = None;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Store {
    name: String,
    aliases: Vec<Alias>,
}

impl Store {
    fn exact(&self, name: &str) -> Option<usize> {
        self.aliases.iter().position(|a| a.name == name)
    }

    fn folded(&self, name: &str) -> Option<usize> {
        self.aliases
            .iter()
            .position(|a| a.name.eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Clone, Default)]
struct Model {
    stores: Vec<Store>,
}

#[derive(Debug, Clone)]
enum Op {
    MkdirStore(usize),
    RmdirStore(usize),
    MkdirAlias(usize, usize),
    Write(usize, usize, File, Content),
    /// Write a temporary file next to `file` and rename it over `file`.
    WriteViaTemp(usize, usize, File, Content),
    Unlink(usize, usize, File),
    RmdirAlias(usize, usize),
    Rename {
        from: (usize, usize),
        to: (usize, usize),
        noreplace: bool,
    },
    /// `vecs-cli entry create` of a Trusted Cert through another handle.
    ExternalAdd(usize, usize, usize),
    /// `vecs-cli entry delete` through another handle.
    ExternalDelete(usize, usize),
}

impl Model {
    fn store(&self, name: &str) -> Option<usize> {
        self.stores.iter().position(|s| s.name == name)
    }

    /// A store as vecs-cli names it: case-insensitively.
    fn store_folded(&self, name: &str) -> Option<usize> {
        self.stores
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(name))
    }

    fn alias_mut(&mut self, store: &str, alias: &str) -> Result<&mut Alias, i32> {
        let s = self.store(store).ok_or(libc::ENOENT)?;
        let store = &mut self.stores[s];
        let a = store.exact(alias).ok_or(libc::ENOENT)?;
        Ok(&mut store.aliases[a])
    }

    /// Requests the kernel answers itself and never sends: RENAME_NOREPLACE onto a name its
    /// lookup found (here: the source itself, which the model would otherwise have to treat).
    fn kernel_answers(op: &Op) -> bool {
        matches!(op, Op::Rename { from, to, noreplace: true } if from == to)
    }

    /// Applies `op`; the errno the filesystem must answer (for external operations: 0 for an
    /// error of the store).
    fn apply(&mut self, op: &Op) -> Result<(), i32> {
        match *op {
            Op::MkdirStore(s) => {
                let name = STORES[s];
                if self
                    .stores
                    .iter()
                    .any(|st| st.name.eq_ignore_ascii_case(name))
                {
                    return Err(libc::EEXIST);
                }
                self.stores.push(Store {
                    name: name.to_string(),
                    aliases: Vec::new(),
                });
                Ok(())
            }
            Op::RmdirStore(s) => {
                let i = self.store(STORES[s]).ok_or(libc::ENOENT)?;
                // "deletes an empty store; ENOTEMPTY if it has entries": alias directories
                // without an entry go with it.
                if self.stores[i].aliases.iter().any(|a| a.live != Live::Empty) {
                    return Err(libc::ENOTEMPTY);
                }
                self.stores.remove(i);
                Ok(())
            }
            Op::MkdirAlias(s, a) => {
                let i = self.store(STORES[s]).ok_or(libc::ENOENT)?;
                let store = &mut self.stores[i];
                if store.folded(ALIASES[a]).is_some() {
                    return Err(libc::EEXIST);
                }
                store.aliases.push(Alias {
                    name: ALIASES[a].to_string(),
                    live: Live::Empty,
                    pending: None,
                });
                Ok(())
            }
            Op::Write(s, a, file, content) | Op::WriteViaTemp(s, a, file, content) => {
                let alias = self.alias_mut(STORES[s], ALIASES[a])?;
                let mut next = alias.clone();
                next.write(file, content)?;
                *alias = next;
                Ok(())
            }
            Op::Unlink(s, a, file) => {
                let alias = self.alias_mut(STORES[s], ALIASES[a])?;
                alias.unlink(file)
            }
            Op::RmdirAlias(s, a) => {
                let i = self.store(STORES[s]).ok_or(libc::ENOENT)?;
                let store = &mut self.stores[i];
                let j = store.exact(ALIASES[a]).ok_or(libc::ENOENT)?;
                store.aliases.remove(j);
                Ok(())
            }
            Op::Rename {
                from,
                to,
                noreplace,
            } => self.rename(from, to, noreplace),
            Op::ExternalAdd(s, a, c) => {
                let i = self.store_folded(STORES[s]).ok_or(0)?;
                let store = &mut self.stores[i];
                if let Some(j) = store.folded(ALIASES[a]) {
                    if store.aliases[j].live != Live::Empty {
                        return Err(0);
                    }
                    // The entry takes the place of the empty directory.
                    store.aliases.remove(j);
                }
                store.aliases.push(Alias {
                    name: ALIASES[a].to_string(),
                    live: Live::Trusted { cert: c },
                    pending: None,
                });
                Ok(())
            }
            Op::ExternalDelete(s, a) => {
                let i = self.store_folded(STORES[s]).ok_or(0)?;
                let store = &mut self.stores[i];
                if let Some(j) = store.folded(ALIASES[a]) {
                    if store.aliases[j].live != Live::Empty {
                        store.aliases.remove(j);
                    }
                }
                Ok(())
            }
        }
    }

    fn rename(
        &mut self,
        from: (usize, usize),
        to: (usize, usize),
        noreplace: bool,
    ) -> Result<(), i32> {
        let si = self.store(STORES[from.0]).ok_or(libc::ENOENT)?;
        let ti = self.store(STORES[to.0]).ok_or(libc::ENOENT)?;
        let source = self.stores[si].exact(ALIASES[from.1]).ok_or(libc::ENOENT)?;
        let new_name = ALIASES[to.1].to_string();
        let target = self.stores[ti].folded(&new_name);
        if si == ti && target == Some(source) {
            // Onto itself, or a change of case only.
            self.stores[si].aliases[source].name = new_name;
            return Ok(());
        }
        let source_empty = self.stores[si].aliases[source].live == Live::Empty;
        if let Some(t) = target {
            let target_empty = self.stores[ti].aliases[t].live == Live::Empty;
            if noreplace || (source_empty && !target_empty) {
                return Err(libc::EEXIST);
            }
        }
        let mut moved = self.stores[si].aliases.remove(source);
        if let Some(t) = self.stores[ti].folded(&new_name) {
            self.stores[ti].aliases.remove(t);
        }
        moved.name = new_name;
        self.stores[ti].aliases.push(moved);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The system under test, driven as the kernel would
// ---------------------------------------------------------------------------------------------

/// Fields drop in order: the filesystem and the database close before the directory goes.
struct Sut {
    fs: VecsFs,
    db: Database,
    _dir: tempfile::TempDir,
}

impl Sut {
    /// A fresh database, in memory-backed /dev/shm when there is one: every commit is
    /// synchronous, and hundreds of cases on a busy disk would be slow for nothing.
    fn new() -> Self {
        let shm = std::path::Path::new("/dev/shm");
        let mut builder = tempfile::Builder::new();
        builder.prefix("vecsfs-model-");
        let dir = match builder.tempdir_in(shm) {
            Ok(dir) => dir,
            Err(_) => builder.tempdir().expect("temp dir"),
        };
        let path = dir.path().join("vecs.db");
        let fs = VecsFs::open_db(&path, FsOptions::default()).expect("open filesystem");
        let db = Database::open(&path).expect("open database");
        Sut { fs, db, _dir: dir }
    }

    fn ino(&self, path: &[&str]) -> FsResult<Ino> {
        let mut ino = ROOT_INO;
        for component in path {
            ino = self.fs.lookup(&ROOT, ino, OsStr::new(component))?.ino;
        }
        Ok(ino)
    }

    fn ls(&self, path: &[&str]) -> FsResult<Vec<String>> {
        let ino = self.ino(path)?;
        self.fs.opendir(&ROOT, ino)?;
        let mut names: Vec<String> = self.fs.readdir(&ROOT, ino)?[2..]
            .iter()
            .map(|e| e.name.to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    fn read(&self, path: &[&str]) -> FsResult<Vec<u8>> {
        let ino = self.ino(path)?;
        let fh = self.fs.open(&ROOT, ino, libc::O_RDONLY)?.fh;
        let mut out = Vec::new();
        loop {
            let chunk = self.fs.read(fh, out.len() as u64, 64 * 1024)?;
            if chunk.is_empty() {
                break;
            }
            out.extend_from_slice(&chunk);
        }
        self.fs.release(&ROOT, fh)?;
        Ok(out)
    }

    /// open (or create) with O_TRUNC, write, flush, release: the first error.
    fn write(&self, dir: &[&str], name: &str, data: &[u8]) -> FsResult<()> {
        let parent = self.ino(dir)?;
        let flags = libc::O_WRONLY | libc::O_TRUNC;
        let fh = match self.fs.lookup(&ROOT, parent, OsStr::new(name)) {
            Ok(attr) => self.fs.open(&ROOT, attr.ino, flags)?.fh,
            Err(e) if e.errno == libc::ENOENT => {
                self.fs
                    .create(
                        &ROOT,
                        parent,
                        OsStr::new(name),
                        0o644,
                        flags | libc::O_CREAT,
                    )?
                    .1
                    .fh
            }
            Err(e) => return Err(e),
        };
        let written = self.fs.write(&ROOT, fh, 0, data).map(|n| {
            assert_eq!(n as usize, data.len(), "short write");
        });
        let flushed = self.fs.flush(&ROOT, fh);
        self.fs.release(&ROOT, fh).expect("release");
        written.and(flushed)
    }

    fn run(&mut self, op: &Op) -> Result<(), i32> {
        let errno = |r: FsResult<()>| r.map_err(|e| e.errno);
        let store = |s: usize| STORES[s];
        let alias = |a: usize| ALIASES[a];
        match *op {
            Op::MkdirStore(s) => errno(
                self.fs
                    .mkdir(&ROOT, ROOT_INO, OsStr::new(store(s)), 0o755)
                    .map(drop),
            ),
            Op::RmdirStore(s) => errno(self.fs.rmdir(&ROOT, ROOT_INO, OsStr::new(store(s)))),
            Op::MkdirAlias(s, a) => errno(self.ino(&[store(s)]).and_then(|parent| {
                self.fs
                    .mkdir(&ROOT, parent, OsStr::new(alias(a)), 0o755)
                    .map(drop)
            })),
            Op::Write(s, a, file, content) => {
                errno(self.write(&[store(s), alias(a)], file.name(), &content.bytes()))
            }
            Op::WriteViaTemp(s, a, file, content) => {
                let dir = [store(s), alias(a)];
                let temp = format!(".{}.tmp", file.name());
                errno(self.write(&dir, &temp, &content.bytes()))?;
                let parent = self.ino(&dir).expect("the alias the temp file is in");
                let renamed = self.fs.rename(
                    &ROOT,
                    parent,
                    OsStr::new(&temp),
                    parent,
                    OsStr::new(file.name()),
                    0,
                );
                if renamed.is_err() {
                    // A refused rename leaves the temporary file where it was.
                    self.fs
                        .unlink(&ROOT, parent, OsStr::new(&temp))
                        .expect("the temporary file is still there");
                }
                errno(renamed)
            }
            Op::Unlink(s, a, file) => errno(
                self.ino(&[store(s), alias(a)])
                    .and_then(|parent| self.fs.unlink(&ROOT, parent, OsStr::new(file.name()))),
            ),
            Op::RmdirAlias(s, a) => errno(
                self.ino(&[store(s)])
                    .and_then(|parent| self.fs.rmdir(&ROOT, parent, OsStr::new(alias(a)))),
            ),
            Op::Rename {
                from,
                to,
                noreplace,
            } => errno((|| {
                let from_parent = self.ino(&[store(from.0)])?;
                let to_parent = self.ino(&[store(to.0)])?;
                self.fs.rename(
                    &ROOT,
                    from_parent,
                    OsStr::new(alias(from.1)),
                    to_parent,
                    OsStr::new(alias(to.1)),
                    if noreplace { RENAME_NOREPLACE } else { 0 },
                )
            })()),
            Op::ExternalAdd(s, a, c) => {
                let chain = parse_cert_chain(&material().certs[c]).unwrap();
                let added = self.db.add_entry(
                    0,
                    store(s),
                    Some(alias(a)),
                    &EntryContent::trusted_cert(&chain),
                );
                self.fs.refresh_if_changed().expect("refresh");
                added.map(drop).map_err(|_| 0)
            }
            Op::ExternalDelete(s, a) => {
                let deleted = self.db.delete_entry(0, store(s), alias(a));
                self.fs.refresh_if_changed().expect("refresh");
                deleted.map(drop).map_err(|_| 0)
            }
        }
    }

    /// Everything visible agrees with the model.
    fn check(&self, model: &Model) -> Result<(), String> {
        let root = self.ls(&[]).map_err(|e| format!("ls /: {e}"))?;
        let mut deduped = root.clone();
        deduped.dedup();
        if deduped != root {
            return Err(format!("the root lists a name twice: {root:?}"));
        }
        for name in STORES {
            let expected = model.store(name).is_some();
            if root.contains(&name.to_string()) != expected {
                return Err(format!(
                    "store {name}: listed {}, model {expected}",
                    !expected
                ));
            }
        }
        for store in &model.stores {
            self.check_store(store)?;
        }
        for name in STORES {
            if model.store(name).is_none() {
                match self.ino(&[name]) {
                    Err(e) if e.errno == libc::ENOENT => {}
                    other => return Err(format!("lookup of deleted store {name}: {other:?}")),
                }
            }
        }
        self.check_db(model)
    }

    fn check_store(&self, store: &Store) -> Result<(), String> {
        let s = store.name.as_str();
        let mut expected: Vec<String> = store.aliases.iter().map(|a| a.name.clone()).collect();
        expected.sort();
        let listed = self.ls(&[s]).map_err(|e| format!("ls {s}: {e}"))?;
        if listed != expected {
            return Err(format!("ls {s}: {listed:?}, model {expected:?}"));
        }
        for name in ALIASES {
            if store.exact(name).is_none() {
                match self.ino(&[s, name]) {
                    Err(e) if e.errno == libc::ENOENT => {}
                    other => return Err(format!("lookup of {s}/{name} (absent): {other:?}")),
                }
            }
        }
        for alias in &store.aliases {
            let a = alias.name.as_str();
            let files = alias.files();
            let mut expected: Vec<String> = files.iter().map(|(f, _)| f.name().into()).collect();
            expected.sort();
            let listed = self.ls(&[s, a]).map_err(|e| format!("ls {s}/{a}: {e}"))?;
            if listed != expected {
                return Err(format!("ls {s}/{a}: {listed:?}, model {alias:?}"));
            }
            for (file, content) in files {
                let read = self
                    .read(&[s, a, file.name()])
                    .map_err(|e| format!("read {s}/{a}/{}: {e}", file.name()))?;
                if read != content {
                    return Err(format!(
                        "{s}/{a}/{} holds other bytes than the model's {alias:?}:\n{}",
                        file.name(),
                        String::from_utf8_lossy(&read)
                    ));
                }
            }
            let ino = self.ino(&[s, a]).map_err(|e| e.to_string())?;
            self.check_bundle(s, a, ino, alias)?;
            let pending = self
                .fs
                .getxattr(&ROOT, ino, OsStr::new("user.vecs.pending"));
            let ok = match (&pending, alias.pending) {
                (Err(e), None) => e.errno == libc::ENODATA,
                (Ok(v), Some(Pending::Cert(_))) => v.starts_with(b"cert.pem"),
                (Ok(v), Some(Pending::Key(_))) => v.starts_with(b"key.pem"),
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "pending xattr of {s}/{a}: {pending:?}, model {alias:?}"
                ));
            }
        }
        Ok(())
    }

    /// bundle.pem, by path (it is not listed): the model's bytes, mode 0600, and named by the
    /// `user.vecs.generated` xattr of the alias directory; absent (ENOENT, no xattr) elsewhere.
    fn check_bundle(&self, s: &str, a: &str, ino: Ino, alias: &Alias) -> Result<(), String> {
        let path = format!("{s}/{a}/bundle.pem");
        let looked_up = self.fs.lookup(&ROOT, ino, OsStr::new("bundle.pem"));
        let generated = self
            .fs
            .getxattr(&ROOT, ino, OsStr::new("user.vecs.generated"));
        let listed = self
            .fs
            .listxattr(&ROOT, ino)
            .map_err(|e| format!("listxattr {s}/{a}: {e}"))?;
        let names_it = listed.iter().any(|n| n == "user.vecs.generated");
        let Some(content) = alias.bundle() else {
            if !matches!(&looked_up, Err(e) if e.errno == libc::ENOENT) {
                return Err(format!("lookup of {path}: {looked_up:?}, model {alias:?}"));
            }
            if !matches!(&generated, Err(e) if e.errno == libc::ENODATA) || names_it {
                return Err(format!(
                    "generated xattr of {s}/{a}: {generated:?} (listed: {listed:?}), model {alias:?}"
                ));
            }
            return Ok(());
        };
        let attr = looked_up.map_err(|e| format!("lookup of {path}: {e}, model {alias:?}"))?;
        if attr.perm != 0o600 || attr.size != content.len() as u64 {
            return Err(format!(
                "{path}: mode {:o}, size {} (model: 0600, {})",
                attr.perm,
                attr.size,
                content.len()
            ));
        }
        let read = self
            .read(&[s, a, "bundle.pem"])
            .map_err(|e| format!("read {path}: {e}"))?;
        if read != content {
            return Err(format!(
                "{path} holds other bytes than the model's {alias:?}:\n{}",
                String::from_utf8_lossy(&read)
            ));
        }
        if generated.as_deref() != Ok(b"bundle.pem".as_slice()) || !names_it {
            return Err(format!(
                "generated xattr of {s}/{a}: {generated:?} (listed: {listed:?}), model {alias:?}"
            ));
        }
        Ok(())
    }

    /// What the store holds (as vecs-cli sees it) agrees with the model.
    fn check_db(&self, model: &Model) -> Result<(), String> {
        let snapshot = self.db.snapshot().map_err(|e| e.to_string())?;
        let images: Vec<_> = snapshot
            .stores
            .into_iter()
            .filter_map(vecsfs::store::StoreSnapshot::into_image)
            .collect();
        for name in STORES {
            let image = images.iter().find(|s| s.name == name);
            let store = model.store(name).map(|i| &model.stores[i]);
            let (image, store) = match (image, store) {
                (None, None) => continue,
                (Some(i), Some(s)) => (i, s),
                (i, s) => {
                    return Err(format!(
                        "store {name}: in the database {}, in the model {}",
                        i.is_some(),
                        s.is_some()
                    ))
                }
            };
            let mut held: Vec<(String, EntryType, Option<Half>)> = image
                .entries
                .iter()
                .map(|e| (e.alias.clone(), e.entry_type, e.pending.map(|(h, _)| h)))
                .collect();
            held.sort_by(|x, y| x.0.cmp(&y.0));
            let mut expected: Vec<(String, EntryType, Option<Half>)> = store
                .aliases
                .iter()
                .filter_map(|a| {
                    let pending = a.pending.map(|p| match p {
                        Pending::Cert(_) => Half::Cert,
                        Pending::Key(_) => Half::Key,
                    });
                    Some((a.name.clone(), a.entry_type()?, pending))
                })
                .collect();
            expected.sort_by(|x, y| x.0.cmp(&y.0));
            if held != expected {
                return Err(format!("database {name}: {held:?}, model {expected:?}"));
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Generating operations
// ---------------------------------------------------------------------------------------------

fn content() -> impl Strategy<Value = Content> {
    prop_oneof![
        4 => (0..CERTS).prop_map(Content::Cert),
        4 => (0..KEYS).prop_map(Content::Key),
        1 => Just(Content::Pkcs1),
        1 => (0..PAIRS).prop_map(Content::Bundle),
        1 => Just(Content::Garbage),
        1 => Just(Content::Ed448),
    ]
}

fn file() -> impl Strategy<Value = File> {
    prop_oneof![
        4 => Just(File::Cert),
        4 => Just(File::Key),
        1 => Just(File::Bundle),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let s = || 0..STORES.len();
    // Most of the action is in store S, on aliases a and b.
    let s_mostly = || prop_oneof![3 => Just(0usize), 1 => 0..STORES.len()];
    let a = || prop_oneof![4 => Just(0usize), 2 => Just(1usize), 1 => Just(2usize)];
    prop_oneof![
        1 => s().prop_map(Op::MkdirStore),
        1 => s().prop_map(Op::RmdirStore),
        3 => (s_mostly(), a()).prop_map(|(s, a)| Op::MkdirAlias(s, a)),
        14 => (s_mostly(), a(), file(), content()).prop_map(|(s, a, f, c)| Op::Write(s, a, f, c)),
        3 => (s_mostly(), a(), file(), content())
            .prop_map(|(s, a, f, c)| Op::WriteViaTemp(s, a, f, c)),
        3 => (s_mostly(), a(), file()).prop_map(|(s, a, f)| Op::Unlink(s, a, f)),
        1 => (s_mostly(), a()).prop_map(|(s, a)| Op::RmdirAlias(s, a)),
        3 => (s_mostly(), a(), s_mostly(), a(), any::<bool>()).prop_map(
            |(s1, a1, s2, a2, noreplace)| Op::Rename {
                from: (s1, a1),
                to: (s2, a2),
                noreplace,
            }
        ),
        1 => (s_mostly(), a(), 0..CERTS).prop_map(|(s, a, c)| Op::ExternalAdd(s, a, c)),
        1 => (s_mostly(), a()).prop_map(|(s, a)| Op::ExternalDelete(s, a)),
    ]
}

/// What every case starts from, made through the mount: stores S and T, aliases S/a, S/b
/// and T/a.
fn initial_ops() -> [Op; 5] {
    [
        Op::MkdirStore(0),
        Op::MkdirStore(1),
        Op::MkdirAlias(0, 0),
        Op::MkdirAlias(0, 1),
        Op::MkdirAlias(1, 0),
    ]
}

/// Runs `ops` on a fresh filesystem and on the model; the first disagreement.
fn run_case(ops: &[Op]) -> Result<(), String> {
    let mut sut = Sut::new();
    let mut model = Model::default();
    for op in initial_ops() {
        model.apply(&op).expect("initial state");
        sut.run(&op)
            .map_err(|e| format!("initial {op:?}: errno {e}"))?;
    }
    sut.check(&model)?;
    for (step, op) in ops.iter().enumerate() {
        if Model::kernel_answers(op) {
            continue;
        }
        let mut next = model.clone();
        let expected = next.apply(op);
        let actual = sut.run(op);
        if actual != expected {
            return Err(format!(
                "step {step} {op:?}: the filesystem answered {}, the model {}\nmodel before: {model:#?}",
                errno_name(actual),
                errno_name(expected)
            ));
        }
        model = next;
        sut.check(&model)
            .map_err(|e| format!("after step {step} {op:?}: {e}\nmodel: {model:#?}"))?;
    }
    Ok(())
}

fn errno_name(r: Result<(), i32>) -> String {
    match r {
        Ok(()) => "success".into(),
        Err(0) => "a store error".into(),
        Err(e) => format!("{} ({e})", std::io::Error::from_raw_os_error(e)),
    }
}

#[test]
fn the_filesystem_agrees_with_the_model() {
    material();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 400,
        max_shrink_time: 60_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = proptest::collection::vec(op(), 1..=MAX_STEPS);
    let result = runner.run(&strategy, |ops| {
        run_case(&ops).map_err(proptest::test_runner::TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// A few sequences worth keeping whatever the random generator picks.
#[test]
fn known_sequences_agree_with_the_model() {
    use Content as C;
    use File::{Cert, Key};
    let rotation = vec![
        Op::MkdirAlias(0, 0),
        Op::Write(0, 0, Cert, C::Cert(0)),
        Op::Write(0, 0, Key, C::Key(0)),
        Op::Write(0, 0, Cert, C::Cert(1)),
        Op::Write(0, 0, Key, C::Pkcs1),
        Op::Write(0, 0, Key, C::Key(2)),
        // Key 2 waits as the pending half: bundle.pem is still the live pair 1, and it can be
        // neither written, replaced through a temporary file, nor removed.
        Op::Write(0, 0, File::Bundle, C::Bundle(2)),
        Op::WriteViaTemp(0, 0, File::Bundle, C::Bundle(0)),
        Op::Unlink(0, 0, File::Bundle),
        Op::Write(0, 0, Cert, C::Cert(2)),
        Op::Unlink(0, 0, Cert),
        Op::Unlink(0, 0, File::Bundle),
        Op::Write(0, 0, File::Bundle, C::Bundle(2)),
        Op::Write(0, 0, Cert, C::Cert(3)),
        Op::Write(0, 0, Cert, C::Cert(2)),
        Op::Rename {
            from: (0, 0),
            to: (1, 1),
            noreplace: false,
        },
        Op::WriteViaTemp(1, 1, Key, C::Ed448),
        Op::WriteViaTemp(1, 1, Cert, C::Bundle(1)),
        Op::MkdirAlias(0, 2),
        Op::Write(0, 2, Key, C::Garbage),
        Op::Write(0, 2, Cert, C::Cert(0)),
        Op::Write(0, 2, Key, C::Key(0)),
        Op::RmdirStore(0),
        Op::RmdirAlias(0, 2),
        Op::RmdirStore(0),
        Op::MkdirStore(2),
    ];
    run_case(&rotation).unwrap_or_else(|e| panic!("{e}"));
}
