//! The conference event package notifier (RFC 4575 §3; RFC 6665 §4.2 SUBSCRIBE/NOTIFY,
//! Expires, refresh, termination; RFC 7701 §5.2 anonymous users, §7.4 nicknames; RFC 3261
//! §17.1.2 NOTIFY client transactions): accepts SUBSCRIBE to a room (out of dialog or in
//! the INVITE dialog), sends full state at once, then merged partial NOTIFYs at most once
//! per `notify_interval_ms` (RFC 4575 §3.9), and ends subscriptions on Expires: 0,
//! expiry, a failed NOTIFY, or shutdown.
//!
//! NOTIFY building is in `notify`; SUBSCRIBE handling in `subscription/subscribe.rs`. Decisions: the pending-change list of a subscription is
//! a byte budget of 8 × `max_room_participants` (the figure `Limits::subscription_bytes`
//! counts); a burst larger than that turns the next NOTIFY into full state. A document larger than
//! `max_notify_bytes` drops display names first, then lists the users that fit; the rest
//! go out in the next (partial) NOTIFY, never silently left out. A refresh
//! sends full state (next allowed instant). Any non-2xx answer or timer F ends the
//! subscription.

use ::core::net::IpAddr;

use slab::Slab;

use crate::conference::Conference;
use crate::rand::Entropy;
use crate::time::Instant;

use super::{DialogId, Focus, SipTransport};

mod subscribe;

/// URI-sized strings a subscription may keep, as `Limits::subscription_bytes` counts them.
const STORED_URIS: usize = 3;
/// Bytes per pending-change entry counted by `Limits::subscription_bytes`.
const PENDING_BYTES_PER_PARTICIPANT: usize = 8;

/// Why a subscription ends (RFC 6665 §4.1.3 reason values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum EndReason {
    /// Unsubscribed (Expires: 0) or expired.
    Timeout,
    /// The server is shutting down.
    NoResource,
}

impl EndReason {
    pub(super) fn token(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::NoResource => "noresource",
        }
    }
}

/// One subscription (its own dialog, or a usage of an INVITE dialog).
#[derive(Clone, Debug)]
pub(super) struct Subscription {
    /// Tells this subscription from a later one in the same slab slot.
    pub serial: u64,
    pub room: String,
    pub call_id: String,
    pub remote_tag: String,
    pub local_tag: String,
    /// From value of our NOTIFYs without tag (the room URI as addressed).
    pub local: String,
    /// To value of our NOTIFYs (the subscriber's From, tag included).
    pub remote: String,
    pub remote_target: String,
    pub contact: String,
    pub transport: SipTransport,
    /// `id` parameter of the Event header, echoed in NOTIFY.
    pub event_id: Option<String>,
    /// The INVITE dialog this subscription shares (CSeq space), if any.
    pub invite_dialog: Option<DialogId>,
    pub cseq: u32,
    /// conference-info version of the last NOTIFY (RFC 4575 §4.3).
    pub version: u32,
    pub expires_at: Instant,
    /// No NOTIFY before this instant (RFC 4575 §3.9: one per `notify_interval_ms`).
    pub notify_not_before: Instant,
    /// A NOTIFY transaction is still open.
    pub in_flight: bool,
    /// The next NOTIFY carries full state.
    pub needs_full: bool,
    /// User keys changed since the last NOTIFY.
    pub dirty: Vec<String>,
    /// The last NOTIFY could not hold every user it should have (`max_notify_bytes`): the
    /// next one (partial) also carries every user that joined at or after this join
    /// sequence number, so no member is left out for good (issue 15).
    pub resume_seq: Option<u64>,
    /// The subscriber has shown it receives at `transport` (it answered a NOTIFY, its
    /// INVITE dialog is proven, or it came over TCP). Until then, over UDP, its address may
    /// be forged: NOTIFYs stay within `unproven_udp_notify_bytes` and their resends within
    /// `unproven_udp_resends` (issue 15, UDP reflection).
    pub proven: bool,
    /// Where the SUBSCRIBE came from: `max_subscriptions_per_source` counts per address.
    pub source: IpAddr,
    /// When it was granted.
    pub started: Instant,
    /// A NOTIFY of it was answered 2xx: the subscriber is real. Until then it is the
    /// first evicted (oldest first) when the table is full (issue 15).
    pub answered: bool,
}

impl Subscription {
    fn pending(&self) -> bool {
        self.needs_full || !self.dirty.is_empty() || self.resume_seq.is_some()
    }

    fn dirty_bytes(&self) -> usize {
        self.dirty.iter().map(String::len).sum()
    }
}

/// Every subscription.
#[derive(Debug, Default)]
pub(super) struct Subscriptions {
    pub slab: Slab<Subscription>,
    next_serial: u64,
    /// A refusal at `max_subscriptions` was logged at warn since there was last room.
    limit_warned: bool,
    /// Unanswered subscriptions evicted for a newcomer (the first is logged at warn).
    evicted: u64,
}

impl Subscriptions {
    /// The earliest expiry or allowed NOTIFY instant.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slab
            .iter()
            .flat_map(|(_, s)| {
                let notify = (s.pending() && !s.in_flight).then_some(s.notify_not_before);
                [Some(s.expires_at), notify]
            })
            .flatten()
            .min()
    }

    /// True if a subscription is notified over this transport.
    pub fn uses(&self, transport: SipTransport) -> bool {
        self.slab.iter().any(|(_, s)| s.transport == transport)
    }

    /// Subscriptions reached through a TCP connection that is gone cannot be notified.
    pub fn forget_transport(&mut self, transport: SipTransport) {
        self.slab.retain(|_, s| {
            let keep = s.transport != transport;
            if !keep {
                log::debug!("subscription {} lost its connection", s.call_id);
            }
            keep
        });
    }

    fn find(&self, call_id: &str, remote_tag: &str, local_tag: &str) -> Option<usize> {
        self.slab
            .iter()
            .find(|(_, s)| {
                s.call_id == call_id && s.remote_tag == remote_tag && s.local_tag == local_tag
            })
            .map(|(i, _)| i)
    }

    fn by_serial(&self, serial: u64) -> Option<usize> {
        self.slab
            .iter()
            .find(|(_, s)| s.serial == serial)
            .map(|(i, _)| i)
    }
}

/// What kind of NOTIFY to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NotifyKind {
    Full,
    Partial,
    Final(EndReason),
}

impl Focus {
    /// The URI of a room: `sip:ROOM@DOMAIN`.
    pub(super) fn room_uri(&self, room: &str) -> String {
        format!("sip:{room}@{}", self.config.domain)
    }

    /// A user's entry changed (join, leave, nickname, media): every subscription of its room
    /// owes a NOTIFY, sent when its interval allows (`handle_timeout`).
    pub(super) fn mark_user_changed(&mut self, room: &str, user: &str) {
        let budget = PENDING_BYTES_PER_PARTICIPANT * self.config.limits.max_room_participants;
        for (_, s) in self.subs.slab.iter_mut().filter(|(_, s)| s.room == room) {
            if s.needs_full || s.dirty.iter().any(|u| u == user) {
                continue;
            }
            if s.dirty_bytes() + user.len() > budget {
                s.dirty.clear();
                s.needs_full = true;
            } else {
                s.dirty.push(user.to_owned());
            }
        }
    }

    /// Sends the final NOTIFY (`terminated;reason=…`, no body) and forgets the subscription.
    pub(super) fn end_subscription(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        i: usize,
        reason: EndReason,
    ) {
        self.send_notify_body(now, entropy, i, NotifyKind::Final(reason), None);
        if let Some(s) = self.subs.slab.try_remove(i) {
            log::info!(
                "subscription of {} to {} ended ({reason:?})",
                s.remote,
                s.room
            );
        }
    }

    /// Expiries and NOTIFYs whose interval has passed.
    pub(super) fn run_subscription_timers(
        &mut self,
        now: Instant,
        conf: &dyn Conference,
        entropy: &mut dyn Entropy,
    ) {
        let ids: Vec<usize> = self.subs.slab.iter().map(|(i, _)| i).collect();
        for i in ids {
            let Some(s) = self.subs.slab.get(i) else {
                continue;
            };
            if s.expires_at <= now {
                self.end_subscription(now, entropy, i, EndReason::Timeout);
                continue;
            }
            if s.pending() && !s.in_flight && s.notify_not_before <= now {
                let kind = if s.needs_full {
                    NotifyKind::Full
                } else {
                    NotifyKind::Partial
                };
                self.send_notify(now, conf, entropy, i, kind);
            }
        }
    }

    /// The answer (or timer F) of a NOTIFY: 2xx lets the next one go; anything else ends
    /// the subscription (RFC 6665 §4.2.2).
    pub(super) fn notify_answered(&mut self, serial: u64, code: Option<u16>) {
        let Some(i) = self.subs.by_serial(serial) else {
            return;
        };
        match code {
            Some(c) if (200..300).contains(&c) => {
                if let Some(s) = self.subs.slab.get_mut(i) {
                    s.in_flight = false;
                    s.answered = true;
                    if !s.proven {
                        s.proven = true;
                        // The rest of a roster cut to the unproven size follows at once:
                        // it completes the first (full) state, not a new change.
                        if s.resume_seq.is_some() {
                            s.notify_not_before = Instant::ZERO;
                        }
                    }
                }
            }
            _ => {
                if let Some(s) = self.subs.slab.try_remove(i) {
                    log::info!(
                        "subscription of {} dropped: NOTIFY answered {code:?}",
                        s.remote
                    );
                }
            }
        }
    }

    /// Shutdown: every subscription gets `terminated;reason=noresource`.
    pub(super) fn end_all_subscriptions(&mut self, now: Instant, entropy: &mut dyn Entropy) {
        let ids: Vec<usize> = self.subs.slab.iter().map(|(i, _)| i).collect();
        for i in ids {
            self.end_subscription(now, entropy, i, EndReason::NoResource);
        }
    }
}
