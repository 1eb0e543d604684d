//! Joining the room the ordinary way, with blocking std sockets and timeouts: SIP over UDP
//! (RFC 3261 §13 INVITE with an MSRP SDP offer per RFC 4975 §8 / RFC 7701 §8, 200 with the
//! answer, ACK) built and read with parlor's own codecs, then the MSRP TCP connection to
//! the answer's `a=path` bound with a bodiless SEND (RFC 4975 §7.1, RFC 4976 §5.4 binding).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use parlor::limits::Limits;
use parlor::wire::sdp::{self, SessionDescription};
use parlor::wire::sip::{self, CSeq, HeaderName, NameAddr, OutgoingRequest, SipLimits};

/// How long one join step (an answer, a connect, a response) may take.
const STEP: Duration = Duration::from_secs(5);
/// INVITE retransmissions over UDP before giving up (RFC 3261 §17.1.1.2, bounded).
const INVITE_TRIES: u32 = 4;

/// A joined, bound participant.
pub struct Joined {
    /// `sip:bench-IIII@example.com`.
    pub uri: String,
    /// Our MSRP URI (From-Path of our SENDs).
    pub local_path: String,
    /// The switch's MSRP URI for us (To-Path of our SENDs).
    pub remote_path: String,
    /// The bound MSRP connection (blocking; the load phase makes it non-blocking).
    pub msrp: TcpStream,
    /// Kept open so the dialog's address stays ours; never read during the load.
    pub sip: UdpSocket,
}

/// Identifiers unique within this bench run (tags, branches, Call-IDs, session-ids).
pub struct Ids {
    state: u64,
}

impl Ids {
    pub fn new() -> Ids {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Ids {
            state: nanos ^ (u64::from(std::process::id()) << 32) | 1,
        }
    }

    /// `len` alphanumeric characters.
    pub fn next(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..len)
            .map(|_| {
                self.state ^= self.state << 13;
                self.state ^= self.state >> 7;
                self.state ^= self.state << 17;
                ALPHABET[(self.state % ALPHABET.len() as u64) as usize] as char
            })
            .collect()
    }
}

fn io_err(what: &str) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// The pieces of the 200 the join needs.
struct Accepted {
    to_tag: String,
    contact: String,
    path: String,
}

/// Reads the INVITE's final response; `Ok(None)` on timeout (retransmit).
fn await_final(sock: &UdpSocket, deadline: Instant) -> Result<Option<Accepted>, String> {
    let limits = SipLimits::from(&Limits::default());
    let mut buf = vec![0u8; 65_535];
    for _ in 0..64 {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return Ok(None);
        };
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .map_err(io_err("SIP socket"))?;
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(_) => return Ok(None),
        };
        let Ok(msg) = sip::parse(&buf[..n], &limits) else {
            continue;
        };
        let Some(status) = msg.status() else {
            continue;
        };
        let is_invite = msg
            .headers
            .get(HeaderName::CSeq)
            .and_then(|v| CSeq::parse(v).ok())
            .is_some_and(|c| c.method.as_str() == "INVITE");
        if status.code < 200 || !is_invite {
            continue;
        }
        if status.code != 200 {
            return Err(format!(
                "the room answered the INVITE with {} {}",
                status.code, status.reason
            ));
        }
        let to_tag = msg
            .headers
            .to()
            .ok()
            .and_then(|t| t.tag().map(str::to_string));
        let contact = msg
            .headers
            .get(HeaderName::Contact)
            .and_then(|v| NameAddr::parse(v).ok())
            .map(|c| c.uri.to_string());
        let path = SessionDescription::parse(msg.body, Limits::default().max_sdp_bytes)
            .ok()
            .and_then(|s| s.msrp_media()?.path.map(str::to_string));
        return match (to_tag, contact, path) {
            (Some(to_tag), Some(contact), Some(path)) => Ok(Some(Accepted {
                to_tag,
                contact,
                path,
            })),
            _ => Err("200 to the INVITE lacks a To tag, Contact or a=path".to_string()),
        };
    }
    Ok(None)
}

/// `host:port` of the rightmost URI of an `a=path` value.
fn path_addr(path: &str) -> Option<SocketAddr> {
    let uri = path.split_whitespace().last()?;
    let authority = uri.strip_prefix("msrp://")?.split('/').next()?;
    authority.parse().ok()
}

/// Joins `room` at `server` as participant `index` and binds its MSRP session.
pub fn join(server: SocketAddr, room: &str, index: usize, ids: &mut Ids) -> Result<Joined, String> {
    join_from(server, room, index, ids, std::net::Ipv4Addr::LOCALHOST)
}

/// As [`join`], with the INVITE sent from loopback address `source` (per-source shares:
/// a measurement that fills the server's tables comes from several hosts).
pub fn join_from(
    server: SocketAddr,
    room: &str,
    index: usize,
    ids: &mut Ids,
    source: std::net::Ipv4Addr,
) -> Result<Joined, String> {
    let sip_sock = UdpSocket::bind((source, 0)).map_err(io_err("bind SIP UDP"))?;
    sip_sock
        .connect(server)
        .map_err(io_err("connect SIP UDP"))?;
    let local = sip_sock.local_addr().map_err(io_err("SIP local address"))?;
    let uri = format!("sip:bench-{index:04}@example.com");
    let local_path = format!("msrp://127.0.0.1:9/{};tcp", ids.next(16));
    let offer = sdp::Answer::chat_client_offer("127.0.0.1", &local_path).emit();
    let sent_by = local.to_string();
    let call_id = format!("{}@127.0.0.1", ids.next(16));
    let from = format!("<{uri}>;tag={}", ids.next(12));
    let contact = format!("<sip:bench-{index:04}@{local};transport=udp>");
    let branch = format!("z9hG4bK{}", ids.next(14));
    let to_room = format!("<{room}>");
    let invite = sip::emit_request(&OutgoingRequest {
        method: "INVITE",
        uri: room,
        via_transport: "UDP",
        via_sent_by: &sent_by,
        branch: &branch,
        from: &from,
        to: &to_room,
        call_id: &call_id,
        cseq: 1,
        max_forwards: 70,
        headers: &[("Contact", &contact), ("Content-Type", "application/sdp")],
        body: &offer,
    });
    let mut accepted = None;
    for attempt in 0..INVITE_TRIES {
        sip_sock.send(&invite).map_err(io_err("send INVITE"))?;
        let wait = Duration::from_millis(500 << attempt).min(STEP);
        if let Some(a) = await_final(&sip_sock, Instant::now() + wait)? {
            accepted = Some(a);
            break;
        }
    }
    let accepted = accepted.ok_or_else(|| format!("no answer to participant {index}'s INVITE"))?;
    let to = format!("<{room}>;tag={}", accepted.to_tag);
    let ack_branch = format!("z9hG4bK{}", ids.next(14));
    let ack = sip::emit_request(&OutgoingRequest {
        method: "ACK",
        uri: &accepted.contact,
        via_transport: "UDP",
        via_sent_by: &sent_by,
        branch: &ack_branch,
        from: &from,
        to: &to,
        call_id: &call_id,
        cseq: 1,
        max_forwards: 70,
        headers: &[],
        body: b"",
    });
    sip_sock.send(&ack).map_err(io_err("send ACK"))?;
    let msrp = bind(&accepted.path, &local_path, ids)?;
    Ok(Joined {
        uri,
        local_path,
        remote_path: accepted.path,
        msrp,
        sip: sip_sock,
    })
}

/// Connects to the switch at `remote_path` and binds the session with a bodiless SEND;
/// succeeds on its 200.
fn bind(remote_path: &str, local_path: &str, ids: &mut Ids) -> Result<TcpStream, String> {
    let addr =
        path_addr(remote_path).ok_or_else(|| format!("a=path {remote_path:?} has no host:port"))?;
    let mut stream = TcpStream::connect_timeout(&addr, STEP).map_err(io_err("connect MSRP"))?;
    stream.set_nodelay(true).map_err(io_err("TCP_NODELAY"))?;
    let tid = ids.next(12);
    let req = format!(
        "MSRP {tid} SEND\r\nTo-Path: {remote_path}\r\nFrom-Path: {local_path}\r\nMessage-ID: {}\r\nByte-Range: 1-0/0\r\n-------{tid}$\r\n",
        ids.next(12)
    );
    stream
        .write_all(req.as_bytes())
        .map_err(io_err("send binding SEND"))?;
    let deadline = Instant::now() + STEP;
    let want = format!("MSRP {tid} ");
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    for _ in 0..1000 {
        if let Some(at) = got.windows(want.len()).position(|w| w == want.as_bytes()) {
            let code = got.get(at + want.len()..at + want.len() + 3);
            if let Some(code) = code {
                return if code == b"200" {
                    Ok(stream)
                } else {
                    Err(format!(
                        "binding SEND answered {}",
                        String::from_utf8_lossy(code)
                    ))
                };
            }
        }
        let left = deadline
            .checked_duration_since(Instant::now())
            .ok_or("no response to the binding SEND")?;
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .map_err(io_err("MSRP socket"))?;
        match stream.read(&mut chunk) {
            Ok(0) => return Err("the switch closed the MSRP connection at bind".to_string()),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("binding SEND: {e}")),
        }
    }
    Err("no response to the binding SEND".to_string())
}
