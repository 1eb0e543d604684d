//! SDP vectors: wire example 1 (offer) and example 3 (answer), round trips and odd offers.

use super::*;

fn wire(lines: &[&str]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s.into_bytes()
}

fn example1_sdp() -> Vec<u8> {
    wire(&[
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

fn example3_sdp() -> Vec<u8> {
    wire(&[
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
    ])
}

#[test]
fn parse_example_1_offer() {
    let body = example1_sdp();
    assert_eq!(body.len(), 298, "Content-Length of example 1");
    let sd = SessionDescription::parse(&body, 4096).unwrap();
    assert_eq!(sd.origin.username, "alice");
    assert_eq!(sd.origin.sess_version, "2890844526");
    assert_eq!(sd.session_name, "-");
    assert_eq!(
        sd.connection,
        Some(Connection {
            addr_type: AddrType::Ip4,
            address: "192.0.2.101"
        })
    );
    let m = sd.msrp_media().unwrap();
    assert_eq!(m.port, 7654);
    assert_eq!(m.proto, MsrpProto::Tcp);
    assert!(m.accepts("message/cpim"));
    assert!(m.accepts("Message/CPIM"));
    assert!(!m.accepts("text/plain"));
    assert_eq!(m.accept_wrapped_types, Some("text/plain text/html"));
    assert_eq!(m.path, Some("msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp"));
    assert_eq!(m.setup, Some(Setup::Actpass));
    assert_eq!(m.max_size, None);
    assert_eq!(
        m.chatroom,
        Some(Chatroom {
            nickname: true,
            private_messages: true
        })
    );
}

fn example3_answer() -> Answer<'static> {
    Answer {
        origin_username: "focus",
        sess_id: 3112294075,
        sess_version: 3112294075,
        address: "192.0.2.10",
        port: 2855,
        proto: MsrpProto::Tcp,
        accept_types: "message/cpim",
        accept_wrapped_types: Some("text/plain text/html *"),
        path: "msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp",
        setup: Setup::Passive,
        max_size: Some(65536),
        chatroom: Some(Chatroom {
            nickname: true,
            private_messages: true,
        }),
        direction: Direction::SendRecv,
        offered: &[],
        accepted: 0,
    }
}

#[test]
fn emit_example_3_answer_byte_for_byte() {
    let want = example3_sdp();
    assert_eq!(want.len(), 315, "Content-Length of example 3");
    assert_eq!(example3_answer().emit(), want);
}

#[test]
fn answer_round_trips() {
    let a = example3_answer();
    let bytes = a.emit();
    let sd = SessionDescription::parse(&bytes, 4096).unwrap();
    assert_eq!(sd.origin.username, "focus");
    assert_eq!(sd.origin.sess_id, "3112294075");
    assert_eq!(sd.connection.unwrap().address, a.address);
    let m = sd.msrp_media().unwrap();
    assert_eq!(m.port, a.port);
    assert_eq!(m.accept_types, Some(a.accept_types));
    assert_eq!(m.accept_wrapped_types, a.accept_wrapped_types);
    assert_eq!(m.path, Some(a.path));
    assert_eq!(m.setup, Some(a.setup));
    assert_eq!(m.max_size, a.max_size);
    assert_eq!(m.chatroom, a.chatroom);
}

#[test]
fn emit_chatroom_variants_and_ipv6() {
    let mut a = example3_answer();
    a.chatroom = Some(Chatroom::default());
    let s = String::from_utf8(a.emit()).unwrap();
    assert!(s.ends_with("a=max-size:65536\r\na=chatroom\r\n"), "{s}");
    a.chatroom = Some(Chatroom {
        nickname: true,
        private_messages: false,
    });
    let s = String::from_utf8(a.emit()).unwrap();
    assert!(s.ends_with("a=chatroom:nickname\r\n"));
    assert!(!s.contains("nicknames"));
    a.chatroom = None;
    a.accept_wrapped_types = None;
    a.max_size = None;
    a.address = "::1";
    let s = String::from_utf8(a.emit()).unwrap();
    assert!(!s.contains("chatroom") && !s.contains("wrapped") && !s.contains("max-size"));
    assert!(s.contains("o=focus 3112294075 3112294075 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\n"));
}

#[test]
fn chatroom_tokens_tolerant() {
    assert_eq!(Chatroom::parse(""), Chatroom::default());
    let c = Chatroom::parse("nicknames nickname com.example.chat.foo");
    assert!(c.nickname && !c.private_messages);
    let c = Chatroom::parse("private-messages private-messages");
    assert!(!c.nickname && c.private_messages);
}

fn offer_with_media(media: &[&str]) -> Vec<u8> {
    let mut lines = vec!["v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "t=0 0"];
    lines.extend_from_slice(media);
    wire(&lines)
}

#[test]
fn skips_other_media_and_picks_first_usable_msrp() {
    let body = offer_with_media(&[
        "m=audio 4000 RTP/AVP 0",
        "a=path:not-a-uri-but-audio-section",
        "m=message 9 TCP/TLS/MSRP *",
        "a=accept-types:*",
        "a=path:msrps://10.0.0.1:9/tls;tcp",
        "m=message 0 TCP/MSRP *",
        "a=path:msrp://10.0.0.1:1/zero;tcp",
        "m=message 5000 TCP/MSRP *",
        "c=IN IP6 ::1",
        "a=accept-types:text/plain message/cpim;x=1",
        "a=path:msrp://relay.example:1/r;tcp msrp://[::1]:5000/s;tcp",
        "a=path:msrp://ignored:2/x;tcp",
        "a=chatroom",
        "a=unknown:thing",
        "a=max-size:100",
        "a=setup:bogus",
        "m=message 6000 TCP/WS/MSRP *",
    ]);
    let sd = SessionDescription::parse(&body, 4096).unwrap();
    assert_eq!(sd.media.len(), 3);
    assert_eq!(sd.media[0].proto, MsrpProto::Tls);
    let m = sd.msrp_media().unwrap();
    assert_eq!(m.port, 5000);
    assert!(m.accepts("message/cpim"));
    assert_eq!(
        m.path,
        Some("msrp://relay.example:1/r;tcp msrp://[::1]:5000/s;tcp")
    );
    assert_eq!(m.chatroom, Some(Chatroom::default()));
    assert_eq!(m.max_size, Some(100));
    assert_eq!(m.setup, None);
    assert_eq!(m.connection.unwrap().addr_type, AddrType::Ip6);
}

#[test]
fn errors() {
    assert_eq!(
        SessionDescription::parse(&example1_sdp(), 100),
        Err(SdpError::TooLarge)
    );
    assert_eq!(
        SessionDescription::parse(b"o=x\r\n", 4096),
        Err(SdpError::BadLine)
    );
    assert_eq!(
        SessionDescription::parse(b"v=0\r\ns=-\r\n", 4096),
        Err(SdpError::BadOrigin)
    );
    assert_eq!(
        SessionDescription::parse(b"v=0\r\n\xff\r\n", 4096),
        Err(SdpError::NotUtf8)
    );
    assert_eq!(
        SessionDescription::parse(b"v=0\r\nbad line\r\n", 4096),
        Err(SdpError::BadLine)
    );
    let bad = [
        ("m=message x TCP/MSRP *", SdpError::BadMedia),
        ("m=message 1 TCP/MSRP", SdpError::BadMedia),
        ("m=message", SdpError::BadMedia),
        ("c=IN IP5 1.2.3.4", SdpError::BadConnection),
    ];
    for (line, err) in bad {
        let body = offer_with_media(&[line]);
        assert_eq!(SessionDescription::parse(&body, 4096), Err(err), "{line}");
    }
    for (attr, err) in [
        ("a=path:http://x/y", SdpError::BadPath),
        ("a=path:", SdpError::BadPath),
        ("a=path:msrp:///nohost", SdpError::BadPath),
        ("a=max-size:lots", SdpError::BadMaxSize),
    ] {
        let body = offer_with_media(&["m=message 1 TCP/MSRP *", attr]);
        assert_eq!(SessionDescription::parse(&body, 4096), Err(err), "{attr}");
    }
    assert_eq!(SdpError::TooLarge.sip_status().0, 400);
    assert_eq!(SdpError::BadPath.sip_status().0, 488);
}

#[test]
fn msrp_authority() {
    assert_eq!(
        msrp_uri_authority("msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp"),
        Some(("192.0.2.10", 2855))
    );
    assert_eq!(
        msrp_uri_authority("msrps://[2001:db8::1]:1/s;tcp"),
        Some(("2001:db8::1", 1))
    );
    assert_eq!(msrp_uri_authority("msrp://host/s;tcp"), None);
    assert_eq!(msrp_uri_authority("garbage"), None);
}

#[test]
fn lists_every_m_line_in_order_and_answers_refused_ones_with_port_0() {
    let body = offer_with_media(&[
        "m=audio 49170 RTP/AVP 0 8",
        "a=rtpmap:0 PCMU/8000",
        "m=message 9 TCP/TLS/MSRP *",
        "m=message 5000 TCP/MSRP *",
        "a=accept-types:message/cpim",
        "a=path:msrp://10.0.0.1:5000/s;tcp",
        "m=video 0 RTP/AVP 31",
    ]);
    let sd = SessionDescription::parse(&body, 4096).unwrap();
    let kinds: Vec<(&str, &str, &str, Option<usize>)> = sd
        .lines
        .iter()
        .map(|l| (l.media, l.proto, l.fmt, l.msrp))
        .collect();
    assert_eq!(
        kinds,
        [
            ("audio", "RTP/AVP", "0 8", None),
            ("message", "TCP/TLS/MSRP", "*", Some(0)),
            ("message", "TCP/MSRP", "*", Some(1)),
            ("video", "RTP/AVP", "31", None),
        ]
    );
    assert_eq!(sd.msrp_line(), Some(2));
    let answer = Answer {
        offered: &sd.lines,
        accepted: 2,
        ..example3_answer()
    }
    .emit();
    let text = String::from_utf8(answer).unwrap();
    let m: Vec<&str> = text.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(
        m,
        [
            "m=audio 0 RTP/AVP 0 8",
            "m=message 0 TCP/TLS/MSRP *",
            "m=message 2855 TCP/MSRP *",
            "m=video 0 RTP/AVP 31",
        ]
    );
    // The MSRP attributes sit in the accepted section, before the refused video line.
    let video = text.find("m=video").unwrap();
    assert!(text.find("a=path:").unwrap() < video);
    assert!(
        !text.contains("rtpmap"),
        "refused sections carry no attributes"
    );
}

#[test]
fn m_line_without_format_is_malformed() {
    let body = offer_with_media(&["m=audio 49170 RTP/AVP"]);
    assert_eq!(
        SessionDescription::parse(&body, 4096),
        Err(SdpError::BadMedia)
    );
}

#[test]
fn direction_media_level_overrides_session_level() {
    let body = wire(&[
        "v=0",
        "o=- 1 1 IN IP4 10.0.0.1",
        "s=-",
        "t=0 0",
        "a=recvonly",
        "m=message 5000 TCP/MSRP *",
        "a=path:msrp://10.0.0.1:5000/a;tcp",
        "m=message 5001 TCP/MSRP *",
        "a=sendonly",
        "a=path:msrp://10.0.0.1:5001/b;tcp",
    ]);
    let sd = SessionDescription::parse(&body, 4096).unwrap();
    assert_eq!(sd.media[0].direction, Direction::RecvOnly);
    assert_eq!(sd.media[1].direction, Direction::SendOnly);
    let example1 = example1_sdp();
    let plain = SessionDescription::parse(&example1, 4096).unwrap();
    assert_eq!(plain.media[0].direction, Direction::SendRecv);
}

#[test]
fn direction_answers_mirror_the_offer() {
    for (offered, answered) in [
        (Direction::SendRecv, None),
        (Direction::SendOnly, Some("a=recvonly")),
        (Direction::RecvOnly, Some("a=sendonly")),
        (Direction::Inactive, Some("a=inactive")),
    ] {
        let text = String::from_utf8(
            Answer {
                direction: offered.answered(),
                ..example3_answer()
            }
            .emit(),
        )
        .unwrap();
        let dirs: Vec<&str> = text
            .lines()
            .filter(|l| ["a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"].contains(l))
            .collect();
        assert_eq!(
            dirs,
            answered.into_iter().collect::<Vec<_>>(),
            "{offered:?}"
        );
    }
    assert!(Direction::SendOnly.sends() && !Direction::SendOnly.receives());
    assert!(!Direction::RecvOnly.sends() && Direction::RecvOnly.receives());
    assert!(!Direction::Inactive.sends() && !Direction::Inactive.receives());
}

#[test]
fn file_selector_marks_a_file_transfer_section() {
    let mut lines = example1_sdp();
    let sd = SessionDescription::parse(&lines, 4096).unwrap();
    assert!(!sd.msrp_media().unwrap().file_selector, "a chat section");
    lines.extend_from_slice(b"a=file-selector:name:\"a.txt\" type:text/plain size:5\r\n");
    let sd = SessionDescription::parse(&lines, 4096).unwrap();
    assert!(sd.msrp_media().unwrap().file_selector);
}
