//! Store names and aliases: limits, the stores every database starts with, and the second name
//! of the CRL store.

use crate::error::{Error, Result};

/// vmafd's `STORE_LABEL_MAX_LENGTH`: longer store names are refused with 154.
pub const MAX_STORE_NAME: usize = 128;
/// VECS sets no limit on aliases; ours keeps every alias a possible file name (255 bytes).
pub const MAX_ALIAS: usize = 255;
/// vmafd's `STORE_TABLE_LIMIT`.
pub const MAX_STORES: usize = 1024;

pub const MACHINE_SSL_CERT: &str = "MACHINE_SSL_CERT";
pub const TRUSTED_ROOTS: &str = "TRUSTED_ROOTS";
/// The CRL store as vecsfs names it (the mount shows this name).
pub const CRL_STORE: &str = "TRUSTED_ROOTS_CRLS";
/// The CRL store as real vCenter spells it; accepted everywhere as another name for it.
pub const CRL_STORE_VCENTER: &str = "TRUSTED_ROOT_CRLS";
pub const BACKUP_STORE: &str = "BACKUP_STORE";

/// What BACKUP_STORE's aliases start with, as VMware's certificate manager names its backups.
pub const BACKUP_ALIAS_PREFIX: &str = "bkp_";

/// The alias under which BACKUP_STORE keeps the previous pair of `alias`.
pub fn backup_alias(alias: &str) -> String {
    format!("{BACKUP_ALIAS_PREFIX}{alias}")
}

/// What a store is allowed to have done to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Ordinary = 0,
    /// Never deleted (MACHINE_SSL_CERT, TRUSTED_ROOTS).
    System = 1,
    /// Never deleted, and read-only through the mount: only the trust sync changes it.
    SystemReadOnly = 2,
}

impl StoreKind {
    pub(super) fn from_db(value: i64) -> Self {
        match value {
            1 => StoreKind::System,
            2 => StoreKind::SystemReadOnly,
            _ => StoreKind::Ordinary,
        }
    }

    pub fn is_system(self) -> bool {
        self != StoreKind::Ordinary
    }
}

pub(super) struct SeededStore {
    pub name: &'static str,
    pub kind: StoreKind,
    pub everyone_reads: bool,
}

/// The stores a new database starts with, in the order vCenter lists them. The system stores
/// come first so that they get ids 1, 2, 3 as in vmafd.
pub(super) const SEEDED_STORES: &[SeededStore] = &[
    seeded(MACHINE_SSL_CERT, StoreKind::System, false),
    seeded(TRUSTED_ROOTS, StoreKind::System, true),
    seeded(CRL_STORE, StoreKind::SystemReadOnly, true),
    seeded("machine", StoreKind::Ordinary, false),
    seeded("vsphere-webclient", StoreKind::Ordinary, false),
    seeded("vpxd", StoreKind::Ordinary, false),
    seeded("vpxd-extension", StoreKind::Ordinary, false),
    seeded(BACKUP_STORE, StoreKind::Ordinary, false),
];

const fn seeded(name: &'static str, kind: StoreKind, everyone_reads: bool) -> SeededStore {
    SeededStore {
        name,
        kind,
        everyone_reads,
    }
}

/// The name a store is kept under: `TRUSTED_ROOT_CRLS` is the CRL store.
pub fn canonical_store_name(name: &str) -> &str {
    if name.eq_ignore_ascii_case(CRL_STORE_VCENTER) {
        CRL_STORE
    } else {
        name
    }
}

pub fn check_store_name(name: &str) -> Result<()> {
    check_label("store name", name, MAX_STORE_NAME)?;
    check_component(
        "store name as a file name (/ and % take 3 bytes each)",
        name,
    )
}

pub fn check_alias(alias: &str) -> Result<()> {
    check_label("alias", alias, MAX_ALIAS)?;
    check_component("alias as a file name (/ and % take 3 bytes each)", alias)
}

/// The longest path component Linux allows (NAME_MAX).
const MAX_COMPONENT: usize = 255;

/// How many bytes `name` takes as a path component of the mount, which shows `/`, `%` and NUL
/// percent-encoded (3 bytes each) and `.`/`..` as `%2E`s; `fs::names::encode` is that
/// encoding, and its tests hold the two together.
pub fn component_len(name: &str) -> usize {
    if name == "." || name == ".." {
        return 3 * name.len();
    }
    name.len()
        + 2 * name
            .bytes()
            .filter(|b| matches!(b, b'%' | b'/' | 0))
            .count()
}

/// A name the mount would show as a component over NAME_MAX is refused at the door: FUSE
/// itself takes up to 1024 bytes, but no disk filesystem does, so `cp -r`, `tar` or `rsync`
/// of the mount to disk (a backup) would fail on it, as would tools that assume NAME_MAX.
fn check_component(what: &'static str, name: &str) -> Result<()> {
    let len = component_len(name);
    if len > MAX_COMPONENT {
        return Err(Error::NameTooLong {
            what,
            len,
            limit: MAX_COMPONENT,
        });
    }
    Ok(())
}

/// The bundle of every trusted root the mount shows in TRUSTED_ROOTS.
pub const CA_BUNDLE: &str = "ca-bundle.pem";

/// Whether `name` is one of the files the mount generates in TRUSTED_ROOTS: the CA bundle, or
/// an OpenSSL CApath name (`<8 hex>.N` for a certificate, `<8 hex>.rN` for a CRL).
pub fn is_generated_name(name: &str) -> bool {
    if name == CA_BUNDLE {
        return true;
    }
    let Some((hash, suffix)) = name.split_once('.') else {
        return false;
    };
    let number = suffix.strip_prefix('r').unwrap_or(suffix);
    hash.len() == 8
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// An alias in `store`: a valid alias, and in TRUSTED_ROOTS not one of the names the mount
/// generates there (an alias directory would hide the CApath file, or the file the alias).
pub fn check_alias_in(store: &str, alias: &str) -> Result<()> {
    check_alias(alias)?;
    if canonical_store_name(store).eq_ignore_ascii_case(TRUSTED_ROOTS) && is_generated_name(alias) {
        return Err(Error::GeneratedName(alias.to_string()));
    }
    Ok(())
}

fn check_label(what: &'static str, value: &str, limit: usize) -> Result<()> {
    if value.is_empty() {
        return Err(Error::EmptyName(what));
    }
    if value.len() > limit {
        return Err(Error::NameTooLong {
            what,
            len: value.len(),
            limit,
        });
    }
    if value.contains('\0') {
        return Err(Error::InvalidParameter(format!(
            "the {what} contains a NUL byte"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vcenter_spelling_names_the_crl_store() {
        assert_eq!(canonical_store_name("trusted_root_crls"), CRL_STORE);
        assert_eq!(canonical_store_name("TRUSTED_ROOTS"), TRUSTED_ROOTS);
    }

    #[test]
    fn labels_have_limits() {
        assert!(check_store_name(&"s".repeat(128)).is_ok());
        assert!(matches!(
            check_store_name(&"s".repeat(129)),
            Err(Error::NameTooLong { .. })
        ));
        assert!(matches!(check_alias(""), Err(Error::EmptyName(_))));
        assert!(matches!(
            check_alias(&"a".repeat(10_000)),
            Err(Error::NameTooLong { .. })
        ));
    }

    #[test]
    fn names_must_fit_one_path_component_as_the_mount_shows_them() {
        assert!(check_alias(&"a".repeat(255)).is_ok());
        // 85 slashes are 255 bytes shown; one more byte is too many.
        assert!(check_alias(&"/".repeat(85)).is_ok());
        let refused = check_alias(&format!("a{}", "/".repeat(85)));
        assert!(
            matches!(
                refused,
                Err(Error::NameTooLong {
                    len: 256,
                    limit: 255,
                    ..
                })
            ),
            "{refused:?}"
        );
        assert!(check_store_name(&"%".repeat(86)).is_err());
        assert!(check_store_name(&"%".repeat(85)).is_ok());
    }
}
