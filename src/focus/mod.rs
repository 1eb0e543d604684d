//! The SIP conference focus (RFC 3261 subset; RFC 4579 isfocus; RFC 7701 §4, §5; RFC 4575
//! conference event package): answers OPTIONS, admits INVITEs into rooms through
//! [`Conference`], keeps dialogs, ends them on BYE/CANCEL, serves roster subscriptions, and
//! runs UDP transactions (RFC 3261 §17) with timers from `poll_timeout`. Sans-IO: bytes in,
//! [`FocusOutput`]s out, `now` passed in.

pub mod auth;
mod connection;
mod dialog;
mod gate;
mod in_dialog;
mod invite;
mod notify;
mod offer_answer;
mod reply;
mod requests;
mod roster_xml;
mod subscription;
mod transaction;

#[cfg(test)]
mod tests;

use ::core::net::SocketAddr;
use std::collections::VecDeque;

use crate::conference::{Conference, ParticipantId};
use crate::limits::{most_per_key, Limits};
use crate::rand::{fill_ident, Entropy};
use crate::time::Instant;
use crate::wire::sip::SipLimits;

use connection::Connections;
pub use dialog::DialogId;
use dialog::{Dialog, Dialogs};
use subscription::Subscriptions;
use transaction::{lifetime, ClientPurpose, ClientTx, Retransmit, Transactions, TxTimerAction};

/// A SIP-over-TCP connection in the focus's slab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SipConnId(pub usize);

/// Where a SIP message goes or came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SipTransport {
    /// A datagram to/from this address.
    Udp(SocketAddr),
    /// A TCP connection the shell accepted.
    Tcp(SipConnId),
}

/// Static settings of the focus.
#[derive(Clone, Debug)]
pub struct FocusConfig {
    /// Domain of the room URIs (`sip:ROOM@DOMAIN`).
    pub domain: String,
    /// The SIP listen address (UDP and TCP), used in Contact and accepted as a
    /// Request-URI host.
    pub sip_local: SocketAddr,
    /// Capacities and timers.
    pub limits: Limits,
    /// Allow lists and digest users (RFC 7701 §5.2 policy; RFC 3261 §22).
    pub admission: crate::admission::Admission,
}

/// The largest share one source address holds of the focus's tables (issue 15).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FocusShares {
    /// Never above `max_subscriptions_per_source`.
    pub most_subscriptions_from_one_source: usize,
    /// SIP TCP connections holding a slot; never above `max_connections_per_source`.
    pub most_tcp_from_one_source: usize,
}

/// What the focus asks the shell to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FocusOutput {
    /// Send these bytes (one whole SIP message).
    Send { to: SipTransport, bytes: Vec<u8> },
    /// Close this TCP connection (after sending anything queued before this output). The
    /// focus keeps the connection's slot until the shell reports `tcp_closed`.
    Close(SipConnId),
}

/// Where one inbound message came from: its transport and the peer's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Source {
    pub transport: SipTransport,
    pub addr: SocketAddr,
}

/// Characters of a generated To-tag (≥ 64 bits, RFC 3261 §19.3).
const TAG_CHARS: usize = 12;
/// Characters after `z9hG4bK` in a generated branch.
const BRANCH_CHARS: usize = 12;

/// The focus state machine.
pub struct Focus {
    config: FocusConfig,
    sip_limits: SipLimits,
    txs: Transactions,
    dialogs: Dialogs,
    conns: Connections,
    subs: Subscriptions,
    outputs: VecDeque<FocusOutput>,
    /// Messages dropped without an answer (logged at warn the first time only).
    dropped: u64,
    /// Join order of dialogs (roster ordering, multi-device nickname choice).
    joins: u64,
    /// `shutdown` ran: new INVITEs and SUBSCRIBEs get 503.
    shutting_down: bool,
    /// Digest nonce secret and replay table, made on the first challenge.
    auth: Option<auth::Authenticator>,
}

impl Focus {
    /// A focus with no dialogs.
    pub fn new(config: FocusConfig) -> Self {
        Focus {
            sip_limits: SipLimits::from(&config.limits),
            config,
            txs: Transactions::default(),
            dialogs: Dialogs::default(),
            conns: Connections::default(),
            subs: Subscriptions::default(),
            outputs: VecDeque::new(),
            dropped: 0,
            joins: 0,
            shutting_down: false,
            auth: None,
        }
    }

    /// One UDP datagram from `from`.
    pub fn handle_udp(
        &mut self,
        now: Instant,
        conf: &mut dyn Conference,
        entropy: &mut dyn Entropy,
        from: SocketAddr,
        bytes: &[u8],
    ) {
        let src = Source {
            transport: SipTransport::Udp(from),
            addr: from,
        };
        self.on_message(now, conf, entropy, src, bytes);
    }

    /// A TCP connection was accepted from `peer`; `None` = over `max_sip_connections`,
    /// the shell closes it.
    pub fn tcp_opened(&mut self, now: Instant, peer: SocketAddr) -> Option<SipConnId> {
        self.open_connection(now, peer)
    }

    /// Bytes read from a SIP TCP connection (any split; Content-Length framing inside).
    pub fn handle_tcp(
        &mut self,
        now: Instant,
        conf: &mut dyn Conference,
        entropy: &mut dyn Entropy,
        conn: SipConnId,
        bytes: &[u8],
    ) {
        self.connection_input(now, conf, entropy, conn, bytes);
    }

    /// The peer closed (or the shell dropped) a SIP TCP connection.
    pub fn tcp_closed(&mut self, _now: Instant, conn: SipConnId) {
        self.connection_gone(conn);
    }

    /// The switch lost this participant (MSRP connection closed, bind timeout): send BYE
    /// in its dialog and forget the dialog. The switch has already freed it.
    pub fn participant_lost(&mut self, now: Instant, entropy: &mut dyn Entropy, id: ParticipantId) {
        match self.dialogs.of_participant(id) {
            Some(d) => self.end_dialog_with_bye(now, entropy, d),
            None => log::debug!("participant {id:?} lost without a dialog"),
        }
    }

    /// Something the roster shows changed for `id` (nickname, media bound): subscribers of
    /// its room get a partial NOTIFY (RFC 4575 §3.9; at most one per `notify_interval_ms`).
    /// The NOTIFY goes out from `handle_timeout` (the shell is asked at once through
    /// `poll_timeout`), so changes arriving together are merged.
    pub fn roster_changed(
        &mut self,
        _now: Instant,
        _conf: &dyn Conference,
        _entropy: &mut dyn Entropy,
        id: ParticipantId,
    ) {
        let Some(d) = self.dialogs.of_participant(id) else {
            log::debug!("roster change of {id:?} without a dialog");
            return;
        };
        if let Some(m) = self.dialogs.slab.get(d.0).map(|d| d.member.clone()) {
            self.mark_user_changed(&m.room, &m.user);
        }
    }

    /// SIGTERM: every subscription gets a terminating NOTIFY (`reason=noresource`), every
    /// dialog a BYE (the switch frees each participant); new INVITEs and SUBSCRIBEs get 503.
    pub fn shutdown(&mut self, now: Instant, conf: &mut dyn Conference, entropy: &mut dyn Entropy) {
        self.shutting_down = true;
        self.end_all_subscriptions(now, entropy);
        let ids: Vec<DialogId> = self.dialogs.slab.iter().map(|(i, _)| DialogId(i)).collect();
        for id in ids {
            // The participant stays in the switch (its MSRP connection open) until its BYE
            // is answered or times out; the shell's grace bounds the wait.
            if let Some(p) = self.end_dialog_with_bye_then_leave(now, entropy, id) {
                conf.leave(now, p);
            }
        }
    }

    /// After `shutdown`: no client transaction (BYE, NOTIFY) is still waiting for an answer.
    pub fn shutdown_complete(&self) -> bool {
        self.txs.clients.is_empty()
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        conf: &mut dyn Conference,
        entropy: &mut dyn Entropy,
    ) {
        let limits = self.config.limits.clone();
        for action in self.txs.run_timers(now, &limits) {
            match action {
                TxTimerAction::Resend { to, bytes } => {
                    self.outputs.push_back(FocusOutput::Send { to, bytes })
                }
                TxTimerAction::ClientTimedOut(ClientPurpose::Notify { serial }) => {
                    self.notify_answered(serial, None)
                }
                TxTimerAction::ClientTimedOut(ClientPurpose::Bye { leave_after }) => {
                    if let Some(p) = leave_after {
                        conf.leave(now, p);
                    }
                }
            }
        }
        self.run_subscription_timers(now, conf, entropy);
        let mut unacked = Vec::new();
        for (id, d) in self.dialogs.slab.iter_mut() {
            let Some(wait) = d.ack_wait.as_mut() else {
                continue;
            };
            if wait.give_up <= now {
                unacked.push(DialogId(id));
                continue;
            }
            if let Some(r) = wait.retransmit.as_mut().filter(|r| r.next <= now) {
                if !r.advance(now, &limits) {
                    wait.retransmit = None;
                }
                if let Some(to) = d.transport {
                    self.outputs.push_back(FocusOutput::Send {
                        to,
                        bytes: wait.response.clone(),
                    });
                }
            }
        }
        for id in unacked {
            if let Some(d) = self.dialogs.slab.get(id.0) {
                log::warn!("no ACK for the 2xx of call {}: ending it", d.call_id);
                conf.leave(now, d.participant);
            }
            self.end_dialog_with_bye(now, entropy, id);
        }
        self.close_idle_connections(now);
    }

    /// The earliest instant `handle_timeout` has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.txs.next_deadline(),
            self.dialogs.next_deadline(),
            self.conns.next_deadline(),
            self.subs.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next thing for the shell to do.
    pub fn poll_output(&mut self) -> Option<FocusOutput> {
        self.outputs.pop_front()
    }

    /// Live dialogs (for tests and footprint figures).
    pub fn dialog_count(&self) -> usize {
        self.dialogs.slab.len()
    }

    /// Removes a dialog and sends BYE in it (RFC 3261 §15.1.1), retransmitted over UDP
    /// (timer E) until a response or timer F.
    fn end_dialog_with_bye(&mut self, now: Instant, entropy: &mut dyn Entropy, id: DialogId) {
        let Some(dialog) = self.dialogs.slab.try_remove(id.0) else {
            return;
        };
        self.send_bye(now, entropy, dialog, None);
    }

    /// Ends dialog `id` with a BYE whose answer (or timeout) makes its participant leave
    /// the switch. Returns the participant when no BYE transaction could carry that: the
    /// caller makes it leave now.
    fn end_dialog_with_bye_then_leave(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        id: DialogId,
    ) -> Option<ParticipantId> {
        let dialog = self.dialogs.slab.try_remove(id.0)?;
        let participant = dialog.participant;
        (!self.send_bye(now, entropy, dialog, Some(participant))).then_some(participant)
    }

    /// Sends the BYE of a removed dialog; false if no transaction tracks it (no usable
    /// transport, or the table was full).
    fn send_bye(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        mut dialog: Dialog,
        leave_after: Option<ParticipantId>,
    ) -> bool {
        if !self.shutting_down {
            self.mark_user_changed(&dialog.member.room, &dialog.member.user);
        }
        let Some(to) = dialog.transport else {
            log::debug!("dialog {} has no usable transport for BYE", dialog.call_id);
            return false;
        };
        let branch = self.new_branch(entropy);
        let sent_by = self.config.sip_local.to_string();
        let bytes = dialog.bye(&branch, transport_token(to), &sent_by);
        let purpose = ClientPurpose::Bye { leave_after };
        self.start_client_tx(now, to, branch, bytes, purpose, dialog.proven)
    }

    /// Sends a request the focus originates and keeps its non-INVITE client transaction
    /// (RFC 3261 §17.1.2: timer E over UDP, timer F always). False if the transaction
    /// table was full and the request went out once, untracked.
    fn start_client_tx(
        &mut self,
        now: Instant,
        to: SipTransport,
        branch: String,
        bytes: Vec<u8>,
        purpose: ClientPurpose,
        proven: bool,
    ) -> bool {
        self.outputs.push_back(FocusOutput::Send {
            to,
            bytes: bytes.clone(),
        });
        // A finished server transaction only absorbs retransmissions; a request of ours
        // that must be retransmitted and answered matters more.
        if self.txs.full(&self.config.limits) && !self.txs.evict_oldest_finished() {
            if self.txs.full_warned {
                log::debug!("transaction table full: {purpose:?} sent once, untracked");
            } else {
                self.txs.full_warned = true;
                log::warn!(
                    "transaction table full: {purpose:?} sent once without retransmission \
                     (further ones logged at debug)"
                );
            }
            return false;
        }
        let retransmit = match to {
            SipTransport::Udp(_) => Retransmit::for_peer(now, &self.config.limits, proven),
            SipTransport::Tcp(_) => None,
        };
        let mut request = bytes;
        request.shrink_to_fit();
        self.txs.clients.insert(ClientTx {
            branch,
            purpose,
            transport: to,
            request,
            retransmit,
            expires: now + lifetime(&self.config.limits),
        });
        true
    }

    /// Live subscriptions (for tests).
    pub fn subscription_count(&self) -> usize {
        self.subs.slab.len()
    }

    /// The largest share one source address holds of the focus's tables now (issue 15;
    /// the engine fuzz target checks them against their limits).
    pub fn shares(&self) -> FocusShares {
        FocusShares {
            most_subscriptions_from_one_source: most_per_key(
                self.subs.slab.iter().map(|(_, s)| s.source),
            ),
            most_tcp_from_one_source: most_per_key(
                self.conns
                    .slab
                    .iter()
                    .filter(|(_, c)| !c.evicted)
                    .map(|(_, c)| c.peer.ip()),
            ),
        }
    }

    fn new_tag(&self, entropy: &mut dyn Entropy) -> String {
        let mut buf = [0u8; TAG_CHARS];
        fill_ident(entropy, &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    fn new_branch(&self, entropy: &mut dyn Entropy) -> String {
        let mut buf = [0u8; BRANCH_CHARS];
        fill_ident(entropy, &mut buf);
        format!("z9hG4bK{}", String::from_utf8_lossy(&buf))
    }

    /// Counts a message dropped without an answer; logs the first at warn, others at debug.
    fn log_dropped(&mut self, why: &str) {
        self.dropped += 1;
        if self.dropped == 1 {
            log::warn!("dropping unanswerable SIP message: {why} (further ones logged at debug)");
        } else {
            log::debug!("dropping unanswerable SIP message: {why}");
        }
    }
}

impl Focus {
    /// Our Contact for a dialog or subscription in `room` reached over `transport`
    /// (RFC 4579 §3: the focus marks itself with `isfocus`).
    fn focus_contact(&self, room: &str, transport: SipTransport) -> String {
        format!(
            "<sip:{room}@{};transport={}>;isfocus",
            self.config.sip_local,
            transport_token(transport).to_ascii_lowercase()
        )
    }
}

/// Where in-dialog requests to the sender of `h` go (RFC 3261 §12.1.1): its Contact URI,
/// or its From URI when it sent none.
fn remote_target_of(h: &crate::wire::sip::Headers<'_>, from_uri: &str) -> String {
    h.contact()
        .and_then(Result::ok)
        .map_or(from_uri, |c| c.uri)
        .to_owned()
}

/// The Via / `transport=` token of a transport.
fn transport_token(t: SipTransport) -> &'static str {
    match t {
        SipTransport::Udp(_) => "UDP",
        SipTransport::Tcp(_) => "TCP",
    }
}
