//! Reads a config or memory-profile file from disk: the one place `config` touches the
//! filesystem. It runs once at start-up, before the core exists, which is why
//! `tests/sans_io.rs` exempts this file (and only this file) of `config`.

use std::path::Path;

/// The whole file as UTF-8 text; `Err` is the OS's one-line reason.
pub(super) fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}
