//! The chat client's SIP side (RFC 3261 §13 INVITE/ACK, §15 BYE, §18 transports; RFC 4975
//! §8 + RFC 7701 §8 SDP offer): builds its requests and frames what the focus sends.

use std::fmt::Write as _;
use std::net::SocketAddr;

/// A SIP message as the client needs it.
#[derive(Clone, Debug)]
pub struct SipMessage {
    pub start: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl SipMessage {
    /// Parses one whole message (header block + body).
    pub fn parse(raw: &[u8]) -> Option<SipMessage> {
        let head_end = find(raw, b"\r\n\r\n")?;
        let head = std::str::from_utf8(raw.get(..head_end)?).ok()?;
        let mut lines = head.split("\r\n");
        let start = lines.next()?.to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        let body = String::from_utf8_lossy(raw.get(head_end + 4..)?).into_owned();
        Some(SipMessage {
            start,
            headers,
            body,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `(code, reason)` of a response.
    pub fn status(&self) -> Option<(u16, &str)> {
        let rest = self.start.strip_prefix("SIP/2.0 ")?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        Some((code.parse().ok()?, reason))
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&str> {
        if self.start.starts_with("SIP/") {
            return None;
        }
        self.start.split(' ').next()
    }

    pub fn cseq_method(&self) -> Option<&str> {
        self.header("CSeq")?.split_whitespace().nth(1)
    }
}

/// Length of the first whole message in a TCP byte stream (Content-Length framing).
pub fn framed_len(buf: &[u8]) -> Option<usize> {
    let end = find(buf, b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(buf.get(..end)?).ok()?;
    let body = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length") || n.trim() == "l")
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    (buf.len() >= end + body).then_some(end + body)
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The tag parameter of a From/To value.
pub fn tag_of(value: &str) -> Option<String> {
    let params = value.rsplit_once('>').map_or(value, |(_, p)| p);
    params
        .split(';')
        .find_map(|p| p.trim().strip_prefix("tag="))
        .map(str::to_string)
}

/// The URI of a name-addr (`<...>`) or of a bare addr-spec.
pub fn uri_of(value: &str) -> String {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => value.get(a + 1..b).unwrap_or_default().to_string(),
        _ => value.split(';').next().unwrap_or(value).trim().to_string(),
    }
}

/// The `a=path` value of an SDP body.
pub fn sdp_path(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix("a=path:"))
        .map(str::to_string)
}

/// Our side of the dialog with the room's focus.
pub struct Dialog {
    pub room: String,
    pub me: String,
    pub display: String,
    pub local: SocketAddr,
    pub transport: &'static str,
    pub call_id: String,
    pub from_tag: String,
    pub to_tag: Option<String>,
    pub remote_target: String,
    pub cseq: u32,
    pub invite_branch: String,
}

impl Dialog {
    /// The INVITE carrying an SDP offer for an active MSRP endpoint at `local_path`.
    pub fn invite(&self, local_path: &str) -> Vec<u8> {
        let sdp = [
            "v=0".to_string(),
            format!("o=- 1 1 IN IP4 {}", self.local.ip()),
            "s=-".to_string(),
            format!("c=IN IP4 {}", self.local.ip()),
            "t=0 0".to_string(),
            "m=message 9 TCP/MSRP *".to_string(),
            "a=accept-types:message/cpim".to_string(),
            "a=accept-wrapped-types:text/plain".to_string(),
            format!("a=path:{local_path}"),
            "a=setup:active".to_string(),
            "a=chatroom:nickname private-messages".to_string(),
        ];
        let mut body = sdp.join("\r\n");
        body.push_str("\r\n");
        let mut msg = self.head("INVITE", &self.room, 1, &self.invite_branch, false);
        let user = self.me.split('@').next().unwrap_or(&self.me);
        let _ = write!(
            msg,
            "Contact: <{user}@{};transport={}>\r\nContent-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.local,
            self.transport.to_ascii_lowercase(),
            body.len()
        );
        msg.into_bytes()
    }

    /// The ACK for the 2xx (new branch, RFC 3261 §13.2.2.4).
    pub fn ack(&self, branch: &str) -> Vec<u8> {
        let mut msg = self.head("ACK", &self.remote_target, 1, branch, true);
        msg.push_str("Content-Length: 0\r\n\r\n");
        msg.into_bytes()
    }

    /// BYE in the dialog.
    pub fn bye(&self, branch: &str) -> Vec<u8> {
        let mut msg = self.head("BYE", &self.remote_target, self.cseq, branch, true);
        msg.push_str("Content-Length: 0\r\n\r\n");
        msg.into_bytes()
    }

    fn head(&self, method: &str, target: &str, cseq: u32, branch: &str, tagged: bool) -> String {
        let mut to = format!("<{}>", self.room);
        if let (true, Some(tag)) = (tagged, &self.to_tag) {
            let _ = write!(to, ";tag={tag}");
        }
        let from = if self.display.is_empty() {
            format!("<{}>;tag={}", self.me, self.from_tag)
        } else {
            format!("\"{}\" <{}>;tag={}", self.display, self.me, self.from_tag)
        };
        format!(
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/{} {};branch={branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\n",
            self.transport, self.local, self.call_id
        )
    }
}

/// A response to a request the focus sent us (RFC 3261 §8.2.6: copy Via, From, To, Call-ID,
/// CSeq).
pub fn response_to(req: &SipMessage, code: u16, reason: &str) -> Vec<u8> {
    let mut msg = format!("SIP/2.0 {code} {reason}\r\n");
    for (name, value) in &req.headers {
        let n = name.to_ascii_lowercase();
        if matches!(
            n.as_str(),
            "via" | "v" | "from" | "f" | "to" | "t" | "call-id" | "i" | "cseq"
        ) {
            let _ = write!(msg, "{name}: {value}\r\n");
        }
    }
    msg.push_str("Content-Length: 0\r\n\r\n");
    msg.into_bytes()
}
