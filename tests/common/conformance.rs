//! Builders for the conformance tests (tests/conformance_*.rs, tests/CONFORMANCE.md): SDP
//! offers with chosen attributes (RFC 4975 §8, RFC 7701 §8), raw SIP requests in and out of
//! a participant's dialog (RFC 3261 §8.1, §12), raw MSRP requests with any method and
//! headers (RFC 4975 §7.1), a raw-byte MSRP reader, and config files with short timers.

use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::msrp::{parse_message, MsrpMessage};
use super::sip::{tag_of, uri_of, SipClient, SipMessage};
use super::{crlf, ident, Participant, Transport, ROOM};

/// A fresh MSRP URI for a test endpoint (port 9: the switch never connects to it).
pub fn fresh_path() -> String {
    format!("msrp://127.0.0.1:9/{};tcp", ident(16))
}

/// The attributes `Participant::join` offers, for `path`.
pub fn usual_attrs(path: &str) -> Vec<String> {
    vec![
        "a=accept-types:message/cpim".to_string(),
        "a=accept-wrapped-types:text/plain".to_string(),
        format!("a=path:{path}"),
        "a=setup:active".to_string(),
        "a=chatroom:nickname private-messages".to_string(),
    ]
}

/// An SDP offer: the session lines, `m=message 9 TCP/MSRP *`, then exactly `attrs`.
pub fn offer_with(user: &str, m_line: &str, attrs: &[String]) -> String {
    let mut lines = vec![
        "v=0".to_string(),
        format!("o={user} 1 1 IN IP4 127.0.0.1"),
        "s=-".to_string(),
        "c=IN IP4 127.0.0.1".to_string(),
        "t=0 0".to_string(),
        m_line.to_string(),
    ];
    lines.extend(attrs.iter().cloned());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    crlf(&refs)
}

/// `offer_with` with the usual m-line.
pub fn offer(user: &str, attrs: &[String]) -> String {
    offer_with(user, "m=message 9 TCP/MSRP *", attrs)
}

/// The usual attributes with the ones whose name starts with `drop` removed and `add`
/// appended.
pub fn attrs_edit(path: &str, drop: &[&str], add: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = usual_attrs(path)
        .into_iter()
        .filter(|a| !drop.iter().any(|d| a.starts_with(d)))
        .collect();
    v.extend(add.iter().map(|s| s.to_string()));
    v
}

/// An out-of-dialog request `method` to `ruri` from `from_uri`, with `extra` header lines
/// and an optional `(content-type, body)`.
#[allow(clippy::too_many_arguments)]
pub fn raw_request(
    sip: &SipClient,
    method: &str,
    ruri: &str,
    from_uri: &str,
    call_id: &str,
    branch: &str,
    extra: &[&str],
    body: Option<(&str, &str)>,
) -> String {
    let transport = sip.via_transport();
    let mut lines = vec![
        format!("{method} {ruri} SIP/2.0"),
        format!(
            "Via: SIP/2.0/{transport} {};branch=z9hG4bK{branch};rport",
            sip.local
        ),
        "Max-Forwards: 70".to_string(),
        format!("From: <{from_uri}>;tag={}", ident(10)),
        format!("To: <{ruri}>"),
        format!("Call-ID: {call_id}"),
        format!("CSeq: 1 {method}"),
        format!(
            "Contact: <sip:probe@{};transport={}>",
            sip.local,
            transport.to_lowercase()
        ),
    ];
    lines.extend(extra.iter().map(|s| s.to_string()));
    let (ct, text) = body.unwrap_or(("", ""));
    if !ct.is_empty() {
        lines.push(format!("Content-Type: {ct}"));
    }
    lines.push(format!("Content-Length: {}", text.len()));
    lines.push(String::new());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut msg = crlf(&refs);
    msg.push_str(text);
    msg
}

/// INVITE `ruri` carrying `sdp` (or no body) over a fresh client; returns the client and
/// the final response (no ACK sent).
pub fn invite_final(
    server: std::net::SocketAddr,
    transport: Transport,
    ruri: &str,
    sdp: Option<&str>,
    extra: &[&str],
) -> (SipClient, SipMessage) {
    let mut sip = match transport {
        Transport::Udp => SipClient::udp(server),
        Transport::Tcp => SipClient::tcp(server),
    };
    let req = raw_request(
        &sip,
        "INVITE",
        ruri,
        "sip:probe@example.com",
        &format!("{}@127.0.0.1", ident(16)),
        &ident(12),
        extra,
        sdp.map(|s| ("application/sdp", s)),
    );
    sip.send(req.as_bytes());
    let resp = sip.final_response("INVITE");
    (sip, resp)
}

/// INVITE the room with `sdp`; the final response.
pub fn invite_room(server: std::net::SocketAddr, sdp: &str) -> SipMessage {
    invite_final(server, Transport::Udp, ROOM, Some(sdp), &[]).1
}

/// The dialog identifiers of a joined participant, read from its 200.
pub struct DialogIds {
    pub call_id: String,
    pub from_tag: String,
    pub to_tag: String,
    pub target: String,
}

pub fn dialog_ids(p: &Participant) -> DialogIds {
    DialogIds {
        call_id: p.ok.header("Call-ID").expect("Call-ID").to_string(),
        from_tag: p
            .ok
            .header("From")
            .and_then(tag_of)
            .expect("From-tag in 200"),
        to_tag: p.ok.header("To").and_then(tag_of).expect("To-tag in 200"),
        target: p.ok.header("Contact").map(uri_of).expect("Contact in 200"),
    }
}

/// An in-dialog request of `p` with CSeq `cseq`, top Via branch `z9hG4bK` + `branch`, the
/// To-tag `to_tag` (the dialog's when `None`) and an optional SDP body.
pub fn in_dialog(
    p: &Participant,
    method: &str,
    cseq: u32,
    branch: &str,
    to_tag: Option<&str>,
    sdp: Option<&str>,
) -> String {
    let d = dialog_ids(p);
    let transport = p.sip.via_transport();
    let mut lines = vec![
        format!("{method} {} SIP/2.0", d.target),
        format!(
            "Via: SIP/2.0/{transport} {};branch=z9hG4bK{branch};rport",
            p.sip.local
        ),
        "Max-Forwards: 70".to_string(),
        format!("From: <{}>;tag={}", p.uri, d.from_tag),
        format!("To: <{ROOM}>;tag={}", to_tag.unwrap_or(&d.to_tag)),
        format!("Call-ID: {}", d.call_id),
        format!("CSeq: {cseq} {method}"),
    ];
    if method == "INVITE" {
        lines.push(format!(
            "Contact: <sip:x@{};transport={}>",
            p.sip.local,
            transport.to_lowercase()
        ));
    }
    if sdp.is_some() {
        lines.push("Content-Type: application/sdp".to_string());
    }
    lines.push(format!("Content-Length: {}", sdp.map_or(0, str::len)));
    lines.push(String::new());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut msg = crlf(&refs);
    msg.push_str(sdp.unwrap_or(""));
    msg
}

/// A config file in the temp dir holding `text`; its path as a string.
pub fn config_file(text: &str) -> String {
    let path: PathBuf = std::env::temp_dir().join(format!("parlor-conformance-{}.toml", ident(12)));
    std::fs::write(&path, text).expect("write config file");
    path.to_string_lossy().into_owned()
}

/// A config file that only sets `[limits]` fields.
pub fn limits_file(fields: &[(&str, u64)]) -> String {
    let mut text = String::from("[limits]\n");
    for (k, v) in fields {
        text.push_str(&format!("{k} = {v}\n"));
    }
    config_file(&text)
}

/// Any MSRP request: start line, To-Path, From-Path, `headers` lines, optional
/// `(content-type, body)`, end-line with `flag`.
pub fn msrp_request(
    method: &str,
    tid: &str,
    to_path: &str,
    from_path: &str,
    headers: &[String],
    content: Option<(&str, &[u8])>,
    flag: char,
) -> Vec<u8> {
    let mut out =
        format!("MSRP {tid} {method}\r\nTo-Path: {to_path}\r\nFrom-Path: {from_path}\r\n")
            .into_bytes();
    for h in headers {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some((ct, body)) = content {
        out.extend_from_slice(format!("Content-Type: {ct}\r\n\r\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("-------{tid}{flag}\r\n").as_bytes());
    out
}

/// Reads whole MSRP messages from a stream keeping their raw bytes.
pub struct RawReader {
    buf: Vec<u8>,
}

impl Default for RawReader {
    fn default() -> Self {
        Self::new()
    }
}

impl RawReader {
    pub fn new() -> Self {
        RawReader { buf: Vec::new() }
    }

    /// The next message and its exact bytes, or `None` after `timeout` / EOF.
    pub fn next(
        &mut self,
        stream: &mut TcpStream,
        timeout: Duration,
    ) -> Option<(MsrpMessage, Vec<u8>)> {
        let deadline = Instant::now() + timeout;
        for _ in 0..100_000 {
            if let Some((msg, used)) = parse_message(&self.buf) {
                let raw: Vec<u8> = self.buf.drain(..used).collect();
                return Some((msg, raw));
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok()?;
            let mut chunk = [0u8; 16384];
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
        None
    }
}

/// The SDP line of `sdp` starting with `prefix`, without the prefix.
pub fn sdp_value<'a>(sdp: &'a str, prefix: &str) -> Option<&'a str> {
    sdp.lines().find_map(|l| l.strip_prefix(prefix))
}

/// Waits up to `within` for a SIP request `method` on `sip`, skipping anything else.
pub fn expect_request(sip: &mut SipClient, method: &str, within: Duration) -> Option<SipMessage> {
    let deadline = Instant::now() + within;
    for _ in 0..1000 {
        let left = deadline.checked_duration_since(Instant::now())?;
        let msg = sip.recv(left)?;
        if msg.method() == Some(method) {
            return Some(msg);
        }
    }
    None
}

/// A 200 to a server-sent request `req`.
pub fn ok_to(req: &SipMessage) -> String {
    let mut lines: Vec<String> = vec!["SIP/2.0 200 OK".to_string()];
    for (n, v) in &req.headers {
        if ["Via", "From", "To", "Call-ID", "CSeq"]
            .iter()
            .any(|h| n.eq_ignore_ascii_case(h))
        {
            lines.push(format!("{n}: {v}"));
        }
    }
    lines.push("Content-Length: 0".to_string());
    lines.push(String::new());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    crlf(&refs)
}
