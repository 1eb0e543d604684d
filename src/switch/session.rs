//! Participants = MSRP sessions (RFC 4975 §5.4, §14.1; RFC 7701 §5.2): admission under
//! the room and memory limits, the session path handed to the focus, binding a session to
//! the connection whose first request names it, and full cleanup on leave or loss.

use ::core::net::IpAddr;

use crate::conference::{ChatCaps, Direction, JoinError, JoinRequest, Joined, ParticipantId};
use crate::rand::{fill_ident, Entropy};
use crate::time::{Duration, Instant};
use crate::wire::msrp::{last_uri, Decimal, MsrpError, MsrpUri};

use super::congestion::Congested;
use super::connection::Source;
use super::dial::{dial_addr, BIND_ID_LEN};
use super::fanout::copy_lead;
use super::fast_forward::{MsgSlot, Phase};
use super::flow::SendBucket;
use super::inbound::Action;
use super::ring::Ring;
use super::room::{valid_room_name, RoomId};
use super::wrapped_types::AcceptedTypes;
use super::{MsrpConnId, Switch, SwitchEvent};

/// Session-id length: 16 characters, at least 92 bits (`fill_ident`; RFC 4975 §14.1 asks
/// for ≥ 80).
pub(super) const SESSION_ID_LEN: usize = 16;
/// Low bits of a ParticipantId hold the slab index, the rest a generation.
const INDEX_BITS: u32 = usize::BITS / 2;
/// The largest slab index a ParticipantId can carry.
pub(super) const MAX_INDEX: usize = (1 << INDEX_BITS) - 1;

/// One participant's MSRP session.
#[derive(Debug)]
pub(super) struct Participant {
    pub(super) id: ParticipantId,
    /// `id` in decimal: the per-recipient end of every outbound Message-ID.
    pub(super) id_digits: Decimal,
    pub(super) room: RoomId,
    /// The URI it is known by in the room; CPIM From must equal it.
    pub(super) uri: String,
    /// Where its INVITE came from: until its session binds, the MSRP connection it still
    /// has to open counts against this source (`max_connections_per_source`).
    pub(super) source: IpAddr,
    /// The switch's URI for this session (`msrp://IP:PORT/SID;tcp`).
    pub(super) path: String,
    pub(super) session_id: [u8; SESSION_ID_LEN],
    /// The peer's `a=path` (its rightmost URI names the peer's session); set through
    /// [`Participant::set_peer_path`], which keeps `copy_lead` in step.
    pub(super) peer_path: String,
    /// Every copy's method line, To-Path, From-Path and `Message-ID: `, formatted once
    /// (`fanout::copy_lead`).
    pub(super) copy_lead: String,
    pub(super) caps: ChatCaps,
    /// Its `a=accept-wrapped-types` (RFC 7701 §6.1; IMPL-1 default when absent).
    pub(super) accepts: AcceptedTypes,
    /// Its `a=max-size`: no copy of a larger message is sent to it (RFC 4975 §8.6).
    pub(super) max_size: Option<u64>,
    /// Display name from its SIP From, for the RFC 7701 §11 participant list.
    pub(super) display_name: String,
    /// Its offered direction (RFC 4975 §8.9, IMPL-6): whether it may send regular content
    /// and whether it gets copies.
    pub(super) direction: Direction,
    /// The focus minted its anonymous URI: it is told the URI once its session binds.
    pub(super) anonymous: bool,
    /// Not chat-room aware and just bound: the RFC 7701 §11 notices are due.
    pub(super) notice_due: bool,
    /// Anonymous and just bound: the notice announcing its anonymous URI is due.
    pub(super) anonymity_notice_due: bool,
    pub(super) conn: Option<MsrpConnId>,
    /// Outbound copies for this session: reserved in full at join, allocated as it fills.
    pub(super) ring: Ring,
    /// Join-to-bind timer; `None` once bound (or pre-bound to a connection the switch opens).
    pub(super) bind_deadline: Option<Instant>,
    /// Transaction id of the switch's binding SEND awaiting its response (the switch
    /// opened the connection, RFC 6135 §4.2).
    pub(super) bind_tid: Option<[u8; BIND_ID_LEN]>,
    /// Its in-flight messages as a sender (at most `max_partial_per_sender`).
    pub(super) partials: Vec<MsgSlot>,
    pub(super) nickname: Option<String>,
    /// Some message entry owes this participant a `#` abort.
    pub(super) owes_aborts: bool,
    /// Copies are being dropped for it (logged once per burst).
    pub(super) dropping: bool,
    /// Its current congestion episode (RFC 7701 §6.4), if its ring is (nearly) full.
    pub(super) congestion: Option<Congested>,
    /// A congestion episode began: its one notice is due.
    pub(super) congestion_notice_due: bool,
    /// When its last congestion notice was due: the next comes `congested_timeout_ms` later
    /// at the earliest.
    pub(super) last_congestion_notice: Option<Instant>,
    /// Left, but its connection is mid-way through its ring: freed once drained.
    /// Its send-rate token buckets (issue 15: `send_rate_*`, `send_burst_*`).
    pub(super) bucket: SendBucket,
    pub(super) departed: bool,
}

impl Participant {
    /// A new `a=path` from the peer (IMPL-25); the copies' lead follows it.
    pub(super) fn set_peer_path(&mut self, peer_path: &str) {
        self.peer_path = peer_path.to_string();
        self.copy_lead = copy_lead(&self.peer_path, &self.path);
    }
}

/// IMPL-3: without `a=chatroom` a participant has no chat-room capabilities at all.
pub(super) fn effective_caps(caps: ChatCaps) -> ChatCaps {
    if caps.chatroom_aware {
        caps
    } else {
        ChatCaps::default()
    }
}

/// `s` trimmed and cut to at most `max` bytes on a character boundary.
fn bounded(s: &str, max: usize) -> String {
    let s = s.trim();
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("").to_string()
}

/// A peer `a=path` the switch can check From-Path against: bounded, its rightmost URI
/// an MSRP URI.
pub(super) fn peer_path_ok(path: &str, max_uri: usize) -> bool {
    path.len() <= max_uri && last_uri(path).is_some_and(|u| MsrpUri::parse(u).is_ok())
}

/// IMPL-8: From-Path's last URI names the peer's session from its SDP (RFC 4975 §6.1
/// comparison; identical text is equal without parsing, the peer's path parsed at join).
fn from_path_ok(from_path: &str, peer_path: &str) -> bool {
    match (last_uri(from_path), last_uri(peer_path)) {
        (Some(a), Some(b)) => a == b || crate::wire::msrp::uri_text_eq(a, b),
        _ => false,
    }
}

/// The slab index of an id.
pub(super) fn index_of(id: ParticipantId) -> usize {
    id.0 & MAX_INDEX
}

impl Switch {
    /// A live (not departed) participant.
    pub(super) fn participant(&self, id: ParticipantId) -> Option<&Participant> {
        self.parts
            .get(index_of(id))
            .filter(|p| p.id == id && !p.departed)
    }

    pub(super) fn participant_mut(&mut self, id: ParticipantId) -> Option<&mut Participant> {
        self.parts
            .get_mut(index_of(id))
            .filter(|p| p.id == id && !p.departed)
    }

    /// `Conference::join`.
    pub(super) fn admit(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        req: &JoinRequest<'_>,
    ) -> Result<Joined, JoinError> {
        let max_uri = self.limits.max_uri_bytes;
        let peer_ok = req.peer_path.trim().is_empty() || peer_path_ok(req.peer_path, max_uri);
        if req.uri.trim().is_empty()
            || req.uri.len() > max_uri
            || !peer_ok
            || !valid_room_name(req.room, max_uri)
        {
            return Err(JoinError::BadRequest);
        }
        // RFC 6135 §4.2: the switch connects to the leftmost path URI; a host name is
        // refused (488), never resolved.
        let dial = match req.switch_connects {
            true => Some(dial_addr(req.peer_path).ok_or(JoinError::BadRequest)?),
            false => None,
        };
        let existing = self.rooms.find(req.room);
        let policy = match existing {
            Some(id) => self.rooms.get(id).map(|r| r.policy),
            None => self.adhoc.map(|p| self.rooms.bounded(p)),
        }
        .ok_or(JoinError::UnknownRoom)?;
        let members = existing
            .and_then(|id| self.rooms.get(id))
            .map_or(0, |r| r.members.len());
        if members >= policy.max_participants {
            self.counters.refused += 1;
            return Err(JoinError::RoomFull);
        }
        // Issue 15: one source's share of the seats, over all rooms and in this room.
        let seated = |p: &Participant| !p.departed && p.source == req.source;
        let from_source = self.parts.iter().filter(|(_, p)| seated(p)).count();
        let in_room = existing.map_or(0, |room| {
            self.parts
                .iter()
                .filter(|(_, p)| seated(p) && p.room == room)
                .count()
        });
        if from_source >= self.limits.max_seats_per_source
            || in_room >= self.limits.room_seats_per_source(policy.max_participants)
        {
            log::debug!(
                "join from {} refused: max_seats_per_source ({from_source} seats, {in_room} in the room)",
                req.source
            );
            self.counters.refused += 1;
            return Err(JoinError::SourceSeats);
        }
        if dial.is_none() {
            // Its MSRP connection must be accepted later: refuse now what would be refused
            // then, counting the connections joined participants have yet to open.
            self.connection_headroom(now, req.source).inspect_err(|_| {
                self.counters.refused += 1;
            })?;
        }
        let bytes = self.limits.participant_bytes();
        if self.parts.len() >= self.limits.max_participants.min(MAX_INDEX)
            || !self.budget.try_reserve(bytes)
        {
            self.counters.refused += 1;
            return Err(JoinError::NoCapacity);
        }
        let room = match existing {
            Some(id) => id,
            None => match self.rooms.create(req.room, policy, true) {
                Some(id) => id,
                None => {
                    self.budget.release(bytes);
                    self.counters.refused += 1;
                    return Err(JoinError::NoCapacity);
                }
            },
        };
        let session_id = self.fresh_session_id(entropy);
        let sid = core::str::from_utf8(&session_id).unwrap_or("");
        let path = format!("msrp://{}/{};tcp", self.local, sid);
        let gen = self.next_gen & (usize::MAX >> INDEX_BITS);
        self.next_gen = self.next_gen.wrapping_add(1);
        let rates = self.rates();
        let entry = self.parts.vacant_entry();
        let id = ParticipantId((gen << INDEX_BITS) | entry.key());
        entry.insert(Participant {
            id,
            id_digits: Decimal::new(id.0 as u64),
            room,
            uri: req.uri.trim().to_string(),
            source: req.source,
            path: path.clone(),
            session_id,
            peer_path: req.peer_path.trim().to_string(),
            copy_lead: copy_lead(req.peer_path.trim(), &path),
            caps: effective_caps(req.caps),
            accepts: AcceptedTypes::parse(req.accept_wrapped_types, max_uri),
            max_size: req.peer_max_size,
            display_name: bounded(req.display_name, max_uri),
            direction: req.direction,
            anonymous: req.anonymous,
            notice_due: false,
            anonymity_notice_due: false,
            conn: None,
            ring: Ring::new(self.limits.ring_bytes),
            bind_deadline: Some(now + Duration::from_millis(self.limits.join_bind_timeout_ms)),
            bind_tid: None,
            partials: Vec::with_capacity(self.limits.max_partial_per_sender),
            nickname: None,
            owes_aborts: false,
            dropping: false,
            congestion: None,
            congestion_notice_due: false,
            last_congestion_notice: None,
            bucket: SendBucket::full(now, &rates),
            departed: false,
        });
        if let Some(r) = self.rooms.get_mut(room) {
            r.members.push(id);
        }
        if let Some(addr) = dial {
            if !self.link_dialed(now, entropy, id, addr) {
                log::debug!(
                    "participant {}: no MSRP connection to {addr} possible",
                    id.0
                );
                self.remove_participant(id, false);
                self.counters.refused += 1;
                return Err(JoinError::NoCapacity);
            }
        }
        Ok(Joined { id, path, policy })
    }

    /// Whether one more participant joining from `source` will get its MSRP connection
    /// accepted: per source (`max_connections_per_source`), in the connection table
    /// (`max_msrp_connections`) and in the memory budget (its ring plus a connection each
    /// for it and every joined participant still without one). Issue 15: unproven
    /// connections old enough to be evicted at accept do not count.
    fn connection_headroom(&self, now: Instant, source: IpAddr) -> Result<(), JoinError> {
        let l = &self.limits;
        let waiting = self
            .parts
            .iter()
            .filter(|(_, p)| p.conn.is_none() && !p.departed)
            .map(|(_, p)| p.source);
        let (all, from_source) = waiting.fold((0, 0), |(all, from), ip| {
            (all + 1, from + usize::from(ip == source))
        });
        let (evictable, evictable_here) = self.evictable_conns(now, source);
        let held_here = self.accepted_from(source).saturating_sub(evictable_here);
        if held_here + from_source + 1 > l.max_connections_per_source {
            return Err(JoinError::SourceBusy);
        }
        if self.live_conns().saturating_sub(evictable) + all + 1 > l.max_msrp_connections {
            return Err(JoinError::NoCapacity);
        }
        let need = l.participant_bytes() + (all + 1) * l.msrp_connection_bytes();
        let reclaimable = evictable * l.msrp_connection_bytes();
        if (self.budget.reserved().saturating_sub(reclaimable)).saturating_add(need) > l.memory_cap
        {
            return Err(JoinError::NoCapacity);
        }
        Ok(())
    }

    /// A session-id no live participant uses (collisions are astronomically rare; a few
    /// retries bound the loop).
    fn fresh_session_id(&self, entropy: &mut dyn Entropy) -> [u8; SESSION_ID_LEN] {
        let mut sid = [0u8; SESSION_ID_LEN];
        for _ in 0..4 {
            fill_ident(entropy, &mut sid);
            if !self.parts.iter().any(|(_, p)| p.session_id == sid) {
                break;
            }
        }
        sid
    }

    /// RFC 4975 §5.4 / §7.3: the participant a request on `ci` addresses, binding the
    /// session to `ci` if it is not bound yet.
    pub(super) fn resolve_session(
        &mut self,
        ci: MsrpConnId,
        to_path: &str,
        from_path: &str,
    ) -> Result<ParticipantId, MsrpError> {
        if let Some(known) = self.bound_session_named(ci, to_path, from_path) {
            return known;
        }
        let mut uris = to_path.split_ascii_whitespace();
        let (Some(to), None) = (uris.next(), uris.next()) else {
            return Err(MsrpError::SessionUnknown);
        };
        let to = MsrpUri::parse(to).map_err(|_| MsrpError::SessionUnknown)?;
        let local = to.scheme.eq_ignore_ascii_case("msrp")
            && to.transport.eq_ignore_ascii_case("tcp")
            && to.port == Some(self.local.port())
            && to.ip() == Some(self.local.ip());
        let found = self
            .parts
            .iter()
            .find(|(_, p)| !p.departed && p.session_id.as_slice() == to.session_id.as_bytes());
        let (Some((_, p)), true) = (found, local) else {
            return Err(MsrpError::SessionUnknown);
        };
        let conn_has_sessions = self.conns.get(ci.0).is_some_and(|c| !c.sessions.is_empty());
        match p.conn {
            Some(c) if c == ci => {}
            Some(_) if conn_has_sessions => return Err(MsrpError::SessionUnknown),
            Some(_) => return Err(MsrpError::SessionInUse),
            None => {}
        }
        if !from_path_ok(from_path, &p.peer_path) {
            return Err(MsrpError::Forbidden);
        }
        let id = p.id;
        if p.conn.is_none() {
            let bound_here = self.conns.get(ci.0).map_or(0, |c| c.sessions.len());
            if bound_here >= self.limits.max_sessions_per_connection {
                log::debug!(
                    "msrp connection {}: binding refused, max_sessions_per_connection",
                    ci.0
                );
                return Err(MsrpError::Forbidden);
            }
            self.bind(ci, id);
        }
        Ok(id)
    }

    /// The usual request: To-Path is exactly the own path of a session already bound to
    /// `ci` (what `resolve_session` would find after parsing and a search over every
    /// participant). `None` = not that case, take the general path.
    fn bound_session_named(
        &self,
        ci: MsrpConnId,
        to_path: &str,
        from_path: &str,
    ) -> Option<Result<ParticipantId, MsrpError>> {
        let to_path = to_path.trim();
        let c = self.conns.get(ci.0)?;
        let p = c.sessions.iter().find_map(|&id| {
            self.parts
                .get(index_of(id))
                .filter(|p| p.id == id && !p.departed && p.path == to_path)
        })?;
        Some(match from_path_ok(from_path, &p.peer_path) {
            true => Ok(p.id),
            false => Err(MsrpError::Forbidden),
        })
    }

    fn bind(&mut self, ci: MsrpConnId, id: ParticipantId) {
        let Some(conn) = self.conns.get_mut(ci.0) else {
            return;
        };
        let Some(p) = self.parts.get_mut(index_of(id)) else {
            return;
        };
        p.conn = Some(ci);
        p.bind_deadline = None;
        // IMPL-6: one that offered sendonly/inactive gets no SENDs, notices included.
        p.notice_due = !p.caps.chatroom_aware && p.direction.receives();
        p.anonymity_notice_due = p.anonymous && p.direction.receives();
        conn.sessions.push(id);
        conn.bind_deadline = None;
        let pending = !p.ring.is_empty();
        self.events.push_back(SwitchEvent::RosterChanged(id));
        if pending {
            self.notify_output(ci, Source::Session(id));
        }
    }

    /// Removes a participant and everything it holds. `lost` = the MSRP side ended it (the
    /// focus is told with `ParticipantLost`); otherwise the focus asked (`leave`). Unknown
    /// or stale ids are ignored.
    pub(super) fn remove_participant(&mut self, id: ParticipantId, lost: bool) {
        let Some(p) = self.participant_mut(id) else {
            return;
        };
        let partials = core::mem::take(&mut p.partials);
        let (room, conn) = (p.room, p.conn);
        // Its in-flight messages: nothing forwarded yet → free; else abort at the next
        // timer run (the `#` chunks need entropy for their transaction ids).
        for slot in partials {
            self.detach_slot(slot);
            match self.messages.get_mut(slot) {
                Some(e) if e.phase == Phase::AwaitingCpim => self.messages.release(slot),
                Some(e) => e.deadline = Some(Instant::ZERO),
                None => {}
            }
        }
        self.messages.forget_recipient(id);
        self.quarantine_nickname(id);
        self.rooms.remove_member(room, id);
        let mut drain = false;
        if let Some(ci) = conn {
            if let Some(c) = self.conns.get_mut(ci.0) {
                c.sessions.retain(|s| *s != id);
                if c.tx.pid == Some(id) {
                    c.tx.action = Action::Ignore;
                }
                let ring_busy = self
                    .parts
                    .get(index_of(id))
                    .is_some_and(|p| !p.ring.is_empty());
                if c.current == Some(Source::Session(id)) {
                    if c.progress && ring_busy {
                        drain = true;
                    } else {
                        c.current = None;
                    }
                }
                let idle = c.sessions.is_empty();
                if !drain {
                    self.pick_source(ci);
                }
                if idle && !lost {
                    self.close_conn(ci, "last session left");
                }
            }
        }
        if drain {
            if let Some(p) = self.parts.get_mut(index_of(id)) {
                p.departed = true;
                p.owes_aborts = false;
            }
        } else {
            self.free_participant(id);
        }
        if lost {
            self.events.push_back(SwitchEvent::ParticipantLost(id));
        }
    }

    /// Returns a removed or drained participant's slot and budget.
    pub(super) fn free_participant(&mut self, id: ParticipantId) {
        let idx = index_of(id);
        if self.parts.get(idx).is_some_and(|p| p.id == id) {
            self.parts.remove(idx);
            self.budget.release(self.limits.participant_bytes());
        }
    }

    /// Participants whose join-to-bind timer expired are lost (first one found).
    pub(super) fn expired_unbound(&self, now: Instant) -> Option<ParticipantId> {
        self.parts
            .iter()
            .find(|(_, p)| !p.departed && p.bind_deadline.is_some_and(|d| d <= now))
            .map(|(_, p)| p.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{Limits, PARTICIPANT_OVERHEAD};

    /// `Limits::participant_bytes` must cover what a participant really holds beyond its
    /// ring and its five bounded strings: the struct in its slab slot and its partial list.
    #[test]
    fn participant_fits_its_budgeted_overhead() {
        let limits = Limits::default();
        let fixed = core::mem::size_of::<Participant>()
            + limits.max_partial_per_sender * core::mem::size_of::<MsgSlot>()
            + core::mem::size_of::<ParticipantId>();
        assert!(
            fixed <= PARTICIPANT_OVERHEAD,
            "participant bookkeeping {fixed} B exceeds PARTICIPANT_OVERHEAD"
        );
    }
}
