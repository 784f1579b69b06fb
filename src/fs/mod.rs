//! The filesystem semantics of the mount (../shared/spec/filesystem.md), in plain Rust: no FUSE
//! types. Every method answers one kernel request for one caller and returns an errno on
//! refusal; the fuser adapter in `crate::fuse` only translates.
//!
//! Reads are served from an in-memory [`view::View`] of the store. Writes are buffered per open
//! handle and committed to the store at flush, fsync or release; the view is then rebuilt from
//! the store and what changed is queued as kernel invalidations.

mod audit;
mod capath;
mod commit;
mod error;
mod handles;
mod inodes;
pub mod names;
mod nodes;
mod scratch;
mod types;
mod view;

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use error::{FsError, FsResult};
pub use handles::ReadData;
pub use types::{
    Attr, Caller, DirEntry, Ino, Invalidation, NodeKind, Opened, SetAttr, StatFs, RENAME_EXCHANGE,
    RENAME_NOREPLACE, ROOT_INO,
};

use commit::Commit;
use handles::{Handle, Handles, Target, WriteHandle};
use inodes::{Inodes, Node};
use scratch::{add_empty_alias, add_temp, empty_alias_folded, forget_scratch_alias, temp, Scratch};
use view::{Changes, FileData, FileName, View};

use crate::store::{self, Access, Database};

#[derive(Debug, Clone, Copy, Default)]
pub struct FsOptions {
    /// Refuse every change with EROFS.
    pub read_only: bool,
}

struct State {
    view: View,
    inodes: Inodes,
    scratch: Scratch,
}

/// The filesystem: a store and the view of it the kernel is served.
pub struct VecsFs {
    db: Mutex<Database>,
    state: RwLock<State>,
    handles: Handles,
    invalidations: Mutex<Vec<Invalidation>>,
    options: FsOptions,
}

impl VecsFs {
    pub fn open_db(db_path: &Path, options: FsOptions) -> FsResult<VecsFs> {
        let db = Database::open(db_path)?;
        let view = View::from_snapshot(db.snapshot()?, None);
        Ok(VecsFs {
            db: Mutex::new(db),
            state: RwLock::new(State {
                view,
                inodes: Inodes::new(),
                scratch: Scratch::default(),
            }),
            handles: Handles::default(),
            invalidations: Mutex::new(Vec::new()),
            options,
        })
    }

    pub fn lookup(&self, caller: &Caller, parent: Ino, name: &OsStr) -> FsResult<Attr> {
        let mut state = self.write_state();
        let parent = node_of(&state, parent)?;
        let node = nodes::child(&state.view, &state.scratch, caller, &parent, name)?;
        let attr = nodes::attr_of(&mut state, &node)?;
        state.inodes.looked_up(attr.ino);
        Ok(attr)
    }

    /// The kernel holds one more reference to `ino`: an entry it got other than by
    /// lookup/create/mkdir (which count their own), i.e. from readdirplus.
    pub fn remember(&self, ino: Ino) {
        self.write_state().inodes.looked_up(ino);
    }

    /// The kernel dropped `count` references to `ino` (FORGET).
    pub fn forget(&self, ino: Ino, count: u64) {
        self.write_state().inodes.forget(ino, count);
    }

    pub fn getattr(&self, _caller: &Caller, ino: Ino) -> FsResult<Attr> {
        let mut state = self.write_state();
        if let Some(retired) = state.inodes.retired(ino) {
            // An older version of a file, still open somewhere: its own size, so that the
            // kernel neither truncates nor extends what its readers see.
            return retired
                .attr
                .copied()
                .ok_or_else(|| FsError::new(libc::ENOENT, "replaced by a rename"));
        }
        let node = node_of(&state, ino)?;
        self.attr_or_being_written(&mut state, &node)
    }

    /// The attributes of a node, or of a file that a writer created and has not committed yet.
    fn attr_or_being_written(&self, state: &mut State, node: &Node) -> FsResult<Attr> {
        let found = nodes::attr_of(state, node);
        let Err(e) = &found else {
            return found;
        };
        let Node::File(store, alias, file) = node else {
            return found;
        };
        if e.errno != libc::ENOENT {
            return found;
        }
        match self
            .handles
            .open_write_size(store, alias, &Target::File(*file))
        {
            Some(size) => {
                let mut attr = nodes::new_file_attr(state, node)?;
                attr.size = size as u64;
                Ok(attr)
            }
            None => found,
        }
    }

    pub fn opendir(&self, caller: &Caller, ino: Ino) -> FsResult<()> {
        let state = self.read_state();
        let node = node_of(&state, ino)?;
        nodes::check_listable(&state.view, &state.scratch, caller, &node)
    }

    pub fn readdir(&self, caller: &Caller, ino: Ino) -> FsResult<Vec<DirEntry>> {
        let mut state = self.write_state();
        let node = node_of(&state, ino)?;
        nodes::check_listable(&state.view, &state.scratch, caller, &node)?;
        let parent = nodes::parent_of(&node);
        let mut listing = vec![
            DirEntry {
                name: ".".into(),
                attr: nodes::attr_of(&mut state, &node)?,
            },
            DirEntry {
                name: "..".into(),
                attr: nodes::attr_of(&mut state, &parent)?,
            },
        ];
        for (name, child) in nodes::children(&state.view, &state.scratch, &node) {
            let attr = nodes::attr_of(&mut state, &child)?;
            listing.push(DirEntry { name, attr });
        }
        Ok(listing)
    }

    pub fn readlink(&self, _caller: &Caller, ino: Ino) -> FsResult<Vec<u8>> {
        let state = self.read_state();
        match node_of(&state, ino)? {
            Node::CrlLink => Ok(store::names::CRL_STORE.as_bytes().to_vec()),
            _ => Err(FsError::new(libc::EINVAL, "not a symbolic link")),
        }
    }

    /// Every open of a key (key.pem, bundle.pem), allowed or refused, is an audit line.
    pub fn open(&self, caller: &Caller, ino: Ino, flags: i32) -> FsResult<Opened> {
        let state = self.read_state();
        let (node, stale) = node_for_io(&state, ino)?;
        let result = self.open_node(&state, caller, &node, stale, flags);
        drop(state);
        if let Node::File(store, alias, file @ (FileName::Key | FileName::Bundle)) = &node {
            audit::key_open(caller, store, alias, file.as_str(), flags, &result);
        }
        result
    }

    fn open_node(
        &self,
        state: &State,
        caller: &Caller,
        node: &Node,
        stale: bool,
        flags: i32,
    ) -> FsResult<Opened> {
        let writing = flags & libc::O_ACCMODE != libc::O_RDONLY;
        let truncate = flags & libc::O_TRUNC != 0;
        let (store, alias, target, current) = match node {
            Node::File(s, a, f) => {
                let data = nodes::file_data(&state.view, s, a, *f)
                    .ok_or_else(|| FsError::not_found(f.as_str()))?;
                (s, a, Target::File(*f), data.clone())
            }
            Node::Temp(s, a, n) => {
                let data = temp(&state.scratch, s, a, n)
                    .ok_or_else(|| FsError::not_found(n))?
                    .data
                    .clone();
                (s, a, Target::Temp(n.clone()), data)
            }
            Node::Root | Node::Store(_) | Node::Alias(..) => {
                return Err(FsError::new(
                    libc::EISDIR,
                    "a directory cannot be opened as a file",
                ))
            }
            Node::CrlLink => return Err(FsError::new(libc::ELOOP, "a symbolic link")),
            Node::Generated(s, n) => {
                let store_node = nodes::store(&state.view, s)?;
                nodes::check_access(caller, store_node, Access::Read)?;
                if writing || truncate {
                    return Err(generated_is_read_only(n));
                }
                let data = store_node
                    .generated
                    .get(n)
                    .ok_or_else(|| FsError::not_found(n))?
                    .clone();
                return Ok(self.open_for_reading(data, stale));
            }
        };
        let store_node = nodes::store(&state.view, store)?;
        nodes::check_access(
            caller,
            store_node,
            if writing { Access::Write } else { Access::Read },
        )?;
        if !writing {
            // While a writer has this file open, the kernel extends the inode's size as the
            // writer's bytes go by (before anything is committed): a cached read would show
            // this version followed by NULs. Read past the cache until the writer is done.
            let being_written = self
                .handles
                .open_write_size(store, alias, &target)
                .is_some();
            return Ok(self.open_for_reading(current, stale || being_written));
        }
        self.check_writable(store_node, node)?;
        let handle = WriteHandle::new(
            store.clone(),
            alias.clone(),
            target,
            *caller,
            truncate,
            &current,
        );
        let fh = self.handles.insert(Handle::Write(handle));
        Ok(write_opened(fh))
    }

    /// A read handle on `data`. The kernel's pages of a current inode hold exactly this
    /// version (a new version gets a new inode), so they are kept; an open through a name the
    /// kernel has not dropped yet reaches an older inode (`stale`) and reads past the cache.
    fn open_for_reading(&self, data: FileData, stale: bool) -> Opened {
        Opened {
            fh: self.handles.insert(Handle::Read { data }),
            keep_cache: !stale,
            no_flush: true,
            direct_io: stale,
        }
    }

    pub fn read(&self, fh: u64, offset: u64, size: u32) -> FsResult<ReadData> {
        self.handles.read(fh, offset, size)
    }

    pub fn write(&self, _caller: &Caller, fh: u64, offset: u64, data: &[u8]) -> FsResult<u32> {
        self.handles.write(fh, offset, data)
    }

    pub fn flush(&self, caller: &Caller, fh: u64) -> FsResult<()> {
        self.commit_handle(caller, fh, Commit::Flush)
    }

    pub fn fsync(&self, caller: &Caller, fh: u64) -> FsResult<()> {
        self.commit_handle(caller, fh, Commit::Flush)
    }

    /// The last chance to commit bytes nobody flushed (a killed writer); the kernel does not
    /// report release errors to anyone, so they are logged.
    pub fn release(&self, caller: &Caller, fh: u64) -> FsResult<()> {
        let result = self.commit_handle(caller, fh, Commit::Release);
        self.handles.remove(fh);
        if let Err(e) = &result {
            log::warn!(
                "release of handle {fh} by uid {} pid {}: {e}",
                caller.uid,
                caller.pid
            );
        }
        Ok(())
    }

    /// A create of key.pem is an open of a key for writing: audited as [`Self::open`] is.
    pub fn create(
        &self,
        caller: &Caller,
        parent: Ino,
        name: &OsStr,
        mode: u32,
        flags: i32,
    ) -> FsResult<(Attr, Opened)> {
        let result = self.create_file(caller, parent, name, mode, flags);
        if name == OsStr::new(FileName::Key.as_str()) {
            if let Ok(Node::Alias(store, alias)) = node_of(&self.read_state(), parent) {
                let opened = result
                    .as_ref()
                    .map(|(_, opened)| *opened)
                    .map_err(Clone::clone);
                audit::key_open(
                    caller,
                    &store,
                    &alias,
                    FileName::Key.as_str(),
                    flags | libc::O_WRONLY,
                    &opened,
                );
            }
        }
        result
    }

    fn create_file(
        &self,
        caller: &Caller,
        parent: Ino,
        name: &OsStr,
        _mode: u32,
        flags: i32,
    ) -> FsResult<(Attr, Opened)> {
        let mut state = self.write_state();
        let parent = node_of(&state, parent)?;
        let Node::Alias(store, alias) = &parent else {
            if let Node::Store(store) = &parent {
                if nodes::store(&state.view, store)?.is_read_only() {
                    return Err(FsError::read_only(store));
                }
            }
            return Err(FsError::meaningless(name.to_string_lossy()));
        };
        let store_node = nodes::store(&state.view, store)?;
        nodes::check_access(caller, store_node, Access::Write)?;
        let name = name
            .to_str()
            .ok_or_else(|| FsError::meaningless(name.to_string_lossy()))?;
        let node = match FileName::parse(name) {
            Some(file) => Node::File(store.clone(), alias.clone(), file),
            None => Node::Temp(store.clone(), alias.clone(), name.to_string()),
        };
        self.check_writable(store_node, &node)?;
        if !nodes::alias_exists(&state.view, &state.scratch, store, alias) {
            return Err(FsError::not_found(alias));
        }
        let existing = nodes::child(
            &state.view,
            &state.scratch,
            caller,
            &parent,
            OsStr::new(name),
        )
        .ok();
        if existing.is_some() && flags & libc::O_EXCL != 0 {
            return Err(FsError::new(libc::EEXIST, format!("{name} exists")));
        }
        let target = match &node {
            Node::Temp(s, a, n) => {
                if existing.is_none() {
                    add_temp(&mut state.scratch, s, a, n)?;
                }
                Target::Temp(n.clone())
            }
            Node::File(.., f) => Target::File(*f),
            _ => return Err(FsError::meaningless(name)),
        };
        let handle = WriteHandle::new(
            store.clone(),
            alias.clone(),
            target,
            *caller,
            true,
            &FileData::default(),
        );
        let fh = self.handles.insert(Handle::Write(handle));
        let mut attr = nodes::attr_of(&mut state, &node)
            .or_else(|_| nodes::new_file_attr(&mut state, &node))?;
        attr.size = 0;
        state.inodes.looked_up(attr.ino);
        Ok((attr, write_opened(fh)))
    }

    pub fn mkdir(&self, caller: &Caller, parent: Ino, name: &OsStr, _mode: u32) -> FsResult<Attr> {
        self.check_not_read_only()?;
        let parent = node_of(&self.read_state(), parent)?;
        let name =
            names::decode(name).ok_or_else(|| FsError::meaningless(name.to_string_lossy()))?;
        match &parent {
            Node::Root => {
                self.db()?.create_store(caller.uid, &name)?;
                self.reload()?;
                log::info!("uid {} created store [{name}] with mkdir", caller.uid);
                let mut state = self.write_state();
                let attr = nodes::attr_of(&mut state, &Node::Store(name))?;
                state.inodes.looked_up(attr.ino);
                Ok(attr)
            }
            Node::Store(store) => {
                let mut state = self.write_state();
                let store_node = nodes::store(&state.view, store)?;
                nodes::check_access(caller, store_node, Access::Write)?;
                if store_node.is_read_only() {
                    return Err(FsError::read_only(store));
                }
                store::names::check_alias_in(store, &name)?;
                if store_node.alias_folded(&name).is_some()
                    || empty_alias_folded(&state.scratch, store, &name)
                {
                    return Err(FsError::new(
                        libc::EEXIST,
                        format!("alias [{name}] exists in [{store}]"),
                    ));
                }
                add_empty_alias(&mut state.scratch, store, &name);
                let attr = nodes::attr_of(&mut state, &Node::Alias(store.clone(), name))?;
                state.inodes.looked_up(attr.ino);
                Ok(attr)
            }
            _ => Err(FsError::meaningless(name)),
        }
    }

    pub fn unlink(&self, caller: &Caller, parent: Ino, name: &OsStr) -> FsResult<()> {
        let node = {
            let state = self.read_state();
            let parent = node_of(&state, parent)?;
            nodes::child(&state.view, &state.scratch, caller, &parent, name)?
        };
        match &node {
            Node::File(store, alias, file) => {
                self.check_change(caller, store, &node)?;
                let half = match file {
                    FileName::Cert => store::Half::Cert,
                    FileName::Key => store::Half::Key,
                    FileName::Crl => return Err(FsError::read_only(store)),
                    FileName::Bundle => return Err(generated_is_read_only(file.as_str())),
                };
                self.db()?.remove_half(caller.uid, store, alias, half)?;
                log::info!(
                    "uid {} removed {} of [{store}/{alias}]",
                    caller.uid,
                    file.as_str()
                );
                self.reload()?;
                // The directory stays until rmdir (rm -r removes the files first).
                let mut state = self.write_state();
                let gone = nodes::store(&state.view, store)?.alias(alias).is_none();
                if gone {
                    add_empty_alias(&mut state.scratch, store, alias);
                }
                Ok(())
            }
            Node::Temp(store, alias, name) => {
                self.check_change(caller, store, &node)?;
                let mut state = self.write_state();
                if let Some(list) = state.scratch.temps.get_mut(&(store.clone(), alias.clone())) {
                    list.retain(|t| &t.name != name);
                }
                Ok(())
            }
            Node::CrlLink => Err(FsError::meaningless(store::names::CRL_STORE_VCENTER)),
            Node::Generated(_, name) => Err(generated_is_read_only(name)),
            _ => Err(FsError::new(libc::EISDIR, "a directory: use rmdir")),
        }
    }

    pub fn rmdir(&self, caller: &Caller, parent: Ino, name: &OsStr) -> FsResult<()> {
        let node = {
            let state = self.read_state();
            let parent = node_of(&state, parent)?;
            nodes::child(&state.view, &state.scratch, caller, &parent, name)?
        };
        match &node {
            Node::Store(store) => {
                self.check_not_read_only()?;
                if nodes::store(&self.read_state().view, store)?.is_read_only() {
                    return Err(FsError::read_only(store));
                }
                self.db()?.delete_empty_store(caller.uid, store)?;
                self.write_state().scratch.empty_aliases.remove(store);
                log::info!("uid {} deleted store [{store}] with rmdir", caller.uid);
                self.reload()
            }
            Node::Alias(store, alias) => {
                self.check_change(caller, store, &node)?;
                let has_entry = nodes::store(&self.read_state().view, store)?
                    .alias(alias)
                    .is_some();
                if has_entry {
                    self.db()?.delete_entry(caller.uid, store, alias)?;
                    log::info!(
                        "uid {} deleted entry [{store}/{alias}] with rmdir",
                        caller.uid
                    );
                }
                {
                    let mut state = self.write_state();
                    forget_scratch_alias(&mut state.scratch, store, alias);
                }
                self.reload()
            }
            _ => Err(FsError::new(libc::ENOTDIR, "not a directory")),
        }
    }

    pub fn rename(
        &self,
        caller: &Caller,
        parent: Ino,
        name: &OsStr,
        new_parent: Ino,
        new_name: &OsStr,
        flags: u32,
    ) -> FsResult<()> {
        if flags & RENAME_EXCHANGE != 0 {
            return Err(FsError::new(
                libc::EINVAL,
                "exchanging entries is not supported",
            ));
        }
        let (source, target_parent) = {
            let state = self.read_state();
            let parent = node_of(&state, parent)?;
            let source = nodes::child(&state.view, &state.scratch, caller, &parent, name)?;
            (source, node_of(&state, new_parent)?)
        };
        let new_name = new_name
            .to_str()
            .ok_or_else(|| FsError::meaningless(new_name.to_string_lossy()))?
            .to_string();
        let onto_itself = {
            let state = self.read_state();
            nodes::children(&state.view, &state.scratch, &target_parent)
                .iter()
                .any(|(name, node)| name.as_os_str() == OsStr::new(&new_name) && *node == source)
        };
        if onto_itself {
            return Ok(()); // renaming a name onto itself changes nothing
        }
        match (&source, &target_parent) {
            (Node::Alias(from_store, from_alias), Node::Store(to_store)) => {
                let to_alias = names::decode(OsStr::new(&new_name))
                    .ok_or_else(|| FsError::meaningless(&new_name))?;
                self.rename_alias(
                    caller,
                    (from_store, from_alias),
                    (to_store, &to_alias),
                    flags,
                )
            }
            (Node::Temp(s, a, _) | Node::File(s, a, _), Node::Alias(ts, ta))
                if (s, a) == (ts, ta) =>
            {
                self.rename_in_alias(caller, &source, &new_name, flags)
            }
            (Node::Temp(..) | Node::File(..), Node::Alias(..)) => Err(FsError::new(
                libc::EXDEV,
                "files move between aliases by copy (mv does this by itself)",
            )),
            _ => Err(FsError::new(
                libc::EPERM,
                "only aliases and the files in them can be renamed",
            )),
        }
    }

    pub fn setattr(&self, caller: &Caller, ino: Ino, changes: &SetAttr) -> FsResult<Attr> {
        let (node, stale) = node_for_io(&self.read_state(), ino)?;
        if let Some(size) = changes.size {
            self.truncate(caller, &node, size, changes.fh)?;
        }
        let mut state = self.write_state();
        let current = if stale {
            // `cat new > cert.pem` through a name the kernel has not dropped yet: the truncate
            // went to the path's handle; the older inode keeps its own attributes.
            match state.inodes.retired(ino).and_then(|r| r.attr.copied()) {
                Some(attr) => attr,
                None => return Err(FsError::new(libc::ENOENT, "replaced by a rename")),
            }
        } else {
            self.attr_or_being_written(&mut state, &node)?
        };
        if let Node::File(s, ..) | Node::Temp(s, ..) | Node::Alias(s, _) | Node::Store(s) = &node {
            let store = nodes::store(&state.view, s)?;
            if store.is_read_only() && *changes != SetAttr::default() && changes.fh.is_none() {
                return Err(FsError::read_only(s));
            }
        }
        if matches!(node, Node::Temp(..)) {
            // A temporary file's mode and owner mean nothing: the file it is renamed onto
            // takes the store's. Accepting them lets rsync and editors work.
            return Ok(current);
        }
        let same = changes.perm.is_none_or(|p| p & 0o7777 == current.perm)
            && changes.uid.is_none_or(|u| u == current.uid)
            && changes.gid.is_none_or(|g| g == current.gid);
        if !same {
            return Err(FsError::new(
                libc::EPERM,
                "owner and mode follow the store's permissions: use vecs-cli store permission",
            ));
        }
        Ok(current)
    }

    /// Only the `user.` namespace exists here. Any other name (`security.selinux`,
    /// `system.posix_acl_access`, …) is EOPNOTSUPP, not ENODATA: ls(1) and cp(1) remember an
    /// unsupported namespace per filesystem, but ask again for every file after ENODATA,
    /// which cost `ls -l` three round trips per alias.
    pub fn getxattr(&self, caller: &Caller, ino: Ino, name: &OsStr) -> FsResult<Vec<u8>> {
        if !name.as_encoded_bytes().starts_with(b"user.") {
            return Err(FsError::new(
                libc::EOPNOTSUPP,
                "only user.* attributes are served",
            ));
        }
        let attrs = self.xattrs(caller, ino)?;
        attrs
            .into_iter()
            .find(|(n, _)| OsStr::new(n) == name)
            .map(|(_, v)| v.into_bytes())
            .ok_or_else(|| FsError::new(libc::ENODATA, "no such attribute"))
    }

    pub fn listxattr(&self, caller: &Caller, ino: Ino) -> FsResult<Vec<OsString>> {
        Ok(self
            .xattrs(caller, ino)?
            .into_iter()
            .map(|(n, _)| OsString::from(n))
            .collect())
    }

    pub fn statfs(&self) -> FsResult<StatFs> {
        let state = self.read_state();
        let bytes: usize = state
            .view
            .stores
            .iter()
            .flat_map(|s| s.aliases.iter())
            .flat_map(|a| a.files())
            .map(|(_, d)| d.len())
            .sum();
        let blocks = (bytes as u64).div_ceil(4096).max(1);
        Ok(StatFs {
            blocks,
            bfree: 0,
            bavail: 0,
            files: state.inodes.len() as u64,
            ffree: 0,
            bsize: 4096,
            namelen: 255,
            frsize: 4096,
        })
    }

    /// Re-reads the store if another process changed it; returns what the kernel must forget.
    pub fn refresh_if_changed(&self) -> FsResult<Vec<Invalidation>> {
        let generation = self.db()?.generation()?;
        if generation != self.read_state().view.generation {
            self.reload()?;
        }
        Ok(self.take_invalidations())
    }

    /// Kernel cache entries made stale since the last call.
    pub fn take_invalidations(&self) -> Vec<Invalidation> {
        std::mem::take(&mut *lock(&self.invalidations))
    }

    fn xattrs(&self, caller: &Caller, ino: Ino) -> FsResult<Vec<(String, String)>> {
        let state = self.read_state();
        let (store, alias) = match node_of(&state, ino)? {
            Node::Alias(s, a) | Node::File(s, a, _) => (s, a),
            Node::Store(s) => {
                // The names found by lookup only (see `nodes::children`), for discovery.
                let store_node = nodes::store(&state.view, &s)?;
                nodes::check_access(caller, store_node, Access::Read)?;
                if store_node.generated.is_empty() {
                    return Ok(Vec::new());
                }
                let names: Vec<&str> = store_node.generated.keys().map(String::as_str).collect();
                return Ok(vec![("user.vecs.generated".to_string(), names.join(" "))]);
            }
            _ => return Ok(Vec::new()),
        };
        let store_node = nodes::store(&state.view, &store)?;
        nodes::check_access(caller, store_node, Access::Read)?;
        let Some(entry) = store_node.alias(&alias) else {
            return Ok(Vec::new());
        };
        let mut attrs = vec![
            (
                "user.vecs.type".to_string(),
                entry.entry_type.vecs_name().to_string(),
            ),
            (
                "user.vecs.source".to_string(),
                if entry.from_sync { "sync" } else { "hand" }.to_string(),
            ),
        ];
        if entry.file(FileName::Bundle).is_some() {
            attrs.push(("user.vecs.generated".to_string(), "bundle.pem".to_string()));
        }
        // What `getfattr -d` shows of the certificate (the leaf of a chain).
        if let Some(s) = entry.summary().cloned() {
            let time = crate::pki::utc;
            for (name, value) in [
                ("subject", s.subject),
                ("issuer", s.issuer),
                ("serial", s.serial),
                ("sha1", s.sha1),
                ("sha256", s.sha256),
                ("not_before", time(s.not_before)),
                ("not_after", time(s.not_after)),
            ] {
                attrs.push((format!("user.vecs.{name}"), value));
            }
        }
        if let Some((half, since)) = entry.pending {
            let half = if half == store::Half::Cert {
                "cert.pem"
            } else {
                "key.pem"
            };
            attrs.push((
                "user.vecs.pending".to_string(),
                format!("{half} since {since}"),
            ));
        }
        Ok(attrs)
    }

    /// Rebuilds the view from the store and queues the kernel invalidations of what changed.
    /// Only the stores that changed since the view shown are read from the database.
    fn reload(&self) -> FsResult<()> {
        let shown = self.read_state().view.share();
        let held: std::collections::HashSet<_> = shown.stores.iter().map(|s| s.version).collect();
        let snapshot = self.db()?.snapshot_since(&|v| held.contains(&v))?;
        self.install(View::from_snapshot(snapshot, Some(&shown)));
        Ok(())
    }

    /// Shows `new_view` unless a later one is shown already. Reloads run concurrently (a
    /// commit's and the poller's) and each builds its view outside the lock, so they may
    /// finish in either order; installing an older image would bring back replaced content
    /// (until the next poll) right after the close(2) that replaced it.
    fn install(&self, new_view: View) {
        let mut state = self.write_state();
        if new_view.generation < state.view.generation {
            return;
        }
        let changes = Changes::between(&state.view, &new_view);
        // Every changed file's current inode becomes an older version, keeping the attributes
        // it had; the path gets a fresh inode (with an empty page cache) on next lookup.
        let changed_files = changes
            .files
            .iter()
            .map(|(s, a, f)| Node::File(s.clone(), a.clone(), *f));
        let changed_generated = changes
            .generated
            .iter()
            .map(|(s, n)| Node::Generated(s.clone(), n.clone()));
        for node in changed_files.chain(changed_generated) {
            if state.inodes.existing(&node).is_some() {
                let attr = nodes::attr_of(&mut state, &node).ok();
                state.inodes.retire(&node, attr);
            }
        }
        state.view = new_view;
        // An empty alias directory that now has an entry (made by another process) is that
        // entry's directory.
        let State { view, scratch, .. } = &mut *state;
        for (store, aliases) in scratch.empty_aliases.iter_mut() {
            if let Some(node) = view.store(store) {
                aliases.retain(|a| node.alias_folded(a).is_none());
            }
        }
        let invalidations = invalidations_for(&mut state.inodes, &changes);
        drop(state);
        lock(&self.invalidations).extend(invalidations);
    }

    fn check_not_read_only(&self) -> FsResult<()> {
        if self.options.read_only {
            Err(FsError::new(libc::EROFS, "the mount is read-only"))
        } else {
            Ok(())
        }
    }

    /// A change under `store` by `caller`: the mount and the store must allow it.
    fn check_change(&self, caller: &Caller, store: &str, node: &Node) -> FsResult<()> {
        self.check_not_read_only()?;
        let state = self.read_state();
        let store_node = nodes::store(&state.view, store)?;
        nodes::check_access(caller, store_node, Access::Write)?;
        self.check_writable(store_node, node)
    }

    fn check_writable(&self, store: &view::StoreNode, node: &Node) -> FsResult<()> {
        self.check_not_read_only()?;
        if store.is_read_only() {
            return Err(FsError::read_only(&store.name));
        }
        if let Node::File(_, _, FileName::Crl) = node {
            return Err(FsError::meaningless("crl.pem"));
        }
        if let Node::File(_, _, FileName::Bundle) = node {
            return Err(generated_is_read_only("bundle.pem"));
        }
        Ok(())
    }

    fn db(&self) -> FsResult<MutexGuard<'_, Database>> {
        Ok(lock(&self.db))
    }

    fn read_state(&self) -> RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn write_opened(fh: u64) -> Opened {
    Opened {
        fh,
        keep_cache: false,
        no_flush: false,
        direct_io: true,
    }
}

/// A poisoned lock only means another request panicked (and answered EIO); the data under it
/// is still consistent because every change to it is a single assignment.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn generated_is_read_only(name: &str) -> FsError {
    FsError::new(
        libc::EPERM,
        format!("{name} is computed from the store and read-only"),
    )
}

/// The path an open or truncate acts on, and whether `ino` is an older version of it (reached
/// through a name the kernel has not dropped yet).
fn node_for_io(state: &State, ino: Ino) -> FsResult<(Node, bool)> {
    if let Some(node) = state.inodes.node(ino) {
        return Ok((node.clone(), false));
    }
    match state.inodes.retired(ino) {
        Some(retired) if retired.attr.is_some() => Ok((retired.node.clone(), true)),
        _ => Err(FsError::new(
            libc::ENOENT,
            format!("inode {ino} is not known"),
        )),
    }
}

fn node_of(state: &State, ino: Ino) -> FsResult<Node> {
    state
        .inodes
        .node(ino)
        .cloned()
        .ok_or_else(|| FsError::new(libc::ENOENT, format!("inode {ino} is not known")))
}

fn invalidations_for(inodes: &mut Inodes, changes: &Changes) -> Vec<Invalidation> {
    let mut out = Vec::new();
    for store in &changes.stores {
        out.push(Invalidation::Entry {
            parent: ROOT_INO,
            name: names::encode(store),
        });
    }
    for store in &changes.store_attrs {
        if let Some(ino) = inodes.existing(&Node::Store(store.clone())) {
            out.push(Invalidation::Inode(ino));
        }
    }
    for (store, alias) in &changes.aliases {
        if let Some(parent) = inodes.existing(&Node::Store(store.clone())) {
            out.push(Invalidation::Entry {
                parent,
                name: names::encode(alias),
            });
        }
        if let Some(ino) = inodes.existing(&Node::Alias(store.clone(), alias.clone())) {
            out.push(Invalidation::Inode(ino));
        }
    }
    // A changed file's name now leads to a new inode (its old one was retired).
    for (store, alias, file) in &changes.files {
        if let Some(parent) = inodes.existing(&Node::Alias(store.clone(), alias.clone())) {
            out.push(Invalidation::Entry {
                parent,
                name: file.as_str().into(),
            });
        }
    }
    for (store, name) in &changes.generated {
        if let Some(parent) = inodes.existing(&Node::Store(store.clone())) {
            out.push(Invalidation::Entry {
                parent,
                name: name.into(),
            });
        }
    }
    for (store, alias, file) in &changes.file_attrs {
        if let Some(ino) = inodes.existing(&Node::File(store.clone(), alias.clone(), *file)) {
            out.push(Invalidation::Inode(ino));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::pki::parse_cert_chain;
    use crate::pki::test_support::Material;
    use crate::store::EntryContent;

    fn fs_on_temp_db() -> (tempfile::TempDir, VecsFs) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("vecs.db");
        Database::open(&path).expect("create the database");
        let fs = VecsFs::open_db(&path, FsOptions::default()).expect("open the fs");
        (dir, fs)
    }

    /// The poller's reload may build its view from a snapshot taken before a commit whose own
    /// reload then finishes first: the older view must not replace the newer one.
    #[test]
    fn an_older_view_never_replaces_a_newer_one() {
        let (_dir, fs) = fs_on_temp_db();
        let older = fs.db().expect("db").snapshot().expect("snapshot");
        let chain = parse_cert_chain(&Material::new().read("rsa.crt")).expect("certificate");
        fs.db()
            .expect("db")
            .add_entry(
                0,
                crate::store::names::TRUSTED_ROOTS,
                Some("a"),
                &EntryContent::trusted_cert(&chain),
            )
            .expect("add entry");
        fs.reload().expect("reload");
        let shown = fs.read_state().view.generation;
        assert!(shown > older.generation);
        fs.take_invalidations();

        fs.install(View::from_snapshot(older, None));
        assert_eq!(fs.read_state().view.generation, shown);
        assert!(
            fs.take_invalidations().is_empty(),
            "a discarded view invalidates nothing"
        );
    }
}
