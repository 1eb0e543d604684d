//! Owns the SIP focus and the MSRP switch and routes events between them (RFC 7701 §5.2:
//! the focus tells the switch who joined and left; the switch tells the focus whose session
//! died). The shell's only entry point into the sans-IO core.

use ::core::net::SocketAddr;
use std::collections::VecDeque;

use crate::config::Config;
use crate::focus::{Focus, FocusConfig, FocusOutput, SipConnId, SipTransport};
use crate::rand::Entropy;
use crate::switch::{ConnRefusal, MsrpConnId, Switch, SwitchConfig, SwitchEvent, SwitchStats};
use crate::time::Instant;

/// What the engine asks the shell to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send one SIP message.
    SipSend { to: SipTransport, bytes: Vec<u8> },
    /// Close a SIP TCP connection after what was queued for it.
    SipClose(SipConnId),
    /// MSRP output is pending on this connection: drain `msrp_out`/`msrp_consumed`.
    MsrpWake(MsrpConnId),
    /// Close an MSRP connection after its pending output.
    MsrpClose(MsrpConnId),
    /// An MSRP connection whose input paused (`msrp_input` took fewer bytes than given)
    /// may be read again.
    MsrpResume(MsrpConnId),
    /// Open an MSRP connection to `addr` for `conn` (RFC 6135 §4.2: the switch is the active
    /// side), then call `msrp_connected` — or `msrp_closed` if it cannot be opened within
    /// `msrp_bind_timeout_ms`. Output may already be pending for it.
    MsrpConnect { conn: MsrpConnId, addr: SocketAddr },
}

/// The sans-IO core: focus + switch + the entropy source handed in by the shell.
pub struct Engine {
    focus: Focus,
    switch: Switch,
    entropy: Box<dyn Entropy>,
    outputs: VecDeque<Output>,
}

impl Engine {
    /// An engine for `config`, with the actual bound addresses (ephemeral ports resolved).
    pub fn new(
        config: &Config,
        sip_local: SocketAddr,
        msrp_local: SocketAddr,
        entropy: Box<dyn Entropy>,
    ) -> Self {
        let focus = Focus::new(FocusConfig {
            domain: config.domain.clone(),
            sip_local,
            limits: config.limits.clone(),
            admission: config.admission.clone(),
        });
        let switch = Switch::new(SwitchConfig {
            msrp_local,
            domain: config.domain.clone(),
            rooms: config.rooms.clone(),
            adhoc: config.allow_adhoc.then_some(config.default_policy),
            limits: config.limits.clone(),
            reserved_nicknames: config.reserved_nicknames.clone(),
        });
        Engine {
            focus,
            switch,
            entropy,
            outputs: VecDeque::new(),
        }
    }

    /// One SIP datagram.
    pub fn sip_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        self.focus
            .handle_udp(now, &mut self.switch, self.entropy.as_mut(), from, bytes);
        self.route(now);
    }

    /// A SIP TCP connection was accepted; `None` = refuse (close it).
    pub fn sip_tcp_opened(&mut self, now: Instant, peer: SocketAddr) -> Option<SipConnId> {
        self.focus.tcp_opened(now, peer)
    }

    /// Bytes from a SIP TCP connection.
    pub fn sip_tcp_input(&mut self, now: Instant, conn: SipConnId, bytes: &[u8]) {
        self.focus
            .handle_tcp(now, &mut self.switch, self.entropy.as_mut(), conn, bytes);
        self.route(now);
    }

    /// A SIP TCP connection is gone.
    pub fn sip_tcp_closed(&mut self, now: Instant, conn: SipConnId) {
        self.focus.tcp_closed(now, conn);
        self.route(now);
    }

    /// An MSRP connection was accepted; `Err` = refuse (close it), saying which limit.
    pub fn msrp_opened(
        &mut self,
        now: Instant,
        peer: SocketAddr,
    ) -> Result<MsrpConnId, ConnRefusal> {
        self.switch.conn_opened(now, peer)
    }

    /// Bytes from an MSRP connection; returns how many were taken. Fewer than all means
    /// its input is paused (issue 15 flow control): leave the rest unread in the socket,
    /// stop reading it, and hand it in again after `Output::MsrpResume` — the peer is then
    /// slowed by TCP itself.
    #[must_use = "bytes not taken must be handed in again after MsrpResume"]
    pub fn msrp_input(&mut self, now: Instant, conn: MsrpConnId, bytes: &[u8]) -> usize {
        let taken = self
            .switch
            .conn_input(now, self.entropy.as_mut(), conn, bytes);
        self.route(now);
        taken
    }

    /// Input of `conn` is paused (even if `msrp_input` took every byte: a bodiless request
    /// ends with its header block): stop reading it; after `Output::MsrpResume` call
    /// `msrp_input` again, with no bytes if none are waiting.
    pub fn msrp_input_paused(&self, conn: MsrpConnId) -> bool {
        self.switch.input_paused(conn)
    }

    /// A connection asked for with `Output::MsrpConnect` is established.
    pub fn msrp_connected(&mut self, now: Instant, conn: MsrpConnId) {
        self.switch.conn_connected(now, self.entropy.as_mut(), conn);
        self.route(now);
    }

    /// An MSRP connection is gone.
    pub fn msrp_closed(&mut self, now: Instant, conn: MsrpConnId) {
        self.switch.conn_closed(now, conn);
        self.route(now);
    }

    /// Pending output of an MSRP connection (two slices: ring wrap).
    pub fn msrp_out(&self, conn: MsrpConnId) -> [&[u8]; 2] {
        self.switch.out(conn)
    }

    /// Every byte queued for an MSRP connection (`msrp_out` shows only the part that is
    /// next).
    pub fn msrp_backlog(&self, conn: MsrpConnId) -> usize {
        self.switch.backlog(conn)
    }

    /// `n` bytes of `msrp_out` were written.
    pub fn msrp_consumed(&mut self, now: Instant, conn: MsrpConnId, n: usize) {
        self.switch.consumed(now, conn, n);
        self.route(now);
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.focus
            .handle_timeout(now, &mut self.switch, self.entropy.as_mut());
        self.switch.handle_timeout(now, self.entropy.as_mut());
        self.route(now);
    }

    /// The earliest instant `handle_timeout` has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.focus.poll_timeout(), self.switch.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next thing for the shell to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Graceful shutdown (SIGTERM): every participant gets a BYE and every subscription a
    /// terminating NOTIFY. Keep running the engine until `shutdown_complete` (or the
    /// `shutdown_grace_ms` limit), then exit.
    pub fn shutdown(&mut self, now: Instant) {
        self.focus
            .shutdown(now, &mut self.switch, self.entropy.as_mut());
        self.route(now);
    }

    /// After `shutdown`: every BYE / final NOTIFY transaction has finished.
    pub fn shutdown_complete(&self) -> bool {
        self.focus.shutdown_complete()
    }

    /// Switch counters.
    pub fn switch_stats(&self) -> SwitchStats {
        self.switch.stats()
    }

    /// The focus's per-source shares (issue 15).
    pub fn focus_shares(&self) -> crate::focus::FocusShares {
        self.focus.shares()
    }

    /// Live SIP dialogs.
    pub fn dialog_count(&self) -> usize {
        self.focus.dialog_count()
    }

    /// Moves focus outputs and switch events into the output queue; a participant the
    /// switch lost is handed to the focus (which BYEs it), whose outputs follow.
    fn route(&mut self, now: Instant) {
        loop {
            let mut progressed = false;
            while let Some(ev) = self.switch.poll_event() {
                progressed = true;
                match ev {
                    SwitchEvent::Wake(c) => self.outputs.push_back(Output::MsrpWake(c)),
                    SwitchEvent::Close(c) => self.outputs.push_back(Output::MsrpClose(c)),
                    SwitchEvent::Resume(c) => self.outputs.push_back(Output::MsrpResume(c)),
                    SwitchEvent::Connect(conn, addr) => {
                        self.outputs.push_back(Output::MsrpConnect { conn, addr })
                    }
                    SwitchEvent::ParticipantLost(p) => {
                        self.focus.participant_lost(now, self.entropy.as_mut(), p)
                    }
                    SwitchEvent::RosterChanged(p) => {
                        self.focus
                            .roster_changed(now, &self.switch, self.entropy.as_mut(), p)
                    }
                }
            }
            while let Some(out) = self.focus.poll_output() {
                progressed = true;
                self.outputs.push_back(match out {
                    FocusOutput::Send { to, bytes } => Output::SipSend { to, bytes },
                    FocusOutput::Close(c) => Output::SipClose(c),
                });
            }
            if !progressed {
                break;
            }
        }
    }
}
