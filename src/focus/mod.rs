//! The SIP conference focus (RFC 3261 subset; RFC 4579 isfocus; RFC 7701 §4, §5): answers
//! OPTIONS, admits INVITEs into rooms through [`Conference`], keeps dialogs, ends them on
//! BYE/CANCEL, and runs UDP server transactions (RFC 3261 §17.2) with timers from
//! `poll_timeout`.
//!
//! STUB: the public API below is the contract the engine and shell rely on.
#![allow(unused_variables, dead_code)]

use ::core::net::SocketAddr;

use crate::conference::{Conference, ParticipantId};
use crate::limits::Limits;
use crate::rand::Entropy;
use crate::time::Instant;

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
}

/// What the focus asks the shell to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FocusOutput {
    /// Send these bytes (one whole SIP message).
    Send { to: SipTransport, bytes: Vec<u8> },
    /// Close this TCP connection (after sending anything queued before this output).
    Close(SipConnId),
}

/// The focus state machine.
pub struct Focus {}

impl Focus {
    /// A focus with no dialogs.
    pub fn new(config: FocusConfig) -> Self {
        todo!()
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
        todo!()
    }

    /// A TCP connection was accepted from `peer`; `None` = over `max_sip_connections`,
    /// the shell closes it.
    pub fn tcp_opened(&mut self, now: Instant, peer: SocketAddr) -> Option<SipConnId> {
        todo!()
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
        todo!()
    }

    /// The peer closed (or the shell dropped) a SIP TCP connection.
    pub fn tcp_closed(&mut self, now: Instant, conn: SipConnId) {
        todo!()
    }

    /// The switch lost this participant (MSRP connection closed, bind timeout): send BYE
    /// in its dialog and forget the dialog. The switch has already freed it.
    pub fn participant_lost(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        id: ParticipantId,
    ) {
        todo!()
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        conf: &mut dyn Conference,
        entropy: &mut dyn Entropy,
    ) {
        todo!()
    }

    /// The earliest instant `handle_timeout` has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }

    /// The next thing for the shell to do.
    pub fn poll_output(&mut self) -> Option<FocusOutput> {
        todo!()
    }

    /// Live dialogs (for tests and footprint figures).
    pub fn dialog_count(&self) -> usize {
        todo!()
    }
}
