//! The chat client's inputs: SIP over UDP (connected socket) or TCP and the MSRP TCP
//! connection, each read by a task on the session's thread, and stdin, read by a thread of
//! its own; all forward [`Event`]s into one channel the session loop consumes. Stdin is
//! never made non-blocking: on a terminal it shares its open file description with stdout.

use std::io::{self, BufRead};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::rc::Rc;

use async_io::Async;
use smol::channel::{self, Receiver, Sender};
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::LocalExecutor;

use parlor::wire::sip::StreamFramer;

use crate::sip_dialog::{sip_limits, SipMessage};

/// Largest SIP message read over UDP.
const SIP_DATAGRAM_BYTES: usize = 65_535;
/// MSRP/SIP TCP read size.
const READ_BYTES: usize = 16 * 1024;
/// Pause before reading stdin again after "would block".
const STDIN_RETRY: std::time::Duration = std::time::Duration::from_millis(20);

/// Something happened on one of the inputs.
pub enum Event {
    Line(String),
    StdinEof,
    Sip(Box<SipMessage>),
    SipGone,
    /// Nothing listens at the server's UDP port (an ICMP port unreachable came back);
    /// sent once.
    SipUnreachable,
    Msrp(Vec<u8>),
    MsrpGone,
    /// Stdout can no longer be written (closed pipe, hung-up terminal).
    OutputGone,
}

/// The SIP socket.
#[derive(Clone)]
pub enum SipLink {
    Udp(Rc<Async<UdpSocket>>),
    Tcp(Rc<Async<TcpStream>>),
}

impl SipLink {
    /// A socket towards `server`; also returns our local address (for Via/Contact).
    pub async fn connect(server: SocketAddr, tcp: bool) -> io::Result<(SipLink, SocketAddr)> {
        if tcp {
            let stream = Async::<TcpStream>::connect(server).await.map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot reach the SIP server at {server} over TCP: {e}"),
                )
            })?;
            let local = stream.get_ref().local_addr()?;
            Ok((SipLink::Tcp(Rc::new(stream)), local))
        } else {
            let any: SocketAddr = match server {
                SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
                SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
            };
            let socket = Async::<UdpSocket>::bind(any)?;
            socket.get_ref().connect(server)?;
            let local = socket.get_ref().local_addr()?;
            Ok((SipLink::Udp(Rc::new(socket)), local))
        }
    }

    pub fn is_tcp(&self) -> bool {
        matches!(self, SipLink::Tcp(_))
    }

    pub async fn send(&self, bytes: &[u8]) -> io::Result<()> {
        match self {
            SipLink::Udp(s) => s.send(bytes).await.map(drop),
            SipLink::Tcp(s) => (&**s).write_all(bytes).await,
        }
    }
}

/// The MSRP connection's write side.
pub struct MsrpLink(Rc<Async<TcpStream>>);

impl MsrpLink {
    pub async fn send(&self, bytes: &[u8]) -> io::Result<()> {
        (&*self.0).write_all(bytes).await
    }
}

/// The event channel and the reader tasks feeding it.
pub struct Links {
    pub events: Receiver<Event>,
    tx: Sender<Event>,
}

impl Links {
    /// Starts the SIP and stdin readers.
    pub fn start(ex: &LocalExecutor<'_>, sip: SipLink) -> Links {
        let (tx, events) = channel::unbounded();
        ex.spawn(read_sip(sip, tx.clone())).detach();
        let stdin_tx = tx.clone();
        // Without the thread there is no input; the session still works (it ends on BYE).
        let _ = std::thread::Builder::new()
            .name("stdin".into())
            .spawn(move || read_stdin(stdin_tx));
        Links { events, tx }
    }

    /// A sender into the event channel, for events from outside the executor.
    pub fn sender(&self) -> Sender<Event> {
        self.tx.clone()
    }

    /// Connects the MSRP link and starts its reader.
    pub async fn connect_msrp(
        &self,
        ex: &LocalExecutor<'_>,
        addr: SocketAddr,
    ) -> io::Result<MsrpLink> {
        let stream = Rc::new(Async::<TcpStream>::connect(addr).await?);
        stream.get_ref().set_nodelay(true)?;
        let tx = self.tx.clone();
        let reader = stream.clone();
        ex.spawn(async move {
            let mut buf = vec![0u8; READ_BYTES];
            loop {
                match (&*reader).read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(Event::Msrp(buf[..n].to_vec())).await.is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(Event::MsrpGone).await;
        })
        .detach();
        Ok(MsrpLink(stream))
    }
}

async fn read_sip(sip: SipLink, tx: Sender<Event>) {
    match sip {
        SipLink::Udp(socket) => {
            let mut buf = vec![0u8; SIP_DATAGRAM_BYTES];
            let mut told_unreachable = false;
            loop {
                match socket.recv(&mut buf).await {
                    Ok(n) => {
                        if let Some(msg) = SipMessage::parse(&buf[..n]) {
                            if tx.send(Event::Sip(Box::new(msg))).await.is_err() {
                                return;
                            }
                        }
                    }
                    // E.g. ICMP port unreachable while the server is not up: say so once,
                    // keep going (it may be starting).
                    Err(e) => {
                        if e.kind() == io::ErrorKind::ConnectionRefused && !told_unreachable {
                            told_unreachable = true;
                            if tx.send(Event::SipUnreachable).await.is_err() {
                                return;
                            }
                        }
                        smol::Timer::after(std::time::Duration::from_millis(100)).await;
                    }
                }
            }
        }
        SipLink::Tcp(stream) => {
            let mut framer = StreamFramer::new(sip_limits().max_message_bytes);
            let mut buf = vec![0u8; READ_BYTES];
            'read: loop {
                loop {
                    let msg = match framer.next_frame() {
                        Ok(Some(frame)) => SipMessage::parse(frame),
                        Ok(None) => break,
                        // The stream cannot be resynchronised.
                        Err(_) => break 'read,
                    };
                    if let Some(msg) = msg {
                        if tx.send(Event::Sip(Box::new(msg))).await.is_err() {
                            return;
                        }
                    }
                }
                match (&*stream).read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => framer.push(&buf[..n]),
                }
            }
            let _ = tx.send(Event::SipGone).await;
        }
    }
}

/// Stdin lines, read by a thread of their own with plain blocking reads. Not
/// `Async::new(stdin)`: that sets O_NONBLOCK on fd 0, and on a terminal fds 0, 1 and 2 are
/// one open file description, so stdout would turn non-blocking too. Not `smol::Unblock`
/// either: it reads again after a short read, and a terminal's end of input (`^D`) is a
/// single zero-length read that it then loses. If another process sharing the terminal
/// made it non-blocking anyway, "would block" is waited out, not taken for the end.
/// Bytes that are not UTF-8 become U+FFFD.
fn read_stdin(tx: Sender<Event>) {
    let mut input = std::io::stdin().lock();
    let mut line = Vec::new();
    loop {
        match input.read_until(b'\n', &mut line) {
            // A line; 0 = the end of input (after what an interrupted read left in `line`).
            Ok(n) => {
                if !line.is_empty() {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches(['\r', '\n']).to_string();
                    line.clear();
                    if tx.send_blocking(Event::Line(text)).is_err() {
                        return;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            // What was read so far stays in `line`; read on after a pause.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(STDIN_RETRY);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = tx.send_blocking(Event::StdinEof);
}
