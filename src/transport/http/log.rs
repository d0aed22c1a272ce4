//! The access log: one line per request, as text or JSON, written by the transport that
//! answered (`hubctl serve` always, `hubctl cgi` only when asked, since fcgiwrap turns every
//! stderr line into an nginx `[error]`).

use std::time::{Duration, SystemTime};

use super::router::{GitEndpoint, split_git_path};

/// How access lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Space-separated fields, `-` for a missing one.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything one access line says about a request.
#[derive(Debug, Clone)]
pub struct AccessEntry<'a> {
    /// When the request arrived.
    pub time: SystemTime,
    /// The client's address.
    pub remote_addr: Option<&'a str>,
    /// The hubctl user the request authenticated as, if any.
    pub user: Option<&'a str>,
    /// The request method.
    pub method: &'a str,
    /// The path as the client sent it (with its query).
    pub path: &'a str,
    /// The response status.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// Time from arrival to the last byte sent.
    pub duration: Duration,
    /// The git service (`git-upload-pack`, `git-receive-pack`) or `lfs`, if any.
    pub service: Option<&'static str>,
}

impl AccessEntry<'_> {
    /// The line, without a trailing newline. Client-controlled text is escaped, so one
    /// request is always one line.
    pub fn render(&self, format: LogFormat) -> String {
        let time = humantime::format_rfc3339_millis(self.time).to_string();
        let ms = self.duration.as_secs_f64() * 1000.0;
        match format {
            LogFormat::Text => {
                let field = |v: Option<&str>| match v {
                    Some(v) if !v.is_empty() => v.escape_debug().to_string().replace(' ', "%20"),
                    _ => "-".to_string(),
                };
                format!(
                    "{time} {} {} {} {} {} {} {ms:.3}ms {}",
                    field(self.remote_addr),
                    field(self.user),
                    field(Some(self.method)),
                    field(Some(self.path)),
                    self.status,
                    self.bytes,
                    field(self.service),
                )
            }
            LogFormat::Json => serde_json::json!({
                "time": time,
                "remote_addr": self.remote_addr,
                "user": self.user,
                "method": self.method,
                "path": self.path,
                "status": self.status,
                "bytes": self.bytes,
                "duration_ms": (ms * 1000.0).round() / 1000.0,
                "service": self.service,
            })
            .to_string(),
        }
    }
}

/// The service a request path (and query) asks for, for the log and the metrics.
pub fn service_of(path: &str, query: &str) -> Option<&'static str> {
    if super::lfs::split_lfs_path(path).is_some() {
        return Some("lfs");
    }
    match split_git_path(path)?.1 {
        GitEndpoint::UploadPack => Some("git-upload-pack"),
        GitEndpoint::ReceivePack => Some("git-receive-pack"),
        GitEndpoint::InfoRefs => query.split('&').find_map(|p| match p {
            "service=git-upload-pack" => Some("git-upload-pack"),
            "service=git-receive-pack" => Some("git-receive-pack"),
            _ => None,
        }),
        GitEndpoint::Head => None,
    }
}

/// The route a request took, a small fixed set (the metrics' `route` label must not grow
/// with client input).
pub fn route_of(path: &str, query: &str) -> &'static str {
    if let Some(s) = service_of(path, query) {
        return s;
    }
    match path {
        "/healthz" => "healthz",
        "/metrics" => "metrics",
        "/" => "page",
        p if p == "/api" || p.starts_with("/api/") => "api",
        p if split_git_path(p).is_some() => "git-other",
        p if super::page::is_page_path(p) => "page",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(path: &'a str, user: Option<&'a str>) -> AccessEntry<'a> {
        AccessEntry {
            time: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            remote_addr: Some("127.0.0.1"),
            user,
            method: "GET",
            path,
            status: 200,
            bytes: 42,
            duration: Duration::from_micros(1500),
            service: Some("git-upload-pack"),
        }
    }

    #[test]
    fn renders_text_and_json() {
        let e = entry("/a/b.git/info/refs?service=git-upload-pack", Some("alice"));
        assert_eq!(
            e.render(LogFormat::Text),
            "2023-11-14T22:13:20.123Z 127.0.0.1 alice GET /a/b.git/info/refs?service=git-upload-pack 200 42 1.500ms git-upload-pack"
        );
        let v: serde_json::Value = serde_json::from_str(&e.render(LogFormat::Json)).unwrap();
        assert_eq!(v["user"], "alice");
        assert_eq!(v["status"], 200);
        assert_eq!(v["duration_ms"], 1.5);
    }

    #[test]
    fn hostile_paths_stay_on_one_line() {
        let e = entry("/a\nb c\u{1b}", None);
        let line = e.render(LogFormat::Text);
        assert!(!line.contains('\n') && !line.contains('\u{1b}'), "{line}");
        assert_eq!(line.split(' ').count(), 9, "{line}");
        assert!(line.contains(" - GET "), "{line}");
        assert!(!e.render(LogFormat::Json).contains('\n'));
    }

    #[test]
    fn services_and_routes() {
        assert_eq!(
            service_of("/a/b.git/info/refs", "service=git-receive-pack"),
            Some("git-receive-pack")
        );
        assert_eq!(
            service_of("/a/b.git/git-upload-pack", ""),
            Some("git-upload-pack")
        );
        assert_eq!(
            service_of("/a/b.git/info/lfs/objects/batch", ""),
            Some("lfs")
        );
        assert_eq!(route_of("/a/b.git/HEAD", ""), "git-other");
        assert_eq!(route_of("/x/y/z/w", ""), "other");
        assert_eq!(route_of("/metrics", ""), "metrics");
    }
}
