//! Framer and emitter tests over the wire-examples.md vectors (RFC 4975 §7.1, §7.2).

use super::vectors::{message, wire, MESSAGES};
use super::*;

/// An owned, comparable form of an event; consecutive body slices are merged.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Head {
        tid: String,
        start: String,
        fields: Vec<Option<String>>,
        count: usize,
        has_body: bool,
    },
    Body(Vec<u8>),
    End(Flag),
}

fn own(head: &Head<'_>) -> Seen {
    let h = head.headers;
    let start = match head.start {
        StartLine::Request(m) => format!("req {}", m.as_str()),
        StartLine::Response { code, comment } => format!("resp {code} {comment}"),
    };
    Seen::Head {
        tid: head.tid.to_string(),
        start,
        fields: [
            h.to_path,
            h.from_path,
            h.message_id,
            h.byte_range,
            h.content_type,
            h.success_report,
            h.failure_report,
            h.status,
            h.use_nickname,
        ]
        .iter()
        .map(|v| v.map(str::to_string))
        .collect(),
        count: h.count,
        has_body: head.has_body,
    }
}

/// Feeds `pieces` in order and records the events, checking the Body slice invariant.
fn run(framer: &mut Framer, pieces: &[&[u8]]) -> Result<Vec<Seen>, MsrpError> {
    let mut seen: Vec<Seen> = Vec::new();
    for piece in pieces {
        let mut rest: &[u8] = piece;
        for _ in 0..=(4 * rest.len() + 8) {
            let before = rest;
            let (n, ev) = framer.push(rest)?;
            match ev {
                None => {
                    assert_eq!(n, before.len(), "None must consume everything");
                    break;
                }
                Some(Event::Head(h)) => seen.push(own(&h)),
                Some(Event::Body(b)) => {
                    assert!(!b.is_empty(), "no empty body events");
                    if n > 0 {
                        assert_eq!(Some(b), before.get(..b.len()), "input body is a prefix");
                    } else {
                        assert!(b.len() <= END_WINDOW);
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
    Ok(seen)
}

fn framer() -> Framer {
    Framer::new(4096, 48)
}

fn whole(bytes: &[u8]) -> Vec<Seen> {
    run(&mut framer(), &[bytes]).unwrap()
}

#[test]
fn every_example_frames_to_head_body_end() {
    assert_eq!(MESSAGES.len(), 34);
    for (ex, idx, label, text) in MESSAGES {
        let bytes = wire(text);
        let seen = whole(&bytes);
        let Some(Seen::Head { has_body, .. }) = seen.first() else {
            panic!("ex {ex}.{idx} {label}: no head");
        };
        assert!(matches!(seen.last(), Some(Seen::End(_))), "ex {ex}.{idx}");
        let head = framer_head(&bytes);
        if *has_body {
            let Some(Seen::Body(body)) = seen.get(1) else {
                panic!("ex {ex}.{idx}: body expected");
            };
            // A REPORT's Byte-Range describes the reported message, not its own body.
            if let (Some(r), true) = (head.0, label.contains("Alice ->") || *ex != 17) {
                if let Some(end) = r.end {
                    assert_eq!(
                        body.len() as u64,
                        end - r.start + 1,
                        "ex {ex}.{idx} {label}"
                    );
                }
            }
            assert_eq!(seen.len(), 3);
        } else {
            assert_eq!(seen.len(), 2, "ex {ex}.{idx}: bodiless = head + end");
        }
        // The framer consumed the message exactly: a second copy frames identically.
        let mut twice = bytes.clone();
        twice.extend_from_slice(&bytes);
        let mut doubled = seen.clone();
        doubled.extend(seen.iter().cloned());
        assert_eq!(whole(&twice), doubled, "ex {ex}.{idx}");
    }
}

/// (Byte-Range, tid) of a message, via the framer's head.
fn framer_head(bytes: &[u8]) -> (Option<ByteRange>, String) {
    let mut f = framer();
    let (_, ev) = f.push(bytes).unwrap();
    let Some(Event::Head(h)) = ev else {
        panic!("head expected")
    };
    (h.byte_range().unwrap(), h.tid.to_string())
}

#[test]
fn every_split_offset_gives_the_same_events() {
    for (ex, idx, _, text) in MESSAGES {
        let bytes = wire(text);
        let reference = whole(&bytes);
        for cut in 0..=bytes.len() {
            let (a, b) = bytes.split_at(cut);
            assert_eq!(
                run(&mut framer(), &[a, b]).unwrap(),
                reference,
                "ex {ex}.{idx} cut {cut}"
            );
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(
            run(&mut framer(), &singles).unwrap(),
            reference,
            "ex {ex}.{idx} bytewise"
        );
        // Three pieces at pseudo-random cuts.
        let len = bytes.len();
        for seed in 1..=20usize {
            let c1 = (seed * 7919) % (len + 1);
            let c2 = (seed * 104_729 + 13) % (len + 1);
            let (lo, hi) = (c1.min(c2), c1.max(c2));
            let pieces = [&bytes[..lo], &bytes[lo..hi], &bytes[hi..]];
            assert_eq!(
                run(&mut framer(), &pieces).unwrap(),
                reference,
                "ex {ex}.{idx} cuts {lo},{hi}"
            );
        }
    }
}

#[test]
fn a_stream_of_all_examples_frames_in_any_piece_size() {
    let mut stream = Vec::new();
    let mut reference = Vec::new();
    for (_, _, _, text) in MESSAGES {
        let bytes = wire(text);
        reference.extend(whole(&bytes));
        stream.extend_from_slice(&bytes);
    }
    for size in [1, 2, 3, 5, 7, 13, 41, 44, 45, 100, 4096] {
        let pieces: Vec<&[u8]> = stream.chunks(size).collect();
        assert_eq!(
            run(&mut framer(), &pieces).unwrap(),
            reference,
            "size {size}"
        );
    }
}

fn send_with_body(tid: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "MSRP {tid} SEND\r\nTo-Path: msrp://h:1/a;tcp\r\nFrom-Path: msrp://h:2/b;tcp\r\n\
         Message-ID: m1\r\nContent-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    v.extend_from_slice(body);
    v.extend_from_slice(format!("\r\n-------{tid}$\r\n").as_bytes());
    v
}

#[test]
fn only_the_exact_end_line_ends_a_body() {
    let tid = "abcd1234";
    let tricky: &[&[u8]] = &[
        b"-------",
        b"line\r\n-------\r\nmore",
        b"x\r\n-------abcd1234",
        b"x\r\n-------abcd1234$\r",
        b"x\r\n-------abcd1234$x\r\n",
        b"x\r\n-------abcd12345$\r\n",
        b"x\r\n-------abcd123$\r\n",
        b"x\r\n-------zzzz9999$\r\ny",
        b"\r\n-------abcd1234+\rQ\r\r\n-------abcd1234\r\n",
        b"\r",
        b"",
        b"\r\n",
        b"x\r\n-------abcd1234$\r\r\n",
    ];
    for body in tricky {
        let bytes = send_with_body(tid, body);
        let reference = whole(&bytes);
        if body.is_empty() {
            assert_eq!(reference.len(), 2);
            assert_eq!(reference.get(1), Some(&Seen::End(Flag::Last)));
            continue;
        }
        assert_eq!(reference.len(), 3, "{:?}", String::from_utf8_lossy(body));
        let got_body = match reference.get(1) {
            Some(Seen::Body(b)) => b.clone(),
            _ => Vec::new(),
        };
        assert_eq!(got_body, body.to_vec());
        for cut in 0..=bytes.len() {
            let (a, b) = bytes.split_at(cut);
            assert_eq!(run(&mut framer(), &[a, b]).unwrap(), reference, "cut {cut}");
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(run(&mut framer(), &singles).unwrap(), reference);
    }
}

#[test]
fn empty_body_and_abort_flags() {
    let bytes = b"MSRP t1a2 SEND\r\nTo-Path: msrp://h:1/a;tcp\r\nFrom-Path: msrp://h:2/b;tcp\r\n\
Content-Type: message/cpim\r\n\r\n\r\n-------t1a2#\r\n";
    let seen = whole(bytes);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen.get(1), Some(&Seen::End(Flag::Abort)));
}

#[test]
fn framing_errors_are_sticky() {
    let mut f = Framer::new(64, 4);
    let big = format!("MSRP abcd SEND\r\nTo-Path: {}\r\n", "x".repeat(80));
    assert_eq!(
        f.push(big.as_bytes()).err(),
        Some(MsrpError::HeaderTooLarge)
    );
    assert_eq!(f.push(b"MSRP").err(), Some(MsrpError::HeaderTooLarge));

    let mut f = Framer::new(4096, 2);
    let many = b"MSRP abcd SEND\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert_eq!(run(&mut f, &[many]).err(), Some(MsrpError::TooManyHeaders));

    for bad in [
        &b"HTTP/1.1 200 OK\r\n"[..],
        b"MSRP abcd\r\n",
        b"MSRP  SEND\r\n",
        b"MSRP ab$d SEND\r\n",
        b"MSRP abcd 20x\r\n",
        b"MSRP abcd SE-ND\r\n",
    ] {
        let e = run(&mut framer(), &[bad]).err();
        assert!(
            matches!(
                e,
                Some(MsrpError::BadStartLine | MsrpError::BadTransactionId)
            ),
            "{:?} -> {e:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let not_utf8 = b"MSRP abcd SEND\r\nTo-Path: \xff\r\n\r\n";
    assert_eq!(
        run(&mut framer(), &[not_utf8]).err(),
        Some(MsrpError::BadHeader)
    );
}

#[test]
fn foreign_end_line_ends_a_bodiless_message_as_an_error_with_its_head() {
    let bytes = b"MSRP abcd SEND\r\nTo-Path: msrp://a:1/x;tcp\r\nFrom-Path: msrp://b:2/y;tcp\r\n\
                  -------wxyz$\r\n";
    for split in 1..bytes.len() {
        let mut f = framer();
        let e = run(&mut f, &[&bytes[..split], &bytes[split..]]).err();
        assert_eq!(e, Some(MsrpError::BadEndLine), "split at {split}");
        let head = f.head().expect("the head stays readable");
        assert_eq!(head.tid, "abcd");
        assert_eq!(head.headers.from_path, Some("msrp://b:2/y;tcp"));
        assert_eq!(f.push(b"MSRP").err(), Some(MsrpError::BadEndLine), "sticky");
    }
    assert_eq!(MsrpError::BadEndLine.status().0, 400);
}

#[test]
fn head_view_and_fallback_parser() {
    // A header without a colon defeats httparse; the fallback ignores it.
    let bytes = b"MSRP abcd SEND\r\nto-path:  msrp://h:1/a;tcp \r\nFrom-Path:msrp://h:2/b;tcp\r\n\
junk line\r\nX-Other: y\r\nContent-Type: text/plain\r\n\r\nhi\r\n-------abcd$\r\n";
    let mut f = framer();
    let (_, ev) = f.push(bytes).unwrap();
    let Some(Event::Head(h)) = ev else {
        panic!("head")
    };
    assert_eq!(h.method(), Some(Method::Send));
    assert_eq!(h.headers.to_path, Some("msrp://h:1/a;tcp"));
    assert_eq!(h.headers.from_path, Some("msrp://h:2/b;tcp"));
    assert_eq!(h.headers.content_type, Some("text/plain"));
    assert_eq!(h.headers.count, 5);
    assert_eq!(h.byte_range(), Ok(None));
    assert_eq!(h.failure_report(), ReportMode::Yes);
    assert!(f.head().is_some());

    let resp = message(5, 1);
    let mut f = framer();
    let (_, ev) = f.push(&resp).unwrap();
    let Some(Event::Head(h)) = ev else {
        panic!("head")
    };
    assert_eq!(
        h.start,
        StartLine::Response {
            code: 200,
            comment: "OK"
        }
    );
    assert_eq!(h.method(), None);
    assert!(!h.has_body);
}

fn response_for(request: &[u8], code: u16, comment: &str) -> Vec<u8> {
    let mut f = framer();
    let (_, ev) = f.push(request).unwrap();
    let Some(Event::Head(h)) = ev else {
        panic!("head")
    };
    let method = h.method().unwrap();
    let mut out = Vec::new();
    emit_response(
        &mut out,
        &Response {
            tid: h.tid,
            code,
            comment,
            to_path: response_to_path(method, h.headers.from_path.unwrap()),
            from_path: h.headers.to_path.unwrap(),
        },
    );
    out
}

#[test]
fn responses_are_byte_exact() {
    let cases: &[(u8, u8, u8, MsrpError)] = &[
        (7, 0, 1, MsrpError::BadNickname),
        (12, 0, 1, MsrpError::UnsupportedMedia),
        (13, 0, 1, MsrpError::Forbidden),
        (6, 0, 1, MsrpError::NicknameTaken),
        (11, 0, 1, MsrpError::UnknownRecipient),
        (11, 0, 2, MsrpError::PrivateNotSupported),
    ];
    for (ex, req, resp, err) in cases {
        let (code, comment) = err.status();
        let got = response_for(&message(*ex, *req), code, comment);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&message(*ex, *resp)),
            "ex {ex}"
        );
    }
    for (ex, req, resp) in [
        (5, 0, 1),
        (6, 2, 3),
        (8, 0, 1),
        (9, 0, 1),
        (14, 0, 1),
        (16, 0, 1),
    ] {
        let got = response_for(&message(ex, req), 200, "OK");
        assert_eq!(got, message(ex, resp), "ex {ex}");
    }
}

fn body_of(bytes: &[u8]) -> Vec<u8> {
    match whole(bytes).get(1) {
        Some(Seen::Body(b)) => b.clone(),
        _ => Vec::new(),
    }
}

#[test]
fn requests_are_byte_exact() {
    // Example 5: bodiless SEND.
    let mut out = Vec::new();
    let mut req = Request::new(
        "f3Kq9LzX2mPw7Rt1",
        "SEND",
        "msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp",
        "msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp",
    );
    req.message_id = Some("Hs72Kdq0PzW9xLm1");
    req.byte_range = Some(ByteRange::parse("1-0/0").unwrap());
    emit_request(&mut out, &req, None, Flag::Last);
    assert_eq!(out, message(5, 0));
    assert_eq!(
        encoded_len(|c| emit_request(c, &req, None, Flag::Last)),
        out.len()
    );

    // Example 9: the copy to Bob carries Alice's body byte-identical.
    let body = body_of(&message(9, 0));
    assert_eq!(body.len(), 166);
    let mut req = Request::new(
        "490ej23Pq8Vn5Kx2",
        "SEND",
        "msrp://192.0.2.102:4923/49dufdje2Wq7Lm3x;tcp",
        "msrp://192.0.2.10:2855/jofofo3Tz6Yh2Kp9;tcp",
    );
    req.message_id = Some("304sse2Hy6Tq9Wm4");
    req.byte_range = Some(ByteRange::parse("1-166/166").unwrap());
    req.content_type = Some("message/cpim");
    let mut out = Vec::new();
    let (a, b) = body.split_at(40);
    emit_request(&mut out, &req, Some(&[a, b]), Flag::Last);
    assert_eq!(out, message(9, 2));

    // Example 15: fast-forwarded first chunk, then the bodiless abort.
    let body = body_of(&message(14, 0));
    req.tid = "Ww1Ee2Rr3Tt4Yy5U";
    req.message_id = Some("Ff6Gg7Hh8Jj9Kk0L");
    req.byte_range = Some(ByteRange::parse("1-*/171").unwrap());
    let mut out = Vec::new();
    emit_request(&mut out, &req, Some(&[&body]), Flag::More);
    assert_eq!(out, message(15, 0));
    req.tid = "Zz9Xx8Cc7Vv6Bb5N";
    req.byte_range = Some(ByteRange::parse("162-*/171").unwrap());
    let mut out = Vec::new();
    emit_request(&mut out, &req, None, Flag::Abort);
    assert_eq!(out, message(15, 1));

    // Example 16: the switch's success REPORT.
    let mut rep = Request::new(
        "Rr5Ee4Pp3Oo2Rr1T",
        "REPORT",
        "msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp",
        "msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp",
    );
    rep.message_id = Some("Sr9Ep8Ou7Rt6Yq5W");
    rep.byte_range = Some(ByteRange::parse("1-108/108").unwrap());
    rep.status = Some(StatusHeader::parse("000 200 OK").unwrap());
    let mut out = Vec::new();
    emit_request(&mut out, &rep, None, Flag::Last);
    assert_eq!(out, message(16, 2));

    // Example 6 F1: NICKNAME with Use-Nickname.
    let mut nick = Request::new(
        "d93kswow",
        "NICKNAME",
        "msrp://chat.example.com:12763/kjhd37s2s20w2a;tcp",
        "msrp://client.atlanta.example.com:7654/jshA7weztas;tcp",
    );
    nick.use_nickname = Some("\"Alice the great\"");
    let mut out = Vec::new();
    emit_request(&mut out, &nick, None, Flag::Last);
    assert_eq!(out, message(6, 0));
}

#[test]
fn error_table_covers_rfc_codes() {
    assert_eq!(MsrpError::SessionUnknown.status().0, 481);
    assert_eq!(MsrpError::SessionInUse.status().0, 506);
    assert_eq!(MsrpError::HeaderTooLarge.status().0, 413);
    assert_eq!(MsrpError::NotImplemented.status().0, 501);
    assert_eq!(MsrpError::BadByteRange.status().0, 400);
}

#[test]
fn ident_rules() {
    assert!(is_ident(b"f3Kq9LzX2mPw7Rt1"));
    assert!(is_ident(b"a.b-"));
    assert!(!is_ident(b"abc"));
    assert!(!is_ident(b"-abc"));
    assert!(!is_ident(&[b'a'; 33]));
    assert_eq!(Flag::from_byte(b'#'), Some(Flag::Abort));
    assert_eq!(Flag::Last.byte(), b'$');
    assert_eq!(Flag::from_byte(b'x'), None);
}

#[test]
fn decimals() {
    assert_eq!(Decimal::new(0).as_bytes(), b"0");
    assert_eq!(Decimal::new(65543).as_bytes(), b"65543");
    assert_eq!(
        Decimal::new(u64::MAX).as_bytes(),
        u64::MAX.to_string().as_bytes()
    );
}
