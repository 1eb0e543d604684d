//! What the switch refuses (RFC 7701 §6.3): a SEND whose body is not Message/CPIM → 415;
//! a CPIM From that is not the sender's → 403, and nothing is forwarded.

mod common;

use common::msrp::cpim_body;
use common::{Participant, Server, Transport, ROOM, STEP};

// R4975-7.3.1-b R7701-6.3-b R7701-4-d (a SEND that is not Message/CPIM gets 415).
#[test]
fn text_plain_send_gets_415() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let (tid, _) = a.send_body("text/plain", b"hi");
    let resp = a.response_to(&tid);
    assert_eq!(resp.status, Some(415), "{resp:?}");
}

// R7701-6.1-d R7701-6.3-c (CPIM From not the sender's -> 403, not forwarded),
// R7701-5.2-h (the switch knows the sender's URI from the focus).
#[test]
fn spoofed_from_gets_403_and_is_not_forwarded() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");

    let spoofed = cpim_body("sip:bob@example.com", ROOM, b"I am Bob, honest.");
    let (tid, _) = a.send_body("message/cpim", &spoofed);
    let resp = a.response_to(&tid);
    assert_eq!(resp.status, Some(403), "{resp:?}");

    let (tid, _, good) = a.say(b"the real one");
    assert_eq!(a.response_to(&tid).status, Some(200));
    let first = b.next_send(STEP).expect("B gets the valid message");
    assert_eq!(
        first.body, good,
        "B's first message is not the valid one (spoof forwarded?)"
    );
    assert!(
        !String::from_utf8_lossy(&first.body).contains("honest"),
        "spoofed text reached B"
    );
}
