//! Messages of supervision: what every supervised actor handles, and the Supervisor's inbox
//! (used by the admin API).

use actix::Message;
use serde::Serialize;

/// Stop now (the Supervisor then starts a fresh instance, unless it is shutting down).
/// Every supervised actor handles it with `ctx.stop()`.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StopActor;

/// Panic inside the handler: the fault-injection hook. Without the `fault-injection` feature
/// (tests only) the handler ignores it, and nothing outside the process can send it.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct InjectPanic;

/// A subsystem as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SubsystemStatus {
    /// Its name, e.g. `state_keeper`.
    pub name: String,
    /// Whether it runs or waits for its replacement.
    pub state: SubsystemState,
    /// How many times it was restarted since the node started (failures and operator
    /// restarts).
    pub restarts: u64,
    /// The last failure, if any: `panicked: <message>`, or `stopped` for an instance that
    /// stopped itself (its log says why).
    pub last_error: Option<String>,
    /// Seconds since the current instance started.
    pub uptime_seconds: u64,
    /// What the subsystem last reported about its work (e.g. the HAProxy manager's reload
    /// and runtime-update counts); omitted when it reports nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// Where a subsystem is in its life, as the admin API shows it (`running`, `restarting`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubsystemState {
    /// Its current instance runs.
    Running,
    /// Its last instance ended; a fresh one starts after the backoff.
    Restarting,
}

/// The subsystems and their state.
#[derive(Debug, Message)]
#[rtype(result = "Vec<SubsystemStatus>")]
pub struct GetSubsystems;

/// Restart one subsystem by name (an operator's request).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), UnknownSubsystem>")]
pub struct RestartSubsystem {
    /// The subsystem's name.
    pub name: String,
}

/// Panic one subsystem by name (fault injection; tests only).
#[cfg(feature = "fault-injection")]
#[derive(Debug, Message)]
#[rtype(result = "Result<(), UnknownSubsystem>")]
pub struct PanicSubsystem {
    /// The subsystem's name.
    pub name: String,
}

/// A subsystem's own account of its work, shown as its `details` by the admin API.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ReportSubsystemDetails {
    /// The subsystem's name.
    pub name: String,
    /// Its counters, as JSON.
    pub details: serde_json::Value,
}

/// The node is shutting down: stop restarting anything.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ShutdownSupervisor;

/// No subsystem has that name. Doesn't affect state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no subsystem named {0:?}")]
pub struct UnknownSubsystem(pub String);
