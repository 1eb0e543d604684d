//! `parlor-bench`: measures parlor's fan-out (issue 6) against a protocol-free epoll relay
//! and, optionally, the mosquitto MQTT broker on loopback — N participants joined over real
//! SIP + MSRP (RFC 3261, RFC 4975, RFC 7701) or MQTT 3.1.1, S of them sending, rounds
//! interleaved parlor/relay/mosquitto, every phase bounded by count and time — and prints
//! deliveries/s, latency, losses, server CPU per delivery and memory.

mod join;
mod load;
mod memory_attack;
mod mqtt;
mod msrp_scan;
mod payload;
mod relay;
mod report;
mod server_proc;
mod tally;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use load::{Load, Mode, RunSpec, Wire};
use payload::{Template, FIELDS_LEN};
use report::{
    mosquitto_note, mosquitto_ratio_line, mosquitto_round_line, ratio_line, result_line, summarize,
    table_header, table_row, RunResult, ShapeLabel,
};

/// The room every participant joins (provisioned by default).
const ROOM: &str = "sip:lobby@localhost";
/// Longest wait for in-flight deliveries after sending stops.
const DRAIN: Duration = Duration::from_secs(2);
/// A run with no delivery progress for this long ends early.
const STALL: Duration = Duration::from_secs(2);
/// Largest N: the relay and the per-pair tables are sized N², and parlor's tables too.
const MAX_PARTICIPANTS: usize = 1000;
/// Where `--mosquitto auto` looks (Debian's `mosquitto` package).
const MOSQUITTO_AUTO: &str = "/usr/sbin/mosquitto";
/// Largest payload: one relay frame or MQTT PUBLISH must fit a 64 KiB read buffer.
const MAX_PAYLOAD: usize = 60_000;

const USAGE: &str = "\
parlor-bench: parlor's fan-out against a protocol-free epoll relay (and optionally
mosquitto), on loopback.

USAGE: parlor-bench [OPTIONS]

  --participants, -n N   participants in the room (default 50)
  --senders, -s S        participants 0..S send (default 10)
  --bytes, -b B          text payload bytes per message (default 200, at least 33)
  --mode saturate|rate   bounded in-flight window (default) or fixed delivery rate
  --window W             saturate: messages in flight per sender (default 16)
  --rate R               rate: deliveries per second in total (default 24500)
  --seconds F            measured sending time per round (default 3)
  --messages M           measured messages per sender per round, 0 = unbounded (default 0)
  --warmup-ms MS         uncounted warm-up per round (default 300)
  --rounds K             rounds per target, interleaved parlor/relay[/mosquitto] (default 3)
  --shapes all           the standard table of issue 6, each shape on fresh servers
  --parlor PATH          the parlor binary (default: `parlor` next to this executable)
  --limit NAME=VALUE     an extra parlor limit (repeatable; overrides the bench's own)
  --mosquitto PATH|auto  also measure this mosquitto binary as a third target, in the
                         same interleaved rounds (MQTT 3.1.1, QoS 0, one topic); `auto` =
                         /usr/sbin/mosquitto if present, else skipped (default: not measured)
  --help                 this text

`parlor-bench memory --help`: issue 15's memory attacks against one profile instead.

Prints a table per shape, one `RESULT ...` line per target and a `RATIO ...` line; with
mosquitto also a same-round ratio row per round and a `RATIO_MOSQUITTO ...` line
(parlor_cpu_vs_mosquitto = mosquitto's server CPU per delivery / parlor's). mosquitto sends
each message back to its publisher too; those copies are not counted as deliveries, so
every target's CPU per delivery is over the same n-1 deliveries per message.";

/// One benchmark shape.
#[derive(Clone, Debug)]
struct Shape {
    n: usize,
    s: usize,
    b: usize,
    mode: Mode,
}

/// Everything the command line says.
#[derive(Clone, Debug)]
struct Options {
    shape: Shape,
    all_shapes: bool,
    seconds: f64,
    messages: u64,
    warmup_ms: u64,
    rounds: usize,
    window: u64,
    rate: u64,
    parlor: PathBuf,
    limits: Vec<(String, u64)>,
    /// `--mosquitto` as given (`auto` resolved in `main`).
    mosquitto: Option<String>,
}

fn parse_num<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{flag}: missing value"))?;
    v.parse()
        .map_err(|_| format!("{flag}: `{v}` is not a valid number"))
}

fn parse_args(args: Vec<String>) -> Result<Option<Options>, String> {
    let default_parlor = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("parlor")))
        .unwrap_or_else(|| PathBuf::from("parlor"));
    let mut o = Options {
        shape: Shape {
            n: 50,
            s: 10,
            b: 200,
            mode: Mode::Saturate { window: 16 },
        },
        all_shapes: false,
        seconds: 3.0,
        messages: 0,
        warmup_ms: 300,
        rounds: 3,
        window: 16,
        rate: 24_500,
        parlor: default_parlor,
        limits: Vec::new(),
        mosquitto: None,
    };
    let mut rate_mode = false;
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--help" | "-h" => return Ok(None),
            "--participants" | "-n" => o.shape.n = parse_num(&flag, it.next())?,
            "--senders" | "-s" => o.shape.s = parse_num(&flag, it.next())?,
            "--bytes" | "-b" => o.shape.b = parse_num(&flag, it.next())?,
            "--window" => o.window = parse_num(&flag, it.next())?,
            "--rate" => o.rate = parse_num(&flag, it.next())?,
            "--seconds" => o.seconds = parse_num(&flag, it.next())?,
            "--messages" => o.messages = parse_num(&flag, it.next())?,
            "--warmup-ms" => o.warmup_ms = parse_num(&flag, it.next())?,
            "--rounds" => o.rounds = parse_num(&flag, it.next())?,
            "--mode" => match it.next().as_deref() {
                Some("saturate") => rate_mode = false,
                Some("rate") => rate_mode = true,
                other => return Err(format!("--mode: expected saturate or rate, got {other:?}")),
            },
            "--shapes" => match it.next().as_deref() {
                Some("all") => o.all_shapes = true,
                other => return Err(format!("--shapes: only `all` is known, got {other:?}")),
            },
            "--parlor" => o.parlor = PathBuf::from(it.next().ok_or("--parlor: missing value")?),
            "--mosquitto" => {
                let v = it
                    .next()
                    .ok_or("--mosquitto: missing value (a path or `auto`)")?;
                if v.is_empty() {
                    return Err("--mosquitto: empty path".to_string());
                }
                o.mosquitto = Some(v);
            }
            "--limit" => {
                let v = it.next().ok_or("--limit: missing value")?;
                let (name, value) = v
                    .split_once('=')
                    .ok_or(format!("--limit: `{v}` is not NAME=VALUE"))?;
                let value = parse_num("--limit", Some(value.replace('_', "")))?;
                o.limits.push((name.to_string(), value));
            }
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    o.shape.mode = if rate_mode {
        Mode::Rate { per_s: o.rate }
    } else {
        Mode::Saturate { window: o.window }
    };
    let sh = &o.shape;
    if sh.n < 2 || sh.n > MAX_PARTICIPANTS {
        return Err(format!("--participants must be 2..={MAX_PARTICIPANTS}"));
    }
    if sh.s == 0 || sh.s > sh.n {
        return Err("--senders must be 1..=participants".to_string());
    }
    if sh.b < FIELDS_LEN || sh.b > MAX_PAYLOAD {
        return Err(format!("--bytes must be {FIELDS_LEN}..={MAX_PAYLOAD}"));
    }
    if o.rounds == 0 || !(o.seconds > 0.0 && o.seconds <= 3600.0) || o.window == 0 || o.rate == 0 {
        return Err(
            "--rounds, --seconds (up to 3600), --window and --rate must be positive".to_string(),
        );
    }
    Ok(Some(o))
}

/// The standard table of issue 6.
fn standard_shapes(o: &Options) -> Vec<Shape> {
    let sat = Mode::Saturate { window: o.window };
    let shape = |n, s, b, mode| Shape { n, s, b, mode };
    vec![
        shape(50, 10, 200, sat),
        shape(50, 10, 200, Mode::Rate { per_s: o.rate }),
        shape(10, 1, 200, sat),
        shape(50, 1, 200, sat),
        shape(50, 10, 4000, sat),
    ]
}

/// The parlor limits a shape needs beyond the router profile, then the user's overrides.
/// The send-rate limits' value in the bench: far beyond what loopback carries.
const UNPACED: u64 = 1_000_000_000_000;

fn parlor_limits(shape: &Shape, extra: &[(String, u64)]) -> Vec<(String, u64)> {
    let n = shape.n as u64;
    let mut limits = vec![
        // All bench clients share 127.0.0.1: one MSRP connection and one seat each (SIP
        // is UDP), so the per-source limits (issue 14, issue 15) are lifted.
        ("max_connections_per_source".to_string(), n + 8),
        ("max_seats_per_source".to_string(), n + 8),
    ];
    // The per-sender send rate (issue 15) would pace the senders: the bench measures the
    // server's fan-out, so it lifts it (`--limit` puts any of them back).
    for name in [
        "send_rate_bytes_per_s",
        "send_burst_bytes",
        "send_rate_messages_per_s",
        "send_burst_messages",
    ] {
        limits.push((name.to_string(), UNPACED));
    }
    if n > 64 {
        limits.push(("max_participants".to_string(), n));
        limits.push(("max_room_participants".to_string(), n));
        limits.push(("max_msrp_connections".to_string(), n + 8));
    }
    for (name, value) in extra {
        limits.retain(|(k, _)| k != name);
        limits.push((name.clone(), *value));
    }
    limits
}

fn label(shape: &Shape) -> ShapeLabel {
    let (mode, rate, window) = match shape.mode {
        Mode::Saturate { window } => ("saturate", None, window),
        Mode::Rate { per_s } => ("rate", Some(per_s), 0),
    };
    ShapeLabel {
        n: shape.n,
        s: shape.s,
        b: shape.b,
        mode,
        rate,
        window,
    }
}

/// `--mosquitto`'s binary: the path given, or for `auto` the Debian one if it exists (else
/// `None` with a note printed).
fn resolve_mosquitto(given: Option<&str>) -> Option<PathBuf> {
    match given? {
        "auto" if Path::new(MOSQUITTO_AUTO).exists() => Some(PathBuf::from(MOSQUITTO_AUTO)),
        "auto" => {
            println!("note: --mosquitto auto: {MOSQUITTO_AUTO} not found, mosquitto is skipped");
            None
        }
        path => Some(PathBuf::from(path)),
    }
}

/// mosquitto and its connected participants for one shape.
struct MosquittoTarget {
    proc: server_proc::ServerProc,
    load: Load,
    runs: Vec<RunResult>,
}

fn start_mosquitto_target(
    binary: &Path,
    shape: &Shape,
    t0: Instant,
) -> Result<MosquittoTarget, String> {
    let (proc, addr) = server_proc::start_mosquitto(binary)?;
    let streams = mqtt::connect_clients(addr, shape.n)?;
    let templates = (0..shape.s)
        .map(|i| Template::mqtt(i, shape.b))
        .collect::<Result<Vec<_>, String>>()?;
    let load = Load::new(Wire::Mqtt, streams, templates, t0)?;
    Ok(MosquittoTarget {
        proc,
        load,
        runs: Vec::new(),
    })
}

/// Runs one shape on fresh servers: joins, connects, interleaves the rounds, prints.
fn run_shape(
    shape: &Shape,
    o: &Options,
    mosquitto: Option<&Path>,
    t0: Instant,
) -> Result<(), String> {
    let lbl = label(shape);
    let limits = parlor_limits(shape, &o.limits);
    let limit_text: Vec<String> = limits.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!(
        "\n== shape n={} s={} b={} mode={}{} | {} rounds, {} s + {} ms warm-up{} | parlor limits raised: {}",
        lbl.n,
        lbl.s,
        lbl.b,
        lbl.mode,
        lbl.rate.map(|r| format!(" rate={r}/s")).unwrap_or_else(|| format!(" window={}", lbl.window)),
        o.rounds,
        o.seconds,
        o.warmup_ms,
        if o.messages > 0 { format!(", at most {} messages/sender", o.messages) } else { String::new() },
        limit_text.join(" ")
    );
    let refs: Vec<(&str, u64)> = limits.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let (mut parlor, sip, _msrp) = server_proc::start_parlor(&o.parlor, &refs)?;
    let mut ids = join::Ids::new();
    let mut joined = Vec::with_capacity(shape.n);
    for i in 0..shape.n {
        joined
            .push(join::join(sip, ROOM, i, &mut ids).map_err(|e| format!("participant {i}: {e}"))?);
    }
    let templates = joined[..shape.s]
        .iter()
        .enumerate()
        .map(|(i, j)| Template::msrp(i, shape.b, &j.remote_path, &j.local_path, &j.uri, ROOM))
        .collect();
    let mut sip_sockets = Vec::with_capacity(shape.n);
    let mut streams = Vec::with_capacity(shape.n);
    for j in joined {
        sip_sockets.push(j.sip);
        streams.push(j.msrp);
    }
    let mut parlor_load = Load::new(Wire::Msrp, streams, templates, t0)?;
    let (mut relay, relay_addr) = server_proc::start_relay()?;
    let relay_streams = relay::connect_clients(relay_addr, shape.n)?;
    let relay_templates = (0..shape.s).map(|i| Template::relay(i, shape.b)).collect();
    let mut relay_load = Load::new(Wire::Relay, relay_streams, relay_templates, t0)?;
    let mut mosq = mosquitto
        .map(|bin| start_mosquitto_target(bin, shape, t0))
        .transpose()?;
    let spec = RunSpec {
        mode: shape.mode,
        warmup: Duration::from_millis(o.warmup_ms),
        seconds: Duration::from_secs_f64(o.seconds),
        messages: o.messages,
        drain: DRAIN,
        stall: STALL,
    };
    println!("{}", table_header());
    let mut parlor_runs: Vec<RunResult> = Vec::new();
    let mut relay_runs: Vec<RunResult> = Vec::new();
    for round in 1..=o.rounds {
        let p = parlor_load.run(&spec, &mut parlor)?;
        println!("{}", table_row("parlor", &round.to_string(), &p));
        parlor_runs.push(p);
        let r = relay_load.run(&spec, &mut relay)?;
        println!("{}", table_row("relay", &round.to_string(), &r));
        relay_runs.push(r);
        if let Some(m) = mosq.as_mut() {
            let mr = m.load.run(&spec, &mut m.proc)?;
            println!("{}", table_row("mosquitto", &round.to_string(), &mr));
            if let Some(pr) = parlor_runs.last() {
                println!("{}", mosquitto_round_line(round, pr, &mr));
            }
            m.runs.push(mr);
        }
    }
    let p = summarize(&parlor_runs);
    let r = summarize(&relay_runs);
    let m = mosq.as_ref().map(|m| summarize(&m.runs));
    println!("{}", table_row("parlor", "med", &p));
    println!("{}", table_row("relay", "med", &r));
    if let Some(m) = &m {
        println!("{}", table_row("mosquitto", "med", m));
        println!("{}", mosquitto_note(&lbl, m));
    }
    println!("{}", result_line("parlor", &lbl, &p));
    println!("{}", result_line("relay", &lbl, &r));
    if let Some(m) = &m {
        println!("{}", result_line("mosquitto", &lbl, m));
    }
    println!("{}", ratio_line(&lbl, &p, &r));
    if let (Some(m), Some(target)) = (&m, &mosq) {
        let line = mosquitto_ratio_line(&lbl, &p, m, &parlor_runs, &target.runs);
        println!("{line}");
    }
    drop(parlor_load);
    drop(relay_load);
    drop(mosq);
    drop(sip_sockets);
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("relay-serve") {
        if let Err(e) = relay::serve() {
            eprintln!("parlor-bench relay-serve: {e}");
            std::process::exit(1);
        }
        return;
    }
    if args.first().map(String::as_str) == Some("memory") {
        let default_parlor = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join("parlor")))
            .unwrap_or_else(|| PathBuf::from("parlor"));
        let o = match memory_attack::parse(args[1..].to_vec(), default_parlor) {
            Ok(Some(o)) => o,
            Ok(None) => {
                println!("{}", memory_attack::USAGE);
                return;
            }
            Err(e) => {
                eprintln!("parlor-bench memory: {e}");
                std::process::exit(2);
            }
        };
        match memory_attack::run(&o) {
            Ok(true) => return,
            Ok(false) => std::process::exit(1),
            Err(e) => {
                eprintln!("parlor-bench memory: {e}");
                std::process::exit(1);
            }
        }
    }
    let o = match parse_args(args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("parlor-bench: {e}");
            std::process::exit(2);
        }
    };
    let t0 = Instant::now();
    let shapes = if o.all_shapes {
        standard_shapes(&o)
    } else {
        vec![o.shape.clone()]
    };
    let mosquitto = resolve_mosquitto(o.mosquitto.as_deref());
    for shape in &shapes {
        if let Err(e) = run_shape(shape, &o, mosquitto.as_deref(), t0) {
            eprintln!("parlor-bench: {e}");
            std::process::exit(1);
        }
    }
}
