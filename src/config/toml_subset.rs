//! The small TOML subset that config files, memory profiles and board files are written in:
//! `key = value` lines, `[table]` and `[table.NAME]` headers, `#` comments, blank lines.
//!
//! Values are basic strings (`"…"` with the escapes `\"` `\\` `\n` `\t`), integers
//! (optional sign, `_` allowed between digits, no leading zeros), `true`/`false`, and
//! one-line arrays of basic strings (`["a", "b"]`, a trailing comma allowed).
//! Keys are bare (`A-Z a-z 0-9 _ -`); a header's second part may also be a basic string
//! (`[room."my.room"]`). Anything else (floats, dates, other arrays, inline tables, literal or
//! multi-line strings, dotted keys, `[[arrays]]`) is refused with the line number, as are
//! duplicate keys and duplicate tables. Every accepted file is also valid TOML with the same
//! meaning. A hand-written parser because the `toml` crate costs ~150 KB of binary.

/// A value on the right of `=`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A basic string with its escapes resolved.
    String(String),
    /// A signed 64-bit integer.
    Integer(i64),
    /// `true` or `false`.
    Boolean(bool),
    /// A one-line array of basic strings.
    Strings(Vec<String>),
}

impl Value {
    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Boolean(_) => "a boolean",
            Value::Strings(_) => "an array",
        }
    }
}

/// One `key = value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The table it belongs to: empty for top level, `["limits"]`, `["room", "lobby"]`.
    pub table: Vec<String>,
    /// The bare key.
    pub key: String,
    /// The value.
    pub value: Value,
    /// 1-based line number.
    pub line: usize,
}

/// One `[table]` header line (kept so that a table without keys still exists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The table's path: `["limits"]` or `["room", "lobby"]`.
    pub table: Vec<String>,
    /// 1-based line number.
    pub line: usize,
}

/// A parsed file: its table headers and its entries, both in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Document {
    /// Every header.
    pub tables: Vec<Header>,
    /// Every `key = value` line.
    pub entries: Vec<Entry>,
}

/// What was wrong on a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// A line that is neither a header, a comment nor `key = value`.
    MissingEquals,
    /// A key with characters outside `A-Z a-z 0-9 _ -` (or empty, quoted or dotted).
    BadKey,
    /// Nothing after `=`.
    MissingValue,
    /// A string without its closing quote on the same line.
    UnterminatedString,
    /// An array without its closing `]` on the same line.
    UnterminatedArray,
    /// A backslash escape other than `\"` `\\` `\n` `\t`.
    BadEscape,
    /// A raw control character inside a string.
    ControlCharacter,
    /// An integer with misplaced `_`, a lone sign or non-digits.
    BadInteger,
    /// An integer written with leading zeros.
    LeadingZero,
    /// An integer beyond the signed 64-bit range.
    IntegerOverflow,
    /// A float, date, non-string or multi-line array, inline table, literal or multi-line
    /// string.
    UnsupportedValue,
    /// Something other than a `#` comment after a complete value or header.
    TrailingText,
    /// A header that is not `[name]` or `[name.NAME]`.
    BadHeader,
    /// The same table header twice; the first was on the given line.
    DuplicateTable {
        /// Line of the first header.
        first_line: usize,
    },
    /// The same key twice in one table; the first was on the given line.
    DuplicateKey {
        /// Line of the first occurrence.
        first_line: usize,
    },
}

impl core::fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ParseErrorKind::MissingEquals => {
                write!(f, "expected `key = value`, a [table] header or a # comment")
            }
            ParseErrorKind::BadKey => write!(
                f,
                "a key must be a bare word of letters, digits, `_` and `-`"
            ),
            ParseErrorKind::MissingValue => write!(f, "missing value after `=`"),
            ParseErrorKind::UnterminatedString => {
                write!(f, "string has no closing `\"` on this line")
            }
            ParseErrorKind::UnterminatedArray => {
                write!(f, "array has no closing `]` on this line")
            }
            ParseErrorKind::BadEscape => {
                write!(
                    f,
                    "unsupported escape in string (only \\\" \\\\ \\n \\t are allowed)"
                )
            }
            ParseErrorKind::ControlCharacter => write!(f, "control character inside a string"),
            ParseErrorKind::BadInteger => write!(
                f,
                "malformed integer (digits, with `_` only between digits)"
            ),
            ParseErrorKind::LeadingZero => write!(f, "integers must not have leading zeros"),
            ParseErrorKind::IntegerOverflow => write!(f, "integer out of range"),
            ParseErrorKind::UnsupportedValue => write!(
                f,
                "unsupported value: only \"strings\", integers, true, false and one-line \
                 [\"string\", …] arrays are allowed"
            ),
            ParseErrorKind::TrailingText => {
                write!(f, "unexpected text after the value (comments start with #)")
            }
            ParseErrorKind::BadHeader => {
                write!(f, "malformed table header: expected [name] or [name.NAME]")
            }
            ParseErrorKind::DuplicateTable { first_line } => {
                write!(f, "table already defined on line {first_line}")
            }
            ParseErrorKind::DuplicateKey { first_line } => {
                write!(f, "key already set on line {first_line}")
            }
        }
    }
}

/// A parse failure: the 1-based line and what was wrong there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub kind: ParseErrorKind,
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.line, self.kind)
    }
}

/// Parses a whole file. Lines may end in LF or CRLF.
pub fn parse(text: &str) -> Result<Document, ParseError> {
    let mut doc = Document::default();
    let mut table: Vec<String> = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let content = raw.strip_suffix('\r').unwrap_or(raw);
        let fail = |kind| ParseError { line, kind };
        let mut cur = Cursor::new(content);
        cur.skip_blanks();
        if cur.at_end_or_comment() {
            continue;
        }
        if cur.eat('[') {
            let path = parse_header(&mut cur).map_err(fail)?;
            if let Some(first) = doc.tables.iter().find(|h| h.table == path) {
                return Err(fail(ParseErrorKind::DuplicateTable {
                    first_line: first.line,
                }));
            }
            table = path.clone();
            doc.tables.push(Header { table: path, line });
            continue;
        }
        let (key, value) = parse_key_value(&mut cur).map_err(fail)?;
        if let Some(first) = doc
            .entries
            .iter()
            .find(|e| e.table == table && e.key == key)
        {
            return Err(fail(ParseErrorKind::DuplicateKey {
                first_line: first.line,
            }));
        }
        doc.entries.push(Entry {
            table: table.clone(),
            key,
            value,
            line,
        });
    }
    Ok(doc)
}

/// `[` already consumed: `name ]` or `name . NAME ]`, then only a comment.
fn parse_header(cur: &mut Cursor<'_>) -> Result<Vec<String>, ParseErrorKind> {
    if cur.peek() == Some('[') {
        return Err(ParseErrorKind::BadHeader);
    }
    let mut path = Vec::new();
    loop {
        cur.skip_blanks();
        let segment = if cur.peek() == Some('"') && !path.is_empty() {
            cur.bump();
            parse_basic_string(cur)?
        } else {
            let word = cur.take_while(is_bare_key_char);
            if word.is_empty() {
                return Err(ParseErrorKind::BadHeader);
            }
            word.to_string()
        };
        path.push(segment);
        cur.skip_blanks();
        if cur.eat(']') {
            break;
        }
        if !cur.eat('.') || path.len() >= 2 {
            return Err(ParseErrorKind::BadHeader);
        }
    }
    cur.skip_blanks();
    if !cur.at_end_or_comment() {
        return Err(ParseErrorKind::TrailingText);
    }
    Ok(path)
}

fn parse_key_value(cur: &mut Cursor<'_>) -> Result<(String, Value), ParseErrorKind> {
    let key = cur.take_while(is_bare_key_char).to_string();
    cur.skip_blanks();
    if key.is_empty() {
        return Err(match cur.peek() {
            Some('=') => ParseErrorKind::BadKey,
            Some('"') | Some('\'') => ParseErrorKind::BadKey,
            _ => ParseErrorKind::MissingEquals,
        });
    }
    if cur.peek() == Some('.') {
        return Err(ParseErrorKind::BadKey);
    }
    if !cur.eat('=') {
        return Err(if cur.at_end_or_comment() {
            ParseErrorKind::MissingEquals
        } else {
            ParseErrorKind::BadKey
        });
    }
    cur.skip_blanks();
    let value = parse_value(cur)?;
    cur.skip_blanks();
    if !cur.at_end_or_comment() {
        return Err(ParseErrorKind::TrailingText);
    }
    Ok((key, value))
}

fn parse_value(cur: &mut Cursor<'_>) -> Result<Value, ParseErrorKind> {
    if cur.at_end_or_comment() {
        return Err(ParseErrorKind::MissingValue);
    }
    if cur.rest().starts_with("\"\"\"") {
        return Err(ParseErrorKind::UnsupportedValue);
    }
    if cur.eat('"') {
        return parse_basic_string(cur).map(Value::String);
    }
    if cur.eat('[') {
        return parse_string_array(cur).map(Value::Strings);
    }
    let token = cur.take_while(|c| !c.is_whitespace() && c != '#');
    match token {
        "true" => Ok(Value::Boolean(true)),
        "false" => Ok(Value::Boolean(false)),
        _ if token.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '_')) => {
            parse_integer(token).map(Value::Integer)
        }
        _ => Err(ParseErrorKind::UnsupportedValue),
    }
}

/// `[` already consumed: `"a", "b" ]` on the same line (a trailing comma is allowed).
fn parse_string_array(cur: &mut Cursor<'_>) -> Result<Vec<String>, ParseErrorKind> {
    let mut items = Vec::new();
    loop {
        cur.skip_blanks();
        if cur.eat(']') {
            return Ok(items);
        }
        if !cur.eat('"') || cur.rest().starts_with("\"\"") {
            return Err(if cur.at_end_or_comment() {
                ParseErrorKind::UnterminatedArray
            } else {
                ParseErrorKind::UnsupportedValue
            });
        }
        items.push(parse_basic_string(cur)?);
        cur.skip_blanks();
        if cur.eat(']') {
            return Ok(items);
        }
        if !cur.eat(',') {
            return Err(if cur.at_end_or_comment() {
                ParseErrorKind::UnterminatedArray
            } else {
                ParseErrorKind::TrailingText
            });
        }
    }
}

/// Opening quote already consumed; reads up to and including the closing quote.
fn parse_basic_string(cur: &mut Cursor<'_>) -> Result<String, ParseErrorKind> {
    let mut out = String::new();
    loop {
        match cur.bump() {
            None => return Err(ParseErrorKind::UnterminatedString),
            Some('"') => return Ok(out),
            Some('\\') => match cur.bump() {
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                None => return Err(ParseErrorKind::UnterminatedString),
                Some(_) => return Err(ParseErrorKind::BadEscape),
            },
            Some(c) if c.is_control() && c != '\t' => return Err(ParseErrorKind::ControlCharacter),
            Some(c) => out.push(c),
        }
    }
}

fn parse_integer(token: &str) -> Result<i64, ParseErrorKind> {
    let (negative, digits) = match (token.strip_prefix('-'), token.strip_prefix('+')) {
        (Some(digits), _) => (true, digits),
        (None, Some(digits)) => (false, digits),
        (None, None) => (false, token),
    };
    let looks_non_decimal =
        digits.starts_with("0x") || digits.starts_with("0o") || digits.starts_with("0b");
    // A date (`1979-05-27`), time, float or non-decimal base: valid TOML, not in the subset.
    let unsupported = looks_non_decimal
        || digits.contains(['.', ':', 'e', 'E'])
        || digits.get(1..).is_some_and(|rest| rest.contains('-'))
        || digits == "inf"
        || digits == "nan";
    if unsupported {
        return Err(ParseErrorKind::UnsupportedValue);
    }
    let bytes = digits.as_bytes();
    let digit_at = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    if bytes.is_empty() {
        return Err(ParseErrorKind::BadInteger);
    }
    for (i, b) in bytes.iter().enumerate() {
        let ok = match b {
            b'0'..=b'9' => true,
            b'_' => i > 0 && digit_at(i - 1) && digit_at(i + 1),
            _ => false,
        };
        if !ok {
            return Err(ParseErrorKind::BadInteger);
        }
    }
    if bytes.len() > 1 && bytes.first() == Some(&b'0') {
        return Err(ParseErrorKind::LeadingZero);
    }
    let mut value: i64 = 0;
    for b in bytes.iter().filter(|b| b.is_ascii_digit()) {
        let d = i64::from(b - b'0');
        value = value
            .checked_mul(10)
            .and_then(|v| {
                if negative {
                    v.checked_sub(d)
                } else {
                    v.checked_add(d)
                }
            })
            .ok_or(ParseErrorKind::IntegerOverflow)?;
    }
    Ok(value)
}

fn is_bare_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// A position inside one line.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn new(line: &'a str) -> Self {
        Cursor { rest: line }
    }

    fn rest(&self) -> &'a str {
        self.rest
    }

    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.rest = &self.rest[c.len_utf8()..];
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }

    fn skip_blanks(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let end = self.rest.find(|c| !keep(c)).unwrap_or(self.rest.len());
        let (taken, rest) = self.rest.split_at(end);
        self.rest = rest;
        taken
    }

    fn at_end_or_comment(&self) -> bool {
        self.rest.is_empty() || self.rest.starts_with('#')
    }
}

#[cfg(test)]
mod tests;
