//! Issue 6 hot-path rule: fanning out a message (RFC 7701 §6.1; RFC 4975 §7.1 copies with
//! fresh transaction ids) performs no heap allocation once the room is set up. A counting
//! global allocator wraps the system one; the engine is driven in-process (no sockets) by
//! the same driver as the `fanout_core` bench.

#[path = "benches/fanout_driver.rs"]
#[allow(dead_code)]
mod fanout_driver;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use fanout_driver::{Room, Shape};
use parlor::rand::{Entropy, TestEntropy};

/// Counts allocations made by the current thread (tests run on several threads at once).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: the slot may be gone while the thread exits.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a
// const-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Joins `shape`, warms up, then fans out `messages` more and returns the allocations the
/// measured phase made, after checking every copy arrived.
fn allocations_while_fanning_out(shape: Shape, entropy: Box<dyn Entropy>, messages: u64) -> u64 {
    let mut room = Room::new(shape, entropy);
    let batch = shape.senders as u64;
    let warm = room.send_messages(200, batch);
    assert_eq!(warm.sent, 200);
    let before = allocations();
    let totals = room.send_messages(messages, batch);
    let made = allocations() - before;
    assert_eq!(totals.sent, messages);
    // Every member reads one `$` end-line per message: a copy or, for its own, the 200.
    assert_eq!(
        totals.end_lines,
        messages * shape.participants as u64,
        "{totals:?}"
    );
    if let Err(e) = room.verify() {
        panic!("{e}");
    }
    made
}

// R7701-6.1 fan-out: 12 members, 3 senders, 200-byte messages: no allocation per message.
#[test]
fn fanning_out_small_messages_allocates_nothing() {
    let shape = Shape {
        participants: 12,
        senders: 3,
        body_bytes: 200,
    };
    let entropy = Box::new(TestEntropy::new(42));
    assert_eq!(allocations_while_fanning_out(shape, entropy, 500), 0);
}

// The server's own random source (ChaCha12 keyed by getrandom(2)) on the same path.
#[test]
fn fanning_out_with_the_os_entropy_allocates_nothing() {
    let shape = Shape {
        participants: 12,
        senders: 3,
        body_bytes: 200,
    };
    let entropy = Box::new(parlor::shell::Urandom::open().expect("OS random source"));
    assert_eq!(allocations_while_fanning_out(shape, entropy, 500), 0);
}

// R4975-7.1.1-b re-chunking: 5000-byte messages go out as three complete chunks per copy,
// still without allocation.
#[test]
fn fanning_out_rechunked_messages_allocates_nothing() {
    let shape = Shape {
        participants: 11,
        senders: 2,
        body_bytes: 5000,
    };
    let entropy = Box::new(TestEntropy::new(43));
    assert_eq!(allocations_while_fanning_out(shape, entropy, 200), 0);
}

/// The counter sees allocations at all (so a zero above means something).
#[test]
fn the_counter_counts() {
    let before = allocations();
    let v: Vec<u8> = Vec::with_capacity(std::hint::black_box(64));
    drop(std::hint::black_box(v));
    assert!(allocations() > before);
}
