//! hubctl's hooks in front of the repository's own.
//!
//! receive-pack runs with `core.hooksPath` pointing at a per-repository directory under
//! `<root>/run/hooks/`. There, the hooks where hubctl has work of its own (pre-receive,
//! post-receive) are symlinks to the hubctl binary: git starts hubctl, which recognises the hook
//! name in `argv[0]`, applies its policy, and then runs the repository's own `hooks/<name>` with
//! git's unchanged contract (same arguments, stdin and environment; output to the client's
//! `remote:` lines). Every other hook the repository has is linked directly, so git runs it
//! with no hubctl process in between.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use super::RunOptions;
use crate::access::Principal;
use crate::core::fsutil::is_executable;
use crate::core::names::RepoName;
use crate::core::root::ROOT_ENV;
use crate::core::root::Root;

/// Hooks receive-pack may run.
pub const HOOKS: &[&str] = &[
    "pre-receive",
    "update",
    "post-receive",
    "post-update",
    "reference-transaction",
    "proc-receive",
    "push-to-checkout",
];

/// Hooks where hubctl itself runs first.
pub const OWN_HOOKS: &[&str] = &["pre-receive", "post-receive"];

/// Environment variable: the repository being pushed to (`ns/name`).
pub const ENV_REPO: &str = "HUBCTL_REPO";
/// Environment variable: the authenticated user who pushes, if any.
pub const ENV_USER: &str = "HUBCTL_USER";

/// If `argv0` names one of [`OWN_HOOKS`], the hook hubctl was started as.
pub fn hook_name_from_argv0(argv0: &std::ffi::OsStr) -> Option<&'static str> {
    let file = Path::new(argv0).file_name()?.to_str()?;
    OWN_HOOKS.iter().copied().find(|h| *h == file)
}

/// Make the hooks directory for a push into `name` (at `git_dir`) match what it must hold:
/// hubctl for the hooks in `own` (a subset of [`OWN_HOOKS`]), the repository's own executable
/// hooks for the rest.
///
/// Links are replaced atomically (temp + rename) and only when wrong, so concurrent pushes
/// neither race nor rewrite anything in the common case.
pub fn ensure_shims(
    root: &Root,
    name: &RepoName,
    git_dir: &Path,
    own: &[&str],
) -> io::Result<PathBuf> {
    let dir = root.hooks_dir(name);
    std::fs::create_dir_all(&dir)?;
    let exe = crate::core::util::self_exe()?;
    for hook in HOOKS {
        let link = dir.join(hook);
        let repo_hook = git_dir.join("hooks").join(hook);
        let target = if own.contains(hook) {
            Some(exe.clone())
        } else if is_executable(&repo_hook) {
            Some(repo_hook)
        } else {
            None
        };
        let current = std::fs::read_link(&link).ok();
        match target {
            Some(t) if current.as_ref() != Some(&t) => {
                let tmp = crate::core::fsutil::temp_sibling(&link);
                std::os::unix::fs::symlink(&t, &tmp)?;
                if let Err(e) = std::fs::rename(&tmp, &link) {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            }
            None if current.is_some() => match std::fs::remove_file(&link) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            },
            _ => {}
        }
    }
    Ok(dir)
}

/// Why hooks could not be installed or run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository's settings could not be read.
    #[error("reading the repository's settings: {0}")]
    Store(#[from] crate::store::Error),
    /// A hook link or directory could not be written.
    #[error("installing hubctl's hooks: {0}")]
    Install(#[source] io::Error),
    /// The hook's input could not be read.
    #[error("hubctl: reading the hook's input: {0}")]
    Input(#[source] io::Error),
    /// The repository's own hook could not be run.
    #[error("hubctl: running hook {}: {source}", path.display())]
    Run {
        /// The hook.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// hubctl's policy refused the push or could not check it.
    #[error(transparent)]
    Policy(#[from] super::policy::Error),
}

/// Add what a push into a hosted repository needs: hubctl's hooks and the facts they read.
///
/// Fails if the hooks cannot be installed: a push must not bypass hubctl's policy.
pub fn configure(
    root: &Root,
    name: &RepoName,
    git_dir: &Path,
    principal: &Principal,
    opts: &mut RunOptions,
) -> Result<(), Error> {
    // hubctl runs only where it has work: pre-receive when the repository has a size limit,
    // enforces LFS locks, or LFS pointers are checked (the default); post-receive when
    // maintenance follows pushes. Otherwise git runs the repository's own hooks directly,
    // without a hubctl process in between.
    let (policy, facts, maintain) = crate::store::with_store(root, |s| {
        let repo = s.repo_settings(name)?.unwrap_or_default();
        let settings = crate::settings::Settings::load(s)?;
        let policy =
            repo.max_blob_size.is_some() || repo.lfs_enforce_locks || settings.lfs_check_pointers;
        let facts = super::policy::Facts::for_hook(&repo, &settings);
        Ok::<_, crate::store::Error>((policy, facts, settings.auto_maintenance))
    })?;
    let mut own = Vec::new();
    if policy {
        own.push("pre-receive");
        // What the hook would otherwise read from the database again. Always set, empty when
        // the hook must read the database, so that no value inherited from hubctl's own
        // environment can stand in for the settings.
        let value = facts.map(|f| f.encode()).unwrap_or_default();
        opts.env
            .push((super::policy::FACTS_ENV.into(), value.into()));
    }
    if maintain {
        own.push("post-receive");
        // hubctl's maintenance instead of git's own after the push (unless configured).
        opts.defaults.push(super::defaults::NO_GIT_AUTO_GC);
    }
    let dir = ensure_shims(root, name, git_dir, &own).map_err(Error::Install)?;
    opts.config
        .push(format!("core.hooksPath={}", dir.display()));
    opts.env
        .push((ROOT_ENV.into(), root.path().as_os_str().to_owned()));
    opts.env.push((ENV_REPO.into(), name.to_string().into()));
    if let Some(user) = principal.user_name() {
        opts.env.push((ENV_USER.into(), OsString::from(user)));
    }
    Ok(())
}

/// Run hook `name` as git invoked it: hubctl's policy first, then the repository's own hook.
pub fn run(name: &str, args: &[OsString]) -> ExitCode {
    let git_dir = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("hubctl: hook {name}: cannot read the repository directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match name {
        "pre-receive" => with_stdin(|input| {
            check_policy(&git_dir, input)?;
            run_repo_hook(&git_dir, name, args, Some(input))
        }),
        "post-receive" => with_stdin(|input| {
            schedule_maintenance(&git_dir);
            run_repo_hook(&git_dir, name, args, Some(input))
        }),
        _ => run_repo_hook(&git_dir, name, args, None),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            let message = e.to_string();
            let mut err = io::stderr().lock();
            for line in message.lines() {
                let _ = writeln!(err, "{line}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The facts hubctl gave the hook in its environment: the root and the hosted repository.
/// `None` when they are missing (a push that did not come through hubctl).
fn hosted_from_env() -> Option<(Root, RepoName)> {
    let root = std::env::var_os(ROOT_ENV)?;
    let repo = std::env::var(ENV_REPO).ok()?;
    Some((
        Root::at(Path::new(&root)).ok()?,
        RepoName::parse(&repo).ok()?,
    ))
}

/// pre-receive: hubctl's policy on the quarantined objects and the ref updates in `input`.
fn check_policy(git_dir: &Path, input: &[u8]) -> Result<(), Error> {
    let (Some(root), Some(repo)) = (std::env::var_os(ROOT_ENV), std::env::var(ENV_REPO).ok())
    else {
        return Ok(());
    };
    let fail = |e: &dyn std::fmt::Display| {
        super::policy::Error::Refused(format!("hubctl: cannot check this push: {e}"))
    };
    let root = Root::at(Path::new(&root)).map_err(|e| fail(&e))?;
    let name = RepoName::parse(&repo).map_err(|e| fail(&e))?;
    let quarantine = std::env::var_os("GIT_QUARANTINE_PATH").map(PathBuf::from);
    let user = std::env::var(ENV_USER).ok().filter(|u| !u.is_empty());
    let updates = super::policy::parse_updates(input);
    let facts = std::env::var(super::policy::FACTS_ENV)
        .ok()
        .and_then(|v| super::policy::Facts::decode(&v));
    super::policy::pre_receive(
        super::policy::Push {
            root: &root,
            name: &name,
            git_dir,
            quarantine: quarantine.as_deref(),
            updates: &updates,
            user: user.as_deref(),
        },
        facts,
    )?;
    Ok(())
}

/// After a push: queue maintenance of the repository when it is out of shape. Problems are
/// logged and never fail the push (its refs are already updated).
///
/// This hook exists only when `auto-maintenance` was on as the push started
/// ([`configure`] installs it then), so the setting is not read again here. A repository still
/// in shape (most small pushes: see [`super::maintenance::reason_to_run`]) schedules nothing:
/// the detached `repo gc --auto` would find the same and stop, after a process start and a
/// database open of its own.
fn schedule_maintenance(git_dir: &Path) {
    let Some((root, name)) = hosted_from_env() else {
        return;
    };
    let in_shape = super::maintenance::stats(git_dir)
        .is_ok_and(|s| super::maintenance::reason_to_run(&s).is_none());
    if in_shape {
        return;
    }
    if let Err(e) = super::maintenance::schedule(&root, &name) {
        eprintln!("hubctl: could not schedule maintenance: {e}");
    }
}

fn with_stdin(f: impl FnOnce(&[u8]) -> Result<ExitCode, Error>) -> Result<ExitCode, Error> {
    let mut input = Vec::new();
    io::stdin().read_to_end(&mut input).map_err(Error::Input)?;
    f(&input)
}

/// Run `<git_dir>/hooks/<name>` if it exists and is executable, exactly as git would have.
fn run_repo_hook(
    git_dir: &Path,
    name: &str,
    args: &[OsString],
    stdin: Option<&[u8]>,
) -> Result<ExitCode, Error> {
    let hook = git_dir.join("hooks").join(name);
    if !is_executable(&hook) {
        return Ok(ExitCode::SUCCESS);
    }
    let mut cmd = Command::new(&hook);
    cmd.args(args).arg0(&hook);
    match stdin {
        None => {
            // Nothing of ours left to do: become the hook, so signals and stdin are git's.
            let source = cmd.exec();
            Err(Error::Run { path: hook, source })
        }
        Some(input) => {
            let mut child = cmd
                .stdin(Stdio::piped())
                .spawn()
                .map_err(|source| Error::Run {
                    path: hook.clone(),
                    source,
                })?;
            if let Some(mut w) = child.stdin.take() {
                // A hook may exit without reading its input; that is its right.
                let _ = w.write_all(input);
            }
            let status = child.wait().map_err(|source| Error::Run {
                path: hook.clone(),
                source,
            })?;
            Ok(crate::core::util::exit_code(status))
        }
    }
}
