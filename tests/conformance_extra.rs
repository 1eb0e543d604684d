//! Socket tests for conformance-table rows (tests/CONFORMANCE.md) that had no test of their
//! own: the xcon nickname namespace in the roster (RFC 7701 §9.6, A9), the roster update
//! after MSRP connection loss (IMPL-11), fair interleaving of concurrent messages to one
//! recipient (RFC 4975 §7.1.1), the Byte-Range of a late failure REPORT (RFC 4975 §7.1.4),
//! the plain 200 to a valid SEND (RFC 7701 §6.3), and SUBSCRIBE in the OPTIONS Allow list
//! (RFC 3261 §11).

mod common;
#[path = "common/member.rs"]
mod member;

use std::time::{Duration, Instant};

use common::msrp::{cpim_body, MsrpMessage};
use common::roster::{limits_config, next_request, nickname, roster_of, Roster, Subscriber};
use common::sip::SipClient;
use common::{ident, Participant, Server, Transport, QUIET, ROOM, STEP};
use member::{collect, config_file, reply, response_to, send_bytes, Member, Offer, SendSpec};

/// A server whose NOTIFY interval is short (roster changes show within a test step).
fn roster_server() -> Server {
    let config = limits_config(&["notify_interval_ms = 100"]);
    let path = config.to_str().expect("utf-8 temp path").to_string();
    let server = Server::start(&["--config", &path]);
    // Read at startup (before the listening line): no longer needed.
    let _ = std::fs::remove_file(&config);
    server
}

/// NOTIFYs (answered 200) until one satisfies `want`; returns it with its body. Panics after
/// STEP or 50 NOTIFYs.
fn notify_until(sub: &mut Subscriber, want: impl Fn(&Roster) -> bool) -> (Roster, String) {
    let deadline = Instant::now() + STEP;
    let mut seen = Vec::new();
    for _ in 0..50 {
        let left = deadline.saturating_duration_since(Instant::now());
        let n = sub
            .next_notify(left)
            .unwrap_or_else(|| panic!("no matching NOTIFY; saw {seen:#?}"));
        let r = roster_of(&n);
        if want(&r) {
            return (r, n.body_text());
        }
        seen.push(r);
    }
    panic!("no matching NOTIFY among 50: {seen:#?}");
}

/// The `<user …>` start tag for `entity` in a conference-info body.
fn user_tag<'a>(body: &'a str, entity: &str) -> &'a str {
    let key = format!("entity=\"{entity}\"");
    let at = body
        .match_indices("<user ")
        .map(|(i, _)| i)
        .find(|&i| {
            body[i..]
                .split('>')
                .next()
                .is_some_and(|t| t.contains(&key))
        })
        .unwrap_or_else(|| panic!("no <user> for {entity}:\n{body}"));
    let end = body[at..].find('>').map_or(body.len(), |e| at + e);
    &body[at..end]
}

// R7701-9.6-a (A9): the nickname is the attribute `xcon:nickname` on `<user>`, its prefix
// bound to urn:ietf:params:xml:ns:xcon-conference-info, inside plain conference-info+xml.
#[test]
fn r7701_9_6_a_nickname_is_xcon_attribute_in_the_xcon_namespace() {
    let server = roster_server();
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut sub = Subscriber::subscribe(server.sip);
    let first = roster_of(&sub.expect_notify());
    assert!(first.user(&alice.uri).is_some());
    assert_eq!(nickname(&mut alice, "Dormouse"), Some(200));
    let (r, body) = notify_until(&mut sub, |r| {
        r.user(&alice.uri).is_some_and(|u| u.nickname.is_some())
    });
    assert_eq!(
        r.user(&alice.uri).and_then(|u| u.nickname.clone()),
        Some("Dormouse".to_string())
    );
    assert!(
        body.contains("xmlns:xcon=\"urn:ietf:params:xml:ns:xcon-conference-info\""),
        "xcon prefix bound to the RFC 6501 namespace:\n{body}"
    );
    let tag = user_tag(&body, &alice.uri);
    assert!(
        tag.contains(" xcon:nickname=\"Dormouse\""),
        "on <user>: {tag}"
    );
}

// IMPL-11: when a participant's MSRP connection is lost the focus BYEs its dialog AND the
// roster marks it deleted (subscribers are told it left).
#[test]
fn impl_11_msrp_loss_updates_the_roster() {
    let server = roster_server();
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let _bob = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut sub = Subscriber::subscribe(server.sip);
    let (first, _) = sub.expect_full_roster();
    assert_eq!(
        first.user(&alice.uri).map(|u| u.statuses.clone()),
        Some(vec!["connected".to_string()])
    );
    alice.msrp = None;
    let bye = next_request(&mut alice.sip, "BYE", STEP, true).expect("BYE after MSRP loss");
    assert!(bye.header("Call-ID").is_some());
    let (r, _) = notify_until(&mut sub, |r| {
        r.user(&alice.uri).is_some_and(|u| u.state == "deleted")
    });
    assert_eq!(r.state, "partial");
    assert!(
        r.user("sip:bob@example.com").is_none(),
        "only the change is sent: {r:#?}"
    );
}

/// Joins `name` to the lobby with a chat-room aware offer and binds a fresh connection.
fn member(server: &Server, name: &str) -> (Member, common::msrp::MsrpConn) {
    let m = Member::join(server.sip, ROOM, name, Offer::AWARE);
    let c = m.connect();
    (m, c)
}

fn sends(msgs: &[MsrpMessage]) -> Vec<&MsrpMessage> {
    msgs.iter()
        .filter(|m| m.method.as_deref() == Some("SEND"))
        .collect()
}

// R4975-7.1.1-e, R4975-7.1.1-b (fair alternation): while Alice's large message to the room
// is half way through, Carol's short one reaches Bob at once — it is interleaved into Bob's
// stream instead of waiting for Alice's message to end — and Alice's copy completes later.
#[test]
fn r4975_7_1_1_e_short_message_overtakes_a_large_one_in_progress() {
    let cfg = config_file(&[]);
    let server = Server::start(&["--config", cfg.to_str().expect("utf-8 temp path")]);
    let _ = std::fs::remove_file(&cfg);
    let (a, mut ca) = member(&server, "alice");
    let (_b, mut cb) = member(&server, "bob");
    let (c, mut cc) = member(&server, "carol");

    let content: Vec<u8> = (0..60_000).map(|i| b'a' + (i % 26) as u8).collect();
    let big = cpim_body(&a.uri, ROOM, &content);
    let big_tid = ident(16);
    let big_req = send_bytes(&SendSpec {
        tid: &big_tid,
        ..a.spec(&ident(12), &big)
    });
    let half = big_req.len() / 2;
    ca.write(&big_req[..half]);
    let started = collect(&mut cb, QUIET);
    let started = sends(&started);
    assert!(!started.is_empty(), "Alice's first half reached Bob");
    assert!(started.iter().all(|m| m.flag == b'+'), "not finished yet");
    let big_mid = started[0].header("Message-ID").map(str::to_string);

    let small = cpim_body(&c.uri, ROOM, b"short and sweet");
    let tid = ident(16);
    cc.write(&send_bytes(&SendSpec {
        tid: &tid,
        ..c.spec(&ident(12), &small)
    }));
    assert_eq!(response_to(&mut cc, &tid).and_then(|r| r.status), Some(200));
    let between = collect(&mut cb, QUIET);
    let between = sends(&between);
    let short: Vec<_> = between
        .iter()
        .filter(|m| m.header("Message-ID").map(str::to_string) != big_mid)
        .collect();
    assert_eq!(short.len(), 1, "Carol's message, before Alice's ends");
    assert_eq!(
        (short[0].body.as_slice(), short[0].flag),
        (&small[..], b'$')
    );

    ca.write(&big_req[half..]);
    assert_eq!(
        response_to(&mut ca, &big_tid).and_then(|r| r.status),
        Some(200)
    );
    let rest = collect(&mut cb, Duration::from_millis(500));
    let mut whole = Vec::new();
    let mut last_flag = 0;
    for m in started
        .iter()
        .chain(between.iter())
        .chain(sends(&rest).iter())
        .filter(|m| m.header("Message-ID").map(str::to_string) == big_mid)
    {
        whole.extend_from_slice(&m.body);
        last_flag = m.flag;
    }
    assert_eq!(last_flag, b'$', "Alice's copy completes");
    assert_eq!(whole, big, "Alice's copy is whole and in order");
}

// R3261-11-a: the OPTIONS Allow list names SUBSCRIBE too (the focus is the RFC 4575
// notifier), and Allow-Events names the conference package.
#[test]
fn r3261_11_a_options_allow_lists_subscribe_and_allow_events() {
    let server = Server::start(&[]);
    let mut sip = SipClient::udp(server.sip);
    let req = common::participant::options(&sip);
    sip.send(req.as_bytes());
    let r = sip.final_response("OPTIONS");
    assert_eq!(r.status(), Some(200));
    let allow = r.header("Allow").expect("Allow");
    assert!(
        allow.split(',').any(|t| t.trim() == "SUBSCRIBE"),
        "Allow: {allow}"
    );
    assert_eq!(r.header("Allow-Events"), Some("conference"));
}

// R4975-7.1.4-a: a failure found after the 200 (Bob refuses chunk 1 of his copy of Alice's
// private message) comes as a failure REPORT: original Message-ID, the error in Status, and
// a Byte-Range covering the bytes the switch received (range-end from the actual body).
#[test]
fn r4975_7_1_4_a_late_failure_report_byte_range_from_the_received_body() {
    let cfg = config_file(&[]);
    let server = Server::start(&["--config", cfg.to_str().expect("utf-8 temp path")]);
    let _ = std::fs::remove_file(&cfg);
    let (a, mut ca) = member(&server, "alice");
    let (b, mut cb) = member(&server, "bob");
    let body = cpim_body(&a.uri, &b.uri, b"0123456789");
    let n = body.len();
    let (mid, tid) = (ident(12), ident(16));
    let range = format!("1-*/{n}");
    ca.write(&send_bytes(&SendSpec {
        tid: &tid,
        range: &range,
        flag: '+',
        ..a.spec(&mid, &body[..n - 5])
    }));
    assert_eq!(response_to(&mut ca, &tid).and_then(|r| r.status), Some(200));
    let copy = collect(&mut cb, QUIET);
    let copy = sends(&copy);
    assert_eq!(copy.len(), 1, "{copy:?}");
    cb.write(&reply(copy[0], 413, "Message too large", &b.local_path));
    let got = collect(&mut ca, QUIET);
    let rep = got
        .iter()
        .find(|m| m.method.as_deref() == Some("REPORT"))
        .unwrap_or_else(|| panic!("failure REPORT among {got:?}"));
    assert_eq!(rep.header("Message-ID"), Some(mid.as_str()));
    assert_eq!(rep.header("Status"), Some("000 413 Message too large"));
    assert_eq!(
        rep.byte_range(),
        Some((1, Some((n - 5) as u64), Some(n as u64)))
    );
    assert_eq!(rep.header("Success-Report"), None);
    assert_eq!(rep.header("Failure-Report"), None);
}

// R7701-6.3-d: a valid SEND gets the RFC 4975 §7.2 response, byte for byte: same tid, To-Path
// = the sender's path, From-Path = the switch's, no body, `$`, and nothing else with it.
#[test]
fn r7701_6_3_d_valid_send_gets_the_plain_rfc_4975_200() {
    let cfg = config_file(&[]);
    let server = Server::start(&["--config", cfg.to_str().expect("utf-8 temp path")]);
    let _ = std::fs::remove_file(&cfg);
    let (a, mut ca) = member(&server, "alice");
    let (_b, _cb) = member(&server, "bob");
    let tid = ident(16);
    let body = cpim_body(&a.uri, ROOM, b"by the book");
    ca.write(&send_bytes(&SendSpec {
        tid: &tid,
        ..a.spec(&ident(12), &body)
    }));
    let want = common::crlf(&[
        &format!("MSRP {tid} 200 OK"),
        &format!("To-Path: {}", a.local_path),
        &format!("From-Path: {}", a.answer.path),
        &format!("-------{tid}$"),
    ]);
    let deadline = Instant::now() + STEP;
    for _ in 0..100 {
        if ca.pending().len() >= want.len() || Instant::now() >= deadline {
            break;
        }
        ca.read_some(Duration::from_millis(100));
    }
    ca.read_some(QUIET);
    assert_eq!(String::from_utf8_lossy(ca.pending()), want);
}
