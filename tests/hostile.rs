//! Attacks of a hostile participant or host on the same network (issue 15), each re-run
//! against its fix over real loopback sockets: spoofing a CPIM From by restarting a chunk
//! inside bytes already checked (RFC 4975 §7.3.1, RFC 7701 §6.1/§6.3), ...
//! tests/ROBUSTNESS.md ("A hostile peer") keeps the figures.

mod common;

use common::msrp::{cpim_body, MsrpMessage, SendRequest};
use common::{ident, Participant, Server, Transport, QUIET, ROOM, STEP};

/// One chunk of Message-ID `mid` carrying `body` at `start..`, with `end`/`total` as
/// written (`*` allowed) and `flag`.
fn chunk(
    p: &mut Participant,
    mid: &str,
    start: usize,
    end: &str,
    total: &str,
    body: &[u8],
    flag: char,
) -> u16 {
    let tid = ident(12);
    let start = start.to_string();
    let bytes = SendRequest {
        tid: &tid,
        to_path: &p.answer.path,
        from_path: &p.local_path,
        message_id: mid,
        range: (&start, end, total),
        content_type: Some("message/cpim"),
        body,
        flag,
    }
    .bytes();
    p.conn().write(&bytes);
    p.response_to(&tid).status.expect("a response")
}

/// Every SEND `p` receives within QUIET (answered).
fn drain(p: &mut Participant) -> Vec<MsrpMessage> {
    let mut got = Vec::new();
    for _ in 0..1000 {
        match p.next_send(QUIET) {
            Some(m) => got.push(m),
            None => break,
        }
    }
    got
}

// Issue 15 (high): Alice sends chunk 1 of a message with her own valid CPIM header (the
// whole 116 octets, flag `+`), then a chunk with the same Message-ID starting again at
// byte 1 whose CPIM header says Bob. Both used to get 200 and both were forwarded, so a
// client reassembling by Byte-Range showed Bob as the sender. The restart is refused
// (400), the message ends for its recipients with `#`, and no byte of Bob's name reaches
// anyone.
#[test]
fn chunk_restart_cannot_change_a_checked_cpim_from() {
    let server = Server::start(&[]);
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut bob = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut carol = Participant::join_and_bind(server.sip, Transport::Udp, "carol");
    let mid = ident(10);
    let honest = cpim_body(&alice.uri, ROOM, b"hello, this is alice");
    let forged = cpim_body(&bob.uri, ROOM, b"hello, this is bob!!!!");
    assert_eq!(honest.len(), forged.len());
    let n = honest.len().to_string();
    assert_eq!(chunk(&mut alice, &mid, 1, &n, &n, &honest, '+'), 200);
    assert_eq!(
        chunk(&mut alice, &mid, 1, &n, &n, &forged, '$'),
        400,
        "a restart inside checked bytes"
    );
    for p in [&mut bob, &mut carol] {
        let got = drain(p);
        assert!(!got.is_empty(), "{}: the honest chunk", p.uri);
        assert!(
            got.iter()
                .all(|m| !String::from_utf8_lossy(&m.body).contains("this is bob")),
            "{}: forged bytes forwarded",
            p.uri
        );
        let last = got.last().expect("chunks");
        assert_eq!(last.flag, b'#', "{}: the message ends with #", p.uri);
    }
    let (tid, _, good) = alice.say(b"the next message is fine");
    assert_eq!(alice.response_to(&tid).status, Some(200));
    assert_eq!(carol.next_send(STEP).expect("copy").body, good);
}

// Issue 15: a smaller backwards chunk (`3-7/*` after `1-91/*`) was forwarded too. Any
// chunk that starts inside the header blocks the switch checked is refused. (An overlap
// in the content is a resend RFC 4975 §7.3.1 allows: conformance_msrp's IMPL-10 test.)
#[test]
fn backwards_chunk_is_refused() {
    let server = Server::start(&[]);
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut bob = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mid = ident(10);
    let body = cpim_body(&alice.uri, ROOM, b"first part of a longer message");
    let end = body.len().to_string();
    assert_eq!(chunk(&mut alice, &mid, 1, &end, "*", &body, '+'), 200);
    assert_eq!(chunk(&mut alice, &mid, 3, "7", "*", b"XXXXX", '+'), 400);
    let got = drain(&mut bob);
    assert!(
        got.iter()
            .all(|m| !String::from_utf8_lossy(&m.body).contains("XXXXX")),
        "backwards bytes forwarded"
    );
    assert_eq!(got.last().map(|m| m.flag), Some(b'#'));
}

// What RFC 4975 §7.3.1 does allow still works: the next chunk continues where the last
// ended, and one that skips ahead is forwarded with its own offsets.
#[test]
fn in_order_and_gapped_chunks_are_forwarded() {
    let server = Server::start(&[]);
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut bob = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mid = ident(10);
    let body = cpim_body(&alice.uri, ROOM, b"part one");
    let end = body.len();
    assert_eq!(
        chunk(&mut alice, &mid, 1, &end.to_string(), "*", &body, '+'),
        200
    );
    let second = end + 1;
    assert_eq!(
        chunk(
            &mut alice,
            &mid,
            second,
            &(second + 4).to_string(),
            "*",
            b" two!",
            '+'
        ),
        200
    );
    let skip = second + 100;
    assert_eq!(
        chunk(
            &mut alice,
            &mid,
            skip,
            &(skip + 5).to_string(),
            "*",
            b" three",
            '$'
        ),
        200
    );
    let got = drain(&mut bob);
    let text: Vec<u8> = got.iter().flat_map(|m| m.body.clone()).collect();
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("part one") && text.contains(" two!") && text.contains(" three"));
    assert_eq!(got.last().map(|m| m.flag), Some(b'$'));
}

/// A server with these `[limits]` lines.
fn server_with(lines: &[&str]) -> Server {
    let cfg = common::roster::limits_config(lines);
    Server::start(&["--config", cfg.to_str().expect("utf-8 temp path")])
}

// Issue 15 (high): on `gateway`, 130 participants from one host, each with 8 unfinished
// first chunks, filled the 1,024-entry Message-ID table and every other SEND in the server
// got 413 for the 540 s chunk timer. A profile where participants x max_partial_per_sender
// exceeds max_message_ids is now refused when it loads (gateway's partial cap became 4).
#[test]
fn a_profile_that_lets_senders_fill_the_message_table_is_refused() {
    let cfg = common::roster::limits_config(&[
        "max_participants = 4",
        "max_room_participants = 4",
        "max_partial_per_sender = 2",
        "max_message_ids = 7",
    ]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_parlor"))
        .args(["limits", "--config", cfg.to_str().expect("utf-8")])
        .output()
        .expect("run parlor limits");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "max_message_ids (7) must be at least max_participants x max_partial_per_sender"
        ),
        "{err}"
    );
    for profile in ["tiny", "router", "gateway"] {
        let ok = std::process::Command::new(env!("CARGO_BIN_EXE_parlor"))
            .args(["limits", "--profile", profile])
            .output()
            .expect("run parlor limits");
        assert!(ok.status.success(), "{profile}");
    }
}

// The attack itself in miniature: every seat but one taken by one host, each holding the
// most unfinished messages it may; the last participant still sends, and everyone hears.
#[test]
fn one_host_with_every_other_seat_cannot_stop_the_last_participant() {
    let server = server_with(&[
        "max_participants = 4",
        "max_room_participants = 4",
        "max_partial_per_sender = 2",
        "max_message_ids = 8",
    ]);
    let mut attackers: Vec<Participant> = (0..3)
        .map(|i| Participant::join_and_bind(server.sip, Transport::Udp, &format!("evil{i}")))
        .collect();
    for a in &mut attackers {
        for k in 0..3 {
            let body = cpim_body(&a.uri.clone(), ROOM, b"never finished");
            let n = body.len().to_string();
            let code = chunk(a, &ident(10), 1, &n, "*", &body, '+');
            assert_eq!(
                code,
                if k < 2 { 200 } else { 413 },
                "unfinished message {k}"
            );
        }
    }
    let mut victim = Participant::join_and_bind(server.sip, Transport::Udp, "victim");
    let mid = ident(10);
    let body = cpim_body(&victim.uri.clone(), ROOM, b"still heard");
    let n = body.len().to_string();
    assert_eq!(chunk(&mut victim, &mid, 1, &n, &n, &body, '+'), 200);
    let (tid, _, whole) = victim.say(b"and a whole one");
    assert_eq!(victim.response_to(&tid).status, Some(200));
    let got = drain(&mut attackers[0]);
    assert!(
        got.iter().any(|m| m.body == whole),
        "the whole message arrived"
    );
}

// Issue 15 (low): a nickname shaped like a SIP URI or an address was accepted and, in a
// roster or a client's message line, passed for the participant it names. Such nicknames
// get 425 (reserved); ordinary ones are unaffected.
#[test]
fn nicknames_shaped_like_addresses_are_reserved() {
    let server = Server::start(&[]);
    let mut mallory = Participant::join_and_bind(server.sip, Transport::Udp, "mallory");
    for fake in [
        "sip:bob@example.com",
        "SIPS:bob@example.com",
        "Bob <sip:bob@example.com>",
        "bob@example.com",
        "tel:+15551234",
        "Bob <tel:+15551234>",
        "\u{ff53}\u{ff49}\u{ff50}:bob",
        "bob\u{ff20}example.com",
    ] {
        assert_eq!(
            common::nickname::ask_nickname(&mut mallory, fake),
            425,
            "{fake:?}"
        );
    }
    assert_eq!(
        common::nickname::ask_nickname(&mut mallory, "Mal: the nick"),
        200
    );
}

/// An OPTIONS over TCP from `local`, its Via padded so the request is `size` bytes.
fn padded_tcp_options(local: std::net::SocketAddr, n: usize, size: usize) -> Vec<u8> {
    let head = |pad: &str| {
        format!(
            "OPTIONS {ROOM} SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bK{}{n};pad={pad}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:evil@example.com>;tag={}\r\nTo: <{ROOM}>\r\n\
             Call-ID: {}@127.0.0.1\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n",
            ident(10),
            ident(8),
            ident(12)
        )
    };
    let short = head("").len();
    head(&"p".repeat(size.saturating_sub(short))).into_bytes()
}

// Issue 15 (medium): a SIP TCP peer that sends requests and never reads made the server
// queue whole responses for it: up to `max_sip_transactions` (128) messages of up to
// 16 KiB per connection, and once that filled the writer stayed stuck, holding them, for as
// long as the peer kept the connection open. The queue is bounded in bytes now
// (`sip_tcp_queue_bytes`): once the kernel's buffers are full and the queue passes the
// bound, the connection is closed, and everyone else is served as before.
#[test]
fn a_sip_tcp_peer_that_never_reads_is_closed_at_its_queue_bound() {
    use std::io::Write;
    const REQUESTS: usize = 4_000;
    const SIZE: usize = 8_000;
    let time_limit = std::time::Duration::from_secs(60);
    let server = Server::start(&[]);
    let mut bystander = common::sip::SipClient::tcp(server.sip);
    let mut attacker =
        std::net::TcpStream::connect_timeout(&server.sip, STEP).expect("connect SIP TCP");
    attacker
        .set_write_timeout(Some(STEP))
        .expect("write timeout");
    let local = attacker.local_addr().expect("local address");
    let started = std::time::Instant::now();
    let mut sent = 0;
    let mut closed = None;
    while sent < REQUESTS && started.elapsed() < time_limit {
        match attacker.write_all(&padded_tcp_options(local, sent, SIZE)) {
            Ok(()) => sent += 1,
            Err(e) => {
                closed = Some(e);
                break;
            }
        }
    }
    let sent_bytes = sent * SIZE;
    assert!(
        closed.is_some(),
        "a peer that never read {sent} responses ({sent_bytes} bytes of requests) \
         is still connected after {:?}",
        started.elapsed()
    );
    eprintln!(
        "closed after {sent} requests ({sent_bytes} bytes) in {:?}: {:?}",
        started.elapsed(),
        closed
    );
    // The bystander on its own SIP TCP connection is served throughout.
    let req = common::participant::options(&bystander);
    bystander.send(req.as_bytes());
    assert_eq!(bystander.final_response("OPTIONS").status(), Some(200));
}
