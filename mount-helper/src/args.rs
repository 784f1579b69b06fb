//! The command line mount(8) gives an external helper, turned into a plain [`Invocation`].
//!
//! Pure functions only (the working directory is a parameter), so that every rule mount(8)
//! and fstab authors rely on is pinned by a unit test rather than discovered at boot. Options
//! are validated here, before anything is spawned, so that `mount -f` (and a typo in fstab)
//! fails with exit status 1 instead of a half-started daemon.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// How the helper was asked to mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The database path, absolute.
    pub source: PathBuf,
    /// The mountpoint, absolute.
    pub mountpoint: PathBuf,
    /// `-f`: check everything, mount nothing.
    pub fake: bool,
    /// `-v`: tell on stderr what is done.
    pub verbose: bool,
    /// `ro` (the last of `ro`/`rw` wins).
    pub read_only: bool,
    /// `debug`.
    pub debug: bool,
    /// Options accepted without effect, reported with `-v`.
    pub ignored_options: Vec<String>,
    /// Unknown options skipped because of `-s`, reported as warnings.
    pub sloppy_skipped_options: Vec<String>,
}

impl Invocation {
    /// The daemon's `-o` value: `ro` and `debug` joined by commas, or `None` when there is
    /// nothing to pass (the daemon then gets no `-o` at all).
    pub fn daemon_options(&self) -> Option<String> {
        let mut options: Vec<&str> = Vec::new();
        if self.read_only {
            options.push("ro");
        }
        if self.debug {
            options.push("debug");
        }
        if options.is_empty() {
            None
        } else {
            Some(options.join(","))
        }
    }
}

/// A command line the helper refuses; always exit status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    pub message: String,
    /// Whether the usage text helps (a malformed command line, not a refused option).
    pub show_usage: bool,
}

impl UsageError {
    fn usage(message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
            show_usage: true,
        }
    }

    fn refused(message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
            show_usage: false,
        }
    }
}

pub const USAGE: &str = "\
usage: mount.vecs DATABASE MOUNTPOINT [-sfnv] [-o OPTIONS] [-t vecs]
  Run by mount(8), e.g. `mount -t vecs /var/lib/vecs/vecs.db /etc/vecs` or the fstab line
  `/var/lib/vecs/vecs.db /etc/vecs vecs defaults 0 0`; starts the vecsfs daemon and returns
  once the mount serves requests.
  -f  check the arguments and options, do not mount
  -n  accepted (no /etc/mtab is written)
  -s  ignore unknown options with a warning
  -v  tell what is done on stderr
  -o  ro, rw, debug; mount(8)/systemd options (defaults, noauto, nofail,
      _netdev, x-*, ...) are accepted and ignored; suid, dev and exec are refused
  -t  vecs or fuse.vecs
environment:
  VECSFS_BIN  the daemon to run (default: vecsfs in the directory of this program)";

/// What an option does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OptionEffect {
    ReadOnly,
    ReadWrite,
    Debug,
    Ignore,
    Refuse(&'static str),
}

#[derive(Debug, Clone, Copy)]
enum OptionPattern {
    Exact(&'static str),
    Prefix(&'static str),
}

use OptionEffect::*;
use OptionPattern::*;

const ALWAYS_NOSUID_NODEV_NOEXEC: &str = "the vecs mount is always nosuid,nodev,noexec";
const TRUST_SOURCE_IN_DATABASE: &str =
    "the trust source is set in the database: vecs-cli trust-source set";

/// Every option mount.vecs knows. Anything else is refused, or skipped with `-s`.
const OPTION_TABLE: &[(OptionPattern, OptionEffect)] = &[
    // They change what the daemon serves, so the daemon gets them.
    (Exact("ro"), ReadOnly),
    (Exact("rw"), ReadWrite),
    (Exact("debug"), Debug),
    // The trust source lives in the database, where the daemon and force-refresh both read
    // it: a mount option would be a second place saying something else.
    (Prefix("sync."), Refuse(TRUST_SOURCE_IN_DATABASE)),
    (Prefix("trust."), Refuse(TRUST_SOURCE_IN_DATABASE)),
    // Read by mount(8), systemd or fstab tooling, never by the filesystem. libmount passes
    // user=NAME for a user mount.
    (Exact("defaults"), Ignore),
    (Exact("auto"), Ignore),
    (Exact("noauto"), Ignore),
    (Exact("_netdev"), Ignore),
    (Exact("nofail"), Ignore),
    (Exact("user"), Ignore),
    (Prefix("user="), Ignore),
    (Exact("nouser"), Ignore),
    (Exact("users"), Ignore),
    (Exact("owner"), Ignore),
    (Exact("group"), Ignore),
    (Prefix("comment="), Ignore),
    (Prefix("x-"), Ignore),
    // Already in force: the daemon always mounts nosuid,nodev,noexec and lets every user in
    // (allow_other), checking each operation against the store's VECS permissions.
    (Exact("nosuid"), Ignore),
    (Exact("nodev"), Ignore),
    (Exact("noexec"), Ignore),
    (Exact("allow_other"), Ignore),
    // Meaningless here: every write is committed synchronously on close, and times are the
    // store's, not access times.
    (Exact("async"), Ignore),
    (Exact("sync"), Ignore),
    (Exact("dirsync"), Ignore),
    (Exact("atime"), Ignore),
    (Exact("noatime"), Ignore),
    (Exact("relatime"), Ignore),
    (Exact("strictatime"), Ignore),
    (Exact("nodiratime"), Ignore),
    (Exact("lazytime"), Ignore),
    // Kernel message verbosity for some filesystems; a FUSE mount has none.
    (Exact("loud"), Ignore),
    (Exact("silent"), Ignore),
    // They would undo the fixed nosuid,nodev,noexec: a certificate store holds no programs
    // or devices, so silently mounting without them would mislead.
    (Exact("suid"), Refuse(ALWAYS_NOSUID_NODEV_NOEXEC)),
    (Exact("dev"), Refuse(ALWAYS_NOSUID_NODEV_NOEXEC)),
    (Exact("exec"), Refuse(ALWAYS_NOSUID_NODEV_NOEXEC)),
];

fn option_effect(option: &str) -> Option<OptionEffect> {
    OPTION_TABLE
        .iter()
        .find(|(pattern, _)| match pattern {
            Exact(name) => option == *name,
            Prefix(prefix) => option.starts_with(prefix),
        })
        .map(|(_, effect)| *effect)
}

/// Parses the helper's arguments (without the program name), in mount(8)'s form
/// `SOURCE MOUNTPOINT [-sfnv] [-N NS] [-o OPTIONS] [-t TYPE]`, getopt style: flags may be
/// combined (`-sv`, `-fo ro`), an option's value may be attached (`-oro`), `-o` may repeat,
/// and `--` ends the flags. Relative paths are taken relative to `cwd` (`None`: unknown, so a
/// relative path is refused).
pub fn parse(args: &[OsString], cwd: Option<&Path>) -> Result<Invocation, UsageError> {
    let mut positionals: Vec<&OsStr> = Vec::new();
    let mut option_lists: Vec<String> = Vec::new();
    let mut sloppy = false;
    let mut fake = false;
    let mut verbose = false;

    let mut remaining = args.iter();
    let mut flags_ended = false;
    while let Some(arg) = remaining.next() {
        let bytes = arg.as_bytes();
        if flags_ended || bytes.len() < 2 || bytes[0] != b'-' {
            positionals.push(arg);
            continue;
        }
        if bytes == b"--" {
            flags_ended = true;
            continue;
        }
        let mut index = 1;
        while index < bytes.len() {
            let flag = bytes[index];
            index += 1;
            match flag {
                b's' => sloppy = true,
                b'f' => fake = true,
                b'n' => {}
                b'v' => verbose = true,
                b'o' | b't' | b'N' => {
                    // The value is the rest of this argument, or else the next argument.
                    let value: &OsStr = if index < bytes.len() {
                        OsStr::from_bytes(&bytes[index..])
                    } else if let Some(next) = remaining.next() {
                        next
                    } else if flag == b'N' {
                        return Err(namespaces_unsupported());
                    } else {
                        return Err(UsageError::usage(format!(
                            "option -{} requires a value",
                            char::from(flag)
                        )));
                    };
                    match flag {
                        b'o' => option_lists.push(
                            value
                                .to_str()
                                .ok_or_else(|| {
                                    UsageError::refused(format!(
                                        "mount options must be UTF-8: {}",
                                        value.to_string_lossy()
                                    ))
                                })?
                                .to_owned(),
                        ),
                        b't' => check_type(value)?,
                        _ => return Err(namespaces_unsupported()),
                    }
                    break;
                }
                other => {
                    return Err(UsageError::usage(format!(
                        "unknown flag -{}",
                        String::from_utf8_lossy(&[other])
                    )))
                }
            }
        }
    }

    let (source, mountpoint) = match positionals[..] {
        [source, mountpoint] => (source, mountpoint),
        [] | [_] => {
            return Err(UsageError::usage(
                "the database and the mountpoint are required",
            ))
        }
        [_, _, ref extra @ ..] => {
            return Err(UsageError::usage(format!(
                "unexpected argument {}",
                extra[0].to_string_lossy()
            )))
        }
    };
    if source.is_empty() {
        return Err(UsageError::usage("the database path is empty"));
    }
    if mountpoint.is_empty() {
        return Err(UsageError::usage("the mountpoint is empty"));
    }

    let mut invocation = Invocation {
        source: absolute(Path::new(source), cwd)?,
        mountpoint: absolute(Path::new(mountpoint), cwd)?,
        fake,
        verbose,
        read_only: false,
        debug: false,
        ignored_options: Vec::new(),
        sloppy_skipped_options: Vec::new(),
    };
    // Options are interpreted only now, because -s may come after the -o it applies to.
    for option in option_lists.iter().flat_map(|list| list.split(',')) {
        if option.is_empty() {
            continue;
        }
        match option_effect(option) {
            Some(ReadOnly) => invocation.read_only = true,
            Some(ReadWrite) => invocation.read_only = false,
            Some(Debug) => invocation.debug = true,
            Some(Ignore) => invocation.ignored_options.push(option.to_owned()),
            Some(Refuse(reason)) => {
                return Err(UsageError::refused(format!(
                    "option {option} is not supported: {reason}"
                )))
            }
            None if sloppy => invocation.sloppy_skipped_options.push(option.to_owned()),
            None => {
                return Err(UsageError::refused(format!(
                    "unknown mount option {option} (-s ignores unknown options)"
                )))
            }
        }
    }
    Ok(invocation)
}

fn check_type(filesystem_type: &OsStr) -> Result<(), UsageError> {
    match filesystem_type.as_bytes() {
        b"vecs" | b"fuse.vecs" => Ok(()),
        _ => Err(UsageError::refused(format!(
            "filesystem type {} is not vecs",
            filesystem_type.to_string_lossy()
        ))),
    }
}

fn namespaces_unsupported() -> UsageError {
    UsageError::refused("mount namespaces are not supported")
}

/// `path` relative to `cwd` when it is relative, without `.` components (mount(8) usually
/// passes absolute paths; someone calling the helper by hand may not, and the daemon runs in
/// another session, where a relative path could mean something else).
pub fn absolute(path: &Path, cwd: Option<&Path>) -> Result<PathBuf, UsageError> {
    let joined = match cwd {
        _ if path.is_absolute() => path.to_path_buf(),
        Some(cwd) => cwd.join(path),
        None => {
            return Err(UsageError::refused(format!(
                "cannot make {} absolute: the current directory is unknown",
                path.display()
            )))
        }
    };
    Ok(joined
        .components()
        .filter(|component| *component != Component::CurDir)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Invocation, UsageError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse(&args, Some(Path::new("/work/dir")))
    }

    fn parsed(args: &[&str]) -> Invocation {
        match parse_strs(args) {
            Ok(invocation) => invocation,
            Err(error) => panic!("{args:?} refused: {}", error.message),
        }
    }

    fn refused(args: &[&str]) -> UsageError {
        match parse_strs(args) {
            Ok(invocation) => panic!("{args:?} accepted: {invocation:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn plain_positionals() {
        let invocation = parsed(&["/var/lib/vecs/vecs.db", "/etc/vecs"]);
        assert_eq!(invocation.source, Path::new("/var/lib/vecs/vecs.db"));
        assert_eq!(invocation.mountpoint, Path::new("/etc/vecs"));
        assert!(!invocation.fake && !invocation.verbose);
        assert!(!invocation.read_only && !invocation.debug);
        assert_eq!(invocation.daemon_options(), None);
    }

    #[test]
    fn relative_paths_are_made_absolute() {
        let invocation = parsed(&["vecs.db", "./mnt/vecs"]);
        assert_eq!(invocation.source, Path::new("/work/dir/vecs.db"));
        assert_eq!(invocation.mountpoint, Path::new("/work/dir/mnt/vecs"));
    }

    #[test]
    fn flags_separate_and_combined() {
        let separate = parsed(&["/db", "/mnt", "-s", "-f", "-n", "-v"]);
        let combined = parsed(&["/db", "/mnt", "-sfnv"]);
        assert_eq!(separate, combined);
        assert!(combined.fake && combined.verbose);
    }

    #[test]
    fn flags_before_and_between_positionals() {
        let invocation = parsed(&["-v", "/db", "-o", "ro", "/mnt"]);
        assert_eq!(invocation.source, Path::new("/db"));
        assert_eq!(invocation.mountpoint, Path::new("/mnt"));
        assert!(invocation.verbose && invocation.read_only);
    }

    #[test]
    fn double_dash_ends_flags() {
        let invocation = parsed(&["-v", "--", "/db", "-mnt"]);
        assert_eq!(invocation.mountpoint, Path::new("/work/dir/-mnt"));
    }

    #[test]
    fn option_value_attached_or_in_a_cluster() {
        assert!(parsed(&["/db", "/mnt", "-oro"]).read_only);
        let cluster = parsed(&["/db", "/mnt", "-vo", "ro,debug"]);
        assert!(cluster.verbose && cluster.read_only && cluster.debug);
        assert!(parsed(&["/db", "/mnt", "-tvecs"]).source.is_absolute());
    }

    #[test]
    fn repeated_o_accumulates() {
        let invocation = parsed(&["/db", "/mnt", "-o", "debug", "-o", "ro"]);
        assert_eq!(invocation.daemon_options().as_deref(), Some("ro,debug"));
    }

    #[test]
    fn last_of_ro_and_rw_wins() {
        assert!(!parsed(&["/db", "/mnt", "-o", "ro,rw"]).read_only);
        assert!(parsed(&["/db", "/mnt", "-o", "rw,ro"]).read_only);
        assert!(!parsed(&["/db", "/mnt", "-o", "ro", "-o", "rw"]).read_only);
        assert!(parsed(&["/db", "/mnt", "-o", "rw", "-o", "defaults,ro"]).read_only);
    }

    #[test]
    fn rw_alone_passes_nothing() {
        assert_eq!(parsed(&["/db", "/mnt", "-o", "rw"]).daemon_options(), None);
    }

    #[test]
    fn trust_source_options_are_refused_with_where_it_is_set() {
        for option in [
            "sync.source=ldap://dc.example.com",
            "trust.dir=/srv/trust",
            "sync.",
        ] {
            let error = parse_strs(&["/db", "/mnt", "-o", option]).unwrap_err();
            assert!(
                error.message.contains("vecs-cli trust-source set"),
                "{error:?}"
            );
        }
    }

    #[test]
    fn mount_and_systemd_options_are_ignored() {
        let invocation = parsed(&[
            "/db",
            "/mnt",
            "-o",
            "defaults,noauto,nofail,_netdev,x-systemd.automount,x-systemd.requires=a.service",
            "-o",
            "x-initrd.mount,x-gvfs-show,comment=systemd.automount,user=alice,nosuid,nodev",
            "-o",
            "noexec,allow_other,sync,dirsync,async,noatime,relatime,lazytime,loud,silent",
        ]);
        assert_eq!(invocation.daemon_options(), None);
        assert!(invocation
            .ignored_options
            .contains(&"x-systemd.requires=a.service".to_owned()));
        assert_eq!(invocation.ignored_options.len(), 22);
        assert!(invocation.sloppy_skipped_options.is_empty());
    }

    #[test]
    fn empty_option_items_are_skipped() {
        let invocation = parsed(&["/db", "/mnt", "-o", ",ro,,", "-o", ""]);
        assert!(invocation.read_only);
        assert!(invocation.ignored_options.is_empty());
    }

    #[test]
    fn suid_dev_exec_are_refused_even_when_sloppy() {
        for option in ["suid", "dev", "exec"] {
            let error = refused(&["/db", "/mnt", "-s", "-o", option]);
            assert!(error.message.contains(option), "{}", error.message);
            assert!(error.message.contains("nosuid,nodev,noexec"));
            assert!(!error.show_usage);
        }
    }

    #[test]
    fn unknown_option_is_refused_without_s() {
        let error = refused(&["/db", "/mnt", "-o", "ro,bogus=1"]);
        assert_eq!(
            error.message,
            "unknown mount option bogus=1 (-s ignores unknown options)"
        );
    }

    #[test]
    fn unknown_option_is_skipped_with_s_in_any_position() {
        for args in [
            &["/db", "/mnt", "-s", "-o", "bogus,ro"][..],
            &["/db", "/mnt", "-o", "bogus,ro", "-s"][..],
            &["/db", "/mnt", "-so", "bogus,ro"][..],
        ] {
            let invocation = parsed(args);
            assert_eq!(invocation.sloppy_skipped_options, ["bogus"]);
            assert_eq!(invocation.daemon_options().as_deref(), Some("ro"));
        }
    }

    #[test]
    fn near_misses_of_known_options_are_unknown() {
        for option in [
            "RO",
            "ro=1",
            "Debug",
            "trust",
            "xsystemd.automount",
            "nosuid=1",
        ] {
            assert!(
                parse_strs(&["/db", "/mnt", "-o", option]).is_err(),
                "{option}"
            );
        }
    }

    #[test]
    fn type_vecs_or_fuse_vecs_only() {
        assert!(parse_strs(&["/db", "/mnt", "-t", "vecs"]).is_ok());
        assert!(parse_strs(&["/db", "/mnt", "-t", "fuse.vecs"]).is_ok());
        let error = refused(&["/db", "/mnt", "-t", "ext4"]);
        assert_eq!(error.message, "filesystem type ext4 is not vecs");
        assert!(parse_strs(&["/db", "/mnt", "-t", "fuse"]).is_err());
    }

    #[test]
    fn namespaces_are_refused() {
        for args in [
            &["/db", "/mnt", "-N", "/proc/1/ns/mnt"][..],
            &["/db", "/mnt", "-N1234"][..],
            &["/db", "/mnt", "-N"][..],
        ] {
            assert_eq!(refused(args).message, "mount namespaces are not supported");
        }
    }

    #[test]
    fn missing_positionals() {
        for args in [&[][..], &["/db"][..], &["-v", "-o", "ro", "/db"][..]] {
            let error = refused(args);
            assert_eq!(
                error.message,
                "the database and the mountpoint are required"
            );
            assert!(error.show_usage);
        }
    }

    #[test]
    fn extra_positional() {
        assert_eq!(
            refused(&["/db", "/mnt", "/other"]).message,
            "unexpected argument /other"
        );
    }

    #[test]
    fn empty_positionals() {
        assert_eq!(refused(&["", "/mnt"]).message, "the database path is empty");
        assert_eq!(refused(&["/db", ""]).message, "the mountpoint is empty");
    }

    #[test]
    fn flag_missing_its_value() {
        assert_eq!(
            refused(&["/db", "/mnt", "-o"]).message,
            "option -o requires a value"
        );
        assert_eq!(
            refused(&["/db", "/mnt", "-t"]).message,
            "option -t requires a value"
        );
    }

    #[test]
    fn unknown_flag() {
        let error = refused(&["/db", "/mnt", "-x"]);
        assert_eq!(error.message, "unknown flag -x");
        assert!(error.show_usage);
        assert_eq!(refused(&["/db", "/mnt", "-vq"]).message, "unknown flag -q");
    }

    #[test]
    fn lone_dash_is_a_positional() {
        let invocation = parsed(&["-", "/mnt"]);
        assert_eq!(invocation.source, Path::new("/work/dir/-"));
    }

    #[test]
    fn non_utf8_paths_are_kept() {
        use std::os::unix::ffi::OsStringExt;
        let source = OsString::from_vec(b"/db\xff".to_vec());
        let args = vec![source.clone(), OsString::from("/mnt")];
        let invocation = match parse(&args, None) {
            Ok(invocation) => invocation,
            Err(error) => panic!("{}", error.message),
        };
        assert_eq!(invocation.source.as_os_str(), source);
    }

    #[test]
    fn absolute_paths() {
        let cwd = Some(Path::new("/cwd"));
        assert_eq!(
            absolute(Path::new("/a/./b"), cwd),
            Ok(PathBuf::from("/a/b"))
        );
        assert_eq!(absolute(Path::new("."), cwd), Ok(PathBuf::from("/cwd")));
        assert_eq!(
            absolute(Path::new("../x"), cwd),
            Ok(PathBuf::from("/cwd/../x"))
        );
        // An unknown current directory matters only for a relative path.
        assert_eq!(absolute(Path::new("/a"), None), Ok(PathBuf::from("/a")));
        assert_eq!(
            absolute(Path::new("a"), None).map_err(|error| error.message),
            Err("cannot make a absolute: the current directory is unknown".to_owned())
        );
    }
}
