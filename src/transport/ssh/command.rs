//! The SSH forced command: what `SSH_ORIGINAL_COMMAND` asks for, parsed without ever involving
//! a shell.
//!
//! git over SSH runs `git-upload-pack '<path>'` or `git-receive-pack '<path>'` (some tools
//! write `git upload-pack`), the path single-quoted the way git quotes (`'` becomes `'\''`, `!`
//! becomes `'\!'`). Anything else is refused with one line on stderr.

use crate::git::Service;

/// Longest `SSH_ORIGINAL_COMMAND` considered.
pub const MAX_COMMAND_LEN: usize = 4096;

/// Which way an LFS command moves objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LfsOperation {
    /// Push objects to the server.
    Upload,
    /// Fetch objects from the server.
    Download,
}

/// What an SSH client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A git pack service on a repository path (dequoted, as the client wrote it).
    Git {
        /// upload-pack or receive-pack.
        service: Service,
        /// The repository path, e.g. `/alice/project.git`.
        path: String,
    },
    /// `git-lfs-authenticate <path> <operation> [<oid>]`: HTTP credentials for the LFS API.
    /// The original API page says the OID argument is ignored, so it is not kept.
    LfsAuthenticate {
        /// The repository path, as the client wrote it.
        path: String,
        /// upload or download.
        operation: LfsOperation,
    },
    /// `git-lfs-transfer <path> <operation>`: LFS's pure-SSH protocol.
    LfsTransfer {
        /// The repository path, as the client wrote it.
        path: String,
        /// upload or download.
        operation: LfsOperation,
    },
}

/// Why a command is refused. The text is the line the client sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Longer than [`MAX_COMMAND_LEN`].
    #[error("command refused: longer than {MAX_COMMAND_LEN} bytes")]
    TooLong,
    /// Newlines, NULs and other control characters.
    #[error("command refused: it contains control characters")]
    ControlCharacters,
    /// Not a command this server runs.
    #[error(
        "command refused: {0:?} is not a git command this server runs (git-upload-pack, git-receive-pack)"
    )]
    Unknown(String),
    /// The arguments are not one single-quoted repository path.
    #[error("command refused: the repository path must be one single-quoted argument")]
    Path,
    /// An LFS command without `<path> upload|download`.
    #[error("command refused: {0} takes a repository path and upload or download")]
    LfsArguments(&'static str),
    /// An LFS command whose operation is neither `upload` nor `download` (the words of
    /// git-lfs's own reference server).
    #[error("Invalid LFS operation: {0:?}")]
    LfsOperation(String),
}

/// Parse `SSH_ORIGINAL_COMMAND`.
pub fn parse_command(cmd: &str) -> Result<Request, CommandError> {
    if cmd.len() > MAX_COMMAND_LEN {
        return Err(CommandError::TooLong);
    }
    if cmd.chars().any(char::is_control) {
        return Err(CommandError::ControlCharacters);
    }
    let cmd = cmd.trim();
    let (verb, rest) = cmd.split_once(' ').unwrap_or((cmd, ""));
    let (verb, rest) = if verb == "git" {
        let (sub, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        (format!("git-{sub}"), rest)
    } else {
        (verb.to_string(), rest)
    };
    let service = match verb.as_str() {
        "git-upload-pack" => Service::UploadPack,
        "git-receive-pack" => Service::ReceivePack,
        "git-lfs-authenticate" => {
            let (path, operation) = lfs_arguments("git-lfs-authenticate", rest, true)?;
            return Ok(Request::LfsAuthenticate { path, operation });
        }
        "git-lfs-transfer" => {
            let (path, operation) = lfs_arguments("git-lfs-transfer", rest, false)?;
            return Ok(Request::LfsTransfer { path, operation });
        }
        _ => return Err(CommandError::Unknown(verb.chars().take(40).collect())),
    };
    let path = dequote(rest.trim()).ok_or(CommandError::Path)?;
    Ok(Request::Git { service, path })
}

/// `<path> upload|download`, plus an ignored OID where `oid_allowed`.
fn lfs_arguments(
    command: &'static str,
    rest: &str,
    oid_allowed: bool,
) -> Result<(String, LfsOperation), CommandError> {
    let bad = CommandError::LfsArguments(command);
    let args = split_arguments(rest).ok_or(bad.clone())?;
    let operation = match args.get(1).map(String::as_str) {
        Some("upload") => LfsOperation::Upload,
        Some("download") => LfsOperation::Download,
        Some(other) if args.len() <= 3 => {
            return Err(CommandError::LfsOperation(other.chars().take(40).collect()));
        }
        _ => return Err(bad),
    };
    let extra_ok = match args.len() {
        2 => true,
        3 => oid_allowed,
        _ => false,
    };
    if !extra_ok {
        return Err(bad);
    }
    Ok((args[0].clone(), operation))
}

/// Split arguments at spaces outside single quotes, dequoting each (see [`dequote`]).
fn split_arguments(rest: &str) -> Option<Vec<String>> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = rest.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            // git's `'\''` and `'\!'` between quoted runs: the escaped character is no quote
            // (found by the property tests: a path with a `'` was refused).
            '\\' if !quoted => {
                current.push(c);
                current.push(chars.next()?);
            }
            ' ' if !quoted => {
                if !current.is_empty() {
                    args.push(dequote(&current)?);
                    current.clear();
                }
            }
            _ => current.push(c),
        }
    }
    if quoted {
        return None;
    }
    if !current.is_empty() {
        args.push(dequote(&current)?);
    }
    Some(args)
}

/// Undo git's quoting of one argument (`sq_quote_buf` in git's quote.c): `'...'` runs joined by
/// `\'` or `\!`. A plain word of safe characters is accepted too (git-lfs sends its path
/// unquoted, `~` included). Anything else is `None`.
pub fn dequote(arg: &str) -> Option<String> {
    if arg.is_empty() {
        return None;
    }
    if !arg.starts_with('\'') {
        let safe = arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-~".contains(&b));
        return safe.then(|| arg.to_string());
    }
    let mut out = String::new();
    let mut chars = arg.chars().peekable();
    chars.next(); // opening quote
    loop {
        match chars.next()? {
            '\'' => match chars.next() {
                None => return Some(out),
                Some('\\') => {
                    let escaped = chars.next()?;
                    if escaped != '\'' && escaped != '!' {
                        return None;
                    }
                    if chars.next()? != '\'' {
                        return None;
                    }
                    out.push(escaped);
                }
                Some(_) => return None,
            },
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn git(service: Service, path: &str) -> Result<Request, CommandError> {
        Ok(Request::Git {
            service,
            path: path.to_string(),
        })
    }

    #[test]
    fn parses_git_commands() {
        assert_eq!(
            parse_command("git-upload-pack '/alice/p.git'"),
            git(Service::UploadPack, "/alice/p.git")
        );
        assert_eq!(
            parse_command("git-receive-pack 'alice/p'"),
            git(Service::ReceivePack, "alice/p")
        );
        assert_eq!(
            parse_command("git upload-pack '/a/b.git'"),
            git(Service::UploadPack, "/a/b.git")
        );
        assert_eq!(
            parse_command("git-upload-pack /a/b.git"),
            git(Service::UploadPack, "/a/b.git")
        );
        assert_eq!(
            parse_command("git-upload-pack '/it'\\''s'"),
            git(Service::UploadPack, "/it's")
        );
        assert_eq!(
            parse_command("git-upload-pack 'x'\\!'y'"),
            git(Service::UploadPack, "x!y")
        );
        assert_eq!(
            parse_command("git-lfs-authenticate /a/b.git download"),
            Ok(Request::LfsAuthenticate {
                path: "/a/b.git".into(),
                operation: LfsOperation::Download
            })
        );
        assert_eq!(
            parse_command("git-lfs-authenticate 'a/b c.git' upload 0123abcd"),
            Ok(Request::LfsAuthenticate {
                path: "a/b c.git".into(),
                operation: LfsOperation::Upload
            })
        );
        assert_eq!(
            parse_command("git-lfs-transfer 'a/b.git' upload"),
            Ok(Request::LfsTransfer {
                path: "a/b.git".into(),
                operation: LfsOperation::Upload
            })
        );
        assert_eq!(
            parse_command("git-lfs-authenticate /a/b.git wat"),
            Err(CommandError::LfsOperation("wat".into()))
        );
        assert_eq!(
            CommandError::LfsOperation("wat".into()).to_string(),
            "Invalid LFS operation: \"wat\""
        );
        assert_eq!(
            parse_command("git-lfs-transfer /~alice/b.git download"),
            Ok(Request::LfsTransfer {
                path: "/~alice/b.git".into(),
                operation: LfsOperation::Download
            })
        );
        for bad in [
            "git-lfs-transfer a/b.git",
            "git-lfs-transfer a/b.git upload 0123",
            "git-lfs-authenticate 'a/b.git download",
            "git-lfs-authenticate",
        ] {
            assert!(parse_command(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn refuses_hostile_commands() {
        for bad in [
            "",
            "sh",
            "git-upload-pack",
            "git-upload-pack '/a/b.git'; rm -rf /",
            "git-upload-pack '/a/b.git' extra",
            "git-upload-pack $(id)",
            "git-upload-pack `id`",
            "git-upload-pack '/a/b.git\n'",
            "git-upload-pack /a/b.git;id",
            "git-upload-pack \"/a/b.git\"",
            "git-upload-pack 'unterminated",
            "git-upload-archive '/a/b.git'",
            "git-upload-pack 'a' 'b'",
            "scp -t /etc",
        ] {
            assert!(parse_command(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_command(&format!("git-upload-pack '{}'", "a".repeat(5000))).is_err());
    }

    /// Regression from the property tests: git quotes a `'` in a path as `'\''`, which the
    /// LFS commands' argument splitter took for the start of an unclosed quote.
    #[test]
    fn lfs_paths_with_quotes_and_bangs() {
        assert_eq!(
            parse_command(r"git-lfs-authenticate ''\''' download"),
            Ok(Request::LfsAuthenticate {
                path: "'".into(),
                operation: LfsOperation::Download
            })
        );
        assert_eq!(
            parse_command(r"git-lfs-transfer 'a b'\!'c.git' upload"),
            Ok(Request::LfsTransfer {
                path: "a b!c.git".into(),
                operation: LfsOperation::Upload
            })
        );
        assert!(parse_command(r"git-lfs-transfer a\ b upload").is_err());
    }
}
