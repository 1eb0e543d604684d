//! Binding (RFC 4975 §5.4, §7.3, IMPL-8), responses to odd requests, Failure-Report.

use super::*;

#[test]
fn join_hands_out_a_fresh_path() {
    let mut h = Harness::new();
    let a = h.join(ALICE);
    let b = h.join(BOB);
    assert!(a.path.starts_with("msrp://192.0.2.10:2855/"));
    assert!(a.path.ends_with(";tcp"));
    let sid = &a.path["msrp://192.0.2.10:2855/".len()..a.path.len() - 4];
    assert_eq!(sid.len(), 16);
    assert!(sid.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_ne!(a.path, b.path);
    assert_ne!(a.id, b.id);
    assert_eq!(a.policy, POLICY);
}

#[test]
fn ipv6_listen_address_is_bracketed() {
    let mut sw = Switch::new(SwitchConfig {
        msrp_local: "[2001:db8::1]:2855".parse().unwrap(),
        domain: DOMAIN.into(),
        rooms: vec![(ROOM.into(), POLICY)],
        adhoc: None,
        limits: limits(),
        reserved_nicknames: Vec::new(),
    });
    let req = JoinRequest {
        room: ROOM,
        uri: ALICE.uri,
        display_name: "Alice",
        caps: ALL_CAPS,
        accept_wrapped_types: "",
        peer_path: ALICE.peer,
        peer_max_size: None,
        switch_connects: false,
        direction: Default::default(),
        anonymous: false,
        source: SOURCE.parse().unwrap(),
    };
    let j = sw
        .join(Instant::ZERO, &mut TestEntropy::new(1), &req)
        .unwrap();
    assert!(
        j.path.starts_with("msrp://[2001:db8::1]:2855/"),
        "{}",
        j.path
    );
}

#[test]
fn bodiless_send_binds_with_example_5_response() {
    let mut h = Harness::new();
    let a = h.join(ALICE);
    let c = h.conn();
    assert!(h.sw.poll_timeout().is_some(), "bind timers run");
    h.input(c, &example(5, 0, &a.path));
    assert_eq!(
        h.events(),
        vec![SwitchEvent::RosterChanged(a.id), SwitchEvent::Wake(c)],
        "binding tells the roster the media is up"
    );
    assert_eq!(h.drain(c), example(5, 1, &a.path));
    assert_eq!(h.sw.poll_timeout(), None, "bound: no timers left");
}

#[test]
fn unknown_session_gets_481() {
    let mut h = Harness::new();
    let a = h.join(ALICE);
    let c = h.conn();
    let upper = a
        .path
        .replace(&a.path[23..39], &a.path[23..39].to_ascii_uppercase());
    let other_port = a.path.replace(":2855/", ":2856/");
    for to in [
        "msrp://192.0.2.10:2855/unknownSession12;tcp".to_string(),
        upper,
        other_port,
        format!("{} {}", ALICE.peer, a.path),
        "not a uri".to_string(),
    ] {
        h.input(c, &bind_send("t481abcd", &to, ALICE.peer));
        let out = h.msgs(c);
        assert_eq!(out.len(), 1, "{to}");
        assert_eq!(out[0].code(), 481, "{to}");
        assert_eq!(out[0].to_path, ALICE.peer);
        assert_eq!(out[0].from_path, to.trim());
    }
    // Still unbound: the right session binds now.
    h.input(c, &bind_send("tok1abcd", &a.path, ALICE.peer));
    assert_eq!(h.msgs(c)[0].code(), 200);
}

#[test]
fn second_connection_for_a_bound_session_gets_506_and_first_keeps_working() {
    let mut h = Harness::new();
    let (a, c1) = h.joined(ALICE);
    let (_b, c3) = h.joined(BOB);
    let c2 = h.conn();
    h.input(c2, &bind_send("dup1abcd", &a.path, ALICE.peer));
    let out = h.msgs(c2);
    assert_eq!(out[0].code(), 506);
    h.input(c1, &chat("still111", &a, ALICE, ROOM_URI, "hi"));
    assert_eq!(h.msgs(c1)[0].code(), 200);
    assert_eq!(h.msgs(c3).len(), 1, "Bob got the message");
}

#[test]
fn request_for_a_session_bound_elsewhere_on_a_bound_connection_gets_481() {
    let mut h = Harness::new();
    let (_a, c1) = h.joined(ALICE);
    let (b, c2) = h.joined(BOB);
    h.input(c1, &chat("xsess111", &b, BOB, ROOM_URI, "hi"));
    assert_eq!(h.msgs(c1)[0].code(), 481);
    assert!(h.msgs(c2).is_empty(), "nothing delivered");
}

#[test]
fn foreign_from_path_gets_403_and_does_not_bind() {
    let mut h = Harness::new();
    let a = h.join(ALICE);
    let c = h.conn();
    h.input(c, &bind_send("spoof111", &a.path, BOB.peer));
    assert_eq!(h.msgs(c)[0].code(), 403);
    h.input(c, &bind_send("good1111", &a.path, ALICE.peer));
    assert_eq!(h.msgs(c)[0].code(), 200);
    // After binding, a foreign From-Path is still refused.
    h.input(
        c,
        &chat(
            "spoof222",
            &a,
            Who {
                uri: ALICE.uri,
                peer: BOB.peer,
            },
            ROOM_URI,
            "x",
        ),
    );
    assert_eq!(h.msgs(c)[0].code(), 403);
}

#[test]
fn unknown_method_501_report_and_responses_are_silent() {
    let mut h = Harness::new();
    let (a, c) = h.joined(ALICE);
    let foo = format!(
        "MSRP foo12345 FOO\r\nTo-Path: {}\r\nFrom-Path: {}\r\n-------foo12345$\r\n",
        a.path, ALICE.peer
    );
    h.input(c, foo.as_bytes());
    let out = h.msgs(c);
    assert_eq!(out[0].code(), 501);
    assert_eq!(out[0].to_path, ALICE.peer, "non-SEND: full From-Path");
    let report = format!(
        "MSRP rep12345 REPORT\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: zzzz\r\n\
         Byte-Range: 1-5/5\r\nStatus: 000 200 OK\r\n-------rep12345$\r\n",
        a.path, ALICE.peer
    );
    let response = format!(
        "MSRP abcd9999 200 OK\r\nTo-Path: {}\r\nFrom-Path: {}\r\n-------abcd9999$\r\n",
        a.path, ALICE.peer
    );
    h.input(c, report.as_bytes());
    h.input(c, response.as_bytes());
    assert!(h.drain(c).is_empty());
    assert!(h
        .events()
        .iter()
        .all(|e| !matches!(e, SwitchEvent::Close(_))));
}

/// Issue 14: a request without To-Path gets 400 (routed to its From-Path); one without
/// From-Path cannot be answered, and its connection is closed.
#[test]
fn missing_to_path_is_400_missing_from_path_closes() {
    let mut h = Harness::new();
    let (_a, c) = h.joined(ALICE);
    let no_to = format!(
        "MSRP noto1234 SEND\r\nFrom-Path: {}\r\nMessage-ID: x1\r\n-------noto1234$\r\n",
        ALICE.peer
    );
    h.input(c, no_to.as_bytes());
    let out = h.msgs(c);
    assert_eq!(out[0].code(), 400);
    assert_eq!(out[0].to_path, ALICE.peer);
    assert!(h
        .events()
        .iter()
        .all(|e| !matches!(e, SwitchEvent::Close(_))));
    let no_paths = b"MSRP nopa1234 SEND\r\nMessage-ID: x1\r\n-------nopa1234$\r\n";
    h.input(c, no_paths);
    assert!(h.drain(c).is_empty(), "nothing can be answered");
    assert!(h.events().contains(&SwitchEvent::Close(c)));
}

#[test]
fn failure_report_no_and_partial() {
    let mut h = Harness::new();
    let (a, c) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    let body = cpim(ALICE.uri, ROOM_URI, "hello");
    let range = format!("1-{}/{}", body.len(), body.len());
    let bad = |tid: &str, fr: &str| {
        send(
            tid,
            &a.path,
            ALICE.peer,
            tid,
            &range,
            fr,
            "text/plain",
            &body,
            '$',
        )
    };
    let good = |tid: &str, fr: &str| {
        send(
            tid,
            &a.path,
            ALICE.peer,
            tid,
            &range,
            fr,
            "message/cpim",
            &body,
            '$',
        )
    };
    h.input(c, &bad("frno0001", "Failure-Report: no\r\n"));
    assert!(h.drain(c).is_empty(), "FR no: no error response");
    h.input(c, &bad("frpa0001", "Failure-Report: partial\r\n"));
    assert_eq!(
        h.msgs(c)[0].code(),
        415,
        "FR partial: errors still answered"
    );
    h.input(c, &good("frpa0002", "Failure-Report: partial\r\n"));
    assert!(h.drain(c).is_empty(), "FR partial: no 200");
    h.input(c, &good("frno0002", "Failure-Report: no\r\n"));
    assert!(h.drain(c).is_empty(), "FR no: no 200");
    h.input(c, &good("frye0001", "Failure-Report: yes\r\n"));
    assert_eq!(h.msgs(c)[0].code(), 200);
    assert_eq!(h.msgs(cb).len(), 3, "every accepted message was delivered");
    // 481 with FR no is silent too.
    let c2 = h.conn();
    h.input(
        c2,
        &send(
            "frno0003",
            "msrp://192.0.2.10:2855/nobody;tcp",
            ALICE.peer,
            "q",
            &range,
            "Failure-Report: no\r\n",
            "message/cpim",
            &body,
            '$',
        ),
    );
    assert!(h.drain(c2).is_empty());
}

#[test]
fn leave_then_old_session_gets_481() {
    let mut h = Harness::new();
    let (a, c) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    let c2 = h.conn();
    h.sw.leave(h.now, a.id);
    assert!(
        h.events().contains(&SwitchEvent::Close(c)),
        "last session left: close"
    );
    h.input(c2, &chat("gone1111", &a, ALICE, ROOM_URI, "x"));
    assert_eq!(h.msgs(c2)[0].code(), 481);
    assert!(h.msgs(cb).is_empty());
    h.sw.leave(h.now, a.id);
    h.sw.leave(h.now, ParticipantId(987_654));
    assert_eq!(h.sw.stats().participants, 1);
}
