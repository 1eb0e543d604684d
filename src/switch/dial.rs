//! The switch as the active MSRP endpoint (RFC 6135 §4.2, IMPL-7: the peer offered
//! `a=setup:passive`, typically from behind a NAT): the switch opens the TCP connection to
//! the leftmost URI of the peer's path (RFC 4975 §8.3-a; an IP literal, names are never
//! resolved), pre-binds the session to it, and sends a bodiless SEND first (RFC 4975 §5.4,
//! wire example 5) so the peer can match the connection to its session. A connection the
//! switch opened to the same address is reused for the next such session (RFC 4975 §5.4).

use core::net::SocketAddr;

use crate::conference::ParticipantId;
use crate::rand::{fill_ident, Entropy};
use crate::time::Instant;
use crate::wire::msrp::{emit_request, encoded_len, first_uri, ByteRange, Flag, MsrpUri, Request};

use super::connection::control_write;
use super::session::index_of;
use super::{MsrpConnId, Switch, SwitchEvent};

/// Transaction-id and Message-ID length of the binding SEND: 16 characters, ≥ 92 bits.
pub(super) const BIND_ID_LEN: usize = 16;

/// A connection the switch opens itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Dialed {
    /// Where it connects: the leftmost URI of the peer's path.
    pub(super) addr: SocketAddr,
    /// The shell reported the TCP connection established.
    pub(super) connected: bool,
}

/// The address to connect to for `peer_path`: its leftmost URI, `msrp` over `tcp` with a
/// literal IP and port. `None` for a host name (never resolved), `msrps` or another
/// transport.
pub(super) fn dial_addr(peer_path: &str) -> Option<SocketAddr> {
    let uri = MsrpUri::parse(first_uri(peer_path)?).ok()?;
    let plain_tcp =
        uri.scheme.eq_ignore_ascii_case("msrp") && uri.transport.eq_ignore_ascii_case("tcp");
    match (plain_tcp, uri.ip(), uri.port) {
        (true, Some(ip), Some(port)) if port != 0 => Some(SocketAddr::new(ip, port)),
        _ => None,
    }
}

impl Switch {
    /// Puts a just-admitted participant on a connection the switch opens (or reuses) to
    /// `addr` and queues its binding SEND. `false` = no connection slot or budget, or the
    /// SEND did not fit: the caller removes the participant.
    pub(super) fn link_dialed(
        &mut self,
        now: Instant,
        entropy: &mut dyn Entropy,
        id: ParticipantId,
        addr: SocketAddr,
    ) -> bool {
        let Some(ci) = self.dialed_to(addr).or_else(|| self.dial_conn(now, addr)) else {
            return false;
        };
        let up = self.conn_is_up(ci);
        let (Some(c), Some(p)) = (
            self.conns.get_mut(ci.0),
            self.parts.get_mut(index_of(id)).filter(|p| p.id == id),
        ) else {
            return false;
        };
        p.conn = Some(ci);
        p.bind_deadline = None;
        c.sessions.push(id);
        if !self.write_bind_send(entropy, id, ci) {
            return false;
        }
        if up {
            self.media_up(entropy, &[id]);
        }
        true
    }

    /// A connection the switch opened to `addr` that is still usable (RFC 4975 §5.4 reuse).
    fn dialed_to(&self, addr: SocketAddr) -> Option<MsrpConnId> {
        self.conns
            .iter()
            .find(|(_, c)| !c.closing && c.dialed.is_some_and(|d| d.addr == addr))
            .map(|(i, _)| MsrpConnId(i))
    }

    /// A new connection slot under the connection limit and the memory budget, and the
    /// `Connect` asking the shell to open it. Its bind timer bounds the connect.
    fn dial_conn(&mut self, now: Instant, addr: SocketAddr) -> Option<MsrpConnId> {
        let ci = self.open_conn(now, addr).ok()?;
        if let Some(c) = self.conns.get_mut(ci.0) {
            c.dialed = Some(Dialed {
                addr,
                connected: false,
            });
        }
        self.events.push_back(SwitchEvent::Connect(ci, addr));
        Some(ci)
    }

    /// Queues the bodiless SEND that binds `id`'s session on `ci` (wire example 5: To-Path =
    /// the peer's path, From-Path = ours, `Byte-Range: 1-0/0`, no Content-Type). It goes
    /// out before any of the session's copies: the control ring is served first.
    fn write_bind_send(
        &mut self,
        entropy: &mut dyn Entropy,
        id: ParticipantId,
        ci: MsrpConnId,
    ) -> bool {
        let mut tid = [0u8; BIND_ID_LEN];
        let mut mid = [0u8; BIND_ID_LEN];
        fill_ident(entropy, &mut tid);
        fill_ident(entropy, &mut mid);
        let Switch {
            parts,
            conns,
            events,
            ..
        } = self;
        let Some(p) = parts.get_mut(index_of(id)).filter(|p| p.id == id) else {
            return false;
        };
        let (Ok(t), Ok(m)) = (core::str::from_utf8(&tid), core::str::from_utf8(&mid)) else {
            return false;
        };
        let mut req = Request::new(t, "SEND", &p.peer_path, &p.path);
        req.message_id = Some(m);
        req.byte_range = Some(ByteRange {
            start: 1,
            end: Some(0),
            total: Some(0),
        });
        let len = encoded_len(|c| emit_request(c, &req, None, Flag::Last));
        let written = control_write(conns, events, ci, len, |s| {
            emit_request(s, &req, None, Flag::Last)
        });
        if written {
            p.bind_tid = Some(tid);
        }
        written
    }

    /// `conn_connected`: the shell opened `ci`; its sessions' media is up.
    pub(super) fn dialed_up(&mut self, entropy: &mut dyn Entropy, ci: MsrpConnId) {
        let Some(c) = self.conns.get_mut(ci.0).filter(|c| !c.closing) else {
            return;
        };
        let Some(d) = c.dialed.as_mut().filter(|d| !d.connected) else {
            return;
        };
        d.connected = true;
        c.bind_deadline = None;
        let sessions = c.sessions.clone();
        log::debug!("msrp connection {} to {} is up", ci.0, d.addr);
        self.media_up(entropy, &sessions);
        // The binding SEND (and maybe copies) waited for the connection: say so now.
        if let Some(c) = self.conns.get_mut(ci.0).filter(|c| c.current.is_some()) {
            c.wake_sent = true;
            self.events.push_back(SwitchEvent::Wake(ci));
        }
    }

    /// Sessions whose connection just came up: the roster shows them connected, and the
    /// RFC 7701 §11 notices go to the ones that are not chat-room aware.
    fn media_up(&mut self, entropy: &mut dyn Entropy, ids: &[ParticipantId]) {
        for &id in ids {
            if let Some(p) = self.participant_mut(id) {
                p.notice_due = !p.caps.chatroom_aware;
                self.events.push_back(SwitchEvent::RosterChanged(id));
            }
        }
        self.write_notices(entropy);
    }

    /// Media flows on `ci`: an accepted connection always, one the switch opens once the
    /// shell reports it connected.
    pub(super) fn conn_is_up(&self, ci: MsrpConnId) -> bool {
        self.conns
            .get(ci.0)
            .is_some_and(|c| c.dialed.is_none_or(|d| d.connected))
    }

    /// A response on `ci` to a binding SEND: `true` if it was one. A 2xx completes the
    /// binding; any other status means the peer has no such session: it is lost (BYE), and
    /// the connection closes once nothing else uses it.
    pub(super) fn bind_answered(&mut self, ci: MsrpConnId, tid: &str, code: u16) -> bool {
        let Some(c) = self.conns.get(ci.0) else {
            return false;
        };
        let Some(id) = c.sessions.iter().copied().find(|id| {
            self.participant(*id)
                .and_then(|p| p.bind_tid)
                .is_some_and(|t| t.as_slice() == tid.as_bytes())
        }) else {
            return false;
        };
        if let Some(p) = self.participant_mut(id) {
            p.bind_tid = None;
        }
        if !(200..300).contains(&code) {
            log::info!(
                "participant {}: peer answered the binding SEND with {code}; session lost",
                id.0
            );
            self.remove_participant(id, true);
            if self.conns.get(ci.0).is_some_and(|c| c.sessions.is_empty()) {
                self.close_conn(ci, "binding SEND refused");
            }
        }
        true
    }
}
