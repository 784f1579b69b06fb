//! The FUSE floor: a minimal read-only filesystem, built with the same fuser and the same
//! kernel-facing choices as vecsfs (entry/attr TTLs, `FOPEN_KEEP_CACHE | FOPEN_NOFLUSH` on
//! open, a file handle per open, the same event-loop threads), serving an in-memory copy of a
//! directory tree. Whatever it costs, any FUSE design with per-open handles pays: the hot-read
//! rows compare vecsfs with it. (It asks for none of vecsfs's optional capabilities:
//! READDIRPLUS, AUTO_INVAL_DATA and the 1 MiB readahead concern listings, invalidation and
//! first reads, not the hot open-read-close it is the floor of.)
//!
//! It runs in its own process (`table __floor SOURCE MOUNTPOINT`), as vecsfs does, and serves
//! until the mount is unmounted.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::time::SystemTime;

use fuser::{
    Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    LockOwner, MountOption, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, Request, Session,
};
use vecsfs::fuse::convert::{ATTR_TTL, ENTRY_TTL};

enum Node {
    Dir(Vec<(OsString, u64)>),
    File(Vec<u8>),
}

struct Floor {
    nodes: HashMap<u64, Node>,
}

impl Floor {
    /// Reads `source` (directories and regular files) into memory; the root is inode 1.
    fn load(source: &Path) -> std::io::Result<Floor> {
        let mut floor = Floor {
            nodes: HashMap::new(),
        };
        let mut next = 2;
        floor.load_dir(source, 1, &mut next)?;
        Ok(floor)
    }

    fn load_dir(&mut self, dir: &Path, ino: u64, next: &mut u64) -> std::io::Result<()> {
        let mut children = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let child = *next;
            *next += 1;
            if entry.file_type()?.is_dir() {
                self.load_dir(&entry.path(), child, next)?;
            } else {
                self.nodes
                    .insert(child, Node::File(std::fs::read(entry.path())?));
            }
            children.push((entry.file_name(), child));
        }
        self.nodes.insert(ino, Node::Dir(children));
        Ok(())
    }

    fn attr(&self, ino: u64) -> Option<FileAttr> {
        let (kind, size, perm, nlink) = match self.nodes.get(&ino)? {
            Node::Dir(_) => (FileType::Directory, 0, 0o755, 2),
            Node::File(data) => (FileType::RegularFile, data.len() as u64, 0o644, 1),
        };
        Some(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: SystemTime::UNIX_EPOCH,
            mtime: SystemTime::UNIX_EPOCH,
            ctime: SystemTime::UNIX_EPOCH,
            crtime: SystemTime::UNIX_EPOCH,
            kind,
            perm,
            nlink,
            uid: 0,
            gid: 0,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }
}

impl Filesystem for Floor {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let found = match self.nodes.get(&parent.0) {
            Some(Node::Dir(children)) => children.iter().find(|(n, _)| n == name),
            _ => None,
        };
        match found.and_then(|(_, ino)| self.attr(*ino)) {
            Some(attr) => reply.entry(&ENTRY_TTL, &attr, Generation(0)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.attr(ino.0) {
            Some(attr) => reply.attr(&ATTR_TTL, &attr),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.nodes.get(&ino.0) {
            Some(Node::File(_)) => reply.opened(
                FileHandle(ino.0),
                FopenFlags::FOPEN_KEEP_CACHE | FopenFlags::FOPEN_NOFLUSH,
            ),
            _ => reply.error(Errno::EISDIR),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.nodes.get(&ino.0) {
            Some(Node::File(data)) => {
                let start = (offset as usize).min(data.len());
                let end = start.saturating_add(size as usize).min(data.len());
                reply.data(&data[start..end]);
            }
            _ => reply.error(Errno::EISDIR),
        }
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let Some(Node::Dir(children)) = self.nodes.get(&ino.0) else {
            return reply.error(Errno::ENOTDIR);
        };
        for (i, (name, child)) in children.iter().enumerate().skip(offset as usize) {
            let kind = match self.nodes.get(child) {
                Some(Node::Dir(_)) => FileType::Directory,
                _ => FileType::RegularFile,
            };
            if reply.add(INodeNo(*child), i as u64 + 1, kind, name) {
                break;
            }
        }
        reply.ok();
    }
}

/// Serves `source` at `mountpoint` until it is unmounted.
pub fn serve(source: &Path, mountpoint: &Path) -> std::io::Result<()> {
    let floor = Floor::load(source)?;
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName("vecs-floor".into()),
        MountOption::NoSuid,
        MountOption::NoDev,
        MountOption::NoExec,
    ];
    config.n_threads = Some(vecsfs::fuse::THREADS);
    Session::new(floor, mountpoint, &config)?.run()
}
