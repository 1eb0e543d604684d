//! Messages and REPORTs (issue 3): accept-wrapped-types and max-size per recipient, re-offer
//! updates, recipients' error responses, REPORT bodies for private messages, 2048-octet
//! outbound chunks, RFC 7701 §11 notices.

use super::*;
use crate::conference::SessionUpdate;
use crate::wire::msrp::vectors::MESSAGES;

/// Joins `who` declaring `types` and `max_size`, binds it, returns its session and connection.
fn joined_with(
    h: &mut Harness,
    who: Who,
    caps: ChatCaps,
    types: &str,
    max_size: Option<u64>,
) -> (Joined, MsrpConnId) {
    let req = JoinRequest {
        room: ROOM,
        uri: who.uri,
        display_name: "Tester",
        caps,
        accept_wrapped_types: types,
        peer_path: who.peer,
        peer_max_size: max_size,
        switch_connects: false,
        direction: Default::default(),
        anonymous: false,
        source: SOURCE.parse().unwrap(),
    };
    let j = h.sw.join(h.now, &mut h.ent, &req).unwrap();
    let c = h.conn();
    h.input(c, &bind_send("bindxxxx", &j.path, who.peer));
    let out = h.msgs(c);
    assert_eq!(out[0].code(), 200);
    (j, c)
}

/// A CPIM message wrapping `wrapped` content, in one chunk.
fn wrapped_send(tid: &str, j: &Joined, who: Who, to: &str, wrapped: &str, text: &str) -> Vec<u8> {
    let body = format!(
        "From: <{}>\r\nTo: <{to}>\r\n\r\nContent-Type: {wrapped}\r\n\r\n{text}",
        who.uri
    );
    let range = format!("1-{}/{}", body.len(), body.len());
    send(
        tid,
        &j.path,
        who.peer,
        &format!("m{tid}"),
        &range,
        "",
        "message/cpim",
        body.as_bytes(),
        '$',
    )
}

fn codes(h: &mut Harness, c: MsrpConnId) -> Vec<u16> {
    h.msgs(c).iter().map(Msg::code).collect()
}

#[test]
fn r7701_6_1_h_copies_only_to_recipients_declaring_the_wrapped_type() {
    let mut h = Harness::new();
    let (a, ca) = joined_with(&mut h, ALICE, ALL_CAPS, "*", None);
    let (_b, cb) = joined_with(&mut h, BOB, ALL_CAPS, "text/plain", None);
    let (_c, cc) = joined_with(
        &mut h,
        CAROL,
        ALL_CAPS,
        "text/plain text/html;level=1",
        None,
    );
    let (_d, cd) = joined_with(&mut h, DAVE, ALL_CAPS, "", None);
    h.input(
        ca,
        &wrapped_send("html0001", &a, ALICE, ROOM_URI, "text/html", "<b>hi</b>"),
    );
    assert_eq!(codes(&mut h, ca), [200], "the sender is not told");
    assert!(h.msgs(cb).is_empty(), "Bob declared text/plain only");
    assert_eq!(h.msgs(cc).len(), 1, "Carol's entry with parameters matches");
    assert!(
        h.msgs(cd).is_empty(),
        "IMPL-1: nothing declared = text/plain only"
    );
    h.input(
        ca,
        &wrapped_send(
            "txt00001",
            &a,
            ALICE,
            ROOM_URI,
            "text/plain; charset=utf-8",
            "x",
        ),
    );
    assert_eq!(codes(&mut h, ca), [200]);
    for c in [cb, cc, cd] {
        assert_eq!(h.msgs(c).len(), 1);
    }
    // Nobody takes image/png: 415 and nothing forwarded (A5 b).
    h.input(
        ca,
        &wrapped_send("png00001", &a, ALICE, ROOM_URI, "image/png", "PNG"),
    );
    assert_eq!(codes(&mut h, ca), [415]);
    for c in [cb, cc, cd] {
        assert!(h.msgs(c).is_empty());
    }
    // A private message the recipient cannot take: 415.
    h.input(
        ca,
        &wrapped_send("png00002", &a, ALICE, BOB.uri, "text/html", "<i>x</i>"),
    );
    assert_eq!(codes(&mut h, ca), [415]);
    assert!(h.msgs(cb).is_empty());
    assert_eq!(h.sw.messages_in_flight(), 0);
}

#[test]
fn r4975_8_6_b_no_copy_larger_than_the_recipients_max_size() {
    let mut h = Harness::new();
    let (a, ca) = joined_with(&mut h, ALICE, ALL_CAPS, "*", None);
    let (_b, cb) = joined_with(&mut h, BOB, ALL_CAPS, "*", Some(150));
    let (_c, cc) = joined_with(&mut h, CAROL, ALL_CAPS, "*", None);
    let small = chat("size0001", &a, ALICE, ROOM_URI, "short");
    h.input(ca, &small);
    assert_eq!(codes(&mut h, ca), [200]);
    assert_eq!(h.msgs(cb).len(), 1);
    assert_eq!(h.msgs(cc).len(), 1);
    h.input(ca, &chat("size0002", &a, ALICE, ROOM_URI, &"L".repeat(100)));
    assert_eq!(codes(&mut h, ca), [200]);
    assert!(h.msgs(cb).is_empty(), "over Bob's a=max-size");
    assert_eq!(h.msgs(cc).len(), 1);
    // A private message only Bob could take, over his max-size: 413.
    h.input(ca, &chat("size0003", &a, ALICE, BOB.uri, &"L".repeat(100)));
    assert_eq!(codes(&mut h, ca), [413]);
}

#[test]
fn r7701_8_f_reoffer_without_chatroom_makes_private_messages_428() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (b, cb) = h.joined(BOB);
    h.input(ca, &chat("priv0001", &a, ALICE, BOB.uri, "before"));
    assert_eq!(codes(&mut h, ca), [200]);
    assert_eq!(h.msgs(cb).len(), 1);
    let update = SessionUpdate {
        caps: ChatCaps {
            chatroom_aware: false,
            nickname: true,
            private_messages: true,
        },
        accept_wrapped_types: "text/plain text/html",
        peer_max_size: Some(4096),
        direction: Default::default(),
        peer_path: None,
    };
    h.sw.update(h.now, b.id, &update);
    h.input(ca, &chat("priv0002", &a, ALICE, BOB.uri, "after"));
    assert_eq!(codes(&mut h, ca), [428]);
    assert!(h.msgs(cb).is_empty());
    // Regular messages still reach it, now also text/html (its new list).
    h.input(
        ca,
        &wrapped_send("html0002", &a, ALICE, ROOM_URI, "text/html", "<p>"),
    );
    assert_eq!(codes(&mut h, ca), [200]);
    assert_eq!(h.msgs(cb).len(), 1);
}

/// Alice sends a two-chunk message (first chunk `+`); returns the first copy Bob got.
fn first_chunk_to_bob(
    h: &mut Harness,
    a: &Joined,
    ca: MsrpConnId,
    cb: MsrpConnId,
    to: &str,
) -> Msg {
    let body = cpim(ALICE.uri, to, "0123456789");
    let n = body.len();
    h.input(
        ca,
        &send(
            "chnk0001",
            &a.path,
            ALICE.peer,
            "two",
            &format!("1-{}/{n}", n - 5),
            "",
            "message/cpim",
            &body[..n - 5],
            '+',
        ),
    );
    assert_eq!(codes(h, ca), [200]);
    let got = h.msgs(cb);
    assert_eq!(got.len(), 1);
    got.into_iter().next().unwrap()
}

fn second_chunk(a: &Joined, to: &str) -> Vec<u8> {
    let body = cpim(ALICE.uri, to, "0123456789");
    let n = body.len();
    send(
        "chnk0002",
        &a.path,
        ALICE.peer,
        "two",
        &format!("{}-{n}/{n}", n - 4),
        "",
        "message/cpim",
        &body[n - 5..],
        '$',
    )
}

fn reply(m: &Msg, code: u16, comment: &str, own: &str) -> Vec<u8> {
    format!(
        "MSRP {} {code} {comment}\r\nTo-Path: {}\r\nFrom-Path: {own}\r\n-------{}$\r\n",
        m.tid, m.from_path, m.tid
    )
    .into_bytes()
}

#[test]
fn r4975_10_a_recipient_413_stops_only_its_copy() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    let (_c, cc) = h.joined(CAROL);
    let first = first_chunk_to_bob(&mut h, &a, ca, cb, ROOM_URI);
    assert_eq!(h.msgs(cc).len(), 1);
    h.input(cb, &reply(&first, 413, "Message too large", BOB.peer));
    assert!(h.drain(cb).is_empty(), "a response is never answered");
    assert_eq!(h.sw.stats().failed_copies, 1);
    h.input(ca, &second_chunk(&a, ROOM_URI));
    assert_eq!(codes(&mut h, ca), [200], "the sender is not told");
    assert!(h.msgs(cb).is_empty(), "no more chunks, no # for Bob");
    let rest = h.msgs(cc);
    assert_eq!(rest.len(), 1, "Carol continues");
    assert_eq!(rest[0].flag, Some(Flag::Last));
    assert_eq!(h.sw.messages_in_flight(), 0);
    // A late or foreign error response is ignored.
    h.input(cb, &reply(&first, 481, "Session does not exist", BOB.peer));
    assert_eq!(h.sw.stats().failed_copies, 1);
}

#[test]
fn impl_22_recipient_481_and_200_responses() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    let (_c, cc) = h.joined(CAROL);
    let first = first_chunk_to_bob(&mut h, &a, ca, cb, ROOM_URI);
    let carol_first = h.msgs(cc).remove(0);
    h.input(cc, &reply(&carol_first, 200, "OK", CAROL.peer));
    h.input(cb, &reply(&first, 481, "Session does not exist", BOB.peer));
    h.input(ca, &second_chunk(&a, ROOM_URI));
    assert_eq!(codes(&mut h, ca), [200]);
    assert!(h.msgs(cb).is_empty());
    assert_eq!(h.msgs(cc).len(), 1, "a 200 changes nothing");
    assert_eq!(h.sw.stats().failed_copies, 1);
}

#[test]
fn copies_carry_failure_report_partial_on_every_chunk() {
    // R4975-7.1.1-c: every chunk of a copy has the same report headers.
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    let first = first_chunk_to_bob(&mut h, &a, ca, cb, ROOM_URI);
    h.input(ca, &second_chunk(&a, ROOM_URI));
    let second = h.msgs(cb).remove(0);
    for m in [&first, &second] {
        let text = String::from_utf8_lossy(&m.raw).to_string();
        assert!(text.contains("\r\nFailure-Report: partial\r\n"), "{text}");
        assert!(!text.contains("Success-Report"));
    }
    assert!(second.byte_range.unwrap().start > first.byte_range.unwrap().start);
}

#[test]
fn r7701_6_2_h_private_message_reports_carry_cpim_from_and_to() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    // Success REPORT for a private message: example 16's REPORT plus the CPIM body.
    let body = cpim(ALICE.uri, BOB.uri, "psst");
    let n = body.len();
    h.input(
        ca,
        &send(
            "srep0001",
            &a.path,
            ALICE.peer,
            "srep",
            &format!("1-{n}/{n}"),
            "Success-Report: yes\r\n",
            "message/cpim",
            &body,
            '$',
        ),
    );
    let out = h.msgs(ca);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].code(), 200);
    assert_eq!(out[1].start, "REPORT");
    assert_eq!(out[1].content_type.as_deref(), Some("message/cpim"));
    let text = String::from_utf8_lossy(&out[1].body).to_string();
    assert!(
        text.starts_with(&format!(
            "From: <{}>\r\nTo: <{}>\r\n\r\n",
            ALICE.uri, BOB.uri
        )),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out[1].raw).contains("Status: 000 200 OK\r\n"));
    assert_eq!(h.msgs(cb).len(), 1);
    // A late failure: Bob refuses chunk 1 of a private message with 413 → failure REPORT.
    let first = first_chunk_to_bob(&mut h, &a, ca, cb, BOB.uri);
    h.input(cb, &reply(&first, 413, "Message too large", BOB.peer));
    let out = h.msgs(ca);
    assert_eq!(out.len(), 1);
    let rep = &out[0];
    assert_eq!(rep.start, "REPORT");
    assert_eq!(rep.message_id.as_deref(), Some("two"));
    assert_eq!(rep.to_path, ALICE.peer);
    let raw = String::from_utf8_lossy(&rep.raw).to_string();
    assert!(
        raw.contains("Status: 000 413 Message too large\r\n"),
        "{raw}"
    );
    let text = String::from_utf8_lossy(&rep.body).to_string();
    assert!(text.starts_with(&format!("From: <{}>\r\nTo: <{}>\r\n", ALICE.uri, BOB.uri)));
    // With Failure-Report no there is no failure REPORT at all (R4975-7.2-a).
    let body = cpim(ALICE.uri, BOB.uri, "0123456789");
    h.input(
        ca,
        &send(
            "frno0001",
            &a.path,
            ALICE.peer,
            "frno",
            &format!("1-{}/*", body.len() - 5),
            "Failure-Report: no\r\n",
            "message/cpim",
            &body[..body.len() - 5],
            '+',
        ),
    );
    assert!(h.drain(ca).is_empty());
    let copy = h.msgs(cb).remove(0);
    h.input(cb, &reply(&copy, 413, "Message too large", BOB.peer));
    assert!(h.drain(ca).is_empty());
    // Failure-Report partial: no 200, but the late failure is reported.
    h.input(
        ca,
        &send(
            "frpa0001",
            &a.path,
            ALICE.peer,
            "frpa",
            &format!("1-{}/*", body.len() - 5),
            "Failure-Report: partial\r\n",
            "message/cpim",
            &body[..body.len() - 5],
            '+',
        ),
    );
    assert!(h.drain(ca).is_empty());
    let copy = h.msgs(cb).remove(0);
    h.input(cb, &reply(&copy, 481, "Session does not exist", BOB.peer));
    let out = h.msgs(ca);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].message_id.as_deref(), Some("frpa"));
    assert!(String::from_utf8_lossy(&out[0].raw).contains("Status: 000 481 "));
}

#[test]
fn private_failure_report_matches_example_17() {
    let text = MESSAGES.iter().find(|m| m.0 == 17 && m.1 == 0).unwrap().3;
    let expected = wire(text);
    let mut rep = crate::wire::msrp::Request::new(
        "Ff0Rr9Ee8Pp7Oo6R",
        "REPORT",
        ALICE.peer,
        EXAMPLE_SWITCH_PATH,
    );
    rep.message_id = Some("okj3kwZ5r7Tb1Nq8");
    rep.byte_range = Some(ByteRange {
        start: 1,
        end: Some(160),
        total: Some(160),
    });
    rep.status = Some(crate::wire::msrp::StatusHeader {
        namespace: 0,
        code: 428,
        comment: Some("Private messages not supported"),
    });
    let mut out = Vec::new();
    super::super::reports::emit_report(&mut out, &rep, Some((ALICE.uri, BOB.uri)), 428);
    assert_eq!(out, expected);
}

#[test]
fn r4975_7_1_1_b_outbound_chunks_are_at_most_2048_octets() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    let body = cpim(ALICE.uri, ROOM_URI, &"z".repeat(5000));
    let n = body.len();
    h.input(
        ca,
        &send(
            "huge0001",
            &a.path,
            ALICE.peer,
            "huge",
            &format!("1-{n}/{n}"),
            "",
            "message/cpim",
            &body,
            '$',
        ),
    );
    assert_eq!(codes(&mut h, ca), [200]);
    let got = h.msgs(cb);
    assert_eq!(
        got.len(),
        n.div_ceil(super::super::fanout::OUTBOUND_CHUNK_BYTES)
    );
    let mut whole = Vec::new();
    for (i, m) in got.iter().enumerate() {
        assert!(m.body.len() <= 2048);
        let r = m.byte_range.unwrap();
        assert_eq!(r.start, whole.len() as u64 + 1);
        assert_eq!(r.end, Some(r.start + m.body.len() as u64 - 1));
        assert_eq!(r.total, Some(n as u64));
        let last = i + 1 == got.len();
        assert_eq!(m.flag, Some(if last { Flag::Last } else { Flag::More }));
        assert_eq!(m.message_id, got[0].message_id);
        whole.extend_from_slice(&m.body);
    }
    assert_eq!(whole, body);
}

#[test]
fn r7701_11_a_b_unaware_participant_gets_two_notices_on_bind() {
    let mut h = Harness::new();
    let (_a, _ca) = joined_with(&mut h, ALICE, ALL_CAPS, "*", None);
    let req = JoinRequest {
        room: ROOM,
        uri: BOB.uri,
        display_name: "",
        caps: ChatCaps::default(),
        accept_wrapped_types: "",
        peer_path: BOB.peer,
        peer_max_size: None,
        switch_connects: false,
        direction: Default::default(),
        anonymous: false,
        source: SOURCE.parse().unwrap(),
    };
    let b = h.sw.join(h.now, &mut h.ent, &req).unwrap();
    let cb = h.conn();
    h.input(cb, &bind_send("bindbob1", &b.path, BOB.peer));
    let mut notes = h.msgs(cb);
    assert_eq!(notes.remove(0).code(), 200);
    assert_eq!(notes.len(), 2);
    for m in &notes {
        assert_eq!(m.start, "SEND");
        assert_eq!(m.flag, Some(Flag::Last));
        let text = String::from_utf8_lossy(&m.body).to_string();
        assert!(
            text.starts_with(&format!("From: <{ROOM_URI}>\r\nTo: <{}>\r\n", BOB.uri)),
            "{text}"
        );
        assert!(text.contains("Content-Type: text/plain"));
    }
    let intro = String::from_utf8_lossy(&notes[0].body).to_string();
    assert!(intro.contains("multi-party"), "{intro}");
    let list = String::from_utf8_lossy(&notes[1].body).to_string();
    assert!(list.contains(&format!("Tester <{}>", ALICE.uri)), "{list}");
    assert!(list.contains(&format!("<{}> (you)", BOB.uri)), "{list}");
    // A chat-room aware participant gets none.
    let (_c, cc) = h.joined(CAROL);
    assert!(h.drain(cc).is_empty());
}

#[test]
fn r4975_7_1_2_a_reports_to_the_switch_are_never_answered() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let report = format!(
        "MSRP rprt0001 REPORT\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: unknownMid1\r\n\
         Byte-Range: 1-10/10\r\nStatus: 000 200 OK\r\n-------rprt0001$\r\n",
        a.path, ALICE.peer
    );
    h.events();
    h.input(ca, report.as_bytes());
    assert!(h.drain(ca).is_empty());
    assert!(h.events().is_empty());
    h.input(ca, &chat("afte0001", &a, ALICE, ROOM_URI, "still alive"));
    assert_eq!(codes(&mut h, ca), [200]);
}

#[test]
fn wrapped_type_on_an_unterminated_last_line_is_still_checked() {
    let mut h = Harness::new();
    let (a, ca) = joined_with(&mut h, ALICE, ALL_CAPS, "*", None);
    let (_b, cb) = joined_with(&mut h, BOB, ALL_CAPS, "text/plain", None);
    let (_c, cc) = joined_with(&mut h, CAROL, ALL_CAPS, "*", None);
    let body = format!(
        "From: <{}>\r\nTo: <{ROOM_URI}>\r\n\r\nContent-Type: text/html",
        ALICE.uri
    );
    let range = format!("1-{}/{}", body.len(), body.len());
    h.input(
        ca,
        &send(
            "cut00001",
            &a.path,
            ALICE.peer,
            "cut",
            &range,
            "",
            "message/cpim",
            body.as_bytes(),
            '$',
        ),
    );
    assert_eq!(codes(&mut h, ca), [200]);
    assert!(h.msgs(cb).is_empty(), "text/html is not Bob's");
    assert_eq!(h.msgs(cc)[0].body, body.as_bytes());
    assert_eq!(h.sw.messages_in_flight(), 0);
}
