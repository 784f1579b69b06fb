//! Mounting and unmounting the session.
//!
//! fuser 0.18's direct mount(2) path (`fuse_pure.rs: fuse_mount_sys`) always passes the
//! filesystem type `fuse` and drops `Subtype`, so the mount would show as plain `fuse`. The
//! contract is a `fuse.vecs` mount (what `findmnt -t fuse.vecs`, fstab and a mount helper
//! look for), so the daemon, which runs as root, makes the mount(2) call itself, exactly as
//! fuser does it but with the type `fuse.vecs`, and hands the connected `/dev/fuse` to
//! `Session::from_fd`. Where mount(2) is not permitted (not root), it falls back to fuser's
//! own path (`Session::new`, which uses `fusermount3` and keeps the subtype).

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use fuser::{Session, SessionUnmounter};
use log::warn;

use super::{mount_config, VecsFuse};

use crate::daemon::mountinfo::FS_TYPE;

/// Ends a mount from another thread (the signal thread).
pub enum Unmounter {
    /// A mount this module made: unmounted with umount2(2).
    Direct(PathBuf),
    /// A mount fuser made (the fusermount3 fallback).
    Fuser(SessionUnmounter),
}

impl Unmounter {
    /// Unmounts. The session's event loops then read ENODEV and `Session::run` returns.
    pub fn unmount(&mut self) -> io::Result<()> {
        match self {
            Unmounter::Direct(mountpoint) => umount2(mountpoint, 0),
            Unmounter::Fuser(unmounter) => unmounter.unmount(),
        }
    }
}

/// Detaches the mount even while files are open on it (MNT_DETACH): the session ends when the
/// last of them is closed.
pub fn detach(mountpoint: &Path) -> io::Result<()> {
    umount2(mountpoint, libc::MNT_DETACH)
}

/// Aborts the FUSE connection of the mount at `mountpoint` (umount -f: the kernel fails every
/// request in flight and every later one with ENOTCONN), and unmounts it if nothing holds it.
/// Only for a server that is dead but cannot exit (see `daemon::supervise`).
pub fn abort(mountpoint: &Path) -> io::Result<()> {
    match umount2(mountpoint, libc::MNT_FORCE) {
        // Aborted, but still in use: the next server detaches it.
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => Ok(()),
        other => other,
    }
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn umount2(mountpoint: &Path, flags: libc::c_int) -> io::Result<()> {
    let path = c_path(mountpoint)?;
    // SAFETY: `path` is a valid NUL-terminated string.
    if unsafe { libc::umount2(path.as_ptr(), flags) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The kernel mount data: the connection fd, the root's mode, who mounted (root), and
/// `allow_other`. Deliberately no `default_permissions` (see [`mount_config`]).
fn mount_data(fd: i32, root_mode: u32) -> String {
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    format!("fd={fd},rootmode={root_mode:o},user_id={uid},group_id={gid},allow_other")
}

fn mount_flags(read_only: bool) -> libc::c_ulong {
    let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    if read_only {
        flags | libc::MS_RDONLY
    } else {
        flags
    }
}

/// Opens `/dev/fuse` and mounts it at `mountpoint` as `fuse.vecs`. `Ok(None)` means mount(2)
/// is not permitted here (EPERM): the caller falls back to fuser's helper-based path.
fn mount_direct(mountpoint: &Path, source: &Path, read_only: bool) -> io::Result<Option<File>> {
    let root_mode = std::fs::metadata(mountpoint)?.permissions().mode();
    let dev = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open("/dev/fuse")?;
    let data = CString::new(mount_data(dev.as_raw_fd(), root_mode))?;
    let source = c_path(source)?;
    let fstype = CString::new(FS_TYPE)?;
    let target = c_path(mountpoint)?;
    // SAFETY: every pointer is a valid NUL-terminated string for the duration of the call.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            mount_flags(read_only),
            data.as_ptr().cast(),
        )
    };
    if rc == 0 {
        return Ok(Some(dev));
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EPERM) {
        return Ok(None);
    }
    Err(err)
}

/// Readahead of the mount, in KiB: 1 MiB, the most one FUSE request carries (256 pages). The
/// kernel's default of 128 KiB cuts a first read of a 50 MB CRL into 400 round trips.
const READAHEAD_KB: u32 = 1024;

/// Sets the readahead of the connection's backing device (`/sys/class/bdi/<major:minor>`,
/// found in mountinfo: a stat of the mountpoint would wait for this very daemon). Without it
/// reads are only slower, so a failure is logged, not fatal.
fn raise_readahead(mountpoint: &Path) {
    let device = match crate::daemon::mountinfo::mount_at(mountpoint) {
        Ok(Some(entry)) => entry.device,
        other => {
            warn!(
                "readahead left as it is: no mount found at {}: {other:?}",
                mountpoint.display()
            );
            return;
        }
    };
    let knob = format!("/sys/class/bdi/{device}/read_ahead_kb");
    if let Err(e) = std::fs::write(&knob, READAHEAD_KB.to_string()) {
        warn!("readahead left as it is: cannot write {knob}: {e}");
    }
}

/// Mounts `fs` at `mountpoint` (absolute) with `source` (the database: the first column of
/// /proc/mounts, as fstab names it) and completes the INIT handshake. The session is ready to
/// `run`; the unmounter works from any thread.
pub fn mount(
    fs: VecsFuse,
    mountpoint: &Path,
    source: &Path,
    read_only: bool,
) -> io::Result<(Session<VecsFuse>, Unmounter)> {
    let config = mount_config(read_only);
    let Some(dev) = mount_direct(mountpoint, source, read_only)? else {
        warn!("mount(2) not permitted; mounting through fusermount3");
        let mut session = Session::new(fs, mountpoint, &config)?;
        let unmounter = Unmounter::Fuser(session.unmount_callable());
        return Ok((session, unmounter));
    };
    let acl = config.acl;
    match Session::from_fd(fs, OwnedFd::from(dev), acl, config) {
        Ok(session) => {
            raise_readahead(mountpoint);
            Ok((session, Unmounter::Direct(mountpoint.to_path_buf())))
        }
        Err(e) => {
            // The handshake failed: do not leave a dead mount behind.
            let _ = detach(mountpoint);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_data_lets_every_user_in_without_kernel_permission_checks() {
        let data = mount_data(7, 0o40755);
        assert!(data.starts_with("fd=7,rootmode=40755,user_id="), "{data}");
        assert!(data.ends_with(",allow_other"), "{data}");
        assert!(!data.contains("default_permissions"), "{data}");
    }

    #[test]
    fn mount_flags_are_nosuid_nodev_noexec() {
        let rw = mount_flags(false);
        for flag in [libc::MS_NOSUID, libc::MS_NODEV, libc::MS_NOEXEC] {
            assert_eq!(rw & flag, flag);
        }
        assert_eq!(rw & libc::MS_RDONLY, 0);
        assert_eq!(mount_flags(true) & libc::MS_RDONLY, libc::MS_RDONLY);
    }
}
