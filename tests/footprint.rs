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
