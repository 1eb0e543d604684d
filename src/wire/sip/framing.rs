//! Message framing (RFC 3261 §18.3): over UDP one datagram is one message (see
//! [`super::parse`]); over TCP a [`StreamFramer`] cuts the byte stream at the end of the
//! header block plus Content-Length, skipping keep-alive CRLFs (RFC 5626 §3.5.1) between
//! messages and refusing anything larger than the message limit.

use super::header::parse_decimal;
use super::lex::is_lws;
use super::SipError;

/// True for a datagram or stream segment that is only CR/LF (a keep-alive ping).
pub fn is_keepalive(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == b'\r' || b == b'\n')
}

/// Cuts a SIP byte stream into whole messages. Holds at most one partial message (bounded
/// by `max_message_bytes`) plus the bytes of the last `push`.
#[derive(Clone, Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
    /// Length of the frame handed out by the last `next_frame`, dropped on the next call.
    handed_out: usize,
    /// Where the header-end search resumes.
    scanned: usize,
    /// Length of the header block of the message being framed, once known.
    head_len: Option<usize>,
    /// Head + body length of the message being framed, once known.
    frame_len: Option<usize>,
    max_message_bytes: usize,
    failed: Option<SipError>,
}

impl StreamFramer {
    /// A framer refusing messages over `max_message_bytes`.
    pub fn new(max_message_bytes: usize) -> Self {
        StreamFramer {
            max_message_bytes,
            ..StreamFramer::default()
        }
    }

    /// Appends bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.drop_handed_out();
        if self.failed.is_none() {
            // Amortized doubling only up to the message limit, exact beyond: the buffer's
            // capacity never passes `max_message_bytes` plus one read (what
            // `Limits::sip_connection_bytes` counts), where doubling could reach twice that.
            let needed = self.buf.len().saturating_add(bytes.len());
            if needed > self.buf.capacity() {
                let doubled = self.buf.capacity().saturating_mul(2);
                let target = needed.max(doubled.min(self.max_message_bytes));
                self.buf.reserve_exact(target - self.buf.len());
            }
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes held (partial message and unframed input).
    pub fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.handed_out)
    }

    /// The next whole message, `Ok(None)` if more bytes are needed. An error is final: the
    /// connection cannot be resynchronised and must be closed.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, SipError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        self.drop_handed_out();
        if self.head_len.is_none() {
            let blank = self
                .buf
                .iter()
                .position(|&b| b != b'\r' && b != b'\n')
                .unwrap_or(self.buf.len());
            if blank > 0 {
                self.buf.drain(..blank);
                self.scanned = 0;
            }
            match find_head_end(&self.buf, self.scanned) {
                Some(end) => {
                    let body = match content_length(self.buf.get(..end).unwrap_or_default()) {
                        Ok(n) => n,
                        Err(e) => return Err(self.fail(e, Some(end))),
                    };
                    self.head_len = Some(end);
                    self.frame_len = Some(end.saturating_add(body));
                }
                None => {
                    self.scanned = self.buf.len().saturating_sub(2);
                    if self.buf.len() > self.max_message_bytes {
                        return Err(self.fail(SipError::TooLarge, None));
                    }
                    return Ok(None);
                }
            }
        }
        let total = self.frame_len.unwrap_or(0);
        if total > self.max_message_bytes {
            return Err(self.fail(SipError::TooLarge, self.head_len));
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        self.handed_out = total;
        self.head_len = None;
        self.frame_len = None;
        self.scanned = 0;
        Ok(self.buf.get(..total))
    }

    /// The complete header block of the message that could not be framed (after a
    /// `TooLarge`/`BadContentLength` error), to answer it before closing.
    pub fn pending_head(&self) -> Option<&[u8]> {
        self.head_len.and_then(|n| self.buf.get(..n))
    }

    fn fail(&mut self, e: SipError, head_len: Option<usize>) -> SipError {
        self.failed = Some(e);
        self.head_len = head_len;
        if head_len.is_none() {
            self.buf = Vec::new();
        } else {
            self.buf.truncate(head_len.unwrap_or(0));
        }
        e
    }

    fn drop_handed_out(&mut self) {
        if self.handed_out > 0 {
            self.buf.drain(..self.handed_out.min(self.buf.len()));
            self.handed_out = 0;
            self.scanned = 0;
        }
    }
}

/// End (exclusive) of the header block: the first LF followed by an empty line.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let tail = buf.get(from..)?;
    tail.iter().enumerate().find_map(|(i, &b)| {
        if b != b'\n' {
            return None;
        }
        let at = from + i;
        match (buf.get(at + 1), buf.get(at + 2)) {
            (Some(b'\n'), _) => Some(at + 2),
            (Some(b'\r'), Some(b'\n')) => Some(at + 3),
            _ => None,
        }
    })
}

/// Content-Length (or `l`) of a header block; 0 when absent; lines must agree.
fn content_length(head: &[u8]) -> Result<usize, SipError> {
    let mut found: Option<usize> = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = std::str::from_utf8(line.get(..colon).unwrap_or_default())
            .unwrap_or_default()
            .trim_matches(is_lws);
        if !(name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l")) {
            continue;
        }
        let value = std::str::from_utf8(line.get(colon + 1..).unwrap_or_default())
            .map_err(|_| SipError::BadContentLength)?
            .trim_matches(is_lws);
        let n = parse_decimal(value).ok_or(SipError::BadContentLength)?;
        if found.is_some_and(|f| f != n) {
            return Err(SipError::BadContentLength);
        }
        found = Some(n);
    }
    Ok(found.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"BYE sip:a@b SIP/2.0\r\nl: 3\r\n\r\nabc";

    #[test]
    fn two_messages_with_keepalives_between() {
        let mut f = StreamFramer::new(1024);
        let mut input = b"\r\n\r\n".to_vec();
        input.extend_from_slice(MSG);
        input.extend_from_slice(b"\r\n\r\n");
        input.extend_from_slice(MSG);
        f.push(&input);
        assert_eq!(f.next_frame(), Ok(Some(MSG)));
        assert_eq!(f.next_frame(), Ok(Some(MSG)));
        assert_eq!(f.next_frame(), Ok(None));
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn byte_by_byte() {
        let mut f = StreamFramer::new(1024);
        for (i, b) in MSG.iter().enumerate() {
            f.push(std::slice::from_ref(b));
            let got = f.next_frame().unwrap().map(<[u8]>::to_vec);
            if i + 1 == MSG.len() {
                assert_eq!(got.as_deref(), Some(MSG));
            } else {
                assert_eq!(got, None, "at {i}");
            }
        }
    }

    #[test]
    fn lf_only_head_and_missing_length() {
        let mut f = StreamFramer::new(1024);
        f.push(b"OPTIONS sip:a SIP/2.0\nTo: x\n\nOPTIONS");
        assert_eq!(
            f.next_frame(),
            Ok(Some(&b"OPTIONS sip:a SIP/2.0\nTo: x\n\n"[..]))
        );
        assert_eq!(f.next_frame(), Ok(None));
        assert_eq!(f.buffered(), 7);
    }

    #[test]
    fn too_large_body_keeps_the_head() {
        let mut f = StreamFramer::new(40);
        f.push(b"INVITE sip:a SIP/2.0\r\nl: 100\r\n\r\nxx");
        assert_eq!(f.next_frame(), Err(SipError::TooLarge));
        assert_eq!(
            f.pending_head(),
            Some(&b"INVITE sip:a SIP/2.0\r\nl: 100\r\n\r\n"[..])
        );
        f.push(b"more");
        assert_eq!(f.next_frame(), Err(SipError::TooLarge));
    }

    #[test]
    fn endless_head_is_too_large() {
        let mut f = StreamFramer::new(64);
        for _ in 0..10 {
            f.push(b"X-Long: aaaaaaaa\r\n");
            if f.next_frame().is_err() {
                break;
            }
        }
        assert_eq!(f.next_frame(), Err(SipError::TooLarge));
        assert_eq!(f.pending_head(), None);
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn bad_content_length() {
        let mut f = StreamFramer::new(1024);
        f.push(b"BYE sip:a SIP/2.0\r\nContent-Length: x\r\n\r\n");
        assert_eq!(f.next_frame(), Err(SipError::BadContentLength));
        assert!(f.pending_head().is_some());
    }

    #[test]
    fn keepalive_detection() {
        assert!(is_keepalive(b"\r\n\r\n"));
        assert!(!is_keepalive(b"\r\nX"));
    }

    /// Issue 15: a half-sent message held by a SIP TCP connection costs at most the message
    /// limit plus one read, never the doubling's twice that (`Limits::sip_connection_bytes`).
    #[test]
    fn a_half_sent_message_holds_no_more_than_the_limit_plus_one_read() {
        const MAX: usize = 8192;
        const READ: usize = 1000;
        let mut f = StreamFramer::new(MAX);
        let mut head = b"OPTIONS sip:a SIP/2.0\r\nX-Pad: ".to_vec();
        head.resize(MAX - 1, b'p');
        for piece in head.chunks(READ) {
            f.push(piece);
            assert_eq!(f.next_frame(), Ok(None));
            assert!(
                f.buf.capacity() <= MAX + READ,
                "capacity {} holding {}",
                f.buf.capacity(),
                f.buffered()
            );
        }
        assert_eq!(f.buffered(), MAX - 1);
    }
}
