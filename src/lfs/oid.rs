//! LFS object ids: the SHA-256 of an object's content, as 64 lower-case hex characters.
//!
//! An [`Oid`] names a file on disk (`objects/ab/cd/<oid>`), so a value of this type is proof
//! that the text is safe to use as a path component: it can only be built by [`Oid::parse`]
//! (or from a digest), which admits exactly `[0-9a-f]{64}` and nothing else.

use std::fmt;
use std::path::PathBuf;

/// Length of an oid in hex characters.
pub const OID_HEX_LEN: usize = 64;

/// Why a text is not an oid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidError {
    /// Not exactly 64 bytes long.
    #[error("invalid oid: expected 64 hex characters, got {0} bytes")]
    Length(usize),
    /// A byte that is not `0-9` or `a-f` (upper case included: oids are lower case on the wire
    /// and on disk, and accepting both would give one object two names).
    #[error("invalid oid: byte {position} is not a lower-case hex digit")]
    NotLowerHex {
        /// Zero-based byte offset of the first offending byte.
        position: usize,
    },
}

/// A validated LFS object id (SHA-256, 64 lower-case hex characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid(String);

impl Oid {
    /// Validate `text` as an oid.
    pub fn parse(text: &str) -> Result<Oid, OidError> {
        if text.len() != OID_HEX_LEN {
            return Err(OidError::Length(text.len()));
        }
        if let Some(position) = text
            .bytes()
            .position(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(OidError::NotLowerHex { position });
        }
        Ok(Oid(text.to_string()))
    }

    /// The oid of content whose SHA-256 digest is `digest`.
    pub fn from_digest(digest: &[u8; 32]) -> Oid {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(OID_HEX_LEN);
        for b in digest {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        Oid(s)
    }

    /// The oid of an in-memory byte string (for tests and tiny objects; storage hashes while
    /// streaming instead).
    pub fn of_bytes(data: &[u8]) -> Oid {
        use sha2::Digest as _;
        let digest: [u8; 32] = sha2::Sha256::digest(data).into();
        Oid::from_digest(&digest)
    }

    /// The 64 hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The object's place below an `objects` directory: `ab/cd/abcd…` (the layout the git-lfs
    /// client uses locally too, so a directory never holds more than 65536 entries per level).
    pub fn shard_path(&self) -> PathBuf {
        let mut p = PathBuf::from(&self.0[0..2]);
        p.push(&self.0[2..4]);
        p.push(&self.0);
        p
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Oid {
    type Err = OidError;
    fn from_str(s: &str) -> Result<Oid, OidError> {
        Oid::parse(s)
    }
}

impl AsRef<str> for Oid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Oid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Oid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Oid, D::Error> {
        let text = String::deserialize(d)?;
        Oid::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const O1: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    #[test]
    fn accepts_exactly_64_lower_hex() {
        let oid = Oid::parse(O1).unwrap();
        assert_eq!(oid.as_str(), O1);
        assert_eq!(oid.to_string(), O1);
        assert_eq!(
            oid.shard_path(),
            PathBuf::from("58").join("91").join(O1),
            "objects/<oid[0:2]>/<oid[2:4]>/<oid>"
        );
        assert_eq!(Oid::of_bytes(b"hello\n"), oid, "O1 is sha256(\"hello\\n\")");
    }

    #[test]
    fn rejects_hostile_input() {
        let upper = O1.to_uppercase();
        let mut nul = O1.to_string();
        nul.replace_range(10..11, "\0");
        let mut traversal = String::from("../");
        traversal.push_str(&O1[3..]);
        let mut slash = O1[..32].to_string();
        slash.push('/');
        slash.push_str(&O1[33..]);
        let mut non_ascii = O1[..62].to_string();
        non_ascii.push('é'); // two bytes: total length 64 bytes
        let cases: Vec<(String, OidError)> = vec![
            (String::new(), OidError::Length(0)),
            (O1[..63].to_string(), OidError::Length(63)),
            (format!("{O1}0"), OidError::Length(65)),
            (format!("{O1}\n"), OidError::Length(65)),
            (
                format!(" {}", &O1[1..]),
                OidError::NotLowerHex { position: 0 },
            ),
            (upper, OidError::NotLowerHex { position: 4 }),
            (traversal, OidError::NotLowerHex { position: 0 }),
            (slash, OidError::NotLowerHex { position: 32 }),
            (nul, OidError::NotLowerHex { position: 10 }),
            (
                format!("{}g", &O1[..63]),
                OidError::NotLowerHex { position: 63 },
            ),
            (non_ascii, OidError::NotLowerHex { position: 62 }),
            ("..".repeat(32), OidError::NotLowerHex { position: 0 }),
            (
                "sha256:".to_string() + &O1[7..],
                OidError::NotLowerHex { position: 0 },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(Oid::parse(&input), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn serde_validates() {
        let ok: Oid = serde_json::from_str(&format!("\"{O1}\"")).unwrap();
        assert_eq!(ok.as_str(), O1);
        assert_eq!(serde_json::to_string(&ok).unwrap(), format!("\"{O1}\""));
        assert!(serde_json::from_str::<Oid>("\"../../etc/passwd\"").is_err());
        assert!(serde_json::from_str::<Oid>(&format!("\"{}\"", O1.to_uppercase())).is_err());
    }
}
