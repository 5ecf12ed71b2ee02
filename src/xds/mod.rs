//! Envoy's v3 xDS, the decisions: which clusters, endpoints and listeners the catalogue makes
//! ([`resources`]), and what each ADS stream sends and when, state-of-the-world ([`sotw`]) and
//! incremental ([`delta`]) (docs/COMPATIBILITY.md §18).
//!
//! Pure: no actix, tokio, sockets or clock. The resources are built once per catalogue change
//! and shared by every stream; a stream's state machine takes Envoy's requests and the current
//! resources and returns the responses to send. The gRPC server and the actor around it are in
//! `actors::xds_server`.

pub mod delta;
pub mod resources;
pub mod sotw;
pub mod v1;

#[cfg(test)]
pub(crate) mod testdata;

pub use resources::{BuildReport, ResourceType, Resources, XdsOptions};

/// Envoy's rejection of a response, as a stream reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The resource type rejected.
    pub kind: ResourceType,
    /// The version rejected.
    pub version: String,
    /// Envoy's gRPC status code.
    pub code: i32,
    /// Envoy's message.
    pub message: String,
}

/// What a stream sent in one response: for the admin API and the tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The resource type.
    pub kind: ResourceType,
    /// The response's version (state-of-the-world) or system version (delta).
    pub version: String,
    /// The names of the resources in it.
    pub names: Vec<String>,
    /// The names it removed (delta only).
    pub removed: Vec<String>,
}

/// What a stream's state machine made of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// A request of a type this server does not serve: ignored.
    UnknownType(String),
    /// The first request of a type, or a change of subscription.
    Subscribed(ResourceType),
    /// Envoy applied our last response of this type.
    Accepted(ResourceType, String),
    /// Envoy rejected our last response of this type.
    Rejected(Rejection),
    /// An answer to a response that is no longer the latest: ignored.
    Stale(ResourceType),
    /// The request would subscribe to more names than a stream may hold.
    TooManyNames(ResourceType),
}

/// Most resource names one stream may subscribe to per type: keeps each stream's state bounded
/// whatever a client asks for.
pub const MAX_NAMES_PER_TYPE: usize = 10_000;

/// A stable version string for some bytes: 16 hex digits of FNV-1a.
pub(crate) fn version_of(parts: &[&[u8]]) -> String {
    let mut hash = crate::gossip::hash::Fnv64::new();
    for part in parts {
        hash.write(&(part.len() as u64).to_le_bytes());
        hash.write(part);
    }
    format!("{:016x}", hash.finish())
}
