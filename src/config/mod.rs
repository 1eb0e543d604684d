//! Command line and config file → [`Config`]: listen addresses, domain, rooms and their
//! policy (RFC 7701 §5.1 nicknames, §7 private messages), the memory profile ([`Limits`]).
//!
//! Precedence, lowest first: the memory profile (`router` unless `--profile`/`profile`
//! names another), then the config file (`--config FILE`), then the flags. After merging,
//! [`Limits::validate`] must pass. Every error is one line: `FILE:LINE: message` for a file,
//! `--flag: message` for a flag.
//!
//! # Config file (a TOML subset, see [`toml_subset`])
//! ```toml
//! domain = "chat.example.net"       # room URIs are sip:NAME@DOMAIN
//! sip_listen = "192.0.2.10:5060"       # literal IP:PORT only, never a host name
//! msrp_listen = "192.0.2.10:2855"  # a concrete address: it goes into every a=path
//! allow_adhoc = false               # create rooms on the first INVITE to a new name
//! nicknames = true                  # default policy for every room
//! reserved_nicknames = ["admin", "root"]  # nobody may take these (nor a room's name)
//! private_messages = true
//! profile = "router"                # tiny | router | gateway | path (relative to this file)
//! memory_cap = "8MiB"               # bytes, or a size with K, KiB, M, MiB
//! log = "info"                      # error | warn | info | debug | trace | off
//!
//! [limits]                          # any Limits field, overriding the profile
//! ring_bytes = 32_768
//!
//! [room.lobby]                      # a provisioned room; keys default to the top level
//! nicknames = true
//! private_messages = false
//! max_participants = 20             # at most limits.max_room_participants
//! ```
//! `tests/data/example.toml` is a complete commented example.

mod config_file;
mod disk;
mod flags;
pub mod profiles;
pub mod toml_subset;
mod value_syntax;

use ::core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::admission::{Admission, AllowEntry, AllowList, Aor, UserCredentials};
use crate::conference::RoomPolicy;
use crate::limits::{Limits, LimitsError};
use config_file::FileSettings;
use flags::Flags;
use profiles::{builtin_source, builtin_text, read_profile};
pub use value_syntax::parse_memory_cap;

/// SIP listen address when none is configured.
pub const DEFAULT_SIP_LISTEN: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5060));
/// MSRP listen address when none is configured.
pub const DEFAULT_MSRP_LISTEN: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 2855));
/// Domain of room URIs when none is configured.
pub const DEFAULT_DOMAIN: &str = "localhost";
/// The room provisioned when neither flags nor the config file name one.
pub const DEFAULT_ROOM: &str = "lobby";
/// Nicknames reserved when the config file names none (RFC 7701 §7.1: 425 for them);
/// compared under the RFC 8266 profile, and each room's own name is reserved as well.
pub const DEFAULT_RESERVED_NICKNAMES: &[&str] = &[
    "admin",
    "administrator",
    "root",
    "system",
    "moderator",
    "parlor",
];
/// The memory profile used when none is named.
pub const DEFAULT_PROFILE: &str = "router";

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
    /// Capacities and timers: the profile, then the config file's `[limits]` and
    /// `memory_cap`, then `--memory-cap`; validated.
    pub limits: Limits,
    /// Log level.
    pub log_level: log::LevelFilter,
    /// Nicknames nobody may take (`reserved_nicknames`; default
    /// [`DEFAULT_RESERVED_NICKNAMES`]).
    pub reserved_nicknames: Vec<String>,
    /// Allow lists and digest users (`allow`, `auth_realm`, `[user."AOR"]`); default: every
    /// room open, no authentication.
    pub admission: Admission,
}

/// Why a configuration was refused: printed as one line, exit code 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// `file:line: message`, or `--flag: message`.
    pub message: String,
}

impl ConfigError {
    /// An error with no location. Control characters (from user values) are escaped so the
    /// message stays one line.
    pub(crate) fn plain(text: impl core::fmt::Display) -> Self {
        let mut message = String::new();
        for c in text.to_string().chars() {
            if c.is_control() {
                message.extend(c.escape_default());
            } else {
                message.push(c);
            }
        }
        ConfigError { message }
    }

    /// An error about a flag: `--flag: message`.
    pub(crate) fn flag(flag: &str, message: impl core::fmt::Display) -> Self {
        Self::plain(format!("{flag}: {message}"))
    }

    /// An error at a line of a file: `FILE:LINE: message`.
    pub(crate) fn in_file(source: &str, line: usize, message: impl core::fmt::Display) -> Self {
        Self::plain(format!("{source}:{line}: {message}"))
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Reads a whole file as text; `Err` is a one-line reason.
pub type ReadFile<'a> = &'a dyn Fn(&Path) -> Result<String, String>;

impl Config {
    /// Parses the arguments that follow `serve`.
    pub fn from_args(args: Vec<std::ffi::OsString>) -> Result<Config, ConfigError> {
        Self::from_args_with(args, &disk::read_text)
    }

    /// [`Config::from_args`] with the file reader supplied (tests use an in-memory one).
    pub fn from_args_with(
        args: Vec<OsString>,
        read_file: ReadFile<'_>,
    ) -> Result<Config, ConfigError> {
        let flags = Flags::parse(args)?;
        let (file, file_source) = match &flags.config {
            Some(path) => {
                let source = path.display().to_string();
                let text = read_file(path).map_err(|e| {
                    ConfigError::flag("--config", format!("cannot read `{source}`: {e}"))
                })?;
                (FileSettings::parse(&source, &text)?, source)
            }
            None => (FileSettings::default(), String::new()),
        };
        let (profile, limits) = load_limits(&flags, &file, &file_source, read_file)?;
        merge(flags, file, &file_source, profile, limits)
    }
}

/// Where a setting came from, as an error-message prefix (`FILE:LINE` or `--flag`).
type Origin = String;

/// The last place each limit was set, in application order (later = higher precedence).
#[derive(Default)]
struct LimitOrigins {
    /// (field, origin); a field set again moves to the end.
    order: Vec<(&'static str, Origin)>,
}

impl LimitOrigins {
    fn set(&mut self, name: &'static str, origin: Origin) {
        self.order.retain(|(n, _)| *n != name);
        self.order.push((name, origin));
    }

    /// The origin of whichever of `names` was set last, if any was set.
    fn latest(&self, names: &[&str]) -> Option<&Origin> {
        self.order
            .iter()
            .rev()
            .find(|(n, _)| names.contains(n))
            .map(|(_, o)| o)
    }
}

/// Profile → config file `[limits]` and `memory_cap` → `--memory-cap`, then validation.
fn load_limits(
    flags: &Flags,
    file: &FileSettings,
    file_source: &str,
    read_file: ReadFile<'_>,
) -> Result<(String, Limits), ConfigError> {
    let (name, origin) = match (&flags.profile, &file.profile) {
        (Some(name), _) => (name.clone(), "--profile".to_string()),
        (None, Some(p)) => (p.value.clone(), format!("{file_source}:{}", p.line)),
        (None, None) => (DEFAULT_PROFILE.to_string(), "--profile".to_string()),
    };
    let (source, text) = match builtin_text(&name) {
        Some(text) => (builtin_source(&name), text.to_string()),
        None => {
            let mut path = PathBuf::from(&name);
            // A profile named in the config file is relative to that file.
            if flags.profile.is_none() && path.is_relative() {
                if let Some(dir) = flags.config.as_deref().and_then(Path::parent) {
                    path = dir.join(path);
                }
            }
            let text = read_file(&path).map_err(|e| {
                ConfigError::plain(format!(
                    "{origin}: `{name}` is not a built-in profile (tiny, router, gateway) and \
                     cannot be read as a file: {e}"
                ))
            })?;
            (path.display().to_string(), text)
        }
    };
    let mut limits = Limits::default();
    let mut origins = LimitOrigins::default();
    for setting in read_profile(&source, &text)? {
        setting.apply(&source, &mut limits)?;
        origins.set(setting.name, format!("{source}:{}", setting.line));
    }
    for setting in &file.limits {
        setting.apply(file_source, &mut limits)?;
        origins.set(setting.name, format!("{file_source}:{}", setting.line));
    }
    if let Some(cap) = &file.memory_cap {
        limits.memory_cap = cap.value;
        origins.set("memory_cap", format!("{file_source}:{}", cap.line));
    }
    for &(name, value) in &flags.limits {
        limits
            .set(name, value)
            .map_err(|e| ConfigError::flag("--limit", e))?;
        origins.set(name, "--limit".to_string());
    }
    if let Some(cap) = flags.memory_cap {
        limits.memory_cap = cap;
        origins.set("memory_cap", "--memory-cap".to_string());
    }
    limits
        .validate()
        .map_err(|e| explain_limits_error(&limits, e, &origins, &source))?;
    Ok((name, limits))
}

/// A one-line explanation of a `validate()` failure, located where the offending field
/// (or the later of two conflicting fields) was set.
fn explain_limits_error(
    limits: &Limits,
    error: LimitsError,
    origins: &LimitOrigins,
    profile_source: &str,
) -> ConfigError {
    let at = |names: &[&str], message: String| {
        let origin = origins.latest(names).map_or(profile_source, String::as_str);
        ConfigError::plain(format!("{origin}: {message}"))
    };
    match error {
        LimitsError::CapTooSmall => at(
            &[
                "memory_cap",
                "ring_bytes",
                "conn_ring_bytes",
                "max_msrp_header_bytes",
                "max_cpim_header_bytes",
            ],
            format!(
                "memory_cap = {} is smaller than one participant plus one MSRP connection ({} bytes)",
                limits.memory_cap,
                limits.participant_bytes() + limits.msrp_connection_bytes()
            ),
        ),
        LimitsError::Invalid(name) => {
            let value = limits.get(name).unwrap_or(0);
            let related = |other: &str| limits.get(other).unwrap_or(0);
            if value == 0 {
                at(&[name], format!("`{name}` must not be zero"))
            } else if name == "max_room_participants" && value > related("max_participants") {
                let max = related("max_participants");
                let message = format!("max_room_participants ({value}) must not exceed max_participants ({max})");
                at(&[name, "max_participants"], message)
            } else if name == "sip_t2_ms" && value < related("sip_t1_ms") {
                let t1 = related("sip_t1_ms");
                at(&[name, "sip_t1_ms"], format!("sip_t2_ms ({value}) must be at least sip_t1_ms ({t1})"))
            } else if name == "max_sdp_bytes" && value > related("max_sip_message_bytes") {
                let max = related("max_sip_message_bytes");
                let message = format!("max_sdp_bytes ({value}) must not exceed max_sip_message_bytes ({max})");
                at(&[name, "max_sip_message_bytes"], message)
            } else if name == "max_message_ids" {
                let (p, q) = (related("max_participants"), related("max_partial_per_sender"));
                let message = format!(
                    "max_message_ids ({value}) must be at least max_participants x \
                     max_partial_per_sender ({p} x {q} = {})",
                    p.saturating_mul(q)
                );
                at(&[name, "max_participants", "max_partial_per_sender"], message)
            } else if name == "sip_tcp_queue_bytes" {
                let (m, n) = (related("max_sip_message_bytes"), related("max_notify_bytes"));
                let least = m.saturating_add(crate::limits::SIP_RESPONSE_EXTRA as u64).max(n);
                let message = format!(
                    "sip_tcp_queue_bytes ({value}) must hold one message the focus sends: at \
                     least max_notify_bytes ({n}) and max_sip_message_bytes + {} ({least})",
                    crate::limits::SIP_RESPONSE_EXTRA
                );
                at(&[name, "max_sip_message_bytes", "max_notify_bytes"], message)
            } else {
                at(&[name], format!("`{name}` = {value} is below its minimum (see Limits::validate)"))
            }
        }
        other => ConfigError::plain(format!("{profile_source}: {other}")),
    }
}

/// Flags over file over defaults for everything but the limits; rooms and their policies.
fn merge(
    flags: Flags,
    file: FileSettings,
    file_source: &str,
    profile: String,
    limits: Limits,
) -> Result<Config, ConfigError> {
    let file_at = |line: usize| format!("{file_source}:{line}");
    let (domain, domain_origin) = match (&flags.domain, &file.domain) {
        (Some(d), _) => (d.clone(), Some("--domain".to_string())),
        (None, Some(d)) => (d.value.clone(), Some(file_at(d.line))),
        (None, None) => (DEFAULT_DOMAIN.to_string(), None),
    };

    let pick = |flag: Option<SocketAddr>,
                name: &str,
                from_file: &Option<config_file::Located<SocketAddr>>,
                default| {
        match (flag, from_file) {
            (Some(addr), _) => (addr, Some(name.to_string())),
            (None, Some(l)) => (l.value, Some(file_at(l.line))),
            (None, None) => (default, None),
        }
    };
    let (sip_listen, sip_origin) = pick(
        flags.sip_listen,
        "--sip-listen",
        &file.sip_listen,
        DEFAULT_SIP_LISTEN,
    );
    let (msrp_listen, msrp_origin) = pick(
        flags.msrp_listen,
        "--msrp-listen",
        &file.msrp_listen,
        DEFAULT_MSRP_LISTEN,
    );
    if sip_listen == msrp_listen && sip_listen.port() != 0 {
        let origin = msrp_origin
            .or(sip_origin)
            .unwrap_or_else(|| "--msrp-listen".to_string());
        return Err(ConfigError::plain(format!(
            "{origin}: SIP and MSRP cannot both listen on {sip_listen}"
        )));
    }

    let default_policy = RoomPolicy {
        nicknames: !flags.no_nicknames && file.nicknames.unwrap_or(true),
        private_messages: !flags.no_private_messages && file.private_messages.unwrap_or(true),
        max_participants: limits.max_room_participants,
    };

    let mut rooms: Vec<(String, RoomPolicy, Option<Origin>)> = Vec::new();
    for table in &file.rooms {
        let mut policy = default_policy;
        policy.nicknames = table.nicknames.unwrap_or(policy.nicknames);
        policy.private_messages = table.private_messages.unwrap_or(policy.private_messages);
        if let Some(max) = &table.max_participants {
            if max.value > limits.max_room_participants {
                return Err(ConfigError::in_file(
                    file_source,
                    max.line,
                    format!(
                        "room `{}`: max_participants ({}) exceeds limits.max_room_participants ({})",
                        table.name, max.value, limits.max_room_participants
                    ),
                ));
            }
            policy.max_participants = max.value;
        }
        rooms.push((table.name.clone(), policy, Some(file_at(table.line))));
    }
    for name in &flags.rooms {
        if !rooms.iter().any(|(n, _, _)| n == name) {
            rooms.push((name.clone(), default_policy, Some("--room".to_string())));
        }
    }
    if rooms.is_empty() {
        rooms.push((DEFAULT_ROOM.to_string(), default_policy, None));
    }
    for (index, (name, _, origin)) in rooms.iter().enumerate() {
        let blame = || {
            origin
                .clone()
                .or(domain_origin.clone())
                .unwrap_or_else(|| "--room".to_string())
        };
        if index >= limits.max_rooms {
            return Err(ConfigError::plain(format!(
                "{}: room `{name}` is one room more than limits.max_rooms ({})",
                blame(),
                limits.max_rooms
            )));
        }
        let uri_len = "sip:".len() + name.len() + "@".len() + domain.len();
        if uri_len > limits.max_uri_bytes {
            return Err(ConfigError::plain(format!(
                "{}: room URI sip:{name}@{domain} is {uri_len} bytes, more than limits.max_uri_bytes ({})",
                blame(),
                limits.max_uri_bytes
            )));
        }
    }

    let reserved_nicknames = match &file.reserved_nicknames {
        Some(words) => {
            for word in &words.value {
                check_reserved_nickname(word, limits.max_nickname_bytes).map_err(|m| {
                    ConfigError::in_file(
                        file_source,
                        words.line,
                        format!("reserved_nicknames: {m}"),
                    )
                })?;
            }
            words.value.clone()
        }
        None => DEFAULT_RESERVED_NICKNAMES
            .iter()
            .map(|w| w.to_string())
            .collect(),
    };

    let admission = admission_of(&file, file_source, &domain, &rooms)?;

    Ok(Config {
        sip_listen,
        msrp_listen,
        domain,
        rooms: rooms.into_iter().map(|(n, p, _)| (n, p)).collect(),
        allow_adhoc: flags.allow_adhoc || file.allow_adhoc.unwrap_or(false),
        default_policy,
        profile,
        limits,
        log_level: flags.log.or(file.log).unwrap_or(log::LevelFilter::Info),
        reserved_nicknames,
        admission,
    })
}

/// Allow lists and users from the file: each provisioned room's list (its own, else the
/// top-level one), the default for ad-hoc rooms, the realm (default: the domain), and the
/// users, whose `realm` (if written) must be that realm.
fn admission_of(
    file: &FileSettings,
    file_source: &str,
    domain: &str,
    rooms: &[(String, RoomPolicy, Option<Origin>)],
) -> Result<Admission, ConfigError> {
    let list_of = |located: &config_file::Located<Vec<String>>| {
        located
            .value
            .iter()
            .map(|text| AllowEntry::parse(text))
            .collect::<Result<Vec<_>, _>>()
            .map(|entries| AllowList { entries })
            .map_err(|m| ConfigError::in_file(file_source, located.line, format!("allow: {m}")))
    };
    let default_allow = file.allow.as_ref().map(list_of).transpose()?;
    let mut room_lists = Vec::new();
    for (name, _, _) in rooms {
        let own = file.rooms.iter().find(|t| &t.name == name);
        let list = match own.and_then(|t| t.allow.as_ref()) {
            Some(located) => Some(list_of(located)?),
            None => default_allow.clone(),
        };
        room_lists.push((name.clone(), list));
    }
    let realm = file
        .auth_realm
        .as_ref()
        .map_or_else(|| domain.to_string(), |r| r.value.clone());
    let mut users = Vec::new();
    for table in &file.users {
        let at = |m: String| ConfigError::in_file(file_source, table.line, m);
        let aor = Aor::parse(&table.aor)
            .ok_or_else(|| at(format!("user `{}` is not USER@HOST", table.aor)))?;
        if let Some(r) = table.realm.as_ref().filter(|r| r.value != realm) {
            return Err(ConfigError::in_file(
                file_source,
                r.line,
                format!(
                    "user `{}`: realm {:?} is not the server's realm {realm:?} (auth_realm, \
                     default the domain); its hashes would never match",
                    table.aor, r.value
                ),
            ));
        }
        if table.ha1_sha256.is_none() && table.ha1_md5.is_none() {
            return Err(at(format!(
                "user `{}` needs ha1_sha256 and/or ha1_md5 (from `parlor hash-password`)",
                table.aor
            )));
        }
        users.push(UserCredentials {
            username: table.username.clone().unwrap_or_else(|| aor.user.clone()),
            aor,
            ha1_sha256: table.ha1_sha256.clone(),
            ha1_md5: table.ha1_md5.clone(),
        });
    }
    Ok(Admission {
        realm,
        users,
        default_allow,
        rooms: room_lists,
    })
}

/// A reserved word must be a nickname someone could ask for: the profile accepts it.
fn check_reserved_nickname(word: &str, max_bytes: usize) -> Result<(), String> {
    use crate::wire::nickname::{enforce, NicknameError};
    match enforce(word, max_bytes) {
        Ok(_) => Ok(()),
        Err(NicknameError::Empty) => Err(format!("{word:?} is empty")),
        Err(NicknameError::TooLong) => Err(format!(
            "{word:?} is longer than limits.max_nickname_bytes ({max_bytes})"
        )),
        Err(_) => Err(format!(
            "{word:?} has characters a nickname may not contain"
        )),
    }
}

#[cfg(test)]
mod tests;
