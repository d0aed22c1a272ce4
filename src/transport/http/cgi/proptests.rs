//! Properties of the CGI meta-variables as `hubctl cgi` reads them (RFC 3875): a request as
//! nginx + fcgiwrap pass it reads back as itself; `CONTENT_LENGTH` is `1*digit` or refused;
//! the web server's own `CONTENT_*` win over `HTTP_*` duplicates; nothing panics.

use proptest::prelude::*;

use super::*;

/// A header name as a client sends it (nginx turns `-` into `_` and upper-cases it, so names
/// with `_` do not survive the trip and are left out).
fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,20}".prop_filter("not a CONTENT_ header", |n| {
        let up = n.to_ascii_uppercase();
        !matches!(
            up.as_str(),
            "CONTENT-TYPE" | "CONTENT-LENGTH" | "TRANSFER-ENCODING"
        )
    })
}

fn meta(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_string(), value.into())
}

proptest! {
    /// What the web server passes is what the router sees.
    #[test]
    fn prop_cgi_round_trip(
        method in "[A-Z]{1,10}",
        path in "/[ -~]{0,60}",
        query in "[ -~]{0,60}",
        length in prop::option::of(any::<u64>()),
        content_type in prop::option::of("[a-z]+/[a-z0-9.+-]+"),
        headers in prop::collection::btree_map(header_name().prop_map(|n| n.to_ascii_uppercase()), "[ -~]{0,40}", 0..8),
        script in "(/[a-z]{1,8}){0,3}/{0,2}",
        https in prop::option::of(prop::sample::select(vec!["on", "1", "off", "OFF"])),
    ) {
        let mut vars = vec![
            meta("GATEWAY_INTERFACE", "CGI/1.1"),
            meta("REQUEST_METHOD", method.clone()),
            meta("PATH_INFO", path.clone()),
            meta("QUERY_STRING", query.clone()),
            meta("SCRIPT_NAME", script.clone()),
        ];
        if let Some(n) = length {
            vars.push(meta("CONTENT_LENGTH", n.to_string()));
            // A client's own header must not override the web server's.
            vars.push(meta("HTTP_CONTENT_LENGTH", "1"));
        }
        if let Some(ct) = &content_type {
            vars.push(meta("CONTENT_TYPE", ct.clone()));
            vars.push(meta("HTTP_CONTENT_TYPE", "x/evil"));
        }
        vars.push(meta("HTTP_TRANSFER_ENCODING", "chunked"));
        if let Some(h) = https {
            vars.push(meta("HTTPS", h));
        }
        for (name, value) in &headers {
            vars.push((format!("HTTP_{}", name.replace('-', "_")), value.clone()));
        }
        let env = CgiEnv::from_vars(vars).unwrap();
        prop_assert_eq!(&env.method, &method);
        prop_assert_eq!(env.path_info.as_deref(), Some(path.as_str()));
        prop_assert_eq!(&env.query, &query);
        prop_assert_eq!(env.content_length, length);
        let length_text = length.map(|n| n.to_string());
        prop_assert_eq!(env.headers.get("content-length"), length_text.as_deref());
        prop_assert_eq!(env.headers.get("Content-Type"), content_type.as_deref());
        prop_assert_eq!(env.headers.get("Transfer-Encoding"), None);
        for (name, value) in &headers {
            prop_assert_eq!(env.headers.get(name), Some(value.as_str()));
        }
        prop_assert_eq!(env.script_name.as_str(), script.trim_end_matches('/'));
        prop_assert_eq!(env.secure, https.is_some_and(|h| !h.eq_ignore_ascii_case("off")));
    }

    /// `CONTENT_LENGTH`: digits only (leading zeros allowed), no sign, no spaces, within
    /// 64 bits; empty means no length. Anything else is refused.
    #[test]
    fn prop_cgi_content_length_is_strict(len in prop_oneof![
        "[0-9]{1,25}",
        "[ +-]?[0-9]{1,5}[ ]?",
        "\\PC{0,10}",
    ]) {
        let got = CgiEnv::from_vars(vec![
            meta("REQUEST_METHOD", "POST"),
            meta("CONTENT_LENGTH", len.clone()),
        ]);
        let strict = len.bytes().all(|b| b.is_ascii_digit());
        match got {
            Ok(env) if len.is_empty() => prop_assert_eq!(env.content_length, None),
            Ok(env) => {
                prop_assert!(strict);
                prop_assert_eq!(env.content_length, Some(len.parse::<u64>().unwrap()));
            }
            Err(Error::ContentLength(_)) => {
                prop_assert!(!strict || len.parse::<u64>().is_err());
            }
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    /// Any set of variables at all: no panic; without `REQUEST_METHOD` it is not CGI; the
    /// mount point never ends in `/`.
    #[test]
    fn prop_cgi_hostile_variables(vars in prop::collection::vec(
        (prop_oneof![
            prop::sample::select(vec![
                "REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_LENGTH",
                "CONTENT_TYPE", "SCRIPT_NAME", "HTTPS", "REQUEST_SCHEME", "REMOTE_USER",
                "HTTP_", "HTTP_AUTHORIZATION", "HTTP_CONTENT_LENGTH",
            ]).prop_map(String::from),
            "HTTP_[A-Z_]{0,10}",
            any::<String>(),
        ], any::<String>()),
        0..12,
    )) {
        let has_method = vars.iter().any(|(k, v)| k == "REQUEST_METHOD" && !v.is_empty());
        match CgiEnv::from_vars(vars) {
            Ok(env) => {
                prop_assert!(has_method);
                prop_assert!(!env.method.is_empty());
                prop_assert!(!env.script_name.ends_with('/'));
                prop_assert!(env.headers.get("Transfer-Encoding").is_none());
            }
            Err(Error::NotCgi) => prop_assert!(!has_method),
            Err(_) => {}
        }
    }
}
