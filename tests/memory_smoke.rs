//! Smoke test of `parlor-bench memory` (issue 15): the attack mix runs against `tiny` and
//! prints every phase and its RESULT line. It checks what the attacks achieved (counts),
//! never the RSS figures: those are a measurement (tests/ROBUSTNESS.md keeps them).

use std::collections::HashMap;
use std::process::Command;

/// `key=value` fields of the line starting with `prefix` and containing `with`.
fn fields(stdout: &str, prefix: &str, with: &str) -> HashMap<String, String> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(prefix) && l.contains(with))
        .unwrap_or_else(|| panic!("no `{prefix}` line with {with:?} in:\n{stdout}"));
    line.split(' ')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn num(f: &HashMap<String, String>, key: &str) -> u64 {
    f.get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("field {key} missing or not a number: {f:?}"))
}

#[test]
fn memory_attack_runs_on_tiny_and_prints_its_figures() {
    let out = Command::new(env!("CARGO_BIN_EXE_parlor-bench"))
        .args(["memory", "--profile", "tiny"])
        .args(["--parlor", env!("CARGO_BIN_EXE_parlor")])
        .output()
        .expect("run parlor-bench memory");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Exit 0 (held) or 1 (the peak passed the bound) are both a finished measurement;
    // 2 or a signal is not.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "parlor-bench memory: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let result = fields(&stdout, "RESULT ", "profile=tiny");
    assert_eq!(num(&result, "memory_cap"), 1_048_576);
    assert!(num(&result, "idle_rss_kb") > 0);
    assert!(result.contains_key("peak_above_idle_bytes"));
    // The printed bound is the binary's own `parlor limits` figure.
    let limits = Command::new(env!("CARGO_BIN_EXE_parlor"))
        .args(["limits", "--profile", "tiny"])
        .output()
        .expect("run parlor limits");
    let limits = String::from_utf8_lossy(&limits.stdout);
    let bound = fields(&limits, "bounded_bytes=", "");
    assert_eq!(
        result.get("bounded_bytes"),
        bound.get("bounded_bytes"),
        "{limits}"
    );
    // Each attack got where it was meant to: tiny's 32 transactions answered every padded
    // OPTIONS, its 8 subscriptions and 8 seats were taken, and the peers that never read
    // were closed by the server.
    let udp = fields(&stdout, "MEMORY ", "phase=udp_options");
    assert_eq!(num(&udp, "answered"), num(&udp, "sent"));
    let subs = fields(&stdout, "MEMORY ", "phase=subscriptions");
    assert_eq!(num(&subs, "accepted"), 8);
    let silent = fields(&stdout, "MEMORY ", "phase=silent_participants");
    assert_eq!(num(&silent, "joined"), 8);
    assert!(num(&silent, "messages") > 0);
    let unread = fields(&stdout, "MEMORY ", "phase=sip_tcp_unread");
    assert_eq!(num(&unread, "closed_by_server"), 4);
    for phase in ["sip_tcp_half", "msrp_idle_half"] {
        assert!(
            num(
                &fields(&stdout, "MEMORY ", &format!("phase={phase}")),
                "connections"
            ) > 0
        );
    }
}
