//! The conference event package notifier (RFC 4575 §3; RFC 6665 §4.2 SUBSCRIBE/NOTIFY,
//! Expires, refresh, termination; RFC 7701 §5.2 anonymous users, §7.4 nicknames; RFC 3261
//! §17.1.2 NOTIFY client transactions): accepts SUBSCRIBE to a room (out of dialog or in
//! the INVITE dialog), sends full state at once, then merged partial NOTIFYs at most once
//! per `notify_interval_ms` (RFC 4575 §3.9), and ends subscriptions on Expires: 0,
//! expiry, a failed NOTIFY, or shutdown.
//!
//! NOTIFY building is in `notify`. Decisions: the pending-change list of a subscription is
//! a byte budget of 8 × `max_room_participants` (the figure `Limits::subscription_bytes`
//! counts); a burst larger than that turns the next NOTIFY into full state. A document larger than
//! `max_notify_bytes` drops display names first, then lists the users that fit; the rest
//! go out in the next (partial) NOTIFY, never silently left out. A refresh
//! sends full state (next allowed instant). Any non-2xx answer or timer F ends the
//! subscription.

use ::core::net::IpAddr;

use slab::Slab;

use crate::admission::Aor;
use crate::conference::Conference;
use crate::rand::Entropy;
use crate::time::{Duration, Instant};
use crate::wire::sip::{split_commas, HeaderName, Message};

use super::reply::{Pending, Reply, EVENT_PACKAGE};
use super::roster_xml::CONTENT_TYPE;
use super::{transport_token, DialogId, Focus, SipTransport, Source};

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

/// The package named by an Event header value, and its `id` parameter.
fn event_of(value: &str) -> (&str, Option<&str>) {
    let mut parts = value.split(';');
    let package = parts.next().unwrap_or_default().trim();
    let id = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("id").then_some(v.trim())
    });
    (package, id)
}

/// True if an Accept header value admits conference-info+xml (RFC 6665 §8.2.1; an absent
/// Accept means the package default, RFC 6502 §3).
fn accepts_conference_info(accept: Option<&str>) -> bool {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return true;
    };
    split_commas(accept).any(|t| {
        let t = t.split(';').next().unwrap_or_default().trim();
        t.eq_ignore_ascii_case(CONTENT_TYPE)
            || t.eq_ignore_ascii_case("application/*")
            || t == "*/*"
    })
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

    /// SUBSCRIBE (RFC 6665 §4.2.1): new subscription, refresh, or unsubscribe.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn subscribe(
        &mut self,
        now: Instant,
        conf: &dyn Conference,
        entropy: &mut dyn Entropy,
        src: Source,
        pending: Pending,
        uri: &str,
        to_tag: Option<&str>,
        msg: &Message<'_>,
        user: Option<&Aor>,
    ) {
        let h = &msg.headers;
        let event = h.get(HeaderName::Event).map(event_of);
        let Some((_, event_id)) = event.filter(|(p, _)| *p == EVENT_PACKAGE) else {
            let r = Reply {
                code: 489,
                reason: "Bad Event",
                headers: &[("Allow-Events", EVENT_PACKAGE)],
                body: b"",
            };
            return self.finish(now, entropy, src, pending, h, r);
        };
        if !accepts_conference_info(h.get(HeaderName::Accept)) {
            let r = Reply {
                code: 406,
                reason: "Not Acceptable",
                headers: &[("Accept", CONTENT_TYPE)],
                body: b"",
            };
            return self.finish(now, entropy, src, pending, h, r);
        }
        let limits = &self.config.limits;
        let granted = match h.get(HeaderName::Expires).map(|v| v.trim().parse::<u64>()) {
            None => limits.subscription_expires_s,
            Some(Ok(v)) => v.min(limits.subscription_expires_s),
            Some(Err(_)) => {
                return self.finish(
                    now,
                    entropy,
                    src,
                    pending,
                    h,
                    Reply::bare(400, "Bad Request"),
                )
            }
        };
        let (Ok(from), Ok(call_id)) = (h.from(), h.call_id()) else {
            return;
        };
        let from_tag = from.tag().unwrap_or_default();
        let expires = granted.to_string();
        if let Some(tag) = to_tag {
            if let Some(i) = self.subs.find(call_id, from_tag, tag) {
                return self.refresh(now, entropy, src, pending, h, i, granted);
            }
            let Some(d) = self.dialogs.find(call_id, from_tag, tag) else {
                let r = Reply::bare(481, "Call/Transaction Does Not Exist");
                return self.finish(now, entropy, src, pending, h, r);
            };
            let Some(dialog) = self.dialogs.slab.get(d.0) else {
                return;
            };
            let Some(transport) = dialog.transport else {
                let r = Reply::bare(481, "Call/Transaction Does Not Exist");
                return self.finish(now, entropy, src, pending, h, r);
            };
            let sub = Subscription {
                serial: 0,
                room: dialog.member.room.clone(),
                call_id: dialog.call_id.clone(),
                remote_tag: dialog.remote_tag.clone(),
                local_tag: dialog.local_tag.clone(),
                local: dialog.local.clone(),
                remote: dialog.remote.clone(),
                remote_target: dialog.remote_target.clone(),
                contact: dialog.contact.clone(),
                transport,
                event_id: event_id.map(str::to_owned),
                invite_dialog: Some(d),
                cseq: dialog.local_cseq,
                version: 0,
                expires_at: now + Duration::from_secs(granted),
                notify_not_before: now,
                in_flight: false,
                needs_full: true,
                dirty: Vec::new(),
                resume_seq: None,
                proven: dialog.proven && transport == src.transport
                    || !matches!(transport, SipTransport::Udp(_)),
                source: src.addr.ip(),
                started: now,
                answered: false,
            };
            let tag = sub.local_tag.clone();
            return self
                .start_subscription(now, conf, entropy, src, pending, h, sub, &tag, &expires);
        }
        let Some(room) = self.existing_room(conf, uri).map(str::to_owned) else {
            return self.finish(now, entropy, src, pending, h, Reply::bare(404, "Not Found"));
        };
        // The roster is the room's business: the allow list governs it too (R7701-5.2-a).
        if !self.allowed_in(&room, user, h) {
            return self.finish(now, entropy, src, pending, h, Reply::bare(403, "Forbidden"));
        }
        // What the subscription keeps of the request must fit the memory it is counted for
        // (`Limits::subscription_bytes`: 3 × max_uri_bytes of dialog strings).
        let kept = [
            HeaderName::CallId,
            HeaderName::From,
            HeaderName::To,
            HeaderName::Contact,
        ]
        .into_iter()
        .map(|n| h.get(n).map_or(0, str::len))
        .sum::<usize>();
        if kept > STORED_URIS * self.config.limits.max_uri_bytes {
            log::debug!("SUBSCRIBE with {kept} bytes of dialog identifiers refused");
            let r = Reply::bare(400, "Dialog Identifiers Too Long");
            return self.finish(now, entropy, src, pending, h, r);
        }
        let local_tag = self.new_tag(entropy);
        let contact = format!(
            "<sip:{room}@{};transport={}>;isfocus",
            self.config.sip_local,
            transport_token(src.transport).to_ascii_lowercase()
        );
        let remote_target = h
            .contact()
            .and_then(Result::ok)
            .map_or(from.uri, |c| c.uri)
            .to_owned();
        let sub = Subscription {
            serial: 0,
            room,
            call_id: call_id.to_owned(),
            remote_tag: from_tag.to_owned(),
            local_tag: local_tag.clone(),
            local: h.get(HeaderName::To).unwrap_or_default().to_owned(),
            remote: h.get(HeaderName::From).unwrap_or_default().to_owned(),
            remote_target,
            contact,
            transport: src.transport,
            event_id: event_id.map(str::to_owned),
            invite_dialog: None,
            cseq: 0,
            version: 0,
            expires_at: now + Duration::from_secs(granted),
            notify_not_before: now,
            in_flight: false,
            needs_full: true,
            dirty: Vec::new(),
            resume_seq: None,
            proven: !matches!(src.transport, SipTransport::Udp(_)),
            source: src.addr.ip(),
            started: now,
            answered: false,
        };
        self.start_subscription(
            now, conf, entropy, src, pending, h, sub, &local_tag, &expires,
        );
    }

    /// 200 + the first NOTIFY (full state), or 503 when the table is full (after evicting
    /// the oldest unanswered subscription, if any) or the source holds its share of it
    /// (issue 15). `Expires: 0` on a new subscription is a one-time fetch: full state with
    /// `terminated`.
    #[allow(clippy::too_many_arguments)]
    fn start_subscription(
        &mut self,
        now: Instant,
        conf: &dyn Conference,
        entropy: &mut dyn Entropy,
        src: Source,
        pending: Pending,
        h: &crate::wire::sip::Headers<'_>,
        mut sub: Subscription,
        tag: &str,
        expires: &str,
    ) {
        let from_source = self
            .subs
            .slab
            .iter()
            .filter(|(_, s)| s.source == sub.source)
            .count();
        if from_source >= self.config.limits.max_subscriptions_per_source {
            log::debug!(
                "SUBSCRIBE to {} from {} refused: max_subscriptions_per_source",
                sub.room,
                sub.source
            );
            let warning = format!(
                "399 {} \"Too many subscriptions from your address \
                 (max_subscriptions_per_source)\"",
                self.config.sip_local
            );
            // No Retry-After: a place frees when one of the source's own subscriptions ends.
            let headers = [("Warning", warning.as_str())];
            let r = Reply {
                code: 503,
                reason: "Service Unavailable",
                headers: &headers,
                body: b"",
            };
            return self.finish(now, entropy, src, pending, h, r);
        }
        if self.subs.slab.len() >= self.config.limits.max_subscriptions {
            self.evict_unanswered_subscription(now);
        }
        if self.subs.slab.len() >= self.config.limits.max_subscriptions {
            if self.subs.limit_warned {
                log::debug!("SUBSCRIBE to {} refused: max_subscriptions", sub.room);
            } else {
                self.subs.limit_warned = true;
                log::warn!(
                    "SUBSCRIBE to {} refused: max_subscriptions reached \
                     (further refusals logged at debug)",
                    sub.room
                );
            }
            let r = Reply::bare(503, "Service Unavailable");
            return self.finish(now, entropy, src, pending, h, r);
        }
        self.subs.limit_warned = false;
        self.subs.next_serial += 1;
        sub.serial = self.subs.next_serial;
        let fetch_only = sub.expires_at <= now;
        let contact = sub.contact.clone();
        let headers = [("Contact", contact.as_str()), ("Expires", expires)];
        let reply = Reply {
            code: 200,
            reason: "OK",
            headers: &headers,
            body: b"",
        };
        self.finish_tagged(now, src, pending, h, reply, tag);
        log::info!("{} subscribed to {}", sub.remote, sub.room);
        let i = self.subs.slab.insert(sub);
        if fetch_only {
            // RFC 6665 §4.4.3: a fetch gets the state once, with `terminated`.
            self.send_notify(now, conf, entropy, i, NotifyKind::Final(EndReason::Timeout));
            self.subs.slab.try_remove(i);
        } else {
            self.send_notify(now, conf, entropy, i, NotifyKind::Full);
        }
    }

    /// Issue 15: forgets the oldest subscription whose NOTIFY was never answered, once
    /// older than `unproven_grace_ms` (its subscriber had a round trip to answer). No final NOTIFY:
    /// nobody has shown to be listening.
    fn evict_unanswered_subscription(&mut self, now: Instant) {
        let grace = self.config.limits.unproven_grace();
        let victim = self
            .subs
            .slab
            .iter()
            .filter(|(_, s)| !s.answered && s.started + grace <= now)
            .min_by_key(|(_, s)| s.started)
            .map(|(i, _)| i);
        let Some(s) = victim.and_then(|i| self.subs.slab.try_remove(i)) else {
            return;
        };
        self.subs.evicted += 1;
        if self.subs.evicted == 1 {
            log::warn!(
                "subscription of {} from {} evicted: its NOTIFY was never answered and the \
                 table is full (further evictions logged at debug)",
                s.remote,
                s.source
            );
        } else {
            log::debug!("subscription of {} from {} evicted", s.remote, s.source);
        }
    }

    /// A re-SUBSCRIBE: new expiry and full state next, or `Expires: 0` → final NOTIFY.
    #[allow(clippy::too_many_arguments)]
    fn refresh(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        src: Source,
        pending: Pending,
        h: &crate::wire::sip::Headers<'_>,
        i: usize,
        granted: u64,
    ) {
        let Some(s) = self.subs.slab.get_mut(i) else {
            return;
        };
        s.expires_at = now + Duration::from_secs(granted);
        s.needs_full = true;
        s.dirty.clear();
        let (contact, tag) = (s.contact.clone(), s.local_tag.clone());
        let expires = granted.to_string();
        let headers = [("Contact", contact.as_str()), ("Expires", expires.as_str())];
        let reply = Reply {
            code: 200,
            reason: "OK",
            headers: &headers,
            body: b"",
        };
        self.finish_tagged(now, src, pending, h, reply, &tag);
        if granted == 0 {
            self.end_subscription(now, entropy, i, EndReason::Timeout);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_header_package_and_id() {
        assert_eq!(event_of("conference"), ("conference", None));
        assert_eq!(event_of(" conference ;id=7"), ("conference", Some("7")));
        assert_eq!(event_of("presence"), ("presence", None));
    }

    #[test]
    fn accept_header_defaults_to_conference_info() {
        assert!(accepts_conference_info(None));
        assert!(accepts_conference_info(Some(
            "application/xcon-conference-info+xml, application/conference-info+xml"
        )));
        assert!(accepts_conference_info(Some("*/*")));
        assert!(!accepts_conference_info(Some("application/pidf+xml")));
    }
}
