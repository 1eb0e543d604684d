//! Switch tests: a deterministic harness (TestEntropy, a fake clock, scripted bytes) that
//! drives `Switch` and parses everything it writes back with the MSRP framer.

mod binding;
mod chunks;
mod congestion;
mod fanout;
mod flow;
mod limits;
mod messages;
mod nickname;
mod output;
mod setup_roles;

use super::*;
use crate::conference::ChatCaps;
use crate::rand::TestEntropy;
use crate::time::Duration;
use crate::wire::msrp::vectors::{wire, MESSAGES};
use crate::wire::msrp::{ByteRange, Event, Flag, Framer, StartLine};

pub(super) const LOCAL: &str = "192.0.2.10:2855";
/// Where the harness's participants and connections come from.
pub(super) const SOURCE: &str = "192.0.2.200";
pub(super) const DOMAIN: &str = "chat.example.com";
pub(super) const ROOM: &str = "chat22";
pub(super) const ROOM_URI: &str = "sip:chat22@chat.example.com";
/// The switch path the wire examples use for Alice's session.
pub(super) const EXAMPLE_SWITCH_PATH: &str = "msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp";

pub(super) const POLICY: RoomPolicy = RoomPolicy {
    nicknames: true,
    private_messages: true,
    max_participants: 10,
};

/// A test participant: SIP URI and MSRP path of its client.
#[derive(Clone, Copy)]
pub(super) struct Who {
    pub(super) uri: &'static str,
    pub(super) peer: &'static str,
}

pub(super) const ALICE: Who = Who {
    uri: "sip:alice@atlanta.example.com",
    peer: "msrp://192.0.2.101:7654/jshA7weztas9Qp2v;tcp",
};
pub(super) const BOB: Who = Who {
    uri: "sip:bob@biloxi.example.com",
    peer: "msrp://192.0.2.102:4923/49dufdje2Wq7Lm3x;tcp",
};
pub(super) const CAROL: Who = Who {
    uri: "sip:carol@example.org",
    peer: "msrp://192.0.2.103:5000/carolSess1234567;tcp",
};
pub(super) const DAVE: Who = Who {
    uri: "sip:dave@example.net",
    peer: "msrp://192.0.2.104:5000/daveSess12345678;tcp",
};

pub(super) const ALL_CAPS: ChatCaps = ChatCaps {
    chatroom_aware: true,
    nickname: true,
    private_messages: true,
};

/// One message the switch wrote, parsed.
#[derive(Clone, Debug, Default)]
pub(super) struct Msg {
    pub(super) tid: String,
    /// `SEND`, `REPORT`, or the status code for responses.
    pub(super) start: String,
    pub(super) to_path: String,
    pub(super) from_path: String,
    pub(super) message_id: Option<String>,
    pub(super) byte_range: Option<ByteRange>,
    pub(super) content_type: Option<String>,
    pub(super) has_body: bool,
    pub(super) body: Vec<u8>,
    pub(super) flag: Option<Flag>,
    pub(super) raw: Vec<u8>,
}

impl Msg {
    pub(super) fn code(&self) -> u16 {
        self.start.parse().unwrap_or(0)
    }
}

/// Splits a byte stream into parsed messages.
pub(super) fn parse_all(bytes: &[u8]) -> Vec<Msg> {
    let mut f = Framer::new(8192, 64);
    let mut out: Vec<Msg> = Vec::new();
    let (mut pos, mut begin) = (0, 0);
    for _ in 0..(4 * bytes.len() + 8) {
        let (n, ev) = f.push(&bytes[pos..]).expect("switch output frames");
        match ev {
            None => break,
            Some(Event::Head(h)) => out.push(Msg {
                tid: h.tid.to_string(),
                start: match h.start {
                    StartLine::Request(m) => m.as_str().to_string(),
                    StartLine::Response { code, .. } => code.to_string(),
                },
                to_path: h.headers.to_path.unwrap_or("").to_string(),
                from_path: h.headers.from_path.unwrap_or("").to_string(),
                message_id: h.headers.message_id.map(str::to_string),
                byte_range: h.byte_range().unwrap(),
                content_type: h.headers.content_type.map(str::to_string),
                has_body: h.has_body,
                ..Msg::default()
            }),
            Some(Event::Body(b)) => out.last_mut().unwrap().body.extend_from_slice(b),
            Some(Event::End(flag)) => {
                let m = out.last_mut().unwrap();
                m.flag = Some(flag);
                m.raw = bytes[begin..pos + n].to_vec();
                begin = pos + n;
            }
        }
        pos += n;
    }
    assert!(f.is_idle(), "output ends at a message boundary");
    assert_eq!(begin, bytes.len());
    out
}

pub(super) fn limits() -> Limits {
    Limits {
        ring_bytes: 16 * 1024,
        ..Limits::default()
    }
}

/// The switch plus a clock and entropy.
pub(super) struct Harness {
    pub(super) sw: Switch,
    pub(super) ent: TestEntropy,
    pub(super) now: Instant,
}

impl Harness {
    pub(super) fn new() -> Self {
        Harness::with(limits(), Some(POLICY))
    }

    pub(super) fn with(limits: Limits, adhoc: Option<RoomPolicy>) -> Self {
        let sw = Switch::new(SwitchConfig {
            msrp_local: LOCAL.parse().unwrap(),
            domain: DOMAIN.to_string(),
            rooms: vec![
                (ROOM.to_string(), POLICY),
                (
                    "quiet".to_string(),
                    RoomPolicy {
                        nicknames: false,
                        private_messages: false,
                        max_participants: 2,
                    },
                ),
            ],
            adhoc,
            limits,
            reserved_nicknames: vec!["admin".to_string(), "Root".to_string()],
        });
        Harness {
            sw,
            ent: TestEntropy::new(42),
            now: Instant::from_micros(1_000_000),
        }
    }

    pub(super) fn try_join(
        &mut self,
        room: &str,
        who: Who,
        caps: ChatCaps,
    ) -> Result<Joined, JoinError> {
        let req = JoinRequest {
            room,
            uri: who.uri,
            display_name: "",
            caps,
            accept_wrapped_types: "text/plain",
            peer_path: who.peer,
            peer_max_size: None,
            switch_connects: false,
            direction: Default::default(),
            anonymous: false,
            source: SOURCE.parse().unwrap(),
        };
        self.sw.join(self.now, &mut self.ent, &req)
    }

    pub(super) fn join(&mut self, who: Who) -> Joined {
        self.try_join(ROOM, who, ALL_CAPS).unwrap()
    }

    pub(super) fn conn(&mut self) -> MsrpConnId {
        let peer = SocketAddr::new(SOURCE.parse().unwrap(), 40000);
        self.sw.conn_opened(self.now, peer).unwrap()
    }

    /// Hands `bytes` in; returns how many the switch took (fewer = input paused).
    pub(super) fn input(&mut self, c: MsrpConnId, bytes: &[u8]) -> usize {
        self.sw.conn_input(self.now, &mut self.ent, c, bytes)
    }

    /// Drains all output of `c` through `out`/`consumed` in `step`-byte writes.
    pub(super) fn drain_by(&mut self, c: MsrpConnId, step: usize) -> Vec<u8> {
        let mut all = Vec::new();
        for _ in 0..100_000 {
            let [a, b] = self.sw.out(c);
            if a.is_empty() {
                assert!(b.is_empty());
                break;
            }
            let n = step.min(a.len());
            all.extend_from_slice(&a[..n]);
            self.sw.consumed(self.now, c, n);
        }
        all
    }

    pub(super) fn drain(&mut self, c: MsrpConnId) -> Vec<u8> {
        self.drain_by(c, usize::MAX)
    }

    pub(super) fn msgs(&mut self, c: MsrpConnId) -> Vec<Msg> {
        let bytes = self.drain(c);
        parse_all(&bytes)
    }

    pub(super) fn events(&mut self) -> Vec<SwitchEvent> {
        std::iter::from_fn(|| self.sw.poll_event()).collect()
    }

    pub(super) fn advance(&mut self, ms: u64) {
        self.now = self.now + Duration::from_millis(ms);
        self.sw.handle_timeout(self.now, &mut self.ent);
    }

    /// Joins `who`, opens a connection and binds it with a bodiless SEND (checks the 200).
    pub(super) fn joined(&mut self, who: Who) -> (Joined, MsrpConnId) {
        let j = self.join(who);
        let c = self.conn();
        self.input(c, &bind_send("bind0001", &j.path, who.peer));
        let out = self.msgs(c);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].code(), 200);
        (j, c)
    }
}

/// A bodiless SEND (example 5's shape).
pub(super) fn bind_send(tid: &str, to: &str, from: &str) -> Vec<u8> {
    format!(
        "MSRP {tid} SEND\r\nTo-Path: {to}\r\nFrom-Path: {from}\r\nMessage-ID: bind{tid}\r\n\
         Byte-Range: 1-0/0\r\n-------{tid}$\r\n"
    )
    .into_bytes()
}

/// A CPIM body in the RFC 3862 layout.
pub(super) fn cpim(from: &str, to: &str, text: &str) -> Vec<u8> {
    format!("From: <{from}>\r\nTo: <{to}>\r\n\r\nContent-Type: text/plain\r\n\r\n{text}")
        .into_bytes()
}

/// A SEND chunk with a body.
#[allow(clippy::too_many_arguments)]
pub(super) fn send(
    tid: &str,
    to: &str,
    from: &str,
    mid: &str,
    range: &str,
    extra: &str,
    content_type: &str,
    body: &[u8],
    flag: char,
) -> Vec<u8> {
    let mut v = format!(
        "MSRP {tid} SEND\r\nTo-Path: {to}\r\nFrom-Path: {from}\r\nMessage-ID: {mid}\r\n\
         Byte-Range: {range}\r\n{extra}Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    v.extend_from_slice(body);
    v.extend_from_slice(format!("\r\n-------{tid}{flag}\r\n").as_bytes());
    v
}

/// A whole CPIM message in one chunk.
pub(super) fn chat(tid: &str, j: &Joined, who: Who, to: &str, text: &str) -> Vec<u8> {
    let body = cpim(who.uri, to, text);
    let range = format!("1-{}/{}", body.len(), body.len());
    send(
        tid,
        &j.path,
        who.peer,
        &format!("m{tid}"),
        &range,
        "",
        "message/cpim",
        &body,
        '$',
    )
}

/// Example message `(ex, idx)` with the example switch path replaced by `path`.
pub(super) fn example(ex: u8, idx: u8, path: &str) -> Vec<u8> {
    let text = MESSAGES
        .iter()
        .find(|m| m.0 == ex && m.1 == idx)
        .map(|m| m.3)
        .unwrap();
    wire(&text.replace(EXAMPLE_SWITCH_PATH, path))
}

/// A wire-example copy with the switch's `Failure-Report` header added after Byte-Range
/// (copies use `partial`, see `fanout::COPY_FAILURE_REPORT`).
pub(super) fn with_copy_report(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    for line in text.split_inclusive('\n') {
        out.push_str(line);
        if line.starts_with("Byte-Range:") {
            out.push_str("Failure-Report: ");
            out.push_str(super::fanout::COPY_FAILURE_REPORT);
            out.push('\n');
        }
    }
    out
}

/// The body of a wire message.
pub(super) fn body_of(bytes: &[u8]) -> Vec<u8> {
    parse_all(bytes).remove(0).body
}
