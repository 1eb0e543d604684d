//! MSRP connections (RFC 4975 §5.4, §7.1.1 fairness): admission under the connection limit
//! and the memory budget, the per-connection framer, CPIM hold buffer and control ring, and
//! output scheduling — one source at a time (control ring first, then the bound sessions'
//! rings round-robin). A source's turn covers what it held when its turn's first write
//! happened (always whole messages), so a session ring that keeps refilling cannot starve
//! the responses in the control ring.

use core::net::{IpAddr, SocketAddr};

use crate::conference::ParticipantId;
use crate::time::{Duration, Instant};
use crate::wire::msrp::Framer;

use super::dial::Dialed;
use super::fast_forward::MsgSlot;
use super::flow::Pause;
use super::inbound::{Inbound, Pending};
use super::ring::{Ring, RingSink};
use super::session::index_of;
use super::{MsrpConnId, Switch, SwitchEvent};

/// Where a connection's output comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// Responses and REPORTs.
    Control,
    /// A bound session's ring of forwarded copies.
    Session(ParticipantId),
}

/// One MSRP connection.
#[derive(Debug)]
pub(super) struct Conn {
    /// The peer's address (for a dialed connection: the address dialed).
    pub(super) peer: IpAddr,
    pub(super) framer: Framer,
    pub(super) control: Ring,
    /// CPIM header block held until complete (`max_cpim_header_bytes`, allocated now).
    pub(super) cpim: Vec<u8>,
    /// The message whose CPIM header block `cpim` holds.
    pub(super) cpim_owner: Option<MsgSlot>,
    /// Sessions bound to this connection.
    pub(super) sessions: Vec<ParticipantId>,
    /// The source `out` reads; `None` = nothing pending.
    pub(super) current: Option<Source>,
    /// Bytes of `current` were consumed since it became current.
    pub(super) progress: bool,
    /// Bytes left in `current`'s turn: fixed at the turn's first write to what the source
    /// held then; `None` before that write (the whole source).
    pub(super) turn_left: Option<usize>,
    /// Round-robin cursor into `sessions`.
    pub(super) rr: usize,
    /// Open-to-first-bind timer.
    pub(super) bind_deadline: Option<Instant>,
    /// A started start line + header block must be complete by then
    /// (`msrp_header_timeout_ms`; `None` between header blocks).
    pub(super) header_deadline: Option<Instant>,
    /// `Close` was asked for: input is ignored.
    pub(super) closing: bool,
    /// A `Wake` is outstanding (cleared when the output drains).
    pub(super) wake_sent: bool,
    /// The request being received.
    pub(super) tx: Inbound,
    /// The outbound chunk being assembled during one `conn_input` call, or held across
    /// reads (`carry_tail`).
    pub(super) pending: Pending,
    /// Held body bytes (`carry_tail`) are sent by then even if their chunk is incomplete.
    pub(super) carry_deadline: Option<Instant>,
    /// `Some` when the switch opens this connection itself (RFC 6135 §4.2 active role).
    pub(super) dialed: Option<Dialed>,
    /// When it was accepted: an unproven connection is evicted only once older than
    /// `unproven_grace_ms`, so a newcomer has time to bind first.
    pub(super) opened: Instant,
    /// Evicted for a newcomer (issue 15): closing, its slot and budget already given back.
    pub(super) evicted: bool,
    /// Input is stopped at a request whose header block the framer holds (`held_head`)
    /// until this lifts (issue 15 flow control: the shell stops reading meanwhile).
    pub(super) pause: Option<Pause>,
    /// The framer holds a complete header block not handled yet (input paused at it).
    pub(super) held_head: bool,
    /// Output has been pending since then without a byte of it written
    /// (`write_stall_timeout_ms`); `None` = nothing pending, or pending since the current
    /// call (`Switch::stamp_stalls` sets it before the call returns).
    pub(super) stalled_since: Option<Instant>,
}

/// Why an MSRP connection was refused (the shell closes it and logs this).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnRefusal {
    /// Its source address holds `max_connections_per_source` accepted connections.
    PerSource,
    /// `max_msrp_connections` are open.
    Connections,
    /// Its bytes do not fit under `memory_cap`.
    Memory,
}

impl ConnRefusal {
    /// The limit that refused it, as the operator configures it.
    pub fn limit(self) -> &'static str {
        match self {
            ConnRefusal::PerSource => "max_connections_per_source",
            ConnRefusal::Connections => "max_msrp_connections",
            ConnRefusal::Memory => "memory_cap",
        }
    }
}

impl Conn {
    /// Issue 15: accepted, not closing, and no session bound yet: it has proven nothing
    /// and is the first to go when a newcomer needs its slot, once older than `grace`.
    fn evictable(&self, now: Instant, grace: Duration) -> bool {
        !self.closing
            && self.dialed.is_none()
            && self.sessions.is_empty()
            && self.opened + grace <= now
    }
}

impl Switch {
    /// MSRP connections accepted from `source` and open now (dialed and evicted ones are
    /// not counted).
    pub(super) fn accepted_from(&self, source: IpAddr) -> usize {
        self.conns
            .iter()
            .filter(|(_, c)| c.dialed.is_none() && !c.evicted && c.peer == source)
            .count()
    }

    /// Connections holding a slot of `max_msrp_connections` (evicted ones gave theirs).
    pub(super) fn live_conns(&self) -> usize {
        self.conns.iter().filter(|(_, c)| !c.evicted).count()
    }

    /// Unproven connections a newcomer may evict now: `(all, from source)`.
    pub(super) fn evictable_conns(&self, now: Instant, source: IpAddr) -> (usize, usize) {
        let grace = self.limits.unproven_grace();
        self.conns
            .iter()
            .filter(|(_, c)| c.evictable(now, grace))
            .fold((0, 0), |(all, from), (_, c)| {
                (all + 1, from + usize::from(c.peer == source))
            })
    }

    /// A connection accepted from `peer`, under the per-source limit, the connection table
    /// and the budget. Issue 15: when one of them would refuse it, the oldest unproven
    /// connection (from the same source for the per-source limit) is evicted instead, if
    /// it is older than `unproven_grace_ms`.
    pub(super) fn accept_conn(
        &mut self,
        now: Instant,
        peer: SocketAddr,
    ) -> Result<MsrpConnId, ConnRefusal> {
        // Each eviction frees one slot of each kind, so two rounds settle any refusal.
        let mut result = self.try_accept(now, peer);
        for _ in 0..2 {
            let Err(refusal) = result else {
                break;
            };
            let only_from = (refusal == ConnRefusal::PerSource).then_some(peer.ip());
            if !self.evict_unproven(now, only_from, refusal) {
                break;
            }
            result = self.try_accept(now, peer);
        }
        result
    }

    fn try_accept(&mut self, now: Instant, peer: SocketAddr) -> Result<MsrpConnId, ConnRefusal> {
        if self.accepted_from(peer.ip()) >= self.limits.max_connections_per_source {
            return Err(ConnRefusal::PerSource);
        }
        self.open_conn(now, peer)
    }

    /// Closes the oldest evictable connection (from `only_from` if given) and gives back
    /// its slot and budget at once; the shell closes its socket (`SwitchEvent::Close`).
    /// The first eviction is logged at warn, later ones at debug.
    fn evict_unproven(
        &mut self,
        now: Instant,
        only_from: Option<IpAddr>,
        refusal: ConnRefusal,
    ) -> bool {
        let grace = self.limits.unproven_grace();
        let victim = self
            .conns
            .iter()
            .filter(|(_, c)| c.evictable(now, grace) && only_from.is_none_or(|ip| c.peer == ip))
            .min_by_key(|(_, c)| c.opened)
            .map(|(i, c)| (MsrpConnId(i), c.peer));
        let Some((ci, peer)) = victim else {
            return false;
        };
        self.counters.evicted += 1;
        let limit = refusal.limit();
        if self.counters.evicted == 1 {
            log::warn!(
                "msrp connection {} from {peer} evicted: unproven, and a newcomer met {limit} \
                 (further evictions logged at debug)",
                ci.0
            );
        } else {
            log::debug!("msrp connection {} from {peer} evicted: {limit}", ci.0);
        }
        self.close_conn(ci, "evicted for a newcomer");
        if let Some(c) = self.conns.get_mut(ci.0) {
            c.evicted = true;
            c.cpim = Vec::new();
        }
        self.budget.release(self.limits.msrp_connection_bytes());
        true
    }

    pub(super) fn open_conn(
        &mut self,
        now: Instant,
        peer: SocketAddr,
    ) -> Result<MsrpConnId, ConnRefusal> {
        let l = &self.limits;
        if self.live_conns() >= l.max_msrp_connections {
            return Err(ConnRefusal::Connections);
        }
        if !self.budget.try_reserve(l.msrp_connection_bytes()) {
            return Err(ConnRefusal::Memory);
        }
        let conn = Conn {
            peer: peer.ip(),
            framer: Framer::new(l.max_msrp_header_bytes, l.max_headers),
            control: Ring::new(l.conn_ring_bytes),
            cpim: Vec::with_capacity(l.max_cpim_header_bytes),
            cpim_owner: None,
            sessions: Vec::new(),
            current: None,
            progress: false,
            turn_left: None,
            rr: 0,
            bind_deadline: Some(now + Duration::from_millis(l.msrp_bind_timeout_ms)),
            header_deadline: None,
            closing: false,
            wake_sent: false,
            tx: Inbound::default(),
            pending: Pending::default(),
            carry_deadline: None,
            dialed: None,
            opened: now,
            evicted: false,
            pause: None,
            held_head: false,
            stalled_since: None,
        };
        Ok(MsrpConnId(self.conns.insert(conn)))
    }

    /// After input on `ci`: starts the header timer when a header block has begun and is not
    /// yet complete, keeps it while the block stays incomplete (trickled bytes never extend
    /// it), clears it once the block is complete.
    pub(super) fn track_header_deadline(&mut self, now: Instant, ci: MsrpConnId) {
        let timeout = Duration::from_millis(self.limits.msrp_header_timeout_ms);
        let Some(c) = self.conns.get_mut(ci.0) else {
            return;
        };
        let in_head = !c.framer.is_idle() && c.framer.head().is_none();
        c.header_deadline = match (in_head, c.header_deadline) {
            (false, _) => None,
            (true, Some(d)) => Some(d),
            (true, None) => Some(now + timeout),
        };
    }

    /// Asks the shell to close `ci` after its pending output (once).
    pub(super) fn close_conn(&mut self, ci: MsrpConnId, why: &str) {
        if let Some(c) = self.conns.get_mut(ci.0) {
            if !c.closing {
                log::debug!("closing msrp connection {}: {why}", ci.0);
                c.closing = true;
                c.bind_deadline = None;
                c.header_deadline = None;
                self.events.push_back(SwitchEvent::Close(ci));
            }
        }
    }

    /// `conn_closed`: every session on it is lost; the connection's memory is returned.
    pub(super) fn close_and_free_conn(&mut self, ci: MsrpConnId) {
        let Some(conn) = self.conns.get(ci.0) else {
            return;
        };
        let bound = conn.sessions.clone();
        for id in bound {
            self.remove_participant(id, true);
        }
        let drained: Vec<ParticipantId> = self
            .parts
            .iter()
            .filter(|(_, p)| p.departed && p.conn == Some(ci))
            .map(|(_, p)| p.id)
            .collect();
        for id in drained {
            self.free_participant(id);
        }
        if let Some(owner) = self.conns.get(ci.0).and_then(|c| c.cpim_owner) {
            self.messages.release(owner);
        }
        let conn = self.conns.remove(ci.0);
        if !conn.evicted {
            self.budget.release(self.limits.msrp_connection_bytes());
        }
        // A reused id must not inherit stale events.
        self.events.retain(|e| {
            !matches!(e, SwitchEvent::Wake(c) | SwitchEvent::Close(c) | SwitchEvent::Resume(c)
                    if *c == ci)
        });
    }

    /// New output was queued in `source` of `ci`: make it current if idle, wake once.
    pub(super) fn notify_output(&mut self, ci: MsrpConnId, source: Source) {
        notify(&mut self.conns, &mut self.events, ci, source);
    }

    fn source_bytes(&self, source: Source) -> [&[u8]; 2] {
        match source {
            Source::Control => [&[], &[]],
            Source::Session(id) => self
                .parts
                .get(index_of(id))
                .filter(|p| p.id == id)
                .map_or([&[][..], &[][..]], |p| p.ring.readable()),
        }
    }

    pub(super) fn pending_output(&self, ci: MsrpConnId) -> [&[u8]; 2] {
        let Some(c) = self.conns.get(ci.0) else {
            return [&[], &[]];
        };
        let whole = match c.current {
            None => return [&[], &[]],
            Some(Source::Control) => c.control.readable(),
            Some(s) => self.source_bytes(s),
        };
        match c.turn_left {
            Some(left) => first_bytes(whole, left),
            None => whole,
        }
    }

    /// Every byte queued for `ci`: its control ring plus its sessions' rings.
    pub(super) fn backlog_of(&self, ci: MsrpConnId) -> usize {
        let Some(c) = self.conns.get(ci.0) else {
            return 0;
        };
        let sessions = c.sessions.iter().map(|&id| {
            let [a, b] = self.source_bytes(Source::Session(id));
            a.len() + b.len()
        });
        let [a, b] = c.control.readable();
        a.len() + b.len() + sessions.sum::<usize>()
    }

    fn source_empty(&self, ci: MsrpConnId, source: Source) -> bool {
        match source {
            Source::Control => self.conns.get(ci.0).is_none_or(|c| c.control.is_empty()),
            Source::Session(_) => self.source_bytes(source)[0].is_empty(),
        }
    }

    /// If nothing is current, picks the next non-empty source: control, then sessions
    /// round-robin after the last one served.
    pub(super) fn pick_source(&mut self, ci: MsrpConnId) {
        let Some(c) = self.conns.get(ci.0) else {
            return;
        };
        if c.current.is_some() {
            return;
        }
        let mut next = (!c.control.is_empty()).then_some((Source::Control, c.rr));
        let n = c.sessions.len();
        for k in 0..n {
            if next.is_some() {
                break;
            }
            let i = (c.rr + k) % n;
            if let Some(&id) = c.sessions.get(i) {
                if !self.source_empty(ci, Source::Session(id)) {
                    next = Some((Source::Session(id), i + 1));
                }
            }
        }
        if let Some(c) = self.conns.get_mut(ci.0) {
            c.progress = false;
            c.turn_left = None;
            match next {
                Some((s, rr)) => {
                    c.current = Some(s);
                    c.rr = rr;
                }
                None => {
                    c.wake_sent = false;
                    c.stalled_since = None;
                }
            }
        }
    }

    /// `consumed`: advances the current source by `n` bytes.
    pub(super) fn advance_output(&mut self, now: Instant, ci: MsrpConnId, n: usize) {
        let Some(c) = self.conns.get_mut(ci.0) else {
            return;
        };
        let Some(source) = c.current else {
            return;
        };
        let held = match c.turn_left {
            Some(left) => left,
            None => {
                let [a, b] = self.pending_output(ci);
                a.len() + b.len()
            }
        };
        let Some(c) = self.conns.get_mut(ci.0) else {
            return;
        };
        let left = held.saturating_sub(n);
        c.turn_left = Some(left);
        c.progress |= n > 0;
        if n > 0 {
            // The peer's window is open: the stall clock restarts (stopped by
            // `pick_source` when nothing is left).
            c.stalled_since = Some(now);
        }
        match source {
            Source::Control => c.control.consume(n),
            Source::Session(id) => {
                if let Some(p) = self.parts.get_mut(index_of(id)).filter(|p| p.id == id) {
                    p.ring.consume(n);
                    if p.owes_aborts {
                        self.retry_owed = true;
                    }
                }
            }
        }
        if left > 0 && !self.source_empty(ci, source) {
            return;
        }
        if let Some(c) = self.conns.get_mut(ci.0) {
            c.current = None;
            c.turn_left = None;
            // Round-robin resumes after the session whose turn just ended.
            if let Source::Session(id) = source {
                if let Some(i) = c.sessions.iter().position(|s| *s == id) {
                    c.rr = i + 1;
                }
            }
        }
        if let Source::Session(id) = source {
            if self
                .parts
                .get(index_of(id))
                .is_some_and(|p| p.id == id && p.departed)
            {
                self.free_participant(id);
            }
        }
        self.pick_source(ci);
    }
}

/// [`Switch::notify_output`] on split borrows, for the fan-out loop.
pub(super) fn notify(
    conns: &mut slab::Slab<Conn>,
    events: &mut std::collections::VecDeque<SwitchEvent>,
    ci: MsrpConnId,
    source: Source,
) {
    let Some(c) = conns.get_mut(ci.0) else {
        return;
    };
    if c.current.is_none() {
        c.current = Some(source);
        c.progress = false;
        c.turn_left = None;
    }
    if !c.wake_sent {
        c.wake_sent = true;
        events.push_back(SwitchEvent::Wake(ci));
    }
}

/// Writes a complete message of `len` bytes into the control ring of `ci`. Input stops
/// before a request whose answers would not fit (`Switch::admit_request`), so a full ring
/// only refuses what others' actions add (REPORTs about recipients' errors) or an answer
/// larger than the whole ring: that one message is dropped (logged), the connection stays
/// — a peer that does not read is closed by `write_stall_timeout_ms`, never by a burst.
pub(super) fn control_write(
    conns: &mut slab::Slab<Conn>,
    events: &mut std::collections::VecDeque<SwitchEvent>,
    ci: MsrpConnId,
    len: usize,
    fill: impl FnOnce(&mut RingSink<'_>),
) -> bool {
    let Some(c) = conns.get_mut(ci.0) else {
        return false;
    };
    if c.closing {
        return false;
    }
    if c.control.write(len, fill) {
        notify(conns, events, ci, Source::Control);
        return true;
    }
    log::warn!(
        "msrp connection {}: control ring full, {len}-byte response or REPORT dropped",
        ci.0
    );
    false
}

/// The first `limit` bytes of the two slices `[a, b]`.
fn first_bytes([a, b]: [&[u8]; 2], limit: usize) -> [&[u8]; 2] {
    let a_len = a.len().min(limit);
    let b_len = b.len().min(limit - a_len);
    [
        a.get(..a_len).unwrap_or_default(),
        b.get(..b_len).unwrap_or_default(),
    ]
}
