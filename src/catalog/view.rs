//! Read-only projections of a [`ServicesState`] in the shapes Go Sidecar's API writes
//! (docs/COMPATIBILITY.md §6–§7).
//!
//! Pure: borrows the state, allocates only the projection.

use std::collections::BTreeMap;

use serde::Serialize;

use super::server::ServicesState;
use super::service::Service;
use crate::clock::Timestamp;

/// Records grouped by service name (all statuses, tombstones included), each group sorted by
/// `Updated`, oldest first. The body of `/api/watch` and the `Services` of the API.
pub fn by_service(state: &ServicesState) -> BTreeMap<&str, Vec<&Service>> {
    let mut groups: BTreeMap<&str, Vec<&Service>> = BTreeMap::new();
    for svc in state.records() {
        groups.entry(svc.name.as_str()).or_default().push(svc);
    }
    for group in groups.values_mut() {
        group.sort_by_key(|s| s.updated);
    }
    groups
}

/// One member as `/api/services.json` lists it under `ClusterMembers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterMember<'a> {
    /// The member's node name.
    #[serde(rename = "Name")]
    pub name: &'a str,
    /// Its server's `LastUpdated`, or the epoch when it has no records.
    #[serde(rename = "LastUpdated")]
    pub last_updated: Timestamp,
    /// How many records (all statuses) it has.
    #[serde(rename = "ServiceCount")]
    pub service_count: usize,
}

/// The body of `/api/services.json` (with members) and `/api/services/<name>.json` (without).
#[derive(Clone, Debug, Serialize)]
pub struct ApiServices<'a> {
    /// Records by service name.
    #[serde(rename = "Services")]
    pub services: BTreeMap<&'a str, Vec<&'a Service>>,
    /// Live members; omitted when empty (as Go's `omitempty`).
    #[serde(rename = "ClusterMembers", skip_serializing_if = "BTreeMap::is_empty")]
    pub cluster_members: BTreeMap<&'a str, ClusterMember<'a>>,
    /// The cluster's name.
    #[serde(rename = "ClusterName")]
    pub cluster_name: &'a str,
}

impl<'a> ApiServices<'a> {
    /// Every service, with the given live members.
    pub fn all(state: &'a ServicesState, members: &'a [String]) -> ApiServices<'a> {
        let cluster_members = members
            .iter()
            .map(|name| (name.as_str(), cluster_member(state, name)))
            .collect();
        ApiServices {
            services: by_service(state),
            cluster_members,
            cluster_name: &state.cluster_name,
        }
    }

    /// Only the records named `name`, without members; `None` when there are none.
    pub fn one(state: &'a ServicesState, name: &str) -> Option<ApiServices<'a>> {
        let group: Vec<&Service> = by_service(state).remove(name)?;
        let key = group.first().map(|s| s.name.as_str())?;
        Some(ApiServices {
            services: BTreeMap::from([(key, group)]),
            cluster_members: BTreeMap::new(),
            cluster_name: &state.cluster_name,
        })
    }
}

fn cluster_member<'a>(state: &ServicesState, name: &'a str) -> ClusterMember<'a> {
    let server = state.servers.get(name);
    ClusterMember {
        name,
        last_updated: server.map_or(Timestamp::EPOCH, |s| s.last_updated),
        service_count: server.map_or(0, |s| s.services.len()),
    }
}
