//! `hubctl doctor`.

use clap::Args;

/// `hubctl doctor [--json] [--url URL] [--min-free SIZE]`
#[derive(Debug, Args)]
#[command(after_long_help = DOCTOR_HELP)]
pub struct DoctorArgs {
    /// Also run `git ls-remote` against the running server: a repository URL, or the
    /// server's base URL (the first repository is tried). Credentials may be in the URL.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Free disk space below this on the root's file system fails the check (a warning below
    /// twice this).
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = super::parse_size_arg)]
    pub min_free: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

const DOCTOR_HELP: &str = "\
Checks, one line each (ok, warn or fail, with the fix):
  git             the git binary (HUBCTL_GIT or PATH) and its version (2.34 or newer)
  root            the root exists, and who owns it against the current user
  database        hubctl.db opens read-write
  hooks           the hook links of hosted repositories point at this binary
  authorized-keys the managed authorized_keys file: modes as sshd's StrictModes wants them,
                  and lines that run this binary on this root
  disk            free space on the root's file system
  pack-cache      the pack cache's size against its limit (pack-cache-size)
  authorize       (when authorize-command is set) the program is an executable file
  maintenance     repositories waiting for maintenance
  lfs storage     (when LFS objects live on S3, globally or for some repository) the S3
                  settings and credentials resolve and the bucket answers
  url             (with --url) git ls-remote against the running server

Exit status: 0 when nothing failed (warnings allowed), 1 otherwise.

JSON: {\"ok\": bool, \"checks\": [{\"check\", \"status\": \"ok\"|\"warn\"|\"fail\", \"message\", \"fix\"}]}";
