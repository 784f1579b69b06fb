//! vecs-cli store commands, permissions, the database file and VMware's argument rules, driven
//! through the real binary.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{run_with_input, vecs_cli, Workspace};

const SEEDED: &str = "MACHINE_SSL_CERT\nTRUSTED_ROOTS\nTRUSTED_ROOTS_CRLS\nmachine\nvsphere-webclient\nvpxd\nvpxd-extension\nBACKUP_STORE\n";

fn usage() -> String {
    let ws = Workspace::new();
    ws.vecs(&["help"]).ok().to_string()
}

#[test]
fn help_prints_vmware_usage_verbatim() {
    let ws = Workspace::new();
    let out = ws.vecs(&["help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with(
        "Usage: vecs-cli { arguments }\n\nArguments:\n\n\tstore create --name <name> \n"
    ));
    assert!(out.stdout.ends_with("\tforce-refresh\n\t            [--server <server-name>]\n\t            [--upn <user-name>]\n\thelp\n"));
    assert_eq!(out.stderr, "");
}

#[test]
fn dash_dash_help_adds_the_differences() {
    let ws = Workspace::new();
    let out = ws.vecs(&["--help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with(&usage()));
    assert!(out.stdout.contains("--db <path>"));
    assert!(out.stdout.contains("Ed25519"));
}

#[test]
fn bad_arguments_print_usage_and_error_87() {
    let ws = Workspace::new();
    for args in [
        vec![],
        vec!["Store", "list"],
        vec!["store"],
        vec!["store", "rename"],
        vec!["entry", "list", "--store"],
        vec!["entry", "create", "--store", "S", "--text"],
        vec!["entry", "list", "--store", "S", "--bogus"],
        vec![
            "store",
            "permission",
            "--name",
            "S",
            "--user",
            "root",
            "--grant",
            "admin",
        ],
    ] {
        let out = ws.vecs(&args);
        out.failed_with(87);
        assert_eq!(out.stdout, usage(), "{args:?}");
        assert_eq!(
            out.stderr,
            "vecs-cli failed. Error 87: Operation failed with error ERROR_INVALID_PARAMETER (87) \n"
        );
    }
}

#[test]
fn a_new_database_has_the_vcenter_stores_in_order() {
    let ws = Workspace::new();
    assert_eq!(ws.vecs(&["store", "list"]).ok(), SEEDED);
}

#[test]
fn the_database_is_private_and_its_directory_is_made() {
    let ws = Workspace::new();
    let db = ws.path("nested/deeper/vecs.db");
    let out = ws.vecs(&["store", "list", "--db", db.to_str().unwrap()]);
    assert_eq!(out.ok(), SEEDED);
    // SQLite removes the WAL and SHM files when the last connection closes: hold one open.
    let mut open = vecsfs::store::Database::open(&db).unwrap();
    open.create_store(0, "keeps-the-wal").unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db.display());
        let mode = std::fs::metadata(&path).expect(&path).permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{path}");
    }
    let dir_mode = std::fs::metadata(ws.path("nested"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
}

#[test]
fn db_option_wins_over_the_environment() {
    let ws = Workspace::new();
    let other = ws.path("other.db");
    ws.vecs(&[
        "store",
        "create",
        "--name",
        "only-in-other",
        "--db",
        other.to_str().unwrap(),
    ])
    .ok();
    assert!(!ws.vecs(&["store", "list"]).ok().contains("only-in-other"));
    let listed = ws.vecs(&["store", "list", "--db", other.to_str().unwrap()]);
    assert!(listed.ok().contains("only-in-other"));
}

#[test]
fn store_create_and_duplicates_in_any_case() {
    let ws = Workspace::new();
    assert_eq!(
        ws.vecs(&["store", "create", "--name", "MyStore"]).ok(),
        "Successfully created store [MyStore]\n"
    );
    let before = ws.snapshot("MyStore");
    ws.vecs(&["store", "create", "--name", "mystore"])
        .failed_with(183);
    ws.vecs(&["store", "create", "--name", "vpxd"])
        .failed_with(183);
    // The vCenter spelling names the CRL store: it exists already.
    ws.vecs(&["store", "create", "--name", "TRUSTED_ROOT_CRLS"])
        .failed_with(183);
    assert_eq!(ws.snapshot("MyStore"), before);
    assert!(ws
        .vecs(&["store", "list"])
        .ok()
        .ends_with("BACKUP_STORE\nMyStore\n"));
}

#[test]
fn store_create_without_a_name() {
    let ws = Workspace::new();
    let out = ws.vecs(&["store", "create"]);
    out.failed_with(87);
    assert!(out
        .stderr
        .starts_with("Error : An invalid store name [] was specified \n"));
    let out = ws.vecs(&["store", "create", "--name", ""]);
    out.failed_with(87);
}

#[test]
fn store_names_over_128_bytes_are_refused() {
    let ws = Workspace::new();
    let before = ws.snapshot("TRUSTED_ROOTS");
    for len in [129, 10_000] {
        let name = "s".repeat(len);
        ws.vecs(&["store", "create", "--name", &name])
            .failed_with(154);
    }
    assert_eq!(ws.snapshot("TRUSTED_ROOTS"), before);
    ws.vecs(&["store", "create", "--name", &"s".repeat(128)])
        .ok();
}

#[test]
fn store_delete_asks_first() {
    let ws = Workspace::new();
    ws.vecs(&["store", "create", "--name", "doomed"]).ok();
    let prompt =
        "Warning: This operation will delete store [doomed]\nDo you wish to continue? Y/N [N] \n";
    for answer in [&b""[..], b"n\n", b"N", b"yes"] {
        let out = ws.vecs_with_input(&["store", "delete", "--name", "doomed"], answer);
        // "yes" starts with y: it confirms, as scanf("%c") does.
        if answer == b"yes" {
            assert_eq!(
                out.ok(),
                format!("{prompt}Successfully deleted store [doomed]\n")
            );
        } else {
            assert_eq!(out.ok(), prompt);
            assert!(ws.vecs(&["store", "list"]).ok().contains("doomed\n"));
        }
    }
    assert!(!ws.vecs(&["store", "list"]).ok().contains("doomed"));
}

#[test]
fn store_delete_with_y_and_its_refusals() {
    let ws = Workspace::new();
    ws.vecs(&["store", "create", "--name", "gone"]).ok();
    assert_eq!(
        ws.vecs(&["store", "delete", "--name", "GONE", "-y"]).ok(),
        "Successfully deleted store [GONE]\n"
    );
    let out = ws.vecs(&["store", "delete", "--name", "gone", "-y"]);
    out.failed_with(4312);
    assert!(out
        .stderr
        .starts_with("Error : Store [gone] does not exist\n"));
    assert_eq!(out.code, 216);
    let before = ws.snapshot("TRUSTED_ROOTS");
    for system in [
        "MACHINE_SSL_CERT",
        "trusted_roots",
        "TRUSTED_ROOTS_CRLS",
        "TRUSTED_ROOT_CRLS",
    ] {
        ws.vecs(&["store", "delete", "--name", system, "-y"])
            .failed_with(5);
    }
    assert_eq!(ws.snapshot("TRUSTED_ROOTS"), before);
}

#[test]
fn deleted_vcenter_stores_stay_deleted() {
    let ws = Workspace::new();
    ws.vecs(&["store", "delete", "--name", "BACKUP_STORE", "-y"])
        .ok();
    ws.vecs(&["store", "delete", "--name", "vpxd", "-y"]).ok();
    let listed = ws.vecs(&["store", "list"]);
    assert!(!listed.ok().contains("BACKUP_STORE"));
    assert!(!listed.stdout.contains("vpxd\n"));
    // Opening the database again does not seed them again.
    assert!(!ws.vecs(&["store", "list"]).ok().contains("BACKUP_STORE"));
}

#[test]
fn permissions_of_the_system_stores() {
    let ws = Workspace::new();
    assert_eq!(
        ws.vecs(&["store", "get-permissions", "--name", "TRUSTED_ROOTS"])
            .ok(),
        "PERMISSIONS FOR STORE: [TRUSTED_ROOTS]\nOWNER : root\nUSER\t\tACCESS\nEVERYONE\tread\n"
    );
    assert_eq!(
        ws.vecs(&["store", "get-permissions", "--name", "MACHINE_SSL_CERT"])
            .ok(),
        "PERMISSIONS FOR STORE: [MACHINE_SSL_CERT]\nOWNER : root\nUSER\t\tACCESS\n"
    );
}

#[test]
fn grant_replaces_and_revoke_removes() {
    let ws = Workspace::new();
    ws.vecs(&["store", "create", "--name", "S"]).ok();
    let set = "Permissions for store [S] set  successfully\n ";
    assert_eq!(
        ws.vecs(&[
            "store",
            "permission",
            "--name",
            "S",
            "--user",
            "nobody",
            "--grant",
            "write"
        ])
        .ok(),
        set
    );
    ws.vecs(&[
        "store",
        "permission",
        "--name",
        "S",
        "--user",
        "daemon",
        "--grant",
        "read",
    ])
    .ok();
    let header = "PERMISSIONS FOR STORE: [S]\nOWNER : root\nUSER\t\tACCESS\n";
    assert_eq!(
        ws.vecs(&["store", "get-permissions", "--name", "S"]).ok(),
        format!("{header}daemon\tread\nnobody\twrite\n")
    );
    // A later grant replaces the earlier one, as vmafd's SET does.
    ws.vecs(&[
        "store",
        "permission",
        "--user",
        "nobody",
        "--grant",
        "read",
        "--name",
        "S",
    ])
    .ok();
    assert_eq!(
        ws.vecs(&["store", "get-permissions", "--name", "S"]).ok(),
        format!("{header}daemon\tread\nnobody\tread\n")
    );
    assert_eq!(
        ws.vecs(&[
            "store",
            "permission",
            "--name",
            "S",
            "--user",
            "daemon",
            "--revoke",
            "read"
        ])
        .ok(),
        set
    );
    assert_eq!(
        ws.vecs(&["store", "get-permissions", "--name", "S"]).ok(),
        format!("{header}nobody\tread\n")
    );
    ws.vecs(&[
        "store",
        "permission",
        "--name",
        "S",
        "--user",
        "EVERYONE",
        "--grant",
        "read",
    ])
    .ok();
    assert!(ws
        .vecs(&["store", "get-permissions", "--name", "S"])
        .ok()
        .ends_with("EVERYONE\tread\nnobody\tread\n"));
}

#[test]
fn permission_refusals_change_nothing() {
    let ws = Workspace::new();
    ws.vecs(&["store", "create", "--name", "S"]).ok();
    let before = ws
        .vecs(&["store", "get-permissions", "--name", "S"])
        .ok()
        .to_string();
    ws.vecs(&[
        "store",
        "permission",
        "--name",
        "S",
        "--user",
        "no-such-user-x",
        "--grant",
        "read",
    ])
    .failed_with(1317);
    let out = ws.vecs(&[
        "store",
        "permission",
        "--name",
        "missing",
        "--user",
        "nobody",
        "--grant",
        "read",
    ]);
    out.failed_with(4312);
    assert!(out.stderr.starts_with("Error: Failed to open the store\n"));
    let out = ws.vecs(&["store", "permission", "--name", "S", "--user", "nobody"]);
    out.failed_with(87);
    assert!(
        out.stderr.starts_with("vecs-cli failed"),
        "no message before the error line"
    );
    ws.vecs(&["store", "get-permissions"]).failed_with(87);
    let out = ws.vecs(&["store", "get-permissions", "--name", "missing"]);
    out.failed_with(4312);
    assert!(out.stderr.starts_with("Error: Failed to open the store\n"));
    assert_eq!(
        ws.vecs(&["store", "get-permissions", "--name", "S"]).ok(),
        before
    );
}

#[test]
fn remote_options_are_answered_as_with_no_remote_service() {
    let ws = Workspace::new();
    let out = ws.vecs(&["store", "list", "--server", "vc.example"]);
    out.failed_with(5023);
    assert!(out
        .stderr
        .starts_with("Error: Error: You have to provide both server and upn \n\n"));
    let out = ws.vecs_with_input(
        &[
            "entry",
            "list",
            "--store",
            "TRUSTED_ROOTS",
            "--server",
            "vc",
            "--upn",
            "a@b",
        ],
        b"secret\n",
    );
    out.failed_with(1021);
    assert_eq!(out.stdout, "Enter password:\t\n");
    assert!(out
        .stderr
        .starts_with("Error: Failed to establish connection to remote server \n\n"));
}

#[test]
fn force_refresh_without_a_trust_source() {
    let ws = Workspace::new();
    let out = ws.vecs(&["force-refresh"]);
    if is_root() {
        out.failed_with(90021);
        assert_eq!(out.code, 165);
    } else {
        out.failed_with(5);
    }
    assert!(out
        .stderr
        .starts_with("Error: Failed to trigger root cert refresh \n\n"));
}

fn is_root() -> bool {
    vecsfs::users::current_uid() == 0
}

/// Runs vecs-cli as another local user on a database that user may open (the store rules, not
/// the file mode, are under test here).
fn vecs_as(ws: &Workspace, user: &str, args: &[&str]) -> common::Run {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", user, "--", vecs_cli()])
        .args(args)
        .env("VECS_DB", &ws.db);
    run_with_input(cmd, b"")
}

#[test]
fn other_users_follow_the_vecs_access_rules() {
    assert!(
        is_root(),
        "this test runs vecs-cli as user nobody through runuser: run the suite as root (CI does)"
    );
    let ws = Workspace::new();
    ws.vecs(&["store", "create", "--name", "S"]).ok();
    let id = common::identity(&ws, common::KeyKind::EcP256, "peruser");
    ws.vecs(&[
        "entry", "create", "--store", "S", "--alias", "a", "--cert", &id.cert, "--key", &id.key,
    ])
    .ok();
    // Let nobody open the database file itself: the store's rules decide the rest.
    let nobody = vecsfs::users::uid_of("nobody").expect("user nobody");
    for path in [ws.dir.path().to_path_buf(), ws.db.clone()] {
        std::os::unix::fs::chown(&path, Some(nobody), None).unwrap();
    }
    for suffix in ["-wal", "-shm"] {
        let _ =
            std::os::unix::fs::chown(format!("{}{suffix}", ws.db.display()), Some(nobody), None);
    }
    std::fs::copy(&id.cert, ws.path("nobody.crt")).unwrap();
    std::fs::set_permissions(
        ws.path("nobody.crt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let cert = ws.path("nobody.crt").to_string_lossy().into_owned();

    // No grant: no list, no cert, no key, no write, no permission view.
    let out = vecs_as(&ws, "nobody", &["entry", "list", "--store", "S"]);
    out.failed_with(5);
    assert!(out
        .stderr
        .starts_with("Error: Could not retrieve number of entries in store\n"));
    vecs_as(
        &ws,
        "nobody",
        &["entry", "getcert", "--store", "S", "--alias", "a"],
    )
    .failed_with(5);
    vecs_as(
        &ws,
        "nobody",
        &["entry", "getkey", "--store", "S", "--alias", "a"],
    )
    .failed_with(5);
    vecs_as(
        &ws,
        "nobody",
        &["entry", "delete", "--store", "S", "--alias", "a", "-y"],
    )
    .failed_with(5);
    vecs_as(&ws, "nobody", &["store", "get-permissions", "--name", "S"]).failed_with(5);
    vecs_as(&ws, "nobody", &["store", "delete", "--name", "S", "-y"]).failed_with(5);
    vecs_as(
        &ws,
        "nobody",
        &[
            "store",
            "permission",
            "--name",
            "S",
            "--user",
            "nobody",
            "--grant",
            "write",
        ],
    )
    .failed_with(5);

    // EVERYONE may read TRUSTED_ROOTS; anybody may list stores and create one, and owns it.
    vecs_as(
        &ws,
        "nobody",
        &["entry", "list", "--store", "TRUSTED_ROOTS"],
    )
    .ok();
    vecs_as(&ws, "nobody", &["store", "create", "--name", "mine"]).ok();
    assert!(vecs_as(
        &ws,
        "nobody",
        &["store", "get-permissions", "--name", "mine"]
    )
    .ok()
    .contains("OWNER : nobody\n"));
    vecs_as(
        &ws,
        "nobody",
        &[
            "entry", "create", "--store", "mine", "--alias", "c", "--cert", &cert,
        ],
    )
    .ok();

    // A read grant: list, cert and key (VECS lets readers export keys), but no write.
    ws.vecs(&[
        "store",
        "permission",
        "--name",
        "S",
        "--user",
        "nobody",
        "--grant",
        "read",
    ])
    .ok();
    assert!(vecs_as(&ws, "nobody", &["entry", "list", "--store", "S"])
        .ok()
        .contains("Alias :\ta\n"));
    vecs_as(
        &ws,
        "nobody",
        &["entry", "getcert", "--store", "S", "--alias", "a"],
    )
    .ok();
    vecs_as(
        &ws,
        "nobody",
        &["entry", "getkey", "--store", "S", "--alias", "a"],
    )
    .ok();
    vecs_as(
        &ws,
        "nobody",
        &["entry", "delete", "--store", "S", "--alias", "a", "-y"],
    )
    .failed_with(5);
    vecs_as(
        &ws,
        "nobody",
        &[
            "entry", "create", "--store", "S", "--alias", "b", "--cert", &cert,
        ],
    )
    .failed_with(5);

    // A write grant satisfies read too (vmafd compares masks numerically).
    ws.vecs(&[
        "store",
        "permission",
        "--name",
        "S",
        "--user",
        "nobody",
        "--grant",
        "write",
    ])
    .ok();
    vecs_as(
        &ws,
        "nobody",
        &[
            "entry", "create", "--store", "S", "--alias", "b", "--cert", &cert,
        ],
    )
    .ok();
    vecs_as(&ws, "nobody", &["entry", "list", "--store", "S"]).ok();
    vecs_as(
        &ws,
        "nobody",
        &["entry", "delete", "--store", "S", "--alias", "b", "-y"],
    )
    .ok();
    assert_eq!(
        ws.vecs(&["entry", "list", "--store", "S", "--aliases"])
            .ok(),
        "Number of entries in store :\t1\na\n"
    );
}
