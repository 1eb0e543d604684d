//! The chunk lifecycle over real sockets (RFC 7701 §6.1, §11; RFC 4975 §7.1.1; IMPL-16/20/
//! 21): first-chunk recipients fixed, state dropped after `$`, the chunk reception timer
//! (short in these tests) and the sender's connection loss close copies with `#`, the
//! per-sender partial cap, orphan chunks, and outbound chunks of at most 2048 octets.

mod common;
#[path = "common/member.rs"]
mod member;

use std::time::Duration;

use common::msrp::{cpim_body, MsrpConn, MsrpMessage};
use common::{ident, Server, QUIET, ROOM, STEP};
use member::{collect, config_file, response_to, send_bytes, Member, Offer, SendSpec};

/// The chunk reception timer the server runs with here.
const CHUNK_TIMEOUT_MS: u64 = 1000;

/// A server with the short chunk timer and `limits`.
fn server(limits: &[&str]) -> Server {
    server_with_timer(CHUNK_TIMEOUT_MS, limits)
}

fn server_with_timer(ms: u64, limits: &[&str]) -> Server {
    let timer = format!("chunk_timeout_ms = {ms}");
    let mut all = vec![timer.as_str()];
    all.extend_from_slice(limits);
    let cfg = config_file(&all);
    let server = Server::start(&["--config", cfg.to_str().expect("utf-8 temp path")]);
    // Read at start-up: no longer needed.
    let _ = std::fs::remove_file(&cfg);
    server
}

fn member(server: &Server, name: &str) -> (Member, MsrpConn) {
    let m = Member::join(server.sip, ROOM, name, Offer::AWARE);
    let c = m.connect();
    (m, c)
}

fn sends(msgs: &[MsrpMessage]) -> Vec<&MsrpMessage> {
    msgs.iter()
        .filter(|m| m.method.as_deref() == Some("SEND"))
        .collect()
}

/// A's message to the room cut into `cuts` pieces (content bytes), one chunk each.
struct Chunked {
    body: Vec<u8>,
    mid: String,
    bounds: Vec<usize>,
}

impl Chunked {
    fn new(a: &Member, content: &[u8], pieces: usize) -> Chunked {
        let body = cpim_body(&a.uri, ROOM, content);
        let head = body.len() - content.len();
        let step = content.len() / pieces;
        let mut bounds: Vec<usize> = (0..pieces).map(|i| head + i * step).collect();
        bounds[0] = 0;
        bounds.push(body.len());
        Chunked {
            body,
            mid: ident(12),
            bounds,
        }
    }

    /// Chunk `i` with flag `+` or `$` (last), or `flag` when given.
    fn chunk(&self, a: &Member, i: usize, flag: Option<char>) -> (String, Vec<u8>) {
        let (from, to) = (self.bounds[i], self.bounds[i + 1]);
        let n = self.body.len();
        let last = i + 2 == self.bounds.len();
        let range = format!("{}-{to}/{n}", from + 1);
        let tid = ident(16);
        let bytes = send_bytes(&SendSpec {
            tid: &tid,
            range: &range,
            flag: flag.unwrap_or(if last { '$' } else { '+' }),
            ..a.spec(&self.mid, &self.body[from..to])
        });
        (tid, bytes)
    }
}

fn content(n: usize) -> Vec<u8> {
    (0..n).map(|i| b'a' + (i % 26) as u8).collect()
}

// R7701-6.1-j, R7701-6.1-k: later chunks go exactly to the first chunk's recipients, minus
// those who left; a participant who joined meanwhile gets none of it.
#[test]
fn r7701_6_1_j_k_later_chunks_only_to_first_chunk_recipients() {
    // Several quiet periods pass between the chunks: the default (long) chunk timer.
    let server = server_with_timer(540_000, &[]);
    let (a, mut ca) = member(&server, "alice");
    let (_b, mut cb) = member(&server, "bob");
    let (mut c, mut cc) = member(&server, "carol");
    let msg = Chunked::new(&a, &content(300), 2);
    let (t1, c1) = msg.chunk(&a, 0, None);
    ca.write(&c1);
    assert_eq!(response_to(&mut ca, &t1).and_then(|r| r.status), Some(200));
    let first = collect(&mut cb, QUIET);
    assert_eq!(sends(&first).len(), 1, "{first:?}");
    let to_carol = collect(&mut cc, QUIET);
    assert_eq!(sends(&to_carol).len(), 1, "{to_carol:?}");
    let (_d, mut cd) = member(&server, "dave");
    assert_eq!(c.bye().status(), Some(200));
    let (t2, c2) = msg.chunk(&a, 1, None);
    ca.write(&c2);
    assert_eq!(response_to(&mut ca, &t2).and_then(|r| r.status), Some(200));
    let to_bob = collect(&mut cb, QUIET);
    assert_eq!(sends(&to_bob).len(), 1);
    assert_eq!(to_bob[0].flag, b'$');
    assert!(
        sends(&collect(&mut cd, QUIET)).is_empty(),
        "Dave joined mid-message"
    );
    assert!(sends(&collect(&mut cc, QUIET)).is_empty(), "Carol left");
}

// R7701-6.1-l, IMPL-16: after `$` the state is gone; a later chunk of the same Message-ID
// (range-start > 1) is an orphan: 200 and never delivered headerless.
#[test]
fn r7701_6_1_l_impl_16_state_dropped_after_last_chunk_then_orphan() {
    let server = server(&[]);
    let (a, mut ca) = member(&server, "alice");
    let (_b, mut cb) = member(&server, "bob");
    let msg = Chunked::new(&a, &content(100), 2);
    for i in 0..2 {
        let (tid, bytes) = msg.chunk(&a, i, None);
        ca.write(&bytes);
        assert_eq!(response_to(&mut ca, &tid).and_then(|r| r.status), Some(200));
    }
    let got = collect(&mut cb, QUIET);
    assert_eq!(got.last().map(|m| m.flag), Some(b'$'));
    let (tid, again) = msg.chunk(&a, 1, None);
    ca.write(&again);
    assert_eq!(response_to(&mut ca, &tid).and_then(|r| r.status), Some(200));
    assert!(collect(&mut cb, QUIET).is_empty(), "orphan chunk dropped");
}

// R7701-6.1-m, R7701-6.1-n: the chunk reception timer fires (no chunk for
// CHUNK_TIMEOUT_MS): Bob's copy is closed with a bodiless `#` chunk of the same Message-ID.
#[test]
fn r7701_6_1_m_n_chunk_timer_closes_copies_with_abort() {
    let server = server(&[]);
    let (a, mut ca) = member(&server, "alice");
    let (_b, mut cb) = member(&server, "bob");
    let msg = Chunked::new(&a, &content(100), 2);
    let (tid, c1) = msg.chunk(&a, 0, None);
    ca.write(&c1);
    assert_eq!(response_to(&mut ca, &tid).and_then(|r| r.status), Some(200));
    let first = cb.recv(STEP).expect("chunk 1");
    let started = std::time::Instant::now();
    let abort = cb.recv(STEP).expect("the abort after the timer");
    assert!(started.elapsed() >= Duration::from_millis(CHUNK_TIMEOUT_MS / 2));
    assert_eq!(abort.flag, b'#');
    assert!(abort.body.is_empty() && abort.header("Content-Type").is_none());
    assert_eq!(abort.header("Message-ID"), first.header("Message-ID"));
    let (start, end, _) = abort.byte_range().expect("Byte-Range");
    assert_eq!((start as usize, end), (first.body.len() + 1, None));
    // The late chunk 2 is an orphan now (IMPL-16).
    let (tid, c2) = msg.chunk(&a, 1, None);
    ca.write(&c2);
    assert_eq!(response_to(&mut ca, &tid).and_then(|r| r.status), Some(200));
    assert!(collect(&mut cb, QUIET).is_empty());
}

// R7701-6.1-m: the timer restarts on every chunk: four chunks half the timeout apart (1.5
// timeouts in all) complete without an abort.
#[test]
fn r7701_6_1_m_each_chunk_restarts_the_timer() {
    let server = server(&[]);
    let (a, mut ca) = member(&server, "alice");
    let (_b, mut cb) = member(&server, "bob");
    let msg = Chunked::new(&a, &content(120), 4);
    for i in 0..4 {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(CHUNK_TIMEOUT_MS / 2));
        }
        let (tid, bytes) = msg.chunk(&a, i, None);
        ca.write(&bytes);
        assert_eq!(response_to(&mut ca, &tid).and_then(|r| r.status), Some(200));
    }
    let got = collect(&mut cb, QUIET);
    assert!(got.iter().all(|m| m.flag != b'#'), "{got:?}");
    assert_eq!(got.last().map(|m| m.flag), Some(b'$'));
}

// R7701-6.1-n (sender side): Alice's connection dies mid-message → Bob's copy gets `#`.
#[test]
fn r7701_6_1_n_sender_connection_loss_closes_copies_with_abort() {
    let server = server(&[]);
    let (a, mut ca) = member(&server, "alice");
    let (_b, mut cb) = member(&server, "bob");
    let msg = Chunked::new(&a, &content(100), 2);
    let (tid, c1) = msg.chunk(&a, 0, None);
    ca.write(&c1);
    assert_eq!(response_to(&mut ca, &tid).and_then(|r| r.status), Some(200));
    let first = cb.recv(STEP).expect("chunk 1");
    drop(ca);
    let abort = cb.recv(STEP).expect("abort after the sender vanished");
    assert_eq!(abort.flag, b'#');
    assert_eq!(abort.header("Message-ID"), first.header("Message-ID"));
}

// IMPL-21: the sender's own `#` is forwarded as a `#` end to every recipient.
#[test]
fn impl_21_sender_abort_is_forwarded() {
    let server = server(&[]);
    let (a, mut ca) = member(&server, "alice");
    let (_b, mut cb) = member(&server, "bob");
    let msg = Chunked::new(&a, &content(100), 2);
    let (t1, c1) = msg.chunk(&a, 0, None);
    ca.write(&c1);
    let (t2, c2) = msg.chunk(&a, 1, Some('#'));
    ca.write(&c2);
    for t in [t1, t2] {
        assert_eq!(response_to(&mut ca, &t).and_then(|r| r.status), Some(200));
    }
    let got = collect(&mut cb, QUIET);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[0].flag, got[1].flag), (b'+', b'#'));
    assert_eq!(got[0].header("Message-ID"), got[1].header("Message-ID"));
}

// IMPL-20 (A1's DoS guard): at most max_partial_per_sender partial messages per sender;
// beyond → 413 and nothing forwarded; others are unaffected.
#[test]
fn impl_20_partial_messages_per_sender_are_capped() {
    let server = server(&["max_partial_per_sender = 2"]);
    let (a, mut ca) = member(&server, "alice");
    let (b, mut cb) = member(&server, "bob");
    let mut codes = Vec::new();
    for _ in 0..3 {
        let msg = Chunked::new(&a, &content(60), 2);
        let (tid, c1) = msg.chunk(&a, 0, None);
        ca.write(&c1);
        codes.push(response_to(&mut ca, &tid).and_then(|r| r.status));
    }
    assert_eq!(codes, [Some(200), Some(200), Some(413)]);
    assert_eq!(
        sends(&collect(&mut cb, QUIET)).len(),
        2,
        "the third was not forwarded"
    );
    let tid = ident(16);
    let body = cpim_body(&b.uri, ROOM, b"bob is fine");
    cb.write(&send_bytes(&SendSpec {
        tid: &tid,
        ..b.spec(&ident(12), &body)
    }));
    assert_eq!(response_to(&mut cb, &tid).and_then(|r| r.status), Some(200));
}

// R4975-7.1.1-b, R4975-7.1.1-c: a 10 000-octet message arrives at Bob in complete chunks of
// at most 2048 body octets, in Byte-Range order, `+` until the last, with the same report
// headers on every chunk.
#[test]
fn r4975_7_1_1_b_c_outbound_chunks_at_most_2048_in_order() {
    let server = server(&[]);
    let (a, mut ca) = member(&server, "alice");
    let (_b, mut cb) = member(&server, "bob");
    let body = cpim_body(&a.uri, ROOM, &content(10_000));
    let tid = ident(16);
    ca.write(&send_bytes(&SendSpec {
        tid: &tid,
        ..a.spec(&ident(12), &body)
    }));
    assert_eq!(response_to(&mut ca, &tid).and_then(|r| r.status), Some(200));
    let got = collect(&mut cb, QUIET);
    assert!(
        got.len() >= body.len().div_ceil(2048),
        "{} chunks",
        got.len()
    );
    let mut whole = Vec::new();
    for (i, m) in got.iter().enumerate() {
        assert!(m.body.len() <= 2048, "chunk {i}: {} octets", m.body.len());
        let (start, end, total) = m.byte_range().expect("Byte-Range");
        assert_eq!(start as usize, whole.len() + 1, "chunk {i} in order");
        assert_eq!(end, Some(start + m.body.len() as u64 - 1));
        assert_eq!(total, Some(body.len() as u64));
        assert_eq!(m.flag, if i + 1 == got.len() { b'$' } else { b'+' });
        assert_eq!(m.header("Message-ID"), got[0].header("Message-ID"));
        assert_eq!(m.header("Failure-Report"), got[0].header("Failure-Report"));
        assert_eq!(m.header("Success-Report"), got[0].header("Success-Report"));
        whole.extend_from_slice(&m.body);
    }
    assert_eq!(whole, body);
}

// IMPL-22: a recipient whose connection drops mid-message is removed from the message's
// recipients; the others get the rest.
#[test]
fn impl_22_recipient_connection_drop_mid_message_others_continue() {
    let server = server_with_timer(540_000, &[]);
    let (a, mut ca) = member(&server, "alice");
    let (_b, cb) = member(&server, "bob");
    let (_c, mut cc) = member(&server, "carol");
    let msg = Chunked::new(&a, &content(200), 2);
    let (t1, c1) = msg.chunk(&a, 0, None);
    ca.write(&c1);
    assert_eq!(response_to(&mut ca, &t1).and_then(|r| r.status), Some(200));
    assert_eq!(sends(&collect(&mut cc, QUIET)).len(), 1);
    drop(cb);
    std::thread::sleep(QUIET);
    let (t2, c2) = msg.chunk(&a, 1, None);
    ca.write(&c2);
    assert_eq!(response_to(&mut ca, &t2).and_then(|r| r.status), Some(200));
    let rest = collect(&mut cc, QUIET);
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].flag, b'$');
}
