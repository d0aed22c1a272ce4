//! The command line, defined once with clap, one file per command family (mirroring
//! `commands/`); `man/` and `completions/` are generated from it. The types here are the
//! command line's own: `commands/` converts them into the services' types.

mod accounts;
mod keys;
mod lfs;
mod repo;
mod server;
mod stdio;

pub use accounts::*;
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
    /// Serve repositories over HTTP or HTTPS (Git Smart HTTP).
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
    /// Read or change global settings.
    Config {
        /// Settings command.
        #[command(subcommand)]
        command: ConfigCommand,
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

fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("invalid duration {s:?}: {e} (examples: 30d, 12h, 90min)"))?;
    if d.is_zero() {
        return Err("the duration must be longer than zero".into());
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
