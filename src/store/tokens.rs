//! Access tokens: created once, stored only as SHA-256, checked in constant time.
//!
//! A token is `hubctl_` followed by 43 base64url characters (256 random bits). Its first ten
//! random characters are a lookup key stored in clear, so the row is found by an index on
//! non-secret data; the full token is then compared by hash in constant time. Knowing the
//! lookup key leaves more than 190 secret bits.

use base64::Engine as _;
use rusqlite::{OptionalExtension, params};
use sha2::Digest as _;
use subtle::ConstantTimeEq as _;

use super::accounts::User;
use super::{Error, Store, is_unique_violation, now_rfc3339, rfc3339_offset};

/// Every token starts with this, so leaked tokens are easy to recognise and scan for.
pub const PREFIX: &str = "hubctl_";
const LOOKUP_LEN: usize = 10;
const RANDOM_LEN: usize = 43;
/// The longest lifetime a token may be given (100 years of 365.25 days): every expiry stays a
/// representable date.
pub const MAX_LIFETIME_SECS: u64 = 100 * 31_557_600;
/// Anything longer cannot be a hubctl token; it is refused before touching the database.
pub const MAX_TOKEN_LEN: usize = 128;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Clone and fetch only.
    Read,
    /// Clone, fetch and push (within the user's own permissions).
    Write,
}

text_enum!(Scope { Read => "read", Write => "write" } fallback Read);

/// A freshly created token: the only time its secret is known.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewToken {
    /// Id, for `token revoke`.
    pub id: i64,
    /// The secret.
    pub token: String,
    /// The owner's user name.
    pub user: String,
    /// The label.
    pub name: String,
    /// What it may do.
    pub scope: Scope,
    /// RFC 3339 UTC, or `None` for no expiry.
    pub expires_at: Option<String>,
}

/// A token as listed (never with its secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenInfo {
    /// Id.
    pub id: i64,
    /// Owner's user name.
    pub user: String,
    /// Label.
    pub name: String,
    /// What it may do.
    pub scope: Scope,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC or `None`.
    pub expires_at: Option<String>,
    /// True once `expires_at` has passed: the token no longer works.
    pub expired: bool,
    /// RFC 3339 UTC or `None` if never used (updated at most once a minute). Named like the
    /// SSH keys' field.
    pub last_used: Option<String>,
    /// RFC 3339 UTC or `None` if active.
    pub revoked_at: Option<String>,
}

/// Why a presented token was refused: for the server's log only (clients get one generic
/// answer, so that nobody learns which tokens exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Not a hubctl token, or no token matches it.
    Unknown,
    /// Revoked with `token revoke`.
    Revoked,
    /// Past its expiry.
    Expired,
}

impl Rejected {
    /// Words for the log: `unknown token`, `revoked token`, `expired token`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejected::Unknown => "unknown token",
            Rejected::Revoked => "revoked token",
            Rejected::Expired => "expired token",
        }
    }
}

/// A token that authenticated a request.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user it belongs to.
    pub user: User,
    /// Its scope.
    pub scope: Scope,
    /// Its id.
    pub token_id: i64,
}

fn hash(token: &str) -> Vec<u8> {
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

fn generate() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Invalid(format!("no randomness available: {e}")))?;
    Ok(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The lookup key of a well-formed token, or `None` if it cannot be a hubctl token.
fn lookup_key(token: &str) -> Option<&str> {
    let random = token.strip_prefix(PREFIX)?;
    let ok = random.len() == RANDOM_LEN
        && random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| &random[..LOOKUP_LEN])
}

impl Store {
    /// Create a token for `user`. `expires_in` counts from now.
    pub fn create_token(
        &mut self,
        user: &str,
        name: &str,
        scope: Scope,
        expires_in: Option<std::time::Duration>,
    ) -> Result<NewToken, Error> {
        if name.len() > 255 || name.chars().any(char::is_control) {
            return Err(Error::Invalid(
                "token name must be at most 255 characters without control characters".into(),
            ));
        }
        let expires_at = match expires_in {
            Some(d) if d.as_secs() > MAX_LIFETIME_SECS => {
                return Err(Error::Invalid(
                    "token lifetime is out of range: at most 100 years".into(),
                ));
            }
            Some(d) => Some(rfc3339_offset(d.as_secs() as i64)),
            None => None,
        };
        // A lookup-key collision is astronomically unlikely; retry rather than fail if it happens.
        for _ in 0..3 {
            let token = generate()?;
            let lookup = lookup_key(&token).expect("generated tokens are well-formed");
            let result = self.write(|tx| {
                let user_id = Store::user_id(tx, user)?;
                let stored: String =
                    tx.query_row("SELECT name FROM owners WHERE id = ?1", [user_id], |r| {
                        r.get(0)
                    })?;
                tx.execute(
                    "INSERT INTO tokens (user_id, name, lookup, hash, scope, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        user_id,
                        name,
                        lookup,
                        hash(&token),
                        scope.as_str(),
                        now_rfc3339(),
                        expires_at
                    ],
                )?;
                Ok((tx.last_insert_rowid(), stored))
            });
            match result {
                Ok((id, user)) => {
                    return Ok(NewToken {
                        id,
                        token,
                        user,
                        name: name.to_string(),
                        scope,
                        expires_at,
                    });
                }
                Err(Error::Sql(e)) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(
            "could not create a unique token; try again".into(),
        ))
    }

    /// Tokens, optionally only `user`'s, by id.
    pub fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>, Error> {
        // Looked up regardless of case; then the user's own rows, by id.
        let user_id = match user {
            Some(u) => Some(self.require_user(u)?.id),
            None => None,
        };
        let mut st = self.conn().prepare(
            "SELECT t.id, u.name, t.name, t.scope, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
             FROM tokens t JOIN owners u ON u.id = t.user_id
             WHERE ?1 IS NULL OR u.id = ?1 ORDER BY t.id",
        )?;
        let now = now_rfc3339();
        let rows = st.query_map([user_id], |r| {
            let expires_at: Option<String> = r.get(5)?;
            Ok(TokenInfo {
                id: r.get(0)?,
                user: r.get(1)?,
                name: r.get(2)?,
                scope: Scope::parse(&r.get::<_, String>(3)?),
                created_at: r.get(4)?,
                // The same comparison authentication makes.
                expired: expires_at.as_deref().is_some_and(|e| e <= now.as_str()),
                expires_at,
                last_used: r.get(6)?,
                revoked_at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revoke token `id` (effective for the next request).
    pub fn revoke_token(&mut self, id: i64) -> Result<(), Error> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now_rfc3339()],
            )?;
            if n == 0 {
                let exists: bool = tx
                    .query_row("SELECT 1 FROM tokens WHERE id = ?1", [id], |_| Ok(true))
                    .optional()?
                    .unwrap_or(false);
                return Err(if exists {
                    Error::Conflict(format!("token {id} is already revoked"))
                } else {
                    Error::NotFound(format!("no token with id {id}"))
                });
            }
            Ok(())
        })
    }

    /// Check a presented token: refused unless it exists, matches, is not revoked and has not
    /// expired. Records its use (at most once a minute, to keep writes off the hot path).
    pub fn authenticate_token(
        &mut self,
        token: &str,
    ) -> Result<Result<Authenticated, Rejected>, Error> {
        if token.len() > MAX_TOKEN_LEN {
            return Ok(Err(Rejected::Unknown));
        }
        let Some(lookup) = lookup_key(token) else {
            return Ok(Err(Rejected::Unknown));
        };
        // Cached statements: this runs for nearly every request a serve answers.
        let row = self
            .conn()
            .prepare_cached(
                "SELECT t.id, t.hash, t.scope, t.expires_at, t.revoked_at, t.last_used_at,
                        u.id, u.name, u.is_admin, u.created_at
                 FROM tokens t JOIN owners u ON u.id = t.user_id WHERE t.lookup = ?1",
            )?
            .query_row([lookup], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    User {
                        id: r.get(6)?,
                        name: r.get(7)?,
                        admin: r.get(8)?,
                        created_at: r.get(9)?,
                    },
                ))
            })
            .optional()?;
        let Some((id, stored, scope, expires_at, revoked_at, last_used, user)) = row else {
            return Ok(Err(Rejected::Unknown));
        };
        let matches: bool = hash(token).ct_eq(&stored).into();
        let now = now_rfc3339();
        // RFC 3339 UTC timestamps of one format compare correctly as strings.
        let expired = expires_at.as_deref().is_some_and(|e| e <= now.as_str());
        if !matches {
            return Ok(Err(Rejected::Unknown));
        }
        if revoked_at.is_some() {
            return Ok(Err(Rejected::Revoked));
        }
        if expired {
            return Ok(Err(Rejected::Expired));
        }
        let stale = rfc3339_offset(-60);
        if last_used.as_deref().is_none_or(|t| t < stale.as_str()) {
            // Losing this race or a busy database must not fail or delay the request.
            self.best_effort(
                "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1",
                params![id, now],
            );
        }
        Ok(Ok(Authenticated {
            user,
            scope: Scope::parse(&scope),
            token_id: id,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape() {
        let t = generate().unwrap();
        assert!(t.starts_with(PREFIX));
        assert_eq!(t.len(), PREFIX.len() + RANDOM_LEN);
        assert_eq!(lookup_key(&t).unwrap().len(), LOOKUP_LEN);
        assert!(lookup_key("hubctl_short").is_none());
        assert!(lookup_key("nothubctl_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").is_none());
        assert_ne!(generate().unwrap(), t);
    }
}
