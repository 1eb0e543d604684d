//! Configuration text (the TOML subset, memory profiles, `Config` merging): the input as a
//! TOML-subset document, as a memory profile and as a config file read through
//! `Config::from_args_with` with an in-memory reader (the file may name a profile path; the
//! reader serves the second half of the input for it). Properties: no panic, errors are one
//! line, and an accepted configuration has valid limits.

use std::ffi::OsString;
use std::path::Path;

use parlor::config::{parse_memory_cap, profiles, toml_subset, Config};

/// One fuzz input.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(doc) = toml_subset::parse(&text) {
        for e in &doc.entries {
            let _ = e.value.kind();
        }
    }
    let _ = parse_memory_cap(&text);

    // A 0x00 byte (if any) separates the config file from the profile file.
    let (config_text, profile_text) = match text.split_once('\0') {
        Some((c, p)) => (c.to_string(), p.to_string()),
        None => (text.to_string(), String::new()),
    };
    let read = |path: &Path| -> Result<String, String> {
        if path == Path::new("c.toml") {
            Ok(config_text.clone())
        } else if profile_text.is_empty() {
            Err("No such file or directory".to_string())
        } else {
            Ok(profile_text.clone())
        }
    };
    let args: Vec<OsString> = ["--config", "c.toml"].iter().map(OsString::from).collect();
    match Config::from_args_with(args, &read) {
        Ok(config) => {
            assert_eq!(
                config.limits.validate(),
                Ok(()),
                "accepted limits are valid"
            );
            assert!(
                config.rooms.len() <= config.limits.max_rooms,
                "rooms within the limit"
            );
        }
        Err(e) => assert!(!e.message.contains('\n'), "error is one line: {e}"),
    }
    // The profile text on its own, as `--profile p.toml`.
    let args: Vec<OsString> = ["--profile", "p.toml"].iter().map(OsString::from).collect();
    let as_profile = |_: &Path| -> Result<String, String> { Ok(text.to_string()) };
    if let Err(e) = Config::from_args_with(args, &as_profile) {
        assert!(!e.message.contains('\n'), "error is one line: {e}");
    }
    let _ = profiles::builtin_text("router");
}
