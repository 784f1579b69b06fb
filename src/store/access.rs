//! VECS's access rules (vmafd `VmAfdAccessCheckWithHandle` + `VmAfdCheckAcl`).

use crate::users::Principal;

/// vmafd's `READ_STORE`.
pub const READ_STORE: u32 = 0x4000_0000;
/// vmafd's `WRITE_STORE`.
pub const WRITE_STORE: u32 = 0x8000_0000;

/// The access a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn mask(self) -> u32 {
        match self {
            Access::Read => READ_STORE,
            Access::Write => WRITE_STORE,
        }
    }

    pub(super) fn verb(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// One grant of a store's access list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub principal: Principal,
    pub mask: u32,
}

/// Whether `uid` may have `desired` on a store owned by `owner` with access list `acl`.
///
/// Root and the owner always may. Otherwise the masks granted to the caller and to EVERYONE
/// are OR-ed and compared numerically with the desired mask, as vmafd does: so a write grant
/// also satisfies a read, but a read grant does not satisfy a write.
pub fn allows(uid: u32, owner: u32, acl: &[Grant], desired: Access) -> bool {
    if uid == 0 || uid == owner {
        return true;
    }
    let granted = acl
        .iter()
        .filter(|g| g.principal == Principal::User(uid) || g.principal == Principal::Everyone)
        .fold(0u32, |acc, g| acc | g.mask);
    granted != 0 && granted >= desired.mask()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(principal: Principal, mask: u32) -> Grant {
        Grant { principal, mask }
    }

    #[test]
    fn root_and_owner_bypass_the_list() {
        assert!(allows(0, 1000, &[], Access::Write));
        assert!(allows(1000, 1000, &[], Access::Write));
        assert!(!allows(1001, 1000, &[], Access::Read));
    }

    #[test]
    fn write_satisfies_read_but_read_not_write() {
        let acl = [grant(Principal::User(7), WRITE_STORE)];
        assert!(allows(7, 0, &acl, Access::Read));
        let acl = [grant(Principal::User(7), READ_STORE)];
        assert!(allows(7, 0, &acl, Access::Read));
        assert!(!allows(7, 0, &acl, Access::Write));
    }

    #[test]
    fn everyone_applies_to_every_user() {
        let acl = [grant(Principal::Everyone, READ_STORE)];
        assert!(allows(65534, 0, &acl, Access::Read));
        assert!(!allows(65534, 0, &acl, Access::Write));
    }
}
