//! Attacks of a hostile participant or host on the same network (issue 15), each re-run
//! against its fix over real loopback sockets: spoofing a CPIM From by restarting a chunk
//! inside bytes already checked (RFC 4975 §7.3.1, RFC 7701 §6.1/§6.3), ...
//! tests/ROBUSTNESS.md ("A hostile peer") keeps the figures.

mod common;

use common::msrp::{cpim_body, MsrpMessage, SendRequest};
use common::{hosts, ident, Participant, Server, Transport, QUIET, ROOM, STEP};
use std::time::Duration;

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

/// Every byte the server sends to `sip`'s socket until `quiet` passes without any, bounded
/// by `limit`: (datagrams, bytes).
fn reflected(sip: &mut common::sip::SipClient, quiet: Duration, limit: Duration) -> (usize, usize) {
    let start = std::time::Instant::now();
    let (mut datagrams, mut bytes) = (0, 0);
    while start.elapsed() < limit {
        match sip.recv(quiet) {
            Some(m) => {
                datagrams += 1;
                bytes += m.raw.len();
            }
            None => break,
        }
    }
    (datagrams, bytes)
}

/// A server whose SIP timers run fast (64·T1 = 1.28 s), so a whole exchange with an
/// address that never answers ends within the test.
fn fast_timer_server() -> Server {
    server_with(&["sip_t1_ms = 20", "sip_t2_ms = 160"])
}

// Issue 15 (low), UDP reflection: a SUBSCRIBE from an address that never answers (a third
// party may have forged it, so that the NOTIFYs land on a victim) got about 205 times its
// bytes back: the whole roster in every NOTIFY, resent until timer F. Until the address
// answers, a NOTIFY is one frame (`unproven_udp_notify_bytes`), resent at most
// `unproven_udp_resends` times.
#[test]
fn a_forged_udp_subscribe_reflects_little() {
    let server = fast_timer_server();
    let _members: Vec<Participant> = (0..8)
        .map(|i| {
            let name = format!("member-{i}-with-a-rather-long-user-name-for-the-roster");
            Participant::join_and_bind(server.sip, Transport::Udp, &name)
        })
        .collect();
    let mut victim = common::sip::SipClient::udp(server.sip);
    let sub = common::roster::subscribe_request(
        &victim,
        ROOM,
        "sip:forged@example.com",
        &ident(8),
        None,
        &format!("{}@forged", ident(12)),
        1,
        &["Event: conference"],
    );
    victim.send(sub.as_bytes());
    let (datagrams, bytes) = reflected(&mut victim, Duration::from_secs(3), STEP * 4);
    let factor = bytes as f64 / sub.len() as f64;
    eprintln!(
        "forged SUBSCRIBE: {} bytes in, {datagrams} datagrams / {bytes} bytes out ({factor:.1}x)",
        sub.len()
    );
    // 200 + the first NOTIFY + 2 resends (the defaults).
    assert!(datagrams <= 4, "{datagrams} datagrams");
    assert!(factor < 15.0, "{factor:.1}x");
}

// The same for INVITE: the 2xx used to be resent ten times until 64·T1 and then a BYE ten
// times more (about 17 times the INVITE's bytes). An address that never ACKs gets the 2xx
// and a BYE, each resent at most `unproven_udp_resends` times.
#[test]
fn a_forged_udp_invite_reflects_little() {
    let server = fast_timer_server();
    let mut victim = common::sip::SipClient::udp(server.sip);
    let sdp = common::participant::sdp_offer(
        "forged",
        &format!("msrp://127.0.0.1:9/{};tcp", ident(16)),
        "active",
        None,
    );
    let invite = common::participant::invite(
        &victim,
        "sip:forged@example.com",
        &format!("{}@forged", ident(12)),
        &ident(8),
        &sdp,
    );
    victim.send(invite.as_bytes());
    let (datagrams, bytes) = reflected(&mut victim, Duration::from_secs(3), STEP * 4);
    let factor = bytes as f64 / invite.len() as f64;
    eprintln!(
        "forged INVITE: {} bytes in, {datagrams} datagrams / {bytes} bytes out ({factor:.1}x)",
        invite.len()
    );
    // 100 + 200 + 2 resends + BYE + 2 resends.
    assert!(datagrams <= 7, "{datagrams} datagrams");
    assert!(factor < 6.0, "{factor:.1}x");
}

// ---- Issue 15 (medium): one host can keep newcomers out ----

/// `--profile tiny`: 8 seats, 12 MSRP and 8 SIP TCP connections, 8 subscriptions; a
/// source's shares are 6 seats, 4 sessions per connection, 6 subscriptions.
fn tiny() -> Server {
    Server::start(&["--profile", "tiny"])
}

/// Longer than `unproven_grace_ms` (1 s on every profile).
const PAST_GRACE: std::time::Duration = std::time::Duration::from_millis(1_300);

/// Whether `stream` reaches EOF (or a reset) within QUIET.
fn is_closed(stream: &mut std::net::TcpStream) -> bool {
    use std::io::Read;
    stream.set_read_timeout(Some(QUIET)).expect("timeout");
    let mut buf = [0u8; 512];
    for _ in 0..100 {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => return e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
    false
}

/// A newcomer from `from` joins over `transport` and binds from the same address; `None`
/// if either fails. (Kept alive by the caller: its connections hold their slots.)
fn newcomer(
    server: &Server,
    from: std::net::IpAddr,
    transport: Transport,
    name: &str,
) -> Option<Participant> {
    let mut p = hosts::join_from(from, server.sip, transport, name).ok()?;
    let conn = hosts::msrp_from(from, p.answer.msrp_addr());
    (hosts::bind_over(&mut p, conn) == Some(200)).then_some(p)
}

// Was: 20 UDP INVITEs from one address bound over one MSRP connection took every free
// seat, and newcomers got 486. Now one source holds 6 of tiny's 8 seats (503 naming
// max_seats_per_source beyond), one connection binds at most 4 sessions (403 beyond),
// and two newcomers from another address join and bind.
#[test]
fn one_host_cannot_take_every_seat() {
    let server = tiny();
    let evil = hosts::host(1);
    let mut seated = Vec::new();
    let mut refused = Vec::new();
    for i in 0..20 {
        match hosts::join_from(evil, server.sip, Transport::Udp, &format!("evil{i}")) {
            Ok(p) => seated.push(p),
            Err(r) => refused.push(r),
        }
    }
    assert_eq!(seated.len(), 6, "seats one host took");
    assert!(refused.iter().all(|r| r.status() == Some(503)
        && r.header("Warning")
            .is_some_and(|w| w.contains("max_seats_per_source"))));
    // Bind them over as few connections as the server allows.
    let addr = seated[0].answer.msrp_addr();
    let mut held = vec![hosts::msrp_from(evil, addr)];
    let mut per_conn = vec![0];
    for p in &seated {
        let conn = held.last_mut().expect("a connection");
        match hosts::bind_send(p, conn) {
            Some(200) => {}
            other => {
                assert_eq!(other, Some(403), "binding over a full connection");
                held.push(hosts::msrp_from(evil, addr));
                per_conn.push(0);
                let conn = held.last_mut().expect("a connection");
                assert_eq!(hosts::bind_send(p, conn), Some(200), "on a new connection");
            }
        }
        *per_conn.last_mut().expect("a count") += 1;
    }
    assert_eq!(per_conn, [4, 2], "sessions bound per connection");
    for i in 0..2 {
        let p = newcomer(&server, hosts::host(2), Transport::Udp, &format!("new{i}"));
        assert!(p.is_some(), "newcomer {i}");
    }
}

// Was: 10 idle MSRP sockets from 3 addresses took every MSRP slot and newcomers' binds
// failed 19 of 19. Now 12 idle sockets (every slot of tiny) from 3 addresses hold them
// only until a newcomer needs one: each of 3 newcomers from a fourth address joins and
// binds, evicting the oldest idle socket, which the server closes.
#[test]
fn idle_msrp_sockets_do_not_keep_newcomers_out() {
    let server = tiny();
    let mut idle: Vec<std::net::TcpStream> = (0..12u8)
        .map(|i| hosts::tcp_from(hosts::host(1 + i % 3), server.msrp))
        .collect();
    std::thread::sleep(PAST_GRACE);
    let joined: Vec<Participant> = (0..3)
        .filter_map(|i| newcomer(&server, hosts::host(4), Transport::Udp, &format!("new{i}")))
        .collect();
    assert_eq!(joined.len(), 3, "newcomers that joined and bound");
    let closed = idle.iter_mut().map(is_closed).filter(|c| *c).count();
    assert_eq!(closed, 3, "idle sockets evicted, one per newcomer");
}

// Was: 8 idle SIP TCP connections from 2 addresses blocked TCP joins. Now they hold
// tiny's 8 SIP TCP slots only until a newcomer needs one: 2 newcomers from a third
// address join over TCP (and bind), each evicting the oldest idle connection.
#[test]
fn idle_sip_tcp_connections_do_not_keep_newcomers_out() {
    let server = tiny();
    let mut idle: Vec<std::net::TcpStream> = (0..8u8)
        .map(|i| hosts::tcp_from(hosts::host(1 + i % 2), server.sip))
        .collect();
    std::thread::sleep(PAST_GRACE);
    let joined: Vec<Participant> = (0..2)
        .filter_map(|i| newcomer(&server, hosts::host(3), Transport::Tcp, &format!("new{i}")))
        .collect();
    assert_eq!(joined.len(), 2, "newcomers that joined over TCP");
    let closed = idle.iter_mut().map(is_closed).filter(|c| *c).count();
    assert_eq!(closed, 2, "idle connections evicted, one per newcomer");
}

/// An out-of-dialog SUBSCRIBE to the room from `sip`; its final status and the Warning.
fn subscribe_status(sip: &mut common::sip::SipClient) -> (Option<u16>, String) {
    let req = common::roster::subscribe_request(
        sip,
        ROOM,
        "sip:watcher@example.com",
        &ident(10),
        None,
        &format!("{}@example.com", ident(16)),
        1,
        &["Event: conference", "Expires: 600"],
    );
    sip.send(req.as_bytes());
    let resp = sip.final_response("SUBSCRIBE");
    let warning = resp.header("Warning").unwrap_or_default().to_string();
    (resp.status(), warning)
}

// Was: 8 SUBSCRIBEs whose NOTIFYs nobody answered filled the table and members' roster
// requests got 503 for ~32 s (timer F), renewable. Now one address holds at most 6 of
// tiny's 8 (503 naming max_subscriptions_per_source beyond), and once the table is full
// of unanswered subscriptions, members from another address still get 200: each evicts
// the oldest unanswered one.
#[test]
fn unanswered_subscriptions_do_not_keep_members_out() {
    let server = tiny();
    let mut attackers: Vec<common::sip::SipClient> = Vec::new();
    let mut codes = Vec::new();
    for i in 0..10u8 {
        let from = if i < 8 {
            hosts::host(1)
        } else {
            hosts::host(2)
        };
        let mut sip = hosts::sip_from(from, server.sip, Transport::Udp);
        let (code, warning) = subscribe_status(&mut sip);
        if code == Some(503) {
            assert!(
                warning.contains("max_subscriptions_per_source"),
                "{warning}"
            );
        }
        codes.push(code.unwrap_or(0));
        attackers.push(sip);
    }
    assert_eq!(
        codes,
        [200, 200, 200, 200, 200, 200, 503, 503, 200, 200],
        "6 from the first address, then 2 from the second fill the table"
    );
    std::thread::sleep(PAST_GRACE);
    for i in 0..2u8 {
        let sip = hosts::sip_from(hosts::host(3), server.sip, Transport::Udp);
        let mut member = common::roster::Subscriber::subscribe_with(
            sip,
            &format!("sip:member{i}@example.com"),
            &["Event: conference", "Expires: 600"],
        );
        assert!(
            member.next_notify_answering(STEP, true).is_some(),
            "member {i} gets its NOTIFY"
        );
    }
}

// ---- Issue 15 (medium): the memory cap as a global bound ----

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
