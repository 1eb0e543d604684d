//! The servers under test as child processes: `parlor serve` and the bench's own
//! `relay-serve`, started on loopback ephemeral ports (their first stdout line names the
//! ports), and optionally mosquitto on a free loopback port from a generated config; all
//! killed when dropped; plus the /proc readings the report needs (CPU time from every
//! thread's schedstat, VmHWM and VmRSS).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running server, killed (and reaped) on drop.
pub struct ServerProc {
    child: Child,
    pub name: &'static str,
}

impl ServerProc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Err` with the exit status if the process is gone.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("{} exited during the run: {status}", self.name)),
            Err(e) => Err(format!("{}: {e}", self.name)),
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` with stdout piped and returns it with its first stdout line; later output
/// is drained by a thread so the child never blocks on a full pipe.
fn spawn_with_line(mut cmd: Command, name: &'static str) -> Result<(ServerProc, String), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        return Err(format!("{name}: no stdout pipe"));
    };
    let proc = ServerProc { child, name };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        let _ = reader.read_line(&mut first);
        let _ = tx.send(first);
        let mut sink = String::new();
        while matches!(reader.read_line(&mut sink), Ok(n) if n > 0) {
            sink.clear();
        }
    });
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(line) if !line.is_empty() => Ok((proc, line)),
        _ => Err(format!(
            "{name} printed no listening line within {START_TIMEOUT:?}"
        )),
    }
}

/// `parlor listening sip=IP:PORT msrp=IP:PORT` → the two addresses (the server's own
/// parser of the line it prints).
pub use parlor::shell::parse_listening_line;

/// The line `relay-serve` prints first.
pub const RELAY_LINE_PREFIX: &str = "relay listening ";

/// Starts `parlor serve` (router profile, loopback, errors only) with `--limit` overrides.
pub fn start_parlor(
    binary: &Path,
    limits: &[(&str, u64)],
) -> Result<(ServerProc, SocketAddr, SocketAddr), String> {
    let mut args = vec!["--profile".to_string(), "router".to_string()];
    for (name, value) in limits {
        args.push("--limit".to_string());
        args.push(format!("{name}={value}"));
    }
    start_parlor_profile(binary, &args)
}

/// Starts `parlor serve` on loopback ephemeral ports, errors only, with `args` (a profile,
/// `--memory-cap`, `--limit`s).
pub fn start_parlor_profile(
    binary: &Path,
    args: &[String],
) -> Result<(ServerProc, SocketAddr, SocketAddr), String> {
    let mut cmd = Command::new(binary);
    cmd.args([
        "serve",
        "--sip-listen",
        "127.0.0.1:0",
        "--msrp-listen",
        "127.0.0.1:0",
        "--log",
        "error",
    ]);
    cmd.args(args);
    let (proc, line) =
        spawn_with_line(cmd, "parlor").map_err(|e| format!("{e} (binary {})", binary.display()))?;
    let (sip, msrp) = parse_listening_line(&line)
        .ok_or_else(|| format!("unexpected first line from parlor: {line:?}"))?;
    Ok((proc, sip, msrp))
}

/// Starts this executable's hidden `relay-serve` subcommand.
pub fn start_relay() -> Result<(ServerProc, SocketAddr), String> {
    let me = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut cmd = Command::new(me);
    cmd.arg("relay-serve");
    let (proc, line) = spawn_with_line(cmd, "relay")?;
    let addr = line
        .trim_end()
        .strip_prefix(RELAY_LINE_PREFIX)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("unexpected first line from the relay: {line:?}"))?;
    Ok((proc, addr))
}

/// How long mosquitto may take to accept connections on its port.
const MOSQUITTO_START: Duration = Duration::from_secs(5);
/// Start attempts (each on a new free port: another process may take the one picked).
const MOSQUITTO_TRIES: usize = 3;

/// The mosquitto configuration: loopback only, anonymous, nothing on disk, no log; QoS 0
/// messages to a connected client are dropped once `max_queued_messages` are waiting for
/// its socket, which the bench's in-flight window (S × W per receiver) stays far below,
/// and which a rate run that outruns the broker shows as losses. TCP_NODELAY as parlor, the
/// relay and the bench's clients use it (mosquitto's default is Nagle: on loopback that
/// cost it a little less CPU per delivery but put 40 ms delayed-ACK stalls in its p99).
fn mosquitto_config(port: u16) -> String {
    format!(
        "listener {port} 127.0.0.1\n\
         allow_anonymous true\n\
         persistence false\n\
         log_dest none\n\
         max_queued_messages 10000\n\
         max_inflight_messages 0\n\
         set_tcp_nodelay true\n"
    )
}

/// A loopback port nothing listens on right now (bound, read, released).
fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("free port: {e}"))
}

/// Starts `binary` (mosquitto 2.x) on a free loopback port with a generated config in a
/// temporary directory (removed again once the broker is up or has failed), and waits until
/// the port accepts connections.
pub fn start_mosquitto(binary: &Path) -> Result<(ServerProc, SocketAddr), String> {
    let mut last = String::new();
    for attempt in 0..MOSQUITTO_TRIES {
        let dir: PathBuf = std::env::temp_dir().join(format!(
            "parlor-bench-mosquitto-{}-{attempt}",
            std::process::id()
        ));
        let started = start_mosquitto_once(binary, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        match started {
            Ok(up) => return Ok(up),
            Err(e) => last = e,
        }
    }
    Err(format!(
        "{last} (binary {}, {MOSQUITTO_TRIES} tries)",
        binary.display()
    ))
}

fn start_mosquitto_once(binary: &Path, dir: &Path) -> Result<(ServerProc, SocketAddr), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let port = free_port()?;
    let conf = dir.join("mosquitto.conf");
    std::fs::write(&conf, mosquitto_config(port))
        .map_err(|e| format!("{}: {e}", conf.display()))?;
    let child = Command::new(binary)
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start mosquitto: {e}"))?;
    let mut proc = ServerProc {
        child,
        name: "mosquitto",
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + MOSQUITTO_START;
    loop {
        proc.check_alive()?;
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok((proc, addr));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "mosquitto did not accept connections on {addr} within {MOSQUITTO_START:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `/proc/PID` or `/proc/self`.
fn proc_dir(pid: Option<u32>) -> String {
    match pid {
        Some(p) => format!("/proc/{p}"),
        None => "/proc/self".to_string(),
    }
}

/// Nanoseconds on CPU of every thread of server `pid`: the first field of each
/// `/proc/PID/task/*/schedstat`. Threads that ended are not counted, which is why the
/// servers run their work on long-lived threads. The bench's own CPU is [`own_cpu_ns`].
pub fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("{}/task", proc_dir(Some(pid)))) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Nanoseconds on CPU of this process, exact to now (`CLOCK_PROCESS_CPUTIME_ID`). The
/// schedstat figures [`cpu_ns`] reads are brought up to date only at a tick or a context
/// switch, so for the reading thread itself they would lag by a tick: a short run could
/// read zero.
pub fn own_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    (t.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec as u64)
}

/// `(VmHWM, VmRSS)` in KiB from `/proc/PID/status`; zeros if unreadable.
pub fn rss_kb(pid: Option<u32>) -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string(format!("{}/status", proc_dir(pid))) else {
        return (0, 0);
    };
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_line_parses() {
        let (s, m) =
            parse_listening_line("parlor listening sip=127.0.0.1:5060 msrp=127.0.0.1:2855\n")
                .unwrap();
        assert_eq!((s.port(), m.port()), (5060, 2855));
        assert_eq!(parse_listening_line("hello"), None);
    }

    #[test]
    fn mosquitto_config_listens_on_loopback_only() {
        let c = mosquitto_config(18830);
        assert!(c.starts_with("listener 18830 127.0.0.1\n"), "{c}");
        assert_eq!(c.lines().filter(|l| l.starts_with("listener")).count(), 1);
        assert!(c.lines().any(|l| l == "persistence false"));
    }

    #[test]
    fn own_cpu_and_rss_are_visible() {
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(cpu_ns(std::process::id()) > 0);
        let before = own_cpu_ns();
        let mut y = 0u64;
        for i in 0..200_000u64 {
            y = y.wrapping_mul(31).wrapping_add(i);
        }
        assert!(y != 1);
        assert!(own_cpu_ns() > before, "a short burst of work shows at once");
        let (hwm, rss) = rss_kb(None);
        assert!(hwm >= rss && rss > 0);
    }
}
