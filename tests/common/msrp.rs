//! A raw MSRP test connection (RFC 4975 §7): builds requests/responses byte by byte and
//! reads whole messages by finding the end-line `-------TID` + flag, with timeouts.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::sip::find;

/// One parsed MSRP message.
#[derive(Clone, Debug)]
pub struct MsrpMessage {
    pub tid: String,
    /// `SEND`, `REPORT`, `NICKNAME`… for requests; `None` for responses.
    pub method: Option<String>,
    /// Status code for responses.
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `$`, `+` or `#`.
    pub flag: u8,
}

impl MsrpMessage {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_send(&self) -> bool {
        self.method.as_deref() == Some("SEND")
    }

    /// `(start, end, total)` of Byte-Range; `None` for `*` parts or absence.
    pub fn byte_range(&self) -> Option<(u64, Option<u64>, Option<u64>)> {
        let v = self.header("Byte-Range")?;
        let (range, total) = v.split_once('/')?;
        let (start, end) = range.split_once('-')?;
        Some((start.parse().ok()?, end.parse().ok(), total.parse().ok()))
    }

    /// The text after the encapsulated MIME headers of a CPIM body.
    pub fn cpim_text(&self) -> Vec<u8> {
        cpim_payload(&self.body)
    }
}

/// Body of a CPIM message after its header blocks (RFC 3862 layout: CPIM headers, empty
/// line, MIME headers, empty line, content).
pub fn cpim_payload(body: &[u8]) -> Vec<u8> {
    let Some(first) = find(body, b"\r\n\r\n") else {
        return Vec::new();
    };
    let rest = &body[first + 4..];
    match find(rest, b"\r\n\r\n") {
        Some(second) => rest[second + 4..].to_vec(),
        None => Vec::new(),
    }
}

/// A CPIM body: `From`, `To`, wrapped text/plain content.
pub fn cpim_body(from: &str, to: &str, text: &[u8]) -> Vec<u8> {
    let mut body = super::crlf(&[
        &format!("From: <{from}>"),
        &format!("To: <{to}>"),
        "DateTime: 2025-01-15T10:02:31Z",
        "",
        "Content-Type: text/plain;charset=utf-8",
        "",
    ])
    .into_bytes();
    body.extend_from_slice(text);
    body
}

/// A bodiless SEND (RFC 4975 §7.3.1: `Byte-Range: 1-0/0`, no Content-Type) from
/// `from_path` to `to_path` with transaction id `tid`: what binds a session, and a
/// keep-alive afterwards. The one copy every test uses.
pub fn bodiless_send(tid: &str, to_path: &str, from_path: &str) -> Vec<u8> {
    SendRequest {
        tid,
        to_path,
        from_path,
        message_id: &super::ident(12),
        range: ("1", "0", "0"),
        content_type: None,
        body: b"",
        flag: '$',
    }
    .bytes()
}

/// A SEND request's parts. `range` = `(start, end, total)` as strings so `*` can be used;
/// `content_type = None` = bodiless.
pub struct SendRequest<'a> {
    pub tid: &'a str,
    pub to_path: &'a str,
    pub from_path: &'a str,
    pub message_id: &'a str,
    pub range: (&'a str, &'a str, &'a str),
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
    pub flag: char,
}

impl SendRequest<'_> {
    /// The request on the wire.
    pub fn bytes(&self) -> Vec<u8> {
        let tid = self.tid;
        let mut lines = vec![
            format!("MSRP {tid} SEND"),
            format!("To-Path: {}", self.to_path),
            format!("From-Path: {}", self.from_path),
            format!("Message-ID: {}", self.message_id),
            format!(
                "Byte-Range: {}-{}/{}",
                self.range.0, self.range.1, self.range.2
            ),
        ];
        let mut out = Vec::new();
        if let Some(ct) = self.content_type {
            lines.push(format!("Content-Type: {ct}"));
            lines.push(String::new());
            out.extend_from_slice(lines.join("\r\n").as_bytes());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(self.body);
        } else {
            out.extend_from_slice(lines.join("\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(format!("-------{tid}{}\r\n", self.flag).as_bytes());
        out
    }
}

/// A response to `req` (RFC 4975 §7.2: To-Path = the request's first From-Path URI).
pub fn response(req: &MsrpMessage, code: u16, comment: &str, own_path: &str) -> Vec<u8> {
    let from_path = req.header("From-Path").unwrap_or_default();
    let first = from_path.split_whitespace().next().unwrap_or_default();
    super::crlf(&[
        &format!("MSRP {} {code} {comment}", req.tid),
        &format!("To-Path: {first}"),
        &format!("From-Path: {own_path}"),
        &format!("-------{}$", req.tid),
    ])
    .into_bytes()
}

/// Parses the first complete message in `buf`: `(message, bytes used)`.
pub fn parse_message(buf: &[u8]) -> Option<(MsrpMessage, usize)> {
    let line_end = find(buf, b"\r\n")?;
    let first = std::str::from_utf8(&buf[..line_end]).ok()?;
    let mut parts = first.splitn(3, ' ');
    if parts.next()? != "MSRP" {
        return None;
    }
    let tid = parts.next()?.to_string();
    let rest = parts.next()?;
    let end_marker = format!("\r\n-------{tid}");
    let end = find(&buf[line_end..], end_marker.as_bytes())? + line_end;
    let flag_at = end + end_marker.len();
    let flag = *buf.get(flag_at)?;
    if buf.get(flag_at + 1..flag_at + 3)? != b"\r\n" {
        return None;
    }
    let head_and_body = &buf[line_end + 2..end + 2];
    let (head, body) = match find(head_and_body, b"\r\n\r\n") {
        Some(i) => (
            &head_and_body[..i + 2],
            buf[line_end + 2 + i + 4..end].to_vec(),
        ),
        None => (head_and_body, Vec::new()),
    };
    let headers = std::str::from_utf8(head)
        .ok()?
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let word = rest.split(' ').next()?;
    let (method, status) = match word.parse::<u16>() {
        Ok(code) => (None, Some(code)),
        Err(_) => (Some(word.to_string()), None),
    };
    let msg = MsrpMessage {
        tid,
        method,
        status,
        headers,
        body,
        flag,
    };
    Some((msg, flag_at + 3))
}

/// A client-side MSRP TCP connection.
pub struct MsrpConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl MsrpConn {
    pub fn connect(addr: SocketAddr) -> MsrpConn {
        let stream = TcpStream::connect_timeout(&addr, super::STEP).expect("connect MSRP");
        stream.set_nodelay(true).expect("nodelay");
        MsrpConn {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write MSRP");
    }

    /// The next complete message, or `None` after `timeout` (or EOF).
    pub fn recv(&mut self, timeout: Duration) -> Option<MsrpMessage> {
        let deadline = Instant::now() + timeout;
        for _ in 0..1_000_000 {
            if let Some((msg, used)) = parse_message(&self.buf) {
                self.buf.drain(..used);
                return Some(msg);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok()?;
            let mut chunk = [0u8; 16384];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
        None
    }

    /// Bytes received but not yet parsed into a message.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Reads whatever arrives within `timeout` into the pending buffer (for partial data).
    pub fn read_some(&mut self, timeout: Duration) -> usize {
        self.stream.set_read_timeout(Some(timeout)).ok();
        let mut chunk = [0u8; 16384];
        match self.stream.read(&mut chunk) {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                n
            }
            Err(_) => 0,
        }
    }

    /// Whether the server closed the connection (EOF or reset) within `timeout`.
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        for _ in 0..10_000 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok();
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
        false
    }
}

impl MsrpConn {
    /// Wraps a connection the test accepted: the switch connected to us (RFC 6135 §4.2,
    /// the test offered `a=setup:passive`).
    pub fn from_stream(stream: TcpStream) -> MsrpConn {
        stream.set_nodelay(true).expect("nodelay");
        MsrpConn {
            stream,
            buf: Vec::new(),
        }
    }
}
