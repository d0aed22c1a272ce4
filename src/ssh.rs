//! The SSH forced command: what `SSH_ORIGINAL_COMMAND` asks for, parsed without ever involving
//! a shell.
//!
//! git over SSH runs `git-upload-pack '<path>'` or `git-receive-pack '<path>'` (some tools
//! write `git upload-pack`), the path single-quoted the way git quotes (`'` becomes `'\''`, `!`
//! becomes `'\!'`). Anything else is refused with one line on stderr.

use crate::git::Service;

/// Longest `SSH_ORIGINAL_COMMAND` considered.
pub const MAX_COMMAND_LEN: usize = 4096;

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
    /// `git-lfs-authenticate` or `git-lfs-transfer` (answered by the LFS service).
    Lfs {
        /// The command word.
        command: &'static str,
    },
}

/// Parse `SSH_ORIGINAL_COMMAND`.
pub fn parse_command(cmd: &str) -> Result<Request, String> {
    if cmd.len() > MAX_COMMAND_LEN {
        return Err(format!(
            "command refused: longer than {MAX_COMMAND_LEN} bytes"
        ));
    }
    if cmd.chars().any(char::is_control) {
        return Err("command refused: it contains control characters".into());
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
            return Ok(Request::Lfs {
                command: "git-lfs-authenticate",
            });
        }
        "git-lfs-transfer" => {
            return Ok(Request::Lfs {
                command: "git-lfs-transfer",
            });
        }
        _ => {
            let shown: String = verb.chars().take(40).collect();
            return Err(format!(
                "command refused: {shown:?} is not a git command this server runs (git-upload-pack, git-receive-pack)"
            ));
        }
    };
    let path = dequote(rest.trim()).ok_or_else(|| {
        "command refused: the repository path must be one single-quoted argument".to_string()
    })?;
    Ok(Request::Git { service, path })
}

/// Undo git's quoting of one argument (`sq_quote_buf` in git's quote.c): `'...'` runs joined by
/// `\'` or `\!`. A plain word of safe characters is accepted too. Anything else is `None`.
pub fn dequote(arg: &str) -> Option<String> {
    if arg.is_empty() {
        return None;
    }
    if !arg.starts_with('\'') {
        let safe = arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
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

/// The greeting for an interactive login.
pub fn greeting(user: &str) -> String {
    format!("Hi {user}! You've authenticated, but hubctl does not provide shell access.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(service: Service, path: &str) -> Result<Request, String> {
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
            Ok(Request::Lfs {
                command: "git-lfs-authenticate"
            })
        );
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
}
