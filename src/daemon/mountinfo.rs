//! What is mounted where, from `/proc/self/mountinfo` (proc(5)): the daemon must tell a live
//! mount (busy), a dead one of ours (a killed daemon: "Transport endpoint is not connected",
//! to be replaced) and no mount at all apart.

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// The filesystem type the daemon mounts (`findmnt -t fuse.vecs`).
pub const FS_TYPE: &str = "fuse.vecs";

/// One mount, as mountinfo lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// `major:minor` of the filesystem: a FUSE connection's backing device (its BDI).
    pub device: String,
    pub mountpoint: PathBuf,
    pub fstype: String,
    pub source: OsString,
}

impl MountEntry {
    pub fn is_vecs(&self) -> bool {
        self.fstype == FS_TYPE
    }
}

/// The mount on top at `mountpoint` (the last listed wins: later mounts stack over earlier
/// ones), if any. `mountpoint` must be absolute and free of symlinks.
pub fn mount_at(mountpoint: &Path) -> io::Result<Option<MountEntry>> {
    let table = std::fs::read_to_string("/proc/self/mountinfo")?;
    Ok(table
        .lines()
        .rev()
        .filter_map(parse_line)
        .find(|m| m.mountpoint == mountpoint))
}

/// `id parent major:minor root MOUNTPOINT options [optional...] - FSTYPE SOURCE super-options`,
/// with spaces, tabs, newlines and backslashes escaped as `\ooo`.
fn parse_line(line: &str) -> Option<MountEntry> {
    let (before, after) = line.split_once(" - ")?;
    let device = before.split(' ').nth(2)?;
    let mountpoint = before.split(' ').nth(4)?;
    let mut after = after.split(' ');
    let fstype = after.next()?;
    let source = after.next()?;
    Some(MountEntry {
        device: device.to_string(),
        mountpoint: PathBuf::from(OsString::from_vec(unescape_octal(mountpoint))),
        fstype: String::from_utf8_lossy(&unescape_octal(fstype)).into_owned(),
        source: OsString::from_vec(unescape_octal(source)),
    })
}

fn unescape_octal(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let code = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .map(|d| d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0')))
            .and_then(|code| u8::try_from(code).ok());
        match code {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// What a mountpoint looks like to a daemon about to mount there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountState {
    /// Nothing mounted exactly there.
    Free,
    /// A mount that answers (ours or another filesystem's).
    Live(MountEntry),
    /// A vecsfs mount whose daemon is gone: every access fails with ENOTCONN.
    Dead(MountEntry),
}

/// Classifies `mountpoint` (absolute; its parent free of symlinks). The probe is statfs(2),
/// which FUSE always asks the daemon (stat may be answered from the kernel's attribute cache
/// after the daemon died); a dead connection answers ENOTCONN.
pub fn state_of(mountpoint: &Path) -> io::Result<MountState> {
    let Some(entry) = mount_at(mountpoint)? else {
        return Ok(MountState::Free);
    };
    match statfs(mountpoint) {
        Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) && entry.is_vecs() => {
            Ok(MountState::Dead(entry))
        }
        _ => Ok(MountState::Live(entry)),
    }
}

fn statfs(path: &Path) -> io::Result<()> {
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: a zeroed statfs is a valid buffer; `c_path` is NUL-terminated.
    let rc = unsafe {
        let mut buf: libc::statfs = std::mem::zeroed();
        libc::statfs(c_path.as_ptr(), &mut buf)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `path` made absolute and its parent resolved, without touching the last component (which
/// may be a dead mount).
pub fn absolute_without_following_last(path: &Path) -> io::Result<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let name = absolute
        .file_name()
        .map(|n| n.to_os_string())
        .filter(|n| !n.as_bytes().is_empty());
    match (absolute.parent(), name) {
        (Some(parent), Some(name)) if name != ".." && name != "." => {
            Ok(parent.canonicalize()?.join(name))
        }
        _ => absolute.canonicalize(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_are_parsed_with_escapes() {
        let line = "36 35 0:44 / /tmp/a\\040b rw,nosuid shared:1 - fuse.vecs /var/lib/vecs/vecs.db rw,user_id=0";
        assert_eq!(
            parse_line(line),
            Some(MountEntry {
                device: "0:44".to_string(),
                mountpoint: PathBuf::from("/tmp/a b"),
                fstype: FS_TYPE.to_string(),
                source: OsString::from("/var/lib/vecs/vecs.db"),
            })
        );
        let plain = "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw";
        assert_eq!(parse_line(plain).map(|m| m.fstype), Some("ext4".into()));
        assert_eq!(parse_line("garbage"), None);
        assert_eq!(unescape_octal("a\\134b\\011"), b"a\\b\t".to_vec());
        assert_eq!(unescape_octal("trailing\\05"), b"trailing\\05".to_vec());
    }

    #[test]
    fn the_root_is_mounted_and_a_fresh_directory_is_free() {
        assert!(mount_at(Path::new("/")).unwrap().is_some());
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(state_of(dir.path()).unwrap(), MountState::Free);
    }

    #[test]
    fn absolute_paths_keep_their_last_component() {
        let dir = tempfile::tempdir().unwrap();
        let canonical = dir.path().canonicalize().unwrap();
        let inside = canonical.join("not-yet");
        assert_eq!(absolute_without_following_last(&inside).unwrap(), inside);
        std::fs::create_dir(canonical.join("sub")).unwrap();
        assert_eq!(
            absolute_without_following_last(&canonical.join("sub/..")).unwrap(),
            canonical
        );
    }
}
