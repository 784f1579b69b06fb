//! The write path: committing what a handle buffered, temporary files, renames and truncation.

use std::time::SystemTime;

use super::handles::Target;
use super::inodes::Node;
use super::scratch::{
    add_empty_alias, add_temp, empty_alias_colliding, forget_scratch_alias, remove_empty_alias,
    temp, temp_mut, MAX_TEMP_SIZE,
};
use super::view::{FileData, FileName};
use super::{
    lock, names, nodes, Caller, FsError, FsResult, Invalidation, VecsFs, RENAME_NOREPLACE,
};
use crate::store::{self, Access};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Commit {
    Flush,
    Release,
}

impl VecsFs {
    pub(super) fn commit_handle(&self, caller: &Caller, fh: u64, when: Commit) -> FsResult<()> {
        let Some(pending) = self.handles.take_commit(fh, when == Commit::Release)? else {
            return Ok(());
        };
        let result = match &pending.target {
            Target::Temp(name) => {
                self.store_temp(&pending.store, &pending.alias, name, &pending.bytes)
            }
            Target::File(file) => self.commit_file(
                caller,
                &pending.store,
                &pending.alias,
                *file,
                &pending.bytes,
            ),
        };
        if let Err(e) = &result {
            log::warn!(
                "refused write of [{}/{}/{}] by uid {} pid {}: {e}",
                pending.store,
                pending.alias,
                pending.target.file_name(),
                caller.uid,
                caller.pid
            );
        }
        result
    }

    /// Validates and commits one file's new content, then refreshes the view.
    pub(super) fn commit_file(
        &self,
        caller: &Caller,
        store: &str,
        alias: &str,
        file: FileName,
        bytes: &[u8],
    ) -> FsResult<()> {
        {
            let state = self.read_state();
            if !nodes::alias_exists(&state.view, &state.scratch, store, alias) {
                return Err(FsError::not_found(format!(
                    "[{store}/{alias}] was removed while the file was open"
                )));
            }
        }
        if file == FileName::Crl {
            return Err(FsError::read_only(store));
        }
        if !file.is_writable() {
            return Err(super::generated_is_read_only(file.as_str()));
        }
        // Parse before taking the database: validation needs no lock, and each parse runs once.
        let chain = crate::pki::parse_cert_chain(bytes);
        let key = crate::pki::parse_private_key(bytes);
        let warning = chain
            .as_ref()
            .ok()
            .and_then(|c| crate::pki::validity_warning(c, std::time::SystemTime::now()));
        let outcome = {
            let mut db = self.db()?;
            match (file, chain, key) {
                (_, Ok(chain), Ok(key)) => db.write_pair(caller.uid, store, alias, &chain, &key)?,
                (FileName::Cert, chain, _) => db.write_cert(caller.uid, store, alias, &chain?)?,
                (_, _, _) => db.write_key(caller.uid, store, alias, bytes)?,
            }
        };
        match outcome {
            store::WriteOutcome::Pending(half) => log::warn!(
                "uid {} wrote a {} for [{store}/{alias}] that does not match the live pair: kept as the pending half until its partner arrives",
                caller.uid,
                if half == store::Half::Cert { "certificate" } else { "key" }
            ),
            other => log::info!("uid {} committed {} of [{store}/{alias}]: {other:?}", caller.uid, file.as_str()),
        }
        if let Some(warning) = warning {
            // Accepted, as VECS accepts it (a root stored before it is valid, an expired
            // certificate about to be replaced); said once the write has been taken.
            log::warn!(
                "[{store}/{alias}/{}] accepted, but {warning}",
                file.as_str()
            );
        }
        {
            let mut state = self.write_state();
            remove_empty_alias(&mut state.scratch, store, alias);
        }
        self.reload()
    }

    pub(super) fn store_temp(
        &self,
        store: &str,
        alias: &str,
        name: &str,
        bytes: &[u8],
    ) -> FsResult<()> {
        if bytes.len() > MAX_TEMP_SIZE {
            return Err(FsError::new(
                libc::EFBIG,
                format!("temporary file over {MAX_TEMP_SIZE} bytes"),
            ));
        }
        let mut state = self.write_state();
        let temp = temp_mut(&mut state.scratch, store, alias, name)
            .ok_or_else(|| FsError::not_found(name))?;
        temp.data = FileData::new(zeroize::Zeroizing::new(bytes.to_vec()));
        temp.mtime = SystemTime::now();
        Ok(())
    }

    pub(super) fn rename_alias(
        &self,
        caller: &Caller,
        from: (&str, &str),
        to: (&str, &str),
        flags: u32,
    ) -> FsResult<()> {
        self.check_not_read_only()?;
        {
            let state = self.read_state();
            for store in [from.0, to.0] {
                let node = nodes::store(&state.view, store)?;
                nodes::check_access(caller, node, Access::Write)?;
                if node.is_read_only() {
                    return Err(FsError::read_only(store));
                }
            }
        }
        let has_entry = nodes::store(&self.read_state().view, from.0)?
            .alias(from.1)
            .is_some();
        let source_itself = (from.0 == to.0).then_some(from.1);
        let replaced_empty =
            empty_alias_colliding(&self.read_state().scratch, to.0, to.1, source_itself);
        if flags & RENAME_NOREPLACE != 0 && replaced_empty.is_some() {
            return Err(FsError::new(
                libc::EEXIST,
                format!("alias directory [{}/{}] exists", to.0, to.1),
            ));
        }
        if has_entry {
            let replace = flags & RENAME_NOREPLACE == 0;
            self.db()?.rename_entry(caller.uid, from, to, replace)?;
            log::info!(
                "uid {} moved [{}/{}] to [{}/{}]",
                caller.uid,
                from.0,
                from.1,
                to.0,
                to.1
            );
        } else {
            let state = self.read_state();
            if nodes::store(&state.view, to.0)?
                .alias_folded(to.1)
                .is_some()
            {
                return Err(FsError::new(
                    libc::EEXIST,
                    "an entry exists under that alias",
                ));
            }
        }
        {
            let mut state = self.write_state();
            // The temporary files move with their directory; what the target had is replaced.
            let temps = state
                .scratch
                .temps
                .remove(&(from.0.to_string(), from.1.to_string()));
            forget_scratch_alias(&mut state.scratch, from.0, from.1);
            forget_scratch_alias(&mut state.scratch, to.0, to.1);
            if let Some(replaced) = &replaced_empty {
                forget_scratch_alias(&mut state.scratch, to.0, replaced);
            }
            if let Some(temps) = temps {
                state
                    .scratch
                    .temps
                    .insert((to.0.to_string(), to.1.to_string()), temps);
            }
            if !has_entry {
                add_empty_alias(&mut state.scratch, to.0, to.1);
            }
            state.inodes.rename(
                &Node::Alias(from.0.to_string(), from.1.to_string()),
                &Node::Alias(to.0.to_string(), to.1.to_string()),
            );
            let changed = [
                Invalidation::Entry {
                    parent: state.inodes.ino(&Node::Store(from.0.to_string())),
                    name: names::encode(from.1),
                },
                Invalidation::Entry {
                    parent: state.inodes.ino(&Node::Store(to.0.to_string())),
                    name: names::encode(to.1),
                },
            ];
            lock(&self.invalidations).extend(changed);
        }
        self.reload()
    }

    /// A rename inside one alias directory: a temporary file onto cert.pem / key.pem commits it
    /// (and rename(2) returns the refusal); cert.pem / key.pem onto another name moves that half
    /// out of the entry into a temporary file.
    pub(super) fn rename_in_alias(
        &self,
        caller: &Caller,
        source: &Node,
        new_name: &str,
        _flags: u32,
    ) -> FsResult<()> {
        let (store, alias) = match source {
            Node::Temp(s, a, _) | Node::File(s, a, _) => (s.clone(), a.clone()),
            _ => return Err(FsError::meaningless(new_name)),
        };
        self.check_change(caller, &store, source)?;
        let data = {
            let state = self.read_state();
            match source {
                Node::Temp(s, a, n) => temp(&state.scratch, s, a, n).map(|t| t.data.clone()),
                Node::File(s, a, f) => nodes::file_data(&state.view, s, a, *f).cloned(),
                _ => None,
            }
            .ok_or_else(|| FsError::not_found(new_name))?
        };
        match (source, FileName::parse(new_name)) {
            (Node::Temp(_, _, old), Some(file)) => {
                self.commit_file(caller, &store, &alias, file, &data)?;
                let mut state = self.write_state();
                if let Some(list) = state.scratch.temps.get_mut(&(store.clone(), alias.clone())) {
                    list.retain(|t| &t.name != old);
                }
                state
                    .inodes
                    .rename(source, &Node::File(store.clone(), alias.clone(), file));
                Ok(())
            }
            (Node::Temp(_, _, old), None) => {
                let mut state = self.write_state();
                let list = state
                    .scratch
                    .temps
                    .entry((store.clone(), alias.clone()))
                    .or_default();
                list.retain(|t| t.name != new_name);
                if let Some(t) = list.iter_mut().find(|t| &t.name == old) {
                    t.name = new_name.to_string();
                }
                state.inodes.rename(
                    source,
                    &Node::Temp(store.clone(), alias.clone(), new_name.to_string()),
                );
                Ok(())
            }
            (Node::File(_, _, file), None) => {
                // A move, as on any filesystem: the half leaves the entry (as `rm` would take
                // it) and lives on as the temporary file. `cp --backup` and editors that keep
                // a backup then write the new file under the old name. An encrypted key could
                // not be written back through a file, so its entry's halves stay put.
                let entry_type = nodes::store(&self.read_state().view, &store)?
                    .alias(&alias)
                    .map(|e| e.entry_type);
                if entry_type == Some(store::EntryType::EncryptedPrivateKey) {
                    return Err(crate::Error::NotThroughFiles(
                        store::EntryType::EncryptedPrivateKey.vecs_name(),
                    )
                    .into());
                }
                let half = match file {
                    FileName::Cert => store::Half::Cert,
                    FileName::Key => store::Half::Key,
                    FileName::Crl => return Err(FsError::read_only(&store)),
                    FileName::Bundle => return Err(super::generated_is_read_only("bundle.pem")),
                };
                {
                    let mut state = self.write_state();
                    add_temp(&mut state.scratch, &store, &alias, new_name)?;
                    if let Some(t) = temp_mut(&mut state.scratch, &store, &alias, new_name) {
                        t.data = data;
                    }
                }
                self.db()?.remove_half(caller.uid, &store, &alias, half)?;
                log::info!(
                    "uid {} moved {} of [{store}/{alias}] to the temporary file {new_name}",
                    caller.uid,
                    file.as_str()
                );
                self.reload()?;
                let mut state = self.write_state();
                if nodes::store(&state.view, &store)?.alias(&alias).is_none() {
                    add_empty_alias(&mut state.scratch, &store, &alias);
                }
                state.inodes.rename(
                    source,
                    &Node::Temp(store.clone(), alias.clone(), new_name.to_string()),
                );
                Ok(())
            }
            (Node::File(..), Some(_)) => Err(FsError::new(
                libc::EPERM,
                "cert.pem and key.pem cannot be renamed onto each other",
            )),
            _ => Err(FsError::meaningless(new_name)),
        }
    }

    pub(super) fn truncate(
        &self,
        caller: &Caller,
        node: &Node,
        size: u64,
        fh: Option<u64>,
    ) -> FsResult<()> {
        if let Some(fh) = fh {
            if self.handles.truncate(fh, size)? {
                return Ok(());
            }
        }
        // O_TRUNC: the kernel opens, then truncates by path. The open handle is emptied and
        // the file itself stays as it is until the handle commits, so the inode's size (and
        // what its readers see) does not change under them.
        if size == 0 {
            let target = match node {
                Node::File(s, a, f) => Some((s, a, Target::File(*f))),
                Node::Temp(s, a, n) => Some((s, a, Target::Temp(n.clone()))),
                _ => None,
            };
            if let Some((s, a, target)) = target {
                if self.handles.truncate_just_opened(caller, s, a, &target) {
                    return Ok(());
                }
            }
        }
        let state = self.read_state();
        let current = match node {
            Node::File(s, a, f) => nodes::file_data(&state.view, s, a, *f).map(|d| d.len()),
            Node::Temp(s, a, n) => temp(&state.scratch, s, a, n).map(|t| t.data.len()),
            Node::Generated(_, name) => return Err(super::generated_is_read_only(name)),
            _ => return Err(FsError::new(libc::EISDIR, "a directory")),
        };
        if current == Some(size as usize) {
            return Ok(());
        }
        drop(state);
        match node {
            Node::Temp(s, a, n) if size == 0 => {
                self.check_change(caller, s, node)?;
                self.store_temp(s, a, n, &[])
            }
            Node::File(s, ..) => {
                self.check_change(caller, s, node)?;
                Err(FsError::new(
                    libc::EBADMSG,
                    "an empty file is not a certificate or key",
                ))
            }
            _ => Err(FsError::new(
                libc::EPERM,
                "files change size by being written",
            )),
        }
    }
}
