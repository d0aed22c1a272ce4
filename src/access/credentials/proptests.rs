//! Properties of the `Authorization` header parser: Basic and Bearer credentials as clients
//! send them give back the token; anything outside RFC 9110's `token68`, RFC 7617's
//! `user-id ":" password` or RFC 6750's `b64token` is refused, never a panic.

use base64::Engine as _;
use proptest::prelude::*;

use super::*;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// RFC 6750's b64token.
fn b64token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~+/-]{1,60}={0,2}"
}

/// A user-id or password: any text without control characters (the user-id without `:`).
fn user() -> impl Strategy<Value = String> {
    "[^\\p{Cc}:]{0,30}"
}

fn password() -> impl Strategy<Value = String> {
    "[^\\p{Cc}]{0,40}"
}

/// The scheme in any letter case.
fn cased(scheme: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), scheme.len()).prop_map(move |up| {
        scheme
            .chars()
            .zip(up)
            .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

proptest! {
    /// Basic: the password is the token, or the user name when the password is empty.
    #[test]
    fn prop_credentials_basic_round_trip(
        scheme in cased("basic"),
        u in user(),
        p in password(),
        spaces in 1usize..4,
    ) {
        prop_assume!(!u.is_empty() || !p.is_empty());
        let header = format!("{scheme}{}{}", " ".repeat(spaces), b64(format!("{u}:{p}").as_bytes()));
        let want = if p.is_empty() { u } else { p };
        prop_assert_eq!(token_from_header(&header).unwrap(), Some(want));
    }

    /// Bearer: the b64token itself.
    #[test]
    fn prop_credentials_bearer_round_trip(scheme in cased("bearer"), t in b64token()) {
        prop_assert_eq!(token_from_header(&format!("{scheme} {t}")).unwrap(), Some(t));
    }

    /// A bearer token with a character outside b64token (a space, a quote, a control
    /// character, non-ASCII) is refused.
    #[test]
    fn prop_credentials_bearer_refuses_outside_b64token(
        a in b64token(),
        bad in "[^A-Za-z0-9._~+/=-]",
        b in "[A-Za-z0-9]{1,5}",
    ) {
        let header = format!("Bearer {a}{bad}{b}");
        prop_assert!(matches!(token_from_header(&header), Err(Denial::BadRequest(_))));
    }

    /// Basic credentials that are not base64 of `user:password` in UTF-8 without control
    /// characters are refused.
    #[test]
    fn prop_credentials_basic_refuses_bad_credentials(
        raw in prop::collection::vec(any::<u8>(), 0..40),
        junk in "[^A-Za-z0-9+/=]{1,3}",
        how in 0..3u8,
    ) {
        let header = match how {
            // Not base64: a character outside its alphabet inside the credentials (at the
            // end, whitespace would be the header's own and trimmed).
            0 => format!("Basic {}{junk}QQ==", b64(&raw)),
            // No colon.
            1 => b64(&raw.iter().map(|b| if *b == b':' { b'x' } else { *b }).collect::<Vec<_>>()),
            // A control character in otherwise fine credentials.
            _ => b64(format!("user:pa\u{7}ss{}", raw.len()).as_bytes()),
        };
        let header = if how == 0 { header } else { format!("Basic {header}") };
        prop_assert!(matches!(token_from_header(&header), Err(Denial::BadRequest(_))));
    }

    /// Any header at all: no panic, and whatever token comes out is what the grammar allows:
    /// a Bearer b64token, or one half of Basic credentials without control characters.
    #[test]
    fn prop_credentials_hostile_headers(value in prop_oneof![
        any::<String>(),
        "(Basic|Bearer|basic|BEARER|Digest) [ -~]{0,60}",
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| format!("Basic {}", b64(&b))),
    ]) {
        if let Ok(Some(token)) = token_from_header(&value) {
            prop_assert!(!token.chars().any(char::is_control));
            let scheme = value.trim().split(' ').next().unwrap_or("").to_ascii_lowercase();
            if scheme == "bearer" {
                prop_assert!(is_token68(&token));
            } else {
                prop_assert_eq!(scheme, "basic");
            }
        }
    }
}
