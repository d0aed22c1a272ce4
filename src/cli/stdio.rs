//! `hubctl upload-pack` and `hubctl receive-pack`.

use clap::Args;

/// Options of `hubctl upload-pack` (git-upload-pack's command line).
#[derive(Debug, Args)]
pub struct UploadPackArgs {
    /// Answer a single request and exit (the HTTP transport's mode).
    #[arg(long)]
    pub stateless_rpc: bool,
    /// Only print the ref advertisement (the HTTP transport's info/refs).
    #[arg(long, alias = "http-backend-info-refs")]
    pub advertise_refs: bool,
    /// Use DIR exactly as given (or the gitfile at DIR): no `DIR.git`, `DIR/.git` or work tree.
    #[arg(long)]
    pub strict: bool,
    /// Give up after SECONDS of inactivity (passed to git).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,
    /// A repository (DIR, DIR.git, DIR/.git, a gitfile or a work tree, as git accepts), or
    /// NS/NAME of a hosted repository.
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
    /// A repository (DIR, DIR.git, DIR/.git, a gitfile or a work tree, as git accepts), or
    /// NS/NAME of a hosted repository.
    #[arg(value_name = "DIR | NS/NAME")]
    pub repo: String,
}
