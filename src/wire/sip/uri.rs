//! SIP and SIPS URIs (RFC 3261 §19.1): scheme, user, host, port, URI parameters
//! (`transport`, `lr`, …) and headers, as views into the text.

use super::values::{param_value, split_host_port};
use super::SipError;

/// A parsed `sip:`/`sips:` URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SipUri<'a> {
    /// `sips:` scheme.
    pub secure: bool,
    /// User part without password, if any (still %-escaped as written).
    pub user: Option<&'a str>,
    /// Host (IPv6 with brackets).
    pub host: &'a str,
    /// Port, if given.
    pub port: Option<u16>,
    /// URI parameters starting with `;` (or empty).
    pub params: &'a str,
    /// Headers after `?` (or empty).
    pub headers: &'a str,
}

impl<'a> SipUri<'a> {
    /// Parses a SIP URI. Another scheme (`tel:`, `http:`) → `UnsupportedScheme`.
    pub fn parse(s: &'a str) -> Result<SipUri<'a>, SipError> {
        let (scheme, rest) = s.split_once(':').ok_or(SipError::BadUri)?;
        let secure = if scheme.eq_ignore_ascii_case("sip") {
            false
        } else if scheme.eq_ignore_ascii_case("sips") {
            true
        } else if !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(SipError::UnsupportedScheme);
        } else {
            return Err(SipError::BadUri);
        };
        // userinfo may hold '?' and ';' (RFC 3261 §25.1 user-unreserved); no part of a SIP
        // URI holds a literal '@' but the one ending userinfo. Two of them are malformed:
        // `sip:evil@evil.com;x=@trusted.example` must not read as a user at
        // trusted.example (issue 15: allow lists match the host).
        if rest.bytes().filter(|&b| b == b'@').count() > 1 {
            return Err(SipError::BadUri);
        }
        let (user, after_user) = match rest.find('@') {
            Some(at) => {
                let userinfo = rest.get(..at).ok_or(SipError::BadUri)?;
                let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
                if user.is_empty() {
                    return Err(SipError::BadUri);
                }
                (Some(user), rest.get(at + 1..).ok_or(SipError::BadUri)?)
            }
            None => (None, rest),
        };
        let (host_part, headers) = after_user.split_once('?').unwrap_or((after_user, ""));
        let semi = host_part.find(';').unwrap_or(host_part.len());
        let hostport = host_part.get(..semi).ok_or(SipError::BadUri)?;
        let params = host_part.get(semi..).ok_or(SipError::BadUri)?;
        let (host, port) = split_host_port(hostport).ok_or(SipError::BadUri)?;
        Ok(SipUri {
            secure,
            user,
            host,
            port,
            params,
            headers,
        })
    }

    /// A URI parameter: `Some("")` for a flag like `lr`.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        param_value(self.params, name)
    }

    /// The `transport` parameter, if any.
    pub fn transport(&self) -> Option<&'a str> {
        self.param("transport")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_uri() {
        let u = SipUri::parse("sip:chat22@chat.example.com;transport=udp").unwrap();
        assert!(!u.secure);
        assert_eq!(u.user, Some("chat22"));
        assert_eq!(u.host, "chat.example.com");
        assert_eq!(u.port, None);
        assert_eq!(u.transport(), Some("udp"));
        let u = SipUri::parse("SIPS:alice:secret@[2001:db8::1]:5061;lr?subject=hi").unwrap();
        assert!(u.secure);
        assert_eq!(u.user, Some("alice"));
        assert_eq!(u.host, "[2001:db8::1]");
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.param("lr"), Some(""));
        assert_eq!(u.headers, "subject=hi");
        let u = SipUri::parse("sip:192.0.2.10:5060").unwrap();
        assert_eq!((u.user, u.host, u.port), (None, "192.0.2.10", Some(5060)));
    }

    /// Issue 15: a second '@' must not move the host (allow lists match the host).
    #[test]
    fn a_second_at_sign_is_malformed() {
        for uri in [
            "sip:evil@evil.com;x=@trusted.example",
            "sip:a@b@trusted.example",
            "sip:evil@evil.com?h=@trusted.example",
        ] {
            assert_eq!(SipUri::parse(uri), Err(SipError::BadUri), "{uri}");
        }
        assert_eq!(
            SipUri::parse("sip:%40user@trusted.example").unwrap().host,
            "trusted.example",
            "an escaped @ in the user part is fine"
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            SipUri::parse("tel:+15551234"),
            Err(SipError::UnsupportedScheme)
        );
        assert_eq!(SipUri::parse("http://x"), Err(SipError::UnsupportedScheme));
        assert_eq!(SipUri::parse("nocolon"), Err(SipError::BadUri));
        assert_eq!(SipUri::parse("sip:"), Err(SipError::BadUri));
        assert_eq!(SipUri::parse("sip:@host"), Err(SipError::BadUri));
        assert_eq!(SipUri::parse("sip:a@host:port"), Err(SipError::BadUri));
        assert_eq!(SipUri::parse("<bad>:x"), Err(SipError::BadUri));
    }
}
