//! Messages handled by the [`HaproxyManager`](crate::actors::HaproxyManager).

use actix::Message;
use serde::Serialize;

/// What the HAProxy manager did since the node started (shown by the admin API under the
/// `haproxy_manager` subsystem's `details`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HaproxyStatus {
    /// Configurations written and HAProxy reloaded (or started).
    pub reloads: u64,
    /// Changes applied through the runtime API alone, with no reload.
    pub runtime_updates: u64,
    /// Runtime-API commands sent (a change is one or more).
    pub runtime_commands: u64,
    /// Changes that left the routing as it was (nothing written, nothing reloaded).
    pub unchanged: u64,
    /// Failed renders, verifications, reloads and runtime updates.
    pub failures: u64,
    /// Why the last attempt failed; cleared by the next success.
    pub last_error: Option<String>,
}

/// The manager's [`HaproxyStatus`].
#[derive(Debug, Message)]
#[rtype(result = "HaproxyStatus")]
pub struct GetHaproxyStatus;
