//! `hubctl keys ...` and `hubctl config ...`.

use std::path::PathBuf;

use clap::Subcommand;

/// `hubctl keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Register an OpenSSH public key for a user.
    #[command(after_long_help = KEY_JSON)]
    Add {
        /// The user the key logs in as.
        #[arg(long, value_name = "NAME")]
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
        #[arg(long, value_name = "NAME")]
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
    /// List every setting with its effective value, marking defaults.
    #[command(after_long_help = CONFIG_LIST_JSON)]
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a setting's effective value (the stored value, or the default).
    Get {
        /// The setting.
        #[arg(value_enum)]
        name: SettingName,
    },
    /// Change a setting. A running `hubctl serve` reads pack-cache-size, max-engines,
    /// queue-timeout, authorize-command and authorize-timeout again on SIGHUP (kill -HUP PID),
    /// and idle-timeout, header-timeout, max-connections and max-connections-per-ip only when
    /// it starts; CGI, SSH and hooks read settings afresh every time.
    #[command(after_long_help = AUTHORIZE_COMMAND_HELP)]
    Set {
        /// The setting.
        #[arg(value_enum)]
        name: SettingName,
        /// The new value.
        value: String,
    },
    /// Remove a setting.
    Unset {
        /// The setting.
        #[arg(value_enum)]
        name: SettingName,
    },
}

const AUTHORIZE_COMMAND_HELP: &str =
    "authorize-command PATH (an absolute path) is run for each access hubctl's own
rules allow (git, Git LFS, the keys API, pages; over serve, CGI and SSH). It reads one JSON
object on stdin:
  {\"user\": \"alice\", \"repository\": \"alice/project\", \"action\": \"write\",
   \"transport\": \"ssh\", \"remote_address\": \"203.0.113.7\"}
user: the hubctl user, or null (anonymous read); repository: NS/NAME as stored, or null (keys
API); action: read, write, lfs-read, lfs-write, admin, keys-read or keys-write; transport:
serve, cgi, ssh, stdio or embedded; remote_address: the client's IP address, or null.
Exit status 0 allows; anything else, a crash, or running past authorize-timeout (default 5s;
its process group is killed) denies. The first line it prints is shown to the user with the
refusal. It runs with an empty environment except PATH, in /.";

const CONFIG_LIST_JSON: &str = "Text output: one line per setting, NAME<TAB>VALUE, with
<TAB>(default) when nothing is stored. Sizes read like 2.0 GiB, durations like 1m.
JSON output (--json): an array of
  {\"name\": \"pack-cache-size\", \"value\": 2147483648, \"default\": true}
where value is a number of bytes for sizes, a number of seconds for durations, a number for
counts, true or false for on/off settings, a string for paths and URLs, and null for \"off\" or
\"(none)\".";

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

/// A setting's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SettingName {
    /// The authorized_keys file hubctl rewrites when keys change (an absolute path).
    AuthorizedKeysFile,
    /// Upper bound of the pack cache (a size like 2GB, or "off" to switch it off).
    PackCacheSize,
    /// How many git engine processes may run at once (default: twice the cores).
    MaxEngines,
    /// How long a request waits for an engine slot before a 503 (e.g. 60s).
    QueueTimeout,
    /// Repack, multi-pack index, bitmaps and commit-graph after pushes ("on" or "off").
    AutoMaintenance,
    /// `hubctl serve`: longest silence while a request body is read, or between requests;
    /// SSH git-lfs-transfer: longest silence before a session ends (default 60s).
    IdleTimeout,
    /// `hubctl serve`: time a client has to send a whole request head (default 30s).
    HeaderTimeout,
    /// `hubctl serve`: most open connections (default 1024).
    MaxConnections,
    /// `hubctl serve`: most open connections from one client address (default 256).
    MaxConnectionsPerIp,
    /// Refuse pushes that add Git LFS pointers whose objects the server does not have ("on"
    /// or "off").
    LfsCheckPointers,
    /// The URL HTTP clients reach this server at, e.g. https://git.example.com (an absolute
    /// http or https URL): git-lfs-authenticate over SSH sends clients to
    /// <public-url>/NS/NAME.git/info/lfs.
    PublicUrl,
    /// Serve Git LFS's pure-SSH protocol git-lfs-transfer ("on" or "off", default on); off
    /// makes clients fall back to git-lfs-authenticate and HTTP (see public-url).
    LfsSshTransfer,
    /// Answer GET /metrics for anyone ("on" or "off", default off); off, only an
    /// administrator's token gets the numbers.
    Metrics,
    /// The SSH address repository pages show for cloning, e.g. ssh://git@git.example.com:2222
    /// (default: ssh://git@ and the HTTP host).
    SshUrl,
    /// Where Git LFS objects live unless a repository says otherwise (`repo set NS/NAME
    /// lfs-storage`): local (in the repository, the default) or s3.
    LfsStorage,
    /// The S3-compatible endpoint, e.g. https://s3.eu-west-1.amazonaws.com or
    /// http://minio.internal:9000.
    LfsS3Endpoint,
    /// The bucket that holds the Git LFS objects.
    LfsS3Bucket,
    /// The region requests are signed for (default us-east-1).
    LfsS3Region,
    /// A key prefix for every object (default none): keys are
    /// PREFIX/NS/NAME/OID[0:2]/OID[2:4]/OID.
    LfsS3Prefix,
    /// Address the bucket as ENDPOINT/BUCKET ("on", for MinIO, Ceph RGW, Garage) instead of
    /// BUCKET.ENDPOINT ("off", the default).
    LfsS3PathStyle,
    /// Stream object bytes through hubctl ("on", for stores clients cannot reach) instead of
    /// handing clients presigned URLs ("off", the default).
    LfsS3Proxy,
    /// A file in AWS's credentials format ([default] aws_access_key_id = ...,
    /// aws_secret_access_key = ...), used when AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
    /// are not set. Credentials are never stored in the database.
    LfsS3CredentialsFile,
    /// A program (an absolute path) run for each access hubctl's own rules allow: JSON on
    /// stdin (user, repository, action, transport, remote_address), exit 0 allows, anything
    /// else denies; the first line it prints is shown to the user (see the README).
    AuthorizeCommand,
    /// How long authorize-command may take before the request is refused (default 5s).
    AuthorizeTimeout,
}
