//! Properties of `git-lfs-transfer`'s parsers: the pkt-line reader (framing), the message
//! reader (command line, arguments, flush or delimiter), the bounded body-line reader and the
//! object data stream. Generated honest traffic round-trips through [`PktWriter`]; hostile
//! bytes never panic, never grow a buffer past the bounds, and are refused where the grammar
//! refuses them.

use proptest::prelude::*;

use super::*;

/// A packet as a test writes it: flush, delimiter, or data (kept small; one case in a while is
/// as long as a packet may be).
fn packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        1 => Just(Packet::Flush),
        1 => Just(Packet::Delim),
        6 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Packet::Data),
        1 => (0usize..=4).prop_map(|short| Packet::Data(vec![b'z'; MAX_PKT_DATA - short])),
    ]
}

fn encode(packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = PktWriter::new(&mut out);
    for p in packets {
        match p {
            Packet::Flush => w.flush_pkt().unwrap(),
            Packet::Delim => w.delim().unwrap(),
            Packet::Data(d) => w.packet(d).unwrap(),
        }
    }
    out
}

fn read_all(input: &[u8]) -> Result<Vec<Packet>, ProtocolError> {
    let mut r = PktReader::new(input);
    let mut out = Vec::new();
    while let Some(p) = r.read_packet()? {
        out.push(p);
    }
    Ok(out)
}

/// The bytes a packet takes on the wire.
fn wire_len(p: &Packet) -> usize {
    match p {
        Packet::Flush | Packet::Delim => 4,
        Packet::Data(d) => d.len() + 4,
    }
}

/// A text line of the protocol: printable, no newline.
fn line() -> impl Strategy<Value = String> {
    "[ -~\u{a0}-\u{2fff}]{0,40}"
}

/// A command: verb, operand, `key=value` arguments, with or without a body.
fn message() -> impl Strategy<Value = Message> {
    (
        "[a-z][a-z-]{0,15}",
        line(),
        prop::collection::vec(("[a-z-]{1,12}", line()), 0..MAX_ARGS),
        any::<bool>(),
    )
        .prop_map(|(verb, operand, args, has_body)| Message {
            verb,
            operand,
            args: args.into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
            has_body,
        })
}

fn encode_message(m: &Message, newline: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = PktWriter::new(&mut out);
    let first = if m.operand.is_empty() {
        m.verb.clone()
    } else {
        format!("{} {}", m.verb, m.operand)
    };
    let put = |w: &mut PktWriter<&mut Vec<u8>>, l: &str| {
        if newline {
            w.text(l).unwrap()
        } else {
            w.packet(l.as_bytes()).unwrap()
        }
    };
    put(&mut w, &first);
    for a in &m.args {
        put(&mut w, a);
    }
    if m.has_body {
        w.delim().unwrap();
    } else {
        w.flush_pkt().unwrap();
    }
    out
}

proptest! {
    /// Any sequence of packets written by [`PktWriter`] reads back as itself, then the end.
    #[test]
    fn prop_pktline_round_trip(packets in prop::collection::vec(packet(), 0..12)) {
        let wire = encode(&packets);
        prop_assert_eq!(read_all(&wire).unwrap(), packets);
    }

    /// Cut anywhere: at a packet boundary the packets before it read back and the input ends
    /// cleanly; anywhere else the reader reports a truncated packet, never a shorter one.
    #[test]
    fn prop_pktline_truncation_is_detected(
        packets in prop::collection::vec(packet(), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let wire = encode(&packets);
        let at = cut.index(wire.len());
        let mut boundary = 0;
        let mut whole = 0;
        for p in &packets {
            if boundary + wire_len(p) > at {
                break;
            }
            boundary += wire_len(p);
            whole += 1;
        }
        match read_all(&wire[..at]) {
            Ok(got) => {
                prop_assert_eq!(at, boundary);
                prop_assert_eq!(&got[..], &packets[..whole]);
            }
            Err(ProtocolError::Truncated) => prop_assert!(at > boundary),
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    /// A header that is not four hex digits, a reserved length (2, 3) or a length past the
    /// largest packet is refused as malformed.
    #[test]
    fn prop_pktline_bad_headers_are_refused(
        head in prop_oneof![
            "[0-9a-fA-F]{0,3}[^0-9a-fA-F][0-9a-zA-Z+ -]{0,3}".prop_map(|h| h.into_bytes()),
            prop::sample::select(vec!["0002", "0003", "fff1", "ffff", "FFF4"])
                .prop_map(|h| h.as_bytes().to_vec()),
            ((MAX_PKT_LEN + 1)..=0xffff).prop_map(|n| format!("{n:04x}").into_bytes()),
        ],
        tail in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut head = head;
        head.truncate(4);
        prop_assume!(head.len() == 4);
        let input = [&head[..], &tail[..]].concat();
        prop_assert!(matches!(
            PktReader::new(&input[..]).read_packet(),
            Err(ProtocolError::Malformed(_))
        ));
    }

    /// Arbitrary bytes: never a panic; every packet accepted is exactly what its header says,
    /// so writing the packets again gives back the input consumed (hex case aside).
    #[test]
    fn prop_pktline_hostile_bytes(input in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut r = PktReader::new(&input[..]);
        let mut accepted = Vec::new();
        let end = loop {
            match r.read_packet() {
                Ok(Some(p)) => accepted.push(p),
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        let consumed = encode(&accepted);
        prop_assert!(input.len() >= consumed.len());
        prop_assert!(input[..consumed.len()].eq_ignore_ascii_case(&consumed));
        if end.is_none() {
            prop_assert_eq!(consumed.len(), input.len());
        }
    }

    /// Hex digits in either case mean the same length.
    #[test]
    fn prop_pktline_upper_case_hex(data in prop::collection::vec(any::<u8>(), 6..300)) {
        let header = format!("{:04X}", data.len() + 4);
        let input = [header.as_bytes(), &data[..]].concat();
        prop_assert_eq!(read_all(&input).unwrap(), vec![Packet::Data(data)]);
    }

    /// Messages written the client's way (LF-terminated lines, or without the LF) read back as
    /// themselves; the next message starts right after.
    #[test]
    fn prop_lfs_transfer_message_round_trip(m in message(), newline in any::<bool>()) {
        let mut wire = encode_message(&m, newline);
        wire.extend(encode_message(&Message {
            verb: "quit".into(), operand: String::new(), args: vec![], has_body: false,
        }, true));
        let mut r = PktReader::new(&wire[..]);
        let Next::Message(got) = read_message(&mut r).unwrap() else {
            panic!("no message")
        };
        prop_assert_eq!(&got, &m);
        for a in &m.args {
            let (k, _) = a.split_once('=').unwrap();
            // The first argument with that key wins, as the server reads them.
            let first = m
                .args
                .iter()
                .find_map(|x| x.strip_prefix(k).and_then(|x| x.strip_prefix('=')));
            prop_assert!(first.is_some());
            prop_assert_eq!(got.arg(k), first);
        }
        let Next::Message(q) = read_message(&mut r).unwrap() else { panic!("no quit") };
        prop_assert_eq!(q.verb, "quit");
        prop_assert!(matches!(read_message(&mut r), Ok(Next::Eof)));
    }

    /// What the grammar refuses: more than the allowed arguments, an over-long line, bytes
    /// that are not UTF-8, a flush or delimiter instead of a command, and a message cut off
    /// before its flush.
    #[test]
    fn prop_lfs_transfer_refuses_bad_messages(
        m in message(),
        extra in (MAX_ARGS + 1)..(MAX_ARGS + 8),
        long in (MAX_ARG_LEN + 1)..(MAX_ARG_LEN + 64),
        bad_utf8 in prop::collection::vec(any::<u8>(), 1..20)
            .prop_filter("not UTF-8", |b| std::str::from_utf8(b).is_err()),
        which in 0..5u8,
    ) {
        let mut wire = Vec::new();
        let mut w = PktWriter::new(&mut wire);
        match which {
            // A flush where the command belongs.
            3 => w.flush_pkt().unwrap(),
            _ => {
                w.text(&m.verb).unwrap();
                match which {
                    0 => {
                        for i in 0..extra {
                            w.text(&format!("a{i}=x")).unwrap();
                        }
                    }
                    1 => w.packet(&vec![b'y'; long]).unwrap(),
                    2 => w.packet(&bad_utf8).unwrap(),
                    _ => {}
                }
                // 4: the input ends before the message's flush.
                if which != 4 {
                    w.flush_pkt().unwrap();
                }
            }
        }
        let got = read_message(&mut PktReader::new(&wire[..]));
        if which == 4 {
            prop_assert!(matches!(got, Err(ProtocolError::Truncated)));
        } else {
            prop_assert!(matches!(got, Err(ProtocolError::Malformed(_))));
        }
    }

    /// Random packets as a session's input: reading messages (and skipping bodies) never
    /// panics, and every message taken stays within the bounds.
    #[test]
    fn prop_lfs_transfer_hostile_sessions(packets in prop::collection::vec(packet(), 0..30)) {
        let wire = encode(&packets);
        let mut r = PktReader::new(&wire[..]);
        for _ in 0..packets.len() + 1 {
            match read_message(&mut r) {
                Ok(Next::Message(m)) => {
                    prop_assert!(m.args.len() <= MAX_ARGS);
                    prop_assert!(!m.verb.contains(' '));
                    prop_assert!(m.args.iter().all(|a| a.len() <= MAX_ARG_LEN));
                    if skip_body(&mut r, &m).is_err() {
                        break;
                    }
                }
                Ok(Next::Eof) | Ok(Next::Idle) | Err(_) => break,
            }
        }
    }

    /// Body lines: accepted exactly when there are at most `max` of at most `max_len` bytes;
    /// either way everything up to the flush is read and nothing after it.
    #[test]
    fn prop_lfs_transfer_body_lines_are_bounded(
        lines in prop::collection::vec(prop::collection::vec(b'a'..=b'z', 0..40), 0..20),
        max in 0usize..20,
        max_len in 0usize..40,
    ) {
        let mut wire = Vec::new();
        let mut w = PktWriter::new(&mut wire);
        for l in &lines {
            w.packet(l).unwrap();
        }
        w.flush_pkt().unwrap();
        w.text("next").unwrap();
        let mut r = PktReader::new(&wire[..]);
        let got = read_lines(&mut r, max, max_len).unwrap();
        let longest = lines.iter().map(Vec::len).find(|n| *n > max_len);
        match (longest, lines.len() > max) {
            (Some(n), _) => prop_assert_eq!(got, Err(LinesError::TooLong(n))),
            (None, true) => prop_assert_eq!(got, Err(LinesError::TooMany(lines.len()))),
            (None, false) => {
                let want: Vec<String> =
                    lines.iter().map(|l| String::from_utf8(l.clone()).unwrap()).collect();
                prop_assert_eq!(got, Ok(want));
            }
        }
        prop_assert_eq!(r.read_packet().unwrap(), Some(Packet::Data(b"next\n".to_vec())));
    }

    /// Object data: the concatenated payloads up to the flush when within the limit, a
    /// protocol error as soon as it is passed (never reading on).
    #[test]
    fn prop_lfs_transfer_object_data_is_bounded(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..10),
        limit in 0u64..1500,
    ) {
        let mut wire = Vec::new();
        let mut w = PktWriter::new(&mut wire);
        for c in &chunks {
            w.packet(c).unwrap();
        }
        w.flush_pkt().unwrap();
        let mut r = PktReader::new(&wire[..]);
        let mut body = DataReader::new(&mut r, limit);
        let mut got = Vec::new();
        let result = body.read_to_end(&mut got);
        let all = chunks.concat();
        if all.len() as u64 <= limit {
            prop_assert!(result.is_ok());
            prop_assert_eq!(got, all);
        } else {
            prop_assert!(result.is_err());
            prop_assert!(matches!(body.failure, Some(ProtocolError::Malformed(_))));
            prop_assert!(got.len() as u64 <= limit);
        }
    }

    /// Batch lines: `<oid> <size>` with any attributes after them read back; a size with a
    /// sign, a space, other characters or past 63 bits, or a missing part, is refused.
    #[test]
    fn prop_lfs_transfer_batch_lines(
        oid in prop_oneof!["[0-9a-f]{64}", "[!-~]{1,70}"],
        size in 0..=i64::MAX,
        attrs in prop::collection::vec("[a-z]{1,8}=[!-~]{0,8}", 0..3),
        bad_size in prop_oneof![
            "[+-][0-9]{1,5}",
            "[0-9]{0,3}[^0-9 ][0-9]{0,3}",
            Just(String::new()),
            Just("9223372036854775808".to_string()),
            Just("99999999999999999999".to_string()),
        ],
    ) {
        let tail: String = attrs.iter().map(|a| format!(" {a}")).collect();
        let good = format!("{oid} {size}{tail}");
        prop_assert_eq!(batch_line(&good), Some((oid.as_str(), size)));
        let bad = format!("{oid} {bad_size}{tail}");
        prop_assert_eq!(batch_line(&bad), None);
        prop_assert_eq!(batch_line(&oid), None);
        let no_oid = format!(" {size}");
        prop_assert_eq!(batch_line(&no_oid), None);
        prop_assert_eq!(decimal(&size.to_string()), Some(size as u64));
        prop_assert_eq!(decimal(&format!("+{size}")), None);
    }

    /// Any line at all: no panic, and an accepted line's size is exactly its second word.
    #[test]
    fn prop_lfs_transfer_hostile_batch_lines(line in prop_oneof![any::<String>(), "[0-9a-f ]{0,20} [0-9+ -]{0,22}"]) {
        if let Some((oid, size)) = batch_line(&line) {
            let mut words = line.split(' ');
            prop_assert_eq!(words.next(), Some(oid));
            let second = words.next().unwrap();
            prop_assert!(second.bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(second.parse::<i64>().ok(), Some(size));
        }
    }
}
