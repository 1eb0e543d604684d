//! The words after `parlor serve` → [`Flags`], with pico-args. Only these spellings exist:
//! `--config FILE`, `--domain NAME`, `--sip-listen IP:PORT`, `--msrp-listen IP:PORT`,
//! `--room NAME` (repeatable), `--allow-adhoc`, `--no-nicknames`, `--no-private-messages`,
//! `--profile NAME|PATH`, `--memory-cap BYTES`, `--limit NAME=VALUE` (repeatable, any
//! Limits field), `--log LEVEL`. Anything else is an error.

use core::net::SocketAddr;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use super::value_syntax::{
    check_domain, check_room_name, parse_listen_addr, parse_log_level, parse_memory_cap,
};
use super::ConfigError;
use crate::limits::Limits;

/// What the command line said; `None`/`false` = not given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Flags {
    pub config: Option<PathBuf>,
    pub domain: Option<String>,
    pub sip_listen: Option<SocketAddr>,
    pub msrp_listen: Option<SocketAddr>,
    pub rooms: Vec<String>,
    pub allow_adhoc: bool,
    pub no_nicknames: bool,
    pub no_private_messages: bool,
    pub profile: Option<String>,
    pub memory_cap: Option<usize>,
    /// `--limit NAME=VALUE`: Limits fields set on the command line, in order.
    pub limits: Vec<(&'static str, u64)>,
    pub log: Option<log::LevelFilter>,
}

/// Flags that take no value.
const SWITCHES: [&str; 3] = ["--allow-adhoc", "--no-nicknames", "--no-private-messages"];

impl Flags {
    /// Parses every argument; unknown flags and stray words are errors.
    pub fn parse(args: Vec<OsString>) -> Result<Flags, ConfigError> {
        let mut args = pico_args::Arguments::from_vec(args);
        let mut flags = Flags {
            config: single(&mut args, "--config")?.map(PathBuf::from),
            ..Flags::default()
        };
        if let Some(v) = single_utf8(&mut args, "--domain")? {
            check_domain(&v).map_err(|m| ConfigError::flag("--domain", m))?;
            flags.domain = Some(v);
        }
        if let Some(v) = single_utf8(&mut args, "--sip-listen")? {
            let addr = parse_listen_addr(&v).map_err(|m| ConfigError::flag("--sip-listen", m))?;
            flags.sip_listen = Some(addr);
        }
        if let Some(v) = single_utf8(&mut args, "--msrp-listen")? {
            let addr = parse_listen_addr(&v).map_err(|m| ConfigError::flag("--msrp-listen", m))?;
            flags.msrp_listen = Some(addr);
        }
        for raw in values(&mut args, "--room")? {
            let name = utf8("--room", raw)?;
            check_room_name(&name).map_err(|m| ConfigError::flag("--room", m))?;
            if !flags.rooms.contains(&name) {
                flags.rooms.push(name);
            }
        }
        flags.profile = single_utf8(&mut args, "--profile")?;
        if let Some(v) = single_utf8(&mut args, "--memory-cap")? {
            let cap = parse_memory_cap(&v).map_err(|m| ConfigError::flag("--memory-cap", m))?;
            flags.memory_cap = Some(cap);
        }
        for raw in values(&mut args, "--limit")? {
            let word = utf8("--limit", raw)?;
            flags
                .limits
                .push(parse_limit(&word).map_err(|m| ConfigError::flag("--limit", m))?);
        }
        if let Some(v) = single_utf8(&mut args, "--log")? {
            flags.log = Some(parse_log_level(&v).map_err(|m| ConfigError::flag("--log", m))?);
        }
        let [adhoc, nicknames, private] = SWITCHES.map(|name| {
            // Each call removes one occurrence; repeating a switch is harmless.
            let mut seen = false;
            while args.contains(name) {
                seen = true;
            }
            seen
        });
        flags.allow_adhoc = adhoc;
        flags.no_nicknames = nicknames;
        flags.no_private_messages = private;
        if let Some(stray) = args.finish().first() {
            let word = stray.to_string_lossy();
            return Err(if word.starts_with('-') {
                ConfigError::flag(&word, "unknown flag")
            } else {
                ConfigError::flag(&word, "unexpected argument")
            });
        }
        Ok(flags)
    }
}

/// `NAME=VALUE` with NAME a Limits field and VALUE an unsigned integer (`_` allowed).
fn parse_limit(word: &str) -> Result<(&'static str, u64), String> {
    let (name, value) = word
        .split_once('=')
        .ok_or_else(|| format!("`{word}` is not NAME=VALUE"))?;
    let name = Limits::FIELD_NAMES
        .iter()
        .copied()
        .find(|n| *n == name.trim())
        .ok_or_else(|| {
            format!(
                "`{}` is not a limit (see memory-profiles/router.toml)",
                name.trim()
            )
        })?;
    let digits: String = value.trim().chars().filter(|c| *c != '_').collect();
    let value = digits
        .parse::<u64>()
        .map_err(|_| format!("{name}: `{}` is not an unsigned integer", value.trim()))?;
    Ok((name, value))
}

fn raw_os(value: &OsStr) -> Result<OsString, String> {
    Ok(value.to_os_string())
}

/// Every value of a repeatable flag, raw.
fn values(
    args: &mut pico_args::Arguments,
    flag: &'static str,
) -> Result<Vec<OsString>, ConfigError> {
    let found = args.values_from_os_str(flag, raw_os).map_err(|e| match e {
        pico_args::Error::OptionWithoutAValue(_) => ConfigError::flag(flag, "missing value"),
        other => ConfigError::flag(flag, other.to_string()),
    })?;
    if let Some(v) = found.iter().find(|v| v.to_string_lossy().starts_with("--")) {
        let v = v.to_string_lossy();
        return Err(ConfigError::flag(
            flag,
            format!("missing value (found flag `{v}`)"),
        ));
    }
    Ok(found)
}

/// The value of a flag that may appear at most once.
fn single(
    args: &mut pico_args::Arguments,
    flag: &'static str,
) -> Result<Option<OsString>, ConfigError> {
    let mut found = values(args, flag)?;
    if found.len() > 1 {
        return Err(ConfigError::flag(flag, "given more than once"));
    }
    Ok(found.pop())
}

fn single_utf8(
    args: &mut pico_args::Arguments,
    flag: &'static str,
) -> Result<Option<String>, ConfigError> {
    single(args, flag)?.map(|v| utf8(flag, v)).transpose()
}

fn utf8(flag: &'static str, value: OsString) -> Result<String, ConfigError> {
    value
        .into_string()
        .map_err(|_| ConfigError::flag(flag, "value is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<Flags, ConfigError> {
        Flags::parse(words.iter().map(OsString::from).collect())
    }

    fn error(words: &[&str]) -> String {
        match parse(words) {
            Ok(f) => panic!("expected an error for {words:?}, got {f:?}"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn no_words_no_flags() {
        assert_eq!(parse(&[]).unwrap(), Flags::default());
    }

    #[test]
    fn every_flag() {
        let f = parse(&[
            "--config",
            "parlor.toml",
            "--domain",
            "chat.example.net",
            "--sip-listen",
            "0.0.0.0:5070",
            "--msrp-listen",
            "[::1]:2856",
            "--room",
            "a",
            "--allow-adhoc",
            "--room",
            "b",
            "--no-nicknames",
            "--no-private-messages",
            "--profile",
            "tiny",
            "--memory-cap",
            "2M",
            "--log",
            "debug",
            "--room",
            "a",
        ])
        .unwrap();
        assert_eq!(f.config, Some(PathBuf::from("parlor.toml")));
        assert_eq!(f.domain.as_deref(), Some("chat.example.net"));
        assert_eq!(f.sip_listen.unwrap().to_string(), "0.0.0.0:5070");
        assert_eq!(f.msrp_listen.unwrap().to_string(), "[::1]:2856");
        assert_eq!(f.rooms, vec!["a".to_string(), "b".to_string()]);
        assert!(f.allow_adhoc && f.no_nicknames && f.no_private_messages);
        assert_eq!(f.profile.as_deref(), Some("tiny"));
        assert_eq!(f.memory_cap, Some(2 << 20));
        assert_eq!(f.log, Some(log::LevelFilter::Debug));
    }

    #[test]
    fn repeated_switch_is_harmless() {
        let f = parse(&["--allow-adhoc", "--allow-adhoc"]).unwrap();
        assert!(f.allow_adhoc);
    }

    #[test]
    fn unknown_flags_and_stray_words() {
        assert_eq!(error(&["--verbose"]), "--verbose: unknown flag");
        assert_eq!(error(&["--domain=x"]), "--domain=x: unknown flag");
        assert_eq!(error(&["-v"]), "-v: unknown flag");
        assert_eq!(error(&["lobby"]), "lobby: unexpected argument");
        assert_eq!(
            error(&["--allow-adhoc", "extra"]),
            "extra: unexpected argument"
        );
    }

    #[test]
    fn missing_and_repeated_values() {
        assert_eq!(error(&["--domain"]), "--domain: missing value");
        assert_eq!(error(&["--room"]), "--room: missing value");
        assert_eq!(
            error(&["--domain", "--allow-adhoc"]),
            "--domain: missing value (found flag `--allow-adhoc`)"
        );
        assert_eq!(
            error(&["--log", "info", "--log", "warn"]),
            "--log: given more than once"
        );
    }

    #[test]
    fn limits_are_repeatable_name_value_pairs() {
        let f = parse(&[
            "--limit",
            "ring_bytes=32_768",
            "--limit",
            "max_connections_per_source = 64",
        ])
        .unwrap();
        assert_eq!(
            f.limits,
            vec![("ring_bytes", 32_768), ("max_connections_per_source", 64)]
        );
    }

    #[test]
    fn bad_values_name_their_flag() {
        let cases: [(&[&str], &str); 10] = [
            (&["--limit", "ring_bytes"], "--limit: "),
            (&["--limit", "no_such_limit=1"], "--limit: "),
            (&["--limit", "ring_bytes=-4"], "--limit: "),
            (&["--domain", "bad domain"], "--domain: "),
            (&["--sip-listen", "localhost:5060"], "--sip-listen: "),
            (&["--msrp-listen", "1.2.3.4"], "--msrp-listen: "),
            (&["--room", "a@b"], "--room: "),
            (&["--room", ""], "--room: "),
            (&["--memory-cap", "lots"], "--memory-cap: "),
            (&["--log", "loud"], "--log: "),
        ];
        for (words, prefix) in cases {
            let message = error(words);
            assert!(message.starts_with(prefix), "{words:?}: {message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_values() {
        use std::os::unix::ffi::OsStringExt;
        let bad = OsString::from_vec(vec![b'a', 0xff]);
        let e = Flags::parse(vec![OsString::from("--domain"), bad.clone()]).unwrap_err();
        assert_eq!(e.message, "--domain: value is not valid UTF-8");
        // A config path need not be UTF-8.
        let f = Flags::parse(vec![OsString::from("--config"), bad.clone()]).unwrap();
        assert_eq!(f.config, Some(PathBuf::from(bad)));
    }
}
