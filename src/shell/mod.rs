//! The only code with sockets, the executor, signals and the real clock: one thread,
//! `smol::LocalExecutor`, SIP over UDP+TCP and MSRP over TCP feeding the [`Engine`].
//!
//! STUB: the public API below is the contract main.rs relies on.
#![allow(unused_variables, dead_code)]

use crate::config::Config;

/// Runs the server until SIGTERM/SIGINT.
pub fn run(config: Config) -> std::io::Result<()> {
    todo!()
}
