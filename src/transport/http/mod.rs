//! hubctl's own small HTTP model, shared by every HTTP transport.
//!
//! The standalone server ([`serve`], on tiny_http) and the CGI adapter ([`cgi`]) translate their
//! world into a [`Request`], hand it to the one [`router`], and write the [`Response`] back. No
//! handler knows which transport it runs under. Bodies stream in both directions: a request
//! body is a reader, a response body may be a reader that produces bytes as git does.

pub mod api;
pub mod cgi;
pub mod git;
pub mod lfs;
pub mod log;
pub mod ops;
pub mod page;
pub mod refusal;
pub mod router;
pub mod serve;

use std::io::Read;

/// Largest total size of request headers hubctl accepts (431 above this).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The request methods hubctl routes on; anything else is [`Method::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// HEAD (answered like GET, without a body)
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// Any other method, kept for the access log.
    Other(String),
}

impl Method {
    /// Parse a method token (case-sensitive, as RFC 9110 says).
    pub fn parse(s: &str) -> Method {
        match s {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            other => Method::Other(other.to_string()),
        }
    }

    /// The method token.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Other(s) => s,
        }
    }

    /// GET or HEAD.
    pub fn is_read(&self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

/// Request headers, looked up case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// Add one header.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// The first value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Total size of names and values, for the header size limit.
    pub fn byte_len(&self) -> usize {
        self.0.iter().map(|(n, v)| n.len() + v.len() + 4).sum()
    }
}

/// One HTTP request as the router sees it.
pub struct Request<'a> {
    /// The request method.
    pub method: Method,
    /// The percent-decoded path, starting with `/`.
    pub path: String,
    /// The raw query string (without `?`).
    pub query: String,
    /// Request headers.
    pub headers: Headers,
    /// The request body, de-chunked by the transport; never buffered whole.
    pub body: &'a mut dyn Read,
    /// A user the transport itself authenticated (CGI `REMOTE_USER` when trusted).
    pub remote_user: Option<String>,
    /// The client address, for logs and git's reflog identity.
    pub remote_addr: Option<String>,
    /// The request came over TLS (for absolute URLs hubctl hands out, such as LFS actions).
    pub secure: bool,
    /// The URL path prefix the web server mounted hubctl at (CGI `SCRIPT_NAME`), without a
    /// trailing `/`; empty for `hubctl serve`.
    pub script_name: String,
    /// `GIT_PROTOCOL` as the web server set it for a CGI request (possibly empty, which pins
    /// protocol v0); it wins over the `Git-Protocol` header, as with git http-backend.
    pub git_protocol_env: Option<String>,
    /// The hubctl user the request authenticated as, set by the handler that checked the
    /// credentials, for the access log.
    pub user: std::cell::OnceCell<String>,
    /// A user the embedding application authenticated itself (see
    /// [`crate::access::credentials::Presented::application_user`]).
    pub application_user: Option<String>,
}

impl Request<'_> {
    /// What the request presents about its sender, for [`crate::access::credentials`].
    pub fn presented(&self, trust_remote_user: bool) -> crate::access::credentials::Presented<'_> {
        crate::access::credentials::Presented {
            authorization: self.headers.get("Authorization"),
            remote_user: self.remote_user.as_deref(),
            trust_remote_user,
            application_user: self.application_user.as_deref(),
        }
    }

    /// Remember who the request authenticated as, for the access log.
    pub fn note_user(&self, principal: &crate::access::Principal) {
        if let Some(name) = principal.user_name() {
            let _ = self.user.set(name.to_string());
        }
    }

    /// The first value of query parameter `name`, percent-decoded; `None` if absent or not UTF-8.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_decode(&k.replace('+', " "))?;
            if k == name {
                percent_decode(&v.replace('+', " "))
            } else {
                None
            }
        })
    }
}

/// A response body.
pub enum Body {
    /// No body.
    Empty,
    /// A complete body in memory (errors, small documents).
    Bytes(Vec<u8>),
    /// A body produced while it is sent; its length is unknown in advance.
    Stream(Box<dyn Read + Send>),
    /// A streamed body whose length is known: sent with `Content-Length`.
    Sized(Box<dyn Read + Send>, u64),
    /// Bytes of a file (an LFS object): sent with `Content-Length`, by the kernel where the
    /// transport can (`sendfile(2)`), so the bytes never pass through user space.
    File(FileBody),
}

/// A [`Body::File`].
pub struct FileBody {
    /// The open file, positioned at the first byte to send.
    pub file: std::fs::File,
    /// How many bytes to send from there.
    pub len: u64,
    /// The whole file's path, for a web server that sends files itself (nginx's
    /// `X-Accel-Redirect`); such a server answers the request's `Range` itself.
    pub path: std::path::PathBuf,
}

/// One HTTP response.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Response headers (besides those the transport adds, such as Date).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

impl Response {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    /// A `text/plain` response whose body is `message` plus a newline.
    pub fn text(status: u16, message: impl Into<String>) -> Response {
        let mut body = message.into();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Response::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .bytes(body.into_bytes())
    }

    /// A JSON response.
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        let mut body = serde_json::to_vec_pretty(value).unwrap_or_default();
        body.push(b'\n');
        Response::new(status)
            .header("Content-Type", "application/json")
            .bytes(body)
    }

    /// Add a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Set an in-memory body.
    pub fn bytes(mut self, body: Vec<u8>) -> Response {
        self.body = Body::Bytes(body);
        self
    }

    /// Set a streaming body.
    pub fn stream(mut self, body: Box<dyn Read + Send>) -> Response {
        self.body = Body::Stream(body);
        self
    }

    /// Set a streaming body of known length.
    pub fn sized(mut self, body: Box<dyn Read + Send>, len: u64) -> Response {
        self.body = Body::Sized(body, len);
        self
    }

    /// Set a file body: `len` bytes from the file's current position; `path` is the whole
    /// file's.
    pub fn file(mut self, file: std::fs::File, len: u64, path: std::path::PathBuf) -> Response {
        self.body = Body::File(FileBody { file, len, path });
        self
    }

    /// Add git-http-backend's "never cache" header set.
    pub fn no_cache(self) -> Response {
        self.header("Expires", "Fri, 01 Jan 1980 00:00:00 GMT")
            .header("Pragma", "no-cache")
            .header("Cache-Control", "no-cache, max-age=0, must-revalidate")
    }

    /// The value of header `name`, if set.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The standard reason phrase for `status` (used by CGI's `Status:` line).
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        206 => "Partial Content",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        507 => "Insufficient Storage",
        _ => "Unknown",
    }
}

/// Decode `%XX` escapes; `None` if an escape is malformed or the result is not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            // Exactly two hex digits (`from_str_radix` would also take `+f`).
            let hex = bytes.get(i + 1..i + 3)?;
            let high = char::from(hex[0]).to_digit(16)?;
            let low = char::from(hex[1]).to_digit(16)?;
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("a%2e%2Eb").as_deref(), Some("a..b"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%ff"), None);
        // A sign is not a hex digit (`from_str_radix` took `%+f` as 0x0f).
        assert_eq!(percent_decode("%+f"), None);
        assert_eq!(percent_decode("%-0"), None);
    }

    #[test]
    fn query_params() {
        let mut body = std::io::empty();
        let req = Request {
            method: Method::Get,
            path: "/".into(),
            query: "a=1&service=git-upload-pack&x".into(),
            headers: Headers::default(),
            body: &mut body,
            remote_user: None,
            remote_addr: None,
            secure: false,
            script_name: String::new(),
            git_protocol_env: None,
            application_user: None,
            user: Default::default(),
        };
        assert_eq!(
            req.query_param("service").as_deref(),
            Some("git-upload-pack")
        );
        assert_eq!(req.query_param("x").as_deref(), Some(""));
        assert_eq!(req.query_param("y"), None);
    }
}
