//! Offerless INVITE over real sockets (RFC 3261 §13.2.1 / RFC 3264: offer in the 2xx,
//! answer in the ACK; requirements R3261-13-a and IMPL-25): the focus offers its MSRP
//! stream with `a=setup:actpass`, the ACK's answer (`active`) completes the session so the
//! participant binds and chats; an unusable or missing answer ends the dialog with BYE.

mod common;

use common::conformance::{expect_request, invite_final, ok_to};
use common::msrp::{cpim_body, MsrpConn, SendRequest};
use common::participant::Answer;
use common::sip::{uri_of, SipClient, SipMessage};
use common::{crlf, ident, Participant, Server, Transport, ROOM, STEP};

/// An answer to the focus's offer for an endpoint at `path` with `setup`.
fn answer_sdp(path: &str, setup: &str) -> String {
    crlf(&[
        "v=0",
        "o=probe 7 7 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        "m=message 9 TCP/MSRP *",
        "a=accept-types:message/cpim",
        "a=accept-wrapped-types:text/plain",
        &format!("a=path:{path}"),
        &format!("a=setup:{setup}"),
        "a=chatroom:nickname private-messages",
    ])
}

/// The ACK to the 200 `ok`, carrying `sdp` if given.
fn ack(sip: &SipClient, ok: &SipMessage, sdp: Option<&str>) -> String {
    let body = sdp.unwrap_or("");
    let mut lines = vec![
        format!(
            "ACK {} SIP/2.0",
            ok.header("Contact").map(uri_of).expect("Contact")
        ),
        format!(
            "Via: SIP/2.0/UDP {};branch=z9hG4bK{};rport",
            sip.local,
            ident(12)
        ),
        "Max-Forwards: 70".to_string(),
        format!("From: {}", ok.header("From").expect("From")),
        format!("To: {}", ok.header("To").expect("To")),
        format!("Call-ID: {}", ok.header("Call-ID").expect("Call-ID")),
        "CSeq: 1 ACK".to_string(),
    ];
    if sdp.is_some() {
        lines.push("Content-Type: application/sdp".to_string());
    }
    lines.push(format!("Content-Length: {}", body.len()));
    lines.push(String::new());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut msg = crlf(&refs);
    msg.push_str(body);
    msg
}

/// Writes a SEND (bodiless when `body` is empty) on `conn`; the status of its response,
/// skipping (and answering) anything else.
fn send(conn: &mut MsrpConn, to: &str, from: &str, body: &[u8]) -> Option<u16> {
    let tid = ident(12);
    let len = body.len().to_string();
    let req = SendRequest {
        tid: &tid,
        to_path: to,
        from_path: from,
        message_id: &ident(12),
        range: ("1", &len, &len),
        content_type: (!body.is_empty()).then_some("message/cpim"),
        body,
        flag: '$',
    }
    .bytes();
    conn.write(&req);
    let deadline = std::time::Instant::now() + STEP;
    for _ in 0..100 {
        let left = deadline.checked_duration_since(std::time::Instant::now())?;
        let m = conn.recv(left)?;
        if m.status.is_some() && m.tid == tid {
            return m.status;
        }
        if m.is_send() {
            conn.write(&common::msrp::response(&m, 200, "OK", to));
        }
    }
    None
}

// R3261-13-a, IMPL-25: INVITE without a body → 200 with the focus's SDP offer (one MSRP
// stream, actpass, the switch's path); the ACK carries the answer; the session then binds
// and messages flow both ways.
#[test]
fn r3261_13_a_impl_25_offerless_invite_offer_in_200_answer_in_ack() {
    let server = Server::start(&[]);
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let (mut sip, ok) = invite_final(server.sip, Transport::Udp, ROOM, None, &[]);
    assert_eq!(ok.status(), Some(200), "{}", ok.start);
    assert_eq!(ok.header("Content-Type"), Some("application/sdp"));
    let offer = Answer::parse(&ok.body_text());
    let m_lines: Vec<&str> = offer.text.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(m_lines.len(), 1, "{}", offer.text);
    assert!(m_lines[0].starts_with("m=message ") && m_lines[0].ends_with(" TCP/MSRP *"));
    assert!(offer.text.contains("a=setup:actpass\r\n"), "{}", offer.text);
    assert!(offer.text.contains("a=accept-types:message/cpim\r\n"));

    let local = format!("msrp://127.0.0.1:9/{};tcp", ident(16));
    sip.send(ack(&sip, &ok, Some(&answer_sdp(&local, "active"))).as_bytes());
    let mut conn = MsrpConn::connect(offer.msrp_addr());
    assert_eq!(send(&mut conn, &offer.path, &local, b""), Some(200), "bind");
    assert!(
        expect_request(&mut sip, "BYE", common::QUIET).is_none(),
        "usable answer ended the call"
    );

    let body = cpim_body("sip:probe@example.com", ROOM, b"offerless hello");
    assert_eq!(send(&mut conn, &offer.path, &local, &body), Some(200));
    let got = b.next_message(STEP).expect("B gets it");
    assert!(got.ends_with(b"offerless hello"), "{got:?}");
    let (tid, _, _) = b.say(b"welcome");
    assert_eq!(b.response_to(&tid).status, Some(200));
    let copy = conn.recv(STEP).expect("copy for the offerless participant");
    assert!(copy.cpim_text().ends_with(b"welcome"), "{copy:?}");
    // The copy is addressed with the path the ACK supplied, not the empty one at join.
    assert_eq!(copy.header("To-Path"), Some(local.as_str()), "{copy:?}");
    assert_eq!(
        copy.header("From-Path"),
        Some(offer.path.as_str()),
        "{copy:?}"
    );
}

// IMPL-25: an unusable answer in the ACK (setup passive: the switch does not connect out
// here; a refused stream; no answer at all) → BYE, and the session never binds.
#[test]
fn impl_25_unusable_answer_in_ack_gets_bye() {
    let server = Server::start(&[]);
    let local = format!("msrp://127.0.0.1:9/{};tcp", ident(16));
    let refused = answer_sdp(&local, "active").replace("m=message 9 ", "m=message 0 ");
    let cases = [Some(answer_sdp(&local, "passive")), Some(refused), None];
    for sdp in cases {
        let (mut sip, ok) = invite_final(server.sip, Transport::Udp, ROOM, None, &[]);
        assert_eq!(ok.status(), Some(200), "{}", ok.start);
        let offer = Answer::parse(&ok.body_text());
        sip.send(ack(&sip, &ok, sdp.as_deref()).as_bytes());
        let bye = expect_request(&mut sip, "BYE", STEP)
            .unwrap_or_else(|| panic!("no BYE after answer {sdp:?}"));
        sip.send(ok_to(&bye).as_bytes());
        let mut conn = MsrpConn::connect(offer.msrp_addr());
        assert_ne!(
            send(&mut conn, &offer.path, &local, b""),
            Some(200),
            "session bound after an unusable answer {sdp:?}"
        );
    }
}
