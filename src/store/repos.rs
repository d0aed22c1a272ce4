//! Repository rows: hubctl's settings and access grants for each hosted repository.

use rusqlite::{OptionalExtension, params};

use super::{Error, Store, is_unique_violation, now_rfc3339};
use crate::core::names::RepoName;

/// Who may see a repository without a grant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Anyone may clone.
    #[default]
    Public,
    /// Only the owner, organisation members and granted users.
    Private,
}

text_enum!(Visibility { Public => "public", Private => "private" } fallback Private);

/// A permission level on one repository; each includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Clone and fetch.
    Read,
    /// Also push.
    Write,
    /// Also change settings and grants.
    Admin,
}

text_enum!(Level { Read => "read", Write => "write", Admin => "admin" } fallback Read);

/// Where a repository's Git LFS objects live.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LfsBackend {
    /// Files inside the repository (`<repo>.git/lfs/objects`).
    #[default]
    Local,
    /// An S3-compatible object store (`hubctl config set lfs-storage s3`).
    S3,
}

text_enum!(LfsBackend { Local => "local", S3 => "s3" } fallback Local);

impl LfsBackend {
    /// `local` or `s3`; anything else is `None`.
    pub fn from_name(s: &str) -> Option<LfsBackend> {
        match s {
            "local" => Some(LfsBackend::Local),
            "s3" => Some(LfsBackend::S3),
            _ => None,
        }
    }
}

/// hubctl's settings for one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RepoSettings {
    /// Largest blob a push may add unless it is a Git LFS pointer; `None` = no limit.
    pub max_blob_size: Option<u64>,
    /// Public or private.
    pub visibility: Visibility,
    /// Largest Git LFS object an upload may bring; `None` = no limit.
    pub max_lfs_object_size: Option<u64>,
    /// Most bytes of Git LFS content the repository may hold; `None` = no quota.
    pub lfs_quota: Option<u64>,
    /// Refuse pushes that change a path another user holds a Git LFS lock on.
    pub lfs_enforce_locks: bool,
    /// Shown as `remote:` lines after a successful push; `None` = nothing.
    pub push_message: Option<String>,
    /// Shown as `remote:` lines after a fetch that sent a pack; `None` = nothing.
    pub fetch_message: Option<String>,
    /// Where its Git LFS objects live; `None` follows the global `lfs-storage`.
    pub lfs_storage: Option<LfsBackend>,
}

/// A repository's database row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRow {
    /// Database id.
    pub id: i64,
    /// Its settings.
    pub settings: RepoSettings,
}

/// One access grant, as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Grant {
    /// The user.
    pub user: String,
    /// Their level.
    pub level: Level,
}

/// Insert the row for a new repository inside `tx`.
pub fn insert(
    tx: &rusqlite::Transaction<'_>,
    name: &RepoName,
    settings: &RepoSettings,
) -> Result<i64, Error> {
    // The namespace must be its owner's exact spelling: callers pass names through
    // `Store::canonical_repo_name` first, so the row and the directory agree.
    let owner: Option<String> = tx
        .query_row(
            "SELECT name FROM owners WHERE name = ?1 COLLATE NOCASE
             ORDER BY name = ?1 DESC LIMIT 1",
            [name.ns()],
            |r| r.get(0),
        )
        .optional()?;
    match owner {
        None => {
            return Err(Error::NotFound(format!(
                "namespace {:?} is neither a user nor an organisation; create it first (hubctl user add {0} / hubctl org add {0})",
                name.ns()
            )));
        }
        Some(owner) if owner != name.ns() => {
            return Err(Error::Invalid(format!(
                "namespace {:?} is spelt {owner:?}",
                name.ns()
            )));
        }
        Some(_) => {}
    }
    // Unique regardless of case within the namespace, checked inside the transaction.
    let taken: Option<String> = tx
        .query_row(
            "SELECT namespace || '/' || name FROM repos
             WHERE namespace = ?1 COLLATE NOCASE AND name = ?2 COLLATE NOCASE LIMIT 1",
            params![name.ns(), name.name()],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(taken) = taken {
        return Err(Error::Conflict(format!(
            "repository {taken} already exists (names are unique regardless of case)"
        )));
    }
    tx.execute(
        "INSERT INTO repos (namespace, name, max_blob_size, visibility, created_at,
                            max_lfs_object_size, lfs_quota, lfs_enforce_locks,
                            push_message, fetch_message, lfs_storage)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            name.ns(),
            name.name(),
            settings.max_blob_size.map(|v| v as i64),
            settings.visibility.as_str(),
            now_rfc3339(),
            settings.max_lfs_object_size.map(|v| v as i64),
            settings.lfs_quota.map(|v| v as i64),
            settings.lfs_enforce_locks,
            settings.push_message,
            settings.fetch_message,
            settings.lfs_storage.map(LfsBackend::as_str),
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict(format!("repository {name} already exists"))
        } else {
            e.into()
        }
    })?;
    let id = tx.last_insert_rowid();
    // A new repository under a renamed one's old name takes the name back.
    tx.execute(
        "DELETE FROM repo_redirects WHERE namespace = ?1 AND name = ?2",
        params![name.ns(), name.name()],
    )?;
    Ok(id)
}

/// Give the row of `from` the name `to` inside `tx` (its id, and with it its grants and LFS
/// locks, stay), and leave a redirect from the old name; redirects that led to `from` lead
/// to `to` now.
pub fn rename(tx: &rusqlite::Transaction<'_>, from: &RepoName, to: &RepoName) -> Result<(), Error> {
    let owner: Option<String> = tx
        .query_row("SELECT kind FROM owners WHERE name = ?1", [to.ns()], |r| {
            r.get(0)
        })
        .optional()?;
    if owner.is_none() {
        return Err(Error::NotFound(format!(
            "namespace {:?} is neither a user nor an organisation; create it first (hubctl user add {0} / hubctl org add {0})",
            to.ns()
        )));
    }
    let n = tx
        .execute(
            "UPDATE repos SET namespace = ?3, name = ?4 WHERE namespace = ?1 AND name = ?2",
            params![from.ns(), from.name(), to.ns(), to.name()],
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::Conflict(format!("repository {to} already exists"))
            } else {
                e.into()
            }
        })?;
    if n == 0 {
        return Err(Error::NotFound(format!(
            "repository {from} has no database row (hubctl repo adopt {from} first)"
        )));
    }
    tx.execute(
        "DELETE FROM repo_redirects WHERE namespace = ?1 AND name = ?2",
        params![to.ns(), to.name()],
    )?;
    tx.execute(
        "UPDATE repo_redirects SET target_namespace = ?3, target_name = ?4
         WHERE target_namespace = ?1 AND target_name = ?2",
        params![from.ns(), from.name(), to.ns(), to.name()],
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO repo_redirects
             (namespace, name, target_namespace, target_name, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![from.ns(), from.name(), to.ns(), to.name(), now_rfc3339()],
    )?;
    Ok(())
}

/// Delete the row of `name` (grants go with it) inside `tx`.
pub fn delete(tx: &rusqlite::Transaction<'_>, name: &RepoName) -> Result<(), Error> {
    let n = tx.execute(
        "DELETE FROM repos WHERE namespace = ?1 AND name = ?2",
        params![name.ns(), name.name()],
    )?;
    if n == 0 {
        return Err(Error::NotFound(format!("repository {name} does not exist")));
    }
    // Old names that led here lead nowhere now.
    tx.execute(
        "DELETE FROM repo_redirects WHERE target_namespace = ?1 AND target_name = ?2",
        params![name.ns(), name.name()],
    )?;
    Ok(())
}

impl Store {
    /// The spelling `name` is stored under: a repository's row found regardless of case (the
    /// exact spelling first, should a clash from before names were unique remain), else the
    /// namespace's owner spelt as stored, else `name` unchanged. URLs, SSH paths and command
    /// lines go through this first, so `Alice/Repo` reaches `alice/repo`, and everything after
    /// (access, policies, paths on disk) works on the one stored name.
    pub fn canonical_repo_name(&self, name: &RepoName) -> Result<RepoName, Error> {
        // Cached statements here and in `repo_row`: both run for every request a serve answers.
        // The exact spelling wins over other cases of it; chosen here rather than by an ORDER
        // BY, which made SQLite build a temporary b-tree on every call.
        let mut row: Option<(String, String)> = None;
        let mut stmt = self.conn().prepare_cached(
            "SELECT namespace, name FROM repos
             WHERE namespace = ?1 COLLATE NOCASE AND name = ?2 COLLATE NOCASE",
        )?;
        let mut rows = stmt.query(params![name.ns(), name.name()])?;
        while let Some(r) = rows.next()? {
            let found: (String, String) = (r.get(0)?, r.get(1)?);
            let exact = found.0 == name.ns() && found.1 == name.name();
            if exact || row.is_none() {
                row = Some(found);
            }
            if exact {
                break;
            }
        }
        drop(rows);
        drop(stmt);
        let (ns, repo) = match row {
            Some(found) => found,
            None => match self.owner_name(name.ns())? {
                Some(owner) => (owner, name.name().to_string()),
                None => return Ok(name.clone()),
            },
        };
        if ns == name.ns() && repo == name.name() {
            return Ok(name.clone());
        }
        // Stored names passed the same rules when they were created.
        Ok(RepoName::new(&ns, &repo).unwrap_or_else(|_| name.clone()))
    }

    /// The row of `name`, or `None` if the repository has none (missing or not adopted).
    pub fn repo_row(&self, name: &RepoName) -> Result<Option<RepoRow>, Error> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT id, max_blob_size, visibility, max_lfs_object_size, lfs_quota,
                        lfs_enforce_locks, push_message, fetch_message, lfs_storage
                 FROM repos WHERE namespace = ?1 AND name = ?2",
            )?
            .query_row(params![name.ns(), name.name()], |r| {
                Ok(RepoRow {
                    id: r.get(0)?,
                    settings: RepoSettings {
                        max_blob_size: r.get::<_, Option<i64>>(1)?.map(|v| v as u64),
                        visibility: Visibility::parse(&r.get::<_, String>(2)?),
                        max_lfs_object_size: r.get::<_, Option<i64>>(3)?.map(|v| v as u64),
                        lfs_quota: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
                        lfs_enforce_locks: r.get(5)?,
                        push_message: r.get(6)?,
                        fetch_message: r.get(7)?,
                        lfs_storage: r
                            .get::<_, Option<String>>(8)?
                            .map(|v| LfsBackend::parse(&v)),
                    },
                })
            })
            .optional()?)
    }

    /// Where a repository renamed away from `name` went, if it was.
    pub fn redirect(&self, name: &RepoName) -> Result<Option<RepoName>, Error> {
        let target: Option<(String, String)> = self
            .conn()
            .query_row(
                "SELECT target_namespace, target_name FROM repo_redirects
                 WHERE namespace = ?1 AND name = ?2",
                params![name.ns(), name.name()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(target.and_then(|(ns, n)| RepoName::parse(&format!("{ns}/{n}")).ok()))
    }

    /// The settings of `name`, or `None` if the repository has no row.
    pub fn repo_settings(&self, name: &RepoName) -> Result<Option<RepoSettings>, Error> {
        Ok(self.repo_row(name)?.map(|r| r.settings))
    }

    /// Change the visibility of `name`.
    pub fn set_visibility(&mut self, name: &RepoName, v: Visibility) -> Result<(), Error> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE repos SET visibility = ?3 WHERE namespace = ?1 AND name = ?2",
                params![name.ns(), name.name(), v.as_str()],
            )?;
            if n == 0 {
                return Err(Error::NotFound(format!("repository {name} does not exist")));
            }
            Ok(())
        })
    }

    /// Give `user` `level` on `name` (replacing an earlier grant).
    pub fn grant(&mut self, name: &RepoName, user: &str, level: Level) -> Result<(), Error> {
        self.write(|tx| {
            let (repo_id, user_id) = repo_and_user(tx, name, user)?;
            tx.execute(
                "INSERT INTO grants (repo_id, user_id, level) VALUES (?1, ?2, ?3)
                 ON CONFLICT (repo_id, user_id) DO UPDATE SET level = excluded.level",
                params![repo_id, user_id, level.as_str()],
            )?;
            Ok(())
        })
    }

    /// Take `user`'s grant on `name` away.
    pub fn revoke(&mut self, name: &RepoName, user: &str) -> Result<(), Error> {
        self.write(|tx| {
            let (repo_id, user_id) = repo_and_user(tx, name, user)?;
            let n = tx.execute(
                "DELETE FROM grants WHERE repo_id = ?1 AND user_id = ?2",
                params![repo_id, user_id],
            )?;
            if n == 0 {
                return Err(Error::NotFound(format!("{user} has no grant on {name}")));
            }
            Ok(())
        })
    }

    /// The grants on the repository with row id `repo_id`, by user name.
    pub fn grants(&self, repo_id: i64) -> Result<Vec<Grant>, Error> {
        let mut st = self.conn().prepare(
            "SELECT u.name, g.level FROM grants g JOIN owners u ON u.id = g.user_id
             WHERE g.repo_id = ?1 ORDER BY u.name",
        )?;
        let rows = st.query_map([repo_id], |r| {
            Ok(Grant {
                user: r.get(0)?,
                level: Level::parse(&r.get::<_, String>(1)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `user_id`'s grant on the repository with row id `repo_id`.
    pub fn grant_level(&self, repo_id: i64, user_id: i64) -> Result<Option<Level>, Error> {
        let level: Option<String> = self
            .conn()
            .query_row(
                "SELECT level FROM grants WHERE repo_id = ?1 AND user_id = ?2",
                params![repo_id, user_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(level.map(|l| Level::parse(&l)))
    }

    /// Give an existing on-disk repository its row (`repo adopt`).
    pub fn adopt(&mut self, name: &RepoName, settings: &RepoSettings) -> Result<(), Error> {
        self.write(|tx| insert(tx, name, settings).map(|_| ()))
    }

    /// Run `f` in a write transaction (for operations that pair a row change with a change
    /// on disk).
    pub fn transaction<T, E: From<rusqlite::Error>>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.write(f)
    }

    /// Change the large-blob limit of `name`.
    pub fn set_max_blob_size(&mut self, name: &RepoName, limit: Option<u64>) -> Result<(), Error> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE repos SET max_blob_size = ?3 WHERE namespace = ?1 AND name = ?2",
                params![name.ns(), name.name(), limit.map(|v| v as i64)],
            )?;
            if n == 0 {
                return Err(Error::NotFound(format!("repository {name} does not exist")));
            }
            Ok(())
        })
    }

    /// Change the largest Git LFS object an upload into `name` may bring.
    pub fn set_max_lfs_object_size(
        &mut self,
        name: &RepoName,
        limit: Option<u64>,
    ) -> Result<(), Error> {
        self.update_repo(
            name,
            "UPDATE repos SET max_lfs_object_size = ?3 WHERE namespace = ?1 AND name = ?2",
            limit.map(|v| v as i64),
        )
    }

    /// Change the Git LFS quota of `name` (`None` = no quota).
    pub fn set_lfs_quota(&mut self, name: &RepoName, quota: Option<u64>) -> Result<(), Error> {
        self.update_repo(
            name,
            "UPDATE repos SET lfs_quota = ?3 WHERE namespace = ?1 AND name = ?2",
            quota.map(|v| v as i64),
        )
    }

    /// Switch server-side enforcement of Git LFS locks on pushes into `name` on or off.
    pub fn set_lfs_enforce_locks(&mut self, name: &RepoName, on: bool) -> Result<(), Error> {
        self.update_repo(
            name,
            "UPDATE repos SET lfs_enforce_locks = ?3 WHERE namespace = ?1 AND name = ?2",
            on,
        )
    }

    /// Set or remove (`None`) the message shown after a successful push into `name`.
    pub fn set_push_message(&mut self, name: &RepoName, text: Option<&str>) -> Result<(), Error> {
        self.update_repo(
            name,
            "UPDATE repos SET push_message = ?3 WHERE namespace = ?1 AND name = ?2",
            text,
        )
    }

    /// Set or remove (`None`) the message shown after a fetch from `name` that sent a pack.
    pub fn set_fetch_message(&mut self, name: &RepoName, text: Option<&str>) -> Result<(), Error> {
        self.update_repo(
            name,
            "UPDATE repos SET fetch_message = ?3 WHERE namespace = ?1 AND name = ?2",
            text,
        )
    }

    /// Choose where the Git LFS objects of `name` live (`None`: follow the global
    /// `lfs-storage`). Moving existing objects is `hubctl lfs migrate-storage`'s job.
    pub fn set_lfs_storage(
        &mut self,
        name: &RepoName,
        backend: Option<LfsBackend>,
    ) -> Result<(), Error> {
        self.update_repo(
            name,
            "UPDATE repos SET lfs_storage = ?3 WHERE namespace = ?1 AND name = ?2",
            backend.map(LfsBackend::as_str),
        )
    }

    /// How many repositories chose `backend` for their Git LFS objects themselves.
    pub fn repos_with_lfs_storage(&self, backend: LfsBackend) -> Result<u64, Error> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM repos WHERE lfs_storage = ?1",
            [backend.as_str()],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Run one `UPDATE repos ... WHERE namespace = ?1 AND name = ?2` with `value` as `?3`.
    fn update_repo(
        &mut self,
        name: &RepoName,
        sql: &str,
        value: impl rusqlite::ToSql,
    ) -> Result<(), Error> {
        self.write(|tx| {
            let n = tx.execute(sql, params![name.ns(), name.name(), value])?;
            if n == 0 {
                return Err(Error::NotFound(format!("repository {name} does not exist")));
            }
            Ok(())
        })
    }
}

fn repo_and_user(
    tx: &rusqlite::Transaction<'_>,
    name: &RepoName,
    user: &str,
) -> Result<(i64, i64), Error> {
    let repo_id: i64 = tx
        .query_row(
            "SELECT id FROM repos WHERE namespace = ?1 AND name = ?2",
            params![name.ns(), name.name()],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("repository {name} does not exist")))?;
    let user_id = Store::user_id(tx, user)?;
    Ok((repo_id, user_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfs_settings_default_off_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("hubctl.db")).unwrap();
        store.add_user("alice", false).unwrap();
        let name = RepoName::parse("alice/game").unwrap();
        store.adopt(&name, &RepoSettings::default()).unwrap();
        let s = store.repo_settings(&name).unwrap().unwrap();
        assert_eq!(
            (s.max_lfs_object_size, s.lfs_quota, s.lfs_enforce_locks),
            (None, None, false)
        );
        store
            .set_max_lfs_object_size(&name, Some(100 << 20))
            .unwrap();
        store.set_lfs_quota(&name, Some(1 << 30)).unwrap();
        store.set_lfs_enforce_locks(&name, true).unwrap();
        let s = store.repo_settings(&name).unwrap().unwrap();
        assert_eq!(
            (s.max_lfs_object_size, s.lfs_quota, s.lfs_enforce_locks),
            (Some(100 << 20), Some(1 << 30), true)
        );
        store.set_max_lfs_object_size(&name, None).unwrap();
        store.set_lfs_quota(&name, None).unwrap();
        store.set_lfs_enforce_locks(&name, false).unwrap();
        assert_eq!(
            store.repo_settings(&name).unwrap().unwrap(),
            RepoSettings::default()
        );
        let missing = RepoName::parse("alice/nope").unwrap();
        assert!(matches!(
            store.set_lfs_enforce_locks(&missing, true),
            Err(Error::NotFound(_))
        ));
        // Created with settings: every column is written.
        let other = RepoName::parse("alice/other").unwrap();
        let wanted = RepoSettings {
            max_lfs_object_size: Some(1),
            lfs_quota: Some(2),
            lfs_enforce_locks: true,
            push_message: Some("pushed".into()),
            fetch_message: Some("fetched".into()),
            ..RepoSettings::default()
        };
        store.adopt(&other, &wanted).unwrap();
        assert_eq!(store.repo_settings(&other).unwrap().unwrap(), wanted);
    }

    #[test]
    fn messages_set_and_unset() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("hubctl.db")).unwrap();
        store.add_user("alice", false).unwrap();
        let name = RepoName::parse("alice/game").unwrap();
        store.adopt(&name, &RepoSettings::default()).unwrap();
        store
            .set_push_message(&name, Some("moves on Friday"))
            .unwrap();
        store
            .set_fetch_message(&name, Some("line 1\nline 2"))
            .unwrap();
        let s = store.repo_settings(&name).unwrap().unwrap();
        assert_eq!(s.push_message.as_deref(), Some("moves on Friday"));
        assert_eq!(s.fetch_message.as_deref(), Some("line 1\nline 2"));
        store.set_push_message(&name, None).unwrap();
        store.set_fetch_message(&name, None).unwrap();
        assert_eq!(
            store.repo_settings(&name).unwrap().unwrap(),
            RepoSettings::default()
        );
        let missing = RepoName::parse("alice/nope").unwrap();
        assert!(matches!(
            store.set_push_message(&missing, Some("x")),
            Err(Error::NotFound(_))
        ));
    }
}
