//! Byte sizes as operators write them (`1MB`, `512k`, `off`), with git's binary multiples.

/// Errors parsing a size.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid size {0:?}: use a number of bytes with an optional k, m or g suffix (1024-based, like git: 1MB = 1048576), or \"off\""
)]
pub struct SizeError(String);

/// Parse a size like git does (`k`, `m`, `g` are powers of 1024; `b`, `ib` suffixes allowed).
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let err = || SizeError(text.to_string());
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    if digits_end == 0 {
        return Err(err());
    }
    let number: u64 = lower[..digits_end].parse().map_err(|_| err())?;
    let unit = lower[digits_end..].trim();
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(err()),
    };
    number.checked_mul(multiplier).ok_or_else(err)
}

/// Parse a size that may also be `off` (no limit).
pub fn parse_limit(text: &str) -> Result<Option<u64>, SizeError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "off" | "none" | "unlimited" => Ok(None),
        _ => parse_size(text).map(Some),
    }
}

/// Human form of a byte count (`2.0 MiB`), exact for small values.
pub fn format_size(bytes: u64) -> String {
    const UNITS: &[&str] = &["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    format!("{value:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("1MB").unwrap(), 1 << 20);
        assert_eq!(parse_size("1m").unwrap(), 1 << 20);
        assert_eq!(parse_size("512k").unwrap(), 512 << 10);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("2 GiB").unwrap(), 2 << 30);
        assert!(parse_size("MB").is_err());
        assert!(parse_size("1.5MB").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999g").is_err());
        assert_eq!(parse_limit("off").unwrap(), None);
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(format_size(10), "10 B");
        assert_eq!(format_size(2 << 20), "2.0 MiB");
        assert_eq!(format_size(1536), "1.5 KiB");
    }
}
