//! The MSRP switch (RFC 4975 §5.4, §7; RFC 7701 §6): binds connections to sessions, fans
//! Message/CPIM out to the room with first-chunk fast forwarding, answers every transaction
//! itself, and keeps every byte in fixed per-participant rings under one memory budget.
//!
//! STUB: the public API below is the contract the engine and shell rely on.
#![allow(unused_variables, dead_code)]

use ::core::net::SocketAddr;

use crate::conference::{Conference, JoinError, JoinRequest, Joined, ParticipantId, RoomPolicy};
use crate::limits::Limits;
use crate::rand::Entropy;
use crate::time::Instant;

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
}

/// What the switch asks the engine/shell to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchEvent {
    /// Output is pending for this connection: call `out`/`consumed` until empty.
    Wake(MsrpConnId),
    /// Close this connection once its pending output is written (protocol error, timeout).
    Close(MsrpConnId),
    /// The participant's session ended from the MSRP side (its connection closed, bind
    /// timeout); the switch has freed it, the focus should BYE its dialog.
    ParticipantLost(ParticipantId),
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
}

/// The switch state machine.
pub struct Switch {}

impl Switch {
    /// A switch with the configured rooms and nobody in them.
    pub fn new(config: SwitchConfig) -> Self {
        todo!()
    }

    /// A TCP connection was accepted; `None` = over a limit or the budget, the shell closes it.
    pub fn conn_opened(&mut self, now: Instant, peer: SocketAddr) -> Option<MsrpConnId> {
        todo!()
    }

    /// Bytes read from a connection, any split.
    pub fn conn_input(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        conn: MsrpConnId,
        bytes: &[u8],
    ) {
        todo!()
    }

    /// The connection is gone: every session bound to it ends (RFC 4975 §5.4).
    pub fn conn_closed(&mut self, now: Instant, conn: MsrpConnId) {
        todo!()
    }

    /// Pending output of `conn` as up to two slices (ring wrap). Empty = nothing pending.
    pub fn out(&self, conn: MsrpConnId) -> [&[u8]; 2] {
        todo!()
    }

    /// `n` bytes of what `out` returned were written.
    pub fn consumed(&mut self, conn: MsrpConnId, n: usize) {
        todo!()
    }

    /// Runs every timer due at `now` (chunk timer, bind timeouts).
    pub fn handle_timeout(&mut self, now: Instant, entropy: &mut dyn Entropy) {
        todo!()
    }

    /// The earliest instant `handle_timeout` has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }

    /// The next event for the engine.
    pub fn poll_event(&mut self) -> Option<SwitchEvent> {
        todo!()
    }

    /// Current counters.
    pub fn stats(&self) -> SwitchStats {
        todo!()
    }
}

impl Conference for Switch {
    fn room_policy(&self, room: &str) -> Option<RoomPolicy> {
        todo!()
    }

    fn join(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        req: &JoinRequest<'_>,
    ) -> Result<Joined, JoinError> {
        todo!()
    }

    fn leave(&mut self, now: Instant, id: ParticipantId) {
        todo!()
    }
}
