//! The chat client's MSRP side (RFC 4975 §7 framing, §7.2 responses; RFC 3862 CPIM;
//! RFC 7701 §7 NICKNAME), built on the crate's own codecs: `wire::msrp` frames what the
//! switch sends and emits our requests and responses, `wire::cpim` reads the CPIM headers.
//! Chunks are reassembled per Message-ID. The encapsulated MIME object (RFC 3862 §3: its
//! header lines in any order, folded or not, up to an empty line) is read here, and its
//! Content-Type decides what is shown (RFC 3994 is-composing indications are not).

use std::collections::HashMap;

use crate::render;

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

/// A complete received message: who sent it, whether only to us, and its MIME object.
#[derive(Debug)]
pub struct ChatLine {
    pub from: String,
    pub private: bool,
    /// The encapsulated Content-Type; `None` when the sender wrote no MIME headers.
    pub content_type: Option<MediaType>,
    pub body: Vec<u8>,
}

/// A Content-Type value (RFC 2045 §5.1): `type/subtype` lower-cased, and the charset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaType {
    pub essence: String,
    pub charset: Option<String>,
}

impl MediaType {
    fn parse(value: &str) -> MediaType {
        let mut parts = value.split(';');
        let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let charset = parts.find_map(|p| {
            let (name, v) = p.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
        });
        MediaType { essence, charset }
    }
}

/// RFC 3994 is-composing indications: state, not a message; never shown.
const IS_COMPOSING: &str = "application/im-iscomposing+xml";

impl ChatLine {
    /// What the terminal shows for this message (already inert), or `None` for nothing:
    /// `<from> text` for text (`<from> (private) text` when only to us, the type after the
    /// sender for text other than text/plain), one line naming the type and size for
    /// anything else.
    pub fn display(&self) -> Option<String> {
        let from = render::field(&self.from);
        let private = if self.private { " (private)" } else { "" };
        let Some(ct) = &self.content_type else {
            return Some(format!("<{from}>{private} {}", render::body(&self.body)));
        };
        if ct.essence == IS_COMPOSING {
            return None;
        }
        if ct.essence == "text/plain" || ct.essence.starts_with("text/") {
            let text = match ct.charset.as_deref() {
                Some("iso-8859-1" | "latin1" | "l1") => {
                    self.body.iter().map(|&b| char::from(b)).collect()
                }
                _ => String::from_utf8_lossy(&self.body).into_owned(),
            };
            let kind = if ct.essence == "text/plain" {
                String::new()
            } else {
                format!(" ({})", render::field(&ct.essence))
            };
            return Some(format!(
                "<{from}>{private}{kind} {}",
                render::body(text.as_bytes())
            ));
        }
        Some(format!(
            "* <{from}>{private} sent a message of type {} ({} bytes), not shown",
            render::field(&ct.essence),
            self.body.len()
        ))
    }
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
        let end = (start - 1).checked_add(msg.body.len());
        let Some(end) = end.filter(|&end| end <= MAX_MESSAGE_BYTES) else {
            self.partial.remove(&id);
            return None;
        };
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

/// The CPIM From, whether To was us (a private message), and the encapsulated MIME object.
fn parse_cpim(me: &str, body: &[u8]) -> Option<ChatLine> {
    let Ok(Parsed::Complete(h)) = cpim::parse(body, Limits::default().max_cpim_header_bytes) else {
        return None;
    };
    let rest = body.get(h.body_offset..).unwrap_or_default();
    let (content_type, content) = mime_object(rest);
    Some(ChatLine {
        from: h.from.map(|a| a.uri.to_string()).unwrap_or_default(),
        private: h.to.is_some_and(|a| a.uri == me),
        content_type,
        body: content.to_vec(),
    })
}

/// Splits the encapsulated MIME object (RFC 3862 §3, RFC 2045 §3) into its Content-Type
/// and its content. The header lines come in any order (`MIME-Version` first is common),
/// may be folded (a line starting with a space or tab continues the previous one) and end
/// at an empty line. A sender that wrote no MIME headers is taken leniently: when the lines
/// before the first empty one are not all header fields, or none of them is a `Content-*`
/// or `MIME-Version` field, everything is text.
fn mime_object(rest: &[u8]) -> (Option<MediaType>, &[u8]) {
    let text_only = (None, rest);
    // (lower-cased name, value) of each header field, folded lines joined.
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut at = 0;
    let content_at = loop {
        let tail = rest.get(at..).unwrap_or_default();
        if tail.is_empty() {
            // Header fields up to the end and no empty line: an empty message.
            break rest.len();
        }
        let (raw, next) = match tail.iter().position(|&b| b == b'\n') {
            Some(nl) => (tail.get(..nl).unwrap_or_default(), at + nl + 1),
            None => (tail, rest.len()),
        };
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            break next;
        }
        let Ok(line) = std::str::from_utf8(line) else {
            return text_only;
        };
        if line.starts_with([' ', '\t']) {
            let Some((_, value)) = fields.last_mut() else {
                return text_only;
            };
            value.push(' ');
            value.push_str(line.trim());
        } else {
            let Some((name, value)) = line.split_once(':') else {
                return text_only;
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
                return text_only;
            }
            fields.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
        at = next;
    };
    let is_mime = |name: &str| name.starts_with("content-") || name == "mime-version";
    if !fields.is_empty() && !fields.iter().any(|(name, _)| is_mime(name)) {
        return text_only;
    }
    let content_type = fields
        .iter()
        .find(|(name, _)| name == "content-type")
        .map(|(_, value)| MediaType::parse(value));
    (content_type, rest.get(content_at..).unwrap_or_default())
}

/// A CPIM body from `from` to `to` wrapping UTF-8 text (RFC 3862 layout).
pub fn cpim(from: &str, to: &str, text: &str) -> Vec<u8> {
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\n\r\nContent-Type: text/plain;charset=utf-8\r\n\r\n{text}"
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cpim_rest: &[u8]) -> ChatLine {
        let mut body = b"From: <sip:a@x>\r\nTo: <sip:lobby@x>\r\n\r\n".to_vec();
        body.extend_from_slice(cpim_rest);
        parse_cpim("sip:me@x", &body).expect("CPIM parses")
    }

    fn shown(cpim_rest: &[u8]) -> Option<String> {
        line(cpim_rest).display()
    }

    #[test]
    fn mime_headers_in_any_order() {
        let want = Some("<sip:a@x> hello".to_string());
        for rest in [
            &b"Content-Type: text/plain;charset=utf-8\r\n\r\nhello"[..],
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhello",
            b"Content-ID: <1@x>\r\nMIME-Version: 1.0\r\ncontent-type: Text/Plain\r\n\r\nhello",
            b"MIME-Version: 1.0\nContent-Type: text/plain\n\nhello",
            b"Content-Type:\r\n text/plain;\r\n\tcharset=utf-8\r\n\r\nhello",
            b"Content-Disposition: inline\r\nMIME-Version: 1.0\r\n\r\nhello",
        ] {
            assert_eq!(shown(rest), want, "{}", String::from_utf8_lossy(rest));
        }
        let folded = line(b"Content-Type:\r\n text/plain;\r\n\tcharset=\"ISO-8859-1\"\r\n\r\nx");
        assert_eq!(
            folded.content_type,
            Some(MediaType {
                essence: "text/plain".into(),
                charset: Some("iso-8859-1".into())
            })
        );
    }

    #[test]
    fn no_mime_headers_means_all_text() {
        for (rest, want) in [
            (&b"just text"[..], "just text"),
            (
                b"Note: this is text\r\n\r\nand more",
                "Note: this is text\n    \n    and more",
            ),
            (b"see http://example.com", "see http://example.com"),
            (
                b"\r\nafter an empty header block",
                "after an empty header block",
            ),
            (
                b"a line\r\nContent-Type: text/plain\r\n\r\nx",
                "a line\n    Content-Type: text/plain\n    \n    x",
            ),
        ] {
            assert_eq!(shown(rest), Some(format!("<sip:a@x> {want}")));
        }
        assert_eq!(shown(b""), Some("<sip:a@x> ".to_string()));
        assert_eq!(
            shown(b"Content-Type: text/plain"),
            Some("<sip:a@x> ".to_string())
        );
    }

    #[test]
    fn what_is_shown_depends_on_the_type() {
        assert_eq!(
            shown(b"Content-Type: application/im-iscomposing+xml\r\n\r\n<isComposing/>"),
            None
        );
        assert_eq!(
            shown(b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n"),
            Some("* <sip:a@x> sent a message of type image/png (8 bytes), not shown".into())
        );
        assert_eq!(
            shown(b"Content-Type: text/html\r\n\r\n<b>hi</b>"),
            Some("<sip:a@x> (text/html) <b>hi</b>".into())
        );
        assert_eq!(
            shown(b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9"),
            Some("<sip:a@x> caf\u{e9}".into())
        );
        assert_eq!(
            shown(b"Content-Type: x/\x1b[2J\r\n\r\n"),
            Some("* <sip:a@x> sent a message of type x/\u{241b}[2j (0 bytes), not shown".into())
        );
    }

    #[test]
    fn a_byte_range_at_the_end_of_u64_is_refused_not_a_panic() {
        let mut session = Session::new("msrp://a".into(), "msrp://b".into());
        let chunk = MsrpMessage {
            method: Some("SEND".into()),
            message_id: Some("m".into()),
            range_start: u64::MAX,
            body: b"xy".to_vec(),
            flag: Flag::Last.byte(),
            ..MsrpMessage::default()
        };
        assert!(session.receive("sip:me@x", &chunk).is_none());
    }

    #[test]
    fn private_messages_say_so() {
        let body = b"From: <sip:a@x>\r\nTo: <sip:me@x>\r\n\r\nContent-Type: text/plain\r\n\r\npsst";
        let l = parse_cpim("sip:me@x", body).expect("CPIM parses");
        assert_eq!(l.display(), Some("<sip:a@x> (private) psst".into()));
    }
}
