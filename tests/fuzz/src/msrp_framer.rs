//! MSRP framer (RFC 4975 §7.1 framing, §9 ABNF) and header values (§7.1.1 Byte-Range,
//! §7.1.2 Status, §6 URIs, RFC 7701 §7.1 Use-Nickname). The payload is fed once whole and
//! once cut at split points chosen by the input's first bytes (see `split_points`); both
//! runs must see the same heads, the same body bytes and the same end-lines — or fail with
//! the same error. Every Body slice obeys the framer's borrowing contract.

use super::{pieces, split_points};
use parlor::wire::msrp::{
    path_uris, ByteRange, Event, Flag, Framer, Head, MsrpError, MsrpUri, StatusHeader, END_WINDOW,
};
use parlor::wire::nickname::parse_use_nickname;

#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Head(String),
    Body(Vec<u8>),
    End(Flag),
}

fn exercise(head: &Head<'_>) -> String {
    let h = head.headers;
    let _ = (
        head.method(),
        head.byte_range(),
        head.failure_report(),
        head.success_report(),
    );
    for path in [h.to_path, h.from_path].into_iter().flatten() {
        for uri in path_uris(path) {
            if let Ok(u) = MsrpUri::parse(uri) {
                let _ = (u.ip(), u.matches(&u));
            }
        }
    }
    if let Some(Ok(r)) = h.byte_range.map(ByteRange::parse) {
        // Emit → parse is the identity on a valid range.
        let mut out = Vec::new();
        r.emit(&mut out);
        let text = String::from_utf8(out).expect("ASCII");
        assert_eq!(ByteRange::parse(&text), Ok(r), "{text}");
    }
    if let Some(Ok(s)) = h.status.map(StatusHeader::parse) {
        let mut out = Vec::new();
        s.emit(&mut out);
        let text = String::from_utf8(out).expect("UTF-8 in, UTF-8 out");
        assert_eq!(StatusHeader::parse(&text), Ok(s), "{text}");
    }
    if let Some(v) = h.use_nickname {
        let _ = parse_use_nickname(v, 1023);
    }
    format!("{head:?}")
}

/// Feeds `pieces` in order; the events with consecutive bodies merged, and the error if any.
fn frame_all(pieces: &[&[u8]]) -> (Vec<Seen>, Option<MsrpError>) {
    let limits = super::limits();
    let mut framer = Framer::new(limits.max_msrp_header_bytes, limits.max_headers);
    let mut seen: Vec<Seen> = Vec::new();
    for piece in pieces {
        let mut rest: &[u8] = piece;
        // Each call consumes input or yields an event that needs none; bounded anyway.
        for _ in 0..=(4 * rest.len() + 8) {
            let before = rest;
            let (n, ev) = match framer.push(rest) {
                Ok(ok) => ok,
                Err(e) => return (seen, Some(e)),
            };
            assert!(n <= before.len(), "consumed more than given");
            match ev {
                None => {
                    assert_eq!(n, before.len(), "None must consume everything");
                    break;
                }
                Some(Event::Head(h)) => seen.push(Seen::Head(exercise(&h))),
                Some(Event::Body(b)) => {
                    assert!(!b.is_empty(), "no empty body events");
                    if n > 0 {
                        assert_eq!(Some(b), before.get(..b.len()), "body is a prefix of input");
                    } else {
                        assert!(b.len() <= END_WINDOW, "held-back window too large");
                    }
                    match seen.last_mut() {
                        Some(Seen::Body(acc)) => acc.extend_from_slice(b),
                        _ => seen.push(Seen::Body(b.to_vec())),
                    }
                }
                Some(Event::End(f)) => seen.push(Seen::End(f)),
            }
            rest = before.get(n..).unwrap_or(&[]);
        }
    }
    (seen, None)
}

/// One fuzz input.
pub fn run(data: &[u8]) {
    let (cuts, payload) = split_points(data);
    let whole = frame_all(&[payload]);
    let split = frame_all(&pieces(payload, &cuts));
    assert_eq!(
        whole, split,
        "split at {cuts:?} changes what the framer sees"
    );
}
