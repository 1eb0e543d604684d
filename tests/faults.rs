//! Faults and slow peers (issue 5; RFC 7701 §6.4): a participant that stops reading its
//! MSRP connection is congested, then disconnected — BYE over SIP and its TCP connection
//! closed — while the others keep getting every message promptly and the server's memory
//! stays under its cap.
//!
//! The stuck participant's ring fills only after the kernel's socket buffers towards it are
//! full (a few MB on loopback), so the sender sends 16 KB messages.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::conformance::ok_to;
use common::msrp::cpim_payload;
use common::roster::limits_config;
use common::{Participant, Server, Transport, STEP};

/// What the stuck participant observed: when the BYE came, whether its TCP connection then
/// reached EOF, and its dialog's Call-ID.
struct StuckOutcome {
    bye_after: Duration,
    bye_call_id: Option<String>,
    own_call_id: Option<String>,
    closed: bool,
}

const CONTENT_BYTES: usize = 16 * 1024;
/// Messages A may be ahead of B (B is a healthy reader; the pacing only keeps the test
/// client from overrunning B's own ring).
const WINDOW: usize = 4;
/// The switch's congestion timeout in this test.
const CONGESTED_TIMEOUT_MS: u64 = 1_000;
/// Upper bound on messages; the disconnect normally comes after a few hundred.
const MAX_MESSAGES: usize = 4_000;
/// Messages sent after the BYE to show the room still works.
const AFTER_BYE: usize = 100;
/// Per-message latency bound from A's send to B's receipt.
const LATENCY_BOUND: Duration = Duration::from_millis(500);
const MEMORY_CAP: u64 = 1024 * 1024;
/// RSS beyond idle + cap: allocator slack and per-socket executor bookkeeping.
const ALLOWANCE: u64 = 1024 * 1024;
const TIME_LIMIT: Duration = Duration::from_secs(90);

fn content(i: usize) -> Vec<u8> {
    let mut text = format!("{i:05} ").into_bytes();
    text.resize(CONTENT_BYTES, b'x');
    text
}

// R7701-6.4-a R7701-6.4-b R7701-6.4-c R7701-6.4-e: a participant that never reads is
// congested, its copies dropped, and after `congested_timeout_ms` it gets a BYE and its
// TCP connection is closed; the reader's per-message latency stays under LATENCY_BOUND
// throughout and the server's RSS under idle + cap + allowance.
#[test]
fn r7701_6_4_e_stuck_reader_disconnected_others_keep_their_latency() {
    let started = Instant::now();
    let timeout = format!("congested_timeout_ms = {CONGESTED_TIMEOUT_MS}");
    let conf = limits_config(&[&timeout]);
    let cap = MEMORY_CAP.to_string();
    let server = Server::start(&[
        "--config",
        conf.to_str().expect("utf-8 path"),
        "--memory-cap",
        &cap,
    ]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut c = Participant::join_and_bind(server.sip, Transport::Tcp, "carol");
    let baseline = server.rss_bytes();

    // C never reads MSRP; it only waits for the focus's BYE, answers it, then checks that
    // its MSRP connection ends (reading what the kernel had buffered, up to EOF).
    let (bye_tx, bye_rx) = mpsc::channel::<()>();
    let stuck = std::thread::spawn(move || {
        let waited = Instant::now();
        let own_call_id = c.ok.header("Call-ID").map(str::to_string);
        let mut bye = None;
        while bye.is_none() && waited.elapsed() < TIME_LIMIT {
            match c.sip.recv(Duration::from_millis(200)) {
                Some(m) if m.method() == Some("BYE") => bye = Some(m),
                _ => {}
            }
        }
        let Some(bye) = bye else {
            return StuckOutcome {
                bye_after: waited.elapsed(),
                bye_call_id: None,
                own_call_id,
                closed: false,
            };
        };
        let bye_after = waited.elapsed();
        c.sip.send(ok_to(&bye).as_bytes());
        let _ = bye_tx.send(());
        let closed = c.conn().closed_within(Duration::from_secs(20));
        StuckOutcome {
            bye_after,
            bye_call_id: bye.header("Call-ID").map(str::to_string),
            own_call_id,
            closed,
        }
    });

    let (got_tx, got_rx) = mpsc::channel::<(usize, Instant)>();
    let reader = std::thread::spawn(move || {
        for i in 0..MAX_MESSAGES {
            let Some(body) = b.next_message(STEP) else {
                return i;
            };
            let at = Instant::now();
            let text = cpim_payload(&body);
            assert!(
                text == content(i),
                "B's message {i} is not the {i}th sent ({} bytes)",
                text.len()
            );
            if got_tx.send((i, at)).is_err() {
                return i + 1;
            }
        }
        MAX_MESSAGES
    });

    let mut sent_at: Vec<Instant> = Vec::new();
    let mut got_at: Vec<Instant> = Vec::new();
    let mut bye_at_message = None;
    let mut peak = baseline;
    for i in 0..MAX_MESSAGES {
        assert!(started.elapsed() < TIME_LIMIT, "took over {TIME_LIMIT:?}");
        if bye_at_message.is_none() && bye_rx.try_recv().is_ok() {
            bye_at_message = Some(i);
        }
        if bye_at_message.is_some_and(|m| i >= m + AFTER_BYE) {
            break;
        }
        while i >= got_at.len() + WINDOW {
            let (n, at) = got_rx
                .recv_timeout(STEP)
                .unwrap_or_else(|_| panic!("B stalled after {} messages", got_at.len()));
            assert_eq!(n, got_at.len());
            got_at.push(at);
        }
        sent_at.push(Instant::now());
        let (tid, _, _) = a.say(&content(i));
        let resp = a.response_to(&tid);
        assert_eq!(resp.status, Some(200), "message {i} answered {resp:?}");
        if i % 50 == 0 {
            peak = peak.max(server.rss_bytes());
        }
    }
    let sent = sent_at.len();
    while got_at.len() < sent {
        let Ok((n, at)) = got_rx.recv_timeout(STEP) else {
            break;
        };
        assert_eq!(n, got_at.len());
        got_at.push(at);
    }
    drop(got_rx);
    peak = peak.max(server.rss_bytes());
    let outcome = stuck.join().expect("stuck participant thread");
    let latencies: Vec<Duration> = sent_at
        .iter()
        .zip(&got_at)
        .map(|(s, g)| g.saturating_duration_since(*s))
        .collect();
    let worst = latencies.iter().max().copied().unwrap_or_default();
    let mean = latencies.iter().sum::<Duration>() / latencies.len().max(1) as u32;
    println!(
        "stuck reader: BYE after {:?} ({:?} messages), connection closed: {}; B got {}/{} \
         messages, latency mean {mean:?} worst {worst:?}; RSS idle {baseline} B peak {peak} B \
         (cap {MEMORY_CAP} B); {:?}",
        outcome.bye_after,
        bye_at_message,
        outcome.closed,
        got_at.len(),
        sent,
        started.elapsed()
    );
    drop(a);
    let _ = reader.join();

    let at = bye_at_message.expect("the stuck participant never got a BYE");
    assert!(at + AFTER_BYE <= sent, "too few messages after the BYE");
    assert_eq!(
        outcome.bye_call_id, outcome.own_call_id,
        "BYE for another dialog"
    );
    assert!(
        outcome.bye_after >= Duration::from_millis(CONGESTED_TIMEOUT_MS),
        "BYE after {:?}, before the congestion timeout",
        outcome.bye_after
    );
    assert!(
        outcome.closed,
        "the stuck participant's MSRP connection was not closed"
    );
    assert_eq!(got_at.len(), sent, "B missed messages");
    for (i, l) in latencies.iter().enumerate() {
        assert!(*l < LATENCY_BOUND, "message {i} took {l:?} to reach B");
    }
    assert!(
        peak < baseline + MEMORY_CAP + ALLOWANCE,
        "RSS peak {peak} exceeds idle {baseline} + cap {MEMORY_CAP} + allowance {ALLOWANCE}"
    );
}
