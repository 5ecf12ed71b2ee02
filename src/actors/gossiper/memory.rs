//! What outlives one Gossiper instance: this node's identity and the members last seen up.
//!
//! foca only accepts datagrams addressed to its exact identity (announces aside), so a
//! Gossiper restarted under a new incarnation would be deaf to the cluster until every peer
//! declared it down and it rejoined (about 5 s, longer than the records' broadcasts last).
//! Restarting under the same identity and re-applying the remembered members reconnects it
//! at once.

use std::sync::{Arc, Mutex, PoisonError};

use crate::gossip::node_id::NodeId;

/// Shared by every Gossiper instance of one node; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct GossiperMemory {
    inner: Arc<Mutex<Remembered>>,
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
