//! The filesystem layer (`vecsfs::fs::VecsFs`) driven directly, as the kernel would drive it
//! through the FUSE adapter: lookup → open/create → write → flush → release, readdir, mkdir,
//! rmdir, unlink, rename, setattr, getxattr. Every case checks what the caller sees (the errno)
//! and what the store holds (through a second `Database` handle, as vecs-cli would see it).
//!
//! Key material is made at test time with the `openssl` command, once per test binary.

mod common;

use std::ffi::OsStr;
use std::sync::OnceLock;

use vecsfs::fs::{
    Attr, Caller, FsOptions, FsResult, Ino, Invalidation, NodeKind, SetAttr, VecsFs,
    RENAME_NOREPLACE, ROOT_INO,
};
use vecsfs::pki::{parse_cert_chain, parse_crl, parse_private_key};
use vecsfs::store::{Database, EntryContent, EntryType, Half, StoreSnapshot, READ_STORE};
use vecsfs::users::Principal;

// ---------------------------------------------------------------------------------------------
// Key material
// ---------------------------------------------------------------------------------------------

/// A certificate and its private key, as `openssl` wrote them (PKCS#8 key, PEM certificate).
struct Pair {
    cert: Vec<u8>,
    key: Vec<u8>,
}

/// Everything the tests write, made once with `openssl` and kept as bytes.
struct Material {
    /// Two unrelated EC P-256 identities, for rotations.
    a: Pair,
    b: Pair,
    /// An RSA identity and its key in the traditional (PKCS#1) encoding.
    rsa: Pair,
    rsa_pkcs1: Vec<u8>,
    /// A leaf certificate issued by `ca`, and the CA certificate.
    leaf: Pair,
    ca: Vec<u8>,
    /// `openssl x509 -hash` and `-subject_hash_old` of `ca`: its CApath names in TRUSTED_ROOTS.
    ca_hashes: (String, String),
    /// An EC key that matches no certificate here.
    lone_key: Vec<u8>,
    /// A key of a kind the store does not support.
    ed448: Vec<u8>,
    /// A CRL issued by `ca`.
    crl: Vec<u8>,
    /// Two different Ed25519 certificates whose PEM has exactly the same size.
    twin1: Vec<u8>,
    twin2: Vec<u8>,
}

fn material() -> &'static Material {
    static MATERIAL: OnceLock<Material> = OnceLock::new();
    MATERIAL.get_or_init(make_material)
}

fn make_material() -> Material {
    let ws = common::Workspace::new();
    let dir = ws.dir.path();
    let ssl = |args: &[&str]| {
        common::openssl(dir, args);
    };
    let read = |name: &str| std::fs::read(dir.join(name)).expect("read generated file");
    let self_signed = |stem: &str, algorithm: &[&str]| -> Pair {
        let key = format!("{stem}.key");
        let crt = format!("{stem}.crt");
        let mut args = vec!["genpkey", "-out", key.as_str()];
        args.extend_from_slice(algorithm);
        ssl(&args);
        let subj = format!("/CN={stem}");
        ssl(&[
            "req", "-x509", "-new", "-key", &key, "-subj", &subj, "-days", "30", "-out", &crt,
        ]);
        Pair {
            cert: read(&crt),
            key: read(&key),
        }
    };
    let p256 = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
    let a = self_signed("alpha", &p256);
    let b = self_signed("bravo", &p256);
    let rsa = self_signed(
        "rsa",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    );
    ssl(&["rsa", "-in", "rsa.key", "-traditional", "-out", "rsa.pkcs1"]);
    let lone = self_signed("lone", &p256);

    // A small CA: a leaf it issued, and a CRL it signed.
    ssl(&[
        "genpkey",
        "-out",
        "ca.key",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ]);
    ssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "ca.key",
        "-subj",
        "/CN=test-ca",
        "-days",
        "30",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=keyCertSign,cRLSign",
        "-out",
        "ca.crt",
    ]);
    ssl(&[
        "genpkey",
        "-out",
        "leaf.key",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ]);
    ssl(&[
        "req", "-new", "-key", "leaf.key", "-subj", "/CN=leaf", "-out", "leaf.csr",
    ]);
    ssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-set_serial",
        "77",
        "-days",
        "30",
        "-out",
        "leaf.crt",
    ]);
    let crl = common::gencrl(&dir.join("ca"), &dir.join("ca.crt"), &dir.join("ca.key"));
    let hashes = common::openssl(
        dir,
        &[
            "x509",
            "-in",
            "ca.crt",
            "-noout",
            "-hash",
            "-subject_hash_old",
        ],
    );
    let mut hashes = hashes.lines().map(str::to_string);
    let ca_hashes = (
        hashes.next().expect("subject hash"),
        hashes.next().expect("old subject hash"),
    );

    ssl(&["genpkey", "-algorithm", "ED448", "-out", "ed448.key"]);
    ssl(&["genpkey", "-algorithm", "ED25519", "-out", "twin.key"]);
    for n in ["1", "2"] {
        let subj = format!("/CN=twin{n}");
        let out = format!("twin{n}.crt");
        ssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            "twin.key",
            "-subj",
            &subj,
            "-set_serial",
            n,
            "-days",
            "30",
            "-out",
            &out,
        ]);
    }
    Material {
        a,
        b,
        rsa,
        rsa_pkcs1: read("rsa.pkcs1"),
        leaf: Pair {
            cert: read("leaf.crt"),
            key: read("leaf.key"),
        },
        ca: read("ca.crt"),
        ca_hashes,
        lone_key: lone.key,
        ed448: read("ed448.key"),
        crl: std::fs::read(&crl).expect("read the CRL"),
        twin1: read("twin1.crt"),
        twin2: read("twin2.crt"),
    }
}

/// The form the store keeps a certificate chain in.
fn canonical_cert(pem: &[u8]) -> Vec<u8> {
    parse_cert_chain(pem)
        .expect("test certificate")
        .pem()
        .as_bytes()
        .to_vec()
}

/// The form the store keeps a private key in (PKCS#8 PEM).
fn canonical_key(pem: &[u8]) -> Vec<u8> {
    parse_private_key(pem)
        .expect("test key")
        .to_pkcs8_pem()
        .as_bytes()
        .to_vec()
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

/// What bundle.pem of a Private Key entry holds: the stored key, then the stored chain.
fn bundle_of(key: &[u8], chain: &[u8]) -> Vec<u8> {
    concat(&[&canonical_key(key), &canonical_cert(chain)])
}

// ---------------------------------------------------------------------------------------------
// Driving the filesystem as the kernel would
// ---------------------------------------------------------------------------------------------

const ROOT: Caller = Caller::ROOT;
const NOBODY: u32 = 65534;
/// The size of the writes the kernel sends (FUSE max_write is commonly 128 KiB).
const CHUNK: usize = 128 * 1024;

fn user(uid: u32) -> Caller {
    Caller {
        uid,
        gid: uid,
        pid: 4242,
    }
}

/// A fresh database in its own directory and a filesystem served from it.
struct Fx {
    ws: common::Workspace,
    fs: VecsFs,
}

impl Fx {
    fn new() -> Self {
        Fx::with(|_| {})
    }

    /// Prepares the database (as vecs-cli would) before the filesystem opens it.
    fn with(setup: impl FnOnce(&mut Database)) -> Self {
        let ws = common::Workspace::new();
        {
            let mut db = Database::open(&ws.db).expect("open database");
            setup(&mut db);
        }
        let fs = VecsFs::open_db(&ws.db, FsOptions::default()).expect("open filesystem");
        Fx { ws, fs }
    }

    /// Another handle on the same database: the other door (vecs-cli, the trust sync).
    fn db(&self) -> Database {
        Database::open(&self.ws.db).expect("open database")
    }

    fn ino(&self, c: Caller, path: &str) -> FsResult<Ino> {
        let mut ino = ROOT_INO;
        for component in path.split('/').filter(|p| !p.is_empty()) {
            ino = self.fs.lookup(&c, ino, OsStr::new(component))?.ino;
        }
        Ok(ino)
    }

    fn lookup(&self, c: Caller, path: &str) -> FsResult<Attr> {
        let (dir, name) = split(path);
        let parent = self.ino(c, dir)?;
        self.fs.lookup(&c, parent, OsStr::new(name))
    }

    /// The names `ls -a` would show, without `.` and `..`.
    fn ls(&self, c: Caller, path: &str) -> FsResult<Vec<String>> {
        let ino = self.ino(c, path)?;
        self.fs.opendir(&c, ino)?;
        let listing = self.fs.readdir(&c, ino)?;
        assert_eq!(listing[0].name, ".");
        assert_eq!(listing[1].name, "..");
        Ok(listing[2..]
            .iter()
            .map(|e| e.name.to_string_lossy().into_owned())
            .collect())
    }

    fn ls_sorted(&self, c: Caller, path: &str) -> Vec<String> {
        let mut names = self
            .ls(c, path)
            .unwrap_or_else(|e| panic!("ls {path}: {e}"));
        names.sort();
        names
    }

    fn read(&self, c: Caller, path: &str) -> FsResult<Vec<u8>> {
        let ino = self.ino(c, path)?;
        let opened = self.fs.open(&c, ino, libc::O_RDONLY)?;
        let result = self.read_all(opened.fh);
        self.fs.release(&c, opened.fh).expect("release");
        result
    }

    fn read_all(&self, fh: u64) -> FsResult<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let chunk = self.fs.read(fh, out.len() as u64, CHUNK as u32)?;
            if chunk.is_empty() {
                return Ok(out);
            }
            out.extend_from_slice(&chunk);
        }
    }

    #[track_caller]
    fn cat(&self, path: &str) -> Vec<u8> {
        self.read(ROOT, path)
            .unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    /// `cat data > path`: open (or create) with O_TRUNC, write, close (flush + release).
    /// Returns the first error the writer sees.
    fn write(&self, c: Caller, path: &str, data: &[u8]) -> FsResult<()> {
        let fh = self.open_for_write(c, path, libc::O_WRONLY | libc::O_TRUNC)?;
        self.finish_write(c, fh, data)
    }

    fn open_for_write(&self, c: Caller, path: &str, flags: i32) -> FsResult<u64> {
        let (dir, name) = split(path);
        let parent = self.ino(c, dir)?;
        match self.fs.lookup(&c, parent, OsStr::new(name)) {
            Ok(attr) => Ok(self.fs.open(&c, attr.ino, flags)?.fh),
            Err(e) if e.errno == libc::ENOENT => {
                let (_, opened) =
                    self.fs
                        .create(&c, parent, OsStr::new(name), 0o644, flags | libc::O_CREAT)?;
                Ok(opened.fh)
            }
            Err(e) => Err(e),
        }
    }

    fn finish_write(&self, c: Caller, fh: u64, data: &[u8]) -> FsResult<()> {
        let mut result = Ok(());
        for (i, chunk) in data.chunks(CHUNK).enumerate() {
            match self.fs.write(&c, fh, (i * CHUNK) as u64, chunk) {
                Ok(n) => assert_eq!(n as usize, chunk.len(), "short write"),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let flushed = self.fs.flush(&c, fh);
        self.fs.release(&c, fh).expect("release never fails");
        result.and(flushed)
    }

    #[track_caller]
    fn put(&self, path: &str, data: &[u8]) {
        self.write(ROOT, path, data)
            .unwrap_or_else(|e| panic!("write {path}: {e}"));
    }

    fn mkdir(&self, c: Caller, path: &str) -> FsResult<Attr> {
        let (dir, name) = split(path);
        let parent = self.ino(c, dir)?;
        self.fs.mkdir(&c, parent, OsStr::new(name), 0o755)
    }

    fn rmdir(&self, c: Caller, path: &str) -> FsResult<()> {
        let (dir, name) = split(path);
        let parent = self.ino(c, dir)?;
        self.fs.rmdir(&c, parent, OsStr::new(name))
    }

    fn unlink(&self, c: Caller, path: &str) -> FsResult<()> {
        let (dir, name) = split(path);
        let parent = self.ino(c, dir)?;
        self.fs.unlink(&c, parent, OsStr::new(name))
    }

    fn rename(&self, c: Caller, from: &str, to: &str, flags: u32) -> FsResult<()> {
        let (from_dir, from_name) = split(from);
        let (to_dir, to_name) = split(to);
        let from_parent = self.ino(c, from_dir)?;
        let to_parent = self.ino(c, to_dir)?;
        self.fs.rename(
            &c,
            from_parent,
            OsStr::new(from_name),
            to_parent,
            OsStr::new(to_name),
            flags,
        )
    }

    fn xattr(&self, c: Caller, path: &str, name: &str) -> FsResult<String> {
        let ino = self.ino(c, path)?;
        let value = self.fs.getxattr(&c, ino, OsStr::new(name))?;
        Ok(String::from_utf8(value).expect("xattr values are text"))
    }

    /// The names of the extended attributes of `path` (listxattr).
    fn xattr_names(&self, c: Caller, path: &str) -> FsResult<Vec<String>> {
        let ino = self.ino(c, path)?;
        Ok(self
            .fs
            .listxattr(&c, ino)?
            .iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect())
    }

    /// The files generated in the directory `path` and found by name only (readdir does not
    /// list them): `user.vecs.generated`, listed by listxattr, and none of them in readdir.
    #[track_caller]
    fn generated_in(&self, c: Caller, path: &str) -> Vec<String> {
        let value = self
            .xattr(c, path, "user.vecs.generated")
            .unwrap_or_else(|e| panic!("user.vecs.generated of {path}: {e}"));
        let listed = self.xattr_names(c, path).unwrap();
        assert!(
            listed.iter().any(|n| n == "user.vecs.generated"),
            "listxattr {path}: {listed:?}"
        );
        let names: Vec<String> = value.split(' ').map(str::to_string).collect();
        assert!(
            names.iter().all(|n| !n.is_empty()),
            "joined by single spaces: {value:?}"
        );
        let dir = self.ls(c, path).unwrap();
        for name in &names {
            assert!(!dir.contains(name), "{name} listed in {path}: {dir:?}");
        }
        names
    }

    /// The directory `path` has no generated files: no `user.vecs.generated`.
    #[track_caller]
    fn assert_no_generated(&self, c: Caller, path: &str) {
        assert_errno(self.xattr(c, path, "user.vecs.generated"), libc::ENODATA);
        let listed = self.xattr_names(c, path).unwrap();
        assert!(
            !listed.iter().any(|n| n == "user.vecs.generated"),
            "listxattr {path}: {listed:?}"
        );
    }

    fn setattr(&self, c: Caller, path: &str, changes: SetAttr) -> FsResult<Attr> {
        let ino = self.ino(c, path)?;
        self.fs.setattr(&c, ino, &changes)
    }

    /// The entry as vecs-cli sees it: its type and certificate (or CRL) PEM.
    fn stored(&self, store: &str, alias: &str) -> Option<(EntryType, Option<String>)> {
        match self.db().entry(0, store, alias) {
            Ok(info) => Some((info.entry_type, info.cert_pem)),
            Err(vecsfs::Error::EntryNotFound { .. }) => None,
            Err(e) => panic!("entry [{store}/{alias}]: {e}"),
        }
    }

    fn stored_type(&self, store: &str, alias: &str) -> Option<EntryType> {
        self.stored(store, alias).map(|(t, _)| t)
    }

    fn stored_cert(&self, store: &str, alias: &str) -> Vec<u8> {
        let (_, pem) = self
            .stored(store, alias)
            .unwrap_or_else(|| panic!("no entry [{store}/{alias}]"));
        pem.expect("a certificate").into_bytes()
    }

    fn stored_key(&self, store: &str, alias: &str) -> Option<Vec<u8>> {
        self.db().key(0, store, alias).ok().map(|k| k.to_vec())
    }

    /// The half waiting for its partner, as the store records it.
    fn stored_pending(&self, store: &str, alias: &str) -> Option<Half> {
        let snapshot = self.db().snapshot().expect("snapshot");
        let store = snapshot
            .stores
            .into_iter()
            .filter_map(StoreSnapshot::into_image)
            .find(|s| s.name == store)?;
        let entry = store.entries.into_iter().find(|e| e.alias == alias)?;
        entry.pending.map(|(half, _)| half)
    }

    fn generation(&self) -> u64 {
        self.db().generation().expect("generation")
    }

    /// A Private Key entry `store/alias` made through the mount: cert.pem, then key.pem.
    fn make_pair(&self, store_alias: &str, pair: &Pair) {
        let _ = self.mkdir(ROOT, store_alias);
        self.put(&format!("{store_alias}/cert.pem"), &pair.cert);
        self.put(&format!("{store_alias}/key.pem"), &pair.key);
        let (store, alias) = split(store_alias);
        assert_eq!(self.stored_type(store, alias), Some(EntryType::PrivateKey));
    }

    /// Asserts that `store/alias` serves exactly this pair, and the store holds it, unchanged.
    #[track_caller]
    fn assert_pair(&self, store_alias: &str, pair: &Pair) {
        let (store, alias) = split(store_alias);
        assert_eq!(
            self.cat(&format!("{store_alias}/cert.pem")),
            canonical_cert(&pair.cert),
            "cert.pem of {store_alias}"
        );
        assert_eq!(
            self.cat(&format!("{store_alias}/key.pem")),
            canonical_key(&pair.key),
            "key.pem of {store_alias}"
        );
        assert_eq!(
            self.cat(&format!("{store_alias}/bundle.pem")),
            bundle_of(&pair.key, &pair.cert),
            "bundle.pem of {store_alias}: the live key, then its chain"
        );
        assert_eq!(self.generated_in(ROOT, store_alias), ["bundle.pem"]);
        assert_eq!(self.stored_type(store, alias), Some(EntryType::PrivateKey));
        assert_eq!(self.stored_cert(store, alias), canonical_cert(&pair.cert));
        assert_eq!(
            self.stored_key(store, alias),
            Some(canonical_key(&pair.key))
        );
    }
}

/// ("S/A", "cert.pem") from "S/A/cert.pem"; ("", "S") from "S".
fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

#[track_caller]
fn assert_errno<T: std::fmt::Debug>(result: FsResult<T>, errno: i32) {
    match result {
        Ok(v) => panic!(
            "expected {} but the call succeeded: {v:?}",
            std::io::Error::from_raw_os_error(errno)
        ),
        Err(e) => assert_eq!(
            e.errno,
            errno,
            "expected {}, got: {e}",
            std::io::Error::from_raw_os_error(errno)
        ),
    }
}

fn names(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------

#[test]
fn each_entry_type_shows_its_files() {
    let m = material();
    let mut crl_alias = String::new();
    let fx = Fx::with(|db| {
        let chain = |pem: &[u8]| parse_cert_chain(pem).unwrap();
        let key = |pem: &[u8]| parse_private_key(pem).unwrap();
        db.add_entry(
            0,
            "machine",
            Some("tc"),
            &EntryContent::trusted_cert(&chain(&m.a.cert)),
        )
        .unwrap();
        let pk = EntryContent::private_key(&chain(&m.b.cert), &key(&m.b.key)).unwrap();
        db.add_entry(0, "machine", Some("pk"), &pk).unwrap();
        let sk = EntryContent::secret_key(b"s3cret\n").unwrap();
        db.add_entry(0, "machine", Some("sk"), &sk).unwrap();
        let epk = EntryContent::encrypted_private_key(&chain(&m.rsa.cert), &key(&m.rsa.key), b"pw")
            .unwrap();
        db.add_entry(0, "machine", Some("epk"), &epk).unwrap();
        let crl = parse_crl(&m.crl).unwrap();
        crl_alias = db
            .add_entry(0, "TRUSTED_ROOTS_CRLS", None, &EntryContent::crl(&crl))
            .unwrap();
    });

    assert_eq!(
        fx.ls_sorted(ROOT, "machine"),
        names(&["epk", "pk", "sk", "tc"])
    );
    assert_eq!(fx.ls_sorted(ROOT, "machine/tc"), names(&["cert.pem"]));
    // bundle.pem is not listed (cp -r, tar, rsync and rm -r see only what they can write
    // back or remove): the directory's `user.vecs.generated` names it.
    assert_eq!(
        fx.ls_sorted(ROOT, "machine/pk"),
        names(&["cert.pem", "key.pem"])
    );
    assert_eq!(fx.generated_in(ROOT, "machine/pk"), ["bundle.pem"]);
    assert_eq!(fx.ls_sorted(ROOT, "machine/sk"), names(&["key.pem"]));
    assert_eq!(
        fx.ls_sorted(ROOT, "machine/epk"),
        names(&["cert.pem", "key.pem"])
    );
    let crl_dir = format!("TRUSTED_ROOTS_CRLS/{crl_alias}");
    assert_eq!(fx.ls_sorted(ROOT, &crl_dir), names(&["crl.pem"]));

    // Contents are what the store holds, sizes are exact.
    let crl_path = format!("{crl_dir}/crl.pem");
    let expect = [
        ("machine/tc/cert.pem", canonical_cert(&m.a.cert)),
        ("machine/pk/cert.pem", canonical_cert(&m.b.cert)),
        ("machine/pk/key.pem", canonical_key(&m.b.key)),
        ("machine/pk/bundle.pem", bundle_of(&m.b.key, &m.b.cert)),
        ("machine/sk/key.pem", b"s3cret\n".to_vec()),
        ("machine/epk/cert.pem", canonical_cert(&m.rsa.cert)),
        (
            "machine/epk/key.pem",
            fx.stored_key("machine", "epk").unwrap(),
        ),
        (
            crl_path.as_str(),
            parse_crl(&m.crl).unwrap().pem().as_bytes().to_vec(),
        ),
    ];
    for (path, content) in &expect {
        assert_eq!(&fx.cat(path), content, "{path}");
        let attr = fx.lookup(ROOT, path).unwrap();
        assert_eq!(attr.kind, NodeKind::File, "{path}");
        assert_eq!(attr.size, content.len() as u64, "size of {path}");
    }
    let epk = String::from_utf8(fx.cat("machine/epk/key.pem")).unwrap();
    assert!(
        epk.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{epk}"
    );

    // Only an unencrypted Private Key entry has a bundle.pem.
    for alias in ["tc", "sk", "epk"] {
        let path = format!("machine/{alias}/bundle.pem");
        assert_errno(fx.lookup(ROOT, &path), libc::ENOENT);
        fx.assert_no_generated(ROOT, &format!("machine/{alias}"));
    }
    assert_errno(
        fx.lookup(ROOT, &format!("{crl_dir}/bundle.pem")),
        libc::ENOENT,
    );
    fx.assert_no_generated(ROOT, &crl_dir);
    fx.assert_no_generated(ROOT, "machine");

    // bundle.pem is computed: found by name, but written, removed, moved or chmod-ed by no one.
    let bundle = "machine/pk/bundle.pem";
    let before = fx.generation();
    assert_errno(fx.write(ROOT, bundle, &m.a.cert), libc::EPERM);
    assert_errno(fx.unlink(ROOT, bundle), libc::EPERM);
    assert_errno(fx.rename(ROOT, bundle, "machine/pk/moved", 0), libc::EPERM);
    let chmod = SetAttr {
        perm: Some(0o644),
        ..SetAttr::default()
    };
    assert_errno(fx.setattr(ROOT, bundle, chmod), libc::EPERM);
    assert_eq!(fx.generation(), before, "nothing was committed");
    assert_eq!(fx.cat(bundle), bundle_of(&m.b.key, &m.b.cert), "unchanged");
    assert_errno(fx.lookup(ROOT, "machine/pk/moved"), libc::ENOENT);
    assert_eq!(
        fx.ls_sorted(ROOT, "machine/pk"),
        names(&["cert.pem", "key.pem"])
    );

    // key.pem and bundle.pem are private; the alias and store are directories.
    for path in [
        "machine/pk/key.pem",
        "machine/pk/bundle.pem",
        "machine/sk/key.pem",
        "machine/epk/key.pem",
    ] {
        assert_eq!(fx.lookup(ROOT, path).unwrap().perm, 0o600, "{path}");
    }
    assert_eq!(
        fx.lookup(ROOT, "machine").unwrap().kind,
        NodeKind::Directory
    );
    assert_eq!(
        fx.lookup(ROOT, "machine/pk").unwrap().kind,
        NodeKind::Directory
    );

    // The entry type is an extended attribute of the alias directory.
    assert_eq!(
        fx.xattr(ROOT, "machine/pk", "user.vecs.type").unwrap(),
        "Private Key"
    );
    assert_eq!(
        fx.xattr(ROOT, "machine/sk", "user.vecs.type").unwrap(),
        "Secret Key"
    );
    assert_eq!(
        fx.xattr(ROOT, "machine/tc", "user.vecs.type").unwrap(),
        "Trusted Cert"
    );
    assert_errno(
        fx.xattr(ROOT, "machine/pk", "user.vecs.pending"),
        libc::ENODATA,
    );
}

#[test]
fn the_root_lists_the_stores_and_the_vcenter_crl_symlink() {
    let fx = Fx::new();
    let root = fx.ls(ROOT, "").unwrap();
    for store in [
        "MACHINE_SSL_CERT",
        "TRUSTED_ROOTS",
        "TRUSTED_ROOTS_CRLS",
        "machine",
        "vsphere-webclient",
        "vpxd",
        "vpxd-extension",
        "BACKUP_STORE",
        "TRUSTED_ROOT_CRLS",
    ] {
        assert!(root.contains(&store.to_string()), "{store} in {root:?}");
    }
    // Anybody may list the stores, as `vecs-cli store list` lets anybody.
    assert_eq!(fx.ls(user(NOBODY), "").unwrap(), root);

    let link = fx.lookup(ROOT, "TRUSTED_ROOT_CRLS").unwrap();
    assert_eq!(link.kind, NodeKind::Symlink);
    assert_eq!(
        fx.fs.readlink(&ROOT, link.ino).unwrap(),
        b"TRUSTED_ROOTS_CRLS"
    );
    assert_eq!(link.size, "TRUSTED_ROOTS_CRLS".len() as u64);
    assert_errno(fx.unlink(ROOT, "TRUSTED_ROOT_CRLS"), libc::EPERM);
    assert!(fx.fs.statfs().is_ok());
}

#[test]
fn names_that_cannot_be_path_components_are_percent_encoded() {
    let m = material();
    let fx = Fx::with(|db| {
        db.create_store(0, "a/b").unwrap();
        let chain = parse_cert_chain(&m.a.cert).unwrap();
        db.add_entry(0, "a/b", Some("x/y"), &EntryContent::trusted_cert(&chain))
            .unwrap();
        db.add_entry(0, "a/b", Some("100%"), &EntryContent::trusted_cert(&chain))
            .unwrap();
        db.add_entry(0, "a/b", Some(".."), &EntryContent::trusted_cert(&chain))
            .unwrap();
    });
    let root = fx.ls(ROOT, "").unwrap();
    assert!(root.contains(&"a%2Fb".to_string()), "{root:?}");
    assert!(!root.iter().any(|n| n.contains('/')));
    assert_eq!(fx.ls(ROOT, "a%2Fb").unwrap(), ["x%2Fy", "100%25", "%2E%2E"]);
    assert_eq!(fx.cat("a%2Fb/x%2Fy/cert.pem"), canonical_cert(&m.a.cert));
    assert_eq!(fx.cat("a%2Fb/100%25/cert.pem"), canonical_cert(&m.a.cert));
    assert_eq!(fx.cat("a%2Fb/%2E%2E/cert.pem"), canonical_cert(&m.a.cert));
    // The raw name is not a second spelling of the encoded one.
    assert_errno(fx.lookup(ROOT, "a%2Fb/100%"), libc::ENOENT);

    // Writing through an encoded path reaches the decoded names.
    fx.put("a%2Fb/x%2Fy/cert.pem", &m.b.cert);
    assert_eq!(fx.stored_cert("a/b", "x/y"), canonical_cert(&m.b.cert));

    // mkdir decodes: the store and alias get the names the components stand for.
    fx.mkdir(ROOT, "c%2Fd").unwrap();
    assert!(fx.db().stores().unwrap().iter().any(|s| s.name == "c/d"));
    fx.mkdir(ROOT, "c%2Fd/e%2Ff").unwrap();
    fx.put("c%2Fd/e%2Ff/cert.pem", &m.a.cert);
    assert_eq!(fx.stored_type("c/d", "e/f"), Some(EntryType::TrustedCert));
    assert_eq!(fx.ls(ROOT, "c%2Fd").unwrap(), ["e%2Ff"]);
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

#[test]
fn writing_cert_pem_in_a_new_alias_creates_a_trusted_cert() {
    let m = material();
    let fx = Fx::new();
    let attr = fx.mkdir(ROOT, "machine/web").unwrap();
    assert_eq!(attr.kind, NodeKind::Directory);
    assert_eq!(fx.ls(ROOT, "machine/web").unwrap(), Vec::<String>::new());
    // An alias directory alone is no entry.
    assert_eq!(fx.stored_type("machine", "web"), None);
    assert_errno(fx.mkdir(ROOT, "machine/WEB"), libc::EEXIST);

    fx.put("machine/web/cert.pem", &m.a.cert);
    assert_eq!(
        fx.stored_type("machine", "web"),
        Some(EntryType::TrustedCert)
    );
    assert_eq!(fx.stored_cert("machine", "web"), canonical_cert(&m.a.cert));
    assert_eq!(fx.ls(ROOT, "machine/web").unwrap(), ["cert.pem"]);
    assert_eq!(fx.cat("machine/web/cert.pem"), canonical_cert(&m.a.cert));
    assert_eq!(fx.ls(ROOT, "machine").unwrap(), ["web"], "listed once");

    // Writing a chain replaces the certificate of a Trusted Cert.
    let chain = concat(&[&m.leaf.cert, &m.ca]);
    fx.put("machine/web/cert.pem", &chain);
    assert_eq!(fx.stored_cert("machine", "web"), canonical_cert(&chain));
    assert_eq!(fx.cat("machine/web/cert.pem"), canonical_cert(&chain));
    assert_eq!(
        fx.stored_type("machine", "web"),
        Some(EntryType::TrustedCert)
    );
}

#[test]
fn writing_key_pem_on_an_alias_without_a_cert_makes_a_secret_key() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "vpxd/secret").unwrap();
    fx.put("vpxd/secret/key.pem", b"hunter2, not a PEM at all\n");
    assert_eq!(fx.stored_type("vpxd", "secret"), Some(EntryType::SecretKey));
    assert_eq!(
        fx.stored_key("vpxd", "secret").unwrap(),
        b"hunter2, not a PEM at all\n"
    );
    assert_eq!(fx.ls(ROOT, "vpxd/secret").unwrap(), ["key.pem"]);
    assert_eq!(
        fx.cat("vpxd/secret/key.pem"),
        b"hunter2, not a PEM at all\n"
    );
    assert_eq!(fx.lookup(ROOT, "vpxd/secret/key.pem").unwrap().perm, 0o600);

    // A private key PEM on an alias without a certificate is kept verbatim as a secret too
    // (as `vecs-cli entry create --key` does).
    fx.mkdir(ROOT, "vpxd/pkcs1").unwrap();
    fx.put("vpxd/pkcs1/key.pem", &m.rsa_pkcs1);
    assert_eq!(fx.stored_type("vpxd", "pkcs1"), Some(EntryType::SecretKey));
    assert_eq!(fx.cat("vpxd/pkcs1/key.pem"), m.rsa_pkcs1);
}

#[test]
fn pair_rotation_with_the_new_cert_first() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/pair", &m.a);
    fx.put("machine/pair/cert.pem", &m.b.cert);
    // The live pair keeps being served, and the store still holds it.
    fx.assert_pair("machine/pair", &m.a);
    let pending = fx.xattr(ROOT, "machine/pair", "user.vecs.pending").unwrap();
    assert!(pending.starts_with("cert.pem"), "{pending}");
    assert_eq!(fx.stored_pending("machine", "pair"), Some(Half::Cert));
    // Between the two writes, what a reader gets is a matching pair.
    let cert = fx.cat("machine/pair/cert.pem");
    let key = parse_private_key(&fx.cat("machine/pair/key.pem")).unwrap();
    key.matches_certificate(parse_cert_chain(&cert).unwrap().leaf_der())
        .expect("the served pair matches");

    fx.put("machine/pair/key.pem", &m.b.key);
    fx.assert_pair("machine/pair", &m.b);
    assert_errno(
        fx.xattr(ROOT, "machine/pair", "user.vecs.pending"),
        libc::ENODATA,
    );
    assert_eq!(fx.stored_pending("machine", "pair"), None);
}

#[test]
fn pair_rotation_with_the_new_key_first() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/pair", &m.a);
    fx.put("machine/pair/key.pem", &m.rsa_pkcs1);
    fx.assert_pair("machine/pair", &m.a);
    let pending = fx.xattr(ROOT, "machine/pair", "user.vecs.pending").unwrap();
    assert!(pending.starts_with("key.pem"), "{pending}");
    assert_eq!(fx.stored_pending("machine", "pair"), Some(Half::Key));
    let listed = fx
        .fs
        .listxattr(&ROOT, fx.ino(ROOT, "machine/pair").unwrap())
        .unwrap();
    assert!(
        listed.iter().any(|n| n == "user.vecs.pending"),
        "{listed:?}"
    );

    // A newer pending half replaces the older one.
    fx.put("machine/pair/key.pem", &m.b.key);
    fx.assert_pair("machine/pair", &m.a);
    fx.put("machine/pair/cert.pem", &m.b.cert);
    fx.assert_pair("machine/pair", &m.b);
    assert_errno(
        fx.xattr(ROOT, "machine/pair", "user.vecs.pending"),
        libc::ENODATA,
    );
    assert_eq!(fx.stored_pending("machine", "pair"), None);

    // The PKCS#1 key of the RSA identity pairs with its certificate, and is kept as PKCS#8.
    fx.put("machine/pair/key.pem", &m.rsa_pkcs1);
    fx.put("machine/pair/cert.pem", &m.rsa.cert);
    fx.assert_pair("machine/pair", &m.rsa);
}

#[test]
fn a_single_pem_with_key_and_chain_replaces_the_pair_at_once() {
    let m = material();
    let fx = Fx::new();
    let bundle = concat(&[&m.leaf.key, &m.leaf.cert, &m.ca]);
    let chain = canonical_cert(&concat(&[&m.leaf.cert, &m.ca]));
    for file in ["cert.pem", "key.pem"] {
        let alias = format!("machine/via-{file}");
        fx.make_pair(&alias, &m.a);
        let before = fx.generation();
        fx.put(&format!("{alias}/{file}"), &bundle);
        assert_eq!(fx.generation(), before + 1, "one transaction");
        assert_eq!(fx.cat(&format!("{alias}/cert.pem")), chain, "{file}");
        assert_eq!(
            fx.cat(&format!("{alias}/key.pem")),
            canonical_key(&m.leaf.key)
        );
        assert_eq!(
            fx.cat(&format!("{alias}/bundle.pem")),
            concat(&[&canonical_key(&m.leaf.key), &chain]),
            "{file}"
        );
        let (_, alias) = split(&alias);
        assert_eq!(fx.stored_cert("machine", alias), chain);
        assert_eq!(fx.stored_pending("machine", alias), None);
    }
    // On a new alias it makes a Private Key entry at once.
    fx.mkdir(ROOT, "machine/fresh").unwrap();
    fx.put("machine/fresh/cert.pem", &bundle);
    assert_eq!(
        fx.stored_type("machine", "fresh"),
        Some(EntryType::PrivateKey)
    );
    assert_eq!(
        fx.ls_sorted(ROOT, "machine/fresh"),
        names(&["cert.pem", "key.pem"])
    );
    assert_eq!(fx.generated_in(ROOT, "machine/fresh"), ["bundle.pem"]);
    assert_eq!(
        fx.cat("machine/fresh/bundle.pem"),
        concat(&[&canonical_key(&m.leaf.key), &chain])
    );
}

#[test]
fn removing_key_pem_turns_a_private_key_into_a_trusted_cert() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/pair", &m.a);
    fx.unlink(ROOT, "machine/pair/key.pem").unwrap();
    assert_eq!(
        fx.stored_type("machine", "pair"),
        Some(EntryType::TrustedCert)
    );
    assert_eq!(fx.stored_cert("machine", "pair"), canonical_cert(&m.a.cert));
    assert_eq!(fx.stored_key("machine", "pair"), None);
    assert_eq!(fx.ls(ROOT, "machine/pair").unwrap(), ["cert.pem"]);
    assert_errno(fx.lookup(ROOT, "machine/pair/key.pem"), libc::ENOENT);
    assert_errno(fx.unlink(ROOT, "machine/pair/key.pem"), libc::ENOENT);

    // And `rm cert.pem` of a pair leaves the key as a Secret Key.
    fx.make_pair("machine/other", &m.b);
    fx.unlink(ROOT, "machine/other/cert.pem").unwrap();
    assert_eq!(
        fx.stored_type("machine", "other"),
        Some(EntryType::SecretKey)
    );
    assert_eq!(fx.ls(ROOT, "machine/other").unwrap(), ["key.pem"]);
    assert_eq!(fx.cat("machine/other/key.pem"), canonical_key(&m.b.key));
}

/// `rm S/A/cert.pem` of a Trusted Cert leaves no entry; the directory it was in is still a
/// directory (as on any filesystem), so `rm cert.pem && cp new.pem cert.pem` works.
#[test]
fn removing_the_last_file_keeps_the_alias_directory() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/web").unwrap();
    fx.put("machine/web/cert.pem", &m.a.cert);
    fx.unlink(ROOT, "machine/web/cert.pem").unwrap();
    assert_eq!(fx.stored_type("machine", "web"), None, "no entry is left");
    assert_eq!(
        fx.ls(ROOT, "machine/web"),
        Ok(Vec::new()),
        "the alias directory should survive the removal of its last file"
    );
    fx.write(ROOT, "machine/web/cert.pem", &m.b.cert)
        .expect("rm cert.pem && cp new.pem cert.pem");
    assert_eq!(fx.stored_cert("machine", "web"), canonical_cert(&m.b.cert));
}

#[test]
fn rmdir_of_an_alias_deletes_the_entry() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/pair", &m.a);
    fx.rmdir(ROOT, "machine/pair").unwrap();
    assert_eq!(fx.stored_type("machine", "pair"), None);
    assert_eq!(fx.ls(ROOT, "machine").unwrap(), Vec::<String>::new());
    assert_errno(fx.lookup(ROOT, "machine/pair"), libc::ENOENT);
    assert_errno(fx.rmdir(ROOT, "machine/pair"), libc::ENOENT);
    // An empty alias directory goes too.
    fx.mkdir(ROOT, "machine/empty").unwrap();
    fx.rmdir(ROOT, "machine/empty").unwrap();
    assert_eq!(fx.ls(ROOT, "machine").unwrap(), Vec::<String>::new());
}

#[test]
fn stores_are_made_and_removed_with_mkdir_and_rmdir() {
    let m = material();
    let fx = Fx::new();
    let attr = fx.mkdir(user(1000), "mine").unwrap();
    assert_eq!(attr.kind, NodeKind::Directory);
    assert_eq!(attr.uid, 1000, "owned by the caller");
    assert_eq!(fx.db().store("mine").unwrap().owner_uid, 1000);
    assert_errno(fx.mkdir(ROOT, "MINE"), libc::EEXIST);
    assert_errno(fx.mkdir(ROOT, "VPXD"), libc::EEXIST);
    assert_errno(fx.mkdir(ROOT, "trusted_root_crls"), libc::EEXIST);

    // The owner may fill it and empty it; a store with entries is not empty.
    fx.mkdir(user(1000), "mine/a").unwrap();
    fx.write(user(1000), "mine/a/cert.pem", &m.a.cert).unwrap();
    assert_errno(fx.rmdir(user(1000), "mine"), libc::ENOTEMPTY);
    assert!(fx.db().store("mine").is_ok());
    // Someone else may not delete it.
    fx.rmdir(user(1000), "mine/a").unwrap();
    assert_errno(fx.rmdir(user(1001), "mine"), libc::EACCES);
    fx.rmdir(user(1000), "mine").unwrap();
    assert!(fx.db().store("mine").is_err());
    assert!(!fx.ls(ROOT, "").unwrap().contains(&"mine".to_string()));

    // The system stores stay, for root too.
    assert_errno(fx.rmdir(ROOT, "MACHINE_SSL_CERT"), libc::EPERM);
    assert_errno(fx.rmdir(ROOT, "TRUSTED_ROOTS"), libc::EPERM);
    assert_errno(fx.rmdir(ROOT, "TRUSTED_ROOTS_CRLS"), libc::EROFS);
    for store in ["MACHINE_SSL_CERT", "TRUSTED_ROOTS", "TRUSTED_ROOTS_CRLS"] {
        assert!(fx.db().store(store).is_ok(), "{store}");
    }
    // Nothing but stores lives in the root.
    assert_errno(
        fx.fs.create(&ROOT, ROOT_INO, OsStr::new("x.pem"), 0o644, 0),
        libc::EPERM,
    );
}

#[test]
fn nothing_under_the_crl_store_changes_for_root_either() {
    let m = material();
    let mut alias = String::new();
    let fx = Fx::with(|db| {
        let crl = parse_crl(&m.crl).unwrap();
        alias = db
            .add_entry(0, "TRUSTED_ROOTS_CRLS", None, &EntryContent::crl(&crl))
            .unwrap();
        let chain = parse_cert_chain(&m.a.cert).unwrap();
        db.add_entry(
            0,
            "machine",
            Some("tc"),
            &EntryContent::trusted_cert(&chain),
        )
        .unwrap();
    });
    let dir = format!("TRUSTED_ROOTS_CRLS/{alias}");
    let crl = format!("{dir}/crl.pem");
    let before = fx.generation();
    let content = fx.cat(&crl);

    assert_errno(fx.mkdir(ROOT, "TRUSTED_ROOTS_CRLS/new"), libc::EROFS);
    let crl_ino = fx.ino(ROOT, &crl).unwrap();
    assert_errno(
        fx.fs.open(&ROOT, crl_ino, libc::O_WRONLY | libc::O_TRUNC),
        libc::EROFS,
    );
    assert_errno(fx.fs.open(&ROOT, crl_ino, libc::O_RDWR), libc::EROFS);
    assert_errno(
        fx.write(ROOT, &format!("{dir}/cert.pem"), &m.a.cert),
        libc::EROFS,
    );
    assert_errno(
        fx.write(ROOT, &format!("{dir}/.crl.pem.tmp"), &m.crl),
        libc::EROFS,
    );
    assert_errno(fx.unlink(ROOT, &crl), libc::EROFS);
    assert_errno(fx.rmdir(ROOT, &dir), libc::EROFS);
    assert_errno(
        fx.rename(ROOT, &dir, "TRUSTED_ROOTS_CRLS/renamed", 0),
        libc::EROFS,
    );
    assert_errno(fx.rename(ROOT, &dir, "machine/moved", 0), libc::EROFS);
    assert_errno(
        fx.rename(ROOT, "machine/tc", "TRUSTED_ROOTS_CRLS/tc", 0),
        libc::EROFS,
    );
    let chmod = SetAttr {
        perm: Some(0o666),
        ..SetAttr::default()
    };
    assert_errno(fx.setattr(ROOT, &crl, chmod.clone()), libc::EROFS);
    assert_errno(fx.setattr(ROOT, &dir, chmod), libc::EROFS);
    let truncate = SetAttr {
        size: Some(0),
        ..SetAttr::default()
    };
    assert_errno(fx.setattr(ROOT, &crl, truncate), libc::EROFS);

    assert_eq!(fx.generation(), before, "nothing was committed");
    assert_eq!(fx.cat(&crl), content);
    assert_eq!(fx.ls(ROOT, "TRUSTED_ROOTS_CRLS").unwrap(), [alias.clone()]);
    assert_eq!(
        fx.stored_type("TRUSTED_ROOTS_CRLS", &alias),
        Some(EntryType::Crl)
    );
    assert_eq!(
        fx.stored_type("machine", "tc"),
        Some(EntryType::TrustedCert)
    );
}

#[test]
fn a_temporary_file_renamed_onto_cert_pem_commits_with_validation() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/web").unwrap();
    fx.put("machine/web/cert.pem", &m.a.cert);

    // Python's write-temp-then-os.replace.
    fx.put("machine/web/.cert.pem.tmp", &m.b.cert);
    assert_eq!(
        fx.ls_sorted(ROOT, "machine/web"),
        names(&[".cert.pem.tmp", "cert.pem"])
    );
    assert_eq!(fx.cat("machine/web/.cert.pem.tmp"), m.b.cert, "as written");
    assert_eq!(
        fx.stored_cert("machine", "web"),
        canonical_cert(&m.a.cert),
        "not yet"
    );
    fx.rename(ROOT, "machine/web/.cert.pem.tmp", "machine/web/cert.pem", 0)
        .unwrap();
    assert_eq!(fx.stored_cert("machine", "web"), canonical_cert(&m.b.cert));
    assert_eq!(fx.cat("machine/web/cert.pem"), canonical_cert(&m.b.cert));
    assert_eq!(fx.ls(ROOT, "machine/web").unwrap(), ["cert.pem"]);

    // A refused one fails the rename and leaves the live certificate (and the temp file).
    fx.put(
        "machine/web/cert.pem.new",
        b"-----BEGIN CERTIFICATE-----\nnope\n",
    );
    let before = fx.generation();
    assert_errno(
        fx.rename(ROOT, "machine/web/cert.pem.new", "machine/web/cert.pem", 0),
        libc::EBADMSG,
    );
    assert_eq!(fx.generation(), before);
    assert_eq!(fx.stored_cert("machine", "web"), canonical_cert(&m.b.cert));
    assert_eq!(fx.cat("machine/web/cert.pem"), canonical_cert(&m.b.cert));
    assert!(fx
        .ls(ROOT, "machine/web")
        .unwrap()
        .contains(&"cert.pem.new".to_string()));
    fx.unlink(ROOT, "machine/web/cert.pem.new").unwrap();
    assert_eq!(fx.ls(ROOT, "machine/web").unwrap(), ["cert.pem"]);

    // A key renamed onto key.pem completes a pair.
    fx.put("machine/web/key.pem~", &m.b.key);
    fx.rename(ROOT, "machine/web/key.pem~", "machine/web/key.pem", 0)
        .unwrap();
    fx.assert_pair("machine/web", &m.b);
}

#[test]
fn mv_of_an_alias_renames_moves_and_replaces_entries() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/one", &m.a);
    fx.mkdir(ROOT, "machine/two").unwrap();
    fx.put("machine/two/cert.pem", &m.b.cert);

    // Within a store.
    fx.rename(ROOT, "machine/one", "machine/uno", 0).unwrap();
    assert_eq!(fx.stored_type("machine", "one"), None);
    fx.assert_pair("machine/uno", &m.a);
    assert_eq!(fx.ls_sorted(ROOT, "machine"), names(&["uno", "two"]));
    assert_errno(fx.lookup(ROOT, "machine/one"), libc::ENOENT);

    // Across stores.
    fx.rename(ROOT, "machine/uno", "vpxd/uno", 0).unwrap();
    assert_eq!(fx.stored_type("machine", "uno"), None);
    fx.assert_pair("vpxd/uno", &m.a);
    assert_eq!(fx.ls(ROOT, "machine").unwrap(), ["two"]);
    assert_eq!(fx.ls(ROOT, "vpxd").unwrap(), ["uno"]);

    // Onto an existing alias with RENAME_NOREPLACE: refused, nothing changes.
    fx.rename(ROOT, "vpxd/uno", "machine/uno", 0).unwrap();
    let before = fx.generation();
    assert_errno(
        fx.rename(ROOT, "machine/uno", "machine/two", RENAME_NOREPLACE),
        libc::EEXIST,
    );
    assert_eq!(fx.generation(), before);
    fx.assert_pair("machine/uno", &m.a);
    assert_eq!(fx.stored_cert("machine", "two"), canonical_cert(&m.b.cert));

    // Onto an existing alias (`mv -T uno two`): replaces the whole entry.
    fx.rename(ROOT, "machine/uno", "machine/two", 0).unwrap();
    fx.assert_pair("machine/two", &m.a);
    assert_eq!(fx.stored_type("machine", "uno"), None);
    assert_eq!(fx.ls(ROOT, "machine").unwrap(), ["two"]);

    // An empty alias directory moves too.
    fx.mkdir(ROOT, "machine/empty").unwrap();
    fx.rename(ROOT, "machine/empty", "vpxd/empty", 0).unwrap();
    assert_eq!(fx.ls(ROOT, "machine").unwrap(), ["two"]);
    assert_eq!(fx.ls(ROOT, "vpxd").unwrap(), ["empty"]);
    fx.put("vpxd/empty/key.pem", b"secret");
    assert_eq!(fx.stored_type("vpxd", "empty"), Some(EntryType::SecretKey));

    // Moving a file out of its alias is not a rename here.
    fx.mkdir(ROOT, "machine/three").unwrap();
    assert_errno(
        fx.rename(ROOT, "machine/two/cert.pem", "machine/three/cert.pem", 0),
        libc::EXDEV,
    );
    fx.assert_pair("machine/two", &m.a);
}

/// RENAME_NOREPLACE means "fail if the new name exists", an empty alias directory included.
#[test]
fn rename_noreplace_onto_an_empty_alias_directory_is_refused() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/src").unwrap();
    fx.put("machine/src/cert.pem", &m.a.cert);
    fx.mkdir(ROOT, "machine/dst").unwrap();
    assert_errno(
        fx.rename(ROOT, "machine/src", "machine/dst", RENAME_NOREPLACE),
        libc::EEXIST,
    );
    assert_eq!(
        fx.stored_type("machine", "src"),
        Some(EntryType::TrustedCert)
    );
    assert_eq!(fx.ls_sorted(ROOT, "machine"), names(&["dst", "src"]));
}

#[test]
fn a_truncate_only_flush_is_refused_and_the_handle_stays_usable() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/web").unwrap();
    fx.put("machine/web/cert.pem", &m.a.cert);
    let before = fx.generation();

    // `cat new.pem > cert.pem`: the shell opens with O_TRUNC and flushes before cat writes.
    let fh = fx
        .open_for_write(ROOT, "machine/web/cert.pem", libc::O_WRONLY | libc::O_TRUNC)
        .unwrap();
    assert_errno(fx.fs.flush(&ROOT, fh), libc::EBADMSG);
    assert_eq!(fx.generation(), before, "the empty file was not stored");
    assert_eq!(fx.cat("machine/web/cert.pem"), canonical_cert(&m.a.cert));
    assert_eq!(fx.stored_cert("machine", "web"), canonical_cert(&m.a.cert));
    fx.finish_write(ROOT, fh, &m.b.cert)
        .expect("the write after the early flush commits");
    assert_eq!(fx.stored_cert("machine", "web"), canonical_cert(&m.b.cert));

    // The same through ftruncate(fd, 0) on a handle opened without O_TRUNC.
    let fh = fx
        .open_for_write(ROOT, "machine/web/cert.pem", libc::O_WRONLY)
        .unwrap();
    let ino = fx.ino(ROOT, "machine/web/cert.pem").unwrap();
    let truncate = SetAttr {
        size: Some(0),
        fh: Some(fh),
        ..SetAttr::default()
    };
    fx.fs.setattr(&ROOT, ino, &truncate).unwrap();
    assert_errno(fx.fs.flush(&ROOT, fh), libc::EBADMSG);
    assert_eq!(fx.stored_cert("machine", "web"), canonical_cert(&m.b.cert));
    fx.finish_write(ROOT, fh, &m.a.cert).unwrap();
    assert_eq!(fx.stored_cert("machine", "web"), canonical_cert(&m.a.cert));

    // `touch`: a handle that neither wrote nor truncated commits nothing.
    let before = fx.generation();
    let fh = fx
        .open_for_write(ROOT, "machine/web/cert.pem", libc::O_WRONLY)
        .unwrap();
    fx.fs.flush(&ROOT, fh).unwrap();
    fx.fs.flush(&ROOT, fh).unwrap();
    fx.fs.release(&ROOT, fh).unwrap();
    assert_eq!(fx.generation(), before);

    // A truncate without a handle (`truncate -s 0 cert.pem`) would store an empty file.
    let truncate = SetAttr {
        size: Some(0),
        ..SetAttr::default()
    };
    assert_errno(
        fx.setattr(ROOT, "machine/web/cert.pem", truncate),
        libc::EBADMSG,
    );
    assert_eq!(fx.stored_cert("machine", "web"), canonical_cert(&m.a.cert));
}

#[test]
fn bad_content_is_refused_at_flush_and_changes_nothing() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/pair", &m.a);
    let cert_text = String::from_utf8(m.b.cert.clone()).unwrap();
    let truncated = &cert_text.as_bytes()[..cert_text.len() / 2];
    let corrupted = cert_text.replacen("MII", "MIX", 1).into_bytes();
    let no_end = cert_text
        .replace("-----END CERTIFICATE-----", "")
        .into_bytes();
    let cases: [(&str, &[u8], &str); 9] = [
        ("cert.pem", b"\x00\x01garbage\xff", "garbage"),
        ("cert.pem", truncated, "truncated PEM"),
        ("cert.pem", &no_end, "PEM without its end line"),
        ("cert.pem", &corrupted, "corrupted DER"),
        ("cert.pem", &m.b.key, "a key in cert.pem"),
        ("cert.pem", &m.crl, "a CRL in cert.pem"),
        ("key.pem", b"not a key\n", "garbage"),
        ("key.pem", &m.b.cert, "a certificate in key.pem"),
        ("key.pem", &m.b.key[..m.b.key.len() / 2], "truncated key"),
    ];
    for (file, content, what) in cases {
        let before = fx.generation();
        assert_errno(
            fx.write(ROOT, &format!("machine/pair/{file}"), content),
            libc::EBADMSG,
        );
        assert_eq!(fx.generation(), before, "{what}: nothing committed");
        fx.assert_pair("machine/pair", &m.a);
        assert_eq!(fx.stored_pending("machine", "pair"), None, "{what}");
        assert_errno(
            fx.xattr(ROOT, "machine/pair", "user.vecs.pending"),
            libc::ENODATA,
        );
    }
    // An empty alias stays empty after a refused certificate.
    fx.mkdir(ROOT, "machine/empty").unwrap();
    assert_errno(
        fx.write(ROOT, "machine/empty/cert.pem", b"junk"),
        libc::EBADMSG,
    );
    assert_eq!(fx.stored_type("machine", "empty"), None);
    assert_eq!(fx.ls(ROOT, "machine/empty").unwrap(), Vec::<String>::new());
}

#[test]
fn a_key_that_matches_nothing_waits_as_the_pending_half() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/pair", &m.a);
    fx.write(ROOT, "machine/pair/key.pem", &m.lone_key)
        .expect("a key that does not match the live cert is kept pending, and close succeeds");
    fx.assert_pair("machine/pair", &m.a);
    assert_eq!(fx.stored_pending("machine", "pair"), Some(Half::Key));

    // On a Trusted Cert as well: the entry does not change until a matching cert arrives.
    fx.mkdir(ROOT, "machine/tc").unwrap();
    fx.put("machine/tc/cert.pem", &m.b.cert);
    fx.write(ROOT, "machine/tc/key.pem", &m.lone_key).unwrap();
    assert_eq!(
        fx.stored_type("machine", "tc"),
        Some(EntryType::TrustedCert)
    );
    assert_eq!(fx.stored_pending("machine", "tc"), Some(Half::Key));
    assert_eq!(fx.ls(ROOT, "machine/tc").unwrap(), ["cert.pem"]);
    assert!(fx
        .xattr(ROOT, "machine/tc", "user.vecs.pending")
        .unwrap()
        .starts_with("key.pem"));
    // The key that matches the live cert settles it.
    fx.put("machine/tc/key.pem", &m.b.key);
    fx.assert_pair("machine/tc", &m.b);
    assert_eq!(fx.stored_pending("machine", "tc"), None);
}

#[test]
fn a_key_of_an_unsupported_kind_is_rejected() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/pair", &m.a);
    fx.mkdir(ROOT, "machine/tc").unwrap();
    fx.put("machine/tc/cert.pem", &m.b.cert);
    let before = fx.generation();
    assert_errno(
        fx.write(ROOT, "machine/pair/key.pem", &m.ed448),
        libc::EKEYREJECTED,
    );
    assert_errno(
        fx.write(ROOT, "machine/tc/key.pem", &m.ed448),
        libc::EKEYREJECTED,
    );
    assert_eq!(fx.generation(), before);
    fx.assert_pair("machine/pair", &m.a);
    assert_eq!(fx.stored_pending("machine", "pair"), None);
    assert_eq!(
        fx.stored_type("machine", "tc"),
        Some(EntryType::TrustedCert)
    );
    assert_eq!(fx.stored_pending("machine", "tc"), None);
}

/// key.pem's own limit is 64 KiB (README's errno table): one byte more is EFBIG at commit,
/// and the pair stays as it was.
#[test]
fn a_key_over_64_kib_is_refused_with_efbig() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/web", &m.a);
    let before = fx.generation();
    let mut big = m.a.key.clone();
    big.resize((64 << 10) + 1, b'\n');
    assert_errno(fx.write(ROOT, "machine/web/key.pem", &big), libc::EFBIG);
    assert_eq!(fx.generation(), before, "nothing committed after EFBIG");
    fx.assert_pair("machine/web", &m.a);
    let mut fits = m.a.key.clone();
    fits.resize(64 << 10, b'\n');
    fx.write(ROOT, "machine/web/key.pem", &fits)
        .expect("a key of exactly 64 KiB");
    fx.assert_pair("machine/web", &m.a);
}

/// VECS's limit of 1024 stores: mkdir of one more is ENOSPC, and no store is added.
#[test]
fn mkdir_past_the_store_limit_is_enospc() {
    let fx = Fx::with(|db| {
        let seeded = db.stores().expect("stores").len();
        for n in seeded..vecsfs::store::names::MAX_STORES {
            db.create_store(0, &format!("s{n}"))
                .expect("create a store");
        }
    });
    assert_errno(fx.mkdir(ROOT, "one-too-many"), libc::ENOSPC);
    assert_eq!(
        fx.db().stores().expect("stores").len(),
        vecsfs::store::names::MAX_STORES
    );
    assert_errno(fx.lookup(ROOT, "one-too-many"), libc::ENOENT);
}

#[test]
fn files_over_one_mib_are_refused_with_efbig() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/web").unwrap();
    fx.put("machine/web/cert.pem", &m.a.cert);
    let before = fx.generation();

    // One write past the limit.
    let fh = fx
        .open_for_write(ROOT, "machine/web/cert.pem", libc::O_WRONLY | libc::O_TRUNC)
        .unwrap();
    assert_errno(
        fx.fs.write(&ROOT, fh, 0, &vec![b'#'; (1 << 20) + 1]),
        libc::EFBIG,
    );
    assert_errno(fx.fs.write(&ROOT, fh, 1 << 20, b"x"), libc::EFBIG);
    assert!(fx.fs.flush(&ROOT, fh).is_err(), "nothing valid was written");
    fx.fs.release(&ROOT, fh).unwrap();
    assert_eq!(fx.generation(), before);
    assert_eq!(fx.cat("machine/web/cert.pem"), canonical_cert(&m.a.cert));

    // Also through a temporary file.
    let fh = fx
        .open_for_write(
            ROOT,
            "machine/web/cert.pem.tmp",
            libc::O_WRONLY | libc::O_TRUNC,
        )
        .unwrap();
    assert_errno(
        fx.fs.write(&ROOT, fh, 0, &vec![b'#'; (1 << 20) + 1]),
        libc::EFBIG,
    );
    let _ = fx.fs.flush(&ROOT, fh);
    fx.fs.release(&ROOT, fh).unwrap();
    assert_eq!(fx.cat("machine/web/cert.pem"), canonical_cert(&m.a.cert));
}

/// `cp big.pem cert.pem` where big.pem is a valid certificate followed by more than 1 MiB of
/// comments: the kernel sends 128 KiB writes, the one that crosses 1 MiB fails with EFBIG and
/// cp closes the file. The refused write must be harmless: the first MiB (a valid certificate
/// and text) must not be committed at close.
#[test]
fn a_write_refused_with_efbig_does_not_commit_what_came_before_it() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/web").unwrap();
    fx.put("machine/web/cert.pem", &m.a.cert);
    let before = fx.generation();
    let mut big = m.b.cert.clone();
    while big.len() <= 1 << 20 {
        big.extend_from_slice(b"# padding that PEM readers skip\n");
    }
    let result = fx.write(ROOT, "machine/web/cert.pem", &big);
    assert_errno(result, libc::EFBIG);
    assert_eq!(fx.generation(), before, "nothing committed after EFBIG");
    assert_eq!(fx.cat("machine/web/cert.pem"), canonical_cert(&m.a.cert));
    assert_eq!(fx.stored_cert("machine", "web"), canonical_cert(&m.a.cert));
}

// ---------------------------------------------------------------------------------------------
// Permissions
// ---------------------------------------------------------------------------------------------

#[test]
fn a_user_without_a_grant_sees_nothing_inside_a_store() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/pair", &m.a);
    let nobody = user(NOBODY);
    // The inodes as root resolved them (what the kernel may have cached).
    let cert_ino = fx.ino(ROOT, "machine/pair/cert.pem").unwrap();
    let key_ino = fx.ino(ROOT, "machine/pair/key.pem").unwrap();
    let store_ino = fx.ino(ROOT, "machine").unwrap();
    let alias_ino = fx.ino(ROOT, "machine/pair").unwrap();

    assert!(
        fx.lookup(nobody, "machine").is_ok(),
        "stores are listed for all"
    );
    assert_errno(fx.lookup(nobody, "machine/pair"), libc::EACCES);
    assert_errno(fx.ls(nobody, "machine"), libc::EACCES);
    assert_errno(fx.fs.opendir(&nobody, store_ino), libc::EACCES);
    assert_errno(fx.fs.readdir(&nobody, store_ino), libc::EACCES);
    assert_errno(fx.fs.readdir(&nobody, alias_ino), libc::EACCES);
    assert_errno(
        fx.fs.lookup(&nobody, alias_ino, OsStr::new("key.pem")),
        libc::EACCES,
    );
    assert_errno(fx.fs.open(&nobody, cert_ino, libc::O_RDONLY), libc::EACCES);
    assert_errno(fx.fs.open(&nobody, key_ino, libc::O_RDONLY), libc::EACCES);
    assert_errno(
        fx.fs.open(&nobody, key_ino, libc::O_WRONLY | libc::O_TRUNC),
        libc::EACCES,
    );
    assert_errno(
        fx.fs
            .getxattr(&nobody, alias_ino, OsStr::new("user.vecs.type")),
        libc::EACCES,
    );
    assert_errno(
        fx.fs.mkdir(&nobody, store_ino, OsStr::new("mine"), 0o755),
        libc::EACCES,
    );
    assert_errno(
        fx.fs.rmdir(&nobody, store_ino, OsStr::new("pair")),
        libc::EACCES,
    );
    assert_errno(
        fx.fs.unlink(&nobody, alias_ino, OsStr::new("key.pem")),
        libc::EACCES,
    );
    // Stat of a cached inode is the kernel's business; the modes say who may read.
    let dir = fx.fs.getattr(&nobody, store_ino).unwrap();
    assert_eq!(
        dir.perm & 0o077,
        0,
        "machine is not readable by others: {:o}",
        dir.perm
    );
    fx.assert_pair("machine/pair", &m.a);
}

#[test]
fn a_read_grant_lets_a_user_read_but_not_write() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/pair", &m.a);
    fx.db()
        .grant(0, "machine", Principal::User(NOBODY), READ_STORE)
        .unwrap();
    fx.fs.refresh_if_changed().unwrap();
    let nobody = user(NOBODY);

    assert_eq!(fx.ls(nobody, "machine").unwrap(), ["pair"]);
    assert_eq!(
        fx.ls_sorted(nobody, "machine/pair"),
        names(&["cert.pem", "key.pem"])
    );
    assert_eq!(fx.generated_in(nobody, "machine/pair"), ["bundle.pem"]);
    assert_eq!(
        fx.read(nobody, "machine/pair/cert.pem").unwrap(),
        canonical_cert(&m.a.cert)
    );
    // VECS lets every reader of a store export its keys.
    assert_eq!(
        fx.read(nobody, "machine/pair/key.pem").unwrap(),
        canonical_key(&m.a.key)
    );
    assert_eq!(
        fx.read(nobody, "machine/pair/bundle.pem").unwrap(),
        bundle_of(&m.a.key, &m.a.cert)
    );

    let before = fx.generation();
    assert_errno(
        fx.write(nobody, "machine/pair/cert.pem", &m.b.cert),
        libc::EACCES,
    );
    assert_errno(
        fx.write(nobody, "machine/pair/key.pem", &m.b.key),
        libc::EACCES,
    );
    assert_errno(fx.mkdir(nobody, "machine/new"), libc::EACCES);
    let alias_ino = fx.ino(nobody, "machine/pair").unwrap();
    assert_errno(
        fx.fs.create(
            &nobody,
            alias_ino,
            OsStr::new("cert.pem.tmp"),
            0o600,
            libc::O_WRONLY,
        ),
        libc::EACCES,
    );
    assert_errno(fx.unlink(nobody, "machine/pair/key.pem"), libc::EACCES);
    assert_errno(fx.rmdir(nobody, "machine/pair"), libc::EACCES);
    assert_errno(
        fx.rename(nobody, "machine/pair", "machine/moved", 0),
        libc::EACCES,
    );
    assert_errno(fx.rmdir(nobody, "machine"), libc::EACCES);
    assert_eq!(fx.generation(), before);
    fx.assert_pair("machine/pair", &m.a);

    // Revoked through the other door: refused at once, whatever the kernel cached.
    let cert_ino = fx.ino(nobody, "machine/pair/cert.pem").unwrap();
    fx.db()
        .revoke(0, "machine", Principal::User(NOBODY), READ_STORE)
        .unwrap();
    fx.fs.refresh_if_changed().unwrap();
    assert_errno(fx.fs.open(&nobody, cert_ino, libc::O_RDONLY), libc::EACCES);
}

#[test]
fn everyone_may_read_trusted_roots() {
    let m = material();
    let mut alias = String::new();
    let fx = Fx::with(|db| {
        let chain = parse_cert_chain(&m.ca).unwrap();
        alias = db
            .add_entry(
                0,
                "TRUSTED_ROOTS",
                None,
                &EntryContent::trusted_cert(&chain),
            )
            .unwrap();
    });
    let anyone = user(4321);
    // The listing holds the alias only; the CApath names of the root (current and old hash)
    // and the bundle are found by name, and named, sorted, by `user.vecs.generated`.
    assert_eq!(fx.ls(anyone, "TRUSTED_ROOTS").unwrap(), [alias.clone()]);
    let generated = fx.generated_in(anyone, "TRUSTED_ROOTS");
    let (hash, old_hash) = &m.ca_hashes;
    let mut expected = vec![
        format!("{hash}.0"),
        format!("{old_hash}.0"),
        "ca-bundle.pem".to_string(),
    ];
    expected.sort();
    assert_eq!(generated, expected);
    assert_eq!(
        fx.xattr(anyone, "TRUSTED_ROOTS", "user.vecs.generated")
            .unwrap(),
        expected.join(" ")
    );
    for name in &generated {
        assert!(vecsfs::store::names::is_generated_name(name), "{name}");
        let path = format!("TRUSTED_ROOTS/{name}");
        let attr = fx.lookup(anyone, &path).unwrap();
        assert_eq!(attr.kind, NodeKind::File, "{path}");
        assert_eq!(attr.perm, 0o444, "{path}");
        assert_eq!(attr.size, canonical_cert(&m.ca).len() as u64, "{path}");
        assert_eq!(
            fx.read(anyone, &path).unwrap(),
            canonical_cert(&m.ca),
            "{path}"
        );
        // Computed: nobody writes or removes them, root neither.
        assert_errno(fx.write(ROOT, &path, &m.a.cert), libc::EPERM);
        assert_errno(fx.unlink(ROOT, &path), libc::EPERM);
        assert_eq!(fx.cat(&path), canonical_cert(&m.ca), "{path} unchanged");
    }
    // The alias directory of a trusted root has no generated file.
    fx.assert_no_generated(anyone, &format!("TRUSTED_ROOTS/{alias}"));
    let path = format!("TRUSTED_ROOTS/{alias}/cert.pem");
    assert_eq!(fx.read(anyone, &path).unwrap(), canonical_cert(&m.ca));
    assert_eq!(fx.lookup(anyone, &path).unwrap().perm, 0o644);
    let dir = fx.lookup(anyone, "TRUSTED_ROOTS").unwrap();
    assert_eq!(dir.perm & 0o005, 0o005, "world-listable: {:o}", dir.perm);
    assert_errno(fx.write(anyone, &path, &m.a.cert), libc::EACCES);
    assert_errno(fx.mkdir(anyone, "TRUSTED_ROOTS/mine"), libc::EACCES);
    assert_eq!(fx.cat(&path), canonical_cert(&m.ca));
}

#[test]
fn key_pem_is_never_group_or_world_readable() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/pair", &m.a);
    fx.db()
        .grant(0, "machine", Principal::Everyone, READ_STORE)
        .unwrap();
    fx.fs.refresh_if_changed().unwrap();
    assert_eq!(fx.lookup(ROOT, "machine/pair/key.pem").unwrap().perm, 0o600);
    assert_eq!(
        fx.lookup(ROOT, "machine/pair/cert.pem").unwrap().perm,
        0o644
    );
    // EVERYONE may read the store: the key is readable through the store's rules anyway.
    assert_eq!(
        fx.read(user(777), "machine/pair/key.pem").unwrap(),
        canonical_key(&m.a.key)
    );
}

#[test]
fn chmod_and_chown_are_accepted_only_when_they_change_nothing() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/pair", &m.a);
    for path in [
        "machine",
        "machine/pair",
        "machine/pair/cert.pem",
        "machine/pair/key.pem",
    ] {
        let attr = fx.lookup(ROOT, path).unwrap();
        let same = SetAttr {
            perm: Some(attr.perm),
            uid: Some(attr.uid),
            gid: Some(attr.gid),
            times: true,
            ..SetAttr::default()
        };
        let after = fx.setattr(ROOT, path, same).unwrap();
        assert_eq!(
            (after.perm, after.uid, after.gid),
            (attr.perm, attr.uid, attr.gid)
        );
        let chmod = SetAttr {
            perm: Some(attr.perm ^ 0o044),
            ..SetAttr::default()
        };
        assert_errno(fx.setattr(ROOT, path, chmod), libc::EPERM);
        let chown = SetAttr {
            uid: Some(attr.uid + 1000),
            ..SetAttr::default()
        };
        assert_errno(fx.setattr(ROOT, path, chown), libc::EPERM);
        let chgrp = SetAttr {
            gid: Some(attr.gid + 1000),
            ..SetAttr::default()
        };
        assert_errno(fx.setattr(ROOT, path, chgrp), libc::EPERM);
        assert_eq!(fx.lookup(ROOT, path).unwrap().perm, attr.perm, "{path}");
    }
    // `utimes` alone is accepted.
    let touch = SetAttr {
        times: true,
        ..SetAttr::default()
    };
    fx.setattr(ROOT, "machine/pair/key.pem", touch).unwrap();
    fx.assert_pair("machine/pair", &m.a);
}

// ---------------------------------------------------------------------------------------------
// The other door
// ---------------------------------------------------------------------------------------------

#[test]
fn a_change_through_another_handle_shows_after_refresh_even_at_the_same_size() {
    let m = material();
    assert_eq!(
        m.twin1.len(),
        m.twin2.len(),
        "test material: same-size certificates"
    );
    assert_ne!(m.twin1, m.twin2);
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/web").unwrap();
    fx.put("machine/web/cert.pem", &m.twin1);
    let cert = fx.lookup(ROOT, "machine/web/cert.pem").unwrap();
    // A reader that opened before the change keeps its snapshot.
    let reader = fx.fs.open(&ROOT, cert.ino, libc::O_RDONLY).unwrap();
    fx.fs.take_invalidations();
    assert_eq!(
        fx.fs.refresh_if_changed().unwrap(),
        Vec::new(),
        "nothing changed yet"
    );

    let alias_ino = fx.ino(ROOT, "machine/web").unwrap();
    let chain = parse_cert_chain(&m.twin2).unwrap();
    fx.db().write_cert(0, "machine", "web", &chain).unwrap();
    let invalidations = fx.fs.refresh_if_changed().unwrap();
    assert!(
        invalidations.contains(&Invalidation::Entry {
            parent: alias_ino,
            name: "cert.pem".into()
        }),
        "the name is invalidated: {invalidations:?}"
    );
    let after = fx.lookup(ROOT, "machine/web/cert.pem").unwrap();
    assert_ne!(
        after.ino, cert.ino,
        "a new version is a new inode, with an empty page cache"
    );
    assert_eq!(after.size, cert.size, "same size");
    assert_eq!(fx.cat("machine/web/cert.pem"), canonical_cert(&m.twin2));
    // The older inode keeps its own attributes for the reader that still has it open.
    assert_eq!(fx.fs.getattr(&ROOT, cert.ino).unwrap(), cert);
    assert_eq!(fx.read_all(reader.fh).unwrap(), canonical_cert(&m.twin1));
    fx.fs.release(&ROOT, reader.fh).unwrap();
    assert_eq!(
        fx.fs.refresh_if_changed().unwrap(),
        Vec::new(),
        "already seen"
    );

    // An entry deleted and a store created by vecs-cli.
    fx.db().delete_entry(0, "machine", "web").unwrap();
    fx.db().create_store(0, "fresh").unwrap();
    let store_ino = fx.ino(ROOT, "machine").unwrap();
    let invalidations = fx.fs.refresh_if_changed().unwrap();
    assert!(
        invalidations.contains(&Invalidation::Entry {
            parent: store_ino,
            name: "web".into()
        }),
        "{invalidations:?}"
    );
    assert!(
        invalidations.contains(&Invalidation::Entry {
            parent: ROOT_INO,
            name: "fresh".into()
        }),
        "{invalidations:?}"
    );
    assert_errno(fx.lookup(ROOT, "machine/web"), libc::ENOENT);
    assert!(fx.ls(ROOT, "").unwrap().contains(&"fresh".to_string()));
}

/// An alias directory made with mkdir, then an entry of the same name added by vecs-cli: one
/// directory, holding the entry.
#[test]
fn an_entry_added_elsewhere_under_an_empty_alias_directory_is_listed_once() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/web").unwrap();
    fx.mkdir(ROOT, "machine/other").unwrap();
    let chain = parse_cert_chain(&m.a.cert).unwrap();
    fx.db()
        .add_entry(
            0,
            "machine",
            Some("web"),
            &EntryContent::trusted_cert(&chain),
        )
        .unwrap();
    fx.db()
        .add_entry(
            0,
            "machine",
            Some("OTHER"),
            &EntryContent::trusted_cert(&chain),
        )
        .unwrap();
    fx.fs.refresh_if_changed().unwrap();
    assert_eq!(fx.ls(ROOT, "machine/web").unwrap(), ["cert.pem"]);
    let listing = fx.ls_sorted(ROOT, "machine");
    assert_eq!(
        listing,
        names(&["OTHER", "web"]),
        "aliases are unique case-insensitively"
    );
}

/// While a writer holds a file open, the kernel grows the shared inode's size as the bytes go
/// by: a reader that opens then reads past the cache (no keep_cache), so that its read ends
/// where its version does instead of in zeroed page tails. Once the writer is gone, reads are
/// cached again.
#[test]
fn a_file_being_written_is_read_past_the_cache() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/busy").unwrap();
    fx.put("machine/busy/cert.pem", &m.twin1);
    let cert = fx.lookup(ROOT, "machine/busy/cert.pem").unwrap();
    let writer = fx.fs.open(&ROOT, cert.ino, libc::O_WRONLY).unwrap();
    let reader = fx.fs.open(&ROOT, cert.ino, libc::O_RDONLY).unwrap();
    assert!(reader.direct_io && !reader.keep_cache, "{reader:?}");
    assert_eq!(fx.read_all(reader.fh).unwrap(), canonical_cert(&m.twin1));
    fx.fs.release(&ROOT, reader.fh).unwrap();
    fx.fs.release(&ROOT, writer.fh).unwrap();
    let calm = fx.fs.open(&ROOT, cert.ino, libc::O_RDONLY).unwrap();
    assert!(calm.keep_cache && !calm.direct_io, "{calm:?}");
    fx.fs.release(&ROOT, calm.fh).unwrap();
}

/// The kernel keeps file pages (read handles are opened with keep_cache), so a change made
/// through the mount gives the file a new inode and invalidates its name, even at the same
/// size; an open through the older inode (a name the kernel has not dropped yet) reads the
/// current version past the cache.
#[test]
fn changes_through_the_mount_give_the_files_they_change_new_inodes() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/web").unwrap();
    fx.put("machine/web/cert.pem", &m.twin1);
    let cert = fx.lookup(ROOT, "machine/web/cert.pem").unwrap();
    let alias_ino = fx.ino(ROOT, "machine/web").unwrap();
    let opened = fx.fs.open(&ROOT, cert.ino, libc::O_RDONLY).unwrap();
    assert!(opened.keep_cache && !opened.direct_io, "{opened:?}");
    fx.fs.release(&ROOT, opened.fh).unwrap();
    fx.fs.take_invalidations();
    fx.put("machine/web/cert.pem", &m.twin2);
    let invalidations = fx.fs.take_invalidations();
    let name = |n: &str| Invalidation::Entry {
        parent: alias_ino,
        name: n.into(),
    };
    assert!(
        invalidations.contains(&name("cert.pem")),
        "{invalidations:?}"
    );
    let renewed = fx.lookup(ROOT, "machine/web/cert.pem").unwrap();
    assert_ne!(renewed.ino, cert.ino);
    assert_eq!(renewed.size, cert.size);
    let stale = fx.fs.open(&ROOT, cert.ino, libc::O_RDONLY).unwrap();
    assert!(stale.direct_io && !stale.keep_cache, "{stale:?}");
    assert_eq!(fx.read_all(stale.fh).unwrap(), canonical_cert(&m.twin2));
    fx.fs.release(&ROOT, stale.fh).unwrap();

    // The second half of a rotation changes both files at once.
    fx.put("machine/web/cert.pem", &m.a.cert);
    fx.put("machine/web/key.pem", &m.a.key);
    let cert = fx.lookup(ROOT, "machine/web/cert.pem").unwrap();
    let key = fx.lookup(ROOT, "machine/web/key.pem").unwrap();
    fx.put("machine/web/key.pem", &m.b.key);
    fx.fs.take_invalidations();
    fx.put("machine/web/cert.pem", &m.b.cert);
    let invalidations = fx.fs.take_invalidations();
    for file in ["cert.pem", "key.pem"] {
        assert!(
            invalidations.contains(&name(file)),
            "{file}: {invalidations:?}"
        );
    }
    for (old, file) in [(cert, "cert.pem"), (key, "key.pem")] {
        let now = fx.lookup(ROOT, &format!("machine/web/{file}")).unwrap();
        assert_ne!(now.ino, old.ino, "{file}");
    }
    // rm key.pem drops the name.
    fx.unlink(ROOT, "machine/web/key.pem").unwrap();
    let invalidations = fx.fs.take_invalidations();
    assert!(
        invalidations.contains(&Invalidation::Entry {
            parent: alias_ino,
            name: "key.pem".into()
        }),
        "{invalidations:?}"
    );
}

/// On any filesystem, bytes written through a descriptor whose file was removed meanwhile go
/// nowhere; here they must not bring a deleted entry back.
#[test]
fn a_writer_whose_alias_was_deleted_does_not_bring_it_back() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/web").unwrap();
    fx.put("machine/web/cert.pem", &m.a.cert);
    let fh = fx
        .open_for_write(ROOT, "machine/web/cert.pem", libc::O_WRONLY | libc::O_TRUNC)
        .unwrap();
    fx.rmdir(ROOT, "machine/web").unwrap();
    let _ = fx.finish_write(ROOT, fh, &m.b.cert);
    assert_eq!(
        fx.stored_type("machine", "web"),
        None,
        "`rm -r machine/web` while a writer had cert.pem open: the entry came back at close"
    );
    assert_eq!(fx.ls(ROOT, "machine").unwrap(), Vec::<String>::new());
}

/// After rename(2) succeeds the kernel moves its dentry: the source's node id now names the
/// target, and it keeps using that id for the new name until the entry is invalidated (the
/// adapter's notifier does that asynchronously, after the syscall may have returned).
#[test]
fn after_a_rename_the_source_inode_names_the_target() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/old", &m.a);
    let dir = fx.ino(ROOT, "machine/old").unwrap();
    let cert = fx.ino(ROOT, "machine/old/cert.pem").unwrap();
    fx.rename(ROOT, "machine/old", "machine/new", 0).unwrap();
    let names_of = |ino: Ino| -> FsResult<Vec<String>> {
        Ok(fx
            .fs
            .readdir(&ROOT, ino)?
            .iter()
            .map(|e| e.name.to_string_lossy().into_owned())
            .collect())
    };
    let listing = names_of(dir);
    let target = names_of(fx.ino(ROOT, "machine/new").unwrap());
    assert!(
        listing.is_ok(),
        "readdir of the moved directory's node id: {listing:?}"
    );
    assert_eq!(
        listing, target,
        "readdir of the moved directory's node id lists the target"
    );
    let listing = listing.unwrap();
    for file in ["cert.pem", "key.pem"] {
        assert!(listing.contains(&file.to_string()), "{file} in {listing:?}");
    }
    let opened = fx.fs.open(&ROOT, cert, libc::O_RDONLY);
    assert!(
        opened.is_ok(),
        "open of cert.pem by its node id after mv: {opened:?}"
    );

    // The same for a temporary file renamed onto cert.pem (what `sed -i` does).
    fx.put("machine/new/cert.pem.tmp", &m.a.cert);
    let temp = fx.ino(ROOT, "machine/new/cert.pem.tmp").unwrap();
    fx.rename(ROOT, "machine/new/cert.pem.tmp", "machine/new/cert.pem", 0)
        .unwrap();
    let opened = fx.fs.open(&ROOT, temp, libc::O_RDONLY);
    assert!(
        opened.is_ok(),
        "open of the renamed temp file's node id: {opened:?}"
    );
}

/// Rotation in the "new key first" order with an `rm cert.pem` in between (what a script
/// doing `cp new.key key.pem; rm cert.pem; cp new.crt cert.pem` does): the pending key
/// survives the removal, and the new certificate must pair with it.
#[test]
fn a_pending_key_pairs_with_a_certificate_written_after_rm_cert_pem() {
    let m = material();
    let fx = Fx::new();
    fx.make_pair("machine/pair", &m.a);
    fx.put("machine/pair/key.pem", &m.b.key);
    assert_eq!(fx.stored_pending("machine", "pair"), Some(Half::Key));
    fx.unlink(ROOT, "machine/pair/cert.pem").unwrap();
    assert_eq!(
        fx.stored_type("machine", "pair"),
        Some(EntryType::SecretKey)
    );
    assert_eq!(
        fx.stored_pending("machine", "pair"),
        Some(Half::Key),
        "kept"
    );
    fx.put("machine/pair/cert.pem", &m.b.cert);
    fx.assert_pair("machine/pair", &m.b);
    assert_eq!(fx.stored_pending("machine", "pair"), None);

    // The other order already works: the pending certificate pairs with the key written
    // after `rm key.pem`.
    fx.make_pair("machine/other", &m.a);
    fx.put("machine/other/cert.pem", &m.b.cert);
    fx.unlink(ROOT, "machine/other/key.pem").unwrap();
    assert_eq!(fx.stored_pending("machine", "other"), Some(Half::Cert));
    fx.put("machine/other/key.pem", &m.b.key);
    fx.assert_pair("machine/other", &m.b);
}

/// `sed -i` that changes nothing, or a config tool that always writes a temp file and renames
/// it: the content committed is the content already live. The kernel has nevertheless moved
/// the temp file's dentry (and node id) onto cert.pem, so either that node id must now name
/// cert.pem or the name cert.pem must be invalidated; otherwise `cat cert.pem` answers ENOENT
/// until the entry TTL runs out.
#[test]
fn a_temp_file_renamed_onto_identical_content_leaves_no_stale_name() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/web").unwrap();
    fx.put("machine/web/cert.pem", &m.a.cert);
    let alias = fx.ino(ROOT, "machine/web").unwrap();
    fx.put("machine/web/.cert.pem.swp", &m.a.cert);
    let temp = fx.ino(ROOT, "machine/web/.cert.pem.swp").unwrap();
    fx.fs.take_invalidations();
    fx.rename(ROOT, "machine/web/.cert.pem.swp", "machine/web/cert.pem", 0)
        .unwrap();
    let invalidations = fx.fs.take_invalidations();
    let name_invalidated = invalidations.contains(&Invalidation::Entry {
        parent: alias,
        name: "cert.pem".into(),
    });
    // Invalidating the alias directory's name drops its children's dentries too.
    let store = fx.ino(ROOT, "machine").unwrap();
    let dir_invalidated = invalidations.contains(&Invalidation::Entry {
        parent: store,
        name: "web".into(),
    });
    let temp_ino_names_cert = fx.fs.open(&ROOT, temp, libc::O_RDONLY).is_ok();
    assert!(
        name_invalidated || dir_invalidated || temp_ino_names_cert,
        "after the rename the kernel's cert.pem has the temp file's node id {temp}, which \
         no longer opens, and nothing invalidates the name: {invalidations:?}"
    );
}

/// Changing only the case of an alias is a rename onto itself, not onto another name: with
/// RENAME_NOREPLACE too (the kernel's lookup of the new spelling found nothing).
#[test]
fn a_case_only_rename_is_not_a_collision() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/empty").unwrap();
    assert_errno(fx.lookup(ROOT, "machine/EMPTY"), libc::ENOENT);
    fx.rename(ROOT, "machine/empty", "machine/EMPTY", RENAME_NOREPLACE)
        .expect("case-only rename of an empty alias directory");
    assert_eq!(fx.ls(ROOT, "machine").unwrap(), ["EMPTY"]);

    fx.mkdir(ROOT, "machine/web").unwrap();
    fx.put("machine/web/cert.pem", &m.a.cert);
    fx.rename(ROOT, "machine/web", "machine/Web", RENAME_NOREPLACE)
        .expect("case-only rename of an entry");
    assert_eq!(
        fx.stored_type("machine", "Web"),
        Some(EntryType::TrustedCert)
    );
    assert_eq!(fx.ls_sorted(ROOT, "machine"), names(&["EMPTY", "Web"]));
    fx.rename(ROOT, "machine/Web", "machine/web", 0).unwrap();
    assert_eq!(fx.ls_sorted(ROOT, "machine"), names(&["EMPTY", "web"]));
    assert_eq!(fx.cat("machine/web/cert.pem"), canonical_cert(&m.a.cert));
}

/// Aliases are unique case-insensitively: `mv S/b S/A` where `S/a` is an empty alias
/// directory replaces that directory (as rename(2) replaces an empty directory), it does not
/// leave `a` and `A` side by side.
#[test]
fn a_rename_onto_an_empty_alias_directory_of_another_case_replaces_it() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/a").unwrap();
    fx.mkdir(ROOT, "machine/b").unwrap();
    fx.put("machine/b/cert.pem", &m.a.cert);
    fx.rename(ROOT, "machine/b", "machine/A", 0).unwrap();
    assert_eq!(fx.ls(ROOT, "machine").unwrap(), ["A"]);
    assert_eq!(fx.stored_type("machine", "A"), Some(EntryType::TrustedCert));

    // The same with an empty source.
    fx.mkdir(ROOT, "vpxd/x").unwrap();
    fx.mkdir(ROOT, "vpxd/y").unwrap();
    fx.rename(ROOT, "vpxd/y", "vpxd/X", 0).unwrap();
    assert_eq!(fx.ls(ROOT, "vpxd").unwrap(), ["X"]);
}

/// Without FUSE_ATOMIC_O_TRUNC the kernel turns `open(O_WRONLY|O_TRUNC)` into an open and a
/// truncate by path from the same task. The truncate empties that task's new handle only: the
/// file, its size and what readers of the inode see stay as committed until the handle
/// commits. A truncate(2) by path with no such handle is refused as before.
#[test]
fn o_trunc_as_a_separate_truncate_empties_only_the_new_handle() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/web").unwrap();
    fx.put("machine/web/cert.pem", &m.a.cert);
    let cert = fx.lookup(ROOT, "machine/web/cert.pem").unwrap();
    let reader = fx.fs.open(&ROOT, cert.ino, libc::O_RDONLY).unwrap();

    let writer = Caller { pid: 4242, ..ROOT };
    let fh = fx.fs.open(&writer, cert.ino, libc::O_WRONLY).unwrap().fh;
    let truncate = SetAttr {
        size: Some(0),
        ..SetAttr::default()
    };
    let attr = fx.fs.setattr(&writer, cert.ino, &truncate).unwrap();
    assert_eq!(attr.size, cert.size, "the inode keeps its committed size");
    assert_eq!(fx.cat("machine/web/cert.pem"), canonical_cert(&m.a.cert));

    // Another task truncating by path has no handle to empty: refused, nothing lost.
    let other = Caller { pid: 4343, ..ROOT };
    assert_errno(fx.fs.setattr(&other, cert.ino, &truncate), libc::EBADMSG);
    assert_eq!(fx.cat("machine/web/cert.pem"), canonical_cert(&m.a.cert));

    // The writer's handle starts empty: a shorter file is not a prefix of the old one.
    fx.finish_write(writer, fh, &m.twin1).unwrap();
    assert_eq!(fx.cat("machine/web/cert.pem"), canonical_cert(&m.twin1));
    assert_eq!(
        fx.read_all(reader.fh).unwrap(),
        canonical_cert(&m.a.cert),
        "the reader keeps the version it opened"
    );
    fx.fs.release(&ROOT, reader.fh).unwrap();
}

/// An older version's inode lives while the kernel holds a reference to it, and no longer.
#[test]
fn older_versions_are_forgotten_with_the_kernels_last_reference() {
    let m = material();
    let fx = Fx::new();
    fx.mkdir(ROOT, "machine/web").unwrap();
    fx.put("machine/web/cert.pem", &m.twin1);
    let cert = fx.lookup(ROOT, "machine/web/cert.pem").unwrap();
    fx.put("machine/web/cert.pem", &m.twin2);
    assert_eq!(fx.fs.getattr(&ROOT, cert.ino).unwrap(), cert);
    // The kernel got the inode three times: from create, the lookup above and the second
    // put's lookup.
    fx.fs.forget(cert.ino, 2);
    assert_eq!(fx.fs.getattr(&ROOT, cert.ino).unwrap(), cert);
    fx.fs.forget(cert.ino, 1);
    assert_errno(fx.fs.getattr(&ROOT, cert.ino), libc::ENOENT);
    assert_errno(fx.fs.open(&ROOT, cert.ino, libc::O_RDONLY), libc::ENOENT);
    // The current version is untouched.
    assert_eq!(fx.cat("machine/web/cert.pem"), canonical_cert(&m.twin2));
}
