//! StateKeeper: the single owner and writer of the [`Catalog`].
//!
//! Does: apply local, remote and operator changes through the pure catalogue, expire records on
//! a timer, and publish one immutable [`Snapshot`] per change to its subscribers. A subscriber
//! whose mailbox is full misses that snapshot but loses no announcement: what this node
//! stamped is owed to it (its `outbox`) and handed over, with the then current snapshot, as
//! soon as it has room (checked every [`CATCH_UP_EVERY`]).
//! Does not: I/O, or any merge decision of its own (those live in [`crate::catalog`]).

mod outbox;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix::prelude::*;
use slog::{Logger, debug, info, o, warn};

use crate::catalog::hearsay::is_hearsay_tombstone;
use crate::catalog::{
    Catalog, ChangeEvent, Lifespans, LocalSync, Service, ServicesState, Snapshot,
};
use crate::clock::SharedClock;
use crate::messages::{
    ApplyLocalServices, ApplyRemoteServices, DrainService, ExpireNode, GetSnapshot, RemoteSource,
    RepeatTombstone, SetMembers, StateChanged, Subscribe,
};

use self::outbox::Subscriber;

/// How often subscribers that missed a snapshot are tried again.
pub const CATCH_UP_EVERY: Duration = Duration::from_millis(100);

/// What the StateKeeper needs to know besides its inputs.
#[derive(Clone, Debug)]
pub struct StateKeeperSettings {
    /// This node's name.
    pub hostname: String,
    /// `SIDECAR_CLUSTER_NAME`.
    pub cluster_name: String,
    /// Record lifespans.
    pub lifespans: Lifespans,
    /// How often the expiry pass runs (Go: 2 s).
    pub expire_interval: Duration,
}

/// What outlives one StateKeeper instance: the last published snapshot (a restarted
/// StateKeeper resumes from it, losing nothing) and the subscribers with what they are owed
/// (who need not subscribe again). Cheap to clone; shared by every instance of one node.
#[derive(Clone, Default)]
pub struct StateKeeperMemory {
    last: Arc<Mutex<Option<Arc<Snapshot>>>>,
    subscribers: Arc<Mutex<Vec<Subscriber>>>,
}

impl StateKeeperMemory {
    fn last(&self) -> Option<Arc<Snapshot>> {
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn remember(&self, snapshot: &Arc<Snapshot>) {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(snapshot));
    }

    fn subscribers(&self) -> MutexGuard<'_, Vec<Subscriber>> {
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The actor that owns the catalogue. See the [module docs](self).
pub struct StateKeeper {
    catalog: Catalog,
    settings: StateKeeperSettings,
    clock: SharedClock,
    memory: StateKeeperMemory,
    members: Vec<String>,
    current: Arc<Snapshot>,
    dropped_events: u64,
    /// Records refused as versioned beyond the allowed clock skew (the Gossiper drops and
    /// counts most before they get here).
    refused_future: u64,
    log: Logger,
}

impl StateKeeper {
    /// An actor holding the catalogue remembered in `memory` (empty on first start).
    pub fn new(
        settings: StateKeeperSettings,
        clock: SharedClock,
        memory: StateKeeperMemory,
        log: &Logger,
    ) -> StateKeeper {
        let members = memory
            .last()
            .map(|last| last.members().to_vec())
            .unwrap_or_else(|| vec![settings.hostname.clone()]);
        let current = memory.last().unwrap_or_else(|| {
            let empty = ServicesState::new(&settings.hostname, &settings.cluster_name);
            Arc::new(Snapshot::new(empty, members.clone(), 0, 0))
        });
        let catalog = Catalog::from_state(current.state().clone(), settings.lifespans);
        StateKeeper {
            catalog,
            settings,
            clock,
            memory,
            members,
            current,
            dropped_events: 0,
            refused_future: 0,
            log: log.new(o!("actor" => "state_keeper")),
        }
    }

    /// Publishes a new snapshot; `changes` are the status changes that led to it and
    /// `announced` the records this node stamped with a new version.
    fn publish(&mut self, changes: Vec<ChangeEvent>, announced: Vec<Service>) {
        self.publish_sync(LocalSync {
            changes,
            announced,
            refreshed: Vec::new(),
        });
    }

    /// [`StateKeeper::publish`] with refreshes ([`LocalSync::refreshed`]).
    fn publish_sync(&mut self, sync: LocalSync) {
        let LocalSync {
            changes,
            announced,
            refreshed,
        } = sync;
        self.log_changes(&changes);
        let previous = &self.current;
        let change_version = previous.change_version() + u64::from(!changes.is_empty());
        self.current = Arc::new(Snapshot::new(
            self.catalog.state().clone(),
            self.members.clone(),
            previous.version() + 1,
            change_version,
        ));
        self.memory.remember(&self.current);
        let changes: Arc<[ChangeEvent]> = changes.into();
        let (snapshot, log) = (&self.current, &self.log);
        let mut dropped = 0;
        self.memory.subscribers().retain_mut(|subscriber| {
            let dropped_before = subscriber.owed.dropped;
            subscriber.owed.add(&announced, &refreshed);
            if subscriber.owed.dropped > dropped_before {
                warn!(log, "Too many announcements owed to a slow subscriber; anti-entropy repairs the oldest";
                    "dropped_total" => subscriber.owed.dropped);
            }
            let delivered = deliver(subscriber, snapshot, &changes);
            dropped += u64::from(delivered == Some(false));
            delivered.is_some()
        });
        if dropped > 0 {
            self.dropped_events += dropped;
            warn!(self.log, "Subscriber too slow: it missed a snapshot, and is owed what this node announced";
                "dropped_total" => self.dropped_events);
        }
    }

    /// Hands every subscriber that missed a snapshot the current one, with what it is owed.
    fn catch_up(&mut self) {
        let snapshot = &self.current;
        let none: Arc<[ChangeEvent]> = Arc::new([]);
        self.memory.subscribers().retain_mut(|subscriber| {
            !subscriber.behind || deliver(subscriber, snapshot, &none).is_some()
        });
    }

    fn log_changes(&self, changes: &[ChangeEvent]) {
        for change in changes {
            let svc = &change.service;
            let kv = o!("service" => svc.name.clone(), "id" => svc.id.clone(),
                "host" => svc.hostname.clone(), "from" => change.previous_status.as_str(),
                "to" => svc.status.as_str());
            if svc.hostname == self.settings.hostname {
                info!(self.log.new(kv), "Service changed status");
            } else {
                debug!(self.log.new(kv), "Service changed status");
            }
        }
    }

    fn expire(&mut self) {
        let now = self.clock.now();
        self.catalog
            .vouch(self.members.iter().map(String::as_str), now);
        let changes = self.catalog.expire(now);
        if !changes.is_empty() {
            self.publish(changes, Vec::new());
        }
    }
}

impl Actor for StateKeeper {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1024);
        ctx.run_interval(self.settings.expire_interval, |act, _| act.expire());
        ctx.run_interval(CATCH_UP_EVERY, |act, _| act.catch_up());
    }
}

impl Handler<ApplyLocalServices> for StateKeeper {
    type Result = ();

    fn handle(&mut self, msg: ApplyLocalServices, _: &mut Context<Self>) {
        let now = self.clock.now();
        let sync = self.catalog.sync_local(msg.services, &msg.pending, now);
        if !sync.is_empty() {
            self.publish_sync(sync);
        }
    }
}

impl Handler<ApplyRemoteServices> for StateKeeper {
    type Result = ();

    fn handle(&mut self, msg: ApplyRemoteServices, _: &mut Context<Self>) {
        let now = self.clock.now();
        let mut accepted = false;
        let mut changes = Vec::new();
        let mut reasserted = Vec::new();
        let (services, hearsay) = self.without_hearsay(msg.services, &msg.source);
        if hearsay > 0 {
            debug!(self.log, "Ignored tombstones of live members from a third party";
                "count" => hearsay, "from" => ?msg.source);
        }
        for svc in services {
            let (applied, mine) = self.catalog.apply_remote(svc, now);
            accepted |= matches!(applied, crate::catalog::Applied::Accepted { .. });
            if applied == crate::catalog::Applied::Future {
                self.refused_future += 1;
                debug!(self.log, "Refused a record from the future";
                    "refused_total" => self.refused_future);
            }
            changes.extend(applied.into_change());
            reasserted.extend(mine);
        }
        if !reasserted.is_empty() {
            info!(self.log, "Peers held older word on this node's services, re-announcing";
                "count" => reasserted.len());
        }
        if accepted {
            self.publish(changes, reasserted);
        }
    }
}

impl StateKeeper {
    /// `services` less the tombstones of live members that a third party derived
    /// ([`is_hearsay_tombstone`]), and how many those were.
    fn without_hearsay(
        &self,
        services: Vec<Service>,
        source: &RemoteSource,
    ) -> (Vec<Service>, usize) {
        let RemoteSource::Exchange { peer } = source else {
            return (services, 0);
        };
        let own = &self.settings.hostname;
        let before = services.len();
        let kept: Vec<Service> = services
            .into_iter()
            .filter(|svc| !is_hearsay_tombstone(svc, peer, own, &self.members))
            .collect();
        let hearsay = before - kept.len();
        (kept, hearsay)
    }
}

impl Handler<ExpireNode> for StateKeeper {
    type Result = ();

    fn handle(&mut self, msg: ExpireNode, _: &mut Context<Self>) {
        let changes = self.catalog.expire_server(&msg.hostname, self.clock.now());
        if !changes.is_empty() {
            info!(self.log, "Expired member's services"; "host" => &msg.hostname,
                "count" => changes.len());
            self.publish(changes, Vec::new());
        }
    }
}

impl Handler<SetMembers> for StateKeeper {
    type Result = ();

    fn handle(&mut self, msg: SetMembers, _: &mut Context<Self>) {
        let mut members = msg.0;
        members.push(self.settings.hostname.clone());
        members.sort();
        members.dedup();
        self.catalog
            .vouch(members.iter().map(String::as_str), self.clock.now());
        if members != self.members {
            self.members = members;
            self.publish(Vec::new(), Vec::new());
        }
    }
}

impl Handler<RepeatTombstone> for StateKeeper {
    type Result = ();

    fn handle(&mut self, msg: RepeatTombstone, _: &mut Context<Self>) {
        let RepeatTombstone(repeat) = msg;
        let now = self.clock.now();
        let again = (self.catalog).repeat_tombstone(
            &repeat.host,
            &repeat.id,
            repeat.version,
            crate::gossip::repeat::STEP,
            now,
        );
        if let Some(again) = again {
            self.publish(Vec::new(), vec![again]);
        }
    }
}

impl Handler<DrainService> for StateKeeper {
    type Result = Result<Service, crate::catalog::DrainError>;

    fn handle(&mut self, msg: DrainService, _: &mut Context<Self>) -> Self::Result {
        let (svc, change) = self.catalog.drain(&msg.id, self.clock.now())?;
        self.publish(change.into_iter().collect(), vec![svc.clone()]);
        Ok(svc)
    }
}

impl Handler<GetSnapshot> for StateKeeper {
    type Result = MessageResult<GetSnapshot>;

    fn handle(&mut self, _: GetSnapshot, _: &mut Context<Self>) -> Self::Result {
        MessageResult(Arc::clone(&self.current))
    }
}

impl Handler<Subscribe> for StateKeeper {
    type Result = ();

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) {
        let mut subscriber = Subscriber::new(msg.0);
        let none: Arc<[ChangeEvent]> = Arc::new([]);
        if deliver(&mut subscriber, &self.current, &none).is_some() {
            self.memory.subscribers().push(subscriber);
        }
    }
}

/// Sends `subscriber` the snapshot, the changes and everything it is owed. `Some(true)`:
/// delivered, nothing owed any more; `Some(false)`: its mailbox is full, it stays owed and
/// behind; `None`: its mailbox closed, drop it.
fn deliver(
    subscriber: &mut Subscriber,
    snapshot: &Arc<Snapshot>,
    changes: &Arc<[ChangeEvent]>,
) -> Option<bool> {
    let (announced, refreshed) = subscriber.owed.all();
    let event = StateChanged {
        snapshot: Arc::clone(snapshot),
        changes: Arc::clone(changes),
        announced,
        refreshed,
    };
    let delivered = match subscriber.recipient.try_send(event) {
        Ok(()) => {
            subscriber.owed.clear();
            Some(true)
        }
        Err(SendError::Full(_)) => Some(false),
        Err(SendError::Closed(_)) => None,
    };
    subscriber.behind = delivered == Some(false);
    delivered
}

crate::supervised_actor!(StateKeeper);

#[cfg(test)]
mod tests;
