//! The JSON of the Git LFS HTTP API: batch (LFS.md §4), verify (§5.2), locks (§6) and the
//! legacy v1 object API, as plain serde types with no HTTP in them.
//!
//! Requests are parsed leniently (unknown fields ignored, `ref` may be missing, `null` or
//! `{}`; oids stay text so an invalid one becomes a per-object 422 instead of failing the
//! whole request). Responses follow the client's traps (LFS.md §9, §10): optional fields are
//! omitted rather than sent as `null`, `owner` is always present on a lock, lock ids are
//! strings, lists are `[]` and never `null`, lock answers are wrapped in `{"lock": …}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The media type of every LFS JSON request and response.
pub const MEDIA_TYPE: &str = "application/vnd.git-lfs+json";

/// The only transfer adapter hubctl offers over HTTP.
pub const TRANSFER_BASIC: &str = "basic";

/// The only hash algorithm that exists.
pub const HASH_ALGO_SHA256: &str = "sha256";

/// `{"name": "refs/heads/main"}`; `name` may be absent (`{}`) and is advisory only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitRef {
    /// The ref name, as the client sent it (`refs/heads/main`, `HEAD`, `main`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl GitRef {
    /// The ref name, if the client sent one.
    pub fn name(r: &Option<GitRef>) -> Option<&str> {
        r.as_ref().and_then(|r| r.name.as_deref())
    }
}

// ---------------------------------------------------------------------------------------------
// Batch

/// `POST …/info/lfs/objects/batch` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRequest {
    /// `upload` or `download`; kept as text so anything else is a 422, not a parse error.
    pub operation: String,
    /// The objects, each `{oid, size}`.
    #[serde(default)]
    pub objects: Vec<BatchRequestObject>,
    /// Transfer adapters the client supports, in no particular order; missing means `basic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfers: Option<Vec<String>>,
    /// The ref being pushed or checked out (advisory).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<GitRef>,
    /// Hash algorithm; missing means `sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_algo: Option<String>,
}

/// One object of a batch request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRequestObject {
    /// The oid as sent (validated per object by the planner).
    pub oid: String,
    /// The size as sent (negative sizes are a per-object 422).
    pub size: i64,
}

/// `200` answer to a batch request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// Always `basic` (never `ssh` over HTTP: that crashes git-lfs 3.3.0, LFS.md §10 T4).
    pub transfer: String,
    /// One entry per requested object, in request order (a missing one hangs the client).
    pub objects: Vec<BatchResponseObject>,
    /// Always `sha256`.
    pub hash_algo: String,
}

/// One object of a batch answer: actions, nothing (already there), or an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponseObject {
    /// The oid, echoed as requested.
    pub oid: String,
    /// The size, echoed as requested.
    pub size: i64,
    /// `true` when the action headers carry credentials, so the client adds none of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticated: Option<bool>,
    /// What to do; absent for an upload of an object the server already has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Actions>,
    /// Why this object cannot be transferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ObjectError>,
}

/// The `actions` map of a batch object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actions {
    /// GET the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<Action>,
    /// PUT the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<Action>,
    /// POST `{oid, size}` after the upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Action>,
}

/// Where and how to perform one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// Absolute URL.
    pub href: String,
    /// Headers to send (string values only); omitted when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub header: BTreeMap<String, String>,
    /// Seconds the action stays valid. Values ≤ 5 make the client treat it as already expired
    /// (LFS.md §4.2, §10 T16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// RFC 3339 expiry; `expires_in` wins when both are present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// A per-object error: `{"code": 404, "message": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectError {
    /// HTTP-like status: 404 missing, 409 hash algorithm, 410 removed, 413 too large, 422
    /// invalid.
    pub code: u16,
    /// Shown to the user.
    pub message: String,
}

/// The body of every non-2xx JSON answer (and of the 409 lock conflict, see
/// [`LockConflict`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Shown to the user (`batch response: <message>`).
    pub message: String,
    /// Optional request id, shown by the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Optional link, shown by the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
}

impl ErrorBody {
    /// An error body with only a message.
    pub fn new(message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            message: message.into(),
            request_id: None,
            documentation_url: None,
        }
    }
}

/// `POST <verify href>` body: `{"oid": …, "size": …}` (also the legacy v1 upload request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectSpec {
    /// The oid as sent (validate with [`super::Oid::parse`]).
    pub oid: String,
    /// The size as sent.
    pub size: i64,
}

// ---------------------------------------------------------------------------------------------
// Locks

/// The owner of a lock: `{"name": "alice"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockOwner {
    /// User name.
    pub name: String,
}

/// A lock on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// Id, a string (pasted unescaped into `locks/<id>/unlock`).
    pub id: String,
    /// Repository-root-relative path as the client sent it.
    pub path: String,
    /// RFC 3339 with zone.
    pub locked_at: String,
    /// Always present: a `theirs` lock without owner crashes the pre-push hook (T3).
    pub owner: LockOwner,
}

/// `POST …/locks` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateLockRequest {
    /// Path to lock.
    pub path: String,
    /// Advisory ref.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<GitRef>,
}

/// `201` answer to a lock creation and `200` answer to an unlock: `{"lock": …}` (a bare lock
/// is `invalid server response`, LFS.md §10 T28).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockResponse {
    /// The created or deleted lock.
    pub lock: Lock,
}

/// `409` answer to a lock creation: the existing lock and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockConflict {
    /// The lock already held on the path.
    pub lock: Lock,
    /// `already created lock`.
    pub message: String,
}

/// `GET …/locks` query parameters (decoded by the transport from
/// `application/x-www-form-urlencoded`, `+` meaning space).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListLocksQuery {
    /// Only the lock on this path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Only the lock with this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Continue after a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// Advisory ref (locks are global across refs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refspec: Option<String>,
}

/// `200` answer to a lock listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListLocksResponse {
    /// The page of locks; `[]` when empty, never `null`.
    pub locks: Vec<Lock>,
    /// Present only while more pages exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `POST …/locks/verify` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyLocksRequest {
    /// The ref being pushed (advisory).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<GitRef>,
    /// Continue after a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

impl VerifyLocksRequest {
    /// The page size for [`crate::lfs::locks::verify`]: negative or absurd values mean
    /// "the default" rather than an error, as the client never sends them.
    pub fn page_limit(&self) -> Option<u32> {
        self.limit.and_then(|l| u32::try_from(l).ok())
    }
}

/// `200` answer to a lock verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyLocksResponse {
    /// Locks held by the caller; always present.
    pub ours: Vec<Lock>,
    /// Locks held by everyone else; always present, each with `owner`.
    pub theirs: Vec<Lock>,
    /// Present only while more pages exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `POST …/locks/<id>/unlock` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockRequest {
    /// Unlock another user's lock (the server decides whether the caller may).
    #[serde(default)]
    pub force: bool,
    /// Advisory ref.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<GitRef>,
}

// ---------------------------------------------------------------------------------------------
// Legacy v1 API (git-lfs ≤ 0.5: `POST …/objects`, `GET …/objects/<oid>`)

/// One hypermedia link of the legacy API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Absolute URL.
    pub href: String,
    /// Headers to send; omitted when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub header: BTreeMap<String, String>,
}

impl From<Action> for Link {
    fn from(a: Action) -> Link {
        Link {
            href: a.href,
            header: a.header,
        }
    }
}

/// The `_links` of a legacy answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    /// The object's canonical API URL.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<Link>,
    /// GET the content (answers with status 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<Link>,
    /// PUT the content (answers with status 202).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<Link>,
    /// POST `{oid, size}` after the upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Link>,
}

/// Legacy answer: `GET …/objects/<oid>` (200, `download`) and `POST …/objects` (202 with
/// `upload` [+ `verify`] for a missing object, 200 with `download` for a present one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyObject {
    /// The oid.
    pub oid: String,
    /// The size.
    pub size: i64,
    /// What to do next.
    #[serde(rename = "_links")]
    pub links: Links,
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const O1: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    const O2: &str = "97b09d08daf88c6622d8cc2d60e57e4d24fff4e52fa386d79162c9c5206fe581";

    #[test]
    fn parses_traced_batch_request() {
        // LFS.md §4.1, as sent by git-lfs 3.3.0.
        let text = format!(
            r#"{{"operation":"upload","objects":[{{"oid":"{O2}","size":70000}},{{"oid":"{O1}","size":6}}],
            "transfers":["lfs-standalone-file","basic","ssh"],"ref":{{"name":"refs/heads/main"}},"hash_algo":"sha256"}}"#
        );
        let req: BatchRequest = serde_json::from_str(&text).unwrap();
        assert_eq!(req.operation, "upload");
        assert_eq!(req.objects.len(), 2);
        assert_eq!(req.objects[1].oid, O1);
        assert_eq!(req.objects[1].size, 6);
        assert_eq!(GitRef::name(&req.git_ref), Some("refs/heads/main"));
        assert_eq!(req.hash_algo.as_deref(), Some("sha256"));
    }

    #[test]
    fn batch_request_is_lenient() {
        for text in [
            r#"{"operation":"download","objects":[]}"#,
            r#"{"operation":"download","objects":[],"ref":null}"#,
            r#"{"operation":"download","objects":[],"ref":{}}"#,
            r#"{"operation":"download","objects":[],"ref":{"name":"HEAD"},"extra":1}"#,
            r#"{"operation":"frobnicate","objects":[{"oid":"../x","size":-1}]}"#,
        ] {
            let req: Result<BatchRequest, _> = serde_json::from_str(text);
            assert!(req.is_ok(), "{text}: {req:?}");
        }
    }

    #[test]
    fn batch_response_shape_matches_the_trace() {
        // LFS.md §4.2.
        let action = |href: &str| Action {
            href: href.to_string(),
            header: BTreeMap::from([("Authorization".to_string(), "RemoteAuth t1".to_string())]),
            expires_in: Some(3600),
            expires_at: None,
        };
        let resp = BatchResponse {
            transfer: TRANSFER_BASIC.into(),
            hash_algo: HASH_ALGO_SHA256.into(),
            objects: vec![
                BatchResponseObject {
                    oid: O1.into(),
                    size: 6,
                    authenticated: Some(true),
                    actions: Some(Actions {
                        download: None,
                        upload: Some(action(&format!("https://h/r.git/info/lfs/objects/{O1}"))),
                        verify: Some(action("https://h/r.git/info/lfs/verify")),
                    }),
                    error: None,
                },
                BatchResponseObject {
                    oid: O2.into(),
                    size: 70000,
                    authenticated: None,
                    actions: None,
                    error: None,
                },
            ],
        };
        let want = json!({"transfer":"basic","objects":[
            {"oid":O1,"size":6,"authenticated":true,
             "actions":{"upload":{"href":format!("https://h/r.git/info/lfs/objects/{O1}"),
                                  "header":{"Authorization":"RemoteAuth t1"},"expires_in":3600},
                        "verify":{"href":"https://h/r.git/info/lfs/verify",
                                  "header":{"Authorization":"RemoteAuth t1"},"expires_in":3600}}},
            {"oid":O2,"size":70000}],"hash_algo":"sha256"});
        assert_eq!(serde_json::to_value(&resp).unwrap(), want);
        let text = serde_json::to_string(&resp).unwrap();
        assert!(!text.contains("null"), "no null fields: {text}");
        assert!(!text.contains("ssh"));
    }

    #[test]
    fn object_error_shape() {
        let o = BatchResponseObject {
            oid: O1.into(),
            size: 6,
            authenticated: None,
            actions: None,
            error: Some(ObjectError {
                code: 404,
                message: "Object does not exist".into(),
            }),
        };
        assert_eq!(
            serde_json::to_value(&o).unwrap(),
            json!({"oid":O1,"size":6,"error":{"code":404,"message":"Object does not exist"}})
        );
        assert_eq!(
            serde_json::to_value(ErrorBody::new("no")).unwrap(),
            json!({"message":"no"})
        );
    }

    fn lock() -> Lock {
        Lock {
            id: "1".into(),
            path: "sub/dir/f.bin".into(),
            locked_at: "2024-05-01T10:00:00Z".into(),
            owner: LockOwner {
                name: "alice".into(),
            },
        }
    }

    #[test]
    fn lock_shapes_match_the_reference() {
        // LFS.md §6.1: id is a string, owner always present.
        let l = json!({"id":"1","path":"sub/dir/f.bin","locked_at":"2024-05-01T10:00:00Z","owner":{"name":"alice"}});
        assert_eq!(serde_json::to_value(lock()).unwrap(), l);
        assert_eq!(
            serde_json::to_value(LockResponse { lock: lock() }).unwrap(),
            json!({ "lock": l })
        );
        assert_eq!(
            serde_json::to_value(LockConflict {
                lock: lock(),
                message: "already created lock".into()
            })
            .unwrap(),
            json!({"lock": l, "message": "already created lock"})
        );
        assert_eq!(
            serde_json::to_value(ListLocksResponse {
                locks: vec![],
                next_cursor: None
            })
            .unwrap(),
            json!({"locks": []})
        );
        assert_eq!(
            serde_json::to_value(ListLocksResponse {
                locks: vec![lock()],
                next_cursor: Some("2".into())
            })
            .unwrap(),
            json!({"locks": [l], "next_cursor": "2"})
        );
        assert_eq!(
            serde_json::to_value(VerifyLocksResponse {
                ours: vec![],
                theirs: vec![lock()],
                next_cursor: None
            })
            .unwrap(),
            json!({"ours": [], "theirs": [l]})
        );
    }

    #[test]
    fn parses_traced_lock_requests() {
        let c: CreateLockRequest =
            serde_json::from_str(r#"{"path":"a.bin","ref":{"name":"refs/heads/main"}}"#).unwrap();
        assert_eq!(c.path, "a.bin");
        let v: VerifyLocksRequest =
            serde_json::from_str(r#"{"ref":{"name":"refs/heads/main"},"cursor":"2"}"#).unwrap();
        assert_eq!(v.cursor.as_deref(), Some("2"));
        assert_eq!(v.limit, None);
        let v: VerifyLocksRequest =
            serde_json::from_str(r#"{"ref":{"name":"refs/heads/main"},"limit":3}"#).unwrap();
        assert_eq!(v.limit, Some(3));
        assert_eq!(v.page_limit(), Some(3));
        let v: VerifyLocksRequest = serde_json::from_str(r#"{"limit":-3}"#).unwrap();
        assert_eq!(v.page_limit(), None);
        let u: UnlockRequest =
            serde_json::from_str(r#"{"force":false,"ref":{"name":"refs/heads/main"}}"#).unwrap();
        assert!(!u.force);
        let u: UnlockRequest = serde_json::from_str(r#"{"force":true}"#).unwrap();
        assert!(u.force);
        let u: UnlockRequest = serde_json::from_str(r#"{}"#).unwrap();
        assert!(!u.force);
        let s: ObjectSpec = serde_json::from_str(&format!(r#"{{"oid":"{O1}","size":6}}"#)).unwrap();
        assert_eq!(s.size, 6);
    }

    #[test]
    fn legacy_shapes() {
        let link = |href: &str| Link {
            href: href.into(),
            header: BTreeMap::from([("Authorization".into(), "RemoteAuth x".into())]),
        };
        let upload = LegacyObject {
            oid: O1.into(),
            size: 6,
            links: Links {
                upload: Some(link("https://h/u")),
                verify: Some(link("https://h/v")),
                ..Links::default()
            },
        };
        assert_eq!(
            serde_json::to_value(&upload).unwrap(),
            json!({"oid":O1,"size":6,"_links":{
                "upload":{"href":"https://h/u","header":{"Authorization":"RemoteAuth x"}},
                "verify":{"href":"https://h/v","header":{"Authorization":"RemoteAuth x"}}}})
        );
        let download = LegacyObject {
            oid: O1.into(),
            size: 6,
            links: Links {
                self_link: Some(Link {
                    href: "https://h/o".into(),
                    header: BTreeMap::new(),
                }),
                download: Some(link("https://h/d")),
                ..Links::default()
            },
        };
        assert_eq!(
            serde_json::to_value(&download).unwrap(),
            json!({"oid":O1,"size":6,"_links":{
                "self":{"href":"https://h/o"},
                "download":{"href":"https://h/d","header":{"Authorization":"RemoteAuth x"}}}})
        );
    }
}
