//! The tombstone schedule (docs/PROTOCOL.md §10): a record of this node that discovery stopped
//! reporting is announced again once a second, nine more times, each time 50 ns newer, so that
//! every repetition is a fresh version that peers accept and relay again. A peer that missed the
//! first wave under loss hears one of the later ones, and proxies stop routing to a stopped service
//! within seconds rather than at the next anti-entropy exchange.
//!
//! Only this node's own tombstones are repeated. Tombstones that every node derives by itself
//! — a member confirmed down, a record past its lifespan — are not: Go repeats those from
//! every node, which at 1,000 nodes is a storm of identical announcements.
//!
//! Pure: the caller delivers each [`Repeat`] to the catalogue (which bumps the version only if
//! it still holds that tombstone) and calls [`TombstoneSchedule::tick`] once a second.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::catalog::{RecordKey, Service, ServiceStatus};
use crate::clock::Timestamp;

/// Each repetition is this much newer than the one before (Go: 50 ns).
pub const STEP: Duration = Duration::from_nanos(50);

/// How many times a tombstone is announced in all, the first included (Go's TOMBSTONE_COUNT).
pub const ANNOUNCEMENTS: u8 = 10;

/// Ticks a finished schedule is kept, to recognise a late echo of its last repetition (a
/// busy StateKeeper) rather than take it for a new tombstone.
pub const LINGER_TICKS: u8 = 3;

/// One repetition due: stamp `(host, id)`, held as a tombstone at `version`, with
/// `version + STEP` and announce it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repeat {
    /// The record's host.
    pub host: String,
    /// The record's ID.
    pub id: String,
    /// The version the catalogue must still hold for the repetition to happen.
    pub version: Timestamp,
}

/// The tombstones still to be repeated, by record.
#[derive(Clone, Debug)]
pub struct TombstoneSchedule {
    pending: BTreeMap<RecordKey, Pending>,
    capacity: usize,
    dropped: u64,
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    /// The version announced last.
    version: Timestamp,
    /// Announcements so far, the first included.
    sent: u8,
}

impl TombstoneSchedule {
    /// An empty schedule tracking at most `capacity` records; beyond, new tombstones are not
    /// repeated (counted in [`TombstoneSchedule::dropped`]; anti-entropy still carries them).
    pub fn new(capacity: usize) -> TombstoneSchedule {
        TombstoneSchedule {
            pending: BTreeMap::new(),
            capacity,
            dropped: 0,
        }
    }

    /// Takes note of a record this node announced. A tombstone starts its schedule, unless it
    /// is one of the schedule's own repetitions coming back (any version up to the last one
    /// asked for: a tick may come before the echo of the previous one); anything else (the
    /// record came back to life) ends the record's schedule.
    pub fn announced(&mut self, svc: &Service) {
        let key = RecordKey::of(svc);
        if svc.status != ServiceStatus::Tombstone {
            self.pending.remove(&key);
            return;
        }
        // Not newer than the last repetition asked for: the echo of a repetition (possibly
        // of an earlier one, when the next tick came before the echo).
        if self
            .pending
            .get(&key)
            .is_some_and(|p| svc.updated <= p.version)
        {
            return;
        }
        if !self.pending.contains_key(&key) && self.pending.len() >= self.capacity {
            self.dropped += 1;
            return;
        }
        let first = Pending {
            version: svc.updated,
            sent: 1,
        };
        self.pending.insert(key, first);
    }

    /// The repetitions due at this tick (one per tracked tombstone). A record that had all
    /// its announcements is kept [`LINGER_TICKS`] ticks more, so that the echo of its last
    /// repetition is recognised even when it comes late, then forgotten.
    pub fn tick(&mut self) -> Vec<Repeat> {
        let mut due = Vec::with_capacity(self.pending.len());
        self.pending.retain(|key, pending| {
            if pending.sent >= ANNOUNCEMENTS + LINGER_TICKS {
                return false;
            }
            if pending.sent < ANNOUNCEMENTS {
                due.push(Repeat {
                    host: key.hostname.clone(),
                    id: key.id.clone(),
                    version: pending.version,
                });
                pending.version = pending.version.plus(STEP);
            }
            pending.sent += 1;
            true
        });
        due
    }

    /// How many tombstones are being repeated.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no tombstone is being repeated.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Tombstones not repeated because the schedule was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Timestamp {
        Timestamp::from_unix_nanos(1_800_000_000_000_000_000)
    }

    fn record(id: &str, status: ServiceStatus, updated: Timestamp) -> Service {
        Service {
            id: id.into(),
            hostname: "vm".into(),
            status,
            updated,
            ..Service::default()
        }
    }

    /// Runs the schedule as the actor and catalogue do: each repetition comes back announced.
    fn run(schedule: &mut TombstoneSchedule) -> Vec<Timestamp> {
        let mut versions = Vec::new();
        for _ in 0..20 {
            for repeat in schedule.tick() {
                let next = repeat.version.plus(STEP);
                versions.push(next);
                schedule.announced(&record(&repeat.id, ServiceStatus::Tombstone, next));
            }
        }
        versions
    }

    #[test]
    fn a_tombstone_is_announced_ten_times_in_all_each_50ns_newer() {
        let mut schedule = TombstoneSchedule::new(16);
        schedule.announced(&record("a", ServiceStatus::Tombstone, t0()));
        let versions = run(&mut schedule);
        let want: Vec<Timestamp> = (1..10).map(|k| t0().plus(STEP * k)).collect();
        assert_eq!(versions, want);
        assert!(schedule.is_empty());
    }

    #[test]
    fn live_records_are_not_repeated_and_a_revived_record_ends_its_schedule() {
        let mut schedule = TombstoneSchedule::new(16);
        schedule.announced(&record("live", ServiceStatus::Alive, t0()));
        assert!(schedule.tick().is_empty());
        schedule.announced(&record("a", ServiceStatus::Tombstone, t0()));
        assert_eq!(schedule.tick().len(), 1);
        schedule.announced(&record("a", ServiceStatus::Alive, t0().plus(STEP * 5)));
        assert!(schedule.tick().is_empty());
    }

    #[test]
    fn a_newer_tombstone_of_the_same_record_starts_the_schedule_again() {
        let mut schedule = TombstoneSchedule::new(16);
        schedule.announced(&record("a", ServiceStatus::Tombstone, t0()));
        let _ = schedule.tick();
        let _ = schedule.tick();
        let later = t0().plus(Duration::from_secs(5));
        schedule.announced(&record("a", ServiceStatus::Tombstone, later));
        assert_eq!(run(&mut schedule).len(), 9);
    }

    #[test]
    fn an_echo_that_comes_after_the_next_tick_does_not_start_the_schedule_again() {
        let mut schedule = TombstoneSchedule::new(16);
        schedule.announced(&record("a", ServiceStatus::Tombstone, t0()));
        let first = schedule.tick();
        let _second = schedule.tick();
        let echo = first[0].version.plus(STEP);
        schedule.announced(&record("a", ServiceStatus::Tombstone, echo));
        assert_eq!(run(&mut schedule).len(), 7, "ten announcements in all");
    }

    #[test]
    fn an_echo_of_the_last_repetition_that_comes_a_tick_late_is_recognised() {
        let mut schedule = TombstoneSchedule::new(16);
        schedule.announced(&record("a", ServiceStatus::Tombstone, t0()));
        let mut last = t0();
        for _ in 1..ANNOUNCEMENTS {
            last = schedule.tick()[0].version.plus(STEP);
        }
        assert!(schedule.tick().is_empty());
        schedule.announced(&record("a", ServiceStatus::Tombstone, last));
        assert!(run(&mut schedule).is_empty(), "no second series");
    }

    #[test]
    fn a_full_schedule_counts_what_it_cannot_take() {
        let mut schedule = TombstoneSchedule::new(2);
        for id in ["a", "b", "c"] {
            schedule.announced(&record(id, ServiceStatus::Tombstone, t0()));
        }
        assert_eq!((schedule.len(), schedule.dropped()), (2, 1));
    }
}
