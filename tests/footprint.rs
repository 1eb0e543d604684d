//! Footprint measurement (not a timed test): binary size, idle RSS, and RSS with 30
//! participants joined in one room with messages flowing (Limits memory promise, README).
//!
//! Run: `cargo test --release --test footprint -- --ignored --nocapture`
//!
//! `footprint_at_profile_maximum` is the load boards/footprint puts on a board's binary:
//! the profile's maximum participants in one room, messages flowing, one participant that
//! never reads; it prints idle, joined, flowing and peak RSS on one `footprint` line.

mod common;

use common::msrp::cpim_payload;
use common::remote::{scaled, RemoteServer};
use common::{Participant, Server, Transport, STEP};

const PARTICIPANTS: usize = 30;

#[test]
#[ignore = "measurement command: prints figures"]
fn footprint_with_thirty_participants() {
    let bin = env!("CARGO_BIN_EXE_parlor");
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
    // 30 participants from one address: lift the per-source connection and seat limits.
    let server = Server::start(&[
        "--limit",
        "max_connections_per_source=100000",
        "--limit",
        "max_seats_per_source=100000",
    ]);
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

/// `NAME` from the environment parsed as a number, or `default`.
fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
        })
        .unwrap_or(default)
}

/// (resident, VmHWM) in bytes from the `VmRSS:`/`VmHWM:` lines `command` prints.
fn rss_from(command: &str) -> (u64, u64) {
    let out = std::process::Command::new("sh")
        .args(["-c", command])
        .output()
        .expect("run the RSS command");
    let text = String::from_utf8_lossy(&out.stdout);
    let kib = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no `{key} N kB` in the output of {command:?}: {text:?}"))
    };
    (kib("VmRSS:") * 1024, kib("VmHWM:") * 1024)
}

#[test]
#[ignore = "measurement command: boards/footprint runs it"]
fn footprint_at_profile_maximum() {
    use parlor::config::profiles::builtin_limits;
    let profile = std::env::var("PARLOR_FOOTPRINT_PROFILE").unwrap_or_else(|_| "router".into());
    let limits = builtin_limits(&profile).expect("PARLOR_FOOTPRINT_PROFILE names a profile");
    let local;
    let (remote, rss_command) = match RemoteServer::from_env() {
        Some(remote) => {
            let command = std::env::var("PARLOR_FOOTPRINT_RSS_CMD")
                .expect("PARLOR_FOOTPRINT_RSS_CMD prints the remote server's VmRSS/VmHWM");
            (remote, command)
        }
        None => {
            local = Server::start(&[
                "--profile",
                &profile,
                "--limit",
                "max_connections_per_source=100000",
                "--limit",
                "max_seats_per_source=100000",
            ]);
            let pid = local.pid();
            let command = format!(
                "awk '/^Rss:/ {{print \"VmRSS: \" $2 \" kB\"}}' /proc/{pid}/smaps_rollup; \
                 grep '^VmHWM:' /proc/{pid}/status"
            );
            let remote = RemoteServer {
                sip: local.sip,
                msrp_forward: None,
            };
            (remote, command)
        }
    };
    let most = limits.max_participants.min(limits.max_room_participants);
    let count = env_number("PARLOR_FOOTPRINT_PARTICIPANTS", most);
    let body_bytes = env_number("PARLOR_FOOTPRINT_BYTES", 1000);
    assert!(count >= 3, "need at least three participants");
    // Enough rounds that the silent participant is sent several rings' worth plus what the
    // sockets on the way can buffer (1 MiB), so its ring really overflows.
    let per_round = (count - 1) * (body_bytes + 400);
    let wanted = 2 * limits.ring_bytes + (1 << 20);
    let rounds = env_number("PARLOR_FOOTPRINT_ROUNDS", wanted.div_ceil(per_round).max(3));
    let step = scaled(STEP);

    let (idle, _) = rss_from(&rss_command);
    // SIP over UDP mostly; every eighth over TCP (TCP SIP connections are a smaller table).
    // The first participant pays for code and tables touched for the first time; the
    // others show what one more participant costs.
    let first = remote.join(Transport::Tcp, "user0");
    let (first_joined, _) = rss_from(&rss_command);
    let mut people: Vec<Participant> = std::iter::once(first)
        .chain((1..count).map(|i| {
            let transport = if i % 8 == 0 {
                Transport::Tcp
            } else {
                Transport::Udp
            };
            remote.join(transport, &format!("user{i}"))
        }))
        .collect();
    let (joined, _) = rss_from(&rss_command);
    // VmHWM comes from counters the kernel may sync late; sampled RSS bounds the peak too.
    let mut sampled_peak = joined;

    // The last participant never reads: its ring fills and its copies are dropped, while
    // everyone else must still get every line.
    let silent = count - 1;
    let mut deliveries = 0usize;
    for round in 0..rounds {
        for sender in 0..silent {
            let mut text = format!("round {round} from user{sender} ").into_bytes();
            text.resize(body_bytes.max(text.len()), b'.');
            let (tid, _, _) = people[sender].say(&text);
            let resp = people[sender].response_to(&tid);
            assert_eq!(resp.status, Some(200), "user{sender}: {resp:?}");
            for (reader, p) in people.iter_mut().enumerate().take(silent) {
                if reader == sender {
                    continue;
                }
                let got = p
                    .next_message(step)
                    .unwrap_or_else(|| panic!("user{reader} missed round {round} of user{sender}"));
                assert_eq!(cpim_payload(&got), text, "user{reader}");
                deliveries += 1;
            }
        }
        sampled_peak = sampled_peak.max(rss_from(&rss_command).0);
    }
    let (flowing, hwm) = rss_from(&rss_command);
    let peak = hwm.max(sampled_peak).max(flowing);
    println!(
        "footprint profile={profile} participants={count} rounds={rounds} body_bytes={body_bytes} \
         deliveries={deliveries} idle_rss={idle} first_joined_rss={first_joined} joined_rss={joined} flowing_rss={flowing} \
         peak_rss={peak}"
    );
}
