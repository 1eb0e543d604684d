//! Leaving with BYE (RFC 7701 §4, RFC 3261 §15): 200, the MSRP session is gone (a SEND to
//! its path on a new connection → 481, RFC 4975 §5.4), and the others keep talking.

mod common;

use common::msrp::{MsrpConn, SendRequest};
use common::{ident, Participant, Server, Transport, STEP};

// R7701-4-c (BYE -> 200, the MSRP session is torn down: later SEND -> 481).
#[test]
fn bye_ends_the_session_and_others_keep_talking() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Tcp, "bob");
    let mut c = Participant::join_and_bind(server.sip, Transport::Udp, "carol");

    let resp = a.bye();
    assert_eq!(resp.status(), Some(200), "BYE answered {}", resp.start);

    let mut conn = MsrpConn::connect(a.answer.msrp_addr());
    let tid = ident(12);
    conn.write(
        &SendRequest {
            tid: &tid,
            to_path: &a.answer.path,
            from_path: &a.local_path,
            message_id: &ident(12),
            range: ("1", "0", "0"),
            content_type: None,
            body: b"",
            flag: '$',
        }
        .bytes(),
    );
    let resp = conn.recv(STEP).expect("response on the old session");
    assert_eq!(resp.tid, tid);
    assert_eq!(resp.status, Some(481), "{resp:?}");

    let (tid, _, body) = b.say(b"still here?");
    assert_eq!(b.response_to(&tid).status, Some(200));
    let got = c.next_send(STEP).expect("C gets B's message");
    assert_eq!(got.body, body);
    let (tid, _, body) = c.say(b"yes");
    assert_eq!(c.response_to(&tid).status, Some(200));
    let got = b.next_send(STEP).expect("B gets C's message");
    assert_eq!(got.body, body);
}
