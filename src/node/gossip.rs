//! The gossip part of a node's start: the bound gossip ports, and the Gossiper's factory.

use std::net::SocketAddr;
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
        move || {
            let (settings, sockets) = (settings.clone(), Arc::clone(&sockets));
            let (clock, memory) = (Arc::clone(&clock), memory.clone());
            Gossiper::new(settings, sockets, clock, state.clone(), memory, &log)
        }
    }
}
