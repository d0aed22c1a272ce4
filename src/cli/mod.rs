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
    /// Treat the web server's REMOTE_USER as an authenticated hubctl user. Only for web
    /// servers that verified the password: nginx sets $remote_user from any Basic header.
    #[arg(long, env = "HUBCTL_TRUST_REMOTE_USER", value_parser = clap::builder::BoolishValueParser::new())]
    pub trust_remote_user: bool,
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
        /// The new value: public|private for visibility; a size or "off" for max-blob-size;
        /// text for description; a branch name for default-branch.
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
        level: crate::store::repos::Level,
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
    /// Register a repository found on disk (until then only administrators can reach it).
    Adopt {
        /// NAMESPACE/NAME.
        #[arg(value_name = "NS/NAME")]
        name: String,
        /// Make it private.
        #[arg(long)]
        private: bool,
    },
}

/// `hubctl user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (and their namespace).
    Add {
        /// User name: letters, digits, '.', '_', '-'.
        name: String,
        /// Site administrator: full access to every repository.
        #[arg(long)]
        admin: bool,
    },
    /// List users.
    #[command(after_long_help = USER_JSON)]
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a user with their tokens and grants (refused while they own repositories).
    Rm {
        /// User name.
        name: String,
    },
}

/// `hubctl org ...`
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation (and its namespace).
    Add {
        /// Organisation name.
        name: String,
    },
    /// List organisations and their members.
    #[command(after_long_help = ORG_JSON)]
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Manage members.
    Member {
        /// Member command.
        #[command(subcommand)]
        command: OrgMemberCommand,
    },
}

/// `hubctl org member ...`
#[derive(Debug, Subcommand)]
pub enum OrgMemberCommand {
    /// Add a user to an organisation, or change their role.
    Add {
        /// Organisation.
        org: String,
        /// User.
        user: String,
        /// owner (admin on the organisation's repositories) or member (write).
        #[arg(long, value_enum, default_value = "member")]
        role: crate::store::accounts::Role,
    },
    /// Remove a user from an organisation.
    Rm {
        /// Organisation.
        org: String,
        /// User.
        user: String,
    },
}

/// `hubctl token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (the only time it is shown).
    #[command(after_long_help = TOKEN_CREATE_JSON)]
    Create {
        /// The user the token acts as.
        #[arg(long)]
        user: String,
        /// A label to recognise it by.
        #[arg(long, value_name = "LABEL", default_value = "cli")]
        name: String,
        /// read: clone and fetch only; write: also push.
        #[arg(long, value_enum, default_value = "write")]
        scope: crate::store::tokens::Scope,
        /// Lifetime, e.g. 30d, 12h, 90min; no expiry if absent.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
        expires: Option<std::time::Duration>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never their secrets).
    #[command(after_long_help = TOKEN_LIST_JSON)]
    List {
        /// Only this user's tokens.
        #[arg(long)]
        user: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token; it stops working with the next request.
    Revoke {
        /// The token's id (from `token list`).
        id: i64,
    },
}

/// `hubctl keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Register an OpenSSH public key for a user.
    #[command(after_long_help = KEY_JSON)]
    Add {
        /// The user the key logs in as.
        #[arg(long)]
        user: String,
        /// Title (at most 255 characters) [default: the key's comment].
        #[arg(long)]
        title: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// File holding the public key, or - for stdin.
        #[arg(value_name = "FILE | -")]
        file: PathBuf,
    },
    /// List keys.
    #[command(after_long_help = KEY_JSON)]
    List {
        /// Only this user's keys.
        #[arg(long)]
        user: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one key, with its public key.
    #[command(after_long_help = KEY_JSON)]
    Show {
        /// Key id.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a key.
    Rm {
        /// Key id.
        id: i64,
    },
    /// Print authorized_keys lines (all keys, or the one matching --key/--fingerprint, as
    /// sshd's AuthorizedKeysCommand), or write them into a file's managed block.
    #[command(after_long_help = AUTHORIZED_KEYS_HELP)]
    AuthorizedKeys {
        /// Replace hubctl's block in FILE (atomically), keeping every other line.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["key_type", "key", "fingerprint"])]
        write: Option<PathBuf>,
        /// Key type offered by the client (sshd's %t).
        #[arg(long, value_name = "TYPE", requires = "key")]
        key_type: Option<String>,
        /// Base64 key offered by the client (sshd's %k).
        #[arg(long, value_name = "BASE64", requires = "key_type")]
        key: Option<String>,
        /// Fingerprint offered by the client (sshd's %f). With --key-type/--key as well, the
        /// key is looked up and must have this fingerprint.
        #[arg(long, value_name = "SHA256:...")]
        fingerprint: Option<String>,
    },
}

/// `hubctl config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a setting (the stored value, or the default).
    Get {
        /// The setting.
        #[arg(value_enum)]
        name: crate::settings::Key,
    },
    /// Change a setting.
    Set {
        /// The setting.
        #[arg(value_enum)]
        name: crate::settings::Key,
        /// The new value.
        value: String,
    },
    /// Remove a setting.
    Unset {
        /// The setting.
        #[arg(value_enum)]
        name: crate::settings::Key,
    },
}

const GC_JSON: &str = "JSON output (--json), for each run:
  {\"repository\": \"alice/project\", \"ran\": true, \"reason\": \"...\",
   \"steps\": [{\"name\": \"...\", \"seconds\": 0.42}],
   \"before\": STATS, \"after\": STATS}
where STATS is {\"packs\", \"pack_bytes\", \"packs_outside_midx\", \"bytes_outside_midx\",
\"loose_objects\", \"multi_pack_index\", \"bitmap\", \"commit_graph\"}. With --auto an array of
runs (empty when another process is already maintaining the repository). After every push
hubctl schedules `repo gc --auto` in the background unless `hubctl config set auto-maintenance
off`.";

const KEY_JSON: &str = "JSON output (--json), the objects of the /api/user/keys API:
  {\"id\": 1, \"title\": \"My Laptop\", \"key_type\": \"ssh-ed25519\",
   \"fingerprint\": \"SHA256:...\", \"created_at\": \"2025-01-01T00:00:00Z\",
   \"last_used\": \"2025-01-02T12:30:00Z\" or null}
`keys show` adds \"public_key\": \"ssh-ed25519 AAAA...\"; `keys list` adds \"user\".
Accepted keys: ssh-ed25519, ssh-rsa (at least 2048 bits), ecdsa-sha2-nistp256/384/521 and
the security-key types sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com. A key
whose SHA256 fingerprint is registered already (to anyone) is refused.";

const AUTHORIZED_KEYS_HELP: &str = "Each line is
  restrict,command=\"/path/to/hubctl --root ROOT shell --key-id N\" TYPE BASE64 hubctl-key-N
For sshd_config (see scripts/sshd/ for the full example):
  AuthorizedKeysCommand /usr/local/bin/hubctl --root /srv/hubctl keys authorized-keys --key-type %t --key %k
  AuthorizedKeysCommandUser git
  AcceptEnv GIT_PROTOCOL
The lookup is one indexed query; it prints nothing (and exits 0) for an unknown key.";

const REPO_JSON: &str = "JSON output (--json): `repo list` prints an array, `repo show` one object:
  {\"namespace\": \"alice\", \"name\": \"project\", \"owner\": \"alice\",
   \"default_branch\": \"main\" or null, \"description\": \"...\",
   \"path\": \"/srv/hubctl/repos/alice/project.git\", \"visibility\": \"public\" | \"private\",
   \"max_blob_size\": bytes or null, \"adopted\": true | false,
   \"grants\": [{\"user\": \"bob\", \"level\": \"read\" | \"write\" | \"admin\"}]}
A repository on disk that has no database row has \"adopted\": false and is reachable by administrators only until `hubctl repo adopt`.";

const USER_JSON: &str = "JSON output (--json): an array of
  {\"id\": 1, \"name\": \"alice\", \"admin\": false, \"created_at\": \"2025-01-01T00:00:00Z\"}";

const ORG_JSON: &str = "JSON output (--json): an array of
  {\"id\": 2, \"name\": \"acme\", \"created_at\": \"2025-01-01T00:00:00Z\",
   \"members\": [{\"user\": \"alice\", \"role\": \"owner\" | \"member\"}]}";

const TOKEN_CREATE_JSON: &str = "JSON output (--json):
  {\"id\": 3, \"token\": \"hubctl_...\", \"user\": \"alice\", \"name\": \"cli\",
   \"scope\": \"read\" | \"write\", \"expires_at\": \"2025-02-01T00:00:00Z\" or null}
Without --json only the token is printed on stdout. Tokens are 256 random bits after the
prefix hubctl_; hubctl stores only their SHA-256. Use one as the HTTP password (any user name)
or as `Authorization: Bearer TOKEN`.";

const TOKEN_LIST_JSON: &str = "JSON output (--json): an array of
  {\"id\": 3, \"user\": \"alice\", \"name\": \"cli\", \"scope\": \"write\",
   \"created_at\": \"...\", \"expires_at\": null, \"last_used_at\": null, \"revoked_at\": null}
Times are RFC 3339 UTC; last_used_at is updated at most once a minute.";

fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("invalid duration {s:?}: {e} (examples: 30d, 12h, 90min)"))?;
    if d.is_zero() {
        return Err("the duration must be longer than zero".into());
    }
    Ok(d)
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
