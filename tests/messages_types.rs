//! What each recipient declared in its SDP, over real sockets: accept-wrapped-types (RFC
//! 7701 §6.1, RFC 4975 §8.6; IMPL-1 default text/plain), a=max-size, a re-offer without
//! a=chatroom (RFC 7701 §8, IMPL-3), and the RFC 7701 §11 notices for participants that are
//! not chat-room aware.

mod common;
#[path = "common/member.rs"]
mod member;

use common::msrp::MsrpConn;
use common::{ident, Server, QUIET, ROOM};
use member::{
    collect, config_file, cpim_wrapping, response_to, send_bytes, text, Member, Offer, SendSpec,
};

fn server() -> Server {
    let cfg = config_file(&[]);
    let server = Server::start(&["--config", cfg.to_str().expect("utf-8 temp path")]);
    // Read at start-up: no longer needed.
    let _ = std::fs::remove_file(&cfg);
    server
}

fn member(server: &Server, name: &str, offer: Offer<'_>) -> (Member, MsrpConn) {
    let m = Member::join(server.sip, ROOM, name, offer);
    let c = m.connect();
    (m, c)
}

fn declaring(types: Option<&str>) -> Offer<'_> {
    Offer {
        wrapped: types,
        ..Offer::AWARE
    }
}

/// Sends `content` wrapped as `wrapped` from `m` to `to`; returns the response code.
fn say(m: &Member, c: &mut MsrpConn, to: &str, wrapped: &str, content: &[u8]) -> Option<u16> {
    let body = cpim_wrapping(&m.uri, to, wrapped, content);
    let tid = ident(16);
    c.write(&send_bytes(&SendSpec {
        tid: &tid,
        ..m.spec(&ident(12), &body)
    }));
    response_to(c, &tid).and_then(|r| r.status)
}

fn got(c: &mut MsrpConn) -> usize {
    collect(c, QUIET)
        .iter()
        .filter(|m| m.method.as_deref() == Some("SEND"))
        .count()
}

// R7701-6.1-h (and A5/IMPL-1): a copy goes only to recipients that declared the wrapped
// type; nothing declared = text/plain only; the sender still gets 200; if nobody can take it,
// 415 and nothing is forwarded; a private message its recipient cannot take gets 415.
#[test]
fn r7701_6_1_h_copies_only_to_recipients_that_declared_the_wrapped_type() {
    let server = server();
    let (a, mut ca) = member(&server, "alice", declaring(Some("*")));
    let (b, mut cb) = member(&server, "bob", declaring(Some("text/plain")));
    let (_c, mut cc) = member(&server, "carol", declaring(Some("text/html text/plain")));
    let (_d, mut cd) = member(&server, "dave", declaring(None));
    assert_eq!(say(&a, &mut ca, ROOM, "text/html", b"<b>hi</b>"), Some(200));
    assert_eq!((got(&mut cb), got(&mut cc), got(&mut cd)), (0, 1, 0));
    assert_eq!(say(&a, &mut ca, ROOM, "text/plain", b"hi"), Some(200));
    assert_eq!((got(&mut cb), got(&mut cc), got(&mut cd)), (1, 1, 1));
    assert_eq!(
        say(&a, &mut ca, ROOM, "application/x-unknown", b"??"),
        Some(415)
    );
    assert_eq!((got(&mut cb), got(&mut cc), got(&mut cd)), (0, 0, 0));
    assert_eq!(
        say(&a, &mut ca, &b.uri, "text/html", b"<i>psst</i>"),
        Some(415)
    );
    assert_eq!(got(&mut cb), 0);
}

// R4975-8.6-a: entries with parameters match the bare type, `type/*` wildcards match their
// subtypes, and nothing undeclared is ever sent.
#[test]
fn r4975_8_6_a_never_send_an_undeclared_wrapped_type() {
    let server = server();
    let (a, mut ca) = member(&server, "alice", declaring(Some("*")));
    let (_b, mut cb) = member(&server, "bob", declaring(Some("text/plain;charset=utf-8")));
    let (_c, mut cc) = member(&server, "carol", declaring(Some("image/*")));
    assert_eq!(say(&a, &mut ca, ROOM, "image/png", b"PNG"), Some(200));
    assert_eq!((got(&mut cb), got(&mut cc)), (0, 1));
    assert_eq!(
        say(&a, &mut ca, ROOM, "text/plain; charset=utf-8", b"x"),
        Some(200)
    );
    assert_eq!((got(&mut cb), got(&mut cc)), (1, 0));
}

// R4975-8.6-b: nothing larger than a recipient's a=max-size is sent to it.
#[test]
fn r4975_8_6_b_no_copy_larger_than_the_recipients_max_size() {
    let server = server();
    let (a, mut ca) = member(&server, "alice", Offer::AWARE);
    let small = Offer {
        max_size: Some(300),
        ..Offer::AWARE
    };
    let (_b, mut cb) = member(&server, "bob", small);
    let (_c, mut cc) = member(&server, "carol", Offer::AWARE);
    assert_eq!(say(&a, &mut ca, ROOM, "text/plain", b"short"), Some(200));
    assert_eq!((got(&mut cb), got(&mut cc)), (1, 1));
    assert_eq!(
        say(&a, &mut ca, ROOM, "text/plain", &[b'L'; 400]),
        Some(200)
    );
    assert_eq!((got(&mut cb), got(&mut cc)), (0, 1));
}

// R7701-8-f (IMPL-3): after a re-offer without a=chatroom, private messages to that
// participant get 428; regular messages still reach it. The focus passes the re-offer to
// the switch through `Conference::update` (switch unit test
// `r7701_8_f_reoffer_without_chatroom_makes_private_messages_428`).
#[test]
fn r7701_8_f_reoffer_without_chatroom_disables_private_messages() {
    let server = server();
    let (a, mut ca) = member(&server, "alice", Offer::AWARE);
    let (mut b, mut cb) = member(&server, "bob", Offer::AWARE);
    assert_eq!(say(&a, &mut ca, &b.uri, "text/plain", b"before"), Some(200));
    assert_eq!(got(&mut cb), 1);
    let plain = Offer {
        chatroom: None,
        ..Offer::AWARE
    };
    assert_eq!(b.reinvite(plain).status(), Some(200));
    assert_eq!(say(&a, &mut ca, &b.uri, "text/plain", b"after"), Some(428));
    assert_eq!(got(&mut cb), 0);
    assert_eq!(
        say(&a, &mut ca, ROOM, "text/plain", b"still here"),
        Some(200)
    );
    assert_eq!(got(&mut cb), 1);
}

// R7701-11-a, R7701-11-b: a participant without a=chatroom gets, once bound, a notice that
// it is in a multi-party room and one listing the participants (From = room URI).
#[test]
fn r7701_11_a_b_unaware_participant_gets_notice_and_roster() {
    let server = server();
    let (a, _ca) = member(&server, "alice", Offer::AWARE);
    let unaware = Offer {
        chatroom: None,
        wrapped: None,
        max_size: None,
    };
    let (b, mut cb) = member(&server, "bob", unaware);
    let notes = collect(&mut cb, QUIET);
    assert_eq!(notes.len(), 2, "{notes:?}");
    for n in &notes {
        assert_eq!(n.method.as_deref(), Some("SEND"));
        assert_eq!(n.header("Content-Type"), Some("message/cpim"));
        let head = format!("From: <{ROOM}>\r\nTo: <{}>\r\n", b.uri);
        assert!(text(n).starts_with(&head), "{}", text(n));
        assert!(text(n).contains("Content-Type: text/plain"));
    }
    assert!(
        text(&notes[0]).contains("multi-party"),
        "{}",
        text(&notes[0])
    );
    let list = text(&notes[1]);
    assert!(list.contains(&format!("<{}>", a.uri)), "{list}");
    assert!(list.contains(&a.display_name()), "{list}");
    assert!(list.contains(&format!("<{}> (you)", b.uri)), "{list}");
    let (_c, mut cc) = member(&server, "carol", Offer::AWARE);
    assert_eq!(got(&mut cc), 0, "chat-room aware: no notice");
}
