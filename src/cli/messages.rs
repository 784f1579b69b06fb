//! The texts vecs-cli prints, byte for byte as VMware's (usage, the generic error line).

/// VMware's usage text, verbatim (its trailing spaces included).
pub const USAGE: &str = "Usage: vecs-cli { arguments }\n\n\
Arguments:\n\n\
\tstore create --name <name> \n\
\t            [--server <server-name>]\n\
\t            [--upn <user-name>]\n\
\tstore list\n\
\t            [--server <server-name>]\n\
\t            [--upn <user-name>]\n\
\tstore delete --name <name> \n\
\t            [--server <server-name>]\n\
\t            [--upn <user-name>]\n\
\t            [-y]\n\
\tstore permission --name <name>\n\
\t                 --user <username>\n\
\t                 --grant|--revoke  read|write\n\
\tstore get-permissions --name <name>\n\
\t            [--server <server-name>]\n\
\t            [--upn <user-name>]\n\
\tentry create --store <store-name>\n\
\t             --alias <alias>\n\
\t             --cert <file-path>\n\
\t            [--key  <file-path>]\n\
\t            [--password  <password>]\n\
\t            [--text]\n\
\t            [--server <server-name>]\n\
\t            [--upn <user-name>]\n\
\tentry list   --store <store-name>\n\
\tentry getcert --store <store-name>\n\
\t              --alias <alias>\n\
\t            [--output <output-file-path>]\n\
\t            [--text]\n\
\t            [--server <server-name>]\n\
\t            [--upn <user-name>]\n\
\tentry getkey --store <store-name>\n\
\t             --alias <alias>\n\
\t            [--password  <password>]\n\
\t            [--output <output-file-path>]\n\
\t            [--text]\n\
\t            [--server <server-name>]\n\
\t            [--upn <user-name>]\n\
\tentry delete --store <store-name> --alias <alias>\n\
\t            [--server <server-name>]\n\
\t            [--upn <user-name>]\n\
\t            [-y]\n\
\tforce-refresh\n\
\t            [--server <server-name>]\n\
\t            [--upn <user-name>]\n\
\thelp\n";

/// What `--help` adds to the usage: where vecsfs deliberately differs from VMware's tool.
pub const DIFFERENCES: &str = "
vecsfs differences from VMware's vecs-cli:

\t--db <path>   on every command: the certificate database to use
\t              (else $VECS_DB, else /var/lib/vecs/vecs.db; created 0600 on first use)
\tKeys may be RSA, EC (P-256, P-384, P-521) or Ed25519, in PKCS#1, SEC1 or PKCS#8 PEM.
\t--password encrypts the stored key with PBES2 (PBKDF2-SHA256, AES-256-CBC).
\tTRUSTED_ROOT_CRLS and TRUSTED_ROOTS_CRLS both name the CRL store.
\tAliases are at most 255 bytes; certificate files at most 1 MiB, key files 64 KiB
\t(a larger file fails with error 223).
\tDeleting an alias that does not exist reports success, as VMware's tool does,
\tand is logged.
\tA Private Key or Encrypted Private Key entry deleted (or replaced) in any store but
\tBACKUP_STORE is kept there as bkp_<alias>, one step back, as VMware's certificate
\tmanager keeps a replaced pair; the output of entry delete is unchanged.
\tentry restore --store <store-name> --alias <alias>
\t              puts BACKUP_STORE's bkp_<alias> back as the entry; the pair it replaces
\t              becomes the new bkp_<alias>, so running it again undoes it. Needs write
\t              on the store and on BACKUP_STORE.
\tforce-refresh runs the configured trust sync now and reports what changed.
\ttrust-source set --ldap URL (--domain NAME | --base-dn DN) --bind-dn DN
\t                 --password-file FILE [--ca-file FILE] [--interval SECONDS]
\ttrust-source set --dir PATH [--interval SECONDS]
\ttrust-source show | unset
\tstatus [--days N] [--json]
\t              certificates expired or expiring within N days (default 30), pair
\t              rotations waiting for their second half, and the trust sync, for people
\t              or as JSON.
\t              where TRUSTED_ROOTS and TRUSTED_ROOTS_CRLS come from (root only to
\t              set): an LDAP directory laid out as vmdir, or a folder of PEM/DER files.
\t              The mount daemon syncs every interval (default 60 s); entries added by
\t              hand are never removed by a sync, and there is no 256-entry limit.
\timport --afd-db <path> [--dry-run] [--allow-partial] [--verbose]
\t              (root only) brings in a VMware VECS afd.db, which is only read: every
\t              store, entry (re-validated), owner, grant and sync flag, in one
\t              transaction. Anything that cannot be imported is listed with its reason
\t              and the import is refused unless --allow-partial; --dry-run shows it all
\t              and changes nothing.
\texport --store <name> [--alias <alias>] --output <dir>
\t       [--pkcs12 (--password-file <file|-> | --password-env <variable>)
\t        [--entry-password-file <file|->]]
\t              writes <alias>.crt (chain), .key (0600), .crl, .secret (0600) and with
\t              --pkcs12 <alias>.p12 (0600, AES-256, SHA-256 MAC) for each key entry;
\t              never overwrites a file. Passwords are never command-line arguments.
\tReasons for a refusal are logged to syslog; set RUST_LOG=info to see them here.
";

/// The line vecs-cli prints on stderr for a failure (vmafd `PrintError` + `VmAfdGetErrorString`).
pub fn error_line(code: u32) -> String {
    format!("vecs-cli failed. Error {code}: {} \n", error_text(code))
}

fn error_text(code: u32) -> String {
    if let Some(text) = vecs_error_text(code) {
        return text.to_string();
    }
    if code == crate::error::code::CANNOT_CONNECT_VMAFD {
        return "Cannot connect to vmafd service.".to_string();
    }
    let ldap = ldap_error_text(code);
    let win =
        win32_error_name(code).map(|name| format!("Operation failed with error {name} ({code})"));
    match (ldap, win) {
        (Some(ldap), Some(win)) => {
            format!("Possible errors: \nLDAP error: {ldap} \nWin Error: {win}")
        }
        (Some(ldap), None) => ldap.to_string(),
        (None, Some(win)) => win,
        (None, None) => format!("Error {code}."),
    }
}

/// vmafd's `VMCA_ERROR_TABLE_INITIALIZER` (vecs_error.h).
fn vecs_error_text(code: u32) -> Option<&'static str> {
    Some(match code {
        90001 => "Unable to do file I/O.",
        90002 => "Unable to open CRL file.",
        90003 => "Buffer Size Error",
        90004 => "Unable to write to CRL File",
        90005 => "Illegal Alias Name",
        90006 => "Unique Alias Name Constraint violation",
        90007 => "No certificate Found",
        90008 => "Unable to read the CRL",
        90009 => "Task Queue is NULL",
        90011 => "Missing Start Routine",
        90012 => "Task Queue is full",
        90013 => "Task Queue is empty",
        90014 => "Task not found",
        90015 => "No task ready to run now",
        90016 => "Out of Memory error",
        90017 => "Not able to decode certificate",
        90018 => "Private key does not match certificate",
        90019 => "DC Name Required.",
        90020 => "User Name or Password is missing",
        90021 => "The system is not joined to a domain",
        90101 => "Certificate End Point Unknown Error",
        _ => return None,
    })
}

/// OpenLDAP 2.4's `ldap_err2string` for the codes vecs-cli reports; "Unknown error" is
/// dropped by vmafd, so it is `None` here.
fn ldap_error_text(code: u32) -> Option<&'static str> {
    Some(match code {
        1 => "Operations error",
        2 => "Protocol error",
        3 => "Time limit exceeded",
        4 => "Size limit exceeded",
        5 => "Compare False",
        6 => "Compare True",
        7 => "Authentication method not supported",
        8 => "Strong(er) authentication required",
        10 => "Referral",
        11 => "Administrative limit exceeded",
        12 => "Critical extension is unavailable",
        13 => "Confidentiality required",
        14 => "SASL bind in progress",
        16 => "No such attribute",
        17 => "Undefined attribute type",
        18 => "Inappropriate matching",
        19 => "Constraint violation",
        20 => "Type or value exists",
        21 => "Invalid syntax",
        32 => "No such object",
        33 => "Alias problem",
        34 => "Invalid DN syntax",
        36 => "Alias dereferencing problem",
        48 => "Inappropriate authentication",
        49 => "Invalid credentials",
        50 => "Insufficient access",
        51 => "Server is busy",
        52 => "Server is unavailable",
        53 => "Server is unwilling to perform",
        54 => "Loop detected",
        64 => "Naming violation",
        65 => "Object class violation",
        66 => "Operation not allowed on non-leaf",
        67 => "Operation not allowed on RDN",
        68 => "Already exists",
        69 => "Cannot modify object class",
        71 => "Results too large",
        80 => "Internal (implementation specific) error",
        // The client-side codes of the C API before OpenLDAP made them negative (RFC 1823),
        // which vmafd's LDAP layer still reports: the trust sync fails with them.
        81 => "Can't contact LDAP server",
        91 => "Connect error",
        0x1000..=0x3FFF => "Unknown (extension) error",
        0x4000..=0xFFFF => "Unknown (private extension) error",
        _ => return None,
    })
}

/// Likewise's `LwWin32ErrorToName` for the codes vecs-cli reports.
fn win32_error_name(code: u32) -> Option<&'static str> {
    Some(match code {
        2 => "ERROR_FILE_NOT_FOUND",
        5 => "ERROR_ACCESS_DENIED",
        11 => "ERROR_BAD_FORMAT",
        87 => "ERROR_INVALID_PARAMETER",
        154 => "ERROR_LABEL_TOO_LONG",
        170 => "ERROR_BUSY",
        183 => "ERROR_ALREADY_EXISTS",
        223 => "ERROR_FILE_TOO_LARGE",
        1292 => "ERROR_IMPLEMENTATION_LIMIT",
        1317 => "ERROR_NO_SUCH_USER",
        1323 => "ERROR_WRONG_PASSWORD",
        4312 => "ERROR_OBJECT_NOT_FOUND",
        5023 => "ERROR_INVALID_STATE",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_parameter_line_matches_the_field() {
        // Seen on real vCenter: no LDAP text for 87.
        assert_eq!(
            error_line(87),
            "vecs-cli failed. Error 87: Operation failed with error ERROR_INVALID_PARAMETER (87) \n"
        );
    }

    #[test]
    fn access_denied_has_both_texts() {
        assert_eq!(
            error_line(5),
            "vecs-cli failed. Error 5: Possible errors: \nLDAP error: Compare False \nWin Error: Operation failed with error ERROR_ACCESS_DENIED (5) \n"
        );
    }

    #[test]
    fn vecs_errors_use_their_own_table() {
        assert_eq!(
            error_line(90018),
            "vecs-cli failed. Error 90018: Private key does not match certificate \n"
        );
    }

    #[test]
    fn usage_keeps_its_trailing_spaces() {
        assert!(USAGE.contains("\tstore create --name <name> \n"));
        assert!(USAGE.ends_with("\thelp\n"));
    }
}
