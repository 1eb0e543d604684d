//! One test participant: a SIP dialog with the focus (INVITE/ACK/BYE, RFC 3261 §13, §15)
//! carrying an MSRP SDP offer (RFC 4975 §8, RFC 7701 §8), and its MSRP session.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::msrp::{self, MsrpConn, MsrpMessage};
use super::sip::{tag_of, uri_of, SipClient, SipMessage};
use super::{crlf, ident, ROOM, STEP};

/// SIP transport of a participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// The SDP answer's parts a test checks.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    pub text: String,
    /// The `a=path` value (the switch's MSRP URI for this session).
    pub path: String,
}

impl Answer {
    pub fn parse(body: &str) -> Answer {
        let path = body
            .lines()
            .find_map(|l| l.strip_prefix("a=path:"))
            .unwrap_or_default()
            .trim()
            .to_string();
        Answer {
            text: body.to_string(),
            path,
        }
    }

    /// `host:port` of the rightmost path URI.
    pub fn msrp_addr(&self) -> SocketAddr {
        let uri = self.path.split_whitespace().last().expect("a=path URI");
        let rest = uri.strip_prefix("msrp://").expect("msrp:// URI");
        let authority = rest.split('/').next().expect("authority");
        authority.parse().expect("numeric host:port in a=path")
    }

    /// The session-id of the rightmost path URI.
    pub fn session_id(&self) -> String {
        let uri = self.path.split_whitespace().last().unwrap_or_default();
        let after = uri.strip_prefix("msrp://").unwrap_or_default();
        let path = after.split_once('/').map(|(_, p)| p).unwrap_or_default();
        path.split(';').next().unwrap_or_default().to_string()
    }
}

/// SDP offer for an active MSRP endpoint whose path is `local_path`.
pub fn sdp_offer(user: &str, local_path: &str, setup: &str, chatroom: Option<&str>) -> String {
    let mut lines = vec![
        "v=0".to_string(),
        format!("o={user} 1 1 IN IP4 127.0.0.1"),
        "s=-".to_string(),
        "c=IN IP4 127.0.0.1".to_string(),
        "t=0 0".to_string(),
        "m=message 9 TCP/MSRP *".to_string(),
        "a=accept-types:message/cpim".to_string(),
        "a=accept-wrapped-types:text/plain".to_string(),
        format!("a=path:{local_path}"),
        format!("a=setup:{setup}"),
    ];
    if let Some(tokens) = chatroom {
        lines.push(format!("a=chatroom:{tokens}"));
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    crlf(&refs)
}

/// A joined participant.
pub struct Participant {
    /// `sip:NAME@example.com`.
    pub uri: String,
    pub sip: SipClient,
    call_id: String,
    from_tag: String,
    to_tag: String,
    /// Request-URI for in-dialog requests: the focus's Contact.
    remote_target: String,
    cseq: u32,
    /// This participant's MSRP URI (in its offer).
    pub local_path: String,
    pub answer: Answer,
    /// The 200 to the INVITE.
    pub ok: SipMessage,
    pub msrp: Option<MsrpConn>,
}

impl Participant {
    /// INVITE `ROOM` as `sip:NAME@example.com`; panics unless the final answer is 200.
    /// Sends the ACK.
    pub fn join(server: SocketAddr, transport: Transport, name: &str) -> Participant {
        let mut sip = match transport {
            Transport::Udp => SipClient::udp(server),
            Transport::Tcp => SipClient::tcp(server),
        };
        let uri = format!("sip:{name}@example.com");
        let local_path = format!("msrp://127.0.0.1:9/{};tcp", ident(16));
        let call_id = format!("{}@127.0.0.1", ident(16));
        let from_tag = ident(12);
        let sdp = sdp_offer(
            name,
            &local_path,
            "active",
            Some("nickname private-messages"),
        );
        let invite = invite(&sip, &uri, &call_id, &from_tag, &sdp);
        sip.send(invite.as_bytes());
        let ok = sip.final_response("INVITE");
        assert_eq!(
            ok.status(),
            Some(200),
            "INVITE answered:\n{}",
            String::from_utf8_lossy(&ok.raw)
        );
        let to_tag = ok.header("To").and_then(tag_of).expect("To-tag in 200");
        let remote_target = ok.header("Contact").map(uri_of).expect("Contact in 200");
        let answer = Answer::parse(&ok.body_text());
        let mut p = Participant {
            uri,
            sip,
            call_id,
            from_tag,
            to_tag,
            remote_target,
            cseq: 1,
            local_path,
            answer,
            ok,
            msrp: None,
        };
        p.ack();
        p
    }

    /// Joins and binds its MSRP session.
    pub fn join_and_bind(server: SocketAddr, transport: Transport, name: &str) -> Participant {
        let mut p = Participant::join(server, transport, name);
        p.bind();
        p
    }

    fn ack(&mut self) {
        let msg = self.in_dialog("ACK", self.cseq);
        self.sip.send(msg.as_bytes());
    }

    /// Connects to the answer's MSRP path and binds with a bodiless SEND; asserts 200.
    pub fn bind(&mut self) {
        let mut conn = MsrpConn::connect(self.answer.msrp_addr());
        let tid = ident(12);
        let req = msrp::bodiless_send(&tid, &self.answer.path, &self.local_path);
        conn.write(&req);
        let resp = conn.recv(STEP).expect("response to the binding SEND");
        assert_eq!(resp.tid, tid);
        assert_eq!(resp.status, Some(200), "binding SEND answered {resp:?}");
        self.msrp = Some(conn);
    }

    pub fn conn(&mut self) -> &mut MsrpConn {
        self.msrp.as_mut().expect("MSRP bound")
    }

    /// Sends a whole CPIM message to `to` (the room by default); returns (tid, message-id,
    /// CPIM body).
    pub fn send_cpim_to(&mut self, to: &str, text: &[u8]) -> (String, String, Vec<u8>) {
        let body = msrp::cpim_body(&self.uri, to, text);
        let (tid, mid) = self.send_body("message/cpim", &body);
        (tid, mid, body)
    }

    /// Sends a whole CPIM message to the room.
    pub fn say(&mut self, text: &[u8]) -> (String, String, Vec<u8>) {
        self.send_cpim_to(ROOM, text)
    }

    /// Sends one complete SEND with `content_type` and `body`; returns (tid, message-id).
    pub fn send_body(&mut self, content_type: &str, body: &[u8]) -> (String, String) {
        let tid = ident(12);
        let mid = ident(12);
        let len = body.len().to_string();
        let req = msrp::SendRequest {
            tid: &tid,
            to_path: &self.answer.path,
            from_path: &self.local_path,
            message_id: &mid,
            range: ("1", &len, &len),
            content_type: Some(content_type),
            body,
            flag: '$',
        }
        .bytes();
        self.conn().write(&req);
        (tid, mid)
    }

    /// The response with transaction id `tid`, answering any SEND that arrives first.
    pub fn response_to(&mut self, tid: &str) -> MsrpMessage {
        let deadline = Instant::now() + STEP;
        for _ in 0..10_000 {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_default();
            let msg = self
                .conn()
                .recv(left)
                .unwrap_or_else(|| panic!("no MSRP response to {tid} within {STEP:?}"));
            if msg.status.is_some() && msg.tid == tid {
                return msg;
            }
            if msg.is_send() {
                self.answer_send(&msg);
            }
        }
        panic!("no MSRP response to {tid}");
    }

    /// Answers a received SEND with 200.
    pub fn answer_send(&mut self, req: &MsrpMessage) {
        let resp = msrp::response(req, 200, "OK", &self.answer.path);
        self.conn().write(&resp);
    }

    /// The next SEND within `timeout` (answered with 200), skipping REPORTs and responses.
    pub fn next_send(&mut self, timeout: Duration) -> Option<MsrpMessage> {
        let deadline = Instant::now() + timeout;
        for _ in 0..10_000 {
            let left = deadline.checked_duration_since(Instant::now())?;
            let msg = self.conn().recv(left)?;
            if msg.is_send() {
                self.answer_send(&msg);
                return Some(msg);
            }
        }
        None
    }

    /// The next whole message (chunks reassembled by Byte-Range per Message-ID) within
    /// `timeout`: its CPIM body. Every chunk is answered with 200; aborted messages
    /// (`#`) are skipped.
    pub fn next_message(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut partial: std::collections::HashMap<String, Vec<u8>> = Default::default();
        for _ in 0..100_000 {
            let left = deadline.checked_duration_since(Instant::now())?;
            let chunk = self.next_send(left)?;
            let mid = chunk.header("Message-ID")?.to_string();
            if chunk.flag == b'#' {
                partial.remove(&mid);
                continue;
            }
            let start = chunk.byte_range().map_or(1, |r| r.0).max(1) as usize;
            let whole = partial.entry(mid.clone()).or_default();
            let end = start - 1 + chunk.body.len();
            if whole.len() < end {
                whole.resize(end, 0);
            }
            whole[start - 1..end].copy_from_slice(&chunk.body);
            if chunk.flag == b'$' {
                return partial.remove(&mid);
            }
        }
        None
    }

    /// BYE; returns the final response.
    pub fn bye(&mut self) -> SipMessage {
        self.cseq += 1;
        let msg = self.in_dialog("BYE", self.cseq);
        self.sip.send(msg.as_bytes());
        self.sip.final_response("BYE")
    }

    fn in_dialog(&self, method: &str, cseq: u32) -> String {
        let via = format!(
            "Via: SIP/2.0/{} {};branch=z9hG4bK{};rport",
            self.sip.via_transport(),
            self.sip.local,
            ident(12)
        );
        crlf(&[
            &format!("{method} {} SIP/2.0", self.remote_target),
            &via,
            "Max-Forwards: 70",
            &format!("From: <{}>;tag={}", self.uri, self.from_tag),
            &format!("To: <{ROOM}>;tag={}", self.to_tag),
            &format!("Call-ID: {}", self.call_id),
            &format!("CSeq: {cseq} {method}"),
            "Content-Length: 0",
            "",
        ])
    }
}

impl Participant {
    /// The dialog's identifiers: (Call-ID, our From tag, the focus's To tag, the focus's
    /// Contact URI) — for in-dialog requests built elsewhere (e.g. SUBSCRIBE).
    pub fn dialog_ids(&self) -> (String, String, String, String) {
        (
            self.call_id.clone(),
            self.from_tag.clone(),
            self.to_tag.clone(),
            self.remote_target.clone(),
        )
    }

    /// Takes the next CSeq number of this dialog (for in-dialog requests built elsewhere).
    pub fn next_cseq(&mut self) -> u32 {
        self.cseq += 1;
        self.cseq
    }
}

/// An INVITE to `ROOM` from `uri` carrying `sdp`.
pub fn invite(sip: &SipClient, uri: &str, call_id: &str, from_tag: &str, sdp: &str) -> String {
    let transport = sip.via_transport();
    let mut msg = crlf(&[
        &format!("INVITE {ROOM} SIP/2.0"),
        &format!(
            "Via: SIP/2.0/{transport} {};branch=z9hG4bK{};rport",
            sip.local,
            ident(12)
        ),
        "Max-Forwards: 70",
        &format!("From: <{uri}>;tag={from_tag}"),
        &format!("To: <{ROOM}>"),
        &format!("Call-ID: {call_id}"),
        "CSeq: 1 INVITE",
        &format!(
            "Contact: <{uri_user}@{};transport={}>",
            sip.local,
            transport.to_lowercase(),
            uri_user = uri.split('@').next().unwrap_or(uri)
        ),
        "Content-Type: application/sdp",
        &format!("Content-Length: {}", sdp.len()),
        "",
    ]);
    msg.push_str(sdp);
    msg
}

/// An OPTIONS request to `ROOM` outside any dialog.
pub fn options(sip: &SipClient) -> String {
    crlf(&[
        &format!("OPTIONS {ROOM} SIP/2.0"),
        &format!(
            "Via: SIP/2.0/{} {};branch=z9hG4bK{};rport",
            sip.via_transport(),
            sip.local,
            ident(12)
        ),
        "Max-Forwards: 70",
        &format!("From: <sip:probe@example.com>;tag={}", ident(10)),
        &format!("To: <{ROOM}>"),
        &format!("Call-ID: {}@127.0.0.1", ident(16)),
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
        "",
    ])
}

impl Participant {
    /// Like `join`, but as `uri` with MSRP path `local_path` (what its SENDs use as
    /// From-Path) offering exactly `sdp`; the final response when it is not 200. Sends the
    /// ACK on success.
    pub fn join_with(
        server: SocketAddr,
        transport: Transport,
        uri: &str,
        local_path: &str,
        sdp: &str,
    ) -> Result<Participant, SipMessage> {
        let sip = match transport {
            Transport::Udp => SipClient::udp(server),
            Transport::Tcp => SipClient::tcp(server),
        };
        Participant::join_over(sip, uri, local_path, sdp)
    }

    /// Like `join_with`, over an existing SIP client (e.g. one bound to another loopback
    /// address).
    pub fn join_over(
        mut sip: SipClient,
        uri: &str,
        local_path: &str,
        sdp: &str,
    ) -> Result<Participant, SipMessage> {
        let call_id = format!("{}@127.0.0.1", ident(16));
        let from_tag = ident(12);
        let req = invite(&sip, uri, &call_id, &from_tag, sdp);
        sip.send(req.as_bytes());
        let ok = sip.final_response("INVITE");
        if ok.status() != Some(200) {
            return Err(ok);
        }
        let to_tag = ok.header("To").and_then(tag_of).expect("To-tag in 200");
        let remote_target = ok.header("Contact").map(uri_of).expect("Contact in 200");
        let answer = Answer::parse(&ok.body_text());
        let mut p = Participant {
            uri: uri.to_string(),
            sip,
            call_id,
            from_tag,
            to_tag,
            remote_target,
            cseq: 1,
            local_path: local_path.to_string(),
            answer,
            ok,
            msrp: None,
        };
        p.ack();
        Ok(p)
    }
}
