//! Properties of the SSH command-line parser: what git and git-lfs send (paths quoted as git's
//! `sq_quote_buf` quotes them) parses back to the path; anything else, however mangled, is
//! refused or parses to one of the few requests there are, and never panics.

use proptest::prelude::*;

use super::*;

/// git's `sq_quote_buf`: `'...'`, with `'` and `!` written as `'\''` and `'\!'`.
fn sq_quote(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\'' | '!' => {
                out.push('\'');
                out.push('\\');
                out.push(c);
                out.push('\'');
            }
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A repository path as a client might write it: any characters but control characters.
fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        "/?[a-z0-9~][a-z0-9._-]{0,12}/[a-z0-9._-]{1,12}(\\.git)?",
        "[^\\p{Cc}]{1,60}",
        "[ '!a-z/\\\\]{1,30}",
    ]
}

fn verb() -> impl Strategy<Value = (&'static str, Service)> {
    prop::sample::select(vec![
        ("git-upload-pack", Service::UploadPack),
        ("git upload-pack", Service::UploadPack),
        ("git-receive-pack", Service::ReceivePack),
        ("git receive-pack", Service::ReceivePack),
    ])
}

proptest! {
    /// Quoting then dequoting gives back any text (without control characters).
    #[test]
    fn prop_ssh_command_dequote_round_trip(s in "[^\\p{Cc}]{0,80}") {
        prop_assert_eq!(dequote(&sq_quote(&s)), Some(s));
    }

    /// `git-upload-pack '<path>'` (and the other spellings git uses) parse to the service and
    /// the path exactly as the client meant it.
    #[test]
    fn prop_ssh_command_git_round_trip((v, service) in verb(), p in path()) {
        let cmd = format!("{v} {}", sq_quote(&p));
        prop_assume!(cmd.len() <= MAX_COMMAND_LEN);
        prop_assert_eq!(parse_command(&cmd), Ok(Request::Git { service, path: p }));
    }

    /// git-lfs's commands, path quoted or (when plain) not, with the operation; the
    /// authenticate command may carry an oid, the transfer command may not.
    #[test]
    fn prop_ssh_command_lfs_round_trip(
        p in path(),
        plain in any::<bool>(),
        upload in any::<bool>(),
        oid in prop::option::of("[0-9a-f]{64}"),
    ) {
        let quoted = if plain && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-~".contains(&b)) {
            p.clone()
        } else {
            sq_quote(&p)
        };
        let (word, operation) = if upload {
            ("upload", LfsOperation::Upload)
        } else {
            ("download", LfsOperation::Download)
        };
        let tail = oid.as_ref().map(|o| format!(" {o}")).unwrap_or_default();
        let auth = parse_command(&format!("git-lfs-authenticate {quoted} {word}{tail}"));
        prop_assert_eq!(auth, Ok(Request::LfsAuthenticate { path: p.clone(), operation }));
        let transfer = parse_command(&format!("git-lfs-transfer {quoted} {word}{tail}"));
        if oid.is_some() {
            prop_assert_eq!(transfer, Err(CommandError::LfsArguments("git-lfs-transfer")));
        } else {
            prop_assert_eq!(transfer, Ok(Request::LfsTransfer { path: p, operation }));
        }
    }

    /// Anything at all: no panic; whatever is accepted has no control characters, fits the
    /// bound, and says the same thing when written back the way git writes it.
    #[test]
    fn prop_ssh_command_hostile_text(
        cmd in prop_oneof![
            "\\PC{0,100}",
            "(git-upload-pack|git receive-pack|git-lfs-transfer|git-lfs-authenticate) [ -~\n\t\0]{0,60}",
            any::<String>(),
        ],
    ) {
        match parse_command(&cmd) {
            Ok(req) => {
                prop_assert!(!cmd.chars().any(char::is_control));
                prop_assert!(cmd.len() <= MAX_COMMAND_LEN);
                let again = match &req {
                    Request::Git { service, path } => {
                        let v = match service {
                            Service::UploadPack => "git-upload-pack",
                            Service::ReceivePack => "git-receive-pack",
                        };
                        format!("{v} {}", sq_quote(path))
                    }
                    Request::LfsAuthenticate { path, operation }
                    | Request::LfsTransfer { path, operation } => {
                        let v = if matches!(req, Request::LfsTransfer { .. }) {
                            "git-lfs-transfer"
                        } else {
                            "git-lfs-authenticate"
                        };
                        let op = match operation {
                            LfsOperation::Upload => "upload",
                            LfsOperation::Download => "download",
                        };
                        format!("{v} {} {op}", sq_quote(path))
                    }
                };
                prop_assert_eq!(parse_command(&again), Ok(req));
            }
            Err(CommandError::ControlCharacters) => {
                prop_assert!(cmd.chars().any(char::is_control));
            }
            Err(_) => {}
        }
    }

    /// Control characters anywhere (a newline to smuggle a second command, a NUL) and
    /// over-long commands are refused before anything else is looked at.
    #[test]
    fn prop_ssh_command_refuses_control_and_length(
        (v, _) in verb(),
        p in path(),
        ctl in "\\p{Cc}",
        at in any::<prop::sample::Index>(),
        pad in (MAX_COMMAND_LEN + 1)..(MAX_COMMAND_LEN + 100),
    ) {
        let mut cmd = format!("{v} {}", sq_quote(&p));
        let mut cut = at.index(cmd.len() + 1);
        while !cmd.is_char_boundary(cut) {
            cut -= 1;
        }
        cmd.insert_str(cut, &ctl);
        prop_assert_eq!(parse_command(&cmd), Err(CommandError::ControlCharacters));
        let long = format!("{v} '{}'", "a".repeat(pad));
        prop_assert_eq!(parse_command(&long), Err(CommandError::TooLong));
    }

    /// Quoting broken the ways a shell would still accept (an unclosed quote, text after the
    /// closing quote, a bare backslash escape, two arguments) is refused.
    #[test]
    fn prop_ssh_command_refuses_broken_quoting(
        (v, _) in verb(),
        p in "[a-z/]{1,20}",
        how in 0..5u8,
    ) {
        let arg = match how {
            0 => format!("'{p}"),
            1 => format!("'{p}'x"),
            2 => format!("'{p}'\\x'"),
            3 => format!("'{p}' '{p}'"),
            _ => format!("{p};id"),
        };
        prop_assert_eq!(parse_command(&format!("{v} {arg}")), Err(CommandError::Path));
    }
}
