//! The daemon's vecs-cli socket (see [`crate::cli::remote`]): an accept loop on its own
//! thread, one short-lived thread per connection (each bounded by the protocol's timeouts),
//! and the socket file removed when the daemon stops serving.

use std::io;
use std::path::{Path, PathBuf};
use std::thread;

use log::{info, warn};

use crate::cli::remote;

/// The socket file while the daemon serves; dropping it removes the file.
pub struct CliSocket {
    path: PathBuf,
}

impl CliSocket {
    /// Listens for vecs-cli on behalf of users who cannot open `db`.
    pub fn start(db: &Path) -> io::Result<CliSocket> {
        let (listener, path) = remote::bind(db)?;
        let db = db.to_path_buf();
        thread::Builder::new()
            .name("vecs-cli-socket".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let db = db.clone();
                    let spawned =
                        thread::Builder::new()
                            .name("vecs-cli-client".into())
                            .spawn(move || {
                                if let Err(e) = remote::serve_connection(stream, &db) {
                                    warn!("vecs-cli socket: {e}");
                                }
                            });
                    if let Err(e) = spawned {
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
