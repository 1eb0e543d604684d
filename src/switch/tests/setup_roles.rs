//! The switch as the active side (RFC 6135 §4.2, IMPL-7): it asks for a connection to the
//! leftmost URI of the peer's path (RFC 4975 §8.3-a), sends a bodiless SEND first (RFC 4975
//! §5.4, example 5's shape), then the session's copies; failures lose the participant.

use super::*;

/// Alice offered `a=setup:passive` with `peer` as her path.
fn dial_join(h: &mut Harness, who: Who, peer: &str, caps: ChatCaps) -> Result<Joined, JoinError> {
    let req = JoinRequest {
        room: ROOM,
        uri: who.uri,
        display_name: "",
        caps,
        accept_wrapped_types: "text/plain",
        peer_path: peer,
        peer_max_size: None,
        switch_connects: true,
        direction: Default::default(),
        anonymous: false,
        source: SOURCE.parse().unwrap(),
    };
    h.sw.join(h.now, &mut h.ent, &req)
}

/// The `Connect` events raised so far (other events are dropped).
fn connects(h: &mut Harness) -> Vec<(MsrpConnId, core::net::SocketAddr)> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            SwitchEvent::Connect(c, a) => Some((c, a)),
            _ => None,
        })
        .collect()
}

/// The bodiless SEND `m` must be, byte for byte (wire example 5 with the roles swapped).
fn assert_binding_send(m: &Msg, peer: &str, own: &str) {
    assert_eq!(m.start, "SEND");
    let mid = m.message_id.clone().expect("Message-ID");
    assert!(
        m.tid.len() >= 11 && mid.len() >= 11,
        "≥ 64 bits of randomness"
    );
    let want = format!(
        "MSRP {tid} SEND\r\nTo-Path: {peer}\r\nFrom-Path: {own}\r\nMessage-ID: {mid}\r\n\
         Byte-Range: 1-0/0\r\n-------{tid}$\r\n",
        tid = m.tid
    );
    assert_eq!(String::from_utf8_lossy(&m.raw), want);
}

// R6135-4.2-c, IMPL-7: the switch connects and sends a bodiless SEND before anything else.
#[test]
fn r6135_4_2_c_switch_connects_and_binds_with_a_bodiless_send_first() {
    let mut h = Harness::new();
    let (b, cb) = h.joined(BOB);
    h.events();
    let a = dial_join(&mut h, ALICE, ALICE.peer, ALL_CAPS).unwrap();
    let events = h.events();
    let ca = match events.first() {
        Some(SwitchEvent::Connect(c, addr)) => {
            assert_eq!(*addr, "192.0.2.101:7654".parse().unwrap());
            *c
        }
        other => panic!("first event must ask for the connection: {other:?}"),
    };
    assert!(
        !h.sw.roster_entry(a.id).unwrap().media_bound,
        "not connected yet"
    );
    // Bob talks before the connection is up: the copy queues behind the binding SEND.
    h.input(cb, &chat("early001", &b, BOB, ROOM_URI, "early"));
    assert_eq!(h.msgs(cb)[0].code(), 200);
    h.sw.conn_connected(h.now, &mut h.ent, ca);
    let up = h.events();
    assert!(up.contains(&SwitchEvent::RosterChanged(a.id)), "{up:?}");
    assert!(up.contains(&SwitchEvent::Wake(ca)), "{up:?}");
    assert!(h.sw.roster_entry(a.id).unwrap().media_bound);
    let out = h.msgs(ca);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_binding_send(&out[0], ALICE.peer, &a.path);
    assert_eq!(out[1].start, "SEND");
    assert_eq!(out[1].to_path, ALICE.peer);
    assert!(String::from_utf8_lossy(&out[1].body).ends_with("early"));
    // Alice's 200 to the binding SEND is absorbed; then she talks on the same connection.
    let ok = format!(
        "MSRP {} 200 OK\r\nTo-Path: {}\r\nFrom-Path: {}\r\n-------{}$\r\n",
        out[0].tid, a.path, ALICE.peer, out[0].tid
    );
    h.input(ca, ok.as_bytes());
    assert!(h.msgs(ca).is_empty());
    h.input(
        ca,
        &chat("late0001", &a, ALICE, ROOM_URI, "hello from behind NAT"),
    );
    assert_eq!(h.msgs(ca)[0].code(), 200);
    let copy = h.msgs(cb);
    assert!(String::from_utf8_lossy(&copy[0].body).ends_with("hello from behind NAT"));
    assert_eq!(h.sw.stats().participants, 2);
}

// R4975-8.3-a: with relays in the path the switch connects to the leftmost URI, and its
// requests carry the whole path as To-Path.
#[test]
fn r4975_8_3_a_switch_connects_to_the_leftmost_uri() {
    let mut h = Harness::new();
    let path = format!("msrp://198.51.100.7:2855/relay1;tcp {}", ALICE.peer);
    let a = dial_join(&mut h, ALICE, &path, ALL_CAPS).unwrap();
    let c = connects(&mut h);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].1, "198.51.100.7:2855".parse().unwrap());
    h.sw.conn_connected(h.now, &mut h.ent, c[0].0);
    let out = h.msgs(c[0].0);
    assert_binding_send(&out[0], &path, &a.path);
}

// R6135-4.2-b: names are never resolved, TLS is not offered: such a passive offer → 488.
#[test]
fn r6135_4_2_b_passive_offer_naming_a_host_is_refused() {
    for path in [
        "msrp://client.example.com:7654/s1;tcp",
        "msrps://192.0.2.101:7654/s1;tcp",
        "msrp://192.0.2.101:7654/s1;udp",
        "msrp://relay.example.net:2855/r;tcp msrp://192.0.2.101:7654/s1;tcp",
    ] {
        let mut h = Harness::new();
        assert_eq!(
            dial_join(&mut h, ALICE, path, ALL_CAPS),
            Err(JoinError::BadRequest),
            "{path}"
        );
        assert!(h.events().is_empty(), "{path}");
        assert_eq!(h.sw.stats().participants, 0);
        assert_eq!(h.sw.stats().connections, 0);
    }
}

// IMPL-7: the connection cannot be opened → the participant is lost (the focus BYEs it).
#[test]
fn impl_7_failed_connect_loses_the_participant() {
    let mut h = Harness::new();
    let a = dial_join(&mut h, ALICE, ALICE.peer, ALL_CAPS).unwrap();
    let (ca, _) = connects(&mut h)[0];
    h.sw.conn_closed(h.now, ca);
    assert_eq!(h.events(), [SwitchEvent::ParticipantLost(a.id)]);
    assert_eq!(h.sw.stats().participants, 0);
    assert_eq!(h.sw.stats().connections, 0);
    assert_eq!(h.sw.stats().reserved_bytes, 0, "budget returned");
}

// IMPL-7: a connect that never completes is closed after msrp_bind_timeout_ms.
#[test]
fn impl_7_connect_is_bounded_by_the_bind_timeout() {
    let mut h = Harness::new();
    dial_join(&mut h, ALICE, ALICE.peer, ALL_CAPS).unwrap();
    let (ca, _) = connects(&mut h)[0];
    let l = limits();
    assert!(h.sw.poll_timeout() <= Some(h.now + Duration::from_millis(l.msrp_bind_timeout_ms)));
    h.advance(l.msrp_bind_timeout_ms);
    assert!(h.events().contains(&SwitchEvent::Close(ca)));
    // A late "connected" for a connection being closed changes nothing.
    h.sw.conn_connected(h.now, &mut h.ent, ca);
    assert!(h.events().is_empty());
}

// IMPL-7: the peer refuses the binding SEND → the session is lost and the connection closed.
#[test]
fn impl_7_refused_binding_send_loses_the_participant() {
    let mut h = Harness::new();
    let a = dial_join(&mut h, ALICE, ALICE.peer, ALL_CAPS).unwrap();
    let (ca, _) = connects(&mut h)[0];
    h.sw.conn_connected(h.now, &mut h.ent, ca);
    let out = h.msgs(ca);
    h.events();
    let refused = format!(
        "MSRP {} 481 No such session\r\nTo-Path: {}\r\nFrom-Path: {}\r\n-------{}$\r\n",
        out[0].tid, a.path, ALICE.peer, out[0].tid
    );
    h.input(ca, refused.as_bytes());
    let ev = h.events();
    assert!(ev.contains(&SwitchEvent::ParticipantLost(a.id)), "{ev:?}");
    assert!(ev.contains(&SwitchEvent::Close(ca)), "{ev:?}");
    assert_eq!(h.sw.stats().participants, 0);
}

// R4975-5.4-a: a second session towards the same address reuses the switch's connection,
// each session bound by its own bodiless SEND.
#[test]
fn r4975_5_4_a_dialed_connection_is_reused_for_the_same_address() {
    let mut h = Harness::new();
    let a = dial_join(&mut h, ALICE, ALICE.peer, ALL_CAPS).unwrap();
    let c = connects(&mut h);
    h.sw.conn_connected(h.now, &mut h.ent, c[0].0);
    let other = "msrp://192.0.2.101:7654/secondSession001;tcp";
    let b = dial_join(&mut h, BOB, other, ALL_CAPS).unwrap();
    let ev = h.events();
    assert!(
        !ev.iter().any(|e| matches!(e, SwitchEvent::Connect(..))),
        "no second connection: {ev:?}"
    );
    assert!(ev.contains(&SwitchEvent::RosterChanged(b.id)), "already up");
    let out = h.msgs(c[0].0);
    assert_eq!(out.len(), 2);
    assert_binding_send(&out[0], ALICE.peer, &a.path);
    assert_binding_send(&out[1], other, &b.path);
    assert_eq!(h.sw.stats().connections, 1);
}

// IMPL-7: no connection slot left → the join is refused (503) and leaves nothing behind.
#[test]
fn impl_7_no_connection_slot_refuses_the_join() {
    let mut h = Harness::with(
        Limits {
            max_msrp_connections: 1,
            ..limits()
        },
        Some(POLICY),
    );
    let _busy = h.conn();
    let before = h.sw.stats();
    assert_eq!(
        dial_join(&mut h, ALICE, ALICE.peer, ALL_CAPS),
        Err(JoinError::NoCapacity)
    );
    assert!(h.events().is_empty());
    let after = h.sw.stats();
    assert_eq!(after.participants, before.participants);
    assert_eq!(after.reserved_bytes, before.reserved_bytes);
    assert_eq!(after.refused_joins, before.refused_joins + 1);
}

// R7701-11-a with IMPL-7: a participant that is not chat-room aware gets its notices once
// the switch's connection is up, after the binding SEND.
#[test]
fn impl_7_notices_follow_the_binding_send() {
    let mut h = Harness::new();
    let a = dial_join(&mut h, ALICE, ALICE.peer, ChatCaps::default()).unwrap();
    let (ca, _) = connects(&mut h)[0];
    h.sw.conn_connected(h.now, &mut h.ent, ca);
    let out = h.msgs(ca);
    assert_eq!(out.len(), 3, "{out:?}");
    assert_binding_send(&out[0], ALICE.peer, &a.path);
    assert!(out[1..]
        .iter()
        .all(|m| m.content_type.as_deref() == Some("message/cpim")));
}
