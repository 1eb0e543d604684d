//! Whole SIP messages (RFC 3261 §7): the request line and status line (hand-written;
//! httparse only knows HTTP start lines), the header block, and the body delimited by
//! Content-Length (§18.3, §20.14).

use super::header::{parse_block, Headers};
use super::lex::is_token;
use super::{Method, SipError, SipLimits};

/// `METHOD Request-URI SIP/2.0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: Method<'a>,
    /// The Request-URI as written (at most `max_uri_bytes`).
    pub uri: &'a str,
}

/// `SIP/2.0 CODE Reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusLine<'a> {
    pub code: u16,
    pub reason: &'a str,
}

/// The first line of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartLine<'a> {
    Request(RequestLine<'a>),
    Response(StatusLine<'a>),
}

/// A parsed message: views into the input bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub start: StartLine<'a>,
    pub headers: Headers<'a>,
    /// The body: exactly Content-Length bytes (or the rest of the datagram without one).
    pub body: &'a [u8],
}

impl<'a> Message<'a> {
    /// The request line, if this is a request.
    pub fn request(&self) -> Option<RequestLine<'a>> {
        match self.start {
            StartLine::Request(r) => Some(r),
            StartLine::Response(_) => None,
        }
    }

    /// The status line, if this is a response.
    pub fn status(&self) -> Option<StatusLine<'a>> {
        match self.start {
            StartLine::Response(s) => Some(s),
            StartLine::Request(_) => None,
        }
    }
}

/// Why a message was refused, with what could still be read of it: enough (a request's
/// method and header block) lets the receiver answer with `error.status()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFailure<'a> {
    pub error: SipError,
    /// The method, when the first line was recognisably a request.
    pub method: Option<Method<'a>>,
    /// The header block, when it parsed.
    pub headers: Option<Headers<'a>>,
}

impl<'a> ParseFailure<'a> {
    fn bare(error: SipError) -> Self {
        ParseFailure {
            error,
            method: None,
            headers: None,
        }
    }
}

/// Parses one complete message (a datagram or a frame from [`super::StreamFramer`]).
/// Leading CRLFs are skipped; bytes after Content-Length are ignored; a Content-Length
/// larger than what follows the headers is `BodyTruncated`.
pub fn parse<'a>(bytes: &'a [u8], limits: &SipLimits) -> Result<Message<'a>, ParseFailure<'a>> {
    parse_inner(bytes, limits, false)
}

/// Parses only the start line and header block of `bytes` (the body may be missing); used
/// to answer a message whose body is too large to buffer.
pub fn parse_head<'a>(
    bytes: &'a [u8],
    limits: &SipLimits,
) -> Result<Message<'a>, ParseFailure<'a>> {
    parse_inner(bytes, limits, true)
}

fn parse_inner<'a>(
    bytes: &'a [u8],
    limits: &SipLimits,
    head_only: bool,
) -> Result<Message<'a>, ParseFailure<'a>> {
    let skip = bytes
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(bytes.len());
    let bytes = bytes.get(skip..).unwrap_or_default();
    if !head_only && bytes.len() > limits.max_message_bytes {
        return Err(ParseFailure::bare(SipError::TooLarge));
    }
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(ParseFailure::bare(SipError::BadStartLine))?;
    let line = bytes.get(..nl).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let after_line = bytes.get(nl + 1..).unwrap_or_default();
    let start = std::str::from_utf8(line)
        .map_err(|_| SipError::BadStartLine)
        .and_then(|l| parse_start_line(l, limits));
    let method = match &start {
        Ok(StartLine::Request(r)) => Some(r.method),
        Ok(StartLine::Response(_)) => None,
        Err(_) => request_method_guess(line),
    };
    let (headers, used) = match parse_block(after_line, limits) {
        Ok(ok) => ok,
        Err(error) => {
            return Err(ParseFailure {
                error: start.err().unwrap_or(error),
                method,
                headers: None,
            })
        }
    };
    let start = match start {
        Ok(s) => s,
        Err(error) => {
            return Err(ParseFailure {
                error,
                method,
                headers: Some(headers),
            })
        }
    };
    if headers.had_invalid_utf8() {
        // RFC 3261 §7.3 / §25.1: header text is UTF-8; the (lossy) block still lets the
        // receiver answer 400.
        return Err(ParseFailure {
            error: SipError::BadHeader,
            method,
            headers: Some(headers),
        });
    }
    let rest = after_line.get(used..).unwrap_or_default();
    let body = if head_only {
        Ok(&[][..])
    } else {
        match headers.content_length() {
            Ok(Some(n)) => rest.get(..n).ok_or(SipError::BodyTruncated),
            Ok(None) => Ok(rest),
            Err(e) => Err(e),
        }
    };
    match body {
        Ok(body) => Ok(Message {
            start,
            headers,
            body,
        }),
        Err(error) => Err(ParseFailure {
            error,
            method,
            headers: Some(headers),
        }),
    }
}

/// The method token of a request line that failed to parse as a whole, if it has one.
fn request_method_guess(line: &[u8]) -> Option<Method<'_>> {
    let text = std::str::from_utf8(line).ok()?;
    let token = text.split(' ').next()?;
    (is_token(token) && !token.starts_with("SIP/")).then(|| Method::from_token(token))
}

fn is_sip_version(v: &str) -> bool {
    v.eq_ignore_ascii_case("SIP/2.0")
}

/// Parses the first line of a message.
fn parse_start_line<'a>(line: &'a str, limits: &SipLimits) -> Result<StartLine<'a>, SipError> {
    if line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
    {
        let mut it = line.splitn(3, ' ');
        let version = it.next().unwrap_or_default();
        let code = it.next().unwrap_or_default();
        let reason = it.next().unwrap_or_default();
        if !is_sip_version(version) {
            return Err(SipError::BadVersion);
        }
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SipError::BadStartLine);
        }
        let code: u16 = code.parse().map_err(|_| SipError::BadStartLine)?;
        if !(100..700).contains(&code) {
            return Err(SipError::BadStartLine);
        }
        return Ok(StartLine::Response(StatusLine { code, reason }));
    }
    let mut it = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(SipError::BadStartLine);
    };
    if !is_token(method) || uri.is_empty() {
        return Err(SipError::BadStartLine);
    }
    if !is_sip_version(version) {
        let looks_like_sip = version
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
        return Err(if looks_like_sip {
            SipError::BadVersion
        } else {
            SipError::BadStartLine
        });
    }
    if uri.len() > limits.max_uri_bytes {
        return Err(SipError::UriTooLong);
    }
    Ok(StartLine::Request(RequestLine {
        method: Method::from_token(method),
        uri,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> SipLimits {
        SipLimits {
            max_headers: 16,
            max_message_bytes: 1024,
            max_uri_bytes: 64,
        }
    }

    #[test]
    fn request_and_response_lines() {
        let m = parse(b"OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n\r\n", &limits()).unwrap();
        assert_eq!(
            m.request(),
            Some(RequestLine {
                method: Method::Options,
                uri: "sip:a@b"
            })
        );
        let m = parse(b"SIP/2.0 180 Ringing now\r\n\r\n", &limits()).unwrap();
        assert_eq!(
            m.status(),
            Some(StatusLine {
                code: 180,
                reason: "Ringing now"
            })
        );
    }

    #[test]
    fn start_line_errors_keep_headers() {
        let f = parse(b"INVITE sip:a@b SIP/3.0\r\nCall-ID: x\r\n\r\n", &limits()).unwrap_err();
        assert_eq!(f.error, SipError::BadVersion);
        assert_eq!(f.method, Some(Method::Invite));
        assert_eq!(f.headers.unwrap().call_id(), Ok("x"));
        let f = parse(b"INVITE  sip:a@b SIP/2.0\r\n\r\n", &limits()).unwrap_err();
        assert_eq!(f.error, SipError::BadStartLine);
        let f = parse(b"SIP/2.0 99 Low\r\n\r\n", &limits()).unwrap_err();
        assert_eq!((f.error, f.method), (SipError::BadStartLine, None));
        let long = format!("INVITE sip:{}@b SIP/2.0\r\n\r\n", "a".repeat(64));
        let f = parse(long.as_bytes(), &limits()).unwrap_err();
        assert_eq!(f.error, SipError::UriTooLong);
        let f = parse(b"GET / HTTP/1.1\r\n\r\n", &limits()).unwrap_err();
        assert_eq!(f.error, SipError::BadStartLine);
        let f = parse(b"no newline at all", &limits()).unwrap_err();
        assert_eq!(f.error, SipError::BadStartLine);
    }

    #[test]
    fn body_by_content_length() {
        let m = parse(
            b"\r\n\r\nBYE sip:a@b SIP/2.0\r\nl: 3\r\n\r\nabcdef",
            &limits(),
        )
        .unwrap();
        assert_eq!(m.body, b"abc");
        let m = parse(b"BYE sip:a@b SIP/2.0\r\n\r\nxyz", &limits()).unwrap();
        assert_eq!(m.body, b"xyz");
        let f = parse(b"BYE sip:a@b SIP/2.0\r\nl: 9\r\n\r\nxyz", &limits()).unwrap_err();
        assert_eq!(f.error, SipError::BodyTruncated);
        assert!(f.headers.is_some());
        let m = parse_head(b"BYE sip:a@b SIP/2.0\r\nl: 9\r\n\r\nxyz", &limits()).unwrap();
        assert_eq!(m.body, b"");
    }

    #[test]
    fn oversized_datagram() {
        let big = vec![b'a'; 1025];
        assert_eq!(
            parse(&big, &limits()).unwrap_err().error,
            SipError::TooLarge
        );
    }
}
