//! Filesystem errors: an errno for the kernel and a sentence for the log.

use std::fmt;

/// A refused or failed filesystem operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsError {
    pub errno: i32,
    pub message: String,
}

impl FsError {
    pub fn new(errno: i32, message: impl Into<String>) -> Self {
        FsError {
            errno,
            message: message.into(),
        }
    }

    pub fn not_found(what: impl fmt::Display) -> Self {
        FsError::new(libc::ENOENT, format!("{what}: no such file or directory"))
    }

    pub fn read_only(what: impl fmt::Display) -> Self {
        FsError::new(
            libc::EROFS,
            format!("{what}: the CRL store is read-only; only the trust sync changes it"),
        )
    }

    pub fn meaningless(what: impl fmt::Display) -> Self {
        FsError::new(
            libc::EPERM,
            format!("{what}: this name has no meaning here"),
        )
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({})",
            self.message,
            std::io::Error::from_raw_os_error(self.errno)
        )
    }
}

impl std::error::Error for FsError {}

/// Store and validation errors keep their errno (`crate::error` is the one mapping).
impl From<crate::Error> for FsError {
    fn from(e: crate::Error) -> Self {
        FsError::new(e.errno(), e.to_string())
    }
}

impl From<crate::pki::PkiError> for FsError {
    fn from(e: crate::pki::PkiError) -> Self {
        crate::Error::from(e).into()
    }
}

pub type FsResult<T> = Result<T, FsError>;
