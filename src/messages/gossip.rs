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
    /// Of those, the ones that found the two catalogues equal (no record either way).
    pub exchanges_in_sync: u64,
    /// Records sent and received by anti-entropy.
    pub exchange_records_sent: u64,
    /// See `exchange_records_sent`.
    pub exchange_records_received: u64,
    /// Record versions this node put on broadcasts (its own changes, refreshes, tombstones).
    pub broadcasts: u64,
    /// Gossip datagrams sent and their bytes (SWIM, with the records riding on it).
    pub udp_sent: Traffic,
    /// Gossip datagrams received (refused ones included) and their bytes.
    pub udp_received: Traffic,
    /// Bytes of TCP frames (exchanges, joins, direct checks) sent and received.
    pub tcp_sent_bytes: u64,
    /// See `tcp_sent_bytes`.
    pub tcp_received_bytes: u64,
    /// The members seen up, this node excluded.
    pub members: Vec<String>,
    /// The share of datagrams this node's links lose as its own probes see it, in percent
    /// (rounded to 5, at most 50).
    pub observed_loss_percent: u32,
    /// How many times each membership update and record is sent now: more under loss.
    pub transmissions: u32,
}

/// A count of packets and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Traffic {
    /// Packets.
    pub packets: u64,
    /// Their bytes (payload, without IP and UDP headers).
    pub bytes: u64,
}

impl Traffic {
    /// Counts one packet of `len` bytes.
    pub fn count(&mut self, len: usize) {
        self.packets += 1;
        self.bytes += len as u64;
    }
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
