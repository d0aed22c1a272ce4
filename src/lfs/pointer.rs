//! Git LFS pointer files: what git stores in place of an LFS object's content.
//!
//! A pointer (spec v1, `docs/spec.md` of git-lfs) is a small text blob:
//!
//! ```text
//! version https://git-lfs.github.com/spec/v1
//! oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393
//! size 12345
//! ```
//!
//! The `version` line comes first; the other lines are `key value` pairs (extensions such as
//! `ext-0-foo` may appear too and are ignored here). A blob of [`MAX_POINTER_SIZE`] bytes or
//! more is never a pointer.

use super::oid::Oid;

/// Pointer files are smaller than this (git-lfs never reads a larger blob as a pointer).
pub const MAX_POINTER_SIZE: u64 = 1024;

/// No pointer is shorter than this: a version line, a 64-digit oid and a one-digit size.
pub const MIN_POINTER_SIZE: u64 = 120;

/// The version lines git-lfs accepts (the second one is from its pre-release name, hawser).
const VERSIONS: &[&str] = &[
    "version https://git-lfs.github.com/spec/v1",
    "version https://hawser.github.com/spec/v1",
];

/// What a pointer file points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pointer {
    /// The object's id (SHA-256 of its content).
    pub oid: Oid,
    /// The object's size in bytes.
    pub size: u64,
}

impl Pointer {
    /// Parse `data` as a pointer file; `None` if it is not one (too large, not UTF-8, no
    /// version line first, no valid `oid sha256:<64 lower-case hex>` or `size <digits>`
    /// line, or either given twice).
    pub fn parse(data: &[u8]) -> Option<Pointer> {
        if data.len() as u64 >= MAX_POINTER_SIZE {
            return None;
        }
        let text = std::str::from_utf8(data).ok()?;
        let mut lines = text.lines();
        if !VERSIONS.contains(&lines.next()?) {
            return None;
        }
        let mut oid = None;
        let mut size = None;
        for line in lines {
            if let Some(value) = line.strip_prefix("oid ") {
                let hex = value.strip_prefix("sha256:")?;
                if oid.replace(Oid::parse(hex).ok()?).is_some() {
                    return None;
                }
            } else if let Some(value) = line.strip_prefix("size ") {
                let digits_only = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
                if !digits_only || size.replace(value.parse::<u64>().ok()?).is_some() {
                    return None;
                }
            }
        }
        Some(Pointer {
            oid: oid?,
            size: size?,
        })
    }

    /// The pointer file's text, as git-lfs writes it.
    pub fn to_text(&self) -> String {
        format!(
            "{}\noid sha256:{}\nsize {}\n",
            VERSIONS[0], self.oid, self.size
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const O1: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    fn text(oid_line: &str, size_line: &str) -> String {
        format!("version https://git-lfs.github.com/spec/v1\n{oid_line}\n{size_line}\n")
    }

    #[test]
    fn parses_the_pointer_git_lfs_writes() {
        let p = Pointer::parse(text(&format!("oid sha256:{O1}"), "size 6").as_bytes()).unwrap();
        assert_eq!(p.oid.as_str(), O1);
        assert_eq!(p.size, 6);
        assert_eq!(Pointer::parse(p.to_text().as_bytes()), Some(p.clone()));
        assert!(p.to_text().len() as u64 >= MIN_POINTER_SIZE);
        // CRLF line ends, extension lines, the old version URL, a size of zero.
        let crlf = text(&format!("oid sha256:{O1}"), "size 0").replace('\n', "\r\n");
        assert_eq!(Pointer::parse(crlf.as_bytes()).map(|p| p.size), Some(0));
        let ext = format!(
            "version https://git-lfs.github.com/spec/v1\next-0-foo sha256:{O1}\noid sha256:{O1}\nsize 12\n"
        );
        assert_eq!(Pointer::parse(ext.as_bytes()).map(|p| p.size), Some(12));
        let hawser =
            format!("version https://hawser.github.com/spec/v1\noid sha256:{O1}\nsize 1\n");
        assert!(Pointer::parse(hawser.as_bytes()).is_some());
        let big = text(&format!("oid sha256:{O1}"), &format!("size {}", u64::MAX));
        assert_eq!(
            Pointer::parse(big.as_bytes()).map(|p| p.size),
            Some(u64::MAX)
        );
    }

    #[test]
    fn rejects_what_is_not_a_pointer() {
        let good_oid = format!("oid sha256:{O1}");
        let cases = [
            String::new(),
            "hello".to_string(),
            // No version line, or not first.
            format!("{good_oid}\nsize 1\n"),
            format!("{good_oid}\nversion https://git-lfs.github.com/spec/v1\nsize 1\n"),
            "version https://example.com/spec/v1\n".to_string() + &good_oid + "\nsize 1\n",
            // Missing oid or size.
            text("size 1", ""),
            text(&good_oid, ""),
            // Malformed oid: upper case, short, other algorithm, path tricks.
            text(&format!("oid sha256:{}", O1.to_uppercase()), "size 1"),
            text(&format!("oid sha256:{}", &O1[..63]), "size 1"),
            text(&format!("oid sha512:{O1}"), "size 1"),
            text("oid sha256:../../../../etc/passwd", "size 1"),
            // Malformed size.
            text(&good_oid, "size -1"),
            text(&good_oid, "size 1.5"),
            text(&good_oid, "size "),
            text(&good_oid, "size 99999999999999999999999"),
            // Duplicates.
            text(&good_oid, &format!("size 1\n{good_oid}")),
            text(&good_oid, "size 1\nsize 2"),
        ];
        for case in cases {
            assert_eq!(Pointer::parse(case.as_bytes()), None, "{case:?}");
        }
        // Too large, even if it starts like a pointer.
        let mut padded = text(&good_oid, "size 1");
        padded.push_str(&"x".repeat(1024));
        assert_eq!(Pointer::parse(padded.as_bytes()), None);
        // Not UTF-8.
        let mut bad = text(&good_oid, "size 1").into_bytes();
        bad.push(0xff);
        assert_eq!(Pointer::parse(&bad), None);
    }
}
