//! Conformance of the SIP focus (RFC 7701 §4, §5; RFC 3261 §8, §9, §11–§13, §17; RFC 3840
//! isfocus) over real loopback sockets. Each test name starts with the requirement ID (from
//! the shared requirements checklist, spec/rfc7701-requirements.md) it shows;
//! tests/CONFORMANCE.md maps IDs to tests.

mod common;

use std::time::{Duration, Instant};

use common::conformance::{
    expect_request, fresh_path, in_dialog, invite_final, limits_file, offer, ok_to, raw_request,
    usual_attrs,
};
use common::msrp::{MsrpConn, SendRequest};
use common::sip::{tag_of, SipClient};
use common::{ident, Participant, Server, Transport, QUIET, ROOM, STEP};

/// T1 and T2 for the timer tests (64 × T1 = 3.2 s).
const T1_MS: u64 = 50;
const T2_MS: u64 = 200;

/// Fast RFC 3261 timers, with the RFC's full retransmission schedule even towards a UDP
/// address that has not answered yet (by default that is bounded: issue 15,
/// `unproven_udp_resends`, checked in tests/hostile.rs).
fn short_timers() -> String {
    limits_file(&[
        ("sip_t1_ms", T1_MS),
        ("sip_t2_ms", T2_MS),
        ("unproven_udp_resends", 64),
    ])
}

fn room_offer() -> String {
    offer("probe", &usual_attrs(&fresh_path()))
}

#[test]
fn r7701_4_a_room_uri_answers_invite_unknown_room_404() {
    let server = Server::start(&[]);
    let (_, ok) = invite_final(server.sip, Transport::Udp, ROOM, Some(&room_offer()), &[]);
    assert_eq!(ok.status(), Some(200), "{}", ok.start);
    let sdp = ok.body_text();
    assert_eq!(
        sdp.lines().filter(|l| l.starts_with("m=message ")).count(),
        1,
        "answer must hold exactly one m=message line: {sdp}"
    );
    let (_, nf) = invite_final(
        server.sip,
        Transport::Udp,
        "sip:nosuchroom@localhost",
        Some(&room_offer()),
        &[],
    );
    assert_eq!(nf.status(), Some(404), "unknown room answered {}", nf.start);
}

#[test]
fn r7701_5_1_a_provisioned_and_adhoc_rooms() {
    // Provisioned rooms answer; with rooms named, `lobby` is not one of them.
    let server = Server::start(&["--room", "alpha", "--room", "beta"]);
    for room in ["sip:alpha@localhost", "sip:beta@localhost"] {
        let (_, r) = invite_final(server.sip, Transport::Tcp, room, Some(&room_offer()), &[]);
        assert_eq!(r.status(), Some(200), "{room}: {}", r.start);
    }
    let (_, r) = invite_final(server.sip, Transport::Tcp, ROOM, Some(&room_offer()), &[]);
    assert_eq!(
        r.status(),
        Some(404),
        "lobby exists although not provisioned"
    );

    // Ad hoc: the first INVITE to a new name creates the room.
    let adhoc = Server::start(&["--allow-adhoc"]);
    let (_, r) = invite_final(
        adhoc.sip,
        Transport::Udp,
        "sip:brandnew@localhost",
        Some(&room_offer()),
        &[],
    );
    assert_eq!(r.status(), Some(200), "ad-hoc join answered {}", r.start);
}

#[test]
fn r7701_5_2_b_r3840_a_isfocus_on_contact_of_every_2xx() {
    let server = Server::start(&[]);
    for transport in [Transport::Udp, Transport::Tcp] {
        let p = Participant::join(server.sip, transport, "alice");
        let contact = p.ok.header("Contact").expect("Contact in 200");
        let params: Vec<&str> = contact
            .rsplit_once('>')
            .map_or("", |(_, p)| p)
            .split(';')
            .map(str::trim)
            .collect();
        assert!(
            params.contains(&"isfocus"),
            "isfocus must be a header-field parameter of Contact: {contact}"
        );
    }
}

#[test]
fn r7701_5_2_d_offer_without_message_cpim_gets_488() {
    let server = Server::start(&[]);
    let path = fresh_path();
    let sdp = offer(
        "probe",
        &common::conformance::attrs_edit(
            &path,
            &["a=accept-types"],
            &["a=accept-types:text/plain"],
        ),
    );
    let (_, r) = invite_final(server.sip, Transport::Udp, ROOM, Some(&sdp), &[]);
    let status = r.status().expect("status");
    let rejected_stream = status == 200 && r.body_text().contains("m=message 0 ");
    assert!(
        status == 488 || rejected_stream,
        "offer without message/cpim answered {}",
        r.start
    );
}

#[test]
fn r7701_5_2_f_answer_declares_accept_wrapped_types() {
    let server = Server::start(&[]);
    let p = Participant::join(server.sip, Transport::Udp, "alice");
    let value = common::conformance::sdp_value(&p.answer.text, "a=accept-wrapped-types:")
        .expect("a=accept-wrapped-types in the answer");
    let tokens: Vec<&str> = value.split_whitespace().collect();
    assert!(!tokens.is_empty(), "empty accept-wrapped-types");
    for (i, t) in tokens.iter().enumerate() {
        if *t == "*" {
            assert_eq!(i, tokens.len() - 1, "`*` must come last: {value}");
        } else {
            assert!(
                t.split(';').next().is_some_and(|b| b.contains('/')),
                "not a media type: {t}"
            );
        }
    }
}

#[test]
fn r7701_5_2_g_offer_without_accept_wrapped_types_is_accepted() {
    let server = Server::start(&[]);
    let path = fresh_path();
    let sdp = offer(
        "carol",
        &common::conformance::attrs_edit(&path, &["a=accept-wrapped-types"], &[]),
    );
    let mut c = Participant::join_with(
        server.sip,
        Transport::Udp,
        "sip:carol@example.com",
        &path,
        &sdp,
    )
    .unwrap_or_else(|r| panic!("offer without accept-wrapped-types refused: {}", r.start));
    c.bind();
    let mut a = Participant::join_and_bind(server.sip, Transport::Tcp, "alice");
    let (tid, _, body) = a.say(b"plain text reaches a user without accept-wrapped-types");
    assert_eq!(a.response_to(&tid).status, Some(200));
    let got = c.next_send(STEP).expect("text/plain copy at C");
    assert_eq!(got.body, body);
}

#[test]
fn r7701_5_2_k_private_to_participant_without_private_messages_gets_428() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let path = fresh_path();
    let sdp = offer(
        "bob",
        &common::conformance::attrs_edit(&path, &["a=chatroom"], &["a=chatroom:nickname"]),
    );
    let mut b = Participant::join_with(
        server.sip,
        Transport::Udp,
        "sip:bob@example.com",
        &path,
        &sdp,
    )
    .expect("B joins");
    b.bind();
    let (tid, _, _) = a.send_cpim_to("sip:bob@example.com", b"psst");
    let resp = a.response_to(&tid);
    assert_eq!(resp.status, Some(428), "{resp:?}");
    assert!(
        b.next_send(QUIET).is_none(),
        "B received the private message"
    );
}

/// Joins over UDP with short timers and drops the MSRP connection: the focus sends BYE.
fn focus_bye(server: &Server) -> (Participant, common::sip::SipMessage) {
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    a.msrp = None;
    let bye = expect_request(&mut a.sip, "BYE", STEP).expect("BYE from the focus after MSRP loss");
    (a, bye)
}

#[test]
fn r3261_8_1_a_focus_requests_and_responses_carry_mandatory_headers() {
    let server = Server::start(&[]);
    let (a, bye) = focus_bye(&server);
    let via = bye.header("Via").expect("Via");
    assert!(
        via.split(';')
            .any(|p| p.trim().starts_with("branch=z9hG4bK")),
        "Via branch lacks the magic cookie: {via}"
    );
    assert!(
        bye.header("From").and_then(tag_of).is_some(),
        "From without tag"
    );
    assert!(bye.header("To").is_some(), "no To");
    assert_eq!(
        bye.header("Call-ID"),
        a.ok.header("Call-ID"),
        "BYE outside the dialog's Call-ID"
    );
    let cseq = bye.header("CSeq").expect("CSeq");
    assert!(cseq.ends_with(" BYE"), "CSeq {cseq}");
    assert!(bye.header("Max-Forwards").is_some(), "no Max-Forwards");
    assert_eq!(bye.header("Content-Length"), Some("0"));
    // The 200 to INVITE: Content-Length equals the body.
    let len: usize =
        a.ok.header("Content-Length")
            .and_then(|v| v.parse().ok())
            .expect("Content-Length in 200");
    assert_eq!(len, a.ok.body.len());
    // RFC 3261 §12: the BYE goes to the remote target, the Contact A sent.
    assert!(
        bye.start.starts_with(&format!(
            "BYE sip:alice@{};transport=udp SIP/2.0",
            a.sip.local
        )),
        "BYE not sent to A's Contact: {}",
        bye.start
    );
    // The BYE's From is the focus side of the dialog (its tag is the 200's To-tag).
    assert_eq!(
        bye.header("From").and_then(tag_of),
        a.ok.header("To").and_then(tag_of)
    );
}

// R3261-8.2-a; also R3261-17.2.1-a (100 Trying without To-tag).
#[test]
fn r3261_8_2_a_responses_copy_via_and_add_received_rport_and_to_tag() {
    let server = Server::start(&[]);
    let mut sip = SipClient::udp(server.sip);
    let branch = ident(12);
    let call_id = format!("{}@x", ident(12));
    // Top Via names a host that is not the source; a second Via below it.
    let req = common::crlf(&[
        &format!("INVITE {ROOM} SIP/2.0"),
        &format!("Via: SIP/2.0/UDP 192.0.2.77:5999;branch=z9hG4bK{branch};rport"),
        "Via: SIP/2.0/UDP 192.0.2.78:5070;branch=z9hG4bKlower1",
        "Max-Forwards: 70",
        "From: <sip:nat@example.com>;tag=natfrom1",
        &format!("To: <{ROOM}>"),
        &format!("Call-ID: {call_id}"),
        "CSeq: 7 INVITE",
        &format!("Contact: <sip:nat@{}>", sip.local),
        "Content-Type: application/sdp",
        &format!("Content-Length: {}", room_offer().len()),
        "",
    ]) + &room_offer();
    sip.send(req.as_bytes());
    let mut got_trying = false;
    let deadline = Instant::now() + STEP;
    let final_resp = loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .expect("final in time");
        let r = sip.recv(left).expect("responses arrive at the source port");
        match r.status() {
            Some(100) => {
                got_trying = true;
                assert!(r.header("To").and_then(tag_of).is_none(), "100 with To-tag");
            }
            Some(s) if s >= 200 => break r,
            _ => {}
        }
    };
    assert!(got_trying, "no 100 Trying");
    assert_eq!(final_resp.status(), Some(200));
    let vias: Vec<&str> = final_resp
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Via"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(vias.len(), 2, "both Via headers copied: {vias:?}");
    assert!(vias[0].contains(&format!("branch=z9hG4bK{branch}")));
    assert!(
        vias[0].contains("received=127.0.0.1"),
        "no received=: {}",
        vias[0]
    );
    assert!(
        vias[0].contains(&format!("rport={}", sip.local.port())),
        "rport not filled with the source port: {}",
        vias[0]
    );
    assert_eq!(vias[1], "SIP/2.0/UDP 192.0.2.78:5070;branch=z9hG4bKlower1");
    assert_eq!(final_resp.header("Call-ID"), Some(call_id.as_str()));
    assert_eq!(final_resp.header("CSeq"), Some("7 INVITE"));
    assert_eq!(
        final_resp.header("From"),
        Some("<sip:nat@example.com>;tag=natfrom1")
    );
    assert!(
        final_resp.header("To").and_then(tag_of).is_some(),
        "200 without To-tag"
    );
}

#[test]
fn r3261_17_2_1_a_2xx_retransmitted_until_ack_then_bye() {
    let conf = short_timers();
    let server = Server::start(&["--config", &conf]);
    let mut sip = SipClient::udp(server.sip);
    let req = raw_request(
        &sip,
        "INVITE",
        ROOM,
        "sip:noack@example.com",
        &format!("{}@x", ident(12)),
        &ident(12),
        &[],
        Some(("application/sdp", &room_offer())),
    );
    sip.send(req.as_bytes());
    let started = Instant::now();
    let mut oks: Vec<(Duration, Vec<u8>)> = Vec::new();
    let mut bye = None;
    for _ in 0..200 {
        let Some(msg) = sip.recv(Duration::from_secs(3)) else {
            break;
        };
        if msg.status() == Some(200) && msg.cseq_method() == Some("INVITE") {
            oks.push((started.elapsed(), msg.raw.clone()));
        } else if msg.method() == Some("BYE") {
            bye = Some((started.elapsed(), msg));
            break;
        }
    }
    // With T1 = 50 ms and T2 = 200 ms about 17 resends fit in 64*T1; a sender that does not
    // cap at T2 manages about 6.
    assert!(oks.len() >= 10, "200 sent {} times without ACK", oks.len());
    assert!(
        oks.iter().all(|(_, raw)| *raw == oks[0].1),
        "retransmissions differ from the first 200"
    );
    // Arrival is never earlier than the schedule T1, +2T1, +4T1 … (capped at T2), so the
    // k-th resend arrives no sooner than the sum of the first k intervals.
    let mut due = 0u64;
    let mut interval = T1_MS;
    for (k, (at, _)) in oks.iter().enumerate().skip(1) {
        due += interval;
        interval = (interval * 2).min(T2_MS);
        assert!(
            at.as_millis() as u64 + 5 >= due * 9 / 10,
            "resend {k} at {at:?}, scheduled no sooner than {due} ms"
        );
    }
    let (at, bye) = bye.expect("BYE after 64*T1 without ACK");
    assert!(
        at >= Duration::from_millis(64 * T1_MS * 3 / 4),
        "gave up after {at:?}, before 64*T1"
    );
    sip.send(ok_to(&bye).as_bytes());
}

#[test]
fn r3261_17_2_1_a_non_2xx_retransmitted_until_ack() {
    let conf = short_timers();
    let server = Server::start(&["--config", &conf]);
    let mut sip = SipClient::udp(server.sip);
    let branch = ident(12);
    let call_id = format!("{}@x", ident(12));
    let req = raw_request(
        &sip,
        "INVITE",
        "sip:nosuch@localhost",
        "sip:probe@example.com",
        &call_id,
        &branch,
        &[],
        Some(("application/sdp", &room_offer())),
    );
    sip.send(req.as_bytes());
    let mut finals = Vec::new();
    for _ in 0..50 {
        let Some(m) = sip.recv(Duration::from_millis(T2_MS * 3)) else {
            break;
        };
        if m.status() == Some(404) {
            finals.push(m);
            if finals.len() == 3 {
                break;
            }
        }
    }
    assert_eq!(finals.len(), 3, "404 not retransmitted (timer G)");
    // ACK for the non-2xx: same branch, To with the response's tag.
    let to = finals[0].header("To").expect("To").to_string();
    let ack = common::crlf(&[
        "ACK sip:nosuch@localhost SIP/2.0",
        &format!(
            "Via: SIP/2.0/UDP {};branch=z9hG4bK{branch};rport",
            sip.local
        ),
        "Max-Forwards: 70",
        finals[0]
            .header("From")
            .map(|f| format!("From: {f}"))
            .as_deref()
            .unwrap_or(""),
        &format!("To: {to}"),
        &format!("Call-ID: {call_id}"),
        "CSeq: 1 ACK",
        "Content-Length: 0",
        "",
    ]);
    sip.send(ack.as_bytes());
    // Drain what was in flight, then silence.
    let mut after = 0;
    let until = Instant::now() + Duration::from_millis(T2_MS * 4);
    while let Some(m) = sip.recv(until.saturating_duration_since(Instant::now())) {
        if m.status() == Some(404) {
            after += 1;
        }
    }
    assert!(after <= 1, "404 still retransmitted after ACK ({after})");
}

#[test]
fn r3261_17_2_2_a_retransmitted_bye_gets_the_same_response() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let bye = in_dialog(&a, "BYE", 2, &ident(12), None, None);
    a.sip.send(bye.as_bytes());
    let first = a.sip.final_response("BYE");
    assert_eq!(first.status(), Some(200));
    a.sip.send(bye.as_bytes());
    let second = a.sip.final_response("BYE");
    assert_eq!(
        second.raw, first.raw,
        "a retransmitted BYE was processed again instead of absorbed"
    );
}

#[test]
fn r3261_17_1_a_focus_bye_retransmitted_until_timer_f() {
    let conf = short_timers();
    let server = Server::start(&["--config", &conf]);
    let (mut a, first) = focus_bye(&server);
    let started = Instant::now();
    let mut times = Vec::new();
    while let Some(m) = a.sip.recv(Duration::from_millis(64 * T1_MS + 1500)) {
        if m.method() == Some("BYE") {
            assert_eq!(m.raw, first.raw, "retransmission differs");
            times.push(started.elapsed());
        }
        if times.len() > 100 {
            break;
        }
    }
    assert!(
        times.len() >= 4,
        "BYE retransmitted only {} times",
        times.len()
    );
    let last = *times.last().expect("one");
    assert!(
        last <= Duration::from_millis(64 * T1_MS + 1000),
        "still retransmitting at {last:?} (timer F = 64*T1)"
    );
}

#[test]
fn r3261_9_a_cancel_matching_nothing_481_late_cancel_200() {
    let server = Server::start(&[]);
    let mut sip = SipClient::udp(server.sip);
    let req = raw_request(
        &sip,
        "CANCEL",
        ROOM,
        "sip:probe@example.com",
        &format!("{}@x", ident(12)),
        &ident(12),
        &[],
        None,
    );
    sip.send(req.as_bytes());
    let r = sip.final_response("CANCEL");
    assert_eq!(r.status(), Some(481), "{}", r.start);

    // A CANCEL (same branch) for an INVITE that was already answered: 200, no 487.
    let mut sip = SipClient::udp(server.sip);
    let (branch, call_id) = (ident(12), format!("{}@x", ident(12)));
    let invite = raw_request(
        &sip,
        "INVITE",
        ROOM,
        "sip:probe@example.com",
        &call_id,
        &branch,
        &[],
        Some(("application/sdp", &room_offer())),
    );
    sip.send(invite.as_bytes());
    assert_eq!(sip.final_response("INVITE").status(), Some(200));
    let cancel = raw_request(
        &sip,
        "CANCEL",
        ROOM,
        "sip:probe@example.com",
        &call_id,
        &branch,
        &[],
        None,
    );
    sip.send(cancel.as_bytes());
    let r = sip.final_response("CANCEL");
    assert_eq!(r.status(), Some(200), "late CANCEL answered {}", r.start);
    while let Some(m) = sip.recv(QUIET) {
        assert_ne!(
            m.status(),
            Some(487),
            "answered INVITE got 487 after CANCEL"
        );
    }
}

#[test]
fn r3261_12_a_in_dialog_request_with_wrong_tag_gets_481() {
    let server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Tcp, "alice");
    let bye = in_dialog(&a, "BYE", 2, &ident(12), Some("wrongtag99"), None);
    a.sip.send(bye.as_bytes());
    let r = a.sip.final_response("BYE");
    assert_eq!(r.status(), Some(481), "{}", r.start);
    // A re-INVITE with the wrong To-tag matches no dialog either.
    let sdp = offer("alice", &usual_attrs(&a.local_path));
    let reinvite = in_dialog(&a, "INVITE", 3, &ident(12), Some("wrongtag98"), Some(&sdp));
    a.sip.send(reinvite.as_bytes());
    let r = a.sip.final_response("INVITE");
    assert_eq!(r.status(), Some(481), "{}", r.start);
    // The dialog is untouched: the real BYE still works.
    let r = a.bye();
    assert_eq!(r.status(), Some(200), "{}", r.start);
}

#[test]
fn r3261_11_a_options_lists_allow_and_accept() {
    let server = Server::start(&[]);
    let mut sip = SipClient::udp(server.sip);
    let req = common::participant::options(&sip);
    sip.send(req.as_bytes());
    let r = sip.final_response("OPTIONS");
    assert_eq!(r.status(), Some(200));
    let allow = r.header("Allow").expect("Allow");
    for m in ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS"] {
        assert!(
            allow.split(',').any(|t| t.trim() == m),
            "Allow lacks {m}: {allow}"
        );
    }
    let accept = r.header("Accept").expect("Accept");
    assert!(accept.contains("application/sdp"), "Accept: {accept}");
    assert!(r.header("To").and_then(tag_of).is_some());
}

#[test]
fn r3261_11_a_options_carries_supported() {
    let server = Server::start(&[]);
    let mut sip = SipClient::udp(server.sip);
    let req = common::participant::options(&sip);
    sip.send(req.as_bytes());
    let r = sip.final_response("OPTIONS");
    assert!(
        r.header("Supported").is_some(),
        "no Supported: {:?}",
        r.headers
    );
}

// R3261-13-a: the answer is in the 200 (offerless INVITEs: tests/offerless.rs, IMPL-25).
#[test]
fn r3261_13_a_answer_in_200() {
    let server = Server::start(&[]);
    let p = Participant::join(server.sip, Transport::Udp, "alice");
    assert_eq!(p.ok.header("Content-Type"), Some("application/sdp"));
    assert!(
        p.answer.text.starts_with("v=0\r\n"),
        "200 carries no SDP answer"
    );
}

#[test]
fn r3261_8_2_2_a_require_420_unknown_method_405_or_501() {
    let server = Server::start(&[]);
    let (_, r) = invite_final(
        server.sip,
        Transport::Udp,
        ROOM,
        Some(&room_offer()),
        &["Require: foo"],
    );
    assert_eq!(r.status(), Some(420), "{}", r.start);
    assert_eq!(r.header("Unsupported"), Some("foo"));

    let mut sip = SipClient::tcp(server.sip);
    for (method, want) in [("MESSAGE", 405), ("FROBNICATE", 501)] {
        let req = raw_request(
            &sip,
            method,
            ROOM,
            "sip:probe@example.com",
            &format!("{}@x", ident(12)),
            &ident(12),
            &[],
            None,
        );
        sip.send(req.as_bytes());
        let r = sip.final_response(method);
        assert_eq!(r.status(), Some(want), "{method}: {}", r.start);
        assert!(r.header("Allow").is_some_and(|a| a.contains("INVITE")));
    }
}

// R4975-5.4-d, IMPL-11 (MSRP connection loss -> session failed, SIP BYE sent).
#[test]
fn r4975_5_4_d_impl_11_msrp_loss_ends_the_sip_dialog() {
    let server = Server::start(&[]);
    let (a, bye) = focus_bye(&server);
    assert_eq!(bye.header("Call-ID"), a.ok.header("Call-ID"));
    // The session is gone: a SEND on its path gets 481.
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
    let resp = conn.recv(STEP).expect("response");
    assert_eq!(resp.status, Some(481), "{resp:?}");

    // Over SIP/TCP the BYE comes on the participant's connection.
    let mut t = Participant::join_and_bind(server.sip, Transport::Tcp, "tina");
    t.msrp = None;
    let bye = expect_request(&mut t.sip, "BYE", STEP).expect("BYE over TCP after MSRP loss");
    assert_eq!(bye.header("Call-ID"), t.ok.header("Call-ID"));
    t.sip.send(ok_to(&bye).as_bytes());
}

#[test]
fn r3261_17_2_1_a_invite_retransmission_absorbed() {
    let server = Server::start(&[]);
    let mut sip = SipClient::udp(server.sip);
    let req = raw_request(
        &sip,
        "INVITE",
        ROOM,
        "sip:twice@example.com",
        &format!("{}@x", ident(12)),
        &ident(12),
        &[],
        Some(("application/sdp", &room_offer())),
    );
    sip.send(req.as_bytes());
    let first = sip.final_response("INVITE");
    assert_eq!(first.status(), Some(200));
    sip.send(req.as_bytes());
    let second = sip.final_response("INVITE");
    assert_eq!(
        second.body, first.body,
        "a retransmitted INVITE joined again (new session) instead of being absorbed"
    );
    assert_eq!(second.header("To"), first.header("To"));
}

#[test]
fn r3261_17_2_2_a_retransmitted_options_gets_the_same_response() {
    let server = Server::start(&[]);
    let mut sip = SipClient::udp(server.sip);
    let req = common::participant::options(&sip);
    sip.send(req.as_bytes());
    let first = sip.final_response("OPTIONS");
    sip.send(req.as_bytes());
    let second = sip.final_response("OPTIONS");
    assert_eq!(
        second.raw, first.raw,
        "OPTIONS retransmission answered anew"
    );
}

// R3261-8.2-a (RFC 3261 §7.3.1, §7.3.3: header names in any case, compact forms, several
// Via values on one line; the response copies every Via).
#[test]
fn r3261_8_2_a_compact_lowercase_and_comma_separated_headers() {
    let server = Server::start(&[]);
    let mut sip = SipClient::udp(server.sip);
    let sdp = room_offer();
    let compact = common::crlf(&[
        &format!("INVITE {ROOM} SIP/2.0"),
        &format!(
            "v: SIP/2.0/UDP {};branch=z9hG4bK{};rport",
            sip.local,
            ident(10)
        ),
        "Max-Forwards: 70",
        "f: <sip:c@example.com>;tag=abc123",
        &format!("t: <{ROOM}>"),
        &format!("i: {}@x", ident(10)),
        "CSeq: 1 INVITE",
        &format!("m: <sip:c@{}>", sip.local),
        "c: application/sdp",
        &format!("l: {}", sdp.len()),
        "",
    ]) + &sdp;
    sip.send(compact.as_bytes());
    let r = sip.final_response("INVITE");
    assert_eq!(r.status(), Some(200), "compact forms: {}", r.start);

    let branch = ident(10);
    let lower = common::crlf(&[
        &format!("INVITE {ROOM} SIP/2.0"),
        &format!(
            "via: SIP/2.0/UDP {};branch=z9hG4bK{branch};rport, SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx2",
            sip.local
        ),
        "max-forwards: 70",
        "FROM: <sip:d@example.com>;tag=abc124",
        &format!("TO: <{ROOM}>"),
        &format!("call-id: {}@x", ident(10)),
        "cseq: 1 INVITE",
        &format!("contact: <sip:d@{}>", sip.local),
        "content-type: application/sdp",
        &format!("content-length: {}", sdp.len()),
        "",
    ]) + &sdp;
    sip.send(lower.as_bytes());
    let r = sip.final_response("INVITE");
    assert_eq!(r.status(), Some(200), "lower-case names: {}", r.start);
    let vias: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Via"))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .collect();
    assert_eq!(vias.len(), 2, "{vias:?}");
    assert!(vias[0].contains(&branch));
    assert!(vias[1].starts_with("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx2"));
}
