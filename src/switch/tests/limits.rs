//! Admission and memory: rooms, capacities, the budget, full rings (RFC 7701 §6.4).

use super::*;

#[test]
fn room_policy_and_join_refusals() {
    let mut h = Harness::with(limits(), None);
    assert_eq!(h.sw.room_policy(ROOM), Some(POLICY));
    assert_eq!(h.sw.room_policy("nowhere"), None, "ad-hoc off");
    assert_eq!(
        h.try_join("nowhere", ALICE, ALL_CAPS),
        Err(JoinError::UnknownRoom)
    );
    h.try_join("quiet", ALICE, ALL_CAPS).unwrap();
    h.try_join("quiet", BOB, ALL_CAPS).unwrap();
    assert_eq!(
        h.try_join("quiet", CAROL, ALL_CAPS),
        Err(JoinError::RoomFull)
    );
    let long = Who {
        uri: Box::leak(format!("sip:{}@x", "a".repeat(300)).into_boxed_str()),
        peer: ALICE.peer,
    };
    assert_eq!(h.try_join(ROOM, long, ALL_CAPS), Err(JoinError::BadRequest));
    let bad_path = Who {
        uri: ALICE.uri,
        peer: "msrp://192.0.2.1/nope;tcp",
    };
    assert_eq!(
        h.try_join(ROOM, bad_path, ALL_CAPS),
        Err(JoinError::BadRequest)
    );
    assert_eq!(
        h.try_join("bad room", ALICE, ALL_CAPS),
        Err(JoinError::BadRequest)
    );
    assert_eq!(
        h.try_join(
            ROOM,
            Who {
                uri: " ",
                peer: ALICE.peer
            },
            ALL_CAPS
        ),
        Err(JoinError::BadRequest)
    );
    assert_eq!(h.sw.stats().refused_joins, 1);
    assert_eq!(JoinError::RoomFull.sip_status().0, 486);
}

#[test]
fn adhoc_rooms_are_bounded_and_disappear_when_empty() {
    let l = Limits {
        max_rooms: 3,
        ..limits()
    };
    let mut h = Harness::with(l, Some(POLICY));
    assert_eq!(h.sw.room_policy("fresh"), Some(POLICY));
    let j = h.try_join("fresh", ALICE, ALL_CAPS).unwrap();
    assert_eq!(j.policy, POLICY);
    assert_eq!(
        h.try_join("another", BOB, ALL_CAPS),
        Err(JoinError::NoCapacity)
    );
    h.sw.leave(h.now, j.id);
    assert!(
        h.try_join("another", BOB, ALL_CAPS).is_ok(),
        "the empty ad-hoc room was deleted"
    );
    assert_eq!(h.sw.room_policy("bad name"), None);
}

#[test]
fn budget_refuses_joins_and_connections_and_leave_returns_memory() {
    let base = limits();
    let l = Limits {
        memory_cap: 2 * base.participant_bytes() + base.msrp_connection_bytes(),
        ..base.clone()
    };
    let mut h = Harness::with(l.clone(), Some(POLICY));
    assert_eq!(h.sw.stats().reserved_bytes, 0);
    let a = h.join(ALICE);
    let before = h.sw.stats().reserved_bytes;
    assert_eq!(before, base.participant_bytes());
    // Bob's ring fits, but not his ring plus the connections he and Alice still need:
    // refused at the join (issue 14), not accepted and then dropped at the connect.
    assert_eq!(h.try_join(ROOM, BOB, ALL_CAPS), Err(JoinError::NoCapacity));
    assert_eq!(h.sw.stats().refused_joins, 1);
    let c1 = h.conn();
    h.input(c1, &bind_send("bindaaaa", &a.path, ALICE.peer));
    h.drain(c1);
    assert_eq!(
        h.try_join(ROOM, CAROL, ALL_CAPS),
        Err(JoinError::NoCapacity)
    );
    // A connection is smaller than a participant: a second one fits, a third does not.
    assert!(base.msrp_connection_bytes() < base.participant_bytes());
    let c2 =
        h.sw.conn_opened(h.now, "192.0.2.1:1".parse().unwrap())
            .unwrap();
    assert_eq!(
        h.sw.conn_opened(h.now, "192.0.2.1:2".parse().unwrap()),
        Err(ConnRefusal::Memory)
    );
    assert_eq!(
        h.sw.stats().reserved_bytes,
        base.participant_bytes() + 2 * base.msrp_connection_bytes()
    );
    h.sw.leave(h.now, a.id);
    h.sw.conn_closed(h.now, c1);
    h.sw.conn_closed(h.now, c2);
    assert_eq!(h.sw.stats().reserved_bytes, 0);
    assert_eq!(h.sw.stats().connections, 0);
    assert!(h.try_join(ROOM, CAROL, ALL_CAPS).is_ok());
    assert_eq!(h.sw.stats().participants, 1);
}

#[test]
fn participant_and_connection_tables_are_bounded() {
    let l = Limits {
        max_participants: 2,
        max_room_participants: 2,
        max_msrp_connections: 2,
        ..limits()
    };
    let mut h = Harness::with(l.clone(), Some(POLICY));
    h.join(ALICE);
    h.try_join("other", BOB, ALL_CAPS).unwrap();
    assert_eq!(
        h.try_join("third", CAROL, ALL_CAPS),
        Err(JoinError::NoCapacity),
        "participant table full"
    );
    h.conn();
    h.conn();
    assert_eq!(
        h.sw.conn_opened(h.now, "192.0.2.1:1".parse().unwrap()),
        Err(ConnRefusal::Connections)
    );
    assert_eq!(h.sw.stats().connections, 2);

    // One connection slot: the second join would have no connection to bind on.
    let mut h = Harness::with(
        Limits {
            max_msrp_connections: 1,
            ..l
        },
        Some(POLICY),
    );
    h.join(ALICE);
    assert_eq!(
        h.try_join("other", BOB, ALL_CAPS),
        Err(JoinError::NoCapacity),
        "Alice still needs the only connection slot"
    );
}

/// Issue 14: the join that would exceed its source's MSRP connections (those open plus
/// those its joined participants still have to open) is refused at the INVITE with
/// SourceBusy; other sources are unaffected, and a connection over the limit is refused
/// at accept.
#[test]
fn joins_and_connections_per_source_are_bounded() {
    let l = Limits {
        max_connections_per_source: 2,
        ..limits()
    };
    let mut h = Harness::with(l, Some(POLICY));
    let (_a, _ca) = h.joined(ALICE);
    h.join(BOB);
    assert_eq!(
        h.try_join(ROOM, CAROL, ALL_CAPS),
        Err(JoinError::SourceBusy)
    );
    let other = JoinRequest {
        room: ROOM,
        uri: CAROL.uri,
        display_name: "",
        caps: ALL_CAPS,
        accept_wrapped_types: "",
        peer_path: CAROL.peer,
        peer_max_size: None,
        switch_connects: false,
        direction: Default::default(),
        anonymous: false,
        source: "198.51.100.7".parse().unwrap(),
    };
    assert!(
        h.sw.join(h.now, &mut h.ent, &other).is_ok(),
        "another source"
    );
    h.conn();
    assert_eq!(
        h.sw.conn_opened(h.now, SocketAddr::new(SOURCE.parse().unwrap(), 1)),
        Err(ConnRefusal::PerSource)
    );
    assert!(h
        .sw
        .conn_opened(h.now, "198.51.100.7:5".parse().unwrap())
        .is_ok());
}

#[test]
fn full_ring_drops_copies_for_that_recipient_only() {
    let l = Limits {
        ring_bytes: 1024,
        ..limits()
    };
    let mut h = Harness::with(l, Some(POLICY));
    let (a, ca) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    let (_c, cc) = h.joined(CAROL);
    let rounds = 10;
    let mut carol_got = 0;
    for i in 0..rounds {
        h.input(
            ca,
            &chat(
                &format!("ring{i:04}"),
                &a,
                ALICE,
                ROOM_URI,
                "0123456789012345678901234567890123456789",
            ),
        );
        assert_eq!(h.msgs(ca)[0].code(), 200, "the sender never waits");
        carol_got += h.msgs(cc).len();
    }
    assert_eq!(carol_got, rounds, "Carol got everything");
    let stats = h.sw.stats();
    assert!(stats.dropped_copies > 0);
    let bob_got = h.msgs(cb).len();
    assert_eq!(bob_got as u64 + stats.dropped_copies, rounds as u64);
    assert_eq!(stats.delivered_copies, (rounds + bob_got) as u64);
    // Bob's ring drained: he gets new messages again.
    h.input(ca, &chat("ringlast", &a, ALICE, ROOM_URI, "again"));
    assert_eq!(h.msgs(cb).len(), 1);
}

#[test]
fn recipient_losing_a_later_chunk_owes_an_abort() {
    let l = Limits {
        ring_bytes: 1024,
        ..limits()
    };
    let mut h = Harness::with(l, Some(POLICY));
    let (a, ca) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    let (_c, cc) = h.joined(CAROL);
    let body = cpim(ALICE.uri, ROOM_URI, &"y".repeat(600));
    let n = body.len();
    h.input(
        ca,
        &send(
            "owe00001",
            &a.path,
            ALICE.peer,
            "ow",
            &format!("1-110/{n}"),
            "",
            "message/cpim",
            &body[..110],
            '+',
        ),
    );
    assert_eq!(h.msgs(cc).len(), 1);
    h.input(
        ca,
        &send(
            "owe00002",
            &a.path,
            ALICE.peer,
            "ow",
            &format!("111-{n}/{n}"),
            "",
            "message/cpim",
            &body[110..],
            '+',
        ),
    );
    assert_eq!(h.msgs(cc).len(), 1, "Carol drains and gets chunk 2");
    assert_eq!(
        h.sw.stats().dropped_copies,
        1,
        "Bob's ring could not take chunk 2"
    );
    h.input(
        ca,
        &send(
            "owe00003",
            &a.path,
            ALICE.peer,
            "ow",
            &format!("{}-{n}/{n}", n + 1),
            "",
            "message/cpim",
            b"",
            '$',
        ),
    );
    assert_eq!(h.msgs(cc).last().unwrap().flag, Some(Flag::Last));
    assert_eq!(h.sw.messages_in_flight(), 1, "kept for Bob's owed abort");
    // Bob's drop began a congestion episode (RFC 7701 §6.4): its notice is not a chunk.
    let bob: Vec<Msg> = h
        .msgs(cb)
        .into_iter()
        .filter(|m| !super::congestion::is_congestion_notice(m))
        .collect();
    assert_eq!(bob.len(), 1, "only chunk 1 reached Bob");
    assert!(
        h.sw.poll_timeout().is_some(),
        "the abort is due once Bob's ring drained"
    );
    h.advance(0);
    let abort = h.msgs(cb);
    assert_eq!(abort.len(), 1);
    assert_eq!(abort[0].flag, Some(Flag::Abort));
    assert_eq!(abort[0].message_id, bob[0].message_id);
    assert_eq!(abort[0].byte_range.unwrap().start, 111);
    assert_eq!(h.sw.messages_in_flight(), 0);
    let _ = h.msgs(ca);
}

#[test]
fn half_sent_header_block_closes_a_bound_connection_at_the_header_timeout() {
    let l = Limits {
        msrp_header_timeout_ms: 1_000,
        ..limits()
    };
    let mut h = Harness::with(l, Some(POLICY));
    let (j, c) = h.joined(ALICE);
    h.events();
    let head = format!("MSRP t1 SEND\r\nTo-Path: {}\r\n", j.path);
    // Trickled a byte at a time, 100 ms apart: the timer started with the first byte.
    for b in head.as_bytes().iter().take(9) {
        h.input(c, &[*b]);
        h.advance(100);
    }
    assert!(!h.events().contains(&SwitchEvent::Close(c)));
    h.advance(150);
    assert!(
        h.events().contains(&SwitchEvent::Close(c)),
        "not closed in time"
    );

    // A complete request in time clears the timer: no close later.
    let (j2, c2) = h.joined(BOB);
    h.events();
    h.input(c2, b"MSRP t2 SE");
    h.advance(500);
    let rest = format!("ND\r\nTo-Path: {}\r\n", j2.path);
    h.input(c2, rest.as_bytes());
    let end = format!(
        "From-Path: {}\r\nMessage-ID: m\r\nByte-Range: 1-0/0\r\n-------t2$\r\n",
        BOB.peer
    );
    h.input(c2, end.as_bytes());
    assert_eq!(h.msgs(c2).last().map(|m| m.code()), Some(200));
    h.advance(5_000);
    assert!(
        !h.events().contains(&SwitchEvent::Close(c2)),
        "closed after completing"
    );
}

/// A join from `source` as `who` into `room`.
fn join_from(h: &mut Harness, room: &str, who: Who, source: &str) -> Result<Joined, JoinError> {
    let req = JoinRequest {
        room,
        uri: who.uri,
        display_name: "",
        caps: ALL_CAPS,
        accept_wrapped_types: "",
        peer_path: who.peer,
        peer_max_size: None,
        switch_connects: false,
        direction: Default::default(),
        anonymous: false,
        source: source.parse().unwrap(),
    };
    h.sw.join(h.now, &mut h.ent, &req)
}

/// Issue 15: one source holds at most `max_seats_per_source` seats over all rooms, and
/// its fraction of one room; one more join gets SourceSeats (503 with a Warning naming
/// the limit), while another source still gets the seats left.
#[test]
fn one_source_cannot_take_the_last_quarter_of_the_seats() {
    let l = Limits {
        max_participants: 8,
        max_room_participants: 8,
        max_seats_per_source: 6,
        max_partial_per_sender: 2,
        max_message_ids: 16,
        ..limits()
    };
    let mut h = Harness::with(l, Some(POLICY));
    for _ in 0..6 {
        h.join(ALICE);
    }
    assert_eq!(
        h.try_join(ROOM, ALICE, ALL_CAPS),
        Err(JoinError::SourceSeats)
    );
    assert_eq!(JoinError::SourceSeats.sip_status().0, 503);
    assert!(JoinError::SourceSeats
        .warning()
        .contains("max_seats_per_source"));
    // Over all rooms: another room does not give the source more.
    assert_eq!(
        h.try_join("other", ALICE, ALL_CAPS),
        Err(JoinError::SourceSeats)
    );
    for _ in 0..2 {
        assert!(
            join_from(&mut h, ROOM, BOB, "198.51.100.7").is_ok(),
            "a newcomer"
        );
    }
}

/// Issue 15: in one room a source gets the same fraction of the room's seats (router:
/// 48 of 64, so 7 of a 10-seat room), at least 2.
#[test]
fn one_source_gets_its_fraction_of_one_room() {
    let mut h = Harness::with(limits(), Some(POLICY));
    assert_eq!(limits().room_seats_per_source(10), 7);
    assert_eq!(limits().room_seats_per_source(2), 2);
    assert_eq!(limits().room_seats_per_source(1), 1);
    for _ in 0..7 {
        h.join(ALICE);
    }
    assert_eq!(
        h.try_join(ROOM, ALICE, ALL_CAPS),
        Err(JoinError::SourceSeats)
    );
    for _ in 0..3 {
        assert!(join_from(&mut h, ROOM, BOB, "198.51.100.7").is_ok());
    }
    assert_eq!(
        join_from(&mut h, ROOM, CAROL, "198.51.100.8"),
        Err(JoinError::RoomFull)
    );
}

/// Issue 15: one MSRP connection binds at most `max_sessions_per_connection` sessions;
/// the next binding SEND gets 403 and that session can still bind on its own connection.
#[test]
fn sessions_bound_over_one_connection_are_bounded() {
    let l = Limits {
        max_sessions_per_connection: 2,
        ..limits()
    };
    let mut h = Harness::with(l, Some(POLICY));
    let who = [ALICE, BOB, CAROL];
    let joined: Vec<Joined> = who.iter().map(|w| h.join(*w)).collect();
    let c = h.conn();
    for (i, (j, w)) in joined.iter().zip(who).enumerate() {
        h.input(c, &bind_send(&format!("bind000{i}"), &j.path, w.peer));
        let out = h.msgs(c);
        assert_eq!(out[0].code(), if i < 2 { 200 } else { 403 }, "session {i}");
    }
    // The share the engine fuzz target checks: two sessions on the first connection.
    assert_eq!(h.sw.stats().most_sessions_on_one_connection, 2);
    let c2 = h.conn();
    h.input(c2, &bind_send("bind0009", &joined[2].path, CAROL.peer));
    assert_eq!(h.msgs(c2)[0].code(), 200);
    let stats = h.sw.stats();
    assert_eq!(stats.most_sessions_on_one_connection, 2);
    assert_eq!(stats.most_connections_from_one_source, 2, "{stats:?}");
}

/// Issue 15: when the connection table is full of connections that never bound, a
/// newcomer's connection evicts the oldest of them (once older than `unproven_grace_ms`), the
/// shell is told to close it, and the newcomer's INVITE is not refused for them.
#[test]
fn unproven_connections_are_evicted_oldest_first_for_a_newcomer() {
    let l = Limits {
        max_msrp_connections: 3,
        ..limits()
    };
    let mut h = Harness::with(l.clone(), Some(POLICY));
    let idle: Vec<MsrpConnId> = (0..3u16)
        .map(|i| {
            let peer = SocketAddr::new("198.51.100.9".parse().unwrap(), 1000 + i);
            let c = h.sw.conn_opened(h.now, peer).unwrap();
            h.advance(100);
            c
        })
        .collect();
    h.events();
    // Within the grace nobody is evicted: a newcomer's bind cannot be pre-empted at once.
    assert_eq!(
        h.sw.conn_opened(h.now, "198.51.100.10:1".parse().unwrap()),
        Err(ConnRefusal::Connections)
    );
    assert_eq!(
        h.try_join(ROOM, ALICE, ALL_CAPS),
        Err(JoinError::NoCapacity),
        "no connection is old enough to make room yet"
    );
    h.advance(1_000);
    let j = h.join(ALICE);
    let c = h.conn();
    assert!(
        h.events().contains(&SwitchEvent::Close(idle[0])),
        "the oldest unproven connection is closed"
    );
    assert_eq!(h.sw.stats().evicted_connections, 1);
    h.input(c, &bind_send("bind0001", &j.path, ALICE.peer));
    assert_eq!(h.msgs(c)[0].code(), 200);
    // The evicted connection's close comes back from the shell; its slot was already given.
    h.sw.conn_closed(h.now, idle[0]);
    assert_eq!(h.sw.stats().connections, 3);
    // A bound connection is never evicted: with the others gone it is the only one left.
    h.sw.conn_closed(h.now, idle[1]);
    h.sw.conn_closed(h.now, idle[2]);
    let reserved = h.sw.stats().reserved_bytes;
    assert_eq!(
        reserved,
        l.participant_bytes() + l.msrp_connection_bytes(),
        "every evicted connection's bytes were given back once"
    );
}

/// Issue 15: at the per-source limit, the source's own oldest unproven connection makes
/// room, never another source's.
#[test]
fn per_source_eviction_takes_the_sources_own_connection() {
    let l = Limits {
        max_connections_per_source: 2,
        ..limits()
    };
    let mut h = Harness::with(l, Some(POLICY));
    let other =
        h.sw.conn_opened(h.now, "198.51.100.9:1".parse().unwrap())
            .unwrap();
    let mine: Vec<MsrpConnId> = (0..2u16)
        .map(|i| {
            let peer = SocketAddr::new(SOURCE.parse().unwrap(), 1000 + i);
            h.sw.conn_opened(h.now, peer).unwrap()
        })
        .collect();
    h.events();
    h.advance(1000);
    let third =
        h.sw.conn_opened(h.now, SocketAddr::new(SOURCE.parse().unwrap(), 3));
    assert!(third.is_ok());
    let closed = h.events();
    assert!(closed.contains(&SwitchEvent::Close(mine[0])));
    assert!(!closed.contains(&SwitchEvent::Close(other)));
}
