//! Listeners: who wants every catalogue change POSTed to it (docs/COMPATIBILITY.md §12), as pure
//! data.
//!
//! [`Registry`] keeps the static URL listeners of `LISTENERS_URLS` (never removed) and, per
//! [`DiscoverySource`](crate::discovery::DiscoverySource), the listeners discovery reported
//! last (removed when they vanish). [`BoundedQueue`] is one listener's outbox: bounded,
//! dropping the oldest event when full. [`event_body`] builds the POSTed JSON and
//! [`retry_delay`] the retry schedule.
//!
//! Pure: no I/O, no clocks, no actix; the [`ListenerNotifier`] actor does the delivering.
//!
//! [`ListenerNotifier`]: crate::actors::ListenerNotifier

mod queue;
mod registry;
#[cfg(test)]
mod tests;

pub use queue::{BoundedQueue, event_body, retry_delay};
pub use registry::{Listener, Registry, RegistryChanges, static_name, validate_urls};
