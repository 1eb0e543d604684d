//! Slow recipients (RFC 7701 §6.4, choices of A4): a bound participant whose outbound ring
//! is filled to `congested_fill_percent`, or that lost a copy for want of room, is
//! "congested" (R7701-6.4-b) until its ring drains below the threshold. While congested it
//! gets no copies of messages larger than `congested_max_message_bytes` (R7701-6.4-d), and
//! when an episode begins a regular notice saying so (R7701-6.4-c/d) — at most one per
//! `congested_timeout_ms`: a reader that stalls while its socket still takes data drains
//! below the threshold and crosses it again within one stall, and that is one stall to
//! its user, not several. Congested for
//! `congested_timeout_ms` without a break, it is disconnected (R7701-6.4-e): removed as
//! lost (the focus sends BYE) and its MSRP connection closed when no other session uses it.
//!
//! Other participants are untouched: the state lives in the slow participant alone and
//! costs no memory beyond a few bytes of its bookkeeping.

use crate::rand::Entropy;
use crate::time::{Duration, Instant};

use super::session::{index_of, Participant};
use super::{MsrpConnId, Switch};

/// One congestion episode of a participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Congested {
    /// When the episode began; the disconnect is due `congested_timeout_ms` later.
    pub(super) since: Instant,
    /// Larger messages are not copied to it meanwhile (R7701-6.4-d).
    pub(super) max_message: u64,
}

impl Congested {
    /// Whether a copy of a message of `size` octets (at least) is held back.
    pub(super) fn holds_back(&self, size: u64) -> bool {
        size > self.max_message
    }
}

/// The size of the message a copy belongs to: its total, or at least the copy's end.
pub(super) fn message_size(total: Option<u64>, end: Option<u64>) -> u64 {
    total.or(end).unwrap_or(0)
}

/// Whether `p` is congested now: its ring at or above `threshold` bytes, or a copy was
/// dropped since its last successful write and the ring has not emptied since.
fn over(p: &Participant, ring_bytes: usize, threshold: usize) -> bool {
    let fill = ring_bytes.saturating_sub(p.ring.free());
    fill >= threshold || (p.dropping && !p.ring.is_empty())
}

impl Switch {
    /// The ring fill (bytes) at which a participant counts as congested.
    fn congestion_threshold(&self) -> usize {
        let ring = self.limits.ring_bytes as u64;
        let percent = self.limits.congested_fill_percent.clamp(1, 100) as u64;
        usize::try_from(ring * percent / 100)
            .unwrap_or(usize::MAX)
            .max(1)
    }

    /// Re-evaluates every bound participant's congested state at `now` (after input was
    /// fanned out, output consumed, or timers ran); a new episode gets its notice.
    pub(super) fn track_congestion(&mut self, now: Instant, entropy: &mut dyn Entropy) {
        let (ring, threshold) = (self.limits.ring_bytes, self.congestion_threshold());
        let max_message = self.limits.congested_max_message_bytes as u64;
        let quiet = Duration::from_millis(self.limits.congested_timeout_ms);
        let mut began = false;
        for (_, p) in self.parts.iter_mut() {
            let now_over = !p.departed && p.conn.is_some() && over(p, ring, threshold);
            match (p.congestion, now_over) {
                (None, true) => {
                    log::warn!(
                        "participant {}: congested (RFC 7701 §6.4), large copies held back",
                        p.id.0
                    );
                    p.congestion = Some(Congested {
                        since: now,
                        max_message,
                    });
                    let noticed_lately = p.last_congestion_notice.is_some_and(|t| now < t + quiet);
                    if !noticed_lately {
                        began = true;
                        p.congestion_notice_due = true;
                        p.last_congestion_notice = Some(now);
                    }
                }
                (Some(_), false) => {
                    log::info!("participant {}: no longer congested", p.id.0);
                    p.congestion = None;
                }
                _ => {}
            }
        }
        if began {
            self.write_congestion_notices(entropy);
        }
    }

    /// After output of `ci` was consumed: ends the episodes of its sessions whose rings
    /// drained below the threshold (consuming never starts one, and drains no other ring).
    /// Runs after every write, so it visits only the connection's own sessions.
    pub(super) fn ease_congestion(&mut self, ci: MsrpConnId) {
        let (ring, threshold) = (self.limits.ring_bytes, self.congestion_threshold());
        let Switch { conns, parts, .. } = self;
        let Some(c) = conns.get(ci.0) else {
            return;
        };
        for &id in &c.sessions {
            let Some(p) = parts.get_mut(index_of(id)).filter(|p| p.id == id) else {
                continue;
            };
            if p.congestion.is_some() && !over(p, ring, threshold) {
                log::info!("participant {}: no longer congested", p.id.0);
                p.congestion = None;
            }
        }
    }

    /// The earliest congestion disconnect due.
    pub(super) fn next_congestion_deadline(&self) -> Option<Instant> {
        let timeout = Duration::from_millis(self.limits.congested_timeout_ms);
        self.parts
            .iter()
            .filter(|(_, p)| !p.departed)
            .filter_map(|(_, p)| p.congestion.map(|c| c.since + timeout))
            .min()
    }

    /// Disconnects every participant congested for `congested_timeout_ms` by `now`.
    pub(super) fn disconnect_congested(&mut self, now: Instant) {
        let timeout = Duration::from_millis(self.limits.congested_timeout_ms);
        for _ in 0..self.parts.len() {
            let Some((id, conn)) = self
                .parts
                .iter()
                .find(|(_, p)| {
                    !p.departed && p.congestion.is_some_and(|c| c.since + timeout <= now)
                })
                .map(|(_, p)| (p.id, p.conn))
            else {
                return;
            };
            log::warn!(
                "participant {}: congested for {} ms, disconnecting (RFC 7701 §6.4)",
                id.0,
                self.limits.congested_timeout_ms
            );
            self.counters.congestion_disconnects += 1;
            self.remove_participant(id, true);
            if let Some(p) = self.parts.get_mut(index_of(id)).filter(|p| p.id == id) {
                // Still draining on a shared connection: it is gone all the same.
                p.congestion = None;
            }
            if let Some(ci) = conn {
                if self.conns.get(ci.0).is_some_and(|c| c.sessions.is_empty()) {
                    self.close_conn(ci, "its only session was congested too long");
                }
            }
        }
    }

    /// Writes the one notice of each new episode, if it still fits the ring.
    fn write_congestion_notices(&mut self, entropy: &mut dyn Entropy) {
        for _ in 0..self.parts.len() {
            let Some(id) = self
                .parts
                .iter()
                .find(|(_, p)| p.congestion_notice_due)
                .map(|(_, p)| p.id)
            else {
                return;
            };
            let Some(p) = self.parts.get_mut(index_of(id)) else {
                return;
            };
            p.congestion_notice_due = false;
            if p.departed || !p.direction.receives() {
                continue;
            }
            let to = p.uri.clone();
            let Some(room_uri) = self
                .rooms
                .get(p.room)
                .map(|r| format!("sip:{}@{}", r.name, self.domain))
            else {
                continue;
            };
            let text = format!(
                "Your client is not reading its messages fast enough: messages for you are \
                 being dropped, and messages larger than {} octets are held back until it \
                 catches up.",
                self.limits.congested_max_message_bytes
            );
            if !self.write_notice(entropy, id, &room_uri, &to, &text) {
                log::debug!("participant {}: congestion notice did not fit", id.0);
            }
        }
    }
}
