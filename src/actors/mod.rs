//! The actors: thin shells around the pure cores that move messages, keep timers and do I/O.
//!
//! Every dependency is a constructor argument (`Recipient<M>` where possible); there is no
//! registry. [`crate::node`] wires them together.

pub mod docker_watcher;
pub mod gossiper;
pub mod haproxy_manager;
pub mod health_checker;
pub(crate) mod http;
pub mod listener_notifier;
#[cfg(test)]
mod recorder;
pub mod state_keeper;
pub mod static_watcher;
pub mod tombstone_repeater;
pub mod watch_follower;
pub mod web_api;
pub mod xds_server;

pub use docker_watcher::{DockerWatcher, DockerWatcherSettings};
pub use haproxy_manager::{HaproxyManager, HaproxySettings};
pub use health_checker::{HealthChecker, HealthSettings};
pub use listener_notifier::{ListenerNotifier, ListenerSettings};
pub use state_keeper::{StateKeeper, StateKeeperMemory, StateKeeperSettings};
pub use static_watcher::{StaticWatcher, StaticWatcherSettings};
pub use tombstone_repeater::TombstoneRepeater;
pub use web_api::{WebApi, WebSettings};
