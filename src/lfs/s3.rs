//! Git LFS objects in an S3-compatible object store (AWS S3, MinIO, Ceph RGW, Garage, R2).
//!
//! [`S3Store`] implements [`ObjectStore`] on one bucket, with every repository's objects below
//! `<prefix>/<ns>/<name>/<oid[0:2]>/<oid[2:4]>/<oid>`, so a repository is one key prefix.
//! Requests are signed with SigV4 by `rusty-s3` (sans-IO) and sent with `ureq` (blocking):
//! no async runtime.
//!
//! Two modes:
//! - **presigned** (the default): the batch answer hands clients presigned S3 URLs
//!   ([`ObjectStore::direct_action`]), so object bytes never pass through hubctl. The upload
//!   URL signs `x-amz-checksum-sha256` (the oid), so a store that checks checksums refuses a
//!   body that does not match; `verify` then checks with `HEAD` that the object is there with
//!   the right size and, where the store reports it, the right checksum. An object whose store
//!   reports no checksum is marked unverified (a file in `<repo>.git/lfs/unverified/`) for
//!   `hubctl lfs fsck`.
//! - **proxy** (`lfs-s3-proxy on`): hubctl streams uploads to the store (multipart above
//!   [`MULTIPART_THRESHOLD`]) while hashing, and makes the store drop anything whose size or
//!   SHA-256 is wrong by failing the request before its last byte (or aborting the multipart
//!   upload), so nothing unverified ever becomes visible. Downloads stream back, with `Range`.
//!
//! Failures are typed: an unreachable store or one answering 5xx is
//! [`StorageError::Unavailable`] (503 with `Retry-After`), refused credentials or a missing
//! bucket [`StorageError::Backend`] (a clear 500).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use rusty_s3::{Bucket, Credentials, S3Action as _, UrlStyle};
use sha2::Digest as _;

use super::oid::Oid;
use super::storage::{
    ByteRange, DirectAction, ObjectRead, ObjectReader, ObjectStore, PutOutcome, StorageError,
    Verified,
};
use super::token::TokenOp;
use crate::core::env::AwsKeys;
use crate::core::names::RepoName;
use crate::settings::S3Settings;

/// Objects larger than this go up in parts (S3 takes at most 5 GiB in one PUT; parts also
/// let a store start storing before the end).
pub const MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;
/// Smallest part of a multipart upload (S3 allows at most 10,000 parts): boto3's
/// `TransferConfig` default, so the store sees what its own client sends.
const MIN_PART: u64 = 8 * 1024 * 1024;
/// Largest part that is read into memory first (objects up to 10,000 times this, 156 GiB):
/// larger parts (bigger objects) stream through without a per-part checksum.
const MAX_BUFFERED_PART: u64 = 16 * 1024 * 1024;
/// Parts of one object being sent at the same time. With the part being read from the
/// client, one object's upload holds at most `PART_SENDERS + 1` part buffers (32 MiB with
/// 8 MiB parts).
const PART_SENDERS: usize = 3;
/// S3's most parts per upload.
const MAX_PARTS: u64 = 10_000;
/// How long a request to the store may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the store may take to start answering a request (after its body was sent): a
/// store that accepts connections but does not answer is unavailable, not waited on forever.
/// Below git-lfs's own 30 s (`lfs.activitytimeout`), so the client gets hubctl's answer naming
/// the store rather than its own "i/o timeout".
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one write to or read from the store's connection may stall (restarted by each
/// write or read, so a long transfer that moves is never cut): a store that stops taking a
/// body or stops sending one mid-way is unavailable, not waited on forever (the same bound
/// as [`RESPONSE_TIMEOUT`], for the same reason).
const STALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Lifetime of the signatures on hubctl's own requests.
const OWN_REQUEST_TTL: Duration = Duration::from_secs(3600);
/// Longest error body read from the store.
const MAX_ERROR_BODY: u64 = 64 * 1024;
/// Longest listing page read from the store.
const MAX_LIST_BODY: u64 = 16 * 1024 * 1024;
/// Keys asked for in the one listing a batch answer starts with: a repository with no more
/// objects than this is answered from the listing alone (see `stat_batch`).
const BATCH_LISTING_KEYS: usize = 100;

/// The store's resolved configuration: settings plus credentials, shared by every repository.
#[derive(Clone)]
pub struct S3Config {
    bucket: Bucket,
    credentials: Credentials,
    prefix: String,
    proxy: bool,
    bucket_name: String,
    endpoint: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket_name)
            .field("prefix", &self.prefix)
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

impl S3Config {
    /// Resolve the `lfs-s3-*` settings: credentials from `env` (AWS's variables) or, without
    /// them, from the settings' credentials file. Never from the database.
    pub fn resolve(settings: &S3Settings, env: Option<&AwsKeys>) -> Result<S3Config, StorageError> {
        let config = |why: String| StorageError::Config(why);
        let endpoint = settings.endpoint.clone().ok_or_else(|| {
            config("lfs-storage is s3 but lfs-s3-endpoint is not set (hubctl config set lfs-s3-endpoint URL)".into())
        })?;
        let bucket_name = settings.bucket.clone().ok_or_else(|| {
            config("lfs-storage is s3 but lfs-s3-bucket is not set (hubctl config set lfs-s3-bucket NAME)".into())
        })?;
        let url = endpoint
            .parse()
            .map_err(|e| config(format!("lfs-s3-endpoint {endpoint:?}: {e}")))?;
        let style = if settings.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(url, style, bucket_name.clone(), settings.region.clone())
            .map_err(|e| config(format!("lfs-s3-endpoint {endpoint:?}: {e}")))?;
        let keys = match env {
            Some(k) => k.clone(),
            None => match &settings.credentials_file {
                Some(path) => read_credentials_file(path)?,
                None => {
                    return Err(config(
                        "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or hubctl config set lfs-s3-credentials-file PATH".into(),
                    ));
                }
            },
        };
        let credentials = match keys.session_token {
            Some(t) => Credentials::new_with_token(keys.access_key_id, keys.secret_access_key, t),
            None => Credentials::new(keys.access_key_id, keys.secret_access_key),
        };
        Ok(S3Config {
            bucket,
            credentials,
            prefix: settings.prefix.clone(),
            proxy: settings.proxy,
            bucket_name,
            endpoint,
        })
    }

    /// The bucket's name.
    pub fn bucket_name(&self) -> &str {
        &self.bucket_name
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// Read `aws_access_key_id`, `aws_secret_access_key` and optionally `aws_session_token` from
/// the `[default]` section (or, without one, the file's top) of an AWS shared credentials
/// file.
pub fn read_credentials_file(path: &Path) -> Result<AwsKeys, StorageError> {
    let text = fs::read_to_string(path).map_err(|e| {
        StorageError::Config(format!(
            "reading the S3 credentials file {}: {e}",
            path.display()
        ))
    })?;
    let mut section = String::new();
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        if !(section.is_empty() || section == "default") {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            found.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let get = |k: &str| found.get(k).filter(|v| !v.is_empty()).cloned();
    match (get("aws_access_key_id"), get("aws_secret_access_key")) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(AwsKeys {
            access_key_id,
            secret_access_key,
            session_token: get("aws_session_token"),
        }),
        _ => Err(StorageError::Config(format!(
            "the S3 credentials file {} has no aws_access_key_id and aws_secret_access_key in [default]",
            path.display()
        ))),
    }
}

/// One repository's objects in the bucket.
pub struct S3Store {
    cfg: S3Config,
    /// `<prefix>/<ns>/<name>/`, ending in `/`.
    repo_prefix: String,
    /// `<repo>.git/lfs/unverified`: objects whose checksum the store could not confirm.
    unverified_dir: PathBuf,
    /// For requests without an object body.
    agent: ureq::Agent,
    /// For object bytes (proxy mode's uploads and downloads).
    bulk: ureq::Agent,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("cfg", &self.cfg)
            .field("repo_prefix", &self.repo_prefix)
            .finish_non_exhaustive()
    }
}

/// The key prefix of repository `name`'s objects: `<prefix>/<ns>/<name>/`.
pub fn repo_prefix(prefix: &str, name: &RepoName) -> String {
    if prefix.is_empty() {
        format!("{}/{}/", name.ns(), name.name())
    } else {
        format!("{prefix}/{}/{}/", name.ns(), name.name())
    }
}

/// Why a request to the store did not get an answer.
fn unreachable(what: &str, e: &ureq::Error) -> StorageError {
    StorageError::Unavailable(format!("S3 store unreachable while {what}: {e}"))
}

/// The `<Code>` of an S3 XML error body, if any.
fn error_code(body: &str) -> Option<&str> {
    let start = body.find("<Code>")? + "<Code>".len();
    let end = body[start..].find("</Code>")? + start;
    Some(&body[start..end])
}

/// What a refusal's error code tells the operator to fix (AWS's codes, which S3-compatible
/// stores reuse); empty for codes that say nothing more than the status.
fn refusal_cause(code: &str, access_key: &str) -> String {
    match code {
        "SignatureDoesNotMatch" => format!(
            ": the secret access key is not the one the store has for access key {access_key}"
        ),
        "InvalidAccessKeyId" => format!(": the store does not know access key {access_key}"),
        "AccessDenied" => format!(
            ": the store denies access key {access_key} this request (check the key's permissions and the bucket's policy)"
        ),
        "ExpiredToken" | "InvalidToken" => {
            ": the session token (AWS_SESSION_TOKEN) has expired or is not valid".to_string()
        }
        "RequestTimeTooSkewed" => {
            ": hubctl's clock and the store's differ by too much for the signature".to_string()
        }
        _ => String::new(),
    }
}

fn header<'r>(resp: &'r ureq::http::Response<ureq::Body>, name: &str) -> Option<&'r str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Buffer size (each way) of a connection for requests without an object body (`HEAD`,
/// `DELETE`, listings, starting and completing multipart uploads): their heads are a few KiB.
/// ureq allocates and zeroes its buffers for every new connection (128 KiB each way by
/// default), which was a measurable share of a presigned verify's CPU against a store that
/// closes every connection.
const CONTROL_BUFFER: usize = 16 * 1024;
/// Buffer size (each way) of a connection that carries object bytes (proxy mode).
const BULK_BUFFER: usize = 128 * 1024;

/// One page of a listing: keys with their sizes, and the token of the next page if any.
type ListPage = (Vec<(String, u64)>, Option<String>);

/// The XML namespace of S3's answers.
const S3_NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// A listing answer with its root element in S3's own namespace. The parser accepts only that
/// one, and some stores declare another (s3rver: `http://doc.s3.amazonaws.com/2006-03-01/`)
/// or none, for the same elements.
fn with_standard_namespace(body: &str) -> std::borrow::Cow<'_, str> {
    const ROOT: &str = "<ListBucketResult";
    let Some(start) = body.find(ROOT) else {
        return body.into();
    };
    let open = start + ROOT.len();
    let Some(len) = body[open..].find('>') else {
        return body.into();
    };
    let attrs = &body[open..open + len];
    let declared = attrs.find("xmlns=\"").and_then(|at| {
        let value = at + "xmlns=\"".len();
        attrs[value..].find('"').map(|end| (value, value + end))
    });
    match declared {
        Some((from, to)) if &attrs[from..to] == S3_NAMESPACE => body.into(),
        Some((from, to)) => format!(
            "{}{S3_NAMESPACE}{}",
            &body[..open + from],
            &body[open + to..]
        )
        .into(),
        None => format!(
            "{} xmlns=\"{S3_NAMESPACE}\"{}",
            &body[..open],
            &body[open..]
        )
        .into(),
    }
}

/// The process's HTTP clients for the store: `control` for requests without an object body,
/// `bulk` for object bytes. Their connection pools keep connections alive between the
/// requests a `serve` answers (a client per store opened a new TCP connection for every batch
/// and verify call); the settings are the same for every store.
fn shared_agents() -> (ureq::Agent, ureq::Agent) {
    static AGENTS: std::sync::OnceLock<(ureq::Agent, ureq::Agent)> = std::sync::OnceLock::new();
    let agent = |buffer: usize| -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(RESPONSE_TIMEOUT))
            .timeout_per_write(Some(STALL_TIMEOUT))
            .timeout_per_read(Some(STALL_TIMEOUT))
            // The operator's proxy variables are not hubctl's configuration.
            .proxy(None)
            .user_agent(concat!("hubctl/", env!("CARGO_PKG_VERSION")))
            .input_buffer_size(buffer)
            .output_buffer_size(buffer)
            .build()
            .into()
    };
    AGENTS
        .get_or_init(|| (agent(CONTROL_BUFFER), agent(BULK_BUFFER)))
        .clone()
}

impl S3Store {
    /// The objects of repository `name` (whose directory is `git_dir`) in the store `cfg`.
    pub fn new(cfg: S3Config, name: &RepoName, git_dir: &Path) -> S3Store {
        let prefix = repo_prefix(&cfg.prefix, name);
        S3Store::with_prefix(cfg, prefix, git_dir.join("lfs").join("unverified"))
    }

    /// Check the store of `cfg` as a whole (reachable, credentials accepted, bucket present),
    /// for `hubctl doctor`.
    pub fn check_config(cfg: S3Config) -> Result<(), StorageError> {
        S3Store::with_prefix(cfg, String::new(), PathBuf::new()).check_bucket()
    }

    fn with_prefix(cfg: S3Config, repo_prefix: String, unverified_dir: PathBuf) -> S3Store {
        let (agent, bulk) = shared_agents();
        S3Store {
            repo_prefix,
            cfg,
            unverified_dir,
            agent,
            bulk,
        }
    }

    /// The object key of `oid`.
    pub fn key(&self, oid: &Oid) -> String {
        format!("{}{}", self.repo_prefix, oid.shard_path().display())
    }

    /// The key prefix of this repository (ends in `/`).
    pub fn prefix(&self) -> &str {
        &self.repo_prefix
    }

    /// Whether clients get presigned URLs (false: hubctl streams the bytes).
    pub fn presigned(&self) -> bool {
        !self.cfg.proxy
    }

    /// Turn a non-success answer into an error naming the cause, reading a bounded body.
    fn status_error(&self, what: &str, mut resp: ureq::http::Response<ureq::Body>) -> StorageError {
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_ERROR_BODY)
            .read_to_string()
            .unwrap_or_default();
        let code = error_code(&body).unwrap_or("");
        let bucket = &self.cfg.bucket_name;
        match (status, code) {
            (404, "NoSuchBucket") => StorageError::Backend(format!(
                "S3 bucket {bucket} does not exist at {} ({what})",
                self.cfg.endpoint
            )),
            (401 | 403, _) => StorageError::Backend(format!(
                "the S3 store refused hubctl's credentials for bucket {bucket} ({what}: HTTP {status}{}{code}){}",
                if code.is_empty() { "" } else { " " },
                refusal_cause(code, self.cfg.credentials.key())
            )),
            (500.., _) | (429, _) => StorageError::Unavailable(format!(
                "the S3 store answered HTTP {status}{}{code} while {what}",
                if code.is_empty() { "" } else { " " }
            )),
            _ => StorageError::Backend(format!(
                "the S3 store answered HTTP {status}{}{code} while {what}",
                if code.is_empty() { "" } else { " " }
            )),
        }
    }

    /// `HEAD` the bucket: reachable, credentials accepted, bucket present.
    pub fn check_bucket(&self) -> Result<(), StorageError> {
        let url = self
            .cfg
            .bucket
            .head_bucket(Some(&self.cfg.credentials))
            .sign(OWN_REQUEST_TTL);
        let what = "checking the bucket";
        let resp = self
            .agent
            .head(url.as_str())
            .call()
            .map_err(|e| unreachable(what, &e))?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            // HEAD answers have no body: name the likely cause from the status.
            404 => Err(StorageError::Backend(format!(
                "S3 bucket {} does not exist at {}",
                self.cfg.bucket_name, self.cfg.endpoint
            ))),
            401 | 403 => Err(self.head_refusal(what, None, resp)),
            _ => Err(self.status_error(what, resp)),
        }
    }

    /// The error for a refused `HEAD` (of the object `key`, or of the bucket). A HEAD answer
    /// has no body, so it cannot say whether the secret key is wrong or the access key unknown;
    /// one GET of the same resource (the bucket's listing of at most one key, or the object's
    /// first byte) is refused with a body naming the cause. When that GET is not refused the
    /// same way, the HEAD's status alone is reported.
    fn head_refusal(
        &self,
        what: &str,
        key: Option<&str>,
        head: ureq::http::Response<ureq::Body>,
    ) -> StorageError {
        let status = head.status();
        let creds = Some(&self.cfg.credentials);
        let request = match key {
            Some(key) => {
                let url = self.cfg.bucket.get_object(creds, key).sign(OWN_REQUEST_TTL);
                self.agent.get(url.as_str()).header("Range", "bytes=0-0")
            }
            None => {
                let mut list = self.cfg.bucket.list_objects_v2(creds);
                list.with_max_keys(1);
                let url = list.sign(OWN_REQUEST_TTL);
                self.agent.get(url.as_str())
            }
        };
        match request.call() {
            Ok(get) if get.status() == status => self.status_error(what, get),
            _ => self.status_error(what, head),
        }
    }

    /// `HEAD` an object, asking for its checksum: `(size, x-amz-checksum-sha256)`.
    fn head(&self, oid: &Oid) -> Result<Option<(u64, Option<String>)>, StorageError> {
        let key = self.key(oid);
        let mut action = self
            .cfg
            .bucket
            .head_object(Some(&self.cfg.credentials), &key);
        action
            .headers_mut()
            .insert("x-amz-checksum-mode", "ENABLED");
        let url = action.sign(OWN_REQUEST_TTL);
        let what = format!("looking up {oid}");
        let resp = self
            .agent
            .head(url.as_str())
            .header("x-amz-checksum-mode", "ENABLED")
            .call()
            .map_err(|e| unreachable(&what, &e))?;
        match resp.status().as_u16() {
            200..=299 => {
                let size = header(&resp, "content-length")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .ok_or_else(|| {
                        StorageError::Backend(format!(
                            "the S3 store gave no size for {oid} ({what})"
                        ))
                    })?;
                let sum = header(&resp, "x-amz-checksum-sha256").map(str::to_string);
                Ok(Some((size, sum)))
            }
            404 => Ok(None),
            401 | 403 => Err(self.head_refusal(&what, Some(&key), resp)),
            _ => Err(self.status_error(&what, resp)),
        }
    }

    /// Delete one object (missing is fine).
    fn delete_key(&self, key: &str) -> Result<(), StorageError> {
        let url = self
            .cfg
            .bucket
            .delete_object(Some(&self.cfg.credentials), key)
            .sign(OWN_REQUEST_TTL);
        let what = format!("deleting {key}");
        let resp = self
            .agent
            .delete(url.as_str())
            .call()
            .map_err(|e| unreachable(&what, &e))?;
        match resp.status().as_u16() {
            200..=299 | 404 => Ok(()),
            _ => Err(self.status_error(&what, resp)),
        }
    }

    /// Delete a stored object (`lfs fsck` of a corrupt object, a failed verify).
    pub fn delete(&self, oid: &Oid) -> Result<(), StorageError> {
        self.delete_key(&self.key(oid))
    }

    /// One page of the keys below `prefix` with their sizes, from `token` on (at most
    /// `max_keys`, or the store's own page size): the keys, and the token of the next page if
    /// there is one.
    fn list_page(
        &self,
        prefix: &str,
        token: Option<String>,
        max_keys: Option<usize>,
        what: &str,
    ) -> Result<ListPage, StorageError> {
        let mut action = self.cfg.bucket.list_objects_v2(Some(&self.cfg.credentials));
        action.with_prefix(prefix);
        if let Some(t) = token {
            action.with_continuation_token(t);
        }
        if let Some(n) = max_keys {
            action.with_max_keys(n);
        }
        let url = action.sign(OWN_REQUEST_TTL);
        let mut resp = self
            .agent
            .get(url.as_str())
            .call()
            .map_err(|e| unreachable(what, &e))?;
        if !resp.status().is_success() {
            return Err(self.status_error(what, resp));
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_LIST_BODY)
            .read_to_string()
            .map_err(|e| unreachable(what, &e))?;
        let body = with_standard_namespace(&body);
        let page = rusty_s3::actions::ListObjectsV2::parse_response(&body).map_err(|e| {
            StorageError::Backend(format!("the S3 store's listing of {prefix}: {e}"))
        })?;
        let keys = page.contents.into_iter().map(|c| (c.key, c.size)).collect();
        Ok((keys, page.next_continuation_token.filter(|t| !t.is_empty())))
    }

    /// Every key below `prefix` with its size, in key order.
    fn list_keys(&self, prefix: &str) -> Result<Vec<(String, u64)>, StorageError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let (keys, next) = self.list_page(prefix, token, None, &format!("listing {prefix}"))?;
            out.extend(keys);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        out.sort();
        Ok(out)
    }

    /// Delete every object of this repository (`repo rm`). Returns how many were removed.
    pub fn delete_all(&self) -> Result<usize, StorageError> {
        let keys = self.list_keys(&self.repo_prefix)?;
        for (key, _) in &keys {
            self.delete_key(key)?;
        }
        Ok(keys.len())
    }

    /// The same bucket's store for another repository (`repo rename`'s target).
    pub fn for_repo(&self, name: &RepoName, git_dir: &Path) -> S3Store {
        S3Store::new(self.cfg.clone(), name, git_dir)
    }

    /// Copy every object of this repository to `to` inside the store (server-side, no bytes
    /// through hubctl), for `repo rename`, which deletes the originals once the rename is
    /// done. Returns how many were copied. Objects over 5 GiB cannot be copied in one request
    /// and fail the copy.
    pub fn copy_all_to(&self, to: &S3Store) -> Result<usize, StorageError> {
        let keys = self.list_keys(&self.repo_prefix)?;
        for (key, _) in &keys {
            let rest = &key[self.repo_prefix.len()..];
            let target = format!("{}{rest}", to.repo_prefix);
            let mut action = to.cfg.bucket.put_object(Some(&to.cfg.credentials), &target);
            let source = format!("/{}/{}", self.cfg.bucket_name, key);
            action
                .headers_mut()
                .insert("x-amz-copy-source", source.clone());
            let url = action.sign(OWN_REQUEST_TTL);
            let what = format!("copying {key} to {target}");
            let mut resp = self
                .agent
                .put(url.as_str())
                .header("x-amz-copy-source", &source)
                .send_empty()
                .map_err(|e| unreachable(&what, &e))?;
            // A copy can fail after its 200 status: the error is then in the body.
            let body = resp
                .body_mut()
                .with_config()
                .limit(MAX_ERROR_BODY)
                .read_to_string()
                .unwrap_or_default();
            if !resp.status().is_success() || body.contains("<Error>") {
                return Err(StorageError::Backend(format!(
                    "the S3 store failed {what}: HTTP {} {}",
                    resp.status().as_u16(),
                    error_code(&body).unwrap_or("")
                )));
            }
        }
        Ok(keys.len())
    }

    /// Objects marked unverified by a presigned upload's verify (the store reported no
    /// checksum): `lfs fsck` re-hashes them.
    pub fn unverified(&self) -> Vec<Oid> {
        let Ok(entries) = fs::read_dir(&self.unverified_dir) else {
            return Vec::new();
        };
        let mut out: Vec<Oid> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| Oid::parse(&n).ok())
            .collect();
        out.sort();
        out
    }

    /// Forget the unverified mark of `oid` (it was re-hashed, or deleted).
    pub fn clear_unverified(&self, oid: &Oid) {
        let _ = fs::remove_file(self.unverified_dir.join(oid.as_str()));
    }

    fn mark_unverified(&self, oid: &Oid) -> Result<(), StorageError> {
        let dir = &self.unverified_dir;
        fs::create_dir_all(dir)
            .and_then(|()| fs::write(dir.join(oid.as_str()), b""))
            .map_err(|source| StorageError::Io {
                context: format!("marking {oid} unverified in {}", dir.display()),
                source,
            })
    }

    /// One PUT of the whole object from `reader` (which fails before the last byte if the
    /// content is wrong, so the store keeps nothing).
    fn put_single(&self, oid: &Oid, size: u64, reader: &mut Verifying<'_>) -> Result<(), Failed> {
        let key = self.key(oid);
        let sum = checksum_of(oid);
        let mut action = self
            .cfg
            .bucket
            .put_object(Some(&self.cfg.credentials), &key);
        action
            .headers_mut()
            .insert("x-amz-checksum-sha256", sum.clone());
        action
            .headers_mut()
            .insert("x-amz-sdk-checksum-algorithm", "SHA256");
        let url = action.sign(OWN_REQUEST_TTL);
        let what = format!("storing {oid}");
        let resp = self
            .bulk
            .put(url.as_str())
            .header("Content-Length", size.to_string())
            .header("Content-Type", "application/octet-stream")
            .header("x-amz-checksum-sha256", &sum)
            .header("x-amz-sdk-checksum-algorithm", "SHA256")
            .send(ureq::SendBody::from_reader(reader));
        match resp {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(Failed::Store(self.status_error(&what, r))),
            Err(e) => Err(Failed::Send(unreachable(&what, &e))),
        }
    }

    /// A multipart upload of the object from `reader`; aborted on any failure.
    fn put_multipart(
        &self,
        oid: &Oid,
        size: u64,
        reader: &mut Verifying<'_>,
    ) -> Result<(), Failed> {
        let key = self.key(oid);
        let what = format!("storing {oid}");
        let part_size = MIN_PART.max(size.div_ceil(MAX_PARTS));
        let buffered = part_size <= MAX_BUFFERED_PART;
        let mut create = self
            .cfg
            .bucket
            .create_multipart_upload(Some(&self.cfg.credentials), &key);
        // Buffered parts carry their CRC32, as boto3's do: the store then checks each part
        // as it arrives and combines the part checksums at the end, where an upload that
        // declared nothing makes some stores (moto) checksum the whole object again.
        let declared = [
            ("x-amz-checksum-algorithm", "CRC32"),
            ("x-amz-checksum-type", "COMPOSITE"),
        ];
        if buffered {
            for (name, value) in declared {
                create.headers_mut().insert(name, value);
            }
        }
        let url = create.sign(OWN_REQUEST_TTL);
        let mut request = self.agent.post(url.as_str());
        if buffered {
            for (name, value) in declared {
                request = request.header(name, value);
            }
        }
        let mut resp = request
            .send_empty()
            .map_err(|e| Failed::Store(unreachable(&what, &e)))?;
        if !resp.status().is_success() {
            return Err(Failed::Store(self.status_error(&what, resp)));
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_ERROR_BODY)
            .read_to_string()
            .map_err(|e| Failed::Store(unreachable(&what, &e)))?;
        let created =
            rusty_s3::actions::CreateMultipartUpload::parse_response(&body).map_err(|e| {
                Failed::Store(StorageError::Backend(format!(
                    "starting a multipart upload of {oid}: {e}"
                )))
            })?;
        let upload_id = created.upload_id().to_string();
        let result = if buffered {
            self.upload_buffered_parts(oid, &key, &upload_id, size, part_size, reader)
        } else {
            self.upload_parts(oid, &key, &upload_id, size, part_size, reader)
        };
        if result.is_err() {
            let abort = self
                .cfg
                .bucket
                .abort_multipart_upload(Some(&self.cfg.credentials), &key, &upload_id)
                .sign(OWN_REQUEST_TTL);
            // Best effort: a store keeps an unfinished upload invisible either way.
            let _ = self.agent.delete(abort.as_str()).call();
        }
        result
    }

    /// The parts streamed one after the other straight from `reader` (parts too large to
    /// buffer), then the completion.
    fn upload_parts(
        &self,
        oid: &Oid,
        key: &str,
        upload_id: &str,
        size: u64,
        part_size: u64,
        reader: &mut Verifying<'_>,
    ) -> Result<(), Failed> {
        let parts = size.div_ceil(part_size);
        let mut sent = Vec::with_capacity(parts as usize);
        for n in 1..=parts {
            let len = part_size.min(size - (n - 1) * part_size);
            let number = u16::try_from(n).map_err(|_| {
                Failed::Store(StorageError::Backend(format!("{oid}: too many parts")))
            })?;
            let mut body = reader.by_ref().take(len);
            let part = self
                .send_part(
                    PartOf {
                        oid,
                        key,
                        upload_id,
                        parts,
                    },
                    number,
                    PartBody::Stream(&mut body, len),
                )
                .map_err(Failed::Send)?;
            sent.push(part);
        }
        if !reader.finished {
            // Cannot happen: the last part's last read checks the whole content.
            return Err(Failed::Send(StorageError::Backend(format!(
                "{oid}: upload ended before its content was checked"
            ))));
        }
        self.complete(oid, key, upload_id, &sent)
    }

    /// The parts read into bounded buffers from `reader` (each checked by its CRC32) and sent
    /// by up to [`PART_SENDERS`] threads while the next part is read, then the completion.
    /// The last part is read (and the object's SHA-256 checked) before the completion, so a
    /// wrong body never completes.
    fn upload_buffered_parts(
        &self,
        oid: &Oid,
        key: &str,
        upload_id: &str,
        size: u64,
        part_size: u64,
        reader: &mut Verifying<'_>,
    ) -> Result<(), Failed> {
        use std::sync::mpsc;
        use std::sync::{Arc, Mutex};
        let parts = size.div_ceil(part_size);
        if parts > MAX_PARTS {
            return Err(Failed::Store(StorageError::Backend(format!(
                "{oid}: too many parts"
            ))));
        }
        let len_of = |n: u64| part_size.min(size - (n - 1) * part_size) as usize;
        // Parts to send, at most one waiting; buffers come back for the next part.
        let (to_send, queue) = mpsc::sync_channel::<(u16, Vec<u8>)>(0);
        let queue = Arc::new(Mutex::new(queue));
        let (give_back, free) = mpsc::channel::<Vec<u8>>();
        let sent: Mutex<Vec<SentPart>> = Mutex::new(Vec::with_capacity(parts as usize));
        let failure: Mutex<Option<StorageError>> = Mutex::new(None);
        let read_result = std::thread::scope(|scope| {
            for _ in 0..PART_SENDERS.min(parts as usize) {
                let queue = Arc::clone(&queue);
                let give_back = give_back.clone();
                let (sent, failure) = (&sent, &failure);
                scope.spawn(move || {
                    loop {
                        // The lock is held only while taking the next part.
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok((number, buf)) = next else { break };
                        match self.send_part(
                            PartOf {
                                oid,
                                key,
                                upload_id,
                                parts,
                            },
                            number,
                            PartBody::Buffer(&buf),
                        ) {
                            Ok(part) => sent.lock().unwrap_or_else(|e| e.into_inner()).push(part),
                            Err(e) => {
                                failure
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .get_or_insert(e);
                                // Dropping the queue's receiver ends the reader's sends.
                                break;
                            }
                        }
                        let _ = give_back.send(buf);
                    }
                });
            }
            drop(give_back);
            // Only the senders may hold the queue: when the last of them stops (at a failure),
            // the receiver is gone and the reader's next send fails instead of waiting forever.
            drop(queue);
            let mut result = Ok(());
            for n in 1..=parts {
                let len = len_of(n);
                // A returned buffer is overwritten, not zeroed again (only the last part is
                // shorter).
                let mut buf = free.try_recv().unwrap_or_default();
                buf.resize(len, 0);
                if let Err(e) = reader.read_exact(&mut buf) {
                    result = Err(e);
                    break;
                }
                // The senders stop at the first failure; nothing is left to send then.
                if failure.lock().unwrap_or_else(|e| e.into_inner()).is_some()
                    || to_send.send((n as u16, buf)).is_err()
                {
                    break;
                }
            }
            drop(to_send);
            result
        });
        if let Err(e) = read_result {
            return Err(Failed::Send(StorageError::Body {
                oid: oid.clone(),
                source: e,
            }));
        }
        if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(Failed::Store(e));
        }
        let mut sent = sent.into_inner().unwrap_or_else(|e| e.into_inner());
        sent.sort_by_key(|p| p.number);
        if !reader.finished || sent.len() as u64 != parts {
            return Err(Failed::Send(StorageError::Backend(format!(
                "{oid}: upload ended before its content was checked"
            ))));
        }
        self.complete(oid, key, upload_id, &sent)
    }

    /// Send part `number` of an upload: a buffered part goes with its CRC32 (the store checks
    /// it, and the completion declares the object's composite CRC32), a streamed one with its
    /// length only.
    fn send_part(
        &self,
        of: PartOf<'_>,
        number: u16,
        body: PartBody<'_, '_>,
    ) -> Result<SentPart, StorageError> {
        let crc = match &body {
            PartBody::Buffer(buf) => Some(
                base64::engine::general_purpose::STANDARD
                    .encode(crc32fast::hash(buf).to_be_bytes()),
            ),
            PartBody::Stream(..) => None,
        };
        let mut action =
            self.cfg
                .bucket
                .upload_part(Some(&self.cfg.credentials), of.key, number, of.upload_id);
        if let Some(crc) = &crc {
            action
                .headers_mut()
                .insert("x-amz-checksum-crc32", crc.clone());
            action
                .headers_mut()
                .insert("x-amz-sdk-checksum-algorithm", "CRC32");
        }
        let url = action.sign(OWN_REQUEST_TTL);
        let what = format!("storing part {number} of {} of {}", of.parts, of.oid);
        let request = self.bulk.put(url.as_str());
        let sent = match body {
            PartBody::Buffer(buf) => request
                .header("x-amz-checksum-crc32", crc.as_deref().unwrap_or_default())
                .header("x-amz-sdk-checksum-algorithm", "CRC32")
                .send(buf),
            PartBody::Stream(reader, len) => request
                .header("Content-Length", len.to_string())
                .send(ureq::SendBody::from_reader(reader)),
        };
        let resp = sent.map_err(|e| unreachable(&what, &e))?;
        if !resp.status().is_success() {
            return Err(self.status_error(&what, resp));
        }
        let etag = header(&resp, "etag")
            .ok_or_else(|| StorageError::Backend(format!("no ETag for {what}")))?;
        Ok(SentPart {
            number,
            etag: etag.to_string(),
            crc32: crc,
        })
    }

    /// Complete a multipart upload from its parts (in order).
    fn complete(
        &self,
        oid: &Oid,
        key: &str,
        upload_id: &str,
        parts: &[SentPart],
    ) -> Result<(), Failed> {
        let complete = self.cfg.bucket.complete_multipart_upload(
            Some(&self.cfg.credentials),
            key,
            upload_id,
            parts.iter().map(|p| p.etag.as_str()),
        );
        let url = complete.sign(OWN_REQUEST_TTL);
        // rusty-s3's body has no part checksums: the body is written here.
        let mut body = String::from("<CompleteMultipartUpload>");
        for p in parts {
            body.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag>",
                p.number,
                xml_escape(&p.etag)
            ));
            if let Some(crc) = &p.crc32 {
                body.push_str(&format!("<ChecksumCRC32>{crc}</ChecksumCRC32>"));
            }
            body.push_str("</Part>");
        }
        body.push_str("</CompleteMultipartUpload>");
        let what = format!("completing the upload of {oid}");
        let mut resp = self
            .agent
            .post(url.as_str())
            .send(body.as_bytes())
            .map_err(|e| Failed::Store(unreachable(&what, &e)))?;
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_ERROR_BODY)
            .read_to_string()
            .unwrap_or_default();
        // Completing can fail after a 200 status: the error is then in the body.
        if !resp.status().is_success() || text.contains("<Error>") {
            return Err(Failed::Store(StorageError::Unavailable(format!(
                "the S3 store failed {what}: HTTP {} {}",
                resp.status().as_u16(),
                error_code(&text).unwrap_or("")
            ))));
        }
        Ok(())
    }
}

/// A part the store accepted.
struct SentPart {
    number: u16,
    etag: String,
    /// Its `x-amz-checksum-crc32`, when it was sent with one.
    crc32: Option<String>,
}

/// `text` safe inside an XML element.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `x-amz-checksum-sha256` of an object: its SHA-256 (the oid) in base64.
pub fn checksum_of(oid: &Oid) -> String {
    let hex = oid.as_str().as_bytes();
    let bytes: Vec<u8> = hex
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            digit(pair[0]) << 4 | digit(pair[1])
        })
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Why a streamed upload failed: the content (the reader recorded why) or the store.
/// Which multipart upload a part belongs to.
#[derive(Clone, Copy)]
struct PartOf<'a> {
    oid: &'a Oid,
    key: &'a str,
    upload_id: &'a str,
    /// How many parts the upload has (for messages).
    parts: u64,
}

/// A part's bytes: a bounded buffer, or `len` bytes read from the upload as they are sent.
enum PartBody<'b, 'r> {
    Buffer(&'b [u8]),
    Stream(&'b mut (dyn Read + 'r), u64),
}

enum Failed {
    /// The request failed while sending: the reader's own failure explains it if it has one.
    Send(StorageError),
    /// The store refused or failed.
    Store(StorageError),
}

/// The upload body as sent to the store: exactly `size` bytes, hashed on the way. Before it
/// hands over the last byte it checks that the client sends no more and that the content
/// hashes to the oid; otherwise it fails the read, the request is cut short, and the store
/// keeps nothing.
struct Verifying<'a> {
    oid: &'a Oid,
    size: u64,
    sent: u64,
    body: &'a mut dyn Read,
    hasher: sha2::Sha256,
    /// Why the content was refused, for the caller (the HTTP client only sees an I/O error).
    failure: Option<StorageError>,
    finished: bool,
}

impl Verifying<'_> {
    fn fail(&mut self, e: StorageError) -> io::Error {
        let text = e.to_string();
        self.failure = Some(e);
        io::Error::other(text)
    }

    /// The last bytes arrived: no more may follow, and the whole must hash to the oid.
    fn check_end(&mut self) -> io::Result<()> {
        let mut probe = [0u8; 1];
        loop {
            match self.body.read(&mut probe) {
                Ok(0) => break,
                Ok(_) => {
                    let e = StorageError::TooLong {
                        oid: self.oid.clone(),
                        expected: self.size,
                    };
                    return Err(self.fail(e));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    let e = StorageError::Body {
                        oid: self.oid.clone(),
                        source,
                    };
                    return Err(self.fail(e));
                }
            }
        }
        let digest: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        let actual = Oid::from_digest(&digest);
        if actual != *self.oid {
            let e = StorageError::HashMismatch {
                expected: self.oid.clone(),
                actual,
            };
            return Err(self.fail(e));
        }
        self.finished = true;
        Ok(())
    }
}

impl Read for Verifying<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failure.is_some() {
            return Err(io::Error::other("upload refused"));
        }
        let left = self.size - self.sent;
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = loop {
            match self.body.read(&mut buf[..want]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    let e = StorageError::Body {
                        oid: self.oid.clone(),
                        source,
                    };
                    return Err(self.fail(e));
                }
            }
        };
        if n == 0 {
            let e = StorageError::TooShort {
                oid: self.oid.clone(),
                expected: self.size,
                received: self.sent,
            };
            return Err(self.fail(e));
        }
        self.hasher.update(&buf[..n]);
        self.sent += n as u64;
        if self.sent == self.size {
            self.check_end()?;
        }
        Ok(n)
    }
}

impl ObjectStore for S3Store {
    fn put_verified(
        &self,
        oid: &Oid,
        size: u64,
        body: &mut dyn Read,
    ) -> Result<PutOutcome, StorageError> {
        if self.head(oid)?.is_some() {
            return Ok(PutOutcome::AlreadyPresent);
        }
        let mut reader = Verifying {
            oid,
            size,
            sent: 0,
            body,
            hasher: sha2::Sha256::new(),
            failure: None,
            finished: false,
        };
        if size == 0 {
            // No read will come to check the (empty) content: check it before sending.
            reader.check_end().map_err(|_| {
                reader
                    .failure
                    .take()
                    .unwrap_or_else(|| StorageError::Backend("empty upload refused".into()))
            })?;
        }
        let result = if size > MULTIPART_THRESHOLD {
            self.put_multipart(oid, size, &mut reader)
        } else {
            self.put_single(oid, size, &mut reader)
        };
        match result {
            Ok(()) => {
                self.clear_unverified(oid);
                Ok(PutOutcome::Stored)
            }
            // The content's own failure explains a cut request best.
            Err(Failed::Send(e) | Failed::Store(e)) => Err(reader.failure.take().unwrap_or(e)),
        }
    }

    fn get(&self, oid: &Oid, range: Option<ByteRange>) -> Result<ObjectRead, StorageError> {
        let key = self.key(oid);
        let url = self
            .cfg
            .bucket
            .get_object(Some(&self.cfg.credentials), &key)
            .sign(OWN_REQUEST_TTL);
        let what = format!("reading {oid}");
        let mut req = self.bulk.get(url.as_str());
        if let Some(r) = range {
            let spec = match r.end {
                Some(end) => format!("bytes={}-{end}", r.start),
                None => format!("bytes={}-", r.start),
            };
            req = req.header("Range", spec);
        }
        let resp = req.call().map_err(|e| unreachable(&what, &e))?;
        let status = resp.status().as_u16();
        let len = header(&resp, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
        match status {
            200 | 206 => {
                let len = len.ok_or_else(|| {
                    StorageError::Backend(format!("the S3 store gave no length for {oid}"))
                })?;
                let (start, size) = if status == 206 {
                    // `Content-Range: bytes START-END/SIZE`
                    let cr = header(&resp, "content-range").unwrap_or_default();
                    let parsed = cr
                        .strip_prefix("bytes ")
                        .and_then(|r| r.split_once('/'))
                        .and_then(|(span, size)| {
                            let start = span.split_once('-')?.0.trim().parse::<u64>().ok()?;
                            Some((start, size.trim().parse::<u64>().ok()?))
                        });
                    parsed.ok_or_else(|| {
                        StorageError::Backend(format!(
                            "the S3 store gave a bad Content-Range {cr:?} for {oid}"
                        ))
                    })?
                } else {
                    (0, len)
                };
                let reader = resp.into_body().into_reader().take(len);
                Ok(ObjectRead {
                    size,
                    start,
                    len,
                    reader: ObjectReader::Stream(Box::new(reader)),
                })
            }
            404 => Err(StorageError::NotFound(oid.clone())),
            416 => {
                let size = self.head(oid)?.map_or(0, |(s, _)| s);
                Err(StorageError::RangeNotSatisfiable { size })
            }
            _ => Err(self.status_error(&what, resp)),
        }
    }

    fn stat(&self, oid: &Oid) -> Result<Option<u64>, StorageError> {
        Ok(self.head(oid)?.map(|(size, _)| size))
    }

    fn stat_batch(
        &self,
        oids: &[Oid],
        absent_confirmed: bool,
    ) -> Result<Vec<Option<u64>>, StorageError> {
        // One listing of the repository's keys checks the store as a whole (a missing bucket
        // or refused credentials fail it with their cause) and answers for every oid it shows:
        // one request in place of a bucket check and a HEAD per object. An oid it does not
        // show is absent if the listing was complete (the repository holds no more keys than
        // fit on the page), but only where a wrong "absent" costs no more than a redundant
        // upload; otherwise it is looked up on its own.
        let (keys, more) = self.list_page(
            &self.repo_prefix,
            None,
            Some(BATCH_LISTING_KEYS),
            "checking the bucket",
        )?;
        let listed: std::collections::HashMap<String, u64> = keys.into_iter().collect();
        oids.iter()
            .map(|oid| match listed.get(&self.key(oid)) {
                Some(&size) => Ok(Some(size)),
                None if more.is_none() && !absent_confirmed => Ok(None),
                None => self.stat(oid),
            })
            .collect()
    }

    fn touch(&self, _oid: &Oid) -> Result<(), StorageError> {
        // `lfs prune` works on local storage only; nothing to keep fresh here.
        Ok(())
    }

    fn list(&self) -> Result<Vec<(Oid, u64)>, StorageError> {
        let mut out = Vec::new();
        for (key, size) in self.list_keys(&self.repo_prefix)? {
            let rest = &key[self.repo_prefix.len()..];
            // Only keys where their own name says they belong.
            let Some(name) = rest.rsplit('/').next() else {
                continue;
            };
            let Ok(oid) = Oid::parse(name) else { continue };
            if Path::new(rest) == oid.shard_path() {
                out.push((oid, size));
            }
        }
        out.sort();
        Ok(out)
    }

    fn check(&self) -> Result<(), StorageError> {
        self.check_bucket()
    }

    fn as_s3(&self) -> Option<&S3Store> {
        Some(self)
    }

    fn direct_action(
        &self,
        oid: &Oid,
        _size: u64,
        op: TokenOp,
        ttl: Duration,
    ) -> Result<Option<DirectAction>, StorageError> {
        if self.cfg.proxy {
            return Ok(None);
        }
        let key = self.key(oid);
        let creds = Some(&self.cfg.credentials);
        match op {
            TokenOp::Upload => {
                let sum = checksum_of(oid);
                let mut action = self.cfg.bucket.put_object(creds, &key);
                action
                    .headers_mut()
                    .insert("x-amz-checksum-sha256", sum.clone());
                action
                    .headers_mut()
                    .insert("x-amz-sdk-checksum-algorithm", "SHA256");
                Ok(Some(DirectAction {
                    href: action.sign(ttl).to_string(),
                    header: BTreeMap::from([
                        ("x-amz-checksum-sha256".to_string(), sum),
                        (
                            "x-amz-sdk-checksum-algorithm".to_string(),
                            "SHA256".to_string(),
                        ),
                    ]),
                }))
            }
            TokenOp::Download => Ok(Some(DirectAction {
                href: self
                    .cfg
                    .bucket
                    .get_object(creds, &key)
                    .sign(ttl)
                    .to_string(),
                header: BTreeMap::new(),
            })),
            TokenOp::Verify => Ok(None),
        }
    }

    fn verify(&self, oid: &Oid, size: u64) -> Result<Verified, StorageError> {
        let Some((stored, sum)) = self.head(oid)? else {
            return Ok(Verified::Missing);
        };
        if stored != size {
            // Not the object the upload URL was handed out for (a store that does not check the
            // signed checksum keeps whatever body it is sent). Left there, it would block this
            // oid for good: every later batch refuses a stored object of another size (422).
            // Removed, the client's next attempt can upload the real content.
            self.delete(oid)?;
            self.clear_unverified(oid);
            return Ok(Verified::SizeMismatch(stored));
        }
        // A composite checksum of a multipart upload ("...-N") is not the object's SHA-256.
        let sum = sum.filter(|s| !s.contains('-'));
        match sum {
            Some(s) if s == checksum_of(oid) => {
                self.clear_unverified(oid);
                Ok(Verified::Ok)
            }
            Some(_) => {
                // The store holds other content under this oid: it must not be served.
                self.delete(oid)?;
                Ok(Verified::Corrupt)
            }
            // In proxy mode the bytes came through hubctl, which hashed them on the way in;
            // only a presigned upload can leave an object nobody has hashed.
            None if self.cfg.proxy => Ok(Verified::Ok),
            None => {
                self.mark_unverified(oid)?;
                Ok(Verified::Ok)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_the_oid_in_base64() {
        let oid = Oid::of_bytes(b"hello\n");
        let expected =
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(b"hello\n"));
        assert_eq!(checksum_of(&oid), expected);
    }

    #[test]
    fn keys_follow_the_layout() {
        let name = RepoName::parse("alice/data").unwrap();
        assert_eq!(repo_prefix("", &name), "alice/data/");
        assert_eq!(repo_prefix("lfs/v1", &name), "lfs/v1/alice/data/");
        let settings = S3Settings {
            endpoint: Some("http://127.0.0.1:9000".into()),
            bucket: Some("lfs".into()),
            prefix: "p".into(),
            path_style: true,
            ..S3Settings::default()
        };
        let keys = AwsKeys {
            access_key_id: "k".into(),
            secret_access_key: "s".into(),
            session_token: None,
        };
        let cfg = S3Config::resolve(&settings, Some(&keys)).unwrap();
        let store = S3Store::new(cfg, &name, Path::new("/nonexistent/data.git"));
        let oid = Oid::of_bytes(b"hello\n");
        assert_eq!(store.key(&oid), format!("p/alice/data/58/91/{oid}"));
        let action = store
            .direct_action(&oid, 6, TokenOp::Upload, Duration::from_secs(60))
            .unwrap()
            .unwrap();
        assert!(
            action
                .href
                .starts_with("http://127.0.0.1:9000/lfs/p/alice/data/58/91/")
        );
        assert!(
            action
                .href
                .contains("X-Amz-SignedHeaders=host%3Bx-amz-checksum-sha256")
        );
        assert_eq!(action.header["x-amz-checksum-sha256"], checksum_of(&oid));
    }

    #[test]
    fn configuration_errors_name_the_missing_setting() {
        let err = S3Config::resolve(&S3Settings::default(), None).unwrap_err();
        assert!(err.to_string().contains("lfs-s3-endpoint"), "{err}");
        let settings = S3Settings {
            endpoint: Some("http://127.0.0.1:9000".into()),
            bucket: Some("lfs".into()),
            path_style: true,
            ..S3Settings::default()
        };
        let err = S3Config::resolve(&settings, None).unwrap_err();
        assert!(err.to_string().contains("AWS_ACCESS_KEY_ID"), "{err}");
    }

    #[test]
    fn credentials_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        fs::write(
            &path,
            "# comment\n[other]\naws_access_key_id = no\n[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n",
        )
        .unwrap();
        let keys = read_credentials_file(&path).unwrap();
        assert_eq!(
            (keys.access_key_id.as_str(), keys.secret_access_key.as_str()),
            ("AK", "SK")
        );
        assert!(
            !format!("{keys:?}").contains("SK"),
            "the secret stays out of Debug"
        );
        fs::write(&path, "[default]\naws_access_key_id = AK\n").unwrap();
        assert!(read_credentials_file(&path).is_err());
        assert!(read_credentials_file(&dir.path().join("missing")).is_err());
    }

    /// What the store's refusals become: credentials and a missing bucket are the operator's
    /// to fix (500, naming the cause), throttling and 5xx are "try later" (503).
    #[test]
    fn refusals_name_their_cause() {
        let name = RepoName::parse("alice/data").unwrap();
        let settings = S3Settings {
            endpoint: Some("http://127.0.0.1:9".into()),
            bucket: Some("lfs".into()),
            path_style: true,
            ..S3Settings::default()
        };
        let keys = AwsKeys {
            access_key_id: "k".into(),
            secret_access_key: "s".into(),
            session_token: None,
        };
        let store = S3Store::new(
            S3Config::resolve(&settings, Some(&keys)).unwrap(),
            &name,
            Path::new("/nonexistent"),
        );
        let answer = |status: u16, body: &str| {
            let resp = ureq::http::Response::builder()
                .status(status)
                .body(ureq::Body::builder().data(body.as_bytes().to_vec()))
                .unwrap();
            store.status_error("storing x", resp)
        };
        let e = answer(403, "<Error><Code>InvalidAccessKeyId</Code></Error>");
        assert_eq!(e.status(), 500);
        assert!(
            e.to_string().contains("refused hubctl's credentials"),
            "{e}"
        );
        assert!(e.to_string().contains("InvalidAccessKeyId"), "{e}");
        assert!(e.to_string().contains("does not know access key k"), "{e}");
        let e = answer(403, "<Error><Code>SignatureDoesNotMatch</Code></Error>");
        assert_eq!(e.status(), 500);
        assert!(
            e.to_string()
                .contains("secret access key is not the one the store has for access key k"),
            "{e}"
        );
        let e = answer(404, "<Error><Code>NoSuchBucket</Code></Error>");
        assert_eq!(e.status(), 500);
        assert!(e.to_string().contains("bucket lfs does not exist"), "{e}");
        for status in [500, 503, 429] {
            assert_eq!(
                answer(status, "<Error><Code>SlowDown</Code></Error>").status(),
                503
            );
        }
        // Connection refused (port 9, discard, is closed on loopback).
        let e = store.check_bucket().unwrap_err();
        assert_eq!(e.status(), 503, "{e}");
    }

    #[test]
    fn listings_in_any_namespace_parse() {
        let page = |root: &str| {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{root}<Name>b</Name><Prefix>p/</Prefix>\
                 <KeyCount>1</KeyCount><MaxKeys>100</MaxKeys><IsTruncated>false</IsTruncated>\
                 <Contents><Key>p/k</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>\
                 <ETag>&quot;e&quot;</ETag><Size>7</Size><StorageClass>STANDARD</StorageClass>\
                 </Contents></ListBucketResult>"
            )
        };
        for root in [
            format!("<ListBucketResult xmlns=\"{S3_NAMESPACE}\">"),
            "<ListBucketResult xmlns=\"http://doc.s3.amazonaws.com/2006-03-01/\">".to_string(),
            "<ListBucketResult>".to_string(),
        ] {
            let body = page(&root);
            let parsed =
                rusty_s3::actions::ListObjectsV2::parse_response(&with_standard_namespace(&body))
                    .unwrap_or_else(|e| panic!("{root}: {e}"));
            assert_eq!(parsed.contents.len(), 1, "{root}");
            assert_eq!(parsed.contents[0].key, "p/k");
            assert_eq!(parsed.contents[0].size, 7);
        }
        // The standard answer is parsed as it came.
        let body = page(&format!("<ListBucketResult xmlns=\"{S3_NAMESPACE}\">"));
        assert!(matches!(
            with_standard_namespace(&body),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn error_codes() {
        assert_eq!(
            error_code("<Error><Code>NoSuchBucket</Code><Message>x</Message></Error>"),
            Some("NoSuchBucket")
        );
        assert_eq!(error_code(""), None);
    }
}
