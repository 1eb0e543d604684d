//! MSRP over TCP (RFC 4975 §6.1, §7): accepts connections, feeds their bytes to the engine,
//! and drains each connection's pending output (two ring slices) with one vectored write
//! per round, copying nothing — or at once, after the read that filled it past
//! [`WRITE_THROUGH_BYTES`]; one connection's failure never touches another. The same
//! pumps serve the connections the switch opens itself (`msrp_dial`).

use std::cell::Cell;
use std::io::{IoSlice, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::rc::Rc;

use async_io::Async;
use smol::channel::{self, Receiver, Sender};

use super::run::{Executor, Shell};
use crate::switch::MsrpConnId;
use crate::time::Instant;

/// Pending output at which a connection is written right after the read that queued it,
/// instead of at the end of the executor round. A round reads every sender before any
/// writer runs, so without this each recipient ring would hold a whole round of copies
/// (N−1 rings × all senders' reads: megabytes at 50 participants); with it a ring holds
/// at most this plus one read's copies. The bytes go to the kernel with MSG_MORE (no TCP
/// transmit until the round's last write), so a small threshold costs a cheap syscall.
pub(super) const WRITE_THROUGH_BYTES: usize = 4 * 1024;

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop cannot spin.
const ACCEPT_ERROR_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// The shell's side of one MSRP connection.
pub(super) struct MsrpHandle {
    /// Tells this connection from a later one the switch gives the same id.
    token: u64,
    /// "Output is pending": capacity 1, a pending wake already covers any later one.
    wake: Sender<()>,
    /// The engine asked to close once the pending output is written.
    closing: Rc<Cell<bool>>,
    /// The socket, once connected (write-through).
    stream: Option<Rc<Async<TcpStream>>>,
    /// Listed in the shell's `woken` list (output pending since the last look).
    listed: bool,
    /// Bytes were handed to the kernel with MSG_MORE and not pushed since.
    corked: bool,
    /// "Input may flow again" for a reader paused by the engine: capacity 1.
    resume: Sender<()>,
}

/// Accepts MSRP connections forever. A refusal by the switch (connection limit, memory
/// cap) is logged at warn once until a connection is admitted again, then at debug.
pub(super) async fn accept_loop(shell: Rc<Shell>, ex: Executor, listener: Async<TcpListener>) {
    let mut refusal_warned = false;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                log::warn!("MSRP accept failed: {e}");
                smol::Timer::after(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let id = match shell.with_engine(|engine, now| engine.msrp_opened(now, peer)) {
            Ok(id) => id,
            Err(refusal) => {
                let limit = refusal.limit();
                if refusal_warned {
                    log::debug!("MSRP connection from {peer} refused: {limit}");
                } else {
                    refusal_warned = true;
                    log::warn!(
                        "MSRP connection from {peer} refused: {limit} reached \
                         (further refusals logged at debug)"
                    );
                }
                continue;
            }
        };
        refusal_warned = false;
        start_pumps(shell.clone(), &ex, id, stream, register(&shell, id));
    }
}

/// The shell's side of a connection id before its pumps run: what the writer waits on.
pub(super) struct Pumps {
    token: u64,
    /// Wakes from `wake`/`close`.
    pub(super) wake: Receiver<()>,
    /// Set by `close` (and when the connection is gone).
    pub(super) closing: Rc<Cell<bool>>,
    /// Resumes from `resume`; the writer sends one when it ends so that a paused reader
    /// sees the socket's end.
    resume: (Sender<()>, Receiver<()>),
}

/// Records connection `id` so the engine's wakes and close requests reach it, even before
/// its socket exists (a connection the switch opens).
pub(super) fn register(shell: &Shell, id: MsrpConnId) -> Pumps {
    let (tx, rx) = channel::bounded(1);
    let resume = channel::bounded(1);
    let closing = Rc::new(Cell::new(false));
    let token = shell.new_token();
    let handle = MsrpHandle {
        token,
        wake: tx,
        closing: closing.clone(),
        stream: None,
        listed: false,
        corked: false,
        resume: resume.0.clone(),
    };
    if let Some(old) = shell.msrp_conns.borrow_mut().insert(id, handle) {
        // The switch reused an id it had closed: stop the old writer.
        old.closing.set(true);
        old.wake.close();
    }
    Pumps {
        token,
        wake: rx,
        closing,
        resume,
    }
}

/// Forgets `id` if it is still the registration `pumps` made (its socket never came up).
pub(super) fn unregister(shell: &Shell, id: MsrpConnId, pumps: &Pumps) {
    let mut conns = shell.msrp_conns.borrow_mut();
    if conns.get(&id).is_some_and(|h| h.token == pumps.token) {
        conns.remove(&id);
    }
}

/// Starts the reader and the writer of connection `id` on `stream` (TCP_NODELAY: MSRP
/// chunks are small and latency matters more than packet count).
pub(super) fn start_pumps(
    shell: Rc<Shell>,
    ex: &Executor,
    id: MsrpConnId,
    stream: Async<TcpStream>,
    pumps: Pumps,
) {
    if let Err(e) = stream.get_ref().set_nodelay(true) {
        log::debug!("MSRP {id:?}: TCP_NODELAY: {e}");
    }
    let stream = Rc::new(stream);
    if let Some(handle) = shell.msrp_conns.borrow_mut().get_mut(&id) {
        if handle.token == pumps.token {
            handle.stream = Some(stream.clone());
        }
    }
    let (resume_tx, resume_rx) = pumps.resume;
    ex.spawn(read_loop(
        shell.clone(),
        id,
        pumps.token,
        stream.clone(),
        resume_rx,
    ))
    .detach();
    ex.spawn(write_loop(
        shell,
        id,
        stream,
        pumps.wake,
        pumps.closing,
        resume_tx,
    ))
    .detach();
}

/// Feeds everything the peer sends to the engine, pausing when it asks; reports the close
/// once.
async fn read_loop(
    shell: Rc<Shell>,
    id: MsrpConnId,
    token: u64,
    stream: Rc<Async<TcpStream>>,
    resume: Receiver<()>,
) {
    shell.pump_msrp(&stream, id, &resume).await;
    let ours = {
        let mut conns = shell.msrp_conns.borrow_mut();
        match conns.get(&id) {
            Some(h) if h.token == token => conns.remove(&id),
            _ => None,
        }
    };
    if let Some(handle) = ours {
        handle.closing.set(true);
        handle.wake.close();
        shell.with_engine(|engine, now| engine.msrp_closed(now, id));
    }
}

/// Writes pending output whenever woken; after a close request, flushes and shuts down.
/// A close request also ends a write the peer has stopped reading (RFC 7701 §6.4: a
/// congested peer is disconnected, not waited for).
async fn write_loop(
    shell: Rc<Shell>,
    id: MsrpConnId,
    stream: Rc<Async<TcpStream>>,
    wake: Receiver<()>,
    closing: Rc<Cell<bool>>,
    resume: Sender<()>,
) {
    loop {
        let close_asked = async {
            // Wakes taken here are harmless: `drain` re-reads the engine until it is empty.
            while !closing.get() && wake.recv().await.is_ok() {}
            Ok(false)
        };
        let drained = async { drain(&shell, id, &stream).await.map(|()| true) };
        match smol::future::or(drained, close_asked).await {
            Ok(true) => {}
            Ok(false) => {
                log::debug!("MSRP {id:?}: closed with output unwritten");
                break;
            }
            Err(e) => {
                log::debug!("MSRP {id:?} write error: {e}");
                break;
            }
        }
        if closing.get() || wake.recv().await.is_err() {
            break;
        }
    }
    // Both directions: the reader sees EOF and reports the close to the engine (woken
    // first if its input was paused).
    let _ = stream.get_ref().shutdown(Shutdown::Both);
    let _ = resume.try_send(());
}

/// Writes until the engine has nothing pending for `id`: each round one vectored write of
/// the two ring slices, straight from the engine's ring, then `msrp_consumed`.
async fn drain(shell: &Shell, id: MsrpConnId, stream: &Async<TcpStream>) -> std::io::Result<()> {
    loop {
        let written = stream
            .write_with(|socket| {
                // Borrowed only inside this synchronous closure, never across an await.
                let engine = shell.engine();
                let [first, second] = engine.msrp_out(id);
                if first.is_empty() && second.is_empty() {
                    return Ok(0);
                }
                let mut socket: &TcpStream = socket;
                let iov = slices(first, second);
                socket.write_vectored(&iov)
            })
            .await?;
        // A plain write pushes everything queued in the kernel, corked bytes included.
        let corked = shell
            .msrp_conns
            .borrow_mut()
            .get_mut(&id)
            .is_some_and(|h| core::mem::replace(&mut h.corked, false));
        if written == 0 {
            if corked {
                // Everything went out with MSG_MORE mid-round: setting TCP_NODELAY (again)
                // transmits what the kernel holds back.
                stream.get_ref().set_nodelay(true)?;
            }
            return Ok(());
        }
        shell.with_engine(|engine, now| engine.msrp_consumed(now, id, written));
    }
}

/// The ring's one or two slices for a vectored write: the second is empty unless the
/// queued bytes wrap, and an empty iovec still costs the kernel a copy-in and a check.
fn slices<'a>(first: &'a [u8], second: &'a [u8]) -> heapless::Vec<IoSlice<'a>, 2> {
    let mut out = heapless::Vec::new();
    for part in [first, second] {
        if !part.is_empty() {
            let _ = out.push(IoSlice::new(part));
        }
    }
    out
}

/// Output is pending on `id` (engine `MsrpWake`).
pub(super) fn wake(shell: &Shell, id: MsrpConnId) {
    match shell.msrp_conns.borrow_mut().get_mut(&id) {
        // Full: a wake is already pending. Closed: the writer has stopped.
        Some(handle) => {
            let _ = handle.wake.try_send(());
            if !handle.listed {
                handle.listed = true;
                shell.woken.borrow_mut().push(id);
            }
        }
        None => log::debug!("MSRP {id:?} is gone; wake ignored"),
    }
}

/// After a read: writes every woken connection whose pending output reached
/// [`WRITE_THROUGH_BYTES`] now, with non-blocking vectored writes, until it is below that
/// or the socket is full (its writer task finishes the rest, as for any connection).
pub(super) fn write_through(shell: &Shell) {
    if shell.woken.borrow().is_empty() {
        return;
    }
    // Work on the list while wakes arriving meanwhile go to the (empty) spare; the two
    // vectors swap roles each time, so this allocates nothing once they have grown.
    let mut list = core::mem::take(&mut *shell.woken_spare.borrow_mut());
    core::mem::swap(&mut list, &mut *shell.woken.borrow_mut());
    let now = shell.now();
    for &id in &list {
        let stream = {
            let conns = shell.msrp_conns.borrow();
            match conns.get(&id) {
                Some(h) if !h.closing.get() => h.stream.clone(),
                _ => None,
            }
        };
        let pending = stream.map_or(0, |s| write_while_large(shell, now, id, &s));
        let mut conns = shell.msrp_conns.borrow_mut();
        if let Some(h) = conns.get_mut(&id) {
            // Still pending: keep watching it until its writer has drained it.
            h.listed = pending > 0;
            if h.listed {
                shell.woken.borrow_mut().push(id);
            }
        }
    }
    list.clear();
    *shell.woken_spare.borrow_mut() = list;
}

/// Writes `id` while everything queued for it (all its sources) is at least
/// [`WRITE_THROUGH_BYTES`]; returns what is still queued. The bytes go to the kernel with
/// MSG_MORE: copied into the socket but not transmitted until the writer task's write at
/// the end of the round, so a busy room costs one TCP transmit (and one wake-up of the
/// peer) per connection per round, not one per write-through. The connection's writer
/// task always runs after this (its wake is pending) and pushes.
fn write_while_large(
    shell: &Shell,
    now: Instant,
    id: MsrpConnId,
    stream: &Async<TcpStream>,
) -> usize {
    use rustix::net::{sendmsg, SendAncillaryBuffer, SendFlags};
    loop {
        let result = {
            let engine = shell.engine();
            let backlog = engine.msrp_backlog(id);
            let [first, second] = engine.msrp_out(id);
            if backlog < WRITE_THROUGH_BYTES || first.len() + second.len() == 0 {
                return backlog;
            }
            let iov = slices(first, second);
            sendmsg(
                stream.get_ref(),
                &iov,
                &mut SendAncillaryBuffer::default(),
                SendFlags::MORE | SendFlags::NOSIGNAL,
            )
        };
        match result {
            Ok(n) if n > 0 => {
                if let Some(h) = shell.msrp_conns.borrow_mut().get_mut(&id) {
                    h.corked = true;
                }
                shell.with_engine_at(now, |engine, now| engine.msrp_consumed(now, id, n));
            }
            // Full socket (its writer waits for writability) or an error (its writer
            // meets it too and closes): either way, stop here.
            _ => return shell.engine().msrp_backlog(id),
        }
    }
}

/// Input of `id` may flow again (engine `MsrpResume`).
pub(super) fn resume(shell: &Shell, id: MsrpConnId) {
    if let Some(handle) = shell.msrp_conns.borrow().get(&id) {
        // Full: a resume is already pending, and one covers any later.
        let _ = handle.resume.try_send(());
    }
}

/// Close `id` after its pending output (engine `MsrpClose`).
pub(super) fn close(shell: &Shell, id: MsrpConnId) {
    if let Some(handle) = shell.msrp_conns.borrow().get(&id) {
        handle.closing.set(true);
        let _ = handle.wake.try_send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_ring_slices_are_left_out_of_the_iovec() {
        let lens =
            |a: &[u8], b: &[u8]| -> Vec<usize> { slices(a, b).iter().map(|s| s.len()).collect() };
        assert_eq!(lens(b"abc", b""), [3]);
        assert_eq!(lens(b"abc", b"de"), [3, 2]);
        assert_eq!(lens(b"", b"de"), [2]);
        assert!(lens(b"", b"").is_empty());
    }
}
