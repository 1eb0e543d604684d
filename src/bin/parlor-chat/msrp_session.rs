//! The chat client's MSRP side (RFC 4975 §7 framing, §7.2 responses; RFC 3862 CPIM;
//! RFC 7701 §7 NICKNAME), built on the crate's own codecs: `wire::msrp` frames what the
//! switch sends and emits our requests and responses, `wire::cpim` reads the CPIM headers.
//! Chunks are reassembled per Message-ID.

use std::collections::HashMap;

use parlor::limits::Limits;
use parlor::wire::cpim::{self, Parsed};
use parlor::wire::msrp::{
    emit_request, emit_response, response_to_path, ByteRange, Event, Flag, Framer, Method,
    MsrpError, ReportMode, Request, Response,
};

/// Largest message reassembled (a chat client, not a file transfer).
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// One whole MSRP request or response from the switch (a chunk, for chunked messages).
#[derive(Clone, Debug, Default)]
pub struct MsrpMessage {
    pub tid: String,
    /// Method for requests (`SEND`, `REPORT`, …), `None` for responses.
    pub method: Option<String>,
    /// `(code, comment)` for responses.
    pub status: Option<(u16, String)>,
    pub from_path: String,
    pub message_id: Option<String>,
    /// First octet of this chunk (1-based).
    pub range_start: u64,
    /// The request asked for no response (`Failure-Report: no`).
    pub no_response: bool,
    pub body: Vec<u8>,
    pub flag: u8,
}

/// The inbound side: the framer and the message being read.
pub struct Inbound {
    framer: Framer,
    current: Option<MsrpMessage>,
}

impl Inbound {
    pub fn new() -> Self {
        let limits = Limits::default();
        Inbound {
            framer: Framer::new(limits.max_msrp_header_bytes, limits.max_headers),
            current: None,
        }
    }

    /// Feeds bytes; returns every message completed by them. `Err` = not MSRP (fatal).
    pub fn push(&mut self, mut input: &[u8]) -> Result<Vec<MsrpMessage>, MsrpError> {
        let mut done = Vec::new();
        loop {
            let (used, event) = self.framer.push(input)?;
            let Some(event) = event else {
                return Ok(done);
            };
            match event {
                Event::Head(head) => {
                    let h = head.headers;
                    self.current = Some(MsrpMessage {
                        tid: head.tid.to_string(),
                        method: head.method().map(|m| m.as_str().to_string()),
                        status: match head.start {
                            parlor::wire::msrp::StartLine::Response { code, comment } => {
                                Some((code, comment.to_string()))
                            }
                            parlor::wire::msrp::StartLine::Request(_) => None,
                        },
                        from_path: h.from_path.unwrap_or_default().to_string(),
                        message_id: h.message_id.map(str::to_string),
                        range_start: head.byte_range().ok().flatten().map_or(1, |r| r.start),
                        no_response: head.failure_report() == ReportMode::No,
                        ..MsrpMessage::default()
                    });
                }
                Event::Body(bytes) => {
                    if let Some(m) = self.current.as_mut() {
                        if m.body.len() + bytes.len() <= MAX_MESSAGE_BYTES {
                            m.body.extend_from_slice(bytes);
                        }
                    }
                }
                Event::End(flag) => {
                    if let Some(mut m) = self.current.take() {
                        m.flag = flag.byte();
                        done.push(m);
                    }
                }
            }
            input = input.get(used..).unwrap_or_default();
        }
    }
}

/// Our MSRP session: its two paths and the chunks of messages still arriving.
pub struct Session {
    pub local_path: String,
    pub remote_path: String,
    partial: HashMap<String, Vec<u8>>,
}

/// A complete chat line: who sent it and the text.
pub struct ChatLine {
    pub from: String,
    pub private: bool,
    pub text: String,
}

impl Session {
    pub fn new(local_path: String, remote_path: String) -> Self {
        Session {
            local_path,
            remote_path,
            partial: HashMap::new(),
        }
    }

    /// A SEND request with a Message/CPIM `body` (bodiless when `None`: `1-0/0`).
    pub fn send(&self, tid: &str, message_id: &str, body: Option<&[u8]>) -> Vec<u8> {
        let len = body.map_or(0, |b| b.len() as u64);
        let req = Request {
            message_id: Some(message_id),
            byte_range: Some(ByteRange {
                start: 1,
                end: Some(len),
                total: Some(len),
            }),
            content_type: Some("message/cpim"),
            ..Request::new(tid, "SEND", &self.remote_path, &self.local_path)
        };
        let mut out = Vec::new();
        emit_request(
            &mut out,
            &req,
            body.map(|b| [b]).as_ref().map(|p| &p[..]),
            Flag::Last,
        );
        out
    }

    /// A NICKNAME request (RFC 7701 §7.1) for `name`, quoted with `\"`/`\\` escapes.
    pub fn nickname(&self, tid: &str, name: &str) -> Vec<u8> {
        let quoted = format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""));
        let req = Request {
            use_nickname: Some(&quoted),
            ..Request::new(tid, "NICKNAME", &self.remote_path, &self.local_path)
        };
        let mut out = Vec::new();
        emit_request(&mut out, &req, None, Flag::Last);
        out
    }

    /// The 200 for a request the switch sent (RFC 4975 §7.2).
    pub fn ok(&self, req: &MsrpMessage) -> Vec<u8> {
        let method = Method::from_token(req.method.as_deref().unwrap_or_default());
        let mut out = Vec::new();
        emit_response(
            &mut out,
            &Response {
                tid: &req.tid,
                code: 200,
                comment: "OK",
                to_path: response_to_path(method, &req.from_path),
                from_path: &self.local_path,
            },
        );
        out
    }

    /// Adds one received SEND chunk; returns the line once the message is complete.
    pub fn receive(&mut self, me: &str, msg: &MsrpMessage) -> Option<ChatLine> {
        let id = msg.message_id.clone()?;
        if msg.flag == Flag::Abort.byte() {
            self.partial.remove(&id);
            return None;
        }
        let start = usize::try_from(msg.range_start.max(1)).ok()?;
        let end = start - 1 + msg.body.len();
        if end > MAX_MESSAGE_BYTES {
            self.partial.remove(&id);
            return None;
        }
        let whole = self.partial.entry(id.clone()).or_default();
        if whole.len() < end {
            whole.resize(end, 0);
        }
        whole.get_mut(start - 1..end)?.copy_from_slice(&msg.body);
        if msg.flag != Flag::Last.byte() {
            return None;
        }
        let body = self.partial.remove(&id)?;
        parse_cpim(me, &body)
    }
}

/// The CPIM From, whether To was us (a private message), and the text after the
/// encapsulated MIME headers.
fn parse_cpim(me: &str, body: &[u8]) -> Option<ChatLine> {
    let Ok(Parsed::Complete(h)) = cpim::parse(body, Limits::default().max_cpim_header_bytes) else {
        return None;
    };
    let rest = body.get(h.body_offset..).unwrap_or_default();
    let text = match find(rest, b"\r\n\r\n") {
        Some(i) if rest.len() > 8 && rest[..8].eq_ignore_ascii_case(b"content-") => &rest[i + 4..],
        _ => rest,
    };
    Some(ChatLine {
        from: h.from.map(|a| a.uri.to_string()).unwrap_or_default(),
        private: h.to.is_some_and(|a| a.uri == me),
        text: String::from_utf8_lossy(text).into_owned(),
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A CPIM body from `from` to `to` wrapping UTF-8 text (RFC 3862 layout).
pub fn cpim(from: &str, to: &str, text: &str) -> Vec<u8> {
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\n\r\nContent-Type: text/plain;charset=utf-8\r\n\r\n{text}"
    )
    .into_bytes()
}
