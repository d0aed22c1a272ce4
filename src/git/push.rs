//! One preparation of a push for every transport: who pushes (the committer identity of the
//! server's ref updates and `REMOTE_USER`), git's input size limit, and hubctl's hooks with the
//! facts they read. HTTP, CGI, SSH and stdio all call [`prepare`], so a push cannot reach a
//! hosted repository by one transport without the policy another transport applies.

use std::path::Path;

use super::{RunOptions, hooks};
use crate::access::Principal;
use crate::core::names::RepoName;
use crate::core::root::Root;

/// Where a push goes.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The bare repository directory.
    pub git_dir: &'a Path,
    /// Its root and hosted name, when it is a hosted repository (hubctl's hooks apply).
    pub hosted: Option<(&'a Root, &'a RepoName)>,
}

/// Who pushes, and from where.
#[derive(Debug, Clone, Copy)]
pub struct Pusher<'a> {
    /// The authenticated principal.
    pub principal: &'a Principal,
    /// The client's address, for git-http-backend's `user@http.<address>` committer email;
    /// `None` for a local operator, whose own git identity stands.
    pub address: Option<&'a str>,
}

/// Fill `opts` for a push into `target` by `pusher`, with git's `receive.maxInputSize` set to
/// `max_input_size` when given.
///
/// Fails if hubctl's hooks cannot be installed: a push must not bypass hubctl's policy.
pub fn prepare(
    target: Target<'_>,
    pusher: Pusher<'_>,
    max_input_size: Option<u64>,
    opts: &mut RunOptions,
) -> Result<(), hooks::Error> {
    if let Some(address) = pusher.address {
        opts.set_pusher(pusher.principal, address);
    }
    if let Some(max) = max_input_size {
        opts.config.push(format!("receive.maxInputSize={max}"));
    }
    if let Some((root, name)) = target.hosted {
        hooks::configure(root, name, target.git_dir, pusher.principal, opts)?;
    }
    Ok(())
}
