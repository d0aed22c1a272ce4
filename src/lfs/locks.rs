//! Git LFS locks (LFS.md §6): one lock per (repository, path), owned by a user.
//!
//! Plain functions over a `rusqlite::Connection` (a `Transaction` derefs to one), so they can
//! run inside any `Store::write` transaction. Ids come from AUTOINCREMENT and are never
//! reused, so an old `unlock --id=N` can never remove a newer lock; on the wire they are
//! decimal strings. Listing pages by id: the cursor is the id of the first lock of the next
//! page. Locks are global across refs (git-lfs#3645): the ref a client sends is recorded, not
//! used for matching.

use rusqlite::{Connection, OptionalExtension as _, params};

use super::api;
use crate::store::{is_unique_violation, now_rfc3339};

/// Page size when the client gives none.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page served, whatever the client asks.
pub const MAX_LIMIT: u32 = 1000;
/// Longest lock path accepted, in bytes.
pub const MAX_PATH_LEN: usize = 4096;

/// Errors of lock operations.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The path is already locked; carries the existing lock (the 409 answer shows it).
    #[error("already created lock")]
    Conflict(Box<LockRecord>),
    /// No lock with this id in this repository.
    #[error("lock {0} not found")]
    NotFound(String),
    /// Someone else's lock, and `force` was not given.
    #[error("lock belongs to {}; use --force", .0.owner_name)]
    NotOwner(Box<LockRecord>),
    /// The path is empty, too long or contains a control character that cannot travel in
    /// the SSH protocol's lines.
    #[error("invalid lock path: {0}")]
    InvalidPath(&'static str),
    /// A `cursor` or `limit` that hubctl never hands out.
    #[error("invalid {what} {value:?}")]
    InvalidPaging {
        /// `cursor` or `limit`.
        what: &'static str,
        /// The offending text.
        value: String,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

impl LockError {
    /// The HTTP-like status: 409 conflict, 404 unknown id, 403 not the owner, 400 bad input,
    /// 500 database.
    pub fn status(&self) -> u16 {
        match self {
            LockError::Conflict(_) => 409,
            LockError::NotFound(_) => 404,
            LockError::NotOwner(_) => 403,
            LockError::InvalidPath(_) | LockError::InvalidPaging { .. } => 400,
            LockError::Sql(_) => 500,
        }
    }
}

/// A lock as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRecord {
    /// Database id (a decimal string on the wire).
    pub id: i64,
    /// The repository's row id.
    pub repo_id: i64,
    /// Repository-root-relative path, as the client sent it.
    pub path: String,
    /// The owning user's id.
    pub owner_id: i64,
    /// The owning user's name (every wire form of a lock carries it, LFS.md §10 T3).
    pub owner_name: String,
    /// The ref the client sent when locking, if any (informational).
    pub refname: Option<String>,
    /// RFC 3339 UTC.
    pub locked_at: String,
}

impl LockRecord {
    /// The lock as JSON sends it: string id, owner always present.
    pub fn to_wire(&self) -> api::Lock {
        api::Lock {
            id: self.id.to_string(),
            path: self.path.clone(),
            locked_at: self.locked_at.clone(),
            owner: api::LockOwner {
                name: self.owner_name.clone(),
            },
        }
    }
}

/// Which locks to list, and which page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockFilter {
    /// Only the lock on exactly this path.
    pub path: Option<String>,
    /// Only the lock with this wire id (an id that is not a number matches nothing).
    pub id: Option<String>,
    /// Start at this cursor (from a previous page's `next_cursor`).
    pub cursor: Option<String>,
    /// Page size; `None` or 0 = [`DEFAULT_LIMIT`], capped at [`MAX_LIMIT`].
    pub limit: Option<u32>,
}

impl LockFilter {
    /// From the `GET …/locks` query (`refspec` is ignored: locks are not per ref). Rejects a
    /// `limit` that is not a non-negative number and a malformed `cursor`.
    pub fn from_query(q: &api::ListLocksQuery) -> Result<LockFilter, LockError> {
        let limit = match q.limit.as_deref().map(str::trim) {
            None | Some("") => None,
            // Digits only: `parse` would also take a sign.
            Some(text) => Some(
                Some(text)
                    .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|t| t.parse::<u32>().ok())
                    .ok_or_else(|| LockError::InvalidPaging {
                        what: "limit",
                        value: text.to_string(),
                    })?,
            ),
        };
        let filter = LockFilter {
            path: q.path.clone().filter(|p| !p.is_empty()),
            id: q.id.clone().filter(|i| !i.is_empty()),
            cursor: q.cursor.clone().filter(|c| !c.is_empty()),
            limit,
        };
        parse_cursor(filter.cursor.as_deref())?;
        Ok(filter)
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockPage {
    /// The locks, by ascending id.
    pub locks: Vec<LockRecord>,
    /// Cursor of the next page, if there is one.
    pub next_cursor: Option<String>,
}

impl LockPage {
    /// The `GET …/locks` answer.
    pub fn to_wire(&self) -> api::ListLocksResponse {
        api::ListLocksResponse {
            locks: self.locks.iter().map(LockRecord::to_wire).collect(),
            next_cursor: self.next_cursor.clone(),
        }
    }
}

/// One page of a verification, split by owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyPage {
    /// Locks held by the asking user.
    pub ours: Vec<LockRecord>,
    /// Locks held by everyone else.
    pub theirs: Vec<LockRecord>,
    /// Cursor of the next page, if there is one.
    pub next_cursor: Option<String>,
}

impl VerifyPage {
    /// The `POST …/locks/verify` answer.
    pub fn to_wire(&self) -> api::VerifyLocksResponse {
        api::VerifyLocksResponse {
            ours: self.ours.iter().map(LockRecord::to_wire).collect(),
            theirs: self.theirs.iter().map(LockRecord::to_wire).collect(),
            next_cursor: self.next_cursor.clone(),
        }
    }
}

const SELECT: &str = "SELECT l.id, l.repo_id, l.path, l.owner_id, o.name, l.refname, l.locked_at
     FROM lfs_locks l JOIN owners o ON o.id = l.owner_id";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LockRecord> {
    Ok(LockRecord {
        id: r.get(0)?,
        repo_id: r.get(1)?,
        path: r.get(2)?,
        owner_id: r.get(3)?,
        owner_name: r.get(4)?,
        refname: r.get(5)?,
        locked_at: r.get(6)?,
    })
}

/// A wire id as a row id: canonical positive decimal only, so `"01"` or `"1 "` never
/// address lock 1.
fn parse_id(text: &str) -> Option<i64> {
    let canonical = !text.is_empty()
        && text.len() <= 19
        && text.bytes().all(|b| b.is_ascii_digit())
        && !text.starts_with('0');
    if canonical { text.parse().ok() } else { None }
}

fn parse_cursor(cursor: Option<&str>) -> Result<i64, LockError> {
    match cursor {
        None => Ok(0),
        Some(c) => parse_id(c).ok_or_else(|| LockError::InvalidPaging {
            what: "cursor",
            value: c.to_string(),
        }),
    }
}

fn page_size(limit: Option<u32>) -> u32 {
    match limit {
        None | Some(0) => DEFAULT_LIMIT,
        Some(n) => n.min(MAX_LIMIT),
    }
}

fn validate_path(path: &str) -> Result<(), LockError> {
    if path.is_empty() {
        return Err(LockError::InvalidPath("must not be empty"));
    }
    if path.len() > MAX_PATH_LEN {
        return Err(LockError::InvalidPath("longer than 4096 bytes"));
    }
    if path.chars().any(char::is_control) {
        return Err(LockError::InvalidPath(
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// The lock with wire id `id` in repository `repo_id`, if any.
pub fn get(conn: &Connection, repo_id: i64, id: &str) -> Result<Option<LockRecord>, LockError> {
    let Some(id) = parse_id(id) else {
        return Ok(None);
    };
    Ok(conn
        .query_row(
            &format!("{SELECT} WHERE l.repo_id = ?1 AND l.id = ?2"),
            params![repo_id, id],
            row,
        )
        .optional()?)
}

/// The lock on `path` in repository `repo_id`, if any.
pub fn get_by_path(
    conn: &Connection,
    repo_id: i64,
    path: &str,
) -> Result<Option<LockRecord>, LockError> {
    Ok(conn
        .query_row(
            &format!("{SELECT} WHERE l.repo_id = ?1 AND l.path = ?2"),
            params![repo_id, path],
            row,
        )
        .optional()?)
}

/// Lock `path` in repository `repo_id` for user `owner_id`. A path that is already locked (by
/// anyone, on any ref) is [`LockError::Conflict`] carrying the existing lock.
pub fn create(
    conn: &Connection,
    repo_id: i64,
    path: &str,
    owner_id: i64,
    refname: Option<&str>,
) -> Result<LockRecord, LockError> {
    validate_path(path)?;
    // Outside a transaction the conflicting lock may vanish between the failed insert and the
    // lookup; then the insert is simply tried again.
    for _ in 0..3 {
        let inserted = conn.execute(
            "INSERT INTO lfs_locks (repo_id, path, owner_id, refname, locked_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![repo_id, path, owner_id, refname, now_rfc3339()],
        );
        match inserted {
            Ok(_) => {
                let id = conn.last_insert_rowid();
                return conn
                    .query_row(&format!("{SELECT} WHERE l.id = ?1"), [id], row)
                    .map_err(LockError::from);
            }
            Err(e) if is_unique_violation(&e) => {
                if let Some(existing) = get_by_path(conn, repo_id, path)? {
                    return Err(LockError::Conflict(Box::new(existing)));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(LockError::Sql(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
        Some("lock kept changing during creation".into()),
    )))
}

/// One page of the locks of repository `repo_id` matching `filter`, by ascending id. A
/// filter that matches nothing gives an empty page, never an error (LFS.md §10 T27).
pub fn list(conn: &Connection, repo_id: i64, filter: &LockFilter) -> Result<LockPage, LockError> {
    let start = parse_cursor(filter.cursor.as_deref())?;
    let id = match filter.id.as_deref() {
        None => None,
        Some(text) => match parse_id(text) {
            Some(id) => Some(id),
            None => return Ok(LockPage::default()),
        },
    };
    let limit = page_size(filter.limit);
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE l.repo_id = ?1 AND l.id >= ?2
           AND (?3 IS NULL OR l.path = ?3) AND (?4 IS NULL OR l.id = ?4)
         ORDER BY l.id LIMIT ?5"
    ))?;
    let mut locks = stmt
        .query_map(
            params![repo_id, start, filter.path, id, i64::from(limit) + 1],
            row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = split_page(&mut locks, limit);
    Ok(LockPage { locks, next_cursor })
}

/// Cut `locks` (fetched with one extra row) to `limit`; the extra row's id is the next
/// cursor.
fn split_page(locks: &mut Vec<LockRecord>, limit: u32) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if locks.len() > limit {
        let next = locks[limit].id.to_string();
        locks.truncate(limit);
        Some(next)
    } else {
        None
    }
}

/// One page of all locks of repository `repo_id`, split into those of `user_id` (`ours`)
/// and everyone else's (`theirs`), for `POST …/locks/verify` and SSH `list-locks`.
pub fn verify(
    conn: &Connection,
    repo_id: i64,
    user_id: i64,
    cursor: Option<&str>,
    limit: Option<u32>,
) -> Result<VerifyPage, LockError> {
    let page = list(
        conn,
        repo_id,
        &LockFilter {
            cursor: cursor.map(str::to_string),
            limit,
            ..LockFilter::default()
        },
    )?;
    let (ours, theirs) = page.locks.into_iter().partition(|l| l.owner_id == user_id);
    Ok(VerifyPage {
        ours,
        theirs,
        next_cursor: page.next_cursor,
    })
}

/// Every lock of repository `repo_id` held by someone other than `user_id`, by path: what a
/// push by `user_id` must not touch if hubctl enforces locks server-side (LFS.md §10 T25;
/// client-side verification is only advisory).
pub fn held_by_others(
    conn: &Connection,
    repo_id: i64,
    user_id: i64,
) -> Result<Vec<LockRecord>, LockError> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE l.repo_id = ?1 AND l.owner_id != ?2 ORDER BY l.path"
    ))?;
    let locks = stmt
        .query_map(params![repo_id, user_id], row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(locks)
}

/// Remove the lock with wire id `id` from repository `repo_id` on behalf of `user_id` and
/// return it. Another user's lock needs `force`; the caller passes `force: true` only if the
/// user asked for it **and** is allowed to (repository admin, by hubctl's policy), otherwise
/// [`LockError::NotOwner`].
pub fn unlock(
    conn: &Connection,
    repo_id: i64,
    id: &str,
    user_id: i64,
    force: bool,
) -> Result<LockRecord, LockError> {
    let lock = get(conn, repo_id, id)?.ok_or_else(|| LockError::NotFound(id.to_string()))?;
    if lock.owner_id != user_id && !force {
        return Err(LockError::NotOwner(Box::new(lock)));
    }
    let deleted = conn.execute(
        "DELETE FROM lfs_locks WHERE id = ?1 AND repo_id = ?2",
        params![lock.id, repo_id],
    )?;
    if deleted == 0 {
        // Removed by someone else between the lookup and the delete.
        return Err(LockError::NotFound(id.to_string()));
    }
    Ok(lock)
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    struct Db {
        _dir: tempfile::TempDir,
        store: Store,
    }

    /// A database with users alice (1) and bob (2) and repositories 1 and 2.
    fn db() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("hubctl.db")).unwrap();
        store
            .conn()
            .execute_batch(
                "INSERT INTO owners (id, name, kind, created_at) VALUES (1, 'alice', 'user', 't');
                 INSERT INTO owners (id, name, kind, created_at) VALUES (2, 'bob', 'user', 't');
                 INSERT INTO repos (id, namespace, name, created_at) VALUES (1, 'alice', 'game', 't');
                 INSERT INTO repos (id, namespace, name, created_at) VALUES (2, 'alice', 'other', 't');",
            )
            .unwrap();
        Db { _dir: dir, store }
    }

    #[test]
    fn create_and_conflict() {
        let db = db();
        let c = db.store.conn();
        let a = create(c, 1, "sub/dir/f.bin", 1, Some("refs/heads/main")).unwrap();
        assert_eq!(a.path, "sub/dir/f.bin");
        assert_eq!(a.owner_name, "alice");
        assert_eq!(a.refname.as_deref(), Some("refs/heads/main"));
        assert!(a.locked_at.ends_with('Z') && a.locked_at.contains('T'));
        let wire = serde_json::to_value(a.to_wire()).unwrap();
        assert_eq!(wire["id"], serde_json::json!(a.id.to_string()));
        assert_eq!(wire["owner"]["name"], "alice");

        // Same path, another user and another ref: still a conflict, carrying the lock.
        match create(c, 1, "sub/dir/f.bin", 2, Some("refs/heads/dev")) {
            Err(LockError::Conflict(existing)) => assert_eq!(*existing, a),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            create(c, 1, "sub/dir/f.bin", 1, None).unwrap_err().status(),
            409
        );
        // Another repository has its own namespace of paths.
        assert!(create(c, 2, "sub/dir/f.bin", 2, None).is_ok());
        for bad in ["", "a\nb", "a\0b", &"x".repeat(MAX_PATH_LEN + 1)] {
            assert_eq!(create(c, 1, bad, 1, None).unwrap_err().status(), 400);
        }
        assert!(create(c, 1, "with space/é.bin", 1, None).is_ok());
    }

    #[test]
    fn list_filters_and_pages() {
        let db = db();
        let c = db.store.conn();
        let ids: Vec<i64> = (0..7)
            .map(|i| {
                create(c, 1, &format!("f{i}.bin"), 1 + i % 2, None)
                    .unwrap()
                    .id
            })
            .collect();
        create(c, 2, "elsewhere.bin", 1, None).unwrap();

        let all = list(c, 1, &LockFilter::default()).unwrap();
        assert_eq!(all.locks.len(), 7);
        assert_eq!(all.next_cursor, None);

        // Pages of 3: 3 + 3 + 1, following next_cursor until it is absent.
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let page = list(
                c,
                1,
                &LockFilter {
                    cursor: cursor.clone(),
                    limit: Some(3),
                    ..LockFilter::default()
                },
            )
            .unwrap();
            pages += 1;
            seen.extend(page.locks.iter().map(|l| l.id));
            match page.next_cursor {
                Some(next) => {
                    assert_ne!(Some(&next), cursor.as_ref(), "cursor must advance");
                    cursor = Some(next);
                }
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, ids);

        let by_path = list(
            c,
            1,
            &LockFilter {
                path: Some("f3.bin".into()),
                ..LockFilter::default()
            },
        )
        .unwrap();
        assert_eq!(by_path.locks.len(), 1);
        assert_eq!(by_path.locks[0].id, ids[3]);

        let by_id = |id: &str| {
            list(
                c,
                1,
                &LockFilter {
                    id: Some(id.into()),
                    ..LockFilter::default()
                },
            )
            .unwrap()
            .locks
        };
        assert_eq!(by_id(&ids[5].to_string())[0].path, "f5.bin");
        assert!(by_id("abc").is_empty(), "a non-numeric id matches nothing");
        assert!(by_id(&format!("0{}", ids[5])).is_empty());

        let none = list(
            c,
            1,
            &LockFilter {
                path: Some("nope.bin".into()),
                ..LockFilter::default()
            },
        )
        .unwrap();
        assert!(none.locks.is_empty() && none.next_cursor.is_none());
        assert_eq!(
            serde_json::to_value(none.to_wire()).unwrap(),
            serde_json::json!({"locks": []})
        );

        let bad_cursor = LockFilter {
            cursor: Some("x".into()),
            ..LockFilter::default()
        };
        assert_eq!(list(c, 1, &bad_cursor).unwrap_err().status(), 400);
    }

    #[test]
    fn filter_from_query() {
        let q = api::ListLocksQuery {
            path: Some("a.bin".into()),
            id: None,
            cursor: Some("2".into()),
            limit: Some("3".into()),
            refspec: Some("refs/heads/main".into()),
        };
        assert_eq!(
            LockFilter::from_query(&q).unwrap(),
            LockFilter {
                path: Some("a.bin".into()),
                id: None,
                cursor: Some("2".into()),
                limit: Some(3),
            }
        );
        let bad = api::ListLocksQuery {
            limit: Some("-1".into()),
            ..api::ListLocksQuery::default()
        };
        assert_eq!(LockFilter::from_query(&bad).unwrap_err().status(), 400);
        let bad = api::ListLocksQuery {
            cursor: Some("zz".into()),
            ..api::ListLocksQuery::default()
        };
        assert!(LockFilter::from_query(&bad).is_err());
    }

    #[test]
    fn verify_splits_ours_and_theirs() {
        let db = db();
        let c = db.store.conn();
        for i in 0..5 {
            create(c, 1, &format!("f{i}.bin"), 1 + i % 2, None).unwrap();
        }
        let v = verify(c, 1, 1, None, None).unwrap();
        assert_eq!(v.ours.len(), 3);
        assert_eq!(v.theirs.len(), 2);
        assert!(v.ours.iter().all(|l| l.owner_name == "alice"));
        assert!(v.theirs.iter().all(|l| l.owner_name == "bob"));
        let wire = serde_json::to_value(v.to_wire()).unwrap();
        assert_eq!(wire["theirs"][0]["owner"]["name"], "bob");
        assert!(wire.get("next_cursor").is_none());

        let p1 = verify(c, 1, 2, None, Some(2)).unwrap();
        assert_eq!(p1.ours.len() + p1.theirs.len(), 2);
        let p2 = verify(c, 1, 2, p1.next_cursor.as_deref(), Some(2)).unwrap();
        let p3 = verify(c, 1, 2, p2.next_cursor.as_deref(), Some(2)).unwrap();
        assert_eq!(p3.ours.len() + p3.theirs.len(), 1);
        assert!(p3.next_cursor.is_none());
        let ours: usize = [&p1, &p2, &p3].iter().map(|p| p.ours.len()).sum();
        assert_eq!(ours, 2, "bob owns two locks");

        let others: Vec<String> = held_by_others(c, 1, 1)
            .unwrap()
            .into_iter()
            .map(|l| l.path)
            .collect();
        assert_eq!(others, vec!["f1.bin", "f3.bin"]);

        let empty = verify(c, 2, 1, None, None).unwrap();
        assert_eq!(
            serde_json::to_value(empty.to_wire()).unwrap(),
            serde_json::json!({"ours": [], "theirs": []})
        );
    }

    #[test]
    fn unlock_with_and_without_force() {
        let db = db();
        let c = db.store.conn();
        let a = create(c, 1, "a.bin", 1, None).unwrap();
        let id = a.id.to_string();

        // Bob without force: refused, lock kept.
        match unlock(c, 1, &id, 2, false) {
            Err(LockError::NotOwner(l)) => assert_eq!(l.owner_name, "alice"),
            other => panic!("{other:?}"),
        }
        assert_eq!(unlock(c, 1, &id, 2, false).unwrap_err().status(), 403);
        assert!(get(c, 1, &id).unwrap().is_some());
        // Wrong repository: not found.
        assert_eq!(unlock(c, 2, &id, 1, false).unwrap_err().status(), 404);
        // The owner unlocks without force.
        assert_eq!(unlock(c, 1, &id, 1, false).unwrap(), a);
        assert!(get(c, 1, &id).unwrap().is_none());
        assert_eq!(unlock(c, 1, &id, 1, false).unwrap_err().status(), 404);

        // Bob with force removes alice's lock.
        let b = create(c, 1, "a.bin", 1, None).unwrap();
        assert_ne!(b.id, a.id, "ids are never reused");
        assert_eq!(
            unlock(c, 1, &b.id.to_string(), 2, true).unwrap().path,
            "a.bin"
        );
        assert_eq!(unlock(c, 1, "nonsense", 1, true).unwrap_err().status(), 404);
    }

    #[test]
    fn works_inside_a_write_transaction() {
        let mut db = db();
        let lock = db
            .store
            .write(|tx| create(tx, 1, "t.bin", 1, None))
            .unwrap();
        let again = db.store.write(|tx| create(tx, 1, "t.bin", 2, None));
        assert!(matches!(again, Err(LockError::Conflict(_))));
        db.store
            .write(|tx| unlock(tx, 1, &lock.id.to_string(), 1, false))
            .unwrap();
    }

    #[test]
    fn locks_go_with_their_repository() {
        let db = db();
        let c = db.store.conn();
        create(c, 1, "a.bin", 1, None).unwrap();
        c.execute("DELETE FROM repos WHERE id = 1", []).unwrap();
        let n: i64 = c
            .query_row("SELECT count(*) FROM lfs_locks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }
}
