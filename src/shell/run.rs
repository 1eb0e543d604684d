//! Startup, shutdown and the shared shell state: binds the SIP (UDP+TCP) and MSRP
//! listeners, builds the [`Engine`] with the actual addresses, spawns the socket and timer
//! tasks on one `LocalExecutor`, applies every [`Output`] the engine produces (starting a
//! connect task for `MsrpConnect`), and on
//! SIGTERM/SIGINT drains the engine's shutdown (BYEs, final NOTIFYs) before returning.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::rc::{Rc, Weak};

use async_io::Async;
use smol::channel::{Receiver, Sender};
use smol::LocalExecutor;

use super::entropy::Urandom;
use super::msrp_conn::{self, MsrpHandle};
use super::msrp_dial;
use super::signals::Shutdown;
use super::sip_tcp::{self, SipHandle};
use super::timer::{self, TimerWake};
use super::udp;
use crate::config::Config;
use crate::engine::{Engine, Output};
use crate::focus::{SipConnId, SipTransport};
use crate::limits::Limits;
use crate::switch::MsrpConnId;
use crate::time::Instant;

/// The shell's tables of live connections, keyed by the engine's slab indices. Those keys
/// are small integers the engine assigns, never chosen by a peer, so they need no
/// flood-resistant hash: SipHash was 1% of server time on the fan-out path (several
/// lookups per write).
pub(super) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing of an integer key (the multiplier is 2^64 / golden ratio): spreads
/// consecutive indices over the table's buckets at the cost of one multiply.
#[derive(Default)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// Attempts at finding an ephemeral port free for both SIP UDP and SIP TCP.
const SIP_BIND_ATTEMPTS: usize = 8;

/// The executor every task runs on; tasks that accept connections spawn more on it.
pub(super) type Executor = Rc<LocalExecutor<'static>>;

/// What every task shares: the engine, the clock, the sockets' handles.
pub(super) struct Shell {
    /// Itself, for tasks an engine output starts (`MsrpConnect`).
    pub(super) me: Weak<Shell>,
    /// The executor those tasks run on.
    pub(super) executor: Weak<LocalExecutor<'static>>,
    engine: RefCell<Engine>,
    origin: std::time::Instant,
    pub(super) limits: Limits,
    pub(super) udp: Async<UdpSocket>,
    pub(super) sip_conns: RefCell<IdMap<SipConnId, SipHandle>>,
    pub(super) msrp_conns: RefCell<IdMap<MsrpConnId, MsrpHandle>>,
    pub(super) timer: TimerWake,
    /// MSRP connections woken since `msrp_conn::write_through` last looked, and the spare
    /// vector it swaps in while it works.
    pub(super) woken: RefCell<Vec<MsrpConnId>>,
    pub(super) woken_spare: RefCell<Vec<MsrpConnId>>,
    /// The read buffer every connection's `pump` shares (`read_buf_bytes`).
    read_buf: RefCell<Vec<u8>>,
    next_token: Cell<u64>,
    /// Set once SIGTERM/SIGINT started the engine's shutdown: every dispatch checks
    /// whether it has finished and says so on `drained`.
    draining: Cell<bool>,
    drained: (Sender<()>, Receiver<()>),
}

impl Shell {
    /// The core's clock: microseconds since the shell started.
    pub(super) fn now(&self) -> Instant {
        let micros = self.origin.elapsed().as_micros();
        Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    /// The real-clock instant of a core instant.
    pub(super) fn deadline(&self, at: Instant) -> std::time::Instant {
        self.origin + std::time::Duration::from_micros(at.as_micros())
    }

    /// Runs one synchronous engine call, then applies everything it produced. The engine
    /// is borrowed only inside this call, never across an `.await`.
    pub(super) fn with_engine<R>(&self, call: impl FnOnce(&mut Engine, Instant) -> R) -> R {
        self.with_engine_at(self.now(), call)
    }

    /// [`Shell::with_engine`] at an instant the caller read: a burst of calls within one
    /// step (the write-throughs after a read) reads the clock once.
    pub(super) fn with_engine_at<R>(
        &self,
        now: Instant,
        call: impl FnOnce(&mut Engine, Instant) -> R,
    ) -> R {
        let result = call(&mut self.engine.borrow_mut(), now);
        self.dispatch();
        result
    }

    /// Feeds everything read from `stream` to the engine through `feed` until EOF or a read
    /// error (logged at debug, naming `what`), then shuts the socket down both ways. Every
    /// connection reads into the one shared buffer (one thread: the bytes are handed to the
    /// engine before the next read), so an idle connection holds no read buffer.
    pub(super) async fn pump(
        &self,
        stream: &Async<std::net::TcpStream>,
        what: &dyn std::fmt::Debug,
        mut feed: impl FnMut(&mut Engine, Instant, &[u8]),
    ) {
        use std::io::Read as _;
        loop {
            let read = stream
                .read_with(|socket| {
                    // Borrowed only inside this synchronous closure, never across an await.
                    let mut buf = self.read_buf.borrow_mut();
                    let mut socket: &std::net::TcpStream = socket;
                    let n = socket.read(&mut buf)?;
                    if n > 0 {
                        let bytes = buf.get(..n).unwrap_or_default();
                        self.with_engine(|engine, now| feed(engine, now, bytes));
                        msrp_conn::write_through(self);
                    }
                    Ok(n)
                })
                .await;
            match read {
                Ok(0) => break,
                // A read never yields by itself while data keeps coming: let the writers
                // and the other readers run before this connection is read again.
                Ok(_) => smol::future::yield_now().await,
                Err(e) => {
                    log::debug!("{what:?} read error: {e}");
                    break;
                }
            }
        }
        let _ = stream.get_ref().shutdown(std::net::Shutdown::Both);
    }

    /// [`Shell::pump`] for an MSRP connection, under the engine's flow control (issue 15):
    /// each read only peeks, and only the bytes the engine took are then read off the
    /// socket. When it takes fewer (its input paused: no room for the answers, or the
    /// sender over its send rate) the rest stays in the kernel and this waits for
    /// `resume` (`Output::MsrpResume`, or the writer ending) before reading again — the
    /// peer is slowed by TCP's own window, nothing is lost.
    pub(super) async fn pump_msrp(
        &self,
        stream: &Async<std::net::TcpStream>,
        id: MsrpConnId,
        resume: &Receiver<()>,
    ) {
        use rustix::net::{recv, RecvFlags};
        let os = |e: rustix::io::Errno| io::Error::from_raw_os_error(e.raw_os_error());
        let mut resumed = false;
        loop {
            let step = stream
                .read_with(|socket| {
                    // Borrowed only inside this synchronous closure, never across an await.
                    let mut buf = self.read_buf.borrow_mut();
                    let n = match recv(socket, &mut buf[..], RecvFlags::PEEK) {
                        Ok((n, _)) => n,
                        // After a pause the held request goes on even if no byte waits.
                        Err(e) if resumed && e == rustix::io::Errno::AGAIN => 0,
                        Err(e) => return Err(os(e)),
                    };
                    if n == 0 && !resumed {
                        return Ok(None);
                    }
                    let bytes = buf.get(..n).unwrap_or_default();
                    let (taken, paused) = self.with_engine(|engine, now| {
                        let taken = engine.msrp_input(now, id, bytes).min(n);
                        // Bytes left over always mean a pause; never peek them again
                        // without one (that would spin).
                        (taken, taken < n || engine.msrp_input_paused(id))
                    });
                    // The bytes taken are still queued in the socket: read them off (into
                    // the buffer they were peeked into; the engine is done with them).
                    let mut left = taken;
                    while left > 0 {
                        let part = buf.get_mut(..left).unwrap_or_default();
                        match recv(socket, part, RecvFlags::empty()).map_err(os)?.0 {
                            0 => break,
                            got => left -= got.min(left),
                        }
                    }
                    msrp_conn::write_through(self);
                    Ok(Some((n, paused)))
                })
                .await;
            resumed = false;
            match step {
                Ok(None) => break,
                Ok(Some((_, true))) => {
                    if resume.recv().await.is_err() {
                        break;
                    }
                    resumed = true;
                }
                // The end of the stream, seen after a resume: read it again to confirm.
                Ok(Some((0, false))) => {}
                // A read never yields by itself while data keeps coming: let the writers
                // and the other readers run before this connection is read again.
                Ok(Some(_)) => smol::future::yield_now().await,
                Err(e) => {
                    log::debug!("{id:?} read error: {e}");
                    break;
                }
            }
        }
        let _ = stream.get_ref().shutdown(std::net::Shutdown::Both);
    }

    /// Read-only access to the engine (no outputs can result).
    pub(super) fn engine(&self) -> std::cell::Ref<'_, Engine> {
        self.engine.borrow()
    }

    /// A fresh token telling one accepted connection from a later one that reuses its id.
    pub(super) fn new_token(&self) -> u64 {
        let t = self.next_token.get();
        self.next_token.set(t.wrapping_add(1));
        t
    }

    /// Drains the engine's outputs and pokes the timer task (the deadline may have moved).
    fn dispatch(&self) {
        loop {
            let output = self.engine.borrow_mut().poll_output();
            match output {
                None => break,
                Some(Output::SipSend { to, bytes }) => match to {
                    SipTransport::Udp(peer) => udp::send(&self.udp, peer, &bytes),
                    SipTransport::Tcp(conn) => sip_tcp::queue(self, conn, bytes),
                },
                Some(Output::SipClose(conn)) => sip_tcp::close(self, conn),
                Some(Output::MsrpWake(conn)) => msrp_conn::wake(self, conn),
                Some(Output::MsrpClose(conn)) => msrp_conn::close(self, conn),
                Some(Output::MsrpResume(conn)) => msrp_conn::resume(self, conn),
                Some(Output::MsrpConnect { conn, addr }) => msrp_dial::connect(self, conn, addr),
            }
        }
        self.timer.poke();
        if self.draining.get() && self.engine.borrow().shutdown_complete() {
            // Full = a wake is already pending; the waiter only needs one.
            let _ = self.drained.0.try_send(());
        }
    }

    /// SIGTERM/SIGINT: the engine BYEs every participant and ends every subscription; the
    /// shell keeps serving I/O until those transactions finish or `shutdown_grace_ms`
    /// passes (RFC 3261 §17.1.2 timers run meanwhile).
    async fn drain(&self) {
        self.draining.set(true);
        self.with_engine(|engine, now| engine.shutdown(now));
        let grace = std::time::Duration::from_millis(self.limits.shutdown_grace_ms);
        let finished = smol::future::or(
            async {
                // Err cannot happen: the shell holds the sender.
                let _ = self.drained.1.recv().await;
                true
            },
            async {
                smol::Timer::after(grace).await;
                false
            },
        )
        .await;
        if finished {
            log::info!("shutdown complete");
        } else {
            log::warn!("shutdown grace of {grace:?} passed with transactions still open");
        }
    }
}

/// Binds everything, prints the listening line, and serves until SIGTERM/SIGINT.
pub(super) fn serve(config: Config) -> io::Result<()> {
    let entropy = Urandom::open()?;
    let shutdown = Shutdown::listen()?;
    let (udp, sip_listener) = bind_sip(config.sip_listen)?;
    let msrp_listener = Async::<TcpListener>::bind(config.msrp_listen)
        .map_err(|e| context(e, "MSRP TCP", config.msrp_listen))?;
    let sip_local = udp.get_ref().local_addr()?;
    let msrp_local = msrp_listener.get_ref().local_addr()?;

    let engine = Engine::new(&config, sip_local, msrp_local, Box::new(entropy));
    log::info!(
        "profile {} memory cap {} bytes",
        config.profile,
        config.limits.memory_cap
    );

    let ex: Executor = Rc::new(LocalExecutor::new());
    let shell = Rc::new_cyclic(|me| Shell {
        me: me.clone(),
        executor: Rc::downgrade(&ex),
        engine: RefCell::new(engine),
        origin: std::time::Instant::now(),
        limits: config.limits.clone(),
        udp,
        sip_conns: RefCell::new(IdMap::default()),
        msrp_conns: RefCell::new(IdMap::default()),
        timer: TimerWake::new(),
        woken: RefCell::new(Vec::new()),
        woken_spare: RefCell::new(Vec::new()),
        read_buf: RefCell::new(vec![0u8; config.limits.read_buf_bytes]),
        next_token: Cell::new(0),
        draining: Cell::new(false),
        drained: smol::channel::bounded(1),
    });

    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{}", super::listening_line(sip_local, msrp_local))?;
    stdout.flush()?;
    drop(stdout);

    ex.spawn(udp::receive_loop(shell.clone())).detach();
    ex.spawn(sip_tcp::accept_loop(
        shell.clone(),
        ex.clone(),
        sip_listener,
    ))
    .detach();
    ex.spawn(msrp_conn::accept_loop(
        shell.clone(),
        ex.clone(),
        msrp_listener,
    ))
    .detach();
    ex.spawn(timer::run(shell.clone())).detach();
    smol::block_on(ex.run(async {
        shutdown.requested().await;
        shell.drain().await;
    }));
    Ok(())
}

/// SIP UDP and TCP on the same address. With port 0, UDP picks the port and TCP follows;
/// if that TCP port is taken, another UDP port is tried.
fn bind_sip(addr: SocketAddr) -> io::Result<(Async<UdpSocket>, Async<TcpListener>)> {
    let mut last_error = None;
    for _ in 0..SIP_BIND_ATTEMPTS {
        let udp = Async::<UdpSocket>::bind(addr).map_err(|e| context(e, "SIP UDP", addr))?;
        let actual = udp.get_ref().local_addr()?;
        match Async::<TcpListener>::bind(actual) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if addr.port() == 0 && e.kind() == io::ErrorKind::AddrInUse => {
                log::debug!("SIP TCP port {} taken, trying another", actual.port());
                last_error = Some(e);
            }
            Err(e) => return Err(context(e, "SIP TCP", actual)),
        }
    }
    let e = last_error.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrInUse));
    Err(context(e, "SIP TCP", addr))
}

/// `e` with the socket's role and address in its message.
fn context(e: io::Error, what: &str, addr: SocketAddr) -> io::Error {
    io::Error::new(e.kind(), format!("cannot bind {what} {addr}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ephemeral_sip_port_is_shared_by_udp_and_tcp() {
        let (udp, tcp) = bind_sip("127.0.0.1:0".parse().unwrap()).unwrap();
        let u = udp.get_ref().local_addr().unwrap();
        let t = tcp.get_ref().local_addr().unwrap();
        assert_ne!(u.port(), 0);
        assert_eq!(u, t);
    }

    #[test]
    fn taken_fixed_port_is_an_error_naming_the_address() {
        let (udp, _tcp) = bind_sip("127.0.0.1:0".parse().unwrap()).unwrap();
        let taken = udp.get_ref().local_addr().unwrap();
        let Err(err) = bind_sip(taken) else {
            panic!("second bind of {taken} must fail");
        };
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(err.to_string().contains(&taken.to_string()), "{err}");
    }

    #[test]
    fn id_hashes_of_consecutive_indices_spread_over_buckets() {
        use std::hash::BuildHasher;
        let build = BuildHasherDefault::<IdHasher>::default();
        let hashes: Vec<u64> = (0..1024usize)
            .map(|i| build.hash_one(MsrpConnId(i)))
            .collect();
        let mut distinct = hashes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), hashes.len(), "no two indices collide");
        // hashbrown takes the bucket from the low bits and a tag from the top 7: both vary.
        let low: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 63).collect();
        let top: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert_eq!(low.len(), 64);
        assert_eq!(top.len(), 128);
        let mut map: IdMap<MsrpConnId, usize> = IdMap::default();
        for i in 0..300 {
            map.insert(MsrpConnId(i * 7), i);
        }
        assert_eq!(map.get(&MsrpConnId(21)), Some(&3));
        assert_eq!(map.get(&MsrpConnId(22)), None);
    }
}
