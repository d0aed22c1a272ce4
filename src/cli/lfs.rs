//! `hubctl lfs ...`.

use clap::Subcommand;

use super::*;

/// `hubctl lfs ...`
#[derive(Debug, Subcommand)]
pub enum LfsCommand {
    /// List a repository's Git LFS objects (oid and size).
    #[command(after_long_help = LFS_LS_JSON)]
    Ls {
        /// NAMESPACE/NAME.
        #[arg(value_name = "NS/NAME")]
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-hash every Git LFS object of a repository; report corrupt objects (content that
    /// does not hash to the name) and misplaced entries (wrong shard directory, bad name,
    /// symbolic link). On S3 every object under the repository's prefix is streamed back from
    /// the bucket and re-hashed, and objects a presigned upload left unverified are marked
    /// verified once they hash right. Exits with 1 if it finds any.
    Fsck {
        /// NAMESPACE/NAME.
        #[arg(value_name = "NS/NAME")]
        name: String,
    },
    /// Remove Git LFS objects that no commit of any ref points at and that were stored more
    /// than the grace period ago. Without --yes only lists them (a dry run).
    #[command(after_long_help = LFS_PRUNE_HELP)]
    Prune {
        /// NAMESPACE/NAME.
        #[arg(value_name = "NS/NAME")]
        name: String,
        /// Only list what would be removed (the default).
        #[arg(long, conflicts_with = "yes")]
        dry_run: bool,
        /// Remove the objects.
        #[arg(long)]
        yes: bool,
        /// Keep unreferenced objects stored less than DURATION ago (at least 1d).
        #[arg(long, value_name = "DURATION", default_value = "1d", value_parser = parse_grace_arg)]
        grace: std::time::Duration,
    },
    /// Move a repository's Git LFS objects to another store: copy each one, verify what
    /// landed (size and SHA-256), switch the repository's lfs-storage, then remove the old
    /// copies. Safe to interrupt and run again.
    #[command(name = "migrate-storage", after_long_help = LFS_MIGRATE_HELP)]
    MigrateStorage {
        /// NAMESPACE/NAME.
        #[arg(value_name = "NS/NAME")]
        name: String,
        /// The store to move the objects into.
        #[arg(long, value_enum, value_name = "STORE")]
        to: StorageArg,
    },
}

/// Where Git LFS objects live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StorageArg {
    /// The S3-compatible store of the lfs-s3-* settings.
    S3,
    /// Files inside the repository (<repository>.git/lfs/objects).
    Local,
}

const LFS_MIGRATE_HELP: &str = "Steps: every object of the other store is copied into the \
target and read back there (its size and SHA-256 must match its oid); the repository's own
lfs-storage is set to the target (as `hubctl repo set NS/NAME lfs-storage` does); objects that
reached the old store meanwhile are copied too; only then are the old copies removed. Killed at
any point, a second run finishes the job: objects already in the target are verified, not sent
again, and nothing is removed before it is verified where it now lives. A corrupt object stops
the migration with its oid (see hubctl lfs fsck). On a terminal a progress bar shows the bytes
moved (its last frame stays, at the total); otherwise one line per object goes to stderr. The
S3 store needs the lfs-s3-* settings and credentials (hubctl config).";

/// `hubctl lfs-authenticate`.
#[derive(Debug, clap::Args)]
pub struct LfsAuthenticateArgs {
    /// NAMESPACE/NAME (a leading / and .git are accepted).
    #[arg(value_name = "NS/NAME")]
    pub name: String,
    /// upload (needs write access) or download (needs read access).
    #[arg(value_name = "upload|download")]
    pub operation: String,
    /// Act as this user: their access is checked and the token acts for them. Without it the
    /// token acts for the operator (full access, but no lock ownership).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
}

/// After `lfs-authenticate --help`.
pub const LFS_AUTHENTICATE_HELP: &str = "Over SSH, git-lfs runs `git-lfs-authenticate <path> \
upload|download` and hubctl's forced command answers as the key's user; this is the same answer
for the local operator:
  {\"href\": \"<public-url>/NS/NAME.git/info/lfs\",
   \"header\": {\"Authorization\": \"RemoteAuth <token>\"}, \"expires_in\": 3600}
The token authorises the LFS API (batch, locks) of that repository for that operation for one
hour. It needs `hubctl config set public-url https://<host>`.";

const LFS_LS_JSON: &str = "JSON output (--json): an array sorted by oid,
  [{\"oid\": \"5891b5b5...be03\", \"size\": 6}]
Objects live in <repository>.git/lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid>; entries that are
not where their name says are not listed (see hubctl lfs fsck).";

const LFS_PRUNE_HELP: &str = "What counts as referenced: every Git LFS pointer in every
commit reachable from any ref (branches, tags and all other refs), in any path. git-lfs uploads
objects before git pushes them, so an object whose push has not landed yet is unreferenced for
a while: the grace period (never less than one day) keeps it. Symbolic links and misplaced
entries are never followed or removed.";

/// The grace period of `lfs prune`: a duration of at least one day.
fn parse_grace_arg(s: &str) -> Result<std::time::Duration, String> {
    let d = parse_duration_arg(s)?;
    if d < std::time::Duration::from_secs(24 * 60 * 60) {
        return Err(format!(
            "the grace period must be at least 1d: objects of pushes in progress must survive (got {s})"
        ));
    }
    Ok(d)
}
