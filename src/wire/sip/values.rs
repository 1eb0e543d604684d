//! Structured SIP header values (RFC 3261 §20, §25.1): Via (transport, sent-by, branch;
//! RFC 3581 rport/received), CSeq, and name-addr/addr-spec with header parameters (From,
//! To, Contact).

use std::borrow::Cow;

use super::lex::{is_lws, is_token, is_token_byte};
use super::{Method, SipError};

/// The value of parameter `name` in a `;a=1;b;c="x"` list: `Some("")` for a flag, the
/// unquoted value otherwise, `None` when absent. Names compare case-insensitively.
pub fn param_value<'a>(params: &'a str, name: &str) -> Option<&'a str> {
    params.split(';').skip(1).find_map(|p| {
        let (k, v) = match p.split_once('=') {
            Some((k, v)) => (k, v.trim_matches(is_lws)),
            None => (p, ""),
        };
        if !k.trim_matches(is_lws).eq_ignore_ascii_case(name) {
            return None;
        }
        Some(
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v),
        )
    })
}

/// Splits `host[:port]` (host may be an `[IPv6]` reference). `None` if malformed.
pub(crate) fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']')?;
        let host = s.get(..=end)?;
        match s.get(end + 1..)? {
            "" => (host, None),
            rest => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
    if !host_ok {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse().ok()?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// One Via element: `SIP/2.0/UDP host:port;branch=…`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Via<'a> {
    /// Transport token as written (`UDP`, `TCP`, …).
    pub transport: &'a str,
    /// sent-by host (IPv6 with brackets).
    pub host: &'a str,
    /// sent-by port, if given.
    pub port: Option<u16>,
    /// The parameters, starting with `;` (or empty).
    pub params: &'a str,
    /// The whole element as received.
    pub raw: &'a str,
}

impl<'a> Via<'a> {
    /// Parses one Via element (not a comma list).
    pub fn parse(raw: &'a str) -> Result<Via<'a>, SipError> {
        let raw = raw.trim_matches(is_lws);
        let mut rest = raw;
        let mut parts = [""; 3];
        for (i, part) in parts.iter_mut().enumerate() {
            rest = rest.trim_start_matches(is_lws);
            if i > 0 {
                rest = rest.strip_prefix('/').ok_or(SipError::BadVia)?;
                rest = rest.trim_start_matches(is_lws);
            }
            let end = rest
                .find(|c: char| c == '/' || is_lws(c))
                .unwrap_or(rest.len());
            *part = rest.get(..end).ok_or(SipError::BadVia)?;
            rest = rest.get(end..).ok_or(SipError::BadVia)?;
        }
        let [name, version, transport] = parts;
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" || !is_token(transport) {
            return Err(SipError::BadVia);
        }
        let rest = rest.trim_start_matches(is_lws);
        let semi = rest.find(';').unwrap_or(rest.len());
        let sent_by = rest
            .get(..semi)
            .ok_or(SipError::BadVia)?
            .trim_matches(is_lws);
        let params = rest.get(semi..).ok_or(SipError::BadVia)?;
        let (host, port) = split_host_port(sent_by).ok_or(SipError::BadVia)?;
        Ok(Via {
            transport,
            host,
            port,
            params,
            raw,
        })
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&'a str> {
        param_value(self.params, "branch").filter(|b| !b.is_empty())
    }

    /// True if the branch carries the RFC 3261 magic cookie `z9hG4bK`.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with("z9hG4bK"))
    }

    /// True if the client asked for `rport` (RFC 3581).
    pub fn wants_rport(&self) -> bool {
        param_value(self.params, "rport").is_some()
    }

    /// `host[:port]` as written.
    pub fn sent_by(&self) -> (&'a str, Option<u16>) {
        (self.host, self.port)
    }
}

/// CSeq: sequence number and method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CSeq<'a> {
    pub seq: u32,
    pub method: Method<'a>,
}

impl<'a> CSeq<'a> {
    /// Parses `NUMBER METHOD` (number < 2^31, RFC 3261 §8.1.1.5).
    pub fn parse(v: &'a str) -> Result<CSeq<'a>, SipError> {
        let mut it = v.split(|c: char| is_lws(c)).filter(|s| !s.is_empty());
        let (Some(num), Some(method), None) = (it.next(), it.next(), it.next()) else {
            return Err(SipError::BadCSeq);
        };
        if num.len() > 10 || !num.bytes().all(|b| b.is_ascii_digit()) || !is_token(method) {
            return Err(SipError::BadCSeq);
        }
        let seq: u32 = num.parse().map_err(|_| SipError::BadCSeq)?;
        if seq >= 1 << 31 {
            return Err(SipError::BadCSeq);
        }
        Ok(CSeq {
            seq,
            method: Method::from_token(method),
        })
    }
}

/// A name-addr (`"Name" <uri>;params`) or addr-spec (`uri;params`) with header parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// Display name, unquoted and unescaped; empty if none.
    pub display_name: Cow<'a, str>,
    /// The URI inside the angle brackets (or before the first `;` of an addr-spec).
    pub uri: &'a str,
    /// Header parameters, starting with `;` (or empty).
    pub params: &'a str,
}

impl<'a> NameAddr<'a> {
    /// Parses a From/To/Contact value.
    pub fn parse(v: &'a str) -> Result<NameAddr<'a>, SipError> {
        let v = v.trim_matches(is_lws);
        let (display_name, rest) = if let Some(quoted) = v.strip_prefix('"') {
            let (name, after) = split_quoted(quoted).ok_or(SipError::BadNameAddr)?;
            let after = after.trim_start_matches(is_lws);
            if !after.starts_with('<') {
                return Err(SipError::BadNameAddr);
            }
            (name, after)
        } else if let Some(lt) = v.find('<') {
            let name = v
                .get(..lt)
                .ok_or(SipError::BadNameAddr)?
                .trim_matches(is_lws);
            // RFC 3261 §25.1: an unquoted display-name is `*(token LWS)`; RFC 4475 §3.1.2.15
            // (`Bell, Alexander <sip:…>`) is malformed. Non-ASCII letters are let through:
            // phones write unquoted UTF-8 names.
            let tokens_ok = name
                .split(is_lws)
                .all(|w| w.bytes().all(|b| is_token_byte(b) || !b.is_ascii()));
            if !tokens_ok {
                return Err(SipError::BadNameAddr);
            }
            let rest = v.get(lt..).ok_or(SipError::BadNameAddr)?;
            (Cow::Borrowed(name), rest)
        } else {
            let semi = v.find(';').unwrap_or(v.len());
            let uri = v
                .get(..semi)
                .ok_or(SipError::BadNameAddr)?
                .trim_matches(is_lws);
            let params = v.get(semi..).ok_or(SipError::BadNameAddr)?;
            if uri.is_empty() || !uri.contains(':') || uri.contains(is_lws) {
                return Err(SipError::BadNameAddr);
            }
            return Ok(NameAddr {
                display_name: Cow::Borrowed(""),
                uri,
                params,
            });
        };
        let inner = rest.strip_prefix('<').ok_or(SipError::BadNameAddr)?;
        let gt = inner.find('>').ok_or(SipError::BadNameAddr)?;
        let uri = inner.get(..gt).ok_or(SipError::BadNameAddr)?;
        // RFC 3261 §25.1: LAQUOT addr-spec RAQUOT, no whitespace inside the brackets
        // (RFC 4475 §3.1.2.14: `< sip:t.watson@example.org >` is malformed).
        if uri.contains(is_lws) {
            return Err(SipError::BadNameAddr);
        }
        let params = inner
            .get(gt + 1..)
            .ok_or(SipError::BadNameAddr)?
            .trim_matches(is_lws);
        if uri.is_empty() || !uri.contains(':') || !(params.is_empty() || params.starts_with(';')) {
            return Err(SipError::BadNameAddr);
        }
        Ok(NameAddr {
            display_name,
            uri,
            params,
        })
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&'a str> {
        param_value(self.params, "tag").filter(|t| !t.is_empty())
    }

    /// Any header parameter.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        param_value(self.params, name)
    }
}

/// Splits the inside of a quoted string (after the opening quote) into its unescaped
/// content and what follows the closing quote.
fn split_quoted(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let mut escaped = false;
    let mut has_escape = false;
    for (i, b) in s.bytes().enumerate() {
        match (escaped, b) {
            (true, _) => escaped = false,
            (false, b'\\') => {
                escaped = true;
                has_escape = true;
            }
            (false, b'"') => {
                let body = s.get(..i)?;
                let after = s.get(i + 1..)?;
                if !has_escape {
                    return Some((Cow::Borrowed(body), after));
                }
                let mut out = String::with_capacity(body.len());
                let mut chars = body.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => out.extend(chars.next()),
                        c => out.push(c),
                    }
                }
                return Some((Cow::Owned(out), after));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_fields() {
        let v = Via::parse("SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9a1c;rport").unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.sent_by(), ("192.0.2.101", Some(5060)));
        assert_eq!(v.branch(), Some("z9hG4bK74bf9a1c"));
        assert!(v.has_rfc3261_branch());
        assert!(v.wants_rport());
        let v = Via::parse("SIP / 2.0 / TCP [2001:db8::1]:5070 ;received=1.2.3.4").unwrap();
        assert_eq!(v.transport, "TCP");
        assert_eq!(v.sent_by(), ("[2001:db8::1]", Some(5070)));
        assert_eq!(v.branch(), None);
        assert!(!v.wants_rport());
        let v = Via::parse("SIP/2.0/UDP host.example;branch=1234").unwrap();
        assert_eq!(v.port, None);
        assert!(!v.has_rfc3261_branch());
    }

    #[test]
    fn via_errors() {
        for bad in [
            "",
            "SIP/2.0",
            "SIP/3.0/UDP a",
            "HTTP/2.0/UDP a",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP a:99999",
            "SIP/2.0/UDP a:",
            "SIP/2.0/UDP [::1",
        ] {
            assert_eq!(Via::parse(bad), Err(SipError::BadVia), "{bad:?}");
        }
    }

    #[test]
    fn cseq_fields_and_errors() {
        let c = CSeq::parse("1 INVITE").unwrap();
        assert_eq!((c.seq, c.method), (1, Method::Invite));
        let c = CSeq::parse("  42\tFOO ").unwrap();
        assert_eq!((c.seq, c.method), (42, Method::Other("FOO")));
        for bad in [
            "",
            "1",
            "INVITE",
            "x INVITE",
            "1 INVITE x",
            "2147483648 BYE",
        ] {
            assert_eq!(CSeq::parse(bad), Err(SipError::BadCSeq), "{bad:?}");
        }
    }

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse("Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl").unwrap();
        assert_eq!(n.display_name, "Alice");
        assert_eq!(n.uri, "sip:alice@atlanta.example.com");
        assert_eq!(n.tag(), Some("9fxced76sl"));
        let n = NameAddr::parse(r#""Bob \"B\" Smith"<sip:bob@b.example;transport=tcp> ;tag=x"#)
            .unwrap();
        assert_eq!(n.display_name, r#"Bob "B" Smith"#);
        assert_eq!(n.uri, "sip:bob@b.example;transport=tcp");
        assert_eq!(n.tag(), Some("x"));
        let n = NameAddr::parse("sip:carol@c.example;tag=77;x").unwrap();
        assert_eq!(n.display_name, "");
        assert_eq!(n.uri, "sip:carol@c.example");
        assert_eq!(n.tag(), Some("77"));
        assert_eq!(n.param("x"), Some(""));
        let n = NameAddr::parse("<sip:chat22@chat.example.com>").unwrap();
        assert_eq!(n.tag(), None);
    }

    #[test]
    fn name_addr_errors() {
        for bad in [
            "",
            "\"unterminated <sip:a@b>",
            "\"Name\" sip:a@b",
            "<sip:a@b",
            "<>",
            "<sip:a@b> junk",
            "nocolon",
        ] {
            assert_eq!(NameAddr::parse(bad), Err(SipError::BadNameAddr), "{bad:?}");
        }
    }

    #[test]
    fn params_lookup() {
        assert_eq!(param_value(";a=1;B=\"two\";c", "b"), Some("two"));
        assert_eq!(param_value(";a=1;c", "c"), Some(""));
        assert_eq!(param_value(";a=1", "z"), None);
        assert_eq!(param_value("", "a"), None);
    }

    #[test]
    fn host_port_split() {
        assert_eq!(split_host_port("a.b:5060"), Some(("a.b", Some(5060))));
        assert_eq!(split_host_port("[::1]"), Some(("[::1]", None)));
        assert_eq!(split_host_port("[::1]:7"), Some(("[::1]", Some(7))));
        assert_eq!(split_host_port("a b"), None);
        assert_eq!(split_host_port(""), None);
        assert_eq!(split_host_port("[::1]x"), None);
    }
}
