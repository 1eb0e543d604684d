//! Nicknames (RFC 7701 §7.1 Use-Nickname quoted string, RFC 8266 profile §2.3/§2.4): the
//! input as a header value and as a nickname. Properties: quote ∘ parse round-trips;
//! enforcement is idempotent and keeps the comparison key; comparison is symmetric, and
//! reflexive for every nickname that has a comparison key.

use parlor::wire::nickname::{
    comparison_key, enforce, parse_use_nickname, quote_nickname, same_nickname, Requested,
};

/// One fuzz input.
pub fn run(data: &[u8]) {
    let max = super::limits().max_nickname_bytes;
    let text = String::from_utf8_lossy(data);

    // As a Use-Nickname header value.
    match parse_use_nickname(&text, max) {
        Ok(Requested::Set(nick)) => {
            assert!(nick.len() <= max, "unescaped value over the limit");
            let mut quoted = String::new();
            quote_nickname(&nick, &mut quoted);
            assert_eq!(
                parse_use_nickname(&quoted, max),
                Ok(Requested::Set(nick.clone())),
                "quote/parse round trip of {quoted}"
            );
        }
        Ok(Requested::Remove) | Err(_) => {}
    }

    // As a nickname.
    if let Ok(enforced) = enforce(&text, max) {
        assert!(!enforced.is_empty() && enforced.len() <= max);
        assert_eq!(
            enforce(&enforced, max).as_deref(),
            Ok(enforced.as_str()),
            "idempotent"
        );
        assert_eq!(
            comparison_key(&enforced),
            comparison_key(&text),
            "enforcement keeps the comparison key"
        );
        // An enforced nickname may still lack a comparison key (a Cherokee capital: its
        // lower case is outside the profile's tables); it then collides with nothing and the
        // switch refuses it. With a key, it is the same nickname as its raw form.
        if comparison_key(&enforced).is_ok() {
            assert!(same_nickname(&enforced, &text));
            assert!(same_nickname(&text, &text));
        }
    }

    // Two nicknames: the first byte says where the input splits.
    let at = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let a = String::from_utf8_lossy(data.get(1..at.max(1)).unwrap_or_default());
    let b = String::from_utf8_lossy(data.get(at.max(1)..).unwrap_or_default());
    assert_eq!(same_nickname(&a, &b), same_nickname(&b, &a), "symmetric");
    if same_nickname(&a, &b) {
        assert_eq!(comparison_key(&a), comparison_key(&b));
    }
}
