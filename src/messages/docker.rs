//! Messages handled by the [`DockerWatcher`](crate::actors::DockerWatcher).

use actix::{Message, MessageResponse};

/// How the Docker watcher is doing (for tests and the admin API).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, MessageResponse)]
pub struct DockerStatus {
    /// Whether the last list succeeded and the connection has not been lost since.
    pub connected: bool,
    /// Containers announced as services right now.
    pub containers: usize,
    /// Reconnection attempts since start.
    pub reconnects: u64,
}

/// The current [`DockerStatus`].
#[derive(Debug, Message)]
#[rtype(result = "DockerStatus")]
pub struct GetDockerStatus;
