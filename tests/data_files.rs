//! Keeps the repository's data files valid: every `boards/*.toml` and `memory-profiles/*.toml`
//! parses with the config module's TOML-subset parser and has the keys its readers need, and
//! the example config `tests/data/example.toml` loads from disk through `Config::from_args`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use parlor::config::profiles::{builtin_limits, BUILTIN_PROFILES};
use parlor::config::toml_subset::{self, Value};
use parlor::config::Config;
use parlor::limits::Limits;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `.toml` files directly in `dir`, sorted.
fn toml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_board_file_parses_and_names_its_target() {
    let boards = toml_files("boards");
    assert!(!boards.is_empty(), "no board files");
    let required = ["target", "linker", "rustflags", "runner", "default_profile"];
    for path in boards {
        let text = std::fs::read_to_string(&path).unwrap();
        let doc = toml_subset::parse(&text).unwrap_or_else(|e| panic!("{}:{e}", path.display()));
        for key in required {
            let entry = doc
                .entries
                .iter()
                .find(|e| e.table.is_empty() && e.key == key)
                .unwrap_or_else(|| panic!("{}: missing `{key}`", path.display()));
            let Value::String(value) = &entry.value else {
                panic!(
                    "{}:{}: `{key}` must be a string",
                    path.display(),
                    entry.line
                );
            };
            match key {
                "target" => assert!(
                    value.split('-').count() >= 3,
                    "{}: `{value}` is not a target triple",
                    path.display()
                ),
                "default_profile" => assert!(
                    builtin_limits(value).is_ok(),
                    "{}: unknown default_profile `{value}`",
                    path.display()
                ),
                _ => {}
            }
        }
        for entry in &doc.entries {
            assert!(
                required.contains(&entry.key.as_str())
                    || BOARD_OPTIONAL.contains(&entry.key.as_str()),
                "{}:{}: unknown board key `{}`",
                path.display(),
                entry.line,
                entry.key
            );
            assert!(
                entry.table.is_empty(),
                "{}:{}: board files have no tables",
                path.display(),
                entry.line
            );
            // boards/board.sh reads values with sed: plain strings only, no escapes.
            let Value::String(value) = &entry.value else {
                panic!(
                    "{}:{}: `{}` must be a string",
                    path.display(),
                    entry.line,
                    entry.key
                );
            };
            assert!(
                !value.contains(['\\', '"']),
                "{}:{}: `{}` must not need escapes",
                path.display(),
                entry.line,
                entry.key
            );
        }
    }
}

/// Board keys beyond the required ones (boards/README.md): std crates to build from source,
/// and the qemu-system boot recipe (all empty when the board is not booted).
const BOARD_OPTIONAL: [&str; 8] = [
    "build_std",
    "boot_emulator",
    "boot_machine",
    "boot_cpu",
    "boot_console",
    "boot_deb_arch",
    "boot_kernel_package",
    "boot_bus",
];

/// The top-level string `key` of a board file, or "" when absent.
fn board_string(path: &Path, key: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = toml_subset::parse(&text).unwrap_or_else(|e| panic!("{}:{e}", path.display()));
    doc.entries
        .iter()
        .find(|e| e.table.is_empty() && e.key == key)
        .and_then(|e| match &e.value {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn boot_recipe_is_all_or_nothing() {
    for path in toml_files("boards") {
        let set: Vec<bool> = BOARD_OPTIONAL[1..]
            .iter()
            .map(|k| !board_string(&path, k).is_empty())
            .collect();
        assert!(
            set.iter().all(|s| *s) || set.iter().all(|s| !*s),
            "{}: give every boot_* key or none",
            path.display()
        );
    }
    let aarch64 = root().join("boards/aarch64-linux.toml");
    assert_eq!(
        board_string(&aarch64, "boot_emulator"),
        "qemu-system-aarch64"
    );
}

/// `.cargo/config.toml` repeats each cross board's linker, rustflags and runner so that a
/// plain `cargo test --target TRIPLE` behaves like `boards/test BOARD`: they must agree.
#[test]
fn cargo_config_matches_every_cross_board() {
    let config = std::fs::read_to_string(root().join(".cargo/config.toml")).unwrap();
    for path in toml_files("boards") {
        let runner = board_string(&path, "runner");
        if runner.is_empty() {
            continue; // the host: nothing forced in .cargo/config.toml
        }
        let target = board_string(&path, "target");
        let header = format!("[target.{target}]");
        let start = config
            .find(&header)
            .unwrap_or_else(|| panic!(".cargo/config.toml lacks {header}"));
        let section = &config[start + header.len()..];
        let section = &section[..section.find("\n[").unwrap_or(section.len())];
        let flags: Vec<String> = board_string(&path, "rustflags")
            .split_whitespace()
            .map(|w| format!("\"{w}\""))
            .collect();
        for want in [
            format!("linker = \"{}\"", board_string(&path, "linker")),
            format!("rustflags = [{}]", flags.join(", ")),
            format!("runner = \"{runner}\""),
        ] {
            assert!(
                section.lines().any(|l| l.trim() == want),
                "{header} in .cargo/config.toml: want `{want}` (from {})",
                path.display()
            );
        }
    }
}

#[test]
fn profile_files_on_disk_are_the_embedded_ones() {
    let files = toml_files("memory-profiles");
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let builtin: Vec<&str> = BUILTIN_PROFILES.iter().map(|(n, _)| *n).collect();
    let mut sorted_builtin = builtin.clone();
    sorted_builtin.sort_unstable();
    assert_eq!(names, sorted_builtin);
    for (path, name) in files.iter().zip(&names) {
        let args = vec![OsString::from("--profile"), path.clone().into_os_string()];
        let by_path = Config::from_args(args).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(by_path.limits, builtin_limits(name).unwrap(), "{name}");
        assert_eq!(by_path.limits.validate(), Ok(()));
    }
    assert_eq!(builtin_limits("router").unwrap(), Limits::default());
}

#[test]
fn example_config_loads_from_disk() {
    let path = root().join("tests/data/example.toml");
    let args = vec![OsString::from("--config"), path.into_os_string()];
    let config = Config::from_args(args).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.domain, "chat.example.net");
    let names: Vec<&str> = config.rooms.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["lobby", "support", "team.ops"]);
}

#[test]
fn unreadable_config_is_a_one_line_flag_error() {
    let path = root().join("tests/data/does-not-exist.toml");
    let args = vec![OsString::from("--config"), path.into_os_string()];
    let e = Config::from_args(args).unwrap_err();
    assert!(e.message.starts_with("--config: cannot read `"), "{e}");
    assert!(!e.message.contains('\n'));
}
