//! Connections per source address (issue 5 admission control; RFC 3261 §18.3 and RFC 4975
//! §6.1 accepts): SIP TCP and MSRP accepts from one IP address share one count, bounded by
//! `max_connections_per_source`; one more is closed at accept. A refusal is logged at warn
//! once per source while it stays at the limit, later ones at debug.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;

/// How many connections each source holds now.
#[derive(Debug)]
pub(super) struct SourceTable {
    limit: usize,
    open: HashMap<IpAddr, SourceEntry>,
}

#[derive(Debug, Default)]
struct SourceEntry {
    count: usize,
    /// A refusal of this source was logged at warn since it last had no connection.
    warned: bool,
}

/// The table as the accept loops share it.
pub(super) type Sources = Rc<RefCell<SourceTable>>;

/// One admitted connection's place in the count, given back when dropped (the reader task
/// holds it until the connection is gone).
#[derive(Debug)]
pub(super) struct SourceSlot {
    table: Sources,
    ip: IpAddr,
}

impl SourceTable {
    /// A table allowing `limit` connections per source address.
    pub(super) fn shared(limit: usize) -> Sources {
        Rc::new(RefCell::new(SourceTable {
            limit,
            open: HashMap::new(),
        }))
    }

    /// Connections `ip` holds now.
    #[cfg(test)]
    fn count(&self, ip: IpAddr) -> usize {
        self.open.get(&ip).map_or(0, |e| e.count)
    }
}

/// Counts a connection from `ip` (a `what` connection) if the source is under its limit;
/// `None` = refused (logged), the caller closes the socket.
pub(super) fn admit(sources: &Sources, ip: IpAddr, what: &str) -> Option<SourceSlot> {
    let mut table = sources.borrow_mut();
    let limit = table.limit;
    let entry = table.open.entry(ip).or_default();
    if entry.count >= limit {
        if entry.warned {
            log::debug!("{what} connection from {ip} refused: max_connections_per_source");
        } else {
            entry.warned = true;
            log::warn!(
                "{what} connection from {ip} refused: max_connections_per_source ({limit}) \
                 reached (further refusals of {ip} logged at debug)"
            );
        }
        return None;
    }
    entry.count += 1;
    Some(SourceSlot {
        table: sources.clone(),
        ip,
    })
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut table = self.table.borrow_mut();
        if let Some(entry) = table.open.get_mut(&self.ip) {
            entry.count = entry.count.saturating_sub(1);
            if entry.count == 0 {
                table.open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_per_address_and_slots_give_back() {
        let sources = SourceTable::shared(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let s1 = admit(&sources, a, "SIP TCP").expect("first");
        let s2 = admit(&sources, a, "MSRP").expect("second, other protocol, same count");
        assert!(admit(&sources, a, "MSRP").is_none(), "third from a refused");
        let t1 = admit(&sources, b, "MSRP").expect("b has its own count");
        assert_eq!(sources.borrow().count(a), 2);
        drop(s1);
        assert_eq!(sources.borrow().count(a), 1);
        let s3 = admit(&sources, a, "SIP TCP").expect("a slot was given back");
        drop((s2, s3, t1));
        assert!(
            sources.borrow().open.is_empty(),
            "no entry outlives its connections"
        );
    }

    #[test]
    fn refusals_warn_once_per_episode() {
        let sources = SourceTable::shared(1);
        let a: IpAddr = "::1".parse().unwrap();
        let s = admit(&sources, a, "MSRP").unwrap();
        assert!(admit(&sources, a, "MSRP").is_none());
        assert!(sources.borrow().open.get(&a).unwrap().warned);
        assert!(admit(&sources, a, "MSRP").is_none());
        drop(s);
        let _s = admit(&sources, a, "MSRP").unwrap();
        assert!(
            !sources.borrow().open.get(&a).unwrap().warned,
            "reset once the source left"
        );
    }
}
