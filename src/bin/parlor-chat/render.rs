//! Inert rendering of everything that came from the network before it reaches the terminal
//! (RFC 3862 §3.1: CPIM content is the sender's arbitrary bytes; RFC 3261 §25.1 reason
//! phrases, RFC 4575 roster text and RFC 4975 comments are text a peer chose): no control
//! character is written raw, so a peer can neither drive the terminal (escape sequences,
//! cursor moves, titles, bells) nor make a line look like someone else's.
//!
//! - C0 controls U+0000–U+001F become their Unicode control pictures (U+2400 + n: `␛` for
//!   ESC, `␍` for a lone CR); DEL becomes `␡`; a tab becomes four spaces.
//! - C1 controls U+0080–U+009F and the invisible bidirectional and line-breaking format
//!   characters (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069, U+2028, U+2029)
//!   become `<U+XXXX>`.
//! - Bytes that are not UTF-8 become U+FFFD.
//! - In a message body, a line break (LF or CRLF) starts a continuation line indented by
//!   [`INDENT`], so no line a peer controls starts at column 0.

/// What a message's continuation lines start with.
pub const INDENT: &str = "    ";

/// A one-line value (a URI, a name, a reason phrase): every control character inert,
/// line breaks included.
pub fn field(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_inert(&mut out, c);
    }
    out
}

/// A message body: invalid UTF-8 replaced, control characters inert, line breaks kept
/// but every line after the first indented; trailing line breaks dropped.
pub fn body(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut text: &str = &text;
    while let Some(rest) = text.strip_suffix('\n') {
        text = rest.strip_suffix('\r').unwrap_or(rest);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                out.push('\n');
                out.push_str(INDENT);
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            c => push_inert(&mut out, c),
        }
    }
    out
}

/// Appends `c`, or its inert stand-in when it is a control character.
fn push_inert(out: &mut String, c: char) {
    let code = u32::from(c);
    match c {
        '\t' => out.push_str(INDENT),
        '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + code).unwrap_or('\u{fffd}')),
        '\u{7f}' => out.push('\u{2421}'),
        '\u{80}'..='\u{9f}'
        | '\u{061c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{2028}'
        | '\u{2029}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => out.push_str(&format!("<U+{code:04X}>")),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `s` holds anything a terminal would act on.
    fn has_raw_control(s: &str) -> bool {
        s.chars().any(|c| {
            (c.is_control() && c != '\n')
                || matches!(
                    c,
                    '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
                )
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
    }

    #[test]
    fn c0_controls_become_control_pictures() {
        assert_eq!(
            field("\x1b[2J\x1b]0;t\x07\x00\x08"),
            "\u{241b}[2J\u{241b}]0;t\u{2407}\u{2400}\u{2408}"
        );
        assert_eq!(field("a\x1fb"), "a\u{241f}b");
        assert_eq!(field("tab\there"), "tab    here");
    }

    #[test]
    fn del_c1_and_bidi_controls_become_visible() {
        assert_eq!(field("x\x7fy"), "x\u{2421}y");
        assert_eq!(field("\u{80}\u{9b}\u{9f}"), "<U+0080><U+009B><U+009F>");
        assert_eq!(
            field("\u{202e}txt.exe\u{202c}\u{2066}\u{2069}\u{200e}\u{200f}\u{061c}"),
            "<U+202E>txt.exe<U+202C><U+2066><U+2069><U+200E><U+200F><U+061C>"
        );
        assert_eq!(field("a\u{2028}b\u{2029}c"), "a<U+2028>b<U+2029>c");
        // Ordinary text, other scripts and emoji (with a joiner) are left alone.
        let plain = "héllo мир 你好 👩\u{200d}💻 <sip:a@b>";
        assert_eq!(field(plain), plain);
        assert_eq!(body(plain.as_bytes()), plain);
    }

    #[test]
    fn a_field_never_breaks_the_line() {
        let shown = field("name\r\n<sip:root@x> hi\rz");
        assert!(!shown.contains(['\r', '\n']), "{shown:?}");
        assert_eq!(shown, "name\u{240d}\u{240a}<sip:root@x> hi\u{240d}z");
    }

    #[test]
    fn body_lines_after_the_first_are_indented() {
        assert_eq!(
            body(b"one\n<sip:root@x> two\r\nthree"),
            "one\n    <sip:root@x> two\n    three"
        );
        assert_eq!(body(b"\n<sip:root@x> a"), "\n    <sip:root@x> a");
        assert_eq!(body(b"hi\r\n\n"), "hi");
    }

    #[test]
    fn a_lone_carriage_return_is_shown_not_obeyed() {
        assert_eq!(body(b"\r<sip:root@x> hi"), "\u{240d}<sip:root@x> hi");
        assert_eq!(body(b"a\r\rb\r"), "a\u{240d}\u{240d}b\u{240d}");
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(body(b"raw \x9b31m \xff"), "raw \u{fffd}31m \u{fffd}");
        assert_eq!(body(b"\xc2\x9b"), "<U+009B>");
    }

    #[test]
    fn nothing_raw_survives_any_byte() {
        let all: Vec<u8> = (0..=255u8).collect();
        let shown = body(&all);
        assert!(!has_raw_control(&shown), "{shown:?}");
        for line in shown.lines().skip(1) {
            assert!(line.starts_with(INDENT), "{line:?}");
        }
        let every_char: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        assert!(!has_raw_control(&field(&every_char)));
        assert!(!has_raw_control(&body(every_char.as_bytes())));
    }
}
