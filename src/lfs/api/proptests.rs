//! Properties of the LFS JSON a client sends (batch, verify, lock, verify-locks and unlock
//! requests) and of the object ids in it: what a client writes reads back as itself; a body
//! missing a required member, with a member of the wrong type, or cut short is refused; bytes
//! that are not JSON never panic; an oid is accepted exactly when it is 64 lower-case hex digits.

use proptest::prelude::*;

use super::*;
use crate::lfs::Oid;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z0-9/._-]{0,20}"]
}

fn git_ref() -> impl Strategy<Value = Option<GitRef>> {
    prop::option::of(prop::option::of(text()).prop_map(|name| GitRef { name }))
}

fn batch() -> impl Strategy<Value = BatchRequest> {
    (
        prop_oneof![
            Just("upload".to_string()),
            Just("download".to_string()),
            text()
        ],
        prop::collection::vec(
            (prop_oneof!["[0-9a-f]{64}", text()], any::<i64>())
                .prop_map(|(oid, size)| BatchRequestObject { oid, size }),
            0..8,
        ),
        prop::option::of(prop::collection::vec(text(), 0..4)),
        git_ref(),
        prop::option::of(text()),
    )
        .prop_map(
            |(operation, objects, transfers, git_ref, hash_algo)| BatchRequest {
                operation,
                objects,
                transfers,
                git_ref,
                hash_algo,
            },
        )
}

/// A JSON text cut at every possible place but its end is never a whole document.
fn cut_points(json: &[u8]) -> impl Iterator<Item = &[u8]> {
    (0..json.len()).map(move |i| &json[..i])
}

proptest! {
    /// Batch requests read back as written, also with members the server does not know.
    #[test]
    fn prop_lfs_json_batch_round_trip(req in batch(), extra in any::<bool>()) {
        let mut value = serde_json::to_value(&req).unwrap();
        if extra {
            value["unknown"] = serde_json::json!({"x": [1, 2]});
        }
        let json = serde_json::to_vec(&value).unwrap();
        prop_assert_eq!(serde_json::from_slice::<BatchRequest>(&json).unwrap(), req);
    }

    /// The other request bodies read back as written.
    #[test]
    fn prop_lfs_json_lock_requests_round_trip(
        path in text(),
        r in git_ref(),
        cursor in prop::option::of(text()),
        limit in prop::option::of(any::<i64>()),
        force in any::<bool>(),
        oid in text(),
        size in any::<i64>(),
    ) {
        let create = CreateLockRequest { path, git_ref: r.clone() };
        let json = serde_json::to_vec(&create).unwrap();
        prop_assert_eq!(serde_json::from_slice::<CreateLockRequest>(&json).unwrap(), create);
        let verify = VerifyLocksRequest { git_ref: r.clone(), cursor, limit };
        let json = serde_json::to_vec(&verify).unwrap();
        let back = serde_json::from_slice::<VerifyLocksRequest>(&json).unwrap();
        prop_assert_eq!(back.page_limit(), limit.and_then(|l| u32::try_from(l).ok()));
        prop_assert_eq!(back, verify);
        let unlock = UnlockRequest { force, git_ref: r };
        let json = serde_json::to_vec(&unlock).unwrap();
        prop_assert_eq!(serde_json::from_slice::<UnlockRequest>(&json).unwrap(), unlock);
        let spec = ObjectSpec { oid, size };
        let json = serde_json::to_vec(&spec).unwrap();
        prop_assert_eq!(serde_json::from_slice::<ObjectSpec>(&json).unwrap(), spec);
    }

    /// Refused: a required member missing, a member of the wrong type, a size that is not an
    /// integer, and any proper prefix of a valid body.
    #[test]
    fn prop_lfs_json_refuses_malformed(req in batch(), which in 0..6u8, junk in text()) {
        let mut value = serde_json::to_value(&req).unwrap();
        let broken = match which {
            0 => { value.as_object_mut().unwrap().remove("operation"); true }
            1 => { value["operation"] = serde_json::json!(7); true }
            2 => { value["objects"] = serde_json::json!([{"oid": junk, "size": "12"}]); true }
            3 => { value["objects"] = serde_json::json!([{"oid": junk, "size": 1.5}]); true }
            4 => { value["objects"] = serde_json::json!([{"size": 1}]); true }
            _ => false,
        };
        let json = serde_json::to_vec(&value).unwrap();
        if broken {
            prop_assert!(serde_json::from_slice::<BatchRequest>(&json).is_err());
        } else {
            for prefix in cut_points(&json) {
                prop_assert!(serde_json::from_slice::<BatchRequest>(prefix).is_err());
            }
        }
        let no_path = serde_json::from_slice::<CreateLockRequest>(br#"{"ref":{}}"#);
        prop_assert!(no_path.is_err(), "a lock request without a path was accepted");
    }

    /// Arbitrary bytes, and JSON of arbitrary shape: never a panic.
    #[test]
    fn prop_lfs_json_hostile_bodies(body in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        "[\\[\\]{}\":,0-9a-z -]{0,80}".prop_map(String::into_bytes),
    ]) {
        let _ = serde_json::from_slice::<BatchRequest>(&body);
        let _ = serde_json::from_slice::<CreateLockRequest>(&body);
        let _ = serde_json::from_slice::<VerifyLocksRequest>(&body);
        let _ = serde_json::from_slice::<UnlockRequest>(&body);
        let _ = serde_json::from_slice::<ObjectSpec>(&body);
    }

    /// Object ids: exactly 64 lower-case hex digits, in either direction, and the id is the
    /// text.
    #[test]
    fn prop_lfs_json_oids(text in prop_oneof![
        "[0-9a-f]{64}",
        "[0-9a-fA-F]{63,65}",
        any::<String>(),
        "[0-9a-f]{10}[^0-9a-f][0-9a-f]{53}",
    ]) {
        let grammar = text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        match Oid::parse(&text) {
            Ok(oid) => {
                prop_assert!(grammar);
                prop_assert_eq!(oid.as_str(), text.as_str());
            }
            Err(_) => prop_assert!(!grammar),
        }
    }
}
