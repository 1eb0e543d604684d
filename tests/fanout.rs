//! Three-party fan-out without echo (RFC 7701 §6.1): A's message reaches B and C once each,
//! CPIM body byte-identical, new Message-ID; A gets its 200 and no copy.

mod common;

use common::{Participant, Server, Transport, STEP};

// R7701-6.1-f (a copy for everyone but the sender), R7701-6.1-g (CPIM body unmodified,
// recipient's own To-Path/From-Path), IMPL-15 (new Message-ID on the copy).
#[test]
fn three_party_fanout_without_echo() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Tcp, "bob");
    let mut c = Participant::join_and_bind(server.sip, Transport::Udp, "carol");

    let (tid1, mid1, body1) = a.say(b"Hello everyone!");
    let resp = a.response_to(&tid1);
    assert_eq!(resp.status, Some(200));
    let (tid2, _, body2) = a.say(b"second line");
    assert_eq!(a.response_to(&tid2).status, Some(200));

    for p in [&mut b, &mut c] {
        let first = p.next_send(STEP).expect("copy of the first message");
        assert_eq!(first.body, body1, "CPIM body not byte-identical");
        assert_eq!(first.header("Content-Type"), Some("message/cpim"));
        let copy_mid = first.header("Message-ID").expect("Message-ID on the copy");
        assert_ne!(copy_mid, mid1, "copy reuses the sender's Message-ID");
        assert_eq!(first.header("To-Path"), Some(p.local_path.as_str()));
        assert_eq!(first.header("From-Path"), Some(p.answer.path.as_str()));
        // Exactly one copy: the next message is the second one, not a duplicate.
        let second = p.next_send(STEP).expect("copy of the second message");
        assert_eq!(
            second.body, body2,
            "expected the second message, got a duplicate?"
        );
    }

    // No echo: the first SEND A receives is B's later message, not its own.
    let (tid3, _, body3) = b.say(b"hi from bob");
    assert_eq!(b.response_to(&tid3).status, Some(200));
    let got = a.next_send(STEP).expect("B's message at A");
    assert_eq!(
        got.body, body3,
        "A received something else first (its own echo?)"
    );
    let got = c.next_send(STEP).expect("B's message at C");
    assert_eq!(got.body, body3);
}
