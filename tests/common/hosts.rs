//! Distinct loopback hosts (127.0.0.x) for the issue 15 per-source tests: UDP and TCP
//! sockets bound to a chosen loopback address before they talk to the server, so the
//! server sees several source addresses on one machine.

use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};

use rustix::net::{AddressFamily, SocketType};

use super::msrp::{self, MsrpConn};
use super::participant::{sdp_offer, Participant, Transport};
use super::sip::{SipClient, SipMessage};
use super::{ident, STEP};

/// The loopback address `127.0.0.n`.
pub fn host(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

/// A TCP connection to `to` from `from` (any port). Blocking connect: loopback answers
/// at once, or refuses.
pub fn tcp_from(from: IpAddr, to: SocketAddr) -> TcpStream {
    let fd =
        rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None).expect("TCP socket");
    rustix::net::bind(&fd, &SocketAddr::new(from, 0)).expect("bind a loopback address");
    rustix::net::connect(&fd, &to).expect("connect");
    let stream = TcpStream::from(fd);
    stream.set_read_timeout(Some(STEP)).expect("read timeout");
    stream
}

/// A SIP client over UDP or TCP from `from`.
pub fn sip_from(from: IpAddr, server: SocketAddr, transport: Transport) -> SipClient {
    match transport {
        Transport::Udp => SipClient::over_udp(
            UdpSocket::bind(SocketAddr::new(from, 0)).expect("bind UDP"),
            server,
        ),
        Transport::Tcp => SipClient::over_tcp(tcp_from(from, server), server),
    }
}

/// An MSRP connection to `to` from `from`.
pub fn msrp_from(from: IpAddr, to: SocketAddr) -> MsrpConn {
    MsrpConn::from_stream(tcp_from(from, to))
}

/// INVITE from `from` as `sip:NAME@example.com`; the final response when it is not 200.
pub fn join_from(
    from: IpAddr,
    server: SocketAddr,
    transport: Transport,
    name: &str,
) -> Result<Participant, SipMessage> {
    let sip = sip_from(from, server, transport);
    let path = format!("msrp://{from}:9/{};tcp", ident(16));
    let sdp = sdp_offer(name, &path, "active", Some("nickname private-messages"));
    Participant::join_over(sip, &format!("sip:{name}@example.com"), &path, &sdp)
}

/// The status of `p`'s binding SEND (bodiless, RFC 4975 §7.3.1) written on `conn`.
pub fn bind_send(p: &Participant, conn: &mut MsrpConn) -> Option<u16> {
    let tid = ident(12);
    let req = msrp::bodiless_send(&tid, &p.answer.path, &p.local_path);
    conn.write(&req);
    conn.recv(STEP).and_then(|r| r.status)
}

/// Binds `p` over `conn` and keeps the connection in `p` when it answers 200.
pub fn bind_over(p: &mut Participant, mut conn: MsrpConn) -> Option<u16> {
    let status = bind_send(p, &mut conn);
    if status == Some(200) {
        p.msrp = Some(conn);
    }
    status
}
