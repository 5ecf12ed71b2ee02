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
//! UNKNOWN > DRAINING = ALIVE) and then the greater record win, so the outcome never depends
//! on the order in which versions arrive. DRAINING is sticky against ALIVE: once any version of
//! a record was DRAINING, an ALIVE version is held as DRAINING (UNHEALTHY, UNKNOWN and
//! TOMBSTONE still replace it). Records older than the tombstone lifespan plus one minute are
//! dropped on arrival. Applying records is therefore commutative, associative and idempotent
//! (`tests/catalog_laws.rs` checks it). Two limits: `LastChanged` follows arrival order (a
//! record first seen at its newest version is "new" then), and a merged state cannot pass on
//! a DRAINING version it holds under a newer UNHEALTHY, UNKNOWN or TOMBSTONE one, since the
//! drained set is not part of the JSON.
//!
//! Lifespans ([`Lifespans`]): ALIVE, UNHEALTHY and UNKNOWN records not heard of for 80 s, and
//! DRAINING ones for 10 minutes, become tombstones stamped one second after their last
//! version ([`Catalog::expire`]); tombstones are deleted after 3 hours. A record is heard of
//! at its `Updated` and whenever the membership vouches for its host ([`Catalog::vouch`]), so
//! a live member's records never expire, however long they stay unchanged. This node's own
//! records are kept in line with discovery by [`Catalog::sync_local`], which gives a record a
//! new version only when it changed or its two-hourly refresh is due (a steady node has
//! nothing to announce), tombstones what discovery no longer reports, and never lets a peer's
//! version overrule this node on its own records ([`Catalog::apply_remote`]). `LastUpdated`
//! and `LastChanged` only move forward.
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
