//! Regular and private fan-out (RFC 7701 §6.1-§6.3): no echo, byte-identical CPIM, fresh
//! ids per copy, rejections that forward nothing, rooms never mixed.

use super::*;

/// Example 9's copy to Bob rewritten with the ids and paths the switch chose.
fn expected_copy(ex: u8, idx: u8, copy: &Msg, from_path: &str) -> Vec<u8> {
    let text = MESSAGES
        .iter()
        .find(|m| m.0 == ex && m.1 == idx)
        .map(|m| m.3)
        .unwrap();
    let (tid, mid) = match ex {
        9 => ("490ej23Pq8Vn5Kx2", "304sse2Hy6Tq9Wm4"),
        _ => ("9v9s2Lk3Jh4Gf5Ds", "d9fghe982Xc7Vb6N"),
    };
    wire(
        &with_copy_report(text)
            .replace(tid, &copy.tid)
            .replace(mid, copy.message_id.as_deref().unwrap())
            .replace("msrp://192.0.2.10:2855/jofofo3Tz6Yh2Kp9;tcp", from_path),
    )
}

#[test]
fn three_party_fan_out_matches_example_9() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (b, cb) = h.joined(BOB);
    let (c, cc) = h.joined(CAROL);
    let request = example(9, 0, &a.path);
    h.input(ca, &request);
    assert_eq!(h.drain(ca), example(9, 1, &a.path), "only the 200, no echo");
    let to_bob = h.msgs(cb);
    let to_carol = h.msgs(cc);
    assert_eq!((to_bob.len(), to_carol.len()), (1, 1));
    let (mb, mc) = (&to_bob[0], &to_carol[0]);
    assert_eq!(mb.raw, expected_copy(9, 2, mb, &b.path));
    assert_eq!(mb.body, body_of(&request), "CPIM body byte-identical");
    assert_eq!(mc.body, mb.body);
    assert_eq!(
        (mc.to_path.as_str(), mc.from_path.as_str()),
        (CAROL.peer, c.path.as_str())
    );
    assert_ne!(mb.tid, mc.tid);
    assert_ne!(mb.tid, "3490visdmN4b8Q2z");
    assert!(mb.tid.len() >= 12 && mc.tid.len() >= 12);
    assert_ne!(mb.message_id, mc.message_id);
    assert_ne!(mb.message_id.as_deref(), Some("99s9s2Rk4Lp7Xw1Q"));
    assert_eq!(h.sw.stats().delivered_copies, 2);
    assert_eq!(h.sw.messages_in_flight(), 0, "state dropped after $");
    // Bob's 200 for the copy is consumed silently.
    let bob_ok = format!(
        "MSRP {} 200 OK\r\nTo-Path: {}\r\nFrom-Path: {}\r\n-------{}$\r\n",
        mb.tid, b.path, BOB.peer, mb.tid
    );
    h.input(cb, bob_ok.as_bytes());
    assert!(h.drain(cb).is_empty() && h.drain(ca).is_empty());
}

#[test]
fn private_message_reaches_only_its_recipient_example_10() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (b, cb) = h.joined(BOB);
    let (_c, cc) = h.joined(CAROL);
    h.input(ca, &example(10, 0, &a.path));
    assert_eq!(h.drain(ca), example(10, 1, &a.path));
    let to_bob = h.msgs(cb);
    assert_eq!(to_bob.len(), 1);
    assert_eq!(to_bob[0].raw, expected_copy(10, 2, &to_bob[0], &b.path));
    assert!(h.msgs(cc).is_empty());
}

#[test]
fn private_message_to_stranger_404_and_to_incapable_428() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    h.input(ca, &example(11, 0, &a.path));
    assert_eq!(h.drain(ca), example(11, 1, &a.path));
    // Carol joins without the private-messages token.
    let caps = ChatCaps {
        private_messages: false,
        ..ALL_CAPS
    };
    let c = h.try_join(ROOM, CAROL, caps).unwrap();
    let cc = h.conn();
    h.input(cc, &bind_send("bindcarl", &c.path, CAROL.peer));
    h.drain(cc);
    h.input(ca, &example(11, 0, &a.path));
    assert_eq!(h.drain(ca), example(11, 2, &a.path));
    assert!(h.msgs(cb).is_empty() && h.msgs(cc).is_empty());
}

#[test]
fn private_messages_refused_when_room_forbids_them() {
    let mut h = Harness::new();
    let a = h.try_join("quiet", ALICE, ALL_CAPS).unwrap();
    let b = h.try_join("quiet", BOB, ALL_CAPS).unwrap();
    let ca = h.conn();
    let cb = h.conn();
    h.input(ca, &bind_send("bindaaaa", &a.path, ALICE.peer));
    h.input(cb, &bind_send("bindbbbb", &b.path, BOB.peer));
    h.drain(ca);
    h.drain(cb);
    h.input(ca, &chat("priv0001", &a, ALICE, BOB.uri, "psst"));
    assert_eq!(h.msgs(ca)[0].code(), 403);
    h.input(
        ca,
        &chat("room0001", &a, ALICE, "sip:quiet@chat.example.com", "all"),
    );
    assert_eq!(h.msgs(ca)[0].code(), 200);
    assert_eq!(h.msgs(cb).len(), 1);
}

#[test]
fn rejections_forward_nothing() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    h.input(ca, &example(12, 0, &a.path));
    assert_eq!(h.drain(ca), example(12, 1, &a.path), "415");
    h.input(ca, &example(13, 0, &a.path));
    assert_eq!(h.drain(ca), example(13, 1, &a.path), "403 spoofed From");
    let cases: [(&[u8], u16); 6] = [
        (b"From: <sip:alice@atlanta.example.com>\r\nTo: <sip:chat22@chat.example.com>\r\nTo: <sip:bob@biloxi.example.com>\r\n\r\nx", 403),
        (b"To: <sip:chat22@chat.example.com>\r\n\r\nx", 403),
        (b"From: <sip:alice@atlanta.example.com>\r\nFrom: <sip:alice@atlanta.example.com>\r\nTo: <sip:chat22@chat.example.com>\r\n\r\nx", 403),
        (b"From: <sip:alice@atlanta.example.com>\r\n\r\nx", 403),
        (b"From: <sip:alice@atlanta.example.com>\r\n folded\r\n\r\nx", 400),
        (b"from: <sip:alice@atlanta.example.com>\r\nTo: <sip:chat22@chat.example.com>\r\n\r\nx", 403),
    ];
    for (i, (body, code)) in cases.iter().enumerate() {
        let tid = format!("rej{i:05}");
        let range = format!("1-{}/{}", body.len(), body.len());
        h.input(
            ca,
            &send(
                &tid,
                &a.path,
                ALICE.peer,
                &tid,
                &range,
                "",
                "message/cpim",
                body,
                '$',
            ),
        );
        let out = h.msgs(ca);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].code(), *code, "case {i}");
    }
    assert!(h.msgs(cb).is_empty());
    assert_eq!(h.sw.stats().delivered_copies, 0);
    assert_eq!(h.sw.messages_in_flight(), 0);
}

#[test]
fn messages_never_cross_rooms_on_a_shared_connection() {
    let mut h = Harness::new();
    let a1 = h.join(ALICE);
    let a2 = h.try_join("side", ALICE, ALL_CAPS).unwrap();
    let ca = h.conn();
    h.input(ca, &bind_send("binda001", &a1.path, ALICE.peer));
    h.input(ca, &bind_send("binda002", &a2.path, ALICE.peer));
    assert_eq!(h.msgs(ca).iter().filter(|m| m.code() == 200).count(), 2);
    let (_b, cb) = h.joined(BOB);
    let d = h.try_join("side", DAVE, ALL_CAPS).unwrap();
    let cd = h.conn();
    h.input(cd, &bind_send("binddave", &d.path, DAVE.peer));
    h.drain(cd);
    h.input(ca, &chat("main0001", &a1, ALICE, ROOM_URI, "main"));
    h.input(
        ca,
        &chat("side0001", &a2, ALICE, "sip:side@chat.example.com", "side"),
    );
    // Alice's session in "side" naming the main room is a private message to nobody there.
    h.input(ca, &chat("side0002", &a2, ALICE, ROOM_URI, "leak?"));
    let codes: Vec<u16> = h.msgs(ca).iter().map(Msg::code).collect();
    assert_eq!(codes, [200, 200, 404]);
    let to_bob = h.msgs(cb);
    let to_dave = h.msgs(cd);
    assert_eq!(to_bob.len(), 1);
    assert!(to_bob[0].body.ends_with(b"main"));
    assert_eq!(to_dave.len(), 1);
    assert!(to_dave[0].body.ends_with(b"side"));
    // Dave's message to "side" reaches Alice's "side" session only.
    h.input(
        cd,
        &chat("dave0001", &d, DAVE, "sip:side@chat.example.com", "hi"),
    );
    let to_alice = h.msgs(ca);
    assert_eq!(to_alice.len(), 1);
    assert_eq!(to_alice[0].from_path, a2.path);
}

#[test]
fn senders_other_sessions_get_regular_and_private_copies() {
    let alice_phone = Who {
        uri: ALICE.uri,
        peer: "msrp://192.0.2.111:7000/alicePhone123456;tcp",
    };
    let mut h = Harness::new();
    let (a1, c1) = h.joined(ALICE);
    let (_a2, c2) = h.joined(alice_phone);
    let (b, cb) = h.joined(BOB);
    h.input(
        c1,
        &chat("mult0001", &a1, ALICE, ROOM_URI, "from the laptop"),
    );
    assert_eq!(h.msgs(c1)[0].code(), 200);
    assert_eq!(h.msgs(c2).len(), 1, "other device gets it");
    assert_eq!(h.msgs(cb).len(), 1);
    h.input(cb, &chat("priv0002", &b, BOB, ALICE.uri, "to both devices"));
    assert_eq!(h.msgs(cb)[0].code(), 200);
    assert_eq!(h.msgs(c1).len(), 1);
    assert_eq!(h.msgs(c2).len(), 1);
}

#[test]
fn success_report_matches_example_16() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    h.input(ca, &example(16, 0, &a.path));
    let out = h.msgs(ca);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].raw, example(16, 1, &a.path));
    let report = MESSAGES.iter().find(|m| m.0 == 16 && m.1 == 2).unwrap().3;
    let expected = wire(
        &report
            .replace("Rr5Ee4Pp3Oo2Rr1T", &out[1].tid)
            .replace(EXAMPLE_SWITCH_PATH, &a.path),
    );
    assert_eq!(out[1].raw, expected);
    assert_eq!(h.msgs(cb).len(), 1);
}

#[test]
fn body_with_fake_end_lines_is_forwarded_intact() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    let mut body = cpim(ALICE.uri, ROOM_URI, "x\r\n-------fake1234$\r\n-------");
    body.extend_from_slice(b"\r\n-------tidtidti+\rX");
    let range = format!("1-{}/{}", body.len(), body.len());
    let req = send(
        "tidtidti",
        &a.path,
        ALICE.peer,
        "fake",
        &range,
        "",
        "message/cpim",
        &body,
        '$',
    );
    for piece in req.chunks(7) {
        h.input(ca, piece);
    }
    assert_eq!(h.msgs(ca)[0].code(), 200);
    let got: Vec<u8> = h.msgs(cb).iter().flat_map(|m| m.body.clone()).collect();
    assert_eq!(got, body);
}
