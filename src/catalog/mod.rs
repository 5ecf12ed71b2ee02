//! The cluster-wide service catalogue: every node's view of every service.
//!
//! Pure: no actix, tokio, sockets, clocks or randomness. Callers pass `now` and act on what
//! each method returns.
//!
//! # The merge rules
//!
//! A record is identified by its `(Hostname, ID)` and versioned by its `Updated` time, which
//! only its origin sets. [`Catalog::apply`] keeps, for each record, the version with the
//! newest `Updated`; on an exact tie the higher status precedence (TOMBSTONE > UNHEALTHY >
//! UNKNOWN > DRAINING > ALIVE) and then the greater record win, so the outcome never depends
//! on the order in which versions arrive. Records older than the tombstone lifespan plus one
//! minute are dropped on arrival, and records stamped later than `now` plus the allowed clock
//! skew ([`Lifespans::max_skew`], 5 min) are refused as from the future: such a version would
//! win every merge for as long as it existed. Applying records is therefore commutative,
//! associative and idempotent (`tests/catalog_laws.rs` checks it). One limit: `LastChanged`
//! follows arrival order (a record first seen at its newest version is "new" then).
//!
//! # Versions are bounded wall-clock times, not a hybrid logical clock
//!
//! A hybrid logical clock would move every node's clock up to the newest version it hears,
//! so one forged or fast version would drag the whole cluster's versions ahead; it needs the
//! same bound on what it accepts, and past that it only adds a counter, which "1 ns past the
//! held version" already gives. Bounded wall-clock versions keep `Updated` a real time in the
//! API (as in Go) and make a node with a wrong clock harm only its own records: a node whose
//! clock runs ahead by more than the bound has its changes refused until it is corrected,
//! one whose clock is behind by more refuses its peers' changes until then. Steps within
//! the bound change nothing.
//!
//! # This node's own records
//!
//! A node always wins on its own records. It stamps them `now`, or 1 ns past the held version
//! when that is not older ([`Catalog::sync_local`]), and a peer's version of one that would
//! replace it with something else is overruled by a re-stamp past it
//! ([`Catalog::apply_remote`]): a peer holds versions at most one skew ahead, so the re-stamp
//! never saturates. An own version more than twice the skew ahead of `now` was stamped by a
//! clock that has since stepped back; peers in step refused it, so the record is stamped anew
//! at `now` rather than kept out of the cluster until the clock catches up.
//!
//! # Drains
//!
//! [`Catalog::drain`] makes one of this node's records DRAINING, and the local sync stamps it
//! DRAINING while discovery reports it ALIVE, until it is tombstoned (the container went
//! away, the static entry was removed): a container restarted under the same ID, or an entry
//! added again, comes back ALIVE, as in Go. Peers just hold the newest version: a stale
//! DRAINING copy never drains a newer record, and an older or equal-version ALIVE never
//! replaces a DRAINING one.
//!
//! # Lifespans
//!
//! ALIVE, UNHEALTHY and UNKNOWN records not heard of for 80 s, and DRAINING ones for 10
//! minutes, become tombstones stamped one second after their last version
//! ([`Catalog::expire`]); tombstones are deleted after 3 hours. A record is heard of at its
//! `Updated` (or at its arrival, if it came dated later than that) and whenever the membership
//! vouches for its host ([`Catalog::vouch`]), so a live member's records never expire, however
//! long they stay unchanged, and a host that is not a member cannot keep records alive with
//! a future date. A record gets a new version only when it changed or its two-hourly refresh
//! is due (a steady node has nothing to announce). `LastUpdated` and `LastChanged` only move
//! forward.
//!
//! ```
//! use sidecar::catalog::{Catalog, Lifespans, Service, ServiceStatus};
//! use sidecar::clock::Timestamp;
//!
//! let now = Timestamp::parse("2026-11-23T08:00:00Z").unwrap();
//! let mut catalog = Catalog::new("node-a", "default", Lifespans::default());
//! let web = Service { id: "abc".into(), name: "web".into(), hostname: "node-b".into(),
//!                     updated: now, ..Service::default() };
//! assert!(catalog.apply(web.clone(), now).into_change().is_some()); // new record
//! let older = Service { status: ServiceStatus::Unhealthy,
//!                       updated: now.minus(std::time::Duration::from_secs(1)), ..web };
//! assert!(catalog.apply(older, now).into_change().is_none());     // older: ignored
//! assert_eq!(catalog.state().get("node-b", "abc").unwrap().status, ServiceStatus::Alive);
//! ```

pub(crate) mod go_json;
pub mod hearsay;
pub mod server;
pub mod service;
pub mod snapshot;
pub mod state;
pub mod view;

#[cfg(test)]
mod tests;

pub use server::{ChangeEvent, Server, ServicesState, StateChangedEvent};
pub use service::{Port, Service, ServiceStatus};
pub use snapshot::Snapshot;
pub use state::{Applied, Catalog, DrainError, Lifespans, LocalSync, RecordKey};
