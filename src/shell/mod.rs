//! The only code with sockets, the executor, signals and the real clock: one thread,
//! `smol::LocalExecutor`, SIP over UDP+TCP (RFC 3261 §18) and MSRP over TCP (RFC 4975 §6.1)
//! feeding the [`Engine`](crate::engine::Engine).
//!
//! Layout: [`run`] binds and wires the tasks, `udp`/`sip_tcp`/`msrp_conn` move bytes
//! between sockets and the engine, `msrp_dial` opens the MSRP connections the switch asks
//! for (RFC 6135 §4.2 active role), `timer` sleeps until the engine's next deadline,
//! `signals` waits for SIGTERM/SIGINT, [`logger`] and `entropy` are the process's log sink
//! and random source.

mod entropy;
pub mod logger;
mod msrp_conn;
mod msrp_dial;
mod run;
mod signals;
mod sip_tcp;
mod timer;
mod udp;

pub use entropy::Urandom;

use core::net::SocketAddr;

use crate::config::Config;

/// Starts the line `run` prints once bound: what scripts, tests and `parlor-bench` read.
const LISTENING_PREFIX: &str = "parlor listening ";

/// The first stdout line of a running server: its actual SIP and MSRP addresses.
pub fn listening_line(sip: SocketAddr, msrp: SocketAddr) -> String {
    format!("{LISTENING_PREFIX}sip={sip} msrp={msrp}")
}

/// The addresses in a [`listening_line`], or `None` for any other line.
pub fn parse_listening_line(line: &str) -> Option<(SocketAddr, SocketAddr)> {
    let rest = line.trim_end().strip_prefix(LISTENING_PREFIX)?;
    let mut sip = None;
    let mut msrp = None;
    for part in rest.split(' ') {
        if let Some(v) = part.strip_prefix("sip=") {
            sip = v.parse().ok();
        } else if let Some(v) = part.strip_prefix("msrp=") {
            msrp = v.parse().ok();
        }
    }
    Some((sip?, msrp?))
}

/// Binds the configured addresses, prints `parlor listening sip=IP:PORT msrp=IP:PORT` on
/// stdout ([`listening_line`]), and runs the server until SIGTERM/SIGINT.
pub fn run(config: Config) -> std::io::Result<()> {
    run::serve(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_reads_back() {
        let sip: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        let msrp: SocketAddr = "[::1]:2855".parse().unwrap();
        let line = listening_line(sip, msrp);
        assert_eq!(line, "parlor listening sip=127.0.0.1:5060 msrp=[::1]:2855");
        assert_eq!(parse_listening_line(&line), Some((sip, msrp)));
        assert_eq!(
            parse_listening_line("parlor listening sip=x msrp=[::1]:1"),
            None
        );
        assert_eq!(parse_listening_line("relay listening 1"), None);
    }
}
