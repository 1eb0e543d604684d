//! The fan-out core without sockets (issue 6; RFC 7701 §6.1 fan-out, RFC 4975 §7.1 copies):
//! N participants in one room of the router profile, S senders, B-byte text/plain payloads
//! in Message/CPIM SENDs, M measured messages after a warm-up. Prints deliveries, bytes out
//! and wall ns per delivery, and checks that every recipient read every message.
//!
//! A measuring tool, not a test: `cargo bench --bench fanout_core`, shape via env or argv
//! (`N=50 S=10 B=200 M=2000 W=200 BATCH=10 ENTROPY=test|urandom`, argv words `KEY=VALUE`).
//! Instruction counts: run the binary `cargo bench --bench fanout_core --no-run` names under
//! `valgrind --tool=callgrind --toggle-collect='*send_messages*'` (only the send phase is
//! counted), then divide the total Ir by the deliveries it prints.

#[path = "fanout_driver.rs"]
mod fanout_driver;

use std::time::Instant as WallClock;

use fanout_driver::{Room, Shape};
use parlor::rand::{Entropy, TestEntropy};

/// `KEY=VALUE` from argv first, then the environment, else `default`.
fn setting(key: &str, default: u64) -> u64 {
    let prefix = format!("{key}=");
    let from_args = std::env::args().find_map(|a| a.strip_prefix(&prefix).map(str::to_owned));
    let raw = from_args.or_else(|| std::env::var(key).ok());
    match raw {
        Some(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{key}={v}: not a number")),
        None => default,
    }
}

fn entropy() -> (Box<dyn Entropy>, &'static str) {
    let choice = std::env::args()
        .find_map(|a| a.strip_prefix("ENTROPY=").map(str::to_owned))
        .or_else(|| std::env::var("ENTROPY").ok())
        .unwrap_or_else(|| "test".to_string());
    match choice.as_str() {
        "urandom" => match parlor::shell::Urandom::open() {
            Ok(u) => (Box::new(u), "urandom"),
            Err(e) => panic!("ENTROPY=urandom: {e}"),
        },
        _ => (Box::new(TestEntropy::new(6)), "test"),
    }
}

fn main() {
    let shape = Shape {
        participants: setting("N", 50) as usize,
        senders: setting("S", 10) as usize,
        body_bytes: setting("B", 200) as usize,
    };
    let messages = setting("M", 2000);
    let warm_up = setting("W", 200);
    let batch = setting("BATCH", shape.senders as u64);
    let (entropy, entropy_name) = entropy();
    let mut room = Room::new(shape, entropy);
    room.send_messages(warm_up, batch);
    let started = WallClock::now();
    let totals = room.send_messages(messages, batch);
    let wall = started.elapsed();
    if let Err(e) = room.verify() {
        eprintln!("fanout_core: FAILED: {e}");
        std::process::exit(1);
    }
    let deliveries = totals.sent * room.fan_out();
    let per = |x: f64| x / deliveries.max(1) as f64;
    println!(
        "fanout_core N={} S={} B={} M={} W={warm_up} BATCH={batch} entropy={entropy_name}",
        shape.participants, shape.senders, shape.body_bytes, messages
    );
    println!(
        "  deliveries {deliveries}  bytes out {} ({:.1} B/delivery)  end-lines {}",
        totals.bytes_out,
        per(totals.bytes_out as f64),
        totals.end_lines
    );
    println!(
        "  wall {:.3} ms  {:.1} ns/delivery  {:.0} deliveries/s",
        wall.as_secs_f64() * 1e3,
        per(wall.as_nanos() as f64),
        deliveries as f64 / wall.as_secs_f64().max(1e-9)
    );
}
