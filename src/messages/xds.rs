//! The xDS server's inbox: what its streams report, and its statistics for the admin API.

use actix::Message;
use serde::Serialize;

use crate::xds::{Received, Sent};

/// The ADS protocol variant of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum XdsProtocol {
    /// `StreamAggregatedResources`.
    StateOfTheWorld,
    /// `DeltaAggregatedResources`.
    Delta,
}

/// Something happened on one ADS stream (sent by the stream's task; lossy when the mailbox is
/// full, as only statistics and logs depend on it).
#[derive(Clone, Debug, Message)]
#[rtype(result = "()")]
pub enum XdsStreamEvent {
    /// An Envoy connected.
    Opened {
        /// The stream's number on this server.
        id: u64,
        /// The protocol variant.
        protocol: XdsProtocol,
    },
    /// Its first request named its node.
    Identified {
        /// The stream.
        id: u64,
        /// Envoy's `node.id`.
        node: String,
    },
    /// A request was taken.
    Received {
        /// The stream.
        id: u64,
        /// What it meant.
        received: Received,
    },
    /// A response was sent.
    Sent {
        /// The stream.
        id: u64,
        /// What it carried.
        sent: Sent,
    },
    /// The stream ended.
    Closed {
        /// The stream.
        id: u64,
    },
}

/// Answers the [`XdsStats`].
#[derive(Debug, Message)]
#[rtype(result = "XdsStats")]
pub struct GetXdsStats;

/// The xDS server's statistics (`GET /api/admin/envoy`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct XdsStats {
    /// Resources served now, by type.
    pub clusters: usize,
    /// Load assignments served now.
    pub endpoints: usize,
    /// Listeners served now.
    pub listeners: usize,
    /// Times a catalogue change changed the resources.
    pub builds: u64,
    /// Responses sent, all streams.
    pub responses: u64,
    /// Responses Envoys accepted.
    pub accepted: u64,
    /// Responses Envoys rejected (NACK).
    pub rejected: u64,
    /// The last rejection's message, if any.
    pub last_rejection: Option<String>,
    /// Streams opened since start.
    pub streams_opened: u64,
    /// The streams connected now.
    pub streams: Vec<XdsStreamStats>,
}

/// One connected stream.
#[derive(Clone, Debug, Serialize)]
pub struct XdsStreamStats {
    /// The stream's number.
    pub id: u64,
    /// Envoy's node id (empty until its first request).
    pub node: String,
    /// The protocol variant.
    pub protocol: XdsProtocol,
    /// Responses sent on it.
    pub responses: u64,
    /// Rejections on it.
    pub rejected: u64,
    /// Its latest responses, oldest first (a few).
    pub recent: Vec<SentSummary>,
}

/// One response, as the admin API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct SentSummary {
    /// `clusters`, `endpoints` or `listeners`.
    pub kind: &'static str,
    /// Its version.
    pub version: String,
    /// The resources it carried.
    pub names: Vec<String>,
    /// The resources it removed (delta).
    pub removed: Vec<String>,
}

impl From<&Sent> for SentSummary {
    fn from(sent: &Sent) -> SentSummary {
        SentSummary {
            kind: sent.kind.as_str(),
            version: sent.version.clone(),
            names: sent.names.clone(),
            removed: sent.removed.clone(),
        }
    }
}
