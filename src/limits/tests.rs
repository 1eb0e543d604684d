//! Unit tests of `Limits`: validation, the memory formulas and the per-source shares.

use super::*;

#[test]
fn default_is_valid() {
    assert_eq!(Limits::default().validate(), Ok(()));
}

#[test]
fn set_and_get_by_name() {
    let mut l = Limits::default();
    l.set("ring_bytes", 4096).unwrap();
    assert_eq!(l.ring_bytes, 4096);
    assert_eq!(l.get("ring_bytes"), Some(4096));
    assert_eq!(l.set("nope", 1), Err(LimitsError::UnknownField));
    assert_eq!(l.get("nope"), None);
    assert!(Limits::FIELD_NAMES.contains(&"chunk_timeout_ms"));
}

#[test]
fn validate_rejects_zero_and_inconsistent() {
    let l = Limits {
        max_participants: 0,
        ..Limits::default()
    };
    assert_eq!(l.validate(), Err(LimitsError::Invalid("max_participants")));
    let l = Limits {
        sip_t2_ms: 1,
        ..Limits::default()
    };
    assert_eq!(l.validate(), Err(LimitsError::Invalid("sip_t2_ms")));
    let l = Limits {
        memory_cap: 1000,
        ..Limits::default()
    };
    assert_eq!(l.validate(), Err(LimitsError::CapTooSmall));
    // Issue 15: max_participants x max_partial_per_sender must fit max_message_ids.
    let l = Limits {
        max_partial_per_sender: 5,
        ..Limits::default()
    };
    assert_eq!(l.validate(), Err(LimitsError::Invalid("max_message_ids")));
    let l = Limits {
        max_message_ids: 64 * 5,
        ..l
    };
    assert_eq!(l.validate(), Ok(()));
    // Issue 15: the per-source shares and the grace must not be zero.
    for name in [
        "max_seats_per_source",
        "max_sessions_per_connection",
        "max_subscriptions_per_source",
        "unproven_grace_ms",
    ] {
        let mut l = Limits::default();
        l.set(name, 0).unwrap();
        assert_eq!(l.validate(), Err(LimitsError::Invalid(name)));
    }
}

#[test]
fn most_per_key_counts_the_largest_group() {
    assert_eq!(most_per_key([3, 1, 3, 2, 3, 1].into_iter()), 3);
    assert_eq!(most_per_key(["a", "b"].into_iter()), 1);
    assert_eq!(most_per_key(core::iter::empty::<u8>()), 0);
}

/// Issue 15: a source's share of one room is the fraction of the whole (rounded
/// down), at least 2 seats or the whole room if smaller; a share larger than the
/// participant table means the whole room.
#[test]
fn room_share_follows_the_seat_fraction() {
    let l = Limits::default();
    assert_eq!(l.max_seats_per_source * 4, l.max_participants * 3);
    assert_eq!(l.room_seats_per_source(64), 48);
    assert_eq!(l.room_seats_per_source(8), 6);
    assert_eq!(l.room_seats_per_source(3), 2);
    assert_eq!(l.room_seats_per_source(2), 2);
    assert_eq!(l.room_seats_per_source(1), 1);
    let all = Limits {
        max_seats_per_source: 1000,
        ..Limits::default()
    };
    assert_eq!(all.room_seats_per_source(8), 8);
    // Issue 15: a zero rate or bucket would stop a sender for good, a zero stall
    // timeout would close every connection with output.
    for name in [
        "write_stall_timeout_ms",
        "send_rate_bytes_per_s",
        "send_burst_bytes",
        "send_rate_messages_per_s",
        "send_burst_messages",
    ] {
        let mut l = Limits::default();
        l.set(name, 0).unwrap();
        assert_eq!(l.validate(), Err(LimitsError::Invalid(name)), "{name}");
    }
}

#[test]
fn worst_case_grows_with_each_table() {
    let base = Limits::default();
    let w = base.worst_case_bytes();
    let mut more = base.clone();
    more.max_participants += 1;
    let nicknames = more.nickname_table_bytes() - base.nickname_table_bytes();
    assert_eq!(
        nicknames,
        2 * base.max_nickname_bytes + QUARANTINE_ENTRY_BYTES + 2 * base.max_uri_bytes
    );
    assert_eq!(
        more.worst_case_bytes(),
        w + base.participant_bytes() + nicknames + base.dialog_bytes()
    );
    let mut more = base.clone();
    more.max_msrp_connections += 1;
    assert_eq!(more.worst_case_bytes(), w + base.msrp_connection_bytes());
    let mut more = base.clone();
    more.ring_bytes += 1;
    assert_eq!(more.worst_case_bytes(), w + base.max_participants);
    // Issue 14: the read buffer is one, shared by every connection.
    // ...and one more read each SIP TCP connection's framer may hold (issue 15).
    let mut more = base.clone();
    more.read_buf_bytes += 1;
    assert_eq!(more.worst_case_bytes(), w + 1 + base.max_sip_connections);
    let mut more = base.clone();
    more.max_nickname_bytes += 1;
    assert_eq!(more.worst_case_bytes(), w + 2 * base.max_participants);
}

// Issue 15: the cap governs participants, MSRP connections and nicknames only; every
// other table is added to the printed bound at its own size, so a small cap no longer
// hides SIP transactions, stored responses or SIP TCP buffers.
#[test]
fn bounded_bytes_adds_what_the_cap_does_not_govern() {
    let base = Limits::default();
    assert_eq!(
        base.worst_case_bytes(),
        base.cap_governed_bytes() + base.ungoverned_bytes()
    );
    let small = Limits {
        memory_cap: 1 << 20,
        ..base.clone()
    };
    assert!(small.cap_governed_bytes() > small.memory_cap);
    assert_eq!(
        small.bounded_bytes(),
        small.memory_cap + small.ungoverned_bytes()
    );
    // The figures: router's transaction table alone is over 3 MiB, more than a
    // 1 MiB cap, and it is in the bound.
    let transactions = small.max_sip_transactions * small.sip_transaction_bytes();
    assert!(transactions > small.memory_cap);
    assert!(small.bounded_bytes() >= small.memory_cap + transactions);
    // Each ungoverned part counts: one more transaction, SIP TCP connection or queue
    // byte raises the bound even under a small cap.
    let mut more = small.clone();
    more.max_sip_transactions += 1;
    assert_eq!(
        more.bounded_bytes(),
        small.bounded_bytes() + small.sip_transaction_bytes()
    );
    let mut more = small.clone();
    more.max_sip_connections += 1;
    assert_eq!(
        more.bounded_bytes(),
        small.bounded_bytes() + small.sip_connection_bytes()
    );
    let mut more = small.clone();
    more.sip_tcp_queue_bytes += 1;
    assert_eq!(
        more.bounded_bytes(),
        small.bounded_bytes() + small.max_sip_connections
    );
    // A cap larger than every governed table bounds nothing more.
    let big = Limits {
        memory_cap: usize::MAX / 2,
        ..base
    };
    assert_eq!(big.bounded_bytes(), big.worst_case_bytes());
    // The names `parlor limits` prints are distinct.
    let parts = big.ungoverned_parts();
    for (i, (a, _)) in parts.iter().enumerate() {
        assert!(parts[i + 1..].iter().all(|(b, _)| a != b), "{a}");
    }
}

#[test]
fn the_sip_tcp_queue_holds_one_message_of_any_kind() {
    let base = Limits::default();
    assert_eq!(
        base.largest_sip_output(),
        base.max_notify_bytes
            .max(base.max_sip_message_bytes + SIP_RESPONSE_EXTRA)
    );
    let l = Limits {
        sip_tcp_queue_bytes: base.largest_sip_output() - 1,
        ..base.clone()
    };
    assert_eq!(
        l.validate(),
        Err(LimitsError::Invalid("sip_tcp_queue_bytes"))
    );
    let l = Limits {
        sip_tcp_queue_bytes: base.largest_sip_output(),
        ..base
    };
    assert_eq!(l.validate(), Ok(()));
}
