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
mod per_source;
mod run;
mod signals;
mod sip_tcp;
mod timer;
mod udp;

pub use entropy::Urandom;

use crate::config::Config;

/// Binds the configured addresses, prints `parlor listening sip=IP:PORT msrp=IP:PORT` on
/// stdout, and runs the server until SIGTERM/SIGINT.
pub fn run(config: Config) -> std::io::Result<()> {
    run::serve(config)
}
