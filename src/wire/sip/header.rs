//! SIP header fields (RFC 3261 §7.3, §20): names with their compact forms (§7.3.3), the
//! header block parsed with `httparse::parse_headers` and a tolerant fallback for what it
//! refuses (`Name : value`, folded lines, §7.3.1), and typed look-ups.

use std::borrow::Cow;

use super::lex::{is_lws, is_token};
use super::values::{CSeq, NameAddr, Via};
use super::{SipError, SipLimits};

/// A header field name; compact forms and any letter case map to the same variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderName<'a> {
    Via,
    From,
    To,
    CallId,
    CSeq,
    Contact,
    ContentLength,
    ContentType,
    ContentEncoding,
    MaxForwards,
    Require,
    ProxyRequire,
    Supported,
    Subject,
    Event,
    AllowEvents,
    SessionExpires,
    ReferTo,
    ReferredBy,
    RejectContact,
    AcceptContact,
    Identity,
    IdentityInfo,
    RequestDisposition,
    Accept,
    Allow,
    Expires,
    RecordRoute,
    Route,
    /// Any other name, as written.
    Other(&'a str),
}

/// Full names and the compact letter (if any), in one table.
const NAMES: &[(HeaderName<'static>, &str, Option<u8>)] = &[
    (HeaderName::Via, "Via", Some(b'v')),
    (HeaderName::From, "From", Some(b'f')),
    (HeaderName::To, "To", Some(b't')),
    (HeaderName::CallId, "Call-ID", Some(b'i')),
    (HeaderName::CSeq, "CSeq", None),
    (HeaderName::Contact, "Contact", Some(b'm')),
    (HeaderName::ContentLength, "Content-Length", Some(b'l')),
    (HeaderName::ContentType, "Content-Type", Some(b'c')),
    (HeaderName::ContentEncoding, "Content-Encoding", Some(b'e')),
    (HeaderName::MaxForwards, "Max-Forwards", None),
    (HeaderName::Require, "Require", None),
    (HeaderName::ProxyRequire, "Proxy-Require", None),
    (HeaderName::Supported, "Supported", Some(b'k')),
    (HeaderName::Subject, "Subject", Some(b's')),
    (HeaderName::Event, "Event", Some(b'o')),
    (HeaderName::AllowEvents, "Allow-Events", Some(b'u')),
    (HeaderName::SessionExpires, "Session-Expires", Some(b'x')),
    (HeaderName::ReferTo, "Refer-To", Some(b'r')),
    (HeaderName::ReferredBy, "Referred-By", Some(b'b')),
    (HeaderName::RejectContact, "Reject-Contact", Some(b'j')),
    (HeaderName::AcceptContact, "Accept-Contact", Some(b'a')),
    (HeaderName::Identity, "Identity", Some(b'y')),
    (HeaderName::IdentityInfo, "Identity-Info", Some(b'n')),
    (
        HeaderName::RequestDisposition,
        "Request-Disposition",
        Some(b'd'),
    ),
    (HeaderName::Accept, "Accept", None),
    (HeaderName::Allow, "Allow", None),
    (HeaderName::Expires, "Expires", None),
    (HeaderName::RecordRoute, "Record-Route", None),
    (HeaderName::Route, "Route", None),
];

impl<'a> HeaderName<'a> {
    /// The variant for a name as written (full or compact form, any case).
    pub fn from_wire(name: &'a str) -> HeaderName<'a> {
        let compact = match name.as_bytes() {
            [c] => Some(c.to_ascii_lowercase()),
            _ => None,
        };
        for (variant, full, letter) in NAMES {
            let hit = match compact {
                Some(c) => *letter == Some(c),
                None => full.eq_ignore_ascii_case(name),
            };
            if hit {
                return *variant;
            }
        }
        HeaderName::Other(name)
    }

    /// The full name used when emitting.
    pub fn as_str(self) -> &'a str {
        match self {
            HeaderName::Other(s) => s,
            known => NAMES
                .iter()
                .find(|(v, _, _)| *v == known)
                .map_or("", |(_, full, _)| full),
        }
    }

    /// Same header field (names of unknown fields compare case-insensitively).
    pub fn same_as(self, other: HeaderName<'_>) -> bool {
        match (self, other) {
            (HeaderName::Other(a), HeaderName::Other(b)) => a.eq_ignore_ascii_case(b),
            (HeaderName::Other(_), _) | (_, HeaderName::Other(_)) => false,
            (a, b) => a == b,
        }
    }
}

/// One header field: its name and its value with surrounding whitespace removed (a folded
/// value is unfolded into an owned string, every other value borrows the input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipHeader<'a> {
    pub name: HeaderName<'a>,
    pub value: Cow<'a, str>,
}

/// The header fields of one message, in wire order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers<'a> {
    list: Vec<SipHeader<'a>>,
    /// Some value was not UTF-8 (RFC 3261 §7.3: UTF8-NONASCII only); it is kept with
    /// U+FFFD in place of the bad bytes, so a 400 can still echo the block.
    invalid_utf8: bool,
}

impl<'a> Headers<'a> {
    /// Headers from a list (tests, emitters).
    pub fn from_list(list: Vec<SipHeader<'a>>) -> Self {
        Headers {
            list,
            invalid_utf8: false,
        }
    }

    /// True if some header line was not UTF-8: the message is malformed (400).
    pub fn had_invalid_utf8(&self) -> bool {
        self.invalid_utf8
    }

    /// Every field in wire order.
    pub fn iter(&self) -> impl Iterator<Item = &SipHeader<'a>> {
        self.list.iter()
    }

    /// Number of header lines (after unfolding).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// No header at all.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The value of the first field called `name`.
    pub fn get(&self, name: HeaderName<'_>) -> Option<&str> {
        self.list
            .iter()
            .find(|h| h.name.same_as(name))
            .map(|h| h.value.as_ref())
    }

    /// Every line of the field called `name`, in order.
    pub fn get_all<'s>(&'s self, name: HeaderName<'s>) -> impl Iterator<Item = &'s str> + 's {
        self.list
            .iter()
            .filter(move |h| h.name.same_as(name))
            .map(|h| h.value.as_ref())
    }

    /// Every comma-separated element of every line of `name` (RFC 3261 §7.3.1), in order.
    pub fn elements<'s>(&'s self, name: HeaderName<'s>) -> impl Iterator<Item = &'s str> + 's {
        self.get_all(name).flat_map(split_commas)
    }

    /// Every Via value, topmost first, across lines and commas.
    pub fn vias(&self) -> impl Iterator<Item = &str> {
        self.elements(HeaderName::Via)
    }

    /// The topmost Via, parsed.
    pub fn top_via(&self) -> Result<Via<'_>, SipError> {
        let raw = self.vias().next().ok_or(SipError::MissingHeader)?;
        Via::parse(raw)
    }

    /// The From header as a name-addr.
    pub fn from(&self) -> Result<NameAddr<'_>, SipError> {
        NameAddr::parse(self.get(HeaderName::From).ok_or(SipError::MissingHeader)?)
    }

    /// The To header as a name-addr.
    pub fn to(&self) -> Result<NameAddr<'_>, SipError> {
        NameAddr::parse(self.get(HeaderName::To).ok_or(SipError::MissingHeader)?)
    }

    /// The first Contact, if any.
    pub fn contact(&self) -> Option<Result<NameAddr<'_>, SipError>> {
        self.elements(HeaderName::Contact)
            .next()
            .map(NameAddr::parse)
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Result<&str, SipError> {
        match self.get(HeaderName::CallId) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(SipError::MissingHeader),
        }
    }

    /// The CSeq.
    pub fn cseq(&self) -> Result<CSeq<'_>, SipError> {
        CSeq::parse(self.get(HeaderName::CSeq).ok_or(SipError::MissingHeader)?)
    }

    /// Content-Length, if present; every Content-Length line must agree.
    pub fn content_length(&self) -> Result<Option<usize>, SipError> {
        let mut found = None;
        for v in self.get_all(HeaderName::ContentLength) {
            let n = parse_decimal(v).ok_or(SipError::BadContentLength)?;
            if found.is_some_and(|f| f != n) {
                return Err(SipError::BadContentLength);
            }
            found = Some(n);
        }
        Ok(found)
    }

    /// Max-Forwards, if present.
    pub fn max_forwards(&self) -> Result<Option<usize>, SipError> {
        self.get(HeaderName::MaxForwards)
            .map(|v| parse_decimal(v).ok_or(SipError::BadMaxForwards))
            .transpose()
    }
}

/// A decimal number of at most 9 digits (no sign, no spaces inside).
pub(crate) fn parse_decimal(s: &str) -> Option<usize> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Splits a header value at top-level commas (not inside `"…"` or `<…>`), trimming each
/// element and skipping empty ones.
pub fn split_commas(value: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(value);
    std::iter::from_fn(move || loop {
        let s = rest?;
        let cut = top_level_comma(s);
        let (element, tail) = match cut {
            Some(i) => (s.get(..i).unwrap_or(""), s.get(i + 1..)),
            None => (s, None),
        };
        rest = tail;
        let element = element.trim_matches(is_lws);
        if !element.is_empty() {
            return Some(element);
        }
    })
}

/// Index of the first comma outside quotes and angle brackets.
fn top_level_comma(s: &str) -> Option<usize> {
    let mut in_quotes = false;
    let mut in_angle = false;
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        if in_quotes {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_quotes = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_quotes = true,
            b'<' => in_angle = true,
            b'>' => in_angle = false,
            b',' if !in_angle => return Some(i),
            _ => {}
        }
    }
    None
}

/// Parses the header block that starts at `bytes[0]` (right after the start line) up to and
/// including the empty line. Returns the fields and the bytes consumed.
pub(crate) fn parse_block<'a>(
    bytes: &'a [u8],
    limits: &SipLimits,
) -> Result<(Headers<'a>, usize), SipError> {
    let mut raw = vec![httparse::EMPTY_HEADER; limits.max_headers];
    match httparse::parse_headers(bytes, &mut raw) {
        Ok(httparse::Status::Complete((used, fields))) => {
            let mut list = Vec::with_capacity(fields.len());
            let mut invalid_utf8 = false;
            for f in fields {
                let value = match std::str::from_utf8(f.value) {
                    Ok(v) => Cow::Borrowed(v.trim_matches(is_lws)),
                    Err(_) => {
                        invalid_utf8 = true;
                        let lossy = String::from_utf8_lossy(f.value);
                        Cow::Owned(lossy.trim_matches(is_lws).to_string())
                    }
                };
                list.push(SipHeader {
                    name: HeaderName::from_wire(f.name),
                    value,
                });
            }
            Ok((Headers { list, invalid_utf8 }, used))
        }
        Ok(httparse::Status::Partial) => Err(SipError::HeadersIncomplete),
        Err(httparse::Error::TooManyHeaders) => Err(SipError::TooManyHeaders),
        Err(_) => parse_block_tolerant(bytes, limits),
    }
}

/// The fallback for header blocks httparse refuses: whitespace around the colon and folded
/// continuation lines (RFC 3261 §7.3.1). Lines may end in CRLF or a bare LF.
fn parse_block_tolerant<'a>(
    bytes: &'a [u8],
    limits: &SipLimits,
) -> Result<(Headers<'a>, usize), SipError> {
    let mut list: Vec<SipHeader<'a>> = Vec::new();
    let mut invalid_utf8 = false;
    let mut pos = 0;
    loop {
        let rest = bytes.get(pos..).ok_or(SipError::HeadersIncomplete)?;
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(SipError::HeadersIncomplete)?;
        let line = rest.get(..nl).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos += nl + 1;
        if line.is_empty() {
            return Ok((Headers { list, invalid_utf8 }, pos));
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            let last = list.last_mut().ok_or(SipError::BadHeader)?;
            let more = utf8_or_lossy(line, &mut invalid_utf8);
            let more = more.trim_matches(is_lws);
            if !more.is_empty() {
                let v = last.value.to_mut();
                if !v.is_empty() {
                    v.push(' ');
                }
                v.push_str(more);
            }
            continue;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(SipError::BadHeader)?;
        let name = std::str::from_utf8(line.get(..colon).unwrap_or_default())
            .map_err(|_| SipError::BadHeader)?
            .trim_matches(is_lws);
        if !is_token(name) {
            return Err(SipError::BadHeader);
        }
        if list.len() >= limits.max_headers {
            return Err(SipError::TooManyHeaders);
        }
        let value =
            match utf8_or_lossy(line.get(colon + 1..).unwrap_or_default(), &mut invalid_utf8) {
                Cow::Borrowed(v) => Cow::Borrowed(v.trim_matches(is_lws)),
                Cow::Owned(v) => Cow::Owned(v.trim_matches(is_lws).to_string()),
            };
        let name = HeaderName::from_wire(name);
        list.push(SipHeader { name, value });
    }
}

/// `bytes` as text; not UTF-8 → the lossy text, and `invalid` is set.
fn utf8_or_lossy<'a>(bytes: &'a [u8], invalid: &mut bool) -> Cow<'a, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => {
            *invalid = true;
            String::from_utf8_lossy(bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> SipLimits {
        SipLimits {
            max_headers: 8,
            max_message_bytes: 4096,
            max_uri_bytes: 256,
        }
    }

    #[test]
    fn compact_and_full_names_map_to_one_variant() {
        let pairs = [
            ("i", HeaderName::CallId),
            ("m", HeaderName::Contact),
            ("f", HeaderName::From),
            ("T", HeaderName::To),
            ("v", HeaderName::Via),
            ("l", HeaderName::ContentLength),
            ("c", HeaderName::ContentType),
            ("k", HeaderName::Supported),
            ("s", HeaderName::Subject),
            ("o", HeaderName::Event),
            ("u", HeaderName::AllowEvents),
            ("e", HeaderName::ContentEncoding),
            ("x", HeaderName::SessionExpires),
            ("r", HeaderName::ReferTo),
            ("b", HeaderName::ReferredBy),
            ("j", HeaderName::RejectContact),
            ("a", HeaderName::AcceptContact),
            ("y", HeaderName::Identity),
            ("n", HeaderName::IdentityInfo),
            ("d", HeaderName::RequestDisposition),
            ("call-id", HeaderName::CallId),
            ("CSEQ", HeaderName::CSeq),
        ];
        for (wire, want) in pairs {
            assert_eq!(HeaderName::from_wire(wire), want, "{wire}");
        }
        assert_eq!(HeaderName::from_wire("X-Foo"), HeaderName::Other("X-Foo"));
        assert!(HeaderName::Other("x-foo").same_as(HeaderName::Other("X-FOO")));
        assert!(!HeaderName::Other("Via").same_as(HeaderName::Via));
        assert_eq!(HeaderName::CallId.as_str(), "Call-ID");
    }

    #[test]
    fn fast_path_block() {
        let b = b"Via: SIP/2.0/UDP a;branch=z9hG4bK1\r\nl: 0\r\n\r\nBODY";
        let (h, used) = parse_block(b, &limits()).unwrap();
        assert_eq!(used, b.len() - 4);
        assert_eq!(h.len(), 2);
        assert_eq!(h.content_length(), Ok(Some(0)));
    }

    #[test]
    fn tolerant_block_space_before_colon_and_folding() {
        let b = b"Subject : hello\r\n  world\r\n\tagain\r\nTo: <sip:a@b>\r\n\r\n";
        let (h, used) = parse_block(b, &limits()).unwrap();
        assert_eq!(used, b.len());
        assert_eq!(h.get(HeaderName::Subject), Some("hello world again"));
        assert_eq!(h.get(HeaderName::To), Some("<sip:a@b>"));
    }

    #[test]
    fn block_errors() {
        assert_eq!(
            parse_block(b"To: x\r\n", &limits()),
            Err(SipError::HeadersIncomplete)
        );
        assert_eq!(
            parse_block(b" To: x\r\n\r\n", &limits()),
            Err(SipError::BadHeader)
        );
        assert_eq!(
            parse_block(b"No colon here\r\n\r\n", &limits()),
            Err(SipError::BadHeader)
        );
        let many = "A: 1\r\n".repeat(9) + "\r\n";
        assert_eq!(
            parse_block(many.as_bytes(), &limits()),
            Err(SipError::TooManyHeaders)
        );
        let many_tolerant = "A : 1\r\n".repeat(9) + "\r\n";
        assert_eq!(
            parse_block(many_tolerant.as_bytes(), &limits()),
            Err(SipError::TooManyHeaders)
        );
        for block in [
            &b"To: \xff\r\n\r\n"[..],
            b"To : a\xffb\r\n\r\n",
            b"To: a\r\n \xff\r\n\r\n",
        ] {
            let (h, _) = parse_block(block, &limits()).expect("kept for a 400");
            assert!(h.had_invalid_utf8(), "{block:?}");
            assert!(h
                .get(HeaderName::To)
                .is_some_and(|v| v.contains('\u{fffd}')));
        }
        let (h, _) = parse_block(b"To: \xc3\xa9\r\n\r\n", &limits()).unwrap();
        assert!(!h.had_invalid_utf8());
    }

    #[test]
    fn multiple_via_lines_and_commas() {
        let b = b"Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b\r\nv: SIP/2.0/UDP c\r\n\r\n";
        let (h, _) = parse_block(b, &limits()).unwrap();
        let vias: Vec<&str> = h.vias().collect();
        assert_eq!(
            vias,
            [
                "SIP/2.0/UDP a;branch=z9hG4bK1",
                "SIP/2.0/TCP b",
                "SIP/2.0/UDP c"
            ]
        );
    }

    #[test]
    fn commas_inside_quotes_and_brackets_do_not_split() {
        let v = r#""Doe, \"J\"" <sip:a@b;x=1,2>, <sip:c@d>"#;
        let parts: Vec<&str> = split_commas(v).collect();
        assert_eq!(parts, [r#""Doe, \"J\"" <sip:a@b;x=1,2>"#, "<sip:c@d>"]);
    }

    #[test]
    fn content_length_disagreement_is_an_error() {
        let b = b"Content-Length: 3\r\nl: 4\r\n\r\n";
        let (h, _) = parse_block(b, &limits()).unwrap();
        assert_eq!(h.content_length(), Err(SipError::BadContentLength));
        let b = b"Content-Length: -1\r\n\r\n";
        let (h, _) = parse_block(b, &limits()).unwrap();
        assert_eq!(h.content_length(), Err(SipError::BadContentLength));
    }
}
