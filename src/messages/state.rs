//! Messages handled by the [`StateKeeper`](crate::actors::StateKeeper), the single owner of the
//! catalogue.

use std::collections::BTreeSet;
use std::sync::Arc;

use actix::{Message, Recipient};

use super::events::StateChanged;
use crate::catalog::{DrainError, RecordKey, Service, Snapshot};
use crate::gossip::repeat::Repeat;

/// Bring this node's own records in line with local discovery and health checks: every
/// record in `services` (status already set from its check) is refreshed; records announced
/// before that are neither in `services` nor in `pending` are tombstoned.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ApplyLocalServices {
    /// Every locally discovered service that has a health result.
    pub services: Vec<Service>,
    /// Discovered services still waiting for their first health result: left as they are.
    pub pending: BTreeSet<RecordKey>,
}

/// Merge records heard from peers (gossip, anti-entropy).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ApplyRemoteServices {
    /// The records, as received.
    pub services: Vec<Service>,
    /// How they came.
    pub source: RemoteSource,
}

impl ApplyRemoteServices {
    /// `services` as broadcast by their origin.
    pub fn broadcast(services: Vec<Service>) -> ApplyRemoteServices {
        ApplyRemoteServices {
            services,
            source: RemoteSource::Broadcast,
        }
    }
}

/// How records from peers came: the origin's own word, or a peer's whole view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteSource {
    /// Broadcast by their origin (whoever relayed them).
    Broadcast,
    /// An exchange (join, anti-entropy, heal) with the member `peer`, which sends every
    /// record it holds, its own and others'.
    Exchange {
        /// The peer's node name.
        peer: String,
    },
}

/// A cluster member left or died: tombstone all of its records.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ExpireNode {
    /// The member's node name.
    pub hostname: String,
}

/// Announce one of this node's tombstones again (the TombstoneRepeater's schedule), if the
/// catalogue still holds it at the given version.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RepeatTombstone(pub Repeat);

/// Set one of this node's services DRAINING; answers the record as now held.
#[derive(Debug, Message)]
#[rtype(result = "Result<Service, DrainError>")]
pub struct DrainService {
    /// The service ID.
    pub id: String,
}

/// The current catalogue.
#[derive(Debug, Message)]
#[rtype(result = "Arc<Snapshot>")]
pub struct GetSnapshot;

/// Register for [`StateChanged`]; the subscriber is sent the current snapshot at once.
/// Subscribers whose mailbox has closed are dropped.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Subscribe(pub Recipient<StateChanged>);

/// The live cluster members by node name (the Gossiper's view; this node included), shown
/// as `ClusterMembers`.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SetMembers(pub Vec<String>);
