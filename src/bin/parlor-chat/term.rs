//! The chat client's one way to the terminal (no protocol; POSIX terminal I/O): every line
//! for stdout or stderr is queued here and written by one thread, so a terminal that stops
//! taking output (Ctrl-S, a slow link, a would-block descriptor) never stops the session
//! loop and never kills the process. The queue is bounded; what overflows is counted and
//! reported in one line once the terminal takes output again.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// Most bytes of text waiting for the terminal; beyond it lines are dropped (and counted).
/// A line is still taken when nothing else waits, whatever its size.
pub const QUEUE_BYTES: usize = 1024 * 1024;
/// Pause before retrying a write the descriptor refused with "would block" (someone else
/// sharing the terminal's open file description made it non-blocking).
const RETRY_PAUSE: Duration = Duration::from_millis(10);

/// Which standard stream a line goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

type OnGone = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    queue: VecDeque<(Stream, String)>,
    /// Bytes in `queue`.
    bytes: usize,
    /// Lines refused since the last notice about them.
    dropped: usize,
    /// The writer is writing a line it took off the queue.
    busy: bool,
    /// Lines written (progress, for [`Term::finish`]).
    written: u64,
    /// Writing failed for good (closed pipe, hung-up terminal): lines are discarded.
    gone: bool,
    /// Called once when `gone` becomes true.
    on_gone: Option<OnGone>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the queue usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The terminal writer: cheap, non-blocking calls from the session loop.
#[derive(Clone)]
pub struct Term {
    shared: Arc<Shared>,
}

impl Term {
    /// Starts the writer thread.
    pub fn start() -> io::Result<Term> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        let writer = shared.clone();
        thread::Builder::new()
            .name("terminal".into())
            .spawn(move || write_loop(&writer))?;
        Ok(Term { shared })
    }

    /// Queues one line for stdout (the newline is added).
    pub fn out(&self, line: impl Into<String>) {
        self.push(Stream::Out, line.into());
    }

    /// Queues one line for stderr (the newline is added).
    pub fn err(&self, line: impl Into<String>) {
        self.push(Stream::Err, line.into());
    }

    /// `f` runs (on the writer thread) when output can no longer be written at all.
    pub fn on_gone(&self, f: impl FnOnce() + Send + 'static) {
        let mut st = self.shared.lock();
        if st.gone {
            drop(st);
            f();
        } else {
            st.on_gone = Some(Box::new(f));
        }
    }

    fn push(&self, stream: Stream, mut line: String) {
        line.push('\n');
        let mut st = self.shared.lock();
        if st.gone {
            return;
        }
        if st.bytes > 0 && st.bytes + line.len() > QUEUE_BYTES {
            st.dropped += 1;
            return;
        }
        if st.dropped > 0 {
            let notice = dropped_notice(st.dropped);
            st.dropped = 0;
            st.bytes += notice.len();
            st.queue.push_back((Stream::Out, notice));
        }
        st.bytes += line.len();
        st.queue.push_back((stream, line));
        self.shared.wake.notify_all();
    }

    /// Waits until every queued line is written, giving up when the terminal has taken
    /// nothing for `stall` (a stopped terminal must not keep the process alive).
    pub fn finish(&self, stall: Duration) {
        let mut st = self.shared.lock();
        let mut last = st.written;
        let mut since = Instant::now();
        while !st.gone && (st.busy || !st.queue.is_empty() || st.dropped > 0) {
            if st.written != last {
                last = st.written;
                since = Instant::now();
            }
            let Some(left) = stall.checked_sub(since.elapsed()) else {
                return;
            };
            st = match self.shared.wake.wait_timeout(st, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

/// The line that stands for `n` lines the terminal did not take in time.
fn dropped_notice(n: usize) -> String {
    let lines = if n == 1 { "line" } else { "lines" };
    format!("* {n} {lines} not shown: the terminal did not take output fast enough\n")
}

/// The writer thread: takes lines off the queue in order and writes each completely.
fn write_loop(shared: &Shared) {
    loop {
        let mut st = shared.lock();
        let (stream, line) = loop {
            if let Some(item) = st.queue.pop_front() {
                break item;
            }
            if st.dropped > 0 {
                let notice = dropped_notice(st.dropped);
                st.dropped = 0;
                st.bytes += notice.len();
                break (Stream::Out, notice);
            }
            st = match shared.wake.wait(st) {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
        };
        st.busy = true;
        drop(st);
        let result = match stream {
            Stream::Out => write_fully(&mut io::stdout().lock(), line.as_bytes()),
            Stream::Err => write_fully(&mut io::stderr().lock(), line.as_bytes()),
        };
        let mut st = shared.lock();
        st.busy = false;
        st.bytes = st.bytes.saturating_sub(line.len());
        st.written += 1;
        if result.is_err() {
            st.gone = true;
            st.queue.clear();
            st.bytes = 0;
            st.dropped = 0;
            let on_gone = st.on_gone.take();
            drop(st);
            shared.wake.notify_all();
            if let Some(f) = on_gone {
                f();
            }
            return;
        }
        drop(st);
        shared.wake.notify_all();
    }
}

/// Writes all of `bytes` and flushes, waiting out "would block" and interrupted calls; any
/// other error (or a descriptor that takes nothing) means the output is gone.
fn write_fully(out: &mut impl Write, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match out.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e) => retry_or_fail(e)?,
        }
    }
    loop {
        match out.flush() {
            Ok(()) => return Ok(()),
            Err(e) => retry_or_fail(e)?,
        }
    }
}

fn retry_or_fail(e: io::Error) -> io::Result<()> {
    match e.kind() {
        io::ErrorKind::WouldBlock => {
            thread::sleep(RETRY_PAUSE);
            Ok(())
        }
        io::ErrorKind::Interrupted => Ok(()),
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that refuses `refusals` calls with WouldBlock, then takes at most `step`
    /// bytes per call.
    struct Stubborn {
        refusals: usize,
        step: usize,
        got: Vec<u8>,
    }

    impl Write for Stubborn {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.refusals > 0 {
                self.refusals -= 1;
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.step);
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            if self.refusals > 0 {
                self.refusals -= 1;
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(())
        }
    }

    #[test]
    fn would_block_is_waited_out_and_short_writes_continue() {
        let mut w = Stubborn {
            refusals: 3,
            step: 5,
            got: Vec::new(),
        };
        write_fully(&mut w, b"hello, terminal\n").expect("written");
        assert_eq!(w.got, b"hello, terminal\n");
    }

    #[test]
    fn a_closed_pipe_is_an_error() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let e = write_fully(&mut Closed, b"x").expect_err("broken pipe");
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn overflow_is_counted_and_reported_once() {
        // No writer thread: the queue only fills.
        let term = Term {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
            }),
        };
        let big = "x".repeat(QUEUE_BYTES / 2);
        term.out(big.clone());
        term.out(big.clone()); // 2 × (half + newline) > QUEUE_BYTES: dropped
        term.out(big);
        {
            let st = term.shared.lock();
            assert_eq!((st.queue.len(), st.dropped), (1, 2));
        }
        // The writer drains the queue; the next line comes after the notice.
        {
            let mut st = term.shared.lock();
            st.queue.clear();
            st.bytes = 0;
        }
        term.out("after");
        let st = term.shared.lock();
        let lines: Vec<&str> = st.queue.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            lines,
            [
                "* 2 lines not shown: the terminal did not take output fast enough\n",
                "after\n"
            ]
        );
        assert_eq!(st.dropped, 0);
    }
}
