//! Open file handles. A read handle holds the bytes the file had when it was opened; a write
//! handle buffers what is written until a flush, fsync or release commits it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use zeroize::Zeroizing;

use super::error::{FsError, FsResult};
use super::types::Caller;
use super::view::{FileData, FileName};

/// The most a write handle buffers: large enough for any certificate chain or key file.
pub const MAX_WRITE: usize = crate::pki::MAX_CERT_INPUT;

pub enum Handle {
    Read { data: FileData },
    Write(WriteHandle),
}

/// Bytes a read returns: a window of a read handle's version (shared, no copy: a 50 MB CRL
/// is read in 128 KiB requests), or a copy of what a write handle holds, zeroed when dropped.
pub enum ReadData {
    Shared {
        data: FileData,
        range: std::ops::Range<usize>,
    },
    Copied(Zeroizing<Vec<u8>>),
}

impl std::ops::Deref for ReadData {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            ReadData::Shared { data, range } => &data[range.clone()],
            ReadData::Copied(bytes) => bytes,
        }
    }
}

/// What a write handle writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    File(FileName),
    Temp(String),
}

pub struct WriteHandle {
    store: String,
    alias: String,
    target: Target,
    /// Who opened it: the task whose O_TRUNC follows the open as a separate truncate.
    opener: Caller,
    buffer: Zeroizing<Vec<u8>>,
    /// Bytes were written since the last commit.
    written: bool,
    /// The handle emptied the file (O_TRUNC or truncate) since the last commit.
    truncated: bool,
    /// A write was refused (EFBIG): what came before it is not the file the writer meant,
    /// so the handle never commits.
    refused: Option<FsError>,
}

impl Target {
    /// The file name the target has in its alias directory.
    pub fn file_name(&self) -> &str {
        match self {
            Target::File(file) => file.as_str(),
            Target::Temp(name) => name,
        }
    }
}

impl WriteHandle {
    fn path(&self) -> String {
        format!(
            "[{}/{}/{}]",
            self.store,
            self.alias,
            self.target.file_name()
        )
    }

    /// A handle on `target`; without `truncate` it starts from the current content, so that
    /// a program that rewrites part of a file in place commits the whole file.
    pub fn new(
        store: String,
        alias: String,
        target: Target,
        opener: Caller,
        truncate: bool,
        current: &FileData,
    ) -> Self {
        WriteHandle {
            store,
            alias,
            target,
            opener,
            buffer: Zeroizing::new(if truncate {
                Vec::new()
            } else {
                current.to_vec()
            }),
            written: false,
            truncated: truncate,
            refused: None,
        }
    }
}

/// A commit to carry out: a copy of the buffer, taken under the handle table's lock.
pub struct PendingCommit {
    pub store: String,
    pub alias: String,
    pub target: Target,
    pub bytes: Zeroizing<Vec<u8>>,
}

#[derive(Default)]
pub struct Handles {
    map: Mutex<HashMap<u64, Handle>>,
    next: AtomicU64,
}

impl Handles {
    pub fn insert(&self, handle: Handle) -> u64 {
        let fh = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.lock().insert(fh, handle);
        fh
    }

    /// Drops a handle; its buffer is zeroed as it goes.
    pub fn remove(&self, fh: u64) {
        self.lock().remove(&fh);
    }

    pub fn read(&self, fh: u64, offset: u64, size: u32) -> FsResult<ReadData> {
        let map = self.lock();
        let window = |len: usize| {
            let start = (offset as usize).min(len);
            start..start.saturating_add(size as usize).min(len)
        };
        match map.get(&fh) {
            Some(Handle::Read { data }) => Ok(ReadData::Shared {
                range: window(data.len()),
                data: data.clone(),
            }),
            Some(Handle::Write(w)) => Ok(ReadData::Copied(Zeroizing::new(
                w.buffer[window(w.buffer.len())].to_vec(),
            ))),
            None => Err(bad_handle(fh)),
        }
    }

    pub fn write(&self, fh: u64, offset: u64, data: &[u8]) -> FsResult<u32> {
        let mut map = self.lock();
        let handle = match map.get_mut(&fh) {
            Some(Handle::Write(w)) => w,
            Some(Handle::Read { .. }) => {
                return Err(FsError::new(libc::EBADF, "handle opened for reading"))
            }
            None => return Err(bad_handle(fh)),
        };
        if let Some(refused) = &handle.refused {
            return Err(refused.clone());
        }
        let offset = offset as usize;
        let Some(end) = offset
            .checked_add(data.len())
            .filter(|&end| end <= MAX_WRITE)
        else {
            let refused = too_big(&handle.path());
            handle.refused = Some(refused.clone());
            return Err(refused);
        };
        if handle.buffer.len() < end {
            // A plain `resize` would leave the bytes written so far in the freed allocation.
            crate::secret::resize(&mut handle.buffer, end);
        }
        handle.buffer[offset..end].copy_from_slice(data);
        handle.written = true;
        Ok(data.len() as u32)
    }

    /// Truncates a write handle's buffer; `false` when `fh` is not a write handle.
    pub fn truncate(&self, fh: u64, size: u64) -> FsResult<bool> {
        let mut map = self.lock();
        let Some(Handle::Write(handle)) = map.get_mut(&fh) else {
            return Ok(false);
        };
        let size = usize::try_from(size)
            .ok()
            .filter(|&s| s <= MAX_WRITE)
            .ok_or_else(|| too_big(&handle.path()))?;
        crate::secret::resize(&mut handle.buffer, size);
        if size == 0 {
            handle.truncated = true;
        } else {
            handle.written = true;
        }
        Ok(true)
    }

    /// Empties the newest untouched write handle `caller`'s task opened on `target`: the
    /// truncate the kernel sends, without a handle, right after opening a file with O_TRUNC.
    /// `false` when there is none (a plain truncate(2) by path).
    pub fn truncate_just_opened(
        &self,
        caller: &Caller,
        store: &str,
        alias: &str,
        target: &Target,
    ) -> bool {
        let mut map = self.lock();
        let newest = map
            .iter_mut()
            .filter_map(|(fh, h)| match h {
                Handle::Write(w)
                    if w.opener.pid == caller.pid
                        && w.store == store
                        && w.alias == alias
                        && &w.target == target
                        && !w.written
                        && w.refused.is_none() =>
                {
                    Some((*fh, w))
                }
                _ => None,
            })
            .max_by_key(|(fh, _)| *fh);
        match newest {
            Some((_, handle)) => {
                handle.buffer.clear();
                handle.truncated = true;
                true
            }
            None => false,
        }
    }

    /// What a flush (or, with `release`, the final release) of `fh` must commit, if anything.
    ///
    /// A handle that wrote commits its buffer. One that only truncated asks to store an empty
    /// certificate or key, which is refused (EBADMSG) while the handle stays open: that is the
    /// early flush a shell makes before the command behind `>` writes. Anything else (`touch`,
    /// a second close of a dup, a reader) commits nothing.
    pub fn take_commit(&self, fh: u64, release: bool) -> FsResult<Option<PendingCommit>> {
        let mut map = self.lock();
        let handle = match map.get_mut(&fh) {
            Some(Handle::Write(w)) => w,
            Some(Handle::Read { .. }) => return Ok(None),
            None if release => return Ok(None),
            None => return Err(bad_handle(fh)),
        };
        if let Some(refused) = &handle.refused {
            return if release {
                Ok(None)
            } else {
                Err(refused.clone())
            };
        }
        // A temporary file may be empty; a certificate or key may not.
        let empty_temp = handle.truncated && matches!(handle.target, Target::Temp(_));
        if !(handle.written || empty_temp) {
            if handle.truncated && !release {
                return Err(FsError::new(
                    libc::EBADMSG,
                    "an empty file is not a certificate or key (nothing was written)",
                ));
            }
            return Ok(None);
        }
        handle.written = false;
        handle.truncated = false;
        Ok(Some(PendingCommit {
            store: handle.store.clone(),
            alias: handle.alias.clone(),
            target: handle.target.clone(),
            bytes: handle.buffer.clone(),
        }))
    }

    /// The size of what an open write handle holds for this file, if one is open: a file
    /// created and not yet committed exists for its writer (fstat, fchmod, futimens).
    pub fn open_write_size(&self, store: &str, alias: &str, target: &Target) -> Option<usize> {
        self.lock().values().find_map(|h| match h {
            Handle::Write(w) if w.store == store && w.alias == alias && &w.target == target => {
                Some(w.buffer.len())
            }
            _ => None,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Handle>> {
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn too_big(path: &str) -> FsError {
    FsError::new(
        libc::EFBIG,
        format!("{path}: files here are at most {MAX_WRITE} bytes"),
    )
}

fn bad_handle(fh: u64) -> FsError {
    FsError::new(libc::EBADF, format!("no open handle {fh}"))
}
