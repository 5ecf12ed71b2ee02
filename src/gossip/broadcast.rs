//! Service records on foca's custom broadcasts.
//!
//! A [`BroadcastItem`] is one version of one record: its key (host and ID), its version (the
//! record's `Updated`) and a payload that is either the record whole ([`BroadcastItem::record`])
//! or, for a refresh, a fingerprint of everything in it but `Updated`
//! ([`BroadcastItem::refresh`]): a refresh carries no news, so a peer holding the record needs
//! only the new version, and it costs a third of the bytes (docs/PROTOCOL.md §9).
//! [`BroadcastItem::resolve`] turns an item back into a record, given the record held under its
//! key. [`ServiceBroadcasts`] is the foca handler: it accepts an item only when it is
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

use super::hash::Fnv64;
use super::node_id::NodeId;
use super::records::{BadStatus, WireService};
use crate::catalog::{RecordKey, Service};
use crate::clock::Timestamp;

/// One version of one service record to disseminate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadcastItem {
    /// `(hostname, service id)`.
    pub key: RecordKey,
    /// The record's `Updated`: a greater version supersedes a smaller one.
    pub version: Timestamp,
    /// The record's wire form ([`WireService`]), or [`REFRESH`] and the fingerprint of the
    /// record refreshed ([`fingerprint`], 8 bytes little-endian). A record's wire form starts
    /// with the length of its ID, which is never 0 for a record any catalogue holds, so the
    /// two never mistake each other; a build that predates refreshes reads a refresh as a
    /// record without an ID and drops it.
    pub payload: Vec<u8>,
}

/// The first byte of a refresh's payload.
pub const REFRESH: u8 = 0;

/// Why a received item could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    /// The item or its record does not decode.
    #[error("malformed broadcast item: {0}")]
    Malformed(#[from] postcard::Error),
    /// The record's status code is unknown.
    #[error("malformed broadcast item: {0}")]
    Status(#[from] BadStatus),
    /// The record is not the one the item's key and version name.
    #[error("broadcast item names another record than it carries")]
    Mismatch,
    /// A refresh whose fingerprint is not 8 bytes.
    #[error("malformed refresh: {0} bytes of fingerprint")]
    Refresh(usize),
}

/// A stable fingerprint of everything in `svc` but its `Updated`: FNV-1a 64 of its wire form
/// with `Updated` zeroed. Two versions of a record with equal fingerprints differ only in
/// `Updated` (but for a 64-bit collision).
pub fn fingerprint(svc: &Service) -> u64 {
    let wire = WireService {
        updated: Timestamp::ZERO,
        ..WireService::from(svc)
    };
    let bytes = postcard::to_stdvec(&wire).unwrap_or_default();
    Fnv64::new().write(&bytes).finish()
}

impl BroadcastItem {
    /// The item carrying `svc` whole.
    pub fn record(svc: &Service) -> Result<BroadcastItem, BroadcastError> {
        Ok(BroadcastItem {
            key: RecordKey::of(svc),
            version: svc.updated,
            payload: postcard::to_stdvec(&WireService::from(svc))?,
        })
    }

    /// The item telling peers that the record they hold with `svc`'s content is now at
    /// `svc.updated` (a refresh: only `Updated` moved).
    pub fn refresh(svc: &Service) -> BroadcastItem {
        let mut payload = Vec::with_capacity(9);
        payload.push(REFRESH);
        payload.extend_from_slice(&fingerprint(svc).to_le_bytes());
        BroadcastItem {
            key: RecordKey::of(svc),
            version: svc.updated,
            payload,
        }
    }

    /// The record this item stands for, given `held`, the record held under its key: a
    /// whole record as it came; a refresh as `held` at the item's version when `held` has the
    /// content the refresh names, else `None` (anti-entropy brings that record). An error
    /// when the payload does not decode, or carries another record than the item names.
    pub fn resolve(&self, held: Option<&Service>) -> Result<Option<Service>, BroadcastError> {
        if let [REFRESH, fingerprint_bytes @ ..] = self.payload.as_slice() {
            let named = <[u8; 8]>::try_from(fingerprint_bytes)
                .map(u64::from_le_bytes)
                .map_err(|_| BroadcastError::Refresh(fingerprint_bytes.len()))?;
            let refreshed = held
                .filter(|held| RecordKey::of(held) == self.key && fingerprint(held) == named)
                .map(|held| Service {
                    updated: self.version,
                    ..held.clone()
                });
            return Ok(refreshed);
        }
        let svc = Service::try_from(postcard::from_bytes::<WireService>(&self.payload)?)?;
        if RecordKey::of(&svc) != self.key || svc.updated != self.version {
            return Err(BroadcastError::Mismatch);
        }
        Ok(Some(svc))
    }

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
    use crate::catalog::ServiceStatus;

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

    fn record(status: ServiceStatus, version: Timestamp) -> Service {
        Service {
            id: "a".into(),
            name: "web".into(),
            image: "web:1".into(),
            hostname: "peer".into(),
            updated: version,
            status,
            ..Service::default()
        }
    }

    #[test]
    fn a_whole_record_resolves_to_itself_whatever_is_held() {
        let svc = record(ServiceStatus::Alive, at(5));
        let item = BroadcastItem::record(&svc).unwrap();
        let decoded = BroadcastItem::decode(&item.encode().unwrap()).unwrap();
        assert_eq!(decoded.resolve(None).unwrap(), Some(svc.clone()));
        let held = record(ServiceStatus::Unhealthy, at(1));
        assert_eq!(decoded.resolve(Some(&held)).unwrap(), Some(svc));
    }

    #[test]
    fn a_refresh_moves_the_held_record_with_the_same_content_to_its_version() {
        let held = record(ServiceStatus::Alive, at(1));
        let refreshed = record(ServiceStatus::Alive, at(7200));
        let item = BroadcastItem::refresh(&refreshed);
        let decoded = BroadcastItem::decode(&item.encode().unwrap()).unwrap();
        assert_eq!(decoded.resolve(Some(&held)).unwrap(), Some(refreshed));
    }

    #[test]
    fn a_refresh_of_other_content_than_the_held_record_resolves_to_nothing() {
        let refresh = BroadcastItem::refresh(&record(ServiceStatus::Alive, at(7200)));
        let unhealthy = record(ServiceStatus::Unhealthy, at(1));
        assert_eq!(refresh.resolve(Some(&unhealthy)).unwrap(), None);
        assert_eq!(refresh.resolve(None).unwrap(), None);
        let other = Service {
            id: "b".into(),
            ..record(ServiceStatus::Alive, at(1))
        };
        assert_eq!(refresh.resolve(Some(&other)).unwrap(), None);
    }

    #[test]
    fn a_refresh_costs_a_third_of_the_bytes_of_a_record() {
        let svc = Service {
            id: "4f2a9c1e8b7d".into(),
            name: "billing".into(),
            image: "registry.example.com/billing:1.42".into(),
            hostname: "node-0042".into(),
            proxy_mode: "http".into(),
            ports: Some(vec![crate::catalog::Port {
                kind: "tcp".into(),
                port: 32768,
                service_port: 10042,
                ip: "10.1.2.3".into(),
            }]),
            ..record(ServiceStatus::Alive, at(7200))
        };
        let whole = BroadcastItem::record(&svc).unwrap().encode().unwrap().len();
        let refresh = BroadcastItem::refresh(&svc).encode().unwrap().len();
        assert!(
            refresh * 3 <= whole,
            "refresh {refresh} B, record {whole} B"
        );
    }

    #[test]
    fn an_earlier_build_reads_a_refresh_as_no_valid_record() {
        let refresh = BroadcastItem::refresh(&record(ServiceStatus::Alive, at(7200)));
        let as_record = postcard::from_bytes::<WireService>(&refresh.payload);
        // Either it does not decode, or it is a record without an ID, which catalogues drop.
        assert!(
            !matches!(&as_record, Ok(wire) if !wire.id.is_empty()),
            "{as_record:?}"
        );
    }

    #[test]
    fn an_item_whose_record_is_not_the_one_it_names_is_refused() {
        let mut item = BroadcastItem::record(&record(ServiceStatus::Alive, at(5))).unwrap();
        item.version = at(6);
        assert!(matches!(item.resolve(None), Err(BroadcastError::Mismatch)));
        item.version = at(5);
        item.key = RecordKey::new("peer", "b");
        assert!(matches!(item.resolve(None), Err(BroadcastError::Mismatch)));
        let short = BroadcastItem {
            payload: vec![REFRESH, 1, 2],
            ..item
        };
        assert!(matches!(
            short.resolve(None),
            Err(BroadcastError::Refresh(2))
        ));
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
