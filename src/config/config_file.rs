//! A config file (the TOML subset) → [`FileSettings`]: top-level settings, `[limits]` and
//! `[room.NAME]` tables (room policy: RFC 7701 §5.1 nicknames, §7 private messages).
//!
//! Values are checked here with their line; checks that need the merged limits (a room's
//! `max_participants`, room URI length) happen in the merge, which still has the lines.

use core::net::SocketAddr;

use super::profiles::LimitSetting;
use super::toml_subset::{self, Entry, Value};
use super::value_syntax::{
    check_domain, check_room_name, parse_listen_addr, parse_log_level, parse_memory_cap,
};
use super::ConfigError;
use crate::limits::Limits;

/// A value with the line it was set on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Located<T> {
    pub value: T,
    pub line: usize,
}

/// One `[room.NAME]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RoomTable {
    pub name: String,
    pub line: usize,
    pub nicknames: Option<bool>,
    pub private_messages: Option<bool>,
    pub max_participants: Option<Located<usize>>,
    /// `allow = [...]`: the room's allow list (RFC 7701 §5.2 policy), checked in the merge.
    pub allow: Option<Located<Vec<String>>>,
}

/// One `[user."AOR"]` table: digest credentials as HA1 hashes (RFC 3261 §22.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct UserTable {
    /// The table name: `alice@example.com` (or `sip:alice@example.com`).
    pub aor: String,
    pub line: usize,
    pub username: Option<String>,
    pub realm: Option<Located<String>>,
    pub ha1_sha256: Option<String>,
    pub ha1_md5: Option<String>,
}

/// Everything a config file set; `None` = not set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct FileSettings {
    pub domain: Option<Located<String>>,
    pub sip_listen: Option<Located<SocketAddr>>,
    pub msrp_listen: Option<Located<SocketAddr>>,
    pub allow_adhoc: Option<bool>,
    pub nicknames: Option<bool>,
    pub private_messages: Option<bool>,
    pub profile: Option<Located<String>>,
    pub memory_cap: Option<Located<usize>>,
    pub log: Option<log::LevelFilter>,
    /// `reserved_nicknames = [...]` (RFC 7701 §7.1 reserved words), checked in the merge.
    pub reserved_nicknames: Option<Located<Vec<String>>>,
    /// `[limits]` entries in file order.
    pub limits: Vec<LimitSetting>,
    /// `[room.NAME]` tables in file order.
    pub rooms: Vec<RoomTable>,
    /// Top-level `allow = [...]`: default allow list (ad-hoc rooms, rooms without one).
    pub allow: Option<Located<Vec<String>>>,
    /// `auth_realm = "..."` (default: the domain).
    pub auth_realm: Option<Located<String>>,
    /// `[user."AOR"]` tables in file order.
    pub users: Vec<UserTable>,
}

impl FileSettings {
    /// Parses the text of the file shown as `source` in messages.
    pub fn parse(source: &str, text: &str) -> Result<FileSettings, ConfigError> {
        let doc =
            toml_subset::parse(text).map_err(|e| ConfigError::in_file(source, e.line, e.kind))?;
        let mut settings = FileSettings::default();
        for header in &doc.tables {
            let at = |m: String| ConfigError::in_file(source, header.line, m);
            match header.table.as_slice() {
                [table] if table == "limits" => {}
                [table, name] if table == "room" => {
                    check_room_name(name).map_err(at)?;
                    settings.rooms.push(RoomTable {
                        name: name.clone(),
                        line: header.line,
                        nicknames: None,
                        private_messages: None,
                        max_participants: None,
                        allow: None,
                    });
                }
                [table, aor] if table == "user" => {
                    settings.users.push(UserTable {
                        aor: aor.clone(),
                        line: header.line,
                        username: None,
                        realm: None,
                        ha1_sha256: None,
                        ha1_md5: None,
                    });
                }
                other => {
                    return Err(at(format!(
                        "unknown table [{}]; expected [limits] or [room.NAME] or [user.\"AOR\"]",
                        other.join(".")
                    )))
                }
            }
        }
        for entry in &doc.entries {
            let at = |m: String| ConfigError::in_file(source, entry.line, m);
            match entry.table.as_slice() {
                [] => settings.set_top_level(entry).map_err(at)?,
                [_limits] => settings
                    .limits
                    .push(LimitSetting::from_entry(entry).map_err(at)?),
                [table, aor] if table == "user" => {
                    let user = settings.users.iter_mut().find(|u| &u.aor == aor);
                    match user {
                        Some(user) => set_user_key(user, entry).map_err(at)?,
                        None => return Err(at(format!("no table for user `{aor}`"))),
                    }
                }
                [_room, name] => {
                    let room = settings.rooms.iter_mut().find(|r| &r.name == name);
                    match room {
                        Some(room) => set_room_key(room, entry).map_err(at)?,
                        None => return Err(at(format!("no table for room `{name}`"))),
                    }
                }
                _ => return Err(at("key in an unknown table".to_string())),
            }
        }
        if let Some((line, message)) = settings.memory_cap_conflict() {
            return Err(ConfigError::in_file(source, line, message));
        }
        Ok(settings)
    }

    fn set_top_level(&mut self, entry: &Entry) -> Result<(), String> {
        let line = entry.line;
        let key = entry.key.as_str();
        match key {
            "domain" => {
                let v = want_string(entry)?;
                check_domain(v)?;
                self.domain = Some(Located {
                    value: v.to_string(),
                    line,
                });
            }
            "sip_listen" => {
                let value = parse_listen_addr(want_string(entry)?)?;
                self.sip_listen = Some(Located { value, line });
            }
            "msrp_listen" => {
                let value = parse_listen_addr(want_string(entry)?)?;
                self.msrp_listen = Some(Located { value, line });
            }
            "allow_adhoc" => self.allow_adhoc = Some(want_bool(entry)?),
            "nicknames" => self.nicknames = Some(want_bool(entry)?),
            "private_messages" => self.private_messages = Some(want_bool(entry)?),
            "profile" => {
                let value = want_string(entry)?;
                if value.is_empty() {
                    return Err("`profile` must not be empty".to_string());
                }
                self.profile = Some(Located {
                    value: value.to_string(),
                    line,
                });
            }
            "memory_cap" => {
                let value = match &entry.value {
                    Value::Integer(v) => usize::try_from(*v)
                        .map_err(|_| format!("`memory_cap` value {v} is out of range"))?,
                    Value::String(s) => parse_memory_cap(s)?,
                    other => {
                        return Err(format!(
                        "`memory_cap` must be an integer or a size string like \"8MiB\", not {}",
                        other.kind()
                    ))
                    }
                };
                self.memory_cap = Some(Located { value, line });
            }
            "log" => self.log = Some(parse_log_level(want_string(entry)?)?),
            "allow" => self.allow = Some(want_strings(entry)?),
            "auth_realm" => {
                let value = want_string(entry)?;
                if value.is_empty() || value.chars().any(char::is_control) {
                    return Err("`auth_realm` must be a non-empty one-line string".to_string());
                }
                self.auth_realm = Some(Located {
                    value: value.to_string(),
                    line,
                });
            }
            "reserved_nicknames" => match &entry.value {
                Value::Strings(words) => {
                    self.reserved_nicknames = Some(Located {
                        value: words.clone(),
                        line,
                    })
                }
                other => {
                    return Err(format!(
                        "`reserved_nicknames` must be an array of strings like [\"admin\"], not {}",
                        other.kind()
                    ))
                }
            },
            _ if Limits::FIELD_NAMES.contains(&key) => {
                return Err(format!("`{key}` is a limit: put it under [limits]"))
            }
            _ => {
                return Err(format!(
                    "unknown key `{key}` (expected domain, sip_listen, msrp_listen, allow_adhoc, \
                     nicknames, private_messages, reserved_nicknames, profile, memory_cap, log, \
                     allow, auth_realm, or a [limits], [room.NAME] or [user.\"AOR\"] table)"
                ))
            }
        }
        Ok(())
    }

    /// `memory_cap` may be given at top level or under `[limits]`, not both: the later
    /// line and the message if both are there.
    fn memory_cap_conflict(&self) -> Option<(usize, String)> {
        let top = self.memory_cap.as_ref()?.line;
        let table = self.limits.iter().find(|s| s.name == "memory_cap")?.line;
        let (first, second) = (top.min(table), top.max(table));
        Some((
            second,
            format!("`memory_cap` is already set on line {first}; set it once"),
        ))
    }
}

fn set_room_key(room: &mut RoomTable, entry: &Entry) -> Result<(), String> {
    match entry.key.as_str() {
        "nicknames" => room.nicknames = Some(want_bool(entry)?),
        "private_messages" => room.private_messages = Some(want_bool(entry)?),
        "allow" => room.allow = Some(want_strings(entry)?),
        "max_participants" => {
            let value = match entry.value {
                Value::Integer(v) if v >= 1 => usize::try_from(v)
                    .map_err(|_| format!("`max_participants` value {v} is out of range"))?,
                Value::Integer(_) => {
                    return Err("`max_participants` must be at least 1".to_string())
                }
                ref other => {
                    return Err(format!(
                        "`max_participants` must be an integer, not {}",
                        other.kind()
                    ))
                }
            };
            room.max_participants = Some(Located {
                value,
                line: entry.line,
            });
        }
        other => {
            return Err(format!(
            "unknown room key `{other}` (expected nicknames, private_messages, max_participants, allow)"
        ))
        }
    }
    Ok(())
}

/// Keys of a `[user."AOR"]` table: `username`, `realm`, `ha1_sha256`, `ha1_md5`.
fn set_user_key(user: &mut UserTable, entry: &Entry) -> Result<(), String> {
    let hash = |len: usize| -> Result<String, String> {
        let v = want_string(entry)?;
        if v.len() != len || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "`{}` must be {len} hex digits (print it with `parlor hash-password`)",
                entry.key
            ));
        }
        Ok(v.to_ascii_lowercase())
    };
    match entry.key.as_str() {
        "username" => {
            let v = want_string(entry)?;
            if v.is_empty() || v.chars().any(char::is_control) {
                return Err("`username` must be a non-empty one-line string".to_string());
            }
            user.username = Some(v.to_string());
        }
        "realm" => {
            user.realm = Some(Located {
                value: want_string(entry)?.to_string(),
                line: entry.line,
            })
        }
        "ha1_sha256" => user.ha1_sha256 = Some(hash(64)?),
        "ha1_md5" => user.ha1_md5 = Some(hash(32)?),
        "password" => {
            return Err(
                "plain passwords are not accepted: put `parlor hash-password` output here"
                    .to_string(),
            )
        }
        other => {
            return Err(format!(
                "unknown user key `{other}` (expected username, realm, ha1_sha256, ha1_md5)"
            ))
        }
    }
    Ok(())
}

fn want_strings(entry: &Entry) -> Result<Located<Vec<String>>, String> {
    match &entry.value {
        Value::Strings(items) => Ok(Located {
            value: items.clone(),
            line: entry.line,
        }),
        other => Err(format!(
            "`{}` must be an array of strings like [\"sip:alice@example.com\", \"@example.org\"], not {}",
            entry.key,
            other.kind()
        )),
    }
}

fn want_string(entry: &Entry) -> Result<&str, String> {
    match &entry.value {
        Value::String(s) => Ok(s),
        other => Err(format!(
            "`{}` must be a string, not {}",
            entry.key,
            other.kind()
        )),
    }
}

fn want_bool(entry: &Entry) -> Result<bool, String> {
    match entry.value {
        Value::Boolean(b) => Ok(b),
        ref other => Err(format!(
            "`{}` must be true or false, not {}",
            entry.key,
            other.kind()
        )),
    }
}
