//! MSRP wire codec (RFC 4975 §6, §7, §9): a streaming framer that never holds a whole
//! message, typed header values (Byte-Range, Status, report modes, Use-Nickname of RFC 7701
//! §7.1), MSRP URI parsing and comparison (RFC 4975 §6.1), and emitters for requests and
//! responses. Stateless apart from the framer's own buffers; no time, no IO.
//!
//! Sub-modules: `framer` (push bytes → Head / Body / End), `header` (typed values),
//! `uri` (URIs and paths), `emit` (requests, responses), `sink` (the [`Sink`] trait, lengths,
//! decimals).

mod emit;
mod framer;
mod header;
mod sink;
mod uri;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod vectors;

pub use emit::{emit_request, emit_response, response_to_path, Request, Response};
pub use framer::{Event, Framer, Head, Headers, StartLine, END_WINDOW};
pub use header::{is_media_type, ByteRange, ReportMode, StatusHeader};
pub use sink::{encoded_len, Counter, Decimal, Sink};
pub use uri::{first_uri, last_uri, path_uris, uri_text_eq, MsrpUri};

/// Longest RFC 4975 `ident` (transaction id, Message-ID): `ALPHANUM 3*31ident-char`.
pub const MAX_IDENT_LEN: usize = 32;

/// True for a byte allowed in an RFC 4975 `ident`: ALPHANUM / "." / "-" / "+" / "%" / "=".
pub fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'%' | b'=')
}

/// True when `s` is a well-formed RFC 4975 `ident` (4..32 ident characters, first ALPHANUM).
pub fn is_ident(s: &[u8]) -> bool {
    (4..=MAX_IDENT_LEN).contains(&s.len())
        && s.first().is_some_and(u8::is_ascii_alphanumeric)
        && s.iter().all(|b| is_ident_byte(*b))
}

/// The continuation flag of an end-line (RFC 4975 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flag {
    /// `+`: more chunks of this message follow.
    More,
    /// `$`: the last chunk of the message.
    Last,
    /// `#`: the message was aborted.
    Abort,
}

impl Flag {
    /// The flag from its wire byte.
    pub fn from_byte(b: u8) -> Option<Flag> {
        match b {
            b'+' => Some(Flag::More),
            b'$' => Some(Flag::Last),
            b'#' => Some(Flag::Abort),
            _ => None,
        }
    }

    /// The wire byte.
    pub fn byte(self) -> u8 {
        match self {
            Flag::More => b'+',
            Flag::Last => b'$',
            Flag::Abort => b'#',
        }
    }

    /// The wire byte as a one-byte static slice.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Flag::More => b"+",
            Flag::Last => b"$",
            Flag::Abort => b"#",
        }
    }
}

/// A request method (RFC 4975 §7; NICKNAME from RFC 7701 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method<'a> {
    /// `SEND`.
    Send,
    /// `REPORT`.
    Report,
    /// `NICKNAME` (RFC 7701).
    Nickname,
    /// Any other method token, as received.
    Other(&'a str),
}

impl<'a> Method<'a> {
    /// The method for a start-line token (methods are case-sensitive upper case).
    pub fn from_token(token: &'a str) -> Method<'a> {
        match token {
            "SEND" => Method::Send,
            "REPORT" => Method::Report,
            "NICKNAME" => Method::Nickname,
            other => Method::Other(other),
        }
    }

    /// The wire token.
    pub fn as_str(&self) -> &'a str {
        match self {
            Method::Send => "SEND",
            Method::Report => "REPORT",
            Method::Nickname => "NICKNAME",
            Method::Other(s) => s,
        }
    }
}

/// Everything that can be wrong with MSRP input, from framing to session and room rules.
/// [`MsrpError::status`] is the one table mapping each to an MSRP status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MsrpError {
    /// The first line is not `MSRP tid METHOD` / `MSRP tid CODE [comment]`.
    BadStartLine,
    /// The transaction id is empty, too long or has characters outside `ident`.
    BadTransactionId,
    /// Start line plus headers exceed the configured buffer.
    HeaderTooLarge,
    /// More header fields than the configured limit.
    TooManyHeaders,
    /// A header block that is not UTF-8 or a required header that is missing or malformed.
    BadHeader,
    /// A Byte-Range value that does not parse or is inconsistent.
    BadByteRange,
    /// A Status header that does not parse.
    BadStatus,
    /// A To-Path or From-Path URI that does not parse.
    BadUri,
    /// The To-Path names no session (bound to this connection).
    SessionUnknown,
    /// The session is already bound to another connection (RFC 4975 §5.4).
    SessionInUse,
    /// The request is not allowed (From-Path/CPIM From mismatch, several To, policy).
    Forbidden,
    /// The content is not Message/CPIM (RFC 7701 §6.3).
    UnsupportedMedia,
    /// A message, chunk or header block over a configured limit, or too many in flight.
    TooLarge,
    /// CPIM To names nobody in the room (RFC 7701 §6.2).
    UnknownRecipient,
    /// The recipient did not declare `private-messages` (RFC 7701 §6.2).
    PrivateNotSupported,
    /// Use-Nickname is not a valid quoted string (RFC 7701 §7.1).
    BadNickname,
    /// The nickname is in use by another user or reserved (RFC 7701 §7.1).
    NicknameTaken,
    /// Unknown method (RFC 4975 §12).
    NotImplemented,
    /// A bodiless message ended with an end-line of another transaction id (RFC 4975 §7.1:
    /// the end-line repeats the start line's). The head is complete (`Framer::head`), the
    /// stream is not trusted any further.
    BadEndLine,
}

impl MsrpError {
    /// The MSRP status code and comment for a response carrying this error.
    pub fn status(self) -> (u16, &'static str) {
        match self {
            MsrpError::BadStartLine
            | MsrpError::BadTransactionId
            | MsrpError::TooManyHeaders
            | MsrpError::BadHeader
            | MsrpError::BadByteRange
            | MsrpError::BadStatus
            | MsrpError::BadUri
            | MsrpError::BadEndLine => (400, "Bad request"),
            MsrpError::HeaderTooLarge | MsrpError::TooLarge => (413, "Message too large"),
            MsrpError::SessionUnknown => (481, "Session does not exist"),
            MsrpError::SessionInUse => (506, "Session already bound"),
            MsrpError::Forbidden => (403, "Forbidden"),
            MsrpError::UnsupportedMedia => (415, "Unsupported media type"),
            MsrpError::UnknownRecipient => (404, "Failure to resolve recipient's URI"),
            MsrpError::PrivateNotSupported => (428, "Private messages not supported"),
            MsrpError::BadNickname => (424, "Malformed nickname"),
            MsrpError::NicknameTaken => (425, "Nickname reserved or already in use"),
            MsrpError::NotImplemented => (501, "Not implemented"),
        }
    }
}
