//! Messages handled by the [`Gossiper`](crate::actors::gossiper::Gossiper).

use std::collections::BTreeMap;

use actix::Message;
use serde::Serialize;

/// Counters of the gossip ports; served as JSON by `GET /api/admin/gossip`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GossipStats {
    /// Refused datagrams and TCP sessions, by reason (`udp.bad_magic`, `tcp.timeout`, …).
    pub dropped: BTreeMap<String, u64>,
    /// Anti-entropy exchanges completed (either side).
    pub exchanges: u64,
    /// The members seen up, this node excluded.
    pub members: Vec<String>,
}

/// Answers the [`GossipStats`].
#[derive(Debug, Message)]
#[rtype(result = "GossipStats")]
pub struct GetGossipStats;

/// Shutdown: broadcast what is pending, tell the cluster this node leaves, and stop answering
/// peers. Answered once the datagrams are handed to the socket.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct LeaveCluster;
