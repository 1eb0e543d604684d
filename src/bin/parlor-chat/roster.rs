//! `/who` for the chat client: reads the `application/conference-info+xml` body of a
//! conference NOTIFY (RFC 4575 §5; RFC 7701 §9.6 `xcon:nickname` on `<user>`) well enough
//! to list the room's users, one line each. A small scanner, not an XML parser: it reads
//! what conference servers write (quoted attributes, the five predefined entities).

use crate::render::field;

/// One listed user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub uri: String,
    pub nickname: Option<String>,
    pub display: Option<String>,
    /// Endpoints (devices) of the user.
    pub devices: usize,
}

/// Replaces the predefined entities and decimal/hex character references.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(semi) = after.find(';') else {
            out.push_str(after);
            return out;
        };
        let entity = &after[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e => e
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&after[..=semi]),
        }
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    out
}

/// The unescaped value of attribute `name` in a start tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag.get(start..)?.find('"')?;
    Some(unescape(tag.get(start..start + len)?))
}

/// The users of a full-state document (deleted users are skipped).
pub fn users(xml: &str) -> Vec<User> {
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<user ") {
        let Some(tag_len) = rest[i..].find('>') else {
            break;
        };
        let tag = &rest[i..i + tag_len];
        let after = &rest[i + tag_len + 1..];
        let (inner, next) = if tag.ends_with('/') {
            ("", after)
        } else {
            match after.find("</user>") {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        rest = next;
        let Some(uri) = attribute(tag, "entity") else {
            continue;
        };
        if attribute(tag, "state").as_deref() == Some("deleted") {
            continue;
        }
        let display = inner
            .split_once("<display-text>")
            .and_then(|(_, d)| d.split_once("</display-text>"))
            .map(|(d, _)| unescape(d));
        found.push(User {
            uri,
            nickname: attribute(tag, "xcon:nickname").or_else(|| attribute(tag, "nickname")),
            display,
            devices: inner.matches("<endpoint ").count(),
        });
    }
    found
}

/// One printable line per user; what the document says is rendered inertly.
pub fn lines(users: &[User]) -> Vec<String> {
    users
        .iter()
        .map(|u| {
            let mut line = format!("*   {}", field(&u.uri));
            if let Some(n) = &u.nickname {
                line.push_str(&format!(" \"{}\"", field(n)));
            }
            if let Some(d) = &u.display {
                line.push_str(&format!(" ({})", field(d)));
            }
            if u.devices > 1 {
                line.push_str(&format!(" [{} devices]", u.devices));
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_users_nicknames_and_devices() {
        let xml = "<conference-info><users>\
            <user entity=\"sip:a@x\" state=\"full\" xcon:nickname=\"A &amp; B\">\
            <display-text>Ann &lt;3</display-text><endpoint entity=\"1\"/><endpoint entity=\"2\"/>\
            </user><user entity=\"sip:gone@x\" state=\"deleted\"/>\
            <user entity=\"sip:b@x\" state=\"full\"><endpoint entity=\"3\"/></user></users>";
        let u = users(xml);
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].nickname.as_deref(), Some("A & B"));
        assert_eq!(u[0].display.as_deref(), Some("Ann <3"));
        assert_eq!(u[0].devices, 2);
        assert_eq!(
            lines(&u),
            ["*   sip:a@x \"A & B\" (Ann <3) [2 devices]", "*   sip:b@x"]
        );
        assert!(users("<user entity=\"x").is_empty());
        // Control characters, raw or as character references, are shown inertly.
        let hostile = "<user entity=\"sip:e@x&#27;[2J\" xcon:nickname=\"n&#x202E;ick\">\
            <display-text>Eve\r\n*   sip:root@x &#155;</display-text></user>";
        assert_eq!(
            lines(&users(hostile)),
            ["*   sip:e@x\u{241b}[2J \"n<U+202E>ick\" (Eve\u{240d}\u{240a}*   sip:root@x <U+009B>)"]
        );
        assert_eq!(unescape("&#65;&#x42;&bogus;"), "AB&bogus;");
    }
}
