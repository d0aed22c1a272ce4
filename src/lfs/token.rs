//! Short-lived, object-scoped tokens for LFS action URLs.
//!
//! The batch answer hands the client one `href` per object and action, plus headers to send
//! with it (LFS.md §3.2: the client adds no credentials of its own to action requests). hubctl
//! puts `Authorization: RemoteAuth <token>` there, where the token is an HMAC-SHA256 over the
//! repository, the oid, the operation, the expiry, the user id and the announced size, keyed
//! by the server secret `<root>/secret`. Nothing is stored per token: a PUT or GET is authorised
//! by recomputing the MAC for what it asks for, so a token for one object, repository or
//! operation is worthless for any other, and every token dies at its expiry.
//!
//! Token text: `lfs1.<expires unix secs>.<user id or ->.<size or ->.<mac, base64url>`; only
//! characters that are safe in a header value and in a URL.
//!
//! A second kind, the **API token**, is what `git-lfs-authenticate` hands an SSH client
//! (LFS.md §3.3): it authorises the LFS API calls (batch, locks, legacy) of one repository as
//! one user for one operation (`download` reads, `upload` writes), for an hour. It is MACed
//! under its own context, so it can never pass for an action token or the other way round.
//! Text: `lfsapi1.<expires>.<user id or ->.<upload|download>.<mac>`; the operation is in the
//! text because the API request does not say which one the token was minted for, and the MAC
//! covers it.

use std::fs::{self, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{KeyInit as _, Mac as _};
use subtle::ConstantTimeEq as _;

use super::batch::Operation;
use super::oid::Oid;
use crate::core::fsutil;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// File name of the server secret below the hubctl root.
pub const SECRET_FILE: &str = "secret";
/// Length of the server secret in bytes.
pub const SECRET_LEN: usize = 32;
/// The scheme hubctl uses in the `Authorization` header of action requests.
pub const AUTH_SCHEME: &str = "RemoteAuth";
/// Version prefix of the token text, so the format can change without accepting old tokens
/// under new rules.
const TOKEN_PREFIX: &str = "lfs1";
/// Domain separation: these MACs can never be confused with any other use of the secret.
const MAC_CONTEXT: &[u8] = b"hubctl lfs action token v1\0";
/// Version prefix of API tokens (see the module docs).
const API_TOKEN_PREFIX: &str = "lfsapi1";
/// Domain separation for API tokens.
const API_MAC_CONTEXT: &[u8] = b"hubctl lfs api token v1\0";
/// Lifetime of an API token: long enough that a push does not see it expire between its
/// batch calls (LFS.md §10 T16; the client asks again once less than 5 s remain).
pub const API_TOKEN_TTL_SECS: u64 = 3600;

/// Errors loading the secret or checking a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The secret file could not be read or created.
    #[error("LFS secret {path}: {source}")]
    Secret {
        /// The secret file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The secret file exists but does not hold exactly [`SECRET_LEN`] bytes.
    #[error("LFS secret {path} is corrupt: expected {SECRET_LEN} bytes, found {len}")]
    CorruptSecret {
        /// The secret file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// The operating system gave no randomness.
    #[error("no randomness available: {0}")]
    Random(String),
    /// The text is not a token of this format (or not a `RemoteAuth` header).
    #[error("malformed LFS token")]
    Malformed,
    /// The MAC does not match: forged, tampered with, or for another repository, object or
    /// operation (deliberately indistinguishable).
    #[error("invalid LFS token")]
    BadSignature,
    /// The token was valid but its time is up.
    #[error("LFS token expired")]
    Expired,
}

impl TokenError {
    /// The HTTP-like status when an action request (PUT/GET/verify) carries a bad token.
    ///
    /// 403 rather than 401 for malformed, forged and expired tokens: git-lfs 3.3.0 answers a
    /// 403 on an object transfer by asking the batch endpoint again (which mints a fresh
    /// token), while a 401 starts the credential dance and persists
    /// `lfs.<href>.access=basic` in the user's config (LFS.md §5.1, §10 T17, T18). Secret
    /// and randomness failures are the server's: 500.
    pub fn status(&self) -> u16 {
        match self {
            TokenError::Malformed | TokenError::BadSignature | TokenError::Expired => 403,
            TokenError::Secret { .. }
            | TokenError::CorruptSecret { .. }
            | TokenError::Random(_) => 500,
        }
    }
}

/// The operation a token allows; one token never allows another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenOp {
    /// PUT the object.
    Upload,
    /// GET the object.
    Download,
    /// POST the verify callback for the object.
    Verify,
}

impl TokenOp {
    /// The name as used in the MAC input and in batch `actions`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenOp::Upload => "upload",
            TokenOp::Download => "download",
            TokenOp::Verify => "verify",
        }
    }
}

/// What a token is for: checked by recomputing the MAC, never read from the token itself.
#[derive(Debug, Clone, Copy)]
pub struct TokenScope<'a> {
    /// The repository: its hosted name (`ns/name`), or its path below a git-http-backend
    /// project root.
    pub repo: &'a str,
    /// The object.
    pub oid: &'a Oid,
    /// The operation.
    pub op: TokenOp,
}

/// What a valid token tells its checker beyond its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Expiry, seconds since the Unix epoch.
    pub expires_at: u64,
    /// The hubctl user the batch was answered for, if any (anonymous downloads of public
    /// repositories have none).
    pub user_id: Option<i64>,
    /// The object size announced in the batch request, so a PUT without `Content-Length`
    /// (chunked, LFS.md §10 T22) still knows how many bytes to expect.
    pub size: Option<u64>,
}

/// What an API token (from `git-lfs-authenticate`) proves, once its MAC checks out for the
/// repository it is presented to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiClaims {
    /// Expiry, seconds since the Unix epoch.
    pub expires_at: u64,
    /// The user it acts for; `None` for a token the local operator minted without a user.
    pub user_id: Option<i64>,
    /// The operation it was minted for: `Download` allows reading, `Upload` writing.
    pub operation: Operation,
}

/// The server secret that keys all action tokens.
pub struct Secret {
    key: [u8; SECRET_LEN],
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A secret from raw bytes (tests, or a key held elsewhere).
    pub fn from_bytes(key: [u8; SECRET_LEN]) -> Secret {
        Secret { key }
    }

    /// Read `<root_dir>/secret`, creating it (mode 0600, 32 random bytes) if it is missing.
    ///
    /// Creation writes a temporary file, fsyncs it and renames it into place without replacing
    /// anything, so two processes starting at once agree on one secret: the loser discards
    /// its own and reads the winner's.
    pub fn load_or_create(root_dir: &Path) -> Result<Secret, TokenError> {
        let path = root_dir.join(SECRET_FILE);
        match Self::read(&path) {
            Ok(s) => return Ok(s),
            Err(TokenError::Secret { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut key = [0u8; SECRET_LEN];
        getrandom::fill(&mut key).map_err(|e| TokenError::Random(e.to_string()))?;
        let secret_err = |source| TokenError::Secret {
            path: path.clone(),
            source,
        };
        let tmp = fsutil::temp_sibling(&path);
        let written = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&key)?;
            f.sync_all()?;
            drop(f);
            match fsutil::rename_noreplace(&tmp, &path) {
                Ok(()) => fsutil::sync_dir(root_dir).map(|()| true),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e),
            }
        })();
        match written {
            Ok(true) => Ok(Secret { key }),
            Ok(false) => {
                let _ = fs::remove_file(&tmp);
                Self::read(&path)
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(secret_err(e))
            }
        }
    }

    fn read(path: &Path) -> Result<Secret, TokenError> {
        let err = |source| TokenError::Secret {
            path: path.to_path_buf(),
            source,
        };
        let f = fs::File::open(path).map_err(err)?;
        let len = f.metadata().map_err(err)?.len();
        if len != SECRET_LEN as u64 {
            return Err(TokenError::CorruptSecret {
                path: path.to_path_buf(),
                len,
            });
        }
        let mut key = [0u8; SECRET_LEN];
        f.take(SECRET_LEN as u64)
            .read_exact(&mut key)
            .map_err(err)?;
        Ok(Secret { key })
    }

    fn mac(&self, scope: &TokenScope<'_>, claims: &Claims) -> Result<[u8; 32], TokenError> {
        let mut mac = HmacSha256::new_from_slice(&self.key).map_err(|_| TokenError::Malformed)?;
        // Every field is length-delimited by a NUL: none of them can contain one (repository
        // names and oids are validated, numbers are decimal).
        mac.update(MAC_CONTEXT);
        for part in [
            scope.repo.as_bytes(),
            scope.oid.as_str().as_bytes(),
            scope.op.as_str().as_bytes(),
            claims.expires_at.to_string().as_bytes(),
            opt_text(claims.user_id).as_bytes(),
            opt_text(claims.size).as_bytes(),
        ] {
            mac.update(part);
            mac.update(b"\0");
        }
        Ok(mac.finalize().into_bytes().into())
    }

    /// Mint a token for `scope` with `claims`.
    pub fn mint(&self, scope: &TokenScope<'_>, claims: &Claims) -> Result<String, TokenError> {
        let mac = self.mac(scope, claims)?;
        Ok(format!(
            "{TOKEN_PREFIX}.{}.{}.{}.{}",
            claims.expires_at,
            opt_text(claims.user_id),
            opt_text(claims.size),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
        ))
    }

    /// Mint a token valid for `ttl_secs` from `now` and return it as the complete
    /// `Authorization` header value (`RemoteAuth <token>`).
    pub fn authorization(
        &self,
        scope: &TokenScope<'_>,
        user_id: Option<i64>,
        size: Option<u64>,
        now: SystemTime,
        ttl_secs: u64,
    ) -> Result<String, TokenError> {
        let claims = Claims {
            expires_at: unix_secs(now).saturating_add(ttl_secs),
            user_id,
            size,
        };
        Ok(format!("{AUTH_SCHEME} {}", self.mint(scope, &claims)?))
    }

    /// Check `token` (bare, or a whole `RemoteAuth <token>` header value) against `scope` at
    /// time `now`; the MAC comparison is constant-time.
    pub fn verify(
        &self,
        token: &str,
        scope: &TokenScope<'_>,
        now: SystemTime,
    ) -> Result<Claims, TokenError> {
        let [exp, user, size, mac] = split_token(token, TOKEN_PREFIX)?;
        let claims = Claims {
            expires_at: parse_decimal(exp)?,
            user_id: parse_opt(user)?,
            size: parse_opt(size)?,
        };
        check_mac(mac, &self.mac(scope, &claims)?, claims.expires_at, now)?;
        Ok(claims)
    }
}

impl Secret {
    fn api_mac(&self, repo: &str, claims: &ApiClaims) -> Result<[u8; 32], TokenError> {
        let mut mac = HmacSha256::new_from_slice(&self.key).map_err(|_| TokenError::Malformed)?;
        mac.update(API_MAC_CONTEXT);
        for part in [
            repo.as_bytes(),
            claims.operation.as_str().as_bytes(),
            claims.expires_at.to_string().as_bytes(),
            opt_text(claims.user_id).as_bytes(),
        ] {
            mac.update(part);
            mac.update(b"\0");
        }
        Ok(mac.finalize().into_bytes().into())
    }

    /// Mint an API token for repository `repo` (its hosted name) with `claims`.
    pub fn mint_api(&self, repo: &str, claims: &ApiClaims) -> Result<String, TokenError> {
        let mac = self.api_mac(repo, claims)?;
        Ok(format!(
            "{API_TOKEN_PREFIX}.{}.{}.{}.{}",
            claims.expires_at,
            opt_text(claims.user_id),
            claims.operation.as_str(),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
        ))
    }

    /// Check an API token (bare, or a whole `RemoteAuth <token>` header value) presented to
    /// repository `repo` at time `now`; the MAC comparison is constant-time.
    pub fn verify_api(
        &self,
        token: &str,
        repo: &str,
        now: SystemTime,
    ) -> Result<ApiClaims, TokenError> {
        let [exp, user, op, mac] = split_token(token, API_TOKEN_PREFIX)?;
        let claims = ApiClaims {
            expires_at: parse_decimal(exp)?,
            user_id: parse_opt(user)?,
            operation: Operation::parse(op).ok_or(TokenError::Malformed)?,
        };
        check_mac(mac, &self.api_mac(repo, &claims)?, claims.expires_at, now)?;
        Ok(claims)
    }
}

/// Whether `value` (a header value or a bare token) is an API token rather than an action
/// token, judged by its prefix alone (the MAC is checked by [`Secret::verify_api`]).
pub fn is_api_token(value: &str) -> bool {
    strip_scheme(value).is_ok_and(|t| {
        t.strip_prefix(API_TOKEN_PREFIX)
            .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// The token of `RemoteAuth <token>`, or a bare token; any other scheme is malformed.
/// The four fields after `prefix` of a token (bare, or a whole `RemoteAuth <token>` header
/// value): `<prefix>.<expires>.<user>.<third>.<mac>`, nothing more or less.
fn split_token<'a>(value: &'a str, prefix: &str) -> Result<[&'a str; 4], TokenError> {
    let mut parts = strip_scheme(value)?.split('.');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some(p), Some(a), Some(b), Some(c), Some(mac), None) if p == prefix => Ok([a, b, c, mac]),
        _ => Err(TokenError::Malformed),
    }
}

/// Compare the base64 MAC `given` with `want` in constant time, then the expiry: a token
/// whose MAC is wrong is `BadSignature` whatever its age.
fn check_mac(given: &str, want: &[u8], expires_at: u64, now: SystemTime) -> Result<(), TokenError> {
    let given = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(given)
        .map_err(|_| TokenError::Malformed)?;
    if !bool::from(given.as_slice().ct_eq(want)) {
        return Err(TokenError::BadSignature);
    }
    if unix_secs(now) >= expires_at {
        return Err(TokenError::Expired);
    }
    Ok(())
}

fn strip_scheme(value: &str) -> Result<&str, TokenError> {
    let value = value.trim();
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case(AUTH_SCHEME) => Ok(rest.trim()),
        Some(_) => Err(TokenError::Malformed),
        None => Ok(value),
    }
}

fn opt_text<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Canonical decimal only (no sign, no leading zeros, no spaces), so one claim set has
/// exactly one token text.
fn parse_decimal<T: std::str::FromStr>(s: &str) -> Result<T, TokenError> {
    let canonical = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'))
        && s.len() <= 20;
    if !canonical {
        return Err(TokenError::Malformed);
    }
    s.parse().map_err(|_| TokenError::Malformed)
}

fn parse_opt<T: std::str::FromStr>(s: &str) -> Result<Option<T>, TokenError> {
    if s == "-" {
        Ok(None)
    } else {
        parse_decimal(s).map(Some)
    }
}

/// Seconds since the Unix epoch (0 for times before it).
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;
    use std::time::Duration;

    const O1: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    const O2: &str = "97b09d08daf88c6622d8cc2d60e57e4d24fff4e52fa386d79162c9c5206fe581";

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn token_is_scoped_and_expires() {
        let secret = Secret::from_bytes([7; 32]);
        let repo = String::from("alice/game");
        let other_repo = String::from("alice/game2");
        let oid = Oid::parse(O1).unwrap();
        let other_oid = Oid::parse(O2).unwrap();
        let scope = TokenScope {
            repo: &repo,
            oid: &oid,
            op: TokenOp::Upload,
        };
        let header = secret
            .authorization(&scope, Some(42), Some(6), at(1000), 60)
            .unwrap();
        assert!(header.starts_with("RemoteAuth lfs1.1060.42.6."), "{header}");
        let claims = secret.verify(&header, &scope, at(1059)).unwrap();
        assert_eq!(
            claims,
            Claims {
                expires_at: 1060,
                user_id: Some(42),
                size: Some(6)
            }
        );
        let bare = header.strip_prefix("RemoteAuth ").unwrap();
        assert!(secret.verify(bare, &scope, at(1000)).is_ok());

        let expired = secret.verify(&header, &scope, at(1060)).unwrap_err();
        assert!(matches!(expired, TokenError::Expired));
        assert_eq!(expired.status(), 403, "403 makes the client re-batch");
        for wrong in [
            TokenScope {
                repo: &other_repo,
                ..scope
            },
            TokenScope {
                oid: &other_oid,
                ..scope
            },
            TokenScope {
                op: TokenOp::Download,
                ..scope
            },
            TokenScope {
                op: TokenOp::Verify,
                ..scope
            },
        ] {
            assert!(matches!(
                secret.verify(&header, &wrong, at(1000)),
                Err(TokenError::BadSignature)
            ));
        }
        let other_secret = Secret::from_bytes([8; 32]);
        assert!(matches!(
            other_secret.verify(&header, &scope, at(1000)),
            Err(TokenError::BadSignature)
        ));
    }

    #[test]
    fn tampered_tokens_are_rejected() {
        let secret = Secret::from_bytes([1; 32]);
        let repo = String::from("a/b");
        let oid = Oid::parse(O1).unwrap();
        let scope = TokenScope {
            repo: &repo,
            oid: &oid,
            op: TokenOp::Download,
        };
        let claims = Claims {
            expires_at: 5000,
            user_id: None,
            size: None,
        };
        let token = secret.mint(&scope, &claims).unwrap();
        assert!(token.starts_with("lfs1.5000.-.-."), "{token}");
        assert!(secret.verify(&token, &scope, at(1)).is_ok());
        let mac = token.rsplit('.').next().unwrap();
        let tampered = [
            token.replace("lfs1.5000", "lfs1.9999"),   // extended expiry
            token.replace("lfs1.5000", "lfs1.05000"),  // non-canonical number
            token.replace(".-.-.", ".1.-."),           // claims a user
            token.replace(".-.-.", ".-.6."),           // claims a size
            token.replace("lfs1.", "lfs2."),           // other version
            format!("{}.{}", token, "x"),              // extra part
            token.replace(mac, &mac[..mac.len() - 1]), // truncated MAC
            token.replace(mac, &"A".repeat(mac.len())),
            format!("Bearer {token}"),
            String::new(),
            "RemoteAuth".to_string(),
        ];
        for t in &tampered {
            assert!(secret.verify(t, &scope, at(1)).is_err(), "accepted {t:?}");
        }
        let mut flipped = token.into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert!(matches!(
            secret.verify(&flipped, &scope, at(1)),
            Err(TokenError::BadSignature)
        ));
    }

    #[test]
    fn api_tokens_are_bound_to_repo_user_and_operation() {
        let secret = Secret::from_bytes([3; 32]);
        let claims = ApiClaims {
            expires_at: 4600,
            user_id: Some(7),
            operation: Operation::Upload,
        };
        let token = secret.mint_api("alice/game", &claims).unwrap();
        assert!(token.starts_with("lfsapi1.4600.7.upload."), "{token}");
        assert!(is_api_token(&token));
        assert!(is_api_token(&format!("RemoteAuth {token}")));
        let header = format!("RemoteAuth {token}");
        assert_eq!(
            secret.verify_api(&header, "alice/game", at(1000)).unwrap(),
            claims
        );
        assert!(matches!(
            secret.verify_api(&token, "alice/game", at(4600)),
            Err(TokenError::Expired)
        ));
        assert!(matches!(
            secret.verify_api(&token, "alice/game2", at(1000)),
            Err(TokenError::BadSignature)
        ));
        for forged in [
            token.replace(".upload.", ".download."),
            token.replace(".7.", ".8."),
            token.replace(".7.", ".-."),
            token.replace("4600", "9999"),
        ] {
            assert!(matches!(
                secret.verify_api(&forged, "alice/game", at(1000)),
                Err(TokenError::BadSignature)
            ));
        }
        for malformed in [
            token.replace(".upload.", ".delete."),
            token.replace("lfsapi1.", "lfs1."),
            format!("Bearer {token}"),
            format!("{token}.x"),
        ] {
            assert!(matches!(
                secret.verify_api(&malformed, "alice/game", at(1000)),
                Err(TokenError::Malformed)
            ));
        }

        // The two kinds never pass for each other, even with the same fields.
        let oid = Oid::parse(O1).unwrap();
        let scope = TokenScope {
            repo: "alice/game",
            oid: &oid,
            op: TokenOp::Upload,
        };
        let action = secret
            .authorization(&scope, Some(7), None, at(1000), 60)
            .unwrap();
        assert!(!is_api_token(&action));
        assert!(secret.verify_api(&action, "alice/game", at(1000)).is_err());
        assert!(secret.verify(&token, &scope, at(1000)).is_err());
        let local = ApiClaims {
            user_id: None,
            operation: Operation::Download,
            ..claims
        };
        let t = secret.mint_api("a/b", &local).unwrap();
        assert!(t.starts_with("lfsapi1.4600.-.download."), "{t}");
        assert_eq!(secret.verify_api(&t, "a/b", at(1)).unwrap(), local);
    }

    #[test]
    fn secret_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let a = Secret::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(SECRET_FILE);
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), 32);
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let b = Secret::load_or_create(dir.path()).unwrap();
        assert_eq!(a.key, b.key, "the second load reads the same secret");
        assert_ne!(a.key, [0; 32]);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from(SECRET_FILE)]);

        fs::write(&path, b"short").unwrap();
        assert!(matches!(
            Secret::load_or_create(dir.path()),
            Err(TokenError::CorruptSecret { len: 5, .. })
        ));
    }

    #[test]
    fn concurrent_secret_creation_agrees() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<[u8; 32]> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| Secret::load_or_create(dir.path()).unwrap().key))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
    }
}
