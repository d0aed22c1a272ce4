//! Repository names. A hosted repository is `<root>/repos/<ns>/<name>.git`. Names are
//! deliberately narrow (`[A-Za-z0-9._-]`, no leading `.` or `-`, no `..`, at most 100
//! characters) so that a name taken from a URL or an SSH command can never address anything but
//! a repository directory: path safety held in a type.

use std::fmt;
use std::path::PathBuf;

use super::root::Root;

/// Longest accepted namespace or repository name.
pub const MAX_NAME_LEN: usize = 100;

/// A name that breaks the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The text is not `NS/NAME`.
    #[error("invalid repository name {0:?}: expected NAMESPACE/NAME")]
    Shape(String),
    /// One component breaks the naming rules.
    #[error("invalid {what} {value:?}: {reason}")]
    Component {
        /// "namespace" or "repository name".
        what: &'static str,
        /// The offending text.
        value: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
}

/// A validated `namespace/name` pair (without `.git`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName {
    ns: String,
    name: String,
}

/// Check one path component against the naming rules.
pub fn validate_component(what: &'static str, value: &str) -> Result<(), NameError> {
    let fail = |reason| {
        Err(NameError::Component {
            what,
            value: value.to_string(),
            reason,
        })
    };
    if value.is_empty() {
        return fail("must not be empty");
    }
    if value.len() > MAX_NAME_LEN {
        return fail("longer than 100 characters");
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return fail("only letters, digits, '.', '_' and '-' are allowed");
    }
    if value.starts_with('.') || value.starts_with('-') {
        return fail("must not start with '.' or '-'");
    }
    if value.contains("..") {
        return fail("must not contain '..'");
    }
    Ok(())
}

impl RepoName {
    /// Build from already separated parts, validating both.
    pub fn new(ns: &str, name: &str) -> Result<Self, NameError> {
        let name = name.strip_suffix(".git").unwrap_or(name);
        validate_component("namespace", ns)?;
        validate_component("repository name", name)?;
        Ok(RepoName {
            ns: ns.to_string(),
            name: name.to_string(),
        })
    }

    /// Parse `ns/name`, `ns/name.git`, optionally with one leading `/` (as SSH and URLs give it).
    pub fn parse(text: &str) -> Result<Self, NameError> {
        let trimmed = text.strip_prefix('/').unwrap_or(text);
        let mut parts = trimmed.split('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(ns), Some(name), None) => Self::new(ns, name),
            _ => Err(NameError::Shape(text.to_string())),
        }
    }

    /// The namespace (owner).
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// The repository name without `.git`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `<root>/repos/<ns>/<name>.git`.
    pub fn path_in(&self, root: &Root) -> PathBuf {
        root.repos_dir()
            .join(&self.ns)
            .join(format!("{}.git", self.name))
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.ns, self.name)
    }
}

impl std::str::FromStr for RepoName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod proptests;
