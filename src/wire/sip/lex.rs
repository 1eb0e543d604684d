//! SIP lexical classes (RFC 3261 §25.1): linear white space and `token` characters. A leaf
//! that every SIP parser module reads from.

/// True for a linear-white-space character (RFC 3261 §25.1 `LWS`, line folding included).
pub(crate) fn is_lws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// RFC 3261 §25.1 `token` characters.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// True if `s` is a non-empty RFC 3261 token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}
