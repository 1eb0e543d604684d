//! `parlor-bench memory`: issue 15's memory attacks against one profile, measured. Starts
//! the server (`--profile`, optional `--memory-cap`), reads its idle VmRSS, then holds every
//! attack at once — padded OPTIONS from one UDP socket filling the transaction table with
//! large stored responses (RFC 3261 §17.2.2), half-sent SIP TCP messages from 16 loopback
//! addresses, SIP TCP peers that never read their responses, idle and half-sent MSRP
//! connections, joined participants that never read (their rings fill), roster
//! subscriptions (RFC 4575) that never answer a NOTIFY — and prints the peak RSS above idle
//! beside the `bounded_bytes` the same binary's `parlor limits` prints. Exits 1 when the
//! peak passes the bound. Every phase is bounded in count and time; a measurement, not a
//! test.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use parlor::limits::Limits;

use crate::join::{self, Ids, Joined};
use crate::payload::Template;
use crate::server_proc::{rss_kb, start_parlor_profile};

/// The room every attacker uses (provisioned by default).
const ROOM: &str = "sip:lobby@localhost";
/// Distinct loopback sources of the half-sent SIP TCP messages (127.0.0.2..=17).
const HALF_SOURCES: u8 = 16;
/// SIP TCP peers that send requests and never read (from 127.0.0.18..).
const UNREAD_PEERS: usize = 4;
/// Requests each of them sends at most.
const UNREAD_REQUESTS: usize = 1_500;
/// Joined participants that never read, at most (the cap may admit fewer).
const MAX_SILENT: usize = 16;
/// Messages the one sender sends to fill the silent participants' rings, at most.
const MESSAGES: u64 = 2_000;
/// Payload bytes of those messages.
const MESSAGE_BYTES: usize = 3_000;
/// Longest the whole attack may take.
const TIME_LIMIT: Duration = Duration::from_secs(90);
/// Settling time before each RSS reading.
const SETTLE: Duration = Duration::from_millis(500);

pub const USAGE: &str = "\
parlor-bench memory: issue 15's memory attacks, all at once, against one profile.

USAGE: parlor-bench memory [--profile tiny|router|gateway] [--memory-cap BYTES]
                           [--parlor PATH]

Prints one `MEMORY ...` line per attack phase and a `RESULT profile=... idle_rss_kb=...
peak_above_idle_bytes=... bounded_bytes=... ratio=... held=yes|no` line; exits 1 when the
peak RSS above idle passes the bounded_bytes the binary's own `parlor limits` prints.";

/// What the command line says.
pub struct MemoryOptions {
    pub profile: String,
    pub memory_cap: Option<u64>,
    pub parlor: std::path::PathBuf,
}

pub fn parse(
    args: Vec<String>,
    default_parlor: std::path::PathBuf,
) -> Result<Option<MemoryOptions>, String> {
    let mut o = MemoryOptions {
        profile: "router".to_string(),
        memory_cap: None,
        parlor: default_parlor,
    };
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--help" | "-h" => return Ok(None),
            "--profile" => o.profile = it.next().ok_or("--profile: missing value")?,
            "--memory-cap" => {
                let v = it.next().ok_or("--memory-cap: missing value")?;
                o.memory_cap = Some(
                    v.replace('_', "")
                        .parse()
                        .map_err(|_| format!("--memory-cap: `{v}` is not a number of bytes"))?,
                );
            }
            "--parlor" => o.parlor = it.next().ok_or("--parlor: missing value")?.into(),
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    Ok(Some(o))
}

/// The profile's limits as this tree reads them (sizes the attacks).
fn limits_of(o: &MemoryOptions) -> Result<Limits, String> {
    let mut args: Vec<std::ffi::OsString> = vec!["--profile".into(), o.profile.clone().into()];
    if let Some(cap) = o.memory_cap {
        args.push("--memory-cap".into());
        args.push(cap.to_string().into());
    }
    parlor::config::Config::from_args(args)
        .map(|c| c.limits)
        .map_err(|e| e.message)
}

/// `bounded_bytes` as the binary under test prints it.
fn printed_bound(binary: &Path, server_args: &[String]) -> Result<u64, String> {
    let out = Command::new(binary)
        .arg("limits")
        .args(server_args)
        .output()
        .map_err(|e| format!("parlor limits: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("bounded_bytes=")?.trim().parse().ok())
        .ok_or_else(|| "parlor limits printed no bounded_bytes".to_string())
}

/// A TCP connection from loopback address `from` (any port) to `to`; `small_window` asks
/// for the smallest receive buffer, so the server's writes back up after a few KiB.
fn connect_from(from: Ipv4Addr, to: SocketAddr, small_window: bool) -> Result<TcpStream, String> {
    use rustix::net::{bind, connect, socket, sockopt, AddressFamily, SocketType};
    let fd = socket(AddressFamily::INET, SocketType::STREAM, None)
        .map_err(|e| format!("socket: {e}"))?;
    if small_window {
        sockopt::set_socket_recv_buffer_size(&fd, 1).map_err(|e| format!("SO_RCVBUF: {e}"))?;
    }
    bind(&fd, &SocketAddr::new(IpAddr::V4(from), 0)).map_err(|e| format!("bind {from}: {e}"))?;
    connect(&fd, &to).map_err(|e| format!("connect {to} from {from}: {e}"))?;
    let stream = TcpStream::from(fd);
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| format!("write timeout: {e}"))?;
    Ok(stream)
}

/// An OPTIONS padded (in its Via, which every response copies) to `size` bytes; `tail`
/// false leaves off the final CRLF so the message is never complete.
fn padded_options(
    transport: &str,
    local: SocketAddr,
    n: usize,
    size: usize,
    tail: bool,
) -> Vec<u8> {
    let head = |pad: &str| {
        format!(
            "OPTIONS {ROOM} SIP/2.0\r\nVia: SIP/2.0/{transport} {local};branch=z9hG4bKmem{n:08};pad={pad}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:evil@example.com>;tag=t{n}\r\nTo: <{ROOM}>\r\n\
             Call-ID: mem{n}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
    };
    let short = head("").len();
    let mut bytes = head(&"p".repeat(size.saturating_sub(short))).into_bytes();
    if !tail {
        bytes.truncate(bytes.len() - 2);
    }
    bytes
}

/// Loopback sources the subscriptions and joins are spread over (127.0.0.40..=43), so
/// the per-source shares of issue 15 do not stop them filling the tables.
fn spread_source(n: usize) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new(127, 0, 0, 40 + (n % 4) as u8)
}

/// A SUBSCRIBE to the room's conference package from `sock`.
fn subscribe(local: SocketAddr, n: usize) -> Vec<u8> {
    format!(
        "SUBSCRIBE {ROOM} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKsub{n:08}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:watcher{n}@example.com>;tag=w{n}\r\nTo: <{ROOM}>\r\n\
         Call-ID: sub{n}@127.0.0.1\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:w{n}@{local}>\r\n\
         Event: conference\r\nAccept: application/conference-info+xml\r\nExpires: 3600\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// The status code of the first final response in `sock` within `wait`.
fn final_status(sock: &UdpSocket, wait: Duration) -> Option<u16> {
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 65_536];
    for _ in 0..20 {
        let left = deadline.checked_duration_since(Instant::now())?;
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        let n = sock.recv(&mut buf).ok()?;
        let code: u16 = std::str::from_utf8(buf.get(8..11.min(n))?)
            .ok()?
            .parse()
            .ok()?;
        if code >= 200 {
            return Some(code);
        }
    }
    None
}

/// Everything the attack holds open until the reading is taken.
#[derive(Default)]
struct Held {
    udp: Vec<UdpSocket>,
    tcp: Vec<TcpStream>,
    joined: Vec<Joined>,
}

/// Peak RSS above idle so far, in bytes, and the phase line.
fn reading(pid: u32, idle_kb: u64, phase: &str, what: &str) -> u64 {
    std::thread::sleep(SETTLE);
    let (hwm, rss) = rss_kb(Some(pid));
    let above = hwm.saturating_sub(idle_kb) * 1024;
    println!("MEMORY phase={phase} {what} rss_kb={rss} hwm_kb={hwm} peak_above_idle_bytes={above}");
    above
}

/// Runs the attacks; `Ok(true)` when the peak stayed within the printed bound.
pub fn run(o: &MemoryOptions) -> Result<bool, String> {
    let started = Instant::now();
    let limits = limits_of(o)?;
    let mut server_args = vec!["--profile".to_string(), o.profile.clone()];
    if let Some(cap) = o.memory_cap {
        server_args.push("--memory-cap".to_string());
        server_args.push(cap.to_string());
    }
    let bound = printed_bound(&o.parlor, &server_args)?;
    let (mut server, sip, msrp) = start_parlor_profile(&o.parlor, &server_args)?;
    let pid = server.pid();
    std::thread::sleep(SETTLE);
    let (_, idle_kb) = rss_kb(Some(pid));
    println!(
        "MEMORY phase=idle profile={} memory_cap={} rss_kb={idle_kb} bounded_bytes={bound}",
        o.profile, limits.memory_cap
    );
    let mut held = Held::default();
    let mut peak = 0;
    let time_left = |what: &str| -> Result<(), String> {
        if started.elapsed() > TIME_LIMIT {
            Err(format!(
                "time limit of {TIME_LIMIT:?} reached during {what}"
            ))
        } else {
            Ok(())
        }
    };

    // 1. Padded OPTIONS from one UDP socket: every finished transaction keeps its response.
    let udp = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind UDP: {e}"))?;
    udp.connect(sip).map_err(|e| format!("connect UDP: {e}"))?;
    let local = udp.local_addr().map_err(|e| format!("UDP address: {e}"))?;
    let size = limits.max_sip_message_bytes.min(60_000);
    let count = 2 * limits.max_sip_transactions;
    let mut answered = 0;
    for n in 0..count {
        udp.send(&padded_options("UDP", local, n, size, true))
            .map_err(|e| format!("send OPTIONS: {e}"))?;
        if final_status(&udp, Duration::from_millis(500)).is_some() {
            answered += 1;
        }
    }
    held.udp.push(udp);
    time_left("the UDP OPTIONS")?;
    peak = peak.max(reading(
        pid,
        idle_kb,
        "udp_options",
        &format!("sent={count} answered={answered} bytes_each={size}"),
    ));

    // 2. Half-sent SIP TCP messages from 16 addresses, up to every connection slot but the
    // ones kept for the peers that never read.
    let per_source = limits.max_connections_per_source;
    let slots = limits.max_sip_connections.saturating_sub(UNREAD_PEERS);
    let mut opened = 0;
    'sources: for s in 0..HALF_SOURCES {
        for _ in 0..per_source {
            if opened >= slots {
                break 'sources;
            }
            let from = Ipv4Addr::new(127, 0, 0, 2 + s);
            let Ok(mut c) = connect_from(from, sip, false) else {
                break 'sources;
            };
            let local = c.local_addr().map_err(|e| format!("TCP address: {e}"))?;
            let half = padded_options(
                "TCP",
                local,
                100_000 + opened,
                limits.max_sip_message_bytes,
                false,
            );
            if c.write_all(&half).is_ok() {
                opened += 1;
                held.tcp.push(c);
            }
        }
    }
    time_left("the half-sent SIP TCP messages")?;
    peak = peak.max(reading(
        pid,
        idle_kb,
        "sip_tcp_half",
        &format!("connections={opened}"),
    ));

    // 3. SIP TCP peers that send padded requests and never read their responses.
    let mut flooded = 0;
    let mut closed = 0;
    for p in 0..UNREAD_PEERS {
        let from = Ipv4Addr::new(127, 0, 0, 2 + HALF_SOURCES + p as u8);
        let Ok(mut c) = connect_from(from, sip, true) else {
            continue;
        };
        let local = c.local_addr().map_err(|e| format!("TCP address: {e}"))?;
        let size = limits.max_sip_message_bytes.min(60_000);
        for n in 0..UNREAD_REQUESTS {
            if c.write_all(&padded_options(
                "TCP",
                local,
                200_000 + p * UNREAD_REQUESTS + n,
                size,
                true,
            ))
            .is_err()
            {
                closed += 1;
                break;
            }
            flooded += 1;
        }
        held.tcp.push(c);
        time_left("the unread SIP TCP peers")?;
    }
    peak = peak.max(reading(
        pid,
        idle_kb,
        "sip_tcp_unread",
        &format!("requests={flooded} closed_by_server={closed}"),
    ));

    // 4. Roster subscriptions that never answer a NOTIFY.
    let mut subscribed = 0;
    for n in 0..limits.max_subscriptions + 2 {
        // From several hosts: one address holds only its share of the table (issue 15).
        let sock = UdpSocket::bind((spread_source(n), 0)).map_err(|e| format!("bind UDP: {e}"))?;
        sock.connect(sip).map_err(|e| format!("connect UDP: {e}"))?;
        let local = sock.local_addr().map_err(|e| format!("UDP address: {e}"))?;
        sock.send(&subscribe(local, n))
            .map_err(|e| format!("send SUBSCRIBE: {e}"))?;
        if final_status(&sock, Duration::from_secs(2)) == Some(200) {
            subscribed += 1;
        }
        held.udp.push(sock);
    }
    time_left("the subscriptions")?;
    peak = peak.max(reading(
        pid,
        idle_kb,
        "subscriptions",
        &format!("accepted={subscribed}"),
    ));

    // 5. Participants that join and never read, and one sender filling their rings.
    let mut ids = Ids::new();
    let want = limits
        .max_participants
        .min(limits.max_connections_per_source)
        .min(MAX_SILENT);
    for i in 0..want {
        match join::join_from(sip, ROOM, i, &mut ids, spread_source(i)) {
            Ok(j) => held.joined.push(j),
            Err(e) => {
                println!("MEMORY note=join_{i}_refused reason={e:?}");
                break;
            }
        }
        time_left("the joins")?;
    }
    let mut sent = 0;
    if held.joined.len() >= 2 {
        let s = &held.joined[0];
        let t = Template::msrp(
            0,
            MESSAGE_BYTES,
            &s.remote_path,
            &s.local_path,
            &s.uri,
            ROOM,
        );
        let mut sender = s.msrp.try_clone().map_err(|e| format!("clone MSRP: {e}"))?;
        sender
            .set_write_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| format!("write timeout: {e}"))?;
        sender
            .set_nonblocking(false)
            .map_err(|e| format!("blocking: {e}"))?;
        let mut drain = s.msrp.try_clone().map_err(|e| format!("clone MSRP: {e}"))?;
        drain
            .set_nonblocking(true)
            .map_err(|e| format!("non-blocking: {e}"))?;
        let mut sink = vec![0u8; 65_536];
        let mut out = Vec::new();
        for seq in 0..MESSAGES {
            out.clear();
            t.append_to(&mut out, seq, 0);
            if sender.write_all(&out).is_err() {
                break;
            }
            sent += 1;
            // The sender reads its own responses so that only the others are silent.
            while matches!(drain.read(&mut sink), Ok(n) if n > 0) {}
            if started.elapsed() > TIME_LIMIT {
                break;
            }
        }
    }
    peak = peak.max(reading(
        pid,
        idle_kb,
        "silent_participants",
        &format!(
            "joined={} messages={sent} bytes_each={MESSAGE_BYTES}",
            held.joined.len()
        ),
    ));

    // 6. Idle and half-sent MSRP connections in every slot left.
    let msrp_slots = limits
        .max_msrp_connections
        .saturating_sub(held.joined.len());
    let mut msrp_open = 0;
    'msrp: for s in 0..HALF_SOURCES {
        for k in 0..per_source {
            if msrp_open >= msrp_slots {
                break 'msrp;
            }
            let from = Ipv4Addr::new(127, 0, 0, 40 + s);
            let Ok(mut c) = connect_from(from, msrp, false) else {
                break 'msrp;
            };
            if k % 2 == 0 {
                let mut half =
                    b"MSRP half SEND\r\nTo-Path: msrp://127.0.0.1/x;tcp\r\nX-Pad: ".to_vec();
                half.resize(limits.max_msrp_header_bytes.saturating_sub(1), b'p');
                let _ = c.write_all(&half);
            }
            msrp_open += 1;
            held.tcp.push(c);
        }
    }
    peak = peak.max(reading(
        pid,
        idle_kb,
        "msrp_idle_half",
        &format!("connections={msrp_open}"),
    ));

    server.check_alive()?;
    let held_ok = peak <= bound;
    println!(
        "RESULT profile={} memory_cap={} idle_rss_kb={idle_kb} peak_above_idle_bytes={peak} \
         bounded_bytes={bound} ratio={:.2} cap_ratio={:.2} held={} seconds={:.1}",
        o.profile,
        limits.memory_cap,
        peak as f64 / bound.max(1) as f64,
        peak as f64 / limits.memory_cap.max(1) as f64,
        if held_ok { "yes" } else { "no" },
        started.elapsed().as_secs_f64()
    );
    drop(held);
    Ok(held_ok)
}
