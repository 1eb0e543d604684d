//! Output scheduling, events and timers: one source at a time, control first, round-robin,
//! Wake de-duplication, Close, ParticipantLost, bind timeouts.

use super::*;

#[test]
fn wake_once_until_drained() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    h.events();
    h.input(ca, &chat("wake0001", &a, ALICE, ROOM_URI, "1"));
    h.input(ca, &chat("wake0002", &a, ALICE, ROOM_URI, "2"));
    let ev = h.events();
    assert_eq!(
        ev.iter().filter(|e| **e == SwitchEvent::Wake(cb)).count(),
        1
    );
    assert_eq!(
        ev.iter().filter(|e| **e == SwitchEvent::Wake(ca)).count(),
        1
    );
    assert_eq!(h.msgs(cb).len(), 2);
    h.input(ca, &chat("wake0003", &a, ALICE, ROOM_URI, "3"));
    assert!(
        h.events().contains(&SwitchEvent::Wake(cb)),
        "woken again after draining"
    );
}

#[test]
fn one_source_at_a_time_control_first_then_round_robin() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let b1 = h.join(BOB);
    let b2 = h.try_join("side", BOB, ALL_CAPS).unwrap();
    let d = h.try_join("side", DAVE, ALL_CAPS).unwrap();
    let cb = h.conn();
    h.input(cb, &bind_send("bindb001", &b1.path, BOB.peer));
    h.input(cb, &bind_send("bindb002", &b2.path, BOB.peer));
    h.drain(cb);
    let cd = h.conn();
    h.input(cd, &bind_send("bindd001", &d.path, DAVE.peer));
    h.drain(cd);
    h.input(ca, &chat("rr000001", &a, ALICE, ROOM_URI, "m1"));
    // Bob's connection starts writing m1, then more arrives for every source.
    let [first, _] = h.sw.out(cb);
    let partial = first[..10].to_vec();
    h.sw.consumed(h.now, cb, 10);
    h.input(
        cd,
        &chat("rr000002", &d, DAVE, "sip:side@chat.example.com", "m2"),
    );
    h.input(cb, &bind_send("keepaliv", &b1.path, BOB.peer));
    h.input(ca, &chat("rr000003", &a, ALICE, ROOM_URI, "m3"));
    let mut bytes = partial;
    bytes.extend(h.drain_by(cb, 7));
    let order: Vec<String> = parse_all(&bytes)
        .iter()
        .map(|m| {
            if m.start == "SEND" {
                String::from_utf8_lossy(&m.body[m.body.len() - 2..]).into_owned()
            } else {
                m.start.clone()
            }
        })
        .collect();
    // Bob's first session's turn was fixed at its first write (m1 only): m3, queued
    // later, waits for that session's next turn, after the control ring and the other
    // session; a ring that keeps refilling cannot starve the others.
    assert_eq!(order, ["m1", "200", "m2", "m3"]);
    h.drain(ca);
    h.drain(cd);
}

#[test]
fn leaving_mid_write_finishes_the_message_then_frees() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (b, cb) = h.joined(BOB);
    h.input(ca, &chat("midw0001", &a, ALICE, ROOM_URI, "first"));
    h.input(ca, &chat("midw0002", &a, ALICE, ROOM_URI, "second"));
    let [first, _] = h.sw.out(cb);
    let mut bytes = first[..25].to_vec();
    h.sw.consumed(h.now, cb, 25);
    let reserved = h.sw.stats().reserved_bytes;
    h.sw.leave(h.now, b.id);
    assert!(h.events().contains(&SwitchEvent::Close(cb)));
    assert_eq!(h.sw.stats().participants, 1);
    assert_eq!(
        h.sw.stats().reserved_bytes,
        reserved,
        "ring kept until drained"
    );
    bytes.extend(h.drain(cb));
    let msgs = parse_all(&bytes);
    assert_eq!(msgs.len(), 2, "whole messages only");
    assert_eq!(
        h.sw.stats().reserved_bytes,
        reserved - h.sw.limits.participant_bytes()
    );
    h.input(ca, &chat("midw0003", &a, ALICE, ROOM_URI, "third"));
    assert!(h.drain(cb).is_empty());
    h.sw.conn_closed(h.now, cb);
    assert!(
        !h.events().contains(&SwitchEvent::ParticipantLost(b.id)),
        "left, not lost"
    );
}

#[test]
fn leaving_at_a_boundary_frees_at_once() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let (b, cb) = h.joined(BOB);
    h.input(ca, &chat("bnd00001", &a, ALICE, ROOM_URI, "queued"));
    let reserved = h.sw.stats().reserved_bytes;
    h.sw.leave(h.now, b.id);
    assert_eq!(
        h.sw.stats().reserved_bytes,
        reserved - h.sw.limits.participant_bytes()
    );
    assert!(
        h.drain(cb).is_empty(),
        "queued copies of a gone session are dropped"
    );
}

#[test]
fn connection_close_loses_every_bound_session() {
    let mut h = Harness::new();
    let a1 = h.join(ALICE);
    let a2 = h.try_join("side", ALICE, ALL_CAPS).unwrap();
    let c = h.conn();
    h.input(c, &bind_send("bind0001", &a1.path, ALICE.peer));
    h.input(c, &bind_send("bind0002", &a2.path, ALICE.peer));
    assert_eq!(h.sw.stats().connections, 1);
    h.events();
    h.sw.conn_closed(h.now, c);
    let ev = h.events();
    assert!(
        !ev.contains(&SwitchEvent::Wake(c)),
        "stale events of a closed connection are purged"
    );
    assert_eq!(
        ev,
        vec![
            SwitchEvent::ParticipantLost(a1.id),
            SwitchEvent::ParticipantLost(a2.id)
        ]
    );
    assert_eq!(h.sw.stats().participants, 0);
    assert_eq!(h.sw.stats().reserved_bytes, 0);
    assert_eq!(h.sw.out(c), [&[][..], &[][..]]);
    h.sw.consumed(h.now, c, 5);
    h.input(c, b"MSRP x");
    h.sw.conn_closed(h.now, c);
}

#[test]
fn bind_timeouts() {
    let mut h = Harness::new();
    let j = h.join(ALICE);
    let c = h.conn();
    let l = h.sw.limits.clone();
    assert_eq!(
        h.sw.poll_timeout(),
        Some(h.now + Duration::from_millis(l.msrp_bind_timeout_ms.min(l.join_bind_timeout_ms)))
    );
    h.advance(l.msrp_bind_timeout_ms);
    assert_eq!(h.events(), vec![SwitchEvent::Close(c)]);
    h.advance(l.join_bind_timeout_ms - l.msrp_bind_timeout_ms);
    assert_eq!(h.events(), vec![SwitchEvent::ParticipantLost(j.id)]);
    assert_eq!(h.sw.stats().participants, 0);
    h.sw.conn_closed(h.now, c);
    assert_eq!(h.sw.stats().reserved_bytes, 0);
    assert_eq!(h.sw.poll_timeout(), None);
}

#[test]
fn framing_error_closes_and_ignores_the_rest() {
    let mut h = Harness::new();
    let (a, c) = h.joined(ALICE);
    h.events();
    h.input(c, b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(h.events(), vec![SwitchEvent::Close(c)]);
    h.input(c, &bind_send("late0001", &a.path, ALICE.peer));
    assert!(h.drain(c).is_empty());
    let big = vec![b'M'; h.sw.limits.max_msrp_header_bytes + 10];
    let c2 = h.conn();
    h.input(c2, &big);
    assert_eq!(h.events(), vec![SwitchEvent::Close(c2)]);
}

#[test]
fn copies_for_an_unbound_session_wait_for_its_binding() {
    let mut h = Harness::new();
    let (a, ca) = h.joined(ALICE);
    let b = h.join(BOB);
    h.input(
        ca,
        &chat("early001", &a, ALICE, ROOM_URI, "before you came"),
    );
    h.drain(ca);
    let cb = h.conn();
    h.events();
    h.input(cb, &bind_send("bindlate", &b.path, BOB.peer));
    assert_eq!(
        h.events(),
        vec![SwitchEvent::RosterChanged(b.id), SwitchEvent::Wake(cb)]
    );
    let out = h.msgs(cb);
    let kinds: Vec<&str> = out.iter().map(|m| m.start.as_str()).collect();
    assert_eq!(kinds, ["SEND", "200"], "the queued copy was current first");
    assert!(out[0].body.ends_with(b"before you came"));
}

#[test]
fn configured_rooms_are_bounded_by_max_rooms() {
    let l = Limits {
        max_rooms: 1,
        ..limits()
    };
    let h = Harness::with(l, None);
    assert_eq!(h.sw.room_policy(ROOM), Some(POLICY));
    assert_eq!(
        h.sw.room_policy("quiet"),
        None,
        "second configured room dropped"
    );
}

/// A deterministic mutation fuzz of the input path: no panic, output always well framed.
#[test]
fn mutated_input_never_panics_and_output_stays_framed() {
    let mut rng = TestEntropy::new(7);
    let mut rand = move |n: usize| {
        let mut b = [0u8; 8];
        crate::rand::Entropy::fill(&mut rng, &mut b);
        (u64::from_le_bytes(b) % n.max(1) as u64) as usize
    };
    let inputs: Vec<(u8, u8)> = [
        (5, 0),
        (6, 0),
        (7, 0),
        (9, 0),
        (10, 0),
        (11, 0),
        (12, 0),
        (13, 0),
        (14, 0),
        (14, 2),
        (16, 0),
    ]
    .to_vec();
    for round in 0..300 {
        let mut h = Harness::new();
        let (a, ca) = h.joined(ALICE);
        let (_b, cb) = h.joined(BOB);
        let (ex, idx) = inputs[round % inputs.len()];
        let mut bytes = example(ex, idx, &a.path);
        for _ in 0..1 + rand(4) {
            if bytes.is_empty() {
                break;
            }
            let at = rand(bytes.len());
            match rand(4) {
                0 => bytes[at] = rand(256) as u8,
                1 => {
                    bytes.remove(at);
                }
                2 => bytes.insert(at, b"\r\n-$#+:0 "[rand(9)]),
                _ => bytes.truncate(at),
            }
        }
        let cut = rand(bytes.len() + 1);
        h.input(ca, &bytes[..cut]);
        h.input(ca, &bytes[cut..]);
        h.advance(h.sw.limits.chunk_timeout_ms);
        parse_all(&h.drain_by(ca, 1 + rand(50)));
        parse_all(&h.drain(cb));
        h.sw.conn_closed(h.now, ca);
        h.advance(0);
        parse_all(&h.drain(cb));
    }
}
