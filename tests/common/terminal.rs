//! A pseudo-terminal for black-box tests of `parlor-chat` (POSIX openpt/grantpt/unlockpt,
//! termios): the child gets the slave as stdin, stdout and stderr — one open file
//! description dup'ed three times, as a shell on a real terminal does — and runs as a
//! session leader with the slave as its controlling terminal. The test reads the master only
//! when it chooses to, so it can stop taking output like a terminal under Ctrl-S. Used by
//! tests/chat_terminal.rs via `#[path = "common/terminal.rs"] mod terminal;`.
#![allow(dead_code)]

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions, OutputModes};

/// Pause between reads of an empty master.
const POLL: Duration = Duration::from_millis(10);

/// A child process whose terminal is the slave side of a pseudo-terminal we hold.
pub struct OnTerminal {
    pub child: Child,
    master: File,
    /// Everything read from the master so far.
    pub output: Vec<u8>,
    /// Bytes of `output` already matched by [`OnTerminal::read_until`].
    seen: usize,
    /// The slave side has been closed by every process (the child exited).
    hung_up: bool,
    /// A copy of the slave sharing the child's open file description, when asked for.
    shared_slave: Option<File>,
}

/// The master (non-blocking) and the slave of a fresh pseudo-terminal. Output processing
/// (OPOST: `\n` → `\r\n`) and echo are off, so the master reads exactly the bytes the child
/// wrote; canonical input stays on, so `^D` at the start of a line is end of input.
fn open_pty() -> io::Result<(File, OwnedFd)> {
    // Close-on-exec, so children other tests spawn meanwhile do not inherit it.
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    match tcgetattr(&slave) {
        Ok(mut modes) => {
            modes.output_modes.remove(OutputModes::OPOST);
            modes
                .local_modes
                .remove(LocalModes::ECHO | LocalModes::ECHONL | LocalModes::ECHOCTL);
            tcsetattr(&slave, OptionalActions::Now, &modes)?;
        }
        // qemu-user (boards/test) has no TCGETS2, which rustix's termios calls use: the
        // host's stty sets the same modes with the older ioctls.
        Err(rustix::io::Errno::NOSYS) => {
            let path = name.to_string_lossy().into_owned();
            let status = Command::new("stty")
                .args(["-F", &path, "-opost", "-echo", "-echonl", "-echoctl"])
                .status()?;
            if !status.success() {
                return Err(io::Error::other(format!("stty -F {path}: {status}")));
            }
        }
        Err(e) => return Err(e.into()),
    }
    rustix::io::ioctl_fionbio(&master, true)?;
    Ok((File::from(master), slave))
}

impl OnTerminal {
    /// Spawns `program args` on a new pseudo-terminal.
    pub fn spawn(program: &str, args: &[&str]) -> OnTerminal {
        OnTerminal::spawn_inner(program, args, false)
    }

    /// Like [`OnTerminal::spawn`], keeping a copy of the slave descriptor (so the test can
    /// change the file status flags the child's stdin, stdout and stderr share; the master
    /// then does not hang up when the child exits).
    pub fn spawn_sharing(program: &str, args: &[&str]) -> OnTerminal {
        OnTerminal::spawn_inner(program, args, true)
    }

    fn spawn_inner(program: &str, args: &[&str], share: bool) -> OnTerminal {
        let (master, slave) = open_pty().expect("open a pseudo-terminal");
        let slave = File::from(slave);
        let shared_slave = share.then(|| slave.try_clone().expect("dup slave"));
        let out = slave.try_clone().expect("dup slave");
        let err = slave.try_clone().expect("dup slave");
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::from(slave))
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        // SAFETY: the closure runs in the forked child before exec, after the standard
        // streams were set up; it only makes the two async-signal-safe system calls setsid
        // and ioctl(TIOCSCTTY) and allocates nothing.
        unsafe {
            cmd.pre_exec(|| {
                rustix::process::setsid()?;
                let stdin = BorrowedFd::borrow_raw(0);
                rustix::process::ioctl_tiocsctty(stdin)?;
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn on the pseudo-terminal");
        // `cmd` (holding the parent's copies of the slave) is dropped here: only the child
        // has the slave open, so the master reads EIO once it exits.
        drop(cmd);
        OnTerminal {
            child,
            master,
            output: Vec::new(),
            seen: 0,
            hung_up: false,
            shared_slave,
        }
    }

    /// Sets O_NONBLOCK on the open file description the child's standard streams share, as
    /// another program on the same terminal may do.
    pub fn make_shared_description_nonblocking(&self) {
        let slave = self
            .shared_slave
            .as_ref()
            .expect("spawned with spawn_sharing");
        rustix::io::ioctl_fionbio(slave, true).expect("FIONBIO on the slave");
    }

    /// Reads what the master has now, without waiting; false once the slave is closed.
    fn read_available(&mut self) -> bool {
        let mut buf = [0u8; 16 * 1024];
        for _ in 0..1_000 {
            match self.master.read(&mut buf) {
                Ok(0) => {
                    self.hung_up = true;
                    return false;
                }
                Ok(n) => self.output.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // EIO: every slave descriptor is closed.
                Err(_) => {
                    self.hung_up = true;
                    return false;
                }
            }
        }
        true
    }

    /// Reads until the unread output contains `want`, at most `limit`; returns the output
    /// from the previous match's end through this one. Panics with what was read otherwise.
    pub fn read_until(&mut self, want: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let alive = self.read_available();
            let unread = &self.output[self.seen..];
            if let Some(at) = find(unread, want.as_bytes()) {
                let end = self.seen + at + want.len();
                let got = String::from_utf8_lossy(&self.output[self.seen..end]).into_owned();
                self.seen = end;
                return got;
            }
            if !alive || Instant::now() >= deadline {
                panic!(
                    "no {want:?} on the terminal within {limit:?} (child {:?}); read:\n{}",
                    self.child.try_wait(),
                    String::from_utf8_lossy(unread)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Types `bytes` at the terminal (`\x04` at the start of a line is end of input).
    pub fn type_bytes(&mut self, bytes: &[u8]) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut rest = bytes;
        while !rest.is_empty() {
            match self.master.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(POLL);
                }
                Err(e) => panic!("typing at the terminal: {e}"),
            }
        }
    }
}

impl Drop for OnTerminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
