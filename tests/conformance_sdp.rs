//! Conformance of the focus's SDP offer/answer (RFC 7701 §8 `a=chatroom`; RFC 4975 §8, §14.1;
//! RFC 6135 setup; RFC 6714 CEMA) over real loopback sockets. Each test name starts with
//! the requirement ID it shows; tests/CONFORMANCE.md maps IDs to tests.

mod common;

use std::collections::HashSet;

use common::conformance::{
    attrs_edit, fresh_path, in_dialog, invite_room, offer, sdp_value, usual_attrs,
};
use common::{ident, Participant, Server, Transport, STEP};

/// Joins as `sip:NAME@example.com` offering the usual attributes edited; panics unless 200.
fn join_edited(server: &Server, name: &str, drop: &[&str], add: &[&str]) -> Participant {
    let path = fresh_path();
    let sdp = offer(name, &attrs_edit(&path, drop, add));
    Participant::join_with(
        server.sip,
        Transport::Udp,
        &format!("sip:{name}@example.com"),
        &path,
        &sdp,
    )
    .unwrap_or_else(|r| panic!("offer {sdp:?} refused: {}", r.start))
}

fn chatroom_line(p: &Participant) -> String {
    p.answer
        .text
        .lines()
        .find(|l| l.starts_with("a=chatroom"))
        .expect("a=chatroom in the answer")
        .to_string()
}

#[test]
fn r7701_8_a_chatroom_variants_are_accepted() {
    let server = Server::start(&[]);
    for (i, value) in [
        "a=chatroom",
        "a=chatroom:nickname",
        "a=chatroom:nickname private-messages",
        "a=chatroom:private-messages com.example.chat.foo",
    ]
    .iter()
    .enumerate()
    {
        let mut p = join_edited(&server, &format!("user{i}"), &["a=chatroom"], &[value]);
        p.bind();
    }
}

#[test]
fn r7701_8_b_answer_says_nickname_and_nicknames_is_accepted() {
    let server = Server::start(&[]);
    let p = join_edited(
        &server,
        "alice",
        &["a=chatroom"],
        &["a=chatroom:nicknames private-messages"],
    );
    let line = chatroom_line(&p);
    assert_eq!(line, "a=chatroom:nickname private-messages");
}

#[test]
fn r7701_8_c_impl_2_duplicate_tokens_tolerated_never_emitted() {
    let server = Server::start(&[]);
    let p = join_edited(
        &server,
        "alice",
        &["a=chatroom"],
        &["a=chatroom:nickname nickname private-messages private-messages"],
    );
    let line = chatroom_line(&p);
    let tokens: Vec<&str> = line
        .strip_prefix("a=chatroom:")
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let unique: HashSet<&&str> = tokens.iter().collect();
    assert_eq!(
        unique.len(),
        tokens.len(),
        "duplicate token emitted: {line}"
    );
}

#[test]
fn r7701_8_d_answer_carries_chatroom_without_one_in_the_offer() {
    let server = Server::start(&[]);
    let p = join_edited(&server, "alice", &["a=chatroom"], &[]);
    assert!(
        chatroom_line(&p).starts_with("a=chatroom:nickname"),
        "{}",
        p.answer.text
    );
}

// R7701-8-e; R7701-6.2-a (token absent when the room forbids private messages).
#[test]
fn r7701_8_e_answer_reflects_room_policy() {
    let full = Server::start(&[]);
    let p = join_edited(&full, "alice", &[], &[]);
    assert_eq!(chatroom_line(&p), "a=chatroom:nickname private-messages");

    let no_private = Server::start(&["--no-private-messages"]);
    let p = join_edited(&no_private, "alice", &[], &[]);
    assert_eq!(chatroom_line(&p), "a=chatroom:nickname");

    let none = Server::start(&["--no-private-messages", "--no-nicknames"]);
    let p = join_edited(&none, "alice", &[], &[]);
    assert_eq!(chatroom_line(&p), "a=chatroom");
}

#[test]
fn r7701_8_g_unknown_tokens_ignored_known_ones_still_count() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = join_edited(
        &server,
        "bob",
        &["a=chatroom"],
        &["a=chatroom:com.example.chat.foo private-messages x-unknown"],
    );
    b.bind();
    let line = chatroom_line(&b);
    assert!(
        !line.contains("com.example") && !line.contains("x-unknown"),
        "unknown token echoed: {line}"
    );
    // `private-messages` was still understood: a private message reaches B.
    let (tid, _, body) = a.send_cpim_to("sip:bob@example.com", b"private hello");
    assert_eq!(a.response_to(&tid).status, Some(200));
    assert_eq!(b.next_send(STEP).expect("private copy at B").body, body);
}

#[test]
fn r4975_8_1_a_m_line_port_and_c_line_match_the_path() {
    let server = Server::start(&[]);
    let p = Participant::join(server.sip, Transport::Udp, "alice");
    let addr = p.answer.msrp_addr();
    let m = sdp_value(&p.answer.text, "m=").expect("m= line");
    assert_eq!(m, format!("message {} TCP/MSRP *", addr.port()));
    let c = sdp_value(&p.answer.text, "c=").expect("c= line");
    assert_eq!(c, format!("IN IP4 {}", addr.ip()));
}

#[test]
fn r4975_8_2_a_path_has_explicit_port_and_unique_session() {
    let server = Server::start(&[]);
    let mut seen = HashSet::new();
    for i in 0..6 {
        let p = Participant::join(server.sip, Transport::Udp, &format!("u{i}"));
        let uris: Vec<&str> = p.answer.path.split_whitespace().collect();
        assert!(!uris.is_empty(), "no a=path");
        for u in &uris {
            assert!(u.starts_with("msrp://"), "{u}");
            let authority = u[7..].split('/').next().unwrap_or("");
            let port = authority.rsplit_once(':').map(|(_, p)| p).unwrap_or("");
            assert!(port.parse::<u16>().is_ok(), "no explicit port in {u}");
            assert!(u.ends_with(";tcp"), "no ;tcp in {u}");
        }
        assert!(seen.insert(p.answer.session_id()), "session-id repeated");
    }
}

#[test]
fn r4975_14_1_a_session_ids_carry_80_bits() {
    let server = Server::start(&[]);
    let mut ids = HashSet::new();
    for i in 0..20 {
        let p = Participant::join(server.sip, Transport::Tcp, &format!("u{i}"));
        let sid = p.answer.session_id();
        let alnum = sid.bytes().all(|b| b.is_ascii_alphanumeric());
        // An alphanumeric id carries at most log2(62) ≈ 5.95 bits per character.
        let bits = if alnum {
            sid.len() as f64 * 5.95
        } else {
            sid.len() as f64 * 6.0
        };
        assert!(bits >= 80.0, "session-id {sid:?} too short for 80 bits");
        ids.insert(sid);
        drop(p);
    }
    assert_eq!(ids.len(), 20, "session-ids repeat");
    // No shared prefix or counter pattern: the first characters vary.
    let firsts: HashSet<char> = ids.iter().filter_map(|s| s.chars().next()).collect();
    assert!(firsts.len() >= 8, "first characters hardly vary: {ids:?}");
}

#[test]
fn r4975_8_3_a_impl_4_relay_path_uses_rightmost_as_session() {
    let server = Server::start(&[]);
    let relay = format!("msrp://127.0.0.1:9/{};tcp", ident(10));
    let own = fresh_path();
    let path = format!("{relay} {own}");
    let sdp = offer("alice", &usual_attrs(&path));
    let mut a = Participant::join_with(
        server.sip,
        Transport::Udp,
        "sip:alice@example.com",
        &path,
        &sdp,
    )
    .unwrap_or_else(|r| panic!("relay path refused: {}", r.start));
    // The relay binds with From-Path = relay URI then A's URI.
    a.bind();
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let (tid, _, body) = b.say(b"through the relay");
    assert_eq!(b.response_to(&tid).status, Some(200));
    let copy = a.next_send(STEP).expect("copy towards A via the relay");
    assert_eq!(copy.body, body);
    assert_eq!(
        copy.header("To-Path"),
        Some(path.as_str()),
        "To-Path must be the whole path, relay first"
    );
    let (tid, _, _) = a.say(b"from behind the relay");
    let resp = a.response_to(&tid);
    assert_eq!(resp.status, Some(200));
    assert_eq!(
        resp.header("To-Path"),
        Some(relay.as_str()),
        "SEND response goes to the first From-Path URI (RFC 4975 §7.2)"
    );
}

#[test]
fn r4975_8_4_a_reoffer_keeps_o_line_and_path() {
    let server = Server::start(&[]);
    let path = fresh_path();
    let sdp = offer("alice", &usual_attrs(&path));
    let mut a = Participant::join_with(
        server.sip,
        Transport::Udp,
        "sip:alice@example.com",
        &path,
        &sdp,
    )
    .expect("join");
    a.bind();
    let branch = ident(12);
    let reinvite = in_dialog(&a, "INVITE", 5, &branch, None, Some(&sdp));
    a.sip.send(reinvite.as_bytes());
    let r = a.sip.final_response("INVITE");
    assert_eq!(r.status(), Some(200), "{}", r.start);
    let again = r.body_text();
    assert_eq!(sdp_value(&again, "o="), sdp_value(&a.answer.text, "o="));
    assert_eq!(sdp_value(&again, "a=path:"), Some(a.answer.path.as_str()));
    let ack = in_dialog(&a, "ACK", 5, &ident(12), None, None);
    a.sip.send(ack.as_bytes());
    // The session still works after the re-INVITE.
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let (tid, _, body) = b.say(b"after re-INVITE");
    assert_eq!(b.response_to(&tid).status, Some(200));
    assert_eq!(a.next_send(STEP).expect("copy").body, body);
}

#[test]
fn r4975_8_6_c_no_usable_type_gets_488() {
    let server = Server::start(&[]);
    let path = fresh_path();
    let sdp = offer(
        "alice",
        &attrs_edit(
            &path,
            &["a=accept-types"],
            &["a=accept-types:text/plain text/html"],
        ),
    );
    let r = invite_room(server.sip, &sdp);
    assert_eq!(r.status(), Some(488), "{}", r.start);
}

#[test]
fn r6135_4_2_a_answer_has_setup_holdconn_treated_as_absent() {
    let server = Server::start(&[]);
    let p = Participant::join(server.sip, Transport::Udp, "alice");
    assert_eq!(sdp_value(&p.answer.text, "a=setup:"), Some("passive"));
    let mut h = join_edited(&server, "holder", &["a=setup"], &["a=setup:holdconn"]);
    let setup = sdp_value(&h.answer.text, "a=setup:").expect("a=setup");
    assert_ne!(setup, "holdconn", "holdconn must never be sent");
    assert_eq!(setup, "passive", "holdconn = absent = offerer active");
    h.bind();
}

// R6135-4.2-b (a passive offer, IMPL-7, is covered in tests/setup_roles.rs).
#[test]
fn r6135_4_2_b_actpass_answered_passive() {
    let server = Server::start(&[]);
    let mut p = join_edited(&server, "alice", &["a=setup"], &["a=setup:actpass"]);
    assert_eq!(sdp_value(&p.answer.text, "a=setup:"), Some("passive"));
    p.bind();
}

#[test]
fn r6135_4_2_c_without_setup_the_offerer_connects_and_sends_first() {
    let server = Server::start(&[]);
    let mut p = join_edited(&server, "alice", &["a=setup"], &[]);
    assert_eq!(sdp_value(&p.answer.text, "a=setup:"), Some("passive"));
    // The switch is passive: it waits for our first SEND (bind asserts its 200).
    p.bind();
}

#[test]
fn r6135_4_4_a_connection_attribute_ignored() {
    let server = Server::start(&[]);
    let mut p = join_edited(&server, "alice", &[], &["a=connection:new"]);
    assert!(
        !p.answer.text.contains("a=connection"),
        "answer uses a=connection"
    );
    p.bind();
    let mut q = join_edited(&server, "bob", &[], &["a=connection:existing"]);
    q.bind();
    let (tid, _, body) = p.say(b"connection attribute had no effect");
    assert_eq!(p.response_to(&tid).status, Some(200));
    assert_eq!(q.next_send(STEP).expect("copy").body, body);
}

#[test]
fn r6714_a_cema_offer_answered_without_cema() {
    let server = Server::start(&[]);
    let mut p = join_edited(&server, "alice", &[], &["a=msrp-cema"]);
    assert!(!p.answer.text.contains("msrp-cema"), "answer claims CEMA");
    p.bind();
    let mut q = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let (tid, _, body) = q.say(b"cema fallback works");
    assert_eq!(q.response_to(&tid).status, Some(200));
    assert_eq!(p.next_send(STEP).expect("copy").body, body);
}

#[test]
fn r4975_8_1_a_other_offered_streams_answered_with_port_0() {
    let server = Server::start(&[]);
    let path = fresh_path();
    // An audio stream first, then the MSRP stream.
    let mut sdp = common::conformance::offer_with("alice", "m=audio 49170 RTP/AVP 0", &[]);
    sdp.push_str("m=message 9 TCP/MSRP *\r\n");
    for a in usual_attrs(&path) {
        sdp.push_str(&a);
        sdp.push_str("\r\n");
    }
    let r = invite_room(server.sip, &sdp);
    assert_eq!(r.status(), Some(200), "{}", r.start);
    let answer = r.body_text();
    let m_lines: Vec<&str> = answer.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(m_lines.len(), 2, "answer m-lines {m_lines:?}");
    assert_eq!(
        m_lines[0], "m=audio 0 RTP/AVP 0",
        "audio not refused in place with media, proto and fmt echoed"
    );
    assert!(m_lines[1].starts_with("m=message "), "{m_lines:?}");
    assert_ne!(m_lines[1], "m=message 0 TCP/MSRP *", "MSRP stream refused");
}

// R4975-8.1-a / RFC 3264 §6: a second MSRP stream and a TLS one are answered with port 0
// in place; exactly one MSRP stream (the first usable one) is accepted.
#[test]
fn r4975_8_1_a_exactly_one_msrp_stream_accepted_others_port_0() {
    let server = Server::start(&[]);
    let path = fresh_path();
    let mut sdp = common::conformance::offer_with("alice", "m=message 9 TCP/TLS/MSRP *", &[]);
    sdp.push_str("a=accept-types:message/cpim\r\n");
    sdp.push_str(&format!("a=path:msrps://127.0.0.1:9/{};tcp\r\n", ident(10)));
    for _ in 0..2 {
        sdp.push_str("m=message 9 TCP/MSRP *\r\n");
        for a in usual_attrs(&path) {
            sdp.push_str(&a);
            sdp.push_str("\r\n");
        }
    }
    sdp.push_str("m=video 51372 RTP/AVP 31 32\r\n");
    let r = invite_room(server.sip, &sdp);
    assert_eq!(r.status(), Some(200), "{}", r.start);
    let answer = r.body_text();
    let m_lines: Vec<&str> = answer.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(m_lines.len(), 4, "answer m-lines {m_lines:?}");
    assert_eq!(m_lines[0], "m=message 0 TCP/TLS/MSRP *");
    assert!(m_lines[1].starts_with("m=message ") && !m_lines[1].starts_with("m=message 0 "));
    assert_eq!(m_lines[2], "m=message 0 TCP/MSRP *");
    assert_eq!(m_lines[3], "m=video 0 RTP/AVP 31 32");
    assert_eq!(answer.matches("a=path:").count(), 1, "one accepted stream");
}

/// A file-transfer m-line as RFC 5547 §8 and AG Projects' SDK write it (sendonly, a
/// file-selector, a transfer id).
fn file_transfer_section(path: &str) -> String {
    crlf_join(&[
        "m=message 9 TCP/MSRP *",
        "a=sendonly",
        "a=accept-types:message/cpim",
        "a=accept-wrapped-types:*",
        &format!("a=path:{path}"),
        "a=setup:active",
        "a=file-selector:name:\"holiday.jpg\" type:image/jpeg size:32349 \
         hash:sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E",
        "a=file-transfer-id:vBnG916bdberum2fFEABR1FR3ExZMUrd",
    ])
}

fn crlf_join(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

// Issue 14 / RFC 5547: a file transfer offer used to get 200 with a=recvonly, then 415 for
// every chunk. Alone it is refused with 488 and a Warning that says why.
#[test]
fn rfc5547_file_transfer_offer_alone_is_488_with_warning() {
    let server = Server::start(&[]);
    let mut sdp = crlf_join(&[
        "v=0",
        "o=alice 1 1 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
    ]);
    sdp.push_str(&file_transfer_section(&fresh_path()));
    let r = invite_room(server.sip, &sdp);
    assert_eq!(r.status(), Some(488), "{}", r.start);
    let warning = r.header("Warning").unwrap_or_default().to_string();
    assert!(
        warning.starts_with("304 ") && warning.contains("file"),
        "Warning {warning:?}"
    );
}

// Issue 14 / RFC 3264 §6: beside a chat stream, the file transfer stream is refused in
// place (port 0) and the chat stream joins.
#[test]
fn rfc5547_file_transfer_stream_beside_chat_gets_port_0() {
    let server = Server::start(&[]);
    let path = fresh_path();
    let mut sdp = offer("alice", &usual_attrs(&path));
    sdp.push_str(&file_transfer_section(&fresh_path()));
    let r = invite_room(server.sip, &sdp);
    assert_eq!(r.status(), Some(200), "{}", r.start);
    let answer = r.body_text();
    let m_lines: Vec<&str> = answer.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(m_lines.len(), 2, "answer m-lines {m_lines:?}");
    assert!(!m_lines[0].starts_with("m=message 0 "), "{m_lines:?}");
    assert_eq!(m_lines[1], "m=message 0 TCP/MSRP *");
    assert!(!answer.contains("a=recvonly"), "{answer}");
    assert_eq!(answer.matches("a=path:").count(), 1, "only the chat stream");
}
