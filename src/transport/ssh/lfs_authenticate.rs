//! `git-lfs-authenticate <path> upload|download` (LFS.md §3.3): HTTP credentials for the LFS
//! API of one repository, for an SSH user whose key sshd has checked.
//!
//! The answer sends the client to `<public-url>/NS/NAME.git/info/lfs` with an
//! `Authorization: RemoteAuth <api token>` header: an HMAC token bound to the repository, the
//! user and the operation (`download` reads, `upload` writes), valid for an hour
//! ([`crate::lfs::token`]). The HTTP adapter accepts it on the LFS API routes as that user;
//! object transfers keep their own per-object action tokens (the client never sends this
//! header to them, LFS.md §10 T15). `hubctl lfs-authenticate` runs the same code for the local
//! operator.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

use crate::access::authorize::{Gate, Want};
use crate::access::{self, Action, Denial, Principal};
use crate::core::names::RepoName;
use crate::core::root::Root;
use crate::lfs::batch::Operation;
use crate::lfs::token::{self, API_TOKEN_TTL_SECS, ApiClaims, Secret, TokenError};

/// The JSON object git-lfs reads from `git-lfs-authenticate`'s standard output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// The LFS API base: `<public-url>/NS/NAME.git/info/lfs` (absolute, LFS.md §10 T14).
    pub href: String,
    /// Headers for API requests: `Authorization: RemoteAuth <token>`.
    pub header: BTreeMap<String, String>,
    /// Seconds the answer may be cached (the token's lifetime).
    pub expires_in: u64,
}

/// Why no answer is given. The text is the line the client sees.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The operator has not said where HTTP clients reach the server.
    #[error(
        "git-lfs-authenticate needs the server's public HTTP URL: the administrator must run `hubctl config set public-url https://<host>`"
    )]
    NoPublicUrl,
    /// Access refused (the same words as git over SSH).
    #[error("{}", .0.message())]
    Denied(Denial),
    /// The token secret could not be used.
    #[error("cannot mint an LFS token: {0}")]
    Token(#[from] TokenError),
}

/// What `operation` needs on the repository.
pub fn action_for(operation: Operation) -> Action {
    match operation {
        Operation::Download => Action::Read,
        Operation::Upload => Action::Write,
    }
}

/// Authorise `principal` for `operation` on `name` (`gate` decides) and mint the answer. `Principal::User` gets
/// a token acting as that user; `Principal::Local` (the operator's own `hubctl
/// lfs-authenticate`) one without a user.
#[allow(clippy::too_many_arguments)]
pub fn authenticate(
    gate: &Gate<'_>,
    root: &Root,
    name: &RepoName,
    principal: &Principal,
    operation: Operation,
    public_url: Option<&str>,
    now: SystemTime,
) -> Result<Answer, AuthError> {
    let want = match operation {
        Operation::Download => Want::LfsRead,
        Operation::Upload => Want::LfsWrite,
    };
    let located = gate
        .hosted(root, name, principal, want)
        .map_err(AuthError::Denied)?;
    // Tokens and URLs carry the stored spelling, which the HTTP side checks against.
    let name = located.name.as_ref().unwrap_or(name);
    let base = public_url.ok_or(AuthError::NoPublicUrl)?;
    let user_id = match principal {
        Principal::User(c) => Some(c.user.id),
        _ => None,
    };
    let secret = Secret::load_or_create(root.path())?;
    let claims = ApiClaims {
        expires_at: token::unix_secs(now).saturating_add(API_TOKEN_TTL_SECS),
        user_id,
        operation,
    };
    let token = secret.mint_api(&name.to_string(), &claims)?;
    Ok(Answer {
        href: format!(
            "{}/{}/{}.git/info/lfs",
            base.trim_end_matches('/'),
            name.ns(),
            name.name()
        ),
        header: BTreeMap::from([(
            "Authorization".to_string(),
            format!("{} {token}", token::AUTH_SCHEME),
        )]),
        expires_in: API_TOKEN_TTL_SECS,
    })
}

/// The repository an LFS command's path names: `NS/NAME`, with or without a leading `/` and
/// `.git`. `~user` paths (LFS.md §1.2) have no meaning here and are refused by name.
pub fn parse_path(path: &str) -> Result<RepoName, Denial> {
    if path.trim_start_matches('/').starts_with('~') {
        return Err(Denial::BadRequest(format!(
            "invalid repository path {path:?}: hubctl has no ~user paths; use NS/NAME.git"
        )));
    }
    access::parse_hosted_name(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        for ok in ["a/b", "/a/b", "a/b.git", "/a/b.git"] {
            assert_eq!(parse_path(ok).unwrap().to_string(), "a/b", "{ok}");
        }
        for bad in ["~a/b", "/~a/b.git", "a", "a/b/c", "../a/b", ""] {
            assert!(parse_path(bad).is_err(), "{bad:?} accepted");
        }
        assert!(
            parse_path("/~a/b.git")
                .unwrap_err()
                .message()
                .contains("~user")
        );
    }
}
