//! NICKNAME helpers (RFC 7701 §7.1): raw NICKNAME requests over a participant's MSRP
//! session, quoting values, a participant joining with chosen `a=chatroom` tokens, and
//! config files written for one test.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use super::msrp::{self, MsrpConn, MsrpMessage};
use super::participant::{invite, sdp_offer, Answer, Participant};
use super::sip::{tag_of, uri_of, SipClient};
use super::{crlf, ident, ROOM, STEP};

/// A NICKNAME request. `value` is the raw header value (quote it with [`quoted`]); `None`
/// leaves Use-Nickname out. `extra` is more header lines, each ending CRLF.
pub fn nickname_request(
    tid: &str,
    to_path: &str,
    from_path: &str,
    value: Option<&str>,
    extra: &str,
) -> Vec<u8> {
    let mut v = format!("MSRP {tid} NICKNAME\r\nTo-Path: {to_path}\r\nFrom-Path: {from_path}\r\n")
        .into_bytes();
    if let Some(value) = value {
        v.extend_from_slice(b"Use-Nickname: ");
        v.extend_from_slice(value.as_bytes());
        v.extend_from_slice(b"\r\n");
    }
    v.extend_from_slice(extra.as_bytes());
    v.extend_from_slice(format!("-------{tid}$\r\n").as_bytes());
    v
}

/// `s` as an RFC 4975 quoted string (`\` and `"` escaped).
pub fn quoted(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// Sends NICKNAME with the raw `value` and `extra` headers; returns the response.
pub fn nickname_exchange(p: &mut Participant, value: Option<&str>, extra: &str) -> MsrpMessage {
    let tid = ident(12);
    let req = nickname_request(&tid, &p.answer.path, &p.local_path, value, extra);
    p.conn().write(&req);
    p.response_to(&tid)
}

/// Asks for `nick` (quoted here); returns the status code.
pub fn ask_nickname(p: &mut Participant, nick: &str) -> u16 {
    let resp = nickname_exchange(p, Some(&quoted(nick)), "");
    resp.status.expect("a response")
}

/// A participant joined with its own `a=chatroom` tokens (`None` = no `a=chatroom` line):
/// enough to send NICKNAME on its bound MSRP session.
pub struct BareMember {
    pub sip: SipClient,
    pub answer: Answer,
    pub local_path: String,
    pub conn: MsrpConn,
}

/// INVITE (UDP) to `ROOM` as `sip:NAME@example.com` with `chatroom` tokens, ACK, then
/// bind the MSRP session with a bodiless SEND. Panics unless each step succeeds.
pub fn join_with_chatroom(server: SocketAddr, name: &str, chatroom: Option<&str>) -> BareMember {
    let mut sip = SipClient::udp(server);
    let uri = format!("sip:{name}@example.com");
    let local_path = format!("msrp://127.0.0.1:9/{};tcp", ident(16));
    let call_id = format!("{}@127.0.0.1", ident(16));
    let from_tag = ident(12);
    let sdp = sdp_offer(name, &local_path, "active", chatroom);
    sip.send(invite(&sip, &uri, &call_id, &from_tag, &sdp).as_bytes());
    let ok = sip.final_response("INVITE");
    assert_eq!(ok.status(), Some(200), "INVITE answered {:?}", ok.status());
    let to_tag = ok.header("To").and_then(tag_of).expect("To-tag");
    let target = ok.header("Contact").map(uri_of).expect("Contact");
    let ack = crlf(&[
        &format!("ACK {target} SIP/2.0"),
        &format!(
            "Via: SIP/2.0/UDP {};branch=z9hG4bK{};rport",
            sip.local,
            ident(12)
        ),
        "Max-Forwards: 70",
        &format!("From: <{uri}>;tag={from_tag}"),
        &format!("To: <{ROOM}>;tag={to_tag}"),
        &format!("Call-ID: {call_id}"),
        "CSeq: 1 ACK",
        "Content-Length: 0",
        "",
    ]);
    sip.send(ack.as_bytes());
    let answer = Answer::parse(&ok.body_text());
    let mut conn = MsrpConn::connect(answer.msrp_addr());
    let tid = ident(12);
    let bind = msrp::bodiless_send(&tid, &answer.path, &local_path);
    conn.write(&bind);
    let mut member = BareMember {
        sip,
        answer,
        local_path,
        conn,
    };
    assert_eq!(member.response_status(&tid), 200, "binding SEND");
    member
}

impl BareMember {
    /// The status of the response with `tid`, answering SENDs (notices) that come first.
    pub fn response_status(&mut self, tid: &str) -> u16 {
        let deadline = Instant::now() + STEP;
        for _ in 0..1_000 {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_default();
            let msg = self
                .conn
                .recv(left)
                .unwrap_or_else(|| panic!("no response to {tid}"));
            if msg.status.is_some() && msg.tid == tid {
                return msg.status.unwrap_or(0);
            }
            if msg.is_send() {
                let resp = msrp::response(&msg, 200, "OK", &self.answer.path);
                self.conn.write(&resp);
            }
        }
        panic!("no response to {tid}");
    }

    /// Asks for `nick`; returns the status code.
    pub fn ask_nickname(&mut self, nick: &str) -> u16 {
        let tid = ident(12);
        let req = nickname_request(
            &tid,
            &self.answer.path,
            &self.local_path,
            Some(&quoted(nick)),
            "",
        );
        self.conn.write(&req);
        self.response_status(&tid)
    }
}

/// Writes `text` to a fresh file in the temp directory (for `--config`); returns its path.
pub fn temp_config(text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("parlor-nick-{}.toml", ident(12)));
    std::fs::write(&path, text).expect("write temp config");
    path
}
