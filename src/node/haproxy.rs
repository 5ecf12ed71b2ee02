//! Starts the [`HaproxyManager`] under the supervisor, unless `HAPROXY_DISABLE` is set.

use actix::prelude::*;
use slog::{Logger, info};

use crate::actors::StateKeeper;
use crate::actors::haproxy_manager::{HaproxyManager, HaproxySettings, SUBSYSTEM};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::supervisor::{ActorChild, Slot, Supervisor};

/// Adds the HAProxy manager to `supervisor` (whose address is `supervisor_addr`); `None`
/// when HAProxy management is disabled. HAProxy being missing does not stop the node: the
/// manager reports the failure and tries again.
pub(super) fn start_haproxy_manager(
    supervisor: &mut Supervisor,
    supervisor_addr: Addr<Supervisor>,
    config: &Config,
    state_keeper: &Slot<StateKeeper>,
    clock: &SharedClock,
    log: &Logger,
) -> Option<Slot<HaproxyManager>> {
    if config.haproxy.disable {
        info!(log, "HAProxy management disabled (HAPROXY_DISABLE)");
        return None;
    }
    let settings = HaproxySettings::from_config(&config.haproxy);
    let (sk, clk, lg) = (state_keeper.clone(), clock.clone(), log.clone());
    let (child, slot) = ActorChild::start(SUBSYSTEM, move || {
        let report = Some(supervisor_addr.clone().recipient());
        HaproxyManager::new(settings.clone(), sk.link(), report, clk.clone(), &lg).start()
    });
    supervisor.add(Box::new(child));
    Some(slot)
}
