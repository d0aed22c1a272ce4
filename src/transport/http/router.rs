//! The one router: maps a [`Request`] to the handler for its path and method.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Method, Request, Response};
use crate::access::Site;
use crate::access::authorize::{Authorize, Gate, Transport};
use crate::git::Engine;

/// Operator settings shared by the HTTP transports.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Largest pack a push may send (git's `receive.maxInputSize`); `None` = unlimited.
    pub max_push_size: Option<u64>,
    /// Take the transport's `REMOTE_USER` as an authenticated hubctl user (CGI behind a web
    /// server that checked the password).
    pub trust_remote_user: bool,
    /// The authorized_keys file to rewrite when the API adds or removes a key (falls back to
    /// the stored setting).
    pub authorized_keys_file: Option<PathBuf>,
    /// `GIT_COMMITTER_NAME` from the web server's environment (CGI): the reflog identity of
    /// every push instead of the pusher's name, as with git http-backend.
    pub committer_name: Option<String>,
    /// `GIT_COMMITTER_EMAIL` from the web server's environment (CGI), likewise.
    pub committer_email: Option<String>,
    /// Write an access line per request, in this format; `None`: no access lines.
    pub access_log: Option<super::log::LogFormat>,
    /// The absolute URL hubctl is reached at, mount prefix included and without a trailing
    /// `/` (an embedding application's public URL plus its mount point). When set, the
    /// absolute URLs hubctl hands out (LFS actions, clone URLs on the HTML page) start with
    /// it instead of the request's scheme, `Host` and [`super::Request::script_name`].
    pub public_base: Option<String>,
}

/// Everything a request handler needs; built once per process (per server, or per CGI run).
pub struct App {
    /// Where repositories live.
    pub site: Site,
    /// The git engine.
    pub engine: Engine,
    /// Operator settings.
    pub options: Options,
    /// Decides every access ([`crate::access::authorize::Table`] unless an embedding
    /// application or the `authorize-command` setting says otherwise).
    pub authorize: Arc<dyn Authorize>,
    /// How requests reach this application (serve, CGI, an embedding application).
    pub transport: Transport,
}

/// The git endpoints below a repository URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitEndpoint {
    /// `GET info/refs?service=...`
    InfoRefs,
    /// `POST git-upload-pack`
    UploadPack,
    /// `POST git-receive-pack`
    ReceivePack,
    /// `GET HEAD`
    Head,
}

impl GitEndpoint {
    fn allowed_method(self) -> &'static str {
        match self {
            GitEndpoint::InfoRefs | GitEndpoint::Head => "GET, HEAD",
            GitEndpoint::UploadPack | GitEndpoint::ReceivePack => "POST",
        }
    }

    fn method_ok(self, m: &Method) -> bool {
        match self {
            GitEndpoint::InfoRefs | GitEndpoint::Head => m.is_read(),
            GitEndpoint::UploadPack | GitEndpoint::ReceivePack => *m == Method::Post,
        }
    }
}

/// Split `/<repo>/<endpoint>` into the repository part and the endpoint.
pub fn split_git_path(path: &str) -> Option<(&str, GitEndpoint)> {
    const SUFFIXES: &[(&str, GitEndpoint)] = &[
        ("/info/refs", GitEndpoint::InfoRefs),
        ("/git-upload-pack", GitEndpoint::UploadPack),
        ("/git-receive-pack", GitEndpoint::ReceivePack),
        ("/HEAD", GitEndpoint::Head),
    ];
    SUFFIXES.iter().find_map(|(suffix, ep)| {
        path.strip_suffix(suffix)
            .filter(|repo| !repo.is_empty())
            .map(|repo| (repo, *ep))
    })
}

impl App {
    /// The decision point for one request.
    pub fn gate<'a>(&'a self, req: &'a Request<'_>) -> Gate<'a> {
        Gate::new(&*self.authorize, self.transport, req.remote_addr.as_deref())
    }

    /// A redirect when the request names a repository that was renamed (`repo rename`) and
    /// the caller may read it under its new name: 301 for reads (git follows it for
    /// `info/refs` and then talks to the new URL), 308 for other methods (keeps the body).
    fn moved(&self, req: &Request<'_>) -> Option<Response> {
        let Site::Hosted(root) = &self.site else {
            return None;
        };
        let path = req.path.as_str();
        let (repo, rest) = if let Some((repo, _)) = super::lfs::split_lfs_path(path) {
            (repo, &path[repo.len()..])
        } else if let Some((repo, _)) = split_git_path(path) {
            (repo, &path[repo.len()..])
        } else if super::page::is_page_path(path) && path != "/" {
            let trimmed = path.strip_suffix('/').unwrap_or(path);
            (trimmed, &path[trimmed.len()..])
        } else {
            return None;
        };
        // The common case costs one stat: the repository is there, nothing was renamed.
        let name = crate::core::names::RepoName::parse(repo).ok()?;
        if std::fs::symlink_metadata(name.path_in(root)).is_ok() {
            return None;
        }
        let presented = req.presented(self.options.trust_remote_user);
        // Bad credentials answer as without the rename: the handler challenges them.
        let principal = crate::access::credentials::authenticate(&self.site, presented).ok()?;
        let target = crate::access::redirect(&self.site, repo, &principal, &self.gate(req))?;
        let suffix = if repo.ends_with(".git") { ".git" } else { "" };
        let mut location = format!("{}/{target}{suffix}{rest}", req.script_name);
        if !req.query.is_empty() {
            location.push('?');
            location.push_str(&req.query);
        }
        let status = if req.method.is_read() { 301 } else { 308 };
        Some(Response::text(status, format!("moved to {location}")).header("Location", location))
    }

    /// Answer one request.
    pub fn handle(&self, req: &mut Request<'_>) -> Response {
        if req.headers.byte_len() > super::MAX_HEADER_BYTES {
            return Response::text(431, "request headers are too large");
        }
        if !req.path.starts_with('/') {
            return Response::text(400, "malformed request path");
        }
        let path = req.path.clone();
        match path.as_str() {
            "/healthz" => return super::ops::healthz(self, req),
            "/metrics" => return super::ops::metrics(self, req),
            _ => {}
        }
        if path == "/api" || path.starts_with("/api/") {
            return super::api::handle(self, req);
        }
        if let Some(moved) = self.moved(req) {
            return moved;
        }
        if let Some((repo, rest)) = super::lfs::split_lfs_path(&path) {
            return super::lfs::handle(self, req, repo, rest);
        }
        match split_git_path(&path) {
            Some((repo, endpoint)) => {
                if !endpoint.method_ok(&req.method) {
                    return Response::text(
                        405,
                        format!("method {} is not allowed here", req.method.as_str()),
                    )
                    .header("Allow", endpoint.allowed_method());
                }
                super::git::handle(self, req, repo, endpoint)
            }
            None => match crate::git::dumb::split_path(&path) {
                Some((repo, file, kind)) => {
                    if !req.method.is_read() {
                        return Response::text(
                            405,
                            format!("method {} is not allowed here", req.method.as_str()),
                        )
                        .header("Allow", "GET, HEAD");
                    }
                    super::git::dumb_file(self, req, repo, file, kind)
                }
                None if super::page::is_page_path(&path) => super::page::handle(self, req),
                None => Response::text(404, "not found"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_git_paths() {
        assert_eq!(
            split_git_path("/a/b.git/info/refs"),
            Some(("/a/b.git", GitEndpoint::InfoRefs))
        );
        assert_eq!(
            split_git_path("/a/b/git-upload-pack"),
            Some(("/a/b", GitEndpoint::UploadPack))
        );
        assert_eq!(split_git_path("/info/refs"), None);
        assert_eq!(split_git_path("/a/b/objects/info/packs"), None);
        assert!(crate::git::dumb::split_path("/a/b/objects/info/packs").is_some());
    }
}
