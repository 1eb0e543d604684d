//! The black-box scenario boards/boot-test runs against a board (issue 4): two people join
//! the room (SIP INVITE over UDP and over TCP, RFC 7701 §4), chat both ways over MSRP
//! (RFC 4975 SEND with Message/CPIM, RFC 7701 §6), and leave with BYE (RFC 3261 §15).
//!
//! With `PARLOR_REMOTE_SIP` (and `PARLOR_REMOTE_MSRP`, see tests/common/remote.rs) set it
//! talks to that server — a board's binary booted under qemu-system; otherwise it starts
//! the local binary, so the scenario itself stays tested with every `cargo test`.

mod common;

use common::msrp::{cpim_payload, MsrpConn, SendRequest};
use common::remote::{scaled, RemoteServer};
use common::{ident, Server, Transport, STEP};

#[test]
fn join_chat_and_bye_from_outside() {
    let local;
    let remote = match RemoteServer::from_env() {
        Some(remote) => remote,
        None => {
            local = Server::start(&[]);
            RemoteServer {
                sip: local.sip,
                msrp_forward: None,
            }
        }
    };
    let step = scaled(STEP);
    let mut alice = remote.join(Transport::Udp, "alice");
    let mut bob = remote.join(Transport::Tcp, "bob");

    let (tid, _, _) = alice.say(b"hello from alice");
    assert_eq!(alice.response_to(&tid).status, Some(200));
    let got = bob.next_message(step).expect("bob gets alice's line");
    assert_eq!(cpim_payload(&got), b"hello from alice");

    let (tid, _, _) = bob.say(b"hi alice, bob here");
    assert_eq!(bob.response_to(&tid).status, Some(200));
    let got = alice.next_message(step).expect("alice gets bob's line");
    assert_eq!(cpim_payload(&got), b"hi alice, bob here");

    let resp = bob.bye();
    assert_eq!(
        resp.status(),
        Some(200),
        "bob's BYE answered {}",
        resp.start
    );
    // Bob's session is gone: a SEND to its path on a new connection gets 481.
    let mut conn = MsrpConn::connect(
        remote
            .msrp_forward
            .unwrap_or_else(|| bob.answer.msrp_addr()),
    );
    let tid = ident(12);
    conn.write(
        &SendRequest {
            tid: &tid,
            to_path: &bob.answer.path,
            from_path: &bob.local_path,
            message_id: &ident(12),
            range: ("1", "0", "0"),
            content_type: None,
            body: b"",
            flag: '$',
        }
        .bytes(),
    );
    let resp = conn.recv(step).expect("response on bob's old session");
    assert_eq!(resp.status, Some(481), "{resp:?}");

    let resp = alice.bye();
    assert_eq!(
        resp.status(),
        Some(200),
        "alice's BYE answered {}",
        resp.start
    );
}
