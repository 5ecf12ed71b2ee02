//! What outlives one Gossiper instance: this node's identity, the members last seen up, and
//! the gossip counters (so that `/metrics` and `/api/admin/gossip` count from the node's
//! start, not from the last restart).
//!
//! foca only accepts datagrams addressed to its exact identity (announces aside), so a
//! Gossiper restarted under a new incarnation would be deaf to the cluster until every peer
//! declared it down and it rejoined (about 5 s, longer than the records' broadcasts last).
//! Restarting under the same identity and re-applying the remembered members reconnects it
//! at once.

use std::sync::{Arc, Mutex, PoisonError};

use super::net::TcpBytes;
use crate::gossip::node_id::NodeId;
use crate::messages::GossipStats;

/// Shared by every Gossiper instance of one node; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct GossiperMemory {
    inner: Arc<Mutex<Remembered>>,
    stats: Arc<Mutex<GossipStats>>,
    tcp: Arc<TcpBytes>,
}

#[derive(Debug, Default)]
struct Remembered {
    identity: Option<NodeId>,
    members: Vec<NodeId>,
}

impl GossiperMemory {
    fn with<R>(&self, f: impl FnOnce(&mut Remembered) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Updates the counters.
    pub(super) fn count(&self, f: impl FnOnce(&mut GossipStats)) {
        f(&mut self.stats.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// The counters (the TCP byte counts left at zero: they are in [`Self::tcp_bytes`]).
    pub(super) fn stats(&self) -> GossipStats {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The TCP byte counters every instance's sessions add to.
    pub(super) fn tcp_bytes(&self) -> Arc<TcpBytes> {
        Arc::clone(&self.tcp)
    }

    /// The identity of the previous instance, if any.
    pub(super) fn identity(&self) -> Option<NodeId> {
        self.with(|r| r.identity.clone())
    }

    /// The members the previous instance last saw up.
    pub(super) fn members(&self) -> Vec<NodeId> {
        self.with(|r| r.members.clone())
    }

    /// Remembers the current identity and members.
    pub(super) fn remember(&self, identity: &NodeId, members: Vec<NodeId>) {
        self.with(|r| {
            r.identity = Some(identity.clone());
            r.members = members;
        });
    }
}
