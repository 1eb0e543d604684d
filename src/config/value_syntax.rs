//! The syntax of single setting values shared by flags and config files: memory sizes,
//! literal listen addresses, log levels, the room-URI domain and room names (RFC 3261 §25.1
//! `token` for the user part of `sip:NAME@DOMAIN`, RFC 7701 §5.1).
//!
//! Every function returns a one-line message on error; the caller prefixes where the value
//! came from (`FILE:LINE` or `--flag`).

use core::net::{Ipv6Addr, SocketAddr};

/// Bytes in a KiB.
const KIB: u64 = 1024;

/// Parses a memory size in bytes.
///
/// Accepted forms: plain bytes (`1048576`, `1_048_576`), or a number followed by a binary
/// suffix, optionally after one space: `K` or `KiB` (× 1024), `M` or `MiB` (× 1024²).
/// So `512K`, `512KiB` and `524288` are the same size, and `8M`, `8 MiB` and `8388608` are
/// too. Decimal points, other suffixes and sizes that do not fit `usize` are refused.
pub fn parse_memory_cap(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits_end);
    let suffix = suffix.strip_prefix(' ').unwrap_or(suffix);
    let malformed = number.is_empty()
        || number.starts_with('_')
        || number.ends_with('_')
        || number.contains("__")
        || suffix.starts_with(['.', ',']);
    if malformed {
        return Err(format!(
            "`{text}` is not a size: expected bytes, or a number with K, KiB, M or MiB"
        ));
    }
    let multiplier = match suffix {
        "" => 1,
        "K" | "KiB" => KIB,
        "M" | "MiB" => KIB * KIB,
        other => {
            return Err(format!(
                "unknown size suffix `{other}` (use bytes, K, KiB, M or MiB)"
            ))
        }
    };
    let too_big = || format!("`{text}` is too large");
    let mut value: u64 = 0;
    for b in number.bytes().filter(u8::is_ascii_digit) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or_else(too_big)?;
    }
    let bytes = value.checked_mul(multiplier).ok_or_else(too_big)?;
    usize::try_from(bytes).map_err(|_| too_big())
}

/// Parses `IP:PORT` (`127.0.0.1:5060`, `[::1]:5060`). Host names are refused: the server
/// never resolves names, so a static binary does not depend on NSS.
pub fn parse_listen_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse::<SocketAddr>().map_err(|_| {
        format!(
            "`{text}` is not IP:PORT (a literal IPv4 address, or [IPv6] in brackets, then :port)"
        )
    })
}

/// Parses a log level: `error`, `warn`, `info`, `debug`, `trace` or `off`.
pub fn parse_log_level(text: &str) -> Result<log::LevelFilter, String> {
    match text {
        "error" => Ok(log::LevelFilter::Error),
        "warn" => Ok(log::LevelFilter::Warn),
        "info" => Ok(log::LevelFilter::Info),
        "debug" => Ok(log::LevelFilter::Debug),
        "trace" => Ok(log::LevelFilter::Trace),
        "off" => Ok(log::LevelFilter::Off),
        _ => Err(format!(
            "unknown log level `{text}` (use error, warn, info, debug, trace or off)"
        )),
    }
}

/// Checks a room name: a non-empty RFC 3261 `token` (letters, digits and `-.!%*_+`'~`), so
/// it can stand as the user part of `sip:NAME@DOMAIN` without escaping.
pub fn check_room_name(name: &str) -> Result<(), String> {
    let is_token_char = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '-' | '.' | '!' | '%' | '*' | '_' | '+' | '`' | '\'' | '~'
            )
    };
    if name.is_empty() {
        return Err("room name must not be empty".to_string());
    }
    if let Some(bad) = name.chars().find(|c| !is_token_char(*c)) {
        return Err(format!(
            "room name `{name}` contains `{bad}`; use letters, digits and -.!%*_+`'~"
        ));
    }
    Ok(())
}

/// Checks the domain of room URIs: a host name (dot-separated labels of letters, digits and
/// inner `-`), an IPv4 address, or an IPv6 address in brackets.
pub fn check_domain(domain: &str) -> Result<(), String> {
    if let Some(inner) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        return inner
            .parse::<Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| format!("`{domain}` is not a bracketed IPv6 address"));
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if domain.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(format!(
            "`{domain}` is not a domain (labels of letters, digits and inner `-`, separated by dots)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_cap_plain_and_suffixed() {
        assert_eq!(parse_memory_cap("1048576"), Ok(1 << 20));
        assert_eq!(parse_memory_cap("1_048_576"), Ok(1 << 20));
        assert_eq!(parse_memory_cap("512K"), Ok(512 * 1024));
        assert_eq!(parse_memory_cap("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_memory_cap("8M"), Ok(8 << 20));
        assert_eq!(parse_memory_cap("8MiB"), Ok(8 << 20));
        assert_eq!(parse_memory_cap("8 MiB"), Ok(8 << 20));
        assert_eq!(parse_memory_cap(" 3 "), Ok(3));
    }

    #[test]
    fn memory_cap_refusals() {
        for bad in ["", "M", "-1", "1.5M", "_1", "1_", "1__0", "x1"] {
            let e = parse_memory_cap(bad).unwrap_err();
            assert!(e.contains("is not a size"), "{bad:?}: {e}");
        }
        for bad in ["8G", "8k", "8 KB", "8MB", "8  M"] {
            let e = parse_memory_cap(bad).unwrap_err();
            assert!(e.contains("unknown size suffix"), "{bad:?}: {e}");
        }
        let e = parse_memory_cap("99999999999999999999").unwrap_err();
        assert!(e.contains("too large"), "{e}");
        let e = parse_memory_cap("18446744073709551615M").unwrap_err();
        assert!(e.contains("too large"), "{e}");
    }

    #[test]
    fn listen_addresses_are_literal() {
        assert_eq!(
            parse_listen_addr("127.0.0.1:5060").unwrap().to_string(),
            "127.0.0.1:5060"
        );
        assert_eq!(parse_listen_addr("[::1]:2855").unwrap().port(), 2855);
        for bad in [
            "localhost:5060",
            "127.0.0.1",
            "::1:5060",
            "1.2.3.4:99999",
            "",
        ] {
            assert!(
                parse_listen_addr(bad).unwrap_err().contains("IP:PORT"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn log_levels() {
        assert_eq!(parse_log_level("off"), Ok(log::LevelFilter::Off));
        assert_eq!(parse_log_level("error"), Ok(log::LevelFilter::Error));
        assert_eq!(parse_log_level("warn"), Ok(log::LevelFilter::Warn));
        assert_eq!(parse_log_level("info"), Ok(log::LevelFilter::Info));
        assert_eq!(parse_log_level("debug"), Ok(log::LevelFilter::Debug));
        assert_eq!(parse_log_level("trace"), Ok(log::LevelFilter::Trace));
        assert!(parse_log_level("INFO").is_err());
        assert!(parse_log_level("verbose").unwrap_err().contains("verbose"));
    }

    #[test]
    fn room_names_are_tokens() {
        for good in ["lobby", "my.room", "a-b_c", "x!%*+`'~9"] {
            assert_eq!(check_room_name(good), Ok(()), "{good}");
        }
        assert!(check_room_name("").is_err());
        for bad in ["a b", "a@b", "a:b", "room;x", "é"] {
            assert!(
                check_room_name(bad).unwrap_err().contains("contains"),
                "{bad}"
            );
        }
    }

    #[test]
    fn domains() {
        for good in [
            "localhost",
            "chat.example.net",
            "192.0.2.1",
            "[2001:db8::1]",
            "a-b.c",
        ] {
            assert_eq!(check_domain(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "a..b",
            "-a.b",
            "a-.b",
            "a b",
            "a.b.",
            "[zz]",
            "ex_ample.net",
            "2001:db8::1",
        ] {
            assert!(check_domain(bad).is_err(), "{bad}");
        }
    }
}
