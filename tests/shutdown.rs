//! SIGTERM (issue 3; RFC 3261 §15.1.1 BYE, RFC 6665 §4.2.2 `terminated;reason=noresource`):
//! every participant gets a BYE, every subscriber a terminating NOTIFY, new dialogs are
//! refused with 503 while draining, and the process exits 0 — at once when everything was
//! answered, after `shutdown_grace_ms` otherwise.

mod common;

use std::time::{Duration, Instant};

use common::roster::{limits_config, next_request, subscribe_request, Subscriber};
use common::sip::SipClient;
use common::{ident, signal, Participant, Server, Transport, ROOM, STEP};

fn server_with(lines: &[&str]) -> Server {
    let config = limits_config(lines);
    let path = config.to_str().expect("utf-8 temp path").to_string();
    let server = Server::start(&["--config", &path]);
    // Read at startup (before the listening line): no longer needed.
    let _ = std::fs::remove_file(&config);
    server
}

// SIGTERM: BYE to each participant, terminated NOTIFY to each subscriber, exit 0.
#[test]
fn sigterm_byes_participants_ends_subscriptions_and_exits_0() {
    let mut server = server_with(&["notify_interval_ms = 100", "shutdown_grace_ms = 8000"]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Tcp, "bob");
    let mut sub = Subscriber::subscribe(server.sip);
    let (initial, _) = sub.expect_full_roster();
    assert_eq!(initial.users.len(), 2, "initial roster");

    let start = Instant::now();
    signal(server.pid(), "TERM");
    let end = sub.expect_notify();
    assert_eq!(
        end.header("Subscription-State"),
        Some("terminated;reason=noresource")
    );
    let (a_call, ..) = a.dialog_ids();
    let bye_a = next_request(&mut a.sip, "BYE", STEP, true).expect("BYE to alice (UDP)");
    assert_eq!(bye_a.header("Call-ID"), Some(a_call.as_str()));
    let (b_call, ..) = b.dialog_ids();
    let bye_b = next_request(&mut b.sip, "BYE", STEP, true).expect("BYE to bob (TCP)");
    assert_eq!(bye_b.header("Call-ID"), Some(b_call.as_str()));

    let status = server.wait_exit(Duration::from_secs(6));
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(status.code(), Some(0));
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "exited when everything was answered, not after the 8 s grace"
    );
}

// While draining, new INVITE/SUBSCRIBE get 503; unanswered BYEs end after the grace.
#[test]
fn sigterm_refuses_new_dialogs_and_exits_after_the_grace() {
    let mut server = server_with(&["shutdown_grace_ms = 1500"]);
    let mut a = Participant::join(server.sip, Transport::Udp, "alice");
    let start = Instant::now();
    signal(server.pid(), "TERM");
    // Do not answer the BYE: the server keeps retransmitting until the grace ends.
    let bye = next_request(&mut a.sip, "BYE", STEP, false).expect("BYE to alice");
    assert!(bye.header("Via").is_some());

    let mut probe = SipClient::udp(server.sip);
    let req = subscribe_request(
        &probe,
        ROOM,
        "sip:late@example.com",
        &ident(10),
        None,
        &format!("{}@127.0.0.1", ident(16)),
        1,
        &["Event: conference"],
    );
    probe.send(req.as_bytes());
    assert_eq!(probe.final_response("SUBSCRIBE").status(), Some(503));
    let mut late = SipClient::udp(server.sip);
    let sdp = common::participant::sdp_offer("late", "msrp://127.0.0.1:9/x;tcp", "active", None);
    let invite = common::participant::invite(
        &late,
        "sip:late@example.com",
        &format!("{}@127.0.0.1", ident(16)),
        &ident(10),
        &sdp,
    );
    late.send(invite.as_bytes());
    assert_eq!(late.final_response("INVITE").status(), Some(503));

    let status = server.wait_exit(Duration::from_secs(8));
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        start.elapsed() >= Duration::from_millis(1400),
        "waited for the grace: {:?}",
        start.elapsed()
    );
}

// Issue 14: on SIGTERM the MSRP connections used to close about 60 µs after the BYEs went
// out, before any answer: clients saw the drop first, sent their own BYE and got 481. Each
// participant's MSRP connection now stays open (and keeps working) until its BYE is
// answered; then it closes, and the server exits 0 once every BYE is answered.
#[test]
fn sigterm_keeps_msrp_open_until_the_bye_is_answered() {
    let mut server = server_with(&["shutdown_grace_ms = 8000"]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Tcp, "bob");
    signal(server.pid(), "TERM");
    let bye_a = next_request(&mut a.sip, "BYE", STEP, false).expect("BYE to alice");
    let bye_b = next_request(&mut b.sip, "BYE", STEP, false).expect("BYE to bob");
    assert!(
        !a.conn().closed_within(Duration::from_millis(500)),
        "alice's MSRP connection closed before she answered the BYE"
    );
    assert!(
        !b.conn().closed_within(Duration::from_millis(100)),
        "bob's MSRP connection closed before he answered the BYE"
    );
    a.sip.send(&common::roster::response_to(&bye_a, 200, "OK"));
    assert!(
        a.conn().closed_within(STEP),
        "alice's connection outlived her answered BYE"
    );
    assert!(
        !b.conn().closed_within(Duration::from_millis(200)),
        "bob's connection closed although his BYE is still unanswered"
    );
    assert!(server.is_running(), "exited with a BYE unanswered");
    b.sip.send(&common::roster::response_to(&bye_b, 200, "OK"));
    assert!(b.conn().closed_within(STEP));
    let status = server.wait_exit(Duration::from_secs(6));
    assert_eq!(status.code(), Some(0), "{status:?}");
}
