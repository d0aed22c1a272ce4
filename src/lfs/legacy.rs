//! The legacy v1 object API (git-lfs ≤ 0.5, before the batch API): `GET …/objects/<oid>` for
//! one object's download link, `POST …/objects` with `{oid, size}` to start one upload.
//! Same storage, limits and action tokens as [`super::batch`]; only the JSON differs
//! (`_links` instead of `actions`, status 202 for "go and upload").

use super::api::{LegacyObject, Link, Links, ObjectSpec};
use super::batch::{ActionBuildError, ActionBuilder, Limits};
use super::oid::Oid;
use super::storage::{ObjectStore, StorageError};
use super::token::TokenOp;

/// Errors of the legacy API.
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    /// Bad oid or negative size.
    #[error("invalid object: {0}")]
    Invalid(String),
    /// The object is not stored.
    #[error("object {0} not found")]
    NotFound(Oid),
    /// The object is stored with another size than the request says.
    #[error("object {oid} is {stored} bytes, not {claimed}")]
    SizeMismatch {
        /// The object.
        oid: Oid,
        /// The size in the request.
        claimed: u64,
        /// The size stored.
        stored: u64,
    },
    /// Larger than the repository's maximum object size.
    #[error("object is {size} bytes, larger than the limit of {max} bytes")]
    TooLarge {
        /// The object's size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The upload would exceed the repository's LFS quota.
    #[error("LFS quota exceeded: {used} bytes stored + {incoming} bytes > {quota} bytes allowed")]
    QuotaExceeded {
        /// Bytes stored now.
        used: u64,
        /// The object's size.
        incoming: u64,
        /// The quota.
        quota: u64,
    },
    /// The object store failed.
    #[error("LFS storage: {0}")]
    Storage(#[from] StorageError),
    /// Building a link failed.
    #[error("building an LFS action: {0}")]
    Action(ActionBuildError),
}

impl LegacyError {
    /// The HTTP-like status of the error answer.
    pub fn status(&self) -> u16 {
        match self {
            LegacyError::Invalid(_) | LegacyError::SizeMismatch { .. } => 400,
            LegacyError::NotFound(_) => 404,
            LegacyError::TooLarge { .. } => 413,
            LegacyError::QuotaExceeded { .. } => 507,
            LegacyError::Storage(_) | LegacyError::Action(_) => 500,
        }
    }
}

/// A legacy answer: status 200 (object present, `download` link) or 202 (`upload` and
/// `verify` links), and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyAnswer {
    /// 200 or 202.
    pub status: u16,
    /// The JSON body.
    pub body: LegacyObject,
}

fn link(
    actions: &dyn ActionBuilder,
    oid: &Oid,
    size: u64,
    op: TokenOp,
) -> Result<Link, LegacyError> {
    actions
        .action(oid, size, op)
        .map(Link::from)
        .map_err(LegacyError::Action)
}

fn download_answer(
    actions: &dyn ActionBuilder,
    oid: &Oid,
    size: u64,
    self_href: Option<String>,
) -> Result<LegacyAnswer, LegacyError> {
    Ok(LegacyAnswer {
        status: 200,
        body: LegacyObject {
            oid: oid.to_string(),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            links: Links {
                self_link: self_href.map(|href| Link {
                    href,
                    header: Default::default(),
                }),
                download: Some(link(actions, oid, size, TokenOp::Download)?),
                upload: None,
                verify: None,
            },
        },
    })
}

/// `GET …/objects/<oid>`: the object's size and download link (status 200), or
/// [`LegacyError::NotFound`]. `self_href` is the object's API URL, if the transport wants it
/// in `_links.self`.
pub fn get_object(
    storage: &dyn ObjectStore,
    oid: &str,
    self_href: Option<String>,
    actions: &dyn ActionBuilder,
) -> Result<LegacyAnswer, LegacyError> {
    let oid = Oid::parse(oid).map_err(|e| LegacyError::Invalid(e.to_string()))?;
    match storage.stat(&oid)? {
        Some(size) => download_answer(actions, &oid, size, self_href),
        None => Err(LegacyError::NotFound(oid)),
    }
}

/// `POST …/objects`: 200 with a download link if the object is already stored, else 202
/// with `upload` and `verify` links, after the same size and quota checks as a batch upload.
pub fn start_upload(
    storage: &dyn ObjectStore,
    spec: &ObjectSpec,
    limits: &Limits,
    actions: &dyn ActionBuilder,
) -> Result<LegacyAnswer, LegacyError> {
    let oid = Oid::parse(&spec.oid).map_err(|e| LegacyError::Invalid(e.to_string()))?;
    let size = u64::try_from(spec.size)
        .map_err(|_| LegacyError::Invalid(format!("negative size {}", spec.size)))?;
    if let Some(max) = limits.max_object_size.filter(|max| size > *max) {
        return Err(LegacyError::TooLarge { size, max });
    }
    if let Some(stored) = storage.stat(&oid)? {
        if stored != size {
            return Err(LegacyError::SizeMismatch {
                oid,
                claimed: size,
                stored,
            });
        }
        return download_answer(actions, &oid, size, None);
    }
    if let Some(quota) = limits.quota_bytes {
        let used = storage.usage()?.bytes;
        if used.saturating_add(size) > quota {
            return Err(LegacyError::QuotaExceeded {
                used,
                incoming: size,
                quota,
            });
        }
    }
    Ok(LegacyAnswer {
        status: 202,
        body: LegacyObject {
            oid: spec.oid.clone(),
            size: spec.size,
            links: Links {
                self_link: None,
                download: None,
                upload: Some(link(actions, &oid, size, TokenOp::Upload)?),
                verify: Some(link(actions, &oid, size, TokenOp::Verify)?),
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lfs::api::Action;
    use crate::lfs::storage::FsStore;

    fn builder(oid: &Oid, _size: u64, op: TokenOp) -> Result<Action, ActionBuildError> {
        Ok(Action {
            href: format!("https://h/{}/{oid}", op.as_str()),
            header: Default::default(),
            expires_in: Some(60),
            expires_at: None,
        })
    }

    #[test]
    fn legacy_flow() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsStore::new(&dir.path().join("r.git"));
        let data = b"hello\n";
        let oid = Oid::of_bytes(data);
        let spec = ObjectSpec {
            oid: oid.to_string(),
            size: 6,
        };
        let limits = Limits::default();

        let ans = start_upload(&s, &spec, &limits, &builder).unwrap();
        assert_eq!(ans.status, 202);
        let json = serde_json::to_value(&ans.body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"oid": oid.as_str(), "size": 6, "_links": {
                "upload": {"href": format!("https://h/upload/{oid}")},
                "verify": {"href": format!("https://h/verify/{oid}")}}})
        );
        assert_eq!(
            get_object(&s, oid.as_str(), None, &builder)
                .unwrap_err()
                .status(),
            404
        );

        s.put_verified(&oid, 6, &mut &data[..]).unwrap();
        let ans = start_upload(&s, &spec, &limits, &builder).unwrap();
        assert_eq!(ans.status, 200);
        assert!(ans.body.links.download.is_some() && ans.body.links.upload.is_none());
        let ans = get_object(&s, oid.as_str(), Some("https://h/o".into()), &builder).unwrap();
        assert_eq!(ans.body.size, 6);
        assert_eq!(ans.body.links.self_link.unwrap().href, "https://h/o");

        let bad = |oid: &str, size| ObjectSpec {
            oid: oid.into(),
            size,
        };
        let status = |spec: &ObjectSpec, limits: &Limits| {
            start_upload(&s, spec, limits, &builder)
                .unwrap_err()
                .status()
        };
        assert_eq!(status(&bad("../x", 1), &limits), 400);
        assert_eq!(status(&bad(oid.as_str(), -1), &limits), 400);
        assert_eq!(status(&bad(oid.as_str(), 7), &limits), 400);
        let other = Oid::of_bytes(b"other");
        let small = Limits {
            max_object_size: Some(4),
            ..Limits::default()
        };
        assert_eq!(status(&bad(other.as_str(), 5), &small), 413);
        let quota = Limits {
            quota_bytes: Some(10),
            ..Limits::default()
        };
        assert_eq!(status(&bad(other.as_str(), 5), &quota), 507);
        assert_eq!(
            get_object(&s, "NOPE", None, &builder).unwrap_err().status(),
            400
        );
    }
}
