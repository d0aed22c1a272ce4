//! The SSH forced command's session (`hubctl shell --key-id N` in authorized_keys): who the
//! key belongs to, what `SSH_ORIGINAL_COMMAND` asks for, whether access allows it, and then git
//! over the SSH channel's stdin and stdout, or Git LFS (`git-lfs-authenticate`,
//! `git-lfs-transfer`). Every refusal is one line on stderr and exit status 1; nothing is ever
//! handed to a shell.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use super::command::{self, LfsOperation, Request};
use super::connection::Siblings;
use super::lfs_transfer::End;
use super::{lfs_authenticate, lfs_transfer};
use crate::access::authorize::{Authorize, Gate, Transport, Want};
use crate::access::{self, Caller, Principal};
use crate::core::root::Root;
use crate::git::{self, Engine, Mode, RunOptions, Service};
use crate::lfs::batch::{Limits, Operation};
use crate::store::Store;
use crate::store::tokens::Scope;

/// `SSH_ORIGINAL_COMMAND` as the edge found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Original {
    /// Unset or blank: an interactive login.
    Missing,
    /// Set, but not UTF-8.
    NotUnicode,
    /// The command text.
    Text(String),
}

/// One SSH session, with everything the edge read from the environment.
#[derive(Debug, Clone)]
pub struct Session<'a> {
    /// The hubctl root.
    pub root: &'a Root,
    /// The key sshd authenticated (`--key-id`).
    pub key_id: i64,
    /// What the client asked for.
    pub original: Original,
    /// The client's `GIT_PROTOCOL` (passed through sshd's `AcceptEnv`), unvalidated.
    pub git_protocol: Option<String>,
    /// The client's address (first word of `SSH_CONNECTION`), for the pusher's identity.
    pub client_address: String,
    /// The whole `SSH_CONNECTION` (client and server address and port): the sessions a
    /// client multiplexes over one connection share it (see [`super::connection`]).
    pub connection: String,
    /// Git LFS settings, read by the edge.
    pub lfs: LfsOptions,
    /// Decides every access of the session (hubctl's table, or with `authorize-command`).
    pub authorize: &'a dyn Authorize,
}

/// What the SSH session needs of the global settings for Git LFS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LfsOptions {
    /// `public-url`: where `git-lfs-authenticate` sends clients for the HTTP API.
    pub public_url: Option<String>,
    /// `lfs-ssh-transfer`: serve `git-lfs-transfer` (off: refuse it, so that clients fall
    /// back to `git-lfs-authenticate`).
    pub transfer: bool,
    /// `idle-timeout`: a `git-lfs-transfer` session silent this long ends.
    pub idle_timeout: Duration,
}

/// Failures that are not refusals: the session cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be used.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// git could not be run.
    #[error(transparent)]
    Git(#[from] git::Error),
    /// hubctl's hooks could not be installed for a push.
    #[error(transparent)]
    Hooks(#[from] git::hooks::Error),
    /// The answer could not be written to the client.
    #[error("writing to the client: {0}")]
    Output(#[from] std::io::Error),
}

fn refuse(message: &str) -> Result<ExitCode, Error> {
    eprintln!("hubctl: {message}");
    Ok(ExitCode::FAILURE)
}

/// The greeting for an interactive login.
pub fn greeting(user: &str) -> String {
    format!("Hi {user}! You've authenticated, but hubctl does not provide shell access.")
}

/// Run the session with the database the edge opened; returns git's exit status, or 1 after
/// a refusal line.
pub fn run(session: Session<'_>, mut store: Store) -> Result<ExitCode, Error> {
    let root = session.root;
    let gate = Gate::new(
        session.authorize,
        Transport::Ssh,
        Some(session.client_address.as_str()).filter(|a| !a.is_empty()),
    );
    let Some(user) = store.use_key(session.key_id)? else {
        return refuse("this SSH key is no longer registered");
    };
    let text = match session.original {
        Original::Text(t) if !t.trim().is_empty() => t,
        Original::Text(_) | Original::Missing => {
            eprintln!("{}", greeting(&user.name));
            return Ok(ExitCode::FAILURE);
        }
        Original::NotUnicode => return refuse("command refused: not UTF-8"),
    };
    let (service, path) = match command::parse_command(&text) {
        Ok(Request::Git { service, path }) => (service, path),
        Ok(Request::LfsAuthenticate { path, operation }) => {
            let principal = Principal::User(Caller {
                user,
                scope: Scope::Write,
            });
            return lfs_authenticate(
                &gate,
                root,
                session.lfs.public_url.as_deref(),
                &path,
                &principal,
                operation.into(),
            );
        }
        Ok(Request::LfsTransfer { path, operation }) => {
            if !session.lfs.transfer {
                // git-lfs 3.3.0 then falls back to git-lfs-authenticate (LFS.md §1.3).
                return refuse(
                    "git-lfs-transfer is switched off on this server (lfs-ssh-transfer off); use git-lfs-authenticate",
                );
            }
            let principal = Principal::User(Caller {
                user,
                scope: Scope::Write,
            });
            return lfs_transfer(
                &store,
                &gate,
                root,
                &path,
                &principal,
                operation.into(),
                session.lfs.idle_timeout,
                &session.connection,
            );
        }
        Err(e) => return refuse(&e.to_string()),
    };
    let name = match access::parse_hosted_name(&path) {
        Ok(n) => n,
        Err(d) => return refuse(&d.message()),
    };
    let principal = Principal::User(Caller {
        user,
        scope: Scope::Write,
    });
    let want = match service {
        Service::UploadPack => Want::Read,
        Service::ReceivePack => Want::Write,
    };
    let located = match gate.hosted(root, &name, &principal, want) {
        Ok(l) => l,
        Err(d) => return refuse(&d.message()),
    };
    // The stored spelling, which the push policy and hooks look the repository up by.
    let name = located.name.clone().unwrap_or(name);
    let settings = store.repo_settings(&name)?.unwrap_or_default();
    drop(store);
    let engine = match Engine::for_root(root) {
        Ok(e) => e,
        Err(e) => return refuse(&e.to_string()),
    };
    let mut opts = RunOptions {
        protocol: session
            .git_protocol
            .as_deref()
            .and_then(git::sanitize_protocol),
        // `access` located the repository inside the root.
        contained: true,
        notice: git::messages::Notice::for_service(&settings, service),
        ..RunOptions::default()
    };
    if service == Service::ReceivePack {
        git::push::prepare(
            git::push::Target {
                git_dir: &located.git_dir,
                hosted: Some((root, &name)),
            },
            git::push::Pusher {
                principal: &principal,
                address: Some(&session.client_address),
                committer: git::push::Committer::default(),
            },
            None,
            &mut opts,
        )?;
    }
    match engine.run_inherited(service, Mode::Duplex, &located.git_dir, &opts) {
        Ok(status) => Ok(crate::core::util::exit_code(status)),
        Err(git::Error::Busy(_)) => refuse("the server is busy; try again in a minute"),
        Err(e) => Err(e.into()),
    }
}

/// `git-lfs-authenticate`: the LFS API's URL and a token as JSON on stdout, or a refusal.
fn lfs_authenticate(
    gate: &Gate<'_>,
    root: &Root,
    public_url: Option<&str>,
    path: &str,
    principal: &Principal,
    operation: Operation,
) -> Result<ExitCode, Error> {
    let name = match lfs_authenticate::parse_path(path) {
        Ok(n) => n,
        Err(d) => return refuse(&d.message()),
    };
    let answer = lfs_authenticate::authenticate(
        gate,
        root,
        &name,
        principal,
        operation,
        public_url,
        SystemTime::now(),
    );
    match answer {
        Ok(a) => {
            let mut out = std::io::stdout().lock();
            serde_json::to_writer(&mut out, &a).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refuse(&e.to_string()),
    }
}

impl From<LfsOperation> for Operation {
    fn from(op: LfsOperation) -> Operation {
        match op {
            LfsOperation::Upload => Operation::Upload,
            LfsOperation::Download => Operation::Download,
        }
    }
}

/// `git-lfs-transfer`: authorise the session's operation once, then serve the protocol on
/// stdin and stdout.
// The session's parts are passed one by one because `run` has already moved pieces of it.
#[allow(clippy::too_many_arguments)]
fn lfs_transfer(
    store: &Store,
    gate: &Gate<'_>,
    root: &Root,
    path: &str,
    principal: &Principal,
    operation: Operation,
    idle_timeout: Duration,
    connection: &str,
) -> Result<ExitCode, Error> {
    let name = match lfs_authenticate::parse_path(path) {
        Ok(n) => n,
        Err(d) => return refuse(&d.message()),
    };
    let want = match operation {
        Operation::Download => Want::LfsRead,
        Operation::Upload => Want::LfsWrite,
    };
    let located = match gate.hosted(root, &name, principal, want) {
        Ok(l) => l,
        Err(d) => return refuse(&d.message()),
    };
    // The stored spelling: limits, locks and quotas belong to the stored row.
    let name = located.name.clone().unwrap_or(name);
    let Principal::User(caller) = principal else {
        return refuse("git-lfs-transfer needs a user");
    };
    let row = store.repo_row(&name)?;
    let storage = match crate::lfs::storage::open_in(store, &located.git_dir, Some(&name)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hubctl: LFS storage of {name}: {e}");
            return refuse(&format!("git-lfs-transfer: LFS storage: {e}"));
        }
    };
    let transfer = lfs_transfer::Transfer {
        root,
        name: &name,
        git_dir: &located.git_dir,
        principal,
        user_id: caller.user.id,
        operation,
        gate,
        limits: row
            .as_ref()
            .map(|r| Limits::for_repo(&r.settings))
            .unwrap_or_default(),
        repo_id: row.map(|r| r.id),
        storage: storage.as_ref(),
    };
    let input = lfs_transfer::IdleFd::stdin(idle_timeout)?;
    let output = lfs_transfer::IdleFd::stdout(idle_timeout)?;
    // sshd's pipes hold 64 KiB by default: an object then crosses them in pieces of 4-64 KiB,
    // each a wake-up and a poll on both sides. At 1 MiB both sides move far larger pieces
    // (fewer system calls and context switches per GiB for sshd and for us).
    git::widen_pipe(&input);
    git::widen_pipe(&output);
    let input = std::io::BufReader::with_capacity(lfs_transfer::INPUT_BUFFER, input);
    let output = std::io::BufWriter::with_capacity(lfs_transfer::MAX_PKT_LEN * 2, output);
    // Scoped to what this session serves: every session of one git-lfs run has the same
    // repository and operation.
    let scope = format!("{name}\0{operation:?}");
    let siblings = Siblings::new(&root.run_dir(), connection, &scope);
    let mut pause = lfs_transfer::StdinPause::new(idle_timeout, siblings.clone());
    match lfs_transfer::serve(&transfer, store, input, output, &mut pause) {
        Ok(End::Quit) => {
            // Best effort: without the mark the other sessions end on their idle timeout.
            if let Some(s) = siblings {
                let _ = s.announce_quit();
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => refuse(&format!("git-lfs-transfer: {e}")),
    }
}
