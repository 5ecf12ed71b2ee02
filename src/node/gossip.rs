//! The gossip part of a node's start: the bound gossip ports, and the Gossiper's factory.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use slog::Logger;

use super::StartError;
use crate::actors::StateKeeper;
use crate::actors::gossiper::{
    GossipSockets, Gossiper, GossiperMemory, GossiperSettings, StateLinks,
};
use crate::clock::SharedClock;
use crate::config::GossipPlan;
use crate::supervisor::Slot;

/// The gossip ports, bound, and the Gossiper's settings advertising the port they got.
pub(super) struct BoundGossip {
    pub(super) settings: GossiperSettings,
    sockets: Arc<GossipSockets>,
}

impl BoundGossip {
    /// Binds TCP and UDP on the plan's address; with port 0, the advertised port becomes the
    /// one the OS chose.
    pub(super) fn bind(plan: &GossipPlan) -> Result<BoundGossip, StartError> {
        let bind_error = |source| StartError::GossipBind {
            addr: plan.bind.to_string(),
            source,
        };
        let sockets = GossipSockets::bind(plan.bind.ip(), plan.bind.port()).map_err(bind_error)?;
        let port = sockets.port().map_err(bind_error)?;
        let mut settings = plan.settings.clone();
        settings.advertise = SocketAddr::new(settings.advertise.ip(), port);
        Ok(BoundGossip {
            settings,
            sockets: Arc::new(sockets),
        })
    }

    /// Builds Gossipers on these sockets; every instance shares one [`GossiperMemory`], so a
    /// restart keeps the node's identity and members.
    pub(super) fn factory(
        self,
        state_keeper: &Slot<StateKeeper>,
        clock: &SharedClock,
        log: &Logger,
    ) -> impl Fn() -> Gossiper + 'static {
        let state = StateLinks {
            subscribe: state_keeper.link(),
            remote: state_keeper.link(),
            expire: state_keeper.link(),
            members: state_keeper.link(),
        };
        let (clock, memory, log) = (Arc::clone(clock), GossiperMemory::default(), log.clone());
        let BoundGossip { settings, sockets } = self;
        warn_if_open(&settings, &sockets, &log);
        move || {
            let (settings, sockets) = (settings.clone(), Arc::clone(&sockets));
            let (clock, memory) = (Arc::clone(&clock), memory.clone());
            Gossiper::new(settings, sockets, clock, state.clone(), memory, &log)
        }
    }
}

/// Without keys anyone who can reach the gossip port can join, read every record and forge
/// SWIM messages (such as "this node is down"): say so at start unless the port is only on
/// loopback.
fn warn_if_open(settings: &GossiperSettings, sockets: &GossipSockets, log: &Logger) {
    let bound = sockets.tcp.local_addr().map(|a| a.ip()).ok();
    if open_to_outsiders(settings.keys.is_set(), bound) {
        slog::warn!(log, "Gossip is not encrypted: anyone who can reach the gossip port can \
            join the cluster, read its records and forge membership messages; set \
            SIDECAR_GOSSIP_KEYS"; "gossip" => %settings.advertise);
    }
}

/// Whether a gossip port bound on `bound` is open to anyone: no keys, and not loopback only.
fn open_to_outsiders(has_keys: bool, bound: Option<IpAddr>) -> bool {
    !has_keys && !bound.is_some_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::open_to_outsiders;

    #[test]
    fn only_a_keyless_port_off_loopback_is_open_to_outsiders() {
        let any = "0.0.0.0".parse().ok();
        assert!(open_to_outsiders(false, any));
        assert!(open_to_outsiders(false, "10.0.0.5".parse().ok()));
        assert!(!open_to_outsiders(false, "127.0.0.3".parse().ok()));
        assert!(!open_to_outsiders(true, any));
    }
}
