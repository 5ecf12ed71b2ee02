//! What the StateKeeper owes each subscriber: the announcements (records this node stamped)
//! it has not been handed yet, so that a full mailbox delays an announcement instead of
//! losing it.
//!
//! Bounded: announcements are coalesced per record (only the newest version of each is
//! kept, which is all the Gossiper would send), and past [`MAX_OWED`] records the oldest
//! versions are dropped and counted; anti-entropy repairs those.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::Recipient;

use crate::catalog::{RecordKey, Service};
use crate::clock::Timestamp;
use crate::messages::StateChanged;

/// The most records owed to one subscriber. A node announces a version of each of its own
/// records at most, so this is only reached with tens of thousands of local services.
pub(super) const MAX_OWED: usize = 65_536;

/// Announcements owed to one subscriber, newest version per record.
#[derive(Debug, Default)]
pub(super) struct Owed {
    records: BTreeMap<RecordKey, Owing>,
    /// Versions dropped because more than [`MAX_OWED`] records were owed.
    pub(super) dropped: u64,
}

/// One record owed: its newest version, and whether that is a refresh of the version handed
/// over before it ([`StateChanged::refreshed`]).
#[derive(Debug)]
struct Owing {
    record: Service,
    refresh: bool,
}

impl Owed {
    /// Adds `announced` and `refreshed`, keeping the newest version of each record. A
    /// refresh that supersedes a version still owed goes whole: the subscriber never had
    /// the version it refreshes.
    pub(super) fn add(&mut self, announced: &[Service], refreshed: &[Service]) {
        let all = (announced.iter().map(|svc| (svc, false)))
            .chain(refreshed.iter().map(|svc| (svc, true)));
        for (svc, refresh) in all {
            let key = RecordKey::of(svc);
            match self.records.get(&key) {
                Some(held) if held.record.updated > svc.updated => {}
                held => {
                    let refresh = refresh && held.is_none();
                    let record = svc.clone();
                    self.records.insert(key, Owing { record, refresh });
                }
            }
        }
        let excess = self.records.len().saturating_sub(MAX_OWED);
        if excess > 0 {
            let mut by_age: Vec<(Timestamp, RecordKey)> = (self.records.iter())
                .map(|(key, owing)| (owing.record.updated, key.clone()))
                .collect();
            by_age.sort_unstable();
            for (_, key) in by_age.into_iter().take(excess) {
                self.records.remove(&key);
            }
            self.dropped += excess as u64;
        }
    }

    /// Everything owed, to hand over in one event: the records to announce whole, and the
    /// refreshes.
    pub(super) fn all(&self) -> (Arc<[Service]>, Arc<[Service]>) {
        let (refreshed, announced): (Vec<&Owing>, Vec<&Owing>) =
            self.records.values().partition(|owing| owing.refresh);
        let records = |owed: Vec<&Owing>| owed.into_iter().map(|o| o.record.clone()).collect();
        (records(announced), records(refreshed))
    }

    /// Forgets what was owed: it was handed over.
    pub(super) fn clear(&mut self) {
        self.records.clear();
    }

    /// How many records are owed.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }
}

/// One subscriber of the StateKeeper and what it is owed.
pub(crate) struct Subscriber {
    pub(super) recipient: Recipient<StateChanged>,
    /// Announcements not handed over yet.
    pub(super) owed: Owed,
    /// Whether it missed the last snapshot (its mailbox was full): it is sent the current
    /// one, with what it is owed, as soon as it has room.
    pub(super) behind: bool,
}

impl Subscriber {
    pub(super) fn new(recipient: Recipient<StateChanged>) -> Subscriber {
        Subscriber {
            recipient,
            owed: Owed::default(),
            behind: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: &str, secs: i64) -> Service {
        Service {
            id: id.into(),
            hostname: "node-a".into(),
            updated: Timestamp::from_unix_secs(secs),
            ..Service::default()
        }
    }

    fn versions(records: &[Service]) -> Vec<(&str, i64)> {
        records
            .iter()
            .map(|s| (s.id.as_str(), s.updated.unix_nanos() as i64 / 1_000_000_000))
            .collect()
    }

    #[test]
    fn only_the_newest_version_of_each_record_is_owed() {
        let mut owed = Owed::default();
        owed.add(&[version("a", 2), version("b", 1)], &[]);
        owed.add(&[version("a", 1), version("a", 3)], &[]);
        let (announced, refreshed) = owed.all();
        assert_eq!(versions(&announced), [("a", 3), ("b", 1)]);
        assert!(refreshed.is_empty());
    }

    #[test]
    fn a_refresh_of_a_version_still_owed_is_owed_whole() {
        let mut owed = Owed::default();
        owed.add(&[version("a", 1)], &[version("b", 1)]);
        owed.add(&[], &[version("a", 2)]);
        let (announced, refreshed) = owed.all();
        assert_eq!(versions(&announced), [("a", 2)]);
        assert_eq!(versions(&refreshed), [("b", 1)]);
    }

    #[test]
    fn past_the_bound_the_oldest_versions_are_dropped_and_counted() {
        let mut owed = Owed::default();
        let many: Vec<Service> = (0..MAX_OWED as i64 + 2)
            .map(|n| version(&format!("{n:06}"), n))
            .collect();
        owed.add(&many, &[]);
        assert_eq!((owed.len(), owed.dropped), (MAX_OWED, 2));
        assert!(owed.all().0.iter().all(|s| s.id.as_str() >= "000002"));
    }
}
