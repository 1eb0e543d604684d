//! MSRP request and response emitters (RFC 4975 §7.1 header order and end-line, §7.2
//! response paths): write straight into any [`Sink`] (a `Vec`, a ring, a length counter),
//! without allocating.

use super::header::{ByteRange, StatusHeader};
use super::sink::{put_u64, Sink};
use super::{first_uri, Flag, Method};

/// The fields of a request, in RFC 4975 §7.1 order (To-Path, From-Path, …, Content-Type last).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// Transaction id.
    pub tid: &'a str,
    /// Method token (`SEND`, `REPORT`, `NICKNAME`).
    pub method: &'a str,
    /// To-Path value (space-separated URIs).
    pub to_path: &'a str,
    /// From-Path value.
    pub from_path: &'a str,
    /// Message-ID.
    pub message_id: Option<&'a str>,
    /// Byte-Range.
    pub byte_range: Option<ByteRange>,
    /// Success-Report value.
    pub success_report: Option<&'a str>,
    /// Failure-Report value.
    pub failure_report: Option<&'a str>,
    /// Status (REPORT).
    pub status: Option<StatusHeader<'a>>,
    /// Use-Nickname value, already quoted.
    pub use_nickname: Option<&'a str>,
    /// Content-Type; written only when there is a body.
    pub content_type: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// A request with only the two paths set.
    pub fn new(tid: &'a str, method: &'a str, to_path: &'a str, from_path: &'a str) -> Self {
        Request {
            tid,
            method,
            to_path,
            from_path,
            message_id: None,
            byte_range: None,
            success_report: None,
            failure_report: None,
            status: None,
            use_nickname: None,
            content_type: None,
        }
    }
}

fn put_header<S: Sink + ?Sized>(sink: &mut S, name: &[u8], value: &[u8]) {
    sink.put(name);
    sink.put(b": ");
    sink.put(value);
    sink.put(b"\r\n");
}

/// Writes a complete request. `body = Some(parts)` writes Content-Type, the empty line, the
/// concatenated parts and the CRLF before the end-line (an empty chunk is `Some(&[])`);
/// `None` writes a bodiless request whose end-line follows the last header.
pub fn emit_request<S: Sink + ?Sized>(
    sink: &mut S,
    req: &Request<'_>,
    body: Option<&[&[u8]]>,
    flag: Flag,
) {
    sink.put(b"MSRP ");
    sink.put(req.tid.as_bytes());
    sink.put(b" ");
    sink.put(req.method.as_bytes());
    sink.put(b"\r\n");
    put_header(sink, b"To-Path", req.to_path.as_bytes());
    put_header(sink, b"From-Path", req.from_path.as_bytes());
    if let Some(id) = req.message_id {
        put_header(sink, b"Message-ID", id.as_bytes());
    }
    if let Some(r) = req.byte_range {
        sink.put(b"Byte-Range: ");
        r.emit(sink);
        sink.put(b"\r\n");
    }
    if let Some(v) = req.success_report {
        put_header(sink, b"Success-Report", v.as_bytes());
    }
    if let Some(v) = req.failure_report {
        put_header(sink, b"Failure-Report", v.as_bytes());
    }
    if let Some(s) = req.status {
        sink.put(b"Status: ");
        s.emit(sink);
        sink.put(b"\r\n");
    }
    if let Some(v) = req.use_nickname {
        put_header(sink, b"Use-Nickname", v.as_bytes());
    }
    if let Some(parts) = body {
        let ct = req.content_type.unwrap_or("application/octet-stream");
        put_header(sink, b"Content-Type", ct.as_bytes());
        sink.put(b"\r\n");
        for p in parts {
            sink.put(p);
        }
        sink.put(b"\r\n");
    }
    put_end_line(sink, req.tid, flag);
}

/// A response (RFC 4975 §7.2): no body, end-line flag always `$`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// The request's transaction id.
    pub tid: &'a str,
    /// Status code.
    pub code: u16,
    /// Reason text; empty = none.
    pub comment: &'a str,
    /// To-Path: see [`response_to_path`].
    pub to_path: &'a str,
    /// From-Path: the responder's own URI.
    pub from_path: &'a str,
}

/// Writes a complete response.
pub fn emit_response<S: Sink + ?Sized>(sink: &mut S, resp: &Response<'_>) {
    sink.put(b"MSRP ");
    sink.put(resp.tid.as_bytes());
    sink.put(b" ");
    put_u64(sink, u64::from(resp.code));
    if !resp.comment.is_empty() {
        sink.put(b" ");
        sink.put(resp.comment.as_bytes());
    }
    sink.put(b"\r\n");
    put_header(sink, b"To-Path", resp.to_path.as_bytes());
    put_header(sink, b"From-Path", resp.from_path.as_bytes());
    put_end_line(sink, resp.tid, Flag::Last);
}

/// The To-Path of a response (RFC 4975 §7.2): the first From-Path URI for SEND, the full
/// From-Path for every other method.
pub fn response_to_path<'a>(method: Method<'_>, from_path: &'a str) -> &'a str {
    match method {
        Method::Send => first_uri(from_path).unwrap_or(from_path),
        _ => from_path.trim(),
    }
}

fn put_end_line<S: Sink + ?Sized>(sink: &mut S, tid: &str, flag: Flag) {
    sink.put(b"-------");
    sink.put(tid.as_bytes());
    sink.put(flag.as_bytes());
    sink.put(b"\r\n");
}
