//! Issue 15, flow control and send rate over real loopback sockets: a client that writes
//! many requests at once and reads is never taken for one that does not read (RFC 4975
//! §7.1 responses; "not reading" is judged by the peer's TCP window,
//! `write_stall_timeout_ms`), and a participant flooding the room is slowed by its own
//! token buckets (`send_rate_*`, `send_burst_*`) through TCP backpressure while the
//! others' messages are delivered whole. tests/ROBUSTNESS.md ("A hostile peer") keeps the
//! figures.

mod common;

use std::io::Write as _;
use std::thread;
use std::time::{Duration, Instant};

use common::msrp::{cpim_body, MsrpConn, SendRequest};
use common::roster::limits_config;
use common::{ident, Participant, Server, Transport, ROOM, STEP};

/// `n` bodiless SENDs from `p` (wire example 5's shape), in one buffer; their tids.
fn bodiless_burst(p: &Participant, n: usize) -> (Vec<u8>, Vec<String>) {
    let mut bytes = Vec::new();
    let mut tids = Vec::new();
    for _ in 0..n {
        let tid = ident(12);
        bytes.extend(
            format!(
                "MSRP {tid} SEND\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: {}\r\n\
                 Byte-Range: 1-0/0\r\n-------{tid}$\r\n",
                p.answer.path,
                p.local_path,
                ident(10)
            )
            .into_bytes(),
        );
        tids.push(tid);
    }
    (bytes, tids)
}

// Issue 15 (low): a client that reads its socket was disconnected as "not reading" after
// writing 20 small requests at once (30 on `router`): their 200s overflowed the
// connection's control ring. 40 bodiless SENDs in one write now get 40 responses, in
// order, and the connection stays up (on tiny and on router).
#[test]
fn a_client_that_writes_40_requests_at_once_and_reads_gets_every_answer() {
    for profile in ["tiny", "router"] {
        let server = Server::start(&["--profile", profile]);
        let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
        let (burst, tids) = bodiless_burst(&alice, 40);
        alice.conn().write(&burst);
        for (i, tid) in tids.iter().enumerate() {
            let status = alice.response_to(tid).status;
            assert_eq!(status, Some(200), "{profile}: request {i}");
        }
        let (tid, _, _) = alice.say(b"still connected");
        assert_eq!(alice.response_to(&tid).status, Some(200), "{profile}");
    }
}

/// SEND of `text` (a whole CPIM message) from `p` to the room: its bytes.
fn say_bytes(p: &Participant, text: &[u8]) -> Vec<u8> {
    let body = cpim_body(&p.uri, ROOM, text);
    let len = body.len().to_string();
    let (tid, mid) = (ident(12), ident(12));
    SendRequest {
        tid: &tid,
        to_path: &p.answer.path,
        from_path: &p.local_path,
        message_id: &mid,
        range: ("1", &len, &len),
        content_type: Some("message/cpim"),
        body: &body,
        flag: '$',
    }
    .bytes()
}

/// Reads everything `conn` is sent for `limit`, answering nothing; the bytes read.
fn read_for(conn: &mut MsrpConn, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    let mut total = 0;
    for _ in 0..100_000 {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            break;
        };
        total += conn.read_some(left.min(Duration::from_millis(50)));
    }
    total
}

/// Alice's messages while Carol reads nothing: small enough (3,000 bytes) never to be
/// held back from a congested reader (RFC 7701 §6.4), at most this many (9 MB: past the
/// kernel's socket buffers towards Carol, about 4 MB on loopback).
const STALL_MESSAGES: usize = 3_000;
const STALL_MESSAGE_BYTES: usize = 3_000;
/// The write stall timeout of that test.
const STALL_TIMEOUT_MS: u64 = 1_000;

// A peer that never reads is still closed — once its TCP window has stayed closed for
// `write_stall_timeout_ms` (here 1 s, the congestion timeout left at 60 s): its session
// ends (the focus sends it BYE) — and Bob, who reads, gets every message meanwhile.
#[test]
fn a_client_that_never_reads_is_closed_after_the_write_stall_timeout() {
    let stall = format!("write_stall_timeout_ms = {STALL_TIMEOUT_MS}");
    // Alice's message rate is not what this test is about.
    let conf = limits_config(&[
        &stall,
        "send_rate_messages_per_s = 1_000_000",
        "send_burst_messages = 1_000_000",
    ]);
    let server = Server::start(&["--config", conf.to_str().expect("utf-8 path")]);
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut bob = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut carol = Participant::join_and_bind(server.sip, Transport::Udp, "carol");
    // Carol's receive buffer made small: her window closes sooner.
    rustix::net::sockopt::set_socket_recv_buffer_size(&carol.conn().stream, 4096)
        .expect("SO_RCVBUF");
    // Bob reads in a thread while Alice sends; Carol reads nothing.
    let mut bob_conn = bob.msrp.take().expect("bob's connection");
    let (goal_tx, goal_rx) = std::sync::mpsc::channel::<usize>();
    let reader = thread::spawn(move || {
        // Reads until told how much to expect and has it, within 20 s.
        let (deadline, mut total, mut goal) = (Instant::now() + Duration::from_secs(20), 0, None);
        while Instant::now() < deadline && goal.is_none_or(|g| total < g) {
            total += bob_conn.read_some(Duration::from_millis(50));
            goal = goal.or(goal_rx.try_recv().ok());
        }
        total
    });
    let text = vec![b'x'; STALL_MESSAGE_BYTES];
    let started = Instant::now();
    let (mut sent, mut bye) = (0, None);
    while sent < STALL_MESSAGES && started.elapsed() < Duration::from_secs(6) {
        for _ in 0..100 {
            let (tid, _, _) = alice.say(&text);
            assert_eq!(alice.response_to(&tid).status, Some(200), "message {sent}");
            sent += 1;
        }
        // Carol's SIP side: the BYE of a session lost on the MSRP side.
        bye = carol
            .sip
            .recv(Duration::from_millis(1))
            .filter(|m| m.method() == Some("BYE"));
        if bye.is_some() {
            break;
        }
    }
    if bye.is_none() {
        bye = carol
            .sip
            .recv(Duration::from_millis(STALL_TIMEOUT_MS * 3))
            .filter(|m| m.method() == Some("BYE"));
    }
    let closed_after = started.elapsed();
    goal_tx
        .send(sent * STALL_MESSAGE_BYTES)
        .expect("bob's reader");
    let bob_bytes = reader.join().expect("bob's reader");
    eprintln!(
        "stall: {sent} x {STALL_MESSAGE_BYTES} B sent; carol's BYE: {} after \
         {closed_after:?}; bob read {bob_bytes} bytes",
        bye.is_some()
    );
    assert!(
        bye.is_some(),
        "carol never read: closed after the stall timeout"
    );
    assert!(
        bob_bytes >= sent * STALL_MESSAGE_BYTES,
        "bob (reading) got every message: {bob_bytes} bytes"
    );
    let (tid, _, _) = alice.say(b"alice is still here");
    assert_eq!(alice.response_to(&tid).status, Some(200));
}

/// The flood: Mallory's messages and their size.
const FLOOD_MESSAGES: usize = 10;
const FLOOD_BYTES: usize = 60_000;
/// The send rate of the flood test, and its burst.
const RATE: usize = 200_000;
const BURST: usize = 120_000;
/// Bob's messages meanwhile, and their spacing.
const BOB_MESSAGES: usize = 20;
const BOB_EVERY: Duration = Duration::from_millis(50);

// Issue 15 (low): a participant sending 60 KB messages flat out cost the others 3 % of
// their messages and 127 ms of latency. Its token bucket now paces it: the switch stops
// reading its connection (TCP backpressure, nothing of its is lost), so by the time Bob
// has sent 20 messages Carol has received at most the burst plus the rate's worth of the
// flood, every one of Bob's messages reaches Carol in order, and the whole flood arrives
// in the end.
#[test]
fn a_flooding_sender_is_paced_and_the_others_lose_nothing() {
    let conf = limits_config(&[
        &format!("send_rate_bytes_per_s = {RATE}"),
        &format!("send_burst_bytes = {BURST}"),
    ]);
    let server = Server::start(&["--config", conf.to_str().expect("utf-8 path")]);
    let mut mallory = Participant::join_and_bind(server.sip, Transport::Udp, "mallory");
    let mut bob = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut carol = Participant::join_and_bind(server.sip, Transport::Udp, "carol");
    let flood: Vec<u8> = (0..FLOOD_MESSAGES)
        .flat_map(|_| say_bytes(&mallory, &vec![b'm'; FLOOD_BYTES]))
        .collect();
    let mut mallory_writer = mallory.conn().stream.try_clone().expect("mallory's socket");
    let started = Instant::now();
    let flooder = thread::spawn(move || {
        mallory_writer
            .write_all(&flood)
            .expect("the flood is written");
        started.elapsed()
    });
    let bob_texts: Vec<Vec<u8>> = (0..BOB_MESSAGES)
        .map(|i| format!("bob {i:02}").into_bytes())
        .collect();
    let bob_bytes: Vec<Vec<u8>> = bob_texts.iter().map(|t| say_bytes(&bob, t)).collect();
    let mut bob_conn = bob.msrp.take().expect("bob's connection");
    let speaker = thread::spawn(move || {
        let mut sent = Vec::new();
        for b in &bob_bytes {
            sent.push(Instant::now());
            bob_conn.write(b);
            thread::sleep(BOB_EVERY);
        }
        // Bob keeps reading (his responses, the copies) until the test is over.
        read_for(&mut bob_conn, Duration::from_secs(1));
        sent
    });
    let mut from_bob: Vec<(usize, Instant)> = Vec::new();
    let (mut flood_bytes, mut flood_messages, mut flood_by_bob_end) = (0, 0, None);
    let deadline = started + Duration::from_secs(15);
    while Instant::now() < deadline
        && (from_bob.len() < BOB_MESSAGES || flood_messages < FLOOD_MESSAGES)
    {
        let Some(m) = carol.next_send(Duration::from_millis(100)) else {
            continue;
        };
        let text = m.cpim_text();
        if let Some(i) = bob_texts.iter().position(|t| *t == text) {
            from_bob.push((i, Instant::now()));
            if from_bob.len() == BOB_MESSAGES {
                flood_by_bob_end = Some((flood_bytes, started.elapsed()));
            }
        } else {
            // Mallory's, in outbound chunks of 2048 octets.
            flood_bytes += m.body.len();
            if m.byte_range().is_some_and(|(_, end, total)| end == total) {
                flood_messages += 1;
            }
        }
    }
    let flood_took = flooder.join().expect("the flooder");
    let sent = speaker.join().expect("bob");
    let delays: Vec<Duration> = from_bob
        .iter()
        .map(|&(i, at)| at.saturating_duration_since(sent[i]))
        .collect();
    let worst = delays.iter().max().copied().unwrap_or_default();
    let mean = delays.iter().sum::<Duration>() / delays.len().max(1) as u32;
    eprintln!(
        "flood: {FLOOD_MESSAGES} x {FLOOD_BYTES} B written in {flood_took:?} (rate {RATE} B/s, \
         burst {BURST} B); bob's {} of {BOB_MESSAGES} arrived, latency mean {mean:?} worst \
         {worst:?}; flood at carol when bob's last arrived: {flood_by_bob_end:?}; flood \
         messages at carol: {flood_messages}",
        from_bob.len()
    );
    assert_eq!(
        from_bob.iter().map(|&(i, _)| i).collect::<Vec<_>>(),
        (0..BOB_MESSAGES).collect::<Vec<_>>(),
        "every one of Bob's messages reached Carol, in order"
    );
    let (bytes, elapsed) = flood_by_bob_end.expect("bob's messages all arrived");
    // What the buckets let through by then, plus one message in flight.
    let allowed = BURST + (RATE as f64 * elapsed.as_secs_f64()) as usize + FLOOD_BYTES;
    assert!(
        bytes <= allowed,
        "the flooder is paced: {bytes} bytes at Carol after {elapsed:?} (at most {allowed})"
    );
    assert!(
        bytes < FLOOD_MESSAGES * FLOOD_BYTES,
        "not the whole flood at once"
    );
    assert_eq!(
        flood_messages, FLOOD_MESSAGES,
        "the flooder loses nothing, it only waits"
    );
    assert!(flood_took < STEP * 3, "the flood's write finished");
    let (tid, _, _) = mallory.say(b"done");
    assert_eq!(mallory.response_to(&tid).status, Some(200));
}
