//! Responses and REPORTs over real sockets (RFC 7701 §6.2, §6.3; RFC 4975 §5.3, §7.1.2-
//! §7.2, §10): the switch is the receiving endpoint, answers per Failure-Report, sends its own
//! success REPORTs (CPIM-wrapped for private messages), never answers or relays REPORTs and
//! responses, and stops a copy its recipient refused. Also IMPL-8 and R7701-4-b.

mod common;
#[path = "common/member.rs"]
mod member;

use common::msrp::{cpim_body, MsrpConn, MsrpMessage};
use common::{ident, Server, QUIET, ROOM, STEP};
use member::{collect, config_file, reply, response_to, send_bytes, text, Member, Offer, SendSpec};

fn server() -> Server {
    let cfg = config_file(&[]);
    let server = Server::start(&["--config", cfg.to_str().expect("utf-8 temp path")]);
    // Read at start-up: no longer needed.
    let _ = std::fs::remove_file(&cfg);
    server
}

/// Joins `name` to the lobby with a chat-room aware offer and binds a fresh connection.
fn member(server: &Server, name: &str) -> (Member, MsrpConn) {
    let m = Member::join(server.sip, ROOM, name, Offer::AWARE);
    let c = m.connect();
    (m, c)
}

/// The next SEND on `conn` (responses and REPORTs skipped), never answered.
fn next_send(conn: &mut MsrpConn) -> MsrpMessage {
    for _ in 0..50 {
        let m = conn.recv(STEP).expect("a SEND");
        if m.method.as_deref() == Some("SEND") {
            return m;
        }
    }
    panic!("no SEND among 50 messages");
}

// R7701-6.3-a, R4975-7.1.3-a: the switch sends its own 200 and success REPORT (example 16's
// shape), whatever the recipient does (Bob never answers).
#[test]
fn r7701_6_3_a_r4975_7_1_3_a_switch_sends_its_own_success_report() {
    let server = server();
    let (a, mut ca) = member(&server, "alice");
    let (_b, mut cb) = member(&server, "bob");
    let body = cpim_body(&a.uri, ROOM, b"ping");
    let (tid, mid) = (ident(16), ident(16));
    let extra = ["Success-Report: yes", "Failure-Report: yes"];
    ca.write(&send_bytes(&SendSpec {
        tid: &tid,
        extra: &extra,
        ..a.spec(&mid, &body)
    }));
    let got = collect(&mut ca, QUIET);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        (got[0].tid.as_str(), got[0].status),
        (tid.as_str(), Some(200))
    );
    let rep = &got[1];
    let n = body.len();
    let expected = common::crlf(&[
        &format!("MSRP {} REPORT", rep.tid),
        &format!("To-Path: {}", a.local_path),
        &format!("From-Path: {}", a.answer.path),
        &format!("Message-ID: {mid}"),
        &format!("Byte-Range: 1-{n}/{n}"),
        "Status: 000 200 OK",
        &format!("-------{}$", rep.tid),
    ]);
    let (parsed, _) = common::msrp::parse_message(expected.as_bytes()).expect("parses");
    assert_eq!(rep.method.as_deref(), Some("REPORT"));
    assert_eq!(rep.headers, parsed.headers, "example 16 headers, in order");
    assert!(rep.body.is_empty() && rep.flag == b'$');
    assert_ne!(rep.tid, tid);
    assert_eq!(
        next_send(&mut cb).body,
        body,
        "Bob got the copy, never answered it"
    );
}

// R7701-6.3-e: responses and REPORTs of recipients are never relayed to the sender, and a
// REPORT to the switch is never answered.
#[test]
fn r7701_6_3_e_recipient_responses_and_reports_are_not_relayed() {
    let server = server();
    let (a, mut ca) = member(&server, "alice");
    let (b, mut cb) = member(&server, "bob");
    let body = cpim_body(&a.uri, ROOM, b"hello");
    let tid = ident(16);
    let extra = ["Success-Report: yes"];
    ca.write(&send_bytes(&SendSpec {
        tid: &tid,
        extra: &extra,
        ..a.spec(&ident(12), &body)
    }));
    let copy = next_send(&mut cb);
    cb.write(&reply(&copy, 200, "OK", &b.local_path));
    let report = common::crlf(&[
        &format!("MSRP {} REPORT", "bobrep0001"),
        &format!("To-Path: {}", b.answer.path),
        &format!("From-Path: {}", b.local_path),
        &format!(
            "Message-ID: {}",
            copy.header("Message-ID").expect("Message-ID")
        ),
        &format!("Byte-Range: 1-{}/{}", body.len(), body.len()),
        "Status: 000 200 OK",
        "-------bobrep0001$",
    ]);
    cb.write(report.as_bytes());
    let to_alice = collect(&mut ca, QUIET);
    let kinds: Vec<_> = to_alice
        .iter()
        .map(|m| (m.status, m.method.clone()))
        .collect();
    assert_eq!(
        kinds,
        [(Some(200), None), (None, Some("REPORT".to_string()))],
        "only the switch's own 200 and REPORT"
    );
    assert!(
        collect(&mut cb, QUIET).is_empty(),
        "Bob's REPORT got no answer"
    );
}

// R4975-7.2-a: Failure-Report yes → response; partial → no 200 but errors; no → nothing.
#[test]
fn r4975_7_2_a_failure_report_yes_partial_no() {
    let server = server();
    let (a, mut ca) = member(&server, "alice");
    let (_b, mut cb) = member(&server, "bob");
    for (mode, bad, good) in [
        ("yes", Some(415), Some(200)),
        ("partial", Some(415), None),
        ("no", None, None),
    ] {
        let header = format!("Failure-Report: {mode}");
        let extra = [header.as_str()];
        let tid = ident(16);
        ca.write(&send_bytes(&SendSpec {
            tid: &tid,
            extra: &extra,
            content_type: Some("text/plain"),
            ..a.spec(&ident(12), b"not cpim")
        }));
        let got = collect(&mut ca, QUIET);
        assert_eq!(
            got.iter().map(|m| m.status).collect::<Vec<_>>(),
            [bad].iter().flatten().map(|c| Some(*c)).collect::<Vec<_>>(),
            "invalid, {mode}"
        );
        let body = cpim_body(&a.uri, ROOM, mode.as_bytes());
        let tid = ident(16);
        ca.write(&send_bytes(&SendSpec {
            tid: &tid,
            extra: &extra,
            ..a.spec(&ident(12), &body)
        }));
        let got = collect(&mut ca, QUIET);
        assert_eq!(
            got.iter().map(|m| m.status).collect::<Vec<_>>(),
            [good]
                .iter()
                .flatten()
                .map(|c| Some(*c))
                .collect::<Vec<_>>(),
            "valid, {mode}"
        );
        assert_eq!(next_send(&mut cb).body, body, "delivered whatever the mode");
    }
}

// R4975-5.3-a: neither report header = Failure-Report yes, Success-Report no.
#[test]
fn r4975_5_3_a_defaults_give_a_200_and_no_report() {
    let server = server();
    let (a, mut ca) = member(&server, "alice");
    let (_b, _cb) = member(&server, "bob");
    let body = cpim_body(&a.uri, ROOM, b"defaults");
    let tid = ident(16);
    ca.write(&send_bytes(&SendSpec {
        tid: &tid,
        ..a.spec(&ident(12), &body)
    }));
    let got = collect(&mut ca, QUIET);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].tid.as_str(), got[0].status),
        (tid.as_str(), Some(200))
    );
}

// R4975-7.1.2-a: a REPORT sent to the switch (unknown Message-ID) is silently ignored; the
// connection keeps working.
#[test]
fn r4975_7_1_2_a_report_for_unknown_message_id_is_ignored() {
    let server = server();
    let (a, mut ca) = member(&server, "alice");
    let report = common::crlf(&[
        "MSRP alirep0001 REPORT",
        &format!("To-Path: {}", a.answer.path),
        &format!("From-Path: {}", a.local_path),
        "Message-ID: neverSentThis1",
        "Byte-Range: 1-10/10",
        "Status: 000 200 OK",
        "-------alirep0001$",
    ]);
    ca.write(report.as_bytes());
    assert!(collect(&mut ca, QUIET).is_empty());
    let tid = ident(16);
    let body = cpim_body(&a.uri, ROOM, b"still here");
    ca.write(&send_bytes(&SendSpec {
        tid: &tid,
        ..a.spec(&ident(12), &body)
    }));
    assert_eq!(response_to(&mut ca, &tid).and_then(|r| r.status), Some(200));
}

/// Alice's two-chunk message to `to`: sends chunk 1 (`+`), returns the chunk-2 request.
fn two_chunks(a: &Member, ca: &mut MsrpConn, to: &str, extra: &[&str]) -> Vec<u8> {
    let body = cpim_body(&a.uri, to, b"0123456789");
    let n = body.len();
    let mid = ident(12);
    let (r1, r2) = (format!("1-{}/{n}", n - 5), format!("{}-{n}/{n}", n - 4));
    ca.write(&send_bytes(&SendSpec {
        tid: &ident(16),
        range: &r1,
        extra,
        flag: '+',
        ..a.spec(&mid, &body[..n - 5])
    }));
    send_bytes(&SendSpec {
        tid: &ident(16),
        range: &r2,
        extra,
        ..a.spec(&mid, &body[n - 5..])
    })
}

// R4975-10-a, IMPL-22: Bob answers chunk 1 of his copy with 413: no further chunk of that
// message goes to Bob (and no `#`), Carol gets the rest, Alice is not told.
#[test]
fn r4975_10_a_impl_22_recipient_413_stops_only_its_copy() {
    let server = server();
    let (a, mut ca) = member(&server, "alice");
    let (b, mut cb) = member(&server, "bob");
    let (_c, mut cc) = member(&server, "carol");
    let chunk2 = two_chunks(&a, &mut ca, ROOM, &[]);
    let first = next_send(&mut cb);
    assert_eq!(first.flag, b'+');
    assert_eq!(next_send(&mut cc).flag, b'+');
    cb.write(&reply(&first, 413, "Message too large", &b.local_path));
    std::thread::sleep(QUIET);
    ca.write(&chunk2);
    let to_alice = collect(&mut ca, QUIET);
    assert!(
        to_alice.iter().all(|m| m.status == Some(200)),
        "{to_alice:?}"
    );
    assert_eq!(to_alice.len(), 2, "two 200s, no REPORT");
    assert_eq!(next_send(&mut cc).flag, b'$', "Carol continues");
    assert!(collect(&mut cb, QUIET).is_empty(), "nothing more for Bob");
}

// R4975-7.1.1-d does not apply: copies carry `Failure-Report: partial` (R7701-6.3-e allows
// any report model), so no 200 is expected and none is waited for; a recipient that never
// answers changes nothing for the sender or the others.
#[test]
fn r4975_7_1_1_d_copies_ask_for_no_200_so_no_response_timer() {
    let server = server();
    let (a, mut ca) = member(&server, "alice");
    let (_b, mut cb) = member(&server, "bob");
    for i in 0..3 {
        let tid = ident(16);
        let body = cpim_body(&a.uri, ROOM, format!("n{i}").as_bytes());
        ca.write(&send_bytes(&SendSpec {
            tid: &tid,
            ..a.spec(&ident(12), &body)
        }));
        assert_eq!(response_to(&mut ca, &tid).and_then(|r| r.status), Some(200));
        let copy = next_send(&mut cb);
        assert_eq!(copy.header("Failure-Report"), Some("partial"));
        assert_eq!(copy.header("Success-Report"), None);
    }
}

// R7701-6.2-h: REPORTs about a private message carry a Message/CPIM body with the original
// From and To: the success REPORT, and the failure REPORT after Bob refused chunk 1.
#[test]
fn r7701_6_2_h_private_message_reports_carry_cpim_from_and_to() {
    let server = server();
    let (a, mut ca) = member(&server, "alice");
    let (b, mut cb) = member(&server, "bob");
    let body = cpim_body(&a.uri, &b.uri, b"psst");
    let tid = ident(16);
    let extra = ["Success-Report: yes"];
    ca.write(&send_bytes(&SendSpec {
        tid: &tid,
        extra: &extra,
        ..a.spec(&ident(12), &body)
    }));
    let got = collect(&mut ca, QUIET);
    assert_eq!(got.len(), 2, "{got:?}");
    let rep = &got[1];
    assert_eq!(rep.method.as_deref(), Some("REPORT"));
    assert_eq!(rep.header("Status"), Some("000 200 OK"));
    assert_eq!(rep.header("Content-Type"), Some("message/cpim"));
    let wrapper = format!(
        "From: <{}>\r\nTo: <{}>\r\n\r\nContent-Type: text/plain\r\n\r\n",
        a.uri, b.uri
    );
    assert!(text(rep).starts_with(&wrapper), "{}", text(rep));
    assert_eq!(next_send(&mut cb).body, body);
    // Late failure (after the 200): Bob refuses chunk 1 → failure REPORT (example 17).
    let chunk2 = two_chunks(&a, &mut ca, &b.uri, &[]);
    let first = next_send(&mut cb);
    cb.write(&reply(&first, 413, "Message too large", &b.local_path));
    let got = collect(&mut ca, QUIET);
    let fail = got
        .iter()
        .find(|m| m.method.as_deref() == Some("REPORT"))
        .unwrap_or_else(|| panic!("failure REPORT among {got:?}"));
    assert_eq!(fail.header("Status"), Some("000 413 Message too large"));
    assert_eq!(fail.header("To-Path"), Some(a.local_path.as_str()));
    assert!(text(fail).starts_with(&wrapper), "{}", text(fail));
    ca.write(&chunk2);
    assert!(collect(&mut cb, QUIET).is_empty(), "no chunk 2 for Bob");
}

// IMPL-8: From-Path must name the peer's session from its SDP: a foreign one gets 403.
#[test]
fn impl_8_foreign_from_path_gets_403() {
    let server = server();
    let (a, mut ca) = member(&server, "alice");
    let (_b, mut cb) = member(&server, "bob");
    let tid = ident(16);
    let body = cpim_body(&a.uri, ROOM, b"injected");
    let foreign = format!("msrp://127.0.0.1:9/{};tcp", ident(16));
    ca.write(&send_bytes(&SendSpec {
        tid: &tid,
        from_path: &foreign,
        ..a.spec(&ident(12), &body)
    }));
    let resp = collect(&mut ca, QUIET);
    assert_eq!(resp.len(), 1);
    assert_eq!(
        (resp[0].tid.as_str(), resp[0].status),
        (tid.as_str(), Some(403))
    );
    assert!(collect(&mut cb, QUIET).is_empty());
}

// R7701-4-b (RFC 4975 §5.4 connection reuse): Alice's sessions in two rooms share one TCP
// connection; each message stays in its room.
#[test]
fn r7701_4_b_one_connection_two_rooms_never_cross() {
    let server = server();
    let side = "sip:side@localhost";
    let a_lobby = Member::join(server.sip, ROOM, "alice", Offer::AWARE);
    let a_side = Member::join(server.sip, side, "alice", Offer::AWARE);
    let mut shared = MsrpConn::connect(a_lobby.answer.msrp_addr());
    a_lobby.bind_on(&mut shared);
    a_side.bind_on(&mut shared);
    assert_ne!(a_lobby.answer.path, a_side.answer.path);
    let (_b, mut cb) = member(&server, "bob");
    let d = Member::join(server.sip, side, "dave", Offer::AWARE);
    let mut cd = d.connect();
    for (who, room, words) in [(&a_lobby, ROOM, "lobby only"), (&a_side, side, "side only")] {
        let tid = ident(16);
        let body = cpim_body(&who.uri, room, words.as_bytes());
        shared.write(&send_bytes(&SendSpec {
            tid: &tid,
            ..who.spec(&ident(12), &body)
        }));
        assert_eq!(
            response_to(&mut shared, &tid).and_then(|r| r.status),
            Some(200)
        );
    }
    let to_bob = collect(&mut cb, QUIET);
    let to_dave = collect(&mut cd, QUIET);
    assert_eq!(to_bob.len(), 1);
    assert!(to_bob[0].cpim_text().ends_with(b"lobby only"));
    assert_eq!(to_dave.len(), 1);
    assert!(to_dave[0].cpim_text().ends_with(b"side only"));
    // Dave's message reaches Alice's side session only (its To-Path names that session).
    let tid = ident(16);
    let body = cpim_body(&d.uri, side, b"to side");
    cd.write(&send_bytes(&SendSpec {
        tid: &tid,
        ..d.spec(&ident(12), &body)
    }));
    let got = collect(&mut shared, QUIET);
    let sends: Vec<_> = got
        .iter()
        .filter(|m| m.method.as_deref() == Some("SEND"))
        .collect();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].header("To-Path"), Some(a_side.local_path.as_str()));
    assert_eq!(
        sends[0].header("From-Path"),
        Some(a_side.answer.path.as_str())
    );
}
