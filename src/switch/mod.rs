//! The MSRP switch (RFC 4975 §5.4, §7; RFC 7701 §6): binds connections to sessions, fans
//! Message/CPIM out to the room with first-chunk fast forwarding, answers every transaction
//! itself, and keeps every byte in fixed per-participant rings under one memory budget.
//!
//! Sans-IO: the shell feeds bytes (`conn_input`), drains output (`out`/`consumed`), and
//! runs timers (`poll_timeout`/`handle_timeout`). Sub-modules: `session` (participants,
//! join/leave, binding), `connection` (connections and output scheduling), `inbound`
//! (request handling), `recipients` (who gets a message: CPIM From/To, accept-wrapped-types,
//! max-size), `fanout` (copies, 2048-octet outbound chunks), `fast_forward` (Message-ID
//! table), `reports` (own REPORTs, recipients' error responses), `notices` (RFC 7701 §11),
//! `wrapped_types`, `nickname_table` (NICKNAME), `congestion` (slow recipients, §6.4),
//! `room`, `ring`, `budget`.

mod budget;
mod congestion;
mod connection;
mod dial;
mod fanout;
mod fast_forward;
mod flow;
mod inbound;
mod nickname_table;
mod notices;
mod recipients;
mod reports;
mod ring;
mod room;
mod session;
mod wrapped_types;

#[cfg(test)]
mod tests;

use ::core::net::SocketAddr;
use std::collections::VecDeque;

use slab::Slab;

use crate::conference::{
    Conference, JoinError, JoinRequest, Joined, ParticipantId, RoomPolicy, RosterEntry,
    SessionUpdate,
};
use crate::limits::{most_per_key, Limits};
use crate::rand::Entropy;
use crate::time::Instant;

use budget::Budget;
use connection::Conn;
pub use connection::ConnRefusal;
use fast_forward::MessageTable;
use nickname_table::NicknameTable;
use room::Rooms;
use session::Participant;

/// An MSRP TCP connection in the switch's slab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MsrpConnId(pub usize);

/// Static settings of the switch.
#[derive(Clone, Debug)]
pub struct SwitchConfig {
    /// The MSRP listen address: the authority of every `a=path` the switch hands out.
    pub msrp_local: SocketAddr,
    /// Domain of the room URIs: room `NAME` is `sip:NAME@DOMAIN` in CPIM To.
    pub domain: String,
    /// Provisioned rooms.
    pub rooms: Vec<(String, RoomPolicy)>,
    /// Policy for rooms created by a join to an unknown name; `None` = ad-hoc off.
    pub adhoc: Option<RoomPolicy>,
    /// Capacities and timers.
    pub limits: Limits,
    /// Nicknames nobody may take (RFC 7701 §7.1 reserved), besides each room's own name.
    pub reserved_nicknames: Vec<String>,
}

/// What the switch asks the engine/shell to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchEvent {
    /// Output is pending for this connection: call `out`/`consumed` until empty.
    Wake(MsrpConnId),
    /// Close this connection once its pending output is written (protocol error, timeout).
    Close(MsrpConnId),
    /// Input of this connection was paused (`conn_input` took fewer bytes than given) and
    /// may flow again: read it and hand the bytes in.
    Resume(MsrpConnId),
    /// The participant's session ended from the MSRP side (its connection closed, bind
    /// timeout); the switch has freed it, the focus should BYE its dialog.
    ParticipantLost(ParticipantId),
    /// Something the roster shows changed for this participant (nickname, media bound):
    /// the focus tells the room's subscribers (RFC 4575, RFC 7701 §7.4).
    RosterChanged(ParticipantId),
    /// Open a TCP connection to this address for this connection id (RFC 6135 §4.2: the
    /// switch is the active side), then call `conn_connected`, or `conn_closed` if it
    /// cannot be opened. Output may already be pending for it.
    Connect(MsrpConnId, SocketAddr),
}

/// Counters for tests, logs and footprint figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SwitchStats {
    /// Participants joined now.
    pub participants: usize,
    /// MSRP connections open now.
    pub connections: usize,
    /// Bytes reserved against `memory_cap` now.
    pub reserved_bytes: usize,
    /// Copies dropped because a recipient's ring was full.
    pub dropped_copies: u64,
    /// Copies written into recipients' rings.
    pub delivered_copies: u64,
    /// Joins refused for capacity.
    pub refused_joins: u64,
    /// Copies a recipient refused with an error response (R4975-10-a, IMPL-22).
    pub failed_copies: u64,
    /// Participants disconnected after `congested_timeout_ms` congested (RFC 7701 §6.4).
    pub congestion_disconnects: u64,
    /// Unproven MSRP connections evicted to admit a newcomer (issue 15).
    pub evicted_connections: u64,
    /// The most seats one source address holds now (never above `max_seats_per_source`,
    /// issue 15; the engine fuzz target checks it).
    pub most_seats_from_one_source: usize,
    /// The most accepted MSRP connections one source address holds now (never above
    /// `max_connections_per_source`; checked by the engine fuzz target).
    pub most_connections_from_one_source: usize,
    /// The most sessions bound over one accepted connection (never above
    /// `max_sessions_per_connection`; checked by the engine fuzz target).
    pub most_sessions_on_one_connection: usize,
    /// The most in-flight entries of the Message-ID table one sender holds (never above
    /// `max_partial_per_sender`, so no sender fills the table; checked by the engine fuzz
    /// target).
    pub most_partials_of_one_sender: usize,
}

/// Running totals behind [`SwitchStats`].
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    dropped: u64,
    delivered: u64,
    refused: u64,
    failed: u64,
    congestion_disconnects: u64,
    /// Unproven MSRP connections evicted for a newcomer (issue 15).
    evicted: u64,
}

/// The switch state machine.
pub struct Switch {
    local: SocketAddr,
    domain: String,
    adhoc: Option<RoomPolicy>,
    limits: Limits,
    budget: Budget,
    rooms: Rooms,
    parts: Slab<Participant>,
    /// Generation stamped into the next ParticipantId (stale ids never match a reused slot).
    next_gen: usize,
    conns: Slab<Conn>,
    messages: MessageTable,
    /// Reserved and quarantined nicknames (RFC 7701 §7.1, §4.1).
    nicknames: NicknameTable,
    events: VecDeque<SwitchEvent>,
    counters: Counters,
    /// The latest `now` handed in; work due "now" is scheduled at it.
    last_now: Instant,
    /// Owed `#` aborts may fit now (a ring drained): retry at the next `handle_timeout`.
    retry_owed: bool,
}

impl Switch {
    /// A switch with the configured rooms and nobody in them.
    pub fn new(config: SwitchConfig) -> Self {
        let limits = config.limits;
        let mut rooms = Rooms::new(limits.max_rooms, limits.max_room_participants);
        for (name, policy) in &config.rooms {
            if rooms.find(name).is_some() {
                log::warn!("room {name} configured twice; keeping the first");
            } else if rooms.create(name, *policy, false).is_none() {
                log::warn!("room {name} dropped: more rooms than max_rooms");
            }
        }
        let max_participants = limits.max_participants.min(session::MAX_INDEX);
        Switch {
            local: config.msrp_local,
            domain: config.domain,
            adhoc: config.adhoc,
            budget: Budget::new(limits.memory_cap),
            rooms,
            parts: Slab::with_capacity(max_participants),
            next_gen: 1,
            conns: Slab::with_capacity(limits.max_msrp_connections),
            messages: MessageTable::new(limits.max_message_ids, limits.max_room_participants),
            nicknames: NicknameTable::new(
                &config.reserved_nicknames,
                limits.max_participants,
                limits.max_room_participants,
            ),
            events: VecDeque::with_capacity(
                2 * limits.max_msrp_connections + limits.max_participants,
            ),
            counters: Counters::default(),
            last_now: Instant::ZERO,
            retry_owed: false,
            limits,
        }
    }

    /// A TCP connection was accepted; `Err` = over a limit or the budget, the shell closes
    /// it.
    pub fn conn_opened(
        &mut self,
        now: Instant,
        peer: SocketAddr,
    ) -> Result<MsrpConnId, ConnRefusal> {
        self.last_now = now;
        self.accept_conn(now, peer)
    }

    /// Bytes read from a connection, any split; returns how many were taken. Fewer than
    /// all = input is paused (issue 15 flow control: the connection's control ring has no
    /// room for the next request's answers, or its sender is over its send rate): keep
    /// the rest unread (in the socket) and hand it in again after `SwitchEvent::Resume`.
    /// While paused, no byte is taken.
    pub fn conn_input(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        conn: MsrpConnId,
        bytes: &[u8],
    ) -> usize {
        self.last_now = now;
        let taken = self.input(now, entropy, conn, bytes);
        self.track_congestion(now, entropy);
        self.stamp_stalls(now);
        taken
    }

    /// Input of `conn` is paused at a request's header block (it may have taken every
    /// byte handed in: a bodiless request ends with its header block). Hand it bytes
    /// again (none if there are none) after `SwitchEvent::Resume`.
    pub fn input_paused(&self, conn: MsrpConnId) -> bool {
        self.conns
            .get(conn.0)
            .is_some_and(|c| c.held_head && !c.closing)
    }

    /// A connection asked for with `SwitchEvent::Connect` is established: its binding
    /// SENDs and the sessions' copies may flow.
    pub fn conn_connected(&mut self, now: Instant, entropy: &mut dyn Entropy, conn: MsrpConnId) {
        self.last_now = now;
        self.dialed_up(entropy, conn);
        self.track_congestion(now, entropy);
        self.stamp_stalls(now);
    }

    /// The connection is gone: every session bound to it ends (RFC 4975 §5.4).
    pub fn conn_closed(&mut self, now: Instant, conn: MsrpConnId) {
        self.last_now = now;
        self.close_and_free_conn(conn);
    }

    /// Pending output of `conn` as up to two slices (ring wrap). Empty = nothing pending.
    pub fn out(&self, conn: MsrpConnId) -> [&[u8]; 2] {
        self.pending_output(conn)
    }

    /// Every byte queued for `conn` (all its sources; `out` shows the current one).
    pub fn backlog(&self, conn: MsrpConnId) -> usize {
        self.backlog_of(conn)
    }

    /// `n` bytes of what `out` returned were written at `now`.
    pub fn consumed(&mut self, now: Instant, conn: MsrpConnId, n: usize) {
        self.last_now = now;
        self.advance_output(now, conn, n);
        self.ease_congestion(conn);
        // (Writing queues nothing new: the stall clocks need no stamping here.)
        self.resume_if_room(conn);
    }

    /// Runs every timer due at `now` (chunk timer, bind timeouts, congestion, RFC 7701
    /// §6.4).
    pub fn handle_timeout(&mut self, now: Instant, entropy: &mut dyn Entropy) {
        self.last_now = now;
        self.run_timers(now, entropy);
        self.stamp_stalls(now);
    }

    /// The earliest instant `handle_timeout` has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let conns = self
            .conns
            .iter()
            .filter(|(_, c)| !c.closing)
            .flat_map(|(_, c)| [c.bind_deadline, c.header_deadline, c.carry_deadline])
            .flatten();
        let parts = self.parts.iter().filter_map(|(_, p)| p.bind_deadline);
        let owed = self.retry_owed.then_some(self.last_now);
        conns
            .chain(parts)
            .chain(self.messages.next_deadline())
            .chain(self.next_congestion_deadline())
            .chain(self.next_flow_deadline())
            .chain(owed)
            .min()
    }

    /// The next event for the engine.
    pub fn poll_event(&mut self) -> Option<SwitchEvent> {
        self.events.pop_front()
    }

    /// Current counters.
    pub fn stats(&self) -> SwitchStats {
        SwitchStats {
            participants: self.parts.iter().filter(|(_, p)| !p.departed).count(),
            connections: self.conns.len(),
            reserved_bytes: self.budget.reserved(),
            dropped_copies: self.counters.dropped,
            delivered_copies: self.counters.delivered,
            refused_joins: self.counters.refused,
            failed_copies: self.counters.failed,
            congestion_disconnects: self.counters.congestion_disconnects,
            evicted_connections: self.counters.evicted,
            most_seats_from_one_source: most_per_key(
                self.parts
                    .iter()
                    .filter(|(_, p)| !p.departed)
                    .map(|(_, p)| p.source),
            ),
            most_connections_from_one_source: most_per_key(
                self.conns
                    .iter()
                    .filter(|(_, c)| c.dialed.is_none() && !c.evicted)
                    .map(|(_, c)| c.peer),
            ),
            most_sessions_on_one_connection: self
                .conns
                .iter()
                .filter(|(_, c)| c.dialed.is_none())
                .map(|(_, c)| c.sessions.len())
                .max()
                .unwrap_or(0),
            most_partials_of_one_sender: most_per_key(self.messages.in_flight_senders()),
        }
    }

    /// The nickname a participant holds (RFC 7701 §7), for the focus's roster.
    pub fn nickname(&self, id: ParticipantId) -> Option<&str> {
        self.participant(id).and_then(|p| p.nickname.as_deref())
    }

    /// Fast-forward Message-ID table entries in use (in-flight messages and owed aborts).
    pub fn messages_in_flight(&self) -> usize {
        self.messages.in_use()
    }

    /// Bind timeouts (connection, participant), chunk timers, owed aborts, congestion.
    fn run_timers(&mut self, now: Instant, entropy: &mut dyn Entropy) {
        while let Some(ci) = self
            .conns
            .iter()
            .find(|(_, c)| !c.closing && c.bind_deadline.is_some_and(|d| d <= now))
            .map(|(i, _)| MsrpConnId(i))
        {
            self.close_conn(ci, "no session bound in time");
        }
        while let Some(ci) = self
            .conns
            .iter()
            .find(|(_, c)| !c.closing && c.header_deadline.is_some_and(|d| d <= now))
            .map(|(i, _)| MsrpConnId(i))
        {
            self.close_conn(
                ci,
                "header block not complete in time (msrp_header_timeout_ms)",
            );
        }
        while let Some(id) = self.expired_unbound(now) {
            log::debug!("participant {}: MSRP session not bound in time", id.0);
            self.remove_participant(id, true);
        }
        while let Some(ci) = self
            .conns
            .iter()
            .find(|(_, c)| !c.closing && c.carry_deadline.is_some_and(|d| d <= now))
            .map(|(i, _)| MsrpConnId(i))
        {
            // The rest of the chunk is late: what is held goes out as a chunk now.
            self.flush(entropy, ci, None, &[]);
        }
        while let Some(slot) = self.messages.first_expired(now) {
            self.abort_message(entropy, slot);
        }
        self.write_owed(entropy);
        self.track_congestion(now, entropy);
        self.disconnect_congested(now);
        self.run_flow_timers(now);
    }
}

impl Conference for Switch {
    fn room_policy(&self, room: &str) -> Option<RoomPolicy> {
        match self.rooms.find(room) {
            Some(id) => self.rooms.get(id).map(|r| r.policy),
            None if room::valid_room_name(room, self.limits.max_uri_bytes) => {
                self.adhoc.map(|p| self.rooms.bounded(p))
            }
            None => None,
        }
    }

    fn join(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        req: &JoinRequest<'_>,
    ) -> Result<Joined, JoinError> {
        self.last_now = now;
        let joined = self.admit(now, entropy, req);
        self.stamp_stalls(now);
        joined
    }

    fn leave(&mut self, now: Instant, id: ParticipantId) {
        self.last_now = now;
        self.remove_participant(id, false);
        self.stamp_stalls(now);
    }

    fn update(&mut self, now: Instant, id: ParticipantId, update: &SessionUpdate<'_>) {
        self.last_now = now;
        let max = self.limits.max_uri_bytes;
        if let Some(p) = self.participant_mut(id) {
            // RFC 7701 §8 / IMPL-3: a re-offer without a=chatroom disables the chat-room
            // procedures for it (no private messages to it → 428 to senders).
            p.caps = session::effective_caps(update.caps);
            p.accepts = wrapped_types::AcceptedTypes::parse(update.accept_wrapped_types, max);
            p.max_size = update.peer_max_size;
            // IMPL-6: a new direction applies from the next message on.
            p.direction = update.direction;
            // IMPL-25: the answer in the ACK of an offerless INVITE names the peer.
            match update.peer_path {
                Some(path) if session::peer_path_ok(path, max) => {
                    p.set_peer_path(path.trim());
                }
                Some(path) => log::debug!("participant {}: unusable path {path:?}", id.0),
                None => {}
            }
        }
    }

    fn roster_entry(&self, id: ParticipantId) -> Option<RosterEntry<'_>> {
        self.participant(id).map(|p| RosterEntry {
            nickname: p.nickname.as_deref(),
            media_bound: p.conn.is_some_and(|c| self.conn_is_up(c)),
        })
    }
}
