//! The focus ↔ switch interface: what the SIP focus tells the MSRP switch about each
//! participant (RFC 7701 §5.2: every URI a participant is known by and the `a=chatroom`
//! capabilities it declared) and what the switch answers (its MSRP path, admission).
//!
//! RFC 7701 leaves this interface out of scope; here it is a synchronous trait so the focus
//! can answer an INVITE in the same call that admitted the participant.

use ::core::net::IpAddr;

use crate::rand::Entropy;
use crate::time::Instant;
pub use crate::wire::sdp::Direction;

/// A participant (one SIP dialog = one MSRP session) in the switch's slab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub usize);

/// A room's policy (RFC 7701 §5, §6.2, §7; RFC 7701 §8 `a=chatroom` tokens).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoomPolicy {
    /// Nicknames allowed (`nickname` token in the focus's `a=chatroom`).
    pub nicknames: bool,
    /// Private messages allowed (`private-messages` token).
    pub private_messages: bool,
    /// Participants at once; bounded by `Limits::max_room_participants`.
    pub max_participants: usize,
}

/// Chat capabilities a participant declared with `a=chatroom` (RFC 7701 §8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChatCaps {
    /// The offer carried `a=chatroom` at all (else RFC 7701 §11 notices apply).
    pub chatroom_aware: bool,
    /// `nickname` (or `nicknames`) token.
    pub nickname: bool,
    /// `private-messages` token.
    pub private_messages: bool,
}

/// Everything the switch needs to admit one participant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinRequest<'a> {
    /// Room name: the user part of the room URI (`lobby` in `sip:lobby@localhost`).
    pub room: &'a str,
    /// The URI the participant is known by in the room: its AOR (From URI), or its
    /// anonymous URI when it asked for privacy. CPIM From of its messages must equal it.
    pub uri: &'a str,
    /// Display name from the From header, possibly empty.
    pub display_name: &'a str,
    /// Declared chat capabilities.
    pub caps: ChatCaps,
    /// `a=accept-wrapped-types` values, space separated, as offered (empty if absent).
    pub accept_wrapped_types: &'a str,
    /// The peer's full `a=path` (space-separated URIs; the rightmost names its session).
    /// Empty = not known yet (offerless INVITE: the answer comes in the ACK, RFC 3264 /
    /// IMPL-25); the session cannot bind until an update supplies it.
    pub peer_path: &'a str,
    /// The peer's `a=max-size`, if it gave one.
    pub peer_max_size: Option<u64>,
    /// The offer said `a=setup:passive` (RFC 6135 §4.2, IMPL-7): the switch opens the TCP
    /// connection to the leftmost URI of `peer_path` (an IP literal: names are never
    /// resolved, a name → `BadRequest`) and sends a bodiless SEND first (RFC 4975 §5.4).
    pub switch_connects: bool,
    /// Its offered stream direction (RFC 4975 §8.9, IMPL-6): `recvonly`/`inactive` may not
    /// send regular content, `sendonly`/`inactive` get no copies.
    pub direction: Direction,
    /// It asked for privacy and `uri` is its anonymous URI, which it may not know yet
    /// (RFC 7701 §5.2, §6.1): the switch tells it once its session binds.
    pub anonymous: bool,
    /// The address its INVITE came from: its MSRP connection is expected from there and
    /// counts against that source's `max_connections_per_source`.
    pub source: IpAddr,
}

/// What the switch gives back to an admitted participant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    /// Its handle, used for `leave`.
    pub id: ParticipantId,
    /// The switch's MSRP URI for this session: `msrp://HOST:PORT/SESSION-ID;tcp`.
    pub path: String,
    /// The room's policy, for the answer's `a=chatroom`.
    pub policy: RoomPolicy,
}

/// Why a join was refused, and the SIP status it maps to. A join is refused here, at the
/// INVITE, whenever its MSRP connection could not be accepted afterwards: a 200 is never
/// followed by a silent drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinError {
    /// No such room and ad-hoc creation is off → 404.
    UnknownRoom,
    /// Room at its participant limit → 486 Busy Here.
    RoomFull,
    /// The memory cap, the participant table, the room table, or the MSRP connections
    /// (open ones plus those joined participants still have to open) are full → 503.
    NoCapacity,
    /// The INVITE's source address already holds `max_connections_per_source` MSRP
    /// connections, counting those its joined participants still have to open → 503.
    SourceBusy,
    /// The INVITE's source address holds `max_seats_per_source` seats, or its share of the
    /// room (`Limits::room_seats_per_source`) → 503 (issue 15).
    SourceSeats,
    /// A field is unusable (URI too long, bad path) → 488.
    BadRequest,
}

impl JoinError {
    /// The SIP status code and reason phrase for this refusal.
    pub fn sip_status(self) -> (u16, &'static str) {
        match self {
            JoinError::UnknownRoom => (404, "Not Found"),
            JoinError::RoomFull => (486, "Busy Here"),
            JoinError::NoCapacity | JoinError::SourceBusy | JoinError::SourceSeats => {
                (503, "Service Unavailable")
            }
            JoinError::BadRequest => (488, "Not Acceptable Here"),
        }
    }

    /// The text of the refusal's Warning header (RFC 3261 §20.43, code 399): what a person
    /// reading the client's error needs to know.
    pub fn warning(self) -> &'static str {
        match self {
            JoinError::UnknownRoom => "No such room",
            JoinError::RoomFull => "The room is full",
            JoinError::NoCapacity => "The server is full; try again later",
            JoinError::SourceBusy => {
                "Too many connections from your address (max_connections_per_source)"
            }
            JoinError::SourceSeats => {
                "Too many participants from your address (max_seats_per_source)"
            }
            JoinError::BadRequest => "The join request is unusable (URI or MSRP path)",
        }
    }

    /// Whether a later retry can succeed without anything changing on the client's side
    /// (seats and connections free up): the 503/486 then carries Retry-After.
    pub fn transient(self) -> bool {
        matches!(
            self,
            JoinError::RoomFull
                | JoinError::NoCapacity
                | JoinError::SourceBusy
                | JoinError::SourceSeats
        )
    }
}

/// What the switch knows about a participant that the roster shows (RFC 4575 endpoint and
/// media status, RFC 7701 §7.4 nickname).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RosterEntry<'a> {
    /// Its nickname in the room, if it holds one.
    pub nickname: Option<&'a str>,
    /// Its MSRP session is bound to a connection (media connected).
    pub media_bound: bool,
}

/// What a re-INVITE changed about a participant (RFC 7701 §8: `a=chatroom` may change or
/// disappear in later offers; IMPL-3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionUpdate<'a> {
    /// Declared chat capabilities of the new offer.
    pub caps: ChatCaps,
    /// `a=accept-wrapped-types` of the new offer (empty if absent).
    pub accept_wrapped_types: &'a str,
    /// `a=max-size` of the new offer.
    pub peer_max_size: Option<u64>,
    /// Direction of the new offer (IMPL-6).
    pub direction: Direction,
    /// The peer's `a=path` when it becomes known (the answer in the ACK of an offerless
    /// INVITE, IMPL-25); `None` = unchanged.
    pub peer_path: Option<&'a str>,
}

/// What the focus may ask of the switch.
pub trait Conference {
    /// The policy of `room`, if it exists or would be created ad hoc by a join.
    fn room_policy(&self, room: &str) -> Option<RoomPolicy>;

    /// Admits a participant: reserves its ring under the memory cap and creates its MSRP
    /// session with a fresh ≥ 80-bit session-id (RFC 4975 §14.1).
    fn join(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        req: &JoinRequest<'_>,
    ) -> Result<Joined, JoinError>;

    /// Removes a participant (BYE, CANCEL, timeout) and frees all its state. Unknown ids are
    /// ignored.
    fn leave(&mut self, now: Instant, id: ParticipantId);

    /// A re-INVITE changed what the participant declared. Unknown ids are ignored.
    fn update(&mut self, now: Instant, id: ParticipantId, update: &SessionUpdate<'_>);

    /// The participant's roster data; `None` for unknown ids.
    fn roster_entry(&self, id: ParticipantId) -> Option<RosterEntry<'_>>;
}
