//! The thin fuser 0.18 adapter: it turns kernel requests into calls of the filesystem layer
//! ([`crate::fs::VecsFs`], which knows nothing of FUSE) and the answers back into replies.
//!
//! What lives here and nowhere else:
//! - type translation ([`convert`]);
//! - kernel caching policy: long entry/attr TTLs, short negative entries, open flags;
//! - queueing the layer's [`Invalidation`]s for the notifier thread ([`notify`]), never sending
//!   them inline (deadlock rule of `FUSE_NOTIFY_INVAL_ENTRY`);
//! - one log line per refusal and a panic guard around every handler ([`refusal`]);
//! - stable directory offsets: a listing is snapshotted per directory handle.
//!
//! Permission checks are NOT here: the mount runs without `default_permissions` (per-user VECS
//! grants cannot be expressed in mode bits), and the filesystem layer checks every operation
//! against the caller's uid.

pub mod convert;
pub mod mount;
pub mod notify;
pub mod refusal;

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use std::time::SystemTime;

use fuser::{
    AccessFlags, BsdFileFlags, Config, Errno, FileHandle, Filesystem, FopenFlags, Generation,
    INodeNo, InitFlags, IoctlFlags, KernelConfig, LockOwner, MountOption, OpenFlags, RenameFlags,
    ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty, ReplyEntry,
    ReplyIoctl, ReplyOpen, ReplyStatfs, ReplyWrite, ReplyXattr, Request, SessionACL, TimeOrNow,
    WriteFlags,
};
use log::{debug, info};

use crate::fs::{Caller, DirEntry, FsError, FsResult, Ino, SetAttr, VecsFs};

use convert::{caller, errno, file_attr, fopen_flags, ATTR_TTL, ENTRY_TTL, NEGATIVE_TTL};
use notify::Notice;
use refusal::{guarded, log_refusal};

/// How long close(2) of a committed file waits for its invalidations to reach the kernel.
const SETTLE_TIMEOUT: Duration = Duration::from_millis(500);

/// Inode numbers are never reused while the daemon runs, so one generation is enough.
const GENERATION: Generation = Generation(0);

/// Event-loop threads: two, so that a commit (SQLite fsync) never stalls every reader.
pub const THREADS: usize = 2;

/// The mount configuration of the daemon.
///
/// - `allow_other` (`SessionACL::All`): every local user may use the mount; the filesystem
///   layer checks each operation against the caller's uid.
/// - no `default_permissions`: VECS grants are per user and cannot be expressed in mode bits.
/// - no `auto_unmount`: if the daemon dies, the mount answers ENOTCONN instead of exposing the
///   directory underneath (fail closed), and fuser 0.18 cannot unmount in-process with it.
/// - `ro` also at the kernel level when the store is served read-only, so that `mount` shows it.
pub fn mount_config(read_only: bool) -> Config {
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName("vecs".into()),
        MountOption::Subtype("vecs".into()),
        MountOption::NoSuid,
        MountOption::NoDev,
        MountOption::NoExec,
    ];
    if read_only {
        config.mount_options.push(MountOption::RO);
    }
    config.acl = SessionACL::All;
    config.n_threads = Some(THREADS);
    config
}

/// Replies that can carry an errno, so that one helper logs and answers every refusal.
trait ErrorReply {
    fn error(self, err: Errno);
}

macro_rules! error_reply {
    ($($t:ty),*) => {$(
        impl ErrorReply for $t {
            fn error(self, err: Errno) {
                <$t>::error(self, err)
            }
        }
    )*};
}

error_reply!(
    ReplyAttr,
    ReplyCreate,
    ReplyData,
    ReplyDirectory,
    ReplyDirectoryPlus,
    ReplyEmpty,
    ReplyEntry,
    ReplyOpen,
    ReplyStatfs,
    ReplyWrite,
    ReplyXattr
);

/// Answers an operation that returns nothing: `ok`, or the refusal.
fn answer(op: &str, caller: &Caller, result: FsResult<()>, reply: ReplyEmpty) {
    match result {
        Ok(()) => reply.ok(),
        Err(e) => refuse(op, caller, &e, reply),
    }
}

/// Logs a refusal and answers it.
fn refuse(op: &str, caller: &Caller, err: &FsError, reply: impl ErrorReply) {
    log_refusal(op, caller, err);
    reply.error(errno(err));
}

/// The `fuser::Filesystem` of the mount.
pub struct VecsFuse {
    fs: Arc<VecsFs>,
    /// Where invalidations go; the notifier thread sends them to the kernel.
    invalidations: Sender<Notice>,
    /// Directory listings by directory handle, so that offsets stay meaningful while the
    /// directory changes (readdir(3) must neither skip nor repeat names).
    listings: Mutex<HashMap<u64, Arc<Vec<DirEntry>>>>,
    next_dir_handle: AtomicU64,
}

impl VecsFuse {
    pub fn new(fs: Arc<VecsFs>, invalidations: Sender<Notice>) -> Self {
        VecsFuse {
            fs,
            invalidations,
            listings: Mutex::new(HashMap::new()),
            next_dir_handle: AtomicU64::new(1),
        }
    }

    /// Hands the layer's pending invalidations to the notifier thread. Called after every
    /// call that may have changed the store, before the reply, so that they are queued by the
    /// time the caller's syscall returns. A send fails only after shutdown began: ignore it.
    fn queue_invalidations(&self) {
        for inval in self.fs.take_invalidations() {
            let _ = self.invalidations.send(Notice::Invalidate(inval));
        }
    }

    /// Like [`Self::mutating`], and the reply waits until the invalidations reached the
    /// kernel: after close(2) or fsync(2) of a committed file returns, opening its name must
    /// find the new version. The wait is bounded because the kernel may be holding a
    /// directory lock the invalidation needs while it waits for a request only a busy worker
    /// could answer; past the bound the name still leads to the older inode, whose opens then
    /// read the current version uncached.
    ///
    /// It waits even when this call queued nothing: the poller may have taken the commit's
    /// invalidations (its reload came first) and queued them already. If it has not queued
    /// them yet, an open in that moment reaches the older inode, which reads the current
    /// version uncached: late, never stale.
    fn committing<T>(&self, call: impl FnOnce() -> FsResult<T>) -> FsResult<T> {
        let result = call();
        self.queue_invalidations();
        let (done_tx, done_rx) = mpsc::channel();
        if self.invalidations.send(Notice::Settled(done_tx)).is_ok()
            && done_rx.recv_timeout(SETTLE_TIMEOUT).is_err()
        {
            debug!("invalidations not sent within {SETTLE_TIMEOUT:?}; replying anyway");
        }
        result
    }

    /// Runs a call that may change the store, then queues what it made stale (also when it
    /// failed: a refused write may have left pages in the kernel's cache).
    fn mutating<T>(&self, call: impl FnOnce() -> FsResult<T>) -> FsResult<T> {
        let result = call();
        self.queue_invalidations();
        result
    }

    fn listings(&self) -> MutexGuard<'_, HashMap<u64, Arc<Vec<DirEntry>>>> {
        // A panic caught by a handler may have poisoned the lock; the map itself stays valid.
        self.listings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The listing a readdir at `offset` reads from: a fresh one at offset 0 (first read or
    /// rewinddir), the handle's snapshot otherwise.
    fn listing(
        &self,
        caller: &Caller,
        ino: Ino,
        fh: u64,
        offset: u64,
    ) -> FsResult<Arc<Vec<DirEntry>>> {
        if offset != 0 {
            if let Some(listing) = self.listings().get(&fh) {
                return Ok(Arc::clone(listing));
            }
        }
        let listing = Arc::new(self.fs.readdir(caller, ino)?);
        self.listings().insert(fh, Arc::clone(&listing));
        Ok(listing)
    }
}

/// The entries of a listing from `offset` on, each with the offset of the entry after it
/// (the kernel resumes from that value; 0 is never used as an entry's offset).
fn entries_from(listing: &[DirEntry], offset: u64) -> impl Iterator<Item = (u64, &DirEntry)> {
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    listing
        .iter()
        .enumerate()
        .skip(skip)
        .map(|(i, entry)| (i as u64 + 1, entry))
}

/// Answers the xattr size protocol: size 0 asks for the length; a buffer too small is ERANGE.
fn reply_xattr(op: &str, caller: &Caller, value: &[u8], size: u32, reply: ReplyXattr) {
    let Ok(len) = u32::try_from(value.len()) else {
        let err = FsError::new(libc::E2BIG, format!("{op}: value too large"));
        return refuse(op, caller, &err, reply);
    };
    if size == 0 {
        reply.size(len);
    } else if len > size {
        let err = FsError::new(
            libc::ERANGE,
            format!("{op}: buffer of {size} bytes too small"),
        );
        refuse(op, caller, &err, reply);
    } else {
        reply.data(value);
    }
}

/// `listxattr` wants the names back to back, each NUL-terminated.
fn xattr_name_list(names: &[OsString]) -> Vec<u8> {
    let mut out = Vec::new();
    for name in names {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
    }
    out
}

/// The `setattr` arguments the filesystem layer understands. Only permission bits of `mode`
/// are meaningful (chmod sends the type bits too). Times are accepted and not kept.
fn set_attr(
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
    size: Option<u64>,
    times_changed: bool,
    fh: Option<FileHandle>,
) -> SetAttr {
    SetAttr {
        perm: mode.map(|m| (m & 0o7777) as u16),
        uid,
        gid,
        size,
        times: times_changed,
        fh: fh.map(|f| f.0),
    }
}

/// The INIT capabilities the mount wants beyond fuser's defaults.
///
/// Not FUSE_ATOMIC_O_TRUNC: with it the kernel zeroes the shared inode's size and pages when a
/// writer opens with O_TRUNC, under readers that opened the file before (keep_cache) and must
/// go on reading their version. Without it, O_TRUNC arrives as a truncate the filesystem
/// applies to the new handle only.
const CAPABILITIES: [(&str, InitFlags); 3] = [
    // `ls -l` in one round trip per buffer instead of one LOOKUP per name.
    ("FUSE_DO_READDIRPLUS", InitFlags::FUSE_DO_READDIRPLUS),
    // Lookups and readdirs in one directory need not be serialised by the kernel.
    ("FUSE_PARALLEL_DIROPS", InitFlags::FUSE_PARALLEL_DIROPS),
    // Every cached read first checks that the inode's size is still known. A write to a file
    // grows the kernel's size of the inode its readers share, before anything is committed,
    // and marks that size unknown: with this flag a reader's next read asks (GETATTR, the
    // committed size) instead of reading the zeroed rest of the page as data. Hot reads ask
    // nothing (attributes stay valid: a new version is a new inode).
    ("FUSE_AUTO_INVAL_DATA", InitFlags::FUSE_AUTO_INVAL_DATA),
];

impl Filesystem for VecsFuse {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        for (name, flag) in CAPABILITIES {
            // An old kernel without one of them still works, just slower or with the
            // O_TRUNC-as-setattr path: not a reason to refuse to mount.
            if config.add_capabilities(flag).is_err() {
                info!("the kernel does not support {name}; continuing without it");
            }
        }
        Ok(())
    }

    fn destroy(&mut self) {
        info!("FUSE session ended");
    }

    /// No ioctl means anything here; ENOTTY is what a regular file answers (isatty(3) asks
    /// on every fopen and Python open). fuser's default would log a warning each time.
    fn ioctl(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _flags: IoctlFlags,
        _cmd: u32,
        _in_data: &[u8],
        _out_size: u32,
        reply: ReplyIoctl,
    ) {
        reply.error(Errno::ENOTTY);
    }

    /// The layer forgets older file versions once the kernel can no longer reach them.
    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.fs.forget(ino.0, nlookup);
    }

    fn lookup(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let caller = caller(req);
        guarded("lookup", &caller, || {
            match self.fs.lookup(&caller, parent.0, name) {
                Ok(attr) => reply.entry(&ENTRY_TTL, &file_attr(&attr), GENERATION),
                // A miss is a negative entry the kernel may cache, not an error (§3.2).
                Err(e) if e.errno == libc::ENOENT => {
                    log_refusal("lookup", &caller, &e);
                    reply.entry(&NEGATIVE_TTL, &convert::negative_attr(), GENERATION);
                }
                Err(e) => refuse("lookup", &caller, &e, reply),
            }
        });
    }

    fn getattr(&self, req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let caller = caller(req);
        guarded("getattr", &caller, || {
            match self.fs.getattr(&caller, ino.0) {
                Ok(attr) => reply.attr(&ATTR_TTL, &file_attr(&attr)),
                Err(e) => refuse("getattr", &caller, &e, reply),
            }
        });
    }

    fn setattr(
        &self,
        req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let caller = caller(req);
        let times = atime.is_some() || mtime.is_some() || ctime.is_some();
        let changes = set_attr(mode, uid, gid, size, times, fh);
        guarded("setattr", &caller, || {
            match self.mutating(|| self.fs.setattr(&caller, ino.0, &changes)) {
                Ok(attr) => reply.attr(&ATTR_TTL, &file_attr(&attr)),
                Err(e) => refuse("setattr", &caller, &e, reply),
            }
        });
    }

    fn readlink(&self, req: &Request, ino: INodeNo, reply: ReplyData) {
        let caller = caller(req);
        guarded("readlink", &caller, || {
            match self.fs.readlink(&caller, ino.0) {
                Ok(target) => reply.data(&target),
                Err(e) => refuse("readlink", &caller, &e, reply),
            }
        });
    }

    fn mknod(
        &self,
        req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        let caller = caller(req);
        let err = FsError::new(
            libc::EPERM,
            "the store holds no device, fifo or socket nodes",
        );
        guarded("mknod", &caller, || refuse("mknod", &caller, &err, reply));
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let caller = caller(req);
        guarded("mkdir", &caller, || {
            match self.mutating(|| self.fs.mkdir(&caller, parent.0, name, mode & 0o7777)) {
                Ok(attr) => reply.entry(&ENTRY_TTL, &file_attr(&attr), GENERATION),
                Err(e) => refuse("mkdir", &caller, &e, reply),
            }
        });
    }

    fn unlink(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let caller = caller(req);
        guarded("unlink", &caller, || {
            answer(
                "unlink",
                &caller,
                self.mutating(|| self.fs.unlink(&caller, parent.0, name)),
                reply,
            )
        });
    }

    fn rmdir(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let caller = caller(req);
        guarded("rmdir", &caller, || {
            answer(
                "rmdir",
                &caller,
                self.mutating(|| self.fs.rmdir(&caller, parent.0, name)),
                reply,
            )
        });
    }

    fn symlink(
        &self,
        req: &Request,
        _parent: INodeNo,
        _link_name: &OsStr,
        _target: &Path,
        reply: ReplyEntry,
    ) {
        let caller = caller(req);
        let err = FsError::new(libc::EPERM, "symbolic links cannot be created in the store");
        guarded("symlink", &caller, || {
            refuse("symlink", &caller, &err, reply)
        });
    }

    fn rename(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let caller = caller(req);
        guarded("rename", &caller, || {
            let result = convert::rename_flags(flags).and_then(|flags| {
                self.mutating(|| {
                    self.fs
                        .rename(&caller, parent.0, name, newparent.0, newname, flags)
                })
            });
            answer("rename", &caller, result, reply)
        });
    }

    fn link(
        &self,
        req: &Request,
        _ino: INodeNo,
        _newparent: INodeNo,
        _newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let caller = caller(req);
        let err = FsError::new(libc::EPERM, "hard links cannot be created in the store");
        guarded("link", &caller, || refuse("link", &caller, &err, reply));
    }

    fn open(&self, req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let caller = caller(req);
        guarded("open", &caller, || {
            // An open for writing or with O_TRUNC may change the file: drain invalidations as
            // for a write. A plain read (the hot path) changes nothing.
            let open = || self.fs.open(&caller, ino.0, flags.0);
            let result = if flags.0 & (libc::O_ACCMODE | libc::O_TRUNC) != libc::O_RDONLY {
                self.mutating(open)
            } else {
                open()
            };
            match result {
                Ok(opened) => reply.opened(FileHandle(opened.fh), fopen_flags(&opened)),
                Err(e) => refuse("open", &caller, &e, reply),
            }
        });
    }

    fn read(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let caller = caller(req);
        guarded("read", &caller, || match self.fs.read(fh.0, offset, size) {
            Ok(data) => reply.data(&data),
            Err(e) => refuse("read", &caller, &e, reply),
        });
    }

    fn write(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let caller = caller(req);
        guarded("write", &caller, || {
            match self.mutating(|| self.fs.write(&caller, fh.0, offset, data)) {
                Ok(written) => reply.written(written),
                Err(e) => refuse("write", &caller, &e, reply),
            }
        });
    }

    /// Implemented on purpose even where it commits nothing: fuser's default answers ENOSYS,
    /// after which the kernel never sends FLUSH again and close(2) could not report a refusal.
    fn flush(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        let caller = caller(req);
        guarded("flush", &caller, || {
            answer(
                "flush",
                &caller,
                self.committing(|| self.fs.flush(&caller, fh.0)),
                reply,
            )
        });
    }

    fn release(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let caller = caller(req);
        guarded("release", &caller, || {
            // The kernel discards release errors; they are still logged.
            answer(
                "release",
                &caller,
                self.mutating(|| self.fs.release(&caller, fh.0)),
                reply,
            )
        });
    }

    fn fsync(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let caller = caller(req);
        guarded("fsync", &caller, || {
            answer(
                "fsync",
                &caller,
                self.committing(|| self.fs.fsync(&caller, fh.0)),
                reply,
            )
        });
    }

    fn opendir(&self, req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let caller = caller(req);
        guarded("opendir", &caller, || {
            match self.fs.opendir(&caller, ino.0) {
                Ok(()) => {
                    let fh = self.next_dir_handle.fetch_add(1, Ordering::Relaxed);
                    reply.opened(FileHandle(fh), FopenFlags::empty());
                }
                Err(e) => refuse("opendir", &caller, &e, reply),
            }
        });
    }

    fn readdir(
        &self,
        req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let caller = caller(req);
        guarded("readdir", &caller, || {
            let listing = match self.listing(&caller, ino.0, fh.0, offset) {
                Ok(listing) => listing,
                Err(e) => return refuse("readdir", &caller, &e, reply),
            };
            for (next, entry) in entries_from(&listing, offset) {
                let kind = convert::dir_entry_type(&entry.attr);
                if reply.add(INodeNo(entry.attr.ino), next, kind, &entry.name) {
                    break;
                }
            }
            reply.ok();
        });
    }

    fn readdirplus(
        &self,
        req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectoryPlus,
    ) {
        let caller = caller(req);
        guarded("readdirplus", &caller, || {
            let listing = match self.listing(&caller, ino.0, fh.0, offset) {
                Ok(listing) => listing,
                Err(e) => return refuse("readdirplus", &caller, &e, reply),
            };
            for (next, entry) in entries_from(&listing, offset) {
                let attr = file_attr(&entry.attr);
                let ino = INodeNo(entry.attr.ino);
                if reply.add(ino, next, &entry.name, &ENTRY_TTL, &attr, GENERATION) {
                    break;
                }
                // The kernel takes a reference to every entry but `.` and `..`.
                if entry.name != "." && entry.name != ".." {
                    self.fs.remember(entry.attr.ino);
                }
            }
            reply.ok();
        });
    }

    fn releasedir(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        let caller = caller(req);
        guarded("releasedir", &caller, || {
            self.listings().remove(&fh.0);
            reply.ok();
        });
    }

    fn statfs(&self, req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let caller = caller(req);
        guarded("statfs", &caller, || match self.fs.statfs() {
            Ok(s) => reply.statfs(
                s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.bsize, s.namelen, s.frsize,
            ),
            Err(e) => refuse("statfs", &caller, &e, reply),
        });
    }

    fn getxattr(&self, req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        let caller = caller(req);
        guarded("getxattr", &caller, || {
            match self.fs.getxattr(&caller, ino.0, name) {
                Ok(value) => reply_xattr("getxattr", &caller, &value, size, reply),
                Err(e) => refuse("getxattr", &caller, &e, reply),
            }
        });
    }

    fn listxattr(&self, req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        let caller = caller(req);
        guarded("listxattr", &caller, || {
            match self.fs.listxattr(&caller, ino.0) {
                Ok(names) => {
                    let list = xattr_name_list(&names);
                    reply_xattr("listxattr", &caller, &list, size, reply);
                }
                Err(e) => refuse("listxattr", &caller, &e, reply),
            }
        });
    }

    /// access(2) is answered yes: the filesystem layer checks the caller in each operation,
    /// so a "yes" here grants nothing (the open or listing itself is still refused).
    fn access(&self, req: &Request, ino: INodeNo, mask: AccessFlags, reply: ReplyEmpty) {
        let caller = caller(req);
        guarded("access", &caller, || {
            debug!("access(ino {}, mask {mask}) answered yes", ino.0);
            reply.ok();
        });
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let caller = caller(req);
        guarded("create", &caller, || {
            let created = self.mutating(|| {
                self.fs
                    .create(&caller, parent.0, name, mode & 0o7777, flags)
            });
            match created {
                Ok((attr, opened)) => reply.created(
                    &ENTRY_TTL,
                    &file_attr(&attr),
                    GENERATION,
                    FileHandle(opened.fh),
                    fopen_flags(&opened),
                ),
                Err(e) => refuse("create", &caller, &e, reply),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{Attr, NodeKind};
    use std::time::UNIX_EPOCH;

    fn entry(name: &str, ino: Ino) -> DirEntry {
        DirEntry {
            name: OsString::from(name),
            attr: Attr {
                ino,
                kind: NodeKind::Directory,
                size: 0,
                perm: 0o755,
                nlink: 2,
                uid: 0,
                gid: 0,
                mtime: UNIX_EPOCH,
                ctime: UNIX_EPOCH,
            },
        }
    }

    #[test]
    fn directory_offsets_resume_after_the_last_entry_sent() {
        let listing = vec![entry(".", 1), entry("..", 1), entry("vpxd", 7)];
        let all: Vec<_> = entries_from(&listing, 0)
            .map(|(next, e)| (next, e.name.clone()))
            .collect();
        assert_eq!(
            all,
            vec![
                (1, OsString::from(".")),
                (2, OsString::from("..")),
                (3, OsString::from("vpxd"))
            ]
        );
        let rest: Vec<_> = entries_from(&listing, 2).map(|(next, _)| next).collect();
        assert_eq!(rest, vec![3]);
        assert_eq!(entries_from(&listing, 3).count(), 0);
        assert_eq!(entries_from(&listing, u64::MAX).count(), 0);
    }

    #[test]
    fn xattr_names_are_nul_terminated() {
        let names = [OsString::from("user.a"), OsString::from("user.bc")];
        assert_eq!(xattr_name_list(&names), b"user.a\0user.bc\0".to_vec());
        assert!(xattr_name_list(&[]).is_empty());
    }

    #[test]
    fn setattr_keeps_only_permission_bits() {
        let changes = set_attr(
            Some(0o100644),
            None,
            Some(5),
            Some(0),
            true,
            Some(FileHandle(9)),
        );
        assert_eq!(
            changes,
            SetAttr {
                perm: Some(0o644),
                uid: None,
                gid: Some(5),
                size: Some(0),
                times: true,
                fh: Some(9),
            }
        );
    }

    #[test]
    fn mount_config_fails_closed_and_lets_every_user_in() {
        let config = mount_config(false);
        assert_eq!(config.acl, SessionACL::All);
        assert_eq!(config.n_threads, Some(2));
        let options = &config.mount_options;
        assert!(!options.contains(&MountOption::DefaultPermissions));
        assert!(!options.contains(&MountOption::AutoUnmount));
        assert!(!options.contains(&MountOption::RO));
        for wanted in [
            MountOption::NoSuid,
            MountOption::NoDev,
            MountOption::NoExec,
            MountOption::FSName("vecs".into()),
            MountOption::Subtype("vecs".into()),
        ] {
            assert!(options.contains(&wanted), "{wanted:?}");
        }
        assert!(mount_config(true).mount_options.contains(&MountOption::RO));
    }
}
