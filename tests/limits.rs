//! Every size and table has a limit from `Limits`; crossing it over real sockets gets the
//! protocol's answer (RFC 3261 §21.4.11 413, §21.4.1 400, §21.5.4 503, §21.4.24 486;
//! RFC 4975 §7.1 413, §5.4 481/506) or a closed connection, and the server keeps serving
//! everyone else. Also the idle and slowloris timers (issue 5, "Faults and slow peers"):
//! trickled bytes never extend them. Each server runs with small limits from a temp config.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::msrp::{bodiless_send, cpim_body, MsrpConn, SendRequest};
use common::participant::{invite, options, sdp_offer};
use common::roster::limits_config;
use common::sip::SipClient;
use common::{ident, Participant, Server, Transport, QUIET, ROOM, STEP};

/// A server with the `[limits]` lines given.
fn server(lines: &[&str]) -> Server {
    let cfg = limits_config(lines);
    Server::start(&["--config", cfg.to_str().expect("utf-8 temp path")])
}

/// OPTIONS over UDP from a fresh socket gets 200.
fn udp_options_ok(server: &Server) -> bool {
    let mut c = SipClient::udp(server.sip);
    let req = options(&c);
    c.send(req.as_bytes());
    c.final_status(STEP) == Some(200)
}

/// OPTIONS over a fresh TCP connection gets 200.
fn tcp_options_ok(server: &Server) -> bool {
    let mut c = SipClient::tcp(server.sip);
    let req = options(&c);
    c.send(req.as_bytes());
    c.final_status(STEP) == Some(200)
}

/// OPTIONS to the room with `extra` header lines and `body` (Content-Type text/plain).
fn options_with(client: &SipClient, extra: &[String], body: &[u8]) -> Vec<u8> {
    let mut lines = vec![
        format!("OPTIONS {ROOM} SIP/2.0"),
        format!(
            "Via: SIP/2.0/{} {};branch=z9hG4bK{};rport",
            client.via_transport(),
            client.local,
            ident(12)
        ),
        "Max-Forwards: 70".to_string(),
        format!("From: <sip:probe@example.com>;tag={}", ident(10)),
        format!("To: <{ROOM}>"),
        format!("Call-ID: {}@127.0.0.1", ident(16)),
        "CSeq: 1 OPTIONS".to_string(),
    ];
    lines.extend_from_slice(extra);
    if !body.is_empty() {
        lines.push("Content-Type: text/plain".to_string());
    }
    lines.push(format!("Content-Length: {}", body.len()));
    let mut out = (lines.join("\r\n") + "\r\n\r\n").into_bytes();
    out.extend_from_slice(body);
    out
}

/// Whether the server closed `stream` (EOF or reset) within `within`; data is skipped.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    for _ in 0..10_000 {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return false;
        };
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok();
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
    false
}

/// Writes `bytes` one byte every `pause`, stopping early once the server has closed the
/// connection; returns how long until the close was seen (`None` = never, all sent).
fn trickle(stream: &mut TcpStream, bytes: &[u8], pause: Duration) -> Option<Duration> {
    let start = Instant::now();
    for b in bytes.iter().take(200) {
        if stream.write_all(&[*b]).is_err() {
            return Some(start.elapsed());
        }
        if closed_within(stream, pause) {
            return Some(start.elapsed());
        }
    }
    None
}

/// Status of the MSRP response with `tid` on `conn`, skipping other messages.
fn msrp_status(conn: &mut MsrpConn, tid: &str) -> Option<u16> {
    let deadline = Instant::now() + STEP;
    for _ in 0..1000 {
        let left = deadline.checked_duration_since(Instant::now())?;
        let msg = conn.recv(left)?;
        if msg.status.is_some() && msg.tid == tid {
            return msg.status;
        }
    }
    None
}

/// A SEND from `p` with `body` (message/cpim) covering bytes `start..=end` of `total`.
fn send_part(
    p: &Participant,
    tid: &str,
    mid: &str,
    body: &[u8],
    range: (usize, usize, usize),
    flag: char,
) -> Vec<u8> {
    let (s, e, t) = (
        range.0.to_string(),
        range.1.to_string(),
        range.2.to_string(),
    );
    SendRequest {
        tid,
        to_path: &p.answer.path,
        from_path: &p.local_path,
        message_id: mid,
        range: (&s, &e, &t),
        content_type: Some("message/cpim"),
        body,
        flag,
    }
    .bytes()
}

/// `p` says something to the room and gets 200.
fn still_chats(p: &mut Participant) -> bool {
    let (tid, _, _) = p.say(b"still here");
    p.response_to(&tid).status == Some(200)
}

// max_sip_message_bytes: over UDP a larger request gets 413 from its header block; over
// TCP it gets 413 and the connection is closed (its body cannot be buffered).
#[test]
fn sip_message_over_max_gets_413_and_tcp_closes() {
    let server = server(&["max_sip_message_bytes = 2048", "max_sdp_bytes = 1024"]);
    let big = vec![b'x'; 3000];
    let mut udp = SipClient::udp(server.sip);
    let req = options_with(&udp, &[], &big);
    udp.send(&req);
    assert_eq!(udp.final_status(STEP), Some(413));

    let mut tcp = SipClient::tcp(server.sip);
    let req = options_with(&tcp, &[], &big);
    tcp.send(&req);
    assert_eq!(tcp.final_status(STEP), Some(413));
    let common::sip::SipSocket::Tcp { stream, .. } = &mut tcp.socket else {
        unreachable!()
    };
    assert!(
        closed_within(stream, STEP),
        "TCP connection left open after 413"
    );

    // One header line longer than the whole message limit: closed as well.
    let mut tcp = SipClient::tcp(server.sip);
    let long = format!("X-Long: {}", "y".repeat(4000));
    let req = options_with(&tcp, &[long], b"");
    tcp.send(&req);
    let common::sip::SipSocket::Tcp { stream, .. } = &mut tcp.socket else {
        unreachable!()
    };
    assert!(
        closed_within(stream, STEP),
        "over-long header line not closed"
    );
    assert!(udp_options_ok(&server) && tcp_options_ok(&server));
}

// max_headers: a SIP request with more header fields gets 400 (UDP and TCP).
#[test]
fn sip_header_count_over_max_gets_400() {
    let server = server(&["max_headers = 16"]);
    let extra: Vec<String> = (0..20).map(|i| format!("X-H{i}: {i}")).collect();
    for tcp in [false, true] {
        let mut c = if tcp {
            SipClient::tcp(server.sip)
        } else {
            SipClient::udp(server.sip)
        };
        let req = options_with(&c, &extra, b"");
        c.send(&req);
        assert_eq!(c.final_status(STEP), Some(400), "tcp={tcp}");
    }
    let ok: Vec<String> = (0..4).map(|i| format!("X-H{i}: {i}")).collect();
    let mut c = SipClient::udp(server.sip);
    let req = options_with(&c, &ok, b"");
    c.send(&req);
    assert_eq!(c.final_status(STEP), Some(200), "under the limit");
}

// max_sdp_bytes: an offer larger than the limit (but within the message limit) gets 400.
#[test]
fn sdp_over_max_gets_400() {
    let server = server(&["max_sdp_bytes = 1024"]);
    let mut sip = SipClient::udp(server.sip);
    let path = format!("msrp://127.0.0.1:9/{};tcp", ident(16));
    let mut sdp = sdp_offer("big", &path, "active", None);
    for i in 0..40 {
        sdp.push_str(&format!("a=x-pad{i}:{}\r\n", "p".repeat(20)));
    }
    assert!(sdp.len() > 1024);
    let req = invite(
        &sip,
        "sip:big@example.com",
        &format!("{}@h", ident(12)),
        &ident(8),
        &sdp,
    );
    sip.send(req.as_bytes());
    assert_eq!(sip.final_status(STEP), Some(400));
    let mut p = Participant::join_and_bind(server.sip, Transport::Udp, "small");
    assert!(still_chats(&mut p));
}

// max_msrp_header_bytes and max_headers for MSRP: a header block larger than the limit, or
// with more fields, closes that connection; other participants go on.
#[test]
fn msrp_header_block_over_max_closes_only_that_connection() {
    let server = server(&["max_msrp_header_bytes = 1024", "max_headers = 16"]);
    let mut bob = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    for (what, extra) in [
        ("size", vec![format!("X-Pad: {}", "z".repeat(1500))]),
        ("count", (0..20).map(|i| format!("X-H{i}: {i}")).collect()),
    ] {
        let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
        let tid = ident(12);
        let mut head = format!(
            "MSRP {tid} SEND\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: {}\r\n",
            alice.answer.path,
            alice.local_path,
            ident(10)
        );
        for h in &extra {
            head.push_str(h);
            head.push_str("\r\n");
        }
        head.push_str(&format!("-------{tid}$\r\n"));
        alice.conn().stream.set_write_timeout(Some(STEP)).ok();
        let _ = alice.conn().stream.write_all(head.as_bytes());
        assert!(alice.conn().closed_within(STEP), "{what}: not closed");
        assert!(still_chats(&mut bob), "{what}: bob affected");
    }
}

// max_chunk_bytes: a chunk with a larger body gets 413; the sender can go on.
#[test]
fn chunk_over_max_gets_413() {
    let server = server(&["max_chunk_bytes = 1024"]);
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let body = cpim_body(&alice.uri, ROOM, &vec![b'c'; 2000]);
    let (tid, _) = alice.send_body("message/cpim", &body);
    assert_eq!(alice.response_to(&tid).status, Some(413));
    assert!(still_chats(&mut alice));
}

// max_message_ids and max_partial_per_sender: every message takes an entry while it is
// forwarded, and every participant's share (max_partial_per_sender) fits the table at once
// (Limits::validate, issue 15). A sender over its share gets 413; the others are served;
// finishing a message frees its entry.
#[test]
fn message_id_table_shares_get_413_only_for_the_sender_over_its_share() {
    let server = server(&[
        "max_participants = 2",
        "max_room_participants = 2",
        "max_message_ids = 4",
        "max_partial_per_sender = 2",
    ]);
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut bob = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let body = cpim_body(&alice.uri, ROOM, &vec![b'm'; 400]);
    let (first, rest) = body.split_at(200);
    let mut codes = Vec::new();
    let mut open = Vec::new();
    for _ in 0..3 {
        let (tid, mid) = (ident(12), ident(12));
        let req = send_part(&alice, &tid, &mid, first, (1, 200, body.len()), '+');
        alice.conn().write(&req);
        codes.push(alice.response_to(&tid).status);
        open.push(mid);
    }
    assert_eq!(codes, [Some(200), Some(200), Some(413)]);
    let (tid, _, _) = bob.say(b"alice is at her share, not the table's end");
    assert_eq!(bob.response_to(&tid).status, Some(200));
    let tid = ident(12);
    let last = send_part(
        &alice,
        &tid,
        &open[0],
        rest,
        (201, body.len(), body.len()),
        '$',
    );
    alice.conn().write(&last);
    assert_eq!(alice.response_to(&tid).status, Some(200));
    assert!(
        bob.next_message(STEP).is_some(),
        "bob got alice's finished message"
    );
    assert!(still_chats(&mut bob), "a freed entry serves others again");
}

// max_sip_transactions: a finished transaction only absorbs retransmissions, so with the
// table full of them a new request still gets its answer (the oldest finished one makes
// room) while the newest retransmission is still absorbed byte-identical. The 503 with
// Retry-After, when every entry is pending, is shown by the focus unit test
// `full_transaction_table_evicts_finished_then_answers_503`.
#[test]
fn sip_transaction_table_full_of_finished_ones_still_serves() {
    let server = server(&[
        "max_sip_transactions = 2",
        "sip_t1_ms = 20",
        "sip_t2_ms = 40",
    ]);
    let mut last = None;
    for _ in 0..6 {
        let mut c = SipClient::udp(server.sip);
        let req = options(&c);
        c.send(req.as_bytes());
        let msg = c.final_response("OPTIONS");
        assert_eq!(
            msg.status(),
            Some(200),
            "a full table of finished ones refused"
        );
        last = Some((c, req, msg.raw.clone()));
    }
    let (mut c, req, first) = last.expect("six requests");
    c.send(req.as_bytes());
    let again = c.final_response("OPTIONS");
    assert_eq!(again.raw, first, "retransmission not absorbed");
    assert!(udp_options_ok(&server));
}

// max_room_participants: one more joiner gets 486; the room's members are unaffected.
#[test]
fn room_full_gets_486() {
    let server = server(&["max_room_participants = 1", "max_participants = 4"]);
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut sip = SipClient::udp(server.sip);
    let path = format!("msrp://127.0.0.1:9/{};tcp", ident(16));
    let sdp = sdp_offer("bob", &path, "active", None);
    let req = invite(
        &sip,
        "sip:bob@example.com",
        &format!("{}@h", ident(12)),
        &ident(8),
        &sdp,
    );
    sip.send(req.as_bytes());
    assert_eq!(sip.final_status(STEP), Some(486));
    assert!(still_chats(&mut alice));
}

/// Opens a TCP connection to `addr` (connect itself succeeds: the kernel accepts).
fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect_timeout(&addr, STEP).expect("connect")
}

/// Whether `s` is open and served: an OPTIONS on it gets 200 (SIP).
fn sip_served(server: &Server, s: TcpStream) -> bool {
    let mut c = SipClient::over_tcp(s, server.sip);
    let req = options(&c);
    c.send(req.as_bytes());
    c.final_status(STEP) == Some(200)
}

// max_sip_connections and max_msrp_connections: one connection more is closed at once;
// closing one frees its slot.
#[test]
fn total_connection_limits_close_the_extra_connection() {
    let server = server(&[
        "max_sip_connections = 2",
        "max_msrp_connections = 2",
        "max_connections_per_source = 16",
    ]);
    for addr in [server.sip, server.msrp] {
        let a = connect(addr);
        let b = connect(addr);
        std::thread::sleep(QUIET);
        let mut extra = connect(addr);
        assert!(
            closed_within(&mut extra, STEP),
            "{addr}: third connection kept"
        );
        drop(a);
        std::thread::sleep(QUIET);
        let mut again = connect(addr);
        assert!(
            !closed_within(&mut again, QUIET),
            "{addr}: freed slot not reusable"
        );
        drop((b, again));
        std::thread::sleep(QUIET);
    }
    assert!(tcp_options_ok(&server) && udp_options_ok(&server));
}

// max_connections_per_source: MSRP connections from one address, and separately SIP TCP
// connections, are each bounded; one more is closed at accept, UDP is unaffected, and a
// freed slot is reusable. (Another address keeps its own count: the switch's and the
// focus's unit tests; loopback tests share one source.)
#[test]
fn per_source_connection_limit_bounds_sip_and_msrp_each() {
    let server = server(&["max_connections_per_source = 2"]);
    let s1 = connect(server.sip);
    let s2 = connect(server.sip);
    let m1 = connect(server.msrp);
    let m2 = connect(server.msrp);
    std::thread::sleep(QUIET);
    let mut extra_msrp = connect(server.msrp);
    assert!(closed_within(&mut extra_msrp, STEP), "3rd MSRP kept");
    let mut extra_sip = connect(server.sip);
    assert!(closed_within(&mut extra_sip, STEP), "3rd SIP kept");
    assert!(udp_options_ok(&server), "UDP affected");
    assert!(
        sip_served(&server, s1),
        "an admitted connection is not served"
    );
    drop(s2);
    std::thread::sleep(QUIET);
    assert!(tcp_options_ok(&server), "freed slot not reusable");
    drop((m1, m2));
}

// Issue 14: with the per-source limit reached, the next join from that address used to get
// 200 to its INVITE and then have its MSRP connection closed without a word. It is refused
// at the INVITE: 503 with a Warning that says why and a Retry-After.
#[test]
fn join_over_the_per_source_limit_is_refused_at_the_invite() {
    let server = server(&["max_connections_per_source = 2"]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let path = format!("msrp://127.0.0.1:9/{};tcp", ident(16));
    let refused = Participant::join_with(
        server.sip,
        Transport::Udp,
        "sip:carol@example.com",
        &path,
        &sdp_offer("carol", &path, "active", None),
    )
    .err()
    .expect("the third join from one address refused");
    assert_eq!(refused.status(), Some(503), "{}", refused.start);
    let warning = refused.header("Warning").unwrap_or_default();
    assert!(
        warning.starts_with("399 ") && warning.contains("max_connections_per_source"),
        "{warning:?}"
    );
    assert!(
        refused
            .header("Retry-After")
            .is_some_and(|v| v.parse::<u32>().is_ok()),
        "{:?}",
        refused.header("Retry-After")
    );
    let (tid, _, body) = a.say(b"the two who joined still chat");
    assert_eq!(a.response_to(&tid).status, Some(200));
    assert_eq!(b.next_send(STEP).expect("copy").body, body);
}

// Issue 14: the default (router) profile lets a whole site behind one NAT in: twelve
// participants from one address (the old limit was 8) join, bind and hear each other.
#[test]
fn a_dozen_participants_behind_one_address_join_with_the_defaults() {
    let server = Server::start(&[]);
    let mut all: Vec<Participant> = (0..12)
        .map(|i| Participant::join_and_bind(server.sip, Transport::Udp, &format!("user{i}")))
        .collect();
    let (tid, _, body) = all[0].say(b"hello from behind the NAT");
    assert_eq!(all[0].response_to(&tid).status, Some(200));
    for p in all.iter_mut().skip(1) {
        assert_eq!(p.next_send(STEP).expect("copy").body, body, "{}", p.uri);
    }
}

// sip_idle_timeout_ms against slowloris: a request trickled one byte at a time never
// completes and the connection is closed after the idle time, not kept by the trickle.
#[test]
fn sip_slowloris_is_closed_after_the_idle_timeout() {
    let server = server(&["sip_idle_timeout_ms = 800"]);
    let mut s = connect(server.sip);
    let req = options_with(&SipClient::udp(server.sip), &[], b"");
    let closed = trickle(&mut s, &req, Duration::from_millis(100));
    let took = closed.expect("trickled request kept the connection open");
    assert!(
        took < Duration::from_millis(2500),
        "closed only after {took:?}"
    );
    assert!(tcp_options_ok(&server));
}

// A half-sent SIP message on a connection that carries a dialog is closed after the idle
// time too (the dialog keeps an idle connection, not one with a stuck message).
#[test]
fn sip_half_sent_message_on_a_dialog_connection_is_closed() {
    let server = server(&["sip_idle_timeout_ms = 800"]);
    let mut p = Participant::join(server.sip, Transport::Tcp, "alice");
    let partial = b"OPTIONS sip:lobby@localhost SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1";
    let common::sip::SipSocket::Tcp { stream, .. } = &mut p.sip.socket else {
        unreachable!()
    };
    stream.write_all(partial).expect("write");
    let start = Instant::now();
    assert!(
        closed_within(stream, STEP),
        "half-sent message pinned the connection"
    );
    assert!(start.elapsed() < Duration::from_millis(2500));
    assert!(tcp_options_ok(&server));
}

// msrp_bind_timeout_ms: a connection that has not bound a session is closed in time even
// while it trickles bytes of a request.
#[test]
fn msrp_unbound_trickle_is_closed_at_the_bind_timeout() {
    let server = server(&[
        "msrp_bind_timeout_ms = 800",
        "msrp_header_timeout_ms = 60000",
    ]);
    let mut s = connect(server.msrp);
    let tid = ident(12);
    let head = format!(
        "MSRP {tid} SEND\r\nTo-Path: msrp://127.0.0.1:1/{};tcp\r\nFrom-Path: msrp://127.0.0.1:9/x;tcp\r\n",
        ident(16)
    );
    let took = trickle(&mut s, head.as_bytes(), Duration::from_millis(100))
        .expect("unbound trickling connection kept open");
    assert!(
        took < Duration::from_millis(2500),
        "closed only after {took:?}"
    );
}

// msrp_header_timeout_ms: on a BOUND connection a started header block must complete in
// time, else the connection is closed (it held max_msrp_header_bytes); others go on.
#[test]
fn msrp_half_sent_header_on_a_bound_connection_is_closed() {
    let server = server(&["msrp_header_timeout_ms = 800"]);
    let mut bob = Participant::join_and_bind(server.sip, Transport::Udp, "bob");
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let tid = ident(12);
    let head = format!(
        "MSRP {tid} SEND\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: {}\r\n",
        alice.answer.path,
        alice.local_path,
        ident(10)
    );
    let took = trickle(
        &mut alice.conn().stream,
        head.as_bytes(),
        Duration::from_millis(100),
    )
    .expect("half-sent header block kept the connection");
    assert!(
        took < Duration::from_millis(2500),
        "closed only after {took:?}"
    );
    assert!(still_chats(&mut bob));
}

// R4975-5.4-c (binding rules): a session exists only after a successful INVITE and ends
// with BYE: binding a refused INVITE's path or an ended session's path gets 481.
// (Unknown session 481 / already bound 506: conformance_msrp
// r4975_5_4_c_unknown_session_481_already_bound_506; 80-bit session-ids:
// conformance_sdp r4975_14_1_a_session_ids_carry_80_bits.)
#[test]
fn r4975_5_4_c_ended_session_cannot_be_bound_again() {
    let server = server(&[]);
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let path = alice.answer.path.clone();
    let local = alice.local_path.clone();
    assert_eq!(alice.bye().status(), Some(200));
    std::thread::sleep(QUIET);
    let mut conn = MsrpConn::connect(server.msrp);
    let tid = ident(12);
    let req = bodiless_send(&tid, &path, &local);
    conn.write(&req);
    assert_eq!(msrp_status(&mut conn, &tid), Some(481));
}

/// `parlor serve` with `--log warn`, the `[limits]` lines given and stderr captured.
fn server_capturing_log(lines: &[&str]) -> (std::process::Child, SocketAddr, SocketAddr) {
    use std::process::{Command, Stdio};
    let cfg = limits_config(lines);
    let mut child = Command::new(env!("CARGO_BIN_EXE_parlor"))
        .args([
            "serve",
            "--sip-listen",
            "127.0.0.1:0",
            "--msrp-listen",
            "127.0.0.1:0",
            "--log",
            "warn",
            "--config",
            cfg.to_str().expect("utf-8 temp path"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn parlor");
    let lines = common::line_channel(child.stdout.take().expect("stdout"));
    let line = lines
        .recv_timeout(Duration::from_secs(20))
        .expect("listening line");
    let (sip, msrp) = common::parse_listening_line(&line).expect("listening line");
    (child, sip, msrp)
}

// "Logged once": a flood of the same error (framing errors, connection-limit refusals,
// per-source refusals, unanswerable messages) writes one warn line per kind, not one per
// occurrence.
#[test]
fn a_flood_of_the_same_error_logs_one_warn() {
    let (mut child, sip, msrp) = server_capturing_log(&[
        "max_sip_connections = 1",
        "max_connections_per_source = 2",
        "max_sip_message_bytes = 2048",
        "max_sdp_bytes = 1024",
    ]);
    let stderr = common::line_channel(child.stderr.take().expect("stderr"));
    let big = format!(
        "OPTIONS {ROOM} SIP/2.0\r\nContent-Length: 5000\r\n\r\n{}",
        "b".repeat(100)
    );
    for _ in 0..5 {
        let mut s = connect(sip);
        let _ = s.write_all(big.as_bytes());
        assert!(closed_within(&mut s, STEP), "framing error not closed");
    }
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    for _ in 0..5 {
        udp.send_to(b"garbage without a start line\r\n\r\n", sip)
            .expect("send");
    }
    let held = connect(sip);
    std::thread::sleep(QUIET);
    for _ in 0..5 {
        let mut s = connect(sip);
        assert!(closed_within(&mut s, STEP), "over max_sip_connections kept");
    }
    let m1 = connect(msrp);
    let m2 = connect(msrp);
    std::thread::sleep(QUIET);
    for _ in 0..5 {
        let mut s = connect(msrp);
        assert!(
            closed_within(&mut s, STEP),
            "over the per-source limit kept"
        );
    }
    std::thread::sleep(QUIET);
    let _ = child.kill();
    let _ = child.wait();
    drop((held, m1, m2));
    // The process is gone: read until the pipe's EOF ends the reader (bounded).
    let mut log = Vec::new();
    for _ in 0..10_000 {
        match stderr.recv_timeout(STEP) {
            Ok(line) => log.push(line),
            Err(_) => break,
        }
    }
    let warns = |needle: &str| {
        log.iter()
            .filter(|l| l.contains("WARN") && l.contains(needle))
            .count()
    };
    assert_eq!(warns("TooLarge"), 1, "framing errors: {log:#?}");
    assert_eq!(warns("unanswerable"), 1, "dropped messages: {log:#?}");
    assert_eq!(warns("max_sip_connections"), 1, "SIP refusals: {log:#?}");
    assert_eq!(
        warns("max_connections_per_source"),
        1,
        "per-source: {log:#?}"
    );
}

// max_uri_bytes: a joiner whose URI (From) or MSRP path is longer than the limit is refused
// (488: the switch cannot keep it) and nothing is kept for it; a Request-URI longer than
// the limit gets 414 Request-URI Too Long (RFC 3261 §21.4.12).
#[test]
fn uri_over_max_is_refused() {
    let server = server(&["max_uri_bytes = 64"]);
    let long_user = "u".repeat(80);
    let mut sip = SipClient::udp(server.sip);
    let path = format!("msrp://127.0.0.1:9/{};tcp", ident(16));
    let sdp = sdp_offer("x", &path, "active", None);
    let from = format!("sip:{long_user}@example.com");
    let req = invite(&sip, &from, &format!("{}@h", ident(12)), &ident(8), &sdp);
    sip.send(req.as_bytes());
    let from_status = sip.final_status(STEP);

    let mut sip = SipClient::udp(server.sip);
    let long_path = format!("msrp://127.0.0.1:9/{};tcp", "s".repeat(80));
    let sdp = sdp_offer("y", &long_path, "active", None);
    let req = invite(
        &sip,
        "sip:y@example.com",
        &format!("{}@h", ident(12)),
        &ident(8),
        &sdp,
    );
    sip.send(req.as_bytes());
    let path_status = sip.final_status(STEP);

    let mut sip = SipClient::udp(server.sip);
    let req = String::from_utf8(options_with(&sip, &[], b""))
        .expect("utf-8")
        .replacen(ROOM, &format!("sip:{long_user}@localhost"), 1);
    sip.send(req.as_bytes());
    let ruri_status = sip.final_status(STEP);
    assert_eq!(
        (from_status, path_status, ruri_status),
        (Some(488), Some(488), Some(414))
    );
    let mut p = Participant::join_and_bind(server.sip, Transport::Udp, "short");
    assert!(still_chats(&mut p));
}
