//! The global memory budget (`Limits::memory_cap`): bytes reserved by joined participants
//! (`participant_bytes`) and open MSRP connections (`msrp_connection_bytes`) never exceed
//! it; a reservation that would is refused (SIP 503 / connection refused).

/// Reserved bytes against a cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Budget {
    cap: usize,
    reserved: usize,
}

impl Budget {
    /// An empty budget of `cap` bytes.
    pub(super) fn new(cap: usize) -> Self {
        Budget { cap, reserved: 0 }
    }

    /// Reserves `n` bytes if they fit under the cap.
    pub(super) fn try_reserve(&mut self, n: usize) -> bool {
        match self.reserved.checked_add(n) {
            Some(total) if total <= self.cap => {
                self.reserved = total;
                true
            }
            _ => false,
        }
    }

    /// Returns `n` reserved bytes.
    pub(super) fn release(&mut self, n: usize) {
        self.reserved = self.reserved.saturating_sub(n);
    }

    /// Bytes reserved now.
    pub(super) fn reserved(&self) -> usize {
        self.reserved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserves_up_to_the_cap_and_releases() {
        let mut b = Budget::new(100);
        assert!(b.try_reserve(60));
        assert!(!b.try_reserve(41));
        assert!(b.try_reserve(40));
        assert_eq!(b.reserved(), 100);
        b.release(60);
        assert_eq!(b.reserved(), 40);
        assert!(!b.try_reserve(usize::MAX));
        b.release(1000);
        assert_eq!(b.reserved(), 0);
    }
}
