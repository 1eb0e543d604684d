//! Nickname codec: the RFC 7701 §7.1 `Use-Nickname` quoted string (parse and quote) and the
//! RFC 8266 Nickname profile (enforcement §2.3, comparison §2.4) that RFC 7701 §7.1 asks for
//! through RFC 7700 (A17: RFC 8266 obsoletes RFC 7700, so its rules win).
//!
//! With the `precis` feature the profile is the `precis-profiles` crate (FreeformClass,
//! Zs → SPACE mapping, trimming, collapsing, NFKC, toLowerCase). Without it an ASCII-only
//! fallback: printable ASCII plus SPACE, the same space rules, ASCII lower case.

/// RFC 4975 §7.1: the body of a request other than SEND is at most this many octets.
pub const MAX_NON_SEND_BODY: usize = 10_240;

/// What is wrong with a nickname; every case is MSRP 424 (RFC 7701 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NicknameError {
    /// Not `DQUOTE *(qdtext / qd-esc) DQUOTE` (RFC 4975 §9, RFC 7701 §7.1).
    Syntax,
    /// More octets than allowed (A7: counted on the unescaped UTF-8 value).
    TooLong,
    /// A code point the profile disallows (RFC 8266 §2.2: FreeformClass).
    Disallowed,
    /// Nothing left after enforcement (RFC 8266 §2.3).
    Empty,
}

/// A parsed `Use-Nickname` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requested {
    /// `""`: drop the current nickname (RFC 7701 §7.3, A6).
    Remove,
    /// The unescaped nickname, not yet enforced.
    Set(String),
}

/// Parses a `Use-Nickname` header value: a quoted string whose `\\` and `\"` escapes are
/// resolved; at most `max_bytes` octets once unescaped (A7). `""` is removal (A6).
pub fn parse_use_nickname(value: &str, max_bytes: usize) -> Result<Requested, NicknameError> {
    let inner = value
        .trim_matches([' ', '\t'])
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .ok_or(NicknameError::Syntax)?;
    if inner.is_empty() {
        return Ok(Requested::Remove);
    }
    if inner.len() > max_bytes.saturating_mul(2) {
        // Even fully escaped it cannot unescape to `max_bytes`: refuse before copying.
        return Err(NicknameError::TooLong);
    }
    let mut out = String::with_capacity(inner.len().min(max_bytes));
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        let c = match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | '"')) => e,
                _ => return Err(NicknameError::Syntax),
            },
            // RFC 4975 qdtext: SP, HTAB, %x21, %x23-5B, %x5D-7E, UTF8-NONASCII.
            '"' => return Err(NicknameError::Syntax),
            ' ' | '\t' => c,
            c if c.is_ascii_control() || c == '\u{7f}' => return Err(NicknameError::Syntax),
            c => c,
        };
        if out.len() + c.len_utf8() > max_bytes {
            return Err(NicknameError::TooLong);
        }
        out.push(c);
    }
    Ok(Requested::Set(out))
}

/// Appends `nick` as a `Use-Nickname` quoted string (the inverse of [`parse_use_nickname`]).
pub fn quote_nickname(nick: &str, out: &mut String) {
    out.push('"');
    for c in nick.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// URI schemes a nickname may not start with (case-insensitive): a nickname shown where a
/// URI is expected must not pass for one.
const ADDRESS_SCHEMES: [&str; 6] = ["sip:", "sips:", "tel:", "im:", "pres:", "mailto:"];

/// True if `nick` (enforced or comparison form) is shaped like an address: anything with
/// `@` (`alice@example.com`), or a word, or a part after `<`, that starts with a chat URI
/// scheme (`sip:bob`, `Bob <tel:+1555>`). Such nicknames are refused as reserved (issue
/// 15): in a roster or a message line they would impersonate the participant whose
/// address they copy.
pub fn looks_like_address(nick: &str) -> bool {
    let lower = nick.to_ascii_lowercase();
    let scheme_word = lower
        .split(|c: char| c.is_whitespace() || c == '<' || c == '\u{ff1c}')
        .any(|word| ADDRESS_SCHEMES.iter().any(|s| word.starts_with(s)));
    scheme_word || nick.contains(['@', '\u{ff20}'])
}

/// RFC 8266 §2.3 enforcement: the form that is stored and shown. Refuses disallowed code
/// points, empty results and results longer than `max_bytes` (NFKC can expand).
pub fn enforce(nick: &str, max_bytes: usize) -> Result<String, NicknameError> {
    let enforced = profile::enforce(nick)?;
    if enforced.is_empty() {
        return Err(NicknameError::Empty);
    }
    if enforced.len() > max_bytes {
        return Err(NicknameError::TooLong);
    }
    Ok(enforced)
}

/// RFC 8266 §2.4: the string two nicknames are compared by, octet for octet
/// (additional mapping, case mapping, NFKC). Two nicknames collide when their keys are equal.
/// The key is taken of the enforced form (§2.3), so a nickname and its enforced form always
/// share a key: case mapping before NFKC is not the same as NFKC before case mapping (found
/// by fuzzing: U+03F9 `Ϲ` lower-cases to `ϲ`, whose NFKC is final `ς`, while its enforced
/// form `Σ` lower-cases to `σ`), and the switch compares enforced nicknames with raw
/// reserved words and room names.
pub fn comparison_key(nick: &str) -> Result<String, NicknameError> {
    profile::compare_key(&profile::enforce(nick)?)
}

/// True when `a` and `b` are the same nickname under RFC 8266 §2.4. Strings the profile
/// refuses collide with nothing.
pub fn same_nickname(a: &str, b: &str) -> bool {
    match (comparison_key(a), comparison_key(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// RFC 8266 §2.1 additional mapping rule over chars: every space (`is_space`) becomes one
/// SPACE, leading and trailing spaces go, interior runs collapse to one.
#[cfg_attr(feature = "precis", allow(dead_code))]
fn map_spaces(s: &str, is_space: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending = false;
    for c in s.chars() {
        if is_space(c) {
            pending = !out.is_empty();
        } else {
            if pending {
                out.push(' ');
                pending = false;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(feature = "precis")]
mod profile {
    //! RFC 8266 through `precis-profiles`.
    use std::borrow::Cow;

    use precis_profiles::precis_core::profile::{stabilize, Profile, Rules};
    use precis_profiles::precis_core::Error;
    use precis_profiles::Nickname;

    use super::NicknameError;

    fn classify(e: Error) -> NicknameError {
        match e {
            // `Invalid` is the crate's "empty" (or unstable) verdict.
            Error::Invalid => NicknameError::Empty,
            _ => NicknameError::Disallowed,
        }
    }

    pub(super) fn enforce(nick: &str) -> Result<String, NicknameError> {
        Nickname::new()
            .enforce(nick)
            .map(Cow::into_owned)
            .map_err(classify)
    }

    pub(super) fn compare_key(nick: &str) -> Result<String, NicknameError> {
        let p = Nickname::new();
        // RFC 8266 §2.4: preparation, additional mapping, case mapping (toLowerCase), NFKC;
        // repeated until stable (RFC 8264 §7).
        stabilize(nick, |s| {
            let s = p.prepare(s)?;
            let s = p.additional_mapping_rule(s)?;
            let s = p.case_mapping_rule(s)?;
            p.normalization_rule(s)
        })
        .map(Cow::into_owned)
        .map_err(classify)
    }
}

#[cfg(not(feature = "precis"))]
mod profile {
    //! ASCII-only stand-in: printable ASCII and SPACE; no Unicode tables in the binary.
    use super::{map_spaces, NicknameError};

    fn allowed(nick: &str) -> Result<(), NicknameError> {
        if nick.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
            Ok(())
        } else {
            Err(NicknameError::Disallowed)
        }
    }

    pub(super) fn enforce(nick: &str) -> Result<String, NicknameError> {
        allowed(nick)?;
        Ok(map_spaces(nick, |c| c == ' '))
    }

    pub(super) fn compare_key(nick: &str) -> Result<String, NicknameError> {
        let mut key = enforce(nick)?;
        if key.is_empty() {
            return Err(NicknameError::Empty);
        }
        key.make_ascii_lowercase();
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1023;

    /// Fuzz finding (tests/fuzz/regressions/nickname/comparison-key-lunate-sigma): the
    /// comparison key of a nickname differed from that of its enforced form, so `aϹ d@A&b`
    /// and `aΣ d@A&b` — which enforce to the same displayed nickname — did not collide.
    /// Fuzz finding (tests/fuzz/regressions/nickname/cherokee-capital-has-no-key): a Cherokee
    /// capital letter passes enforcement, but its lower case (Cherokee small letters, Unicode
    /// 8.0) is outside the profile's tables, so the nickname has no comparison key and
    /// collides with nothing — the switch refuses it with 424 rather than storing it.
    #[cfg(feature = "precis")]
    #[test]
    fn enforced_nickname_without_comparison_key_is_refused_not_stored() {
        let raw = "Ꮟo";
        assert_eq!(enforce(raw, MAX).as_deref(), Ok(raw));
        assert_eq!(comparison_key(raw), Err(NicknameError::Disallowed));
        assert!(!same_nickname(raw, raw));
    }

    #[test]
    fn comparison_key_is_the_key_of_the_enforced_form() {
        let raw =
            std::str::from_utf8(&[0x61, 0xcf, 0xb9, 0x20, 0x64, 0x40, 0x41, 0x26, 0x62]).unwrap();
        let enforced = enforce(raw, MAX).unwrap();
        assert_eq!(comparison_key(&enforced), comparison_key(raw));
        assert!(same_nickname(raw, &enforced));
        for s in ["Alice", "  Bob  the\tBuilder ", "\u{3a3}x", "\u{3f9}", "ﬀ"] {
            if let Ok(e) = enforce(s, MAX) {
                assert_eq!(comparison_key(&e), comparison_key(s), "{s:?}");
            }
        }
    }

    fn set(s: &str) -> Requested {
        Requested::Set(s.to_string())
    }

    #[test]
    fn parses_quoted_strings_and_escapes() {
        assert_eq!(
            parse_use_nickname("\"Alice the great\"", MAX),
            Ok(set("Alice the great"))
        );
        assert_eq!(
            parse_use_nickname("\"a \\\"b\\\" \\\\\"", MAX),
            Ok(set("a \"b\" \\"))
        );
        assert_eq!(parse_use_nickname("\"\"", MAX), Ok(Requested::Remove));
        assert_eq!(parse_use_nickname(" \"x\" ", MAX), Ok(set("x")));
        assert_eq!(parse_use_nickname("\"Zoë\"", MAX), Ok(set("Zoë")));
    }

    #[test]
    fn refuses_bad_quoting() {
        for bad in [
            "Alice",
            "\"Alice",
            "Alice\"",
            "\"",
            "\"a\\x\"",
            "\"a\\\"",
            "\"a\"b\"",
            "\"bell\u{7}\"",
            "\"del\u{7f}\"",
            "",
        ] {
            assert_eq!(
                parse_use_nickname(bad, MAX),
                Err(NicknameError::Syntax),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn length_counts_unescaped_octets() {
        let ok = format!("\"{}\"", "a".repeat(1023));
        assert_eq!(parse_use_nickname(&ok, MAX), Ok(set(&"a".repeat(1023))));
        let long = format!("\"{}\"", "a".repeat(1024));
        assert_eq!(parse_use_nickname(&long, MAX), Err(NicknameError::TooLong));
        // 1023 escaped quotes unescape to 1023 octets.
        let escaped = format!("\"{}\"", "\\\"".repeat(1023));
        assert!(
            matches!(parse_use_nickname(&escaped, MAX), Ok(Requested::Set(s)) if s.len() == 1023)
        );
        // Multi-byte: 341 × 3 = 1023 fits, one more does not.
        let euro = format!("\"{}\"", "€".repeat(341));
        assert!(parse_use_nickname(&euro, MAX).is_ok());
        let euro = format!("\"{}\"", "€".repeat(342));
        assert_eq!(parse_use_nickname(&euro, MAX), Err(NicknameError::TooLong));
        assert_eq!(
            parse_use_nickname("\"abcd\"", 3),
            Err(NicknameError::TooLong)
        );
    }

    #[test]
    fn quoting_round_trips() {
        for nick in ["plain", "a \"b\" \\c", "\\", "\""] {
            let mut q = String::new();
            quote_nickname(nick, &mut q);
            assert_eq!(parse_use_nickname(&q, MAX), Ok(set(nick)), "{q}");
        }
    }

    // R7700-2.1-a: spaces trimmed and collapsed.
    #[test]
    fn spaces_are_trimmed_and_collapsed() {
        assert_eq!(enforce("  Al   Bo ", MAX).as_deref(), Ok("Al Bo"));
        assert!(same_nickname("  Al   Bo ", "Al Bo"));
        assert!(!same_nickname("AlBo", "Al Bo"));
    }

    // R7700-2.1-b: case mapping for comparison only.
    #[test]
    fn case_is_ignored_in_comparison_only() {
        assert!(same_nickname("Foo", "foo"));
        assert!(same_nickname("Dopey", "DOPEY"));
        assert_eq!(enforce("Foo", MAX).as_deref(), Ok("Foo"));
        assert!(!same_nickname("B0Y", "BOY"));
    }

    // R7700-2.3-a: only spaces enforce to nothing.
    #[test]
    fn only_spaces_is_empty() {
        assert_eq!(enforce("   ", MAX), Err(NicknameError::Empty));
        assert!(comparison_key("   ").is_err());
        assert!(!same_nickname("  ", "   "));
    }

    // R7700-2.2-a: controls are not FreeformClass.
    #[test]
    fn controls_are_disallowed() {
        assert_eq!(enforce("bell\u{7}", MAX), Err(NicknameError::Disallowed));
        assert_eq!(enforce("tab\there", MAX), Err(NicknameError::Disallowed));
    }

    #[cfg(feature = "precis")]
    mod unicode {
        use super::*;

        // R7700-2.1-a: every Unicode Zs space maps to SPACE.
        #[test]
        fn non_ascii_spaces_map_to_space() {
            assert_eq!(enforce("Al\u{3000}\u{a0}Bo", MAX).as_deref(), Ok("Al Bo"));
            assert!(same_nickname("\u{2003}Al\u{2009}Bo\u{202f}", "al bo"));
        }

        // R7700-2.1-c: NFKC.
        #[test]
        fn nfkc_folds_compatibility_forms() {
            assert!(same_nickname("Richard \u{2163}", "richard iv"));
            assert_eq!(
                enforce("Richard \u{2163}", MAX).as_deref(),
                Ok("Richard IV")
            );
            // Fullwidth Latin letters (width mapping happens through NFKC in RFC 8266).
            assert!(same_nickname("\u{ff21}\u{ff4c}", "al"));
        }

        // R7700-2.1-b under RFC 8266 (A17): toLowerCase maps Σ (U+03A3) to σ (U+03C3), so
        // they collide, while final sigma ς (U+03C2) is already lower case and stays itself.
        // RFC 7700 used Default Case Folding, under which ς folds to σ and all three collide;
        // RFC 8266 §2.2 replaced that with toLowerCase, so ς is a different nickname here.
        #[test]
        fn sigma_follows_rfc_8266_to_lower_case() {
            assert!(same_nickname("\u{3a3}", "\u{3c3}"));
            assert!(!same_nickname("\u{3c2}", "\u{3c3}"));
            assert!(!same_nickname("\u{3c2}", "\u{3a3}"));
        }

        #[test]
        fn unicode_letters_are_allowed_and_preserved() {
            assert_eq!(enforce("Zoë 東京", MAX).as_deref(), Ok("Zoë 東京"));
            assert!(same_nickname("ZOË", "zoë"));
            // Unassigned code points are not FreeformClass.
            assert_eq!(enforce("x\u{e0080}", MAX), Err(NicknameError::Disallowed));
        }

        #[test]
        fn expansion_beyond_the_limit_is_refused() {
            // U+FDFA expands to 18 code points (33 octets) under NFKC.
            assert_eq!(enforce("\u{fdfa}", 20), Err(NicknameError::TooLong));
            assert!(enforce("\u{fdfa}", MAX).is_ok());
        }
    }

    #[cfg(not(feature = "precis"))]
    mod ascii {
        use super::*;

        #[test]
        fn non_ascii_is_refused() {
            assert_eq!(enforce("Zoë", MAX), Err(NicknameError::Disallowed));
            assert_eq!(enforce("Al\u{3000}Bo", MAX), Err(NicknameError::Disallowed));
            assert_eq!(
                enforce("Richard \u{2163}", MAX),
                Err(NicknameError::Disallowed)
            );
            assert!(!same_nickname("\u{3a3}", "\u{3c3}"));
        }

        #[test]
        fn ascii_printables_are_kept() {
            assert_eq!(enforce(" ~Al!  {Bo} ", MAX).as_deref(), Ok("~Al! {Bo}"));
            assert!(same_nickname("ABC xyz", "abc XYZ"));
        }
    }
}
