//! Properties of public key text as `hubctl keys add` and `POST /api/user/keys` read it: a
//! well-formed OpenSSH line of an accepted type parses to its type, blob, comment and the
//! fingerprint `ssh-keygen -l` prints, and its stored form parses back to the same key; short
//! RSA keys, other types, several lines, damaged blobs and arbitrary text are refused, never a
//! panic.

use base64::Engine as _;
use proptest::prelude::*;
use sha2::Digest as _;

use super::*;

fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn ed25519_blob(point: &[u8; 32]) -> Vec<u8> {
    let mut blob = Vec::new();
    string(&mut blob, b"ssh-ed25519");
    string(&mut blob, point);
    blob
}

/// An RSA public key blob with exponent 65537 and a modulus of exactly `bits` bits.
fn rsa_blob(bits: usize, fill: u8) -> Vec<u8> {
    let mut n = vec![fill | 1; bits.div_ceil(8)];
    let top = bits - (n.len() - 1) * 8;
    n[0] = (n[0] & ((1u16 << top) - 1) as u8) | (1 << (top - 1));
    // mpint: positive, so a leading zero byte when the top bit is set.
    if n[0] & 0x80 != 0 {
        n.insert(0, 0);
    }
    let mut blob = Vec::new();
    string(&mut blob, b"ssh-rsa");
    string(&mut blob, &[0x01, 0x00, 0x01]);
    string(&mut blob, &n);
    blob
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn fingerprint(blob: &[u8]) -> String {
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha2::Sha256::digest(blob))
    )
}

/// A comment as people write them: printable, no leading or trailing space.
fn comment() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[!-~]([ -~]{0,30}[!-~])?"]
}

proptest! {
    /// ed25519: any 32-byte point, with or without a comment, surrounding whitespace ignored.
    #[test]
    fn prop_keys_ed25519_round_trip(
        point in any::<[u8; 32]>(),
        c in comment(),
        pad in "[ \t\n]{0,3}",
    ) {
        let blob = ed25519_blob(&point);
        let line = format!("{pad}ssh-ed25519 {} {c}{pad}", b64(&blob));
        let key = parse_public_key(&line).unwrap();
        prop_assert_eq!(&key.key_type, "ssh-ed25519");
        prop_assert_eq!(&key.public_key, &format!("ssh-ed25519 {}", b64(&blob)));
        prop_assert_eq!(&key.fingerprint, &fingerprint(&blob));
        prop_assert_eq!(&key.comment, &c);
        let again = parse_public_key(&key.public_key).unwrap();
        prop_assert_eq!(again.fingerprint, key.fingerprint);
        prop_assert_eq!(again.public_key, key.public_key);
    }

    /// RSA: accepted from 2048 bits on, refused below with the size it has.
    #[test]
    fn prop_keys_rsa_size_bound(bits in 1024usize..2100, fill in any::<u8>()) {
        let blob = rsa_blob(bits, fill);
        let got = parse_public_key(&format!("ssh-rsa {} k", b64(&blob)));
        if bits >= MIN_RSA_BITS {
            let key = got.unwrap();
            prop_assert_eq!(key.fingerprint, fingerprint(&blob));
        } else {
            prop_assert_eq!(got, Err(KeyError::RsaTooShort(bits)));
        }
    }

    /// Damage to a good line is refused: a changed type name, a blob cut short or with bytes
    /// appended, a second line, a type that does not match the blob.
    #[test]
    fn prop_keys_damaged_lines_are_refused(
        point in any::<[u8; 32]>(),
        cut in 1usize..40,
        extra in prop::collection::vec(any::<u8>(), 1..8),
        how in 0..5u8,
    ) {
        let blob = ed25519_blob(&point);
        let line = match how {
            0 => format!("ssh-ed25519 {}", b64(&blob[..blob.len() - cut.min(blob.len() - 1)])),
            1 => format!("ssh-ed25519 {}", b64(&[&blob[..], &extra[..]].concat())),
            2 => format!("ssh-ed25519 {} a\nssh-ed25519 {} b", b64(&blob), b64(&blob)),
            3 => format!("ssh-rsa {}", b64(&blob)),
            _ => format!("ssh-dss {}", b64(&blob)),
        };
        prop_assert!(parse_public_key(&line).is_err(), "accepted {:?}", line);
    }

    /// Any text: never a panic; whatever is accepted is an accepted type, one line, and its
    /// stored form parses back to the same fingerprint.
    #[test]
    fn prop_keys_hostile_text(text in prop_oneof![
        any::<String>(),
        "(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|sk-ssh-ed25519@openssh.com) [A-Za-z0-9+/=]{0,120}( [ -~]{0,20})?",
        (any::<[u8; 32]>(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(p, at, byte)| {
            // A good line with one byte of its base64 replaced.
            let mut line = format!("ssh-ed25519 {}", b64(&ed25519_blob(&p))).into_bytes();
            let i = 12 + at.index(line.len() - 12);
            line[i] = byte % 128;
            String::from_utf8_lossy(&line).into_owned()
        }),
    ]) {
        if let Ok(key) = parse_public_key(&text) {
            prop_assert!(ACCEPTED_TYPES.contains(&key.key_type.as_str()));
            prop_assert_eq!(text.trim().lines().count(), 1);
            let again = parse_public_key(&key.public_key).unwrap();
            prop_assert_eq!(again.fingerprint, key.fingerprint);
        }
    }
}
