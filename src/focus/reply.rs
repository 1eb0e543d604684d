//! What the focus answers with, shared by every request handler (RFC 3261 §8.2.6 final
//! responses, §20.5 Allow; RFC 4575 §3 / RFC 6665 §8.2.1 the `conference` event package):
//! a final [`Reply`], the transaction ([`Pending`]) it completes, and the constants that
//! several handlers put in their headers. A leaf: it names no handler.

use super::transaction::TxKey;

/// The methods the focus implements (RFC 3261 §20.5 Allow).
pub(super) const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, SUBSCRIBE";

/// The one event package the focus serves (Event, Allow-Events).
pub(super) const EVENT_PACKAGE: &str = "conference";

/// The transaction a final response belongs to.
pub(super) enum Pending {
    /// A non-INVITE request (the transaction is created with its response).
    NonInvite(TxKey),
    /// The INVITE server transaction in the slab.
    Invite(usize),
}

/// A final response to send.
pub(super) struct Reply<'r> {
    pub code: u16,
    pub reason: &'r str,
    pub headers: &'r [(&'r str, &'r str)],
    pub body: &'r [u8],
}

impl<'r> Reply<'r> {
    pub(super) fn bare(code: u16, reason: &'r str) -> Self {
        Reply {
            code,
            reason,
            headers: &[],
            body: b"",
        }
    }
}
