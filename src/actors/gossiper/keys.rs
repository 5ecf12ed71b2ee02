//! The gossip key ring in force, shared by the Gossiper (every instance), its sessions and
//! the admin API that replaces it (`PUT /api/admin/gossip/keys`), so keys rotate without a
//! restart.

use std::sync::{Arc, PoisonError, RwLock};

use crate::gossip::crypto::KeyRing;

/// A handle on the ring; cheap to clone. `None` inside: no keys (plaintext cluster).
#[derive(Clone, Debug, Default)]
pub struct GossipKeys {
    inner: Arc<RwLock<Option<Arc<KeyRing>>>>,
}

impl GossipKeys {
    /// A handle on `ring`.
    pub fn new(ring: Option<KeyRing>) -> GossipKeys {
        GossipKeys {
            inner: Arc::new(RwLock::new(ring.map(Arc::new))),
        }
    }

    /// The ring in force now (a session keeps the one it started with).
    pub fn current(&self) -> Option<Arc<KeyRing>> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `ring` in force for every frame from now on. There is no way back to no keys at
    /// run time: that would open the cluster to anyone, and takes a restart.
    pub fn replace(&self, ring: KeyRing) {
        *self.inner.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(ring));
    }

    /// Whether keys are in force.
    pub fn is_set(&self) -> bool {
        self.current().is_some()
    }
}
