//! Footprint measurement (not a timed test): binary size, idle RSS, and RSS with 30
//! participants joined in one room with messages flowing (Limits memory promise, README).
//!
//! Run: `cargo test --release --test footprint -- --ignored --nocapture`

mod common;

use common::{Participant, Server, Transport, STEP};

const PARTICIPANTS: usize = 30;

#[test]
#[ignore = "measurement command: prints figures"]
fn footprint_with_thirty_participants() {
    let bin = env!("CARGO_BIN_EXE_parlor");
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
    let server = Server::start(&[]);
    let idle = server.rss_bytes();

    let mut people: Vec<Participant> = (0..PARTICIPANTS)
        .map(|i| {
            let t = if i % 2 == 0 {
                Transport::Udp
            } else {
                Transport::Tcp
            };
            Participant::join_and_bind(server.sip, t, &format!("user{i}"))
        })
        .collect();
    let joined = server.rss_bytes();

    // Every participant says one line; everyone else must receive all of them.
    // (Responses are skipped by `next_send`, which answers each copy with 200.)
    for (i, p) in people.iter_mut().enumerate() {
        p.say(format!("hello from {i}").as_bytes());
    }
    for (i, p) in people.iter_mut().enumerate() {
        for _ in 0..PARTICIPANTS - 1 {
            assert!(
                p.next_send(STEP).is_some(),
                "participant {i} missed a message"
            );
        }
    }
    let flowing = server.rss_bytes();
    println!("binary (as built by this profile): {size} bytes");
    println!("idle RSS: {idle} bytes");
    println!("RSS with {PARTICIPANTS} joined: {joined} bytes");
    println!(
        "RSS after {} deliveries: {flowing} bytes",
        PARTICIPANTS * (PARTICIPANTS - 1)
    );
}

/// `parlor limits --profile NAME` prints the profile's figures as the library computes
/// them, `worst_case_bytes` among them (boards/footprint sets it beside measured RSS).
#[test]
fn limits_command_prints_the_profile_figures() {
    use parlor::config::profiles::{builtin_limits, BUILTIN_PROFILES};
    for (name, _) in BUILTIN_PROFILES {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_parlor"))
            .args(["limits", "--profile", name])
            .output()
            .expect("run parlor limits");
        assert!(out.status.success(), "{name}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let value = |key: &str| -> usize {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name}: no `{key}=N` in {text:?}"))
        };
        let limits = builtin_limits(name).expect("builtin profile");
        assert_eq!(
            value("worst_case_bytes"),
            limits.worst_case_bytes(),
            "{name}"
        );
        assert_eq!(value("max_participants"), limits.max_participants, "{name}");
        assert_eq!(value("ring_bytes"), limits.ring_bytes, "{name}");
        assert_eq!(value("memory_cap"), limits.memory_cap, "{name}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_parlor"))
        .args(["limits", "--profile", "no-such-profile"])
        .output()
        .expect("run parlor limits");
    assert_eq!(out.status.code(), Some(2));
}
