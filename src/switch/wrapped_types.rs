//! What each recipient declared it accepts inside Message/CPIM (RFC 7701 §6.1 and §8,
//! RFC 4975 §8.6 `a=accept-wrapped-types`): the list is parsed once at join (and on a
//! re-offer) into bare lower-case types, and every copy is checked against it.
//!
//! Matching: an entry with parameters matches its bare type; `*` matches anything; `type/*`
//! matches every subtype of `type`. A participant that declared nothing gets only
//! `text/plain` (IMPL-1 / A5: RFC 7701 has no default wrapped type, and plain text is the
//! one type every chat client shows). The list is kept up to `max_bytes`; entries beyond
//! are dropped (never sending an undeclared type is the safe side of RFC 4975 §8.6).

/// The wrapped types assumed for a participant that declared none (IMPL-1).
pub(super) const DEFAULT_WRAPPED_TYPE: &str = "text/plain";

/// A participant's accepted wrapped types: bare, lower case, space separated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct AcceptedTypes {
    list: String,
    /// Whether `list` takes `text/plain`, decided at parse: nearly every message wraps it,
    /// and the fan-out then asks a flag in the participant instead of reading its list.
    plain: bool,
}

/// Whether a wrapped Content-Type is `text/plain` (any parameters).
pub(super) fn is_plain(content_type: &str) -> bool {
    bare_type(content_type).eq_ignore_ascii_case(DEFAULT_WRAPPED_TYPE)
}

/// A Content-Type without its parameters.
fn bare_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

impl AcceptedTypes {
    /// Parses an `a=accept-wrapped-types` value (empty = not declared).
    pub(super) fn parse(offer: &str, max_bytes: usize) -> AcceptedTypes {
        let mut list = String::new();
        for token in offer.split_ascii_whitespace() {
            let bare = token.split(';').next().unwrap_or("").trim();
            if bare.is_empty() || list.split(' ').any(|t| t.eq_ignore_ascii_case(bare)) {
                continue;
            }
            let need = bare.len() + usize::from(!list.is_empty());
            if list.len() + need > max_bytes {
                log::debug!("accept-wrapped-types longer than {max_bytes} bytes: rest ignored");
                break;
            }
            if !list.is_empty() {
                list.push(' ');
            }
            list.extend(bare.chars().map(|c| c.to_ascii_lowercase()));
        }
        if list.is_empty() {
            list.push_str(DEFAULT_WRAPPED_TYPE);
        }
        let mut types = AcceptedTypes { list, plain: false };
        types.plain = types.accepts(DEFAULT_WRAPPED_TYPE);
        types
    }

    /// [`AcceptedTypes::accepts`] for `text/plain`, from the flag set at parse.
    pub(super) fn accepts_plain(&self) -> bool {
        self.plain
    }

    /// Whether a copy whose wrapped Content-Type is `content_type` may be sent.
    pub(super) fn accepts(&self, content_type: &str) -> bool {
        let bare = bare_type(content_type);
        let major = bare.split('/').next().unwrap_or("");
        self.list.split(' ').any(|entry| {
            entry == "*"
                || entry.eq_ignore_ascii_case(bare)
                || entry
                    .strip_suffix("/*")
                    .is_some_and(|t| t.eq_ignore_ascii_case(major))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_with_parameters_match_the_bare_type() {
        // R4975-8.6-a
        let t = AcceptedTypes::parse("text/plain;charset=utf-8 Text/HTML", 256);
        assert!(t.accepts("text/plain"));
        assert!(t.accepts("text/plain; charset=iso-8859-1"));
        assert!(t.accepts("text/html"));
        assert!(!t.accepts("image/png"));
        assert!(!t.accepts("text/plainx"));
    }

    #[test]
    fn star_and_type_wildcards() {
        let any = AcceptedTypes::parse("text/plain *", 256);
        assert!(any.accepts("application/octet-stream"));
        let images = AcceptedTypes::parse("image/*", 256);
        assert!(images.accepts("image/png"));
        assert!(images.accepts("IMAGE/jpeg"));
        assert!(!images.accepts("text/plain"));
    }

    #[test]
    fn nothing_declared_means_text_plain_only() {
        // IMPL-1 / A5
        for offer in ["", "   ", ";x"] {
            let t = AcceptedTypes::parse(offer, 256);
            assert!(t.accepts("text/plain; charset=utf-8"), "{offer:?}");
            assert!(!t.accepts("text/html"), "{offer:?}");
        }
    }

    #[test]
    fn the_list_is_bounded_and_deduplicated() {
        let t = AcceptedTypes::parse("text/plain TEXT/PLAIN image/png application/pdf", 20);
        assert!(t.list.len() <= 20);
        assert_eq!(t.list, "text/plain image/png");
        assert!(
            !t.accepts("application/pdf"),
            "dropped entries are not accepted"
        );
    }

    #[test]
    fn the_plain_flag_agrees_with_the_list() {
        for (offer, plain) in [
            ("", true),
            ("text/plain", true),
            ("Text/Plain;charset=utf-8", true),
            ("text/*", true),
            ("*", true),
            ("image/png", false),
            ("text/html image/*", false),
        ] {
            let t = AcceptedTypes::parse(offer, 256);
            assert_eq!(t.accepts_plain(), plain, "{offer:?}");
            assert_eq!(t.accepts_plain(), t.accepts("text/plain"), "{offer:?}");
        }
        assert!(is_plain("text/plain"));
        assert!(is_plain(" TEXT/PLAIN ; charset=utf-8"));
        assert!(!is_plain("text/plainx"));
        assert!(!is_plain("text/html"));
    }
}
