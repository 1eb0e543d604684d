//! MSRP URIs and paths (RFC 4975 §6, §6.1): parse `msrp://host:port/session-id;tcp` and
//! compare two URIs the RFC way (scheme, host, transport case-insensitive; IP hosts by
//! value; ports must match; session-id case-sensitive; userinfo ignored).

use core::net::IpAddr;

use super::MsrpError;

/// The URIs of a To-Path / From-Path / `a=path` value, left to right.
pub fn path_uris(path: &str) -> impl Iterator<Item = &str> {
    path.split_ascii_whitespace()
}

/// The leftmost URI of a path (next hop).
pub fn first_uri(path: &str) -> Option<&str> {
    path_uris(path).next()
}

/// The rightmost URI of a path (the session's own URI).
pub fn last_uri(path: &str) -> Option<&str> {
    path_uris(path).last()
}

/// A parsed MSRP URI, borrowing the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsrpUri<'a> {
    /// `msrp` or `msrps` (any case).
    pub scheme: &'a str,
    /// Host: a name, an IPv4 literal, or an IPv6 literal without brackets.
    pub host: &'a str,
    /// Explicit port.
    pub port: Option<u16>,
    /// Session-id (may be empty when the URI has none, e.g. a relay).
    pub session_id: &'a str,
    /// Transport, e.g. `tcp`.
    pub transport: &'a str,
}

impl<'a> MsrpUri<'a> {
    /// Parses one URI: `scheme://[userinfo@]host[:port][/session-id];transport[;params]`.
    pub fn parse(s: &'a str) -> Result<MsrpUri<'a>, MsrpError> {
        let s = s.trim();
        let (scheme, rest) = s.split_once("://").ok_or(MsrpError::BadUri)?;
        if !(scheme.eq_ignore_ascii_case("msrp") || scheme.eq_ignore_ascii_case("msrps")) {
            return Err(MsrpError::BadUri);
        }
        let (before_params, params) = rest.split_once(';').ok_or(MsrpError::BadUri)?;
        let transport = params.split(';').next().unwrap_or("");
        if transport.is_empty() || !transport.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MsrpError::BadUri);
        }
        let (authority, session_id) = match before_params.split_once('/') {
            Some((a, sid)) => (a, sid),
            None => (before_params, ""),
        };
        if !session_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+=/%".contains(&b))
        {
            return Err(MsrpError::BadUri);
        }
        let hostport = match authority.rsplit_once('@') {
            Some((_user, hp)) => hp,
            None => authority,
        };
        let (host, port) = split_host_port(hostport)?;
        if host.is_empty() {
            return Err(MsrpError::BadUri);
        }
        if host.parse::<IpAddr>().is_ok() && port.is_none() {
            // RFC 4975 §6: a numeric-IP authority carries a port.
            return Err(MsrpError::BadUri);
        }
        Ok(MsrpUri {
            scheme,
            host,
            port,
            session_id,
            transport,
        })
    }

    /// RFC 4975 §6.1 equality.
    pub fn matches(&self, other: &MsrpUri<'_>) -> bool {
        self.scheme.eq_ignore_ascii_case(other.scheme)
            && host_eq(self.host, other.host)
            && self.port == other.port
            && self.session_id == other.session_id
            && self.transport.eq_ignore_ascii_case(other.transport)
    }

    /// The host as an IP address, if it is a literal.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// Parses two URI strings and compares them per RFC 4975 §6.1; unparsable → not equal.
pub fn uri_text_eq(a: &str, b: &str) -> bool {
    match (MsrpUri::parse(a), MsrpUri::parse(b)) {
        (Ok(x), Ok(y)) => x.matches(&y),
        _ => false,
    }
}

fn host_eq(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        (Err(_), Err(_)) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}

fn split_host_port(hp: &str) -> Result<(&str, Option<u16>), MsrpError> {
    let (host, port) = if let Some(v6) = hp.strip_prefix('[') {
        let (h, rest) = v6.split_once(']').ok_or(MsrpError::BadUri)?;
        if h.parse::<core::net::Ipv6Addr>().is_err() {
            return Err(MsrpError::BadUri);
        }
        match rest {
            "" => (h, None),
            r => (h, Some(r.strip_prefix(':').ok_or(MsrpError::BadUri)?)),
        }
    } else {
        match hp.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hp, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| MsrpError::BadUri)?)
        }
        Some(_) => return Err(MsrpError::BadUri),
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ipv4_ipv6_and_names() {
        let u = MsrpUri::parse("msrp://192.0.2.10:2855/kjhd37s2s20w2aZ8;tcp").unwrap();
        assert_eq!(
            u,
            MsrpUri {
                scheme: "msrp",
                host: "192.0.2.10",
                port: Some(2855),
                session_id: "kjhd37s2s20w2aZ8",
                transport: "tcp",
            }
        );
        let u = MsrpUri::parse("msrp://[::1]:2855/abc;tcp").unwrap();
        assert_eq!((u.host, u.port), ("::1", Some(2855)));
        let u = MsrpUri::parse("msrps://user@relay.example.com;tcp").unwrap();
        assert_eq!(
            (u.host, u.port, u.session_id),
            ("relay.example.com", None, "")
        );
    }

    #[test]
    fn rejects_bad_uris() {
        for bad in [
            "",
            "http://a:1/b;tcp",
            "msrp://a:1/b",
            "msrp://192.0.2.1/abc;tcp",
            "msrp://a:99999/b;tcp",
            "msrp://a:x/b;tcp",
            "msrp://[::1/b;tcp",
            "msrp://:1/b;tcp",
            "msrp://a:1/b c;tcp",
        ] {
            assert_eq!(MsrpUri::parse(bad), Err(MsrpError::BadUri), "{bad}");
        }
    }

    #[test]
    fn comparison_follows_rfc4975_6_1() {
        let a = "msrp://host.example:2855/id;tcp";
        assert!(uri_text_eq(a, "MSRP://HOST.example:2855/id;TCP"));
        assert!(uri_text_eq(a, "msrp://someone@host.example:2855/id;tcp"));
        assert!(!uri_text_eq(a, "msrp://host.example:2855/ID;tcp"));
        assert!(!uri_text_eq(a, "msrp://host.example:2856/id;tcp"));
        assert!(!uri_text_eq(a, "msrp://host.example/id;tcp"));
        assert!(!uri_text_eq(a, "msrp://host.example:2855/id;udp"));
        assert!(uri_text_eq(
            "msrp://[::1]:1/x;tcp",
            "msrp://[0:0:0:0:0:0:0:1]:1/x;tcp"
        ));
        assert!(!uri_text_eq(
            "msrp://127.0.0.1:1/x;tcp",
            "msrp://localhost:1/x;tcp"
        ));
    }

    #[test]
    fn path_helpers() {
        let p = "msrp://r.example:1/a;tcp  msrp://b.example:2/b;tcp";
        assert_eq!(first_uri(p), Some("msrp://r.example:1/a;tcp"));
        assert_eq!(last_uri(p), Some("msrp://b.example:2/b;tcp"));
        assert_eq!(path_uris(p).count(), 2);
        assert_eq!(last_uri("  "), None);
    }
}
