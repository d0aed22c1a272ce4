//! Batch planning (LFS.md §4): from a parsed batch request, the repository's object store and
//! its limits, decide for every object what the client must do, without any transport.
//!
//! The transport authenticates and authorises first (404/403/401 are its business), parses
//! the JSON into [`BatchRequest`], calls [`plan`] with an [`ActionBuilder`] that knows how its
//! URLs look, and renders either the [`BatchResponse`] (200) or the [`BatchError`]'s
//! [`status`](BatchError::status) with an [`ErrorBody`](super::api::ErrorBody).

use std::collections::{BTreeMap, HashSet};
use std::time::SystemTime;

use super::api::{
    Action, Actions, BatchRequest, BatchResponse, BatchResponseObject, HASH_ALGO_SHA256,
    ObjectError, ObjectSpec, TRANSFER_BASIC,
};
use super::oid::Oid;
use super::storage::{ObjectStore, StorageError, Verified};
use super::token::{Secret, TokenOp, TokenScope};

/// git-lfs sends at most 100 objects per batch request; a little slack for other clients.
pub const DEFAULT_MAX_OBJECTS_PER_BATCH: usize = 1000;

/// Default lifetime of action tokens: long enough for a slow transfer of a large object,
/// well above the 5 s under which the client treats an action as expired (LFS.md §10 T16).
pub const DEFAULT_ACTION_TTL_SECS: u64 = 3600;

/// The two batch operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Push objects.
    Upload,
    /// Fetch objects.
    Download,
}

impl Operation {
    /// `upload` or `download`; anything else is `None`.
    pub fn parse(s: &str) -> Option<Operation> {
        match s {
            "upload" => Some(Operation::Upload),
            "download" => Some(Operation::Download),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Upload => "upload",
            Operation::Download => "download",
        }
    }
}

/// Per-repository limits applied by [`plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest object accepted for upload (per-object 413 above it); `None` = unlimited.
    pub max_object_size: Option<u64>,
    /// Most bytes of LFS content the repository may hold (whole-request 507 if an upload
    /// batch would exceed it); `None` = unlimited.
    pub quota_bytes: Option<u64>,
    /// Most objects in one request (whole-request 413 above it).
    pub max_objects: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_object_size: None,
            quota_bytes: None,
            max_objects: DEFAULT_MAX_OBJECTS_PER_BATCH,
        }
    }
}

impl Limits {
    /// The limits of a hosted repository with `settings` (`hubctl repo set NS/NAME
    /// max-lfs-object-size|lfs-quota`); the batch size stays the default.
    pub fn for_repo(settings: &crate::store::repos::RepoSettings) -> Limits {
        Limits {
            max_object_size: settings.max_lfs_object_size,
            quota_bytes: settings.lfs_quota,
            ..Limits::default()
        }
    }
}

/// An error an [`ActionBuilder`] may return (token minting, URL signing).
pub type ActionBuildError = Box<dyn std::error::Error + Send + Sync>;

/// Errors that fail a whole batch request (no `objects` in the answer).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// `operation` is neither `upload` nor `download`.
    #[error("unsupported operation {0:?}: expected upload or download")]
    BadOperation(String),
    /// The client offered no transfer adapter hubctl speaks (only `basic` is served).
    #[error("no supported transfer adapter offered (hubctl serves basic)")]
    NoCommonTransfer,
    /// More objects than [`Limits::max_objects`].
    #[error("too many objects in one batch: {count} > {max}")]
    TooManyObjects {
        /// Objects in the request.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The upload would take the repository over its LFS quota.
    #[error(
        "LFS quota exceeded: {used} bytes stored + {incoming} bytes to upload > {quota} bytes allowed"
    )]
    QuotaExceeded {
        /// Bytes stored now.
        used: u64,
        /// Bytes of the missing objects in this request.
        incoming: u64,
        /// The quota.
        quota: u64,
    },
    /// The object store failed.
    #[error("LFS storage: {0}")]
    Storage(#[from] StorageError),
    /// Building an action (token, URL) failed.
    #[error("building an LFS action: {0}")]
    Action(ActionBuildError),
}

impl BatchError {
    /// The HTTP-like status for the whole-request answer.
    pub fn status(&self) -> u16 {
        match self {
            BatchError::BadOperation(_) | BatchError::NoCommonTransfer => 422,
            BatchError::TooManyObjects { .. } => 413,
            BatchError::QuotaExceeded { .. } => 507,
            BatchError::Storage(e) if e.status() == 503 => 503,
            BatchError::Storage(_) | BatchError::Action(_) => 500,
        }
    }
}

/// Builds the `href`, headers and expiry for one object action.
///
/// Implemented for closures `Fn(&Oid, u64, TokenOp) -> Result<Action, ActionBuildError>`;
/// [`TokenActions`] is the standard implementation.
pub trait ActionBuilder {
    /// The action `op` on object `oid` of `size` bytes.
    fn action(&self, oid: &Oid, size: u64, op: TokenOp) -> Result<Action, ActionBuildError>;

    /// Lifetime of the actions in seconds; presigned store URLs expire with them.
    fn ttl_secs(&self) -> u64 {
        DEFAULT_ACTION_TTL_SECS
    }
}

impl<F> ActionBuilder for F
where
    F: Fn(&Oid, u64, TokenOp) -> Result<Action, ActionBuildError>,
{
    fn action(&self, oid: &Oid, size: u64, op: TokenOp) -> Result<Action, ActionBuildError> {
        self(oid, size, op)
    }
}

/// The standard [`ActionBuilder`]: hubctl's own basic-transfer URLs below `base_href`
/// (`https://host/<repo>.git/info/lfs`): `objects/<oid>` for upload and download, `verify`
/// for verify, each with an `Authorization: RemoteAuth <token>` header scoped to the
/// repository, object and operation.
#[derive(Debug)]
pub struct TokenActions<'a> {
    /// The key.
    pub secret: &'a Secret,
    /// The repository the tokens are for.
    pub repo: &'a str,
    /// Absolute LFS base URL without trailing `/`.
    pub base_href: &'a str,
    /// The user the batch is answered for (`None` for anonymous reads).
    pub user_id: Option<i64>,
    /// Token and action lifetime in seconds.
    pub ttl_secs: u64,
    /// The current time.
    pub now: SystemTime,
}

impl ActionBuilder for TokenActions<'_> {
    fn action(&self, oid: &Oid, size: u64, op: TokenOp) -> Result<Action, ActionBuildError> {
        let scope = TokenScope {
            repo: self.repo,
            oid,
            op,
        };
        let auth =
            self.secret
                .authorization(&scope, self.user_id, Some(size), self.now, self.ttl_secs)?;
        let base = self.base_href.trim_end_matches('/');
        let href = match op {
            TokenOp::Upload | TokenOp::Download => format!("{base}/objects/{oid}"),
            TokenOp::Verify => format!("{base}/verify"),
        };
        Ok(Action {
            href,
            header: BTreeMap::from([("Authorization".to_string(), auth)]),
            expires_in: Some(i64::try_from(self.ttl_secs).unwrap_or(i64::MAX)),
            expires_at: None,
        })
    }

    fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }
}

/// Choose the transfer adapter: `basic` if the client offered it or offered nothing. Never
/// `ssh` (over HTTP it crashes git-lfs 3.3.0), never anything else hubctl does not serve.
pub fn negotiate_transfer(offered: Option<&[String]>) -> Option<&'static str> {
    match offered {
        None | Some([]) => Some(TRANSFER_BASIC),
        Some(list) => list
            .iter()
            .any(|t| t == TRANSFER_BASIC)
            .then_some(TRANSFER_BASIC),
    }
}

fn object_error(
    oid: &str,
    size: i64,
    code: u16,
    message: impl Into<String>,
) -> BatchResponseObject {
    BatchResponseObject {
        oid: oid.to_string(),
        size,
        authenticated: None,
        actions: None,
        error: Some(ObjectError {
            code,
            message: message.into(),
        }),
    }
}

/// What [`plan`] decided for one object before actions are built.
enum Decision {
    Error(u16, String),
    Nothing,
    Upload(Oid, u64),
    Download(Oid, u64),
}

/// Plan the answer to a batch request.
///
/// Every requested object gets exactly one entry, in request order (LFS.md §10 T2): an
/// error (422 invalid oid or negative size, 409 unsupported hash algorithm, 413 larger than
/// [`Limits::max_object_size`], 404 missing on download, 422 size different from the stored
/// object), `upload` + `verify` actions for a missing object, `download` for a present one,
/// or nothing for an upload of an object already stored. Whole-request failures are
/// [`BatchError`]s.
pub fn plan(
    req: &BatchRequest,
    storage: &dyn ObjectStore,
    limits: &Limits,
    actions: &dyn ActionBuilder,
) -> Result<BatchResponse, BatchError> {
    let op = Operation::parse(&req.operation)
        .ok_or_else(|| BatchError::BadOperation(req.operation.clone()))?;
    let transfer =
        negotiate_transfer(req.transfers.as_deref()).ok_or(BatchError::NoCommonTransfer)?;
    if req.objects.len() > limits.max_objects {
        return Err(BatchError::TooManyObjects {
            count: req.objects.len(),
            max: limits.max_objects,
        });
    }
    let hash_ok = req
        .hash_algo
        .as_deref()
        .is_none_or(|h| h == HASH_ALGO_SHA256);

    // Each object is checked on its own first; the valid ones are then looked up in the
    // store together.
    let checked: Vec<Result<(Oid, u64), Decision>> = req
        .objects
        .iter()
        .map(|obj| {
            let oid = Oid::parse(&obj.oid).map_err(|e| Decision::Error(422, e.to_string()))?;
            let size = u64::try_from(obj.size).map_err(|_| {
                Decision::Error(
                    422,
                    format!("invalid size {}: must not be negative", obj.size),
                )
            })?;
            if !hash_ok {
                return Err(Decision::Error(
                    409,
                    format!(
                        "unsupported hash algorithm {:?}: only sha256",
                        req.hash_algo.as_deref().unwrap_or_default()
                    ),
                ));
            }
            let too_large = limits
                .max_object_size
                .filter(|max| op == Operation::Upload && size > *max);
            if let Some(max) = too_large {
                return Err(Decision::Error(
                    413,
                    format!("object is {size} bytes, larger than the limit of {max} bytes"),
                ));
            }
            Ok((oid, size))
        })
        .collect();
    let wanted: Vec<Oid> = checked
        .iter()
        .filter_map(|c| c.as_ref().ok().map(|(oid, _)| oid.clone()))
        .collect();
    // A store that cannot be used fails the whole request with its cause, before any object
    // is promised an action. A download must not be refused on a listing's word alone.
    let mut sizes = storage
        .stat_batch(&wanted, op == Operation::Download)?
        .into_iter();

    let mut decisions = Vec::with_capacity(req.objects.len());
    let mut incoming: u64 = 0;
    let mut counted: HashSet<&str> = HashSet::new();
    for (obj, checked) in req.objects.iter().zip(checked) {
        let (oid, size) = match checked {
            Ok(valid) => valid,
            Err(decision) => {
                decisions.push(decision);
                continue;
            }
        };
        let stored = sizes.next().flatten();
        decisions.push(match (op, stored) {
            (_, Some(have)) if have != size => Decision::Error(
                422,
                format!("size {size} does not match the stored object's {have} bytes"),
            ),
            (Operation::Upload, Some(_)) => {
                // The push will point at it: keep `lfs prune` off it for a grace period (best
                // effort: an object hubctl may read but not re-time is still answered).
                let _ = storage.touch(&oid);
                Decision::Nothing
            }
            (Operation::Upload, None) => {
                if counted.insert(&obj.oid) {
                    incoming = incoming.saturating_add(size);
                }
                Decision::Upload(oid, size)
            }
            (Operation::Download, Some(_)) => Decision::Download(oid, size),
            (Operation::Download, None) => {
                Decision::Error(404, "Object does not exist".to_string())
            }
        });
    }

    if let Some(quota) = limits.quota_bytes.filter(|_| incoming > 0) {
        let used = storage.usage()?.bytes;
        if used.saturating_add(incoming) > quota {
            return Err(BatchError::QuotaExceeded {
                used,
                incoming,
                quota,
            });
        }
    }

    // Uploads and downloads go straight to the store where it hands out its own URLs
    // (presigned S3); verify always comes back to hubctl.
    let ttl = actions.ttl_secs();
    let build = |oid: &Oid, size: u64, op: TokenOp| {
        let direct = storage.direct_action(oid, size, op, std::time::Duration::from_secs(ttl))?;
        match direct {
            Some(d) => Ok(Action {
                href: d.href,
                header: d.header,
                expires_in: Some(i64::try_from(ttl).unwrap_or(i64::MAX)),
                expires_at: None,
            }),
            None => actions.action(oid, size, op).map_err(BatchError::Action),
        }
    };
    let mut objects = Vec::with_capacity(req.objects.len());
    for (obj, decision) in req.objects.iter().zip(decisions) {
        let with_actions = |a: Actions| BatchResponseObject {
            oid: obj.oid.clone(),
            size: obj.size,
            authenticated: Some(true),
            actions: Some(a),
            error: None,
        };
        objects.push(match decision {
            Decision::Error(code, message) => object_error(&obj.oid, obj.size, code, message),
            Decision::Nothing => BatchResponseObject {
                oid: obj.oid.clone(),
                size: obj.size,
                authenticated: None,
                actions: None,
                error: None,
            },
            Decision::Upload(oid, size) => with_actions(Actions {
                download: None,
                upload: Some(build(&oid, size, TokenOp::Upload)?),
                verify: Some(build(&oid, size, TokenOp::Verify)?),
            }),
            Decision::Download(oid, size) => with_actions(Actions {
                download: Some(build(&oid, size, TokenOp::Download)?),
                upload: None,
                verify: None,
            }),
        });
    }
    Ok(BatchResponse {
        transfer: transfer.to_string(),
        objects,
        hash_algo: HASH_ALGO_SHA256.to_string(),
    })
}

/// Why a verify callback (`POST <verify href>`, LFS.md §5.2) fails.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The body names no valid object or a negative size.
    #[error("invalid verify request: {0}")]
    Invalid(String),
    /// The object is not stored.
    #[error("object {0} not found")]
    NotFound(Oid),
    /// The store reported another checksum; the object was removed.
    #[error("object {0} was stored with other content and has been removed: upload it again")]
    Corrupt(Oid),
    /// It is stored with another size.
    #[error("object {oid} is {stored} bytes, not {claimed}")]
    SizeMismatch {
        /// The object.
        oid: Oid,
        /// The size the client claims.
        claimed: u64,
        /// The size stored.
        stored: u64,
    },
    /// The object store failed.
    #[error("LFS storage: {0}")]
    Storage(#[from] StorageError),
}

impl VerifyError {
    /// The HTTP-like status: 400 or 404, never 422 (a 422 makes git-lfs 3.3.0 report success
    /// while the object is missing, LFS.md §10 T1); 500 for storage failures.
    pub fn status(&self) -> u16 {
        match self {
            VerifyError::Invalid(_)
            | VerifyError::SizeMismatch { .. }
            | VerifyError::Corrupt(_) => 400,
            VerifyError::NotFound(_) => 404,
            VerifyError::Storage(e) => e.status().max(500),
        }
    }
}

/// Check a verify callback: the object must be stored with the claimed size. Returns the oid.
pub fn verify_object(storage: &dyn ObjectStore, spec: &ObjectSpec) -> Result<Oid, VerifyError> {
    let oid = Oid::parse(&spec.oid).map_err(|e| VerifyError::Invalid(e.to_string()))?;
    let claimed = u64::try_from(spec.size)
        .map_err(|_| VerifyError::Invalid(format!("negative size {}", spec.size)))?;
    match storage.verify(&oid, claimed)? {
        Verified::Missing => Err(VerifyError::NotFound(oid)),
        Verified::SizeMismatch(stored) => Err(VerifyError::SizeMismatch {
            oid,
            claimed,
            stored,
        }),
        Verified::Corrupt => Err(VerifyError::Corrupt(oid)),
        Verified::Ok => Ok(oid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_of_a_repository() {
        let settings = crate::store::repos::RepoSettings {
            max_lfs_object_size: Some(10),
            lfs_quota: Some(20),
            ..Default::default()
        };
        let l = Limits::for_repo(&settings);
        assert_eq!((l.max_object_size, l.quota_bytes), (Some(10), Some(20)));
        assert_eq!(l.max_objects, DEFAULT_MAX_OBJECTS_PER_BATCH);
        assert_eq!(Limits::for_repo(&Default::default()), Limits::default());
    }
    use crate::lfs::api::BatchRequestObject;
    use crate::lfs::storage::FsStore;
    use std::cell::RefCell;

    const O1: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    fn setup() -> (tempfile::TempDir, FsStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = FsStore::new(&dir.path().join("r.git"));
        (dir, s)
    }

    fn put(s: &FsStore, data: &[u8]) -> Oid {
        let oid = Oid::of_bytes(data);
        s.put_verified(&oid, data.len() as u64, &mut &data[..])
            .unwrap();
        oid
    }

    fn req(op: &str, objects: &[(&str, i64)]) -> BatchRequest {
        BatchRequest {
            operation: op.into(),
            objects: objects
                .iter()
                .map(|(oid, size)| BatchRequestObject {
                    oid: oid.to_string(),
                    size: *size,
                })
                .collect(),
            transfers: Some(vec![
                "ssh".into(),
                "lfs-standalone-file".into(),
                "basic".into(),
            ]),
            git_ref: None,
            hash_algo: Some("sha256".into()),
        }
    }

    /// A builder that records what it was asked for.
    struct Recorder(RefCell<Vec<(String, TokenOp)>>);
    impl ActionBuilder for Recorder {
        fn action(&self, oid: &Oid, size: u64, op: TokenOp) -> Result<Action, ActionBuildError> {
            self.0.borrow_mut().push((oid.to_string(), op));
            Ok(Action {
                href: format!("https://h/{}/{oid}/{size}", op.as_str()),
                header: BTreeMap::from([("Authorization".into(), "RemoteAuth t".into())]),
                expires_in: Some(3600),
                expires_at: None,
            })
        }
    }

    fn recorder() -> Recorder {
        Recorder(RefCell::new(Vec::new()))
    }

    #[test]
    fn transfer_negotiation_picks_basic_never_ssh() {
        let v = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for order in [
            v(&["ssh", "lfs-standalone-file", "basic"]),
            v(&["basic", "ssh", "lfs-standalone-file"]),
            v(&["lfs-standalone-file", "basic", "ssh"]),
        ] {
            assert_eq!(negotiate_transfer(Some(&order)), Some("basic"));
        }
        assert_eq!(negotiate_transfer(None), Some("basic"));
        assert_eq!(negotiate_transfer(Some(&[])), Some("basic"));
        assert_eq!(negotiate_transfer(Some(&v(&["ssh"]))), None);
        assert_eq!(negotiate_transfer(Some(&v(&["tus", "ssh"]))), None);

        let (_d, s) = setup();
        let mut r = req("download", &[]);
        r.transfers = Some(v(&["ssh"]));
        let err = plan(&r, &s, &Limits::default(), &recorder()).unwrap_err();
        assert_eq!(err.status(), 422);
        r.transfers = None;
        let resp = plan(&r, &s, &Limits::default(), &recorder()).unwrap();
        assert_eq!(resp.transfer, "basic");
    }

    #[test]
    fn upload_plans_every_object() {
        let (_d, s) = setup();
        let present = put(&s, b"hello\n");
        let missing = Oid::of_bytes(b"new content");
        let r = req(
            "upload",
            &[
                (missing.as_str(), 11),
                (present.as_str(), 6),
                ("not-an-oid", 1),
                (&O1.to_uppercase(), 6),
                (missing.as_str(), -1),
            ],
        );
        let rec = recorder();
        let resp = plan(&r, &s, &Limits::default(), &rec).unwrap();
        assert_eq!(resp.transfer, "basic");
        assert_eq!(resp.hash_algo, "sha256");
        assert_eq!(resp.objects.len(), 5, "every requested object is answered");
        for (got, want) in resp.objects.iter().zip(&r.objects) {
            assert_eq!(
                (&got.oid, got.size),
                (&want.oid, want.size),
                "echoed in order"
            );
        }

        let up = &resp.objects[0];
        assert_eq!(up.authenticated, Some(true));
        let actions = up.actions.as_ref().unwrap();
        assert!(actions.upload.is_some() && actions.verify.is_some());
        assert!(actions.download.is_none());
        assert!(up.error.is_none());

        let done = &resp.objects[1];
        assert!(done.actions.is_none() && done.error.is_none() && done.authenticated.is_none());
        let json = serde_json::to_value(done).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"oid": present.as_str(), "size": 6})
        );

        for bad in &resp.objects[2..] {
            assert_eq!(bad.error.as_ref().unwrap().code, 422);
            assert!(bad.actions.is_none());
        }
        assert_eq!(
            *rec.0.borrow(),
            vec![
                (missing.to_string(), TokenOp::Upload),
                (missing.to_string(), TokenOp::Verify)
            ]
        );
    }

    #[test]
    fn upload_of_a_stored_object_refreshes_it_for_prune() {
        let (_d, s) = setup();
        let oid = put(&s, b"hello\n");
        let path = s.object_path(&oid);
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(30 * 86400);
        std::fs::File::open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let r = req("upload", &[(oid.as_str(), 6)]);
        let resp = plan(&r, &s, &Limits::default(), &recorder()).unwrap();
        assert!(
            resp.objects[0].actions.is_none(),
            "already stored: nothing to do"
        );
        let age = std::fs::metadata(&path)
            .unwrap()
            .modified()
            .unwrap()
            .elapsed()
            .unwrap_or_default();
        assert!(
            age.as_secs() < 3600,
            "still {age:?} old: prune could take it"
        );
    }

    #[test]
    fn download_present_and_missing() {
        let (_d, s) = setup();
        let present = put(&s, b"hello\n");
        let r = req(
            "download",
            &[(O1, 6), (&"0".repeat(64), 3), (present.as_str(), 5)],
        );
        let resp = plan(&r, &s, &Limits::default(), &recorder()).unwrap();
        assert_eq!(resp.objects.len(), 3);
        let a = resp.objects[0].actions.as_ref().unwrap();
        assert_eq!(
            a.download.as_ref().unwrap().href,
            format!("https://h/download/{O1}/6")
        );
        assert!(a.upload.is_none() && a.verify.is_none());
        assert_eq!(resp.objects[1].error.as_ref().unwrap().code, 404);
        assert_eq!(
            resp.objects[2].error.as_ref().unwrap().code,
            422,
            "size differs from the stored object"
        );
    }

    #[test]
    fn size_limits() {
        let (_d, s) = setup();
        let big = Oid::of_bytes(b"big");
        let small = Oid::of_bytes(b"small");
        let limits = Limits {
            max_object_size: Some(100),
            ..Limits::default()
        };
        let r = req("upload", &[(big.as_str(), 101), (small.as_str(), 100)]);
        let resp = plan(&r, &s, &limits, &recorder()).unwrap();
        assert_eq!(resp.objects[0].error.as_ref().unwrap().code, 413);
        assert!(resp.objects[1].actions.as_ref().unwrap().upload.is_some());

        let limits = Limits {
            max_objects: 1,
            ..Limits::default()
        };
        let err = plan(&r, &s, &limits, &recorder()).unwrap_err();
        assert!(matches!(
            err,
            BatchError::TooManyObjects { count: 2, max: 1 }
        ));
        assert_eq!(err.status(), 413);
    }

    #[test]
    fn quota_is_a_whole_request_507() {
        let (_d, s) = setup();
        let stored = put(&s, b"0123456789"); // 10 bytes used
        let a = Oid::of_bytes(b"a");
        let b = Oid::of_bytes(b"b");
        let limits = |q| Limits {
            quota_bytes: Some(q),
            ..Limits::default()
        };
        // 10 stored + 5 + 5 (the duplicate counts once) = 20; stored objects cost nothing.
        let r = req(
            "upload",
            &[
                (a.as_str(), 5),
                (b.as_str(), 5),
                (a.as_str(), 5),
                (stored.as_str(), 10),
            ],
        );
        let resp = plan(&r, &s, &limits(20), &recorder()).unwrap();
        assert_eq!(resp.objects.len(), 4);
        let err = plan(&r, &s, &limits(19), &recorder()).unwrap_err();
        assert!(matches!(
            err,
            BatchError::QuotaExceeded {
                used: 10,
                incoming: 10,
                quota: 19
            }
        ));
        assert_eq!(err.status(), 507);
        // Downloads never hit the quota.
        let r = req("download", &[(stored.as_str(), 10)]);
        assert!(plan(&r, &s, &limits(0), &recorder()).is_ok());
    }

    #[test]
    fn bad_operation_and_hash_algo() {
        let (_d, s) = setup();
        let err = plan(
            &req("delete", &[(O1, 6)]),
            &s,
            &Limits::default(),
            &recorder(),
        )
        .unwrap_err();
        assert_eq!(err.status(), 422);
        let mut r = req("download", &[(O1, 6)]);
        r.hash_algo = Some("sha512".into());
        let resp = plan(&r, &s, &Limits::default(), &recorder()).unwrap();
        assert_eq!(resp.objects[0].error.as_ref().unwrap().code, 409);
        assert_eq!(resp.hash_algo, "sha256");
    }

    #[test]
    fn builder_errors_fail_the_request() {
        let (_d, s) = setup();
        let failing = |_: &Oid, _: u64, _: TokenOp| -> Result<Action, ActionBuildError> {
            Err("no key".into())
        };
        let err = plan(&req("upload", &[(O1, 6)]), &s, &Limits::default(), &failing).unwrap_err();
        assert_eq!(err.status(), 500);
    }

    #[test]
    fn token_actions_are_verifiable() {
        let (_d, s) = setup();
        let secret = Secret::from_bytes([3; 32]);
        let repo = String::from("alice/game");
        let now = SystemTime::now();
        let builder = TokenActions {
            secret: &secret,
            repo: &repo,
            base_href: "https://h/alice/game.git/info/lfs/",
            user_id: Some(7),
            ttl_secs: DEFAULT_ACTION_TTL_SECS,
            now,
        };
        let resp = plan(&req("upload", &[(O1, 6)]), &s, &Limits::default(), &builder).unwrap();
        let actions = resp.objects[0].actions.clone().unwrap();
        let upload = actions.upload.unwrap();
        let verify = actions.verify.unwrap();
        assert_eq!(
            upload.href,
            format!("https://h/alice/game.git/info/lfs/objects/{O1}")
        );
        assert_eq!(verify.href, "https://h/alice/game.git/info/lfs/verify");
        assert_eq!(upload.expires_in, Some(3600));
        let oid = Oid::parse(O1).unwrap();
        let scope = |op| TokenScope {
            repo: &repo,
            oid: &oid,
            op,
        };
        let claims = secret
            .verify(
                &upload.header["Authorization"],
                &scope(TokenOp::Upload),
                now,
            )
            .unwrap();
        assert_eq!((claims.user_id, claims.size), (Some(7), Some(6)));
        assert!(
            secret
                .verify(
                    &verify.header["Authorization"],
                    &scope(TokenOp::Verify),
                    now
                )
                .is_ok()
        );
        assert!(
            secret
                .verify(
                    &upload.header["Authorization"],
                    &scope(TokenOp::Download),
                    now
                )
                .is_err()
        );
    }

    #[test]
    fn verify_callback() {
        let (_d, s) = setup();
        let oid = put(&s, b"hello\n");
        let spec = |oid: &str, size| ObjectSpec {
            oid: oid.into(),
            size,
        };
        assert_eq!(verify_object(&s, &spec(oid.as_str(), 6)).unwrap(), oid);
        let status = |r: Result<Oid, VerifyError>| r.unwrap_err().status();
        assert_eq!(status(verify_object(&s, &spec(oid.as_str(), 7))), 400);
        assert_eq!(status(verify_object(&s, &spec(&"1".repeat(64), 6))), 404);
        assert_eq!(status(verify_object(&s, &spec("x", 6))), 400);
        assert_eq!(status(verify_object(&s, &spec(oid.as_str(), -6))), 400);
    }
}
