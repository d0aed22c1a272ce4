//! `hubctl serve` and `hubctl cgi`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::access::Site;
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
        access_log: access_log.then_some(format),
    }
}

pub(super) fn serve(root: &Root, keys_file: Option<&Path>, args: ServeArgs) -> Result<ExitCode> {
    let engine = Engine::for_root(root)?;
    let settings = crate::store::with_store(root, |s| crate::settings::Settings::load(s))?;
    // Request threads open their own connections; this one is done with the database.
    crate::store::release_cached();
    let app = Arc::new(App {
        site: Site::Hosted(root.clone()),
        engine,
        options: options(&args.http, false, keys_file, true),
    });
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
    )?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn cgi(
    explicit_root: Option<&Path>,
    keys_file: Option<&Path>,
    args: CgiArgs,
) -> Result<ExitCode> {
    let env = cgi::CgiEnv::from_env()?;
    let app = match cgi_app(explicit_root, keys_file, &args) {
        Ok(app) => app,
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

fn cgi_app(explicit_root: Option<&Path>, keys_file: Option<&Path>, args: &CgiArgs) -> Result<App> {
    // git-http-backend compatibility: GIT_PROJECT_ROOT selects its layout and rules.
    let (site, engine) = match std::env::var_os("GIT_PROJECT_ROOT").filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = Path::new(&dir)
                .canonicalize()
                .with_context(|| format!("GIT_PROJECT_ROOT {}", Path::new(&dir).display()))?;
            let export_all = std::env::var_os("GIT_HTTP_EXPORT_ALL").is_some();
            (Site::ProjectRoot { dir, export_all }, Engine::detect(None)?)
        }
        None => {
            // A mistyped $hubctl_root must not become an empty hub: one line in the log.
            let root = Root::resolve_existing(explicit_root)?;
            // One line in the web server's log when fcgiwrap's account cannot write the root.
            root.check_access()?;
            let engine = Engine::for_root(&root)?;
            (Site::Hosted(root), engine)
        }
    };
    Ok(App {
        site,
        engine,
        options: options(
            &args.http,
            args.trust_remote_user,
            keys_file,
            args.log == CgiLogArg::Info,
        ),
    })
}
