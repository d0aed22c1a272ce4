//! A short HTML page for people who open a repository's URL in a browser: `GET /NS/NAME` says
//! what the repository is and how to clone it, `GET /` lists the repositories the visitor may
//! see. Not a repository browser. Git clients never ask for these paths (they ask for
//! `.../info/refs`, `.../git-upload-pack` and, over dumb HTTP, files below the repository), so
//! they are unaffected. Access is decided by `access` as for a clone; everything shown is
//! escaped.

use std::fmt::Write as _;

use super::router::App;
use super::{Request, Response, refusal};
use crate::access::authorize::{Gate, Want};
use crate::access::credentials;
use crate::access::{self, Principal, Site};
use crate::core::names::RepoName;

/// Most repositories the front page lists.
const MAX_LISTED: usize = 500;

/// Whether `path` is a page: `/`, or exactly `/NS/NAME` (with or without `.git`, with or
/// without one trailing `/`). Anything deeper belongs to git (smart or dumb HTTP) or LFS.
pub fn is_page_path(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    let inner = path.trim_start_matches('/');
    let inner = inner.strip_suffix('/').unwrap_or(inner);
    let mut parts = inner.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(ns), Some(name), None) if !ns.is_empty() && !name.is_empty() && ns != "api"
    )
}

/// Answer a page request (`is_page_path` holds).
pub fn handle(app: &App, req: &Request<'_>) -> Response {
    let Site::Hosted(root) = &app.site else {
        return Response::text(404, "not found");
    };
    if !req.method.is_read() {
        return Response::text(
            405,
            format!("method {} is not allowed here", req.method.as_str()),
        )
        .header("Allow", "GET, HEAD");
    }
    let presented = req.presented(app.options.trust_remote_user);
    let principal = match credentials::authenticate(&app.site, presented) {
        Ok(p) => p,
        Err(d) => return refusal::text(&d),
    };
    req.note_user(&principal);
    let settings =
        crate::store::with_store(root, |s| crate::settings::Settings::load(s)).unwrap_or_default();
    let urls = Urls::new(app, req, &settings);
    if req.path == "/" {
        return front(app, &app.gate(req), root, &principal, &urls);
    }
    let inner = req.path.trim_matches('/');
    let named = inner.strip_suffix(".git").unwrap_or(inner);
    let located =
        match app
            .gate(req)
            .repository(&app.site, &format!("/{named}"), &principal, Want::Read)
        {
            Ok(l) => l,
            Err(d) => return refusal::text(&d),
        };
    let Some(name) = located.name.clone() else {
        return Response::text(404, "not found");
    };
    let info = match crate::repo::info(root, &name) {
        Ok(i) => i,
        Err(_) => return refusal::text(&access::Denial::NotFound),
    };
    let mut body = String::new();
    let title = format!("{}/{}", info.namespace, info.name);
    let _ = writeln!(body, "<h1>{}</h1>", esc(&title));
    if !info.description.is_empty() {
        let _ = writeln!(
            body,
            "<p class=\"description\">{}</p>",
            esc(&info.description)
        );
    }
    let branch = info.default_branch.as_deref().unwrap_or("(none)");
    let _ = writeln!(
        body,
        "<p>Default branch: <code class=\"default-branch\">{}</code></p>\n<h2>Clone</h2>\n<pre class=\"clone-http\">git clone {}</pre>\n<pre class=\"clone-ssh\">git clone {}</pre>",
        esc(branch),
        esc(&urls.http(&name)),
        esc(&urls.ssh(&name)),
    );
    page(&title, &body)
}

fn front(
    app: &App,
    gate: &Gate<'_>,
    root: &crate::core::root::Root,
    principal: &Principal,
    urls: &Urls,
) -> Response {
    let all = match crate::repo::list(root) {
        Ok(l) => l,
        Err(e) => return refusal::text(&access::Denial::Internal(e.to_string())),
    };
    let mut body = String::from("<h1>Repositories</h1>\n<ul>\n");
    let mut shown = 0;
    for info in all {
        if shown == MAX_LISTED {
            body.push_str("<li>…</li>\n");
            break;
        }
        let path = format!("/{}/{}", info.namespace, info.name);
        if gate
            .repository(&app.site, &path, principal, Want::Read)
            .is_err()
        {
            continue;
        }
        shown += 1;
        let desc = if info.description.is_empty() {
            String::new()
        } else {
            format!(" — {}", esc(&info.description))
        };
        let _ = writeln!(
            body,
            "<li><a href=\"{}{}\">{}/{}</a>{desc}</li>",
            esc(&urls.prefix),
            esc(&path),
            esc(&info.namespace),
            esc(&info.name)
        );
    }
    body.push_str("</ul>\n");
    if shown == 0 {
        body.push_str("<p>No repositories to show.</p>\n");
    }
    page("Repositories", &body)
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width\">\n<title>{} · hubctl</title>\n<style>body{{font-family:sans-serif;max-width:50em;margin:2em auto;padding:0 1em}}pre{{background:#f4f4f4;padding:.5em;overflow-x:auto}}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        esc(title)
    );
    Response::new(200)
        .header("Content-Type", "text/html; charset=utf-8")
        // Everything is escaped; these keep any mistake from becoming a script.
        .header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        )
        .header("X-Content-Type-Options", "nosniff")
        .bytes(html.into_bytes())
}

/// Where clients reach this server, for clone URLs.
struct Urls {
    /// `scheme://host[/prefix]` for HTTP.
    http_base: String,
    /// The path prefix hubctl is mounted at (CGI `SCRIPT_NAME`).
    prefix: String,
    /// `ssh://user@host[:port][/prefix]`.
    ssh_base: String,
}

impl Urls {
    fn new(app: &App, req: &Request<'_>, settings: &crate::settings::Settings) -> Urls {
        let host = req.headers.get("Host").unwrap_or("localhost");
        // An embedding application's URL (with its mount point) first, then the stored
        // `public-url`, then the URL the client reached.
        let public = app
            .options
            .public_base
            .as_ref()
            .or(settings.public_url.as_ref());
        let http_base = public.cloned().unwrap_or_else(|| {
            let scheme = if req.secure { "https" } else { "http" };
            format!("{scheme}://{host}{}", req.script_name)
        });
        let ssh_base = settings.ssh_url.clone().unwrap_or_else(|| {
            // The HTTP host without its port: SSH listens elsewhere.
            let bare = match host.rsplit_once(':') {
                Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
                _ => host,
            };
            format!("ssh://git@{bare}")
        });
        Urls {
            http_base,
            prefix: req.script_name.clone(),
            ssh_base,
        }
    }

    fn http(&self, name: &RepoName) -> String {
        format!("{}/{name}.git", self.http_base)
    }

    fn ssh(&self, name: &RepoName) -> String {
        format!("{}/{name}.git", self.ssh_base)
    }
}

/// Escape text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_paths() {
        for yes in [
            "/",
            "/alice/project",
            "/alice/project.git",
            "/alice/project/",
        ] {
            assert!(is_page_path(yes), "{yes}");
        }
        for no in [
            "/alice",
            "/alice/project.git/info/refs",
            "/alice/project.git/objects/info/packs",
            "/alice/project.git/HEAD",
            "//x",
            "/api/user",
            "/a/b/c",
        ] {
            assert!(!is_page_path(no), "{no}");
        }
    }

    #[test]
    fn escapes() {
        assert_eq!(
            esc("<script>\"a\"&'b'</script>"),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;"
        );
    }
}
