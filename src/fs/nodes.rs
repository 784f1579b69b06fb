//! Paths of the mount: what lives under each directory, what it looks like to `stat`, and who
//! may see it.

use std::ffi::{OsStr, OsString};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::error::{FsError, FsResult};
use super::inodes::Node;
use super::names;
use super::types::{Attr, Caller, NodeKind};
use super::view::{FileData, FileName, StoreNode, View};
use super::{temp, Scratch, State};
use crate::store::{self, access, Access, WRITE_STORE};
use crate::users::Principal;

pub fn store<'a>(view: &'a View, name: &str) -> FsResult<&'a StoreNode> {
    view.store(name)
        .ok_or_else(|| FsError::not_found(format!("store [{name}]")))
}

/// The store's VECS permissions decide, for every caller, whatever the kernel has cached.
pub fn check_access(caller: &Caller, store: &StoreNode, access: Access) -> FsResult<()> {
    if access::allows(caller.uid, store.owner_uid, &store.grants, access) {
        Ok(())
    } else {
        let verb = if access == Access::Read {
            "read"
        } else {
            "write"
        };
        Err(FsError::new(
            libc::EACCES,
            format!("uid {} may not {verb} store [{}]", caller.uid, store.name),
        ))
    }
}

pub fn file_data<'a>(
    view: &'a View,
    store: &str,
    alias: &str,
    file: FileName,
) -> Option<&'a FileData> {
    view.store(store)?.alias(alias)?.file(file)
}

pub fn alias_exists(view: &View, scratch: &Scratch, store: &str, alias: &str) -> bool {
    view.store(store).is_some_and(|s| s.alias(alias).is_some())
        || scratch
            .empty_aliases
            .get(store)
            .is_some_and(|list| list.iter().any(|a| a == alias))
}

/// The node `name` names under `parent`, if the caller may see it.
pub fn child(
    view: &View,
    scratch: &Scratch,
    caller: &Caller,
    parent: &Node,
    name: &OsStr,
) -> FsResult<Node> {
    let missing = || FsError::not_found(name.to_string_lossy());
    match parent {
        Node::Root => {
            if name == OsStr::new(store::names::CRL_STORE_VCENTER) {
                return Ok(Node::CrlLink);
            }
            let decoded = names::decode(name).ok_or_else(missing)?;
            view.store(&decoded).ok_or_else(missing)?;
            Ok(Node::Store(decoded))
        }
        Node::Store(s) => {
            let st = store(view, s)?;
            check_access(caller, st, Access::Read)?;
            if let Some(generated) = name.to_str().filter(|n| st.generated.contains_key(*n)) {
                return Ok(Node::Generated(s.clone(), generated.to_string()));
            }
            let alias = names::decode(name).ok_or_else(missing)?;
            if alias_exists(view, scratch, s, &alias) {
                Ok(Node::Alias(s.clone(), alias))
            } else {
                Err(missing())
            }
        }
        Node::Alias(s, a) => {
            check_access(caller, store(view, s)?, Access::Read)?;
            let name = name.to_str().ok_or_else(missing)?;
            if let Some(file) = FileName::parse(name) {
                return file_data(view, s, a, file)
                    .map(|_| Node::File(s.clone(), a.clone(), file))
                    .ok_or_else(missing);
            }
            temp(scratch, s, a, name)
                .map(|_| Node::Temp(s.clone(), a.clone(), name.to_string()))
                .ok_or_else(missing)
        }
        _ => Err(FsError::new(libc::ENOTDIR, "not a directory")),
    }
}

/// Listing a store or alias directory needs read on the store; the root is open to all, as
/// `vecs-cli store list` is.
pub fn check_listable(
    view: &View,
    scratch: &Scratch,
    caller: &Caller,
    node: &Node,
) -> FsResult<()> {
    match node {
        Node::Root => Ok(()),
        Node::Store(s) => check_access(caller, store(view, s)?, Access::Read),
        Node::Alias(s, a) => {
            check_access(caller, store(view, s)?, Access::Read)?;
            if alias_exists(view, scratch, s, a) {
                Ok(())
            } else {
                Err(FsError::not_found(a))
            }
        }
        _ => Err(FsError::new(libc::ENOTDIR, "not a directory")),
    }
}

pub fn parent_of(node: &Node) -> Node {
    match node {
        Node::Root | Node::CrlLink | Node::Store(_) => Node::Root,
        Node::Generated(s, _) => Node::Store(s.clone()),
        Node::Alias(s, _) => Node::Store(s.clone()),
        Node::File(s, a, _) | Node::Temp(s, a, _) => Node::Alias(s.clone(), a.clone()),
    }
}

/// The names under a directory, in the order `ls -U` shows them: stores and aliases in
/// creation order.
pub fn children(view: &View, scratch: &Scratch, node: &Node) -> Vec<(OsString, Node)> {
    match node {
        Node::Root => {
            let mut out: Vec<(OsString, Node)> = view
                .stores
                .iter()
                .map(|s| (names::encode(&s.name), Node::Store(s.name.clone())))
                .collect();
            out.push((store::names::CRL_STORE_VCENTER.into(), Node::CrlLink));
            out
        }
        Node::Store(s) => {
            let mut out: Vec<(OsString, Node)> = view
                .store(s)
                .map(|st| {
                    st.aliases
                        .iter()
                        .map(|a| {
                            (
                                names::encode(&a.alias),
                                Node::Alias(s.clone(), a.alias.clone()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            for alias in scratch.empty_aliases.get(s).into_iter().flatten() {
                out.push((names::encode(alias), Node::Alias(s.clone(), alias.clone())));
            }
            // Generated files are found by name (what OpenSSL's CApath lookup and a service's
            // configured path do) but not listed: copies and backups (cp -r, tar, rsync) hold
            // only what can be written back, and rm -r finds nothing it cannot remove.
            out
        }
        Node::Alias(s, a) => {
            let mut out: Vec<(OsString, Node)> = view
                .store(s)
                .and_then(|st| st.alias(a))
                .map(|entry| {
                    entry
                        .files()
                        .filter(|(f, _)| f.is_writable() || *f == FileName::Crl)
                        .map(|(f, _)| (f.as_str().into(), Node::File(s.clone(), a.clone(), f)))
                        .collect()
                })
                .unwrap_or_default();
            let temps = scratch.temps.get(&(s.clone(), a.clone()));
            for t in temps.into_iter().flatten() {
                out.push((
                    t.name.clone().into(),
                    Node::Temp(s.clone(), a.clone(), t.name.clone()),
                ));
            }
            out
        }
        _ => Vec::new(),
    }
}

/// What `stat` shows of a node: owner and mode follow the store's permissions.
pub fn attr_of(state: &mut State, node: &Node) -> FsResult<Attr> {
    let ino = state.inodes.ino(node);
    let view = &state.view;
    let attr = match node {
        Node::Root => dir_attr(ino, 0o755, 0, SystemTime::now()),
        Node::CrlLink => {
            // As old as the store it names (ls -l showed 1970 otherwise).
            let created = view
                .store(store::names::CRL_STORE)
                .map_or(UNIX_EPOCH, |st| time(st.created_at));
            Attr {
                ino,
                kind: NodeKind::Symlink,
                size: store::names::CRL_STORE.len() as u64,
                perm: 0o777,
                nlink: 1,
                uid: 0,
                gid: 0,
                mtime: created,
                ctime: created,
            }
        }
        Node::Store(s) => {
            let st = store(view, s)?;
            dir_attr(ino, dir_perm(st), st.owner_uid, time(st.created_at))
        }
        Node::Alias(s, a) => {
            let st = store(view, s)?;
            let mtime = st.alias(a).map(|e| time(e.modified_at));
            if mtime.is_none() && !alias_exists(view, &state.scratch, s, a) {
                return Err(FsError::not_found(a));
            }
            let since = state
                .scratch
                .empty_alias_times
                .get(&(s.clone(), a.clone()))
                .copied();
            dir_attr(
                ino,
                dir_perm(st),
                st.owner_uid,
                mtime.or(since).unwrap_or(UNIX_EPOCH),
            )
        }
        Node::File(s, a, f) => {
            let st = store(view, s)?;
            let entry = st.alias(a).ok_or_else(|| FsError::not_found(a))?;
            let data = entry
                .file(*f)
                .ok_or_else(|| FsError::not_found(f.as_str()))?;
            file_attr(
                ino,
                data.len(),
                file_perm(st, *f),
                st.owner_uid,
                time(entry.modified_at),
            )
        }
        Node::Temp(s, a, n) => {
            let st = store(view, s)?;
            let t = temp(&state.scratch, s, a, n).ok_or_else(|| FsError::not_found(n))?;
            file_attr(ino, t.data.len(), 0o600, st.owner_uid, t.mtime)
        }
        Node::Generated(s, n) => {
            let st = store(view, s)?;
            let data = st.generated.get(n).ok_or_else(|| FsError::not_found(n))?;
            let newest = st.aliases.iter().map(|a| a.modified_at).max();
            let mtime = time(newest.unwrap_or(st.created_at));
            let perm = if everyone_mask(st) != 0 { 0o444 } else { 0o400 };
            file_attr(ino, data.len(), perm, st.owner_uid, mtime)
        }
    };
    Ok(attr)
}

/// The attributes of a file that `create` made and nothing has committed yet.
pub fn new_file_attr(state: &mut State, node: &Node) -> FsResult<Attr> {
    let ino = state.inodes.ino(node);
    match node {
        Node::File(s, _, f) => {
            let st = store(&state.view, s)?;
            Ok(file_attr(
                ino,
                0,
                file_perm(st, *f),
                st.owner_uid,
                SystemTime::now(),
            ))
        }
        _ => attr_of(state, node),
    }
}

fn dir_attr(ino: u64, perm: u16, uid: u32, mtime: SystemTime) -> Attr {
    Attr {
        ino,
        kind: NodeKind::Directory,
        size: 0,
        perm,
        nlink: 2,
        uid,
        gid: 0,
        mtime,
        ctime: mtime,
    }
}

fn file_attr(ino: u64, size: usize, perm: u16, uid: u32, mtime: SystemTime) -> Attr {
    Attr {
        ino,
        kind: NodeKind::File,
        size: size as u64,
        perm,
        nlink: 1,
        uid,
        gid: 0,
        mtime,
        ctime: mtime,
    }
}

/// What EVERYONE may do, as mode bits for group and others.
fn everyone_mask(store: &StoreNode) -> u32 {
    store
        .grants
        .iter()
        .filter(|g| g.principal == Principal::Everyone)
        .fold(0, |acc, g| acc | g.mask)
}

fn dir_perm(store: &StoreNode) -> u16 {
    let everyone = everyone_mask(store);
    let writable = !store.is_read_only();
    let owner = if writable { 0o700 } else { 0o500 };
    let others = if everyone == 0 {
        0
    } else if everyone >= WRITE_STORE && writable {
        0o077
    } else {
        0o055
    };
    owner | others
}

/// key.pem is never group- or world-readable; cert.pem and crl.pem are when EVERYONE reads.
fn file_perm(store: &StoreNode, file: FileName) -> u16 {
    let everyone_reads = everyone_mask(store) != 0;
    match file {
        FileName::Key | FileName::Bundle => 0o600,
        FileName::Cert if everyone_reads => 0o644,
        FileName::Cert => 0o600,
        FileName::Crl if everyone_reads => 0o444,
        FileName::Crl => 0o400,
    }
}

fn time(unix: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix.max(0) as u64)
}
