//! Garbage on every port (random bytes, a huge header line, half a request then close)
//! never affects a healthy session (RFC 3261 §18.3 framing, RFC 4975 §7 framing).

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};

use common::msrp::MsrpConn;
use common::participant::options;
use common::sip::SipClient;
use common::{noise, Participant, Server, Transport, STEP};

/// Connects, writes `bytes` (errors ignored: the server may close first), closes.
fn tcp_write_and_close(addr: SocketAddr, bytes: &[u8]) {
    if let Ok(mut s) = TcpStream::connect_timeout(&addr, STEP) {
        s.set_write_timeout(Some(STEP)).ok();
        let _ = s.write_all(bytes);
    }
}

/// A start line followed by one header line far longer than any limit.
fn huge_line(start: &str) -> Vec<u8> {
    let mut v = format!("{start}\r\nX-Huge: ").into_bytes();
    v.resize(v.len() + 256 * 1024, b'a');
    v
}

/// Sends a huge header line on a kept-open connection and expects the server to close it.
fn huge_line_is_closed(addr: SocketAddr, start: &str) {
    let mut conn = MsrpConn::connect(addr);
    conn.stream.set_write_timeout(Some(STEP)).ok();
    let _ = conn.stream.write_all(&huge_line(start));
    assert!(
        conn.closed_within(STEP),
        "{addr}: huge header line did not close the connection"
    );
}

#[test]
fn garbage_on_every_port_leaves_sessions_working() {
    let mut server = Server::start(&[]);
    let mut a = Participant::join_and_bind(server.sip, Transport::Udp, "alice");
    let mut b = Participant::join_and_bind(server.sip, Transport::Tcp, "bob");

    // SIP over UDP.
    let udp = UdpSocket::bind("127.0.0.1:0").expect("bind");
    for (seed, len) in [(1u64, 1usize), (2, 500), (3, 1400), (4, 9000)] {
        udp.send_to(&noise(seed, len), server.sip).expect("send");
    }
    udp.send_to(
        b"INVITE sip:lobby@localhost SIP/2.0\r\nVia: SIP/2.0/UDP",
        server.sip,
    )
    .expect("send");
    udp.send_to(
        &huge_line("OPTIONS sip:lobby@localhost SIP/2.0")[..60_000],
        server.sip,
    )
    .expect("send");

    // SIP over TCP.
    tcp_write_and_close(server.sip, &noise(5, 4096));
    tcp_write_and_close(
        server.sip,
        b"INVITE sip:lobby@localhost SIP/2.0\r\nVia: SIP/2.0/TCP 1",
    );
    tcp_write_and_close(
        server.sip,
        b"OPTIONS sip:lobby@localhost SIP/2.0\r\nContent-Length: 99999\r\n\r\nab",
    );
    huge_line_is_closed(server.sip, "OPTIONS sip:lobby@localhost SIP/2.0");

    // MSRP.
    tcp_write_and_close(server.msrp, &noise(6, 4096));
    tcp_write_and_close(
        server.msrp,
        b"MSRP a1b2c3d4 SEND\r\nTo-Path: msrp://127.0.0.1:1/x;tcp\r\n",
    );
    tcp_write_and_close(server.msrp, b"\r\n\r\n-------\r\nMSRP\r\n");
    huge_line_is_closed(server.msrp, "MSRP a1b2c3d4 SEND");

    assert!(server.is_running(), "server died on garbage");

    // The healthy session still works both ways.
    let (tid, _, body) = a.say(b"after the storm");
    assert_eq!(a.response_to(&tid).status, Some(200));
    assert_eq!(b.next_send(STEP).expect("B gets A's message").body, body);
    let (tid, _, body) = b.say(b"calm again");
    assert_eq!(b.response_to(&tid).status, Some(200));
    assert_eq!(a.next_send(STEP).expect("A gets B's message").body, body);

    // And the focus still answers.
    for mut probe in [SipClient::udp(server.sip), SipClient::tcp(server.sip)] {
        let req = options(&probe);
        probe.send(req.as_bytes());
        let resp = probe.final_response("OPTIONS");
        assert_eq!(resp.status(), Some(200), "OPTIONS answered {}", resp.start);
    }
}
