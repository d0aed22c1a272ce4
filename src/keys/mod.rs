//! SSH public keys: parsing and validation (with the `ssh-key` crate), fingerprints, the
//! `authorized_keys` lines that route a key to `hubctl shell`, and the key service shared by the
//! CLI and the HTTP API.

pub mod file;

use std::path::{Path, PathBuf};

use ssh_key::public::KeyData;

use crate::core::root::Root;
use crate::store::{self, Store};

/// Key types hubctl accepts.
pub const ACCEPTED_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Longest key title.
pub const MAX_TITLE_CHARS: usize = 255;

/// Why a key or title was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not an OpenSSH public key.
    #[error("invalid key: not an OpenSSH public key ({0})")]
    Format(String),
    /// A private key where the public key belongs. The message never repeats the key.
    #[error("this is a private key; add the .pub file instead (e.g. ~/.ssh/id_ed25519.pub)")]
    PrivateKey,
    /// A key type hubctl does not accept.
    #[error(
        "invalid key: type {0} is not accepted (use ssh-ed25519, ssh-rsa with at least 2048 bits, or ecdsa-sha2-nistp256/384/521)"
    )]
    Type(String),
    /// An RSA key that is too short.
    #[error("invalid key: RSA keys need at least {MIN_RSA_BITS} bits, this one has {0}")]
    RsaTooShort(usize),
    /// A bad title.
    #[error("invalid title: {0}")]
    Title(String),
}

/// A validated public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    /// Algorithm name (`ssh-ed25519`).
    pub key_type: String,
    /// `type base64` without comment.
    pub public_key: String,
    /// `SHA256:...`, as `ssh-keygen -l` and sshd's `%f` print it.
    pub fingerprint: String,
    /// The comment after the key, if any.
    pub comment: String,
}

/// Parse and validate one OpenSSH public key line (`type base64 [comment]`).
pub fn parse_public_key(text: &str) -> Result<ParsedKey, KeyError> {
    let line = text.trim();
    if line.is_empty() {
        return Err(KeyError::Format("the key is empty".into()));
    }
    if is_private_key(line) {
        return Err(KeyError::PrivateKey);
    }
    if line.lines().count() > 1 {
        return Err(KeyError::Format("expected exactly one key line".into()));
    }
    let key =
        ssh_key::PublicKey::from_openssh(line).map_err(|e| KeyError::Format(e.to_string()))?;
    let key_type = key.algorithm().as_str().to_string();
    if !ACCEPTED_TYPES.contains(&key_type.as_str()) {
        return Err(KeyError::Type(key_type));
    }
    if let KeyData::Rsa(rsa) = key.key_data() {
        let bits = mpint_bits(rsa.n.as_positive_bytes().unwrap_or_default());
        if bits < MIN_RSA_BITS {
            return Err(KeyError::RsaTooShort(bits));
        }
    }
    let blob = key
        .to_openssh()
        .map_err(|e| KeyError::Format(e.to_string()))?;
    // to_openssh() appends the comment; keep `type base64` only.
    let public_key = blob
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    Ok(ParsedKey {
        fingerprint: key.fingerprint(ssh_key::HashAlg::Sha256).to_string(),
        comment: key.comment().to_string(),
        key_type,
        public_key,
    })
}

/// True for the private key files users pick by mistake: OpenSSH's own format, the PEM forms
/// (`RSA`, `EC`, `DSA`, PKCS#8 and encrypted PKCS#8) and PuTTY's `.ppk`.
fn is_private_key(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim();
        (l.starts_with("-----BEGIN ") && l.ends_with("PRIVATE KEY-----"))
            || l.starts_with("PuTTY-User-Key-File-")
    })
}

fn mpint_bits(bytes: &[u8]) -> usize {
    match bytes.iter().position(|b| *b != 0) {
        None => 0,
        Some(i) => (bytes.len() - i) * 8 - bytes[i].leading_zeros() as usize,
    }
}

/// Check a key title: required, at most 255 characters, one line.
pub fn validate_title(title: &str) -> Result<(), KeyError> {
    if title.trim().is_empty() {
        return Err(KeyError::Title("a title is required".into()));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(KeyError::Title(format!(
            "at most {MAX_TITLE_CHARS} characters (this one has {})",
            title.chars().count()
        )));
    }
    if title.chars().any(char::is_control) {
        return Err(KeyError::Title("control characters are not allowed".into()));
    }
    Ok(())
}

/// The `authorized_keys` line for key `id`: `restrict,command="<hubctl> --root <root> shell
/// --key-id N" <type> <base64>`. `restrict` turns off forwarding, PTYs and `~/.ssh/rc`.
pub fn authorized_line(exe: &Path, root: &Root, id: i64, public_key: &str) -> String {
    let command = format!(
        "{} --root {} shell --key-id {id}",
        crate::core::util::shell_quote(&exe.display().to_string()),
        crate::core::util::shell_quote(&root.path().display().to_string())
    );
    // Inside command="...", a double quote is written \" and a backslash stays as it is.
    let command = command.replace('"', "\\\"");
    format!("restrict,command=\"{command}\" {public_key} hubctl-key-{id}")
}

/// Errors of the key service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key or title is not acceptable.
    #[error(transparent)]
    Invalid(#[from] KeyError),
    /// The key is registered already.
    #[error("this key is already registered (fingerprint {0})")]
    Duplicate(String),
    /// Store failure (including unknown user or key).
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Rewriting the authorized_keys file failed (the database change stands).
    #[error("the key change is saved, but rewriting {path} failed: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// The managed authorized_keys file: an explicit choice wins over the stored setting.
pub fn managed_file(
    store: &Store,
    explicit: Option<&Path>,
) -> Result<Option<PathBuf>, store::Error> {
    if let Some(p) = explicit {
        return Ok(Some(p.to_path_buf()));
    }
    Ok(store
        .setting(store::SETTING_AUTHORIZED_KEYS_FILE)?
        .map(PathBuf::from))
}

/// Register `key_text` for `user` (title defaults to the key's comment), then rewrite the
/// managed authorized_keys file if one is configured.
pub fn add(
    store: &mut Store,
    root: &Root,
    managed: Option<&Path>,
    user: &str,
    title: Option<&str>,
    key_text: &str,
) -> Result<store::keys::KeyInfo, Error> {
    let parsed = parse_public_key(key_text)?;
    let title = match title {
        Some(t) => t.to_string(),
        None => parsed.comment.clone(),
    };
    validate_title(&title)?;
    let new = store::keys::NewKey {
        key_type: &parsed.key_type,
        public_key: &parsed.public_key,
        fingerprint: &parsed.fingerprint,
    };
    let info = store.add_key(user, &title, new).map_err(|e| match e {
        store::Error::Conflict(_) => Error::Duplicate(parsed.fingerprint.clone()),
        e => Error::Store(e),
    })?;
    sync(store, root, managed)?;
    Ok(info)
}

/// Delete key `id`, then rewrite the managed authorized_keys file if one is configured.
pub fn remove(
    store: &mut Store,
    root: &Root,
    managed: Option<&Path>,
    id: i64,
) -> Result<(), Error> {
    store.remove_key(id)?;
    sync(store, root, managed)
}

/// Rewrite the managed authorized_keys file (if any) from the database.
pub fn sync(store: &Store, root: &Root, managed: Option<&Path>) -> Result<(), Error> {
    let Some(path) = managed_file(store, managed)? else {
        return Ok(());
    };
    file::write_managed(store, root, &path).map_err(|e| Error::File {
        path: path.clone(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_fingerprints() {
        // A well-known test key (ssh-keygen -l prints this fingerprint).
        let k = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOBYx0qTvP5FOsN8WQYqwkQ2Ue3wBNxZqcELbDZDhLaS user@host";
        let p = parse_public_key(k).unwrap();
        assert_eq!(p.key_type, "ssh-ed25519");
        assert!(p.fingerprint.starts_with("SHA256:"));
        assert_eq!(p.comment, "user@host");
        assert_eq!(
            p.public_key,
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOBYx0qTvP5FOsN8WQYqwkQ2Ue3wBNxZqcELbDZDhLaS"
        );
        assert!(parse_public_key("ssh-ed25519 notbase64!!").is_err());
        assert!(parse_public_key("").is_err());
        assert!(parse_public_key(&format!("{k}\n{k}")).is_err());
    }

    #[test]
    fn titles() {
        assert!(validate_title("laptop").is_ok());
        assert!(validate_title(&"x".repeat(255)).is_ok());
        assert!(validate_title(&"x".repeat(256)).is_err());
        assert!(validate_title("  ").is_err());
        assert!(validate_title("a\nb").is_err());
    }

    #[test]
    fn rsa_bits() {
        assert_eq!(mpint_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(mpint_bits(&[0x01, 0x00]), 9);
    }
}
