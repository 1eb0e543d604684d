//! Shared black-box test helpers: start the real `parlor` binary on ephemeral loopback
//! ports and speak raw SIP (RFC 3261) and MSRP (RFC 4975) bytes to it with std sockets.
//! Every read has a timeout; every loop is bounded.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code, unused_imports)]

pub mod hosts;
pub mod msrp;
pub mod nickname;
pub mod participant;
pub mod remote;
pub mod sip;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

pub use participant::{Participant, Transport};

// SUBSCRIBE/NOTIFY and conference-info helpers for the roster tests.
pub mod roster;

/// How long any single expected event may take.
pub const STEP: Duration = Duration::from_secs(5);
/// How long to listen when asserting that nothing arrives.
pub const QUIET: Duration = Duration::from_millis(300);
/// The room every test uses (provisioned by default: `lobby` in domain `localhost`).
pub const ROOM: &str = "sip:lobby@localhost";

/// A running `parlor serve`, killed on drop.
pub struct Server {
    child: Child,
    pub sip: SocketAddr,
    pub msrp: SocketAddr,
}

impl Server {
    /// `parlor serve` on 127.0.0.1 ephemeral ports with `--log warn` (or the level in
    /// `PARLOR_TEST_LOG`) plus `extra` flags.
    pub fn start(extra: &[&str]) -> Server {
        Server::start_on("127.0.0.1:0", "127.0.0.1:0", extra)
    }

    /// Like [`Server::start`], listening for SIP on `sip` and for MSRP on `msrp` (e.g.
    /// `[::1]:0`).
    pub fn start_on(sip: &str, msrp: &str, extra: &[&str]) -> Server {
        let log = std::env::var("PARLOR_TEST_LOG").unwrap_or_else(|_| "warn".to_string());
        let mut args = vec![
            "serve",
            "--sip-listen",
            sip,
            "--msrp-listen",
            msrp,
            "--log",
            &log,
        ];
        args.extend_from_slice(extra);
        let mut child = Command::new(env!("CARGO_BIN_EXE_parlor"))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn parlor");
        let stdout = child.stdout.take().expect("stdout piped");
        let lines = line_channel(stdout);
        let line = match lines.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => line,
            Err(e) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("no listening line from parlor ({e}); exit: {status:?}");
            }
        };
        let (sip, msrp) = parse_listening_line(&line)
            .unwrap_or_else(|| panic!("unexpected first line from parlor: {line:?}"));
        Server { child, sip, msrp }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size in bytes (from /proc/PID/status VmRSS).
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc status");
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .expect("VmRSS line");
        let kb: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .expect("VmRSS value");
        kb * 1024
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.terminate_with("TERM")
    }

    /// Sends signal `name` and waits (bounded) for the exit status.
    pub fn terminate_with(&mut self, name: &str) -> std::process::ExitStatus {
        signal(self.pid(), name);
        wait_bounded(&mut self.child, Duration::from_secs(10))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `parlor listening sip=IP:PORT msrp=IP:PORT` → the two addresses (the server's own
/// parser of the line it prints).
pub use parlor::shell::parse_listening_line;

/// Lines of a child's output, delivered through a channel by a reader thread.
pub fn line_channel(out: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(out);
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// Waits (STEP at most, 100 lines at most) for a line of `lines` that contains `want`;
/// panics naming the lines seen instead.
pub fn expect_line(lines: &mpsc::Receiver<String>, want: &str) -> String {
    let deadline = std::time::Instant::now() + STEP;
    let mut seen = Vec::new();
    for _ in 0..100 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(want) => return line,
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!("no line containing {want:?}; got {seen:?}");
}

/// Sends signal `name` (e.g. `TERM`) to `pid` with kill(1): no unsafe code in tests.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// Waits for `child` to exit, at most `limit`; kills it and panics after that.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("process {} did not exit within {limit:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A fresh alphanumeric identifier of `len` characters, unique within this test process.
pub fn ident(len: usize) -> String {
    // usize, not u64: 32-bit MIPS has no 64-bit atomics and the suite runs there too.
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut state = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ (COUNTER.fetch_add(1, Ordering::Relaxed) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (0..len)
        .map(|_| {
            state = xorshift(state);
            ALPHABET[(state % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// `n` pseudo-random bytes from `seed` (for garbage input).
pub fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            state = xorshift(state);
            (state >> 24) as u8
        })
        .collect()
}

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// Joins `lines` with CRLF and appends a final CRLF (wire-examples.md convention).
pub fn crlf(lines: &[&str]) -> String {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s
}

// Raw SIP/SDP/MSRP builders and config files for the conformance tests.
pub mod conformance;

// The passive side of RFC 6135 §4.2 (the switch connects to the test).
pub mod passive;

// A lossy UDP relay for the SIP loss-recovery tests (tests/faults.rs).
pub mod lossy_udp;

impl Server {
    /// Open file descriptors of the server process (entries of /proc/PID/fd).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .expect("read /proc/PID/fd")
    }
}
