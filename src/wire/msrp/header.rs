//! Typed MSRP header values (RFC 4975 §7.1.1 Byte-Range, §7.1.2 Status, §7.2 report modes,
//! §8.6 media types; RFC 7701 §7.1 Use-Nickname): parse from the raw value, emit to a sink.

use super::sink::{put_u64, Sink};
use super::MsrpError;

/// A `Byte-Range: start-end/total` value; `None` end or total is `*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// First octet of the chunk, 1-based.
    pub start: u64,
    /// Last octet of the chunk (`end = start - 1` for an empty chunk), or unknown.
    pub end: Option<u64>,
    /// Octets in the whole message, or unknown.
    pub total: Option<u64>,
}

impl ByteRange {
    /// The range assumed when a first chunk carries none: `1-*/*`.
    pub const UNKNOWN: ByteRange = ByteRange {
        start: 1,
        end: None,
        total: None,
    };

    /// Parses `start-end/total` (`*` allowed for end and total).
    pub fn parse(value: &str) -> Result<ByteRange, MsrpError> {
        let (range, total) = value
            .trim()
            .split_once('/')
            .ok_or(MsrpError::BadByteRange)?;
        let (start, end) = range.split_once('-').ok_or(MsrpError::BadByteRange)?;
        let start = digits(start)?.ok_or(MsrpError::BadByteRange)?;
        let end = digits(end)?;
        let total = digits(total)?;
        if start == 0 || total.is_some_and(|t| start > t.saturating_add(1)) {
            return Err(MsrpError::BadByteRange);
        }
        if let Some(e) = end {
            if e.saturating_add(1) < start {
                return Err(MsrpError::BadByteRange);
            }
            if total.is_some_and(|t| e > t) {
                return Err(MsrpError::BadByteRange);
            }
        }
        Ok(ByteRange { start, end, total })
    }

    /// Writes the value (no header name, no CRLF).
    pub fn emit<S: Sink + ?Sized>(&self, sink: &mut S) {
        put_u64(sink, self.start);
        sink.put(b"-");
        match self.end {
            Some(e) => put_u64(sink, e),
            None => sink.put(b"*"),
        }
        sink.put(b"/");
        match self.total {
            Some(t) => put_u64(sink, t),
            None => sink.put(b"*"),
        }
    }
}

/// `1*DIGIT` as u64, or `*` as `None`.
fn digits(s: &str) -> Result<Option<u64>, MsrpError> {
    if s == "*" {
        return Ok(None);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MsrpError::BadByteRange);
    }
    s.parse::<u64>()
        .map(Some)
        .map_err(|_| MsrpError::BadByteRange)
}

/// A `Status: namespace SP code [SP comment]` value (RFC 4975 §7.1.2; namespace `000`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusHeader<'a> {
    /// The namespace, `000` for MSRP status codes.
    pub namespace: u16,
    /// The status code.
    pub code: u16,
    /// The reason text, if any.
    pub comment: Option<&'a str>,
}

impl<'a> StatusHeader<'a> {
    /// Parses `000 200 OK`.
    pub fn parse(value: &'a str) -> Result<StatusHeader<'a>, MsrpError> {
        let value = value.trim();
        let (ns, rest) = value.split_once(' ').ok_or(MsrpError::BadStatus)?;
        let (code, comment) = match rest.split_once(' ') {
            Some((c, text)) => (c, Some(text)),
            None => (rest, None),
        };
        Ok(StatusHeader {
            namespace: three_digits(ns)?,
            code: three_digits(code)?,
            comment,
        })
    }

    /// Writes the value (no header name, no CRLF).
    pub fn emit<S: Sink + ?Sized>(&self, sink: &mut S) {
        put_three_digits(sink, self.namespace);
        sink.put(b" ");
        put_three_digits(sink, self.code);
        if let Some(c) = self.comment {
            sink.put(b" ");
            sink.put(c.as_bytes());
        }
    }
}

fn three_digits(s: &str) -> Result<u16, MsrpError> {
    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MsrpError::BadStatus);
    }
    s.parse().map_err(|_| MsrpError::BadStatus)
}

fn put_three_digits<S: Sink + ?Sized>(sink: &mut S, v: u16) {
    let v = v % 1000;
    let b = [
        b'0' + (v / 100) as u8,
        b'0' + (v / 10 % 10) as u8,
        b'0' + (v % 10) as u8,
    ];
    sink.put(&b);
}

/// The Success-Report / Failure-Report value (RFC 4975 §7.2, defaults per §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportMode {
    /// `yes`.
    Yes,
    /// `no`.
    No,
    /// `partial` (Failure-Report only): errors only, never a 200.
    Partial,
}

impl ReportMode {
    /// Failure-Report: absent or unrecognised → `yes`.
    pub fn failure(value: Option<&str>) -> ReportMode {
        match value.map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("no") => ReportMode::No,
            Some(v) if v.eq_ignore_ascii_case("partial") => ReportMode::Partial,
            _ => ReportMode::Yes,
        }
    }

    /// Success-Report: only `yes` asks for a success REPORT; absent → `no`.
    pub fn success(value: Option<&str>) -> ReportMode {
        match value.map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("yes") => ReportMode::Yes,
            _ => ReportMode::No,
        }
    }
}

/// True when a Content-Type value names `media_type` (case-insensitive, parameters ignored).
pub fn is_media_type(content_type: &str, media_type: &str) -> bool {
    let bare = content_type.split(';').next().unwrap_or("").trim();
    bare.eq_ignore_ascii_case(media_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emitted(r: &ByteRange) -> String {
        let mut v = Vec::new();
        r.emit(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn byte_range_round_trips() {
        for (text, start, end, total) in [
            ("1-*/*", 1, None, None),
            ("1-25/25", 1, Some(25), Some(25)),
            ("5-8/8", 5, Some(8), Some(8)),
            ("1-0/0", 1, Some(0), Some(0)),
            ("162-*/171", 162, None, Some(171)),
        ] {
            let r = ByteRange::parse(text).unwrap();
            assert_eq!(r, ByteRange { start, end, total }, "{text}");
            assert_eq!(emitted(&r), text);
        }
    }

    #[test]
    fn byte_range_rejects_garbage() {
        for bad in [
            "", "1-2", "0-1/1", "a-1/1", "5-2/9", "1-9/5", "1--2/3", "-1-2/2", "1-2/x",
        ] {
            assert_eq!(ByteRange::parse(bad), Err(MsrpError::BadByteRange), "{bad}");
        }
    }

    #[test]
    fn status_header_parses_and_emits() {
        let s = StatusHeader::parse("000 200 OK").unwrap();
        assert_eq!((s.namespace, s.code, s.comment), (0, 200, Some("OK")));
        let mut v = Vec::new();
        s.emit(&mut v);
        assert_eq!(v, b"000 200 OK");
        let s = StatusHeader::parse("000 428 Private messages not supported").unwrap();
        assert_eq!(s.comment, Some("Private messages not supported"));
        assert_eq!(StatusHeader::parse("000 20 OK"), Err(MsrpError::BadStatus));
        assert_eq!(StatusHeader::parse("200"), Err(MsrpError::BadStatus));
    }

    #[test]
    fn report_modes_default_per_rfc() {
        assert_eq!(ReportMode::failure(None), ReportMode::Yes);
        assert_eq!(ReportMode::failure(Some("no")), ReportMode::No);
        assert_eq!(ReportMode::failure(Some("Partial")), ReportMode::Partial);
        assert_eq!(ReportMode::success(None), ReportMode::No);
        assert_eq!(ReportMode::success(Some("yes")), ReportMode::Yes);
    }

    #[test]
    fn media_type_ignores_case_and_parameters() {
        assert!(is_media_type("message/cpim", "message/cpim"));
        assert!(is_media_type("Message/CPIM; charset=x", "message/cpim"));
        assert!(!is_media_type("text/plain", "message/cpim"));
    }
}
