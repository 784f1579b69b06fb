//! The plain types the filesystem layer speaks: no FUSE types, so that it can be tested and
//! reasoned about on its own.

use std::ffi::OsString;
use std::time::SystemTime;

/// An inode number. Numbers are never reused while the daemon runs.
pub type Ino = u64;

/// The mount's root directory.
pub const ROOT_INO: Ino = 1;

/// Who is asking, as the kernel tells the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    pub pid: u32,
}

impl Caller {
    pub const ROOT: Caller = Caller {
        uid: 0,
        gid: 0,
        pid: 0,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Directory,
    File,
    Symlink,
}

/// What `stat` shows of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr {
    pub ino: Ino,
    pub kind: NodeKind,
    pub size: u64,
    /// Permission bits only (e.g. 0o644).
    pub perm: u16,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: SystemTime,
    pub ctime: SystemTime,
}

/// One name in a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: OsString,
    pub attr: Attr,
}

/// How an open handle wants the kernel to treat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    pub fh: u64,
    /// The content is what the kernel may have cached: keep the page cache.
    pub keep_cache: bool,
    /// Read-only handle: the kernel need not send a flush on close.
    pub no_flush: bool,
    /// Bypass the page cache (write handles, so refused bytes are never cached).
    pub direct_io: bool,
}

/// The changes of a `setattr` call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetAttr {
    pub perm: Option<u16>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    /// Times are accepted and not kept: the store's times are the entries'.
    pub times: bool,
    pub fh: Option<u64>,
}

/// What `statfs` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatFs {
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub bsize: u32,
    pub namelen: u32,
    pub frsize: u32,
}

/// A kernel cache entry that no longer holds, to be dropped by the adapter's notifier thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// Attributes and cached pages of an inode.
    Inode(Ino),
    /// A name in a directory (positive or negative dentry).
    Entry { parent: Ino, name: OsString },
}

/// rename(2) flags the filesystem understands.
pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;
