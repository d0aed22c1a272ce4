//! The command line, defined once with clap, one file per command family (mirroring
//! `commands/`); `man/` and `completions/` are generated from it. The types here are the
//! command line's own: `commands/` converts them into the services' types.

mod accounts;
mod doctor;
mod keys;
mod lfs;
mod repo;
mod server;
mod stdio;

pub use accounts::*;
pub use doctor::*;
pub use keys::*;
pub use lfs::*;
pub use repo::*;
pub use server::*;
pub use stdio::*;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// A self-hosted git server: Smart HTTP, CGI and SSH for bare repositories.
#[derive(Debug, Parser)]
#[command(name = "hubctl", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Data directory holding repositories and the database [default: the platform data
    /// directory, e.g. ~/.local/share/hubctl].
    #[arg(long, global = true, value_name = "DIR", env = "HUBCTL_ROOT")]
    pub root: Option<PathBuf>,

    /// authorized_keys file to rewrite whenever keys are added or removed (CLI and HTTP API);
    /// overrides the `authorized-keys-file` setting (hubctl config).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "HUBCTL_AUTHORIZED_KEYS_FILE"
    )]
    pub authorized_keys_file: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The command line in CGI mode (a CGI server runs hubctl without arguments): exactly what
/// `hubctl cgi` reads, all of it from the environment, the same options as [`Cli`]'s.
///
/// Building [`Cli`]'s parser means building every subcommand's; for a CGI request, a fresh
/// process each time, that was a large share of the start-up, so CGI mode parses only this.
#[derive(Debug, Parser)]
#[command(name = "hubctl")]
pub struct CgiCli {
    /// See [`Cli::root`].
    #[arg(long, value_name = "DIR", env = "HUBCTL_ROOT")]
    pub root: Option<PathBuf>,
    /// See [`Cli::authorized_keys_file`].
    #[arg(long, value_name = "FILE", env = "HUBCTL_AUTHORIZED_KEYS_FILE")]
    pub authorized_keys_file: Option<PathBuf>,
    /// `hubctl cgi`'s own options.
    #[command(flatten)]
    pub args: CgiArgs,
}

impl From<CgiCli> for Cli {
    fn from(c: CgiCli) -> Cli {
        Cli {
            root: c.root,
            authorized_keys_file: c.authorized_keys_file,
            command: Command::Cgi(c.args),
        }
    }
}

/// hubctl's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the root directory and its database (other commands create them on first use
    /// too, but never beside existing repositories).
    #[command(after_long_help = INIT_HELP)]
    Init {
        /// Start a fresh, empty database even though the root already holds repositories
        /// (their users, tokens, keys and privacy are not in it: restore hubctl.db from a
        /// backup instead if there is one).
        #[arg(long)]
        force: bool,
    },
    /// Serve repositories over HTTP or HTTPS (Git Smart HTTP).
    ///
    /// One access-log line per request goes to stderr. SIGINT and SIGTERM stop accepting and
    /// let requests in flight finish. SIGHUP reloads pack-cache-size, max-engines,
    /// queue-timeout, authorize-command and authorize-timeout from the stored settings (hubctl
    /// config); the connection limits and timeouts need a restart.
    Serve(ServeArgs),
    /// Answer one HTTP request as a CGI program (a drop-in for git http-backend); also what
    /// hubctl does when a CGI server runs it without arguments.
    Cgi(CgiArgs),
    /// Serve a fetch over stdin/stdout, like git-upload-pack.
    UploadPack(UploadPackArgs),
    /// Accept a push over stdin/stdout, like git-receive-pack.
    ReceivePack(ReceivePackArgs),
    /// Create, list, inspect and configure repositories.
    Repo {
        /// Repository command.
        #[command(subcommand)]
        command: RepoCommand,
    },
    /// Inspect and clean up repositories' Git LFS objects.
    Lfs {
        /// LFS command.
        #[command(subcommand)]
        command: LfsCommand,
    },
    /// Print what git-lfs-authenticate over SSH answers: the LFS API URL of a repository
    /// and a token for it (JSON).
    #[command(after_long_help = LFS_AUTHENTICATE_HELP)]
    LfsAuthenticate(LfsAuthenticateArgs),
    /// Manage user accounts.
    User {
        /// User command.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage organisations and their members.
    Org {
        /// Organisation command.
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Manage access tokens (HTTP Basic password or Bearer token).
    Token {
        /// Token command.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage SSH keys and the authorized_keys lines that route them to `hubctl shell`.
    Keys {
        /// Key command.
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The SSH forced command: serve what SSH_ORIGINAL_COMMAND asks for, as key N's user.
    Shell {
        /// The registered key the client authenticated with.
        #[arg(long, value_name = "N")]
        key_id: i64,
    },
    /// Copy the database (SQLite online backup), the repositories and their Git LFS objects
    /// into a new directory, consistently, while the server runs.
    #[command(after_long_help = BACKUP_HELP)]
    Backup {
        /// The new backup directory (must not exist, or be empty; not inside the root).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Print a summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fill an empty root (--root) from a backup made by `hubctl backup`.
    #[command(after_long_help = BACKUP_HELP)]
    Restore {
        /// The backup directory.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Print a summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a setup: git, the root's ownership, the database, hooks, authorized_keys, disk,
    /// pack cache, maintenance and (with --url) the running server; says what to fix.
    Doctor(DoctorArgs),
    /// Read or change global settings.
    Config {
        /// Settings command.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print the shell completion script for SHELL (it completes commands, options, and user,
    /// organisation and repository names by asking hubctl).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: ShellArg,
    },
    /// Print a man page (hubctl(1), or a command's), or install every page into a directory.
    Man {
        /// Write every page into DIR (e.g. /usr/local/share/man/man1) instead of printing one.
        #[arg(long, value_name = "DIR", conflicts_with = "command")]
        dir: Option<PathBuf>,
        /// The command whose page to print, e.g. `token create`.
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// git upload-pack's pack-objects, through the pack cache (git runs this itself).
    #[command(hide = true)]
    PackObjectsHook {
        /// `git pack-objects` and its arguments, as upload-pack appends them.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Run one of hubctl's git hooks (git runs these itself during a push).
    #[command(hide = true)]
    Hook {
        /// The hook name (pre-receive, update, post-receive, ...).
        name: String,
        /// The arguments git passes to the hook.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

const INIT_HELP: &str = "\
When <root>/repos holds repositories but hubctl.db is missing or empty, every command refuses \
to start: an empty database would lose every user, token and key and show private \
repositories as public. Restore hubctl.db (and its -wal file) from a backup, or accept a fresh \
database with `hubctl init --force`; the repositories are then listed as not adopted, and \
`hubctl repo adopt` registers each one (private unless --public).";

/// A shell `hubctl completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShellArg {
    /// GNU Bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
    /// Elvish.
    Elvish,
    /// PowerShell.
    Powershell,
}

impl ShellArg {
    /// The shell's name as the completion engine knows it.
    pub fn name(self) -> &'static str {
        match self {
            ShellArg::Bash => "bash",
            ShellArg::Zsh => "zsh",
            ShellArg::Fish => "fish",
            ShellArg::Elvish => "elvish",
            ShellArg::Powershell => "powershell",
        }
    }
}

const BACKUP_HELP: &str = "A backup holds hubctl.db (a snapshot by SQLite's online backup), \
the secret that signs Git LFS tokens, and every repository with its Git LFS objects; caches and \
run-time state are left out. Each repository is copied refs first, objects after, so pushes \
during the backup leave it consistent. The backup is built beside DIR and appears there only \
when complete. `restore` refuses a root that has a database or repositories, and writes the \
database last. Neither follows symbolic links. --json prints {\"backup\": DIR, \
\"repositories\": [{\"namespace\", \"name\", \"full_name\"}, ...], \"files\": N, \"bytes\": N, \
\"skipped_links\": [PATH, ...]}.";

fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("invalid duration {s:?}: {e} (examples: 30d, 12h, 90min)"))?;
    if d.is_zero() {
        return Err("the duration must be longer than zero".into());
    }
    Ok(d)
}

/// The longest token lifetime `token create --expires` accepts: far enough for any real use,
/// short enough that the expiry date is always representable (RFC 3339 stops at year 9999).
pub const MAX_EXPIRY: std::time::Duration = std::time::Duration::from_secs(100 * 31_557_600);

/// `--expires`: a positive duration of at most [`MAX_EXPIRY`]. Negative values are taken as a
/// value (not as an unknown flag) so that they can be answered with the rule.
fn parse_expiry_arg(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    if s.starts_with("--") {
        // `--expires --json`: the value was forgotten.
        return Err(format!(
            "expected a duration before {s} (examples: 30d, 12h, 90min)"
        ));
    }
    if s.starts_with('-') {
        return Err(format!(
            "invalid duration {s:?}: durations are positive (examples: 30d, 12h, 90min)"
        ));
    }
    let d = match humantime::parse_duration(s) {
        Ok(d) => d,
        Err(humantime::DurationError::NumberOverflow) => {
            return Err(format!("duration {s:?} is out of range: at most 100y"));
        }
        Err(e) => {
            return Err(format!(
                "invalid duration {s:?}: {e} (examples: 30d, 12h, 90min)"
            ));
        }
    };
    if d.is_zero() {
        return Err("the duration must be longer than zero".into());
    }
    if d > MAX_EXPIRY {
        return Err(format!("duration {s:?} is out of range: at most 100y"));
    }
    Ok(d)
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    crate::core::units::parse_size(s).map_err(|e| e.to_string())
}

/// A size limit from the command line; `None` means "off".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<u64>);

fn parse_limit_arg(s: &str) -> Result<Limit, String> {
    crate::core::units::parse_limit(s)
        .map(Limit)
        .map_err(|e| e.to_string())
}
