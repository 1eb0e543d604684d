//! A participant that never reads (RFC 7701 §6.4 congestion) costs the others nothing and
//! the server no memory beyond its cap: 2000 messages from A all reach B in order while
//! C's socket stays unread, and the server's RSS stays under cap + allowance.
//!
//! The messages carry 8 KB, not 1 KB: 2000 × 1 KB (≈ 2.6 MB on the wire) fits entirely in
//! the loopback socket buffers the kernel grants C's connection (tcp_wmem allows up to
//! 4 MiB), so C's ring never filled and the drop path went untested; 2000 × 8 KB (≈ 16 MB)
//! fills them and then C's ring (the server logs "outbound ring full, dropping copies").

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::msrp::cpim_payload;
use common::{Participant, Server, Transport, STEP};

const MESSAGES: usize = 2000;
const CONTENT_BYTES: usize = 8 * 1024;
/// Messages A may be ahead of B (test-side pacing so B's own ring never overflows; C gets
/// no such courtesy).
const WINDOW: usize = 4;
/// The memory cap the server runs with.
const MEMORY_CAP: u64 = 1024 * 1024;
/// RSS allowed beyond the idle server's RSS plus the cap: allocator slack and the
/// executor's per-task and per-socket bookkeeping, which the cap does not count.
const ALLOWANCE: u64 = 1024 * 1024;
const TIME_LIMIT: Duration = Duration::from_secs(60);

fn content(i: usize) -> Vec<u8> {
    let mut text = format!("{i:05} ").into_bytes();
    text.resize(CONTENT_BYTES, b'x');
    text
}

// R7701-6.4-a R7701-6.4-b R7701-6.4-c (congestion: copies for a participant whose ring
// is full are dropped; others keep being served; memory stays bounded).
#[test]
fn slow_reader_does_not_hold_up_others_or_grow_memory() {
    let started = Instant::now();
    let cap = MEMORY_CAP.to_string();
    let server = Server::start(&["--memory-cap", &cap]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let c = Participant::join_and_bind(server.sip, Transport::Udp, "carol");
    let baseline = server.rss_bytes();

    let (progress_tx, progress_rx) = mpsc::channel::<usize>();
    let reader = std::thread::spawn(move || {
        for i in 0..MESSAGES {
            let Some(body) = b.next_message(STEP) else {
                return i;
            };
            let text = cpim_payload(&body);
            let want = content(i);
            assert!(
                text == want,
                "B's message {i} is not the {i}th sent: {} bytes starting {:?}",
                text.len(),
                String::from_utf8_lossy(&text[..text.len().min(16)])
            );
            if progress_tx.send(i + 1).is_err() {
                return i + 1;
            }
        }
        MESSAGES
    });

    let mut received_by_b = 0;
    let mut peak = baseline;
    for i in 0..MESSAGES {
        assert!(
            started.elapsed() < TIME_LIMIT,
            "took longer than {TIME_LIMIT:?}"
        );
        while i >= received_by_b + WINDOW {
            received_by_b = progress_rx
                .recv_timeout(STEP)
                .unwrap_or_else(|_| panic!("B stalled after {received_by_b} messages"));
        }
        let (tid, _, _) = a.say(&content(i));
        let resp = a.response_to(&tid);
        assert_eq!(resp.status, Some(200), "message {i} answered {resp:?}");
        if i % 100 == 0 {
            peak = peak.max(server.rss_bytes());
        }
    }
    let got = reader.join().expect("reader thread");
    peak = peak.max(server.rss_bytes());
    println!(
        "slow reader: B got {got}/{MESSAGES}; server RSS idle {baseline} B, peak {peak} B, \
         cap {MEMORY_CAP} B, allowance {ALLOWANCE} B, {:?}",
        started.elapsed()
    );
    assert_eq!(got, MESSAGES, "B missed messages");
    // Under qemu-user (boards/test sets PARLOR_TEST_EMULATED) the RSS read is the
    // emulator's, whose translation cache grows with every new code path; parlor's own
    // memory on the board is measured in a real guest by `boards/footprint`.
    if std::env::var_os("PARLOR_TEST_EMULATED").is_none() {
        assert!(
            peak < baseline + MEMORY_CAP + ALLOWANCE,
            "RSS peak {peak} exceeds idle {baseline} + cap {MEMORY_CAP} + allowance {ALLOWANCE}"
        );
    }
    drop(c);
}
