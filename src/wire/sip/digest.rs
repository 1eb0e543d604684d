//! The `Digest` credentials and challenge header values (RFC 3261 §20.7 Authorization,
//! §20.44 WWW-Authenticate, §25.1 `auth-param` grammar; RFC 7616 §3.3–§3.4 parameters;
//! RFC 8760 SHA-256 for SIP): `Digest name=token, name="quoted", …` parsed into a list
//! of parameters, and quoting for the values the focus and the chat client write.

use std::borrow::Cow;

/// The parameters of one `Digest` header value, in order, names as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestParams<'a> {
    params: Vec<(&'a str, Cow<'a, str>)>,
}

/// Parameters one value may carry before it is refused (RFC 7616 defines fewer than 15).
const MAX_PARAMS: usize = 24;

impl<'a> DigestParams<'a> {
    /// Parses `Digest p1=v1, p2="v2"`; `None` if the scheme is not Digest, a parameter is
    /// malformed, a quoted string is unterminated, a name repeats, or there are too many.
    pub fn parse(value: &'a str) -> Option<DigestParams<'a>> {
        let value = value.trim();
        let scheme_end = value.find([' ', '\t']).unwrap_or(value.len());
        let (scheme, mut rest) = value.split_at(scheme_end);
        if !scheme.eq_ignore_ascii_case("Digest") {
            return None;
        }
        let mut params: Vec<(&'a str, Cow<'a, str>)> = Vec::new();
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            let eq = rest.find('=')?;
            let (name, after) = rest.split_at(eq);
            let name = name.trim();
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                return None;
            }
            let after = after.get(1..)?.trim_start_matches([' ', '\t']);
            let (v, remaining) = if let Some(quoted) = after.strip_prefix('"') {
                unquote(quoted)?
            } else {
                let end = after.find([',', ' ', '\t']).unwrap_or(after.len());
                let (token, remaining) = after.split_at(end);
                if token.is_empty() || !token.bytes().all(is_token_byte) {
                    return None;
                }
                (Cow::Borrowed(token), remaining)
            };
            let remaining = remaining.trim_start_matches([' ', '\t']);
            if !(remaining.is_empty() || remaining.starts_with(',')) {
                return None;
            }
            if params.len() >= MAX_PARAMS
                || params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                return None;
            }
            params.push((name, v));
            rest = remaining;
        }
        Some(DigestParams { params })
    }

    /// The value of parameter `name` (case-insensitive name), unquoted.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

/// After the opening quote: the unescaped content and what follows the closing quote.
fn unquote(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut owned: Option<String> = None;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                let content = match owned {
                    Some(o) => Cow::Owned(o),
                    None => Cow::Borrowed(s.get(..i)?),
                };
                return Some((content, s.get(i + 1..)?));
            }
            b'\\' => {
                let o = owned.get_or_insert_with(|| s.get(..i).unwrap_or_default().to_owned());
                let next = s.get(i + 1..)?.chars().next()?;
                o.push(next);
                i += 1 + next.len_utf8();
            }
            _ => {
                let c = s.get(i..)?.chars().next()?;
                if c.is_control() {
                    return None;
                }
                if let Some(o) = owned.as_mut() {
                    o.push(c);
                }
                i += c.len_utf8();
            }
        }
    }
    None
}

/// RFC 3261 §25.1 `token` characters.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// `s` as a quoted-string: `"` and `\` escaped, control characters dropped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc7616_authorization() {
        // The layout of RFC 7616 §3.9.1's Authorization example (folded onto one line).
        let v = "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", \
                 algorithm=SHA-256, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, \
                 cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
                 response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", \
                 opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
        let p = DigestParams::parse(v).unwrap();
        assert_eq!(p.get("username"), Some("Mufasa"));
        assert_eq!(p.get("ALGORITHM"), Some("SHA-256"));
        assert_eq!(p.get("nc"), Some("00000001"));
        assert_eq!(p.get("qop"), Some("auth"));
        assert_eq!(p.get("uri"), Some("/dir/index.html"));
        assert_eq!(p.get("userhash"), None);
    }

    #[test]
    fn escapes_and_refusals() {
        let p = DigestParams::parse(r#"digest username="a\"b\\c",realm="r""#).unwrap();
        assert_eq!(p.get("username"), Some("a\"b\\c"));
        assert_eq!(p.get("realm"), Some("r"));
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        for bad in [
            "Basic dXNlcjpwYXNz",
            "Digest username=\"open",
            "Digest =x",
            "Digest a=b c=d",
            "Digest a=b, a=c",
            "Digest a=\"x\"y",
            "Digest a=",
        ] {
            assert_eq!(DigestParams::parse(bad), None, "{bad}");
        }
        assert!(DigestParams::parse("Digest").is_some_and(|p| p.get("a").is_none()));
    }
}
