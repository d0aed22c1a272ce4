//! The one decision point: the [`Authorize`] trait, hubctl's own access table as its default
//! implementation ([`Table`]), and the [`Gate`] every transport asks.
//!
//! A transport authenticates the caller (a [`Principal`]), then asks its [`Gate`] whether that
//! principal may do a [`Want`] to a repository; the gate hands the [`Query`] to the configured
//! [`Authorize`] and, on [`Decision::Allow`], locates the repository. An embedding application
//! replaces the table with a rule of its own; an operator adds a program after it
//! ([`super::command::CommandRule`], the `authorize-command` setting).

use std::sync::{Arc, Mutex};

use super::{
    Action, Denial, Located, Principal, Site, authorize_hosted, authorize_project, files_allowed,
    locate, parse_hosted_name,
};
use crate::core::names::RepoName;
use crate::store::{self, tokens::Scope};

/// What a caller wants to do, as an [`Authorize`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Want {
    /// Clone, fetch, ls-remote, `HEAD`, the repository's HTML page.
    Read,
    /// The dumb HTTP protocol's files and text ref list. They expose every object on disk,
    /// reachable or not, so git http-backend's `http.getanyfile` rule applies on top of
    /// reading: hosted repositories serve them only with `http.getanyfile=true`; below a
    /// project root they are on unless the repository sets it to false, as in git.
    Files,
    /// Push.
    Write,
    /// Administer the repository (remove another user's LFS lock).
    Admin,
    /// Git LFS: download objects, list and verify locks.
    LfsRead,
    /// Git LFS: upload objects, take and release locks.
    LfsWrite,
    /// `GET /api/user/keys`: list the caller's own SSH keys (no repository).
    KeysRead,
    /// `POST`/`DELETE /api/user/keys`: add or remove the caller's own SSH keys (no repository).
    KeysWrite,
}

impl Want {
    /// The name in `authorize-command`'s JSON (`read`, `write`, `lfs-read`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Want::Read | Want::Files => "read",
            Want::Write => "write",
            Want::Admin => "admin",
            Want::LfsRead => "lfs-read",
            Want::LfsWrite => "lfs-write",
            Want::KeysRead => "keys-read",
            Want::KeysWrite => "keys-write",
        }
    }

    /// The level the access table needs on the repository; `None` for the keys API.
    pub fn action(self) -> Option<Action> {
        match self {
            Want::Read | Want::Files | Want::LfsRead => Some(Action::Read),
            Want::Write | Want::LfsWrite => Some(Action::Write),
            Want::Admin => Some(Action::Admin),
            Want::KeysRead | Want::KeysWrite => None,
        }
    }
}

/// How the request reached hubctl.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// `hubctl serve`.
    Serve,
    /// `hubctl cgi` behind a web server.
    Cgi,
    /// An application that embeds hubctl's router.
    Embedded,
    /// `hubctl shell`, the SSH forced command.
    Ssh,
    /// `hubctl upload-pack` / `receive-pack` over stdio.
    Stdio,
}

impl Transport {
    /// The name in `authorize-command`'s JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Serve => "serve",
            Transport::Cgi => "cgi",
            Transport::Embedded => "embedded",
            Transport::Ssh => "ssh",
            Transport::Stdio => "stdio",
        }
    }
}

/// One question to an [`Authorize`].
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// Where repositories come from (hubctl's own; [`Table`] reads it).
    pub(crate) site: &'a Site,
    /// The repository: hosted `NS/NAME` (the stored spelling when it exists), or the path
    /// below a git-http-backend project root; `None` for the keys API.
    pub repository: Option<&'a str>,
    /// The repository on disk, when it exists (and, below a project root, is exported).
    pub(crate) located: Option<&'a Located>,
    /// Who asks (hubctl's tokens, a web server's user, an SSH key, the application's own).
    pub principal: &'a Principal,
    /// What they want.
    pub want: Want,
    /// How the request arrived.
    pub transport: Transport,
    /// The client's address, when the transport knows it.
    pub remote_addr: Option<&'a str>,
}

/// An answer: allow, or a refusal that each transport renders ([`Denial::Forbidden`] as 403
/// or one SSH line, [`Denial::Challenge`] as 401 with its `WWW-Authenticate`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refuse.
    Deny(Denial),
}

impl Decision {
    /// Refuse with `message` (HTTP 403 with the message as its body or LFS JSON message; one
    /// line on stderr over SSH).
    pub fn deny(message: impl Into<String>) -> Decision {
        Decision::Deny(Denial::Forbidden(message.into()))
    }

    /// Ask for credentials: HTTP 401 with `www_authenticate` as the `WWW-Authenticate` header
    /// (e.g. `Basic realm="my app"`); over SSH, one line saying authentication is required.
    pub fn challenge(www_authenticate: impl Into<String>) -> Decision {
        Decision::Deny(Denial::Challenge(www_authenticate.into()))
    }

    fn into_result(self) -> Result<(), Denial> {
        match self {
            Decision::Allow => Ok(()),
            Decision::Deny(d) => Err(d),
        }
    }
}

/// Decides every access on every route and transport: git (smart and dumb HTTP, SSH), Git LFS
/// (batch, transfers without an action token, locks, verify; SSH `git-lfs-authenticate` and
/// `git-lfs-transfer`), the keys API and the HTML pages. [`Table`] is hubctl's own.
///
/// ```
/// use hubctl::access::authorize::{Authorize, Decision, Query, Want};
///
/// /// Everyone reads; only `alice` writes, over any transport.
/// struct OnlyAlice;
///
/// impl Authorize for OnlyAlice {
///     fn authorize(&self, q: &Query<'_>) -> Decision {
///         match (q.want, q.principal.user_name()) {
///             (Want::Read | Want::Files | Want::LfsRead, _) => Decision::Allow,
///             (_, Some("alice")) => Decision::Allow,
///             (_, Some(_)) => Decision::deny("only alice writes here"),
///             (_, None) => Decision::challenge("Basic realm=\"example\""),
///         }
///     }
/// }
/// # let _ = OnlyAlice;
/// ```
pub trait Authorize: Send + Sync {
    /// Decide one [`Query`]. Called once per decision (a request may ask more than one, and
    /// the [`Gate`] remembers answers within that request only).
    fn authorize(&self, query: &Query<'_>) -> Decision;
}

impl std::fmt::Debug for dyn Authorize + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dyn Authorize")
    }
}

/// hubctl's own access table (see the [module docs](super)), the default [`Authorize`]: user
/// accounts, grants, organisations, token scopes, visibility; git-http-backend's rules below a
/// project root.
#[derive(Debug, Clone, Copy, Default)]
pub struct Table;

impl Authorize for Table {
    fn authorize(&self, q: &Query<'_>) -> Decision {
        let result = match (q.want.action(), q.site) {
            (None, _) => keys_rule(q.site, q.principal, q.want),
            (Some(action), Site::Hosted(root)) => {
                let Some(name) = q.repository.and_then(|r| RepoName::parse(r).ok()) else {
                    return Decision::Deny(Denial::NotFound);
                };
                store::with_store(root, |s| {
                    authorize_hosted(s, root, &name, q.principal, action).map(|_| ())
                })
            }
            // git http-backend checks only the export rule and getanyfile for dumb files.
            (Some(_), Site::ProjectRoot { .. }) if q.want == Want::Files => match q.located {
                Some(_) => Ok(()),
                None => Err(Denial::NotFound),
            },
            (Some(action), Site::ProjectRoot { export_all, .. }) => match q.located {
                Some(l) => authorize_project(*export_all, l, q.principal, action),
                None => Err(Denial::NotFound),
            },
        };
        match result {
            Ok(()) => Decision::Allow,
            Err(d) => Decision::Deny(d),
        }
    }
}

/// The keys API: hubctl users only, and a write token to change keys.
fn keys_rule(site: &Site, principal: &Principal, want: Want) -> Result<(), Denial> {
    if !matches!(site, Site::Hosted(_)) {
        return Err(Denial::NotFound);
    }
    match principal {
        Principal::User(c) if want == Want::KeysWrite && c.scope == Scope::Read => Err(
            Denial::Forbidden("this token is read-only; managing keys needs a write token".into()),
        ),
        Principal::User(_) => Ok(()),
        _ => Err(Denial::Unauthenticated),
    }
}

/// A cached answer, for one principal, repository and want.
type Remembered = (Option<String>, Option<String>, Want, Decision);

/// The decision point of one request (one HTTP request, one SSH session): asks its
/// [`Authorize`] and remembers the answers for this request only, so that a check asked twice
/// (an LFS request that needs the same access again) runs the rule once. Never shared between
/// requests, so an answer never reaches another user.
pub struct Gate<'a> {
    rule: &'a dyn Authorize,
    transport: Transport,
    remote_addr: Option<&'a str>,
    remembered: Mutex<Vec<Remembered>>,
}

impl std::fmt::Debug for Gate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("transport", &self.transport)
            .field("remote_addr", &self.remote_addr)
            .finish_non_exhaustive()
    }
}

impl<'a> Gate<'a> {
    /// A gate for one request that arrived over `transport` from `remote_addr`.
    pub fn new(
        rule: &'a dyn Authorize,
        transport: Transport,
        remote_addr: Option<&'a str>,
    ) -> Gate<'a> {
        Gate {
            rule,
            transport,
            remote_addr,
            remembered: Mutex::new(Vec::new()),
        }
    }

    fn ask(
        &self,
        site: &Site,
        repository: Option<&str>,
        located: Option<&Located>,
        principal: &Principal,
        want: Want,
    ) -> Result<(), Denial> {
        let key = (
            principal.user_name().map(str::to_string),
            repository.map(str::to_string),
            want,
        );
        let mut remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((.., d)) = remembered
            .iter()
            .find(|(u, r, w, _)| (u, r, w) == (&key.0, &key.1, &key.2))
        {
            return d.clone().into_result();
        }
        let decision = self.rule.authorize(&Query {
            site,
            repository,
            located,
            principal,
            want,
            transport: self.transport,
            remote_addr: self.remote_addr,
        });
        remembered.push((key.0, key.1, key.2, decision.clone()));
        decision.into_result()
    }

    /// Decide whether `principal` may do `want` to the repository `url_part` names, and
    /// locate it.
    pub fn repository(
        &self,
        site: &Site,
        url_part: &str,
        principal: &Principal,
        want: Want,
    ) -> Result<Located, Denial> {
        if let Site::Hosted(_) = site {
            // A name that can never be a repository is refused before anyone is asked.
            parse_hosted_name(url_part)?;
        }
        let located = match locate(site, url_part) {
            Ok(l) => Some(l),
            Err(Denial::NotFound) => None,
            Err(d) => return Err(d),
        };
        let repository = match (&located, site) {
            (Some(l), _) => repo_label(site, l),
            (None, Site::Hosted(_)) => parse_hosted_name(url_part)?.to_string(),
            (None, Site::ProjectRoot { .. }) => url_part.trim_matches('/').to_string(),
        };
        self.ask(site, Some(&repository), located.as_ref(), principal, want)?;
        let located = located.ok_or(Denial::NotFound)?;
        if want == Want::Files {
            files_allowed(site, &located)?;
        }
        Ok(located)
    }

    /// [`Gate::repository`] for a hosted repository named `name` under `root`.
    pub fn hosted(
        &self,
        root: &crate::core::root::Root,
        name: &RepoName,
        principal: &Principal,
        want: Want,
    ) -> Result<Located, Denial> {
        self.repository(
            &Site::Hosted(root.clone()),
            &name.to_string(),
            principal,
            want,
        )
    }

    /// Decide a request that names no repository (the keys API).
    pub fn account(&self, site: &Site, principal: &Principal, want: Want) -> Result<(), Denial> {
        self.ask(site, None, None, principal, want)
    }
}

/// The repository as a [`Query`] names it: hosted `NS/NAME`, or the path below the project
/// root.
fn repo_label(site: &Site, located: &Located) -> String {
    match (&located.name, site) {
        (Some(name), _) => name.to_string(),
        (None, Site::ProjectRoot { dir, .. }) => located
            .git_dir
            .strip_prefix(dir)
            .unwrap_or(&located.git_dir)
            .display()
            .to_string(),
        (None, Site::Hosted(_)) => located.git_dir.display().to_string(),
    }
}

/// The rule a process uses: hubctl's table, or the table followed by the operator's
/// `authorize-command`.
pub fn from_settings(settings: &crate::settings::Settings) -> Arc<dyn Authorize> {
    match &settings.authorize_command {
        Some(program) => Arc::new(super::command::CommandRule {
            program: program.clone(),
            timeout: settings.authorize_timeout,
        }),
        None => Arc::new(Table),
    }
}
