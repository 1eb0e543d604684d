//! A lossy UDP relay between one SIP client and the server (RFC 3261 §17 loss recovery
//! tests): a thread on 127.0.0.1:0 relays datagrams both ways and drops the Nth datagram
//! matching a rule. The client names the relay in Via and Contact, so responses (sent to
//! the source) and the server's own requests (sent to the Contact) pass through it too.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::sip::{SipClient, SipMessage, SipSocket};

/// Which way a datagram travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Toward {
    Server,
    Client,
}

/// Drop the `nth` (1-based) datagram travelling `toward` that `matches`.
#[derive(Clone, Copy)]
pub struct DropRule {
    pub toward: Toward,
    pub nth: usize,
    pub matches: fn(&SipMessage) -> bool,
}

/// A request with this method.
pub fn request(msg: &SipMessage, method: &str) -> bool {
    msg.method() == Some(method)
}

/// A response with this code to a request with this CSeq method.
pub fn response(msg: &SipMessage, code: u16, method: &str) -> bool {
    msg.status() == Some(code) && msg.cseq_method() == Some(method)
}

/// The longest a relay runs (it also stops when dropped).
const LIFETIME: Duration = Duration::from_secs(120);

/// A running relay; stopped on drop.
pub struct LossyRelay {
    /// Where the client sends (and what it names in Via and Contact).
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// Start lines of the datagrams dropped so far, with their direction.
    dropped: Arc<Mutex<Vec<(Toward, String)>>>,
    thread: Option<JoinHandle<()>>,
}

impl LossyRelay {
    /// Relays between the first client that sends to it and `server`, applying `rules`.
    pub fn start(server: SocketAddr, rules: &[DropRule]) -> LossyRelay {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind relay");
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("relay timeout");
        let addr = socket.local_addr().expect("relay addr");
        let stop = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(Mutex::new(Vec::new()));
        let (stop2, dropped2) = (stop.clone(), dropped.clone());
        let rules = rules.to_vec();
        let thread = std::thread::spawn(move || relay(socket, server, rules, stop2, dropped2));
        LossyRelay {
            addr,
            stop,
            dropped,
            thread: Some(thread),
        }
    }

    /// A UDP SIP client whose messages go through the relay and that names the relay as
    /// its address (Via sent-by, Contact).
    pub fn client(&self) -> SipClient {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind client");
        SipClient {
            socket: SipSocket::Udp(socket),
            server: self.addr,
            local: self.addr,
        }
    }

    /// What was dropped so far: (direction, start line).
    pub fn dropped(&self) -> Vec<(Toward, String)> {
        self.dropped.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

impl Drop for LossyRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn relay(
    socket: UdpSocket,
    server: SocketAddr,
    rules: Vec<DropRule>,
    stop: Arc<AtomicBool>,
    dropped: Arc<Mutex<Vec<(Toward, String)>>>,
) {
    let started = Instant::now();
    let mut seen = vec![0usize; rules.len()];
    let mut client: Option<SocketAddr> = None;
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::Relaxed) && started.elapsed() < LIFETIME {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let datagram = &buf[..n];
        let (toward, to) = if from == server {
            match client {
                Some(c) => (Toward::Client, c),
                None => continue,
            }
        } else {
            client = Some(from);
            (Toward::Server, server)
        };
        let parsed = SipMessage::parse(datagram);
        let mut drop_it = false;
        for (rule, count) in rules.iter().zip(seen.iter_mut()) {
            if rule.toward == toward && parsed.as_ref().is_some_and(rule.matches) {
                *count += 1;
                drop_it |= *count == rule.nth;
            }
        }
        if drop_it {
            let line = parsed.map(|m| m.start).unwrap_or_default();
            if let Ok(mut d) = dropped.lock() {
                d.push((toward, line));
            }
            continue;
        }
        let _ = socket.send_to(datagram, to);
    }
}
