//! Roster test helpers (RFC 6665 SUBSCRIBE/NOTIFY, RFC 4575 conference-info): a
//! subscriber that answers NOTIFYs, a small conference-info reader, a well-formedness
//! checker, responses to server-originated requests, and a raw NICKNAME (RFC 7701 §7.1).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::participant::Participant;
use super::sip::{tag_of, uri_of, SipClient, SipMessage};
use super::{crlf, ident, wait_bounded, Server, ROOM, STEP};

/// The RFC 4575 namespace.
pub const CONFERENCE_INFO_NS: &str = "urn:ietf:params:xml:ns:conference-info";

/// A SUBSCRIBE to `ROOM` (out of dialog unless `to_tag` is given).
#[allow(clippy::too_many_arguments)]
pub fn subscribe_request(
    sip: &SipClient,
    request_uri: &str,
    from: &str,
    from_tag: &str,
    to_tag: Option<&str>,
    call_id: &str,
    cseq: u32,
    extra: &[&str],
) -> String {
    let transport = sip.via_transport();
    let to = match to_tag {
        Some(t) => format!("To: <{ROOM}>;tag={t}"),
        None => format!("To: <{ROOM}>"),
    };
    let mut lines = vec![
        format!("SUBSCRIBE {request_uri} SIP/2.0"),
        format!(
            "Via: SIP/2.0/{transport} {};branch=z9hG4bK{};rport",
            sip.local,
            ident(12)
        ),
        "Max-Forwards: 70".to_string(),
        format!("From: <{from}>;tag={from_tag}"),
        to,
        format!("Call-ID: {call_id}"),
        format!("CSeq: {cseq} SUBSCRIBE"),
        format!(
            "Contact: <sip:sub@{};transport={}>",
            sip.local,
            transport.to_lowercase()
        ),
    ];
    lines.extend(extra.iter().map(|s| s.to_string()));
    lines.push("Content-Length: 0".to_string());
    lines.push(String::new());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    crlf(&refs)
}

/// A response to a request the server sent (NOTIFY, BYE): Via, From, To, Call-ID, CSeq
/// copied.
pub fn response_to(req: &SipMessage, code: u16, reason: &str) -> Vec<u8> {
    let mut lines = vec![format!("SIP/2.0 {code} {reason}")];
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        for (n, v) in &req.headers {
            if n.eq_ignore_ascii_case(name) {
                lines.push(format!("{name}: {v}"));
            }
        }
    }
    lines.push("Content-Length: 0".to_string());
    lines.push(String::new());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    crlf(&refs).into_bytes()
}

/// A conference subscriber with its own dialog.
pub struct Subscriber {
    pub sip: SipClient,
    pub uri: String,
    pub call_id: String,
    pub from_tag: String,
    /// The focus's To-tag (from the 200).
    pub to_tag: String,
    cseq: u32,
    /// The 200 to the initial SUBSCRIBE.
    pub ok: SipMessage,
}

impl Subscriber {
    /// Sends a SUBSCRIBE with `extra` headers; returns the final response (any code) and
    /// the client, for tests that expect a refusal.
    pub fn try_subscribe(server: SocketAddr, extra: &[&str]) -> (SipClient, SipMessage) {
        let mut sip = SipClient::udp(server);
        let req = subscribe_request(
            &sip,
            ROOM,
            "sip:watcher@example.com",
            &ident(10),
            None,
            &format!("{}@127.0.0.1", ident(16)),
            1,
            extra,
        );
        sip.send(req.as_bytes());
        let resp = sip.final_response("SUBSCRIBE");
        (sip, resp)
    }

    /// Subscribes over `sip` as `uri` with `extra` headers; panics unless 200.
    pub fn subscribe_with(mut sip: SipClient, uri: &str, extra: &[&str]) -> Subscriber {
        let call_id = format!("{}@127.0.0.1", ident(16));
        let from_tag = ident(10);
        let req = subscribe_request(&sip, ROOM, uri, &from_tag, None, &call_id, 1, extra);
        sip.send(req.as_bytes());
        let ok = sip.final_response("SUBSCRIBE");
        assert_eq!(ok.status(), Some(200), "SUBSCRIBE answered {}", ok.start);
        let to_tag = ok.header("To").and_then(tag_of).expect("To-tag in 200");
        Subscriber {
            sip,
            uri: uri.to_string(),
            call_id,
            from_tag,
            to_tag,
            cseq: 1,
            ok,
        }
    }

    /// `Event: conference`, `Expires: 600` over UDP.
    pub fn subscribe(server: SocketAddr) -> Subscriber {
        Subscriber::subscribe_with(
            SipClient::udp(server),
            "sip:watcher@example.com",
            &["Event: conference", "Expires: 600"],
        )
    }

    /// A re-SUBSCRIBE in the subscription's dialog; returns the final response.
    pub fn resubscribe(&mut self, expires: u64) -> SipMessage {
        self.cseq += 1;
        let expires = format!("Expires: {expires}");
        let req = subscribe_request(
            &self.sip,
            &uri_of(self.ok.header("Contact").unwrap_or(ROOM)),
            &self.uri,
            &self.from_tag,
            Some(&self.to_tag),
            &self.call_id,
            self.cseq,
            &["Event: conference", &expires],
        );
        self.sip.send(req.as_bytes());
        self.sip.final_response("SUBSCRIBE")
    }

    /// The next NOTIFY within `timeout`, answered 200 when `answer` (other messages are
    /// skipped).
    pub fn next_notify_answering(&mut self, timeout: Duration, answer: bool) -> Option<SipMessage> {
        next_request(&mut self.sip, "NOTIFY", timeout, answer)
    }

    /// The next NOTIFY within `timeout`, answered 200.
    pub fn next_notify(&mut self, timeout: Duration) -> Option<SipMessage> {
        self.next_notify_answering(timeout, true)
    }

    /// The next NOTIFY within STEP; panics if none.
    pub fn expect_notify(&mut self) -> SipMessage {
        self.next_notify(STEP)
            .unwrap_or_else(|| panic!("no NOTIFY within {STEP:?}"))
    }

    /// The first (full-state) roster, with the partial NOTIFYs that complete it applied:
    /// over UDP, before the subscriber has answered once, the server cuts the first NOTIFY
    /// to one frame and sends the users that did not fit as soon as it answers (issue 15).
    /// Returns the merged roster and the NOTIFYs it came in.
    pub fn expect_full_roster(&mut self) -> (Roster, Vec<SipMessage>) {
        let first = self.expect_notify();
        let mut roster = roster_of(&first);
        assert_eq!(roster.state, "full", "the first NOTIFY is full state");
        let mut seen = vec![first];
        while roster.user_count.is_some_and(|n| roster.users.len() < n) && seen.len() < 50 {
            let next = self.expect_notify();
            let part = roster_of(&next);
            assert_eq!(part.state, "partial", "the rest of the roster");
            for u in part.users {
                match roster.users.iter_mut().find(|have| have.entity == u.entity) {
                    Some(have) => *have = u,
                    None => roster.users.push(u),
                }
            }
            roster.version = part.version;
            seen.push(next);
        }
        (roster, seen)
    }
}

/// The next request with `method` the server sends on `sip` within `timeout`, answered
/// 200 when `answer`; responses and other requests are skipped.
pub fn next_request(
    sip: &mut SipClient,
    method: &str,
    timeout: Duration,
    answer: bool,
) -> Option<SipMessage> {
    let deadline = Instant::now() + timeout;
    for _ in 0..1000 {
        let left = deadline.checked_duration_since(Instant::now())?;
        let msg = sip.recv(left)?;
        if msg.method() == Some(method) {
            if answer {
                sip.send(&response_to(&msg, 200, "OK"));
            }
            return Some(msg);
        }
    }
    None
}

/// An in-dialog SUBSCRIBE from a joined participant (RFC 6665 §4.5.2 dialog reuse);
/// returns the final response.
pub fn subscribe_in_dialog(p: &mut Participant) -> SipMessage {
    let (call_id, from_tag, to_tag, target) = p.dialog_ids();
    let cseq = p.next_cseq();
    let req = subscribe_request(
        &p.sip,
        &target,
        &p.uri,
        &from_tag,
        Some(&to_tag),
        &call_id,
        cseq,
        &["Event: conference"],
    );
    p.sip.send(req.as_bytes());
    p.sip.final_response("SUBSCRIBE")
}

/// Sends NICKNAME with `Use-Nickname: "nick"` on the participant's session; returns the
/// response status.
pub fn nickname(p: &mut Participant, nick: &str) -> Option<u16> {
    let tid = ident(12);
    let req = format!(
        "MSRP {tid} NICKNAME\r\nTo-Path: {}\r\nFrom-Path: {}\r\nUse-Nickname: \"{nick}\"\r\n\
         -------{tid}$\r\n",
        p.answer.path, p.local_path
    );
    p.conn().write(req.as_bytes());
    p.response_to(&tid).status
}

/// One `<user>` of a conference-info document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterUser {
    pub entity: String,
    pub state: String,
    pub nickname: Option<String>,
    pub display: Option<String>,
    /// Endpoint entities.
    pub endpoints: Vec<String>,
    /// Endpoint statuses, in order.
    pub statuses: Vec<String>,
}

/// The parts of a conference-info document tests check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roster {
    pub entity: String,
    pub state: String,
    pub version: u32,
    /// `<user-count>`, when the document has one.
    pub user_count: Option<usize>,
    pub users: Vec<RosterUser>,
}

/// The value of attribute `name` in a start tag's text.
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].to_string())
}

/// Text of the first `<name>…</name>` in `s`.
fn text_of(s: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let a = s.find(&open)? + open.len();
    let b = s[a..].find(&close)? + a;
    Some(s[a..b].to_string())
}

impl Roster {
    /// Reads a conference-info body written the way parlor writes it (one `<user` start
    /// tag per user, attributes in double quotes). Panics on a body that is not one.
    pub fn parse(xml: &str) -> Roster {
        let root_at = xml.find("<conference-info").expect("conference-info root");
        let root_end = xml[root_at..].find('>').expect("root tag end") + root_at;
        let root = &xml[root_at..root_end];
        let mut users = Vec::new();
        let mut rest = &xml[root_end..];
        for _ in 0..10_000 {
            let Some(i) = rest.find("<user ") else {
                break;
            };
            let tag_end = rest[i..].find('>').expect("user tag end") + i;
            let tag = &rest[i..tag_end];
            let (inner, next) = if tag.ends_with('/') {
                ("", &rest[tag_end + 1..])
            } else {
                let close = rest[tag_end..].find("</user>").expect("</user>") + tag_end;
                (&rest[tag_end + 1..close], &rest[close + 7..])
            };
            let endpoints = inner
                .split("<endpoint ")
                .skip(1)
                .map(|e| attr(&format!(" {e}"), "entity").unwrap_or_default())
                .collect();
            let statuses = inner
                .split("<endpoint ")
                .skip(1)
                .filter_map(|e| text_of(e, "status"))
                .collect();
            users.push(RosterUser {
                entity: attr(tag, "entity").expect("user entity"),
                state: attr(tag, "state").unwrap_or_else(|| "full".to_string()),
                nickname: attr(tag, "xcon:nickname"),
                display: text_of(inner, "display-text"),
                endpoints,
                statuses,
            });
            rest = next;
        }
        Roster {
            entity: attr(root, "entity").expect("root entity"),
            state: attr(root, "state").unwrap_or_else(|| "full".to_string()),
            version: attr(root, "version")
                .and_then(|v| v.parse().ok())
                .expect("root version"),
            user_count: text_of(xml, "user-count").and_then(|c| c.trim().parse().ok()),
            users,
        }
    }

    /// The user with this entity.
    pub fn user(&self, entity: &str) -> Option<&RosterUser> {
        self.users.iter().find(|u| u.entity == entity)
    }
}

/// The roster carried by a NOTIFY, after checking its headers and well-formedness.
pub fn roster_of(notify: &SipMessage) -> Roster {
    assert_eq!(
        notify.header("Content-Type"),
        Some("application/conference-info+xml"),
        "{}",
        String::from_utf8_lossy(&notify.raw)
    );
    assert_eq!(notify.header("Event"), Some("conference"));
    let body = notify.body_text();
    if let Err(e) = check_well_formed(&body) {
        panic!("NOTIFY body not well-formed: {e}\n{body}");
    }
    Roster::parse(&body)
}

/// A small XML 1.0 well-formedness check for conference-info documents (RFC 4575 §4.1):
/// XML declaration with UTF-8, start/end tags balanced and properly nested, attribute
/// values quoted, no raw `<` or `&` outside markup/entities, exactly one root
/// `<conference-info>` in the RFC 4575 namespace, the `xcon` prefix declared if used.
pub fn check_well_formed(xml: &str) -> Result<(), String> {
    let decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    let mut rest = xml.strip_prefix(decl).ok_or("missing XML declaration")?;
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    for _ in 0..100_000 {
        let Some(lt) = rest.find('<') else {
            if !rest.trim().is_empty() {
                return Err("text after the root element".into());
            }
            break;
        };
        check_text(&rest[..lt])?;
        if stack.is_empty() && !rest[..lt].trim().is_empty() {
            return Err("text outside the root element".into());
        }
        let gt = rest[lt..].find('>').ok_or("unterminated tag")? + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name.trim() => continue,
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name = tag
            .split_whitespace()
            .next()
            .ok_or("empty tag")?
            .to_string();
        check_attributes(&tag[name.len()..])?;
        if stack.is_empty() {
            roots += 1;
            if name != "conference-info" {
                return Err(format!("root is <{name}>"));
            }
            if attr(tag, "xmlns").as_deref() != Some(CONFERENCE_INFO_NS) {
                return Err("root namespace is not urn:ietf:params:xml:ns:conference-info".into());
            }
        }
        if (name.starts_with("xcon:") || tag.contains(" xcon:")) && !xml.contains("xmlns:xcon=\"") {
            return Err("xcon prefix used but not declared".into());
        }
        if !self_closing {
            stack.push(name);
        }
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements {stack:?}"));
    }
    Ok(())
}

fn check_text(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        let semi = rest[i..].find(';').ok_or("bare & in text")? + i;
        let entity = &rest[i + 1..semi];
        let known = ["amp", "lt", "gt", "quot", "apos"].contains(&entity)
            || entity
                .strip_prefix('#')
                .is_some_and(|n| n.parse::<u32>().is_ok());
        if !known {
            return Err(format!("unknown entity &{entity};"));
        }
        rest = &rest[semi + 1..];
    }
    if text.contains('>') {
        return Err("raw > in text".into());
    }
    Ok(())
}

fn check_attributes(attrs: &str) -> Result<(), String> {
    let mut rest = attrs.trim();
    let mut seen = Vec::new();
    for _ in 0..1000 {
        if rest.is_empty() {
            return Ok(());
        }
        let eq = rest.find('=').ok_or("attribute without value")?;
        let name = rest[..eq].trim().to_string();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!("bad attribute name {name:?}"));
        }
        if seen.contains(&name) {
            return Err(format!("duplicate attribute {name}"));
        }
        let after = rest[eq + 1..].trim_start();
        let value_and_rest = after.strip_prefix('"').ok_or("unquoted attribute value")?;
        let end = value_and_rest
            .find('"')
            .ok_or("unterminated attribute value")?;
        let value = &value_and_rest[..end];
        if value.contains('<') {
            return Err("< in attribute value".into());
        }
        check_text(value)?;
        seen.push(name);
        rest = value_and_rest[end + 1..].trim_start();
    }
    Err("too many attributes".into())
}

/// A config file with the given `[limits]` lines (and nothing else).
pub fn limits_config(lines: &[&str]) -> std::path::PathBuf {
    let mut text = String::from("[limits]\n");
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    temp_config(&text)
}

impl Server {
    /// Waits (bounded by `limit`) for the process to exit on its own, without signalling.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        wait_bounded(&mut self.child, limit)
    }
}

/// Writes `text` to a fresh file in the temp directory and returns its path (for
/// `--config`); the name is unique per call.
pub fn temp_config(text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("parlor-test-{}.toml", ident(12)));
    std::fs::write(&path, text).expect("write temp config");
    path
}

/// A re-INVITE in the participant's dialog offering `sdp` (its own MSRP path), then the
/// ACK for a 2xx; returns the final response.
pub fn reinvite(p: &mut Participant, sdp: &str) -> SipMessage {
    let (call_id, from_tag, to_tag, target) = p.dialog_ids();
    let cseq = p.next_cseq();
    let transport = p.sip.via_transport();
    let (local, uri) = (p.sip.local, p.uri.clone());
    let head = |method: &str| {
        crlf(&[
            &format!("{method} {target} SIP/2.0"),
            &format!(
                "Via: SIP/2.0/{transport} {local};branch=z9hG4bK{};rport",
                ident(12)
            ),
            "Max-Forwards: 70",
            &format!("From: <{uri}>;tag={from_tag}"),
            &format!("To: <{ROOM}>;tag={to_tag}"),
            &format!("Call-ID: {call_id}"),
            &format!("CSeq: {cseq} {method}"),
        ])
    };
    let invite = format!(
        "{}Contact: <sip:{local}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        head("INVITE"),
        sdp.len()
    );
    p.sip.send(invite.as_bytes());
    let resp = p.sip.final_response("INVITE");
    if resp.status().is_some_and(|c| (200..300).contains(&c)) {
        let ack = format!("{}Content-Length: 0\r\n\r\n", head("ACK"));
        p.sip.send(ack.as_bytes());
    }
    resp
}
