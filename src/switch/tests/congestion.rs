//! Slow recipients (RFC 7701 §6.4): the congested state, its notice, held-back large
//! copies, and the disconnect after `congested_timeout_ms`, on a fake clock.

use super::*;

/// The one notice a congestion episode sends (From = the room, text says so).
pub(super) fn is_congestion_notice(m: &Msg) -> bool {
    m.start == "SEND"
        && String::from_utf8_lossy(&m.body).contains("not reading its messages fast enough")
}

const TIMEOUT_MS: u64 = 2_000;

fn congestion_limits() -> Limits {
    Limits {
        ring_bytes: 8 * 1024,
        congested_fill_percent: 50,
        congested_max_message_bytes: 300,
        congested_timeout_ms: TIMEOUT_MS,
        ..limits()
    }
}

/// Alice, Bob (never drained unless a test says so) and Carol, all bound.
struct Room {
    h: Harness,
    a: Joined,
    ca: MsrpConnId,
    b: Joined,
    cb: MsrpConnId,
    cc: MsrpConnId,
    sent: usize,
}

impl Room {
    fn new() -> Room {
        let mut h = Harness::with(congestion_limits(), Some(POLICY));
        let (a, ca) = h.joined(ALICE);
        let (b, cb) = h.joined(BOB);
        let (_, cc) = h.joined(CAROL);
        Room {
            h,
            a,
            ca,
            b,
            cb,
            cc,
            sent: 0,
        }
    }

    /// Alice says `text`; her 200 and Carol's copy are drained (Carol reads promptly).
    fn say(&mut self, text: &str) -> Vec<Msg> {
        self.sent += 1;
        let tid = format!("cg{:06}", self.sent);
        let bytes = chat(&tid, &self.a, ALICE, ROOM_URI, text);
        self.h.input(self.ca, &bytes);
        let answers = self.h.msgs(self.ca);
        assert_eq!(answers[0].code(), 200, "the sender never waits");
        self.h.msgs(self.cc)
    }

    fn congestion_due(&self) -> Option<Instant> {
        self.h.sw.next_congestion_deadline()
    }

    /// Small messages until Bob is congested; returns how many it took.
    fn congest_bob(&mut self) -> usize {
        for i in 0..100 {
            if self.congestion_due().is_some() {
                return i;
            }
            let got = self.say("a small line of chat that Bob does not read");
            assert_eq!(got.len(), 1, "Carol gets every message");
        }
        panic!("Bob never became congested");
    }
}

// R7701-6.4-b: ring at the threshold → congested (with a deadline and one notice);
// drained below it → not congested, and no disconnect ever comes.
#[test]
fn r7701_6_4_b_ring_over_threshold_congests_and_draining_clears() {
    let mut r = Room::new();
    assert_eq!(r.congestion_due(), None);
    let sent = r.congest_bob();
    let began = r.h.now;
    assert_eq!(
        r.congestion_due(),
        Some(began + Duration::from_millis(TIMEOUT_MS))
    );
    assert_eq!(
        r.h.sw.stats().dropped_copies,
        0,
        "congested before any drop"
    );
    r.h.advance(TIMEOUT_MS / 2);
    let bob = r.h.msgs(r.cb);
    assert_eq!(r.congestion_due(), None, "drained: no longer congested");
    let notices = bob.iter().filter(|m| is_congestion_notice(m)).count();
    assert_eq!(notices, 1, "one notice per episode");
    assert_eq!(bob.len(), sent + 1, "every message plus the notice");
    r.h.advance(TIMEOUT_MS);
    assert!(
        !r.h.events()
            .iter()
            .any(|e| matches!(e, SwitchEvent::ParticipantLost(_))),
        "a participant that caught up is not disconnected"
    );
    assert_eq!(r.say("still here").len(), 1);
    assert_eq!(r.h.msgs(r.cb).len(), 1, "Bob gets messages again");
    assert_eq!(r.h.sw.stats().participants, 3);
}

// R7701-6.4-d: while congested, a copy of a message above congested_max_message_bytes is
// dropped for that recipient only; small text still goes.
#[test]
fn r7701_6_4_d_congested_recipient_gets_small_messages_not_large_ones() {
    let mut r = Room::new();
    let sent = r.congest_bob();
    let large = "L".repeat(600);
    assert_eq!(r.say(&large).len(), 1, "Carol gets the large message");
    assert_eq!(r.h.sw.stats().dropped_copies, 1, "Bob's copy held back");
    assert_eq!(r.say("tiny").len(), 1);
    let bob: Vec<Msg> =
        r.h.msgs(r.cb)
            .into_iter()
            .filter(|m| !is_congestion_notice(m))
            .collect();
    assert_eq!(bob.len(), sent + 1, "the small lines and the tiny one");
    assert!(body_of(&bob.last().unwrap().raw).ends_with(b"tiny"));
    assert!(!bob.iter().any(|m| m.body.len() > 600), "no large copy");
    // Caught up: the large one would go now.
    r.h.advance(1);
    assert_eq!(r.congestion_due(), None);
    r.say(&large);
    assert_eq!(r.h.msgs(r.cb).len(), 1, "large copies flow again");
}

// R7701-6.4-e: congested for congested_timeout_ms without a break → the participant is
// lost (the focus BYEs it) and its connection, used by no other session, closed; the
// others keep going.
#[test]
fn r7701_6_4_e_congested_too_long_is_lost_and_its_connection_closed() {
    let mut r = Room::new();
    r.congest_bob();
    let _ = r.h.events();
    r.h.advance(TIMEOUT_MS - 1);
    assert!(r.h.events().is_empty(), "not before the timeout");
    // Still congested: Alice keeps talking, Bob keeps not reading.
    assert_eq!(r.say("more").len(), 1);
    r.h.advance(1);
    let events = r.h.events();
    assert!(
        events.contains(&SwitchEvent::ParticipantLost(r.b.id)),
        "{events:?}"
    );
    assert!(events.contains(&SwitchEvent::Close(r.cb)), "{events:?}");
    let stats = r.h.sw.stats();
    assert_eq!(stats.congestion_disconnects, 1);
    assert_eq!(stats.participants, 2);
    assert_eq!(r.congestion_due(), None);
    r.h.sw.conn_closed(r.h.now, r.cb);
    assert_eq!(r.say("after").len(), 1, "Carol still served");
    assert_eq!(r.h.sw.stats().connections, 2);
}

// The timer restarts with each episode: congested, caught up, congested again → the
// disconnect is due a full timeout after the second episode began.
#[test]
fn a_new_episode_restarts_the_congestion_timer() {
    let mut r = Room::new();
    r.congest_bob();
    r.h.advance(TIMEOUT_MS - 10);
    let _ = r.h.msgs(r.cb);
    assert_eq!(r.congestion_due(), None);
    r.congest_bob();
    assert_eq!(
        r.congestion_due(),
        Some(r.h.now + Duration::from_millis(TIMEOUT_MS))
    );
    r.h.advance(20);
    assert!(!r
        .h
        .events()
        .iter()
        .any(|e| matches!(e, SwitchEvent::ParticipantLost(_))));
}

// One stall, one notice: an episode that ends and begins again within congested_timeout_ms
// (a reader whose socket still took data) gets no second notice; after that long, a new
// episode is told again.
#[test]
fn a_second_episode_soon_after_gets_no_second_notice() {
    let mut r = Room::new();
    r.congest_bob();
    r.h.advance(10);
    let first = r.h.msgs(r.cb);
    assert_eq!(first.iter().filter(|m| is_congestion_notice(m)).count(), 1);
    assert_eq!(r.congestion_due(), None, "caught up");
    r.congest_bob();
    assert!(r.congestion_due().is_some(), "congested again");
    r.h.advance(10);
    let second = r.h.msgs(r.cb);
    assert_eq!(
        second.iter().filter(|m| is_congestion_notice(m)).count(),
        0,
        "no second notice within the timeout"
    );
    r.h.advance(TIMEOUT_MS);
    let _ = r.h.msgs(r.cb);
    r.congest_bob();
    r.h.advance(10);
    let third = r.h.msgs(r.cb);
    assert_eq!(
        third.iter().filter(|m| is_congestion_notice(m)).count(),
        1,
        "a stall after the quiet time is told again"
    );
}
