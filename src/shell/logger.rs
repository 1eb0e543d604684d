//! The process's log sink: `LEVEL target: message` lines on stderr, level from the config.

use std::io::Write;

/// Writes every enabled record as one line on stderr.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let mut err = std::io::stderr().lock();
            // A log line that cannot be written has nowhere else to go.
            let _ = writeln!(
                err,
                "{} {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

static LOGGER: StderrLogger = StderrLogger;

/// Installs the stderr logger at `level` (a second call only changes the level).
pub fn init(level: log::LevelFilter) {
    // Err = a logger is already installed: keep it, just apply the level.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
