//! Properties of URL paths as the HTTP transports read them: `%XX` decoding (exactly two hex
//! digits, UTF-8 result), and the split of a path into the repository part and the git or LFS
//! endpoint, which must keep the repository part intact whatever it contains.

use proptest::prelude::*;

use super::percent_decode;
use super::router::{GitEndpoint, split_git_path};

/// Percent-encode every byte (what a client may legally do with any byte).
fn encode_all(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| {
            if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

proptest! {
    /// Any text, encoded byte by byte (or only where needed), decodes back to itself.
    #[test]
    fn prop_names_percent_round_trip(s in any::<String>(), upper in any::<bool>(), all in any::<bool>()) {
        let encoded = if all {
            encode_all(&s, upper)
        } else {
            s.chars()
                .map(|c| if c == '%' { "%25".to_string() } else { c.to_string() })
                .collect()
        };
        prop_assert_eq!(percent_decode(&encoded), Some(s));
    }

    /// A `%` not followed by exactly two hex digits is refused (a sign, a space, one digit,
    /// the end of the text); so is a result that is not UTF-8.
    #[test]
    fn prop_names_percent_refuses_bad_escapes(
        before in "[a-z/]{0,8}",
        bad in prop_oneof![
            "[^0-9A-Fa-f][ -~]",
            "[0-9A-Fa-f][^0-9A-Fa-f]",
            "[0-9A-Fa-f]?",
            "[+-][0-9A-Fa-f]",
            "[89a-fA-F][0-9a-fA-F]",
        ],
    ) {
        let text = format!("{before}%{bad}");
        prop_assert_eq!(percent_decode(&text), None, "{:?}", text);
    }

    /// Any text: never a panic; whatever decodes re-encodes to something that decodes the
    /// same way (the decoder is a function of the bytes it is given).
    #[test]
    fn prop_names_percent_hostile(s in prop_oneof![any::<String>(), "[%0-9a-fA-F+ -]{0,30}"]) {
        if let Some(d) = percent_decode(&s) {
            prop_assert_eq!(percent_decode(&encode_all(&d, false)), Some(d.clone()));
            prop_assert!(d.len() <= s.len());
        }
    }

    /// `/<repo>/<endpoint>` splits into exactly the repository part and the endpoint, for any
    /// repository part; a path without an endpoint is no git path.
    #[test]
    fn prop_names_git_paths_split(
        repo in "/[^\\p{Cc}]{1,40}",
        ep in prop::sample::select(vec![
            ("/info/refs", GitEndpoint::InfoRefs),
            ("/git-upload-pack", GitEndpoint::UploadPack),
            ("/git-receive-pack", GitEndpoint::ReceivePack),
            ("/HEAD", GitEndpoint::Head),
        ]),
    ) {
        let (suffix, endpoint) = ep;
        let path = format!("{repo}{suffix}");
        prop_assert_eq!(split_git_path(&path), Some((repo.as_str(), endpoint)));
        prop_assert_eq!(split_git_path(suffix), None);
    }

    /// LFS paths: `<repo>/info/lfs/<rest>` keeps the repository part (up to the first
    /// `/info/lfs/`) and the rest; any text at all never panics and a split never loses bytes.
    #[test]
    fn prop_names_lfs_paths_split(
        repo in "/[a-z0-9._-]{1,12}/[a-z0-9._-]{1,12}",
        rest in "(objects/batch|objects/[0-9a-f]{64}|locks|locks/verify|locks/[0-9]{1,5}/unlock|verify)",
        hostile in any::<String>(),
    ) {
        let path = format!("{repo}/info/lfs/{rest}");
        prop_assert_eq!(super::lfs::split_lfs_path(&path), Some((repo.as_str(), rest.as_str())));
        if let Some((r, tail)) = super::lfs::split_lfs_path(&hostile) {
            prop_assert!(hostile.starts_with(r));
            prop_assert!(hostile.ends_with(tail));
            prop_assert!(!r.is_empty() && r != "/");
            prop_assert!(!r.contains("/info/lfs/"));
        }
    }
}
