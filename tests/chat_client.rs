//! `parlor-chat` against the real server: it joins, prints a raw client's message as
//! `<sender> text`, sends its stdin line to the room as CPIM, and leaves on end of input.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{line_channel, wait_bounded, Participant, Server, Transport, ROOM, STEP};

fn expect_line(lines: &std::sync::mpsc::Receiver<String>, want: &str) -> String {
    let deadline = Instant::now() + STEP;
    let mut seen = Vec::new();
    for _ in 0..100 {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(want) => return line,
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!("parlor-chat printed no line containing {want:?}; got {seen:?}");
}

fn chat_exchanges_a_line(tcp: bool) {
    let server = Server::start(&[]);
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let sip = server.sip.to_string();
    let mut args = vec![ROOM, "--as", "sip:carol@example.com", "--server", &sip];
    if tcp {
        args.push("--tcp");
    }
    let mut chat = Command::new(env!("CARGO_BIN_EXE_parlor-chat"))
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn parlor-chat");
    let lines = line_channel(chat.stdout.take().expect("stdout"));
    expect_line(&lines, "* joined sip:lobby@localhost");

    let (tid, _, _) = alice.say(b"hello carol");
    assert_eq!(alice.response_to(&tid).status, Some(200));
    let printed = expect_line(&lines, "hello carol");
    assert_eq!(printed.trim_end(), "<sip:alice@example.com> hello carol");

    let mut stdin = chat.stdin.take().expect("stdin");
    stdin.write_all(b"hi alice\n").expect("write stdin");
    stdin.flush().expect("flush");
    let got = alice.next_send(STEP).expect("carol's line at alice");
    let body = String::from_utf8_lossy(&got.body).into_owned();
    assert!(body.contains("From: <sip:carol@example.com>"), "{body}");
    assert!(body.contains(&format!("To: <{ROOM}>")), "{body}");
    assert_eq!(got.cpim_text(), b"hi alice");

    drop(stdin); // end of input = /quit: BYE, exit 0
    let status = wait_bounded(&mut chat, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn chat_client_over_udp() {
    chat_exchanges_a_line(false);
}

#[test]
fn chat_client_over_tcp() {
    chat_exchanges_a_line(true);
}
