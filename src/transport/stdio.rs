//! git's pack protocol over stdin/stdout (`hubctl upload-pack` / `hubctl receive-pack`, and
//! `git clone --upload-pack='hubctl upload-pack'`): a drop-in for `git-upload-pack` and
//! `git-receive-pack`, with hubctl's push policy for hosted repositories.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::access::Principal;
use crate::core::names::{NameError, RepoName};
use crate::core::root::Root;
use crate::git::{self, Engine, Mode, RunOptions, Service};
use crate::repo;

/// Why a stdio command cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A directory that is not a repository.
    #[error("{0} is not a git repository")]
    NotARepository(String),
    /// Neither a directory nor `NS/NAME`.
    #[error("{arg} is neither a repository directory nor NS/NAME: {source}")]
    Neither {
        /// The argument.
        arg: String,
        /// Why it is no name.
        source: NameError,
    },
    /// A hosted name with no repository behind it.
    #[error("repository {name} does not exist under {}", root.display())]
    Missing {
        /// The name.
        name: RepoName,
        /// The root searched.
        root: PathBuf,
    },
    /// A repository directory whose path cannot be resolved.
    #[error("resolving {}: {source}", path.display())]
    Resolve {
        /// The directory.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The root cannot be used.
    #[error(transparent)]
    Root(#[from] crate::core::root::Error),
    /// git cannot be run.
    #[error(transparent)]
    Git(#[from] git::Error),
    /// hubctl's hooks cannot be installed.
    #[error(transparent)]
    Hooks(#[from] git::hooks::Error),
}

/// The repository a stdio command serves: a directory, or a hosted name.
#[derive(Debug, Clone)]
pub struct Target {
    /// The bare repository directory.
    pub git_dir: PathBuf,
    /// Root and name when the repository is hosted (hubctl's policy applies).
    pub hosted: Option<(Root, RepoName)>,
}

/// What the client asked for, as git-upload-pack's and git-receive-pack's options say it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `--stateless-rpc`.
    pub stateless_rpc: bool,
    /// `--advertise-refs` (or `--http-backend-info-refs`).
    pub advertise_refs: bool,
    /// The client's `GIT_PROTOCOL`, unvalidated.
    pub git_protocol: Option<String>,
    /// upload-pack's `--timeout=N`.
    pub timeout: Option<u32>,
}

/// `DIR` if it names a repository by git's `enter_repo()` rules (`DIR`, `DIR.git`,
/// `DIR/.git`, a gitfile, a work tree; only `DIR` itself when `strict`, git's `--strict`);
/// otherwise `NS/NAME` under the root.
pub fn resolve(explicit_root: Option<&Path>, arg: &str, strict: bool) -> Result<Target, Error> {
    let as_dir = Path::new(arg);
    let home = crate::core::env::get().home.as_deref();
    if let Some(candidate) = repo::enter_repo(as_dir, strict, home) {
        let git_dir = candidate.canonicalize().map_err(|source| Error::Resolve {
            path: candidate.clone(),
            source,
        })?;
        let hosted = hosted_by_path(&git_dir);
        return Ok(Target { git_dir, hosted });
    }
    let name = match RepoName::parse(arg) {
        Ok(n) => n,
        Err(_) if as_dir.exists() => return Err(Error::NotARepository(arg.to_string())),
        Err(source) => {
            return Err(Error::Neither {
                arg: arg.to_string(),
                source,
            });
        }
    };
    // A root that does not exist holds no repository; do not create one on the way.
    let root = Root::resolve_existing(explicit_root)?;
    // Spelt differently from the stored name (`Alice/Repo` for `alice/repo`): the stored one.
    // A database that cannot be read leaves the name as given.
    let name = if repo::is_bare_repo(&name.path_in(&root)) {
        name
    } else {
        crate::store::with_store(&root, |s| s.canonical_repo_name(&name)).unwrap_or(name)
    };
    let git_dir = repo::contained_path(&root, &name).map_err(|_| Error::Missing {
        name: name.clone(),
        root: root.path().to_path_buf(),
    })?;
    if !repo::is_bare_repo(&git_dir) {
        return Err(Error::Missing {
            name,
            root: root.path().to_path_buf(),
        });
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

fn mode(request: &Request) -> Mode {
    match (request.stateless_rpc, request.advertise_refs) {
        (_, true) => Mode::AdvertiseRefs,
        (true, false) => Mode::StatelessRpc,
        (false, false) => Mode::Duplex,
    }
}

/// Serve `service` on `target` over this process's stdin and stdout; returns git's status.
pub fn serve(service: Service, target: &Target, request: &Request) -> Result<ExitCode, Error> {
    let engine = match &target.hosted {
        Some((root, _)) => Engine::for_root(root)?,
        None => Engine::detect(None)?,
    };
    let mut opts = RunOptions {
        protocol: request
            .git_protocol
            .as_deref()
            .and_then(git::sanitize_protocol),
        // A directory given by path is the caller's business, as with git-upload-pack itself.
        contained: target.hosted.is_some(),
        ..RunOptions::default()
    };
    if let (Some((root, name)), false) = (&target.hosted, request.advertise_refs) {
        // A database that cannot be read costs the message, never the request.
        match git::messages::Notice::for_repo(root, name, service) {
            Ok(notice) => opts.notice = notice,
            Err(e) => eprintln!("hubctl: reading the messages of {name}: {e}"),
        }
    }
    match service {
        Service::UploadPack => {
            if let Some(t) = request.timeout {
                opts.args.push(format!("--timeout={t}"));
            }
        }
        Service::ReceivePack => git::push::prepare(
            git::push::Target {
                git_dir: &target.git_dir,
                hosted: target.hosted.as_ref().map(|(root, name)| (root, name)),
            },
            // The local operator: their own git identity stands.
            git::push::Pusher {
                principal: &Principal::Local,
                address: None,
                committer: git::push::Committer::default(),
            },
            None,
            &mut opts,
        )?,
    }
    let status = engine.run_inherited(service, mode(request), &target.git_dir, &opts)?;
    Ok(crate::core::util::exit_code(status))
}
