//! SDP offer/answer for a chat-room join (RFC 3264 §5–6 as used by RFC 4975 §8; RFC 6135
//! §4.2 setup roles; RFC 4975 §6 `msrps` needs TLS; RFC 5547 file transfer streams are
//! refused; RFC 7701 §5.2 accept-types
//! `message/cpim`, §8 `a=chatroom`; RFC 3264 §6 one answer m-line per offered one, port 0 for
//! refused streams, §6.1 mirrored direction): checks the participant's offer, and writes
//! the focus's answer from what the switch granted; for an offerless INVITE (IMPL-25) it
//! writes the focus's offer and checks the answer that comes back in the ACK.

use ::core::net::IpAddr;

use crate::conference::{ChatCaps, RoomPolicy};
use crate::limits::Limits;
use crate::wire::msrp::{last_uri, MsrpUri};
use crate::wire::sdp::{
    msrp_uri_authority, Answer, Chatroom, Direction, MediaLine, MsrpMedia, MsrpProto,
    SessionDescription, Setup,
};

/// The only top-level MSRP payload the room exchanges (RFC 7701 §5.2).
pub(super) const ACCEPT_TYPES: &str = "message/cpim";
/// The wrapped types the room takes: plain text named, anything else via `*`.
pub(super) const ACCEPT_WRAPPED_TYPES: &str = "text/plain *";
/// o= user name of the focus's answers.
const ORIGIN_USERNAME: &str = "focus";

/// Why an offer was refused: a SIP status plus an optional RFC 3261 §20.43 warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Refusal {
    pub code: u16,
    pub reason: &'static str,
    /// Warning code and text.
    pub warning: Option<(u16, &'static str)>,
    /// Add `Accept: application/sdp` (415).
    pub accept_sdp: bool,
}

impl Refusal {
    fn not_acceptable(warn_code: u16, text: &'static str) -> Self {
        Refusal {
            code: 488,
            reason: "Not Acceptable Here",
            warning: Some((warn_code, text)),
            accept_sdp: false,
        }
    }
}

/// An acceptable offer: the MSRP section to join with and the m-line layout to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Offer<'a> {
    pub media: MsrpMedia<'a>,
    /// Every offered m-line, in order.
    pub lines: Vec<MediaLine<'a>>,
    /// Index into `lines` of `media`: the one stream accepted, all others get port 0.
    pub accepted: usize,
}

/// What the answer is built from besides the offer: fixed for the dialog's lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct AnswerBasis {
    /// The switch's MSRP URI for the session.
    pub path: String,
    pub policy: RoomPolicy,
    pub sess_id: u64,
    /// `o=` version of the last answer; bumped when a re-INVITE changes the answer.
    pub version: u64,
}

/// True if the section can carry the chat session over plain TCP: `TCP/MSRP`, a non-zero
/// port, no `msrps` URI in its path (RFC 4975 §6: `msrps` means the connection must be
/// TLS, which this switch does not speak), and not a file transfer (RFC 5547
/// `a=file-selector`: its chunks are the file, never Message/CPIM for the room).
fn usable(m: &MsrpMedia<'_>) -> bool {
    m.proto == MsrpProto::Tcp
        && m.port != 0
        && !m.path.is_some_and(path_needs_tls)
        && !m.file_selector
}

fn path_needs_tls(path: &str) -> bool {
    path.split_ascii_whitespace().any(|u| {
        u.get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("msrps://"))
    })
}

/// Checks an INVITE body and returns the MSRP media section to join with.
pub(super) fn check_offer<'a>(
    content_type: Option<&str>,
    body: &'a [u8],
    limits: &Limits,
) -> Result<Offer<'a>, Refusal> {
    if body.is_empty() {
        return Err(Refusal::not_acceptable(
            399,
            "INVITE without SDP offer not supported",
        ));
    }
    let is_sdp = content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/sdp"));
    if !is_sdp {
        return Err(Refusal {
            code: 415,
            reason: "Unsupported Media Type",
            warning: None,
            accept_sdp: true,
        });
    }
    let sd = SessionDescription::parse(body, limits.max_sdp_bytes).map_err(|e| {
        let (code, reason) = e.sip_status();
        Refusal {
            code,
            reason,
            warning: Some((399, "Malformed or oversized SDP")),
            accept_sdp: false,
        }
    })?;
    let accepted = (0..sd.lines.len()).find(|i| sd.media_of_line(*i).is_some_and(usable));
    let Some((accepted, media)) = accepted.and_then(|i| Some((i, sd.media_of_line(i)?))) else {
        let live = || sd.media.iter().filter(|m| m.port != 0);
        let chat = || live().filter(|m| !m.file_selector);
        if live().next().is_some() && chat().next().is_none() {
            return Err(Refusal::not_acceptable(
                304,
                "File transfer (RFC 5547 file-selector) not supported in a chat room",
            ));
        }
        let msrps = chat().any(|m| m.proto == MsrpProto::Tcp);
        let tls = chat().any(|m| m.proto == MsrpProto::Tls);
        return Err(if msrps {
            Refusal::not_acceptable(302, "msrps path needs TLS, not supported")
        } else if tls {
            Refusal::not_acceptable(302, "TCP/TLS/MSRP not supported")
        } else {
            Refusal::not_acceptable(304, "No m=message TCP/MSRP stream")
        });
    };
    if !media.accepts(ACCEPT_TYPES) {
        return Err(Refusal::not_acceptable(
            305,
            "accept-types must include message/cpim",
        ));
    }
    if media.path.is_none() {
        return Err(Refusal::not_acceptable(399, "a=path missing"));
    }
    Ok(Offer {
        media: media.clone(),
        lines: sd.lines.clone(),
        accepted,
    })
}

/// RFC 6135 §4.2: only `a=setup:passive` asks the answerer to open the connection (IMPL-7);
/// `active`, `actpass`, `holdconn` (treated as absent) and no `a=setup` (RFC 4975: the
/// offerer connects) leave the participant active and the switch passive.
pub(super) fn switch_connects(media: &MsrpMedia<'_>) -> bool {
    media.setup == Some(Setup::Passive)
}

/// IMPL-7 guard: when the switch is to connect out (`a=setup:passive`), the leftmost path
/// URI must name the very IP the INVITE came from, so an offer cannot point the gateway's
/// TCP connects at arbitrary hosts and ports on its networks.
pub(super) fn check_connect_target(media: &MsrpMedia<'_>, source: IpAddr) -> Result<(), Refusal> {
    if !switch_connects(media) {
        return Ok(());
    }
    let target = media
        .path
        .and_then(|p| p.split_ascii_whitespace().next())
        .and_then(msrp_uri_authority)
        .and_then(|(host, _)| {
            let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
            bare.unwrap_or(host).parse::<IpAddr>().ok()
        });
    if target == Some(source) {
        Ok(())
    } else {
        Err(Refusal::not_acceptable(
            399,
            "a=setup:passive needs a path at the address the INVITE came from",
        ))
    }
}

/// The chat capabilities an offer declared.
pub(super) fn caps_of(media: &MsrpMedia<'_>) -> ChatCaps {
    let c = media.chatroom.unwrap_or_default();
    ChatCaps {
        chatroom_aware: media.chatroom.is_some(),
        nickname: c.nickname,
        private_messages: c.private_messages,
    }
}

/// The answer to `offer` for an admitted participant; `None` if the switch's path is
/// unusable.
pub(super) fn answer_for(
    basis: &AnswerBasis,
    offer: &Offer<'_>,
    limits: &Limits,
) -> Option<Vec<u8>> {
    let setup = if switch_connects(&offer.media) {
        Setup::Active
    } else {
        Setup::Passive
    };
    describe(
        basis,
        limits,
        setup,
        offer.media.direction.answered(),
        &offer.lines,
        offer.accepted,
    )
}

/// The focus's own offer in the 200 to an offerless INVITE (RFC 3264 §5, IMPL-25): one
/// MSRP stream like an answer, but `a=setup:actpass` (RFC 6135 §4.2: an offerer may not
/// offer `passive`); `check_answer` then insists on `active` (the client connects).
pub(super) fn offer_for(basis: &AnswerBasis, limits: &Limits) -> Option<Vec<u8>> {
    describe(basis, limits, Setup::Actpass, Direction::SendRecv, &[], 0)
}

/// The answer in the ACK to the focus's offer: the MSRP stream to use, or why not
/// (the dialog then ends with BYE, IMPL-25).
pub(super) fn check_answer<'a>(
    content_type: Option<&str>,
    body: &'a [u8],
    limits: &Limits,
) -> Result<MsrpMedia<'a>, &'static str> {
    if body.is_empty() {
        return Err("ACK without the SDP answer");
    }
    let is_sdp = content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/sdp"));
    if !is_sdp {
        return Err("answer is not application/sdp");
    }
    let sd = SessionDescription::parse(body, limits.max_sdp_bytes)
        .map_err(|_| "malformed or oversized SDP answer")?;
    // RFC 3264 §6: exactly the one m-line the focus offered.
    let (1, Some(media)) = (sd.lines.len(), sd.media_of_line(0)) else {
        return Err("answer m-lines do not match the offer");
    };
    if !usable(media) {
        return Err("MSRP stream refused or unusable");
    }
    if !media.accepts(ACCEPT_TYPES) {
        return Err("accept-types lacks message/cpim");
    }
    // RFC 4145 §4: no a=setup means active.
    if !matches!(media.setup, None | Some(Setup::Active)) {
        return Err("answer to actpass must be a=setup:active");
    }
    let path_ok = media
        .path
        .and_then(last_uri)
        .is_some_and(|u| MsrpUri::parse(u).is_ok());
    if !path_ok {
        return Err("a=path missing or unusable");
    }
    Ok(media.clone())
}

/// A description of the switch's stream for `basis`.
fn describe(
    basis: &AnswerBasis,
    limits: &Limits,
    setup: Setup,
    direction: Direction,
    offered: &[MediaLine<'_>],
    accepted: usize,
) -> Option<Vec<u8>> {
    let (host, port) = msrp_uri_authority(&basis.path)?;
    let answer = Answer {
        origin_username: ORIGIN_USERNAME,
        sess_id: basis.sess_id,
        sess_version: basis.version,
        address: host,
        port,
        proto: MsrpProto::Tcp,
        accept_types: ACCEPT_TYPES,
        accept_wrapped_types: Some(ACCEPT_WRAPPED_TYPES),
        path: &basis.path,
        setup,
        max_size: u64::try_from(limits.max_message_bytes).ok(),
        chatroom: Some(Chatroom {
            nickname: basis.policy.nicknames,
            private_messages: basis.policy.private_messages,
        }),
        direction,
        offered,
        accepted,
    };
    Some(answer.emit())
}
