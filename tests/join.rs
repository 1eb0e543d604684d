//! Joining the room over UDP and over TCP (RFC 7701 §5.2, RFC 4579 isfocus, RFC 4975 §5.4,
//! §8, RFC 6135): the 200's Contact, To-tag and SDP answer, then the MSRP bind.

mod common;

use common::{Participant, Server, Transport};

fn check_join(transport: Transport) {
    let server = Server::start(&[]);
    let mut alice = Participant::join(server.sip, transport, "alice");
    let contact = alice.ok.header("Contact").expect("Contact");
    assert!(
        contact.contains(";isfocus"),
        "Contact lacks isfocus: {contact}"
    );
    let to = alice.ok.header("To").expect("To");
    assert!(to.contains(";tag="), "To without tag: {to}");
    let sdp = alice.answer.text.clone();
    assert!(sdp.contains("m=message "), "no m=message in {sdp}");
    assert!(
        sdp.lines().any(|l| l == "a=accept-types:message/cpim"),
        "accept-types is not exactly message/cpim: {sdp}"
    );
    assert!(
        sdp.lines().any(|l| l == "a=setup:passive"),
        "no a=setup:passive: {sdp}"
    );
    let session = alice.answer.session_id();
    assert!(
        session.len() >= 16,
        "session-id {session:?} shorter than 16 characters"
    );
    assert_eq!(
        alice.answer.msrp_addr(),
        server.msrp,
        "a=path names another address"
    );
    alice.bind();
}

// R7701-5.2-b R3840-a (isfocus), R7701-5.2-c R7701-5.2-e (accept-types exactly
// message/cpim), R6135-4.2-a (a=setup), R4975-8.2-a (a=path names the switch), R7701-4-a.
#[test]
fn join_over_udp() {
    check_join(Transport::Udp);
}

// R7701-5.2-b R3840-a R7701-5.2-c R7701-5.2-e R6135-4.2-a (as join_over_udp, over TCP).
#[test]
fn join_over_tcp() {
    check_join(Transport::Tcp);
}

// R4975-8.2-a R4975-14.1-a (a distinct session-id per participant session).
#[test]
fn two_joins_get_different_session_ids() {
    let server = Server::start(&[]);
    let a = Participant::join(server.sip, Transport::Udp, "alice");
    let b = Participant::join(server.sip, Transport::Tcp, "bob");
    assert_ne!(a.answer.session_id(), b.answer.session_id());
}
