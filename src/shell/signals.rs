//! SIGTERM/SIGINT → a clean shutdown (exit code 0), through async-signal so no unsafe code
//! is needed and the signal arrives as an event on the async-io reactor. What happens next
//! (BYE to every participant, terminating NOTIFYs, the grace period) is `run::Shell::drain`.

use std::io;

use async_signal::{Signal, Signals};
use smol::stream::StreamExt;

/// The termination signals, registered at startup (before the listening line is printed,
/// so a SIGTERM sent right after it is never fatal).
pub struct Shutdown {
    signals: Signals,
}

impl Shutdown {
    /// Installs the handlers for SIGTERM and SIGINT.
    pub fn listen() -> io::Result<Self> {
        let signals = Signals::new([Signal::Term, Signal::Int])?;
        Ok(Shutdown { signals })
    }

    /// Resolves when one of the signals arrives.
    pub async fn requested(mut self) {
        match self.signals.next().await {
            Some(Ok(sig)) => log::info!("received {sig:?}, shutting down"),
            Some(Err(e)) => {
                // Polling again could spin on the same error: keep serving without signal
                // handling rather than stop or busy-loop.
                log::error!("signal stream failed: {e}; SIGTERM will no longer be seen");
                smol::future::pending::<()>().await;
            }
            // The stream never ends; if it did, there is nothing left to wait for.
            None => {}
        }
    }
}
