//! A room member whose SDP offer a test chooses (RFC 7701 §8 `a=chatroom`, RFC 4975 §8.6
//! `a=accept-wrapped-types` and `a=max-size`), in any room, with re-INVITE, plus raw MSRP
//! helpers: SENDs with extra headers, responses, and collecting what arrives on a connection.
//! Included with `#[path = "common/member.rs"] mod member;` next to `mod common;`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::msrp::{MsrpConn, MsrpMessage};
use crate::common::participant::Answer;
use crate::common::sip::{tag_of, uri_of, SipClient, SipMessage};
use crate::common::{crlf, ident, STEP};

/// What a member's SDP offer declares.
#[derive(Clone, Copy, Debug)]
pub struct Offer<'a> {
    /// `a=chatroom` tokens; `None` = no `a=chatroom` line at all.
    pub chatroom: Option<&'a str>,
    /// `a=accept-wrapped-types`; `None` = no such line.
    pub wrapped: Option<&'a str>,
    /// `a=max-size`.
    pub max_size: Option<u64>,
}

impl Offer<'_> {
    /// A chat-room aware offer accepting `text/plain` and `*`.
    pub const AWARE: Offer<'static> = Offer {
        chatroom: Some("nickname private-messages"),
        wrapped: Some("text/plain *"),
        max_size: None,
    };

    /// The SDP body for an active endpoint at `path`.
    pub fn sdp(&self, user: &str, path: &str, version: u32) -> String {
        let mut lines = vec![
            "v=0".to_string(),
            format!("o={user} 1 {version} IN IP4 127.0.0.1"),
            "s=-".to_string(),
            "c=IN IP4 127.0.0.1".to_string(),
            "t=0 0".to_string(),
            "m=message 9 TCP/MSRP *".to_string(),
            "a=accept-types:message/cpim".to_string(),
        ];
        if let Some(w) = self.wrapped {
            lines.push(format!("a=accept-wrapped-types:{w}"));
        }
        if let Some(m) = self.max_size {
            lines.push(format!("a=max-size:{m}"));
        }
        lines.push(format!("a=path:{path}"));
        lines.push("a=setup:active".to_string());
        if let Some(tokens) = self.chatroom {
            lines.push(if tokens.is_empty() {
                "a=chatroom".to_string()
            } else {
                format!("a=chatroom:{tokens}")
            });
        }
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        crlf(&refs)
    }
}

/// A member of one room: its SIP dialog (over UDP) and its MSRP session's paths.
pub struct Member {
    /// `sip:NAME@example.com`.
    pub uri: String,
    pub name: String,
    /// The room URI it joined.
    pub room: String,
    pub sip: SipClient,
    call_id: String,
    from_tag: String,
    to_tag: String,
    remote_target: String,
    cseq: u32,
    version: u32,
    /// Its own MSRP URI (From-Path of what it sends).
    pub local_path: String,
    /// The switch's answer.
    pub answer: Answer,
}

impl Member {
    /// INVITEs `room` as `sip:NAME@example.com` with `offer`, display name `Name`; panics
    /// unless answered 200; sends the ACK.
    pub fn join(server: SocketAddr, room: &str, name: &str, offer: Offer<'_>) -> Member {
        let mut m = Member {
            uri: format!("sip:{name}@example.com"),
            name: name.to_string(),
            room: room.to_string(),
            sip: SipClient::udp(server),
            call_id: format!("{}@127.0.0.1", ident(16)),
            from_tag: ident(12),
            to_tag: String::new(),
            remote_target: room.to_string(),
            cseq: 1,
            version: 1,
            local_path: format!("msrp://127.0.0.1:9/{};tcp", ident(16)),
            answer: Answer::default(),
        };
        let ok = m.invite(offer);
        assert_eq!(ok.status(), Some(200), "INVITE answered {ok:?}");
        m.to_tag = ok.header("To").and_then(tag_of).expect("To-tag");
        m.remote_target = ok.header("Contact").map(uri_of).expect("Contact");
        m.answer = Answer::parse(&ok.body_text());
        let ack = m.request("ACK", m.cseq, None);
        m.sip.send(ack.as_bytes());
        m
    }

    /// A re-INVITE with a new offer; returns the final response (ACKed when 200).
    pub fn reinvite(&mut self, offer: Offer<'_>) -> SipMessage {
        self.cseq += 1;
        self.version += 1;
        let ok = self.invite(offer);
        if ok.status() == Some(200) {
            let ack = self.request("ACK", self.cseq, None);
            self.sip.send(ack.as_bytes());
        }
        ok
    }

    /// BYE; returns the final response.
    pub fn bye(&mut self) -> SipMessage {
        self.cseq += 1;
        let msg = self.request("BYE", self.cseq, None);
        self.sip.send(msg.as_bytes());
        self.sip.final_response("BYE")
    }

    fn invite(&mut self, offer: Offer<'_>) -> SipMessage {
        let sdp = offer.sdp(&self.name, &self.local_path, self.version);
        let msg = self.request("INVITE", self.cseq, Some(&sdp));
        self.sip.send(msg.as_bytes());
        self.sip.final_response("INVITE")
    }

    fn request(&self, method: &str, cseq: u32, sdp: Option<&str>) -> String {
        let to_tag = if self.to_tag.is_empty() {
            String::new()
        } else {
            format!(";tag={}", self.to_tag)
        };
        let body = sdp.unwrap_or("");
        let mut lines = vec![
            format!("{method} {} SIP/2.0", self.remote_target),
            format!(
                "Via: SIP/2.0/UDP {};branch=z9hG4bK{};rport",
                self.sip.local,
                ident(12)
            ),
            "Max-Forwards: 70".to_string(),
            format!(
                "From: \"{}\" <{}>;tag={}",
                capitalized(&self.name),
                self.uri,
                self.from_tag
            ),
            format!("To: <{}>{to_tag}", self.room),
            format!("Call-ID: {}", self.call_id),
            format!("CSeq: {cseq} {method}"),
            format!(
                "Contact: <sip:{}@{};transport=udp>",
                self.name, self.sip.local
            ),
        ];
        if sdp.is_some() {
            lines.push("Content-Type: application/sdp".to_string());
        }
        lines.push(format!("Content-Length: {}", body.len()));
        lines.push(String::new());
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let mut msg = crlf(&refs);
        msg.push_str(body);
        msg
    }

    /// Binds this member's session on `conn` (a new or shared connection); asserts 200.
    pub fn bind_on(&self, conn: &mut MsrpConn) {
        let tid = ident(12);
        let req = send_bytes(&SendSpec {
            tid: &tid,
            range: "1-0/0",
            content_type: None,
            ..self.spec(&ident(10), b"")
        });
        conn.write(&req);
        let resp = response_to(conn, &tid).expect("response to the binding SEND");
        assert_eq!(resp.status, Some(200), "binding SEND answered {resp:?}");
    }

    /// Connects to the switch and binds.
    pub fn connect(&self) -> MsrpConn {
        let mut conn = MsrpConn::connect(self.answer.msrp_addr());
        self.bind_on(&mut conn);
        conn
    }

    /// A whole message in one chunk from this member (To-Path/From-Path of its session).
    pub fn spec<'a>(&'a self, mid: &'a str, body: &'a [u8]) -> SendSpec<'a> {
        SendSpec {
            tid: "",
            to_path: &self.answer.path,
            from_path: &self.local_path,
            message_id: mid,
            range: "",
            extra: &[],
            content_type: Some("message/cpim"),
            body,
            flag: '$',
        }
    }

    /// The display name its SIP From carried.
    pub fn display_name(&self) -> String {
        capitalized(&self.name)
    }
}

fn capitalized(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// A SEND's parts; `range = ""` = `1-LEN/LEN` of the body; `content_type = None` = bodiless.
#[derive(Clone, Copy)]
pub struct SendSpec<'a> {
    pub tid: &'a str,
    pub to_path: &'a str,
    pub from_path: &'a str,
    pub message_id: &'a str,
    pub range: &'a str,
    /// Extra header lines (`Success-Report: yes`), placed before Content-Type.
    pub extra: &'a [&'a str],
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
    pub flag: char,
}

/// The SEND on the wire.
pub fn send_bytes(s: &SendSpec<'_>) -> Vec<u8> {
    let range = if s.range.is_empty() {
        format!("1-{}/{}", s.body.len(), s.body.len())
    } else {
        s.range.to_string()
    };
    let mut lines = vec![
        format!("MSRP {} SEND", s.tid),
        format!("To-Path: {}", s.to_path),
        format!("From-Path: {}", s.from_path),
        format!("Message-ID: {}", s.message_id),
        format!("Byte-Range: {range}"),
    ];
    lines.extend(s.extra.iter().map(|e| e.to_string()));
    let mut out = Vec::new();
    match s.content_type {
        Some(ct) => {
            lines.push(format!("Content-Type: {ct}"));
            lines.push(String::new());
            out.extend_from_slice(lines.join("\r\n").as_bytes());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(s.body);
        }
        None => out.extend_from_slice(lines.join("\r\n").as_bytes()),
    }
    out.extend_from_slice(format!("\r\n-------{}{}\r\n", s.tid, s.flag).as_bytes());
    out
}

/// A CPIM body `From`/`To` wrapping `wrapped` content.
pub fn cpim_wrapping(from: &str, to: &str, wrapped: &str, content: &[u8]) -> Vec<u8> {
    let mut b =
        format!("From: <{from}>\r\nTo: <{to}>\r\n\r\nContent-Type: {wrapped}\r\n\r\n").into_bytes();
    b.extend_from_slice(content);
    b
}

/// The response with `tid`, skipping anything else, within `STEP`.
pub fn response_to(conn: &mut MsrpConn, tid: &str) -> Option<MsrpMessage> {
    let deadline = Instant::now() + STEP;
    for _ in 0..10_000 {
        let left = deadline.checked_duration_since(Instant::now())?;
        let msg = conn.recv(left)?;
        if msg.status.is_some() && msg.tid == tid {
            return Some(msg);
        }
    }
    None
}

/// Everything that arrives on `conn` until it stays quiet for `quiet` (at most 200 messages).
pub fn collect(conn: &mut MsrpConn, quiet: Duration) -> Vec<MsrpMessage> {
    let mut out = Vec::new();
    for _ in 0..200 {
        match conn.recv(quiet) {
            Some(m) => out.push(m),
            None => break,
        }
    }
    out
}

/// A response to `req` from the session at `own_path`.
pub fn reply(req: &MsrpMessage, code: u16, comment: &str, own_path: &str) -> Vec<u8> {
    crate::common::msrp::response(req, code, comment, own_path)
}

/// The raw text of a message's body.
pub fn text(m: &MsrpMessage) -> String {
    String::from_utf8_lossy(&m.body).to_string()
}

/// A server config file with rooms `lobby` and `side` (domain `localhost`) and `limits`
/// lines (`name = value`); written to a fresh temp file whose path is returned.
pub fn config_file(limits: &[&str]) -> std::path::PathBuf {
    let mut text = String::from("domain = \"localhost\"\nallow_adhoc = false\n");
    text.push_str("nicknames = true\nprivate_messages = true\n[limits]\n");
    for l in limits {
        text.push_str(l);
        text.push('\n');
    }
    text.push_str("[room.lobby]\n[room.side]\n");
    let path = std::env::temp_dir().join(format!("parlor-messages-{}.toml", ident(12)));
    std::fs::write(&path, text).expect("write config");
    path
}
