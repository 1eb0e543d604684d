//! Byte sinks for the MSRP emitters (RFC 4975 §7.1 writes numbers in decimal): the [`Sink`]
//! trait, a length-only [`Counter`], and [`Decimal`] numbers formatted once and written
//! many times. A leaf: both the emitters and the typed header values write through it.

/// A byte destination for emitters.
pub trait Sink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A sink that only counts: the exact length an emitter will write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    /// Bytes put so far.
    pub len: usize,
}

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) {
        self.len += bytes.len();
    }
}

/// The length `emit` writes.
pub fn encoded_len(emit: impl FnOnce(&mut Counter)) -> usize {
    let mut c = Counter::default();
    emit(&mut c);
    c.len
}

/// A number in decimal, kept by value so it can be formatted once and written many times
/// (the switch keeps a participant's id and a message entry's index this way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal {
    digits: [u8; 20],
    from: usize,
}

impl Decimal {
    pub fn new(mut n: u64) -> Decimal {
        let mut digits = [0u8; 20];
        let mut from = digits.len();
        loop {
            from -= 1;
            if let Some(slot) = digits.get_mut(from) {
                *slot = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || from == 0 {
                break;
            }
        }
        Decimal { digits, from }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.digits.get(self.from..).unwrap_or(&[])
    }
}

/// Writes `v` in decimal.
pub(crate) fn put_u64<S: Sink + ?Sized>(sink: &mut S, v: u64) {
    sink.put(Decimal::new(v).as_bytes());
}
