//! SIP over UDP (RFC 3261 §18.1, §18.2): one datagram in = one `sip_datagram` call; a
//! message out = one non-blocking `send_to` (a datagram the kernel cannot take now is
//! dropped: SIP over UDP retransmits).

use std::net::{SocketAddr, UdpSocket};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_io::Async;

use super::run::Shell;

/// Receives datagrams forever and feeds them to the engine.
pub(super) async fn receive_loop(shell: Rc<Shell>) {
    // One byte more than the largest accepted message, so the focus sees oversize ones
    // as oversize rather than silently truncated to the limit.
    let mut buf = vec![0u8; shell.limits.max_sip_message_bytes.saturating_add(1)];
    loop {
        match shell.udp.recv_from(&mut buf).await {
            Ok((n, from)) => {
                let datagram = buf.get(..n).unwrap_or_default();
                shell.with_engine(|engine, now| engine.sip_datagram(now, from, datagram));
            }
            Err(e) => {
                // E.g. an ICMP error reported on the socket: one datagram's problem.
                log::debug!("SIP UDP receive error: {e}");
                smol::future::yield_now().await;
            }
        }
    }
}

/// Datagrams that could not be sent whole; the first is logged at warn, the rest at debug
/// (a full socket buffer under load would otherwise log every message).
// usize, not u64: 32-bit MIPS has no 64-bit atomics.
static SEND_FAILURES: AtomicUsize = AtomicUsize::new(0);

/// Sends one SIP message as one datagram, without waiting.
pub(super) fn send(udp: &Async<UdpSocket>, to: SocketAddr, bytes: &[u8]) {
    let why = match udp.get_ref().send_to(bytes, to) {
        Ok(n) if n == bytes.len() => return,
        Ok(n) => format!("sent {n} of {} bytes", bytes.len()),
        Err(e) => format!("{e}; message dropped"),
    };
    if SEND_FAILURES.fetch_add(1, Ordering::Relaxed) == 0 {
        log::warn!("SIP UDP to {to}: {why} (further send failures logged at debug)");
    } else {
        log::debug!("SIP UDP to {to}: {why}");
    }
}
