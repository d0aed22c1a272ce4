//! `hubctl serve` and `hubctl cgi`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::access::Site;
use crate::access::authorize::{Authorize, Table, Transport};
use crate::cli::{CgiArgs, CgiLogArg, HttpArgs, LogFormatArg, ServeArgs};
use crate::core::root::Root;
use crate::git::Engine;
use crate::transport::http::log::LogFormat;
use crate::transport::http::router::{App, Options};
use crate::transport::http::{cgi, serve};

fn options(
    http: &HttpArgs,
    trust_remote_user: bool,
    authorized_keys_file: Option<&Path>,
    access_log: bool,
) -> Options {
    let format = match http.log_format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    };
    Options {
        max_push_size: http.max_push_size,
        trust_remote_user,
        authorized_keys_file: authorized_keys_file.map(Path::to_path_buf),
        committer_name: None,
        committer_email: None,
        access_log: access_log.then_some(format),
        public_base: None,
    }
}

pub(super) fn serve(root: &Root, keys_file: Option<&Path>, args: ServeArgs) -> Result<ExitCode> {
    let engine = Engine::for_root(root)?;
    let settings = crate::store::with_store(root, |s| crate::settings::Settings::load(s))?;
    // Until a request needs the database, the server keeps no connection to it open.
    crate::store::release_idle();
    if let Some(limit) = settings.pack_cache_size {
        crate::git::pack_cache::sweep(root, limit);
    }
    let opts = options(&args.http, false, keys_file, true);
    let app = Arc::new(App {
        site: Site::Hosted(root.clone()),
        engine,
        options: opts.clone(),
        authorize: crate::access::authorize::from_settings(&settings),
        transport: Transport::Serve,
    });
    // SIGHUP: the engine again from the stored settings (slots, queue timeout, pack cache).
    let reload = || -> std::result::Result<Arc<App>, String> {
        let engine = Engine::for_root(root).map_err(|e| e.to_string());
        let settings = crate::store::with_store(root, |s| crate::settings::Settings::load(s))
            .map_err(|e| e.to_string());
        Ok(Arc::new(App {
            site: Site::Hosted(root.clone()),
            engine: engine?,
            options: opts.clone(),
            authorize: crate::access::authorize::from_settings(&settings?),
            transport: Transport::Serve,
        }))
    };
    let tls = args.tls_cert.zip(args.tls_key);
    serve::run(
        app,
        &serve::ServeOptions {
            listen: args.listen,
            threads: usize::from(args.threads),
            tls,
            limits: serve::Limits {
                idle_timeout: settings.idle_timeout,
                header_timeout: settings.header_timeout,
                max_connections: settings.max_connections,
                max_connections_per_ip: settings.max_connections_per_ip,
            },
        },
        &reload,
    )?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn cgi(
    explicit_root: Option<&Path>,
    keys_file: Option<&Path>,
    args: CgiArgs,
) -> Result<ExitCode> {
    let mut env = cgi::CgiEnv::from_env()?;
    let app = match cgi_app(explicit_root, keys_file, &args, env.translated_root()) {
        Ok((app, by_path_translated)) => {
            if by_path_translated {
                env.route_by_path_translated();
            }
            app
        }
        Err(e) if database_busy(&e) => {
            // Not a misconfiguration: ask the client to come back (git-lfs retries a 429).
            cgi::write_busy(&env);
            return Err(e);
        }
        Err(e) => {
            // The detail goes to stderr (the web server's error log), not to the client.
            cgi::write_error(
                500,
                "hubctl cannot answer: its configuration or database is broken; the details are in the web server's error log",
            );
            return Err(e);
        }
    };
    cgi::run(&app, env)?;
    Ok(ExitCode::SUCCESS)
}

/// Whether `e` is the database being busy (locked by another process past the busy timeout).
fn database_busy(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<crate::store::Error>()
            .is_some_and(crate::store::Error::is_busy)
            || matches!(
                cause.downcast_ref::<crate::git::Error>(),
                Some(crate::git::Error::Settings(s)) if s.is_busy()
            )
    })
}

/// The CGI's site, as git http-backend chooses it: `GIT_PROJECT_ROOT` first; then hubctl's
/// own root when one is named (`--root`, `HUBCTL_ROOT`); then `PATH_TRANSLATED` (Apache's
/// `ScriptAlias`, lighttpd), where the web server already mapped the URL to a file-system path;
/// else hubctl's default root. The flag says the request is routed by `PATH_TRANSLATED`.
fn cgi_app(
    explicit_root: Option<&Path>,
    keys_file: Option<&Path>,
    args: &CgiArgs,
    translated: Option<(PathBuf, bool)>,
) -> Result<(App, bool)> {
    let export_all = std::env::var_os("GIT_HTTP_EXPORT_ALL").is_some();
    let project_root = std::env::var_os("GIT_PROJECT_ROOT").filter(|v| !v.is_empty());
    // git-http-backend mode has no settings: its own rules, the table's second half.
    let mut authorize: Arc<dyn Authorize> = Arc::new(Table);
    let (site, engine, by_path_translated) = match project_root {
        Some(dir) => {
            let dir = Path::new(&dir)
                .canonicalize()
                .with_context(|| format!("GIT_PROJECT_ROOT {}", Path::new(&dir).display()))?;
            (
                Site::ProjectRoot { dir, export_all },
                Engine::detect(None)?,
                false,
            )
        }
        None if explicit_root.is_none() && translated.is_some() => {
            let (dir, by_translated) = translated.unwrap_or_default();
            // The web server's mapping is the only containment git http-backend has here; the
            // document root, when known, is hubctl's.
            let (dir, by_translated) = match dir.canonicalize() {
                Ok(dir) => (dir, by_translated),
                Err(_) => (PathBuf::from("/"), true),
            };
            (
                Site::ProjectRoot { dir, export_all },
                Engine::detect(None)?,
                by_translated,
            )
        }
        None => {
            // A mistyped $hubctl_root must not become an empty hub: one line in the log.
            let root = Root::resolve_existing(explicit_root)?;
            // One line in the web server's log when fcgiwrap's account cannot write the root.
            root.check_access()?;
            let engine = Engine::for_root(&root)?;
            let settings = crate::store::with_store(&root, |s| crate::settings::Settings::load(s))?;
            authorize = crate::access::authorize::from_settings(&settings);
            (Site::Hosted(root), engine, false)
        }
    };
    let mut options = options(
        &args.http,
        args.trust_remote_user,
        keys_file,
        args.log == CgiLogArg::Info,
    );
    // git http-backend leaves an identity the web server set alone (Apache `SetEnv`).
    options.committer_name = std::env::var("GIT_COMMITTER_NAME").ok();
    options.committer_email = std::env::var("GIT_COMMITTER_EMAIL").ok();
    Ok((
        App {
            site,
            engine,
            options,
            authorize,
            transport: Transport::Cgi,
        },
        by_path_translated,
    ))
}
