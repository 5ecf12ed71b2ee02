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
    /// broadcast of the new version alone ([`LocalSync::refreshed`]), so this period sets
    /// the steady-state record traffic: 10,000 records every 2 h are 1.4 versions a second
    /// cluster-wide.
    pub refresh: Duration,
    /// How far ahead of `now` a version may be (`SIDECAR_MAX_CLOCK_SKEW`, 5 min): a record
    /// heard from elsewhere whose `Updated` is later than `now + max_skew` is refused
    /// ([`Applied::Future`]). Own records whose held version is more than twice this ahead
    /// were stamped by a clock that has since stepped back, and are stamped anew at `now`.
    pub max_skew: Duration,
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
            max_skew: Duration::from_secs(300),
        }
    }
}

/// Identifies a record: its origin's hostname and the service ID. Shown as `host/id`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey {
    /// The origin's node name (`Hostname`).
    pub hostname: String,
    /// The service ID (`ID`).
    pub id: String,
}

impl RecordKey {
    /// The key of `hostname`'s record `id`.
    pub fn new(hostname: &str, id: &str) -> RecordKey {
        RecordKey {
            hostname: hostname.to_owned(),
            id: id.to_owned(),
        }
    }

    /// The key of `svc`.
    pub fn of(svc: &Service) -> RecordKey {
        RecordKey::new(&svc.hostname, &svc.id)
    }
}

impl std::fmt::Display for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.hostname, self.id)
    }
}

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
    /// Stamped later than `now` plus the allowed clock skew ([`Lifespans::max_skew`]): a
    /// version from the future, which would otherwise win every merge for as long as it
    /// exists. Dropped, nothing changed.
    Future,
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
    /// Records an operator drained on this node: discovery's ALIVE is stamped DRAINING for
    /// them until the record is tombstoned, which ends the drain.
    drained: BTreeSet<RecordKey>,
    /// Records this node announced at its last local sync (any hostname).
    announced: BTreeSet<RecordKey>,
    /// When the membership last vouched for each host (it was a live member then, or its
    /// first record had just arrived). Lifespans count from the later of this and when a
    /// record was heard of.
    vouched: HashMap<String, Timestamp>,
    /// For records held at a version dated after its arrival (within the allowed skew):
    /// when it arrived. Lifespans count from that, not from the version, so a future date
    /// never lengthens a record's life.
    arrived: HashMap<RecordKey, Timestamp>,
}

/// What [`Catalog::sync_local`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalSync {
    /// The status changes, in order (for listeners and watchers).
    pub changes: Vec<ChangeEvent>,
    /// Records this node stamped with a new version that it must tell the cluster whole:
    /// those where something changed, tombstones included, and the refreshes of records
    /// filed under another hostname. Empty while nothing changed and no such refresh was due.
    pub announced: Vec<Service>,
    /// Records of this node's own host that were stamped anew only because their refresh
    /// was due: nothing but `Updated` moved, so a peer holding the record needs only the
    /// new version (docs/PROTOCOL.md §4, §9). Records filed under another hostname are
    /// refreshed whole, in `announced`: their peers' copies expire within 80 s.
    pub refreshed: Vec<Service>,
}

impl LocalSync {
    /// Whether no record got a new version.
    pub fn is_empty(&self) -> bool {
        self.announced.is_empty() && self.refreshed.is_empty()
    }
}

/// Whether discovery's report of a record matches the record held.
enum Held {
    /// The same record (its `Updated` aside), not due for a refresh.
    Current,
    /// The same record, due for its refresh.
    RefreshDue,
    /// Something differs, nothing is held, or the held version was stamped by a clock that
    /// has since stepped back: a new version, announced whole.
    Changed,
}

impl Catalog {
    /// An empty catalogue for node `hostname` in cluster `cluster_name`.
    pub fn new(hostname: &str, cluster_name: &str, lifespans: Lifespans) -> Catalog {
        Catalog::from_state(ServicesState::new(hostname, cluster_name), lifespans)
    }

    /// A catalogue resuming from `state` (a restarted StateKeeper's last snapshot). Records
    /// held DRAINING stay drained; which records this node announced is learned again at
    /// the next local sync.
    pub fn from_state(state: ServicesState, lifespans: Lifespans) -> Catalog {
        let drained = state
            .records()
            .filter(|s| s.status == ServiceStatus::Draining)
            .map(RecordKey::of)
            .collect();
        Catalog {
            state,
            lifespans,
            drained,
            announced: BTreeSet::new(),
            vouched: HashMap::new(),
            arrived: HashMap::new(),
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

    /// The latest version accepted from elsewhere at `now`: `now` plus the allowed skew.
    pub fn future_limit(&self, now: Timestamp) -> Timestamp {
        now.plus(self.lifespans.max_skew)
    }

    /// Merges one record heard from elsewhere by the rules: the newest version wins (on a
    /// tie, the higher status precedence), versions from the future and stale ones are
    /// dropped.
    pub fn apply(&mut self, new: Service, now: Timestamp) -> Applied {
        if new.updated > self.future_limit(now) {
            return Applied::Future;
        }
        self.put(new, now, false)
    }

    /// Stores `new` if it beats the held version, or whatever the held version when
    /// `force` (this node's own word on a record it stamps).
    fn put(&mut self, new: Service, now: Timestamp, force: bool) -> Applied {
        if new.id.is_empty() || new.hostname.is_empty() {
            return Applied::Invalid;
        }
        let stale_before = now.minus(self.lifespans.tombstone + self.lifespans.stale_fudge);
        if new.updated < stale_before {
            return Applied::Stale;
        }
        let held = self.state.get(&new.hostname, &new.id);
        if held.is_some_and(|held| !force && !beats(&new, held)) {
            return Applied::Ignored;
        }
        let previous = held.map_or(ServiceStatus::Unknown, |held| held.status);
        let change = (held.is_none() || previous != new.status).then(|| changed(&new, previous));
        let key = RecordKey::of(&new);
        if new.updated > now {
            self.arrived.insert(key.clone(), now);
        } else {
            self.arrived.remove(&key);
        }
        if new.status == ServiceStatus::Tombstone {
            self.drained.remove(&key);
        }
        if !self.state.servers.contains_key(&key.hostname) {
            self.vouched.entry(key.hostname.clone()).or_insert(now);
        }
        let server = self
            .state
            .servers
            .entry(key.hostname)
            .or_insert_with_key(|name| Server::new(name));
        server.last_updated = server.last_updated.max(new.updated);
        server.services.insert(key.id, new);
        match change {
            Some(change) => self.record_change(change),
            None => Applied::Accepted { change: None },
        }
    }

    /// Merges a record heard from a peer, like [`Catalog::apply`], except that a peer's
    /// version never overrules this node on a record it announces: when it would replace
    /// the held record with something else (a tombstone from a time this node was thought
    /// dead, a stale DRAINING copy, a forgery), the held record is stamped past it instead
    /// and returned, for this node to announce. So this node's own view never flaps, and its
    /// word is always the newest: a peer's version is at most `now` plus the skew, so the
    /// re-stamp never saturates.
    pub fn apply_remote(&mut self, new: Service, now: Timestamp) -> (Applied, Option<Service>) {
        if new.updated > self.future_limit(now) {
            return (Applied::Future, None);
        }
        let key = RecordKey::of(&new);
        let held = self.state.get(&key.hostname, &key.id);
        let overruled = self.announced.contains(&key)
            && held.is_some_and(|held| {
                let same = Service {
                    updated: held.updated,
                    ..new.clone()
                };
                beats(&new, held) && same != *held
            });
        let Some(mut mine) = held.filter(|_| overruled).cloned() else {
            return (self.apply(new, now), None);
        };
        mine.updated = now.max(new.updated.plus(Duration::from_nanos(1)));
        let applied = self.put(mine, now, false);
        let held = self.state.get(&key.hostname, &key.id).cloned();
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
    /// An observed record gets a new version (`next_version`) when it is new, when
    /// it differs from the record held (status, ports, image…; a peer's version of it
    /// included), or when its refresh is due ([`Lifespans::refresh_for`]). Otherwise the
    /// held record stays as it is, so a steady node sends nothing. A drained record observed
    /// ALIVE is stamped DRAINING. Records announced before (or filed under this node's
    /// hostname) that are neither observed nor `pending` (discovered, awaiting their first
    /// health result) are tombstoned, which ends a drain.
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
            let key = RecordKey::of(&svc);
            if svc.status == ServiceStatus::Alive && self.drained.contains(&key) {
                svc.status = ServiceStatus::Draining;
            }
            seen.insert(key);
            let held = self.held(&svc, now);
            if matches!(held, Held::Current) {
                continue;
            }
            svc.updated = self.next_version(&svc.hostname, &svc.id, now);
            sync.changes
                .extend(self.put(svc.clone(), now, true).into_change());
            let stamped = self.state.get(&svc.hostname, &svc.id).cloned();
            match held {
                Held::RefreshDue if svc.hostname == self.state.hostname => {
                    sync.refreshed.extend(stamped);
                }
                _ => sync.announced.extend(stamped),
            }
        }
        let gone: Vec<RecordKey> = self
            .announced
            .iter()
            .cloned()
            .chain(self.own_keys())
            .filter(|key| !seen.contains(key))
            .collect();
        for key in gone {
            if let Some(change) = self.tombstone(&key.hostname, &key.id, now) {
                sync.announced.push(change.service.clone());
                sync.changes.push(change);
            }
        }
        self.announced = seen;
        sync
    }

    /// How the record held for `observed` compares with it: the same (its `Updated`
    /// aside) and current, the same and due for a refresh, or changed. A held version
    /// stamped by a clock that has since stepped back counts as changed: peers in step
    /// refused it, so the new one must go out whole.
    fn held(&self, observed: &Service, now: Timestamp) -> Held {
        let Some(held) = self.state.get(&observed.hostname, &observed.id) else {
            return Held::Changed;
        };
        let same = *held
            == Service {
                updated: held.updated,
                ..observed.clone()
            };
        if !same || !self.is_own_usable(held.updated, now) {
            return Held::Changed;
        }
        let refresh = self
            .lifespans
            .refresh_for(&observed.hostname, &self.state.hostname);
        if held.updated < now.minus(refresh) {
            Held::RefreshDue
        } else {
            Held::Current
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

    /// When the held record `key` at version `updated` was heard of: its version, or its
    /// arrival if that was earlier (a version dated ahead of its arrival).
    fn heard(&self, key: &RecordKey, updated: Timestamp) -> Timestamp {
        self.arrived.get(key).map_or(updated, |at| updated.min(*at))
    }

    /// Tombstones records unheard of for their lifespan and deletes tombstones older than
    /// theirs. A record is heard of at its `Updated` (or its arrival, when that was earlier)
    /// and whenever the membership vouches for its host ([`Catalog::vouch`]; this node always
    /// does for itself), so the records of a host that is not a member expire by their
    /// lifespan whatever their version. The tombstone's `Updated` is the old one + 1 s, so a
    /// fresher version this node missed still wins.
    pub fn expire(&mut self, now: Timestamp) -> Vec<ChangeEvent> {
        self.delete_old_tombstones(now);
        let life = self.lifespans;
        let own = self.state.hostname.clone();
        let mut changes = Vec::new();
        for (host, server) in &mut self.state.servers {
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
                let limit = now.minus(lifespan);
                if vouched >= limit {
                    // Live whatever was heard of it; no key built (this runs on every record
                    // every 2 s, and 1,000 times over in the simulation).
                    continue;
                }
                let key = RecordKey::of(svc);
                let heard = self
                    .arrived
                    .get(&key)
                    .map_or(svc.updated, |at| svc.updated.min(*at));
                if heard.max(vouched) < limit {
                    let previous = svc.status;
                    svc.status = ServiceStatus::Tombstone;
                    svc.updated = svc.updated.plus(Duration::from_secs(1));
                    self.drained.remove(&key);
                    changes.push(changed(svc, previous));
                }
            }
        }
        self.record_changes(&changes);
        changes
    }

    /// Deletes tombstones heard of longer ago than the tombstone lifespan, and what is kept
    /// about them and about hosts left without records.
    fn delete_old_tombstones(&mut self, now: Timestamp) {
        let limit = now.minus(self.lifespans.tombstone);
        let old: Vec<RecordKey> = self
            .state
            .records()
            .filter(|svc| svc.status == ServiceStatus::Tombstone)
            .map(|svc| (RecordKey::of(svc), svc.updated))
            .filter(|(key, updated)| self.heard(key, *updated) < limit)
            .map(|(key, _)| key)
            .collect();
        for key in old {
            if let Some(server) = self.state.servers.get_mut(&key.hostname) {
                server.services.remove(&key.id);
            }
            self.drained.remove(&key);
            self.arrived.remove(&key);
        }
        self.state.servers.retain(|_, s| !s.services.is_empty());
        let servers = &self.state.servers;
        self.vouched.retain(|host, _| servers.contains_key(host));
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

    /// Sets this node's record `id` DRAINING until it is tombstoned. Returns the record as
    /// now held.
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
        let change = self.put(svc, now, true).into_change();
        self.drained.insert(RecordKey::new(&host, id));
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
        let _ = self.put(again, now, false);
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
        self.put(svc, now, true).into_change()
    }

    /// The version this node stamps a record with (stored with `force`): `now`, or 1 ns
    /// past the held version when that is not older, so this node's own word on a record
    /// always wins, even if the clock stepped back a little. A held version more than twice
    /// the allowed skew ahead of `now` was stamped by a clock that ran ahead (or has stepped
    /// back since): peers in step refused it, so it is passed over and `now` used, rather than
    /// keep stamping versions the cluster refuses until the clock catches up.
    fn next_version(&self, host: &str, id: &str, now: Timestamp) -> Timestamp {
        match self.state.get(host, id) {
            Some(held) if held.updated >= now && self.is_own_usable(held.updated, now) => {
                held.updated.plus(Duration::from_nanos(1))
            }
            _ => now,
        }
    }

    /// Whether this node's own version `updated` can be built on at `now`: it is at most
    /// twice the skew ahead. Peers' versions are at most one skew ahead when accepted, and a
    /// re-stamp past one is 1 ns more, so only a clock step puts an own version beyond.
    fn is_own_usable(&self, updated: Timestamp, now: Timestamp) -> bool {
        updated <= now.plus(self.lifespans.max_skew * 2)
    }

    fn own_keys(&self) -> Vec<RecordKey> {
        let host = &self.state.hostname;
        let Some(server) = self.state.servers.get(host) else {
            return Vec::new();
        };
        server
            .services
            .keys()
            .map(|id| RecordKey::new(host, id))
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

/// Which status wins between two versions with the same `Updated`: TOMBSTONE > UNHEALTHY >
/// UNKNOWN > DRAINING > ALIVE. DRAINING above ALIVE keeps a drain against an ALIVE copy of
/// the same version, whichever arrives first.
fn precedence(status: ServiceStatus) -> u8 {
    match status {
        ServiceStatus::Alive => 0,
        ServiceStatus::Draining => 1,
        ServiceStatus::Unknown => 2,
        ServiceStatus::Unhealthy => 3,
        ServiceStatus::Tombstone => 4,
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
