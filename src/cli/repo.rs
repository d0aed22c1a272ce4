//! `hubctl repo ...`.

use clap::Subcommand;

use super::*;

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
        /// Only the owner, organisation members and granted users may see it.
        #[arg(long, conflicts_with = "public")]
        private: bool,
        /// Anyone may clone it (the default).
        #[arg(long)]
        public: bool,
    },
    /// List repositories.
    #[command(after_long_help = REPO_JSON)]
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one repository and its settings.
    #[command(after_long_help = REPO_JSON)]
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
        /// The new value: public|private for visibility; a size or "off" for max-blob-size,
        /// max-lfs-object-size and lfs-quota; on|off for lfs-enforce-locks; local|s3|default
        /// for lfs-storage; text for description; a branch name for default-branch.
        value: String,
    },
    /// Give a user read, write or admin access to a repository.
    Grant {
        /// NAMESPACE/NAME.
        #[arg(value_name = "NS/NAME")]
        name: String,
        /// The user.
        user: String,
        /// The level.
        #[arg(value_enum)]
        level: LevelArg,
    },
    /// Take a user's grant on a repository away.
    Revoke {
        /// NAMESPACE/NAME.
        #[arg(value_name = "NS/NAME")]
        name: String,
        /// The user.
        user: String,
    },
    /// Delete a repository and everything in it.
    Rm {
        /// NAMESPACE/NAME.
        #[arg(value_name = "NS/NAME")]
        name: String,
        /// Confirm the deletion (required).
        #[arg(long)]
        yes: bool,
    },
    /// Repack with a multi-pack index and bitmaps, write the commit-graph, pack refs.
    #[command(after_long_help = GC_JSON)]
    Gc {
        /// NAMESPACE/NAME.
        #[arg(value_name = "NS/NAME")]
        name: String,
        /// Only if the repository needs it (what runs after pushes); skip if another run is busy.
        #[arg(long)]
        auto: bool,
        /// Print what was done as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rename a repository, also into another namespace. Grants, Git LFS objects and locks go
    /// with it; the old name answers HTTP clients with a redirect to the new one until a
    /// repository takes the old name again.
    Rename {
        /// The current NAMESPACE/NAME.
        #[arg(value_name = "NS/NAME")]
        name: String,
        /// The new NAMESPACE/NAME (the namespace must exist).
        #[arg(value_name = "NEWNS/NEWNAME")]
        new_name: String,
        /// Print the renamed repository as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Clone a repository from a URL or a path onto the server, with git's progress, and
    /// register it.
    #[command(after_long_help = IMPORT_HELP)]
    Import {
        /// NAMESPACE/NAME of the new repository (the namespace must exist).
        #[arg(value_name = "NS/NAME")]
        name: String,
        /// Where to clone from: an http(s)://, ssh://, git:// or file:// URL, user@host:path,
        /// or a local path.
        #[arg(value_name = "URL|PATH")]
        source: String,
        /// Copy every ref as it is at the source (git clone --mirror), not only branches and
        /// tags.
        #[arg(long)]
        mirror: bool,
        /// One-line description.
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// Only the owner, organisation members and granted users may see it.
        #[arg(long, conflicts_with = "public")]
        private: bool,
        /// Anyone may clone it (the default).
        #[arg(long)]
        public: bool,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
        /// Print the imported repository as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Register a repository found on disk (until then only administrators can reach it).
    Adopt {
        /// NAMESPACE/NAME.
        #[arg(value_name = "NS/NAME")]
        name: String,
        /// Make it public. A repository found on disk may hold anything, so it is private
        /// unless you say otherwise.
        #[arg(long, conflicts_with = "private")]
        public: bool,
        /// Make it private (the default).
        #[arg(long)]
        private: bool,
    },
}

/// Settings `hubctl repo set` can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RepoSetting {
    /// public or private.
    Visibility,
    /// Largest non-LFS file a push may add (SIZE or "off").
    MaxBlobSize,
    /// The repository's description.
    Description,
    /// The branch HEAD points at.
    DefaultBranch,
    /// Largest Git LFS object an upload may bring (SIZE or "off").
    MaxLfsObjectSize,
    /// Most Git LFS content the repository may hold (SIZE or "off").
    LfsQuota,
    /// Refuse pushes that change files other users have locked with `git lfs lock` ("on" or
    /// "off", the default).
    LfsEnforceLocks,
    /// Where the repository's Git LFS objects live: local, s3, or default (follow `hubctl
    /// config set lfs-storage`). Existing objects are not moved: use `hubctl lfs
    /// migrate-storage`.
    LfsStorage,
}

const GC_JSON: &str = "JSON output (--json), for each run:
  {\"namespace\": \"alice\", \"name\": \"project\", \"full_name\": \"alice/project\", \"ran\": true, \"reason\": \"...\",
   \"steps\": [{\"name\": \"...\", \"seconds\": 0.42}],
   \"before\": STATS, \"after\": STATS}
where STATS is {\"packs\", \"pack_bytes\", \"packs_outside_midx\", \"bytes_outside_midx\",
\"loose_objects\", \"multi_pack_index\", \"bitmap\", \"commit_graph\"}. With --auto an array of
runs (empty when another process is already maintaining the repository). After every push
hubctl schedules `repo gc --auto` in the background unless `hubctl config set auto-maintenance
off`.";

const IMPORT_HELP: &str = "Only the http, https, ssh, git and file transports are used (no ext:: or \
other remote helpers). git asks for no password on the terminal: put credentials in the URL \
or a credential helper. --json prints {\"namespace\", \"name\", \"full_name\", \"path\", \
\"source\", \"mirror\"}; `repo rename --json` prints {\"namespace\", \"name\", \"full_name\", \
\"path\", \"renamed_from\": {\"namespace\", \"name\", \"full_name\"}}.";

const REPO_JSON: &str = "JSON output (--json): `repo list` prints an array, `repo show` one object:
  {\"namespace\": \"alice\", \"name\": \"project\", \"full_name\": \"alice/project\",
   \"owner\": \"alice\",
   \"default_branch\": \"main\" or null, \"description\": \"...\",
   \"path\": \"/srv/hubctl/repos/alice/project.git\", \"visibility\": \"public\" | \"private\",
   \"max_blob_size\": bytes or null, \"max_lfs_object_size\": bytes or null,
   \"lfs_quota\": bytes or null, \"lfs_enforce_locks\": true | false,
   \"lfs_storage\": \"local\" | \"s3\" | null, \"adopted\": true | false,
   \"grants\": [{\"user\": \"bob\", \"level\": \"read\" | \"write\" | \"admin\"}]}
`repo show` adds the Git LFS content stored: \"lfs_objects\": count, \"lfs_bytes\": bytes.
A repository on disk that has no database row has \"adopted\": false and is reachable by administrators only until `hubctl repo adopt`.";

/// A grant's permission level (each includes the ones below it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LevelArg {
    /// Clone and fetch.
    Read,
    /// Also push.
    Write,
    /// Also change settings and grants.
    Admin,
}
