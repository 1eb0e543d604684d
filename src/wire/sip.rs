//! SIP message codec (RFC 3261 §7 message format, §20 header fields, §18.3 framing,
//! §19.1 SIP URIs; RFC 3581 `rport`): zero-copy request/response views, the TCP stream
//! framer, and emitters for the responses and requests the focus sends.
//!
//! Parsing never panics; every refusal is a [`SipError`] and [`SipError::status`] is the one
//! table mapping it to a SIP status code.

mod digest;
mod emit;
mod framing;
mod header;
mod lex;
mod message;
mod uri;
mod values;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod torture_tests;

pub use digest::{quote, DigestParams};
pub use emit::{emit_request, emit_response, OutgoingRequest, Response, ViaReceived};
pub use framing::{is_keepalive, StreamFramer};
pub use header::{split_commas, HeaderName, Headers, SipHeader};
pub use message::{parse, parse_head, Message, ParseFailure, RequestLine, StartLine, StatusLine};
pub use uri::SipUri;
pub use values::{param_value, CSeq, NameAddr, Via};

/// What was wrong with a SIP message. One table ([`SipError::status`]) maps it to a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SipError {
    /// The first line is neither `METHOD URI SIP/2.0` nor `SIP/2.0 CODE REASON`.
    BadStartLine,
    /// A SIP version other than `SIP/2.0`.
    BadVersion,
    /// A Request-URI scheme other than `sip`/`sips`, or a URI that is not a SIP URI.
    UnsupportedScheme,
    /// A SIP URI that does not parse (empty host, bad port).
    BadUri,
    /// The Request-URI is longer than `max_uri_bytes`.
    UriTooLong,
    /// A header line that is neither `Name: value` nor a continuation line, or not UTF-8.
    BadHeader,
    /// More header fields than `max_headers`.
    TooManyHeaders,
    /// The header block never ends (stream: more than the message limit without CRLFCRLF).
    HeadersIncomplete,
    /// Content-Length is not a number, or two differ.
    BadContentLength,
    /// Content-Length is larger than the bytes that followed the headers (datagram).
    BodyTruncated,
    /// The message is larger than `max_sip_message_bytes`.
    TooLarge,
    /// A mandatory header field is missing (Via, From, To, Call-ID, CSeq).
    MissingHeader,
    /// The top Via does not parse.
    BadVia,
    /// CSeq is not `NUMBER METHOD` or names another method than the request line.
    BadCSeq,
    /// From/To/Contact is not a name-addr or addr-spec.
    BadNameAddr,
    /// Max-Forwards is not a number.
    BadMaxForwards,
}

impl SipError {
    /// The SIP status code and reason phrase that answers a request refused for this reason.
    pub fn status(self) -> (u16, &'static str) {
        match self {
            SipError::BadVersion => (505, "Version Not Supported"),
            SipError::UnsupportedScheme => (416, "Unsupported URI Scheme"),
            SipError::UriTooLong => (414, "Request-URI Too Long"),
            SipError::TooLarge => (413, "Request Entity Too Large"),
            SipError::BadStartLine
            | SipError::BadUri
            | SipError::BadHeader
            | SipError::TooManyHeaders
            | SipError::HeadersIncomplete
            | SipError::BadContentLength
            | SipError::BodyTruncated
            | SipError::MissingHeader
            | SipError::BadVia
            | SipError::BadCSeq
            | SipError::BadNameAddr
            | SipError::BadMaxForwards => (400, "Bad Request"),
        }
    }
}

/// The parser's bounds, as plain numbers: the codec knows no configuration (the conversion
/// from the server's `Limits` lives with `Limits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SipLimits {
    /// Most header fields in one message.
    pub max_headers: usize,
    /// Largest message (start line + headers + body).
    pub max_message_bytes: usize,
    /// Largest Request-URI.
    pub max_uri_bytes: usize,
}

/// A SIP method (RFC 3261 §7.1, case-sensitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method<'a> {
    Invite,
    Ack,
    Cancel,
    Bye,
    Options,
    Register,
    Subscribe,
    Notify,
    Message,
    Info,
    Prack,
    Update,
    Refer,
    Publish,
    /// Any other token.
    Other(&'a str),
}

impl<'a> Method<'a> {
    /// The method named by `token` (case-sensitive, as RFC 3261 §7.1 says).
    pub fn from_token(token: &'a str) -> Method<'a> {
        match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "CANCEL" => Method::Cancel,
            "BYE" => Method::Bye,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "MESSAGE" => Method::Message,
            "INFO" => Method::Info,
            "PRACK" => Method::Prack,
            "UPDATE" => Method::Update,
            "REFER" => Method::Refer,
            "PUBLISH" => Method::Publish,
            other => Method::Other(other),
        }
    }

    /// The method token as written on the wire.
    pub fn as_str(self) -> &'a str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Cancel => "CANCEL",
            Method::Bye => "BYE",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Message => "MESSAGE",
            Method::Info => "INFO",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Refer => "REFER",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }
}
