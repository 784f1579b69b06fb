//! vecsfs: a local certificate store compatible with VMware's VECS.
//!
//! Layers, bottom up:
//! - [`pki`]: pure validation and canonicalisation of certificates, keys and CRLs;
//! - [`store`]: the SQLite database (schema, migrations, permissions);
//! - [`cli`]: `vecs-cli`, byte-compatible with VMware's tool;
//! - [`migrate`]: import of a VMware VECS `afd.db`, export to PEM and PKCS#12 files;
//! - [`error`]: the one place where failures become VECS error codes and errnos;
//! - [`secret`]: growing buffers of key material without leaving copies behind.

pub mod cli;
pub mod daemon;
pub mod error;
pub mod fs;
pub mod fuse;
pub mod logging;
pub mod migrate;
pub mod pki;
pub mod secret;
pub mod store;
pub mod sync;
pub mod users;

pub use error::{Error, Result};
