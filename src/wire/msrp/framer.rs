//! Streaming MSRP framer (RFC 4975 §7.1 framing, §9 ABNF): `push` bytes in any split and get
//! Head, Body and End events. It buffers only the start line + header block (bounded) and
//! an end-line search window; body bytes are handed out as they arrive, borrowed from the
//! input. Only the exact `CRLF -------<tid><flag> CRLF` ends a body.

use super::header::{ByteRange, ReportMode};
use super::{is_ident_byte, Flag, Method, MsrpError, MAX_IDENT_LEN};

const HYPHENS: &[u8] = b"-------";
/// CRLF + seven hyphens + the longest transaction id: the end-line prefix searched for.
const PATTERN_CAP: usize = 2 + HYPHENS.len() + MAX_IDENT_LEN;
/// The most body bytes the framer ever holds back: the pattern, the flag and its CRLF.
pub const END_WINDOW: usize = PATTERN_CAP + 3;
/// Scratch slots for the `httparse` fast path; blocks with more headers use the fallback.
const FAST_PATH_SLOTS: usize = 32;

/// Header fields the framer indexes (others are counted and ignored).
const FIELDS: [&str; 9] = [
    "To-Path",
    "From-Path",
    "Message-ID",
    "Byte-Range",
    "Content-Type",
    "Success-Report",
    "Failure-Report",
    "Status",
    "Use-Nickname",
];

/// What the framer found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The start line and header block of a message are complete.
    Head(Head<'a>),
    /// Body bytes, in order. When the `push` that returned it consumed input, the slice is
    /// the first `len` bytes of that consumed input; when it consumed nothing, the slice is
    /// held-back window bytes that turned out not to be the end-line (at most
    /// [`END_WINDOW`] bytes).
    Body(&'a [u8]),
    /// The end-line: the message (or chunk) is complete.
    End(Flag),
}

/// The first line of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `MSRP tid METHOD`.
    Request(Method<'a>),
    /// `MSRP tid CODE [comment]`.
    Response {
        /// Status code.
        code: u16,
        /// Reason text, empty if none.
        comment: &'a str,
    },
}

/// The indexed header fields (first occurrence of each; values trimmed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Headers<'a> {
    /// To-Path.
    pub to_path: Option<&'a str>,
    /// From-Path.
    pub from_path: Option<&'a str>,
    /// Message-ID.
    pub message_id: Option<&'a str>,
    /// Byte-Range, raw (see [`Head::byte_range`]).
    pub byte_range: Option<&'a str>,
    /// Content-Type.
    pub content_type: Option<&'a str>,
    /// Success-Report.
    pub success_report: Option<&'a str>,
    /// Failure-Report.
    pub failure_report: Option<&'a str>,
    /// Status, raw.
    pub status: Option<&'a str>,
    /// Use-Nickname, raw (quoted).
    pub use_nickname: Option<&'a str>,
    /// Header fields in the block, indexed or not.
    pub count: usize,
}

/// A parsed start line and header block, borrowing the framer's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head<'a> {
    /// Transaction id.
    pub tid: &'a str,
    /// Request or response.
    pub start: StartLine<'a>,
    /// Header fields.
    pub headers: Headers<'a>,
    /// True when an empty line (and so a body, possibly empty) follows the headers.
    pub has_body: bool,
}

impl<'a> Head<'a> {
    /// The method, for requests.
    pub fn method(&self) -> Option<Method<'a>> {
        match self.start {
            StartLine::Request(m) => Some(m),
            StartLine::Response { .. } => None,
        }
    }

    /// The Byte-Range, if present.
    pub fn byte_range(&self) -> Result<Option<ByteRange>, MsrpError> {
        self.headers.byte_range.map(ByteRange::parse).transpose()
    }

    /// The Failure-Report mode (absent = yes).
    pub fn failure_report(&self) -> ReportMode {
        ReportMode::failure(self.headers.failure_report)
    }

    /// The Success-Report mode (absent = no).
    pub fn success_report(&self) -> ReportMode {
        ReportMode::success(self.headers.success_report)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

#[derive(Clone, Copy, Debug, Default)]
struct Index {
    complete: bool,
    tid: Span,
    /// Method token span, or the comment span of a response.
    word: Span,
    code: Option<u16>,
    headers_at: usize,
    fields: [Option<Span>; FIELDS.len()],
    count: usize,
    has_body: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between messages; the last head stays readable until the next byte arrives.
    Idle,
    /// Reading the start line and headers; the current line starts at `line` in `head`.
    Headers { line: usize },
    /// In a body; `held` bytes of the end-line were matched at the end of earlier input.
    Body { held: usize },
    /// A bodiless message whose end-line came with the headers: End is next.
    EndPending(Flag),
    /// A framing error: the stream cannot be resynchronised.
    Failed(MsrpError),
}

/// The streaming framer for one connection.
#[derive(Debug)]
pub struct Framer {
    /// The start line and headers being read.
    head: Vec<u8>,
    /// The complete head, checked as UTF-8 once; `head`'s buffer until the next message
    /// starts, so `Head` fields are sliced from it without checking them again.
    text: String,
    max_head: usize,
    max_headers: usize,
    state: State,
    index: Index,
    pattern: heapless::Vec<u8, PATTERN_CAP>,
    held_flag: u8,
    spill: heapless::Vec<u8, END_WINDOW>,
}

impl Default for Framer {
    /// A framer with no buffer; every message fails with `HeaderTooLarge`. Placeholder only.
    fn default() -> Self {
        Framer::new(0, 0)
    }
}

impl Framer {
    /// A framer holding at most `max_head_bytes` of start line + headers (allocated now) and
    /// at most `max_headers` header fields.
    pub fn new(max_head_bytes: usize, max_headers: usize) -> Self {
        Framer {
            head: Vec::with_capacity(max_head_bytes),
            text: String::new(),
            max_head: max_head_bytes,
            max_headers,
            state: State::Idle,
            index: Index::default(),
            pattern: heapless::Vec::new(),
            held_flag: 0,
            spill: heapless::Vec::new(),
        }
    }

    /// True between messages (nothing of a next message seen yet).
    pub fn is_idle(&self) -> bool {
        self.state == State::Idle
    }

    /// The head of the message in progress (or the last one, until the next starts).
    pub fn head(&self) -> Option<Head<'_>> {
        self.index.complete.then(|| self.view())
    }

    /// Feeds `input`; returns how many bytes were consumed and the next event. `None` means
    /// all of `input` was consumed and more is needed. Call again with the unconsumed rest
    /// until it returns `None`. After an error every call returns the same error.
    pub fn push<'a>(
        &'a mut self,
        input: &'a [u8],
    ) -> Result<(usize, Option<Event<'a>>), MsrpError> {
        match self.state {
            State::Failed(e) => Err(e),
            State::EndPending(flag) => {
                self.state = State::Idle;
                Ok((0, Some(Event::End(flag))))
            }
            State::Idle if input.is_empty() => Ok((0, None)),
            State::Idle => {
                // The buffer returns from the last message's text.
                if self.head.capacity() == 0 {
                    self.head = core::mem::take(&mut self.text).into_bytes();
                }
                self.head.clear();
                self.index = Index::default();
                self.state = State::Headers { line: 0 };
                self.push_headers(input)
            }
            State::Headers { .. } => self.push_headers(input),
            State::Body { held } => self.push_body(held, input),
        }
    }

    fn fail<T>(&mut self, e: MsrpError) -> Result<T, MsrpError> {
        self.state = State::Failed(e);
        Err(e)
    }

    fn push_headers<'a>(
        &'a mut self,
        input: &'a [u8],
    ) -> Result<(usize, Option<Event<'a>>), MsrpError> {
        let mut used = 0;
        loop {
            let State::Headers { line } = self.state else {
                return Ok((used, None));
            };
            let rest = input.get(used..).unwrap_or(&[]);
            if rest.is_empty() {
                return Ok((used, None));
            }
            let take = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| i + 1);
            if self.head.len() + take > self.max_head {
                return self.fail(MsrpError::HeaderTooLarge);
            }
            self.head.extend_from_slice(rest.get(..take).unwrap_or(&[]));
            used += take;
            if self.head.last() != Some(&b'\n') {
                return Ok((used, None));
            }
            let end = self.head.len();
            self.state = State::Headers { line: end };
            let content = strip_eol(self.head.get(line..end).unwrap_or(&[]));
            if line == 0 {
                if let Err(e) = self.parse_start_line(end) {
                    return self.fail(e);
                }
            } else if content.is_empty() {
                if let Err(e) = self.finish_head(true, end) {
                    return self.fail(e);
                }
                self.state = State::Body { held: 0 };
                return Ok((used, Some(Event::Head(self.view()))));
            } else if let Some(flag) = self.end_line_flag(content) {
                if let Err(e) = self.finish_head(false, line) {
                    return self.fail(e);
                }
                self.state = State::EndPending(flag);
                return Ok((used, Some(Event::Head(self.view()))));
            } else if content.starts_with(HYPHENS) {
                // An end-line of another transaction: no header field starts with seven
                // hyphens, so the message ends here, malformed. The head stays readable for
                // an error response.
                if let Err(e) = self.finish_head(false, line) {
                    return self.fail(e);
                }
                return self.fail(MsrpError::BadEndLine);
            } else {
                self.index.count += 1;
                if self.index.count > self.max_headers {
                    return self.fail(MsrpError::TooManyHeaders);
                }
            }
        }
    }

    /// `content` (a line without CRLF) is `-------<tid><flag>`.
    fn end_line_flag(&self, content: &[u8]) -> Option<Flag> {
        let tid = self.span(self.index.tid);
        let rest = content.strip_prefix(HYPHENS)?.strip_prefix(tid)?;
        match rest {
            [f] => Flag::from_byte(*f),
            _ => None,
        }
    }

    fn span(&self, s: Span) -> &[u8] {
        self.head.get(s.start..s.end).unwrap_or(&[])
    }

    fn parse_start_line(&mut self, end: usize) -> Result<(), MsrpError> {
        let line = strip_eol(self.head.get(..end).unwrap_or(&[]));
        let rest = line.strip_prefix(b"MSRP ").ok_or(MsrpError::BadStartLine)?;
        let tid_len = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or(MsrpError::BadStartLine)?;
        let tid = rest.get(..tid_len).unwrap_or(&[]);
        if tid.is_empty() || tid.len() > MAX_IDENT_LEN || !tid.iter().all(|b| is_ident_byte(*b)) {
            return Err(MsrpError::BadTransactionId);
        }
        let tid_at = 5;
        let word_at = tid_at + tid_len + 1;
        let word = line.get(word_at..).unwrap_or(&[]);
        let digits = word.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 3 && (word.len() == 3 || word.get(3) == Some(&b' ')) {
            let code = word
                .iter()
                .take(3)
                .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
            self.index.code = Some(code);
            let comment_at = (word_at + 4).min(line.len());
            self.index.word = Span {
                start: comment_at,
                end: line.len(),
            };
        } else if !word.is_empty() && word.iter().all(u8::is_ascii_alphabetic) {
            self.index.word = Span {
                start: word_at,
                end: line.len(),
            };
        } else {
            return Err(MsrpError::BadStartLine);
        }
        self.index.tid = Span {
            start: tid_at,
            end: tid_at + tid_len,
        };
        self.index.headers_at = end;
        self.pattern.clear();
        let ok = self.pattern.extend_from_slice(b"\r\n").is_ok()
            && self.pattern.extend_from_slice(HYPHENS).is_ok()
            && self.pattern.extend_from_slice(tid).is_ok();
        if !ok {
            return Err(MsrpError::BadTransactionId);
        }
        Ok(())
    }

    /// Indexes the header lines in `head[headers_at..block_end]`.
    fn finish_head(&mut self, has_body: bool, block_end: usize) -> Result<(), MsrpError> {
        self.text = match String::from_utf8(core::mem::take(&mut self.head)) {
            Ok(text) => text,
            Err(e) => {
                self.head = e.into_bytes();
                return Err(MsrpError::BadHeader);
            }
        };
        let at = self.index.headers_at;
        let block = self.text.as_bytes().get(at..block_end).unwrap_or(&[]);
        let mut fields = [None; FIELDS.len()];
        // Fast path: httparse needs the terminating empty line, which only a block followed
        // by a body has.
        let fast = has_body && index_fast(block, at, &mut fields);
        if !fast {
            fields = [None; FIELDS.len()];
            index_by_hand(block, at, &mut fields);
        }
        self.index.fields = fields;
        self.index.has_body = has_body;
        self.index.complete = true;
        Ok(())
    }

    /// A span of the complete head.
    fn text(&self, s: Span) -> &str {
        self.text.get(s.start..s.end).unwrap_or("")
    }

    fn view(&self) -> Head<'_> {
        let f = |i: usize| {
            self.index
                .fields
                .get(i)
                .copied()
                .flatten()
                .map(|s| self.text(s))
        };
        let word = self.text(self.index.word);
        Head {
            tid: self.text(self.index.tid),
            start: match self.index.code {
                Some(code) => StartLine::Response {
                    code,
                    comment: word,
                },
                None => StartLine::Request(Method::from_token(word)),
            },
            headers: Headers {
                to_path: f(0),
                from_path: f(1),
                message_id: f(2),
                byte_range: f(3),
                content_type: f(4),
                success_report: f(5),
                failure_report: f(6),
                status: f(7),
                use_nickname: f(8),
                count: self.index.count,
            },
            has_body: self.index.has_body,
        }
    }

    /// Whether byte `b` continues the end-line after `k` matched bytes.
    fn expects(&self, k: usize, b: u8) -> bool {
        let plen = self.pattern.len();
        match k.checked_sub(plen) {
            None => self.pattern.get(k) == Some(&b),
            Some(0) => Flag::from_byte(b).is_some(),
            Some(1) => b == b'\r',
            Some(_) => b == b'\n',
        }
    }

    fn push_body<'a>(
        &'a mut self,
        held: usize,
        input: &'a [u8],
    ) -> Result<(usize, Option<Event<'a>>), MsrpError> {
        self.spill.clear();
        let full = self.pattern.len() + 3;
        if held > 0 {
            let (k, flag) = self.match_at(input, 0, held, self.held_flag);
            if k == full {
                return self.end(k - held, flag);
            }
            if k - held == input.len() {
                self.state = State::Body { held: k };
                self.held_flag = flag;
                return Ok((input.len(), None));
            }
            // Not the end-line: the bytes held before this input were body.
            self.fill_spill(held);
            self.state = State::Body { held: 0 };
            return Ok((0, Some(Event::Body(&self.spill))));
        }
        let mut from = 0;
        loop {
            let tail = input.get(from..).unwrap_or(&[]);
            let Some(p) = tail.iter().position(|&b| b == b'\r').map(|i| i + from) else {
                return Ok((input.len(), body(input)));
            };
            let (k, flag) = self.match_at(input, p, 0, 0);
            if k == full {
                if p > 0 {
                    return Ok((p, body(input.get(..p).unwrap_or(&[]))));
                }
                return self.end(full, flag);
            }
            if p + k == input.len() {
                self.state = State::Body { held: k };
                self.held_flag = flag;
                return Ok((input.len(), body(input.get(..p).unwrap_or(&[]))));
            }
            from = p + 1;
        }
    }

    /// Matches the end-line from pattern position `k` against `input[at..]`; returns the
    /// matched length reached and the flag byte seen.
    fn match_at(&self, input: &[u8], at: usize, mut k: usize, mut flag: u8) -> (usize, u8) {
        let full = self.pattern.len() + 3;
        let mut i = at;
        while k < full {
            match input.get(i) {
                Some(&b) if self.expects(k, b) => {
                    if k == self.pattern.len() {
                        flag = b;
                    }
                    k += 1;
                    i += 1;
                }
                _ => break,
            }
        }
        (k, flag)
    }

    fn end<'a>(
        &mut self,
        consumed: usize,
        flag: u8,
    ) -> Result<(usize, Option<Event<'a>>), MsrpError> {
        match Flag::from_byte(flag) {
            Some(f) => {
                self.state = State::Idle;
                Ok((consumed, Some(Event::End(f))))
            }
            None => self.fail(MsrpError::BadStartLine),
        }
    }

    /// Rebuilds the `held` window bytes: a prefix of CRLF + hyphens + tid + flag + CR.
    fn fill_spill(&mut self, held: usize) {
        let plen = self.pattern.len();
        let _ = self
            .spill
            .extend_from_slice(self.pattern.get(..held.min(plen)).unwrap_or(&[]));
        if held > plen {
            let _ = self.spill.push(self.held_flag);
        }
        if held > plen + 1 {
            let _ = self.spill.push(b'\r');
        }
    }
}

fn body(bytes: &[u8]) -> Option<Event<'_>> {
    (!bytes.is_empty()).then_some(Event::Body(bytes))
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn field_slot(name: &str) -> Option<usize> {
    FIELDS.iter().position(|f| f.eq_ignore_ascii_case(name))
}

/// Span of `value` (a sub-slice of `block`, which starts at `block_at`), trimmed.
fn trimmed_span(block: &[u8], block_at: usize, value: &[u8]) -> Span {
    let offset = (value.as_ptr() as usize).wrapping_sub(block.as_ptr() as usize);
    let lead = value.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let trail = value
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_whitespace())
        .count();
    let start = block_at + offset + lead;
    let end = (block_at + offset + value.len())
        .saturating_sub(trail)
        .max(start);
    Span { start, end }
}

fn index_fast(block: &[u8], at: usize, fields: &mut [Option<Span>; FIELDS.len()]) -> bool {
    let mut slots = [httparse::EMPTY_HEADER; FAST_PATH_SLOTS];
    match httparse::parse_headers(block, &mut slots) {
        Ok(httparse::Status::Complete((_, headers))) => {
            for h in headers {
                if let Some(i) = field_slot(h.name) {
                    if let Some(slot @ None) = fields.get_mut(i) {
                        *slot = Some(trimmed_span(block, at, h.value));
                    }
                }
            }
            true
        }
        _ => false,
    }
}

/// Tolerant fallback: `Name: value` lines, any whitespace, lines without a colon ignored.
fn index_by_hand(block: &[u8], at: usize, fields: &mut [Option<Span>; FIELDS.len()]) {
    for raw in block.split(|&b| b == b'\n') {
        let line = strip_eol(raw);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = core::str::from_utf8(line.get(..colon).unwrap_or(&[]))
            .unwrap_or("")
            .trim();
        let value = line.get(colon + 1..).unwrap_or(&[]);
        if let Some(i) = field_slot(name) {
            if let Some(slot @ None) = fields.get_mut(i) {
                *slot = Some(trimmed_span(block, at, value));
            }
        }
    }
}
