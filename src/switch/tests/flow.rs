//! Issue 15 flow control: a burst of requests pauses a connection's input instead of
//! closing it, a peer whose window stays closed is closed after `write_stall_timeout_ms`,
//! and a sender over its token buckets is paused until they refill.

use super::*;

/// `n` bodiless SENDs to `path` in one buffer.
fn burst(n: usize, path: &str) -> Vec<u8> {
    (0..n)
        .flat_map(|i| bind_send(&format!("burst{i:03}"), path, ALICE.peer))
        .collect()
}

/// Feeds `bytes` as a shell does: what is not taken is handed in again after a `Resume`,
/// the output drained in between. Returns the 200s and whether a `Close` came.
fn feed_like_a_shell(h: &mut Harness, c: MsrpConnId, bytes: &[u8]) -> (usize, bool, usize) {
    let (mut at, mut oks, mut pauses, mut closed) = (0, 0, 0, false);
    for _ in 0..1000 {
        at += h.input(c, &bytes[at..]);
        oks += h.msgs(c).iter().filter(|m| m.code() == 200).count();
        let events = h.events();
        closed |= events.contains(&SwitchEvent::Close(c));
        if (at == bytes.len() && !h.sw.input_paused(c)) || closed {
            break;
        }
        pauses += 1;
        assert!(
            events.contains(&SwitchEvent::Resume(c)),
            "paused input resumes once its responses are written: {events:?}"
        );
    }
    (oks, closed, pauses)
}

// Issue 15 (low): 20 small requests at once used to overflow a 4 KiB control ring (10 a
// 512-byte one) and close the connection as "not reading". Now input pauses at the
// request whose answer does not fit and resumes once the peer has read the responses.
#[test]
fn a_burst_of_requests_pauses_input_and_closes_nothing() {
    let l = Limits {
        conn_ring_bytes: 512,
        ..limits()
    };
    let mut h = Harness::with(l, Some(POLICY));
    let a = h.join(ALICE);
    let c = h.conn();
    let bytes = burst(40, &a.path);
    let taken = h.input(c, &bytes);
    assert!(taken < bytes.len(), "input paused at a request boundary");
    let events = h.events();
    assert!(!events.contains(&SwitchEvent::Close(c)), "{events:?}");
    assert_eq!(h.input(c, &bytes[taken..]), 0, "nothing taken while paused");
    let first = h.msgs(c).iter().filter(|m| m.code() == 200).count();
    assert!(first > 0 && first < 40);
    assert!(h.events().contains(&SwitchEvent::Resume(c)));
    let (oks, closed, pauses) = feed_like_a_shell(&mut h, c, &bytes[taken..]);
    assert!(!closed);
    assert!(pauses > 0);
    assert_eq!(first + oks, 40, "every request answered");
    assert_eq!(h.sw.stats().connections, 1);
}

// A peer whose TCP window stays closed: nothing of its output is written for
// `write_stall_timeout_ms`, and then it is closed (logged once); writing a byte restarts
// the clock.
#[test]
fn a_peer_whose_window_stays_closed_is_closed_after_the_write_stall_timeout() {
    let l = Limits {
        write_stall_timeout_ms: 5_000,
        ..limits()
    };
    let mut h = Harness::with(l, Some(POLICY));
    let (j, c) = h.joined(ALICE);
    h.events();
    h.input(c, &bind_send("pend0001", &j.path, ALICE.peer));
    h.advance(4_000);
    // One byte written: the window opened a little.
    let [a, _] = h.sw.out(c);
    assert!(!a.is_empty());
    h.sw.consumed(h.now, c, 1);
    h.advance(4_000);
    assert!(
        !h.events().contains(&SwitchEvent::Close(c)),
        "progress 4 s ago"
    );
    assert_eq!(
        h.sw.poll_timeout(),
        Some(h.now + Duration::from_millis(1_000))
    );
    h.advance(1_000);
    assert_eq!(h.events(), vec![SwitchEvent::Close(c)]);
}

// Nothing pending: no stall clock, however long the connection is quiet.
#[test]
fn an_idle_connection_never_stalls() {
    let l = Limits {
        write_stall_timeout_ms: 1_000,
        ..limits()
    };
    let mut h = Harness::with(l, Some(POLICY));
    let (_j, c) = h.joined(ALICE);
    h.events();
    h.advance(10_000);
    assert!(!h.events().contains(&SwitchEvent::Close(c)));
}

/// Limits with small send buckets: 3 messages at once then 1 per second; 1000 bytes at
/// once then 500 per second.
fn slow_sender() -> Limits {
    Limits {
        send_rate_messages_per_s: 1,
        send_burst_messages: 3,
        send_rate_bytes_per_s: 500,
        send_burst_bytes: 1_000,
        ..limits()
    }
}

fn text_send(tid: &str, path: &str, text: &str) -> Vec<u8> {
    let body = cpim(ALICE.uri, ROOM_URI, text);
    let range = format!("1-{0}/{0}", body.len());
    send(
        tid,
        path,
        ALICE.peer,
        tid,
        &range,
        "",
        "message/cpim",
        &body,
        '$',
    )
}

// Issue 15 (low): a sender over its message bucket is paused at its next SEND (the rest
// stays unread, nothing is lost or refused) until the bucket refills, by a timer; the
// other participants' copies are untouched.
#[test]
fn a_sender_over_its_message_rate_waits_for_its_bucket() {
    let mut h = Harness::with(slow_sender(), Some(POLICY));
    let (a, ca) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    h.events();
    // The bind came before the session was bound and took no token: three messages go.
    let bytes: Vec<u8> = (0..5)
        .flat_map(|i| text_send(&format!("rate{i:04}"), &a.path, "hi"))
        .collect();
    let taken = h.input(ca, &bytes);
    assert!(taken < bytes.len(), "the 4th message waits");
    assert!(h.sw.input_paused(ca));
    assert_eq!(h.msgs(ca).iter().filter(|m| m.code() == 200).count(), 3);
    assert_eq!(h.msgs(cb).len(), 3, "the copies of the first three");
    assert_eq!(
        h.input(ca, &bytes[taken..]),
        0,
        "nothing taken while paused"
    );
    let due = h.sw.poll_timeout().expect("the pause ends by a timer");
    assert!(
        due > h.now && due <= h.now + Duration::from_secs(1),
        "{due:?}"
    );
    h.advance(1_000);
    assert!(h.events().contains(&SwitchEvent::Resume(ca)));
    let at = taken + h.input(ca, &bytes[taken..]);
    assert_eq!(h.msgs(ca).iter().filter(|m| m.code() == 200).count(), 1);
    assert_eq!(h.msgs(cb).len(), 1, "one more after one second");
    assert!(h.sw.input_paused(ca), "the 5th waits its second");
    h.advance(1_000);
    assert!(h.events().contains(&SwitchEvent::Resume(ca)));
    assert_eq!(h.input(ca, &bytes[at..]), bytes.len() - at);
    assert!(!h.sw.input_paused(ca));
    assert_eq!(h.msgs(ca).iter().filter(|m| m.code() == 200).count(), 1);
    assert_eq!(h.msgs(cb).len(), 1, "all five delivered, none refused");
}

// The byte bucket: a message larger than the bucket still goes whole, and the sender's
// next message waits until the debt is paid at `send_rate_bytes_per_s`.
#[test]
fn a_message_larger_than_the_byte_bucket_goes_and_its_sender_waits() {
    let mut h = Harness::with(slow_sender(), Some(POLICY));
    let (a, ca) = h.joined(ALICE);
    let (_b, cb) = h.joined(BOB);
    h.events();
    let big = "x".repeat(1_900);
    let mut bytes = text_send("big00001", &a.path, &big);
    let first = bytes.len();
    bytes.extend(text_send("small001", &a.path, "after"));
    let taken = h.input(ca, &bytes);
    assert!(
        taken > first && taken < bytes.len(),
        "paused at the next header block"
    );
    assert!(h.sw.input_paused(ca));
    assert_eq!(h.msgs(ca)[0].code(), 200);
    assert!(!h.msgs(cb).is_empty(), "the large message went");
    // About 1,000 bytes of debt at 500 bytes/s: about 2 s.
    let due = h.sw.poll_timeout().expect("timer");
    let wait = due.saturating_since(h.now);
    assert!(
        wait > Duration::from_millis(1_500) && wait < Duration::from_millis(2_500),
        "{wait:?}"
    );
    assert_eq!(h.input(ca, &bytes[taken..]), 0);
    h.advance(wait.as_millis() as u64);
    assert!(h.events().contains(&SwitchEvent::Resume(ca)));
    assert_eq!(h.input(ca, &bytes[taken..]), bytes.len() - taken);
    assert_eq!(h.msgs(ca)[0].code(), 200);
}
