//! `hubctl serve` and `hubctl cgi`.

use std::path::PathBuf;

use clap::Args;

use super::*;

/// Options of `hubctl serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT; a bare PORT means 127.0.0.1:PORT (port 0 picks a free
    /// port; the chosen address is logged).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = parse_listen_arg)]
    pub listen: String,
    /// Worker threads answering requests.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: u16,
    /// PEM certificate chain: serve HTTPS (needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Options shared with `hubctl cgi`.
    #[command(flatten)]
    pub http: HttpArgs,
}

/// Options shared by the HTTP transports.
#[derive(Debug, Args)]
pub struct HttpArgs {
    /// Refuse pushes whose pack is larger than SIZE (e.g. 500MB); unlimited by default.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg, env = "HUBCTL_MAX_PUSH_SIZE")]
    pub max_push_size: Option<u64>,
    /// Access log lines (one per request, on stderr) as text or JSON.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormatArg::Text, env = "HUBCTL_LOG_FORMAT")]
    pub log_format: LogFormatArg,
}

/// The access log's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormatArg {
    /// `TIME ADDR USER METHOD PATH STATUS BYTES DURATION SERVICE`, `-` for a missing field.
    Text,
    /// One JSON object per line.
    Json,
}

/// Options of `hubctl cgi`.
#[derive(Debug, Args)]
pub struct CgiArgs {
    /// Options shared with `hubctl serve`.
    #[command(flatten)]
    pub http: HttpArgs,
    /// Treat the web server's REMOTE_USER as an authenticated hubctl user. Only for web
    /// servers that verified the password: nginx sets $remote_user from any Basic header.
    #[arg(long, env = "HUBCTL_TRUST_REMOTE_USER", value_parser = clap::builder::BoolishValueParser::new())]
    pub trust_remote_user: bool,
    /// What to write on stderr (the web server's error log): "error" (the default) writes
    /// failures only; "info" adds one access line per request.
    #[arg(long, value_name = "LEVEL", value_enum, default_value_t = CgiLogArg::Error, env = "HUBCTL_LOG")]
    pub log: CgiLogArg,
}

/// How much `hubctl cgi` logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CgiLogArg {
    /// Failures only.
    #[value(alias = "warn", alias = "off")]
    Error,
    /// Failures and one access line per request.
    #[value(alias = "debug")]
    Info,
}

/// `--listen`: `HOST:PORT` as given, or a bare port on the loopback address (a port alone is
/// what people type first; serving only this machine is the safe reading of it).
fn parse_listen_arg(s: &str) -> Result<String, String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return match s.parse::<u16>() {
            Ok(port) => Ok(format!("127.0.0.1:{port}")),
            Err(_) => Err(format!("port {s} is out of range (0 to 65535)")),
        };
    }
    let port_ok = s
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !port_ok {
        return Err(format!(
            "{s:?} is not an address to listen on: use HOST:PORT (e.g. 127.0.0.1:8080, 0.0.0.0:443, [::1]:8080) or a PORT"
        ));
    }
    Ok(s.to_string())
}
