//! Envoy's old v1 REST API, for tooling that still reads it (docs/COMPATIBILITY.md §18):
//! `/v1/registration/<name>:<port>`, `/v1/clusters`, `/v1/listeners`. The bodies are built by
//! [`crate::xds::v1`]; with `HAPROXY_USE_HOSTNAMES`, hostnames are resolved here, each within
//! [`RESOLVE_TIMEOUT`], and an unresolved one falls back to its port IP.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use actix_web::{HttpResponse, web};

use super::error::{ApiError, Cors};
use super::state::ApiState;
use crate::xds::v1;

/// How long one hostname lookup may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /v1/registration/{name}:{port}`: the ALIVE hosts of that service port.
pub(super) async fn registration(
    api: web::Data<ApiState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (service, port) = v1::parse_name(&name).map_err(ApiError::envoy_v1)?;
    let snapshot = api.snapshot();
    let options = api.envoy_v1();
    let mut resolved: BTreeMap<String, IpAddr> = BTreeMap::new();
    if options.use_hostnames {
        for (svc, _) in v1::registration_hosts(snapshot.state(), service, port) {
            if resolved.contains_key(&svc.hostname) {
                continue;
            }
            if let Some(address) = resolve(&svc.hostname).await {
                resolved.insert(svc.hostname.clone(), address);
            }
        }
    }
    let body = v1::registration(snapshot.state(), service, port, options, &|host| {
        resolved.get(host).copied()
    });
    json(body)
}

/// `GET /v1/clusters[/{cluster}/{node}]`.
pub(super) async fn clusters(api: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    json(v1::clusters(api.snapshot().state()))
}

/// `GET /v1/listeners[/{cluster}/{node}]`.
pub(super) async fn listeners(api: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    json(v1::listeners(api.snapshot().state(), api.envoy_v1()))
}

fn json(body: Result<String, serde_json::Error>) -> Result<HttpResponse, ApiError> {
    let body = body.map_err(|_| ApiError::encoding(Cors::Omitted))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

async fn resolve(host: &str) -> Option<IpAddr> {
    let lookup = tokio::net::lookup_host((host, 0));
    let mut found = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
        .await
        .ok()?
        .ok()?;
    found.next().map(|a| a.ip())
}
