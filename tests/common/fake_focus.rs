//! A scripted stand-in for the room's focus and switch, for tests of the client side of
//! RFC 3261 (INVITE/200/ACK, BYE in either direction, over UDP) and RFC 4975 (the client's
//! binding SEND, our SENDs to it): the test decides what is sent and when — a message of
//! any content type, the MSRP connection closed before or after a BYE, a BYE with a
//! Reason header (RFC 3326) — which the real server would not do on cue. Used by
//! tests/chat_client.rs via `#[path = "common/fake_focus.rs"] mod fake_focus;`.
#![allow(dead_code)]

use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use crate::common::msrp::{self, MsrpConn, SendRequest};
use crate::common::sip::{uri_of, SipMessage};
use crate::common::{crlf, ident, STEP};

/// The focus's end of one client's dialog and MSRP session.
pub struct FakeFocus {
    sip: UdpSocket,
    /// Where the client sends SIP.
    pub addr: SocketAddr,
    listener: TcpListener,
    /// Our MSRP URI (the answer's `a=path`).
    pub path: String,
    pub msrp: Option<MsrpConn>,
    /// The client's SIP address, once it sent something.
    client: Option<SocketAddr>,
    /// The client's INVITE.
    pub invite: Option<SipMessage>,
    to_tag: String,
    cseq: u32,
}

impl FakeFocus {
    /// Listens for SIP over UDP and for MSRP on ephemeral ports of `ip` (loopback).
    pub fn bind(ip: IpAddr) -> FakeFocus {
        let sip = UdpSocket::bind(SocketAddr::new(ip, 0)).expect("bind fake SIP");
        let addr = sip.local_addr().expect("SIP address");
        let listener = TcpListener::bind(SocketAddr::new(ip, 0)).expect("bind fake MSRP");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let msrp_addr = listener.local_addr().expect("MSRP address");
        FakeFocus {
            sip,
            addr,
            listener,
            path: format!("msrp://{msrp_addr}/{};tcp", ident(12)),
            msrp: None,
            client: None,
            invite: None,
            to_tag: ident(10),
            cseq: 0,
        }
    }

    /// The next SIP message from the client within `timeout`.
    pub fn recv_sip(&mut self, timeout: Duration) -> Option<SipMessage> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 65_536];
        for _ in 0..1_000 {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.sip
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok()?;
            match self.sip.recv_from(&mut buf) {
                Ok((n, from)) => {
                    self.client = Some(from);
                    if let Some(msg) = SipMessage::parse(&buf[..n]) {
                        return Some(msg);
                    }
                }
                Err(_) => return None,
            }
        }
        None
    }

    /// The next SIP request with `method` within `timeout`, skipping anything else (e.g.
    /// INVITE retransmissions).
    pub fn recv_request(&mut self, method: &str, timeout: Duration) -> Option<SipMessage> {
        let deadline = Instant::now() + timeout;
        for _ in 0..100 {
            let left = deadline.checked_duration_since(Instant::now())?;
            let msg = self.recv_sip(left)?;
            if msg.method() == Some(method) {
                return Some(msg);
            }
        }
        None
    }

    fn send_sip(&mut self, bytes: &[u8]) {
        let to = self.client.expect("the client's address");
        self.sip.send_to(bytes, to).expect("send SIP");
    }

    /// Answers `req` with `code reason` (RFC 3261 §8.2.6: Via, From, To with our tag,
    /// Call-ID and CSeq copied), with a Contact and `body` as SDP when given.
    pub fn respond(&mut self, req: &SipMessage, code: u16, reason: &str, sdp: Option<&str>) {
        self.respond_with(req, code, reason, &[], sdp);
    }

    /// Like [`FakeFocus::respond`], with `extra` header lines (Warning, Retry-After, …).
    pub fn respond_with(
        &mut self,
        req: &SipMessage,
        code: u16,
        reason: &str,
        extra: &[&str],
        sdp: Option<&str>,
    ) {
        let mut lines = vec![format!("SIP/2.0 {code} {reason}")];
        for (name, value) in &req.headers {
            let n = name.to_ascii_lowercase();
            if matches!(n.as_str(), "via" | "from" | "call-id" | "cseq") {
                lines.push(format!("{name}: {value}"));
            } else if n == "to" {
                if value.contains(";tag=") {
                    lines.push(format!("To: {value}"));
                } else {
                    lines.push(format!("To: {value};tag={}", self.to_tag));
                }
            }
        }
        lines.extend(extra.iter().map(|l| l.to_string()));
        if let Some(sdp) = sdp {
            lines.push(format!("Contact: <sip:lobby@{};isfocus>", self.addr));
            lines.push("Content-Type: application/sdp".to_string());
            lines.push(format!("Content-Length: {}", sdp.len()));
        } else {
            lines.push("Content-Length: 0".to_string());
        }
        lines.push(String::new());
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let mut msg = crlf(&refs);
        msg.push_str(sdp.unwrap_or_default());
        self.send_sip(msg.as_bytes());
    }

    /// Takes the client's INVITE, answers 200 with an SDP answer naming our MSRP path, and
    /// waits for the ACK.
    pub fn answer_invite(&mut self) {
        let invite = self
            .recv_request("INVITE", STEP)
            .expect("the client's INVITE");
        let ip = self.addr.ip();
        let family = if ip.is_ipv6() { "IP6" } else { "IP4" };
        let sdp = crlf(&[
            "v=0",
            &format!("o=focus 1 1 IN {family} {ip}"),
            "s=-",
            &format!("c=IN {family} {ip}"),
            "t=0 0",
            "m=message 9 TCP/MSRP *",
            "a=accept-types:message/cpim",
            "a=accept-wrapped-types:*",
            &format!("a=path:{}", self.path),
            "a=setup:passive",
            "a=chatroom:nickname private-messages",
        ]);
        self.respond(&invite, 200, "OK", Some(&sdp));
        self.invite = Some(invite);
        self.recv_request("ACK", STEP).expect("the client's ACK");
    }

    /// Accepts the client's MSRP connection and answers its binding SEND with 200.
    pub fn accept_msrp(&mut self) {
        let deadline = Instant::now() + STEP;
        let stream = loop {
            match self.listener.accept() {
                Ok((stream, _)) => break stream,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("the client did not connect MSRP: {e}"),
            }
        };
        stream.set_nonblocking(false).expect("blocking stream");
        let mut conn = MsrpConn::from_stream(stream);
        let bind = conn.recv(STEP).expect("the binding SEND");
        assert!(bind.is_send(), "{bind:?}");
        conn.write(&msrp::response(&bind, 200, "OK", &self.path));
        self.msrp = Some(conn);
    }

    /// The client's MSRP URI (its From-Path).
    pub fn client_path(&self) -> String {
        let invite = self.invite.as_ref().expect("INVITE taken");
        invite
            .body_text()
            .lines()
            .find_map(|l| l.strip_prefix("a=path:"))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Sends the client one complete SEND with a Message/CPIM `body`; returns the status
    /// the client answered with.
    pub fn send_cpim(&mut self, body: &[u8]) -> Option<u16> {
        let tid = ident(12);
        let len = body.len().to_string();
        let to_path = self.client_path();
        let req = SendRequest {
            tid: &tid,
            to_path: &to_path,
            from_path: &self.path,
            message_id: &ident(12),
            range: ("1", &len, &len),
            content_type: Some("message/cpim"),
            body,
            flag: '$',
        }
        .bytes();
        let conn = self.msrp.as_mut().expect("MSRP accepted");
        conn.write(&req);
        for _ in 0..100 {
            let msg = conn.recv(STEP)?;
            if msg.tid == tid && msg.status.is_some() {
                return msg.status;
            }
        }
        None
    }

    /// Closes the MSRP connection (both directions).
    pub fn close_msrp(&mut self) {
        if let Some(conn) = self.msrp.take() {
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
    }

    /// Sends BYE in the client's dialog with extra header lines (e.g. a Reason).
    pub fn send_bye(&mut self, extra: &[&str]) {
        let invite = self.invite.clone().expect("INVITE taken");
        let contact = invite.header("Contact").map(uri_of).expect("Contact");
        let from = invite.header("From").expect("From");
        let to = invite.header("To").expect("To");
        self.cseq += 1;
        let mut lines = vec![
            format!("BYE {contact} SIP/2.0"),
            format!("Via: SIP/2.0/UDP {};branch=z9hG4bK{}", self.addr, ident(12)),
            "Max-Forwards: 70".to_string(),
            format!("From: {to};tag={}", self.to_tag),
            format!("To: {from}"),
            format!("Call-ID: {}", invite.header("Call-ID").expect("Call-ID")),
            format!("CSeq: {} BYE", self.cseq),
        ];
        lines.extend(extra.iter().map(|l| l.to_string()));
        lines.push("Content-Length: 0".to_string());
        lines.push(String::new());
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        self.send_sip(crlf(&refs).as_bytes());
    }

    /// The client's final response to our BYE within `timeout`.
    pub fn bye_answer(&mut self, timeout: Duration) -> Option<SipMessage> {
        let deadline = Instant::now() + timeout;
        for _ in 0..100 {
            let left = deadline.checked_duration_since(Instant::now())?;
            let msg = self.recv_sip(left)?;
            if msg.status().is_some() && msg.cseq_method() == Some("BYE") {
                return Some(msg);
            }
        }
        None
    }
}
