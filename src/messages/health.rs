//! Messages handled by the [`HealthChecker`](crate::actors::HealthChecker).

use actix::{Message, MessageResponse};

/// Counters and gauges of the health-check pool (for tests and the admin API).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, MessageResponse)]
pub struct HealthStats {
    /// Checks that exist (one per discovered service).
    pub checks: usize,
    /// Runs holding a concurrency permit right now.
    pub in_flight: usize,
    /// Runs waiting for a permit right now.
    pub waiting: usize,
    /// The most runs ever in flight at once.
    pub peak_in_flight: usize,
    /// Runs finished since start.
    pub runs: u64,
    /// Runs that hit the timeout since start.
    pub timeouts: u64,
}

/// The current [`HealthStats`].
#[derive(Debug, Message)]
#[rtype(result = "HealthStats")]
pub struct GetHealthStats;
