//! The OS random source for the core (RFC 4975 §14.1 session-ids, §7.1 transaction ids,
//! RFC 3261 §19.3 tags/branches): `/dev/urandom` through a small read buffer.

use std::fs::File;
use std::io::{self, BufReader, Read};

use crate::rand::Entropy;

/// Bytes read from the kernel at a time; ids are 12–16 characters, so one read serves
/// several of them.
const READ_AHEAD_BYTES: usize = 256;

/// `/dev/urandom`, buffered.
pub struct Urandom {
    reader: BufReader<File>,
}

impl Urandom {
    /// Opens `/dev/urandom` and reads from it once so a broken source fails at startup.
    pub fn open() -> io::Result<Self> {
        let file = File::open("/dev/urandom")
            .map_err(|e| io::Error::new(e.kind(), format!("/dev/urandom: {e}")))?;
        let mut source = Urandom {
            reader: BufReader::with_capacity(READ_AHEAD_BYTES, file),
        };
        let mut probe = [0u8; 8];
        source
            .reader
            .read_exact(&mut probe)
            .map_err(|e| io::Error::new(e.kind(), format!("/dev/urandom: {e}")))?;
        Ok(source)
    }
}

impl Entropy for Urandom {
    fn fill(&mut self, buf: &mut [u8]) {
        if let Err(e) = self.reader.read_exact(buf) {
            // Predictable ids would let peers hijack sessions: stop rather than go on.
            log::error!("/dev/urandom read failed: {e}; exiting");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_with_varying_bytes() {
        let mut e = Urandom::open().unwrap();
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        e.fill(&mut a);
        e.fill(&mut b);
        assert_ne!(a, b);
        // Longer than the read-ahead buffer: still filled completely.
        let mut big = [0u8; READ_AHEAD_BYTES * 3];
        e.fill(&mut big);
        assert!(big.iter().any(|&x| x != 0));
    }
}
