//! Local user names and uids, as vmafd resolves them (`getpwnam_r` / `getpwuid_r`).

use std::ffi::{CStr, CString};

/// The uid that stands for VECS's pseudo principal EVERYONE (vmafd's `EVERYONE_UID`, -1).
pub const EVERYONE_UID: i64 = -1;

/// A principal of a store's access list: a local user, or everybody.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Principal {
    User(u32),
    Everyone,
}

impl Principal {
    /// How the principal is kept in the database (EVERYONE as -1, as vmafd does).
    pub fn to_db(self) -> i64 {
        match self {
            Principal::User(uid) => i64::from(uid),
            Principal::Everyone => EVERYONE_UID,
        }
    }

    pub fn from_db(value: i64) -> Self {
        match u32::try_from(value) {
            Ok(uid) => Principal::User(uid),
            Err(_) => Principal::Everyone,
        }
    }

    /// Resolves a name given on the command line: `EVERYONE` (any case) or a local user.
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("EVERYONE") {
            return Some(Principal::Everyone);
        }
        uid_of(name).map(Principal::User)
    }

    /// The name vecs-cli prints: the user name, `EVERYONE`, or the bare uid of a deleted user.
    pub fn display_name(self) -> String {
        match self {
            Principal::Everyone => "EVERYONE".to_string(),
            Principal::User(uid) => name_of(uid).unwrap_or_else(|| uid.to_string()),
        }
    }
}

/// The uid of a local user, if there is one by that name.
pub fn uid_of(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: all-zero is a valid `passwd` (null pointers, zero ids); getpwnam_r fills it in.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the duration of the call and `buf.len()` is its size.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some(pwd.pw_uid)
}

/// The name of a local user, if the uid has one.
pub fn name_of(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: as in `uid_of`.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the duration of the call and `buf.len()` is its size.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so pw_name points to a NUL-terminated string inside `buf`.
    let name = unsafe { CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

/// The real uid of this process: who is calling, as SO_PEERCRED tells vmafd.
pub fn current_uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_resolves_both_ways() {
        assert_eq!(uid_of("root"), Some(0));
        assert_eq!(name_of(0).as_deref(), Some("root"));
    }

    #[test]
    fn everyone_is_a_principal_in_any_case() {
        assert_eq!(Principal::from_name("everyone"), Some(Principal::Everyone));
        assert_eq!(Principal::Everyone.to_db(), -1);
        assert_eq!(Principal::from_db(-1), Principal::Everyone);
        assert_eq!(Principal::from_db(65534), Principal::User(65534));
    }

    #[test]
    fn unknown_users_resolve_to_nothing() {
        assert_eq!(uid_of("no-such-user-vecsfs"), None);
        assert_eq!(uid_of("bad\0name"), None);
    }
}
