//! hubctl's hooks in front of the repository's own (DESIGN.md section 5).
//!
//! receive-pack runs with `core.hooksPath=<root>/hooks`, a directory of symlinks to the hubctl
//! binary named after each hook git may run during a push. When git runs one, hubctl starts in
//! hook mode (it recognises the hook name in `argv[0]`), applies its own policy, and then runs
//! the repository's own `hooks/<name>` with git's unchanged contract: same arguments, same
//! stdin, same environment, output to the same place (the client's `remote:` lines).

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use super::RunOptions;
use crate::access::Principal;
use crate::config::Root;
use crate::repo::RepoName;

/// Hooks receive-pack may run; each gets a shim so the repository's own copy keeps working.
pub const HOOKS: &[&str] = &[
    "pre-receive",
    "update",
    "post-receive",
    "post-update",
    "reference-transaction",
    "proc-receive",
    "push-to-checkout",
];

/// Environment variable: the hubctl root, for hooks.
pub const ENV_ROOT: &str = "HUBCTL_ROOT";
/// Environment variable: the repository being pushed to (`ns/name`).
pub const ENV_REPO: &str = "HUBCTL_REPO";
/// Environment variable: the authenticated user who pushes, if any.
pub const ENV_USER: &str = "HUBCTL_USER";

/// If `argv0` names one of [`HOOKS`], the hook hubctl was started as.
pub fn hook_name_from_argv0(argv0: &std::ffi::OsStr) -> Option<&'static str> {
    let file = Path::new(argv0).file_name()?.to_str()?;
    HOOKS.iter().copied().find(|h| *h == file)
}

/// Make sure `<root>/hooks` holds a shim for every hook, pointing at this binary.
///
/// Each shim is a symlink replaced atomically (temp + rename), and only when it does not
/// already point at the running binary, so concurrent pushes neither race nor rewrite.
pub fn ensure_shims(root: &Root) -> io::Result<PathBuf> {
    let dir = root.hooks_dir();
    std::fs::create_dir_all(&dir)?;
    let exe = std::env::current_exe()?;
    for hook in HOOKS {
        let shim = dir.join(hook);
        if std::fs::read_link(&shim).is_ok_and(|target| target == exe) {
            continue;
        }
        let tmp = crate::fsutil::temp_sibling(&shim);
        std::os::unix::fs::symlink(&exe, &tmp)?;
        if let Err(e) = std::fs::rename(&tmp, &shim) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    }
    Ok(dir)
}

/// Add what a push into a hosted repository needs: hubctl's hooks and the facts they read.
///
/// Fails if the shims cannot be installed: a push must not bypass hubctl's policy.
pub fn configure(
    root: &Root,
    name: &RepoName,
    principal: &Principal,
    opts: &mut RunOptions,
) -> io::Result<()> {
    let dir = ensure_shims(root)?;
    opts.config
        .push(format!("core.hooksPath={}", dir.display()));
    opts.env
        .push((ENV_ROOT.into(), root.path().as_os_str().to_owned()));
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
            super::policy::pre_receive(&git_dir, input)?;
            run_repo_hook(&git_dir, name, args, Some(input))
        }),
        _ => run_repo_hook(&git_dir, name, args, None),
    };
    match outcome {
        Ok(code) => code,
        Err(message) => {
            let mut err = io::stderr().lock();
            for line in message.lines() {
                let _ = writeln!(err, "{line}");
            }
            ExitCode::FAILURE
        }
    }
}

fn with_stdin(f: impl FnOnce(&[u8]) -> Result<ExitCode, String>) -> Result<ExitCode, String> {
    let mut input = Vec::new();
    io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| format!("hubctl: reading the hook's input: {e}"))?;
    f(&input)
}

/// Run `<git_dir>/hooks/<name>` if it exists and is executable, exactly as git would have.
fn run_repo_hook(
    git_dir: &Path,
    name: &str,
    args: &[OsString],
    stdin: Option<&[u8]>,
) -> Result<ExitCode, String> {
    use std::os::unix::fs::PermissionsExt;
    let hook = git_dir.join("hooks").join(name);
    let executable =
        std::fs::metadata(&hook).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if !executable {
        return Ok(ExitCode::SUCCESS);
    }
    let mut cmd = Command::new(&hook);
    cmd.args(args).arg0(&hook);
    match stdin {
        None => {
            // Nothing of ours left to do: become the hook, so signals and stdin are git's.
            let err = cmd.exec();
            Err(format!("hubctl: running hook {}: {err}", hook.display()))
        }
        Some(input) => {
            let mut child = cmd
                .stdin(Stdio::piped())
                .spawn()
                .map_err(|e| format!("hubctl: running hook {}: {e}", hook.display()))?;
            if let Some(mut w) = child.stdin.take() {
                // A hook may exit without reading its input; that is its right.
                let _ = w.write_all(input);
            }
            let status = child
                .wait()
                .map_err(|e| format!("hubctl: waiting for hook {}: {e}", hook.display()))?;
            Ok(match status.code() {
                Some(0) => ExitCode::SUCCESS,
                Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
                None => ExitCode::FAILURE,
            })
        }
    }
}
