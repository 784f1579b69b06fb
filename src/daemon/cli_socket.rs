//! The daemon's vecs-cli socket (see [`crate::cli::remote`]): an accept loop on its own
//! thread, one short-lived thread per connection (each bounded by the protocol's timeouts, and
//! at most [`MAX_CLIENTS`] at once), and the socket file removed when the daemon stops serving.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use log::{info, warn};

use crate::cli::remote;

/// Connections served at once. The socket is open to every local user: past this, new ones
/// are closed at once rather than each given a thread.
const MAX_CLIENTS: usize = 32;

/// The socket file while the daemon serves; dropping it removes the file.
pub struct CliSocket {
    path: PathBuf,
}

impl CliSocket {
    /// Listens for vecs-cli on behalf of users who cannot open `db`.
    pub fn start(db: &Path) -> io::Result<CliSocket> {
        let (listener, path) = remote::bind(db)?;
        let db = db.to_path_buf();
        let serving = Arc::new(AtomicUsize::new(0));
        thread::Builder::new()
            .name("vecs-cli-socket".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    if serving.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
                        serving.fetch_sub(1, Ordering::SeqCst);
                        warn!("vecs-cli socket: {MAX_CLIENTS} connections at once; closed one");
                        continue;
                    }
                    let (db, done) = (db.clone(), Arc::clone(&serving));
                    let spawned =
                        thread::Builder::new()
                            .name("vecs-cli-client".into())
                            .spawn(move || {
                                if let Err(e) = remote::serve_connection(stream, &db) {
                                    warn!("vecs-cli socket: {e}");
                                }
                                done.fetch_sub(1, Ordering::SeqCst);
                            });
                    if let Err(e) = spawned {
                        serving.fetch_sub(1, Ordering::SeqCst);
                        warn!("vecs-cli socket: cannot serve a connection: {e}");
                    }
                }
            })?;
        info!("vecs-cli socket for other users at {}", path.display());
        Ok(CliSocket { path })
    }
}

impl Drop for CliSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
