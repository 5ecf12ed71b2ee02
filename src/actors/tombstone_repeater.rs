//! TombstoneRepeater: announces each of this node's tombstones again, once a second, until it
//! went out ten times (docs/PROTOCOL.md §10; the schedule is [`TombstoneSchedule`]).
//!
//! Does: follow the StateKeeper's [`StateChanged`] for the records this node announced, and
//! once a second ask the StateKeeper to stamp each scheduled tombstone 50 ns newer
//! ([`RepeatTombstone`]); the StateKeeper publishes the new version and the Gossiper
//! broadcasts it like any other.
//! Does not: touch the catalogue or the network itself.

use std::time::Duration;

use actix::prelude::*;
use slog::{Logger, debug, o, warn};

use crate::gossip::repeat::TombstoneSchedule;
use crate::messages::{RepeatTombstone, StateChanged, Subscribe};
use crate::supervisor::Link;

/// At most this many tombstones are repeated at once; beyond, anti-entropy carries them.
const CAPACITY: usize = 4096;

/// The actor. See the [module docs](self).
pub struct TombstoneRepeater {
    schedule: TombstoneSchedule,
    subscribe: Link<Subscribe>,
    repeat: Link<RepeatTombstone>,
    interval: Duration,
    dropped_logged: u64,
    log: Logger,
}

impl TombstoneRepeater {
    /// A repeater subscribing through `subscribe` and asking `repeat` for each repetition,
    /// one round every `interval` (Go: 1 s).
    pub fn new(
        subscribe: Link<Subscribe>,
        repeat: Link<RepeatTombstone>,
        interval: Duration,
        log: &Logger,
    ) -> TombstoneRepeater {
        TombstoneRepeater {
            schedule: TombstoneSchedule::new(CAPACITY),
            subscribe,
            repeat,
            interval,
            dropped_logged: 0,
            log: log.new(o!("actor" => "tombstone_repeater")),
        }
    }

    fn tick(&mut self) {
        for repeat in self.schedule.tick() {
            debug!(self.log, "Announcing a tombstone again"; "host" => &repeat.host,
                "id" => &repeat.id);
            self.repeat.do_send(RepeatTombstone(repeat));
        }
        if self.schedule.dropped() > self.dropped_logged {
            self.dropped_logged = self.schedule.dropped();
            warn!(self.log, "Too many tombstones at once, some are not repeated";
                "dropped_total" => self.dropped_logged);
        }
    }
}

impl Actor for TombstoneRepeater {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1024);
        self.subscribe.do_send(Subscribe(ctx.address().recipient()));
        ctx.run_interval(self.interval, |act, _| act.tick());
    }
}

impl Handler<StateChanged> for TombstoneRepeater {
    type Result = ();

    fn handle(&mut self, msg: StateChanged, _: &mut Context<Self>) {
        for svc in msg.announced.iter() {
            self.schedule.announced(svc);
        }
    }
}

crate::supervised_actor!(TombstoneRepeater);
