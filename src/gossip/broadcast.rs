//! Service records on foca's custom broadcasts.
//!
//! A [`BroadcastItem`] is one version of one record: its key (host and ID), its version (the
//! record's `Updated`) and an opaque payload (the Gossiper puts the wire encoding of the
//! record there). [`ServiceBroadcasts`] is the foca handler: it accepts an item only when it is
//! newer than every version seen for its key, so foca relays new information and drops the
//! rest, and a newer version supersedes a queued older one ([`ItemKey`]'s `Invalidates`).
//! Items older than the horizon (the tombstone lifespan plus a minute) are refused, which the
//! catalogue would drop anyway, and lets the map of seen versions forget them. Items from a
//! peer versioned later than now plus the allowed clock skew are neither relayed nor
//! remembered (one would otherwise shut every later version of its key out): they are handed
//! on to the Gossiper, which counts and drops them. "Now" is the clock's last reading, which
//! may step back: a clock that jumped ahead once must not shut out every item until it
//! catches up again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use foca::{BroadcastHandler, Invalidates};

use super::node_id::NodeId;
use crate::catalog::RecordKey;
use crate::clock::Timestamp;

/// One version of one service record to disseminate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadcastItem {
    /// `(hostname, service id)`.
    pub key: RecordKey,
    /// The record's `Updated`: a greater version supersedes a smaller one.
    pub version: Timestamp,
    /// The encoded record (opaque here).
    pub payload: Vec<u8>,
}

/// Why a received item could not be read.
#[derive(Debug, thiserror::Error)]
#[error("malformed broadcast item: {0}")]
pub struct BroadcastError(#[from] postcard::Error);

impl BroadcastItem {
    /// The bytes foca carries.
    pub fn encode(&self) -> Result<Vec<u8>, BroadcastError> {
        let wire = (
            &self.key.hostname,
            &self.key.id,
            self.version.unix_nanos(),
            &self.payload,
        );
        Ok(postcard::to_allocvec(&wire)?)
    }

    /// Reads what [`BroadcastItem::encode`] wrote.
    pub fn decode(data: &[u8]) -> Result<BroadcastItem, BroadcastError> {
        let (host, id, nanos, payload): (String, String, i128, Vec<u8>) =
            postcard::from_bytes(data)?;
        Ok(BroadcastItem {
            key: RecordKey { hostname: host, id },
            version: Timestamp::from_unix_nanos(nanos),
            payload,
        })
    }
}

/// A queued item's identity for foca: a newer version of the same record supersedes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemKey {
    key: RecordKey,
    version: Timestamp,
}

impl Invalidates for ItemKey {
    fn invalidates(&self, other: &Self) -> bool {
        self.key == other.key && self.version >= other.version
    }
}

/// What the handler shares with [`super::membership::Membership`]: the newest version seen
/// per key and the items received from peers since it was last drained.
#[derive(Debug)]
pub(crate) struct Seen {
    newest: HashMap<RecordKey, Timestamp>,
    inbox: Vec<BroadcastItem>,
    now: Timestamp,
    horizon: Duration,
    max_skew: Duration,
    cap: usize,
}

impl Seen {
    /// Whether `item` is versioned later than now plus the allowed skew.
    fn is_future(&self, item: &BroadcastItem) -> bool {
        item.version > self.now.plus(self.max_skew)
    }

    fn accept(&mut self, item: &BroadcastItem) -> bool {
        if item.version < self.now.minus(self.horizon) {
            return false;
        }
        if self
            .newest
            .get(&item.key)
            .is_some_and(|v| *v >= item.version)
        {
            return false;
        }
        if self.newest.len() >= self.cap {
            self.forget_old();
        }
        self.newest.insert(item.key.clone(), item.version);
        true
    }

    /// Drops versions past the horizon; if still full, the older half.
    fn forget_old(&mut self) {
        let limit = self.now.minus(self.horizon);
        self.newest.retain(|_, v| *v >= limit);
        if self.newest.len() >= self.cap {
            let mut versions: Vec<Timestamp> = self.newest.values().copied().collect();
            versions.sort_unstable();
            let median = versions[versions.len() / 2];
            self.newest.retain(|_, v| *v > median);
        }
    }
}

/// Shared handle on [`Seen`].
#[derive(Clone, Debug)]
pub(crate) struct SeenHandle(Arc<Mutex<Seen>>);

impl SeenHandle {
    pub(crate) fn new(horizon: Duration, cap: usize) -> SeenHandle {
        SeenHandle(Arc::new(Mutex::new(Seen {
            newest: HashMap::new(),
            inbox: Vec::new(),
            now: Timestamp::ZERO,
            horizon,
            max_skew: Duration::MAX,
            cap: cap.max(2),
        })))
    }

    /// Items from peers versioned later than now + `max_skew` are not accepted.
    pub(crate) fn with_max_skew(self, max_skew: Duration) -> SeenHandle {
        self.with(|s| s.max_skew = max_skew);
        self
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Seen) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn set_now(&self, now: Timestamp) {
        self.with(|s| s.now = now);
    }

    pub(crate) fn drain(&self) -> Vec<BroadcastItem> {
        self.with(|s| std::mem::take(&mut s.inbox))
    }

    pub(crate) fn len(&self) -> usize {
        self.with(|s| s.newest.len())
    }
}

/// foca's handler for service records (see the module docs).
#[derive(Debug)]
pub struct ServiceBroadcasts {
    seen: SeenHandle,
}

impl ServiceBroadcasts {
    pub(crate) fn new(seen: SeenHandle) -> ServiceBroadcasts {
        ServiceBroadcasts { seen }
    }
}

impl BroadcastHandler<NodeId> for ServiceBroadcasts {
    type Key = ItemKey;
    type Error = BroadcastError;

    fn receive_item(
        &mut self,
        data: &[u8],
        sender: Option<&NodeId>,
    ) -> Result<Option<ItemKey>, BroadcastError> {
        let item = BroadcastItem::decode(data)?;
        let fresh = self.seen.with(|s| {
            if sender.is_some() && s.is_future(&item) {
                s.inbox.push(item.clone());
                return false;
            }
            let fresh = s.accept(&item);
            if fresh && sender.is_some() {
                s.inbox.push(item.clone());
            }
            fresh
        });
        Ok(fresh.then_some(ItemKey {
            key: item.key,
            version: item.version,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKEW: Duration = Duration::from_secs(300);
    const HORIZON: Duration = Duration::from_secs(3 * 3600 + 60);

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(1_795_420_800 + secs)
    }

    fn item(version: Timestamp) -> Vec<u8> {
        let item = BroadcastItem {
            key: RecordKey::new("peer", "a"),
            version,
            payload: vec![1, 2, 3],
        };
        item.encode().unwrap()
    }

    fn handler(now: Timestamp) -> (ServiceBroadcasts, SeenHandle) {
        let seen = SeenHandle::new(HORIZON, 1024).with_max_skew(SKEW);
        seen.set_now(now);
        (ServiceBroadcasts::new(seen.clone()), seen)
    }

    fn peer() -> NodeId {
        NodeId::new("peer", "127.0.0.60:7946".parse().unwrap(), 1)
    }

    #[test]
    fn an_item_from_the_future_is_neither_relayed_nor_remembered_but_handed_on() {
        let (mut handler, seen) = handler(at(0));
        let far = item(at(0).plus(SKEW).plus(Duration::from_nanos(1)));
        assert_eq!(handler.receive_item(&far, Some(&peer())).unwrap(), None);
        assert_eq!(seen.len(), 0);
        assert_eq!(seen.drain().len(), 1);
        // So it shuts no later version of its key out.
        let fine = item(at(1));
        assert!(
            handler
                .receive_item(&fine, Some(&peer()))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn a_clock_that_jumped_ahead_and_came_back_shuts_no_item_out() {
        let (mut handler, seen) = handler(at(0).plus(Duration::from_secs(86_400)));
        seen.set_now(at(0));
        let fresh = item(at(0));
        assert!(
            handler
                .receive_item(&fresh, Some(&peer()))
                .unwrap()
                .is_some()
        );
    }
}
