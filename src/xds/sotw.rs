//! One state-of-the-world ADS stream: versions, nonces, ACK and NACK (docs/COMPATIBILITY.md
//! §18).
//!
//! Per type, at most one response is in flight: a response answers an open request, and the
//! next request (Envoy's ACK or NACK, which carries the response's nonce) opens the next one.
//! So a stream holds only its subscription and a few versions, and a slow Envoy simply sees
//! fewer, newer responses. A response's version is the hash of what it carries: a type is sent
//! again only when its content for this stream changed, never a version Envoy rejected (it keeps
//! its last accepted one), and always for a stream's first request of a type. Requests answering
//! an older response (stale nonces) are ignored, as the protocol says.

use std::collections::{BTreeMap, BTreeSet};

use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};

use super::resources::{ResourceType, Resources};
use super::{MAX_NAMES_PER_TYPE, Received, Rejection, Sent, version_of};

/// What a stream knows about one resource type.
#[derive(Clone, Debug, Default)]
struct TypeState {
    /// The names asked for; `None` for all of them (the wildcard of CDS and LDS).
    names: Option<BTreeSet<String>>,
    /// The nonce and version of the latest response sent.
    sent: Option<(String, String)>,
    /// The version Envoy last accepted.
    accepted: Option<String>,
    /// The version Envoy last rejected: not sent again.
    rejected: Option<String>,
    /// Envoy has a request this stream has not answered yet.
    open: bool,
}

/// One state-of-the-world stream. See the [module docs](self).
#[derive(Debug, Default)]
pub struct SotwStream {
    types: BTreeMap<ResourceType, TypeState>,
    nonces: u64,
}

impl SotwStream {
    /// A stream that has received nothing yet.
    pub fn new() -> SotwStream {
        SotwStream::default()
    }

    /// Takes one request from Envoy: what it meant, and the response to send now, if any.
    pub fn on_request(
        &mut self,
        request: &DiscoveryRequest,
        resources: &Resources,
    ) -> (Received, Option<(DiscoveryResponse, Sent)>) {
        let Some(kind) = ResourceType::from_type_url(&request.type_url) else {
            return (Received::UnknownType(request.type_url.clone()), None);
        };
        if request.resource_names.len() > MAX_NAMES_PER_TYPE {
            return (Received::TooManyNames(kind), None);
        }
        let state = self.types.entry(kind).or_default();
        let first = request.response_nonce.is_empty();
        let received = match (&state.sent, first) {
            (_, true) => Received::Subscribed(kind),
            (Some((nonce, version)), false) if *nonce == request.response_nonce => {
                match &request.error_detail {
                    Some(status) => {
                        state.rejected = Some(version.clone());
                        Received::Rejected(Rejection {
                            kind,
                            version: version.clone(),
                            code: status.code,
                            message: status.message.clone(),
                        })
                    }
                    None => {
                        state.accepted = Some(version.clone());
                        Received::Accepted(kind, version.clone())
                    }
                }
            }
            _ => return (Received::Stale(kind), None),
        };
        let names = subscription(kind, &request.resource_names);
        let resubscribed = state.names != names;
        state.names = names;
        state.open = true;
        let must_answer = first || resubscribed;
        let response = self.respond(kind, resources, must_answer);
        (received, response)
    }

    /// The resources changed: the responses to send now, in push order.
    pub fn on_resources(&mut self, resources: &Resources) -> Vec<(DiscoveryResponse, Sent)> {
        ResourceType::ALL
            .into_iter()
            .filter_map(|kind| self.respond(kind, resources, false))
            .collect()
    }

    /// The version Envoy last accepted for `kind`, if any.
    pub fn accepted(&self, kind: ResourceType) -> Option<&str> {
        self.types.get(&kind)?.accepted.as_deref()
    }

    /// Answers the open request of `kind` if its content changed (or `always`).
    fn respond(
        &mut self,
        kind: ResourceType,
        resources: &Resources,
        always: bool,
    ) -> Option<(DiscoveryResponse, Sent)> {
        let state = self.types.get_mut(&kind)?;
        if !state.open {
            return None;
        }
        let chosen: Vec<(&String, &super::resources::Entry)> = resources
            .of(kind)
            .iter()
            .filter(|(name, _)| state.names.as_ref().is_none_or(|n| n.contains(*name)))
            .collect();
        let parts: Vec<&[u8]> = chosen
            .iter()
            .flat_map(|(name, entry)| [name.as_bytes(), entry.version.as_bytes()])
            .collect();
        let version = version_of(&parts);
        let unchanged = state.sent.as_ref().is_some_and(|(_, v)| *v == version)
            || state.rejected.as_deref() == Some(&version);
        if unchanged && !always {
            return None;
        }
        self.nonces += 1;
        let nonce = self.nonces.to_string();
        state.sent = Some((nonce.clone(), version.clone()));
        state.open = false;
        let sent = Sent {
            kind,
            version: version.clone(),
            names: chosen.iter().map(|(name, _)| (*name).clone()).collect(),
            removed: Vec::new(),
        };
        let response = DiscoveryResponse {
            version_info: version,
            resources: chosen.into_iter().map(|(_, e)| e.body.clone()).collect(),
            type_url: kind.type_url().to_owned(),
            nonce,
            ..Default::default()
        };
        Some((response, sent))
    }
}

/// The names a request subscribes to; `None` for all: `*` anywhere, or (for CDS and LDS, the
/// legacy wildcard) no name at all. An explicit list for CDS or LDS is honoured too.
fn subscription(kind: ResourceType, names: &[String]) -> Option<BTreeSet<String>> {
    let wildcard = names.iter().any(|n| n == "*");
    let legacy = names.is_empty() && kind != ResourceType::Endpoint;
    (!wildcard && !legacy).then(|| names.iter().cloned().collect())
}

#[cfg(test)]
mod tests;
