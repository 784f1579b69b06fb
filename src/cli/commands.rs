//! What each vecs-cli command does, with VMware's messages at VMware's points of failure
//! (vmafd `tools/vecs-cli/cli.c` and `main.c`).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use zeroize::Zeroizing;

use super::args::{Command, Invocation, PermissionChange, Remote};
use super::{messages, Failure, Io};
use crate::error::{code, Error};
use crate::pki::{self, PkiError};
use crate::store::{self, Database, EntryContent, EntryInfo, EntryType, READ_STORE, WRITE_STORE};
use crate::users::Principal;

type Outcome = Result<(), Failure>;

pub(super) fn execute(invocation: Invocation, io: &mut Io, uid: u32) -> Outcome {
    let Invocation {
        command,
        remote,
        db,
    } = invocation;
    let mut session = Session {
        io,
        uid,
        db_path: store::resolve_db_path(db.as_deref()),
        db: None,
    };
    match command {
        Command::Help => session.print(messages::USAGE),
        Command::ExtendedHelp => {
            session.print(messages::USAGE)?;
            session.print(messages::DIFFERENCES)
        }
        command => {
            session.check_remote(&remote)?;
            session.run(command)
        }
    }
}

/// One run of vecs-cli: its streams, its caller, and the database opened on first use.
struct Session<'a, 'io> {
    io: &'a mut Io<'io>,
    uid: u32,
    db_path: PathBuf,
    db: Option<Database>,
}

impl<'io> Session<'_, 'io> {
    fn run(&mut self, command: Command) -> Outcome {
        match command {
            Command::Help | Command::ExtendedHelp => Ok(()),
            Command::StoreCreate { name } => self.store_create(name),
            Command::StoreList => self.store_list(),
            Command::StoreDelete { name, yes } => self.store_delete(name, yes),
            Command::StorePermission {
                name,
                user,
                change,
                mask,
            } => self.store_permission(name, user, change, mask),
            Command::StoreGetPermissions { name } => self.store_get_permissions(name),
            Command::EntryCreate {
                store,
                alias,
                cert,
                key,
                password,
            } => self.entry_create(store, alias, cert, key, password),
            Command::EntryList {
                store,
                text,
                aliases_only,
            } => self.entry_list(store, text, aliases_only),
            Command::EntryGetCert {
                store,
                alias,
                output,
                text,
            } => self.entry_getcert(store, alias, output, text),
            Command::EntryGetKey {
                store,
                alias,
                output,
                text,
                password,
            } => self.entry_getkey(store, alias, output, text, password),
            Command::EntryDelete { store, alias, yes } => self.entry_delete(store, alias, yes),
            Command::EntryRestore { store, alias } => self.entry_restore(store, alias),
            Command::ForceRefresh => {
                let (io, uid, db) = self.io_and_db()?;
                super::trust::force_refresh(io, uid, db)
            }
            Command::Status { days, json } => {
                let days = match days {
                    None => super::status::DEFAULT_DAYS,
                    Some(text) => text.parse().map_err(|_| {
                        Failure::with_note(
                            code::INVALID_PARAMETER,
                            format!("Error: --days [{text}] is not a number of days \n"),
                        )
                    })?,
                };
                let (io, uid, db) = self.io_and_db()?;
                super::status::status(io, uid, db, days, json)
            }
            Command::Import(command) => {
                // Checked before the target database is opened, which may create it.
                let request = super::migrate::import_request(command, self.uid)?;
                let (io, uid, db) = self.io_and_db()?;
                super::migrate::import(request, io, uid, db)
            }
            Command::Export(command) => {
                let plan = super::migrate::export_request(command, self.io)?;
                let (io, uid, db) = self.io_and_db()?;
                super::migrate::export(plan, io, uid, db)
            }
            Command::TrustSource(command) => {
                // Before the database is opened: whatever its mode, this is root's to say.
                if self.uid != 0 && !matches!(command, super::args::TrustSourceCommand::Show) {
                    return Err(super::refusal(Error::OnlyRoot(
                        "configure the trust source",
                    )));
                }
                let (io, uid, db) = self.io_and_db()?;
                super::trust::trust_source(command, io, uid, db)
            }
        }
    }

    /// No remote VECS service is configured: answer `--server`/`--upn` as vecs-cli does then.
    fn check_remote(&mut self, remote: &Remote) -> Outcome {
        let server = remote.server.as_deref().unwrap_or("");
        let upn = remote.upn.as_deref().unwrap_or("");
        if server.is_empty() != upn.is_empty() {
            return Err(Failure::with_note(
                code::INVALID_STATE,
                "Error: Error: You have to provide both server and upn \n\n",
            ));
        }
        if server.is_empty() {
            return Ok(());
        }
        self.print("Enter password:\t")?;
        let _password = read_password(self.io);
        self.print("\n")?;
        log::warn!("remote VECS server [{server}] requested; vecsfs serves only the local store");
        Err(Failure::with_note(
            code::CANNOT_CONNECT_VMAFD,
            "Error: Failed to establish connection to remote server \n\n",
        ))
    }

    fn store_create(&mut self, name: Option<String>) -> Outcome {
        let name = require(name).ok_or_else(|| invalid_store_name_note(""))?;
        let uid = self.uid;
        self.db()?.create_store(uid, &name)?;
        log::info!("uid {uid} created store [{name}]");
        self.print(&format!("Successfully created store [{name}]\n"))
    }

    fn store_list(&mut self) -> Outcome {
        let stores = self.db()?.stores()?;
        if stores.is_empty() {
            return self.eprint("No stores found\n");
        }
        let listing: String = stores.iter().map(|s| format!("{}\n", s.name)).collect();
        self.print(&listing)
    }

    fn store_delete(&mut self, name: Option<String>, yes: bool) -> Outcome {
        if !yes {
            let prompt = format!(
                "Warning: This operation will delete store [{}]\nDo you wish to continue? Y/N [N] \n",
                c_string(&name)
            );
            if !self.confirm(&prompt)? {
                return Ok(());
            }
        }
        let name = require(name).ok_or_else(|| invalid_store_name_note(""))?;
        let uid = self.uid;
        match self.db()?.delete_store(uid, &name) {
            Err(Error::StoreNotFound(_)) => Err(Failure::with_note(
                code::OBJECT_NOT_FOUND,
                format!("Error : Store [{name}] does not exist\n"),
            )),
            Err(e) => Err(e.into()),
            Ok(()) => {
                log::info!("uid {uid} deleted store [{name}]");
                self.print(&format!("Successfully deleted store [{name}]\n"))
            }
        }
    }

    fn store_permission(
        &mut self,
        name: Option<String>,
        user: Option<String>,
        change: Option<PermissionChange>,
        mask: u32,
    ) -> Outcome {
        let (Some(name), Some(user), Some(change)) = (require(name), require(user), change) else {
            return Err(Failure::code(code::INVALID_PARAMETER));
        };
        if mask == 0 {
            return Err(Failure::code(code::INVALID_PARAMETER));
        }
        self.open_store(&name, "Error: Failed to open the store\n")?;
        let principal = Principal::from_name(&user).ok_or(Error::NoSuchUser(user.clone()))?;
        let uid = self.uid;
        let db = self.db()?;
        match change {
            PermissionChange::Grant => db.grant(uid, &name, principal, mask)?,
            PermissionChange::Revoke => db.revoke(uid, &name, principal, mask)?,
        }
        let verb = match change {
            PermissionChange::Grant => "granted to",
            PermissionChange::Revoke => "revoked from",
        };
        log::info!(
            "uid {uid} changed permission of store [{name}]: {} {verb} user {user}",
            access_name(mask)
        );
        self.print(&format!(
            "Permissions for store [{name}] set  successfully\n "
        ))
    }

    fn store_get_permissions(&mut self, name: Option<String>) -> Outcome {
        let name = require(name).ok_or(Failure::code(code::INVALID_PARAMETER))?;
        self.open_store(&name, "Error: Failed to open the store\n")?;
        let uid = self.uid;
        let permissions = self.db()?.permissions(uid, &name)?;
        let mut out = format!(
            "PERMISSIONS FOR STORE: [{name}]\nOWNER : {}\nUSER\t\tACCESS\n",
            Principal::User(permissions.owner_uid).display_name()
        );
        for grant in &permissions.grants {
            out.push_str(&format!(
                "{}\t{}\n",
                grant.principal.display_name(),
                access_name(grant.mask)
            ));
        }
        self.print(&out)
    }

    fn entry_create(
        &mut self,
        store: Option<String>,
        alias: Option<String>,
        cert_path: Option<String>,
        key_path: Option<String>,
        password: Option<String>,
    ) -> Outcome {
        let store = require(store).ok_or_else(|| {
            Failure::with_note(
                code::INVALID_PARAMETER,
                "Error: The store name [] is invalid \n",
            )
        })?;
        let cert = read_input(cert_path.as_deref(), pki::MAX_CERT_INPUT)?;
        let key = read_input(key_path.as_deref(), pki::MAX_KEY_INPUT)?;
        let alias = require(alias);
        let entry_type = match (cert.is_empty(), key.is_empty()) {
            (true, true) => {
                return Err(Failure::with_note(
                    code::INVALID_PARAMETER,
                    "Error: A certificate or a key must be specified. \n",
                ))
            }
            (true, false) => EntryType::SecretKey,
            (false, true) => EntryType::TrustedCert,
            (false, false) => EntryType::PrivateKey,
        };
        if entry_type == EntryType::SecretKey && alias.is_none() {
            return Err(Failure::with_note(
                code::INVALID_PARAMETER,
                "Error: The alias [] is invalid \n",
            ));
        }
        // vecs-cli computes a missing alias before it contacts the store; the rest of the
        // validation happens in the store, after it is opened.
        let chain = match (&alias, entry_type) {
            (None, _) => Some(pki::parse_cert_chain(&cert).map_err(|e| {
                log::warn!("entry create: {e}");
                Failure::with_note(
                    Error::from(e).vecs_code(),
                    "Error: Could not generate alias from certificate\n",
                )
            })?),
            _ => None,
        };
        self.open_store(&store, "Error: Failed to open the store.\n")?;
        let chain = match chain {
            Some(chain) => Some(chain),
            None if entry_type == EntryType::SecretKey => None,
            None => Some(pki::parse_cert_chain(&cert).map_err(Error::from)?),
        };
        let content = build_content(entry_type, chain.as_ref(), &key, password.as_deref())?;
        let uid = self.uid;
        let used = self
            .db()?
            .add_entry(uid, &store, alias.as_deref(), &content)?;
        log::info!(
            "uid {uid} added {} entry [{used}] to store [{store}]",
            entry_type.vecs_name()
        );
        if let Some(warning) = chain
            .as_ref()
            .and_then(|c| pki::validity_warning(c, std::time::SystemTime::now()))
        {
            // Accepted, as VECS accepts it; stderr stays VMware's, the log says it.
            log::warn!("[{store}/{used}] accepted, but {warning}");
        }
        self.print(&format!(
            "Entry with alias [{used}] in store [{store}] was created successfully \n"
        ))
    }

    fn entry_list(&mut self, store: Option<String>, text: bool, aliases_only: bool) -> Outcome {
        let store = require(store).ok_or_else(|| invalid_store_name_note(""))?;
        let uid = self.uid;
        let entries = match self.db()?.entries(uid, &store) {
            Err(e @ Error::AccessDenied { .. }) => {
                log::warn!("{e}");
                return Err(Failure::with_note(
                    e.vecs_code(),
                    "Error: Could not retrieve number of entries in store\n",
                ));
            }
            other => other?,
        };
        let mut out = format!("Number of entries in store :\t{}\n", entries.len());
        for entry in &entries {
            if aliases_only {
                out.push_str(&entry.alias);
                out.push('\n');
                continue;
            }
            out.push_str(&format!(
                "Alias :\t{}\nEntry type :\t{}\n",
                entry.alias,
                entry.entry_type.vecs_name()
            ));
            match (&entry.cert_pem, text) {
                (Some(_), true) => out.push_str(&certificate_text(entry).unwrap_or_default()),
                (pem, _) => {
                    out.push_str(&format!("Certificate :\t{}\n\n", vecs_blob(entry, pem)));
                }
            }
        }
        self.print(&out)
    }

    fn entry_getcert(
        &mut self,
        store: Option<String>,
        alias: Option<String>,
        output: Option<String>,
        text: bool,
    ) -> Outcome {
        let (store, alias) = require_store_and_alias(store, alias)?;
        self.open_store(&store, "Error: Failed to open the store.\n")?;
        let uid = self.uid;
        let entry = self.db()?.entry(uid, &store, &alias)?;
        if entry.entry_type == EntryType::SecretKey {
            return Err(Failure::with_note(
                code::INVALID_PARAMETER,
                format!(
                    "Error: No certificates were found for entry [{alias}] of type [{}].\n",
                    EntryType::SecretKey.vecs_name()
                ),
            ));
        }
        let blob = format!("{}\n", vecs_blob(&entry, &entry.cert_pem));
        let output_file = output_file(output.as_deref())?;
        if text {
            self.print(&certificate_text(&entry).unwrap_or_default())?;
        }
        match output_file {
            Some((file, path)) => write_private_output(file, &path, blob.as_bytes()),
            None if !text => self.print(&blob),
            None => Ok(()),
        }
    }

    fn entry_getkey(
        &mut self,
        store: Option<String>,
        alias: Option<String>,
        output: Option<String>,
        text: bool,
        password: Option<String>,
    ) -> Outcome {
        let (store, alias) = require_store_and_alias(store, alias)?;
        self.open_store(&store, "Error: Failed to open the store.\n")?;
        let uid = self.uid;
        let entry = self.db()?.entry(uid, &store, &alias)?;
        if entry.entry_type == EntryType::TrustedCert {
            return Err(Failure::with_note(
                code::INVALID_PARAMETER,
                format!(
                    "Error: No key was found for entry [{alias}] of type [{}]\n",
                    EntryType::TrustedCert.vecs_name()
                ),
            ));
        }
        let stored = self.db()?.key(uid, &store, &alias)?;
        let (key_bytes, private_key) = match entry.entry_type {
            EntryType::EncryptedPrivateKey => {
                let password = require(password).ok_or(Error::from(PkiError::WrongPassword))?;
                let key =
                    pki::decrypt_private_key(&stored, password.as_bytes()).map_err(Error::from)?;
                (
                    Zeroizing::new(key.to_pkcs8_pem().as_bytes().to_vec()),
                    Some(key),
                )
            }
            // The stored key is returned as it is; it is parsed only to be rendered.
            EntryType::PrivateKey if text => {
                let key = pki::parse_private_key(&stored).map_err(Error::from)?;
                (stored, Some(key))
            }
            _ => (stored, None),
        };
        log::info!("uid {uid} read the key of entry [{alias}] of store [{store}]");
        let output_file = output_file(output.as_deref())?;
        if text {
            if let Some(key) = &private_key {
                let rendered =
                    pki::text::private_key_text(key.pkcs8_der(), &key.public_key_spki_der())
                        .map_err(Error::from)?;
                self.print(&rendered)?;
            }
        }
        let mut blob = Zeroizing::new(Vec::with_capacity(key_bytes.len() + 1));
        blob.extend_from_slice(&key_bytes);
        blob.push(b'\n');
        match output_file {
            Some((file, path)) => write_private_output(file, &path, &blob),
            None if !text => self.write_stdout(&blob),
            None => Ok(()),
        }
    }

    fn entry_delete(&mut self, store: Option<String>, alias: Option<String>, yes: bool) -> Outcome {
        if !yes {
            let prompt = format!(
                "Warning: This operation will delete entry [{}] from store [{}]\nDo you wish to continue? Y/N [N] \n",
                c_string(&alias),
                c_string(&store)
            );
            if !self.confirm(&prompt)? {
                return Ok(());
            }
        }
        let (Some(store), Some(alias)) = (require(store.clone()), require(alias)) else {
            return Err(Failure::with_note(
                code::INVALID_PARAMETER,
                format!(
                    "Error : An invalid store name [{}] was specified\n ",
                    store.unwrap_or_default()
                ),
            ));
        };
        self.open_store(&store, "Error: Failed to open the store\n")?;
        let uid = self.uid;
        if self.db()?.delete_entry(uid, &store, &alias)? {
            log::info!("uid {uid} deleted entry [{alias}] of store [{store}]");
        } else {
            // VECS reports success for an alias that does not exist; scripts rely on it.
            log::warn!("uid {uid} deleted entry [{alias}] of store [{store}], which did not exist");
        }
        self.print(&format!(
            "Deleted entry with alias [{alias}] in store [{store}] successfully\n "
        ))
    }

    /// vecsfs's `entry restore`: BACKUP_STORE's `bkp_<alias>` back as the entry, and the pair
    /// it replaces kept as the new backup (a swap: running it again undoes it). Checked as
    /// `entry create` and `delete` are, by the store's permissions: write on the store and on
    /// BACKUP_STORE, since the entry moves out of one into the other.
    fn entry_restore(&mut self, store: Option<String>, alias: Option<String>) -> Outcome {
        let (store, alias) = require_store_and_alias(store, alias)?;
        let uid = self.uid;
        let backup_store = store::names::BACKUP_STORE;
        let backup_alias = store::names::backup_alias(&alias);
        let displaced = match self.db()?.restore_backup(uid, &store, &alias) {
            Ok(displaced) => displaced,
            Err(e) if is_about_backups(&e) => {
                log::warn!("entry restore [{store}/{alias}]: {e}");
                return Err(Failure::with_note(
                    e.vecs_code(),
                    format!("Error: There is no backup of [{alias}] to restore: {e} \n"),
                ));
            }
            Err(e) => return Err(super::refusal(e)),
        };
        log::info!(
            "uid {uid} restored entry [{alias}] of store [{store}] from [{backup_store}/{backup_alias}]"
        );
        let mut out = format!(
            "Restored entry with alias [{alias}] in store [{store}] from [{backup_alias}] in \
             store [{backup_store}] successfully\n"
        );
        match displaced {
            store::Displaced::Nothing => {}
            store::Displaced::KeptAsBackup => out.push_str(&format!(
                "The pair it replaced is now [{backup_alias}] in store [{backup_store}]; run \
                 the same command again to undo\n"
            )),
            store::Displaced::Dropped(entry_type) => {
                let dropped = entry_type.vecs_name();
                log::info!("the {dropped} entry [{alias}] of store [{store}] was restored over");
                out.push_str(&format!(
                    "The [{dropped}] entry it replaced was not kept: only key pairs are backed up\n"
                ));
            }
        }
        self.print(&out)
    }

    /// The streams, the caller and the database (opened on first use), for the commands that
    /// take all three.
    fn io_and_db(&mut self) -> Result<(&mut Io<'io>, u32, &mut Database), Failure> {
        self.db()?;
        let Session { io, uid, db, .. } = self;
        let db = db
            .as_mut()
            .ok_or(Failure::code(code::VECS_GENERIC_FILE_IO))?;
        Ok((io, *uid, db))
    }

    /// The database, opened on first use.
    fn db(&mut self) -> Result<&mut Database, Failure> {
        if self.db.is_none() {
            let uid = self.uid;
            let db = Database::open(&self.db_path).map_err(|e| {
                // A user who cannot open root's database is told where their way in is.
                let hint = if uid != 0 && e.vecs_code() == code::ACCESS_DENIED {
                    " (it is root's; other users read through the vecsfs daemon and write \
                     through the mount)"
                } else {
                    ""
                };
                Failure::with_note(
                    e.vecs_code(),
                    format!("Error: Cannot open the certificate database: {e}{hint} \n"),
                )
            })?;
            self.db = Some(db);
        }
        self.db
            .as_mut()
            .ok_or(Failure::code(code::VECS_GENERIC_FILE_IO))
    }

    /// VECS opens the store before working on it, and says so when that fails.
    fn open_store(&mut self, name: &str, note: &str) -> Outcome {
        match self.db()?.store(name) {
            Ok(_) => Ok(()),
            Err(e) => {
                log::warn!("{e}");
                Err(Failure::with_note(e.vecs_code(), note))
            }
        }
    }

    /// Asks a Y/N question; only `Y` or `y` as the first character read means yes.
    fn confirm(&mut self, prompt: &str) -> Result<bool, Failure> {
        self.print(prompt)?;
        let _ = self.io.stdout.flush();
        let mut answer = [0u8; 1];
        let read = self.io.stdin.read(&mut answer).unwrap_or(0);
        Ok(read == 1 && (answer[0] == b'Y' || answer[0] == b'y'))
    }

    fn print(&mut self, text: &str) -> Outcome {
        self.write_stdout(text.as_bytes())
    }

    fn write_stdout(&mut self, bytes: &[u8]) -> Outcome {
        self.io
            .stdout
            .write_all(bytes)
            .map_err(|_| Failure::code(code::VECS_GENERIC_FILE_IO))
    }

    fn eprint(&mut self, text: &str) -> Outcome {
        self.io
            .stderr
            .write_all(text.as_bytes())
            .map_err(|_| Failure::code(code::VECS_GENERIC_FILE_IO))
    }
}

/// Whether a refusal of `entry restore` is about BACKUP_STORE or its entry: there is no backup
/// to restore, which the message says in those words.
fn is_about_backups(e: &Error) -> bool {
    match e {
        Error::EntryNotFound { store, .. } | Error::StoreNotFound(store) => {
            store.eq_ignore_ascii_case(store::names::BACKUP_STORE)
        }
        _ => false,
    }
}

/// VECS treats an empty value as a missing one (`IsNullOrEmptyString`).
fn require(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// What C's printf shows for a string that may be NULL.
fn c_string(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("(null)")
}

fn invalid_store_name_note(name: &str) -> Failure {
    Failure::with_note(
        code::INVALID_PARAMETER,
        format!("Error : An invalid store name [{name}] was specified \n"),
    )
}

fn require_store_and_alias(
    store: Option<String>,
    alias: Option<String>,
) -> Result<(String, String), Failure> {
    match (require(store.clone()), require(alias.clone())) {
        (Some(store), Some(alias)) => Ok((store, alias)),
        _ => Err(Failure::with_note(
            code::INVALID_PARAMETER,
            format!(
                "Error: The store name [{}] or the Alias [{}] is invalid \n",
                store.unwrap_or_default(),
                alias.unwrap_or_default()
            ),
        )),
    }
}

/// `read` when the mask holds read only, as vmafd's `VecsCliPrintAccess` decides.
pub(super) fn access_name(mask: u32) -> &'static str {
    if mask >= (READ_STORE | WRITE_STORE) {
        "read,write"
    } else if mask == WRITE_STORE {
        "write"
    } else {
        "read"
    }
}

/// Reads a file named on the command line, refusing one over `limit` without reading it all.
fn read_input(path: Option<&str>, limit: usize) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let Some(path) = path else {
        return Ok(Zeroizing::new(Vec::new()));
    };
    let open_failure = |e: std::io::Error| {
        let e = Error::io(path, e);
        log::warn!("{e}");
        Failure::with_note(
            e.vecs_code(),
            format!("Error: Failed to open file [{path}] \n"),
        )
    };
    let file = File::open(path).map_err(open_failure)?;
    // Not `read_to_end`: a key file's bytes would stay in every allocation it grows out of.
    let data = crate::secret::read_to_end(file, limit as u64 + 1)
        .map_err(|e| Failure::from(Error::io(path, e)))?;
    if data.len() > limit {
        let size = std::fs::metadata(path)
            .map(|m| m.len() as usize)
            .unwrap_or(data.len());
        return Err(Error::from(PkiError::TooLarge { size, limit }).into());
    }
    Ok(data)
}

fn build_content(
    entry_type: EntryType,
    chain: Option<&pki::CertChain>,
    key: &[u8],
    password: Option<&str>,
) -> Result<EntryContent, Failure> {
    let content = match (entry_type, chain) {
        (EntryType::SecretKey, _) => EntryContent::secret_key(key)?,
        (EntryType::TrustedCert, Some(chain)) => EntryContent::trusted_cert(chain),
        (_, Some(chain)) => {
            if pki::is_encrypted_key(key) {
                return Err(Failure::with_note(
                    code::BAD_FORMAT,
                    "Error: The key is encrypted; give vecs-cli the decrypted key (and --password to keep it encrypted) \n",
                ));
            }
            let key = pki::parse_private_key(key).map_err(Error::from)?;
            match password.filter(|p| !p.is_empty()) {
                Some(password) => {
                    EntryContent::encrypted_private_key(chain, &key, password.as_bytes())?
                }
                None => EntryContent::private_key(chain, &key)?,
            }
        }
        (_, None) => return Err(Failure::code(code::INVALID_PARAMETER)),
    };
    Ok(content)
}

/// The stored text as VECS holds it: a CRL is kept without its final newline.
fn vecs_blob<'e>(entry: &EntryInfo, pem: &'e Option<String>) -> &'e str {
    let pem = pem.as_deref().unwrap_or("");
    if entry.entry_type == EntryType::Crl {
        pem.strip_suffix('\n').unwrap_or(pem)
    } else {
        pem
    }
}

/// The first certificate of an entry rendered as `openssl x509 -text`; nothing for a CRL.
fn certificate_text(entry: &EntryInfo) -> Option<String> {
    if !entry.entry_type.has_certificate() {
        return None;
    }
    let chain = pki::parse_cert_chain(entry.cert_pem.as_deref()?.as_bytes()).ok()?;
    pki::text::certificate_text(chain.leaf_der()).ok()
}

/// Opens `--output` as vecs-cli does (`fopen "w+"`), before anything is printed.
pub(super) fn output_file(path: Option<&str>) -> Result<Option<(File, String)>, Failure> {
    let Some(path) = path.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let file = File::create(path).map_err(|e| Failure::from(Error::io(path, e)))?;
    Ok(Some((file, path.to_string())))
}

/// Writes an output file and restricts it to its owner (vmafd `VmAfdRestrictFilePermissionToSelf`).
pub(super) fn write_private_output(mut file: File, path: &str, bytes: &[u8]) -> Outcome {
    let fail = |e| Failure::from(Error::io(path, e));
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)
}

/// Reads a password line with echo off when stdin is a terminal.
fn read_password(io: &mut Io) -> Zeroizing<String> {
    let _echo = EchoOff::new();
    // Room for any password typed, so that reading the line never reallocates (which would
    // leave the first part of it in freed memory).
    let mut line = Zeroizing::new(String::with_capacity(4096));
    let _ = io.stdin.read_line(&mut line);
    let trimmed = Zeroizing::new(line.trim_end_matches('\n').to_string());
    trimmed
}

/// Turns terminal echo off for as long as it lives.
struct EchoOff {
    saved: Option<libc::termios>,
}

impl EchoOff {
    fn new() -> Self {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a valid termios; failures are checked.
        unsafe {
            let mut tp: libc::termios = std::mem::zeroed();
            if libc::isatty(0) != 1 || libc::tcgetattr(0, &mut tp) != 0 {
                return EchoOff { saved: None };
            }
            let mut quiet = tp;
            quiet.c_lflag &= !libc::ECHO;
            libc::tcsetattr(0, libc::TCSANOW, &quiet);
            EchoOff { saved: Some(tp) }
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(tp) = &self.saved {
            // SAFETY: restores the attributes read in `new`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, tp);
            }
        }
    }
}
