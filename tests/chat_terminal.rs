//! `parlor-chat` on a pseudo-terminal (issue 14): a terminal that stops taking output while a
//! 64 KB message arrives must not kill it, and a peer's control characters (RFC 3862 CPIM
//! content is arbitrary text) must reach the terminal only in an inert form.

mod common;
#[path = "common/terminal.rs"]
mod terminal;

use std::time::Duration;

use common::msrp::{cpim_body, SendRequest};
use common::{ident, Participant, Server, Transport, ROOM, STEP};
use terminal::OnTerminal;

/// Starts parlor-chat as `sip:carol@example.com` on a pseudo-terminal and waits until it
/// says it joined; `share`: the test keeps a copy of the terminal's slave side.
fn chat_on_terminal(server: &Server, share: bool) -> OnTerminal {
    let sip = server.sip.to_string();
    let args = [ROOM, "--as", "sip:carol@example.com", "--server", &sip];
    let program = env!("CARGO_BIN_EXE_parlor-chat");
    let mut term = if share {
        OnTerminal::spawn_sharing(program, &args)
    } else {
        OnTerminal::spawn(program, &args)
    };
    term.read_until("* joined sip:lobby@localhost", STEP);
    term
}

/// Sends `text` to the room as one CPIM message cut into SEND chunks of at most `chunk`
/// body bytes (RFC 4975 §5.1); asserts every chunk is answered 200.
fn say_in_chunks(p: &mut Participant, text: &[u8], chunk: usize) {
    let body = cpim_body(&p.uri, ROOM, text);
    let mid = ident(12);
    let total = body.len();
    let mut tids = Vec::new();
    for (i, part) in body.chunks(chunk).enumerate() {
        let start = i * chunk + 1;
        let end = start + part.len() - 1;
        let tid = ident(12);
        let req = SendRequest {
            tid: &tid,
            to_path: &p.answer.path,
            from_path: &p.local_path,
            message_id: &mid,
            range: (&start.to_string(), &end.to_string(), &total.to_string()),
            content_type: Some("message/cpim"),
            body: part,
            flag: if end == total { '$' } else { '+' },
        }
        .bytes();
        p.conn().write(&req);
        tids.push(tid);
    }
    for tid in tids {
        assert_eq!(p.response_to(&tid).status, Some(200), "chunk {tid}");
    }
}

/// 64,000 printable bytes, different on every line of 64, with a recognisable end.
fn big_text() -> Vec<u8> {
    let mut text = Vec::with_capacity(64_000);
    let mut n = 0u32;
    while text.len() < 64_000 - 16 {
        text.extend_from_slice(format!("[{n:05}]abcdefghijklmnopqrstuvwxyz ").as_bytes());
        n += 1;
    }
    text.truncate(64_000 - 16);
    text.extend_from_slice(b" END-OF-THE-BIG!");
    text
}

// Issue 14: a terminal that takes no output (Ctrl-S, a slow link) while a 64 KB message
// arrives. parlor-chat must stay alive and keep serving the session — a line typed meanwhile
// still reaches the room — and print the whole message once the terminal reads again.
// `nonblocking`: the terminal's shared open file description is made non-blocking first (as
// another program on the terminal, or the client itself before the fix, would), so writes
// fail with EAGAIN instead of blocking.
fn stopped_terminal_survives_a_64_kb_message(nonblocking: bool) {
    let server = Server::start(&[]);
    let mut alice = Participant::join_and_bind(server.sip, Transport::Tcp, "alice");
    let mut term = chat_on_terminal(&server, nonblocking);
    if nonblocking {
        term.make_shared_description_nonblocking();
    }

    // From here the test reads nothing from the terminal until the end.
    let big = big_text();
    say_in_chunks(&mut alice, &big, 8 * 1024);
    let (tid, _, _) = alice.say(b"after the big one");
    assert_eq!(alice.response_to(&tid).status, Some(200));
    // Time enough for parlor-chat to fill the terminal's buffer (about 18 KB on Linux).
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        term.child.try_wait().expect("try_wait").is_none(),
        "parlor-chat died while its terminal took no output: {:?}",
        term.child.try_wait()
    );
    // Input still works while output is stuck: the line reaches the room.
    term.type_bytes(b"typed while stopped\n");
    let got = alice
        .next_message(STEP)
        .expect("the typed line reaches alice while the terminal is stopped");
    assert!(
        got.ends_with(b"typed while stopped"),
        "{}",
        String::from_utf8_lossy(&got)
    );

    // The terminal reads again: everything arrives, in order, nothing lost.
    let shown = term.read_until("after the big one", Duration::from_secs(20));
    let want = format!(
        "<sip:alice@example.com> {}\n",
        String::from_utf8_lossy(&big)
    );
    assert!(
        shown.contains(&want),
        "the 64 KB message is not on the terminal whole; read {} bytes ending {:?}",
        shown.len(),
        shown.get(shown.len().saturating_sub(200)..)
    );
    assert!(!shown.contains("not shown"), "nothing was dropped");

    // Still in the room, still reading the terminal.
    term.type_bytes(b"still here\n");
    let got = alice.next_message(STEP).expect("a line typed afterwards");
    assert!(
        got.ends_with(b"still here"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    term.type_bytes(b"\x04"); // ^D: end of input = /quit
    let status = common::wait_bounded(&mut term.child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn a_stopped_terminal_survives_a_64_kb_message() {
    stopped_terminal_survives_a_64_kb_message(false);
}

#[test]
fn a_stopped_non_blocking_terminal_survives_a_64_kb_message() {
    stopped_terminal_survives_a_64_kb_message(true);
}

/// What a peer sends and what must appear on the terminal instead.
const HOSTILE: &[(&[u8], &str)] = &[
    // ESC sequences: clear screen, retitle the window (OSC ended by BEL).
    (
        b"clear\x1b[2J\x1b[H title\x1b]0;owned\x07 done",
        "<sip:alice@example.com> clear\u{241b}[2J\u{241b}[H title\u{241b}]0;owned\u{2407} done\n",
    ),
    // A carriage return that would move the cursor and overwrite the sender.
    (
        b"\r<sip:root@localhost> hi",
        "<sip:alice@example.com> \u{240d}<sip:root@localhost> hi\n",
    ),
    // A newline that would start a line of its own: continuation lines are indented.
    (
        b"first\n<sip:root@localhost> second\r\n<sip:root@localhost> third",
        "<sip:alice@example.com> first\n    <sip:root@localhost> second\n    <sip:root@localhost> third\n",
    ),
    // C1 CSI (U+009B in UTF-8), a raw 0x9B byte (not UTF-8), DEL, NUL.
    (
        b"c1 \xc2\x9b31m raw \x9b31m del \x7f nul \x00.",
        "<sip:alice@example.com> c1 <U+009B>31m raw \u{fffd}31m del \u{2421} nul \u{2400}.\n",
    ),
    // Bidi override and isolates (Trojan Source), and a tab.
    (
        "bidi \u{202e}exe.txt\u{202c} \u{2066}iso\u{2069}\tend".as_bytes(),
        "<sip:alice@example.com> bidi <U+202E>exe.txt<U+202C> <U+2066>iso<U+2069>    end\n",
    ),
];

// Issue 14: a peer's control characters reach the terminal only inertly: no ESC, CR, BEL,
// DEL, C1 or bidi control is written raw, each is shown as a visible stand-in, and no line a
// peer controls starts at column 0.
#[test]
fn a_peers_control_characters_are_shown_inertly() {
    let server = Server::start(&[]);
    let mut alice = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut term = chat_on_terminal(&server, false);
    let start = term.output.len();
    for (text, _) in HOSTILE {
        let (tid, _, _) = alice.say(text);
        assert_eq!(alice.response_to(&tid).status, Some(200));
    }
    let (tid, _, _) = alice.say(b"that was all");
    assert_eq!(alice.response_to(&tid).status, Some(200));
    term.read_until("<sip:alice@example.com> that was all\n", STEP);

    let out = &term.output[start..];
    let text = std::str::from_utf8(out).expect("parlor-chat writes UTF-8 only");
    let raw: Vec<(usize, char)> = text
        .char_indices()
        .filter(|&(_, c)| {
            (c.is_control() && c != '\n')
                || matches!(
                    c,
                    '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
                )
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .collect();
    assert!(raw.is_empty(), "raw control characters {raw:?} in {text:?}");
    for (sent, shown) in HOSTILE {
        assert!(
            text.contains(shown),
            "{:?} should show as {shown:?}; the terminal got {text:?}",
            String::from_utf8_lossy(sent)
        );
    }
    for line in text.lines() {
        assert!(
            !line.starts_with("<sip:root"),
            "a peer started a line of its own: {line:?}"
        );
    }

    term.type_bytes(b"\x04");
    let status = common::wait_bounded(&mut term.child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status:?}");
}
