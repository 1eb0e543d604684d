//! `parlor-chat` over sockets, against the real server and against a scripted focus: it
//! joins, prints a raw client's message as `<sender> text`, sends its stdin line to the room
//! as CPIM, and leaves on end of input; it reads the encapsulated MIME headers of CPIM
//! (RFC 3862 §3) in any order and shows each content type sensibly.

mod common;
#[path = "common/fake_focus.rs"]
mod fake_focus;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::{expect_line, line_channel, wait_bounded, Participant, Server, Transport, ROOM, STEP};
use fake_focus::FakeFocus;

/// Carol joins `server` with parlor-chat (UDP or TCP), prints Alice's line as
/// `<sip:alice@example.com> TEXT`, sends a stdin line to the room as CPIM, and leaves with
/// exit 0 on end of input.
fn chat_exchanges_a_line(server: &Server, alice: &mut Participant, tcp: bool, text: &str) {
    let tcp_flag: &[&str] = if tcp { &["--tcp"] } else { &[] };
    let (mut chat, lines, _stderr) = spawn_chat_with(server.sip, ROOM, tcp_flag);
    expect_line(&lines, "* joined sip:lobby@localhost");

    let hello = format!("hello {text}");
    let (tid, _, _) = alice.say(hello.as_bytes());
    assert_eq!(alice.response_to(&tid).status, Some(200));
    let printed = expect_line(&lines, &hello);
    assert_eq!(
        printed.trim_end(),
        format!("<sip:alice@example.com> {hello}")
    );

    let reply = format!("hi alice {text}");
    let mut stdin = chat.stdin.take().expect("stdin");
    stdin
        .write_all(format!("{reply}\n").as_bytes())
        .expect("write stdin");
    stdin.flush().expect("flush");
    let got = alice.next_send(STEP).expect("carol's line at alice");
    let body = String::from_utf8_lossy(&got.body).into_owned();
    assert!(body.contains("From: <sip:carol@example.com>"), "{body}");
    assert!(body.contains(&format!("To: <{ROOM}>")), "{body}");
    assert_eq!(got.cpim_text(), reply.as_bytes());

    drop(stdin); // end of input = /quit: BYE, exit 0
    let status = wait_bounded(&mut chat, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn chat_client_over_udp() {
    let server = Server::start(&[]);
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    chat_exchanges_a_line(&server, &mut alice, false, "over udp");
}

#[test]
fn chat_client_over_tcp() {
    let server = Server::start(&[]);
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    chat_exchanges_a_line(&server, &mut alice, true, "over tcp");
}

/// parlor-chat as `sip:carol@example.com` against `server` (UDP), stdout as lines.
fn spawn_chat(server: SocketAddr) -> (Child, Receiver<String>) {
    let sip = server.to_string();
    let mut chat = Command::new(env!("CARGO_BIN_EXE_parlor-chat"))
        .args([ROOM, "--as", "sip:carol@example.com", "--server", &sip])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn parlor-chat");
    let lines = line_channel(chat.stdout.take().expect("stdout"));
    (chat, lines)
}

/// Every line printed until one contains `want` (which is the last).
fn lines_until(lines: &Receiver<String>, want: &str) -> Vec<String> {
    let deadline = Instant::now() + STEP;
    let mut seen = Vec::new();
    for _ in 0..100 {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let done = line.contains(want);
                seen.push(line.trim_end_matches('\n').to_string());
                if done {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("parlor-chat printed no line containing {want:?}; got {seen:?}");
}

/// A CPIM message from alice to the room whose encapsulated part is `mime` as written.
fn cpim_from_alice(mime: &[u8]) -> Vec<u8> {
    let mut body = common::crlf(&[
        "From: <sip:alice@example.com>",
        &format!("To: <{ROOM}>"),
        "DateTime: 2025-01-15T10:02:31Z",
        "",
    ])
    .into_bytes();
    body.extend_from_slice(mime);
    body
}

// Issue 14 (RFC 3862 §3): the encapsulated MIME headers come in any order. The SIP SIMPLE
// SDK puts MIME-Version first; parlor-chat showed its headers as text.
#[test]
fn cpim_mime_headers_in_any_order_are_not_shown_as_text() {
    let server = Server::start(&[]);
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let (mut chat, lines) = spawn_chat(server.sip);
    expect_line(&lines, "* joined sip:lobby@localhost");
    for mime in [
        &b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nfrom the sdk"[..],
        b"Content-ID: <1@example.com>\r\nContent-Type: text/plain\r\n\r\ncontent-id first",
        b"Content-Type: text/plain;charset=utf-8\r\n\r\nthe usual order",
    ] {
        let (tid, _) = alice.send_body("message/cpim", &cpim_from_alice(mime));
        assert_eq!(alice.response_to(&tid).status, Some(200));
    }
    let (tid, _, _) = alice.say(b"that was all");
    assert_eq!(alice.response_to(&tid).status, Some(200));
    let shown = lines_until(&lines, "that was all");
    assert_eq!(
        shown,
        [
            "<sip:alice@example.com> from the sdk",
            "<sip:alice@example.com> content-id first",
            "<sip:alice@example.com> the usual order",
            "<sip:alice@example.com> that was all",
        ]
    );
    drop(chat.stdin.take());
    let status = wait_bounded(&mut chat, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status:?}");
}

// Issue 14 (RFC 3862 §3, RFC 3994): what is shown depends on the encapsulated Content-Type,
// found even in a folded header: text is shown, an is-composing indication is not, anything
// else is one line naming its type and size. A sender that wrote no MIME headers is read as
// text. (The real switch only relays wrapped types the client declared, so a scripted focus
// sends these.)
#[test]
fn the_wrapped_content_type_decides_what_is_shown() {
    let mut focus = FakeFocus::bind(Ipv4Addr::LOCALHOST.into());
    let (mut chat, lines) = spawn_chat(focus.addr);
    focus.answer_invite();
    focus.accept_msrp();
    expect_line(&lines, "* joined sip:lobby@localhost");
    let composing = b"Content-Type: application/im-iscomposing+xml\r\n\r\n\
        <?xml version=\"1.0\"?><isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">\
        <state>active</state></isComposing>";
    let png = b"MIME-Version: 1.0\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    for mime in [
        &composing[..],
        png,
        b"Content-Type:\r\n text/plain;\r\n\tcharset=utf-8\r\n\r\nfolded type",
        b"no MIME headers at all",
        b"Content-Type: text/html\r\n\r\n<b>bold</b>",
        b"Content-Type: text/plain\r\n\r\nthat was all",
    ] {
        assert_eq!(focus.send_cpim(&cpim_from_alice(mime)), Some(200));
    }
    let shown = lines_until(&lines, "that was all");
    assert_eq!(
        shown,
        [
            "* <sip:alice@example.com> sent a message of type image/png (16 bytes), not shown",
            "<sip:alice@example.com> folded type",
            "<sip:alice@example.com> no MIME headers at all",
            "<sip:alice@example.com> (text/html) <b>bold</b>",
            "<sip:alice@example.com> that was all",
        ]
    );
    drop(chat.stdin.take());
    let bye = focus
        .recv_request("BYE", STEP)
        .expect("BYE on end of input");
    focus.respond(&bye, 200, "OK", None);
    let status = wait_bounded(&mut chat, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// Every line printed until the process closes its output (bounded), newlines trimmed.
fn rest_of_output(lines: &Receiver<String>) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    for _ in 0..1_000 {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line.trim_end_matches('\n').to_string()),
            Err(_) => break,
        }
    }
    seen
}

// Issue 14 (RFC 3261 §15.1.2): a server that shuts down sends every participant a BYE. That
// is a normal end for the client — "the room was closed", exit 0 — whether the MSRP
// connection drops before or after the BYE arrives; it used to send its own BYE, get 481
// and exit 1.
#[test]
fn server_shutdown_ends_the_client_normally() {
    let mut server = Server::start(&[]);
    let mut chats = Vec::new();
    for tcp_flag in [&[][..], &["--tcp"][..]] {
        let (chat, lines, _stderr) = spawn_chat_with(server.sip, ROOM, tcp_flag);
        expect_line(&lines, "* joined sip:lobby@localhost");
        chats.push((chat, lines));
    }
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "server: {status:?}");
    for (mut chat, lines) in chats {
        let status = wait_bounded(&mut chat, Duration::from_secs(10));
        let printed = rest_of_output(&lines);
        assert_eq!(
            printed,
            ["* the room was closed by the server"],
            "{status:?}"
        );
        assert_eq!(status.code(), Some(0), "{printed:?}");
    }
}

/// A client joined to a scripted focus.
fn joined_to_fake_focus() -> (FakeFocus, Child, Receiver<String>) {
    let mut focus = FakeFocus::bind(Ipv4Addr::LOCALHOST.into());
    let (chat, lines) = spawn_chat(focus.addr);
    focus.answer_invite();
    focus.accept_msrp();
    expect_line(&lines, "* joined sip:lobby@localhost");
    (focus, chat, lines)
}

/// The focus ends the session with a BYE carrying `reason` (RFC 3326), closing MSRP
/// before or after it; the client answers 200, sends no BYE of its own, says why, exits 0.
fn focus_ends_the_session(drop_msrp_first: bool) {
    let (mut focus, mut chat, lines) = joined_to_fake_focus();
    if drop_msrp_first {
        focus.close_msrp();
        std::thread::sleep(Duration::from_millis(300));
    }
    focus.send_bye(&["Reason: SIP ;cause=200 ;text=\"parlor is shutting down\""]);
    let answer = focus.bye_answer(STEP).expect("an answer to the BYE");
    assert_eq!(answer.status(), Some(200), "{}", answer.start);
    focus.close_msrp();
    let status = wait_bounded(&mut chat, Duration::from_secs(10));
    let printed = rest_of_output(&lines);
    assert_eq!(
        printed,
        ["* the room was closed by the server: parlor is shutting down"]
    );
    assert_eq!(status.code(), Some(0), "{printed:?}");
    assert!(
        focus
            .recv_request("BYE", Duration::from_millis(300))
            .is_none(),
        "no BYE from a client whose session the server ended"
    );
}

#[test]
fn a_bye_after_the_msrp_drop_is_a_normal_end() {
    focus_ends_the_session(true);
}

#[test]
fn a_bye_before_the_msrp_drop_is_a_normal_end() {
    focus_ends_the_session(false);
}

// Issue 14: when the MSRP connection drops and no BYE follows, the connection was lost: the
// client waits briefly for a BYE, then says so, sends its own BYE and exits 1.
#[test]
fn msrp_lost_without_a_bye_is_reported_and_exits_1() {
    let (mut focus, mut chat, lines) = joined_to_fake_focus();
    let dropped = Instant::now();
    focus.close_msrp();
    let bye = focus
        .recv_request("BYE", Duration::from_secs(5))
        .expect("the client's BYE after losing MSRP");
    let waited = dropped.elapsed();
    assert!(
        waited >= Duration::from_millis(1500),
        "BYE after {waited:?}: the client should wait for the server's BYE first"
    );
    focus.respond(&bye, 200, "OK", None);
    let status = wait_bounded(&mut chat, Duration::from_secs(10));
    let printed = rest_of_output(&lines);
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(
        printed[0].starts_with("* lost the connection to the server"),
        "{printed:?}"
    );
    assert_eq!(status.code(), Some(1), "{printed:?}");
}

// Issue 14 (RFC 3261 §15): the user quits while the server ends the session: the BYEs
// cross, the server answers ours 481. That is no error: nothing is printed, exit 0.
#[test]
fn a_481_to_our_bye_after_the_servers_bye_is_not_an_error() {
    let (mut focus, mut chat, lines) = joined_to_fake_focus();
    drop(chat.stdin.take()); // end of input = /quit
    let ours = focus.recv_request("BYE", STEP).expect("the client's BYE");
    focus.send_bye(&[]);
    let answer = focus.bye_answer(STEP).expect("an answer to our BYE");
    assert_eq!(answer.status(), Some(200), "{}", answer.start);
    focus.respond(&ours, 481, "Call/Transaction Does Not Exist", None);
    let status = wait_bounded(&mut chat, Duration::from_secs(10));
    let printed = rest_of_output(&lines);
    assert!(printed.iter().all(|l| !l.contains("481")), "{printed:?}");
    assert_eq!(status.code(), Some(0), "{printed:?}");
}

// Issue 14 (RFC 4975 §9, RFC 3986 §3.2.2): over IPv6 the client's MSRP URI, Via, Contact
// and Call-ID carry its address in brackets (`msrp://[::1]:9/…`; unbracketed, the server
// answered 488), and it connects to a bracketed `a=path`. It joins a server listening on
// ::1 only and exchanges a line with a raw participant there, over UDP and TCP.
#[test]
fn chat_client_over_ipv6() {
    let server = Server::start_on("[::1]:0", "[::1]:0", &[]);
    assert!(server.sip.is_ipv6() && server.msrp.is_ipv6());
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    for tcp in [false, true] {
        chat_exchanges_a_line(&server, &mut alice, tcp, "over v6");
    }
}

/// parlor-chat as carol against `server` with `extra` flags; stdout and stderr as lines.
fn spawn_chat_with(
    server: SocketAddr,
    room: &str,
    extra: &[&str],
) -> (Child, Receiver<String>, Receiver<String>) {
    let sip = server.to_string();
    let mut chat = Command::new(env!("CARGO_BIN_EXE_parlor-chat"))
        .args([room, "--as", "sip:carol@example.com", "--server", &sip])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn parlor-chat");
    let out = line_channel(chat.stdout.take().expect("stdout"));
    let err = line_channel(chat.stderr.take().expect("stderr"));
    (chat, out, err)
}

// Issue 14: a join that gets no answer over UDP is not 32 s of silence. Nothing listening
// at the port (ICMP port unreachable) is said at once; a server that never answers is said
// after a few seconds; either way the client keeps trying, as before.
#[test]
fn an_unanswered_udp_join_says_so_while_it_waits() {
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let closed_addr = closed.local_addr().expect("addr");
    drop(closed);
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let silent_addr = silent.local_addr().expect("addr");
    for (addr, want) in [
        (
            closed_addr,
            format!("* nothing answers at {closed_addr} over UDP (port unreachable)"),
        ),
        (
            silent_addr,
            format!("* no answer yet from {silent_addr} over UDP"),
        ),
    ] {
        let started = Instant::now();
        let (mut chat, out, _err) = spawn_chat_with(addr, ROOM, &[]);
        let line = out
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no word about {addr} within 10 s"));
        assert!(line.starts_with(&want), "{line:?}, want {want:?}");
        assert!(line.contains("still trying for up to 32 s"), "{line:?}");
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{:?}",
            started.elapsed()
        );
        assert!(
            chat.try_wait().expect("try_wait").is_none(),
            "the client keeps trying"
        );
        let _ = chat.kill();
        let _ = chat.wait();
    }
    drop(silent);
}

// Issue 14: a refused TCP connection names the server and the transport, exit 1.
#[test]
fn a_refused_tcp_join_names_the_server() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let (mut chat, _out, err) = spawn_chat_with(addr, ROOM, &["--tcp"]);
    let status = wait_bounded(&mut chat, Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{status:?}");
    let line = err.recv_timeout(STEP).expect("an error line");
    assert!(
        line.starts_with(&format!(
            "parlor-chat: cannot reach the SIP server at {addr} over TCP: "
        )),
        "{line:?}"
    );
}

// Issue 14: a refused join says why in words: the server's Warning text (RFC 3261 §20.43)
// when it gives one, else what the code means; and when to try again (Retry-After).
#[test]
fn a_refused_join_says_why() {
    let server = Server::start(&[]);
    let (mut chat, out, _err) = spawn_chat_with(server.sip, "sip:nosuch@localhost", &[]);
    let line = out.recv_timeout(STEP).expect("the refusal");
    assert_eq!(
        line.trim_end(),
        "server: 404 Not Found (no room sip:nosuch@localhost on this server)"
    );
    let status = wait_bounded(&mut chat, Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{status:?}");

    let mut focus = FakeFocus::bind(Ipv4Addr::LOCALHOST.into());
    let (mut chat, out, _err) = spawn_chat_with(focus.addr, ROOM, &[]);
    let invite = focus
        .recv_request("INVITE", STEP)
        .expect("the client's INVITE");
    focus.respond_with(
        &invite,
        503,
        "Service Unavailable",
        &[
            "Warning: 399 127.0.0.1 \"too many participants from your address\"",
            "Retry-After: 30",
        ],
        None,
    );
    let line = out.recv_timeout(STEP).expect("the refusal");
    assert_eq!(
        line.trim_end(),
        "server: 503 Service Unavailable (too many participants from your address); \
         try again in 30 s"
    );
    let status = wait_bounded(&mut chat, Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{status:?}");
}

// Issue 14: when its output is closed (the reader of a pipe went away, EPIPE), the client
// leaves quietly: it sends BYE, says nothing on stderr, and exits 0 — it used to panic in
// println! on the next message.
#[test]
fn a_closed_stdout_makes_the_client_leave_quietly() {
    use std::io::{BufRead, BufReader};
    let mut focus = FakeFocus::bind(Ipv4Addr::LOCALHOST.into());
    let sip = focus.addr.to_string();
    let mut chat = Command::new(env!("CARGO_BIN_EXE_parlor-chat"))
        .args([ROOM, "--as", "sip:carol@example.com", "--server", &sip])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn parlor-chat");
    // One line is read, then the read end of the pipe is closed.
    let stdout = chat.stdout.take().expect("stdout");
    let (tx, first) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let err = line_channel(chat.stderr.take().expect("stderr"));
    focus.answer_invite();
    focus.accept_msrp();
    let joined = first.recv_timeout(STEP).expect("the first line");
    assert!(joined.starts_with("* joined"), "{joined:?}");
    std::thread::sleep(Duration::from_millis(100)); // the reader thread has dropped it

    assert_eq!(focus.send_cpim(&cpim_from_alice(b"anyone?")), Some(200));
    let bye = focus
        .recv_request("BYE", STEP)
        .expect("a BYE once stdout is gone");
    focus.respond(&bye, 200, "OK", None);
    let status = wait_bounded(&mut chat, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status:?}");
    // Until stderr's reader sees the end (bounded).
    let said: Vec<String> = (0..100)
        .map_while(|_| err.recv_timeout(STEP).ok())
        .collect();
    assert!(said.is_empty(), "stderr: {said:?}");
}
