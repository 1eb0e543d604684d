//! Requests that act on a dialog or transaction the focus already has, rather than open
//! one (RFC 3261 §15.1.2 BYE, §17.2.1 and §13.2.2.4 ACK, §9.2 CANCEL), and the responses to
//! the focus's own BYEs and NOTIFYs (§17.1 client transactions). Dispatch is in
//! `requests.rs`.

use crate::conference::Conference;
use crate::rand::Entropy;
use crate::time::Instant;
use crate::wire::sip::{parse, Headers, Message, Method, StatusLine};

use super::reply::{Pending, Reply};
use super::transaction::{lifetime, ClientPurpose, ServerState, ServerTx, TxKey};
use super::{Focus, SipTransport, Source};

impl Focus {
    /// BYE: ends the dialog and the participant's membership (RFC 3261 §15.1.2).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn bye(
        &mut self,
        now: Instant,
        conf: &mut dyn Conference,
        entropy: &mut dyn Entropy,
        src: Source,
        pending: Pending,
        to_tag: Option<&str>,
        h: &Headers<'_>,
    ) {
        let found = match (to_tag, h.from(), h.call_id()) {
            (Some(tag), Ok(from), Ok(call_id)) => {
                self.dialogs
                    .find(call_id, from.tag().unwrap_or_default(), tag)
            }
            _ => None,
        };
        let Some(id) = found else {
            let reply = Reply::bare(481, "Call/Transaction Does Not Exist");
            return self.finish(now, entropy, src, pending, h, reply);
        };
        if let Some(d) = self.dialogs.slab.try_remove(id.0) {
            log::info!("BYE: {:?} leaves (call {})", d.participant, d.call_id);
            conf.leave(now, d.participant);
            self.mark_user_changed(&d.member.room, &d.member.user);
        }
        self.finish(now, entropy, src, pending, h, Reply::bare(200, "OK"));
    }

    /// ACK: ends a non-2xx INVITE transaction, or stops the 2xx retransmissions (and
    /// brings the answer when the 2xx carried the focus's offer, IMPL-25).
    pub(super) fn on_ack(
        &mut self,
        now: Instant,
        conf: &mut dyn Conference,
        entropy: &mut dyn Entropy,
        msg: &Message<'_>,
    ) {
        let h = &msg.headers;
        if let Some(key) = TxKey::of(h, Method::Ack) {
            if let Some(id) = self.txs.find_server(&key) {
                if self
                    .txs
                    .servers
                    .get(id)
                    .is_some_and(|t| t.state == ServerState::Completed)
                {
                    self.txs.servers.remove(id);
                    return;
                }
            }
        }
        let (Ok(from), Ok(to), Ok(call_id), Ok(cseq)) = (h.from(), h.to(), h.call_id(), h.cseq())
        else {
            return;
        };
        let (from_tag, to_tag) = (from.tag().unwrap_or_default(), to.tag().unwrap_or_default());
        let Some(id) = self.dialogs.find(call_id, from_tag, to_tag) else {
            log::debug!("ACK matching no dialog or transaction dropped");
            return;
        };
        let mut answer_due = false;
        if let Some(d) = self.dialogs.slab.get_mut(id.0) {
            // The ACK carries our To-tag, sent only to the dialog's address: it is proven.
            d.proven = true;
            if d.ack_wait.as_ref().is_some_and(|w| w.cseq == cseq.seq) {
                d.ack_wait = None;
                answer_due = d.awaiting_answer;
            }
        }
        if answer_due {
            self.ack_answer(now, conf, entropy, id, msg);
        }
    }

    /// CANCEL (RFC 3261 §9.2): 200 + 487 while the INVITE is pending, 200 once it is
    /// answered, 481 when no INVITE matches.
    pub(super) fn on_cancel(
        &mut self,
        now: Instant,
        conf: &mut dyn Conference,
        entropy: &mut dyn Entropy,
        src: Source,
        key: TxKey,
        h: &Headers<'_>,
    ) {
        let invite = TxKey::of(h, Method::Invite).and_then(|k| self.txs.find_server(&k));
        let Some(invite) = invite else {
            let reply = Reply::bare(481, "Call/Transaction Does Not Exist");
            return self.finish(now, entropy, src, Pending::NonInvite(key), h, reply);
        };
        let Some(tx) = self.txs.servers.get_mut(invite) else {
            return;
        };
        let proceeding = tx.state == ServerState::Proceeding;
        let request = std::mem::take(&mut tx.request);
        let dialog = tx.dialog.take();
        let to_tag = tx.to_tag.clone();
        // The CANCEL's response carries the INVITE's To-tag (RFC 3261 §9.2).
        let bytes = self.respond(src, h, 200, "OK", Some(&to_tag), &[], b"");
        if matches!(src.transport, SipTransport::Udp(_)) {
            self.txs.servers.insert(ServerTx {
                key,
                source: src,
                state: ServerState::Completed,
                response: bytes,
                request: Vec::new(),
                to_tag,
                dialog: None,
                retransmit: None,
                expires: now + lifetime(&self.config.limits),
            });
        }
        if !proceeding {
            return;
        }
        if let Some(d) = dialog.and_then(|d| self.dialogs.slab.try_remove(d.0)) {
            conf.leave(now, d.participant);
            self.mark_user_changed(&d.member.room, &d.member.user);
        }
        match parse(&request, &self.sip_limits) {
            Ok(invite_msg) => {
                let reply = Reply::bare(487, "Request Terminated");
                self.finish(
                    now,
                    entropy,
                    src,
                    Pending::Invite(invite),
                    &invite_msg.headers,
                    reply,
                );
            }
            Err(_) => {
                self.txs.servers.try_remove(invite);
            }
        }
    }

    /// A response to a request the focus sent (BYE, NOTIFY).
    pub(super) fn on_response(
        &mut self,
        now: Instant,
        conf: &mut dyn Conference,
        sl: StatusLine<'_>,
        h: &Headers<'_>,
    ) {
        let branch = h.top_via().ok().and_then(|v| v.branch());
        let Some(id) = branch.and_then(|b| self.txs.find_client(b)) else {
            log::debug!(
                "response {} matching no client transaction dropped",
                sl.code
            );
            return;
        };
        if sl.code >= 200 {
            let tx = self.txs.clients.remove(id);
            match tx.purpose {
                ClientPurpose::Notify { serial } => self.notify_answered(serial, Some(sl.code)),
                ClientPurpose::Bye {
                    leave_after: Some(p),
                } => conf.leave(now, p),
                ClientPurpose::Bye { leave_after: None } => {}
            }
        } else if let Some(t) = self.txs.clients.get_mut(id) {
            let t2 = self.config.limits.t2();
            if let Some(r) = t.retransmit.as_mut() {
                r.interval = t2;
            }
        }
    }
}
