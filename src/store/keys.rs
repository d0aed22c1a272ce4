//! SSH keys and global settings.

use rusqlite::{OptionalExtension, params};

use super::accounts::User;
use super::{Error, Store, is_unique_violation, now_rfc3339, rfc3339_offset};

/// A registered key, in the shape of the `/api/user/keys` documents.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Algorithm (`ssh-ed25519`).
    pub key_type: String,
    /// `SHA256:...`.
    pub fingerprint: String,
    /// `type base64` (single-key views only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC, `null` until the key is used.
    pub last_used: Option<String>,
    /// The owner's name (CLI listings; the API leaves it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The owner's id (for permission checks; never serialised).
    #[serde(skip)]
    pub owner_id: i64,
}

/// A validated key to register (the keys service parses and checks it; the store records it).
#[derive(Debug, Clone, Copy)]
pub struct NewKey<'a> {
    /// Algorithm name (`ssh-ed25519`).
    pub key_type: &'a str,
    /// `type base64` without comment.
    pub public_key: &'a str,
    /// `SHA256:...`.
    pub fingerprint: &'a str,
}

const KEY_COLUMNS: &str = "k.id, k.title, k.key_type, k.fingerprint, k.public_key, k.created_at, k.last_used, u.name, u.id";

fn key_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyInfo> {
    Ok(KeyInfo {
        id: r.get(0)?,
        title: r.get(1)?,
        key_type: r.get(2)?,
        fingerprint: r.get(3)?,
        public_key: Some(r.get(4)?),
        created_at: r.get(5)?,
        last_used: r.get(6)?,
        user: Some(r.get(7)?),
        owner_id: r.get(8)?,
    })
}

impl Store {
    /// Register a validated key for `user`.
    pub fn add_key(&mut self, user: &str, title: &str, key: NewKey<'_>) -> Result<KeyInfo, Error> {
        let id = self.write(|tx| {
            let user_id = Store::user_id(tx, user)?;
            tx.execute(
                "INSERT INTO ssh_keys (user_id, title, key_type, public_key, fingerprint, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![user_id, title, key.key_type, key.public_key, key.fingerprint, now_rfc3339()],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::Conflict(format!("key {} is already registered", key.fingerprint))
                } else {
                    e.into()
                }
            })?;
            Ok::<_, Error>(tx.last_insert_rowid())
        })?;
        Ok(self.key(id)?.expect("just inserted"))
    }

    /// One key by id (with its public key).
    pub fn key(&self, id: i64) -> Result<Option<KeyInfo>, Error> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {KEY_COLUMNS} FROM ssh_keys k JOIN owners u ON u.id = k.user_id WHERE k.id = ?1"),
                [id],
                key_from_row,
            )
            .optional()?)
    }

    /// Keys, optionally only `user`'s, by id (without the public key text).
    pub fn keys(&self, user: Option<&str>) -> Result<Vec<KeyInfo>, Error> {
        // Looked up regardless of case; then the user's own rows, by id.
        let user_id = match user {
            Some(u) => Some(self.require_user(u)?.id),
            None => None,
        };
        let mut st = self.conn().prepare(&format!(
            "SELECT {KEY_COLUMNS} FROM ssh_keys k JOIN owners u ON u.id = k.user_id
             WHERE ?1 IS NULL OR u.id = ?1 ORDER BY k.id"
        ))?;
        let rows = st.query_map([user_id], key_from_row)?;
        let mut keys: Vec<KeyInfo> = rows.collect::<Result<_, _>>()?;
        for k in &mut keys {
            k.public_key = None;
        }
        Ok(keys)
    }

    /// Delete key `id`.
    pub fn remove_key(&mut self, id: i64) -> Result<(), Error> {
        self.write(|tx| {
            let n = tx.execute("DELETE FROM ssh_keys WHERE id = ?1", [id])?;
            if n == 0 {
                return Err(Error::NotFound(format!("no SSH key with id {id}")));
            }
            Ok(())
        })
    }

    /// `(id, public key)` of every key, by id: the authorized_keys block.
    pub fn all_key_blobs(&self) -> Result<Vec<(i64, String)>, Error> {
        let mut st = self
            .conn()
            .prepare("SELECT id, public_key FROM ssh_keys ORDER BY id")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `(id, public key)` of the key with this fingerprint (an indexed lookup).
    pub fn key_by_fingerprint(&self, fingerprint: &str) -> Result<Option<(i64, String)>, Error> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, public_key FROM ssh_keys WHERE fingerprint = ?1",
                [fingerprint],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The user who owns key `id`, recording that the key was just used (at most once a minute).
    pub fn use_key(&mut self, id: i64) -> Result<Option<User>, Error> {
        let row = self
            .conn()
            .query_row(
                "SELECT u.id, u.name, u.is_admin, u.created_at, k.last_used
                 FROM ssh_keys k JOIN owners u ON u.id = k.user_id WHERE k.id = ?1",
                [id],
                |r| {
                    Ok((
                        User {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            admin: r.get(2)?,
                            created_at: r.get(3)?,
                        },
                        r.get::<_, Option<String>>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((user, last_used)) = row else {
            return Ok(None);
        };
        let stale = rfc3339_offset(-60);
        if last_used.as_deref().is_none_or(|t| t < stale.as_str()) {
            // Losing this race or a busy database must not refuse or delay the login.
            self.best_effort(
                "UPDATE ssh_keys SET last_used = ?2 WHERE id = ?1",
                params![id, now_rfc3339()],
            );
        }
        Ok(Some(user))
    }

    /// Every stored global setting, by name (one query for all of them).
    pub fn settings(&self) -> Result<std::collections::HashMap<String, String>, Error> {
        // Cached: a serve reads the settings for every LFS request.
        let mut st = self
            .conn()
            .prepare_cached("SELECT name, value FROM settings")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A global setting.
    pub fn setting(&self, name: &str) -> Result<Option<String>, Error> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM settings WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Set (`Some`) or remove (`None`) a global setting.
    pub fn set_setting(&mut self, name: &str, value: Option<&str>) -> Result<(), Error> {
        self.write(|tx| {
            match value {
                Some(v) => tx.execute(
                    "INSERT INTO settings (name, value) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    params![name, v],
                )?,
                None => tx.execute("DELETE FROM settings WHERE name = ?1", [name])?,
            };
            Ok(())
        })
    }
}
