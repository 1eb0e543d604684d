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
        // userinfo may hold '?' and ';' (RFC 3261 §25.1 user-unreserved); the host part and
        // the headers hold no literal '@'.
        let (user, after_user) = match rest.rfind('@') {
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
