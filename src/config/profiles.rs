//! Memory profiles: the built-in `tiny`, `router` and `gateway` files (embedded from
//! `memory-profiles/`), and turning a profile's `field = integer` lines into [`Limits`].
//!
//! A profile sets [`Limits`] fields at top level by their [`Limits::FIELD_NAMES`]; fields it
//! omits keep the `router` value (`Limits::default()`); unknown names, tables and
//! non-integers are errors with `FILE:LINE`.

use super::toml_subset::{self, Entry, Value};
use super::ConfigError;
use crate::limits::{Limits, LimitsError};

/// The built-in profiles: (name, file text). `router` equals `Limits::default()`.
pub const BUILTIN_PROFILES: [(&str, &str); 3] = [
    ("tiny", include_str!("../../memory-profiles/tiny.toml")),
    ("router", include_str!("../../memory-profiles/router.toml")),
    (
        "gateway",
        include_str!("../../memory-profiles/gateway.toml"),
    ),
];

/// The text of a built-in profile.
pub fn builtin_text(name: &str) -> Option<&'static str> {
    BUILTIN_PROFILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// The name a built-in profile is shown by in error messages.
pub fn builtin_source(name: &str) -> String {
    format!("memory-profiles/{name}.toml")
}

/// The limits of a built-in profile (not validated: see [`Limits::validate`]).
pub fn builtin_limits(name: &str) -> Result<Limits, ConfigError> {
    let text = builtin_text(name).ok_or_else(|| {
        ConfigError::plain(format!(
            "`{name}` is not a built-in profile (tiny, router, gateway)"
        ))
    })?;
    let mut limits = Limits::default();
    for setting in read_profile(&builtin_source(name), text)? {
        setting.apply(&builtin_source(name), &mut limits)?;
    }
    Ok(limits)
}

/// One `field = value` for [`Limits`], checked for name and sign but not yet applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LimitSetting {
    /// One of `Limits::FIELD_NAMES`.
    pub name: &'static str,
    /// The value.
    pub value: u64,
    /// 1-based line in its file.
    pub line: usize,
}

impl LimitSetting {
    /// Checks one entry of a profile or of a config file's `[limits]` table.
    pub fn from_entry(entry: &Entry) -> Result<LimitSetting, String> {
        let name = Limits::FIELD_NAMES
            .iter()
            .find(|n| **n == entry.key)
            .ok_or_else(|| format!("unknown limit `{}`", entry.key))?;
        let value = match entry.value {
            Value::Integer(v) => {
                u64::try_from(v).map_err(|_| format!("`{name}` must not be negative"))?
            }
            ref other => return Err(format!("`{name}` must be an integer, not {}", other.kind())),
        };
        Ok(LimitSetting {
            name,
            value,
            line: entry.line,
        })
    }

    /// Writes the value into `limits`; a value too large for the field is an error at its
    /// line in `source`.
    pub fn apply(&self, source: &str, limits: &mut Limits) -> Result<(), ConfigError> {
        limits.set(self.name, self.value).map_err(|e| {
            let message = match e {
                LimitsError::OutOfRange(_) => {
                    format!("`{}` value {} is out of range", self.name, self.value)
                }
                other => format!("`{}`: {other}", self.name),
            };
            ConfigError::in_file(source, self.line, message)
        })
    }
}

/// Parses a profile file: only top-level `field = integer` lines.
pub(super) fn read_profile(source: &str, text: &str) -> Result<Vec<LimitSetting>, ConfigError> {
    let doc = toml_subset::parse(text).map_err(|e| ConfigError::in_file(source, e.line, e.kind))?;
    if let Some(header) = doc.tables.first() {
        return Err(ConfigError::in_file(
            source,
            header.line,
            "a profile has no tables: write every limit as `field = integer` at top level",
        ));
    }
    doc.entries
        .iter()
        .map(|e| LimitSetting::from_entry(e).map_err(|m| ConfigError::in_file(source, e.line, m)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_profile_equals_the_defaults() {
        assert_eq!(builtin_limits("router").unwrap(), Limits::default());
    }

    #[test]
    fn every_builtin_profile_is_valid_and_complete() {
        for (name, text) in BUILTIN_PROFILES {
            let limits = builtin_limits(name).unwrap();
            assert_eq!(limits.validate(), Ok(()), "{name}");
            let settings = read_profile(name, text).unwrap();
            let mut set: Vec<&str> = settings.iter().map(|s| s.name).collect();
            set.sort_unstable();
            let mut all = Limits::FIELD_NAMES.to_vec();
            all.sort_unstable();
            assert_eq!(set, all, "{name} must set every field");
        }
    }

    #[test]
    fn every_profile_line_is_documented_by_the_comment_above_it() {
        for (name, text) in BUILTIN_PROFILES {
            let lines: Vec<&str> = text.lines().collect();
            for setting in read_profile(name, text).unwrap() {
                let above = lines
                    .get(setting.line.wrapping_sub(2))
                    .map(|l| l.trim_start());
                assert!(
                    above.is_some_and(|l| l.starts_with("# ") && l.len() > 10),
                    "{name}.toml:{}: `{}` lacks a comment line above it",
                    setting.line,
                    setting.name
                );
            }
        }
    }

    #[test]
    fn profiles_grow_from_tiny_to_gateway() {
        let tiny = builtin_limits("tiny").unwrap();
        let router = builtin_limits("router").unwrap();
        let gateway = builtin_limits("gateway").unwrap();
        assert!(tiny.memory_cap < router.memory_cap && router.memory_cap < gateway.memory_cap);
        assert!(tiny.max_participants < router.max_participants);
        assert!(router.max_participants < gateway.max_participants);
        assert!(tiny.worst_case_bytes() < router.worst_case_bytes());
        assert!(router.worst_case_bytes() < gateway.worst_case_bytes());
        assert!(tiny.memory_cap <= 1 << 20, "tiny must fit a 1 MiB budget");
    }

    #[test]
    fn tiny_worst_case_fits_its_cap_and_figures_are_printed() {
        for (name, _) in BUILTIN_PROFILES {
            let l = builtin_limits(name).unwrap();
            println!(
                "{name}: memory_cap={} max_participants={} ring_bytes={} worst_case_bytes={} bounded_bytes={}",
                l.memory_cap,
                l.max_participants,
                l.ring_bytes,
                l.worst_case_bytes(),
                l.bounded_bytes()
            );
        }
        let tiny = builtin_limits("tiny").unwrap();
        assert!(tiny.worst_case_bytes() <= tiny.memory_cap);
    }

    #[test]
    fn unknown_builtin_is_an_error() {
        let e = builtin_limits("huge").unwrap_err();
        assert!(
            e.message.contains("`huge` is not a built-in profile"),
            "{e}"
        );
    }

    #[test]
    fn omitted_fields_keep_router_values() {
        let settings = read_profile("p.toml", "ring_bytes = 2048\n").unwrap();
        let mut limits = Limits::default();
        for s in &settings {
            s.apply("p.toml", &mut limits).unwrap();
        }
        let expected = Limits {
            ring_bytes: 2048,
            ..Limits::default()
        };
        assert_eq!(limits, expected);
    }

    #[test]
    fn profile_errors_carry_file_and_line() {
        let cases = [
            (
                "ring_bytes = 1\nbogus = 2\n",
                "p.toml:2: unknown limit `bogus`",
            ),
            (
                "\n\nring_bytes = \"big\"\n",
                "p.toml:3: `ring_bytes` must be an integer, not a string",
            ),
            (
                "ring_bytes = true\n",
                "p.toml:1: `ring_bytes` must be an integer, not a boolean",
            ),
            (
                "ring_bytes = -1\n",
                "p.toml:1: `ring_bytes` must not be negative",
            ),
            ("# x\n[limits]\n", "p.toml:2: a profile has no tables"),
            ("ring_bytes = 1.5\n", "p.toml:1: unsupported value"),
            (
                "ring_bytes = 1\nring_bytes = 2\n",
                "p.toml:2: key already set on line 1",
            ),
        ];
        for (text, expected) in cases {
            let e = read_profile("p.toml", text).unwrap_err();
            assert!(e.message.starts_with(expected), "{text:?}: {e}");
        }
    }

    #[cfg(target_pointer_width = "32")]
    #[test]
    fn value_too_large_for_usize_is_out_of_range() {
        let settings = read_profile("p.toml", "ring_bytes = 8_589_934_592\n").unwrap();
        let e = settings[0]
            .apply("p.toml", &mut Limits::default())
            .unwrap_err();
        assert_eq!(
            e.message,
            "p.toml:1: `ring_bytes` value 8589934592 is out of range"
        );
    }
}
