//! StateKeeper: the single owner and writer of the [`Catalog`].
//!
//! Does: apply local, remote and operator changes through the pure catalogue, expire records on
//! a timer, and publish one immutable [`Snapshot`] per change to its subscribers.
//! Does not: I/O, or any merge decision of its own (those live in [`crate::catalog`]).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix::prelude::*;
use slog::{Logger, debug, info, o, warn};

use crate::catalog::{Catalog, ChangeEvent, Lifespans, Service, ServicesState, Snapshot};
use crate::clock::SharedClock;
use crate::messages::{
    ApplyLocalServices, ApplyRemoteServices, DrainService, ExpireNode, GetSnapshot,
    RepeatTombstone, SetMembers, StateChanged, Subscribe,
};

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
/// StateKeeper resumes from it, losing nothing) and the subscribers (who need not subscribe
/// again). Cheap to clone; shared by every instance of one node.
#[derive(Clone, Default)]
pub struct StateKeeperMemory {
    last: Arc<Mutex<Option<Arc<Snapshot>>>>,
    subscribers: Arc<Mutex<Vec<Recipient<StateChanged>>>>,
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

    fn subscribers(&self) -> MutexGuard<'_, Vec<Recipient<StateChanged>>> {
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
        self.log_changes(&changes);
        let previous = &self.current;
        let change_version = previous.change_version() + u64::from(!changes.is_empty());
        self.current = Arc::new(Snapshot::new(
            self.catalog.state().clone(),
            self.members.clone(),
            previous.version() + 1,
            change_version,
        ));
        let event = StateChanged {
            snapshot: Arc::clone(&self.current),
            changes: changes.into(),
            announced: announced.into(),
        };
        self.memory.remember(&self.current);
        let mut dropped = 0;
        self.memory
            .subscribers()
            .retain(|subscriber| match subscriber.try_send(event.clone()) {
                Ok(()) => true,
                Err(SendError::Full(_)) => {
                    dropped += 1;
                    true
                }
                Err(SendError::Closed(_)) => false,
            });
        if dropped > 0 {
            self.dropped_events += dropped;
            warn!(self.log, "Subscriber too slow, dropped a state change";
                "dropped_total" => self.dropped_events);
        }
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
    }
}

impl Handler<ApplyLocalServices> for StateKeeper {
    type Result = ();

    fn handle(&mut self, msg: ApplyLocalServices, _: &mut Context<Self>) {
        let now = self.clock.now();
        let sync = self.catalog.sync_local(msg.services, &msg.pending, now);
        if !sync.announced.is_empty() {
            self.publish(sync.changes, sync.announced);
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
        for svc in msg.services {
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
        let first = StateChanged {
            snapshot: Arc::clone(&self.current),
            changes: Arc::new([]),
            announced: Arc::new([]),
        };
        match msg.0.try_send(first) {
            Ok(()) | Err(SendError::Full(_)) => self.memory.subscribers().push(msg.0),
            Err(SendError::Closed(_)) => {}
        }
    }
}

crate::supervised_actor!(StateKeeper);

#[cfg(test)]
mod tests;
