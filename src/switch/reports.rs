//! The switch's own REPORTs and what it does with recipients' responses (RFC 4975 §7.1.2-
//! §7.1.4, §10; RFC 7701 §6.2, §6.3). REPORTs about a private message carry a Message/CPIM
//! body with the original From and To (R7701-6.2-h, example 17). A recipient's error
//! response to a copy (413, 481, any non-2xx) stops that copy: no further chunk of the
//! message goes to it and it is owed no `#` (it refused the message, R4975-10-a, IMPL-22);
//! the sender is told only for a private message whose every target session failed and
//! whose Failure-Report was not `no` (a late failure after the 200, example 17). A regular
//! message's copy failing is counted, never reported (A14: a REPORT from the switch speaks
//! for the switch, not for the recipients); the chunk timer firing is not reported either
//! (the sender is the one that stopped sending). Responses and REPORTs of
//! recipients are never relayed (R7701-6.3-e).

use std::collections::VecDeque;

use slab::Slab;

use crate::rand::{fill_ident, Entropy};
use crate::wire::cpim;
use crate::wire::msrp::{
    emit_request, encoded_len, first_uri, ByteRange, Flag, Head, MsrpUri, ReportMode, Request,
    Sink, StatusHeader,
};

use super::connection::{control_write, Conn};
use super::fanout::COPY_TID_LEN;
use super::fast_forward::{slot_of_tid, Phase};
use super::session::index_of;
use super::{MsrpConnId, Switch, SwitchEvent};

/// The text of a private-message REPORT body for `code` (example 17 for 428).
fn report_text(code: u16) -> &'static str {
    match code {
        200 => "Message received by the chat room",
        413 => "Recipient refused the message as too large",
        415 => "Recipient does not accept this content",
        428 => "Recipient does not support private messages",
        481 => "Recipient session no longer exists",
        _ => "Recipient did not accept the message",
    }
}

/// Writes REPORT `rep` into `ci`'s control ring; with `private = Some((from, to))` it carries
/// the Message/CPIM body of RFC 7701 §6.2 (example 17's layout) describing `code`.
pub(super) fn write_report(
    conns: &mut Slab<Conn>,
    events: &mut VecDeque<SwitchEvent>,
    ci: MsrpConnId,
    rep: &Request<'_>,
    private: Option<(&str, &str)>,
    code: u16,
) -> bool {
    let len = encoded_len(|c| emit_report(c, rep, private, code));
    control_write(conns, events, ci, len, |s| {
        emit_report(s, rep, private, code)
    })
}

/// Emits REPORT `rep`, bodiless or with the private-message CPIM body.
pub(super) fn emit_report<S: Sink + ?Sized>(
    sink: &mut S,
    rep: &Request<'_>,
    private: Option<(&str, &str)>,
    code: u16,
) {
    let Some((from, to)) = private else {
        return emit_request(sink, rep, None, Flag::Last);
    };
    let mut rep = *rep;
    rep.content_type = Some("message/cpim");
    let body: [&[u8]; 6] = [
        b"From: <",
        from.as_bytes(),
        b">\r\nTo: <",
        to.as_bytes(),
        b">\r\n\r\nContent-Type: text/plain\r\n\r\n",
        report_text(code).as_bytes(),
    ];
    emit_request(sink, &rep, Some(&body), Flag::Last);
}

impl Switch {
    /// A response arrived on `ci` (only recipients answer: the switch sends SENDs only as
    /// copies and notices). Non-2xx → the copy failed for that recipient.
    pub(super) fn recipient_response(
        &mut self,
        entropy: &mut dyn Entropy,
        ci: MsrpConnId,
        head: &Head,
        code: u16,
        comment: &str,
    ) {
        if self.bind_answered(ci, head.tid, code) {
            return;
        }
        if (200..300).contains(&code) {
            return;
        }
        let Some(rid) = self.session_on(ci, head.headers.to_path) else {
            log::debug!("msrp connection {}: response {code} for no session", ci.0);
            return;
        };
        let Some((tag, slot)) = slot_of_tid(head.tid, COPY_TID_LEN) else {
            return;
        };
        let Some(entry) = self.messages.get_mut(slot).filter(|e| e.tag_matches(tag)) else {
            return;
        };
        let before = entry.recipients.len();
        entry.recipients.retain(|r| r.pid != rid);
        if entry.recipients.len() == before {
            return;
        }
        self.counters.failed += 1;
        log::debug!(
            "participant {}: copy refused with {code}; no more chunks of it",
            rid.0
        );
        let (phase, sender, private_to) = (entry.phase, entry.sender, entry.private_to);
        // Failure-Report yes or partial asks for failure reports (RFC 4975 §7.2).
        let report = entry.failure_report != ReportMode::No;
        let remaining: Vec<_> = entry.recipients.iter().map(|r| r.pid).collect();
        if phase == Phase::Finished && remaining.is_empty() {
            self.messages.release(slot);
            return;
        }
        let (Some(target), true) = (private_to, report) else {
            return;
        };
        let uri_of = |id| self.participant(id).map(|p| p.uri.clone());
        let (Some(target_uri), Some(failed_uri)) = (uri_of(target), uri_of(rid)) else {
            return;
        };
        let still_reached = remaining
            .iter()
            .any(|r| uri_of(*r).is_some_and(|u| cpim::uri_eq(&u, &target_uri)));
        if cpim::uri_eq(&failed_uri, &target_uri) && !still_reached {
            let comment = if comment.is_empty() {
                "Failed"
            } else {
                comment
            };
            self.private_failure_report(entropy, slot, sender, &target_uri, code, comment);
        }
    }

    /// RFC 4975 §7.1.4 late failure of private message `slot` (example 17).
    fn private_failure_report(
        &mut self,
        entropy: &mut dyn Entropy,
        slot: super::fast_forward::MsgSlot,
        sender: crate::conference::ParticipantId,
        to_uri: &str,
        code: u16,
        comment: &str,
    ) {
        let Switch {
            parts,
            conns,
            events,
            messages,
            ..
        } = self;
        let (Some(entry), Some(p)) = (
            messages.get(slot),
            parts
                .get(index_of(sender))
                .filter(|p| p.id == sender && !p.departed),
        ) else {
            return;
        };
        let (Some(ci), Ok(mid)) = (p.conn, core::str::from_utf8(&entry.inbound_id)) else {
            return;
        };
        let mut tid = [0u8; COPY_TID_LEN];
        fill_ident(entropy, &mut tid);
        let tid = core::str::from_utf8(&tid).unwrap_or("");
        let mut rep = Request::new(tid, "REPORT", &p.peer_path, &p.path);
        rep.message_id = Some(mid);
        rep.byte_range = Some(ByteRange {
            start: 1,
            end: Some(entry.next.saturating_sub(1)),
            total: entry.total,
        });
        rep.status = Some(StatusHeader {
            namespace: 0,
            code,
            comment: Some(comment),
        });
        write_report(conns, events, ci, &rep, Some((&p.uri, to_uri)), code);
    }

    /// The session bound to `ci` whose switch-side URI is the first URI of `to_path`.
    fn session_on(
        &self,
        ci: MsrpConnId,
        to_path: Option<&str>,
    ) -> Option<crate::conference::ParticipantId> {
        let uri = MsrpUri::parse(first_uri(to_path?)?).ok()?;
        let conn = self.conns.get(ci.0)?;
        conn.sessions.iter().copied().find(|id| {
            self.participant(*id)
                .is_some_and(|p| p.session_id.as_slice() == uri.session_id.as_bytes())
        })
    }
}
