//! Translations between fuser's types and the filesystem layer's plain ones. Nothing here
//! decides anything: every function is a one-to-one mapping, kept apart so that it can be unit
//! tested without a mount.

use std::time::Duration;

use fuser::{Errno, FileAttr, FileType, FopenFlags, INodeNo, RenameFlags, Request};

use crate::fs::FsError;
use crate::fs::{Attr, Caller, NodeKind, Opened, RENAME_EXCHANGE, RENAME_NOREPLACE};

/// How long the kernel may trust a name → inode mapping. Long, because every change, through
/// the mount or through vecs-cli, is followed by an explicit invalidation.
pub const ENTRY_TTL: Duration = Duration::from_secs(60);
/// How long the kernel may trust an inode's attributes (same reasoning as [`ENTRY_TTL`]).
pub const ATTR_TTL: Duration = Duration::from_secs(60);
/// How long the kernel may remember that a name does not exist. Short: services probe for
/// optional files, and a name created out of band must appear even if an invalidation is lost.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(1);

/// `stat` reports blocks of 512 bytes whatever the block size (stat(2)).
const STAT_BLOCK: u64 = 512;
/// The preferred I/O size shown by `stat`; files are a few KiB, one page is plenty.
pub const BLKSIZE: u32 = 4096;

/// Who sent a request. The kernel gives the caller's fsuid/fsgid and pid (pid may be 0).
pub fn caller(req: &Request) -> Caller {
    Caller {
        uid: req.uid(),
        gid: req.gid(),
        pid: req.pid(),
    }
}

fn file_type(kind: NodeKind) -> FileType {
    match kind {
        NodeKind::Directory => FileType::Directory,
        NodeKind::File => FileType::RegularFile,
        NodeKind::Symlink => FileType::Symlink,
    }
}

/// The kernel's view of a node. The store keeps no access time, so atime shows the mtime.
pub fn file_attr(attr: &Attr) -> FileAttr {
    FileAttr {
        ino: INodeNo(attr.ino),
        size: attr.size,
        blocks: attr.size.div_ceil(STAT_BLOCK),
        atime: attr.mtime,
        mtime: attr.mtime,
        ctime: attr.ctime,
        crtime: attr.ctime,
        kind: file_type(attr.kind),
        perm: attr.perm,
        nlink: attr.nlink,
        uid: attr.uid,
        gid: attr.gid,
        rdev: 0,
        blksize: BLKSIZE,
        flags: 0,
    }
}

/// The directory-entry type of a node, for plain `readdir`.
pub fn dir_entry_type(attr: &Attr) -> FileType {
    file_type(attr.kind)
}

/// A negative entry: node id 0 tells the kernel "no such name" and lets it cache that answer
/// for the entry TTL ("Zero nodeid is same as -ENOENT, but with valid timeout",
/// fs/fuse/dir.c). The other fields only have to be well formed.
pub fn negative_attr() -> FileAttr {
    FileAttr {
        ino: INodeNo(0),
        size: 0,
        blocks: 0,
        atime: std::time::UNIX_EPOCH,
        mtime: std::time::UNIX_EPOCH,
        ctime: std::time::UNIX_EPOCH,
        crtime: std::time::UNIX_EPOCH,
        kind: FileType::RegularFile,
        perm: 0,
        nlink: 0,
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: BLKSIZE,
        flags: 0,
    }
}

/// How the kernel must treat an open handle.
pub fn fopen_flags(opened: &Opened) -> FopenFlags {
    let mut flags = FopenFlags::empty();
    if opened.keep_cache {
        flags |= FopenFlags::FOPEN_KEEP_CACHE;
    }
    if opened.no_flush {
        flags |= FopenFlags::FOPEN_NOFLUSH;
    }
    if opened.direct_io {
        flags |= FopenFlags::FOPEN_DIRECT_IO;
    }
    flags
}

/// renameat2(2) flags as the filesystem layer spells them. `RENAME_WHITEOUT` (overlayfs only)
/// and unknown bits are refused with EINVAL, as a filesystem that does not support them must.
pub fn rename_flags(flags: RenameFlags) -> Result<u32, FsError> {
    let mut out = 0;
    let mut rest = flags;
    if rest.contains(RenameFlags::RENAME_NOREPLACE) {
        out |= RENAME_NOREPLACE;
        rest.remove(RenameFlags::RENAME_NOREPLACE);
    }
    if rest.contains(RenameFlags::RENAME_EXCHANGE) {
        out |= RENAME_EXCHANGE;
        rest.remove(RenameFlags::RENAME_EXCHANGE);
    }
    if rest.is_empty() {
        Ok(out)
    } else {
        Err(FsError::new(
            libc::EINVAL,
            format!("rename: unsupported flags {:#x}", rest.bits()),
        ))
    }
}

/// The errno the kernel gets for a refused operation (non-positive values become EIO).
pub fn errno(err: &FsError) -> Errno {
    Errno::from_i32(err.errno)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn attr(kind: NodeKind, size: u64) -> Attr {
        Attr {
            ino: 42,
            kind,
            size,
            perm: 0o600,
            nlink: 1,
            uid: 7,
            gid: 8,
            mtime: UNIX_EPOCH + Duration::from_secs(100),
            ctime: UNIX_EPOCH + Duration::from_secs(200),
        }
    }

    #[test]
    fn attr_maps_field_by_field_with_512_byte_blocks() {
        let a = file_attr(&attr(NodeKind::File, 1025));
        assert_eq!(a.ino, INodeNo(42));
        assert_eq!(a.size, 1025);
        assert_eq!(a.blocks, 3);
        assert_eq!(a.blksize, 4096);
        assert_eq!(a.kind, FileType::RegularFile);
        assert_eq!((a.perm, a.nlink, a.uid, a.gid), (0o600, 1, 7, 8));
        assert_eq!(a.mtime, UNIX_EPOCH + Duration::from_secs(100));
        assert_eq!(a.atime, a.mtime);
        assert_eq!(a.ctime, UNIX_EPOCH + Duration::from_secs(200));
        assert_eq!(file_attr(&attr(NodeKind::File, 0)).blocks, 0);
        assert_eq!(file_attr(&attr(NodeKind::File, 512)).blocks, 1);
        assert_eq!(
            file_attr(&attr(NodeKind::Directory, 0)).kind,
            FileType::Directory
        );
        assert_eq!(
            dir_entry_type(&attr(NodeKind::Symlink, 18)),
            FileType::Symlink
        );
    }

    #[test]
    fn negative_entry_has_node_id_zero() {
        assert_eq!(negative_attr().ino, INodeNo(0));
    }

    #[test]
    fn open_flags_map_one_to_one() {
        let none = Opened {
            fh: 1,
            keep_cache: false,
            no_flush: false,
            direct_io: false,
        };
        assert_eq!(fopen_flags(&none), FopenFlags::empty());
        let read = Opened {
            keep_cache: true,
            no_flush: true,
            ..none
        };
        assert_eq!(
            fopen_flags(&read),
            FopenFlags::FOPEN_KEEP_CACHE | FopenFlags::FOPEN_NOFLUSH
        );
        let write = Opened {
            direct_io: true,
            ..none
        };
        assert_eq!(fopen_flags(&write), FopenFlags::FOPEN_DIRECT_IO);
    }

    #[test]
    fn rename_flags_translate_and_refuse_whiteout() {
        assert_eq!(rename_flags(RenameFlags::empty()), Ok(0));
        assert_eq!(
            rename_flags(RenameFlags::RENAME_NOREPLACE),
            Ok(RENAME_NOREPLACE)
        );
        assert_eq!(
            rename_flags(RenameFlags::RENAME_EXCHANGE),
            Ok(RENAME_EXCHANGE)
        );
        let err = rename_flags(RenameFlags::RENAME_WHITEOUT).unwrap_err();
        assert_eq!(err.errno, libc::EINVAL);
    }

    #[test]
    fn errno_passes_through_and_guards_non_positive() {
        assert_eq!(errno(&FsError::new(libc::EROFS, "x")), Errno::EROFS);
        assert_eq!(errno(&FsError::new(0, "x")), Errno::EIO);
    }
}
