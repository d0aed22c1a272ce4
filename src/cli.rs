//! The command line, defined once with clap; `man/` and `completions/` are generated from it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A self-hosted git server: Smart HTTP, CGI and SSH for bare repositories.
#[derive(Debug, Parser)]
#[command(name = "hubctl", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Data directory holding repositories and the database [default: the platform data
    /// directory, e.g. ~/.local/share/hubctl].
    #[arg(long, global = true, value_name = "DIR", env = "HUBCTL_ROOT")]
    pub root: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
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

/// Options of `hubctl serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address is logged).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Worker threads answering requests.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: u16,
    /// PEM certificate chain: serve HTTPS (needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub http: HttpArgs,
}

/// Options shared by the HTTP transports.
#[derive(Debug, Args)]
pub struct HttpArgs {
    /// Refuse pushes whose pack is larger than SIZE (e.g. 500MB); unlimited by default.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg, env = "HUBCTL_MAX_PUSH_SIZE")]
    pub max_push_size: Option<u64>,
}

/// Options of `hubctl cgi`.
#[derive(Debug, Args)]
pub struct CgiArgs {
    #[command(flatten)]
    pub http: HttpArgs,
}

/// Options of `hubctl upload-pack` (git-upload-pack's command line).
#[derive(Debug, Args)]
pub struct UploadPackArgs {
    /// Answer a single request and exit (the HTTP transport's mode).
    #[arg(long)]
    pub stateless_rpc: bool,
    /// Only print the ref advertisement (the HTTP transport's info/refs).
    #[arg(long, alias = "http-backend-info-refs")]
    pub advertise_refs: bool,
    /// Accepted for git-upload-pack compatibility; hubctl always uses the exact directory.
    #[arg(long)]
    pub strict: bool,
    /// Give up after SECONDS of inactivity (passed to git).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
    /// A repository directory, or NS/NAME of a hosted repository.
    #[arg(value_name = "DIR | NS/NAME")]
    pub repo: String,
}

/// Options of `hubctl receive-pack` (git-receive-pack's command line).
#[derive(Debug, Args)]
pub struct ReceivePackArgs {
    /// Answer a single request and exit (the HTTP transport's mode).
    #[arg(long)]
    pub stateless_rpc: bool,
    /// Only print the ref advertisement (the HTTP transport's info/refs).
    #[arg(long, alias = "http-backend-info-refs")]
    pub advertise_refs: bool,
    /// A repository directory, or NS/NAME of a hosted repository.
    #[arg(value_name = "DIR | NS/NAME")]
    pub repo: String,
}

/// `hubctl repo ...`
#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Create a bare repository.
    Init {
        /// NAMESPACE/NAME of the new repository.
        #[arg(value_name = "NS/NAME")]
        name: String,
        /// Branch HEAD points at.
        #[arg(long, value_name = "BRANCH", default_value = "main")]
        default_branch: String,
        /// One-line description.
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// Refuse pushes adding non-LFS files larger than SIZE (e.g. 1MB), or "off".
        #[arg(long, value_name = "SIZE", value_parser = parse_limit_arg)]
        max_blob_size: Option<Limit>,
    },
    /// List repositories.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one repository and its settings.
    Show {
        /// NAMESPACE/NAME.
        #[arg(value_name = "NS/NAME")]
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change a repository setting.
    Set {
        /// NAMESPACE/NAME.
        #[arg(value_name = "NS/NAME")]
        name: String,
        /// The setting.
        #[arg(value_enum)]
        key: RepoSetting,
        /// The new value (a size or "off" for max-blob-size; text for description; a branch
        /// name for default-branch).
        value: String,
    },
}

/// Settings `hubctl repo set` can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RepoSetting {
    /// Largest non-LFS file a push may add (SIZE or "off").
    MaxBlobSize,
    /// The repository's description.
    Description,
    /// The branch HEAD points at.
    DefaultBranch,
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    crate::units::parse_size(s).map_err(|e| e.to_string())
}

/// A size limit from the command line; `None` means "off".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<u64>);

fn parse_limit_arg(s: &str) -> Result<Limit, String> {
    crate::units::parse_limit(s)
        .map(Limit)
        .map_err(|e| e.to_string())
}
