//! The SDP subset an MSRP chat session uses (RFC 4566 §5 lines v/o/s/c/t/m/a; RFC 4975 §8
//! `m=message … TCP/MSRP *`, `a=path`, `a=accept-types`, `a=accept-wrapped-types`,
//! `a=max-size`; RFC 6135 `a=setup`; RFC 7701 §8 `a=chatroom`; RFC 4566 §6 / RFC 3264 §6.1
//! direction attributes): parse an offer, emit an answer with one m-line per offered m-line
//! (RFC 3264 §6). Unknown attributes are skipped; non-MSRP media sections are only listed.
//! Parsing is here; the emitter is in `sdp/answer.rs`.

use super::msrp::MsrpUri;

mod answer;

pub use answer::Answer;

/// What was wrong with an SDP body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdpError {
    /// Larger than `max_sdp_bytes`.
    TooLarge,
    /// Not UTF-8.
    NotUtf8,
    /// A line that is not `x=value`, or `v=` missing/not first/not 0.
    BadLine,
    /// `o=` missing or malformed.
    BadOrigin,
    /// `c=` malformed.
    BadConnection,
    /// An `m=message` line that does not parse.
    BadMedia,
    /// `a=path` empty or holding something else than msrp/msrps URIs.
    BadPath,
    /// `a=max-size` not a number.
    BadMaxSize,
}

impl SdpError {
    /// The SIP status answering an INVITE whose offer failed this way: syntax and size
    /// errors → 400, unusable media description → 488.
    pub fn sip_status(self) -> (u16, &'static str) {
        match self {
            SdpError::TooLarge | SdpError::NotUtf8 | SdpError::BadLine | SdpError::BadOrigin => {
                (400, "Bad Request")
            }
            SdpError::BadConnection
            | SdpError::BadMedia
            | SdpError::BadPath
            | SdpError::BadMaxSize => (488, "Not Acceptable Here"),
        }
    }
}

/// `IN IP4` or `IN IP6`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrType {
    Ip4,
    Ip6,
}

impl AddrType {
    fn parse(s: &str) -> Option<AddrType> {
        match s {
            "IP4" => Some(AddrType::Ip4),
            "IP6" => Some(AddrType::Ip6),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            AddrType::Ip4 => "IP4",
            AddrType::Ip6 => "IP6",
        }
    }

    /// IP6 when `address` is an IPv6 literal, else IP4.
    pub fn of(address: &str) -> AddrType {
        if address.contains(':') {
            AddrType::Ip6
        } else {
            AddrType::Ip4
        }
    }
}

/// `o=username sess-id sess-version IN addrtype address`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin<'a> {
    pub username: &'a str,
    pub sess_id: &'a str,
    pub sess_version: &'a str,
    pub addr_type: AddrType,
    pub address: &'a str,
}

/// `c=IN addrtype address`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connection<'a> {
    pub addr_type: AddrType,
    pub address: &'a str,
}

/// The MSRP transport of an `m=message` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsrpProto {
    /// `TCP/MSRP`.
    Tcp,
    /// `TCP/TLS/MSRP`.
    Tls,
}

impl MsrpProto {
    fn as_str(self) -> &'static str {
        match self {
            MsrpProto::Tcp => "TCP/MSRP",
            MsrpProto::Tls => "TCP/TLS/MSRP",
        }
    }
}

/// RFC 6135 `a=setup` role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    Active,
    Passive,
    Actpass,
    Holdconn,
}

impl Setup {
    fn parse(s: &str) -> Option<Setup> {
        match s.to_ascii_lowercase().as_str() {
            "active" => Some(Setup::Active),
            "passive" => Some(Setup::Passive),
            "actpass" => Some(Setup::Actpass),
            "holdconn" => Some(Setup::Holdconn),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::Actpass => "actpass",
            Setup::Holdconn => "holdconn",
        }
    }
}

/// A stream's direction as its describer declared it (RFC 4566 §6 `a=sendrecv`,
/// `a=sendonly`, `a=recvonly`, `a=inactive`; session-level value as default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn parse(s: &str) -> Option<Direction> {
        match s {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The answerer's direction for this offered one (RFC 3264 §6.1): the mirror image.
    pub fn answered(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            other => other,
        }
    }

    /// The describer may send regular content (RFC 4975 §8.9: SEND with a body).
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// The describer wants to receive regular content.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
}

/// RFC 7701 §8 `a=chatroom` tokens the focus understands (others are ignored).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Chatroom {
    /// `nickname` (or the prose spelling `nicknames`).
    pub nickname: bool,
    /// `private-messages`.
    pub private_messages: bool,
}

impl Chatroom {
    /// Parses the token list after `a=chatroom:` (empty for a bare `a=chatroom`).
    /// Duplicates are tolerated, unknown tokens ignored (requirements IMPL-2).
    pub fn parse(tokens: &str) -> Chatroom {
        let mut c = Chatroom::default();
        for t in tokens.split_ascii_whitespace() {
            if t.eq_ignore_ascii_case("nickname") || t.eq_ignore_ascii_case("nicknames") {
                c.nickname = true;
            } else if t.eq_ignore_ascii_case("private-messages") {
                c.private_messages = true;
            }
        }
        c
    }
}

/// One `m=message` section with the attributes the focus reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsrpMedia<'a> {
    pub port: u16,
    pub proto: MsrpProto,
    /// Media-level `c=`.
    pub connection: Option<Connection<'a>>,
    /// `a=accept-types` value as written.
    pub accept_types: Option<&'a str>,
    /// `a=accept-wrapped-types` value as written.
    pub accept_wrapped_types: Option<&'a str>,
    /// The first `a=path` value (space-separated msrp/msrps URIs).
    pub path: Option<&'a str>,
    pub setup: Option<Setup>,
    pub max_size: Option<u64>,
    /// `None` = no `a=chatroom` at all.
    pub chatroom: Option<Chatroom>,
    /// Media-level direction attribute, else the session-level one, else `sendrecv`.
    pub direction: Direction,
    /// The section carries `a=file-selector` (RFC 5547 §5): a file transfer, not chat.
    pub file_selector: bool,
}

impl MsrpMedia<'_> {
    /// A section nothing is known about yet (port 0, no attributes, `sendrecv`).
    pub fn unknown() -> MsrpMedia<'static> {
        MsrpMedia {
            port: 0,
            proto: MsrpProto::Tcp,
            connection: None,
            accept_types: None,
            accept_wrapped_types: None,
            path: None,
            setup: None,
            max_size: None,
            chatroom: None,
            direction: Direction::SendRecv,
            file_selector: false,
        }
    }

    /// True if `accept-types` lists `media_type` (ignoring parameters) or `*`.
    pub fn accepts(&self, media_type: &str) -> bool {
        self.accept_types
            .is_some_and(|list| type_list_contains(list, media_type))
    }
}

/// True if a space-separated type list contains `media_type` (bare type, any case) or `*`.
pub fn type_list_contains(list: &str, media_type: &str) -> bool {
    list.split_ascii_whitespace().any(|t| {
        let bare = t.split(';').next().unwrap_or_default();
        bare == "*" || bare.eq_ignore_ascii_case(media_type)
    })
}

/// One `m=` line of a description, whatever its media, as an answer must echo it when it
/// refuses the stream (RFC 3264 §6: `m=MEDIA 0 PROTO FMT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaLine<'a> {
    pub media: &'a str,
    pub proto: &'a str,
    /// The format list as written (`*` for MSRP).
    pub fmt: &'a str,
    /// Index into `SessionDescription::media` if this is an MSRP section.
    pub msrp: Option<usize>,
}

/// A parsed session description (only what the MSRP subset needs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionDescription<'a> {
    pub origin: Origin<'a>,
    /// `s=` (empty if absent).
    pub session_name: &'a str,
    /// Session-level `c=`.
    pub connection: Option<Connection<'a>>,
    /// Every `m=message` section with an MSRP transport, in order.
    pub media: Vec<MsrpMedia<'a>>,
    /// Every `m=` line, in order (the answer has one per line).
    pub lines: Vec<MediaLine<'a>>,
}

impl<'a> SessionDescription<'a> {
    /// Parses an SDP body of at most `max_bytes`.
    pub fn parse(body: &'a [u8], max_bytes: usize) -> Result<Self, SdpError> {
        if body.len() > max_bytes {
            return Err(SdpError::TooLarge);
        }
        let text = std::str::from_utf8(body).map_err(|_| SdpError::NotUtf8)?;
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .filter(|l| !l.is_empty());
        if lines.next() != Some("v=0") {
            return Err(SdpError::BadLine);
        }
        let mut origin = None;
        let mut session_name = "";
        let mut connection = None;
        let mut media: Vec<MsrpMedia<'a>> = Vec::new();
        let mut lines_out: Vec<MediaLine<'a>> = Vec::new();
        let mut direction = Direction::SendRecv;
        // Inside an m= section: Some(true) = an MSRP one being filled, Some(false) = skipped.
        let mut section: Option<bool> = None;
        for line in lines {
            let (kind, value) = match line.as_bytes() {
                [k, b'=', ..] if k.is_ascii_lowercase() => (*k, line.get(2..).unwrap_or_default()),
                _ => return Err(SdpError::BadLine),
            };
            match (kind, section) {
                (b'm', _) => {
                    let (line, parsed) = parse_media_line(value, direction)?;
                    section = Some(parsed.is_some());
                    lines_out.push(MediaLine {
                        msrp: parsed.is_some().then_some(media.len()),
                        ..line
                    });
                    media.extend(parsed);
                }
                (b'a', None) => {
                    if let Some(d) = Direction::parse(value) {
                        direction = d;
                    }
                }
                (b'o', None) => origin = Some(parse_origin(value)?),
                (b's', None) => session_name = value,
                (b'c', None) => connection = Some(parse_connection(value)?),
                (b'c', Some(true)) => {
                    if let Some(m) = media.last_mut() {
                        m.connection = Some(parse_connection(value)?);
                    }
                }
                (b'a', Some(true)) => {
                    if let Some(m) = media.last_mut() {
                        apply_attribute(m, value)?;
                    }
                }
                _ => {}
            }
        }
        Ok(SessionDescription {
            origin: origin.ok_or(SdpError::BadOrigin)?,
            session_name,
            connection,
            media,
            lines: lines_out,
        })
    }

    /// The first usable MSRP section: `TCP/MSRP` with a non-zero port.
    pub fn msrp_media(&self) -> Option<&MsrpMedia<'a>> {
        self.msrp_line().and_then(|i| self.media_of_line(i))
    }

    /// Index into `lines` of the first usable MSRP section (see `msrp_media`).
    pub fn msrp_line(&self) -> Option<usize> {
        self.lines.iter().position(|l| {
            self.media_of_line_at(l)
                .is_some_and(|m| m.proto == MsrpProto::Tcp && m.port != 0)
        })
    }

    /// The MSRP section of `lines[i]`, if it is one.
    pub fn media_of_line(&self, i: usize) -> Option<&MsrpMedia<'a>> {
        self.lines.get(i).and_then(|l| self.media_of_line_at(l))
    }

    fn media_of_line_at(&self, l: &MediaLine<'_>) -> Option<&MsrpMedia<'a>> {
        l.msrp.and_then(|i| self.media.get(i))
    }
}

fn parse_origin(v: &str) -> Result<Origin<'_>, SdpError> {
    let f: Vec<&str> = v.split(' ').collect();
    match f.as_slice() {
        [username, sess_id, sess_version, "IN", at, address] => Ok(Origin {
            username,
            sess_id,
            sess_version,
            addr_type: AddrType::parse(at).ok_or(SdpError::BadOrigin)?,
            address,
        }),
        _ => Err(SdpError::BadOrigin),
    }
}

fn parse_connection(v: &str) -> Result<Connection<'_>, SdpError> {
    let f: Vec<&str> = v.split(' ').collect();
    match f.as_slice() {
        ["IN", at, address] if !address.is_empty() => Ok(Connection {
            addr_type: AddrType::parse(at).ok_or(SdpError::BadConnection)?,
            address,
        }),
        _ => Err(SdpError::BadConnection),
    }
}

/// `MEDIA PORT PROTO FMT…` → the line, plus an MSRP section for `message` with an MSRP
/// transport (other media or protocols → `None`). `direction` = the session-level one.
fn parse_media_line(
    v: &str,
    direction: Direction,
) -> Result<(MediaLine<'_>, Option<MsrpMedia<'_>>), SdpError> {
    let mut f = v.splitn(4, ' ');
    let (Some(kind), Some(port), Some(proto), Some(fmt)) = (f.next(), f.next(), f.next(), f.next())
    else {
        return Err(SdpError::BadMedia);
    };
    let fmt = fmt.trim();
    let valid = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    if !valid(kind) || !valid(proto) || fmt.is_empty() || fmt.bytes().any(|b| b.is_ascii_control())
    {
        return Err(SdpError::BadMedia);
    }
    let line = MediaLine {
        media: kind,
        proto,
        fmt,
        msrp: None,
    };
    if kind != "message" {
        return Ok((line, None));
    }
    let proto = if proto.eq_ignore_ascii_case("TCP/MSRP") {
        MsrpProto::Tcp
    } else if proto.eq_ignore_ascii_case("TCP/TLS/MSRP") {
        MsrpProto::Tls
    } else {
        return Ok((line, None));
    };
    let port = port.split('/').next().unwrap_or_default();
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SdpError::BadMedia);
    }
    let port: u16 = port.parse().map_err(|_| SdpError::BadMedia)?;
    let media = MsrpMedia {
        port,
        proto,
        connection: None,
        accept_types: None,
        accept_wrapped_types: None,
        path: None,
        setup: None,
        max_size: None,
        chatroom: None,
        direction,
        file_selector: false,
    };
    Ok((line, Some(media)))
}

fn apply_attribute<'a>(m: &mut MsrpMedia<'a>, v: &'a str) -> Result<(), SdpError> {
    let (name, value) = match v.split_once(':') {
        Some((n, val)) => (n, Some(val.trim())),
        None => (v, None),
    };
    match (name, value) {
        ("accept-types", Some(val)) => m.accept_types = Some(val),
        ("accept-wrapped-types", Some(val)) => m.accept_wrapped_types = Some(val),
        ("path", Some(val)) if m.path.is_none() => {
            let ok = val.split_ascii_whitespace().count() > 0
                && val.split_ascii_whitespace().all(is_msrp_uri);
            if !ok {
                return Err(SdpError::BadPath);
            }
            m.path = Some(val);
        }
        ("setup", Some(val)) => m.setup = Setup::parse(val),
        ("max-size", Some(val)) => {
            let ok = !val.is_empty() && val.len() <= 19 && val.bytes().all(|b| b.is_ascii_digit());
            m.max_size = Some(
                ok.then(|| val.parse().ok())
                    .flatten()
                    .ok_or(SdpError::BadMaxSize)?,
            );
        }
        ("chatroom", val) => m.chatroom = Some(Chatroom::parse(val.unwrap_or_default())),
        ("file-selector", _) => m.file_selector = true,
        (name, None) if Direction::parse(name).is_some() => {
            m.direction = Direction::parse(name).unwrap_or_default();
        }
        _ => {}
    }
    Ok(())
}

fn is_msrp_uri(u: &str) -> bool {
    let lower = u.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    let rest = if lower.starts_with("msrp://") {
        u.get(7..)
    } else if lower.starts_with("msrps://") {
        u.get(8..)
    } else {
        None
    };
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
}

/// Host (without IPv6 brackets) and port of an `msrp://host:port/session;tcp` URI.
pub fn msrp_uri_authority(uri: &str) -> Option<(&str, u16)> {
    let parsed = MsrpUri::parse(uri).ok()?;
    Some((parsed.host, parsed.port?))
}

#[cfg(test)]
mod tests;
