//! Properties of the receive-pack command gathering (pkt-line framing as hubctl reads it
//! before git starts): it waits for exactly the command section, its flush and one pack byte,
//! and never reads past what it returns, whatever the client sends.

use proptest::prelude::*;

use super::*;

fn pkt(payload: &[u8]) -> Vec<u8> {
    let mut v = format!("{:04x}", payload.len() + 4).into_bytes();
    v.extend_from_slice(payload);
    v
}

/// What `commands` returned and what it left in the input.
fn split(input: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut rest = input;
    let got = commands(&mut rest).expect("an in-memory body never fails");
    (got, rest.to_vec())
}

proptest! {
    /// Honest pushes: commands, flush, pack. Exactly the commands, the flush and the pack's
    /// first byte are gathered; the rest of the pack is left to stream.
    #[test]
    fn prop_pktline_commands_then_first_pack_byte(
        cmds in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..200), 0..20),
        pack in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut section = Vec::new();
        for c in &cmds {
            section.extend(pkt(c));
        }
        section.extend_from_slice(b"0000");
        let input = [&section[..], &pack[..]].concat();
        let (got, rest) = split(&input);
        let first = pack.len().min(1);
        prop_assert_eq!(&got[..], &input[..section.len() + first]);
        prop_assert_eq!(&rest[..], &pack[first..]);
    }

    /// Any bytes at all: no panic, what is returned is a prefix of the input and the rest is
    /// left unread, and gathering stops at the first header that is not four hex digits.
    #[test]
    fn prop_pktline_hostile_commands_are_a_prefix(
        input in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let (got, rest) = split(&input);
        prop_assert_eq!([&got[..], &rest[..]].concat(), input.clone());
        // Walk the framing the strict way: every header consumed is four hex digits.
        let mut at = 0;
        while at + 4 <= got.len() {
            let head = &got[at..at + 4];
            let Some(len) = pkt_len(head) else {
                prop_assert_eq!(at + 4, got.len(), "went past a bad header");
                break;
            };
            prop_assert!(head.iter().all(u8::is_ascii_hexdigit));
            if len == 0 || len < 4 {
                break;
            }
            at += len;
        }
    }

    /// A sign or space in a length is not hex: the gathering stops at that header.
    #[test]
    fn prop_pktline_signed_lengths_stop_the_gathering(
        sign in prop::sample::select(vec![b'+', b'-', b' ']),
        digits in "[0-9a-f]{3}",
        tail in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut input = vec![sign];
        input.extend_from_slice(digits.as_bytes());
        input.extend_from_slice(&tail);
        let (got, _) = split(&input);
        prop_assert_eq!(&got[..], &input[..4]);
    }
}
