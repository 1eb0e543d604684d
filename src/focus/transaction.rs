//! SIP transactions of the focus (RFC 3261 §17.2 server, §17.1.2 non-INVITE client for
//! BYE; RFC 6026 Accepted state): matching keys (§17.2.3, including the RFC 2543
//! fallback), stored responses for absorbing retransmitted requests, and the retransmission
//! and lifetime timers (G, H, J, E, F; all 64·T1 lifetimes) as plain deadlines.

use slab::Slab;

use crate::conference::ParticipantId;
use crate::limits::Limits;
use crate::time::{Duration, Instant};
use crate::wire::sip::{Headers, Method};

use super::{DialogId, SipTransport, Source};

/// RFC 3261 §17: timers B, F, H, J and the 2xx give-up (§13.3.1.4) all last 64·T1.
pub(super) const TIMER_LIFETIME_T1S: u32 = 64;

/// 64·T1 for these limits.
pub(super) fn lifetime(limits: &Limits) -> Duration {
    limits.t1().saturating_mul(TIMER_LIFETIME_T1S)
}

/// A doubling retransmission interval capped at T2 (timers G, E and the 2xx resend).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Retransmit {
    pub next: Instant,
    pub interval: Duration,
    /// Resends still allowed; `None` = until the transaction ends (RFC 3261). Set for a
    /// UDP address that has not proven it asked (issue 15, `unproven_udp_resends`).
    pub left: Option<usize>,
}

impl Retransmit {
    /// First resend one T1 after `now`, then on the RFC 3261 schedule until the
    /// transaction ends: for a peer that has already answered us in this exchange.
    pub fn starting(now: Instant, limits: &Limits) -> Self {
        Retransmit {
            next: now + limits.t1(),
            interval: limits.t1(),
            left: None,
        }
    }

    /// The same schedule, but at most `unproven_udp_resends` resends: for a UDP address
    /// that has not answered anything we sent it in this exchange, which a third party may
    /// have forged to make us flood it (issue 15, UDP reflection). `None` when no resend is
    /// allowed at all.
    pub fn unproven(now: Instant, limits: &Limits) -> Option<Self> {
        (limits.unproven_udp_resends > 0).then(|| Retransmit {
            left: Some(limits.unproven_udp_resends),
            ..Retransmit::starting(now, limits)
        })
    }

    /// The schedule for a peer proven or not.
    pub fn for_peer(now: Instant, limits: &Limits, proven: bool) -> Option<Self> {
        if proven {
            Some(Retransmit::starting(now, limits))
        } else {
            Retransmit::unproven(now, limits)
        }
    }

    /// After a resend at `now`: the interval doubles up to T2. False when that was the
    /// last resend allowed (the caller drops the timer).
    #[must_use]
    pub fn advance(&mut self, now: Instant, limits: &Limits) -> bool {
        self.interval = self.interval.saturating_mul(2).min(limits.t2());
        self.next = now + self.interval;
        match self.left.as_mut() {
            None => true,
            Some(n) => {
                *n = n.saturating_sub(1);
                *n > 0
            }
        }
    }
}

/// How a server transaction is identified (RFC 3261 §17.2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TxKey {
    /// Branch with the `z9hG4bK` cookie + sent-by + method (ACK counts as INVITE).
    Branch {
        branch: String,
        sent_by: String,
        method: String,
    },
    /// RFC 2543 peers: Call-ID, CSeq number, From tag, the whole top Via, method.
    Legacy {
        call_id: String,
        cseq: u32,
        from_tag: String,
        via: String,
        method: String,
    },
}

impl TxKey {
    /// The key of a request, as if its method were `method` (ACK → INVITE). `None` when
    /// Via, Call-ID or CSeq are unusable.
    pub fn of(headers: &Headers<'_>, method: Method<'_>) -> Option<TxKey> {
        let via = headers.top_via().ok()?;
        let method = match method {
            Method::Ack => "INVITE".to_owned(),
            m => m.as_str().to_owned(),
        };
        if via.has_rfc3261_branch() {
            let port = via.port.map(|p| format!(":{p}")).unwrap_or_default();
            return Some(TxKey::Branch {
                branch: via.branch().unwrap_or_default().to_owned(),
                sent_by: format!("{}{port}", via.host.to_ascii_lowercase()),
                method,
            });
        }
        Some(TxKey::Legacy {
            call_id: headers.call_id().ok()?.to_owned(),
            cseq: headers.cseq().ok()?.seq,
            from_tag: headers
                .from()
                .ok()
                .and_then(|f| f.tag().map(str::to_owned))
                .unwrap_or_default(),
            via: via.raw.to_owned(),
            method,
        })
    }
}

/// Where a server transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ServerState {
    /// INVITE: 100 sent, no final response yet (CANCEL can still end it).
    Proceeding,
    /// Final non-2xx INVITE response (waits for ACK) or any non-INVITE final response.
    Completed,
    /// INVITE answered 2xx: absorbs retransmitted INVITEs until 64·T1 (RFC 6026).
    Accepted,
}

/// One server transaction.
#[derive(Clone, Debug)]
pub(super) struct ServerTx {
    pub key: TxKey,
    /// Where the request came from and responses go.
    pub source: Source,
    pub state: ServerState,
    /// The last response sent, resent on every retransmitted request.
    pub response: Vec<u8>,
    /// INVITE only: the request itself while Proceeding (to build a 487 on CANCEL).
    pub request: Vec<u8>,
    /// Our To-tag for this transaction's responses.
    pub to_tag: String,
    /// The dialog this INVITE created, if any.
    pub dialog: Option<DialogId>,
    /// Timer G (UDP, Completed INVITE).
    pub retransmit: Option<Retransmit>,
    /// Timer H / J / L / the Proceeding guard: the transaction is forgotten then.
    pub expires: Instant,
}

/// What a client transaction carries, so its outcome reaches the right place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ClientPurpose {
    /// A BYE ending a dialog. `leave_after`: the participant whose switch session is ended
    /// only once the BYE is answered or times out (shutdown: its MSRP connection stays
    /// open until its user agent knows the dialog is over, so it never sees the drop
    /// first and answers with a BYE of its own).
    Bye { leave_after: Option<ParticipantId> },
    /// A NOTIFY of the subscription with this serial (RFC 6665 §4.2.2: a 481, 408 or no
    /// answer ends the subscription).
    Notify { serial: u64 },
}

/// A BYE or NOTIFY the focus sent (non-INVITE client transaction, RFC 3261 §17.1.2).
#[derive(Clone, Debug)]
pub(super) struct ClientTx {
    pub branch: String,
    pub purpose: ClientPurpose,
    pub transport: SipTransport,
    pub request: Vec<u8>,
    /// Timer E (UDP only).
    pub retransmit: Option<Retransmit>,
    /// Timer F.
    pub expires: Instant,
}

/// Both transaction tables under one capacity (`max_sip_transactions`).
#[derive(Debug, Default)]
pub(super) struct Transactions {
    pub servers: Slab<ServerTx>,
    pub clients: Slab<ClientTx>,
    /// "Table full" was logged at warn since the table last had room (later: debug).
    pub full_warned: bool,
}

/// What a due timer asks the focus to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TxTimerAction {
    Resend {
        to: SipTransport,
        bytes: Vec<u8>,
    },
    /// Timer F fired: the request was never answered.
    ClientTimedOut(ClientPurpose),
}

impl Transactions {
    /// Transactions alive.
    pub fn len(&self) -> usize {
        self.servers.len() + self.clients.len()
    }

    /// Heap bytes the tables hold in messages and key strings (capacities, not lengths),
    /// what `Limits::sip_transaction_bytes` bounds per entry beyond its overhead.
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        let key = |k: &TxKey| match k {
            TxKey::Branch {
                branch,
                sent_by,
                method,
            } => branch.capacity() + sent_by.capacity() + method.capacity(),
            TxKey::Legacy {
                call_id,
                from_tag,
                via,
                method,
                ..
            } => call_id.capacity() + from_tag.capacity() + via.capacity() + method.capacity(),
        };
        let servers: usize = self
            .servers
            .iter()
            .map(|(_, t)| {
                key(&t.key) + t.response.capacity() + t.request.capacity() + t.to_tag.capacity()
            })
            .sum();
        let clients: usize = self
            .clients
            .iter()
            .map(|(_, t)| t.branch.capacity() + t.request.capacity())
            .sum();
        servers + clients
    }

    /// True if another transaction would exceed `max_sip_transactions`.
    pub fn full(&self, limits: &Limits) -> bool {
        self.len() >= limits.max_sip_transactions
    }

    /// Drops the finished (Completed/Accepted) server transaction that expires first; it
    /// only absorbs retransmissions. False when every transaction is still pending.
    pub fn evict_oldest_finished(&mut self) -> bool {
        let oldest = self
            .servers
            .iter()
            .filter(|(_, t)| t.state != ServerState::Proceeding)
            .min_by_key(|(_, t)| t.expires)
            .map(|(id, _)| id);
        match oldest {
            Some(id) => {
                self.servers.remove(id);
                true
            }
            None => false,
        }
    }

    /// The server transaction with this key.
    pub fn find_server(&self, key: &TxKey) -> Option<usize> {
        self.servers
            .iter()
            .find(|(_, t)| &t.key == key)
            .map(|(id, _)| id)
    }

    /// The client transaction whose branch is `branch`.
    pub fn find_client(&self, branch: &str) -> Option<usize> {
        self.clients
            .iter()
            .find(|(_, t)| t.branch == branch)
            .map(|(id, _)| id)
    }

    /// Drops every transaction bound to a TCP connection that is gone.
    pub fn forget_transport(&mut self, transport: SipTransport) {
        self.servers.retain(|_, t| t.source.transport != transport);
        self.clients.retain(|_, t| t.transport != transport);
    }

    /// The earliest deadline of any transaction.
    pub fn next_deadline(&self) -> Option<Instant> {
        let servers = self
            .servers
            .iter()
            .flat_map(|(_, t)| [Some(t.expires), t.retransmit.map(|r| r.next)]);
        let clients = self
            .clients
            .iter()
            .flat_map(|(_, t)| [Some(t.expires), t.retransmit.map(|r| r.next)]);
        servers.chain(clients).flatten().min()
    }

    /// Runs the timers due at `now`: resends (G, E) and expiries (H, J, L, F).
    pub fn run_timers(&mut self, now: Instant, limits: &Limits) -> Vec<TxTimerAction> {
        let mut actions = Vec::new();
        self.servers.retain(|_, t| {
            if t.expires <= now {
                let method = match &t.key {
                    TxKey::Branch { method, .. } | TxKey::Legacy { method, .. } => method,
                };
                if t.state == ServerState::Completed && method == "INVITE" {
                    log::debug!("INVITE transaction timed out without ACK (timer H)");
                }
                return false;
            }
            if let Some(r) = t.retransmit.as_mut().filter(|r| r.next <= now) {
                if !r.advance(now, limits) {
                    t.retransmit = None;
                }
                actions.push(TxTimerAction::Resend {
                    to: t.source.transport,
                    bytes: t.response.clone(),
                });
            }
            true
        });
        self.clients.retain(|_, t| {
            if t.expires <= now {
                log::debug!("no response to {:?} {} (timer F)", t.purpose, t.branch);
                actions.push(TxTimerAction::ClientTimedOut(t.purpose));
                return false;
            }
            if let Some(r) = t.retransmit.as_mut().filter(|r| r.next <= now) {
                if !r.advance(now, limits) {
                    t.retransmit = None;
                }
                actions.push(TxTimerAction::Resend {
                    to: t.transport,
                    bytes: t.request.clone(),
                });
            }
            true
        });
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::sip::{parse, SipLimits};

    fn headers_of(bytes: &[u8]) -> Headers<'_> {
        parse(bytes, &SipLimits::from(&Limits::default()))
            .unwrap()
            .headers
    }

    #[test]
    fn retransmit_doubles_to_t2() {
        let limits = Limits::default();
        let mut r = Retransmit::starting(Instant::ZERO, &limits);
        let mut gaps = vec![r.interval.as_millis()];
        let mut now = r.next;
        for _ in 0..5 {
            assert!(r.advance(now, &limits));
            gaps.push(r.interval.as_millis());
            now = r.next;
        }
        assert_eq!(gaps, [500, 1000, 2000, 4000, 4000, 4000]);
    }

    #[test]
    fn unproven_peers_get_a_bounded_number_of_resends() {
        let limits = Limits {
            unproven_udp_resends: 2,
            ..Limits::default()
        };
        let mut r = Retransmit::unproven(Instant::ZERO, &limits).unwrap();
        let now = r.next;
        assert!(r.advance(now, &limits), "first resend, one more allowed");
        let now = r.next;
        assert!(!r.advance(now, &limits), "second resend was the last");
        let none = Limits {
            unproven_udp_resends: 0,
            ..Limits::default()
        };
        assert_eq!(Retransmit::unproven(Instant::ZERO, &none), None);
        assert_eq!(
            Retransmit::for_peer(Instant::ZERO, &limits, true).map(|r| r.left),
            Some(None)
        );
    }

    #[test]
    fn a_table_of_unproven_resends_stops_after_the_cap() {
        let limits = Limits::default();
        let mut txs = Transactions::default();
        txs.clients.insert(ClientTx {
            branch: "z9hG4bKa".into(),
            purpose: ClientPurpose::Notify { serial: 1 },
            transport: SipTransport::Udp("127.0.0.1:9".parse().unwrap()),
            request: b"NOTIFY".to_vec(),
            retransmit: Retransmit::unproven(Instant::ZERO, &limits),
            expires: Instant::ZERO + lifetime(&limits),
        });
        let mut resends = 0;
        let mut now = Instant::ZERO;
        while now < Instant::ZERO + lifetime(&limits) {
            now = now + Duration::from_millis(100);
            resends += txs
                .run_timers(now, &limits)
                .iter()
                .filter(|a| matches!(a, TxTimerAction::Resend { .. }))
                .count();
        }
        assert_eq!(resends, limits.unproven_udp_resends);
    }

    #[test]
    fn keys_branch_and_legacy() {
        let a = b"INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP H.example:5060;branch=z9hG4bKx\r\n\r\n";
        let ack = b"ACK sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h.example:5060;branch=z9hG4bKx\r\n\r\n";
        let ka = TxKey::of(&headers_of(a), Method::Invite).unwrap();
        let kack = TxKey::of(&headers_of(ack), Method::Ack).unwrap();
        assert_eq!(ka, kack);
        let kcancel = TxKey::of(&headers_of(ack), Method::Cancel).unwrap();
        assert_ne!(ka, kcancel);
        let legacy = b"BYE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=old\r\n\
            From: <sip:a@b>;tag=f\r\nCall-ID: c\r\nCSeq: 4 BYE\r\n\r\n";
        match TxKey::of(&headers_of(legacy), Method::Bye).unwrap() {
            TxKey::Legacy {
                call_id,
                cseq,
                from_tag,
                ..
            } => assert_eq!((call_id.as_str(), cseq, from_tag.as_str()), ("c", 4, "f")),
            other => panic!("{other:?}"),
        }
        let no_via = b"BYE sip:x SIP/2.0\r\nCall-ID: c\r\n\r\n";
        assert_eq!(TxKey::of(&headers_of(no_via), Method::Bye), None);
    }
}
