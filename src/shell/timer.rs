//! The one timer task: sleeps until the engine's `poll_timeout` (RFC 3261 §17 transaction
//! timers, RFC 7701 §6.1 chunk timer, bind timeouts) and runs `handle_timeout`; woken early
//! when an engine call moves the deadline earlier.

use std::cell::Cell;
use std::rc::Rc;

use smol::channel::{self, Receiver, Sender, TrySendError};
use smol::Timer;

use super::run::Shell;
use crate::time::Instant;

/// The wake signal for the timer task plus the deadline it currently sleeps for.
pub(super) struct TimerWake {
    tx: Sender<()>,
    rx: Receiver<()>,
    armed: Cell<Option<Instant>>,
}

impl TimerWake {
    pub(super) fn new() -> Self {
        // Capacity 1: a pending wake already says "look again"; more would add nothing.
        let (tx, rx) = channel::bounded(1);
        TimerWake {
            tx,
            rx,
            armed: Cell::new(None),
        }
    }

    /// Wakes the timer task if `next` is earlier than the deadline it sleeps for.
    pub(super) fn rearm_if_earlier(&self, next: Option<Instant>) {
        let earlier = match (next, self.armed.get()) {
            (Some(n), Some(armed)) => n < armed,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if earlier {
            self.armed.set(next);
            match self.tx.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Closed(())) => log::warn!("timer task is gone"),
            }
        }
    }
}

/// Sleeps until the engine's next deadline, runs it, repeats.
pub(super) async fn run(shell: Rc<Shell>) {
    loop {
        let next = shell.engine().poll_timeout();
        shell.timer.armed.set(next);
        let Some(at) = next else {
            if shell.timer.rx.recv().await.is_err() {
                return;
            }
            continue;
        };
        let deadline = shell.deadline(at);
        let fired = smol::future::or(
            async {
                Timer::at(deadline).await;
                true
            },
            async {
                // Err cannot happen: the shell holds the sender. Treat it as a wake.
                let _ = shell.timer.rx.recv().await;
                false
            },
        )
        .await;
        if fired {
            shell.with_engine(|engine, now| engine.handle_timeout(now));
            // A deadline the core did not move past `now` must not starve the sockets.
            smol::future::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_only_when_the_deadline_moves_earlier() {
        let t = TimerWake::new();
        t.rearm_if_earlier(None);
        assert!(t.rx.try_recv().is_err(), "no deadline: no wake");
        t.rearm_if_earlier(Some(Instant::from_micros(1_000)));
        assert!(t.rx.try_recv().is_ok(), "first deadline wakes");
        t.rearm_if_earlier(Some(Instant::from_micros(2_000)));
        assert!(
            t.rx.try_recv().is_err(),
            "later deadline: the sleeping timer covers it"
        );
        t.rearm_if_earlier(Some(Instant::from_micros(500)));
        assert!(t.rx.try_recv().is_ok(), "earlier deadline wakes");
        assert_eq!(t.armed.get(), Some(Instant::from_micros(500)));
    }
}
