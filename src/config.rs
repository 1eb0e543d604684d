//! Command line and config file → [`Config`]: listen addresses, domain, rooms and their
//! policy (RFC 7701 §5.1, §6.2, §7), the memory profile ([`Limits`]).
//!
//! STUB: the public API below is the contract main.rs and the shell rely on.
#![allow(unused_variables, dead_code)]

use ::core::net::SocketAddr;

use crate::conference::RoomPolicy;
use crate::limits::Limits;

/// Everything `parlor serve` runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// SIP listen address, UDP and TCP (default 127.0.0.1:5060).
    pub sip_listen: SocketAddr,
    /// MSRP listen address, TCP (default 127.0.0.1:2855).
    pub msrp_listen: SocketAddr,
    /// Domain of room URIs (default `localhost`).
    pub domain: String,
    /// Provisioned rooms with their policy (default: `lobby`).
    pub rooms: Vec<(String, RoomPolicy)>,
    /// Create rooms on the first INVITE to an unknown name.
    pub allow_adhoc: bool,
    /// Policy for ad-hoc rooms and rooms without their own table.
    pub default_policy: RoomPolicy,
    /// Name of the memory profile in use (`router`, or the path given).
    pub profile: String,
    /// Capacities and timers (the profile, then `--memory-cap`).
    pub limits: Limits,
    /// Log level.
    pub log_level: log::LevelFilter,
}

/// Why a configuration was refused: printed as one line, exit code 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// `file:line: message`, or `--flag: message`.
    pub message: String,
}

impl Config {
    /// Parses the arguments that follow `serve`.
    pub fn from_args(args: Vec<std::ffi::OsString>) -> Result<Config, ConfigError> {
        todo!()
    }
}
