//! The one place where a failure becomes a VECS error code (what `vecs-cli` prints and exits
//! with) and an errno (what the filesystem answers).

use crate::pki::PkiError;

/// VECS / Win32 error codes that vecs-cli reports, as VMware's vmafd defines them.
pub mod code {
    pub const FILE_NOT_FOUND: u32 = 2;
    pub const ACCESS_DENIED: u32 = 5;
    pub const BAD_FORMAT: u32 = 11;
    pub const INVALID_PARAMETER: u32 = 87;
    pub const LABEL_TOO_LONG: u32 = 154;
    pub const BUSY: u32 = 170;
    pub const ALREADY_EXISTS: u32 = 183;
    pub const FILE_TOO_LARGE: u32 = 223;
    pub const CANNOT_CONNECT_VMAFD: u32 = 1021;
    pub const IMPLEMENTATION_LIMIT: u32 = 1292;
    pub const NO_SUCH_USER: u32 = 1317;
    pub const WRONG_PASSWORD: u32 = 1323;
    pub const OBJECT_NOT_FOUND: u32 = 4312;
    pub const INVALID_STATE: u32 = 5023;
    pub const VECS_GENERIC_FILE_IO: u32 = 90001;
    pub const VECS_CERT_IO_FAILURE: u32 = 90017;
    pub const VECS_PRIVATE_KEY_MISMATCH: u32 = 90018;
    pub const VECS_NOT_JOINED: u32 = 90021;
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every way an operation on the store can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("store [{0}] does not exist")]
    StoreNotFound(String),
    #[error("no entry [{alias}] in store [{store}]")]
    EntryNotFound { store: String, alias: String },
    #[error("entry [{alias}] of store [{store}] has no {what}")]
    NoSuchPart {
        store: String,
        alias: String,
        what: &'static str,
    },
    #[error("a store named [{0}] already exists")]
    StoreExists(String),
    #[error("an entry with alias [{alias}] already exists in store [{store}]")]
    EntryExists { store: String, alias: String },
    #[error("uid {uid} may not {action} store [{store}]")]
    AccessDenied {
        uid: u32,
        action: &'static str,
        store: String,
    },
    #[error("store [{0}] is a system store and cannot be deleted")]
    SystemStore(String),
    #[error("store [{0}] is read-only: only the trust sync changes it")]
    ReadOnlyStore(String),
    #[error("store [{0}] is not empty")]
    StoreNotEmpty(String),
    #[error("the {what} is {len} bytes long, over the limit of {limit}")]
    NameTooLong {
        what: &'static str,
        len: usize,
        limit: usize,
    },
    #[error("the {0} is empty")]
    EmptyName(&'static str),
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    #[error(
        "[{0}] is a name the mount generates in TRUSTED_ROOTS (OpenSSL CApath or the CA \
         bundle); choose another alias"
    )]
    GeneratedName(String),
    #[error("no such user [{0}]")]
    NoSuchUser(String),
    #[error("the limit of {0} stores is reached")]
    TooManyStores(usize),
    #[error("{0} entries are changed with vecs-cli, not through files")]
    NotThroughFiles(&'static str),
    #[error("no trust source is configured (the system is not joined to a domain)")]
    NotJoined,
    #[error("only root may {0}")]
    OnlyRoot(&'static str),
    /// The trust source failed; `code` is what VECS would report (an LDAP result code).
    #[error("trust sync from {source_name} failed: {reason}")]
    TrustSync {
        source_name: String,
        reason: String,
        code: u32,
    },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {source}")]
    DatabaseOpen {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
}

impl Error {
    /// The VECS error code vecs-cli reports for this failure (its exit status is `code & 0xFF`).
    pub fn vecs_code(&self) -> u32 {
        use Error::*;
        match self {
            Pki(e) => pki_vecs_code(e),
            StoreNotFound(_) | EntryNotFound { .. } | NoSuchPart { .. } => code::OBJECT_NOT_FOUND,
            StoreExists(_) | EntryExists { .. } => code::ALREADY_EXISTS,
            AccessDenied { .. } | SystemStore(_) | ReadOnlyStore(_) => code::ACCESS_DENIED,
            StoreNotEmpty(_) => code::BUSY,
            NameTooLong { .. } => code::LABEL_TOO_LONG,
            EmptyName(_) | InvalidParameter(_) | GeneratedName(_) | NotThroughFiles(_) => {
                code::INVALID_PARAMETER
            }
            NoSuchUser(_) => code::NO_SUCH_USER,
            TooManyStores(_) => code::IMPLEMENTATION_LIMIT,
            NotJoined => code::VECS_NOT_JOINED,
            OnlyRoot(_) => code::ACCESS_DENIED,
            TrustSync { code, .. } => *code,
            Io { source, .. } => io_vecs_code(source),
            DatabaseOpen { source, .. } | Database(source) => database_vecs_code(source),
        }
    }

    /// The errno the filesystem answers for this failure.
    pub fn errno(&self) -> i32 {
        use Error::*;
        match self {
            Pki(e) => pki_errno(e),
            StoreNotFound(_) | EntryNotFound { .. } | NoSuchPart { .. } => libc::ENOENT,
            StoreExists(_) | EntryExists { .. } => libc::EEXIST,
            AccessDenied { .. } => libc::EACCES,
            // A generated name has no meaning as an alias there: the contract's EPERM.
            SystemStore(_) | NotThroughFiles(_) | GeneratedName(_) => libc::EPERM,
            ReadOnlyStore(_) => libc::EROFS,
            StoreNotEmpty(_) => libc::ENOTEMPTY,
            NameTooLong { .. } => libc::ENAMETOOLONG,
            EmptyName(_) | InvalidParameter(_) => libc::EINVAL,
            NoSuchUser(_) => libc::EINVAL,
            TooManyStores(_) => libc::ENOSPC,
            NotJoined => libc::ENOTCONN,
            OnlyRoot(_) => libc::EPERM,
            TrustSync { .. } => libc::EIO,
            Io { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
            DatabaseOpen { source, .. } | Database(source) => database_errno(source),
        }
    }

    pub(crate) fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

fn pki_vecs_code(e: &PkiError) -> u32 {
    use PkiError::*;
    match e {
        TooLarge { .. } => code::FILE_TOO_LARGE,
        KeyMismatch => code::VECS_PRIVATE_KEY_MISMATCH,
        WrongPassword => code::WRONG_PASSWORD,
        BadCrl(_) => code::VECS_CERT_IO_FAILURE,
        Empty
        | NotPem(_)
        | WrongLabel { .. }
        | BadPem(_)
        | BadCertificate(_)
        | BadKey(_)
        | UnsupportedKey(_) => code::BAD_FORMAT,
    }
}

fn pki_errno(e: &PkiError) -> i32 {
    use PkiError::*;
    match e {
        TooLarge { .. } => libc::EFBIG,
        KeyMismatch | UnsupportedKey(_) | WrongPassword => libc::EKEYREJECTED,
        Empty
        | NotPem(_)
        | WrongLabel { .. }
        | BadPem(_)
        | BadCertificate(_)
        | BadKey(_)
        | BadCrl(_) => libc::EBADMSG,
    }
}

/// vmafd maps errno to Win32 codes when it reads files (`LwErrnoToWin32Error`).
pub(crate) fn io_vecs_code(e: &std::io::Error) -> u32 {
    match e.kind() {
        std::io::ErrorKind::NotFound => code::FILE_NOT_FOUND,
        std::io::ErrorKind::PermissionDenied => code::ACCESS_DENIED,
        _ => code::VECS_GENERIC_FILE_IO,
    }
}

fn database_vecs_code(e: &rusqlite::Error) -> u32 {
    match sqlite_code(e) {
        Some(rusqlite::ErrorCode::CannotOpen) | Some(rusqlite::ErrorCode::PermissionDenied) => {
            code::ACCESS_DENIED
        }
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            code::BUSY
        }
        _ => code::VECS_GENERIC_FILE_IO,
    }
}

fn database_errno(e: &rusqlite::Error) -> i32 {
    match sqlite_code(e) {
        Some(rusqlite::ErrorCode::CannotOpen) | Some(rusqlite::ErrorCode::PermissionDenied) => {
            libc::EACCES
        }
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            libc::EBUSY
        }
        Some(rusqlite::ErrorCode::DiskFull) => libc::ENOSPC,
        Some(rusqlite::ErrorCode::ReadOnly) => libc::EROFS,
        _ => libc::EIO,
    }
}

fn sqlite_code(e: &rusqlite::Error) -> Option<rusqlite::ErrorCode> {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => Some(f.code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pki_refusal_has_a_filesystem_and_cli_meaning() {
        let cases = [
            (PkiError::Empty, code::BAD_FORMAT, libc::EBADMSG),
            (
                PkiError::TooLarge { size: 2, limit: 1 },
                code::FILE_TOO_LARGE,
                libc::EFBIG,
            ),
            (
                PkiError::KeyMismatch,
                code::VECS_PRIVATE_KEY_MISMATCH,
                libc::EKEYREJECTED,
            ),
            (
                PkiError::UnsupportedKey("DSA".into()),
                code::BAD_FORMAT,
                libc::EKEYREJECTED,
            ),
            (
                PkiError::WrongPassword,
                code::WRONG_PASSWORD,
                libc::EKEYREJECTED,
            ),
            (
                PkiError::BadCrl("x".into()),
                code::VECS_CERT_IO_FAILURE,
                libc::EBADMSG,
            ),
        ];
        for (pki, vecs, errno) in cases {
            let e = Error::from(pki);
            assert_eq!((e.vecs_code(), e.errno()), (vecs, errno), "{e}");
        }
    }

    #[test]
    fn store_refusals_map_to_the_contract_errnos() {
        let denied = Error::AccessDenied {
            uid: 1000,
            action: "read",
            store: "S".into(),
        };
        assert_eq!((denied.vecs_code(), denied.errno()), (5, libc::EACCES));
        let system = Error::SystemStore("TRUSTED_ROOTS".into());
        assert_eq!((system.vecs_code(), system.errno()), (5, libc::EPERM));
        let missing = Error::StoreNotFound("x".into());
        assert_eq!((missing.vecs_code(), missing.errno()), (4312, libc::ENOENT));
        let ro = Error::ReadOnlyStore("TRUSTED_ROOTS_CRLS".into());
        assert_eq!(ro.errno(), libc::EROFS);
        assert_eq!(Error::TooManyStores(1024).errno(), libc::ENOSPC);
    }

    /// The README's errno table: a database still locked after the busy timeout is EBUSY, a
    /// full disk ENOSPC, and any other failure inside EIO.
    #[test]
    fn database_failures_map_to_the_readme_errnos() {
        let sqlite = |code| {
            Error::Database(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                None,
            ))
        };
        assert_eq!(sqlite(rusqlite::ffi::SQLITE_BUSY).errno(), libc::EBUSY);
        assert_eq!(sqlite(rusqlite::ffi::SQLITE_LOCKED).errno(), libc::EBUSY);
        assert_eq!(sqlite(rusqlite::ffi::SQLITE_FULL).errno(), libc::ENOSPC);
        assert_eq!(sqlite(rusqlite::ffi::SQLITE_CORRUPT).errno(), libc::EIO);
        assert_eq!(sqlite(rusqlite::ffi::SQLITE_IOERR).errno(), libc::EIO);
    }
}
