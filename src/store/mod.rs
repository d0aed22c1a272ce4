//! The metadata store: one SQLite database at `<root>/hubctl.db`.
//!
//! CGI and SSH start one hubctl process per request, so many processes use the database at
//! once: WAL mode lets readers run beside a writer, a busy timeout makes writers queue instead
//! of failing, and every change is one transaction. The schema is versioned with SQLite's
//! `user_version` and migrated forward on first use.

/// A closed set of names stored as text: `as_str`, `parse` and `Display` from one list.
/// `parse` maps anything unknown to the given fallback, the safest value of the set (the
/// database's CHECK constraints keep unknown values out in the first place).
macro_rules! text_enum {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? } fallback $fallback:ident) => {
        impl $ty {
            /// The lowercase name used on the command line, in JSON and in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }

            /// Read a stored name.
            pub(crate) fn parse(s: &str) -> $ty {
                match s {
                    $($text => $ty::$variant,)+
                    _ => $ty::$fallback,
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod accounts;
pub mod keys;
pub mod repos;
pub mod tokens;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

/// How long a writer waits for another process's transaction before giving up, unless
/// `HUBCTL_DB_TIMEOUT` (seconds, read by the edge into [`crate::core::env`]) says otherwise.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

fn busy_timeout() -> Duration {
    crate::core::env::get().db_timeout.unwrap_or(BUSY_TIMEOUT)
}

/// Schema migrations, applied in order; the database's `user_version` counts those applied.
/// Never edit a released step: add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: per-repository settings.
    "CREATE TABLE repos (
        id INTEGER PRIMARY KEY,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        max_blob_size INTEGER,
        created_at TEXT NOT NULL,
        UNIQUE (namespace, name)
    );",
    // 2: accounts. Users and organisations share one table because they share one namespace
    // space: a repository's namespace is its owner.
    "CREATE TABLE owners (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('user', 'org')),
        is_admin INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE org_members (
        org_id INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
        PRIMARY KEY (org_id, user_id)
    );
    CREATE INDEX org_members_user ON org_members(user_id);
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        lookup TEXT NOT NULL UNIQUE,
        hash BLOB NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
        created_at TEXT NOT NULL,
        expires_at TEXT,
        last_used_at TEXT,
        revoked_at TEXT
    );
    CREATE INDEX tokens_user ON tokens(user_id);
    ALTER TABLE repos ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public'
        CHECK (visibility IN ('public', 'private'));
    CREATE TABLE grants (
        repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
        level TEXT NOT NULL CHECK (level IN ('read', 'write', 'admin')),
        PRIMARY KEY (repo_id, user_id)
    );
    CREATE INDEX grants_user ON grants(user_id);",
    // 3: SSH keys (the fingerprint index is the AuthorizedKeysCommand lookup) and global
    // settings.
    "CREATE TABLE ssh_keys (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        key_type TEXT NOT NULL,
        public_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        last_used TEXT
    );
    CREATE INDEX ssh_keys_user ON ssh_keys(user_id);
    CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
    // 4: key and token ids are never handed out twice. Without AUTOINCREMENT SQLite reuses
    // the highest deleted id, and an authorized_keys line left behind for a deleted key
    // (`shell --key-id N`) would log its old owner in as whoever got N next.
    "CREATE TABLE ssh_keys_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        key_type TEXT NOT NULL,
        public_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        last_used TEXT
    );
    INSERT INTO ssh_keys_new (id, user_id, title, key_type, public_key, fingerprint,
                              created_at, last_used)
        SELECT id, user_id, title, key_type, public_key, fingerprint, created_at, last_used
        FROM ssh_keys;
    DROP TABLE ssh_keys;
    ALTER TABLE ssh_keys_new RENAME TO ssh_keys;
    CREATE INDEX ssh_keys_user ON ssh_keys(user_id);
    CREATE TABLE tokens_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        lookup TEXT NOT NULL UNIQUE,
        hash BLOB NOT NULL,
        scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
        created_at TEXT NOT NULL,
        expires_at TEXT,
        last_used_at TEXT,
        revoked_at TEXT
    );
    INSERT INTO tokens_new (id, user_id, name, lookup, hash, scope, created_at, expires_at,
                            last_used_at, revoked_at)
        SELECT id, user_id, name, lookup, hash, scope, created_at, expires_at, last_used_at,
               revoked_at
        FROM tokens;
    DROP TABLE tokens;
    ALTER TABLE tokens_new RENAME TO tokens;
    CREATE INDEX tokens_user ON tokens(user_id);",
    // 5: Git LFS locks (queries in lfs/locks.rs). Every wire form of a lock names its owner.
    "CREATE TABLE lfs_locks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        owner_id INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
        refname TEXT,
        locked_at TEXT NOT NULL,
        UNIQUE (repo_id, path)
    );
    CREATE INDEX lfs_locks_owner ON lfs_locks(owner_id);",
    // 6: per-repository Git LFS settings: the largest object an upload may bring, the most
    // bytes of LFS content the repository may hold (both NULL = no limit), and whether pushes
    // must respect other users' locks (enforced in the pre-receive hook).
    "ALTER TABLE repos ADD COLUMN max_lfs_object_size INTEGER;
    ALTER TABLE repos ADD COLUMN lfs_quota INTEGER;
    ALTER TABLE repos ADD COLUMN lfs_enforce_locks INTEGER NOT NULL DEFAULT 0
        CHECK (lfs_enforce_locks IN (0, 1));",
    // 7: user, organisation and repository names are unique regardless of case (enforced
    // inside the write transactions that create them, see accounts.rs and repos.rs); these
    // indexes serve the case-insensitive lookups. Not UNIQUE: a database may already hold names
    // that differ only in case, which only the operator can resolve (`Store::case_clashes`
    // lists them), so migrating must not fail or merge them.
    "CREATE INDEX IF NOT EXISTS owners_name_nocase ON owners(name COLLATE NOCASE);
    CREATE INDEX IF NOT EXISTS repos_name_nocase
        ON repos(namespace COLLATE NOCASE, name COLLATE NOCASE);",
    // 8: where renamed repositories went (`repo rename`): the old name answers HTTP with a
    // redirect to the new one while no repository takes the old name.
    "CREATE TABLE IF NOT EXISTS repo_redirects (
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        target_namespace TEXT NOT NULL,
        target_name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (namespace, name)
    );
    CREATE INDEX IF NOT EXISTS repo_redirects_target ON repo_redirects(target_namespace, target_name);",
    // 9: the notices shown as `remote:` lines after a successful push or fetch (`repo set
    // push-message` / `fetch-message`, checked by `git::messages::validate`); NULL = none.
    "ALTER TABLE repos ADD COLUMN push_message TEXT;
    ALTER TABLE repos ADD COLUMN fetch_message TEXT;",
    // 10: where a repository's Git LFS objects live, overriding the global `lfs-storage`
    // (NULL = follow it): `local` (inside the repository) or `s3`.
    "ALTER TABLE repos ADD COLUMN lfs_storage TEXT CHECK (lfs_storage IN ('local', 's3'));",
];

/// Setting: the `authorized_keys` file hubctl keeps up to date.
pub const SETTING_AUTHORIZED_KEYS_FILE: &str = "authorized-keys-file";

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be opened or migrated.
    #[error("cannot open the database {path}: {message}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        message: String,
    },
    /// The database is missing or empty while the root holds repositories: opening it would
    /// silently start over without the users, tokens, keys and private repositories.
    #[error(
        "the database {path} is {state}, but {repos} holds repositories (e.g. {example}): starting an empty database would lose every user, token and key and make private repositories public. Restore hubctl.db from a backup (with its -wal file, if any), or run `hubctl init --force` to start a fresh database beside the repositories"
    )]
    Missing {
        /// The database file.
        path: PathBuf,
        /// "missing" or "empty".
        state: &'static str,
        /// The repositories directory.
        repos: PathBuf,
        /// One repository found there (`ns/name.git`).
        example: String,
    },
    /// A query failed. (Not marked as the error's source: its text is already in the
    /// message, and error chains would print it twice.)
    #[error("database error: {0}")]
    Sql(rusqlite::Error),
    /// The change would violate a uniqueness rule.
    #[error("{0}")]
    Conflict(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The input is not acceptable.
    #[error("{0}")]
    Invalid(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Sql(e)
    }
}

/// An open connection to the metadata store.
pub struct Store {
    conn: Connection,
}

/// The first repository (`ns/name.git`) under `repos`, if there is any. Symbolic links are
/// not followed: what they lead to is not the root's.
fn first_repository(repos: &Path) -> Option<String> {
    let real_dir = |e: &std::fs::DirEntry| e.file_type().is_ok_and(|t| t.is_dir());
    let mut namespaces: Vec<_> = std::fs::read_dir(repos)
        .ok()?
        .flatten()
        .filter(real_dir)
        .collect();
    namespaces.sort_by_key(|e| e.file_name());
    namespaces.into_iter().find_map(|ns| {
        let mut names: Vec<_> = std::fs::read_dir(ns.path())
            .ok()?
            .flatten()
            .filter(real_dir)
            .collect();
        names.sort_by_key(|e| e.file_name());
        names.into_iter().find_map(|n| {
            let name = n.file_name().into_string().ok()?;
            name.ends_with(".git")
                .then(|| format!("{}/{name}", ns.file_name().to_string_lossy()))
        })
    })
}

/// Refuse to go on when `root`'s database is missing or a zero-length file while its
/// `repos/` holds repositories ([`Error::Missing`]), for commands that may not open the
/// database at all. A cheap check (one `stat` in the common case); opening the store also
/// refuses a database that was never migrated.
pub fn guard(root: &crate::core::root::Root) -> Result<(), Error> {
    let path = root.db_path();
    let state = match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "missing",
        Ok(m) if m.len() == 0 => "empty",
        _ => return Ok(()),
    };
    let repos = root.repos_dir();
    match first_repository(&repos) {
        Some(example) => Err(Error::Missing {
            path,
            state,
            repos,
            example,
        }),
        None => Ok(()),
    }
}

/// How [`Store::open_guarded`] treats a missing or empty database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fresh<'a> {
    /// Create it, whatever else is there.
    Allowed,
    /// Refuse when this repositories directory holds repositories.
    UnlessRepositoriesIn(&'a Path),
}

impl Store {
    /// Open (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, Error> {
        Store::open_guarded(path, Fresh::Allowed)
    }

    /// Create the database of `root` if it is missing or empty, also beside existing
    /// repositories (`hubctl init --force`; without `force` that case is refused as
    /// [`Store::open_root`] refuses it). `true` if the database was created, `false` if it
    /// already held hubctl's schema.
    pub fn init_root(root: &crate::core::root::Root, force: bool) -> Result<bool, Error> {
        let path = root.db_path();
        let existed = Store::has_schema(&path)?;
        let repos = root.repos_dir();
        let fresh = if force {
            Fresh::Allowed
        } else {
            Fresh::UnlessRepositoriesIn(&repos)
        };
        Store::open_guarded(&path, fresh)?;
        Ok(!existed)
    }

    /// Whether `path` is a database that already holds hubctl's schema.
    fn has_schema(path: &Path) -> Result<bool, Error> {
        if std::fs::metadata(path).map_or(true, |m| m.len() == 0) {
            return Ok(false);
        }
        let fail = |e: rusqlite::Error| Error::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(fail)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(fail)?;
        Ok(version > 0)
    }

    fn open_guarded(path: &Path, fresh: Fresh<'_>) -> Result<Store, Error> {
        let fail = |e: rusqlite::Error| Error::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let refuse = |state| match fresh {
            Fresh::UnlessRepositoriesIn(repos) => match first_repository(repos) {
                Some(example) => Err(Error::Missing {
                    path: path.to_path_buf(),
                    state,
                    repos: repos.to_path_buf(),
                    example,
                }),
                None => Ok(()),
            },
            Fresh::Allowed => Ok(()),
        };
        // Checked before SQLite creates the file.
        if std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            refuse("missing")?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(fail)?;
        conn.busy_timeout(busy_timeout()).map_err(fail)?;
        // Plans that never look at bound values. Without this, SQLite (3.54) marks a statement
        // whose plan consulted a parameter (`col = ?`, `LIMIT ?`) for re-preparation whenever
        // its bindings are cleared, and rusqlite clears them each time a cached statement goes
        // back to its cache: every hot query was parsed and planned again on every use, about
        // 40% of an authenticated request's CPU in `serve`. hubctl's queries are lookups by key
        // whose plan does not depend on the value.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(fail)?;
        // A database that was never migrated is as good as missing (a zero-length file, or
        // one truncated or replaced by an empty one).
        if matches!(fresh, Fresh::UnlessRepositoriesIn(_)) {
            let version: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(fail)?;
            if version == 0 {
                refuse("empty")?;
            }
        }
        // Keep the `-wal` and `-shm` files when the last connection closes. A CGI request is a
        // fresh process and usually the only connection: without this, every request created
        // both files, sized the shared-memory index page by page, and deleted them on exit.
        // SAFETY: the handle is valid while `conn` lives, and this file control reads and
        // writes one int through the pointer it is given.
        unsafe {
            let mut on: std::ffi::c_int = 1;
            rusqlite::ffi::sqlite3_file_control(
                conn.handle(),
                c"main".as_ptr(),
                rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
                (&raw mut on).cast(),
            );
        }
        // WAL is persistent once set; asking again costs nothing. A read-only database file
        // cannot switch modes, which surfaces here with SQLite's own explanation.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Open {
                path: path.to_path_buf(),
                message: format!("cannot switch to WAL mode (journal mode is {mode})"),
            });
        }
        // With the WAL kept (above), truncate it to nothing once checkpointed: the next
        // process then finds an empty WAL instead of replaying (and checkpointing, with an
        // fsync) every frame a past write left in it.
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 0;",
        )
        .map_err(fail)?;
        let mut store = Store { conn };
        store.migrate().map_err(|e| Error::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(store)
    }

    /// Take the database's write lock and give it back without changing anything: proves
    /// that this process can write (file modes, read-only mounts, a corrupted file).
    pub fn check_writable(&mut self) -> Result<(), Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let _: i64 = tx.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        tx.rollback()?;
        Ok(())
    }

    /// Open the store of `root`. A missing or empty database is created, unless the root
    /// already holds repositories ([`Error::Missing`]: restore a backup or `hubctl init
    /// --force`).
    pub fn open_root(root: &crate::core::root::Root) -> Result<Store, Error> {
        Store::open_guarded(
            &root.db_path(),
            Fresh::UnlessRepositoriesIn(&root.repos_dir()),
        )
    }

    fn migrate(&mut self) -> Result<(), Error> {
        let current: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if current >= MIGRATIONS.len() as i64 {
            return Ok(());
        }
        // IMMEDIATE takes the write lock first, so two processes never migrate at once; the
        // second re-reads the version after the first committed.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for step in MIGRATIONS.iter().skip(current.max(0) as usize) {
            tx.execute_batch(step)?;
        }
        tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
        tx.commit()?;
        Ok(())
    }

    /// The underlying connection, for the table modules.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// A write that may be skipped (bookkeeping such as `last_used`): tried once without
    /// waiting for another process's write lock, so a busy database never holds up a login or
    /// a request behind it. Failures are ignored.
    pub(crate) fn best_effort(&self, sql: &str, params: impl rusqlite::Params) {
        let _ = self.conn.busy_timeout(Duration::ZERO);
        let _ = self.conn.execute(sql, params);
        let _ = self.conn.busy_timeout(busy_timeout());
    }

    /// Run `f` in one write transaction (taken immediately, so it queues behind other writers
    /// instead of failing halfway).
    pub(crate) fn write<T, E: From<rusqlite::Error>>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Idle connections of this process, most recently used last, each with the identity of the
/// file it opened. A connection is opened once and then serves every thread in turn: opening
/// SQLite and reading the schema is the same work every time, and a statement prepared once
/// stays prepared. (A connection per thread paid that for each of `serve`'s workers, on each
/// worker's first request.)
static IDLE: std::sync::Mutex<Vec<Idle>> = std::sync::Mutex::new(Vec::new());

struct Idle {
    path: PathBuf,
    file: Option<(u64, u64)>,
    store: Store,
}

/// Idle connections kept; more are closed when they come back. Requests that use the database
/// at the same moment each need one, and a server's handlers rarely overlap in it for long.
const MAX_IDLE: usize = 8;

/// Device and inode of the file at `path`: a database replaced under a running process (a
/// restore, a root deleted and made again) is another file, and a connection to the old one
/// must not be handed out again.
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

fn idle_list() -> std::sync::MutexGuard<'static, Vec<Idle>> {
    // A panic elsewhere while the lock was held leaves the list itself intact.
    IDLE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Run `f` with a connection to `root`'s database: an idle one of this process, or a new one.
/// Failing to open the database is the caller's error type too, so results do not nest.
pub fn with_store<T, E: From<Error>>(
    root: &crate::core::root::Root,
    f: impl FnOnce(&mut Store) -> Result<T, E>,
) -> Result<T, E> {
    let path = root.db_path();
    let file = file_identity(&path);
    let taken = {
        let mut idle = idle_list();
        // Connections to a file that is no longer at `path` are closed.
        idle.retain(|c| c.path != path || c.file == file);
        let at = idle.iter().rposition(|c| c.path == path);
        at.map(|at| idle.remove(at).store)
    };
    let mut store = match taken {
        Some(store) => store,
        None => Store::open_root(root)?,
    };
    let out = f(&mut store);
    let mut idle = idle_list();
    if idle.len() < MAX_IDLE {
        // A database file that did not exist before is identified once the connection made it.
        let file = file.or_else(|| file_identity(&path));
        idle.push(Idle { path, file, store });
    }
    out
}

/// Close this process's idle connections (a server that has read its settings keeps no
/// connection open until a request needs one).
pub fn release_idle() {
    idle_list().clear();
}

/// Copy the database at `source` into a new file `dest` with SQLite's online backup: a
/// consistent snapshot taken while other processes keep reading and writing (it restarts if a
/// writer changes the database during the copy, and waits out locks like any reader).
pub fn backup_to(source: &Path, dest: &Path) -> Result<(), Error> {
    let fail = |e: rusqlite::Error| Error::Open {
        path: source.to_path_buf(),
        message: format!("backing up: {e}"),
    };
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(fail)?;
    src.busy_timeout(busy_timeout()).map_err(fail)?;
    let mut dst = Connection::open(dest).map_err(fail)?;
    {
        let backup = rusqlite::backup::Backup::new(&src, &mut dst).map_err(fail)?;
        backup
            .run_to_completion(1024, Duration::from_millis(5), None)
            .map_err(fail)?;
    }
    // One self-contained file: no -wal beside it.
    dst.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
        .map_err(fail)?;
    Ok(())
}

/// Check that the database at `path` answers, for health checks: a fresh read-only
/// connection (never creating the file, never a cached connection that may still hold a
/// replaced file open), its schema version, and a read of the settings table.
pub fn ping(path: &Path) -> Result<(), Error> {
    let fail = |e: rusqlite::Error| Error::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(fail)?;
    conn.busy_timeout(busy_timeout()).map_err(fail)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(fail)?;
    if version != MIGRATIONS.len() as i64 {
        return Err(Error::Open {
            path: path.to_path_buf(),
            message: format!("schema version {version}, expected {}", MIGRATIONS.len()),
        });
    }
    conn.query_row("SELECT count(*) FROM settings", [], |r| r.get::<_, i64>(0))
        .map_err(fail)?;
    Ok(())
}

/// Check a database file without changing it (`PRAGMA integrity_check`), for restores.
pub fn check_file(path: &Path) -> Result<(), Error> {
    let fail = |message: String| Error::Open {
        path: path.to_path_buf(),
        message,
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| fail(e.to_string()))?;
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| fail(e.to_string()))?;
    if verdict != "ok" {
        return Err(fail(format!("integrity check: {verdict}")));
    }
    Ok(())
}

/// The current time as RFC 3339 UTC with seconds precision (`2025-01-01T00:00:00Z`).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl Error {
    /// True if the database was busy (locked by another process) past the timeout: worth
    /// retrying later, unlike other failures.
    pub fn is_busy(&self) -> bool {
        let code = match self {
            Error::Sql(rusqlite::Error::SqliteFailure(f, _)) => Some(f.code),
            _ => None,
        };
        matches!(
            code,
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        ) || matches!(self, Error::Open { message, .. } if message.contains("locked"))
    }
}

/// The current time shifted by `secs` (may be negative), RFC 3339 UTC.
pub fn rfc3339_offset(secs: i64) -> String {
    let now = std::time::SystemTime::now();
    let t = if secs >= 0 {
        now + Duration::from_secs(secs as u64)
    } else {
        now - Duration::from_secs(secs.unsigned_abs())
    };
    humantime::format_rfc3339_seconds(t).to_string()
}

/// True if a SQLite error is a uniqueness violation.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_token_ids_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hubctl.db");
        // A database at schema 3, as earlier versions left it, with two keys and a token.
        {
            let conn = Connection::open(&path).unwrap();
            for step in &MIGRATIONS[..3] {
                conn.execute_batch(step).unwrap();
            }
            conn.pragma_update(None, "user_version", 3).unwrap();
            conn.execute_batch(
                "INSERT INTO owners (id, name, kind, created_at) VALUES (1, 'alice', 'user', 't');
                 INSERT INTO ssh_keys VALUES (1, 1, 'k1', 'ssh-ed25519', 'A1', 'SHA256:1', 't', NULL);
                 INSERT INTO ssh_keys VALUES (2, 1, 'k2', 'ssh-ed25519', 'A2', 'SHA256:2', 't', 'u');
                 INSERT INTO tokens (id, user_id, name, lookup, hash, scope, created_at)
                     VALUES (1, 1, 't', 'l1', x'00', 'read', 't');",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let c = store.conn();
        let last_used: Option<String> = c
            .query_row("SELECT last_used FROM ssh_keys WHERE id = 2", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(last_used.as_deref(), Some("u"), "migrated rows are kept");
        c.execute("DELETE FROM ssh_keys WHERE id = 2", []).unwrap();
        c.execute(
            "INSERT INTO ssh_keys (user_id, title, key_type, public_key, fingerprint, created_at)
             VALUES (1, 'k3', 'ssh-ed25519', 'A3', 'SHA256:3', 't')",
            [],
        )
        .unwrap();
        assert_eq!(
            c.last_insert_rowid(),
            3,
            "key id 2 must not be handed out again"
        );
        c.execute("DELETE FROM tokens WHERE id = 1", []).unwrap();
        c.execute(
            "INSERT INTO tokens (user_id, name, lookup, hash, scope, created_at)
             VALUES (1, 't2', 'l2', x'00', 'write', 't')",
            [],
        )
        .unwrap();
        assert_eq!(
            c.last_insert_rowid(),
            2,
            "token id 1 must not be handed out again"
        );
    }

    #[test]
    fn pooled_connections_follow_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = crate::core::root::Root::at(dir.path()).unwrap();
        let set = |value: &str| {
            with_store(&root, |s| s.set_setting("pool-test", Some(value))).unwrap();
        };
        let get = || with_store(&root, |s| s.setting("pool-test")).unwrap();
        set("one");
        // Another thread gets the same database (a connection opened here, or its own).
        let seen = std::thread::scope(|t| t.spawn(get).join().unwrap());
        assert_eq!(seen.as_deref(), Some("one"));
        // The file replaced by another database (a restore): no connection to the old file
        // answers for the root any more.
        let db = root.db_path();
        let other = dir.path().join("other.db");
        Store::open(&other)
            .unwrap()
            .set_setting("pool-test", Some("two"))
            .unwrap();
        std::fs::rename(&other, &db).unwrap();
        for wal in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{wal}", db.display()));
        }
        assert_eq!(get().as_deref(), Some("two"));
    }
}
