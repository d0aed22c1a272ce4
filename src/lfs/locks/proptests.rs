//! Properties of the lock listing's parameters as clients send them (`limit`, `cursor`, lock
//! ids): canonical decimal numbers are accepted and read back; signs, leading zeros, other
//! characters and numbers past their range are refused, never a panic.

use proptest::prelude::*;

use super::*;

fn query(limit: Option<String>, cursor: Option<String>) -> api::ListLocksQuery {
    api::ListLocksQuery {
        limit,
        cursor,
        ..Default::default()
    }
}

proptest! {
    /// Lock ids and cursors: every positive i64 written in decimal reads back as itself.
    #[test]
    fn prop_lfs_json_lock_ids_round_trip(id in 1..=i64::MAX, limit in any::<u32>()) {
        prop_assert_eq!(parse_id(&id.to_string()), Some(id));
        let f = LockFilter::from_query(&query(Some(limit.to_string()), Some(id.to_string())));
        let f = f.unwrap();
        prop_assert_eq!(f.limit, Some(limit));
        prop_assert_eq!(f.cursor, Some(id.to_string()));
    }

    /// What the grammar refuses: a sign, a leading zero, zero itself, other characters, a
    /// number past the range.
    #[test]
    fn prop_lfs_json_lock_paging_refuses(
        bad in prop_oneof![
            "[+-][0-9]{1,5}",
            "0[0-9]{0,5}",
            "[0-9]{0,3}[^0-9][0-9]{0,3}",
            "[1-9][0-9]{19,25}",
        ],
    ) {
        prop_assert_eq!(parse_id(&bad), None);
        let cursor = LockFilter::from_query(&query(None, Some(bad.clone())));
        let refused = matches!(cursor, Err(LockError::InvalidPaging { what: "cursor", .. }));
        prop_assert!(refused, "cursor {:?} accepted", bad);
        let trimmed = bad.trim();
        let limit_ok = !trimmed.is_empty()
            && trimmed.bytes().all(|b| b.is_ascii_digit())
            && trimmed.parse::<u32>().is_ok();
        let limit = LockFilter::from_query(&query(Some(bad.clone()), None));
        if trimmed.is_empty() {
            // Blank is no limit (the query decoder turns `+` into spaces).
            prop_assert_eq!(limit.unwrap().limit, None);
        } else if limit_ok {
            prop_assert_eq!(limit.unwrap().limit, trimmed.parse::<u32>().ok());
        } else {
            let refused = matches!(limit, Err(LockError::InvalidPaging { what: "limit", .. }));
            prop_assert!(refused, "limit {:?} accepted", bad);
        }
    }

    /// Any text: no panic; whatever is accepted is canonical.
    #[test]
    fn prop_lfs_json_lock_paging_hostile(text in any::<String>()) {
        if let Some(id) = parse_id(&text) {
            prop_assert_eq!(id.to_string(), text.clone());
        }
        if let Ok(f) = LockFilter::from_query(&query(Some(text.clone()), None)) {
            if let Some(n) = f.limit {
                prop_assert!(text.trim().bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(Some(n), text.trim().parse::<u32>().ok());
            }
        }
    }
}
