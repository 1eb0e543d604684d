//! Building and sending one NOTIFY of the conference event package (RFC 6665 §4.2.2
//! NOTIFY with Event and Subscription-State; RFC 4575 §4 conference-info versions and
//! full/partial documents; RFC 3261 §17.1.2 its client transaction): gathers a room's
//! users from the dialogs (several devices of one URI = one user; the nickname and display
//! name shown are those of the earliest-joined endpoint that has one), renders them, and
//! hands the request to a client transaction.

use crate::conference::Conference;
use crate::rand::Entropy;
use crate::time::{Duration, Instant};
use crate::wire::sip::{emit_request, OutgoingRequest};

use super::dialog::INITIAL_MAX_FORWARDS;
use super::reply::EVENT_PACKAGE;
use super::roster_xml::{
    render, render_unshortened, DocState, EndpointView, UserView, CONTENT_TYPE,
};
use super::subscription::NotifyKind;
use super::transaction::ClientPurpose;
use super::{transport_token, Focus};

/// Bytes of a NOTIFY head besides its URIs (start line, Via, fixed header names).
const NOTIFY_HEAD_RESERVE: usize = 512;
/// URI-sized fields of a NOTIFY head (Request-URI, From, To, Call-ID, Contact).
const NOTIFY_HEAD_URIS: usize = 5;
/// Bytes of a NOTIFY head besides the subscription's strings and our sent-by: start line,
/// header names, Via branch, the longest CSeq, Subscription-State and Content-Length
/// values (the roster tests check a cut NOTIFY stays within the bound).
const NOTIFY_HEAD_FIXED: usize = 360;

impl Focus {
    /// The users of `room` (`only` = just these keys, absent keys → deleted entries, plus
    /// every user that joined at or after `from_seq`).
    pub(super) fn users_of<'s>(
        &'s self,
        conf: &'s dyn Conference,
        room: &str,
        only: Option<&'s [String]>,
        from_seq: Option<u64>,
    ) -> (Vec<UserView<'s>>, usize) {
        let mut members: Vec<_> = self
            .dialogs
            .slab
            .iter()
            .map(|(_, d)| d)
            .filter(|d| d.member.room == room)
            .collect();
        members.sort_by_key(|d| d.member.seq);
        let mut users: Vec<UserView<'s>> = Vec::new();
        for d in members {
            let entry = conf.roster_entry(d.participant);
            let endpoint = EndpointView {
                entity: &d.member.endpoint,
                media_bound: entry.is_some_and(|e| e.media_bound),
            };
            let nickname = entry.and_then(|e| e.nickname);
            match users.iter_mut().find(|u| u.entity == d.member.user) {
                Some(u) => {
                    u.endpoints.push(endpoint);
                    if u.display.is_empty() {
                        u.display = &d.member.display;
                    }
                    if u.nickname.is_none() {
                        u.nickname = nickname;
                    }
                }
                None => users.push(UserView {
                    entity: &d.member.user,
                    display: &d.member.display,
                    nickname,
                    endpoints: vec![endpoint],
                    seq: d.member.seq,
                }),
            }
        }
        let count = users.len();
        let Some(only) = only else {
            return (users, count);
        };
        let mut picked: Vec<UserView<'s>> = only
            .iter()
            .map(|key| {
                users
                    .iter()
                    .find(|u| u.entity == key.as_str())
                    .cloned()
                    .unwrap_or(UserView {
                        entity: key,
                        display: "",
                        nickname: None,
                        endpoints: Vec::new(),
                        seq: 0,
                    })
            })
            .collect();
        if let Some(from) = from_seq {
            for u in users.iter().filter(|u| u.seq >= from) {
                if !picked.iter().any(|p| p.entity == u.entity) {
                    picked.push(u.clone());
                }
            }
        }
        (picked, count)
    }

    pub(super) fn send_notify(
        &mut self,
        now: Instant,
        conf: &dyn Conference,
        entropy: &mut dyn Entropy,
        i: usize,
        kind: NotifyKind,
    ) {
        let full = !matches!(kind, NotifyKind::Partial);
        let Some(s) = self.subs.slab.get_mut(i) else {
            return;
        };
        let dirty = std::mem::take(&mut s.dirty);
        let resume = s.resume_seq.take().filter(|_| !full);
        let room = s.room.clone();
        let version = s.version.saturating_add(1);
        s.version = version;
        s.needs_full = false;
        s.notify_not_before = now + Duration::from_millis(self.config.limits.notify_interval_ms);
        let (users, count) =
            self.users_of(conf, &room, (!full).then_some(dirty.as_slice()), resume);
        let limits = &self.config.limits;
        let mut unproven = false;
        let mut cap = limits
            .max_notify_bytes
            .saturating_sub(NOTIFY_HEAD_RESERVE + NOTIFY_HEAD_URIS * limits.max_uri_bytes);
        if let Some(s) = self.subs.slab.get(i).filter(|s| !s.proven) {
            // Issue 15, UDP reflection: a subscriber that has not answered yet gets a small
            // NOTIFY; the users that do not fit follow once it answers.
            let head = NOTIFY_HEAD_FIXED
                + [
                    &s.remote_target,
                    &s.local,
                    &s.local_tag,
                    &s.remote,
                    &s.call_id,
                ]
                .iter()
                .map(|v| v.len())
                .sum::<usize>()
                + s.contact.len()
                + s.event_id.as_ref().map_or(0, String::len)
                + self.config.sip_local.to_string().len();
            cap = cap.min(limits.unproven_udp_notify_bytes.saturating_sub(head));
            unproven = true;
        }
        let state = if full {
            DocState::Full
        } else {
            DocState::Partial
        };
        let uri = self.room_uri(&room);
        let doc = if unproven {
            render_unshortened(&uri, version, state, count, &users, cap)
        } else {
            render(&uri, version, state, count, &users, cap)
        };
        if doc.shortened > 0 || doc.lost > 0 || !doc.omitted.is_empty() {
            log::debug!(
                "roster of {room}: NOTIFY over max_notify_bytes: {} users shortened, {} sent \
                 next, {} cannot be shown",
                doc.shortened,
                doc.omitted.len(),
                doc.lost
            );
        }
        if doc.lost > 0 {
            log::warn!(
                "roster of {room}: {} users fit no NOTIFY (raise max_notify_bytes)",
                doc.lost
            );
        }
        // Users that did not fit this time go out in the next (partial) NOTIFY: present
        // ones by their join order (no per-user memory), departed ones by key (their
        // `deleted` entries are a few bytes).
        let omitted = doc.omitted.iter().filter_map(|i| users.get(*i));
        let resume_seq = omitted.clone().filter(|u| u.seq > 0).map(|u| u.seq).min();
        let gone: Vec<String> = omitted
            .filter(|u| u.seq == 0)
            .map(|u| u.entity.to_owned())
            .collect();
        drop(users);
        if let Some(s) = self.subs.slab.get_mut(i) {
            s.resume_seq = resume_seq;
            for key in gone {
                if !s.dirty.contains(&key) {
                    s.dirty.push(key);
                }
            }
        }
        self.send_notify_body(now, entropy, i, kind, Some(doc.body));
    }

    /// Builds and sends one NOTIFY with its client transaction.
    pub(super) fn send_notify_body(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        i: usize,
        kind: NotifyKind,
        body: Option<Vec<u8>>,
    ) {
        let branch = self.new_branch(entropy);
        let sent_by = self.config.sip_local.to_string();
        let Some(s) = self.subs.slab.get_mut(i) else {
            return;
        };
        let mut cseq = s.cseq.saturating_add(1);
        if let Some(d) = s.invite_dialog.and_then(|d| self.dialogs.slab.get_mut(d.0)) {
            cseq = cseq.max(d.local_cseq.saturating_add(1));
            d.local_cseq = cseq;
        }
        s.cseq = cseq;
        let remaining = s.expires_at.saturating_since(now);
        let state = match kind {
            NotifyKind::Final(r) => format!("terminated;reason={}", r.token()),
            _ => format!("active;expires={}", remaining.as_secs().max(1)),
        };
        let event = match &s.event_id {
            Some(id) => format!("{EVENT_PACKAGE};id={id}"),
            None => EVENT_PACKAGE.to_owned(),
        };
        let from = format!("{};tag={}", s.local, s.local_tag);
        let mut headers = vec![
            ("Contact", s.contact.as_str()),
            ("Event", event.as_str()),
            ("Subscription-State", state.as_str()),
        ];
        if body.is_some() {
            headers.push(("Content-Type", CONTENT_TYPE));
        }
        let bytes = emit_request(&OutgoingRequest {
            method: "NOTIFY",
            uri: &s.remote_target,
            via_transport: transport_token(s.transport),
            via_sent_by: &sent_by,
            branch: &branch,
            from: &from,
            to: &s.remote,
            call_id: &s.call_id,
            cseq,
            max_forwards: INITIAL_MAX_FORWARDS,
            headers: &headers,
            body: body.as_deref().unwrap_or_default(),
        });
        let (to, serial) = (s.transport, s.serial);
        let proven = s.proven;
        let purpose = ClientPurpose::Notify { serial };
        let tracked = self.start_client_tx(now, to, branch, bytes, purpose, proven);
        if let Some(s) = self.subs.slab.get_mut(i) {
            s.in_flight = tracked;
        }
    }
}
