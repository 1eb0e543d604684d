//! A raw SIP test client (RFC 3261 §7, §18) over UDP or TCP: sends whole messages, reads
//! whole messages (Content-Length framing on TCP), with timeouts.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// A parsed SIP message.
#[derive(Clone, Debug)]
pub struct SipMessage {
    /// `SIP/2.0 200 OK` or `BYE sip:... SIP/2.0`.
    pub start: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The whole message as received.
    pub raw: Vec<u8>,
}

impl SipMessage {
    /// Parses one complete message; `None` if it is not one.
    pub fn parse(raw: &[u8]) -> Option<SipMessage> {
        let end = find(raw, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&raw[..end]).ok()?;
        let mut lines = head.split("\r\n");
        let start = lines.next()?.to_string();
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line.split_once(':')?;
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        let body = raw[end + 4..].to_vec();
        Some(SipMessage {
            start,
            headers,
            body,
            raw: raw.to_vec(),
        })
    }

    /// The status code of a response, `None` for a request.
    pub fn status(&self) -> Option<u16> {
        let rest = self.start.strip_prefix("SIP/2.0 ")?;
        rest.get(..3)?.parse().ok()
    }

    /// The method of a request, `None` for a response.
    pub fn method(&self) -> Option<&str> {
        if self.start.starts_with("SIP/2.0") {
            None
        } else {
            self.start.split(' ').next()
        }
    }

    /// The first header named `name` (case-insensitive; compact forms not handled).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The method named in CSeq.
    pub fn cseq_method(&self) -> Option<&str> {
        self.header("CSeq")?.split_whitespace().nth(1)
    }

    /// The body as text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The `tag` parameter of a From/To value.
pub fn tag_of(value: &str) -> Option<String> {
    let after = value.rsplit_once('>').map_or(value, |(_, p)| p);
    after
        .split(';')
        .find_map(|p| p.trim().strip_prefix("tag="))
        .map(str::to_string)
}

/// The URI inside `<...>` of a Contact/From/To value (or the value up to `;`).
pub fn uri_of(value: &str) -> String {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => value[a + 1..b].to_string(),
        _ => value.split(';').next().unwrap_or(value).trim().to_string(),
    }
}

/// Byte offset of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One SIP transport towards the server.
pub enum SipSocket {
    Udp(UdpSocket),
    Tcp { stream: TcpStream, buf: Vec<u8> },
}

/// A SIP client bound to one local socket, talking to one server address.
pub struct SipClient {
    pub socket: SipSocket,
    pub server: SocketAddr,
    pub local: SocketAddr,
}

impl SipClient {
    pub fn udp(server: SocketAddr) -> SipClient {
        // The loopback address of the server's family.
        let loopback = if server.is_ipv6() {
            "[::1]:0"
        } else {
            "127.0.0.1:0"
        };
        SipClient::over_udp(UdpSocket::bind(loopback).expect("bind UDP"), server)
    }

    pub fn tcp(server: SocketAddr) -> SipClient {
        let stream = TcpStream::connect_timeout(&server, super::STEP).expect("connect SIP TCP");
        SipClient::over_tcp(stream, server)
    }

    /// A client on a UDP socket already bound (to any local address).
    pub fn over_udp(socket: UdpSocket, server: SocketAddr) -> SipClient {
        let local = socket.local_addr().expect("local addr");
        SipClient {
            socket: SipSocket::Udp(socket),
            server,
            local,
        }
    }

    /// A client on a TCP connection already open to `server`.
    pub fn over_tcp(stream: TcpStream, server: SocketAddr) -> SipClient {
        let local = stream.local_addr().expect("local addr");
        SipClient {
            socket: SipSocket::Tcp {
                stream,
                buf: Vec::new(),
            },
            server,
            local,
        }
    }

    /// `UDP` or `TCP`, for Via.
    pub fn via_transport(&self) -> &'static str {
        match self.socket {
            SipSocket::Udp(_) => "UDP",
            SipSocket::Tcp { .. } => "TCP",
        }
    }

    pub fn send(&mut self, msg: &[u8]) {
        match &mut self.socket {
            SipSocket::Udp(s) => {
                s.send_to(msg, self.server).expect("send SIP UDP");
            }
            SipSocket::Tcp { stream, .. } => stream.write_all(msg).expect("send SIP TCP"),
        }
    }

    /// The next message, or `None` after `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Option<SipMessage> {
        let deadline = Instant::now() + timeout;
        match &mut self.socket {
            SipSocket::Udp(s) => {
                let mut buf = vec![0u8; 65536];
                loop {
                    let left = deadline.checked_duration_since(Instant::now())?;
                    s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
                        .ok()?;
                    match s.recv_from(&mut buf) {
                        Ok((n, from)) if from == self.server => {
                            return SipMessage::parse(&buf[..n]);
                        }
                        Ok(_) => continue,
                        Err(_) => return None,
                    }
                }
            }
            SipSocket::Tcp { stream, buf } => {
                for _ in 0..10_000 {
                    if let Some(len) = framed_len(buf) {
                        let raw: Vec<u8> = buf.drain(..len).collect();
                        return SipMessage::parse(&raw);
                    }
                    let left = deadline.checked_duration_since(Instant::now())?;
                    stream
                        .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                        .ok()?;
                    let mut chunk = [0u8; 4096];
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => return None,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                None
            }
        }
    }

    /// The final response to the request with CSeq method `method`, skipping provisional
    /// responses and any request the server sends meanwhile; panics after `STEP`.
    pub fn final_response(&mut self, method: &str) -> SipMessage {
        let deadline = Instant::now() + super::STEP;
        for _ in 0..100 {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_default();
            let msg = self.recv(left).unwrap_or_else(|| {
                panic!("no final response to {method} within {:?}", super::STEP)
            });
            match msg.status() {
                Some(code) if code >= 200 && msg.cseq_method() == Some(method) => return msg,
                _ => continue,
            }
        }
        panic!("no final response to {method} among 100 messages");
    }

    /// The status of the first final response within `within` (provisional ones skipped);
    /// `None` when nothing final arrives, which is how a dropped request shows.
    pub fn final_status(&mut self, within: Duration) -> Option<u16> {
        let deadline = Instant::now() + within;
        for _ in 0..20 {
            let left = deadline.checked_duration_since(Instant::now())?;
            let msg = self.recv(left)?;
            match msg.status() {
                Some(code) if code >= 200 => return Some(code),
                _ => continue,
            }
        }
        None
    }
}

/// Length of the first complete message in `buf` (headers + Content-Length body).
fn framed_len(buf: &[u8]) -> Option<usize> {
    let end = find(buf, b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let body_len = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("Content-Length") || n.trim() == "l")
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    (buf.len() >= end + body_len).then_some(end + body_len)
}
