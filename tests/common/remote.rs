//! Driving a parlor that runs somewhere else — a board's binary inside a qemu-system guest
//! whose ports are forwarded to 127.0.0.1 — instead of one `Server::start` spawned here.
//! The guest's `a=path` (RFC 4975 §9) names the guest's own address, which the host cannot
//! reach; the MSRP connection goes to the local forward of that port instead.

use std::net::SocketAddr;
use std::time::Duration;

use super::msrp::{self, MsrpConn};
use super::participant::{Participant, Transport};
use super::{ident, STEP};

/// Where the remote server is: its SIP address (UDP and TCP) and, when its `a=path` is not
/// reachable from here, the local address that forwards to its MSRP port.
#[derive(Clone, Copy, Debug)]
pub struct RemoteServer {
    pub sip: SocketAddr,
    pub msrp_forward: Option<SocketAddr>,
}

impl RemoteServer {
    /// From `PARLOR_REMOTE_SIP=IP:PORT` and optional `PARLOR_REMOTE_MSRP=IP:PORT`; None
    /// when `PARLOR_REMOTE_SIP` is unset.
    pub fn from_env() -> Option<RemoteServer> {
        let sip = std::env::var("PARLOR_REMOTE_SIP").ok()?;
        let sip = sip.parse().expect("PARLOR_REMOTE_SIP is IP:PORT");
        let msrp_forward = std::env::var("PARLOR_REMOTE_MSRP")
            .ok()
            .map(|v| v.parse().expect("PARLOR_REMOTE_MSRP is IP:PORT"));
        Some(RemoteServer { sip, msrp_forward })
    }

    /// Joins as `sip:NAME@example.com` and binds the MSRP session through the forward.
    pub fn join(&self, transport: Transport, name: &str) -> Participant {
        let mut p = Participant::join(self.sip, transport, name);
        let addr = self.msrp_forward.unwrap_or_else(|| p.answer.msrp_addr());
        p.bind_at(addr);
        p
    }
}

/// A time limit scaled by `PARLOR_TEST_SLOWDOWN` (an integer factor, default 1) for
/// servers running under emulation.
pub fn scaled(base: Duration) -> Duration {
    let factor: u32 = std::env::var("PARLOR_TEST_SLOWDOWN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    base * factor.max(1)
}

impl Participant {
    /// Like `bind`, but connects to `addr` rather than the answer's `a=path` address; the
    /// SEND still carries the answer's path in To-Path. Asserts 200.
    pub fn bind_at(&mut self, addr: SocketAddr) {
        let mut conn = MsrpConn::connect(addr);
        let tid = ident(12);
        let req = msrp::bodiless_send(&tid, &self.answer.path, &self.local_path);
        conn.write(&req);
        let resp = conn
            .recv(scaled(STEP))
            .expect("response to the binding SEND");
        assert_eq!(resp.tid, tid);
        assert_eq!(resp.status, Some(200), "binding SEND answered {resp:?}");
        self.msrp = Some(conn);
    }
}
