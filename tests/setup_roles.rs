//! RFC 6135 §4.2 setup roles over real loopback sockets (R6135-4.2-a/b/c, IMPL-7,
//! R4975-8.3-a): a client that offers `a=setup:passive` listens, the switch answers
//! `a=setup:active`, connects to the leftmost URI of the client's path and sends a bodiless
//! SEND first; every other offer leaves the client active and the switch passive. Each test
//! name starts with the requirement ID it shows; tests/CONFORMANCE.md maps IDs to tests.

mod common;

use common::conformance::{attrs_edit, expect_request, fresh_path, offer};
use common::msrp::{self, MsrpMessage};
use common::passive::PassiveEndpoint;
use common::{ident, Participant, Server, Transport, QUIET, STEP};

/// Joins as `sip:NAME@example.com` with path `path` and `setup` (`None` = no a=setup).
fn join_with_setup(server: &Server, name: &str, path: &str, setup: Option<&str>) -> Participant {
    let add: Vec<String> = setup.map(|s| format!("a=setup:{s}")).into_iter().collect();
    let add: Vec<&str> = add.iter().map(String::as_str).collect();
    let sdp = offer(name, &attrs_edit(path, &["a=setup"], &add));
    Participant::join_with(
        server.sip,
        Transport::Udp,
        &format!("sip:{name}@example.com"),
        path,
        &sdp,
    )
    .unwrap_or_else(|r| panic!("offer {sdp:?} refused: {}", r.start))
}

/// The answer's `a=setup` lines.
fn setups(p: &Participant) -> Vec<String> {
    p.answer
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("a=setup:"))
        .map(str::to_string)
        .collect()
}

/// Asserts `m` is the switch's binding SEND for `p` (wire example 5's shape, roles swapped).
fn assert_binding_send(m: &MsrpMessage, to_path: &str, from_path: &str) {
    assert!(m.is_send(), "first request must be a SEND: {m:?}");
    assert_eq!(m.header("To-Path"), Some(to_path));
    assert_eq!(m.header("From-Path"), Some(from_path));
    assert!(m.header("Message-ID").is_some_and(|v| v.len() >= 11));
    assert_eq!(m.byte_range(), Some((1, Some(0), Some(0))), "{m:?}");
    assert_eq!(m.header("Content-Type"), None, "bodiless: no Content-Type");
    assert!(m.body.is_empty());
    assert_eq!(m.flag, b'$');
}

// R6135-4.2-b, R6135-4.2-c, IMPL-7: a passive offer gets `a=setup:active`; the switch
// connects to the client's listener, sends a bodiless SEND before anything else (even a
// copy that was waiting), then chat flows both ways on that connection.
#[test]
fn r6135_4_2_b_c_impl_7_passive_offer_switch_connects_and_sends_first() {
    let server = Server::start(&[]);
    let listener = PassiveEndpoint::bind();
    let path = listener.fresh_uri();
    let mut alice = join_with_setup(&server, "alice", &path, Some("passive"));
    assert_eq!(setups(&alice), ["active"]);
    // Bob talks before Alice accepts: his copy waits behind the binding SEND.
    let mut bob = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let (tid, _, early) = bob.say(b"early bird");
    assert_eq!(bob.response_to(&tid).status, Some(200));

    let mut conn = listener.accept_msrp(STEP);
    let first = conn.recv(STEP).expect("the switch's first request");
    assert_binding_send(&first, &path, &alice.answer.path);
    conn.write(&msrp::response(&first, 200, "OK", &path));
    alice.msrp = Some(conn);
    let copy = alice
        .next_send(STEP)
        .expect("Bob's early copy after the binding SEND");
    assert_eq!(copy.body, early);
    assert_eq!(copy.header("To-Path"), Some(path.as_str()));

    let (tid, _, late) = bob.say(b"now connected");
    assert_eq!(bob.response_to(&tid).status, Some(200));
    assert_eq!(alice.next_message(STEP).expect("copy to Alice"), late);
    let (tid, _, mine) = alice.say(b"hello from behind the NAT");
    assert_eq!(alice.response_to(&tid).status, Some(200));
    assert_eq!(bob.next_message(STEP).expect("copy to Bob"), mine);
    assert_eq!(alice.bye().status(), Some(200));
}

// R6135-4.2-b: an `actpass` offer is answered `passive` and the client connects (existing
// behaviour); the switch never connects to it.
#[test]
fn r6135_4_2_b_actpass_answered_passive_client_connects() {
    let server = Server::start(&[]);
    let listener = PassiveEndpoint::bind();
    let path = listener.fresh_uri();
    let mut alice = join_with_setup(&server, "alice", &path, Some("actpass"));
    assert_eq!(setups(&alice), ["passive"]);
    assert!(
        listener.accept_within(QUIET).is_none(),
        "the passive switch must not connect"
    );
    alice.bind();
    let mut bob = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let (tid, _, body) = bob.say(b"to an actpass client");
    assert_eq!(bob.response_to(&tid).status, Some(200));
    assert_eq!(alice.next_message(STEP).expect("copy"), body);
}

// R6135-4.2-a: every answer carries exactly one explicit a=setup, never holdconn; a received
// holdconn is treated as absent (the offerer is active, so the answer is passive and the
// client binds), and so is a missing a=setup (R6135-4.2-c: RFC 4975 default).
#[test]
fn r6135_4_2_a_answer_always_has_setup_holdconn_treated_as_absent() {
    let server = Server::start(&[]);
    let listener = PassiveEndpoint::bind();
    for (offered, answered) in [
        (Some("active"), "passive"),
        (Some("actpass"), "passive"),
        (Some("holdconn"), "passive"),
        (None, "passive"),
        (Some("passive"), "active"),
    ] {
        let name = format!("user{}", ident(6));
        let path = match offered {
            Some("passive") => listener.fresh_uri(),
            _ => fresh_path(),
        };
        let mut p = join_with_setup(&server, &name, &path, offered);
        assert_eq!(setups(&p), [answered], "offer {offered:?}");
        assert!(!p.answer.text.contains("holdconn"));
        if answered == "passive" {
            p.bind();
        } else {
            let mut conn = listener.accept_msrp(STEP);
            let first = conn.recv(STEP).expect("binding SEND");
            assert_binding_send(&first, &path, &p.answer.path);
        }
    }
}

// R6135-4.2-c: without a=setup the RFC 4975 default holds: the offerer connects and sends
// first; the switch, passive, waits for it and never connects out.
#[test]
fn r6135_4_2_c_without_setup_the_offerer_is_active() {
    let server = Server::start(&[]);
    let listener = PassiveEndpoint::bind();
    let mut alice = join_with_setup(&server, "alice", &listener.fresh_uri(), None);
    assert_eq!(setups(&alice), ["passive"]);
    assert!(listener.accept_within(QUIET).is_none());
    alice.bind();
}

// R4975-8.3-a: a passive offer whose path has a relay first: the switch connects to the
// LEFTMOST URI (the relay), not to the client; the binding SEND's To-Path is the whole
// path, and requests coming back through the relay match the session on the rightmost URI.
#[test]
fn r4975_8_3_a_switch_connects_to_the_leftmost_path_uri() {
    let server = Server::start(&[]);
    let relay = PassiveEndpoint::bind();
    let client = PassiveEndpoint::bind();
    let path = format!("{} {}", relay.fresh_uri(), client.fresh_uri());
    let mut alice = join_with_setup(&server, "alice", &path, Some("passive"));
    assert_eq!(setups(&alice), ["active"]);
    let mut conn = relay.accept_msrp(STEP);
    let first = conn.recv(STEP).expect("binding SEND through the relay");
    assert_binding_send(&first, &path, &alice.answer.path);
    assert!(
        client.accept_within(QUIET).is_none(),
        "the rightmost URI is the session, not the next hop"
    );
    let relay_uri = path
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    conn.write(&msrp::response(&first, 200, "OK", &relay_uri));
    alice.msrp = Some(conn);
    // The relay forwards Alice's message with From-Path = relay, then Alice.
    let (tid, _, _) = alice.say(b"via the relay");
    assert_eq!(alice.response_to(&tid).status, Some(200));
}

// IMPL-7: the switch never resolves names: a passive offer whose path names a host → 488.
#[test]
fn impl_7_passive_offer_naming_a_host_gets_488() {
    let server = Server::start(&[]);
    let path = format!("msrp://client.example.com:7654/{};tcp", ident(16));
    let sdp = offer(
        "alice",
        &attrs_edit(&path, &["a=setup"], &["a=setup:passive"]),
    );
    let r = common::conformance::invite_room(server.sip, &sdp);
    assert_eq!(r.status(), Some(488), "{}", r.start);
}

// IMPL-7: when the switch cannot connect (nobody listens), the participant is lost and the
// focus ends its dialog with a BYE.
#[test]
fn impl_7_unreachable_passive_client_gets_bye() {
    let server = Server::start(&[]);
    let closed = PassiveEndpoint::bind();
    let path = closed.fresh_uri();
    drop(closed);
    let mut alice = join_with_setup(&server, "alice", &path, Some("passive"));
    assert_eq!(setups(&alice), ["active"]);
    let bye = expect_request(&mut alice.sip, "BYE", STEP).expect("BYE after the failed connect");
    assert_eq!(bye.method(), Some("BYE"));
}

// R4975-5.4-a with IMPL-7: two passive sessions behind the same address share the one
// connection the switch opened; each is bound by its own bodiless SEND.
#[test]
fn r4975_5_4_a_passive_sessions_to_one_address_share_the_switch_connection() {
    let server = Server::start(&[]);
    let listener = PassiveEndpoint::bind();
    let (path_a, path_b) = (listener.fresh_uri(), listener.fresh_uri());
    let alice = join_with_setup(&server, "alice", &path_a, Some("passive"));
    let mut conn = listener.accept_msrp(STEP);
    let first = conn.recv(STEP).expect("Alice's binding SEND");
    assert_binding_send(&first, &path_a, &alice.answer.path);
    conn.write(&msrp::response(&first, 200, "OK", &path_a));
    let bob = join_with_setup(&server, "bob", &path_b, Some("passive"));
    let second = conn
        .recv(STEP)
        .expect("Bob's binding SEND on the same connection");
    assert_binding_send(&second, &path_b, &bob.answer.path);
    assert!(
        listener.accept_within(QUIET).is_none(),
        "no second connection to the same address"
    );
}
