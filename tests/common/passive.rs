//! The passive side of RFC 6135 §4.2 for tests: a loopback listener the switch connects to
//! when a test offers `a=setup:passive`, accepted with a bounded wait.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::ident;
use super::msrp::MsrpConn;

/// Pause between non-blocking accept attempts.
const ACCEPT_POLL: Duration = Duration::from_millis(10);

/// A listening MSRP endpoint on 127.0.0.1 with an ephemeral port.
pub struct PassiveEndpoint {
    pub listener: TcpListener,
    pub addr: SocketAddr,
}

impl PassiveEndpoint {
    pub fn bind() -> PassiveEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind passive MSRP listener");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("listener address");
        PassiveEndpoint { listener, addr }
    }

    /// A fresh MSRP URI naming this listener.
    pub fn fresh_uri(&self) -> String {
        format!("msrp://{}/{};tcp", self.addr, ident(16))
    }

    /// The next connection within `within`, or `None`.
    pub fn accept_within(&self, within: Duration) -> Option<TcpStream> {
        let deadline = Instant::now() + within;
        for _ in 0..100_000 {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).expect("blocking stream");
                    return Some(stream);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    std::thread::sleep(ACCEPT_POLL);
                }
                Err(e) => panic!("accept failed: {e}"),
            }
        }
        None
    }

    /// The switch's connection within `within`, as an MSRP connection; panics otherwise.
    pub fn accept_msrp(&self, within: Duration) -> MsrpConn {
        let stream = self
            .accept_within(within)
            .expect("the switch connects to the passive endpoint");
        MsrpConn::from_stream(stream)
    }
}
