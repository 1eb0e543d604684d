//! SIP over TCP for the focus (RFC 3261 §18.3 stream framing, §18.4 connection reuse):
//! the connection slab bounded by `max_sip_connections`, one framer per connection, 413/400
//! for a message that cannot be framed, and the idle timeout: it runs from the last
//! complete request, so bytes trickled in never extend it (slowloris), and a message left
//! half-sent that long closes even a connection that carries a dialog. Refusals and
//! framing errors are logged at warn once, then at debug.

use ::core::net::{IpAddr, SocketAddr};

use slab::Slab;

use crate::conference::Conference;
use crate::rand::Entropy;
use crate::time::{Duration, Instant};
use crate::wire::sip::StreamFramer;

use super::dialog::Dialogs;
use super::subscription::Subscriptions;
use super::{Focus, FocusOutput, SipConnId, SipTransport, Source};

/// Whether connection `id` carries a dialog or a subscription: what makes a SIP TCP
/// connection worth its slot (issue 15). Without one it has proven nothing: it is the
/// first evicted and gets the short idle deadline.
fn carries_a_session(dialogs: &Dialogs, subs: &Subscriptions, id: SipConnId) -> bool {
    let t = SipTransport::Tcp(id);
    dialogs.uses(t) || subs.uses(t)
}

/// One accepted SIP TCP connection.
#[derive(Debug)]
pub(super) struct TcpConn {
    pub peer: SocketAddr,
    pub framer: StreamFramer,
    /// Closed at this instant unless a request completes or a dialog uses it.
    pub idle_deadline: Instant,
    /// When the bytes of a not yet complete message started arriving (`None` = between
    /// messages); a dialog does not keep a connection whose message stays half-sent.
    pub partial_since: Option<Instant>,
    /// `Close` was emitted; the slot waits for `tcp_closed`.
    pub closing: bool,
    /// When it was accepted (an unproven connection is evicted only once older than
    /// `unproven_grace_ms`).
    pub opened: Instant,
    /// Evicted for a newcomer (issue 15): closing, and no longer counted against the limits.
    pub evicted: bool,
}

/// Every SIP TCP connection.
#[derive(Debug, Default)]
pub(super) struct Connections {
    pub slab: Slab<TcpConn>,
    /// A refusal at `max_sip_connections` was logged at warn since a connection last closed.
    pub limit_warned: bool,
    /// A refusal at `max_connections_per_source` was logged at warn since a connection was
    /// last accepted.
    pub source_warned: bool,
    /// Connections closed for a framing error (the first is logged at warn).
    pub framing_errors: u64,
    /// Unproven connections evicted for a newcomer (the first is logged at warn).
    pub evicted: u64,
}

impl Connections {
    /// The earliest idle deadline of an open connection.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slab
            .iter()
            .filter(|(_, c)| !c.closing)
            .map(|(_, c)| c.idle_deadline)
            .min()
    }
}

impl Focus {
    fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.config.limits.sip_idle_timeout_ms)
    }

    /// Issue 15: how long a connection that carries no dialog and no subscription may stay
    /// without a complete request (never longer than `sip_idle_timeout_ms`).
    fn unproven_timeout(&self) -> Duration {
        let l = &self.config.limits;
        Duration::from_millis(l.sip_unproven_timeout_ms.min(l.sip_idle_timeout_ms))
    }

    /// The idle deadline after a complete request at `now`: short while the connection
    /// has proven nothing.
    fn idle_deadline_after(&self, now: Instant, id: SipConnId) -> Instant {
        if carries_a_session(&self.dialogs, &self.subs, id) {
            now + self.idle_timeout()
        } else {
            now + self.unproven_timeout()
        }
    }

    /// Issue 15: a connection that carries no dialog and no subscription has proven
    /// nothing (a join, or a roster subscription, makes it useful); one older than
    /// `unproven_grace_ms` is evicted, oldest first, when a newcomer would otherwise be refused.
    fn evictable(&self, now: Instant, id: usize, c: &TcpConn) -> bool {
        !c.closing
            && c.opened + self.config.limits.unproven_grace() <= now
            && !carries_a_session(&self.dialogs, &self.subs, SipConnId(id))
    }

    /// Closes the oldest evictable connection (from `only_from` if given); `false` if
    /// there is none.
    fn evict_unproven(&mut self, now: Instant, only_from: Option<IpAddr>, limit: &str) -> bool {
        let victim = self
            .conns
            .slab
            .iter()
            .filter(|(id, c)| {
                self.evictable(now, *id, c) && only_from.is_none_or(|ip| c.peer.ip() == ip)
            })
            .min_by_key(|(_, c)| c.opened)
            .map(|(id, c)| (SipConnId(id), c.peer));
        let Some((conn, peer)) = victim else {
            return false;
        };
        self.conns.evicted += 1;
        if self.conns.evicted == 1 {
            log::warn!(
                "SIP TCP connection {conn:?} from {peer} evicted: no dialog or subscription, \
                 and a newcomer met {limit} (further evictions logged at debug)"
            );
        } else {
            log::debug!("SIP TCP connection {conn:?} from {peer} evicted: {limit}");
        }
        self.close_connection(conn);
        if let Some(c) = self.conns.slab.get_mut(conn.0) {
            c.evicted = true;
        }
        true
    }

    /// Connections holding a slot of `max_sip_connections` (evicted ones gave theirs).
    fn live_connections(&self) -> usize {
        self.conns.slab.iter().filter(|(_, c)| !c.evicted).count()
    }

    pub(super) fn open_connection(&mut self, now: Instant, peer: SocketAddr) -> Option<SipConnId> {
        // Per source first: a source over its own share never evicts another source.
        let from_source = |focus: &Focus| {
            focus
                .conns
                .slab
                .iter()
                .filter(|(_, c)| !c.evicted && c.peer.ip() == peer.ip())
                .count()
        };
        if from_source(self) >= self.config.limits.max_connections_per_source
            && !self.evict_unproven(now, Some(peer.ip()), "max_connections_per_source")
        {
            return self.refuse_from_source(peer);
        }
        if self.live_connections() >= self.config.limits.max_sip_connections
            && !self.evict_unproven(now, None, "max_sip_connections")
        {
            return self.refuse_connection(peer);
        }
        self.conns.source_warned = false;
        let id = self.conns.slab.insert(TcpConn {
            peer,
            framer: StreamFramer::new(self.config.limits.max_sip_message_bytes),
            idle_deadline: now + self.unproven_timeout(),
            partial_since: None,
            closing: false,
            opened: now,
            evicted: false,
        });
        Some(SipConnId(id))
    }

    /// Refused at `max_sip_connections` (logged at warn once until a connection closes).
    fn refuse_connection(&mut self, peer: SocketAddr) -> Option<SipConnId> {
        if self.conns.limit_warned {
            log::debug!("SIP TCP connection from {peer} refused: max_sip_connections");
        } else {
            self.conns.limit_warned = true;
            log::warn!(
                "SIP TCP connection from {peer} refused: max_sip_connections reached \
                 (further refusals logged at debug)"
            );
        }
        None
    }

    /// Refused at `max_connections_per_source` (logged at warn once until one is accepted).
    fn refuse_from_source(&mut self, peer: SocketAddr) -> Option<SipConnId> {
        if self.conns.source_warned {
            log::debug!("SIP TCP connection from {peer} refused: max_connections_per_source");
        } else {
            self.conns.source_warned = true;
            log::warn!(
                "SIP TCP connection from {peer} refused: max_connections_per_source \
                 reached (further refusals logged at debug)"
            );
        }
        None
    }

    pub(super) fn connection_input(
        &mut self,
        now: Instant,
        conf: &mut dyn Conference,
        entropy: &mut dyn Entropy,
        conn: SipConnId,
        bytes: &[u8],
    ) {
        let Some(c) = self.conns.slab.get_mut(conn.0).filter(|c| !c.closing) else {
            log::debug!("input on unknown or closing SIP connection {conn:?}");
            return;
        };
        c.framer.push(bytes);
        let mut framer = std::mem::take(&mut c.framer);
        let src = Source {
            transport: SipTransport::Tcp(conn),
            addr: c.peer,
        };
        loop {
            match framer.next_frame() {
                Ok(Some(frame)) => {
                    self.on_message(now, conf, entropy, src, frame);
                    // After the request: a join or a subscription it made counts.
                    let deadline = self.idle_deadline_after(now, conn);
                    if let Some(c) = self.conns.slab.get_mut(conn.0) {
                        c.idle_deadline = deadline;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    self.conns.framing_errors += 1;
                    if self.conns.framing_errors == 1 {
                        log::warn!(
                            "SIP TCP connection {conn:?}: {e:?}, closing \
                             (further framing errors logged at debug)"
                        );
                    } else {
                        log::debug!("SIP TCP connection {conn:?}: {e:?}, closing");
                    }
                    if let Some(head) = framer.pending_head() {
                        self.reject_unframed(entropy, src, head, e);
                    }
                    self.close_connection(conn);
                    return;
                }
            }
        }
        if let Some(c) = self.conns.slab.get_mut(conn.0) {
            c.partial_since = match (framer.buffered(), c.partial_since) {
                (0, _) => None,
                (_, Some(since)) => Some(since),
                (_, None) => Some(now),
            };
            c.framer = framer;
        }
    }

    /// Emits `Close` and forgets everything bound to the connection; the slot stays until
    /// the shell reports `tcp_closed`.
    pub(super) fn close_connection(&mut self, conn: SipConnId) {
        if let Some(c) = self.conns.slab.get_mut(conn.0) {
            if c.closing {
                return;
            }
            c.closing = true;
            c.framer = StreamFramer::default();
        }
        let t = SipTransport::Tcp(conn);
        self.txs.forget_transport(t);
        self.dialogs.forget_transport(t);
        self.subs.forget_transport(t);
        self.outputs.push_back(FocusOutput::Close(conn));
    }

    pub(super) fn connection_gone(&mut self, conn: SipConnId) {
        if self.conns.slab.try_remove(conn.0).is_none() {
            log::debug!("tcp_closed for unknown SIP connection {conn:?}");
            return;
        }
        self.conns.limit_warned = false;
        let t = SipTransport::Tcp(conn);
        self.txs.forget_transport(t);
        self.dialogs.forget_transport(t);
        self.subs.forget_transport(t);
    }

    /// Closes connections idle past `sip_idle_timeout_ms` that carry no dialog, and those
    /// whose message has stayed half-sent that long even when they carry one.
    pub(super) fn close_idle_connections(&mut self, now: Instant) {
        let idle = self.idle_timeout();
        let mut expired = Vec::new();
        for (id, c) in self.conns.slab.iter_mut() {
            if c.closing || c.idle_deadline > now {
                continue;
            }
            let stalled = c.partial_since.is_some_and(|since| since + idle <= now);
            if !stalled && carries_a_session(&self.dialogs, &self.subs, SipConnId(id)) {
                // Kept for its dialog, but a half-sent message still ends at its own time.
                c.idle_deadline = c.partial_since.map_or(now + idle, |p| (p + idle).max(now));
            } else {
                expired.push(SipConnId(id));
            }
        }
        for conn in expired {
            log::debug!("SIP TCP connection {conn:?} idle, closing");
            self.close_connection(conn);
        }
    }
}
