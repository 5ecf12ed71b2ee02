//! Messages handled by the [`ListenerNotifier`](crate::actors::ListenerNotifier).

use actix::Message;

/// Counters of one listener (for tests and the admin API).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListenerStats {
    /// `UrlListener(<url>)` or `Service(<Name>-<ID>)`.
    pub name: String,
    /// Where its events are POSTed.
    pub url: String,
    /// Whether discovery manages it (removed when the service is gone).
    pub managed: bool,
    /// Events waiting in its queue now (never more than the queue capacity).
    pub queued: usize,
    /// Events delivered (a 2xx answer) since it was added.
    pub delivered: u64,
    /// Events given up on after the last attempt failed.
    pub failed: u64,
    /// Events dropped unsent because its queue was full (the oldest go first).
    pub dropped: u64,
}

/// Every listener's [`ListenerStats`], in name order.
#[derive(Debug, Message)]
#[rtype(result = "Vec<ListenerStats>")]
pub struct GetListenerStats;
