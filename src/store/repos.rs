//! Repository rows: hubctl's settings for each hosted repository.

use rusqlite::{OptionalExtension, params};

use super::{Error, Store, is_unique_violation, now_rfc3339};
use crate::repo::RepoName;

/// hubctl's settings for one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RepoSettings {
    /// Largest blob a push may add unless it is a Git LFS pointer; `None` = no limit.
    pub max_blob_size: Option<u64>,
}

/// Insert the row for a new repository inside `tx`.
pub fn insert(
    tx: &rusqlite::Transaction<'_>,
    name: &RepoName,
    settings: &RepoSettings,
) -> Result<i64, Error> {
    tx.execute(
        "INSERT INTO repos (namespace, name, max_blob_size, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            name.ns(),
            name.name(),
            settings.max_blob_size.map(|v| v as i64),
            now_rfc3339()
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict(format!("repository {name} already exists"))
        } else {
            e.into()
        }
    })?;
    Ok(tx.last_insert_rowid())
}

impl Store {
    /// The settings of `name`, or `None` if the repository has no row.
    pub fn repo_settings(&self, name: &RepoName) -> Result<Option<RepoSettings>, Error> {
        Ok(self
            .conn()
            .query_row(
                "SELECT max_blob_size FROM repos WHERE namespace = ?1 AND name = ?2",
                params![name.ns(), name.name()],
                |r| {
                    Ok(RepoSettings {
                        max_blob_size: r.get::<_, Option<i64>>(0)?.map(|v| v as u64),
                    })
                },
            )
            .optional()?)
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
}
