//! [`Snapshot`]: an immutable view of the catalogue, published by the StateKeeper after every
//! change and shared (as `Arc<Snapshot>`) by every reader.
//!
//! Each JSON encoding is computed at most once per snapshot, on first use, so a thousand
//! readers of the same version cost one serialisation. Pure: no I/O.

use std::sync::OnceLock;

use bytes::Bytes;
use serde::Serialize;

use super::server::ServicesState;
use super::view::{ApiServices, by_service};

/// One published version of the catalogue.
#[derive(Debug)]
pub struct Snapshot {
    state: ServicesState,
    members: Vec<String>,
    version: u64,
    change_version: u64,
    state_json: OnceLock<Option<Bytes>>,
    services_json: OnceLock<Option<Bytes>>,
    by_service_json: OnceLock<Option<Bytes>>,
}

impl Snapshot {
    /// A snapshot of `state` with the live `members` (sorted by the caller). `version`
    /// increases with every publication; `change_version` only when a status changed.
    pub fn new(
        state: ServicesState,
        members: Vec<String>,
        version: u64,
        change_version: u64,
    ) -> Snapshot {
        Snapshot {
            state,
            members,
            version,
            change_version,
            state_json: OnceLock::new(),
            services_json: OnceLock::new(),
            by_service_json: OnceLock::new(),
        }
    }

    /// The snapshot before anything is known: no services, no members, version 0 (served
    /// until the first publication).
    pub fn empty(hostname: &str, cluster_name: &str) -> Snapshot {
        Snapshot::new(ServicesState::new(hostname, cluster_name), Vec::new(), 0, 0)
    }

    /// The catalogue.
    pub fn state(&self) -> &ServicesState {
        &self.state
    }

    /// Live cluster members by node name.
    pub fn members(&self) -> &[String] {
        &self.members
    }

    /// Increases with every publication.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Increases when a record appeared or changed status (what `/api/watch` streams).
    pub fn change_version(&self) -> u64 {
        self.change_version
    }

    /// `/api/state.json`: the state, compact. `None` only if encoding failed.
    pub fn state_json(&self) -> Option<Bytes> {
        cached(&self.state_json, || compact(&self.state))
    }

    /// `/api/services.json`: all services with members, indented by two spaces.
    pub fn services_json(&self) -> Option<Bytes> {
        cached(&self.services_json, || {
            pretty(&ApiServices::all(&self.state, &self.members))
        })
    }

    /// The `/api/watch` document: records by service name, compact.
    pub fn by_service_json(&self) -> Option<Bytes> {
        cached(&self.by_service_json, || compact(&by_service(&self.state)))
    }

    /// `/api/services/<name>.json`, indented; `None` when no record has that name.
    pub fn service_json(&self, name: &str) -> Option<Bytes> {
        ApiServices::one(&self.state, name).and_then(|view| pretty(&view))
    }
}

fn cached(cell: &OnceLock<Option<Bytes>>, encode: impl FnOnce() -> Option<Bytes>) -> Option<Bytes> {
    cell.get_or_init(encode).clone()
}

fn compact<T: Serialize>(value: &T) -> Option<Bytes> {
    serde_json::to_vec(value).ok().map(Bytes::from)
}

fn pretty<T: Serialize>(value: &T) -> Option<Bytes> {
    serde_json::to_vec_pretty(value).ok().map(Bytes::from)
}
