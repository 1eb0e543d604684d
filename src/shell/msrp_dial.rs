//! MSRP connections the switch opens itself (RFC 6135 §4.2 active role, RFC 4975 §5.4):
//! for an engine `MsrpConnect` it connects to the literal address (never a name lookup)
//! within `msrp_bind_timeout_ms`, then runs the same pumps as an accepted connection; a
//! failed or abandoned attempt is reported to the engine as a closed connection, which
//! ends the session (the focus sends BYE).

use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use async_io::Async;

use super::msrp_conn::{self, Pumps};
use super::run::{Executor, Shell};
use crate::switch::MsrpConnId;

/// How a connect attempt ended.
enum Attempt {
    Connected(Async<TcpStream>),
    Failed(std::io::Error),
    TimedOut,
    /// The engine closed the connection meanwhile (the session ended).
    Abandoned,
}

/// Engine `MsrpConnect`: registers `id` (its wakes and close requests are kept) and starts
/// the connect task.
pub(super) fn connect(shell: &Shell, id: MsrpConnId, addr: SocketAddr) {
    let pumps = msrp_conn::register(shell, id);
    match (shell.me.upgrade(), shell.executor.upgrade()) {
        (Some(me), Some(ex)) => ex.spawn(dial(me, ex.clone(), id, addr, pumps)).detach(),
        _ => {
            // Only while the process is tearing down.
            log::warn!("MSRP {id:?}: cannot start a connect to {addr}");
            msrp_conn::unregister(shell, id, &pumps);
            shell.with_engine(|engine, now| engine.msrp_closed(now, id));
        }
    }
}

/// Connects, then hands the socket to the pumps; reports any failure as a close.
async fn dial(shell: Rc<Shell>, ex: Executor, id: MsrpConnId, addr: SocketAddr, pumps: Pumps) {
    let limit = Duration::from_millis(shell.limits.msrp_bind_timeout_ms);
    let attempt = smol::future::or(
        async {
            match Async::<TcpStream>::connect(addr).await {
                Ok(stream) => Attempt::Connected(stream),
                Err(e) => Attempt::Failed(e),
            }
        },
        smol::future::or(
            async {
                smol::Timer::after(limit).await;
                Attempt::TimedOut
            },
            abandoned(&pumps),
        ),
    )
    .await;
    let stream = match attempt {
        Attempt::Connected(stream) if !pumps.closing.get() => stream,
        Attempt::Connected(_) | Attempt::Abandoned => {
            log::debug!("MSRP {id:?}: connect to {addr} abandoned");
            return give_up(&shell, id, &pumps);
        }
        Attempt::Failed(e) => {
            log::info!("MSRP connect to {addr} failed: {e}");
            return give_up(&shell, id, &pumps);
        }
        Attempt::TimedOut => {
            log::info!("MSRP connect to {addr} timed out after {limit:?}");
            return give_up(&shell, id, &pumps);
        }
    };
    log::debug!("MSRP {id:?}: connected to {addr}");
    msrp_conn::start_pumps(shell.clone(), &ex, id, stream, pumps);
    shell.with_engine(|engine, now| engine.msrp_connected(now, id));
}

/// Resolves once the engine asks to close `id` (wakes meanwhile are dropped: the writer
/// drains everything pending when it starts anyway).
async fn abandoned(pumps: &Pumps) -> Attempt {
    while !pumps.closing.get() {
        if pumps.wake.recv().await.is_err() {
            break;
        }
    }
    Attempt::Abandoned
}

/// The connection never came up: the engine frees it and loses its sessions.
fn give_up(shell: &Shell, id: MsrpConnId, pumps: &Pumps) {
    msrp_conn::unregister(shell, id, pumps);
    shell.with_engine(|engine, now| engine.msrp_closed(now, id));
}
