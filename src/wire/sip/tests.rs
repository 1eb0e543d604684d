//! Wire-example vectors (a join's INVITE, 200, ACK and BYE and the focus's other answers,
//! written out below byte for byte as examples 1–4, 18 and 21): parse every
//! SIP message, rebuild the focus's responses from the requests and compare bytes.

use super::*;

/// Joins lines with CRLF and appends a final CRLF (the examples' reading rule).
pub(crate) fn wire(lines: &[&str]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s.into_bytes()
}

fn limits() -> SipLimits {
    SipLimits::from(&crate::limits::Limits::default())
}

pub(crate) fn example1() -> Vec<u8> {
    wire(&[
        "INVITE sip:chat22@chat.example.com SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9a1c",
        "Max-Forwards: 70",
        "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl",
        "To: <sip:chat22@chat.example.com>",
        "Call-ID: 3848276298220188511@192.0.2.101",
        "CSeq: 1 INVITE",
        "Contact: <sip:alice@192.0.2.101:5060>",
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY",
        "Content-Type: application/sdp",
        "Content-Length: 298",
        "",
        "v=0",
        "o=alice 2890844526 2890844526 IN IP4 192.0.2.101",
        "s=-",
        "c=IN IP4 192.0.2.101",
        "t=0 0",
        "m=message 7654 TCP/MSRP *",
        "a=accept-types:message/cpim",
        "a=accept-wrapped-types:text/plain text/html",
        "a=path:msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp",
        "a=setup:actpass",
        "a=chatroom:nickname private-messages",
    ])
}

fn example2() -> Vec<u8> {
    wire(&[
        "SIP/2.0 100 Trying",
        "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9a1c",
        "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl",
        "To: <sip:chat22@chat.example.com>",
        "Call-ID: 3848276298220188511@192.0.2.101",
        "CSeq: 1 INVITE",
        "Content-Length: 0",
        "",
    ])
}

const EXAMPLE3_SDP: &[&str] = &[
    "v=0",
    "o=focus 3112294075 3112294075 IN IP4 192.0.2.10",
    "s=-",
    "c=IN IP4 192.0.2.10",
    "t=0 0",
    "m=message 2855 TCP/MSRP *",
    "a=accept-types:message/cpim",
    "a=accept-wrapped-types:text/plain text/html *",
    "a=path:msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp",
    "a=setup:passive",
    "a=max-size:65536",
    "a=chatroom:nickname private-messages",
];

fn example3() -> Vec<u8> {
    let mut lines = vec![
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9a1c",
        "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl",
        "To: <sip:chat22@chat.example.com>;tag=8321234356",
        "Call-ID: 3848276298220188511@192.0.2.101",
        "CSeq: 1 INVITE",
        "Contact: <sip:chat22@chat.example.com;transport=udp>;isfocus",
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, SUBSCRIBE, NOTIFY",
        "Allow-Events: conference",
        "Content-Type: application/sdp",
        "Content-Length: 315",
        "",
    ];
    lines.extend_from_slice(EXAMPLE3_SDP);
    wire(&lines)
}

fn example4() -> Vec<u8> {
    wire(&[
        "ACK sip:chat22@chat.example.com;transport=udp SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK5a1e33f0",
        "Max-Forwards: 70",
        "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl",
        "To: <sip:chat22@chat.example.com>;tag=8321234356",
        "Call-ID: 3848276298220188511@192.0.2.101",
        "CSeq: 1 ACK",
        "Content-Length: 0",
        "",
    ])
}

fn example18_subscribe() -> Vec<u8> {
    wire(&[
        "SUBSCRIBE sip:chat22@chat.example.com SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK3c1d77e2",
        "Max-Forwards: 70",
        "From: Alice <sip:alice@atlanta.example.com>;tag=4b2c9e1a",
        "To: <sip:chat22@chat.example.com>",
        "Call-ID: 7a9d3e11f0c2@192.0.2.101",
        "CSeq: 1 SUBSCRIBE",
        "Contact: <sip:alice@192.0.2.101:5060>",
        "Event: conference",
        "Accept: application/conference-info+xml",
        "Expires: 3600",
        "Content-Length: 0",
        "",
    ])
}

fn example18_ok() -> Vec<u8> {
    wire(&[
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK3c1d77e2",
        "From: Alice <sip:alice@atlanta.example.com>;tag=4b2c9e1a",
        "To: <sip:chat22@chat.example.com>;tag=e5f0a2b7",
        "Call-ID: 7a9d3e11f0c2@192.0.2.101",
        "CSeq: 1 SUBSCRIBE",
        "Contact: <sip:chat22@chat.example.com;transport=udp>;isfocus",
        "Expires: 3600",
        "Content-Length: 0",
        "",
    ])
}

pub(crate) fn example21_bye() -> Vec<u8> {
    wire(&[
        "BYE sip:chat22@chat.example.com;transport=udp SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK0e6b2d48",
        "Max-Forwards: 70",
        "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl",
        "To: <sip:chat22@chat.example.com>;tag=8321234356",
        "Call-ID: 3848276298220188511@192.0.2.101",
        "CSeq: 2 BYE",
        "Content-Length: 0",
        "",
    ])
}

fn example21_ok() -> Vec<u8> {
    wire(&[
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK0e6b2d48",
        "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl",
        "To: <sip:chat22@chat.example.com>;tag=8321234356",
        "Call-ID: 3848276298220188511@192.0.2.101",
        "CSeq: 2 BYE",
        "Content-Length: 0",
        "",
    ])
}

fn alice_source() -> Option<ViaReceived> {
    Some(ViaReceived {
        ip: "192.0.2.101".parse().unwrap(),
        port: 5060,
    })
}

#[test]
fn octet_counts_match_the_examples() {
    assert_eq!(example1().len(), 714);
    assert_eq!(example2().len(), 252);
    assert_eq!(example3().len(), 760);
    assert_eq!(example4().len(), 317);
    assert_eq!(example18_subscribe().len(), 405);
    assert_eq!(example18_ok().len(), 332);
    assert_eq!(example21_bye().len(), 317);
    assert_eq!(example21_ok().len(), 260);
}

#[test]
fn parse_example_1_invite() {
    let bytes = example1();
    let m = parse(&bytes, &limits()).unwrap();
    let rl = m.request().unwrap();
    assert_eq!(rl.method, Method::Invite);
    let uri = SipUri::parse(rl.uri).unwrap();
    assert_eq!((uri.user, uri.host), (Some("chat22"), "chat.example.com"));
    let via = m.headers.top_via().unwrap();
    assert_eq!(via.branch(), Some("z9hG4bK74bf9a1c"));
    assert_eq!(via.sent_by(), ("192.0.2.101", Some(5060)));
    let from = m.headers.from().unwrap();
    assert_eq!(from.display_name, "Alice");
    assert_eq!(from.uri, "sip:alice@atlanta.example.com");
    assert_eq!(from.tag(), Some("9fxced76sl"));
    assert_eq!(m.headers.to().unwrap().tag(), None);
    assert_eq!(m.headers.call_id(), Ok("3848276298220188511@192.0.2.101"));
    let cseq = m.headers.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (1, Method::Invite));
    assert_eq!(m.headers.max_forwards(), Ok(Some(70)));
    assert_eq!(
        m.headers.contact().unwrap().unwrap().uri,
        "sip:alice@192.0.2.101:5060"
    );
    assert_eq!(
        m.headers.get(HeaderName::ContentType),
        Some("application/sdp")
    );
    assert_eq!(m.body.len(), 298);
    assert!(m.body.starts_with(b"v=0\r\n"));
    assert_eq!(m.headers.elements(HeaderName::Allow).count(), 6);
}

#[test]
fn compact_and_sloppy_forms_parse_like_example_1() {
    let text = String::from_utf8(example1()).unwrap();
    let sloppy = text
        .replace("Via: ", "v:")
        .replace("From: ", "f : ")
        .replace("To: ", "t:\r\n ")
        .replace("Call-ID: ", "i: ")
        .replace("Contact: ", "m: ")
        .replace("Content-Type: ", "c: ")
        .replace("Content-Length: ", "l: ");
    let a_bytes = example1();
    let a = parse(&a_bytes, &limits()).unwrap();
    let b = parse(sloppy.as_bytes(), &limits()).unwrap();
    assert_eq!(a.start, b.start);
    assert_eq!(a.body, b.body);
    assert_eq!(a.headers.len(), b.headers.len());
    for (x, y) in a.headers.iter().zip(b.headers.iter()) {
        assert_eq!(x, y);
    }
}

#[test]
fn build_example_2_trying_from_example_1() {
    let bytes = example1();
    let m = parse(&bytes, &limits()).unwrap();
    let out = emit_response(
        &m.headers,
        alice_source(),
        &Response {
            code: 100,
            reason: "Trying",
            to_tag: None,
            headers: &[],
            body: b"",
        },
    );
    assert_eq!(out, example2());
}

#[test]
fn build_example_3_ok_from_example_1() {
    let bytes = example1();
    let m = parse(&bytes, &limits()).unwrap();
    let sdp = wire(EXAMPLE3_SDP);
    let out = emit_response(
        &m.headers,
        alice_source(),
        &Response {
            code: 200,
            reason: "OK",
            to_tag: Some("8321234356"),
            headers: &[
                (
                    "Contact",
                    "<sip:chat22@chat.example.com;transport=udp>;isfocus",
                ),
                (
                    "Allow",
                    "INVITE, ACK, CANCEL, BYE, OPTIONS, SUBSCRIBE, NOTIFY",
                ),
                ("Allow-Events", "conference"),
                ("Content-Type", "application/sdp"),
            ],
            body: &sdp,
        },
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        String::from_utf8(example3()).unwrap()
    );
    let ex3 = example3();
    let back = parse(&ex3, &limits()).unwrap();
    assert_eq!(back.status().unwrap().code, 200);
    assert_eq!(back.headers.to().unwrap().tag(), Some("8321234356"));
    assert_eq!(
        back.headers.contact().unwrap().unwrap().param("isfocus"),
        Some("")
    );
    assert_eq!(back.body, &sdp[..]);
}

#[test]
fn parse_example_4_ack() {
    let bytes = example4();
    let m = parse(&bytes, &limits()).unwrap();
    let rl = m.request().unwrap();
    assert_eq!(rl.method, Method::Ack);
    assert_eq!(SipUri::parse(rl.uri).unwrap().transport(), Some("udp"));
    assert_eq!(m.headers.cseq().unwrap().method, Method::Ack);
    assert_eq!(m.headers.to().unwrap().tag(), Some("8321234356"));
    assert_eq!(m.body, b"");
}

#[test]
fn build_example_18_ok_from_subscribe() {
    let bytes = example18_subscribe();
    let m = parse(&bytes, &limits()).unwrap();
    assert_eq!(m.request().unwrap().method, Method::Subscribe);
    assert_eq!(m.headers.get(HeaderName::Event), Some("conference"));
    let out = emit_response(
        &m.headers,
        alice_source(),
        &Response {
            code: 200,
            reason: "OK",
            to_tag: Some("e5f0a2b7"),
            headers: &[
                (
                    "Contact",
                    "<sip:chat22@chat.example.com;transport=udp>;isfocus",
                ),
                ("Expires", "3600"),
            ],
            body: b"",
        },
    );
    assert_eq!(out, example18_ok());
}

#[test]
fn build_example_21_ok_from_bye() {
    let bytes = example21_bye();
    let m = parse(&bytes, &limits()).unwrap();
    assert_eq!(m.request().unwrap().method, Method::Bye);
    let out = emit_response(
        &m.headers,
        alice_source(),
        &Response {
            code: 200,
            reason: "OK",
            to_tag: Some("ignored-because-present"),
            headers: &[],
            body: b"",
        },
    );
    assert_eq!(out, example21_ok());
    let ok = example21_ok();
    let back = parse(&ok, &limits()).unwrap();
    assert_eq!(back.status().unwrap().reason, "OK");
}

#[test]
fn error_status_table() {
    assert_eq!(SipError::BadVersion.status().0, 505);
    assert_eq!(SipError::TooLarge.status().0, 413);
    assert_eq!(SipError::UnsupportedScheme.status().0, 416);
    assert_eq!(SipError::UriTooLong.status().0, 414);
    assert_eq!(SipError::BadHeader.status().0, 400);
}

#[test]
fn stream_framer_at_every_split_of_example_1() {
    let msg = example1();
    for split in 0..=msg.len() {
        let mut f = StreamFramer::new(limits().max_message_bytes);
        f.push(&msg[..split]);
        let early = f.next_frame().unwrap().map(<[u8]>::to_vec);
        f.push(&msg[split..]);
        let got = match early {
            Some(frame) => frame,
            None => f.next_frame().unwrap().unwrap().to_vec(),
        };
        assert_eq!(got, msg, "split at {split}");
        assert_eq!(f.next_frame(), Ok(None));
    }
}

#[test]
fn no_panic_on_truncations_and_garbage() {
    let msg = example1();
    for end in 0..msg.len() {
        let _ = parse(&msg[..end], &limits());
        let _ = parse_head(&msg[..end], &limits());
    }
    let mut junk = msg.clone();
    for i in 0..junk.len() {
        junk[i] = junk[i].wrapping_mul(31).wrapping_add(7);
        if let Ok(m) = parse(&junk, &limits()) {
            let _ = m.headers.top_via();
            let _ = m.headers.from();
            let _ = m.headers.cseq();
            let _ = m.request().map(|r| SipUri::parse(r.uri));
        }
    }
}
