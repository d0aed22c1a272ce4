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
        length in prop::option::of(0..=i64::MAX as u64),
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
        prop_assert_eq!(env.content_length.clone(), Ok(length));
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

    /// `CONTENT_LENGTH` as git http-backend parses it (`git_parse_ssize_t`): optional leading
    /// blanks, an optional sign, digits and an optional `k`/`m`/`g` unit, within a signed
    /// 64-bit size; negative is "no length", empty is "no length", anything else is refused
    /// (kept as the raw text for the 400) and never becomes a length.
    #[test]
    fn prop_cgi_content_length_as_git(len in prop_oneof![
        "[0-9]{1,25}",
        "[ \t]{0,2}[+-]?[0-9]{1,12}[kKmMgG]?",
        "[ +-]?[0-9]{1,5}[ ]?",
        "\\PC{0,10}",
    ]) {
        let env = CgiEnv::from_vars(vec![
            meta("REQUEST_METHOD", "POST"),
            meta("CONTENT_LENGTH", len.clone()),
        ]).unwrap();
        // The grammar, written out independently of the parser.
        let body = len.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
        let (negative, body) = match body.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, body.strip_prefix('+').unwrap_or(body)),
        };
        let digits: String = body.chars().take_while(|c| c.is_ascii_digit()).collect();
        let unit = match &body[digits.len()..] {
            "" => Some(1i128),
            "k" | "K" => Some(1 << 10),
            "m" | "M" => Some(1 << 20),
            "g" | "G" => Some(1 << 30),
            _ => None,
        };
        let value = unit
            .filter(|_| !digits.is_empty())
            .and_then(|u| digits.parse::<i128>().ok().map(|d| d * u))
            .filter(|v| *v <= i64::MAX as i128);
        match (&env.content_length, value) {
            (Ok(None), _) if len.is_empty() => {}
            (Ok(None), Some(_)) => prop_assert!(negative),
            (Ok(Some(n)), Some(v)) => {
                prop_assert!(!negative);
                prop_assert_eq!(*n as i128, v);
                let text = n.to_string();
                prop_assert_eq!(env.headers.get("content-length"), Some(text.as_str()));
            }
            (Err(raw), None) => {
                prop_assert_eq!(raw, &len);
                prop_assert_eq!(env.headers.get("content-length"), None);
            }
            (got, want) => prop_assert!(false, "{len:?}: got {got:?}, grammar says {want:?}"),
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
