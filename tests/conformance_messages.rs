//! Conformance of regular and private message routing (RFC 7701 §6.1, §6.2, §9.5;
//! implementer choices IMPL-15/17/18/19) over real loopback sockets. Each test name starts
//! with the requirement ID it shows; tests/CONFORMANCE.md maps IDs to tests.

mod common;

use common::conformance::{attrs_edit, fresh_path, offer};
use common::msrp::{cpim_body, SendRequest};
use common::{crlf, ident, Participant, Server, Transport, QUIET, ROOM, STEP};

const BOB: &str = "sip:bob@example.com";
const CAROL: &str = "sip:carol@example.com";

/// A CPIM body with the given From and To lines.
fn cpim_lines(from: &str, tos: &[&str], text: &[u8]) -> Vec<u8> {
    let mut lines = vec![format!("From: <{from}>")];
    lines.extend(tos.iter().map(|t| format!("To: <{t}>")));
    lines.push(String::new());
    lines.push("Content-Type: text/plain".to_string());
    lines.push(String::new());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut body = crlf(&refs).into_bytes();
    body.extend_from_slice(text);
    body
}

/// Joins as `uri` offering `a=chatroom` replaced by `chatroom` (`None` = no attribute).
fn join_as(server: &Server, uri: &str, chatroom: Option<&str>) -> Participant {
    let path = fresh_path();
    let add: Vec<&str> = chatroom.into_iter().collect();
    let sdp = offer("user", &attrs_edit(&path, &["a=chatroom"], &add));
    let mut p = Participant::join_with(server.sip, Transport::Udp, uri, &path, &sdp)
        .unwrap_or_else(|r| panic!("{uri} refused: {}", r.start));
    p.bind();
    p
}

fn status_of(p: &mut Participant, content_type: &str, body: &[u8]) -> Option<u16> {
    let (tid, _) = p.send_body(content_type, body);
    p.response_to(&tid).status
}

fn nothing_for(ps: &mut [&mut Participant]) {
    for p in ps.iter_mut() {
        assert!(p.next_send(QUIET).is_none(), "{} received a copy", p.uri);
    }
}

#[test]
fn r7701_6_1_e_two_to_headers_403() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let body = cpim_lines(&a.uri.clone(), &[ROOM, ROOM], b"twice to the room");
    assert_eq!(status_of(&mut a, "message/cpim", &body), Some(403));
    nothing_for(&mut [&mut b]);
}

#[test]
fn r7701_6_1_p_impl_17_one_uri_many_sessions() {
    let server = Server::start(&[]);
    let mut a1 = join_as(
        &server,
        "sip:alice@example.com",
        Some("a=chatroom:private-messages"),
    );
    let mut a2 = join_as(
        &server,
        "sip:alice@example.com",
        Some("a=chatroom:private-messages"),
    );
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let (tid, _, body) = b.say(b"to every device of alice");
    assert_eq!(b.response_to(&tid).status, Some(200));
    assert_eq!(a1.next_send(STEP).expect("A1 copy").body, body);
    assert_eq!(a2.next_send(STEP).expect("A2 copy").body, body);
    // IMPL-17: A1's own message reaches A2 (and B), never A1 itself.
    let (tid, _, body) = a1.say(b"from device one");
    assert_eq!(a1.response_to(&tid).status, Some(200));
    assert_eq!(a2.next_send(STEP).expect("A2 gets A1's message").body, body);
    assert_eq!(b.next_send(STEP).expect("B gets A1's message").body, body);
    nothing_for(&mut [&mut a1]);
}

#[test]
fn impl_15_fresh_message_id_per_recipient_copy() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut c = Participant::join_and_bind(server.sip, Transport::Udp, "carol");
    let (tid, mid, _) = a.say(b"ids");
    assert_eq!(a.response_to(&tid).status, Some(200));
    let mb = b.next_send(STEP).expect("B copy");
    let mc = c.next_send(STEP).expect("C copy");
    let (ib, ic) = (
        mb.header("Message-ID").expect("id"),
        mc.header("Message-ID").expect("id"),
    );
    assert_ne!(ib, mid);
    assert_ne!(ic, mid);
    assert_ne!(ib, ic, "recipients share one Message-ID");
}

#[test]
fn r7701_6_2_a_impl_18_room_without_private_messages_403() {
    let server = Server::start(&["--no-private-messages"]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    assert!(
        !a.answer.text.contains("private-messages"),
        "policy off but token advertised"
    );
    let body = cpim_body(&a.uri, BOB, b"psst");
    assert_eq!(status_of(&mut a, "message/cpim", &body), Some(403));
    nothing_for(&mut [&mut b]);
    // Regular messages still flow.
    let (tid, _, body) = a.say(b"public");
    assert_eq!(a.response_to(&tid).status, Some(200));
    assert_eq!(b.next_send(STEP).expect("copy").body, body);
}

#[test]
fn r7701_6_2_d_spoofed_from_in_private_403() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut c = Participant::join_and_bind(server.sip, Transport::Udp, "carol");
    let body = cpim_body(CAROL, BOB, b"I am carol");
    assert_eq!(status_of(&mut a, "message/cpim", &body), Some(403));
    nothing_for(&mut [&mut b, &mut c]);
}

#[test]
fn r7701_6_2_e_r7701_6_2_c_several_recipients_403() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut c = Participant::join_and_bind(server.sip, Transport::Udp, "carol");
    let body = cpim_lines(&a.uri.clone(), &[BOB, CAROL], b"to two people");
    assert_eq!(status_of(&mut a, "message/cpim", &body), Some(403));
    nothing_for(&mut [&mut b, &mut c]);
}

#[test]
fn r7701_6_2_f_unknown_recipient_404() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let body = cpim_body(&a.uri, CAROL, b"carol is not here");
    let (tid, _) = a.send_body("message/cpim", &body);
    let r = a.response_to(&tid);
    assert_eq!(r.status, Some(404), "{r:?}");
    nothing_for(&mut [&mut b]);
}

#[test]
fn r7701_6_2_g_recipient_without_private_messages_428() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut bare = join_as(&server, BOB, Some("a=chatroom"));
    let mut unaware = join_as(&server, CAROL, None);
    // R7701-11-a/b: the unaware participant first gets the room's two notices.
    for _ in 0..2 {
        let notice = unaware.next_send(STEP).expect("room notice");
        assert!(String::from_utf8_lossy(&notice.body).contains(ROOM));
    }
    for to in [BOB, CAROL] {
        let body = cpim_body(&a.uri, to, b"private");
        assert_eq!(
            status_of(&mut a, "message/cpim", &body),
            Some(428),
            "to {to}"
        );
    }
    nothing_for(&mut [&mut bare, &mut unaware]);
}

#[test]
fn r7701_6_2_i_private_copy_byte_identical_to_recipient_only() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut c = Participant::join_and_bind(server.sip, Transport::Udp, "carol");
    let (tid, _, body) = a.send_cpim_to(BOB, b"just for bob");
    assert_eq!(a.response_to(&tid).status, Some(200));
    let got = b.next_send(STEP).expect("private copy at B");
    assert_eq!(got.body, body);
    assert_eq!(got.header("To-Path"), Some(b.local_path.as_str()));
    nothing_for(&mut [&mut c]);
}

#[test]
fn r7701_6_2_j_private_to_every_session_of_the_recipient() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b1 = join_as(&server, BOB, Some("a=chatroom:private-messages"));
    let mut b2 = join_as(&server, BOB, Some("a=chatroom:private-messages"));
    let mut c = Participant::join_and_bind(server.sip, Transport::Udp, "carol");
    let (tid, _, body) = a.send_cpim_to(BOB, b"both devices");
    assert_eq!(a.response_to(&tid).status, Some(200));
    assert_eq!(b1.next_send(STEP).expect("B1").body, body);
    assert_eq!(b2.next_send(STEP).expect("B2").body, body);
    nothing_for(&mut [&mut c]);
}

#[test]
fn r7701_9_5_a_chunked_private_held_until_cpim_headers_complete() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let body = cpim_body(&a.uri, BOB, b"split inside the To header");
    let split = body
        .windows(7)
        .position(|w| w == b"To: <si")
        .expect("To line")
        + 7;
    let (mid, total) = (ident(12), body.len().to_string());
    let tid = ident(12);
    let c1 = SendRequest {
        tid: &tid,
        to_path: &a.answer.path,
        from_path: &a.local_path,
        message_id: &mid,
        range: ("1", &split.to_string(), &total),
        content_type: Some("message/cpim"),
        body: &body[..split],
        flag: '+',
    }
    .bytes();
    a.conn().write(&c1);
    assert_eq!(a.response_to(&tid).status, Some(200));
    assert!(
        b.next_send(QUIET).is_none(),
        "forwarded before the CPIM headers were complete"
    );
    let tid = ident(12);
    let c2 = SendRequest {
        tid: &tid,
        to_path: &a.answer.path,
        from_path: &a.local_path,
        message_id: &mid,
        range: (&(split + 1).to_string(), &total, &total),
        content_type: Some("message/cpim"),
        body: &body[split..],
        flag: '$',
    }
    .bytes();
    a.conn().write(&c2);
    assert_eq!(a.response_to(&tid).status, Some(200));
    assert_eq!(b.next_message(STEP).expect("whole private message"), body);
}

#[test]
fn impl_19_check_order() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let folded = crlf(&[
        &format!("From: <{BOB}>"),
        &format!("To: <{ROOM}>"),
        "Subject: x",
        " folded",
        "",
        "Content-Type: text/plain",
        "",
    ]);
    // 481 before 415: unknown session and a non-CPIM body.
    let tid = ident(12);
    let unknown = format!("msrp://{}/{};tcp", a.answer.msrp_addr(), ident(16));
    let req = SendRequest {
        tid: &tid,
        to_path: &unknown,
        from_path: &a.local_path,
        message_id: &ident(12),
        range: ("1", "2", "2"),
        content_type: Some("text/plain"),
        body: b"hi",
        flag: '$',
    }
    .bytes();
    a.conn().write(&req);
    assert_eq!(a.response_to(&tid).status, Some(481));
    // 415 before 400: non-CPIM type with a malformed CPIM-looking body.
    assert_eq!(
        status_of(&mut a, "text/plain", folded.as_bytes()),
        Some(415)
    );
    // 400 before 403: malformed header block with a spoofed From.
    assert_eq!(
        status_of(&mut a, "message/cpim", folded.as_bytes()),
        Some(400)
    );
    // 403 (From) before 404: spoofed From to an unknown recipient.
    let body = cpim_body(BOB, CAROL, b"x");
    assert_eq!(status_of(&mut a, "message/cpim", &body), Some(403));
    // 403 (To count) before 404: two unknown recipients.
    let body = cpim_lines(&a.uri.clone(), &[CAROL, "sip:dave@example.com"], b"x");
    assert_eq!(status_of(&mut a, "message/cpim", &body), Some(403));
    nothing_for(&mut [&mut b]);

    // Room policy (IMPL-18, 403) before resolving the recipient (404).
    let closed = Server::start(&["--no-private-messages"]);
    let mut c = Participant::join_and_bind(closed.sip, Transport::Udp, "carol");
    let body = cpim_body(&c.uri, "sip:nobody@example.com", b"x");
    assert_eq!(status_of(&mut c, "message/cpim", &body), Some(403));
}

#[test]
fn r7701_6_1_b_to_room_uri_makes_a_regular_message() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut c = Participant::join_and_bind(server.sip, Transport::Udp, "carol");
    // The room URI with a formal name and the host in another case is still the room.
    for to in [
        format!("To: <{ROOM}>"),
        "To: Lobby <sip:lobby@LOCALHOST>".to_string(),
    ] {
        let body = crlf(&[
            "From: <sip:alice@example.com>",
            &to,
            "",
            "Content-Type: text/plain",
            "",
            "regular",
        ])
        .into_bytes();
        assert_eq!(status_of(&mut a, "message/cpim", &body), Some(200), "{to}");
        for p in [&mut b, &mut c] {
            assert_eq!(p.next_send(STEP).expect("regular copy").body, body, "{to}");
        }
    }
}

#[test]
fn r7701_6_1_d_from_user_part_is_case_sensitive() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    // RFC 3261 §19.1.4: the user part compares case-sensitively, so this is not Alice.
    let body = cpim_body("sip:ALICE@example.com", ROOM, b"who am I");
    assert_eq!(status_of(&mut a, "message/cpim", &body), Some(403));
    nothing_for(&mut [&mut b]);
}

// R7701-6.2-f: a URI that is a participant of another room is not resolvable here.
#[test]
fn r7701_6_2_f_participant_of_another_room_404() {
    let server = Server::start(&["--room", "lobby", "--room", "other"]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let path = fresh_path();
    let sdp = offer("elsewhere", &common::conformance::usual_attrs(&path));
    let (_sip, ok) = common::conformance::invite_final(
        server.sip,
        Transport::Udp,
        "sip:other@localhost",
        Some(&sdp),
        &[],
    );
    assert_eq!(
        ok.status(),
        Some(200),
        "join of the other room: {}",
        ok.start
    );
    // invite_final joins as sip:probe@example.com.
    let body = cpim_body(&a.uri, "sip:probe@example.com", b"across rooms");
    assert_eq!(status_of(&mut a, "message/cpim", &body), Some(404));
}
