//! Several vecs-cli processes writing one database at once lose nothing.

mod common;

use common::{identity, KeyKind, Workspace};

#[test]
fn concurrent_writers_lose_nothing() {
    const WRITERS: usize = 4;
    const PER_WRITER: usize = 25;
    let ws = Workspace::new();
    let id = identity(&ws, KeyKind::EcP256, "shared");
    ws.vecs(&["store", "list"]).ok(); // create the database before the race
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let ws = &ws;
            let cert = id.cert.clone();
            let key = id.key.clone();
            scope.spawn(move || {
                for n in 0..PER_WRITER {
                    let alias = format!("w{writer}-{n}");
                    // Half the writers add pairs to one store, half certificates to another,
                    // and every writer also creates a store of its own.
                    let out = if writer % 2 == 0 {
                        ws.vecs(&[
                            "entry", "create", "--store", "machine", "--alias", &alias, "--cert",
                            &cert, "--key", &key,
                        ])
                    } else {
                        ws.vecs(&[
                            "entry",
                            "create",
                            "--store",
                            "TRUSTED_ROOTS",
                            "--alias",
                            &alias,
                            "--cert",
                            &cert,
                        ])
                    };
                    out.ok();
                    ws.vecs(&["store", "create", "--name", &format!("store-{writer}-{n}")])
                        .ok();
                }
            });
        }
    });
    let machine = ws.vecs(&["entry", "list", "--store", "machine", "--aliases"]);
    let roots = ws.vecs(&["entry", "list", "--store", "TRUSTED_ROOTS", "--aliases"]);
    let half = WRITERS / 2 * PER_WRITER;
    assert!(machine
        .ok()
        .starts_with(&format!("Number of entries in store :\t{half}\n")));
    assert!(roots
        .ok()
        .starts_with(&format!("Number of entries in store :\t{half}\n")));
    for writer in 0..WRITERS {
        for n in 0..PER_WRITER {
            let listing = if writer % 2 == 0 {
                &machine.stdout
            } else {
                &roots.stdout
            };
            assert!(
                listing.contains(&format!("\nw{writer}-{n}\n")),
                "w{writer}-{n} lost"
            );
        }
    }
    let stores = ws.vecs(&["store", "list"]);
    assert_eq!(stores.ok().lines().count(), 8 + WRITERS * PER_WRITER);
}
