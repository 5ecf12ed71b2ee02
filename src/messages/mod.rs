//! The typed messages actors exchange, one file per inbox; events (past tense) in `events`.
//!
//! Naming: commands are imperative (`ApplyLocalServices`), queries start with `Get`, events
//! are past tense (`StateChanged`). No logic lives here.

pub mod docker;
pub mod events;
pub mod gossip;
pub mod haproxy;
pub mod health;
pub mod listeners;
pub mod state;
pub mod supervisor;
pub mod xds;

pub use docker::{DockerStatus, GetDockerStatus};
pub use events::{ObservedLocalServices, StateChanged};
pub use gossip::{GetGossipStats, GossipStats, LeaveCluster, Traffic};
pub use haproxy::{GetHaproxyStatus, HaproxyStatus};
pub use health::{GetHealthStats, HealthStats};
pub use listeners::{GetListenerStats, ListenerStats};
pub use state::{
    ApplyLocalServices, ApplyRemoteServices, DrainService, ExpireNode, GetSnapshot, RemoteSource,
    RepeatTombstone, SetMembers, Subscribe,
};
pub use xds::{GetXdsStats, XdsProtocol, XdsStats, XdsStreamEvent};
