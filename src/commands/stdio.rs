//! `hubctl upload-pack` and `hubctl receive-pack`: git's engine over stdin/stdout.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::access::Principal;
use crate::cli::{ReceivePackArgs, UploadPackArgs};
use crate::config::Root;
use crate::git::{self, Engine, Mode, RunOptions, Service};
use crate::repo::{self, RepoName};

/// The repository a stdio command serves: a directory, or a hosted name.
struct Target {
    git_dir: PathBuf,
    hosted: Option<(Root, RepoName)>,
}

/// `DIR` if it is a repository directory; otherwise `NS/NAME` under the root.
fn resolve(explicit_root: Option<&Path>, arg: &str) -> Result<Target> {
    let as_dir = Path::new(arg);
    for candidate in [as_dir.to_path_buf(), as_dir.join(".git")] {
        if repo::is_bare_repo(&candidate) {
            let git_dir = candidate
                .canonicalize()
                .with_context(|| format!("resolving {}", candidate.display()))?;
            let hosted = hosted_by_path(&git_dir);
            return Ok(Target { git_dir, hosted });
        }
    }
    let name = match RepoName::parse(arg) {
        Ok(n) => n,
        Err(_) if as_dir.exists() => bail!("{arg} is not a git repository"),
        Err(e) => bail!("{arg} is neither a repository directory nor NS/NAME: {e}"),
    };
    let root = Root::resolve(explicit_root)?;
    let git_dir = name.path_in(&root);
    if !repo::is_bare_repo(&git_dir) {
        bail!(
            "repository {name} does not exist under {}",
            root.path().display()
        );
    }
    Ok(Target {
        git_dir,
        hosted: Some((root, name)),
    })
}

/// A directory that is a hosted repository (`<root>/repos/NS/NAME.git` beside the root's
/// database) is that repository: its path must not be a way around hubctl's push policy.
fn hosted_by_path(git_dir: &Path) -> Option<(Root, RepoName)> {
    let ns_dir = git_dir.parent()?;
    let repos = ns_dir.parent()?;
    let root_dir = repos.parent()?;
    if repos.file_name()? != "repos" {
        return None;
    }
    let root = Root::at(root_dir).ok()?;
    if !root.db_path().is_file() {
        return None;
    }
    let ns = ns_dir.file_name()?.to_str()?;
    let name = git_dir.file_name()?.to_str()?.strip_suffix(".git")?;
    let name = RepoName::parse(&format!("{ns}/{name}")).ok()?;
    (name.path_in(&root) == git_dir).then_some((root, name))
}

fn mode(stateless: bool, advertise: bool) -> Mode {
    match (stateless, advertise) {
        (_, true) => Mode::AdvertiseRefs,
        (true, false) => Mode::StatelessRpc,
        (false, false) => Mode::Duplex,
    }
}

fn run(
    engine: &Engine,
    service: Service,
    mode: Mode,
    target: &Target,
    mut opts: RunOptions,
) -> Result<ExitCode> {
    opts.protocol = std::env::var("GIT_PROTOCOL")
        .ok()
        .and_then(|p| git::sanitize_protocol(&p));
    let status = engine.run_inherited(service, mode, &target.git_dir, &opts)?;
    Ok(exit_code(status))
}

/// git's exit status as ours (a signal becomes a plain failure).
pub(crate) fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
        None => ExitCode::FAILURE,
    }
}

fn engine_for(target: &Target) -> Result<Engine> {
    Ok(match &target.hosted {
        Some((root, _)) => Engine::for_root(root)?,
        None => Engine::detect(None)?,
    })
}

pub(super) fn upload_pack(explicit_root: Option<&Path>, args: UploadPackArgs) -> Result<ExitCode> {
    let target = resolve(explicit_root, &args.repo)?;
    let engine = engine_for(&target)?;
    let opts = RunOptions {
        args: args
            .timeout
            .map(|t| vec![format!("--timeout={t}")])
            .unwrap_or_default(),
        ..RunOptions::default()
    };
    run(
        &engine,
        Service::UploadPack,
        mode(args.stateless_rpc, args.advertise_refs),
        &target,
        opts,
    )
}

pub(super) fn receive_pack(
    explicit_root: Option<&Path>,
    args: ReceivePackArgs,
) -> Result<ExitCode> {
    let target = resolve(explicit_root, &args.repo)?;
    let engine = engine_for(&target)?;
    let mut opts = RunOptions::default();
    if let Some((root, name)) = &target.hosted {
        git::hooks::configure(root, name, &target.git_dir, &Principal::Local, &mut opts)
            .context("installing hubctl's hooks")?;
    }
    run(
        &engine,
        Service::ReceivePack,
        mode(args.stateless_rpc, args.advertise_refs),
        &target,
        opts,
    )
}
