//! NICKNAME (RFC 7701 §7, examples 6-8).

use super::*;

/// Alice as she appears in example 6 (its own paths).
const ALICE_EX6: Who = Who {
    uri: "sip:alice@atlanta.example.com",
    peer: "msrp://client.atlanta.example.com:7654/jshA7weztas;tcp",
};
const EX6_SWITCH_PATH: &str = "msrp://chat.example.com:12763/kjhd37s2s20w2a;tcp";

fn ex6(idx: u8, path: &str) -> Vec<u8> {
    let text = MESSAGES.iter().find(|m| m.0 == 6 && m.1 == idx).unwrap().3;
    wire(&text.replace(EX6_SWITCH_PATH, path))
}

fn nickname(tid: &str, j: &Joined, who: Who, value: Option<&str>, extra: &str) -> Vec<u8> {
    let header = value
        .map(|v| format!("Use-Nickname: {v}\r\n"))
        .unwrap_or_default();
    format!(
        "MSRP {tid} NICKNAME\r\nTo-Path: {}\r\nFrom-Path: {}\r\n{header}{extra}-------{tid}$\r\n",
        j.path, who.peer
    )
    .into_bytes()
}

#[test]
fn examples_6_7_8() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE_EX6);
    let (b, cb) = h.joined(BOB);
    h.input(
        cb,
        &nickname("bobnick1", &b, BOB, Some("\"alice  THE great \""), ""),
    );
    assert_eq!(h.msgs(cb)[0].code(), 200);
    assert_eq!(
        h.sw.nickname(b.id),
        Some("alice THE great"),
        "stored as enforced (RFC 8266 §2.3)"
    );
    h.input(ca, &ex6(0, &a.path));
    assert_eq!(h.drain(ca), ex6(1, &a.path), "425");
    h.input(ca, &ex6(2, &a.path));
    assert_eq!(h.drain(ca), ex6(3, &a.path), "200");
    assert_eq!(h.sw.nickname(a.id), Some("Alice in Wonderland"));
    let (a2, c2) = h.joined(ALICE);
    h.input(c2, &example(7, 0, &a2.path));
    assert_eq!(h.drain(c2), example(7, 1, &a2.path), "424");
    h.input(
        c2,
        &nickname("same0001", &a2, ALICE, Some("\"alice in wonderland\""), ""),
    );
    assert_eq!(h.msgs(c2)[0].code(), 200, "same user on another device");
    h.input(
        cb,
        &nickname("bobnick2", &b, BOB, Some("\"ALICE IN WONDERLAND\""), ""),
    );
    assert_eq!(h.msgs(cb)[0].code(), 425);
    assert_eq!(
        h.sw.nickname(b.id),
        Some("alice THE great"),
        "a failed change keeps the old one"
    );
    h.input(c2, &example(8, 0, &a2.path));
    assert_eq!(h.drain(c2), example(8, 1, &a2.path), "removal");
    assert_eq!(h.sw.nickname(a2.id), None);
}

#[test]
fn nickname_refusals() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let cases: [(Option<&str>, &str, u16); 5] = [
        (None, "", 400),
        (Some("\"x\""), "Failure-Report: no\r\n", 400),
        (Some("\"x\""), "Success-Report: yes\r\n", 400),
        (Some("\"   \""), "", 424),
        (Some("\"bad\\q\""), "", 424),
    ];
    for (i, (value, extra, code)) in cases.iter().enumerate() {
        h.input(
            ca,
            &nickname(&format!("nick{i:04}"), &a, ALICE, *value, extra),
        );
        let out = h.msgs(ca);
        assert_eq!(out[0].code(), *code, "case {i}");
        assert_eq!(out[0].to_path, ALICE.peer);
    }
    let q = h.try_join("quiet", BOB, ALL_CAPS).unwrap();
    let cq = h.conn();
    h.input(cq, &bind_send("bindquie", &q.path, BOB.peer));
    h.drain(cq);
    h.input(cq, &nickname("quiet001", &q, BOB, Some("\"Bob\""), ""));
    assert_eq!(h.msgs(cq)[0].code(), 403, "room without nicknames");
}

/// Joins `who` to `room` with `caps` and binds it.
fn joined_to(h: &mut Harness, room: &str, who: Who, caps: ChatCaps) -> (Joined, MsrpConnId) {
    let j = h.try_join(room, who, caps).unwrap();
    let c = h.conn();
    h.input(c, &bind_send("bindxxxx", &j.path, who.peer));
    assert_eq!(h.msgs(c)[0].code(), 200);
    (j, c)
}

/// Sends NICKNAME `value` and returns the response code.
fn ask(h: &mut Harness, c: MsrpConnId, j: &Joined, who: Who, value: &str) -> u16 {
    h.input(c, &nickname("asknick1", j, who, Some(value), ""));
    let out = h.msgs(c);
    assert_eq!(out.len(), 1, "one response");
    out[0].code()
}

#[test]
fn reserved_words_and_the_room_name_are_425() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    for word in ["\"ADMIN\"", "\" root \"", "\"Chat22\""] {
        assert_eq!(ask(&mut h, ca, &a, ALICE, word), 425, "{word}");
    }
    assert_eq!(
        ask(&mut h, ca, &a, ALICE, "\"administrator\""),
        200,
        "not configured"
    );
    assert_eq!(h.sw.nickname(a.id), Some("administrator"));
}

#[test]
fn success_pushes_roster_changed_and_failures_do_not() {
    let mut h = Harness::new();
    let roster = |h: &mut Harness| -> Vec<SwitchEvent> {
        let all = h.events();
        all.into_iter()
            .filter(|e| matches!(e, SwitchEvent::RosterChanged(_)))
            .collect()
    };
    let (a, ca) = h.joined(ALICE);
    h.events();
    assert_eq!(ask(&mut h, ca, &a, ALICE, "\"Al\""), 200);
    assert_eq!(roster(&mut h), vec![SwitchEvent::RosterChanged(a.id)]);
    assert_eq!(ask(&mut h, ca, &a, ALICE, "\"Al\""), 200);
    assert!(roster(&mut h).is_empty(), "unchanged");
    assert_eq!(ask(&mut h, ca, &a, ALICE, "\"admin\""), 425);
    assert!(roster(&mut h).is_empty());
    assert_eq!(ask(&mut h, ca, &a, ALICE, "\"\""), 200);
    assert_eq!(roster(&mut h), vec![SwitchEvent::RosterChanged(a.id)]);
    assert_eq!(h.sw.nickname(a.id), None);
}

/// Issue 14: RFC 7701 §7.1 makes 403 a matter of room policy; a participant without
/// `a=chatroom` (or without `nickname` in it) that sends NICKNAME gets the room's answer.
#[test]
fn non_aware_or_nickname_less_participants_may_take_nicknames() {
    let mut h = Harness::new();
    let unaware = ChatCaps::default();
    let no_nick = ChatCaps {
        nickname: false,
        ..ALL_CAPS
    };
    let (b, cb) = joined_to(&mut h, ROOM, BOB, unaware);
    assert_eq!(ask(&mut h, cb, &b, BOB, "\"Bob\""), 200);
    assert_eq!(h.sw.nickname(b.id), Some("Bob"));
    let (c, cc) = joined_to(&mut h, ROOM, CAROL, no_nick);
    assert_eq!(ask(&mut h, cc, &c, CAROL, "\"Carol\""), 200);
    assert_eq!(ask(&mut h, cc, &c, CAROL, "\"bob\""), 425, "Bob is held");
}

#[test]
fn oversized_body_is_413_and_changes_nothing() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let big = "x".repeat(crate::wire::nickname::MAX_NON_SEND_BODY + 1);
    let req = format!(
        "MSRP big00001 NICKNAME\r\nTo-Path: {}\r\nFrom-Path: {}\r\nUse-Nickname: \"Al\"\r\n\
         Content-Type: text/plain\r\n\r\n{big}\r\n-------big00001$\r\n",
        a.path, ALICE.peer
    );
    h.input(ca, req.as_bytes());
    assert_eq!(h.msgs(ca)[0].code(), 413);
    assert_eq!(h.sw.nickname(a.id), None);
    let small = req.replace(&big, "tiny").replace("big00001", "sml00001");
    h.input(ca, small.as_bytes());
    assert_eq!(h.msgs(ca)[0].code(), 200, "a small body is ignored");
    assert_eq!(h.sw.nickname(a.id), Some("Al"));
    let chunked = small
        .replace("sml00001$", "sml00002+")
        .replace("sml00001", "sml00002");
    h.input(ca, chunked.as_bytes());
    assert_eq!(h.msgs(ca)[0].code(), 400, "NICKNAME cannot be chunked");
}

#[test]
fn limit_counts_octets_after_unescaping() {
    let mut limits = limits();
    limits.max_nickname_bytes = 8;
    let mut h = Harness::with(limits, Some(POLICY));
    let (a, ca) = h.joined(ALICE);
    assert_eq!(ask(&mut h, ca, &a, ALICE, "\"\\\"12345678\""), 424);
    assert_eq!(ask(&mut h, ca, &a, ALICE, "\"\\\"1234567\""), 200);
    assert_eq!(h.sw.nickname(a.id), Some("\"1234567"));
}

#[test]
fn quarantine_holds_a_left_nickname_for_its_uri_only() {
    let mut limits = limits();
    limits.nickname_quarantine_ms = 1_000;
    let per_conn = limits.msrp_connection_bytes();
    let mut h = Harness::with(limits, Some(POLICY));
    let (a, ca) = h.joined(ALICE);
    let (b, cb) = h.joined(BOB);
    let before = h.sw.stats().reserved_bytes;
    assert_eq!(ask(&mut h, ca, &a, ALICE, "\"Al\""), 200);
    assert_eq!(
        h.sw.stats().reserved_bytes,
        before + 2,
        "nickname bytes reserved"
    );
    h.sw.leave(h.now, a.id);
    assert_eq!(ask(&mut h, cb, &b, BOB, "\"al\""), 425, "quarantined");
    let (a2, ca2) = h.joined(ALICE);
    assert_eq!(
        ask(&mut h, ca2, &a2, ALICE, "\"AL\""),
        200,
        "holder reclaims"
    );
    h.sw.leave(h.now, a2.id);
    h.advance(999);
    assert_eq!(ask(&mut h, cb, &b, BOB, "\"Al\""), 425);
    h.advance(1);
    assert_eq!(ask(&mut h, cb, &b, BOB, "\"Al\""), 200, "quarantine over");
    h.sw.leave(h.now, b.id);
    h.advance(1_000);
    // Expired entries are dropped lazily at the next use: a join's NICKNAME.
    let (d, cd) = h.joined(DAVE);
    assert_eq!(ask(&mut h, cd, &d, DAVE, "\"\""), 200);
    h.sw.leave(h.now, d.id);
    let (c, cc) = h.joined(CAROL);
    assert_eq!(ask(&mut h, cc, &c, CAROL, "\"Al\""), 200);
    h.sw.leave(h.now, c.id);
    h.advance(1_000);
    let (d, _) = h.joined(DAVE);
    h.sw.leave(h.now, d.id);
    let s = h.sw.stats();
    assert_eq!(
        (s.participants, s.reserved_bytes),
        (0, s.connections * per_conn)
    );
}

#[test]
fn quarantine_is_bounded_per_room() {
    let mut limits = limits();
    limits.max_room_participants = 2;
    limits.nickname_quarantine_ms = 60_000;
    let mut h = Harness::with(limits, Some(POLICY));
    for (who, nick) in [(ALICE, "\"A1\""), (BOB, "\"B1\""), (CAROL, "\"C1\"")] {
        let (j, c) = h.joined(who);
        assert_eq!(ask(&mut h, c, &j, who, nick), 200);
        h.sw.leave(h.now, j.id);
    }
    let (d, cd) = h.joined(DAVE);
    assert_eq!(
        ask(&mut h, cd, &d, DAVE, "\"a1\""),
        200,
        "oldest entry evicted"
    );
    assert_eq!(ask(&mut h, cd, &d, DAVE, "\"b1\""), 425);
    assert_eq!(ask(&mut h, cd, &d, DAVE, "\"c1\""), 425);
}

#[test]
fn another_device_gets_no_copy_and_keeps_its_nickname_when_one_leaves() {
    let mut h = Harness::new();
    let (a1, c1) = h.joined(ALICE);
    assert_eq!(ask(&mut h, c1, &a1, ALICE, "\"Al\""), 200);
    let alice2 = Who {
        uri: ALICE.uri,
        peer: "msrp://192.0.2.105:7654/secondDevice1234;tcp",
    };
    let (a2, c2) = h.joined(alice2);
    assert_eq!(h.sw.nickname(a2.id), None, "R7701-7.1-l: never copied");
    assert_eq!(ask(&mut h, c2, &a2, alice2, "\"al\""), 200, "R7701-7-b");
    h.sw.leave(h.now, a1.id);
    let (b, cb) = h.joined(BOB);
    assert_eq!(
        ask(&mut h, cb, &b, BOB, "\"Al\""),
        425,
        "still held by device 2"
    );
    assert_eq!(h.sw.nickname(a2.id), Some("al"));
}

#[test]
fn uniqueness_and_quarantine_are_per_room() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    assert_eq!(ask(&mut h, ca, &a, ALICE, "\"Al\""), 200);
    let (b, cb) = joined_to(&mut h, "other", BOB, ALL_CAPS);
    assert_eq!(ask(&mut h, cb, &b, BOB, "\"al\""), 200, "another room");
    h.sw.leave(h.now, a.id);
    assert_eq!(
        ask(&mut h, cb, &b, BOB, "\"AL\""),
        200,
        "quarantine is per room"
    );
    let (c, cc) = h.joined(CAROL);
    assert_eq!(
        ask(&mut h, cc, &c, CAROL, "\"Al\""),
        425,
        "quarantined in chat22"
    );
    assert_eq!(
        ask(&mut h, cc, &c, CAROL, "\"other\""),
        200,
        "only chat22 is reserved here"
    );
}

/// Issue 15: eight join/nickname/leave cycles from one host flushed the quarantine on
/// `tiny`, and the attacker took a nickname released moments ago. When the table is full,
/// the source holding the most entries gives one up, so churn evicts only its own.
#[test]
fn quarantine_churn_from_one_source_evicts_only_its_own_entries() {
    let mut limits = limits();
    limits.max_room_participants = 3;
    limits.nickname_quarantine_ms = 60_000;
    let mut h = Harness::with(limits, Some(POLICY));
    // The victim joins from its own address, takes "Vic" and leaves.
    let victim_ip = "198.51.100.20";
    let req = JoinRequest {
        room: ROOM,
        uri: DAVE.uri,
        display_name: "",
        caps: ALL_CAPS,
        accept_wrapped_types: "",
        peer_path: DAVE.peer,
        peer_max_size: None,
        switch_connects: false,
        direction: Default::default(),
        anonymous: false,
        source: victim_ip.parse().unwrap(),
    };
    let v = h.sw.join(h.now, &mut h.ent, &req).unwrap();
    let cv =
        h.sw.conn_opened(h.now, SocketAddr::new(victim_ip.parse().unwrap(), 5000))
            .unwrap();
    h.input(cv, &bind_send("bindvvvv", &v.path, DAVE.peer));
    assert_eq!(h.msgs(cv)[0].code(), 200);
    assert_eq!(ask(&mut h, cv, &v, DAVE, "\"Vic\""), 200);
    h.sw.leave(h.now, v.id);
    // The attacker churns from SOURCE with three URIs, many times over.
    for round in 0..8 {
        for (who, nick) in [(ALICE, "\"m1\""), (BOB, "\"m2\""), (CAROL, "\"m3\"")] {
            let (j, c) = h.joined(who);
            let nick = nick.replace('m', &format!("m{round}x"));
            assert_eq!(ask(&mut h, c, &j, who, &nick), 200);
            h.sw.leave(h.now, j.id);
        }
    }
    let (a, ca) = h.joined(ALICE);
    assert_eq!(
        ask(&mut h, ca, &a, ALICE, "\"vic\""),
        425,
        "the victim's nickname is still held for it"
    );
}
