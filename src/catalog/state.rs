//! [`Catalog`]: the merge rules, lifespans and local bookkeeping over a [`ServicesState`].
//!
//! Pure: no actix, tokio, sockets, clocks or randomness. Callers pass `now` and act on what
//! each method returns.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use super::server::{ChangeEvent, Server, ServicesState};
use super::service::{Service, ServiceStatus};
use crate::clock::Timestamp;

/// How long records live without being heard from (docs/PROTOCOL.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifespans {
    /// ALIVE, UNHEALTHY and UNKNOWN records expire to tombstones after this (80 s).
    pub alive: Duration,
    /// DRAINING records expire to tombstones after this (10 min).
    pub draining: Duration,
    /// Tombstones are deleted after this (3 h).
    pub tombstone: Duration,
    /// Records older than `tombstone + stale_fudge` are dropped on arrival (1 min).
    pub stale_fudge: Duration,
    /// This node stamps an unchanged record of its own with a new version this often
    /// (2 h), an hour inside the stale horizon (3 h 1 min), so that no peer ever drops it as
    /// stale. Between two refreshes nothing is sent: a live member's records never expire,
    /// because the membership vouches for them ([`Catalog::vouch`]). Each refresh is a
    /// broadcast, so this period sets the steady-state record traffic: 10,000 records every
    /// 2 h are 1.4 versions a second cluster-wide.
    pub refresh: Duration,
}

impl Lifespans {
    /// How often an unchanged record this node announces under `host` is stamped anew: its
    /// own records every [`Lifespans::refresh`]; records it files under another hostname
    /// (a static entry's `Hostname`), which no membership vouches for, every quarter of the
    /// alive lifespan (20 s), so peers never expire them.
    pub fn refresh_for(&self, host: &str, own: &str) -> Duration {
        if host == own {
            self.refresh
        } else {
            self.alive / 4
        }
    }
}

impl Default for Lifespans {
    fn default() -> Lifespans {
        Lifespans {
            alive: Duration::from_secs(80),
            draining: Duration::from_secs(600),
            tombstone: Duration::from_secs(3 * 3600),
            stale_fudge: Duration::from_secs(60),
            refresh: Duration::from_secs(2 * 3600),
        }
    }
}

/// Identifies a record: (hostname, service ID).
pub type RecordKey = (String, String);

/// What [`Catalog::apply`] did with one record.
#[must_use = "accepted records are relayed and changes are published"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The record is now held (new, newer, or it made the held one DRAINING); `change` is set
    /// when the held status changed or the record is new.
    Accepted {
        /// The status change, if any (boxed: most applies are refreshes without one).
        change: Option<Box<ChangeEvent>>,
    },
    /// Not newer than the record held; nothing changed.
    Ignored,
    /// Older than the tombstone lifespan plus the fudge; dropped, nothing changed.
    Stale,
    /// No ID or no hostname; dropped, nothing changed.
    Invalid,
}

impl Applied {
    /// The status change this produced, if any.
    pub fn into_change(self) -> Option<ChangeEvent> {
        match self {
            Applied::Accepted { change } => change.map(|c| *c),
            _ => None,
        }
    }
}

/// Why a drain request was refused. Doesn't affect state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DrainError {
    /// This node holds no live record with that ID.
    #[error("Service ID {0:?} not found")]
    NotFound(String),
}

/// The catalogue with its merge rules. See the [module docs](super) for the rules in prose.
#[derive(Clone, Debug)]
pub struct Catalog {
    state: ServicesState,
    lifespans: Lifespans,
    /// Records that were ever seen DRAINING: ALIVE never replaces DRAINING for them.
    drained: BTreeSet<RecordKey>,
    /// Records this node announced at its last local sync (any hostname).
    announced: BTreeSet<RecordKey>,
    /// When the membership last vouched for each host (it was a live member then, or its
    /// first record had just arrived). Lifespans count from the later of this and a record's
    /// `Updated`.
    vouched: HashMap<String, Timestamp>,
}

/// What [`Catalog::sync_local`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalSync {
    /// The status changes, in order (for listeners and watchers).
    pub changes: Vec<ChangeEvent>,
    /// Every record this node stamped with a new version, tombstones included: what it must
    /// tell the cluster. Empty while nothing changed and no refresh was due.
    pub announced: Vec<Service>,
}

impl Catalog {
    /// An empty catalogue for node `hostname` in cluster `cluster_name`.
    pub fn new(hostname: &str, cluster_name: &str, lifespans: Lifespans) -> Catalog {
        Catalog {
            state: ServicesState::new(hostname, cluster_name),
            lifespans,
            drained: BTreeSet::new(),
            announced: BTreeSet::new(),
            vouched: HashMap::new(),
        }
    }

    /// A catalogue resuming from `state` (a restarted StateKeeper's last snapshot). Records
    /// held DRAINING stay sticky; which records this node announced is learned again at the
    /// next local sync.
    pub fn from_state(state: ServicesState, lifespans: Lifespans) -> Catalog {
        let drained = state
            .records()
            .filter(|s| s.status == ServiceStatus::Draining)
            .map(|s| (s.hostname.clone(), s.id.clone()))
            .collect();
        Catalog {
            state,
            lifespans,
            drained,
            announced: BTreeSet::new(),
            vouched: HashMap::new(),
        }
    }

    /// The serialisable state.
    pub fn state(&self) -> &ServicesState {
        &self.state
    }

    /// This node's name.
    pub fn hostname(&self) -> &str {
        &self.state.hostname
    }

    /// Merges one record by the rules: strictly newer wins, DRAINING is sticky against
    /// ALIVE, stale records are dropped.
    pub fn apply(&mut self, mut new: Service, now: Timestamp) -> Applied {
        if new.id.is_empty() || new.hostname.is_empty() {
            return Applied::Invalid;
        }
        let stale_before = now.minus(self.lifespans.tombstone + self.lifespans.stale_fudge);
        if new.updated < stale_before {
            return Applied::Stale;
        }
        let key = (new.hostname.clone(), new.id.clone());
        if new.status == ServiceStatus::Draining {
            self.drained.insert(key.clone());
        }
        let drained = self.drained.contains(&key);
        if drained && new.status == ServiceStatus::Alive {
            new.status = ServiceStatus::Draining;
        }
        if !self.state.servers.contains_key(&key.0) {
            self.vouched.entry(key.0.clone()).or_insert(now);
        }
        let server = self
            .state
            .servers
            .entry(key.0)
            .or_insert_with_key(|name| Server::new(name));
        let Some(held) = server.services.get_mut(&key.1) else {
            let change = changed(&new, ServiceStatus::Unknown);
            server.services.insert(key.1, new);
            return self.record_change(change);
        };
        let previous = held.status;
        if beats(&new, held) {
            *held = new;
        } else if drained && held.status == ServiceStatus::Alive {
            held.status = ServiceStatus::Draining;
        } else {
            return Applied::Ignored;
        }
        let change = (held.status != previous).then(|| changed(held, previous));
        let updated = held.updated;
        server.last_updated = server.last_updated.max(updated);
        match change {
            Some(change) => self.record_change(change),
            None => Applied::Accepted { change: None },
        }
    }

    /// Merges a record heard from a peer, like [`Catalog::apply`], except that a peer's
    /// version never overrules this node on a record it announces: when it would replace
    /// the held record with something else (a tombstone from a time this node was thought
    /// dead, say), the held record is stamped past it instead and returned, for this node to
    /// announce. So this node's own view never flaps.
    pub fn apply_remote(&mut self, new: Service, now: Timestamp) -> (Applied, Option<Service>) {
        let key = (new.hostname.clone(), new.id.clone());
        let overruled = self.announced.contains(&key)
            && self.state.get(&key.0, &key.1).is_some_and(|held| {
                let same = Service {
                    updated: held.updated,
                    ..new.clone()
                };
                beats(&new, held) && same != *held
            });
        if !overruled {
            return (self.apply(new, now), None);
        }
        let Some(mut mine) = self.state.get(&key.0, &key.1).cloned() else {
            return (self.apply(new, now), None);
        };
        mine.updated = now.max(new.updated.plus(Duration::from_nanos(1)));
        let applied = self.apply(mine, now);
        let held = self.state.get(&key.0, &key.1).cloned();
        (applied, held)
    }

    /// Applies every record of `other` (push/pull anti-entropy, a join).
    pub fn merge(&mut self, other: &ServicesState, now: Timestamp) -> Vec<ChangeEvent> {
        other
            .records()
            .filter_map(|svc| self.apply(svc.clone(), now).into_change())
            .collect()
    }

    /// Brings this node's own records in line with what discovery and health checks report.
    ///
    /// An observed record gets a new version — `now`, or 1 ns past the held version, so that a
    /// local observation always wins — when it is new, when it differs from the record held
    /// (status, ports, image…; a peer's version of it included), or when its refresh is due
    /// ([`Lifespans::refresh_for`]). Otherwise the held record stays as it is, so a steady
    /// node sends nothing. Records announced before (or filed under this node's hostname)
    /// that are neither observed nor `pending` (discovered, awaiting their first health
    /// result) are tombstoned.
    pub fn sync_local(
        &mut self,
        observed: Vec<Service>,
        pending: &BTreeSet<RecordKey>,
        now: Timestamp,
    ) -> LocalSync {
        let mut seen: BTreeSet<RecordKey> = pending.clone();
        let mut sync = LocalSync::default();
        for mut svc in observed {
            if svc.hostname.is_empty() {
                svc.hostname = self.state.hostname.clone();
            }
            seen.insert((svc.hostname.clone(), svc.id.clone()));
            if self.is_current(&svc, now) {
                continue;
            }
            svc.updated = self.next_version(&svc.hostname, &svc.id, now);
            sync.changes
                .extend(self.apply(svc.clone(), now).into_change());
            sync.announced
                .extend(self.state.get(&svc.hostname, &svc.id).cloned());
        }
        let gone: Vec<RecordKey> = self
            .announced
            .iter()
            .cloned()
            .chain(self.own_keys())
            .filter(|key| !seen.contains(key))
            .collect();
        for (host, id) in gone {
            if let Some(change) = self.tombstone(&host, &id, now) {
                sync.announced.push(change.service.clone());
                sync.changes.push(change);
            }
        }
        self.announced = seen;
        sync
    }

    /// Whether the record held for `observed` says the same (its `Updated` aside, and ALIVE
    /// read as DRAINING for a drained record) and is not due for a refresh.
    fn is_current(&self, observed: &Service, now: Timestamp) -> bool {
        let Some(held) = self.state.get(&observed.hostname, &observed.id) else {
            return false;
        };
        let refresh = self
            .lifespans
            .refresh_for(&observed.hostname, &self.state.hostname);
        if held.updated < now.minus(refresh) {
            return false;
        }
        let key = (observed.hostname.clone(), observed.id.clone());
        let status = match observed.status {
            ServiceStatus::Alive if self.drained.contains(&key) => ServiceStatus::Draining,
            status => status,
        };
        *held
            == Service {
                updated: held.updated,
                status,
                ..observed.clone()
            }
    }

    /// Records the membership's word: `hosts` are live members at `now`. A live member's
    /// records never expire by lifespan, however old their `Updated`; when it leaves or dies
    /// they are tombstoned at once ([`Catalog::expire_server`]).
    pub fn vouch<'a>(&mut self, hosts: impl IntoIterator<Item = &'a str>, now: Timestamp) {
        for host in hosts {
            match self.vouched.get_mut(host) {
                Some(at) => *at = (*at).max(now),
                None => {
                    self.vouched.insert(host.to_owned(), now);
                }
            }
        }
    }

    /// Tombstones records unheard of for their lifespan and deletes tombstones older than
    /// theirs. A record is heard of at its `Updated` and whenever the membership vouches for
    /// its host ([`Catalog::vouch`]; this node always does for itself). The tombstone's
    /// `Updated` is the old one + 1 s, so a fresher version this node missed still wins.
    pub fn expire(&mut self, now: Timestamp) -> Vec<ChangeEvent> {
        let life = self.lifespans;
        let own = self.state.hostname.clone();
        let mut changes = Vec::new();
        for (host, server) in &mut self.state.servers {
            server.services.retain(|id, svc| {
                let keep = svc.status != ServiceStatus::Tombstone
                    || svc.updated >= now.minus(life.tombstone);
                if !keep {
                    self.drained.remove(&(svc.hostname.clone(), id.clone()));
                }
                keep
            });
            let vouched = match self.vouched.get(host) {
                _ if *host == own => now,
                Some(at) => *at,
                None => Timestamp::ZERO,
            };
            for svc in server.services.values_mut() {
                let lifespan = match svc.status {
                    ServiceStatus::Tombstone => continue,
                    ServiceStatus::Draining => life.draining,
                    _ => life.alive,
                };
                if svc.updated.max(vouched) < now.minus(lifespan) {
                    let previous = svc.status;
                    svc.status = ServiceStatus::Tombstone;
                    svc.updated = svc.updated.plus(Duration::from_secs(1));
                    changes.push(changed(svc, previous));
                }
            }
        }
        self.state.servers.retain(|_, s| !s.services.is_empty());
        let servers = &self.state.servers;
        self.vouched.retain(|host, _| servers.contains_key(host));
        self.record_changes(&changes);
        changes
    }

    /// Tombstones every live record of `host` (the member left or died). Never this node.
    pub fn expire_server(&mut self, host: &str, now: Timestamp) -> Vec<ChangeEvent> {
        if host == self.state.hostname {
            return Vec::new();
        }
        let ids: Vec<String> = match self.state.servers.get(host) {
            Some(server) => server.services.keys().cloned().collect(),
            None => return Vec::new(),
        };
        ids.iter()
            .filter_map(|id| self.tombstone(host, id, now))
            .collect()
    }

    /// Sets this node's record `id` DRAINING. Returns the record as now held.
    pub fn drain(
        &mut self,
        id: &str,
        now: Timestamp,
    ) -> Result<(Service, Option<ChangeEvent>), DrainError> {
        let host = self.state.hostname.clone();
        let held = self
            .state
            .get(&host, id)
            .filter(|s| s.status != ServiceStatus::Tombstone);
        let Some(held) = held else {
            return Err(DrainError::NotFound(id.to_owned()));
        };
        let mut svc = held.clone();
        svc.status = ServiceStatus::Draining;
        svc.updated = self.next_version(&host, id, now);
        let change = self.apply(svc, now).into_change();
        let held = self.state.get(&host, id).cloned();
        held.map(|s| (s, change))
            .ok_or_else(|| DrainError::NotFound(id.to_owned()))
    }

    /// Announces a tombstone again (the schedule of [`crate::gossip::repeat`]): if `(host,
    /// id)` is still held as a tombstone at exactly `version`, it is stamped `version + step`
    /// and returned, for this node to announce. Otherwise (the record came back, or a newer
    /// version arrived) nothing changes.
    pub fn repeat_tombstone(
        &mut self,
        host: &str,
        id: &str,
        version: Timestamp,
        step: Duration,
        now: Timestamp,
    ) -> Option<Service> {
        let held = self.state.get(host, id)?;
        if held.status != ServiceStatus::Tombstone || held.updated != version {
            return None;
        }
        let mut again = held.clone();
        again.updated = version.plus(step);
        let _ = self.apply(again, now);
        self.state.get(host, id).cloned()
    }

    /// Tombstones one held live record with a version that beats it.
    fn tombstone(&mut self, host: &str, id: &str, now: Timestamp) -> Option<ChangeEvent> {
        let held = self.state.get(host, id)?;
        if held.status == ServiceStatus::Tombstone {
            return None;
        }
        let mut svc = held.clone();
        svc.status = ServiceStatus::Tombstone;
        svc.updated = self.next_version(host, id, now);
        self.apply(svc, now).into_change()
    }

    /// `now`, or 1 ns past the held version when that is not older: this node's own word on a
    /// record always wins, even if the clock stepped back.
    fn next_version(&self, host: &str, id: &str, now: Timestamp) -> Timestamp {
        match self.state.get(host, id) {
            Some(held) if held.updated >= now => held.updated.plus(Duration::from_nanos(1)),
            _ => now,
        }
    }

    fn own_keys(&self) -> Vec<RecordKey> {
        let host = &self.state.hostname;
        let Some(server) = self.state.servers.get(host) else {
            return Vec::new();
        };
        server
            .services
            .keys()
            .map(|id| (host.clone(), id.clone()))
            .collect()
    }

    fn record_change(&mut self, change: ChangeEvent) -> Applied {
        self.record_changes(std::slice::from_ref(&change));
        Applied::Accepted {
            change: Some(Box::new(change)),
        }
    }

    /// Advances `LastUpdated`/`LastChanged` of the servers and the state (never backwards).
    fn record_changes(&mut self, changes: &[ChangeEvent]) {
        for change in changes {
            let at = change.time;
            if let Some(server) = self.state.servers.get_mut(&change.service.hostname) {
                server.last_updated = server.last_updated.max(at);
                server.last_changed = server.last_changed.max(at);
            }
            self.state.last_changed = self.state.last_changed.max(at);
        }
    }
}

/// A change event for `svc`, which had `previous` status before.
fn changed(svc: &Service, previous: ServiceStatus) -> ChangeEvent {
    ChangeEvent {
        service: svc.clone(),
        previous_status: previous,
        time: svc.updated,
    }
}

/// Which status wins between two versions with the same `Updated`.
///
/// ALIVE and DRAINING rank equally: a drained record's ALIVE versions are held as DRAINING,
/// and the rewrite may only happen after they were compared (when the DRAINING version arrives
/// later). If it could change their rank, the outcome would depend on arrival order.
fn precedence(status: ServiceStatus) -> u8 {
    match status {
        ServiceStatus::Alive | ServiceStatus::Draining => 0,
        ServiceStatus::Unknown => 1,
        ServiceStatus::Unhealthy => 2,
        ServiceStatus::Tombstone => 3,
    }
}

/// Whether `new` replaces `held`: strictly newer `Updated`; on a tie, the higher status
/// precedence, then the greater record (so the outcome never depends on arrival order).
fn beats(new: &Service, held: &Service) -> bool {
    let rank = |s: &Service| (s.updated, precedence(s.status));
    rank(new)
        .cmp(&rank(held))
        .then_with(|| new.cmp(held))
        .is_gt()
}
