//! SUBSCRIBE to a room's conference events (RFC 6665 §4.2.1 new subscription, refresh and
//! unsubscribe, §8.2.1 Accept; RFC 4575 §3 the `conference` package; RFC 6665 §4.1.3
//! one-time fetch with `Expires: 0`): checks the request, grants or refuses it, and sends
//! the first NOTIFY. The subscription table and its timers are in `subscription.rs`.

use crate::admission::Aor;
use crate::conference::Conference;
use crate::focus::reply::{Pending, Reply, EVENT_PACKAGE};
use crate::focus::roster_xml::CONTENT_TYPE;
use crate::focus::{remote_target_of, Focus, SipTransport, Source};
use crate::rand::Entropy;
use crate::time::{Duration, Instant};
use crate::wire::sip::{split_commas, HeaderName, Message};

use super::{EndReason, NotifyKind, Subscription, STORED_URIS};

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
    /// SUBSCRIBE (RFC 6665 §4.2.1): new subscription, refresh, or unsubscribe.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::focus) fn subscribe(
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
        let contact = self.focus_contact(&room, src.transport);
        let remote_target = remote_target_of(h, from.uri);
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
