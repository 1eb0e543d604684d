//! Conference-info documents (RFC 4575 §5 schema, §4.4 full/partial states, §4.5 keys;
//! RFC 7701 §7.4/§9.6 and RFC 6502 `xcon:nickname` on `<user>`, ambiguity A9): renders the
//! roster of one room as `application/conference-info+xml`, full or partial, every string
//! XML-escaped, never larger than the byte cap it is given.

use std::fmt::Write as _;

/// The RFC 4575 namespace (default namespace of the document).
pub(super) const CONFERENCE_INFO_NS: &str = "urn:ietf:params:xml:ns:conference-info";
/// The RFC 6502 namespace of the `xcon:nickname` attribute.
pub(super) const XCON_NS: &str = "urn:ietf:params:xml:ns:xcon-conference-info";
/// Content-Type of every NOTIFY body.
pub(super) const CONTENT_TYPE: &str = "application/conference-info+xml";

/// One endpoint (one SIP dialog / MSRP session) of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct EndpointView<'a> {
    /// Key of the endpoint (RFC 4575 §4.5): the device's Contact URI, or the anonymous URI.
    pub entity: &'a str,
    /// Its MSRP session is bound: `connected`/`sendrecv`; else `dialing-in`/`inactive`.
    pub media_bound: bool,
}

/// One user (one URI) of the room with all its endpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct UserView<'a> {
    /// Key of the user: its AOR, or the anonymous URI the focus gave it.
    pub entity: &'a str,
    /// Display name (empty → no `<display-text>`).
    pub display: &'a str,
    /// Nickname shown as `xcon:nickname`.
    pub nickname: Option<&'a str>,
    /// Its endpoints; empty means the user left (`state="deleted"`).
    pub endpoints: Vec<EndpointView<'a>>,
    /// Join sequence number of its earliest endpoint (0 for a user that left).
    pub seq: u64,
}

/// What a document describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DocState {
    /// Every user of the room (`state="full"`).
    Full,
    /// Only the users listed, each as a complete `<user state="full">` or a
    /// `<user state="deleted"/>` (`state="partial"` on the root and `<users>`).
    Partial,
}

/// A rendered document and the users that did not fit under the cap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Rendered {
    pub body: Vec<u8>,
    /// Indices (into the `users` given) of the users left out because the body would have
    /// exceeded the cap, even without their display names: they go in the next NOTIFY.
    pub omitted: Vec<usize>,
    /// Users shown without their display name (or, alone too big for any document, with
    /// only the endpoints that fit) to stay under the cap.
    pub shortened: usize,
    /// Users that fit no document even with no endpoint (a `max_notify_bytes` far too
    /// small for `max_nickname_bytes` and `max_uri_bytes`): left out, and logged.
    pub lost: usize,
}

/// Appends `s` with the five XML special characters escaped (attribute- and text-safe)
/// and control characters that XML 1.0 forbids replaced by U+FFFD.
pub(super) fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

/// How much of a user an element shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Detail {
    /// Everything.
    Full,
    /// No `<display-text>`.
    NoDisplay,
    /// No `<display-text>`, and only the first this many endpoints.
    Endpoints(usize),
}

fn user_xml(u: &UserView<'_>, detail: Detail) -> String {
    let mut s = String::with_capacity(256);
    s.push_str("  <user entity=\"");
    escape_into(&mut s, u.entity);
    if u.endpoints.is_empty() {
        s.push_str("\" state=\"deleted\"/>\r\n");
        return s;
    }
    s.push_str("\" state=\"full\"");
    if let Some(n) = u.nickname {
        s.push_str(" xcon:nickname=\"");
        escape_into(&mut s, n);
        s.push('"');
    }
    s.push_str(">\r\n");
    if !u.display.is_empty() && detail == Detail::Full {
        s.push_str("   <display-text>");
        escape_into(&mut s, u.display);
        s.push_str("</display-text>\r\n");
    }
    let shown = match detail {
        Detail::Endpoints(n) => n,
        _ => usize::MAX,
    };
    for e in u.endpoints.iter().take(shown) {
        s.push_str("   <endpoint entity=\"");
        escape_into(&mut s, e.entity);
        let (status, media) = if e.media_bound {
            ("connected", "sendrecv")
        } else {
            ("dialing-in", "inactive")
        };
        let _ = write!(
            s,
            "\" state=\"full\">\r\n    <status>{status}</status>\r\n    \
             <joining-method>dialed-in</joining-method>\r\n    <media id=\"1\">\r\n     \
             <type>message</type>\r\n     <status>{media}</status>\r\n    </media>\r\n   \
             </endpoint>\r\n"
        );
    }
    s.push_str("  </user>\r\n");
    s
}

/// Renders a document for `room_uri` at `version`. `user_count` is the number of users in
/// the room now (`<conference-state><user-count>`). Users are added in order while the
/// body stays within `cap` bytes; one that does not fit is tried without its display name,
/// and if it still does not fit it is listed in `omitted` (the caller sends it next time:
/// a NOTIFY never leaves a member out for good, issue 15). A user too big for even an
/// otherwise empty document is shown with as many endpoints as fit.
pub(super) fn render(
    room_uri: &str,
    version: u32,
    state: DocState,
    user_count: usize,
    users: &[UserView<'_>],
    cap: usize,
) -> Rendered {
    render_with(room_uri, version, state, user_count, users, cap, true)
}

/// As `render`, but a user that does not fit whole is never shortened: it is left for the
/// next NOTIFY. For the small first NOTIFY to an unproven UDP subscriber (issue 15), whose
/// cap is a reflection bound, not the most a document may hold: the next NOTIFY, under the
/// normal cap, shows the user whole.
pub(super) fn render_unshortened(
    room_uri: &str,
    version: u32,
    state: DocState,
    user_count: usize,
    users: &[UserView<'_>],
    cap: usize,
) -> Rendered {
    render_with(room_uri, version, state, user_count, users, cap, false)
}

fn render_with(
    room_uri: &str,
    version: u32,
    state: DocState,
    user_count: usize,
    users: &[UserView<'_>],
    cap: usize,
    shorten: bool,
) -> Rendered {
    let state_word = match state {
        DocState::Full => "full",
        DocState::Partial => "partial",
    };
    let mut head = String::with_capacity(512);
    let _ = write!(
        head,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
         <conference-info xmlns=\"{CONFERENCE_INFO_NS}\" xmlns:xcon=\"{XCON_NS}\" entity=\""
    );
    escape_into(&mut head, room_uri);
    let _ = write!(
        head,
        "\" state=\"{state_word}\" version=\"{version}\">\r\n \
         <conference-state>\r\n  <user-count>{user_count}</user-count>\r\n \
         </conference-state>\r\n <users state=\"{state_word}\">\r\n"
    );
    const TAIL: &str = " </users>\r\n</conference-info>\r\n";
    let empty = head.len() + TAIL.len();
    let mut body = head;
    let mut omitted = Vec::new();
    let mut shortened = 0;
    let mut lost = 0;
    let fits = |body: &String, x: &String| body.len() + x.len() + TAIL.len() <= cap;
    for (i, u) in users.iter().enumerate() {
        let x = user_xml(u, Detail::Full);
        if fits(&body, &x) {
            body.push_str(&x);
            continue;
        }
        if !shorten {
            omitted.push(i);
            continue;
        }
        let x = user_xml(u, Detail::NoDisplay);
        if fits(&body, &x) {
            body.push_str(&x);
            shortened += 1;
            continue;
        }
        if empty + x.len() <= cap {
            // Fits a document of its own: the next NOTIFY.
            omitted.push(i);
            continue;
        }
        // Too big for any document (many devices of one URI): the endpoints that fit.
        let most = (0..u.endpoints.len())
            .rev()
            .find(|n| fits(&body, &user_xml(u, Detail::Endpoints(*n))));
        match most {
            Some(n) => {
                body.push_str(&user_xml(u, Detail::Endpoints(n)));
                shortened += 1;
            }
            None if body.len() == empty - TAIL.len() => lost += 1,
            None => omitted.push(i),
        }
    }
    body.push_str(TAIL);
    Rendered {
        body: body.into_bytes(),
        omitted,
        shortened,
        lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny well-formedness check: every start tag has its end tag in order.
    fn balanced(xml: &str) -> bool {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = xml;
        while let Some(i) = rest.find('<') {
            let Some(j) = rest[i..].find('>') else {
                return false;
            };
            let tag = &rest[i + 1..i + j];
            rest = &rest[i + j + 1..];
            if tag.starts_with('?') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop().as_deref() != Some(name) {
                    return false;
                }
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap_or("").to_owned());
            }
        }
        stack.is_empty()
    }

    fn alice() -> UserView<'static> {
        UserView {
            entity: "sip:alice@atlanta.example.com",
            display: "Alice <A&B>",
            nickname: Some("Alice \"in\" Wonderland"),
            endpoints: vec![EndpointView {
                entity: "sip:alice@192.0.2.101:5060",
                media_bound: true,
            }],
            seq: 1,
        }
    }

    #[test]
    fn full_document_escapes_and_balances() {
        let bob = UserView {
            entity: "sip:bob@biloxi.example.com",
            display: "",
            nickname: None,
            endpoints: vec![
                EndpointView {
                    entity: "sip:bob@192.0.2.102",
                    media_bound: false,
                },
                EndpointView {
                    entity: "sip:bob@192.0.2.103",
                    media_bound: true,
                },
            ],
            seq: 2,
        };
        let r = render(
            "sip:chat22@chat.example.com",
            1,
            DocState::Full,
            2,
            &[alice(), bob],
            16_384,
        );
        let xml = String::from_utf8(r.body).unwrap();
        assert!(r.omitted.is_empty());
        assert!(balanced(&xml), "{xml}");
        assert!(xml.contains("entity=\"sip:chat22@chat.example.com\" state=\"full\" version=\"1\""));
        assert!(xml.contains("<display-text>Alice &lt;A&amp;B&gt;</display-text>"));
        assert!(xml.contains("xcon:nickname=\"Alice &quot;in&quot; Wonderland\""));
        assert!(xml.contains("<status>dialing-in</status>"));
        assert_eq!(xml.matches("<endpoint ").count(), 3);
        assert!(xml.contains("<user-count>2</user-count>"));
        assert!(!xml.contains("<display-text></display-text>"));
    }

    #[test]
    fn partial_with_deleted_user_has_no_children() {
        let gone = UserView {
            entity: "sip:carol@example.com",
            display: "Carol",
            nickname: Some("c"),
            endpoints: Vec::new(),
            seq: 0,
        };
        let r = render("sip:r@d", 7, DocState::Partial, 1, &[gone], 4096);
        let xml = String::from_utf8(r.body).unwrap();
        assert!(balanced(&xml), "{xml}");
        assert!(xml.contains("state=\"partial\" version=\"7\""));
        assert!(xml.contains("<users state=\"partial\">"));
        assert!(xml.contains("<user entity=\"sip:carol@example.com\" state=\"deleted\"/>"));
        assert!(!xml.contains("Carol"));
    }

    #[test]
    fn users_beyond_the_cap_are_omitted_and_named() {
        let users: Vec<UserView<'_>> = (0..50).map(|_| alice()).collect();
        let r = render("sip:r@d", 1, DocState::Full, 50, &users, 2048);
        assert!(r.body.len() <= 2048);
        assert!(!r.omitted.is_empty() && r.omitted.len() < 50);
        let shown = std::str::from_utf8(&r.body)
            .unwrap()
            .matches("<user ")
            .count();
        assert_eq!(shown + r.omitted.len(), 50, "every user shown or named");
        assert_eq!(r.omitted.last(), Some(&49));
        assert!(balanced(std::str::from_utf8(&r.body).unwrap()));
    }

    /// Issue 15: three 2,500-byte display names pushed another participant out of the
    /// roster. A user that does not fit is shown without its display name first.
    #[test]
    fn long_display_names_give_way_before_a_member_does() {
        let long = "D".repeat(2500);
        let mut users: Vec<UserView<'_>> = (0..3)
            .map(|_| UserView {
                display: &long,
                ..alice()
            })
            .collect();
        users.push(UserView {
            entity: "sip:dave@example.com",
            display: "Dave",
            ..alice()
        });
        let r = render("sip:r@d", 1, DocState::Full, 4, &users, 6000);
        let xml = std::str::from_utf8(&r.body).unwrap();
        assert!(r.omitted.is_empty(), "{:?}", r.omitted);
        assert!(r.shortened >= 1);
        assert!(xml.contains("sip:dave@example.com"), "{xml}");
        assert_eq!(xml.matches("<user ").count(), 4);
        assert!(r.body.len() <= 6000);
    }

    /// One URI on more devices than any document holds: shown with the endpoints that fit.
    #[test]
    fn a_user_too_big_for_any_document_shows_the_endpoints_that_fit() {
        let contacts: Vec<String> = (0..100).map(|i| format!("sip:al@192.0.2.{i}")).collect();
        let many = UserView {
            endpoints: contacts
                .iter()
                .map(|c| EndpointView {
                    entity: c,
                    media_bound: true,
                })
                .collect(),
            ..alice()
        };
        let r = render("sip:r@d", 1, DocState::Full, 1, &[many], 4096);
        assert!(r.body.len() <= 4096);
        assert!(r.omitted.is_empty() && r.lost == 0);
        assert_eq!(r.shortened, 1);
        let xml = std::str::from_utf8(&r.body).unwrap();
        assert!(xml.matches("<endpoint ").count() > 5);
        assert!(balanced(xml));
    }

    #[test]
    fn control_characters_never_reach_the_document() {
        let mut s = String::new();
        escape_into(&mut s, "a\u{1}b\nc'");
        assert_eq!(s, "a\u{fffd}b&#10;c&apos;");
    }
}
