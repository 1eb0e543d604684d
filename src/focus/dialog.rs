//! Dialogs the focus holds, one per admitted participant (RFC 3261 §12 UAS side, §13.3.1.4
//! 2xx retransmission until ACK, §15 BYE): identification by Call-ID and tags, and the BYE
//! the focus sends when it ends a dialog itself (RFC 3261 §15.1.1).

use slab::Slab;

use crate::conference::{ChatCaps, ParticipantId};
use crate::time::Instant;
use crate::wire::sdp::Direction;
use crate::wire::sip::{emit_request, OutgoingRequest};

use super::offer_answer::AnswerBasis;
use super::transaction::Retransmit;
use super::SipTransport;

/// A dialog in the focus's slab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DialogId(pub usize);

/// RFC 3261 §8.1.1.6: the recommended initial Max-Forwards of a request.
pub(super) const INITIAL_MAX_FORWARDS: u32 = 70;

/// A 2xx to INVITE waiting for its ACK.
#[derive(Clone, Debug)]
pub(super) struct AckWait {
    /// CSeq number of the INVITE (the ACK carries the same).
    pub cseq: u32,
    /// The 2xx bytes, resent until the ACK comes.
    pub response: Vec<u8>,
    /// 2xx resend timer (UDP only).
    pub retransmit: Option<Retransmit>,
    /// 64·T1 after the 2xx: no ACK by then ends the dialog.
    pub give_up: Instant,
}

/// One dialog (UAS side).
#[derive(Clone, Debug)]
pub(super) struct Dialog {
    pub call_id: String,
    /// The participant's From tag.
    pub remote_tag: String,
    /// Our To tag.
    pub local_tag: String,
    /// The To value of the INVITE without tag (the room URI as addressed).
    pub local: String,
    /// The From value of the INVITE, tag included.
    pub remote: String,
    /// Where in-dialog requests go (the participant's Contact URI).
    pub remote_target: String,
    /// Where the INVITE came from; `None` once its TCP connection closed.
    pub transport: Option<SipTransport>,
    pub participant: ParticipantId,
    /// Our last CSeq number in this dialog.
    pub local_cseq: u32,
    /// The last SDP answer, resent with 2xx retransmissions.
    pub answer: Vec<u8>,
    /// What every answer in this dialog is built from (RFC 3264 §8 o= versions).
    pub basis: AnswerBasis,
    /// The 2xx carried the focus's offer (offerless INVITE, IMPL-25): the ACK must carry
    /// the answer.
    pub awaiting_answer: bool,
    /// The Contact header value of our 2xx.
    pub contact: String,
    pub ack_wait: Option<AckWait>,
    /// The peer has shown it receives at `transport` (an ACK carrying our tag, or a TCP
    /// connection): until then over UDP its address may be forged, and what we resend to
    /// it is bounded (issue 15, `unproven_udp_resends`).
    pub proven: bool,
    /// What the roster shows about this endpoint (RFC 4575).
    pub member: Member,
    /// What the last offer declared, to notice re-INVITE changes (RFC 7701 §8, IMPL-3).
    pub declared: Declared,
}

impl Dialog {
    /// Heap bytes the dialog holds in strings and messages (capacities), what
    /// `Limits::dialog_bytes` bounds beyond its overhead.
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        let strings = [
            &self.call_id,
            &self.remote_tag,
            &self.local_tag,
            &self.local,
            &self.remote,
            &self.remote_target,
            &self.contact,
            &self.basis.path,
            &self.member.room,
            &self.member.user,
            &self.member.display,
            &self.member.endpoint,
            &self.declared.accept_wrapped_types,
        ];
        strings.iter().map(|s| s.capacity()).sum::<usize>()
            + self.answer.capacity()
            + self.ack_wait.as_ref().map_or(0, |a| a.response.capacity())
    }
}

/// The roster's view of one dialog: which room, which user, which endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Member {
    /// Room name (user part of the room URI).
    pub room: String,
    /// The user's key: its AOR, or the anonymous URI the focus gave it (RFC 7701 §5.2).
    pub user: String,
    /// Display name shown (empty for anonymous users).
    pub display: String,
    /// The endpoint's key: the Contact URI, or the anonymous URI for anonymous users.
    pub endpoint: String,
    /// Join order; the earliest endpoint's nickname is the user's (see `subscription`).
    pub seq: u64,
}

/// The chat-relevant parts of an offer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Declared {
    pub caps: ChatCaps,
    pub accept_wrapped_types: String,
    pub max_size: Option<u64>,
    /// Its stream direction (IMPL-6).
    pub direction: Direction,
}

/// Every dialog.
#[derive(Debug, Default)]
pub(super) struct Dialogs {
    pub slab: Slab<Dialog>,
}

impl Dialogs {
    /// The dialog identified by Call-ID, the peer's tag and ours.
    pub fn find(&self, call_id: &str, remote_tag: &str, local_tag: &str) -> Option<DialogId> {
        self.slab
            .iter()
            .find(|(_, d)| {
                d.call_id == call_id && d.remote_tag == remote_tag && d.local_tag == local_tag
            })
            .map(|(id, _)| DialogId(id))
    }

    /// The dialog of a participant.
    pub fn of_participant(&self, pid: ParticipantId) -> Option<DialogId> {
        self.slab
            .iter()
            .find(|(_, d)| d.participant == pid)
            .map(|(id, _)| DialogId(id))
    }

    /// True if any dialog was set up over this transport.
    pub fn uses(&self, transport: SipTransport) -> bool {
        self.slab
            .iter()
            .any(|(_, d)| d.transport == Some(transport))
    }

    /// A TCP connection closed: its dialogs can no longer be reached through it.
    pub fn forget_transport(&mut self, transport: SipTransport) {
        for (_, d) in self.slab.iter_mut() {
            if d.transport == Some(transport) {
                d.transport = None;
            }
        }
    }

    /// The earliest 2xx resend or give-up deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slab
            .iter()
            .filter_map(|(_, d)| d.ack_wait.as_ref())
            .flat_map(|w| [Some(w.give_up), w.retransmit.map(|r| r.next)])
            .flatten()
            .min()
    }
}

impl Dialog {
    /// The BYE ending this dialog, with a fresh branch and the next local CSeq.
    pub fn bye(&mut self, branch: &str, via_transport: &str, via_sent_by: &str) -> Vec<u8> {
        self.local_cseq = self.local_cseq.saturating_add(1);
        let from = format!("{};tag={}", self.local, self.local_tag);
        emit_request(&OutgoingRequest {
            method: "BYE",
            uri: &self.remote_target,
            via_transport,
            via_sent_by,
            branch,
            from: &from,
            to: &self.remote,
            call_id: &self.call_id,
            cseq: self.local_cseq,
            max_forwards: INITIAL_MAX_FORWARDS,
            headers: &[],
            body: b"",
        })
    }
}
