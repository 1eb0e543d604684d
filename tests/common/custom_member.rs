//! A room member whose offer carries extra SDP attributes (RFC 4566 §6 direction attributes,
//! session or media level) and whose INVITE carries extra SIP headers (RFC 3323 `Privacy`),
//! with its own From URI; re-INVITEs with other attributes; raw CPIM SENDs with any From,
//! answering the switch's SENDs (notices, copies) while waiting. Used by tests/directions.rs
//! and tests/anonymity.rs via `#[path = "common/custom_member.rs"] mod custom_member;`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::msrp::{bodiless_send, cpim_body, response, MsrpConn, MsrpMessage, SendRequest};
use crate::common::participant::Answer;
use crate::common::sip::{tag_of, uri_of, SipClient, SipMessage};
use crate::common::{crlf, ident, ROOM, STEP};

/// What a custom offer adds to the usual chat-room aware one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Extras<'a> {
    /// Attribute lines (`a=recvonly`) before the m-line.
    pub session: &'a [&'a str],
    /// Attribute lines after the MSRP m-line's usual attributes.
    pub media: &'a [&'a str],
    /// SIP header lines of the INVITE (`Privacy: id`).
    pub headers: &'a [&'a str],
}

/// The SIP side of a member: its dialog with the focus.
pub struct SipSide {
    /// Its SIP From URI.
    pub from_uri: String,
    pub sip: SipClient,
    call_id: String,
    from_tag: String,
    to_tag: String,
    target: String,
    cseq: u32,
    local_path: String,
}

/// A joined, bound member.
pub struct CustomMember {
    pub side: SipSide,
    pub local_path: String,
    pub answer: Answer,
    pub conn: MsrpConn,
    /// SENDs that arrived while waiting for something else (already answered 200).
    pub inbox: Vec<MsrpMessage>,
}

fn sdp(user: &str, path: &str, version: u32, extras: &Extras<'_>) -> String {
    let mut lines = vec![
        "v=0".to_string(),
        format!("o={user} 1 {version} IN IP4 127.0.0.1"),
        "s=-".to_string(),
        "c=IN IP4 127.0.0.1".to_string(),
        "t=0 0".to_string(),
    ];
    lines.extend(extras.session.iter().map(|s| s.to_string()));
    lines.extend([
        "m=message 9 TCP/MSRP *".to_string(),
        "a=accept-types:message/cpim".to_string(),
        "a=accept-wrapped-types:text/plain *".to_string(),
        format!("a=path:{path}"),
        "a=setup:active".to_string(),
        "a=chatroom:nickname private-messages".to_string(),
    ]);
    lines.extend(extras.media.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    crlf(&refs)
}

impl CustomMember {
    /// INVITEs `ROOM` (UDP) from `from_uri` with `extras`, ACKs, connects and binds.
    /// Panics unless the INVITE gets 200 and the binding SEND 200.
    pub fn join(server: SocketAddr, from_uri: &str, extras: Extras<'_>) -> CustomMember {
        let local_path = format!("msrp://127.0.0.1:9/{};tcp", ident(16));
        let mut side = SipSide {
            from_uri: from_uri.to_string(),
            sip: SipClient::udp(server),
            call_id: format!("{}@127.0.0.1", ident(16)),
            from_tag: ident(12),
            to_tag: String::new(),
            target: ROOM.to_string(),
            cseq: 1,
            local_path: local_path.clone(),
        };
        let ok = side.invite(&extras);
        assert_eq!(ok.status(), Some(200), "INVITE answered {}", ok.start);
        side.to_tag = ok.header("To").and_then(tag_of).expect("To-tag");
        side.target = ok.header("Contact").map(uri_of).expect("Contact");
        side.ack();
        let answer = Answer::parse(&ok.body_text());
        let conn = MsrpConn::connect(answer.msrp_addr());
        let mut m = CustomMember {
            side,
            local_path,
            answer,
            conn,
            inbox: Vec::new(),
        };
        let tid = ident(12);
        let bind = bodiless_send(&tid, &m.answer.path, &m.local_path);
        m.conn.write(&bind);
        assert_eq!(m.status_of(&tid), Some(200), "binding SEND");
        m
    }

    /// A re-INVITE with new extras (headers ignored); returns the final response (ACKed
    /// when 200).
    pub fn reinvite(&mut self, extras: Extras<'_>) -> SipMessage {
        self.side.cseq += 1;
        let ok = self.side.invite(&extras);
        if ok.status() == Some(200) {
            self.answer = Answer::parse(&ok.body_text());
            self.side.ack();
        }
        ok
    }
}

impl SipSide {
    fn invite(&mut self, extras: &Extras<'_>) -> SipMessage {
        let body = sdp("member", &self.local_path, self.cseq, extras);
        let to_tag = if self.to_tag.is_empty() {
            String::new()
        } else {
            format!(";tag={}", self.to_tag)
        };
        let mut lines = vec![
            format!("INVITE {} SIP/2.0", self.target),
            format!(
                "Via: SIP/2.0/UDP {};branch=z9hG4bK{};rport",
                self.sip.local,
                ident(12)
            ),
            "Max-Forwards: 70".to_string(),
            format!("From: \"Member\" <{}>;tag={}", self.from_uri, self.from_tag),
            format!("To: <{ROOM}>{to_tag}"),
            format!("Call-ID: {}", self.call_id),
            format!("CSeq: {} INVITE", self.cseq),
            format!("Contact: <sip:member@{};transport=udp>", self.sip.local),
        ];
        if self.to_tag.is_empty() {
            lines.extend(extras.headers.iter().map(|h| h.to_string()));
        }
        lines.push("Content-Type: application/sdp".to_string());
        lines.push(format!("Content-Length: {}", body.len()));
        lines.push(String::new());
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let mut msg = crlf(&refs);
        msg.push_str(&body);
        self.sip.send(msg.as_bytes());
        self.sip.final_response("INVITE")
    }

    fn ack(&mut self) {
        let ack = crlf(&[
            &format!("ACK {} SIP/2.0", self.target),
            &format!(
                "Via: SIP/2.0/UDP {};branch=z9hG4bK{};rport",
                self.sip.local,
                ident(12)
            ),
            "Max-Forwards: 70",
            &format!("From: \"Member\" <{}>;tag={}", self.from_uri, self.from_tag),
            &format!("To: <{ROOM}>;tag={}", self.to_tag),
            &format!("Call-ID: {}", self.call_id),
            &format!("CSeq: {} ACK", self.cseq),
            "Content-Length: 0",
            "",
        ]);
        self.sip.send(ack.as_bytes());
    }
}

impl CustomMember {
    /// Sends a whole CPIM message `From: <from>`, `To: <to>` wrapping `text/plain` `text`;
    /// returns the status of its response (`None` if none came within `STEP`).
    pub fn send_cpim(&mut self, from: &str, to: &str, text: &[u8]) -> Option<u16> {
        let tid = ident(12);
        let body = cpim_body(from, to, text);
        let req = SendRequest {
            tid: &tid,
            to_path: &self.answer.path,
            from_path: &self.local_path,
            message_id: &ident(12),
            range: ("1", &body.len().to_string(), &body.len().to_string()),
            content_type: Some("message/cpim"),
            body: &body,
            flag: '$',
        }
        .bytes();
        self.conn.write(&req);
        self.status_of(&tid)
    }

    /// The status of the response with `tid`; SENDs arriving meanwhile are answered 200 and
    /// kept in `inbox`.
    pub fn status_of(&mut self, tid: &str) -> Option<u16> {
        let deadline = Instant::now() + STEP;
        for _ in 0..1_000 {
            let left = deadline.checked_duration_since(Instant::now())?;
            let msg = self.conn.recv(left)?;
            if msg.status.is_some() && msg.tid == tid {
                return msg.status;
            }
            self.keep(msg);
        }
        None
    }

    fn keep(&mut self, msg: MsrpMessage) {
        if msg.is_send() {
            let resp = response(&msg, 200, "OK", &self.answer.path);
            self.conn.write(&resp);
            self.inbox.push(msg);
        }
    }

    /// The next SEND (from `inbox` first, else the connection within `within`), answered.
    pub fn next_send(&mut self, within: Duration) -> Option<MsrpMessage> {
        if !self.inbox.is_empty() {
            return Some(self.inbox.remove(0));
        }
        let deadline = Instant::now() + within;
        for _ in 0..1_000 {
            let left = deadline.checked_duration_since(Instant::now())?;
            let msg = self.conn.recv(left)?;
            if msg.is_send() {
                let resp = response(&msg, 200, "OK", &self.answer.path);
                self.conn.write(&resp);
                return Some(msg);
            }
        }
        None
    }

    /// Every SEND that arrives until the connection stays quiet for `quiet` (at most 100).
    pub fn sends_until_quiet(&mut self, quiet: Duration) -> Vec<MsrpMessage> {
        let mut out: Vec<MsrpMessage> = self.inbox.drain(..).collect();
        for _ in 0..100 {
            match self.next_send(quiet) {
                Some(m) => out.push(m),
                None => break,
            }
        }
        out
    }
}
