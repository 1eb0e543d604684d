//! Replays the committed fuzz corpus (`tests/fuzz/corpus/<target>/`) and every input the
//! fuzzer ever crashed on (`tests/fuzz/regressions/<target>/`) through the same target code
//! cargo-fuzz runs (`tests/fuzz/src/`, included here as a module), so plain `cargo test`
//! catches a regression without a nightly toolchain. Each target's `run` asserts its own
//! properties (see the module docs there); a panic here names the file.

#[path = "fuzz/src/lib.rs"]
mod parlor_fuzz;

use std::path::{Path, PathBuf};

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every file of `kind/<target>/` through its target; returns how many ran.
fn replay(kind: &str, target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz")
        .join(kind)
        .join(target);
    let files = files_under(&dir);
    for file in &files {
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let outcome = std::panic::catch_unwind(|| run(&bytes));
        assert!(outcome.is_ok(), "{target} panics on {}", file.display());
    }
    files.len()
}

#[test]
fn every_corpus_input_passes_its_target() {
    for (target, run) in parlor_fuzz::TARGETS {
        let n = replay("corpus", target, run);
        assert!(n > 0, "no corpus for {target}");
    }
}

#[test]
fn every_regression_input_passes_its_target() {
    for (target, run) in parlor_fuzz::TARGETS {
        replay("regressions", target, run);
    }
}

/// The engine seeds do reach what they are named for: a join-and-talk program delivers a
/// copy, so the engine target starts from deep states rather than from parse errors.
#[test]
fn engine_seeds_reach_delivery() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus/engine");
    // (seed, participants left at its end: the first one BYEs one of the two)
    for (name, left) in [("seed-join-talk-bye", 1), ("seed-chunked", 2)] {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_default();
        let stats = parlor_fuzz::engine::run_with_stats(&bytes);
        assert_eq!(stats.participants, left, "{name}: {stats:?}");
        assert!(stats.delivered_copies >= 1, "{name}: {stats:?}");
    }
}

/// Issue 15: eight INVITEs from one address on `tiny` seat six (`max_seats_per_source`);
/// the engine target checks that bound after every operation.
#[test]
fn engine_seed_reaches_the_seat_share() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus/engine");
    let bytes = std::fs::read(dir.join("seed-seat-share")).unwrap_or_default();
    let stats = parlor_fuzz::engine::run_with_stats(&bytes);
    assert_eq!(stats.most_seats_from_one_source, 6, "{stats:?}");
    assert_eq!(stats.refused_joins, 2, "{stats:?}");
}
