//! Service records on foca's custom broadcasts.
//!
//! A [`BroadcastItem`] is one version of one record: its key `(host, id)`, its version (the
//! record's `Updated`) and an opaque payload (the Gossiper puts the wire encoding of the
//! record there). [`ServiceBroadcasts`] is the foca handler: it accepts an item only when it is
//! newer than every version seen for its key, so foca relays new information and drops the
//! rest, and a newer version supersedes a queued older one ([`ItemKey`]'s `Invalidates`).
//! Items older than the horizon (the tombstone lifespan plus a minute) are refused, which the
//! catalogue would drop anyway, and lets the map of seen versions forget them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use foca::{BroadcastHandler, Invalidates};

use super::node_id::NodeId;
use crate::clock::Timestamp;

/// One version of one service record to disseminate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadcastItem {
    /// `(hostname, service id)`.
    pub key: (String, String),
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
            &self.key.0,
            &self.key.1,
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
            key: (host, id),
            version: Timestamp::from_unix_nanos(nanos),
            payload,
        })
    }
}

/// A queued item's identity for foca: a newer version of the same record supersedes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemKey {
    key: (String, String),
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
    newest: HashMap<(String, String), Timestamp>,
    inbox: Vec<BroadcastItem>,
    now: Timestamp,
    horizon: Duration,
    cap: usize,
}

impl Seen {
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
            cap: cap.max(2),
        })))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Seen) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn set_now(&self, now: Timestamp) {
        self.with(|s| s.now = s.now.max(now));
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
