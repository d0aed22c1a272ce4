//! Authentication over HTTP: who sent this request.
//!
//! git sends HTTP Basic; hubctl takes the password as an access token (any user name, since
//! credential helpers always send one; a token given as the user name with an empty password,
//! as in `https://TOKEN@host/...`, works too). `Authorization: Bearer TOKEN` is accepted for
//! scripts. A web server's `REMOTE_USER` counts only when the operator says the web server
//! checked it.

use base64::Engine as _;

use super::Site;
use super::{Caller, Denial, Principal};
use crate::store::{self, tokens::Scope};

/// What a request presents about its sender.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presented<'a> {
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The transport's authenticated user (CGI `REMOTE_USER`).
    pub remote_user: Option<&'a str>,
    /// The operator vouches that `remote_user` was verified by the web server.
    pub trust_remote_user: bool,
    /// A user the embedding application authenticated itself; when set, it is the principal
    /// ([`Principal::Application`]) and nothing else presented is read.
    pub application_user: Option<&'a str>,
}

/// Extract the token from an `Authorization` header value. `Ok(None)` for a scheme hubctl does
/// not use (the client is then challenged for Basic).
pub fn token_from_header(value: &str) -> Result<Option<String>, Denial> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Err(Denial::BadRequest(
                "malformed Authorization header: empty bearer token".into(),
            ));
        }
        if !is_token68(rest) {
            return Err(Denial::BadRequest(
                "malformed Authorization header: a bearer token is letters, digits and -._~+/, then any '='"
                    .into(),
            ));
        }
        return Ok(Some(rest.to_string()));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .map_err(|_| {
            Denial::BadRequest(
                "malformed Authorization header: Basic credentials are not valid base64".into(),
            )
        })?;
    let text = String::from_utf8(decoded).map_err(|_| {
        Denial::BadRequest("malformed Authorization header: credentials are not UTF-8".into())
    })?;
    let (user, password) = text.split_once(':').ok_or_else(|| {
        Denial::BadRequest(
            "malformed Authorization header: Basic credentials need user:password".into(),
        )
    })?;
    if text.chars().any(char::is_control) {
        return Err(Denial::BadRequest(
            "malformed Authorization header: Basic credentials contain control characters".into(),
        ));
    }
    let token = if password.is_empty() { user } else { password };
    Ok(Some(token.to_string()))
}

/// RFC 9110's `token68` (RFC 6750's `b64token` for Bearer): `1*( ALPHA / DIGIT / "-" / "." /
/// "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// Decide who sent a request.
pub fn authenticate(site: &Site, presented: Presented<'_>) -> Result<Principal, Denial> {
    if let Some(name) = presented.application_user {
        return Ok(Principal::Application(name.to_string()));
    }
    let remote_user = presented.remote_user.filter(|u| !u.is_empty());
    let root = match site {
        // git-http-backend's world: the web server's user is all there is.
        Site::ProjectRoot { .. } => {
            return Ok(remote_user
                .map(|u| Principal::TransportUser(u.to_string()))
                .unwrap_or(Principal::Anonymous));
        }
        Site::Hosted(root) => root,
    };
    if let (Some(name), true) = (remote_user, presented.trust_remote_user) {
        // The web server checked the password (and consumed the Authorization header).
        // The web server's identity is taken exactly as it spells it: hubctl's own lookups
        // ignore case, but a password file may hold `alice` and `ALICE` for two people.
        let user =
            store::with_store::<_, Denial>(root, |s| Ok(s.user(name)?))?.filter(|u| u.name == name);
        return match user {
            Some(user) => Ok(Principal::User(Caller {
                user,
                scope: Scope::Write,
            })),
            None => Err(Denial::Forbidden(format!(
                "the web server authenticated {name:?}, but hubctl has no such user"
            ))),
        };
    }
    let Some(header) = presented.authorization else {
        return Ok(Principal::Anonymous);
    };
    let Some(token) = token_from_header(header)? else {
        return Err(Denial::BadCredentials(
            "an authorization scheme other than Basic or Bearer",
        ));
    };
    match store::with_store::<_, Denial>(root, |s| Ok(s.authenticate_token(&token)?))? {
        Ok(auth) => Ok(Principal::User(Caller {
            user: auth.user,
            scope: auth.scope,
        })),
        Err(why) => Err(Denial::BadCredentials(why.as_str())),
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(s: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    }

    #[test]
    fn parses_headers() {
        assert_eq!(
            token_from_header(&basic("x:tok")).unwrap().as_deref(),
            Some("tok")
        );
        assert_eq!(
            token_from_header(&basic("tok:")).unwrap().as_deref(),
            Some("tok")
        );
        assert_eq!(
            token_from_header("Bearer abc").unwrap().as_deref(),
            Some("abc")
        );
        assert_eq!(
            token_from_header("bearer  abc ").unwrap().as_deref(),
            Some("abc")
        );
        assert_eq!(token_from_header("Digest x=y").unwrap(), None);
        assert!(matches!(
            token_from_header("Basic !!!"),
            Err(Denial::BadRequest(_))
        ));
        assert!(matches!(
            token_from_header(&basic("nocolon")),
            Err(Denial::BadRequest(_))
        ));
        let non_utf8 = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode([0xff, b':', 0xfe])
        );
        assert!(matches!(
            token_from_header(&non_utf8),
            Err(Denial::BadRequest(_))
        ));
        assert!(matches!(
            token_from_header("Bearer"),
            Err(Denial::BadRequest(_))
        ));
    }
}
