//! Argument parsing with VMware vecs-cli's exact rules: tokens are case-sensitive, options come
//! in any order, a value option takes the next word verbatim (even one starting with `--`), and
//! which occurrence of a repeated option wins differs by command, as in vmafd's `main.c`.
//! `--db PATH` is vecsfs's addition, accepted by every command.

use std::path::PathBuf;

/// A parse failure: VECS answers every one with ERROR_INVALID_PARAMETER and the usage.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionChange {
    Grant,
    Revoke,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Remote {
    pub server: Option<String>,
    pub upn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    /// `--help`: the usage and what vecsfs does differently.
    ExtendedHelp,
    StoreCreate {
        name: Option<String>,
    },
    StoreList,
    StoreDelete {
        name: Option<String>,
        yes: bool,
    },
    StorePermission {
        name: Option<String>,
        user: Option<String>,
        change: Option<PermissionChange>,
        mask: u32,
    },
    StoreGetPermissions {
        name: Option<String>,
    },
    EntryCreate {
        store: Option<String>,
        alias: Option<String>,
        cert: Option<String>,
        key: Option<String>,
        password: Option<String>,
    },
    EntryList {
        store: Option<String>,
        text: bool,
        aliases_only: bool,
    },
    EntryGetCert {
        store: Option<String>,
        alias: Option<String>,
        output: Option<String>,
        text: bool,
    },
    EntryGetKey {
        store: Option<String>,
        alias: Option<String>,
        output: Option<String>,
        text: bool,
        password: Option<String>,
    },
    EntryDelete {
        store: Option<String>,
        alias: Option<String>,
        yes: bool,
    },
    /// vecsfs's addition: put BACKUP_STORE's `bkp_<alias>` back (`entry restore`).
    EntryRestore {
        store: Option<String>,
        alias: Option<String>,
    },
    ForceRefresh,
    /// vecsfs's addition: where the trust sync reads (`trust-source set|show|unset`).
    TrustSource(TrustSourceCommand),
    /// vecsfs's addition: expiring certificates, pending halves, the sync (`status`).
    Status {
        days: Option<String>,
        json: bool,
    },
    /// vecsfs's addition: bring a VMware VECS afd.db in (`import --afd-db PATH`).
    Import(ImportCommand),
    /// vecsfs's addition: a store or an entry as PEM / PKCS#12 files (`export`).
    Export(ExportCommand),
}

/// `import` as given; checked when it runs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportCommand {
    pub afd_db: Option<String>,
    pub dry_run: bool,
    pub allow_partial: bool,
    pub verbose: bool,
}

/// `export` as given; checked when it runs. Passwords are never arguments: only the file (or
/// `-`, standard input) or the environment variable that holds them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExportCommand {
    pub store: Option<String>,
    pub alias: Option<String>,
    pub output: Option<String>,
    pub pkcs12: bool,
    pub password_file: Option<String>,
    pub password_env: Option<String>,
    pub entry_password_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSourceCommand {
    Set(TrustSourceOptions),
    Show,
    Unset,
}

/// `trust-source set` as given; checked when it runs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TrustSourceOptions {
    pub ldap: Option<String>,
    pub domain: Option<String>,
    pub base_dn: Option<String>,
    pub bind_dn: Option<String>,
    pub password_file: Option<String>,
    pub ca_file: Option<String>,
    pub dir: Option<String>,
    pub interval: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub command: Command,
    pub remote: Remote,
    pub db: Option<PathBuf>,
}

/// Which occurrence of a repeated value option counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wins {
    First,
    Last,
}

/// How one command reads its options.
struct Grammar {
    values: &'static [&'static str],
    flags: &'static [&'static str],
    wins: Wins,
    /// `entry` and `force-refresh` refuse an option left without its value; `store` ignores it.
    dangling_is_error: bool,
}

/// The options of one command, as given.
#[derive(Default)]
struct Options {
    values: Vec<(&'static str, String)>,
    flags: Vec<&'static str>,
}

impl Options {
    fn value(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }

    fn remote(&self) -> Remote {
        Remote {
            server: self.value("--server"),
            upn: self.value("--upn"),
        }
    }

    fn db(&self) -> Option<PathBuf> {
        self.value("--db").map(PathBuf::from)
    }
}

const REMOTE: [&str; 2] = ["--server", "--upn"];

pub fn parse(args: &[String]) -> Result<Invocation, UsageError> {
    let (first, rest) = args.split_first().ok_or(UsageError)?;
    match first.as_str() {
        "help" => Ok(local(Command::Help, None)),
        "--help" | "-h" => Ok(local(Command::ExtendedHelp, None)),
        "store" => parse_store(rest),
        "entry" => parse_entry(rest),
        "trust-source" => parse_trust_source(rest),
        "import" => {
            let opts = read_options(rest, &extension_grammar(&["--afd-db"], &IMPORT_FLAGS))?;
            let command = ImportCommand {
                afd_db: opts.value("--afd-db"),
                dry_run: opts.flag("--dry-run"),
                allow_partial: opts.flag("--allow-partial"),
                verbose: opts.flag("--verbose"),
            };
            Ok(local(Command::Import(command), opts.db()))
        }
        "export" => {
            let opts = read_options(rest, &extension_grammar(&EXPORT_VALUES, &["--pkcs12"]))?;
            let command = ExportCommand {
                store: opts.value("--store"),
                alias: opts.value("--alias"),
                output: opts.value("--output"),
                pkcs12: opts.flag("--pkcs12"),
                password_file: opts.value("--password-file"),
                password_env: opts.value("--password-env"),
                entry_password_file: opts.value("--entry-password-file"),
            };
            Ok(local(Command::Export(command), opts.db()))
        }
        "status" => {
            let grammar = Grammar {
                values: &["--days"],
                flags: &["--json"],
                wins: Wins::Last,
                dangling_is_error: true,
            };
            let opts = read_options(rest, &grammar)?;
            Ok(local(
                Command::Status {
                    days: opts.value("--days"),
                    json: opts.flag("--json"),
                },
                opts.db(),
            ))
        }
        "force-refresh" => {
            let opts = read_options(rest, &entry_grammar(&REMOTE, &[]))?;
            Ok(Invocation {
                command: Command::ForceRefresh,
                remote: opts.remote(),
                db: opts.db(),
            })
        }
        _ => Err(UsageError),
    }
}

const IMPORT_FLAGS: [&str; 3] = ["--dry-run", "--allow-partial", "--verbose"];

const EXPORT_VALUES: [&str; 6] = [
    "--store",
    "--alias",
    "--output",
    "--password-file",
    "--password-env",
    "--entry-password-file",
];

/// vecsfs's own commands: the last occurrence of an option wins, a dangling one is an error.
fn extension_grammar(values: &'static [&'static str], flags: &'static [&'static str]) -> Grammar {
    Grammar {
        values,
        flags,
        wins: Wins::Last,
        dangling_is_error: true,
    }
}

const TRUST_SOURCE_SET: [&str; 8] = [
    "--ldap",
    "--domain",
    "--base-dn",
    "--bind-dn",
    "--password-file",
    "--ca-file",
    "--dir",
    "--interval",
];

fn parse_trust_source(args: &[String]) -> Result<Invocation, UsageError> {
    let (sub, rest) = args.split_first().ok_or(UsageError)?;
    let grammar = |values| Grammar {
        values,
        flags: &[],
        wins: Wins::Last,
        dangling_is_error: true,
    };
    let (command, opts) = match sub.as_str() {
        "set" => {
            let opts = read_options(rest, &grammar(&TRUST_SOURCE_SET))?;
            let set = TrustSourceOptions {
                ldap: opts.value("--ldap"),
                domain: opts.value("--domain"),
                base_dn: opts.value("--base-dn"),
                bind_dn: opts.value("--bind-dn"),
                password_file: opts.value("--password-file"),
                ca_file: opts.value("--ca-file"),
                dir: opts.value("--dir"),
                interval: opts.value("--interval"),
            };
            (TrustSourceCommand::Set(set), opts)
        }
        "show" => (TrustSourceCommand::Show, read_options(rest, &grammar(&[]))?),
        "unset" => (
            TrustSourceCommand::Unset,
            read_options(rest, &grammar(&[]))?,
        ),
        _ => return Err(UsageError),
    };
    Ok(local(Command::TrustSource(command), opts.db()))
}

fn local(command: Command, db: Option<PathBuf>) -> Invocation {
    Invocation {
        command,
        remote: Remote::default(),
        db,
    }
}

fn entry_grammar(values: &'static [&'static str], flags: &'static [&'static str]) -> Grammar {
    Grammar {
        values,
        flags,
        wins: Wins::First,
        dangling_is_error: true,
    }
}

fn parse_store(args: &[String]) -> Result<Invocation, UsageError> {
    let (sub, rest) = args.split_first().ok_or(UsageError)?;
    let store_grammar = |values, flags, wins| Grammar {
        values,
        flags,
        wins,
        dangling_is_error: false,
    };
    let (command, opts) = match sub.as_str() {
        "create" => {
            let opts = read_options(
                rest,
                &store_grammar(&["--name", "--server", "--upn"], &[], Wins::Last),
            )?;
            (
                Command::StoreCreate {
                    name: opts.value("--name"),
                },
                opts,
            )
        }
        "list" => {
            let opts = read_options(rest, &store_grammar(&REMOTE, &[], Wins::First))?;
            (Command::StoreList, opts)
        }
        "delete" => {
            let opts = read_options(
                rest,
                &store_grammar(&["--name", "--server", "--upn"], &["-y"], Wins::Last),
            )?;
            let command = Command::StoreDelete {
                name: opts.value("--name"),
                yes: opts.flag("-y"),
            };
            (command, opts)
        }
        "permission" => return parse_permission(rest),
        "get-permissions" => {
            let opts = read_options(
                rest,
                &store_grammar(&["--name", "--server", "--upn"], &[], Wins::Last),
            )?;
            (
                Command::StoreGetPermissions {
                    name: opts.value("--name"),
                },
                opts,
            )
        }
        _ => return Err(UsageError),
    };
    Ok(Invocation {
        command,
        remote: opts.remote(),
        db: opts.db(),
    })
}

/// `store permission` has its own rules: one `--grant` or `--revoke`, whose value must be
/// `read` or `write`; no `--server`.
fn parse_permission(args: &[String]) -> Result<Invocation, UsageError> {
    let mut name = None;
    let mut user = None;
    let mut db = None;
    let mut change = None;
    let mut mask = 0u32;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let slot = match word.as_str() {
            "--name" => &mut name,
            "--user" => &mut user,
            "--db" => &mut db,
            "--grant" | "--revoke" => {
                if change.is_some() {
                    return Err(UsageError);
                }
                change = Some(if word == "--grant" {
                    PermissionChange::Grant
                } else {
                    PermissionChange::Revoke
                });
                match words.next().map(String::as_str) {
                    Some("read") => mask |= crate::store::READ_STORE,
                    Some("write") => mask |= crate::store::WRITE_STORE,
                    Some(_) => return Err(UsageError),
                    None => {}
                }
                continue;
            }
            _ => return Err(UsageError),
        };
        if let Some(value) = words.next() {
            slot.get_or_insert_with(|| value.clone());
        }
    }
    Ok(local(
        Command::StorePermission {
            name,
            user,
            change,
            mask,
        },
        db.map(PathBuf::from),
    ))
}

fn parse_entry(args: &[String]) -> Result<Invocation, UsageError> {
    let (sub, rest) = args.split_first().ok_or(UsageError)?;
    let command = match sub.as_str() {
        "create" => {
            let opts = read_options(
                rest,
                &entry_grammar(
                    &[
                        "--store",
                        "--alias",
                        "--cert",
                        "--key",
                        "--server",
                        "--upn",
                        "--password",
                    ],
                    &[],
                ),
            )?;
            let command = Command::EntryCreate {
                store: opts.value("--store"),
                alias: opts.value("--alias"),
                cert: opts.value("--cert"),
                key: opts.value("--key"),
                password: opts.value("--password"),
            };
            (command, opts)
        }
        "list" => {
            let opts = read_options(
                rest,
                &entry_grammar(&["--store", "--server", "--upn"], &["--text", "--aliases"]),
            )?;
            let command = Command::EntryList {
                store: opts.value("--store"),
                text: opts.flag("--text"),
                aliases_only: opts.flag("--aliases"),
            };
            (command, opts)
        }
        "getcert" | "getkey" => {
            let opts = read_options(
                rest,
                &entry_grammar(
                    &[
                        "--store",
                        "--alias",
                        "--output",
                        "--server",
                        "--upn",
                        "--password",
                    ],
                    &["--text"],
                ),
            )?;
            let (store, alias, output, text) = (
                opts.value("--store"),
                opts.value("--alias"),
                opts.value("--output"),
                opts.flag("--text"),
            );
            let command = if sub == "getcert" {
                Command::EntryGetCert {
                    store,
                    alias,
                    output,
                    text,
                }
            } else {
                Command::EntryGetKey {
                    store,
                    alias,
                    output,
                    text,
                    password: opts.value("--password"),
                }
            };
            (command, opts)
        }
        "delete" => {
            let opts = read_options(
                rest,
                &entry_grammar(&["--store", "--alias", "--server", "--upn"], &["-y"]),
            )?;
            let command = Command::EntryDelete {
                store: opts.value("--store"),
                alias: opts.value("--alias"),
                yes: opts.flag("-y"),
            };
            (command, opts)
        }
        "restore" => {
            // vecsfs's own command: its rules, and no remote service to ask.
            let opts = read_options(rest, &extension_grammar(&["--store", "--alias"], &[]))?;
            let command = Command::EntryRestore {
                store: opts.value("--store"),
                alias: opts.value("--alias"),
            };
            (command, opts)
        }
        _ => return Err(UsageError),
    };
    let (command, opts) = command;
    Ok(Invocation {
        command,
        remote: opts.remote(),
        db: opts.db(),
    })
}

fn read_options(args: &[String], grammar: &Grammar) -> Result<Options, UsageError> {
    let mut opts = Options::default();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if let Some(flag) = grammar.flags.iter().find(|f| **f == word) {
            opts.flags.push(flag);
            continue;
        }
        let name = match grammar.values.iter().find(|v| **v == word) {
            Some(name) => *name,
            None if word == "--db" => "--db",
            None => return Err(UsageError),
        };
        let Some(value) = words.next() else {
            if grammar.dangling_is_error {
                return Err(UsageError);
            }
            break;
        };
        let repeated = opts.values.iter().position(|(n, _)| *n == name);
        match (repeated, grammar.wins) {
            (Some(_), Wins::First) => {}
            (Some(i), Wins::Last) => opts.values[i].1 = value.clone(),
            (None, _) => opts.values.push((name, value.clone())),
        }
    }
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(line: &str) -> Result<Invocation, UsageError> {
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        parse(&args)
    }

    #[test]
    fn entry_options_come_in_any_order_and_the_first_wins() {
        let inv = parse_words("entry getcert --alias a --store S --alias b --text").unwrap();
        assert_eq!(
            inv.command,
            Command::EntryGetCert {
                store: Some("S".into()),
                alias: Some("a".into()),
                output: None,
                text: true
            }
        );
    }

    #[test]
    fn store_create_takes_the_last_name_and_ignores_a_dangling_option() {
        let inv = parse_words("store create --name a --name b --name").unwrap();
        assert_eq!(
            inv.command,
            Command::StoreCreate {
                name: Some("b".into())
            }
        );
    }

    #[test]
    fn a_value_may_start_with_dashes() {
        let inv = parse_words("entry delete --store --alias --alias x -y").unwrap();
        assert_eq!(
            inv.command,
            Command::EntryDelete {
                store: Some("--alias".into()),
                alias: Some("x".into()),
                yes: true
            }
        );
    }

    #[test]
    fn refusals() {
        for line in [
            "",
            "Store list",
            "store",
            "store rename",
            "entry list --store",
            "entry create --text --store S",
            "entry list --store S --bogus",
            "store permission --name S --user u --grant read --revoke write",
            "store permission --name S --user u --grant admin",
            "store permission --name S --server x",
            "force-refresh --server",
        ] {
            assert_eq!(parse_words(line), Err(UsageError), "{line}");
        }
    }

    #[test]
    fn db_is_accepted_by_every_command() {
        let inv = parse_words("store list --db /tmp/x.db").unwrap();
        assert_eq!(inv.db, Some(PathBuf::from("/tmp/x.db")));
        let inv =
            parse_words("store permission --db /d --name S --user root --grant read").unwrap();
        assert_eq!(inv.db, Some(PathBuf::from("/d")));
    }

    #[test]
    fn import_and_export_take_their_options_and_no_password_argument() {
        let inv = parse_words("import --dry-run --afd-db /a/afd.db --db /t.db").unwrap();
        assert_eq!(
            inv.command,
            Command::Import(ImportCommand {
                afd_db: Some("/a/afd.db".into()),
                dry_run: true,
                ..ImportCommand::default()
            })
        );
        assert_eq!(inv.db, Some(PathBuf::from("/t.db")));
        let inv = parse_words("export --store S --output /o --pkcs12 --password-file -").unwrap();
        assert_eq!(
            inv.command,
            Command::Export(ExportCommand {
                store: Some("S".into()),
                output: Some("/o".into()),
                pkcs12: true,
                password_file: Some("-".into()),
                ..ExportCommand::default()
            })
        );
        for line in [
            "export --store S --output /o --pkcs12 --password secret",
            "import --afd-db",
            "import --afd-db x --force",
        ] {
            assert_eq!(parse_words(line), Err(UsageError), "{line}");
        }
    }

    #[test]
    fn entry_restore_takes_a_store_and_an_alias_and_the_last_wins() {
        let inv = parse_words("entry restore --alias a --store S --alias b --db /d").unwrap();
        assert_eq!(
            inv.command,
            Command::EntryRestore {
                store: Some("S".into()),
                alias: Some("b".into())
            }
        );
        assert_eq!(inv.db, Some(PathBuf::from("/d")));
        for line in [
            "entry restore --store",
            "entry restore --store S --alias a -y",
            "entry restore --store S --alias a --server h --upn u",
        ] {
            assert_eq!(parse_words(line), Err(UsageError), "{line}");
        }
    }

    #[test]
    fn list_accepts_the_undocumented_aliases_flag() {
        let inv = parse_words("entry list --aliases --store S").unwrap();
        assert_eq!(
            inv.command,
            Command::EntryList {
                store: Some("S".into()),
                text: false,
                aliases_only: true
            }
        );
    }
}
