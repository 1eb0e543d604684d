//! Message/CPIM header block parsing (RFC 3862 §2-§3, as carried by MSRP per RFC 4975 §13
//! and RFC 7701 §6): From, To (several), cc, DateTime, NS, Require, Subject, and the offset
//! of the encapsulated MIME part. Accepts both layouts (IMPL-14): the block ends at the
//! first empty line or at the first `Content-*` header. Also the URI comparison the switch
//! uses for CPIM addresses (scheme and host case-insensitive).

/// Progress of an incremental parse (incomplete input is not an error: the caller feeds more).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed<T> {
    /// Parsed.
    Complete(T),
    /// More bytes are needed.
    Partial,
}

/// What is wrong with a CPIM header block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpimError {
    /// No end of the header block within the allowed size.
    TooLarge,
    /// A folded line (leading whitespace), a line without a colon, or a control character.
    BadLine,
    /// The block is not UTF-8.
    BadUtf8,
    /// A From/To/cc value that is not `[Formal-name] <URI>`.
    BadAddress,
}

impl CpimError {
    /// The MSRP status a SEND carrying this block gets.
    pub fn msrp_status(self) -> u16 {
        match self {
            CpimError::TooLarge => 413,
            CpimError::BadLine | CpimError::BadUtf8 | CpimError::BadAddress => 400,
        }
    }
}

/// `[Formal-name] "<" URI ">"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Address<'a> {
    /// The formal name (quotes kept), if any.
    pub name: Option<&'a str>,
    /// The URI between the angle brackets.
    pub uri: &'a str,
}

impl<'a> Address<'a> {
    /// Parses a From/To/cc value.
    pub fn parse(value: &'a str) -> Result<Address<'a>, CpimError> {
        let value = value.trim();
        let open = value.find('<').ok_or(CpimError::BadAddress)?;
        let rest = value.get(open + 1..).unwrap_or("");
        let close = rest.find('>').ok_or(CpimError::BadAddress)?;
        let uri = rest.get(..close).unwrap_or("").trim();
        let after = rest.get(close + 1..).unwrap_or("");
        if uri.is_empty() || !after.trim().is_empty() {
            return Err(CpimError::BadAddress);
        }
        let name = value.get(..open).unwrap_or("").trim();
        Ok(Address {
            name: (!name.is_empty()).then_some(name),
            uri,
        })
    }
}

/// The message headers of a CPIM object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Headers<'a> {
    /// The first `From`.
    pub from: Option<Address<'a>>,
    /// How many `From` lines (RFC 3862: at most one).
    pub from_count: usize,
    /// The first `To`.
    pub to: Option<Address<'a>>,
    /// How many `To` lines.
    pub to_count: usize,
    /// How many `cc` lines.
    pub cc_count: usize,
    /// `DateTime`, raw.
    pub date_time: Option<&'a str>,
    /// `Subject` (first), raw.
    pub subject: Option<&'a str>,
    /// `Require`, raw.
    pub require: Option<&'a str>,
    /// How many `NS` lines.
    pub ns_count: usize,
    /// Offset in the parsed buffer where the encapsulated MIME part starts.
    pub body_offset: usize,
    block: &'a str,
}

impl<'a> Headers<'a> {
    /// Every header line of the block as `(name, value)`.
    pub fn fields(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.block.split('\n').filter_map(|l| {
            let l = l.strip_suffix('\r').unwrap_or(l);
            let (n, v) = l.split_once(':')?;
            Some((n, v.trim()))
        })
    }

    /// Every `To` address (lines that fail to parse are skipped; `parse` already rejected
    /// them).
    pub fn to_all(&self) -> impl Iterator<Item = Address<'a>> {
        self.named("To")
    }

    /// Every `cc` address.
    pub fn cc_all(&self) -> impl Iterator<Item = Address<'a>> {
        self.named("cc")
    }

    fn named(&self, name: &'static str) -> impl Iterator<Item = Address<'a>> {
        self.fields()
            .filter(move |(n, _)| *n == name)
            .filter_map(|(_, v)| Address::parse(v).ok())
    }
}

/// Parses the CPIM header block at the start of `buf` (an MSRP SEND body), holding at most
/// `max_bytes`. `Partial` until the block's end (empty line or `Content-*` line) is in.
pub fn parse(buf: &[u8], max_bytes: usize) -> Result<Parsed<Headers<'_>>, CpimError> {
    let mut h = Headers {
        from: None,
        from_count: 0,
        to: None,
        to_count: 0,
        cc_count: 0,
        date_time: None,
        subject: None,
        require: None,
        ns_count: 0,
        body_offset: 0,
        block: "",
    };
    let mut at = 0;
    loop {
        let rest = buf.get(at..).unwrap_or(&[]);
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return match at_block_end(rest) {
                Some(true) if at < max_bytes => complete(buf, h, at, at),
                _ if buf.len() >= max_bytes => Err(CpimError::TooLarge),
                _ => Ok(Parsed::Partial),
            };
        };
        let line_end = at + nl + 1;
        if line_end > max_bytes {
            return Err(CpimError::TooLarge);
        }
        let raw = rest.get(..nl).unwrap_or(&[]);
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            return complete(buf, h, at, line_end);
        }
        if at_block_end(line) == Some(true) {
            return complete(buf, h, at, at);
        }
        let line = core::str::from_utf8(line).map_err(|_| CpimError::BadUtf8)?;
        header_line(&mut h, line)?;
        at = line_end;
    }
}

/// Whether a (possibly partial) line starts a `Content-*` header; `None` = too short to say.
fn at_block_end(line: &[u8]) -> Option<bool> {
    const PREFIX: &[u8] = b"content-";
    let n = line.len().min(PREFIX.len());
    let head = line.get(..n).unwrap_or(&[]);
    if !head.eq_ignore_ascii_case(PREFIX.get(..n).unwrap_or(&[])) {
        return Some(false);
    }
    (n == PREFIX.len()).then_some(true)
}

fn complete<'a>(
    buf: &'a [u8],
    mut h: Headers<'a>,
    block_end: usize,
    body_offset: usize,
) -> Result<Parsed<Headers<'a>>, CpimError> {
    let block = buf.get(..block_end).unwrap_or(&[]);
    h.block = core::str::from_utf8(block).map_err(|_| CpimError::BadUtf8)?;
    h.body_offset = body_offset;
    // Re-borrow the addresses from the block so they carry the buffer's lifetime.
    let mut from = None;
    let mut to = None;
    for (name, value) in h.fields() {
        match name {
            "From" if from.is_none() => from = Some(Address::parse(value)?),
            "To" if to.is_none() => to = Some(Address::parse(value)?),
            "DateTime" if h.date_time.is_none() => h.date_time = Some(value),
            "Subject" if h.subject.is_none() => h.subject = Some(value),
            "Require" if h.require.is_none() => h.require = Some(value),
            _ => {}
        }
    }
    h.from = from;
    h.to = to;
    Ok(Parsed::Complete(h))
}

/// Validates one header line and counts the repeatable headers.
fn header_line(h: &mut Headers<'_>, line: &str) -> Result<(), CpimError> {
    if line.starts_with([' ', '\t']) || line.chars().any(|c| c.is_control() && c != '\t') {
        return Err(CpimError::BadLine);
    }
    let (name, value) = line.split_once(':').ok_or(CpimError::BadLine)?;
    if name.is_empty() || name.contains([' ', '\t']) {
        return Err(CpimError::BadLine);
    }
    // Header names are case-sensitive (RFC 3862 §2.2): `from:` is not From.
    match name {
        "From" => {
            Address::parse(value)?;
            h.from_count += 1;
        }
        "To" => {
            Address::parse(value)?;
            h.to_count += 1;
        }
        "cc" => {
            Address::parse(value)?;
            h.cc_count += 1;
        }
        "NS" => h.ns_count += 1,
        _ => {}
    }
    Ok(())
}

/// The Content-Type of the encapsulated MIME part (RFC 3862 §2, RFC 7701 §6.1: the
/// "wrapped" type checked against a recipient's `accept-wrapped-types`). Its headers start at
/// `body_offset` (from [`parse`]) and end at an empty line. `Partial` until the
/// Content-Type line or that empty line is in; `Complete(None)` when the MIME headers name
/// no Content-Type. MIME header names are case-insensitive; parameters are kept.
/// `at_end` = `buf` is the whole message: its unterminated last line counts as a line.
pub fn wrapped_content_type(
    buf: &[u8],
    body_offset: usize,
    max_bytes: usize,
    at_end: bool,
) -> Result<Parsed<Option<&str>>, CpimError> {
    const NAME: &[u8] = b"content-type:";
    let mut at = body_offset;
    loop {
        let rest = buf.get(at..).unwrap_or(&[]);
        let nl = match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => nl,
            None if at_end && !rest.is_empty() => rest.len(),
            None if at_end => return Ok(Parsed::Complete(None)),
            None if buf.len() >= max_bytes => return Err(CpimError::TooLarge),
            None => return Ok(Parsed::Partial),
        };
        if at + nl + 1 > max_bytes {
            return Err(CpimError::TooLarge);
        }
        let raw = rest.get(..nl).unwrap_or(&[]);
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            return Ok(Parsed::Complete(None));
        }
        let head = line.get(..NAME.len()).unwrap_or(&[]);
        if head.eq_ignore_ascii_case(NAME) {
            let value = line.get(NAME.len()..).unwrap_or(&[]);
            let value = core::str::from_utf8(value).map_err(|_| CpimError::BadUtf8)?;
            return Ok(Parsed::Complete(Some(value.trim())));
        }
        at += nl + 1;
    }
}

/// A `scheme:user@host[:port][;params]` URI split for comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UriParts<'a> {
    /// Scheme (`sip`, `sips`, `tel`, `im`, …).
    pub scheme: &'a str,
    /// User part, if the URI has one.
    pub user: Option<&'a str>,
    /// Host (IPv6 without brackets), or the whole opaque part for URIs without `@`.
    pub host: &'a str,
    /// Port, if any.
    pub port: Option<&'a str>,
    /// `;params` / `?headers` after the host, as written.
    pub rest: &'a str,
}

impl<'a> UriParts<'a> {
    /// Splits a URI; `None` when it has no scheme.
    pub fn split(uri: &'a str) -> Option<UriParts<'a>> {
        let (scheme, rest) = uri.trim().split_once(':')?;
        if scheme.is_empty() {
            return None;
        }
        let (user, hostpart) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let cut = hostpart.find([';', '?']).unwrap_or(hostpart.len());
        let (hostport, tail) = hostpart.split_at(cut);
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            match v6.split_once(']') {
                Some((h, p)) => (h, p.strip_prefix(':')),
                None => (hostport, None),
            }
        } else if user.is_some() {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        } else {
            (hostport, None)
        };
        Some(UriParts {
            scheme,
            user,
            host,
            port,
            rest: tail,
        })
    }
}

/// Compares two CPIM address URIs: scheme and host case-insensitive, user, port and
/// parameters exact.
pub fn uri_eq(a: &str, b: &str) -> bool {
    match (UriParts::split(a), UriParts::split(b)) {
        (Some(x), Some(y)) => {
            x.scheme.eq_ignore_ascii_case(y.scheme)
                && x.user == y.user
                && x.host.eq_ignore_ascii_case(y.host)
                && x.port == y.port
                && x.rest == y.rest
        }
        _ => a.trim() == b.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::msrp::vectors::{message, MESSAGES};
    use crate::wire::msrp::{Event, Framer};

    /// The body of a vector message.
    fn body(ex: u8, idx: u8) -> Vec<u8> {
        let bytes = message(ex, idx);
        let mut f = Framer::new(4096, 48);
        let mut out = Vec::new();
        let mut rest: &[u8] = &bytes;
        while let Ok((n, Some(ev))) = f.push(rest) {
            if let Event::Body(b) = ev {
                out.extend_from_slice(b);
            }
            rest = &rest[n..];
        }
        out
    }

    fn complete(buf: &[u8]) -> Headers<'_> {
        match parse(buf, 2048) {
            Ok(Parsed::Complete(h)) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn examples_parse_with_body_offset() {
        let mut checked = 0;
        for (ex, idx, _, text) in MESSAGES {
            if !text.contains("Content-Type: message/cpim") || *ex == 14 && *idx == 2 {
                continue;
            }
            let b = body(*ex, *idx);
            let h = complete(&b);
            assert_eq!(h.from_count, 1, "ex {ex}");
            assert_eq!(h.to_count, 1);
            assert!(h.from.unwrap().uri.starts_with("sip:"));
            let rest = &b[h.body_offset..];
            assert!(
                rest.starts_with(b"Content-Type: text/plain"),
                "ex {ex}.{idx}"
            );
            checked += 1;
        }
        assert_eq!(checked, 10);
        let b = body(9, 0);
        let h = complete(&b);
        assert_eq!(h.from.unwrap().uri, "sip:alice@atlanta.example.com");
        assert_eq!(h.to.unwrap().uri, "sip:chat22@chat.example.com");
        assert_eq!(h.date_time, Some("2025-01-15T10:02:31Z"));
    }

    #[test]
    fn both_layouts_and_every_prefix() {
        let with_gap =
            b"From: <sip:a@x>\r\nTo: Room <sip:r@x>\r\n\r\nContent-Type: text/plain\r\n\r\nhi";
        let no_gap = b"From: <sip:a@x>\r\nTo: Room <sip:r@x>\r\nContent-Type: text/plain\r\n\r\nhi";
        for (buf, offset) in [(&with_gap[..], 39), (&no_gap[..], 37)] {
            let h = complete(buf);
            assert_eq!(h.body_offset, offset);
            assert_eq!(h.to.unwrap().name, Some("Room"));
            for cut in 0..offset {
                assert_eq!(parse(&buf[..cut], 2048), Ok(Parsed::Partial), "cut {cut}");
            }
        }
    }

    #[test]
    fn counts_repeated_headers_and_names_are_case_sensitive() {
        let buf = b"from: <sip:b@x>\r\nFrom: <sip:a@x>\r\nTo: <sip:r@x>\r\nTo: <sip:s@x>\r\ncc: <sip:c@x>\r\nNS: MyAlias <mid:MessageFeatures@id.foo.com>\r\nSubject: hi\r\nRequire: MyAlias.VitalMessageOption\r\n\r\n";
        let h = complete(buf);
        assert_eq!(h.from_count, 1);
        assert_eq!(h.from.unwrap().uri, "sip:a@x");
        assert_eq!(h.to_count, 2);
        let tos: Vec<_> = h.to_all().map(|a| a.uri).collect();
        assert_eq!(tos, ["sip:r@x", "sip:s@x"]);
        assert_eq!(h.cc_all().count(), 1);
        assert_eq!((h.cc_count, h.ns_count), (1, 1));
        assert_eq!(h.subject, Some("hi"));
        assert_eq!(h.require, Some("MyAlias.VitalMessageOption"));
        assert_eq!(h.fields().count(), 8);
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(b"From: <sip:a@x>\r\n folded\r\n\r\n", 2048),
            Err(CpimError::BadLine)
        );
        assert_eq!(parse(b"no colon\r\n\r\n", 2048), Err(CpimError::BadLine));
        assert_eq!(
            parse(b"From: sip:a@x\r\n\r\n", 2048),
            Err(CpimError::BadAddress)
        );
        assert_eq!(parse(b"To: <>\r\n\r\n", 2048), Err(CpimError::BadAddress));
        assert_eq!(
            parse(b"To: <sip:a@x> junk\r\n\r\n", 2048),
            Err(CpimError::BadAddress)
        );
        assert_eq!(parse(b"X: \xff\r\n\r\n", 2048), Err(CpimError::BadUtf8));
        let long = format!("Subject: {}\r\n", "x".repeat(300));
        assert_eq!(parse(long.as_bytes(), 256), Err(CpimError::TooLarge));
        assert_eq!(parse(&long.as_bytes()[..100], 256), Ok(Parsed::Partial));
        assert_eq!(parse(&[b'x'; 256], 256), Err(CpimError::TooLarge));
        assert_eq!(CpimError::TooLarge.msrp_status(), 413);
        assert_eq!(CpimError::BadLine.msrp_status(), 400);
    }

    #[test]
    fn wrapped_content_type_in_both_layouts_and_every_prefix() {
        for ex in [9u8, 16] {
            let b = body(ex, 0);
            let h = complete(&b);
            let want = if ex == 9 {
                "text/plain; charset=utf-8"
            } else {
                "text/plain"
            };
            assert_eq!(
                wrapped_content_type(&b, h.body_offset, 2048, false),
                Ok(Parsed::Complete(Some(want)))
            );
            let line_end = b.len() - b.iter().rev().position(|&c| c == b'\n').unwrap();
            for cut in h.body_offset..line_end.min(h.body_offset + 20) {
                assert_eq!(
                    wrapped_content_type(&b[..cut], h.body_offset, 2048, false),
                    Ok(Parsed::Partial),
                    "cut {cut}"
                );
            }
        }
        // IMPL-14 layout: the block ends at the Content-Type line itself.
        let lenient = b"From: <sip:a@x>\r\nTo: <sip:r@x>\r\nCONTENT-TYPE: image/png\r\n\r\nPNG";
        let h = complete(lenient);
        assert_eq!(
            wrapped_content_type(lenient, h.body_offset, 2048, false),
            Ok(Parsed::Complete(Some("image/png")))
        );
        let none = b"From: <sip:a@x>\r\n\r\nX-Other: 1\r\n\r\nhi";
        let h = complete(none);
        assert_eq!(
            wrapped_content_type(none, h.body_offset, 2048, false),
            Ok(Parsed::Complete(None))
        );
        let long = b"From: <sip:a@x>\r\n\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaa";
        assert_eq!(
            wrapped_content_type(long, 19, 30, false),
            Err(CpimError::TooLarge)
        );
        // The whole message ends inside the MIME headers.
        let cut = b"From: <sip:a@x>\r\n\r\nContent-Type: text/html";
        assert_eq!(
            wrapped_content_type(cut, 19, 2048, false),
            Ok(Parsed::Partial)
        );
        assert_eq!(
            wrapped_content_type(cut, 19, 2048, true),
            Ok(Parsed::Complete(Some("text/html")))
        );
        assert_eq!(
            wrapped_content_type(&cut[..19], 19, 2048, true),
            Ok(Parsed::Complete(None))
        );
    }

    #[test]
    fn uri_comparison() {
        assert!(uri_eq(
            "sip:alice@atlanta.example.com",
            "SIP:alice@ATLANTA.example.com"
        ));
        assert!(!uri_eq(
            "sip:alice@atlanta.example.com",
            "sip:Alice@atlanta.example.com"
        ));
        assert!(!uri_eq("sip:a@h:5060", "sip:a@h"));
        assert!(uri_eq("sip:a@[::1]:5060", "sip:a@[::1]:5060"));
        assert!(uri_eq("tel:+15551234", "TEL:+15551234"));
        let p = UriParts::split("sip:lobby@127.0.0.1:5060;transport=udp").unwrap();
        assert_eq!(
            (p.user, p.host, p.port, p.rest),
            (Some("lobby"), "127.0.0.1", Some("5060"), ";transport=udp")
        );
        assert_eq!(UriParts::split("nocolon"), None);
    }
}
