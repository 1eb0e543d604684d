//! Conformance of the MSRP transport (RFC 4975 §5.4, §6, §7, §9, §12) over real loopback
//! sockets. Each test name starts with the requirement ID it shows; tests/CONFORMANCE.md
//! maps IDs to tests.

mod common;

use std::collections::HashSet;

use common::conformance::{fresh_path, invite_room, msrp_request, offer, usual_attrs, RawReader};
use common::msrp::{self, cpim_body, MsrpConn, MsrpMessage, SendRequest};
use common::{ident, Participant, Server, Transport, QUIET, ROOM, STEP};

/// A bodiless binding SEND for `to` from `from` with transaction id `tid`.
fn bind_bytes(tid: &str, to: &str, from: &str) -> Vec<u8> {
    SendRequest {
        tid,
        to_path: to,
        from_path: from,
        message_id: &ident(12),
        range: ("1", "0", "0"),
        content_type: None,
        body: b"",
        flag: '$',
    }
    .bytes()
}

/// A whole SEND of `body` as `message/cpim`.
fn send_bytes(tid: &str, to: &str, from: &str, body: &[u8]) -> Vec<u8> {
    let len = body.len().to_string();
    SendRequest {
        tid,
        to_path: to,
        from_path: from,
        message_id: &ident(12),
        range: ("1", &len, &len),
        content_type: Some("message/cpim"),
        body,
        flag: '$',
    }
    .bytes()
}

/// The response to `tid` on `conn`, answering SENDs that arrive first; the SENDs seen.
fn response_on(conn: &mut MsrpConn, tid: &str, own: &str) -> (MsrpMessage, Vec<MsrpMessage>) {
    let mut sends = Vec::new();
    for _ in 0..1000 {
        let m = conn
            .recv(STEP)
            .unwrap_or_else(|| panic!("no response to {tid}"));
        if m.status.is_some() && m.tid == tid {
            return (m, sends);
        }
        if m.is_send() {
            conn.write(&msrp::response(&m, 200, "OK", own));
            sends.push(m);
        }
    }
    panic!("no response to {tid}");
}

#[test]
fn r4975_6_a_path_uris_need_transport_and_port_for_ip_hosts() {
    let server = Server::start(&[]);
    for bad in [
        format!("msrp://127.0.0.1/{};tcp", ident(10)),
        format!("msrp://127.0.0.1:9/{}", ident(10)),
    ] {
        let r = invite_room(server.sip, &offer("probe", &usual_attrs(&bad)));
        assert_ne!(r.status(), Some(200), "path {bad} accepted");
        assert!(r.status().is_some_and(|s| s >= 400), "{}", r.start);
    }
    // The switch's own URIs follow the rule.
    let p = Participant::join(server.sip, Transport::Udp, "alice");
    assert!(p.answer.path.ends_with(";tcp"));
    assert!(p.answer.msrp_addr().port() != 0);
}

#[test]
fn r4975_6_1_a_session_id_case_sensitive_scheme_and_transport_not() {
    let server = Server::start(&[]);
    let a = Participant::join(server.sip, Transport::Udp, "alice");
    let sid = a.answer.session_id();
    let swapped: String = sid
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    assert_ne!(swapped, sid, "session-id without letters");
    let addr = a.answer.msrp_addr();
    let mut conn = MsrpConn::connect(addr);
    let tid = ident(12);
    conn.write(&bind_bytes(
        &tid,
        &format!("msrp://{addr}/{swapped};tcp"),
        &a.local_path,
    ));
    let r = conn.recv(STEP).expect("response");
    assert_eq!(
        r.status,
        Some(481),
        "case-changed session-id matched: {r:?}"
    );

    let mut conn = MsrpConn::connect(addr);
    let tid = ident(12);
    conn.write(&bind_bytes(
        &tid,
        &format!("MSRP://{addr}/{sid};TCP"),
        &a.local_path,
    ));
    let r = conn.recv(STEP).expect("response");
    assert_eq!(
        r.status,
        Some(200),
        "upper-case scheme/transport refused: {r:?}"
    );
}

// R4975-5.4-a (connection reuse), R4975-5.4-d (a connection with sessions stays open).
#[test]
fn r4975_5_4_a_two_sessions_share_one_connection_and_it_survives_one_leaving() {
    let server = Server::start(&[]);
    let mut a1 = Participant::join(server.sip, Transport::Udp, "alice");
    let a2 = Participant::join(server.sip, Transport::Udp, "amy");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut conn = MsrpConn::connect(a1.answer.msrp_addr());
    for p in [&a1, &a2] {
        let tid = ident(12);
        conn.write(&bind_bytes(&tid, &p.answer.path, &p.local_path));
        let (r, _) = response_on(&mut conn, &tid, &p.answer.path);
        assert_eq!(
            r.status,
            Some(200),
            "bind of {} on the shared connection: {r:?}",
            p.uri
        );
    }
    let (tid, _, body) = b.say(b"to both sessions");
    assert_eq!(b.response_to(&tid).status, Some(200));
    let mut to_paths = HashSet::new();
    for _ in 0..2 {
        let m = conn.recv(STEP).expect("a copy per session");
        assert!(m.is_send());
        assert_eq!(m.body, body);
        to_paths.insert(m.header("To-Path").unwrap_or_default().to_string());
        conn.write(&msrp::response(&m, 200, "OK", &a1.answer.path));
    }
    let want: HashSet<String> = [a1.local_path.clone(), a2.local_path.clone()].into();
    assert_eq!(to_paths, want, "copies not addressed per session");

    // A2 talks on the shared connection.
    let tid = ident(12);
    let body2 = cpim_body(&a2.uri, ROOM, b"amy here");
    conn.write(&send_bytes(&tid, &a2.answer.path, &a2.local_path, &body2));
    let (r, _) = response_on(&mut conn, &tid, &a2.answer.path);
    assert_eq!(r.status, Some(200));
    assert_eq!(b.next_send(STEP).expect("B gets A2's message").body, body2);

    // RFC 4975 §5.4: A1 leaves; the connection still carries A2's session.
    a1.msrp = None;
    assert_eq!(a1.bye().status(), Some(200));
    let (tid, _, body3) = b.say(b"after A1 left");
    assert_eq!(b.response_to(&tid).status, Some(200));
    let m = conn
        .recv(STEP)
        .expect("A2 still served on the shared connection");
    assert_eq!(m.body, body3);
    assert_eq!(m.header("To-Path"), Some(a2.local_path.as_str()));
    conn.write(&msrp::response(&m, 200, "OK", &a2.answer.path));
    assert!(conn.recv(QUIET).is_none(), "a copy still went to A1");
}

#[test]
fn r4975_5_4_b_nothing_sent_before_the_first_request_binds() {
    let server = Server::start(&[]);
    let a = Participant::join(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut conn = MsrpConn::connect(a.answer.msrp_addr());
    let (tid, _, _) = b.say(b"while A is connected but unbound");
    assert_eq!(b.response_to(&tid).status, Some(200));
    assert_eq!(conn.read_some(QUIET), 0, "switch wrote before binding");
    let tid = ident(12);
    conn.write(&bind_bytes(&tid, &a.answer.path, &a.local_path));
    // Once bound, the bind's 200 arrives (copies queued meanwhile may come first).
    let (r, _) = response_on(&mut conn, &tid, &a.answer.path);
    assert_eq!(r.status, Some(200));
}

#[test]
fn r4975_5_4_c_unknown_session_481_already_bound_506() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let addr = a.answer.msrp_addr();

    let mut stranger = MsrpConn::connect(addr);
    let tid = ident(12);
    stranger.write(&bind_bytes(
        &tid,
        &format!("msrp://{addr}/{};tcp", ident(16)),
        &fresh_path(),
    ));
    let r = stranger.recv(STEP).expect("response");
    assert_eq!((r.tid.as_str(), r.status), (tid.as_str(), Some(481)));

    let mut second = MsrpConn::connect(addr);
    let tid = ident(12);
    second.write(&bind_bytes(&tid, &a.answer.path, &a.local_path));
    let r = second.recv(STEP).expect("response");
    assert_eq!(r.status, Some(506), "{r:?}");

    let (tid, _, body) = a.say(b"first connection unaffected");
    assert_eq!(a.response_to(&tid).status, Some(200));
    assert_eq!(b.next_send(STEP).expect("copy").body, body);
}

#[test]
fn r4975_7_3_a_request_for_a_session_not_on_this_connection_481() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut c = Participant::join_and_bind(server.sip, Transport::Udp, "carol");

    // On A's connection, a SEND for B's session.
    let tid = ident(12);
    let body = cpim_body(&b.uri, ROOM, b"hijack");
    let req = send_bytes(&tid, &b.answer.path, &b.local_path, &body);
    a.conn().write(&req);
    let r = a.response_to(&tid);
    assert_eq!(r.status, Some(481), "{r:?}");

    // To-Path with two URIs.
    let tid = ident(12);
    let two = format!("{} {}", a.answer.path, a.answer.path);
    let body = cpim_body(&a.uri, ROOM, b"two to-path uris");
    let req = send_bytes(&tid, &two, &a.local_path, &body);
    a.conn().write(&req);
    assert_eq!(a.response_to(&tid).status, Some(481));

    let (tid, _, good) = a.say(b"the valid one");
    assert_eq!(a.response_to(&tid).status, Some(200));
    for p in [&mut b, &mut c] {
        assert_eq!(
            p.next_send(STEP).expect("valid copy").body,
            good,
            "a rejected SEND was delivered"
        );
    }
}

#[test]
fn r4975_7_1_a_switch_transaction_ids_unique_and_long() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut tids = HashSet::new();
    for i in 0..30 {
        let (tid, _, _) = a.say(format!("m{i}").as_bytes());
        assert_eq!(a.response_to(&tid).status, Some(200));
        let m = b.next_send(STEP).expect("copy");
        let t = m.tid.clone();
        assert!((4..=32).contains(&t.len()), "tid length {}", t.len());
        // ≥ 64 bits: at most log2(62) bits per alphanumeric character.
        assert!(
            t.len() as f64 * 5.96 >= 64.0,
            "tid {t:?} too short for 64 bits"
        );
        assert!(tids.insert(t), "tid repeated");
    }
}

#[test]
fn r4975_7_1_b_header_order_and_framing_of_switch_output() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut a_stream = a.conn().stream.try_clone().expect("clone");
    let mut b_stream = b.conn().stream.try_clone().expect("clone");
    let (mut ra, mut rb) = (RawReader::new(), RawReader::new());

    let tid = ident(12);
    let body = cpim_body(&a.uri, ROOM, b"framing check");
    let len = body.len().to_string();
    let req = msrp_request(
        "SEND",
        &tid,
        &a.answer.path,
        &a.local_path,
        &[
            format!("Message-ID: {}", ident(12)),
            "Success-Report: yes".to_string(),
            format!("Byte-Range: 1-{len}/{len}"),
        ],
        Some(("message/cpim", &body)),
        '$',
    );
    a.conn().write(&req);

    // Response: start line, To-Path, From-Path, end-line; nothing else.
    let mut report = None;
    let mut response = None;
    for _ in 0..4 {
        let Some((m, raw)) = ra.next(&mut a_stream, STEP) else {
            break;
        };
        if m.status.is_some() {
            response = Some(raw);
        } else if m.method.as_deref() == Some("REPORT") {
            report = Some(raw);
        }
        if response.is_some() && report.is_some() {
            break;
        }
    }
    let resp = String::from_utf8(response.expect("response")).expect("utf8");
    let lines: Vec<&str> = resp.split("\r\n").collect();
    assert_eq!(lines.len(), 5, "{resp:?}");
    assert_eq!(lines[0], format!("MSRP {tid} 200 OK"));
    assert_eq!(lines[1], format!("To-Path: {}", a.local_path));
    assert_eq!(lines[2], format!("From-Path: {}", a.answer.path));
    assert_eq!(lines[3], format!("-------{tid}$"));
    assert_eq!(lines[4], "");
    // A bodiless request from the switch (the success REPORT): no Content-Type, end-line
    // right after the last header.
    let rep = String::from_utf8(report.expect("success REPORT")).expect("utf8");
    let rl: Vec<&str> = rep.split("\r\n").collect();
    assert!(
        rl[0].starts_with("MSRP ") && rl[0].ends_with(" REPORT"),
        "{rep:?}"
    );
    assert!(
        rl[1].starts_with("To-Path: ") && rl[2].starts_with("From-Path: "),
        "{rep:?}"
    );
    assert!(
        !rep.contains("Content-Type"),
        "bodiless REPORT with Content-Type"
    );
    assert!(
        !rep.contains("\r\n\r\n"),
        "bodiless REPORT with an empty line: {rep:?}"
    );

    // The copy at B: To-Path, From-Path first; Content-Type last; body; CRLF end-line.
    let (m, raw) = rb.next(&mut b_stream, STEP).expect("copy at B");
    let resp = msrp::response(&m, 200, "OK", &b.answer.path);
    b.conn().write(&resp);
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("empty line");
    let head = std::str::from_utf8(&raw[..head_end]).expect("utf8");
    let hl: Vec<&str> = head.split("\r\n").collect();
    assert_eq!(hl[0], format!("MSRP {} SEND", m.tid));
    assert!(hl[1].starts_with("To-Path: "), "{head}");
    assert!(hl[2].starts_with("From-Path: "), "{head}");
    assert_eq!(*hl.last().expect("header"), "Content-Type: message/cpim");
    let tail = format!("\r\n-------{}$\r\n", m.tid);
    assert!(raw.ends_with(tail.as_bytes()));
    assert_eq!(&raw[head_end + 4..raw.len() - tail.len()], &body[..]);
}

#[test]
fn r4975_7_2_b_response_to_path_first_uri_for_send_full_path_otherwise() {
    let server = Server::start(&[]);
    let relay = format!("msrp://127.0.0.1:9/{};tcp", ident(10));
    let own = fresh_path();
    let path = format!("{relay} {own}");
    let mut a = Participant::join_with(
        server.sip,
        Transport::Tcp,
        "sip:alice@example.com",
        &path,
        &offer("alice", &usual_attrs(&path)),
    )
    .expect("join");
    a.bind();
    let (tid, _, _) = a.say(b"send");
    let r = a.response_to(&tid);
    assert_eq!(r.tid, tid);
    assert_eq!(r.header("To-Path"), Some(relay.as_str()));
    assert_eq!(r.header("From-Path"), Some(a.answer.path.as_str()));
    assert_eq!(r.flag, b'$');
    assert!(r.body.is_empty());

    let tid = ident(12);
    let req = msrp_request("FROB", &tid, &a.answer.path, &path, &[], None, '$');
    a.conn().write(&req);
    let r = a.response_to(&tid);
    assert_eq!(r.status, Some(501));
    assert_eq!(
        r.header("To-Path"),
        Some(path.as_str()),
        "non-SEND response must carry the whole From-Path"
    );
}

#[test]
fn r4975_7_1_c_end_line_lookalikes_in_the_body_are_not_cut() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut text = b"before\r\n-------abcd1234$\r\nmiddle\r\n-------\r\n".to_vec();
    text.extend_from_slice(b"-------XyZ98765+\r\n-------QQQQ#\r\nafter");
    let (tid, _, body) = a.say(&text);
    assert_eq!(a.response_to(&tid).status, Some(200));
    let got = b.next_message(STEP).expect("whole message at B");
    assert_eq!(got, body, "body cut or altered at an end-line lookalike");
}

#[test]
fn r4975_7_1_d_impl_9_oversized_non_send_body_refused() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let tid = ident(12);
    let big = vec![b'x'; 11_000];
    let req = msrp_request(
        "NICKNAME",
        &tid,
        &a.answer.path,
        &a.local_path,
        &["Use-Nickname: \"al\"".to_string()],
        Some(("text/plain", &big)),
        '$',
    );
    a.conn().write(&req);
    let r = a.response_to(&tid);
    assert!(
        matches!(r.status, Some(400) | Some(413)),
        "11000-octet NICKNAME body answered {:?}",
        r.status
    );
}

#[test]
fn r4975_7_1_1_a_byte_range_forms_and_chunk_headers() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    // Unknown end and total.
    let body = cpim_body(&a.uri, ROOM, b"range 1-*/*");
    let tid = ident(12);
    let req = SendRequest {
        tid: &tid,
        to_path: &a.answer.path,
        from_path: &a.local_path,
        message_id: &ident(12),
        range: ("1", "*", "*"),
        content_type: Some("message/cpim"),
        body: &body,
        flag: '$',
    }
    .bytes();
    a.conn().write(&req);
    assert_eq!(a.response_to(&tid).status, Some(200));
    assert_eq!(b.next_message(STEP).expect("1-*/* message"), body);
    // No Byte-Range at all on a single-chunk message (SHOULD, not MUST).
    let body = cpim_body(&a.uri, ROOM, b"no byte-range");
    let tid = ident(12);
    let req = msrp_request(
        "SEND",
        &tid,
        &a.answer.path,
        &a.local_path,
        &[format!("Message-ID: {}", ident(12))],
        Some(("message/cpim", &body)),
        '$',
    );
    a.conn().write(&req);
    assert_eq!(a.response_to(&tid).status, Some(200));
    let copy = b.next_send(STEP).expect("copy");
    assert_eq!(copy.body, body);
    // The switch's chunks always carry Message-ID and a 1-based Byte-Range.
    assert!(copy.header("Message-ID").is_some_and(|m| !m.is_empty()));
    let (start, end, total) = copy.byte_range().expect("numeric Byte-Range start");
    assert_eq!(start, 1);
    assert!(end.is_none_or(|e| e == body.len() as u64), "{end:?}");
    assert!(total.is_none_or(|t| t == body.len() as u64), "{total:?}");
}

/// Sends one chunk of `body` covering `from..to` (0-based, exclusive) with `flag`.
fn chunk(a: &mut Participant, mid: &str, body: &[u8], from: usize, to: usize, flag: char) {
    let tid = ident(12);
    let total = body.len().to_string();
    let req = SendRequest {
        tid: &tid,
        to_path: &a.answer.path,
        from_path: &a.local_path,
        message_id: mid,
        range: (&(from + 1).to_string(), &to.to_string(), &total),
        content_type: Some("message/cpim"),
        body: &body[from..to],
        flag,
    }
    .bytes();
    a.conn().write(&req);
    let r = a.response_to(&tid);
    assert_eq!(r.status, Some(200), "chunk {from}..{to}: {r:?}");
}

#[test]
fn r4975_7_3_1_a_impl_10_overlapping_and_empty_chunks_keep_offsets() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let content: Vec<u8> = (0..600u32).map(|i| b'a' + (i % 26) as u8).collect();
    let body = cpim_body(&a.uri, ROOM, &content);
    let n = body.len();
    let (s1, s2) = (n - 400, n - 200);
    let mid = ident(12);
    chunk(&mut a, &mid, &body, 0, s1, '+');
    chunk(&mut a, &mid, &body, s1, s1, '+'); // empty chunk
    chunk(&mut a, &mid, &body, s1 - 10, s2, '+'); // overlaps the first by 10 octets
    chunk(&mut a, &mid, &body, s2, n, '$');
    let mut whole = vec![0u8; n];
    let mut covered = vec![false; n];
    let mut done = false;
    for _ in 0..100 {
        let Some(m) = b.next_send(STEP) else { break };
        assert_ne!(m.flag, b'#', "aborted");
        let start = m.byte_range().expect("Byte-Range").0 as usize;
        assert!(
            start >= 1 && start - 1 + m.body.len() <= n,
            "range out of bounds"
        );
        whole[start - 1..start - 1 + m.body.len()].copy_from_slice(&m.body);
        covered[start - 1..start - 1 + m.body.len()]
            .iter_mut()
            .for_each(|c| *c = true);
        if m.flag == b'$' {
            done = true;
            break;
        }
    }
    assert!(done, "no last chunk at B");
    assert!(covered.iter().all(|c| *c), "bytes missing at B");
    assert_eq!(whole, body, "reassembled by Byte-Range, B's bytes differ");
}

#[test]
fn r4975_12_a_unknown_header_ignored_unknown_method_501() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let body = cpim_body(&a.uri, ROOM, b"with X-Foo");
    let len = body.len();
    let tid = ident(12);
    let req = msrp_request(
        "SEND",
        &tid,
        &a.answer.path,
        &a.local_path,
        &[
            format!("Message-ID: {}", ident(12)),
            "X-Foo: bar".to_string(),
            format!("Byte-Range: 1-{len}/{len}"),
        ],
        Some(("message/cpim", &body)),
        '$',
    );
    a.conn().write(&req);
    assert_eq!(a.response_to(&tid).status, Some(200));
    assert_eq!(b.next_send(STEP).expect("copy").body, body);

    let tid = ident(12);
    let req = msrp_request("FOO", &tid, &a.answer.path, &a.local_path, &[], None, '$');
    a.conn().write(&req);
    let r = a.response_to(&tid);
    assert_eq!(r.status, Some(501), "{r:?}");
    // Still usable.
    let (tid, _, body) = a.say(b"after FOO");
    assert_eq!(a.response_to(&tid).status, Some(200));
    assert_eq!(b.next_send(STEP).expect("copy").body, body);
}

#[test]
fn r4975_9_a_minimal_responses_from_recipients_accepted() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    for i in 0..5 {
        let (tid, _, body) = a.say(format!("n{i}").as_bytes());
        assert_eq!(a.response_to(&tid).status, Some(200));
        // next_send answers with start line + To-Path + From-Path + end-line only.
        let m = b.next_send(STEP).expect("copy after minimal responses");
        assert_eq!(m.body, body);
    }
    assert!(
        !b.conn().closed_within(QUIET),
        "switch closed B's connection"
    );
}

// R7701-11-c (size cap protects the room), IMPL-5 (413 beyond max-size).
#[test]
fn r7701_11_c_impl_5_message_over_max_size_413_others_unaffected() {
    let conf = common::conformance::limits_file(&[("max_message_bytes", 4096)]);
    let server = Server::start(&["--config", &conf]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    assert!(
        a.answer.text.contains("a=max-size:4096"),
        "max-size not advertised: {}",
        a.answer.text
    );
    let (tid, _, _) = a.say(&vec![b'x'; 5000]);
    let r = a.response_to(&tid);
    assert_eq!(r.status, Some(413), "{r:?}");
    // Nothing (or only an aborted part) reached B; the next message arrives whole.
    let (tid, _, body) = b.say(b"still served");
    assert_eq!(b.response_to(&tid).status, Some(200));
    assert_eq!(a.next_message(STEP).expect("A still served"), body);
    let (tid, _, body) = a.say(b"small again");
    assert_eq!(a.response_to(&tid).status, Some(200));
    assert_eq!(
        b.next_message(STEP).expect("B gets the small message"),
        body,
        "B's first whole message is not the small one"
    );
}

#[test]
fn r4975_6_a_msrps_path_without_tls_refused() {
    let server = Server::start(&[]);
    let path = format!("msrps://127.0.0.1:9/{};tcp", ident(10));
    let r = invite_room(server.sip, &offer("probe", &usual_attrs(&path)));
    let status = r.status().expect("status");
    let stream_refused = status == 200 && r.body_text().contains("m=message 0 ");
    assert!(
        status >= 400 || stream_refused,
        "msrps path accepted without TLS: {}",
        r.start
    );
}

// Issue 14 / RFC 4975 §7.3: a SEND without To-Path used to get neither a response nor a
// close. It gets 400 on its connection (the response goes to its From-Path), and the
// connection's session keeps working.
#[test]
fn r4975_7_3_send_without_to_path_gets_400() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let tid = ident(12);
    let body = cpim_body(&a.uri, ROOM, b"no to-path");
    let req = format!(
        "MSRP {tid} SEND\r\nFrom-Path: {}\r\nMessage-ID: {}\r\nByte-Range: 1-{}/{}\r\n\
         Content-Type: message/cpim\r\n\r\n",
        a.local_path,
        ident(10),
        body.len(),
        body.len()
    );
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(&body);
    bytes.extend_from_slice(format!("\r\n-------{tid}$\r\n").as_bytes());
    a.conn().write(&bytes);
    let r = a.response_to(&tid);
    assert_eq!(r.status, Some(400), "{r:?}");
    assert_eq!(r.header("To-Path"), Some(a.local_path.as_str()));
    assert!(
        b.next_send(QUIET).is_none(),
        "the malformed SEND was forwarded"
    );
    let (tid, _, good) = a.say(b"still here");
    assert_eq!(a.response_to(&tid).status, Some(200));
    assert_eq!(b.next_send(STEP).expect("copy").body, good);
}

// Issue 14 / RFC 4975 §7.3: without From-Path no response can be routed: the connection
// is closed, not left waiting.
#[test]
fn r4975_7_3_request_without_from_path_closes_the_connection() {
    let server = Server::start(&[]);
    let a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut stranger = MsrpConn::connect(a.answer.msrp_addr());
    let tid = ident(12);
    stranger.write(
        format!(
            "MSRP {tid} SEND\r\nTo-Path: {}\r\nMessage-ID: {}\r\nByte-Range: 1-0/0\r\n\
             -------{tid}$\r\n",
            a.answer.path,
            ident(10)
        )
        .as_bytes(),
    );
    assert!(stranger.closed_within(STEP), "connection left open");
}

// Issue 14 / RFC 4975 §7.1: a bodiless SEND whose end-line carries another transaction id
// used to be read as a header line, so the request never ended and got no answer. It gets
// 400 and the connection is closed (its framing is not trusted any further).
#[test]
fn r4975_7_1_bodiless_send_with_foreign_end_line_gets_400_and_close() {
    let server = Server::start(&[]);
    let a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut conn = MsrpConn::connect(a.answer.msrp_addr());
    let tid = ident(12);
    let other = ident(12);
    conn.write(
        format!(
            "MSRP {tid} SEND\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: {}\r\n\
             Byte-Range: 1-0/0\r\n-------{other}$\r\n",
            a.answer.path,
            fresh_path(),
            ident(10)
        )
        .as_bytes(),
    );
    let r = conn.recv(STEP).expect("a response");
    assert_eq!((r.tid.as_str(), r.status), (tid.as_str(), Some(400)));
    assert!(conn.closed_within(STEP), "connection left open");
}
