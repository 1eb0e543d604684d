//! SIP over UDP (RFC 3261 §18.1, §18.2): one datagram in = one `sip_datagram` call; a
//! message out = one non-blocking `send_to` (a datagram the kernel cannot take now is
//! dropped: SIP over UDP retransmits).

use std::net::{SocketAddr, UdpSocket};
use std::rc::Rc;

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

/// Sends one SIP message as one datagram, without waiting.
pub(super) fn send(udp: &Async<UdpSocket>, to: SocketAddr, bytes: &[u8]) {
    match udp.get_ref().send_to(bytes, to) {
        Ok(n) if n == bytes.len() => {}
        Ok(n) => log::warn!("SIP UDP to {to}: sent {n} of {} bytes", bytes.len()),
        Err(e) => log::warn!("SIP UDP to {to}: {e}; message dropped"),
    }
}
