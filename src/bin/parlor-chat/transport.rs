//! The chat client's sockets on one thread: SIP over UDP (connected socket) or TCP, the
//! MSRP TCP connection, and stdin, each read by a task that forwards [`Event`]s into one
//! channel the session loop consumes.

use std::io;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::rc::Rc;

use async_io::Async;
use smol::channel::{self, Receiver, Sender};
use smol::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use smol::stream::StreamExt;
use smol::LocalExecutor;

use parlor::wire::sip::StreamFramer;

use crate::sip_dialog::{sip_limits, SipMessage};

/// Largest SIP message read over UDP.
const SIP_DATAGRAM_BYTES: usize = 65_535;
/// MSRP/SIP TCP read size.
const READ_BYTES: usize = 16 * 1024;

/// Something happened on one of the inputs.
pub enum Event {
    Line(String),
    StdinEof,
    Sip(SipMessage),
    SipGone,
    Msrp(Vec<u8>),
    MsrpGone,
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
            let stream = Async::<TcpStream>::connect(server).await?;
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
        ex.spawn(read_stdin(tx.clone())).detach();
        Links { events, tx }
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
            loop {
                match socket.recv(&mut buf).await {
                    Ok(n) => {
                        if let Some(msg) = SipMessage::parse(&buf[..n]) {
                            if tx.send(Event::Sip(msg)).await.is_err() {
                                return;
                            }
                        }
                    }
                    // E.g. ICMP port unreachable while the server is not up: keep going.
                    Err(_) => {
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
                        if tx.send(Event::Sip(msg)).await.is_err() {
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

/// Stdin lines: through the reactor when stdin is a pipe or terminal, through smol's
/// blocking-thread adapter when it cannot be polled (a regular file).
async fn read_stdin(tx: Sender<Event>) {
    let input: Box<dyn AsyncRead + Unpin> = match Async::new(std::io::stdin()) {
        Ok(stdin) => Box::new(stdin),
        Err(_) => Box::new(smol::Unblock::new(std::io::stdin())),
    };
    let mut lines = BufReader::new(input).lines();
    while let Some(line) = lines.next().await {
        let event = match line {
            Ok(line) => Event::Line(line),
            Err(_) => break,
        };
        if tx.send(event).await.is_err() {
            return;
        }
    }
    let _ = tx.send(Event::StdinEof).await;
}
