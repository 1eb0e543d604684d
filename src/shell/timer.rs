//! The one timer task: sleeps until the engine's `poll_timeout` (RFC 3261 §17 transaction
//! timers, RFC 7701 §6.1 chunk timer, bind timeouts) and runs `handle_timeout`. Engine calls
//! only poke it; it recomputes the deadline once per executor round, not once per call, so
//! the fan-out hot path never scans the timer tables.

use std::cell::Cell;
use std::rc::Rc;

use smol::channel::{self, Receiver, Sender, TrySendError};
use smol::Timer;

use super::run::Shell;
use crate::time::Instant;

/// The wake signal for the timer task.
pub(super) struct TimerWake {
    tx: Sender<()>,
    rx: Receiver<()>,
    /// A poke is pending: the task will look at the engine's deadline again.
    poked: Cell<bool>,
}

impl TimerWake {
    pub(super) fn new() -> Self {
        // Capacity 1: a pending wake already says "look again"; more would add nothing.
        let (tx, rx) = channel::bounded(1);
        TimerWake {
            tx,
            rx,
            poked: Cell::new(false),
        }
    }

    /// An engine call may have moved the deadline: the task re-reads it when it next runs
    /// (after the tasks already queued, so a burst of calls costs one look).
    pub(super) fn poke(&self) {
        if self.poked.replace(true) {
            return;
        }
        match self.tx.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            Err(TrySendError::Closed(())) => log::warn!("timer task is gone"),
        }
    }

    /// Takes the pending poke (the task is about to read the deadline).
    fn take_poke(&self) {
        self.poked.set(false);
    }
}

/// When the sleeping timer must be re-set for deadline `next`: when it is earlier than the
/// one armed, or nothing (live) is armed. A later deadline keeps the armed timer, which then
/// fires early and finds nothing due: one spurious wake instead of a reactor update (a
/// syscall) on every round in which the earliest deadline moved later.
fn must_rearm(next: Option<Instant>, armed: Option<Instant>) -> bool {
    match (next, armed) {
        (Some(n), Some(a)) => n < a,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Sleeps until the engine's next deadline, runs it, repeats.
pub(super) async fn run(shell: Rc<Shell>) {
    let mut timer = Timer::never();
    let mut armed: Option<Instant> = None;
    loop {
        shell.timer.take_poke();
        let next = shell.engine().poll_timeout();
        if must_rearm(next, armed) {
            if let Some(at) = next {
                timer.set_at(shell.deadline(at));
                armed = next;
            }
        }
        let fired = smol::future::or(
            async {
                (&mut timer).await;
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
            // A one-shot timer that fired never fires again until set.
            armed = None;
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
    fn pokes_coalesce_until_taken() {
        let t = TimerWake::new();
        t.poke();
        t.poke();
        assert!(t.rx.try_recv().is_ok(), "first poke wakes");
        assert!(t.rx.try_recv().is_err(), "second poke adds nothing");
        t.take_poke();
        t.poke();
        assert!(t.rx.try_recv().is_ok(), "a poke after the look wakes again");
    }

    #[test]
    fn rearms_only_for_an_earlier_deadline() {
        let at = Instant::from_micros;
        assert!(!must_rearm(None, None), "no deadline: nothing to arm");
        assert!(
            !must_rearm(None, Some(at(5))),
            "armed timer fires early, harmless"
        );
        assert!(must_rearm(Some(at(5)), None), "first deadline arms");
        assert!(
            must_rearm(Some(at(4)), Some(at(5))),
            "earlier deadline re-arms"
        );
        assert!(
            !must_rearm(Some(at(5)), Some(at(5))),
            "same deadline keeps the timer"
        );
        assert!(
            !must_rearm(Some(at(9)), Some(at(5))),
            "later deadline keeps the timer"
        );
    }
}
