//! Conformance of the switch's Message/CPIM handling (RFC 3862 §2–§3 as used by RFC 4975
//! §13 and RFC 7701 §6; implementer choices IMPL-12/13/14) over real loopback sockets.
//! Each test name starts with the requirement ID it shows; tests/CONFORMANCE.md maps IDs
//! to tests.

mod common;

use common::{crlf, Participant, Server, Transport, QUIET, ROOM, STEP};

/// A CPIM body from header `lines` (the CPIM block and, after an empty string, the MIME
/// headers; `crlf` adds the final CRLF) followed by `content`.
fn cpim(lines: &[&str], content: &[u8]) -> Vec<u8> {
    let mut body = crlf(lines).into_bytes();
    body.extend_from_slice(content);
    body
}

fn pair(server: &Server) -> (Participant, Participant) {
    let a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    (a, b)
}

/// A sends `body`; asserts the status; on 200 asserts B gets it byte-identical, otherwise
/// that B gets nothing.
fn send_expect(a: &mut Participant, b: &mut Participant, body: &[u8], want: u16) {
    let (tid, _) = a.send_body("message/cpim", body);
    let r = a.response_to(&tid);
    assert_eq!(
        r.status,
        Some(want),
        "body {:?} answered {r:?}",
        String::from_utf8_lossy(body)
    );
    if want == 200 {
        let got = b.next_message(STEP).expect("copy at B");
        assert_eq!(got, body, "CPIM body altered in transit");
    } else {
        assert!(
            b.next_send(QUIET).is_none(),
            "a refused message was forwarded"
        );
    }
}

const ALICE: &str = "From: <sip:alice@example.com>";

#[test]
fn r3862_2_a_two_part_layout_forwarded() {
    let server = Server::start(&[]);
    let (mut a, mut b) = pair(&server);
    let body = cpim(
        &[
            ALICE,
            &format!("To: <{ROOM}>"),
            "DateTime: 2025-01-15T10:02:31Z",
            "",
            "Content-Type: text/plain;charset=utf-8",
            "Content-ID: <1234567890@example.com>",
            "",
        ],
        b"two parts",
    );
    send_expect(&mut a, &mut b, &body, 200);
}

#[test]
fn r3862_2_2_a_impl_12_folded_header_line_400() {
    let server = Server::start(&[]);
    let (mut a, mut b) = pair(&server);
    let body = cpim(
        &[
            ALICE,
            &format!("To: <{ROOM}>"),
            "Subject: a subject",
            " folded onto a second line",
            "",
            "Content-Type: text/plain",
            "",
        ],
        b"folded",
    );
    send_expect(&mut a, &mut b, &body, 400);
    // A raw control character in a header value is not allowed either.
    let body = cpim(
        &[
            ALICE,
            &format!("To: <{ROOM}>"),
            "Subject: bell \\u0007 rings",
            "",
            "Content-Type: text/plain",
            "",
        ],
        b"escaped, fine",
    );
    send_expect(&mut a, &mut b, &body, 200);
    let raw_bell = cpim(
        &[
            ALICE,
            &format!("To: <{ROOM}>"),
            "Subject: bell \u{7} rings",
            "",
            "Content-Type: text/plain",
            "",
        ],
        b"control character",
    );
    send_expect(&mut a, &mut b, &raw_bell, 400);
}

#[test]
fn r3862_2_2_b_header_names_are_case_sensitive() {
    let server = Server::start(&[]);
    let (mut a, mut b) = pair(&server);
    // `from:` is not a From header: no valid sender.
    let body = cpim(
        &[
            "from: <sip:alice@example.com>",
            &format!("To: <{ROOM}>"),
            "",
            "Content-Type: text/plain",
            "",
        ],
        b"lowercase from",
    );
    send_expect(&mut a, &mut b, &body, 403);
    // ... nor a second From: a spoofed `from:` beside the real From is just an unknown header.
    let body = cpim(
        &[
            ALICE,
            "from: <sip:bob@example.com>",
            &format!("To: <{ROOM}>"),
            "",
            "Content-Type: text/plain",
            "",
        ],
        b"extra lowercase from",
    );
    send_expect(&mut a, &mut b, &body, 200);
}

#[test]
fn r3862_2_2_c_headers_kept_octet_for_octet() {
    let server = Server::start(&[]);
    let (mut a, mut b) = pair(&server);
    let body = cpim(
        &[
            "NS: MyFeatures <mid:MessageFeatures@id.foo.com>",
            "MyFeatures.VoiceMail: TRUE",
            "From: \"Alice  Liddell\" <sip:alice@example.com>",
            &format!("To: The  Room <{ROOM}>"),
            "Subject;lang=fr: Objet  du message",
            "Subject: \\u00e9t\\u00e9",
            "DateTime: 2000-12-13T13:40:00-08:00",
            "",
            "Content-Type: text/plain; charset=utf-8",
            "",
        ],
        "unchanged — \u{00e9}".as_bytes(),
    );
    send_expect(&mut a, &mut b, &body, 200);
}

#[test]
fn r3862_3_a_formal_names_and_bare_addresses_accepted() {
    let server = Server::start(&[]);
    let (mut a, mut b) = pair(&server);
    for (from, to) in [
        (
            "From: Alice <sip:alice@example.com>",
            format!("To: Chatroom <{ROOM}>"),
        ),
        ("From: <sip:alice@example.com>", format!("To: <{ROOM}>")),
        (
            "From: \"Alice\" <sip:alice@EXAMPLE.COM>",
            format!("To: \"Lobby\" <{ROOM}>"),
        ),
    ] {
        let body = cpim(&[from, &to, "", "Content-Type: text/plain", ""], b"hello");
        send_expect(&mut a, &mut b, &body, 200);
    }
}

#[test]
fn r4975_13_a_impl_12_missing_or_duplicate_from_403() {
    let server = Server::start(&[]);
    let (mut a, mut b) = pair(&server);
    let missing = cpim(
        &[&format!("To: <{ROOM}>"), "", "Content-Type: text/plain", ""],
        b"no From",
    );
    send_expect(&mut a, &mut b, &missing, 403);
    let twice = cpim(
        &[
            ALICE,
            ALICE,
            &format!("To: <{ROOM}>"),
            "",
            "Content-Type: text/plain",
            "",
        ],
        b"two From",
    );
    let (tid, _) = a.send_body("message/cpim", &twice);
    let r = a.response_to(&tid);
    assert!(
        matches!(r.status, Some(400) | Some(403)),
        "two From answered {r:?}"
    );
    assert!(b.next_send(QUIET).is_none(), "two-From message forwarded");
}

#[test]
fn impl_13_header_block_without_end_within_cap_refused() {
    let server = Server::start(&[]);
    let (mut a, mut b) = pair(&server);
    let mut lines = vec![ALICE.to_string(), format!("To: <{ROOM}>")];
    for i in 0..200 {
        lines.push(format!("X-Pad{i}: {}", "p".repeat(40)));
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut body = crlf(&refs).into_bytes();
    body.extend_from_slice(b"\r\nContent-Type: text/plain\r\n\r\nlate end");
    let (tid, _) = a.send_body("message/cpim", &body);
    let r = a.response_to(&tid);
    assert!(
        matches!(r.status, Some(400) | Some(413)),
        "oversized CPIM header block answered {r:?}"
    );
    assert!(b.next_send(QUIET).is_none(), "forwarded anyway");
}

#[test]
fn impl_14_layout_without_empty_line_before_content_type() {
    let server = Server::start(&[]);
    let (mut a, mut b) = pair(&server);
    let body = cpim(
        &[
            ALICE,
            &format!("To: <{ROOM}>"),
            "DateTime: 2006-05-15T15:02:31-03:00",
            "Content-Type: text/plain",
            "",
        ],
        b"RFC 4975 section 11.4 layout",
    );
    send_expect(&mut a, &mut b, &body, 200);
}
