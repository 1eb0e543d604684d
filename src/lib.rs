//! parlor: an RFC 7701 multi-party chat server — a compact SIP conference focus (RFC 3261
//! subset) in front of an MSRP switch (RFC 4975, RFC 7701), built for small Linux gateways.
//!
//! # Tour
//! The crate is a **sans-IO core** driven by a **thin shell**:
//! - [`wire`] — stateless codecs: SIP messages, the SDP subset for MSRP, the streaming MSRP
//!   framer, Message/CPIM headers. No state, no time, no IO.
//! - [`focus`] — the SIP focus: transactions (RFC 3261 §17), dialogs, offer/answer.
//! - [`switch`] — the MSRP switch: session binding, rooms, fan-out with first-chunk fast
//!   forwarding, per-participant outbound rings under a global memory budget.
//! - [`conference`] — the interface the focus uses to admit participants into the switch.
//! - [`engine`] — owns the focus and the switch and routes events between them; the shell's
//!   only entry point.
//! - [`admission`] — who may enter which room, as plain data: `config` builds it, the
//!   focus applies it.
//! - [`limits`] — every capacity and timeout, with worst-case memory formulas.
//! - [`config`] — command line and config file → [`config::Config`].
//! - [`time`], [`rand`] — the clock and entropy the shell hands in.
//! - [`shell`] — the only code with sockets, the executor, signals and the real clock:
//!   one thread, `smol::LocalExecutor`.
//!
//! Nothing outside `shell` (and the binaries) touches a socket or reads the clock; a test
//! (`tests/sans_io.rs`) enforces it.

#![forbid(unsafe_code)]

pub mod admission;
pub mod conference;
pub mod config;
pub mod engine;
pub mod focus;
pub mod limits;
pub mod rand;
pub mod shell;
pub mod switch;
pub mod time;
pub mod wire;
