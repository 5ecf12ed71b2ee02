//! The serialisable catalogue: [`ServicesState`] holds one [`Server`] bucket per host, in the exact
//! JSON shape of Go Sidecar's `/api/state.json` (docs/COMPATIBILITY.md §4), and [`ChangeEvent`]
//! (the same section).
//!
//! Pure data: the merge rules live in [`super::Catalog`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::service::{Service, ServiceStatus};
use crate::clock::Timestamp;

/// The records of one host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Server {
    /// The hostname.
    #[serde(rename = "Name", default)]
    pub name: String,
    /// Records by service ID.
    #[serde(rename = "Services", default)]
    pub services: BTreeMap<String, Service>,
    /// The newest `Updated` of any record accepted for this host.
    #[serde(rename = "LastUpdated", default)]
    pub last_updated: Timestamp,
    /// The newest `Updated` of any record of this host that changed status.
    #[serde(rename = "LastChanged", default)]
    pub last_changed: Timestamp,
}

impl Server {
    /// An empty bucket; both times start at the Unix epoch, as in Go.
    pub fn new(name: &str) -> Server {
        Server {
            name: name.to_owned(),
            services: BTreeMap::new(),
            last_updated: Timestamp::EPOCH,
            last_changed: Timestamp::EPOCH,
        }
    }
}

/// The whole catalogue as Go writes it (`/api/state.json`, the listener event `State`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicesState {
    /// Buckets by hostname.
    #[serde(rename = "Servers", default)]
    pub servers: BTreeMap<String, Server>,
    /// The newest `Updated` of any record that changed status anywhere.
    #[serde(rename = "LastChanged", default)]
    pub last_changed: Timestamp,
    /// `SIDECAR_CLUSTER_NAME`.
    #[serde(rename = "ClusterName", default)]
    pub cluster_name: String,
    /// This node's name.
    #[serde(rename = "Hostname", default)]
    pub hostname: String,
}

impl ServicesState {
    /// An empty catalogue for node `hostname` in cluster `cluster_name`.
    pub fn new(hostname: &str, cluster_name: &str) -> ServicesState {
        ServicesState {
            servers: BTreeMap::new(),
            last_changed: Timestamp::EPOCH,
            cluster_name: cluster_name.to_owned(),
            hostname: hostname.to_owned(),
        }
    }

    /// Holds `svc` under its host as it is, replacing a record with its ID, no merge rule
    /// applied (tests and fixtures; the catalogue's rules are [`super::Catalog::apply`]'s).
    pub fn insert(&mut self, svc: Service) {
        let server = self
            .servers
            .entry(svc.hostname.clone())
            .or_insert_with(|| Server::new(&svc.hostname));
        server.services.insert(svc.id.clone(), svc);
    }

    /// The record `id` of host `hostname`, if held.
    pub fn get(&self, hostname: &str, id: &str) -> Option<&Service> {
        self.servers.get(hostname)?.services.get(id)
    }

    /// Every record of every host, hosts in name order, records in ID order.
    pub fn records(&self) -> impl Iterator<Item = &Service> {
        self.servers.values().flat_map(|s| s.services.values())
    }

    /// How many records (all statuses) are held.
    pub fn len(&self) -> usize {
        self.servers.values().map(|s| s.services.len()).sum()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.servers.values().all(|s| s.services.is_empty())
    }
}

/// A record changed status (or appeared): what listeners and watchers are told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// The record after the change.
    #[serde(rename = "Service")]
    pub service: Service,
    /// Its status before; UNKNOWN for a record not held before.
    #[serde(rename = "PreviousStatus")]
    pub previous_status: ServiceStatus,
    /// When it changed: the record's `Updated`.
    #[serde(rename = "Time")]
    pub time: Timestamp,
}

/// The body POSTed to listeners: the whole state and the change (docs/COMPATIBILITY.md §12).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChangedEvent {
    /// The catalogue after the change.
    #[serde(rename = "State")]
    pub state: ServicesState,
    /// What changed.
    #[serde(rename = "ChangeEvent")]
    pub change_event: ChangeEvent,
}
