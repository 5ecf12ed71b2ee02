//! Events: things that happened, sent to whoever subscribed or was wired to hear them.

use std::sync::Arc;

use actix::Message;

use crate::catalog::{ChangeEvent, Service, Snapshot};
use crate::discovery::{Discovered, DiscoverySource};

/// The catalogue changed: a new snapshot, and the status changes since the previous one
/// (empty for a mere refresh).
#[derive(Clone, Debug, Message)]
#[rtype(result = "()")]
pub struct StateChanged {
    /// The catalogue after the change.
    pub snapshot: Arc<Snapshot>,
    /// Records that appeared or changed status, in the order they did.
    pub changes: Arc<[ChangeEvent]>,
    /// Records this node stamped with a new version that the Gossiper tells the cluster
    /// whole: a local change, a drain, a tombstone, a re-assertion, the refresh of a record
    /// filed under another hostname.
    pub announced: Arc<[Service]>,
    /// Records of this host stamped anew only because their two-hourly refresh was due:
    /// the Gossiper tells the cluster the new version alone (docs/PROTOCOL.md §9).
    pub refreshed: Arc<[Service]>,
}

/// A discovery source reports everything it currently sees on this host (a full list, not a
/// delta: what is missing is gone).
#[derive(Clone, Debug, Message)]
#[rtype(result = "()")]
pub struct ObservedLocalServices {
    /// Which watcher saw them; each source's list replaces that source's previous list.
    pub source: DiscoverySource,
    /// The services with their health-check and listener definitions.
    pub services: Vec<Discovered>,
}
