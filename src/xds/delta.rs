//! One incremental (delta) ADS stream: subscriptions, what Envoy has, nonces, ACK and NACK
//! (docs/COMPATIBILITY.md §18).
//!
//! Per type the stream remembers the version of every resource it sent (or Envoy said it had
//! when it reconnected), and sends only the resources whose version differs, plus the names of
//! those gone. As with state-of-the-world, one response per type is in flight at a time; changes
//! that arrive meanwhile go out together when Envoy answers. A rejected resource is not sent
//! again until it changes (Envoy keeps its last accepted version). Subscription changes apply
//! whatever the nonce says; a stale nonce acknowledges nothing.

use std::collections::{BTreeMap, BTreeSet};

use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, Resource,
};

use super::resources::{ResourceType, Resources};
use super::{MAX_NAMES_PER_TYPE, Received, Rejection, Sent, version_of};

/// The name that subscribes to every resource of a type.
const WILDCARD: &str = "*";

/// What a stream knows about one resource type.
#[derive(Clone, Debug, Default)]
struct TypeState {
    /// Subscribed to every resource.
    wildcard: bool,
    /// Names subscribed to explicitly.
    names: BTreeSet<String>,
    /// The version Envoy has of each resource, as far as this stream knows.
    known: BTreeMap<String, String>,
    /// The nonce of the response in flight.
    in_flight: Option<String>,
    /// Whether a first response was sent (Envoy waits for one, even empty).
    answered: bool,
}

/// One delta stream. See the [module docs](self).
#[derive(Debug, Default)]
pub struct DeltaStream {
    types: BTreeMap<ResourceType, TypeState>,
    nonces: u64,
}

impl DeltaStream {
    /// A stream that has received nothing yet.
    pub fn new() -> DeltaStream {
        DeltaStream::default()
    }

    /// Takes one request from Envoy: what it meant, and the response to send now, if any.
    pub fn on_request(
        &mut self,
        request: &DeltaDiscoveryRequest,
        resources: &Resources,
    ) -> (Received, Option<(DeltaDiscoveryResponse, Sent)>) {
        let Some(kind) = ResourceType::from_type_url(&request.type_url) else {
            return (Received::UnknownType(request.type_url.clone()), None);
        };
        let state = self.types.entry(kind).or_default();
        let first = !state.answered && state.in_flight.is_none();
        if state.names.len() + request.resource_names_subscribe.len() > MAX_NAMES_PER_TYPE
            || request.initial_resource_versions.len() > MAX_NAMES_PER_TYPE
        {
            return (Received::TooManyNames(kind), None);
        }
        let received = acknowledge(kind, state, request);
        subscribe(state, request, first);
        let response = self.respond(kind, resources);
        (received, response)
    }

    /// The resources changed: the responses to send now, in push order.
    pub fn on_resources(&mut self, resources: &Resources) -> Vec<(DeltaDiscoveryResponse, Sent)> {
        ResourceType::ALL
            .into_iter()
            .filter_map(|kind| self.respond(kind, resources))
            .collect()
    }

    /// The version this stream believes Envoy has of each resource of `kind`.
    pub fn known(&self, kind: ResourceType) -> BTreeMap<String, String> {
        self.types
            .get(&kind)
            .map(|s| s.known.clone())
            .unwrap_or_default()
    }

    /// Sends what differs between `resources` and what Envoy has, unless a response is in
    /// flight or nothing differs (and a first response was sent).
    fn respond(
        &mut self,
        kind: ResourceType,
        resources: &Resources,
    ) -> Option<(DeltaDiscoveryResponse, Sent)> {
        let state = self.types.get_mut(&kind)?;
        if state.in_flight.is_some() {
            return None;
        }
        let all = resources.of(kind);
        let wanted = |name: &String| state.wildcard || state.names.contains(name);
        let changed: Vec<Resource> = all
            .iter()
            .filter(|(name, entry)| wanted(name) && state.known.get(*name) != Some(&entry.version))
            .map(|(name, entry)| Resource {
                name: name.clone(),
                version: entry.version.clone(),
                resource: Some(entry.body.clone()),
                ..Default::default()
            })
            .collect();
        let removed: Vec<String> = state
            .known
            .keys()
            .filter(|name| !all.contains_key(*name))
            .cloned()
            .collect();
        if changed.is_empty() && removed.is_empty() && state.answered {
            return None;
        }
        for resource in &changed {
            state
                .known
                .insert(resource.name.clone(), resource.version.clone());
        }
        for name in &removed {
            state.known.remove(name);
        }
        self.nonces += 1;
        let nonce = self.nonces.to_string();
        state.in_flight = Some(nonce.clone());
        state.answered = true;
        let parts: Vec<&[u8]> = state
            .known
            .iter()
            .flat_map(|(name, version)| [name.as_bytes(), version.as_bytes()])
            .collect();
        let sent = Sent {
            kind,
            version: version_of(&parts),
            names: changed.iter().map(|r| r.name.clone()).collect(),
            removed: removed.clone(),
        };
        let response = DeltaDiscoveryResponse {
            system_version_info: sent.version.clone(),
            resources: changed,
            type_url: kind.type_url().to_owned(),
            removed_resources: removed,
            nonce,
            ..Default::default()
        };
        Some((response, sent))
    }
}

/// What the request says about the response in flight.
fn acknowledge(
    kind: ResourceType,
    state: &mut TypeState,
    request: &DeltaDiscoveryRequest,
) -> Received {
    if request.response_nonce.is_empty() {
        return Received::Subscribed(kind);
    }
    if state.in_flight.as_deref() != Some(request.response_nonce.as_str()) {
        return Received::Stale(kind);
    }
    state.in_flight = None;
    match &request.error_detail {
        Some(status) => Received::Rejected(Rejection {
            kind,
            version: request.response_nonce.clone(),
            code: status.code,
            message: status.message.clone(),
        }),
        None => Received::Accepted(kind, request.response_nonce.clone()),
    }
}

/// Applies the request's subscription changes. A first request that names nothing subscribes
/// to everything (the legacy wildcard); its initial versions are what Envoy already has.
fn subscribe(state: &mut TypeState, request: &DeltaDiscoveryRequest, first: bool) {
    if first {
        state.wildcard = request.resource_names_subscribe.is_empty();
        state.known = request
            .initial_resource_versions
            .clone()
            .into_iter()
            .collect();
    }
    for name in &request.resource_names_subscribe {
        match name.as_str() {
            WILDCARD => state.wildcard = true,
            _ => {
                state.names.insert(name.clone());
            }
        }
    }
    for name in &request.resource_names_unsubscribe {
        match name.as_str() {
            WILDCARD => state.wildcard = false,
            _ => {
                state.names.remove(name);
                if !state.wildcard {
                    state.known.remove(name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
