//! Git LFS: the transport-independent service core.
//!
//! Everything here takes typed input and returns typed output or typed errors; the HTTP,
//! CGI and SSH adapters (written separately) parse requests, authorise the caller, call in,
//! and render the answer. Wire behaviour follows `LFS.md` (traced against git-lfs 3.3.0).
//!
//! - [`oid`]: [`Oid`], the only way an object id reaches the filesystem.
//! - [`storage`]: [`ObjectStore`] and the on-disk [`FsStore`] (verified streaming puts,
//!   ranged gets, listing, usage), and [`storage::open`], which picks a repository's store.
//! - [`s3`]: [`s3::S3Store`], objects in an S3-compatible bucket (presigned or proxied).
//! - [`migrate`]: moving a repository's objects between stores, resumably.
//! - [`token`]: HMAC-signed, object- and operation-scoped action tokens keyed by
//!   `<root>/secret`.
//! - [`api`]: serde types of the batch, verify, lock and legacy v1 JSON.
//! - [`batch`]: batch planning ([`batch::plan`]) and the verify callback.
//! - [`legacy`]: the v1 object API (`POST …/objects`, `GET …/objects/<oid>`).
//!
//! - [`locks`]: lock queries; the table lives in the metadata database.
//! - [`pointer`]: parsing the pointer files git stores in place of LFS content.
//! - [`admin`]: the operator's checks on a store (`hubctl lfs fsck`, `hubctl lfs prune`).

pub mod admin;
pub mod api;
pub mod batch;
pub mod legacy;
pub mod locks;
pub mod migrate;
pub mod oid;
pub mod pointer;
pub mod s3;
pub mod storage;
pub mod token;

pub use batch::{ActionBuilder, BatchError, Limits, Operation, TokenActions, plan};
pub use oid::{Oid, OidError};
pub use pointer::Pointer;
pub use storage::{
    ByteRange, DirectAction, FsStore, LfsBackend, ObjectRead, ObjectReader, ObjectStore, OpenError,
    PutOutcome, StorageError, Usage, Verified,
};
pub use token::{ApiClaims, Claims, Secret, TokenError, TokenOp, TokenScope};
