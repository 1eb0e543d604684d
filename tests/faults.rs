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
use common::lossy_udp::{self, DropRule, LossyRelay, Toward};
use common::msrp::{bodiless_send, cpim_payload, MsrpConn};
use common::participant::{invite, sdp_offer, Answer};
use common::roster::{limits_config, roster_of, Subscriber};
use common::sip::{tag_of, uri_of, SipClient, SipMessage};
use common::{ident, Participant, Server, Transport, STEP};

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
    let fds_before = server.open_fds();
    let (bye_tx, bye_rx) = mpsc::channel::<()>();
    // C starts reading (to see its EOF) only once the main thread has seen the server drop
    // C's connection on its own — a peer that never reads must still be closed.
    let (go_tx, go_rx) = mpsc::channel::<()>();
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
        let _ = go_rx.recv_timeout(Duration::from_secs(20));
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
    // The message index by which the server had closed C's MSRP socket (fd count down).
    let mut fd_closed = None;
    let mut peak = baseline;
    for i in 0..MAX_MESSAGES {
        assert!(started.elapsed() < TIME_LIMIT, "took over {TIME_LIMIT:?}");
        if bye_at_message.is_none() && bye_rx.try_recv().is_ok() {
            bye_at_message = Some(i);
        }
        if bye_at_message.is_some() && fd_closed.is_none() && server.open_fds() < fds_before {
            fd_closed = Some(i);
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
    let fd_deadline = Instant::now() + STEP;
    while fd_closed.is_none() && Instant::now() < fd_deadline {
        if server.open_fds() < fds_before {
            fd_closed = Some(sent);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = go_tx.send(());
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
        "stuck reader: BYE after {:?} ({:?} messages), server closed its socket by message \
         {fd_closed:?}, client saw EOF: {}; B got {}/{} \
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
        fd_closed.is_some(),
        "the server kept the never-reading participant's socket open ({fds_before} fds)"
    );
    assert!(
        outcome.closed,
        "the stuck participant's MSRP connection did not reach EOF"
    );
    assert_eq!(got_at.len(), sent, "B missed messages");
    for (i, l) in latencies.iter().enumerate() {
        assert!(*l < LATENCY_BOUND, "message {i} took {l:?} to reach B");
    }
    // Under qemu-user the RSS read is the emulator's (see boards/test); boards/footprint
    // measures parlor itself in a real guest.
    if std::env::var_os("PARLOR_TEST_EMULATED").is_none() {
        assert!(
            peak < baseline + MEMORY_CAP + ALLOWANCE,
            "RSS peak {peak} exceeds idle {baseline} + cap {MEMORY_CAP} + allowance {ALLOWANCE}"
        );
    }
}

/// Large messages A sends while B is not reading: well past the kernel's socket buffers
/// towards B (about 4 MB on loopback) so B's ring fills and B becomes congested.
const BURST: usize = 400;
/// Congestion timeout of the brief-stall test: longer than the burst takes.
const BRIEF_STALL_TIMEOUT_MS: u64 = 4_000;

// R7701-6.4-c R7701-6.4-d: a participant that stops reading for less than the congestion
// timeout is congested, gets the one notice, loses (large) copies meanwhile — and is not
// disconnected: once it reads again every new message reaches it and no BYE comes.
#[test]
fn r7701_6_4_c_d_briefly_stalled_reader_gets_a_notice_and_stays() {
    let started = Instant::now();
    let timeout = format!("congested_timeout_ms = {BRIEF_STALL_TIMEOUT_MS}");
    let conf = limits_config(&[&timeout]);
    let server = Server::start(&["--config", conf.to_str().expect("utf-8 path")]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    for i in 0..BURST {
        let (tid, _, _) = a.say(&content(i));
        assert_eq!(a.response_to(&tid).status, Some(200), "message {i}");
    }
    let burst_took = started.elapsed();
    assert!(
        burst_took < Duration::from_millis(BRIEF_STALL_TIMEOUT_MS / 2),
        "the burst took {burst_took:?}: too slow a machine for this test"
    );
    // B reads again: what was queued for it, including the notice.
    let (mut large, mut notices) = (0, 0);
    for _ in 0..BURST + 10 {
        let Some(body) = b.next_message(Duration::from_millis(500)) else {
            break;
        };
        let text = cpim_payload(&body);
        if text.len() == CONTENT_BYTES {
            large += 1;
        } else if String::from_utf8_lossy(&text).contains("not reading its messages fast enough") {
            notices += 1;
        }
    }
    assert_eq!(notices, 1, "one congestion notice");
    assert!(
        large < BURST,
        "no copy was dropped ({large} of {BURST} arrived)"
    );
    // Caught up: new messages, large and small, all arrive; no BYE.
    for i in 0..10 {
        let text = format!("after the stall {i}");
        let payload = if i % 2 == 0 {
            text.into_bytes()
        } else {
            content(i)
        };
        let (tid, _, _) = a.say(&payload);
        assert_eq!(a.response_to(&tid).status, Some(200));
        let got = b.next_message(STEP).expect("B gets messages again");
        assert_eq!(cpim_payload(&got), payload, "message {i} after the stall");
    }
    let quiet_until = Instant::now() + Duration::from_millis(BRIEF_STALL_TIMEOUT_MS);
    while let Some(m) = b
        .sip
        .recv(quiet_until.saturating_duration_since(Instant::now()))
    {
        assert_ne!(
            m.method(),
            Some("BYE"),
            "a reader that caught up was disconnected"
        );
    }
    println!(
        "brief stall: burst of {BURST} took {burst_took:?}; B got {large} of them and \
         {notices} notice; 10/10 after catching up; no BYE"
    );
}

// ---------------------------------------------------------------------------------------
// SIP over UDP with loss (RFC 3261 §17, §13.3.1.4): a relay drops one datagram; the
// client's and the server's transaction timers recover, with one dialog and one join.
// ---------------------------------------------------------------------------------------

/// T1 / T2 of the loss tests: 64 × T1 = 3.2 s.
const T1: Duration = Duration::from_millis(50);
const T2: Duration = Duration::from_millis(200);
/// A join whose MSRP session is not bound by then is BYE'd: a ghost second join made
/// from a retransmitted INVITE would show up as a BYE within the listening window.
const JOIN_BIND_TIMEOUT_MS: u64 = 1_000;
/// Listening after the ACK: past timer H/B (64 × T1) and the join-bind timeout.
const SETTLE: Duration = Duration::from_millis(64 * 50 + 800);

fn loss_server() -> Server {
    let t1 = format!("sip_t1_ms = {}", T1.as_millis());
    let t2 = format!("sip_t2_ms = {}", T2.as_millis());
    let bind = format!("join_bind_timeout_ms = {JOIN_BIND_TIMEOUT_MS}");
    let conf = limits_config(&[&t1, &t2, &bind]);
    Server::start(&["--config", conf.to_str().expect("utf-8 path")])
}

/// What a client heard while listening after its ACK.
#[derive(Debug, Default)]
struct Heard {
    /// 200s to the INVITE (retransmissions), each re-ACKed.
    oks: usize,
    /// BYEs from the focus (answered 200).
    byes: usize,
}

/// A UDP user agent client behind a lossy relay that runs its own RFC 3261 §17.1 timers.
struct LossyUac {
    sip: SipClient,
    uri: String,
    call_id: String,
    from_tag: String,
    to_tag: String,
    target: String,
    local_path: String,
    answer: Answer,
    msrp: Option<MsrpConn>,
    cseq: u32,
}

impl LossyUac {
    fn new(relay: &LossyRelay, name: &str) -> LossyUac {
        LossyUac {
            sip: relay.client(),
            uri: format!("sip:{name}@example.com"),
            call_id: format!("{}@127.0.0.1", ident(16)),
            from_tag: ident(12),
            to_tag: String::new(),
            target: String::new(),
            local_path: format!("msrp://127.0.0.1:9/{};tcp", ident(16)),
            answer: Answer::default(),
            msrp: None,
            cseq: 1,
        }
    }

    /// The INVITE client transaction (timer A doubling from T1 until any response, timer B
    /// = 64 × T1); returns the first 200 and how often the INVITE was sent. Sends the ACK.
    fn invite(&mut self) -> (SipMessage, usize) {
        let name = self.uri.trim_start_matches("sip:").split('@').next();
        let sdp = sdp_offer(
            name.unwrap_or("x"),
            &self.local_path,
            "active",
            Some("nickname private-messages"),
        );
        let req = invite(&self.sip, &self.uri, &self.call_id, &self.from_tag, &sdp);
        let started = Instant::now();
        let timer_b = started + 64 * T1;
        let (mut sends, mut interval, mut next) = (0, T1, started);
        let mut proceeding = false;
        for _ in 0..1_000 {
            let now = Instant::now();
            assert!(now < timer_b, "timer B: no final response to the INVITE");
            if !proceeding && now >= next {
                self.sip.send(req.as_bytes());
                sends += 1;
                next = now + interval;
                interval *= 2;
            }
            let until = if proceeding {
                timer_b
            } else {
                next.min(timer_b)
            };
            let Some(m) = self
                .sip
                .recv(until.saturating_duration_since(Instant::now()))
            else {
                continue;
            };
            match m.status() {
                Some(code) if m.cseq_method() == Some("INVITE") && code < 200 => {
                    proceeding = true;
                }
                Some(200) if m.cseq_method() == Some("INVITE") => {
                    self.to_tag = m.header("To").and_then(tag_of).expect("To-tag");
                    self.target = m.header("Contact").map(uri_of).expect("Contact");
                    self.answer = Answer::parse(&m.body_text());
                    self.ack();
                    return (m, sends);
                }
                Some(code) if m.cseq_method() == Some("INVITE") => {
                    panic!("INVITE answered {code}")
                }
                _ => {}
            }
        }
        panic!("INVITE transaction did not end");
    }

    fn in_dialog(&self, method: &str, cseq: u32) -> String {
        common::crlf(&[
            &format!("{method} {} SIP/2.0", self.target),
            &format!(
                "Via: SIP/2.0/UDP {};branch=z9hG4bK{};rport",
                self.sip.local,
                ident(12)
            ),
            "Max-Forwards: 70",
            &format!("From: <{}>;tag={}", self.uri, self.from_tag),
            &format!("To: <{}>;tag={}", common::ROOM, self.to_tag),
            &format!("Call-ID: {}", self.call_id),
            &format!("CSeq: {cseq} {method}"),
            "Content-Length: 0",
            "",
        ])
    }

    /// ACK for the 2xx (RFC 3261 §13.2.2.4: a new transaction, sent for every 2xx copy).
    fn ack(&mut self) {
        let ack = self.in_dialog("ACK", 1);
        self.sip.send(ack.as_bytes());
    }

    /// Binds the MSRP session (so the join-bind timer does not end the dialog).
    fn bind(&mut self) {
        let mut conn = MsrpConn::connect(self.answer.msrp_addr());
        let tid = ident(12);
        let req = bodiless_send(&tid, &self.answer.path, &self.local_path);
        conn.write(&req);
        let resp = conn.recv(STEP).expect("response to the binding SEND");
        assert_eq!(resp.status, Some(200), "binding SEND answered {resp:?}");
        self.msrp = Some(conn);
    }

    /// Listens for `window`: re-ACKs every 2xx retransmission, answers any BYE.
    fn listen(&mut self, window: Duration) -> Heard {
        let until = Instant::now() + window;
        let mut heard = Heard::default();
        for _ in 0..1_000 {
            let Some(m) = self
                .sip
                .recv(until.saturating_duration_since(Instant::now()))
            else {
                break;
            };
            if m.status() == Some(200) && m.cseq_method() == Some("INVITE") {
                heard.oks += 1;
                self.ack();
            } else if m.method() == Some("BYE") {
                heard.byes += 1;
                self.sip.send(ok_to(&m).as_bytes());
            }
        }
        heard
    }

    /// The BYE client transaction (timer E from T1 doubling to T2, timer F = 64 × T1);
    /// returns the final response and how often the BYE was sent.
    fn bye(&mut self) -> (SipMessage, usize) {
        self.cseq += 1;
        let req = self.in_dialog("BYE", self.cseq);
        let started = Instant::now();
        let timer_f = started + 64 * T1;
        let (mut sends, mut interval, mut next) = (0, T1, started);
        for _ in 0..1_000 {
            let now = Instant::now();
            assert!(now < timer_f, "timer F: no final response to the BYE");
            if now >= next {
                self.sip.send(req.as_bytes());
                sends += 1;
                next = now + interval;
                interval = (interval * 2).min(T2);
            }
            let Some(m) = self
                .sip
                .recv(next.saturating_duration_since(Instant::now()))
            else {
                continue;
            };
            if m.status().is_some_and(|c| c >= 200) && m.cseq_method() == Some("BYE") {
                return (m, sends);
            }
        }
        panic!("BYE transaction did not end");
    }
}

/// How many endpoints the roster shows for `uri` (one per join).
fn endpoints_of(server: &Server, uri: &str) -> usize {
    let mut watcher = Subscriber::subscribe(server.sip);
    let roster = roster_of(&watcher.expect_notify());
    roster.user(uri).map_or(0, |u| u.endpoints.len())
}

/// Joins through a relay applying `rules`, binds, listens past every timer, and leaves:
/// (INVITE sends, first 200, what was heard after the ACK, endpoints in the roster, BYE
/// sends, BYE's final response, what the relay dropped).
struct LossRun {
    invites: usize,
    heard: Heard,
    endpoints: usize,
    byes_sent: usize,
    bye_final: SipMessage,
    dropped: Vec<(Toward, String)>,
}

fn loss_run(name: &str, rules: &[DropRule]) -> LossRun {
    let server = loss_server();
    let relay = LossyRelay::start(server.sip, rules);
    let mut uac = LossyUac::new(&relay, name);
    let (ok, invites) = uac.invite();
    assert!(ok.header("To").and_then(tag_of).is_some());
    uac.bind();
    let heard = uac.listen(SETTLE);
    let endpoints = endpoints_of(&server, &uac.uri);
    let (bye_final, byes_sent) = uac.bye();
    println!(
        "{name}: dropped {:?}; INVITE sent {invites}×; after the ACK {:?}; roster endpoints \
         {endpoints}; BYE sent {byes_sent}×, answered {}",
        relay.dropped(),
        heard,
        bye_final.start
    );
    LossRun {
        invites,
        heard,
        endpoints,
        byes_sent,
        bye_final,
        dropped: relay.dropped(),
    }
}

/// Common to every loss case: one join, the dialog lived until the client's BYE, which got
/// its 200.
fn assert_one_dialog(run: &LossRun) {
    assert_eq!(run.endpoints, 1, "joined {} times", run.endpoints);
    assert_eq!(
        run.heard.byes, 0,
        "the focus ended the dialog (or a ghost join)"
    );
    assert_eq!(
        run.bye_final.status(),
        Some(200),
        "BYE answered {}",
        run.bye_final.start
    );
}

// R3261-17.1.1-a (timer A) / R3261-17.2.1-a: the first INVITE is lost; the client's
// retransmission joins once.
#[test]
fn r3261_17_2_1_a_first_invite_lost_client_retransmits_one_join() {
    let run = loss_run(
        "lostinvite",
        &[DropRule {
            toward: Toward::Server,
            nth: 1,
            matches: |m| lossy_udp::request(m, "INVITE"),
        }],
    );
    assert_eq!(run.dropped.len(), 1, "{:?}", run.dropped);
    assert!(run.invites >= 2, "INVITE sent {} times", run.invites);
    assert_one_dialog(&run);
}

// R3261-17.2.1-a (RFC 3261 §13.3.1.4): the 100 and the first 200 are lost; the 200 is
// retransmitted until the ACK (or the client's INVITE retransmission, whichever timer
// fires first, gets it again: conformance_focus::r3261_17_2_1_a_invite_retransmission_
// absorbed shows that path alone); either way one join.
#[test]
fn r3261_17_2_1_a_first_200_lost_retransmitted_until_ack_one_join() {
    let run = loss_run(
        "lostok",
        &[
            DropRule {
                toward: Toward::Client,
                nth: 1,
                matches: |m| lossy_udp::response(m, 100, "INVITE"),
            },
            DropRule {
                toward: Toward::Client,
                nth: 1,
                matches: |m| lossy_udp::response(m, 200, "INVITE"),
            },
        ],
    );
    assert!(
        run.dropped
            .iter()
            .any(|(_, l)| l.starts_with("SIP/2.0 200")),
        "{:?}",
        run.dropped
    );
    assert_one_dialog(&run);
}

// R3261-17.2.1-a (RFC 3261 §13.3.1.4): the ACK is lost; the 200 is retransmitted, the
// client ACKs it again, and the dialog stays (no BYE after 64 × T1).
#[test]
fn r3261_17_2_1_a_ack_lost_200_retransmitted_reacked_dialog_stays() {
    let run = loss_run(
        "lostack",
        &[DropRule {
            toward: Toward::Server,
            nth: 1,
            matches: |m| lossy_udp::request(m, "ACK"),
        }],
    );
    assert_eq!(run.dropped.len(), 1, "{:?}", run.dropped);
    assert!(
        run.heard.oks >= 1,
        "the 200 was not retransmitted after the lost ACK"
    );
    assert_one_dialog(&run);
}

// R3261-17.2.2-a / R3261-17.1-a (timer E): the 200 to the client's BYE is lost; the BYE
// is retransmitted and answered 200 again (not 481).
#[test]
fn r3261_17_2_2_a_bye_200_lost_bye_retransmitted_answered_again() {
    let run = loss_run(
        "lostbyeok",
        &[DropRule {
            toward: Toward::Client,
            nth: 1,
            matches: |m| lossy_udp::response(m, 200, "BYE"),
        }],
    );
    assert_eq!(run.dropped.len(), 1, "{:?}", run.dropped);
    assert!(run.byes_sent >= 2, "BYE sent {} times", run.byes_sent);
    assert_one_dialog(&run);
}
