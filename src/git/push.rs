//! One preparation of a push for every transport: who pushes (the committer identity of the
//! server's ref updates and `REMOTE_USER`), git's input size limit, and hubctl's hooks with the
//! facts they read. HTTP, CGI, SSH and stdio all call [`prepare`], so a push cannot reach a
//! hosted repository by one transport without the policy another transport applies.

use std::ffi::OsString;
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
    /// `GIT_COMMITTER_NAME` and `GIT_COMMITTER_EMAIL` as the web server set them: each wins
    /// over the identity derived from the pusher, as with git http-backend.
    pub committer: Committer<'a>,
}

/// A committer identity fixed by the operator (a web server's `SetEnv`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Committer<'a> {
    /// `GIT_COMMITTER_NAME`, when set.
    pub name: Option<&'a str>,
    /// `GIT_COMMITTER_EMAIL`, when set.
    pub email: Option<&'a str>,
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
        // git-http-backend's committer identity for the server's own ref updates
        // (`user@http.<address>`) where the web server did not set them, and `REMOTE_USER`
        // for the hooks.
        let name = pusher.principal.user_name().unwrap_or("anonymous");
        let email = format!("{name}@http.{address}");
        let committer = pusher.committer;
        opts.env.push((
            "GIT_COMMITTER_NAME".into(),
            OsString::from(committer.name.unwrap_or(name)),
        ));
        opts.env.push((
            "GIT_COMMITTER_EMAIL".into(),
            OsString::from(committer.email.unwrap_or(&email)),
        ));
        if let Some(u) = pusher.principal.user_name() {
            opts.env.push(("REMOTE_USER".into(), OsString::from(u)));
        }
    }
    if let Some(max) = max_input_size {
        opts.config.push(format!("receive.maxInputSize={max}"));
    }
    if let Some((root, name)) = target.hosted {
        hooks::configure(root, name, target.git_dir, pusher.principal, opts)?;
    }
    Ok(())
}
