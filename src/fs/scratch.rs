//! What the mount shows beyond the store: alias directories made with mkdir that hold no entry
//! yet, and temporary files of editors and sync tools. In memory only; gone at unmount.

use std::collections::HashMap;
use std::time::SystemTime;

use super::error::{FsError, FsResult};
use super::view::{self, FileData};

/// How many temporary files one alias directory may hold, and how large each may grow.
pub(super) const MAX_TEMP_FILES: usize = 16;

pub(super) const MAX_TEMP_SIZE: usize = crate::pki::MAX_CERT_INPUT;

/// A temporary file: in memory only, gone at unmount.
#[derive(Clone)]
pub(super) struct TempFile {
    pub(super) name: String,
    pub(super) data: FileData,
    pub(super) mtime: SystemTime,
}

/// What the mount shows beyond the store: alias directories made with mkdir that hold no entry
/// yet, and temporary files.
#[derive(Default)]
pub(super) struct Scratch {
    /// store name → aliases, in creation order.
    pub(super) empty_aliases: HashMap<String, Vec<String>>,
    /// When each empty alias directory appeared: its mtime must hold still for tar.
    pub(super) empty_alias_times: HashMap<(String, String), SystemTime>,
    /// (store, alias) → temporary files.
    pub(super) temps: HashMap<(String, String), Vec<TempFile>>,
}

pub(super) fn temp<'a>(
    scratch: &'a Scratch,
    store: &str,
    alias: &str,
    name: &str,
) -> Option<&'a TempFile> {
    scratch
        .temps
        .get(&(store.to_string(), alias.to_string()))?
        .iter()
        .find(|t| t.name == name)
}

pub(super) fn temp_mut<'a>(
    scratch: &'a mut Scratch,
    store: &str,
    alias: &str,
    name: &str,
) -> Option<&'a mut TempFile> {
    scratch
        .temps
        .get_mut(&(store.to_string(), alias.to_string()))?
        .iter_mut()
        .find(|t| t.name == name)
}

pub(super) fn add_temp(
    scratch: &mut Scratch,
    store: &str,
    alias: &str,
    name: &str,
) -> FsResult<()> {
    let list = scratch
        .temps
        .entry((store.to_string(), alias.to_string()))
        .or_default();
    if list.iter().any(|t| t.name == name) {
        return Ok(());
    }
    if list.len() >= MAX_TEMP_FILES {
        return Err(FsError::new(
            libc::ENOSPC,
            format!("at most {MAX_TEMP_FILES} temporary files per alias"),
        ));
    }
    list.push(TempFile {
        name: name.to_string(),
        data: FileData::default(),
        mtime: SystemTime::now(),
    });
    Ok(())
}

pub(super) fn empty_alias_folded(scratch: &Scratch, store: &str, alias: &str) -> bool {
    scratch
        .empty_aliases
        .get(store)
        .is_some_and(|list| list.iter().any(|a| view::fold(a) == view::fold(alias)))
}

/// The empty alias directory of `store` that `alias` collides with (same name in another
/// case), other than `except` itself.
pub(super) fn empty_alias_colliding(
    scratch: &Scratch,
    store: &str,
    alias: &str,
    except: Option<&str>,
) -> Option<String> {
    scratch.empty_aliases.get(store)?.iter().find_map(|a| {
        (view::fold(a) == view::fold(alias) && Some(a.as_str()) != except).then(|| a.clone())
    })
}

pub(super) fn add_empty_alias(scratch: &mut Scratch, store: &str, alias: &str) {
    let list = scratch.empty_aliases.entry(store.to_string()).or_default();
    if !list.iter().any(|a| a == alias) {
        list.push(alias.to_string());
        scratch
            .empty_alias_times
            .insert((store.to_string(), alias.to_string()), SystemTime::now());
    }
}

pub(super) fn remove_empty_alias(scratch: &mut Scratch, store: &str, alias: &str) {
    scratch
        .empty_alias_times
        .remove(&(store.to_string(), alias.to_string()));
    if let Some(list) = scratch.empty_aliases.get_mut(store) {
        list.retain(|a| a != alias);
    }
}

pub(super) fn forget_scratch_alias(scratch: &mut Scratch, store: &str, alias: &str) {
    remove_empty_alias(scratch, store, alias);
    scratch
        .temps
        .remove(&(store.to_string(), alias.to_string()));
}
