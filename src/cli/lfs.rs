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
    /// symbolic link). Exits with 1 if it finds any.
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
}

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
