//! The command-line edge: turns parsed arguments into library calls and prints results.
//!
//! This is the only layer that uses `anyhow` and prints; the library below returns typed
//! errors.

mod accounts;
pub mod docs;
mod doctor;
mod keys;
mod lfs;
mod repo;
mod server;
mod ssh;
mod stdio;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::core::root::Root;

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let (reads, operator) = (only_reads(&cli.command), run_by_operator(&cli.command));
    let root = |explicit: &Option<std::path::PathBuf>| -> Result<Root> {
        open_root(explicit, reads, operator)
    };
    match cli.command {
        Command::Init { force } => init(&Root::resolve(cli.root.as_deref())?, force),
        Command::Serve(args) => {
            server::serve(&root(&cli.root)?, cli.authorized_keys_file.as_deref(), args)
        }
        Command::Cgi(args) => server::cgi(
            cli.root.as_deref(),
            cli.authorized_keys_file.as_deref(),
            args,
        ),
        Command::Keys { command } => keys::run(
            &root(&cli.root)?,
            cli.authorized_keys_file.as_deref(),
            command,
        ),
        Command::Shell { key_id } => ssh::shell(&root(&cli.root)?, key_id),
        Command::Doctor(args) => doctor::run(
            cli.root.as_deref(),
            cli.authorized_keys_file.as_deref(),
            args,
        ),
        Command::Config { command } => keys::config(&root(&cli.root)?, command),
        Command::Backup { dir, json } => repo::backup(&root(&cli.root)?, &dir, json),
        Command::Restore { dir, json } => repo::restore(&root(&cli.root)?, &dir, json),
        Command::UploadPack(args) => stdio::upload_pack(cli.root.as_deref(), args),
        Command::ReceivePack(args) => stdio::receive_pack(cli.root.as_deref(), args),
        Command::Repo { command } => repo::run(&root(&cli.root)?, command),
        Command::Lfs { command } => lfs::run(&root(&cli.root)?, command),
        Command::LfsAuthenticate(args) => lfs::authenticate(&root(&cli.root)?, args),
        Command::User { command } => accounts::user(
            &root(&cli.root)?,
            cli.authorized_keys_file.as_deref(),
            command,
        ),
        Command::Org { command } => accounts::org(&root(&cli.root)?, command),
        Command::Token { command } => accounts::token(&root(&cli.root)?, command),
        Command::Completions { shell } => {
            let script = docs::completion_script(shell.name())
                .ok_or_else(|| anyhow::anyhow!("no completion script for {}", shell.name()))?;
            print!("{script}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { dir, command } => {
            match dir {
                Some(dir) => {
                    let n = docs::install_man_pages(&dir).map_err(|e| {
                        anyhow::anyhow!("writing man pages into {}: {e}", dir.display())
                    })?;
                    eprintln!("wrote {n} man pages into {}", dir.display());
                }
                None => match docs::man_page(&command) {
                    Some(page) => print!("{page}"),
                    None => anyhow::bail!(
                        "no man page for `hubctl {}` (try `hubctl man` for the list of commands)",
                        command.join(" ")
                    ),
                },
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Hook { name, args } => Ok(crate::git::hooks::run(&name, &args)),
        Command::PackObjectsHook { args } => {
            // Run by git inside a fetch that was already let in.
            let root = Root::resolve(cli.root.as_deref())?;
            let engine = crate::git::Engine::detect(Some(&root.cache_dir()))?;
            // The engine hands the hook its cache bound in the environment.
            let limit = std::env::var(crate::git::pack_cache::SIZE_ENV)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            Ok(crate::git::pack_cache::run_hook(
                &root,
                engine.path(),
                &args,
                limit,
            ))
        }
    }
}

/// The root for `command`: commands that only read need one that exists (a mistyped `--root`
/// must not create an empty hub), commands that write create it. Either way the current user
/// must be able to write it and its database, or the command fails with one line that says
/// whose it is and what to do.
fn open_root(explicit: &Option<std::path::PathBuf>, reads: bool, operator: bool) -> Result<Root> {
    let root = if reads {
        Root::resolve_existing(explicit.as_deref())?
    } else {
        Root::resolve(explicit.as_deref())?
    };
    root.check_access()?;
    crate::store::guard(&root)?;
    if let (true, false, Some(owner)) = (operator, reads, root.foreign_owner_of_superuser()) {
        eprintln!(
            "hubctl: warning: {} belongs to {owner} but hubctl runs as root; what it creates will belong to root, which {owner} (fcgiwrap, sshd) cannot change: run hubctl as {owner} (sudo -u {owner} hubctl …)",
            root.path().display()
        );
    }
    Ok(root)
}

/// Whether `command` is one an operator types (not a server, hook or forced command).
fn run_by_operator(command: &Command) -> bool {
    !matches!(
        command,
        Command::Serve(_)
            | Command::Cgi(_)
            | Command::Shell { .. }
            | Command::Hook { .. }
            | Command::PackObjectsHook { .. }
            | Command::UploadPack(_)
            | Command::ReceivePack(_)
            // What a push schedules in the background.
            | Command::Repo {
                command: crate::cli::RepoCommand::Gc { auto: true, .. }
            }
    )
}

/// Whether `command` only reads the root (and so must not create one).
fn only_reads(command: &Command) -> bool {
    use crate::cli::{
        ConfigCommand as C, KeysCommand as K, LfsCommand as L, OrgCommand as O, RepoCommand as R,
        TokenCommand as T, UserCommand as U,
    };
    match command {
        Command::User { command } => matches!(command, U::List { .. }),
        Command::Org { command } => matches!(command, O::List { .. }),
        Command::Token { command } => matches!(command, T::List { .. }),
        Command::Repo { command } => matches!(command, R::List { .. } | R::Show { .. }),
        Command::Keys { command } => matches!(
            command,
            K::List { .. } | K::Show { .. } | K::AuthorizedKeys { write: None, .. }
        ),
        Command::Config { command } => matches!(command, C::Get { .. } | C::List { .. }),
        Command::Lfs { command } => !matches!(command, L::Prune { yes: true, .. }),
        // A backup of a mistyped root must fail, not copy a fresh empty one.
        Command::Shell { .. } | Command::LfsAuthenticate(_) | Command::Backup { .. } => true,
        _ => false,
    }
}

/// `hubctl init [--force]`: the root (created by resolving it) and its database.
fn init(root: &Root, force: bool) -> Result<ExitCode> {
    let created = crate::store::Store::init_root(root, force)?;
    let db = root.db_path();
    if created {
        println!(
            "initialised {} (database {})",
            root.path().display(),
            db.display()
        );
    } else {
        println!(
            "{} is already initialised (database {})",
            root.path().display(),
            db.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Warn on stderr about names that differ only in case, left from before names were unique
/// regardless of case (the store's migration keeps them rather than merging them). Lookups
/// prefer the exact spelling, so each still works when spelt exactly.
fn warn_case_clashes(store: &crate::store::Store) -> Result<()> {
    for group in store.case_clashes()? {
        eprintln!(
            "hubctl: warning: names that differ only in case: {}; they were created before names were unique regardless of case: keep one (rm the others) so that every spelling means the same thing",
            group.join(", ")
        );
    }
    Ok(())
}

/// Print `value` as pretty JSON on stdout.
fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

// The command line's own enums become the services' types here, at the edge: the domain types
// know nothing of clap.

impl From<crate::cli::LevelArg> for crate::store::repos::Level {
    fn from(a: crate::cli::LevelArg) -> Self {
        use crate::cli::LevelArg as A;
        match a {
            A::Read => Self::Read,
            A::Write => Self::Write,
            A::Admin => Self::Admin,
        }
    }
}

impl From<crate::cli::RoleArg> for crate::store::accounts::Role {
    fn from(a: crate::cli::RoleArg) -> Self {
        use crate::cli::RoleArg as A;
        match a {
            A::Owner => Self::Owner,
            A::Member => Self::Member,
        }
    }
}

impl From<crate::cli::ScopeArg> for crate::store::tokens::Scope {
    fn from(a: crate::cli::ScopeArg) -> Self {
        use crate::cli::ScopeArg as A;
        match a {
            A::Read => Self::Read,
            A::Write => Self::Write,
        }
    }
}

impl From<crate::cli::SettingName> for crate::settings::Key {
    fn from(a: crate::cli::SettingName) -> Self {
        use crate::cli::SettingName as A;
        match a {
            A::AuthorizedKeysFile => Self::AuthorizedKeysFile,
            A::PackCacheSize => Self::PackCacheSize,
            A::MaxEngines => Self::MaxEngines,
            A::QueueTimeout => Self::QueueTimeout,
            A::AutoMaintenance => Self::AutoMaintenance,
            A::IdleTimeout => Self::IdleTimeout,
            A::HeaderTimeout => Self::HeaderTimeout,
            A::MaxConnections => Self::MaxConnections,
            A::MaxConnectionsPerIp => Self::MaxConnectionsPerIp,
            A::LfsCheckPointers => Self::LfsCheckPointers,
            A::PublicUrl => Self::PublicUrl,
            A::LfsSshTransfer => Self::LfsSshTransfer,
            A::Metrics => Self::Metrics,
            A::SshUrl => Self::SshUrl,
            A::LfsStorage => Self::LfsStorage,
            A::LfsS3Endpoint => Self::LfsS3Endpoint,
            A::LfsS3Bucket => Self::LfsS3Bucket,
            A::LfsS3Region => Self::LfsS3Region,
            A::LfsS3Prefix => Self::LfsS3Prefix,
            A::LfsS3PathStyle => Self::LfsS3PathStyle,
            A::LfsS3Proxy => Self::LfsS3Proxy,
            A::LfsS3CredentialsFile => Self::LfsS3CredentialsFile,
            A::AuthorizeCommand => Self::AuthorizeCommand,
            A::AuthorizeTimeout => Self::AuthorizeTimeout,
        }
    }
}
