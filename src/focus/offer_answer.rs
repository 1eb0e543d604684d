//! SDP offer/answer for a chat-room join (RFC 3264 §5–6 as used by RFC 4975 §8; RFC 6135
//! §4.2 setup roles; RFC 7701 §5.2 accept-types `message/cpim`, §8 `a=chatroom`): checks
//! the participant's offer, and writes the focus's answer from what the switch granted.

use crate::conference::{ChatCaps, Joined};
use crate::limits::Limits;
use crate::wire::sdp::{
    msrp_uri_authority, Answer, Chatroom, MsrpMedia, MsrpProto, SessionDescription, Setup,
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

/// Checks an INVITE body and returns the MSRP media section to join with.
pub(super) fn check_offer<'a>(
    content_type: Option<&str>,
    body: &'a [u8],
    limits: &Limits,
) -> Result<MsrpMedia<'a>, Refusal> {
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
    let Some(media) = sd.msrp_media() else {
        let tls_only = sd.media.iter().any(|m| m.proto == MsrpProto::Tls);
        return Err(if tls_only {
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
    Ok(media.clone())
}

/// RFC 6135 §4.2: only `a=setup:passive` asks the answerer to open the connection (IMPL-7);
/// `active`, `actpass`, `holdconn` (treated as absent) and no `a=setup` (RFC 4975: the
/// offerer connects) leave the participant active and the switch passive.
pub(super) fn switch_connects(media: &MsrpMedia<'_>) -> bool {
    media.setup == Some(Setup::Passive)
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

/// The answer for an admitted participant, always with an explicit `a=setup` (RFC 6135
/// §4.2): `active` when the switch connects, else `passive`; `None` if the switch's path is
/// unusable.
pub(super) fn answer_for(
    joined: &Joined,
    switch_connects: bool,
    limits: &Limits,
    sess_id: u64,
) -> Option<Vec<u8>> {
    let (host, port) = msrp_uri_authority(&joined.path)?;
    let answer = Answer {
        origin_username: ORIGIN_USERNAME,
        sess_id,
        sess_version: sess_id,
        address: host,
        port,
        proto: MsrpProto::Tcp,
        accept_types: ACCEPT_TYPES,
        accept_wrapped_types: Some(ACCEPT_WRAPPED_TYPES),
        path: &joined.path,
        setup: if switch_connects {
            Setup::Active
        } else {
            Setup::Passive
        },
        max_size: u64::try_from(limits.max_message_bytes).ok(),
        chatroom: Some(Chatroom {
            nickname: joined.policy.nicknames,
            private_messages: joined.policy.private_messages,
        }),
    };
    Some(answer.emit())
}
