//! SIP over TCP (RFC 3261 §18.3): accepts connections, feeds their bytes to the engine
//! (the focus frames them by Content-Length), and writes the engine's messages through a
//! per-connection queue bounded in messages and in bytes (`sip_tcp_queue_bytes`: a peer
//! that does not read is disconnected, issue 15); one connection's failure never touches
//! another.

use std::cell::Cell;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::rc::Rc;

use async_io::Async;
use smol::channel::{self, Receiver, Sender, TrySendError};
use smol::io::AsyncWriteExt;

use super::run::{Executor, Shell};
use crate::focus::SipConnId;

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop cannot spin.
const ACCEPT_ERROR_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// The shell's side of one SIP TCP connection.
pub(super) struct SipHandle {
    /// Tells this connection from a later one the focus gives the same id.
    token: u64,
    /// Whole SIP messages for the writer task; closed = flush and shut down.
    queue: Sender<Vec<u8>>,
    /// Bytes queued and not yet taken by the kernel (the message being written included).
    queued: Rc<Cell<usize>>,
    /// To shut the socket down at once when the peer stops reading.
    stream: Rc<Async<TcpStream>>,
}

impl SipHandle {
    /// Drops what is queued and shuts the socket down: the writer's pending write fails,
    /// the reader sees the end and reports the close to the engine.
    fn abort(&self) {
        self.queue.close();
        let _ = self.stream.get_ref().shutdown(Shutdown::Both);
    }
}

/// Accepts SIP TCP connections forever.
pub(super) async fn accept_loop(shell: Rc<Shell>, ex: Executor, listener: Async<TcpListener>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                log::warn!("SIP TCP accept failed: {e}");
                smol::Timer::after(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        // A refusal is logged by the focus, naming the limit.
        let Some(id) = shell.with_engine(|engine, now| engine.sip_tcp_opened(now, peer)) else {
            continue;
        };
        // One queued message per transaction the focus may have open towards this peer.
        let (tx, rx) = channel::bounded(shell.limits.max_sip_transactions.max(1));
        let token = shell.new_token();
        let stream = Rc::new(stream);
        let queued = Rc::new(Cell::new(0));
        let handle = SipHandle {
            token,
            queue: tx,
            queued: queued.clone(),
            stream: stream.clone(),
        };
        let old = shell.sip_conns.borrow_mut().insert(id, handle);
        if let Some(old) = old {
            // The focus reused an id it had closed: the old writer finishes on its own.
            old.queue.close();
        }
        ex.spawn(read_loop(shell.clone(), id, token, stream.clone()))
            .detach();
        ex.spawn(write_loop(stream, rx, queued)).detach();
    }
}

/// Feeds everything the peer sends to the engine; reports the close once.
async fn read_loop(shell: Rc<Shell>, id: SipConnId, token: u64, stream: Rc<Async<TcpStream>>) {
    shell
        .pump(&stream, &id, |engine, now, bytes| {
            engine.sip_tcp_input(now, id, bytes)
        })
        .await;
    let ours = {
        let mut conns = shell.sip_conns.borrow_mut();
        match conns.get(&id) {
            Some(h) if h.token == token => conns.remove(&id),
            _ => None,
        }
    };
    if let Some(handle) = ours {
        handle.queue.close();
        shell.with_engine(|engine, now| engine.sip_tcp_closed(now, id));
    }
}

/// Writes queued messages in order; when the queue is closed, flushes and shuts down.
async fn write_loop(stream: Rc<Async<TcpStream>>, rx: Receiver<Vec<u8>>, queued: Rc<Cell<usize>>) {
    let mut writer = &*stream;
    while let Ok(msg) = rx.recv().await {
        if let Err(e) = writer.write_all(&msg).await {
            log::debug!("SIP TCP write error: {e}");
            break;
        }
        queued.set(queued.get().saturating_sub(msg.len()));
    }
    // Both directions: the reader sees EOF and reports the close to the engine.
    let _ = stream.get_ref().shutdown(Shutdown::Both);
}

/// Queues one message for connection `id` (engine `SipSend` to TCP).
pub(super) fn queue(shell: &Shell, id: SipConnId, bytes: Vec<u8>) {
    let conns = shell.sip_conns.borrow();
    let Some(handle) = conns.get(&id) else {
        log::debug!("SIP TCP {id:?} is gone; message dropped");
        return;
    };
    if handle.queue.is_closed() {
        log::debug!("SIP TCP {id:?} closing; message dropped");
        return;
    }
    let len = bytes.len();
    let total = handle.queued.get().saturating_add(len);
    if total > shell.limits.sip_tcp_queue_bytes {
        log::warn!(
            "SIP TCP {id:?}: peer not reading ({total} bytes would be queued, \
             sip_tcp_queue_bytes {}), closing",
            shell.limits.sip_tcp_queue_bytes
        );
        handle.abort();
        return;
    }
    match handle.queue.try_send(bytes) {
        Ok(()) => handle.queued.set(total),
        Err(TrySendError::Full(_)) => {
            log::warn!("SIP TCP {id:?}: peer not reading, closing");
            handle.abort();
        }
        Err(TrySendError::Closed(_)) => log::debug!("SIP TCP {id:?} closing; message dropped"),
    }
}

/// Closes connection `id` once what was queued before is written (engine `SipClose`).
pub(super) fn close(shell: &Shell, id: SipConnId) {
    if let Some(handle) = shell.sip_conns.borrow().get(&id) {
        handle.queue.close();
    }
}
