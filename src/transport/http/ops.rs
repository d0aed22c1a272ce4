//! Endpoints for operators: `GET /healthz` (is this server able to answer?) and `GET /metrics`
//! (Prometheus text format). The numbers are counted below, in `core::metrics`, where the
//! events happen; this module only asks and renders.

use std::fmt::Write as _;

use super::router::App;
use super::{Request, Response, refusal};
use crate::access::credentials;
use crate::access::{Denial, Principal, Site};
use crate::core::metrics::{self, Counter, DURATION_BUCKETS};

/// `GET /healthz`: 200 when the database answers and git runs, 503 otherwise. The body names
/// each check, one per line; it says nothing about repositories or users.
pub fn healthz(app: &App, req: &Request<'_>) -> Response {
    if !req.method.is_read() {
        return Response::text(405, "method not allowed").header("Allow", "GET, HEAD");
    }
    let database = match &app.site {
        Site::Hosted(root) => match crate::store::ping(&root.db_path()) {
            Ok(()) => Ok("ok".to_string()),
            Err(e) => Err(e.to_string()),
        },
        Site::ProjectRoot { .. } => Ok("not used (GIT_PROJECT_ROOT)".to_string()),
    };
    let git = git_check(app);
    let healthy = database.is_ok() && git.is_ok();
    let line = |name: &str, r: &Result<String, String>| match r {
        Ok(v) => format!("{name}: {v}\n"),
        Err(e) => {
            // The detail goes to the log, not to whoever asks.
            eprintln!("hubctl: health check: {name}: {e}");
            format!("{name}: failing\n")
        }
    };
    let body = format!(
        "{}\n{}{}",
        if healthy { "ok" } else { "unhealthy" },
        line("database", &database),
        line("git", &git)
    );
    Response::text(if healthy { 200 } else { 503 }, body).no_cache()
}

/// How long one answer of the git check is reused: `/healthz` needs no credentials, and
/// must not let a client start a process per request.
const GIT_CHECK_TTL: std::time::Duration = std::time::Duration::from_secs(5);

fn git_check(app: &App) -> Result<String, String> {
    use std::sync::{Mutex, OnceLock};
    type Cached = Option<(std::time::Instant, Result<String, String>)>;
    static LAST: OnceLock<Mutex<Cached>> = OnceLock::new();
    let mut last = LAST
        .get_or_init(|| Mutex::new(None))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some((at, result)) = last.as_ref() {
        if at.elapsed() < GIT_CHECK_TTL {
            return result.clone();
        }
    }
    let result = app.engine.check().map_err(|e| e.to_string());
    *last = Some((std::time::Instant::now(), result.clone()));
    result
}

/// `GET /metrics`: for anyone when the `metrics` setting is on, else for administrators' tokens
/// only (404 without credentials, so a scanner learns nothing).
pub fn metrics(app: &App, req: &Request<'_>) -> Response {
    if !req.method.is_read() {
        return Response::text(405, "method not allowed").header("Allow", "GET, HEAD");
    }
    let Site::Hosted(root) = &app.site else {
        return Response::text(404, "not found");
    };
    let public = crate::store::with_store(root, |s| crate::settings::Settings::load(s))
        .map(|s| s.metrics)
        .unwrap_or(false);
    if !public {
        let presented = req.presented(app.options.trust_remote_user);
        match credentials::authenticate(&app.site, presented) {
            Ok(Principal::User(c)) if c.user.admin => {
                let _ = req.user.set(c.user.name.clone());
            }
            Ok(Principal::User(c)) => {
                let _ = req.user.set(c.user.name.clone());
                return refusal::text(&Denial::Forbidden(
                    "metrics are for administrators (or switch them on for everyone: hubctl config set metrics on)".into(),
                ));
            }
            Ok(_) => return Response::text(404, "not found"),
            Err(d) => return refusal::text(&d),
        }
    }
    let run = root.run_dir();
    let mut out = String::new();
    render_requests(&mut out);
    if let Some(slots) = app.engine.slots() {
        gauge(
            &mut out,
            "hubctl_engine_slots",
            "Git engine slots (the most git processes that run at once).",
            slots.count() as u64,
        );
        gauge(
            &mut out,
            "hubctl_engine_slots_in_use",
            "Git engine slots held right now, by every process of this root.",
            slots.in_use() as u64,
        );
        gauge(
            &mut out,
            "hubctl_engine_slots_queued",
            "Requests waiting for a git engine slot right now.",
            slots.queued() as u64,
        );
    }
    counter(
        &mut out,
        "hubctl_pack_cache_hits_total",
        "Fetches answered from the pack cache.",
        metrics::get(&run, Counter::PackCacheHits),
    );
    counter(
        &mut out,
        "hubctl_pack_cache_misses_total",
        "Fetches the pack cache had no entry for.",
        metrics::get(&run, Counter::PackCacheMisses),
    );
    counter(
        &mut out,
        "hubctl_pack_cache_served_bytes_total",
        "Bytes sent from the pack cache.",
        metrics::get(&run, Counter::PackCacheBytesServed),
    );
    gauge(
        &mut out,
        "hubctl_pack_cache_bytes",
        "Bytes the pack cache holds on disk.",
        crate::git::pack_cache::stored_bytes(root),
    );
    let _ = writeln!(
        out,
        "# HELP hubctl_maintenance_runs_total Repository maintenance runs that did work, by outcome.\n# TYPE hubctl_maintenance_runs_total counter\nhubctl_maintenance_runs_total{{outcome=\"ok\"}} {}\nhubctl_maintenance_runs_total{{outcome=\"failed\"}} {}",
        metrics::get(&run, Counter::MaintenanceRuns),
        metrics::get(&run, Counter::MaintenanceFailures),
    );
    Response::new(200)
        .header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        .no_cache()
        .bytes(out.into_bytes())
}

fn counter(out: &mut String, name: &str, help: &str, v: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
    );
}

fn gauge(out: &mut String, name: &str, help: &str, v: u64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
}

/// Request counts by route and status, and a duration histogram per route.
fn render_requests(out: &mut String) {
    let snap = metrics::requests().snapshot();
    let _ = writeln!(
        out,
        "# HELP hubctl_http_requests_total HTTP requests this process answered, by route and status.\n# TYPE hubctl_http_requests_total counter"
    );
    for ((route, status), s) in &snap {
        let _ = writeln!(
            out,
            "hubctl_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {}",
            s.count
        );
    }
    let _ = writeln!(
        out,
        "# HELP hubctl_http_request_duration_seconds Time from a request's arrival to its last byte, by route.\n# TYPE hubctl_http_request_duration_seconds histogram"
    );
    let mut routes: Vec<&str> = snap.iter().map(|((r, _), _)| *r).collect();
    routes.dedup();
    for route in routes {
        let mut buckets = [0u64; DURATION_BUCKETS.len()];
        let (mut count, mut sum) = (0u64, 0f64);
        for ((r, _), s) in &snap {
            if *r == route {
                count += s.count;
                sum += s.seconds;
                for (b, n) in buckets.iter_mut().zip(s.buckets) {
                    *b += n;
                }
            }
        }
        let mut cumulative = 0;
        for (le, n) in DURATION_BUCKETS.iter().zip(buckets) {
            cumulative += n;
            let _ = writeln!(
                out,
                "hubctl_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "hubctl_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}\nhubctl_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}\nhubctl_http_request_duration_seconds_count{{route=\"{route}\"}} {count}"
        );
    }
}
