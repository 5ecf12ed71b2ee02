//! The bodies of Envoy's old v1 REST API, as Go Sidecar wrote them (docs/COMPATIBILITY.md §18):
//! `/v1/registration/<name>:<port>` (SDS), `/v1/clusters` (CDS) and `/v1/listeners` (LDS).
//! They use the HAProxy settings (`HAPROXY_BIND_IP`, `HAPROXY_USE_HOSTNAMES`), as Go did.
//!
//! Pure: hostnames are resolved by the caller.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::resources::alive_by_age;
use crate::catalog::{Service, ServicesState};

/// What the v1 bodies are built with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V1Options {
    /// `HAPROXY_BIND_IP`: the address in the listeners (`tcp://<ip>:<port>`), as given.
    pub bind_ip: String,
    /// `HAPROXY_USE_HOSTNAMES`: hosts are the records' hostnames, resolved.
    pub use_hostnames: bool,
}

/// Why a registration path is refused (404, with Go's message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum V1Error {
    /// No `:` in the name.
    #[error("Not Found - Unable to split service name and port!")]
    NoPort,
    /// The text after the `:` is not a number.
    #[error("Not Found - Unable to parse port!")]
    BadPort,
}

/// `<name>:<port>` split as Go did (on `:`, the second part parsed).
pub fn parse_name(text: &str) -> Result<(&str, i64), V1Error> {
    let mut parts = text.split(':');
    let name = parts.next().unwrap_or_default();
    let port = parts.next().ok_or(V1Error::NoPort)?;
    Ok((name, port.parse().map_err(|_| V1Error::BadPort)?))
}

/// One host of a registration, keys in Go's order.
#[derive(Serialize)]
struct Host<'a> {
    ip_address: String,
    last_check_in: String,
    port: i64,
    revision: &'a str,
    service: String,
    service_repo_name: &'a str,
    tags: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Registration<'a> {
    env: &'a str,
    hosts: Vec<Host<'a>>,
    service: String,
}

/// The ALIVE records named `name` with a port on `service_port`, each with that port (the
/// first match): the hosts of a registration.
pub fn registration_hosts<'a>(
    state: &'a ServicesState,
    name: &str,
    service_port: i64,
) -> Vec<(&'a Service, &'a crate::catalog::Port)> {
    alive_by_age(state)
        .into_iter()
        .filter(|svc| svc.name == name)
        .filter_map(|svc| {
            let port = svc
                .ports()
                .iter()
                .find(|p| p.service_port == service_port)?;
            Some((svc, port))
        })
        .collect()
}

/// The body of `/v1/registration/<name>:<service_port>`. With `use_hostnames`, `resolve` gives
/// each record's address (its port IP when it does not resolve).
pub fn registration(
    state: &ServicesState,
    name: &str,
    service_port: i64,
    options: &V1Options,
    resolve: &dyn Fn(&str) -> Option<IpAddr>,
) -> Result<String, serde_json::Error> {
    let service = format!("{name}:{service_port}");
    let hosts = registration_hosts(state, name, service_port)
        .into_iter()
        .map(|(svc, port)| Host {
            ip_address: match options.use_hostnames {
                true => resolve(&svc.hostname).map_or_else(|| port.ip.clone(), |a| a.to_string()),
                false => port.ip.clone(),
            },
            last_check_in: svc.updated.go_string(),
            port: port.port,
            revision: svc.version(),
            service: service.clone(),
            service_repo_name: &svc.image,
            tags: BTreeMap::new(),
        })
        .collect();
    serde_json::to_string(&Registration {
        env: &state.cluster_name,
        hosts,
        service,
    })
}

/// The first ALIVE instance of each service name (oldest `Updated`), and its service ports.
fn exported(state: &ServicesState) -> Vec<(String, &Service, i64)> {
    let mut first: BTreeMap<&str, &Service> = BTreeMap::new();
    for svc in alive_by_age(state) {
        first.entry(&svc.name).or_insert(svc);
    }
    first
        .into_values()
        .flat_map(|svc| {
            svc.ports()
                .iter()
                .filter(|p| p.service_port >= 1)
                .map(move |p| {
                    (
                        format!("{}:{}", svc.name, p.service_port),
                        svc,
                        p.service_port,
                    )
                })
        })
        .collect()
}

#[derive(Serialize)]
struct V1Cluster {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    connect_timeout_ms: u32,
    lb_type: &'static str,
    service_name: String,
}

/// The body of `/v1/clusters`.
pub fn clusters(state: &ServicesState) -> Result<String, serde_json::Error> {
    let clusters: Vec<V1Cluster> = exported(state)
        .into_iter()
        .map(|(name, _, _)| V1Cluster {
            service_name: name.clone(),
            name,
            kind: "sds",
            connect_timeout_ms: 500,
            lb_type: "round_robin",
        })
        .collect();
    #[derive(Serialize)]
    struct Clusters {
        clusters: Vec<V1Cluster>,
    }
    serde_json::to_string(&Clusters { clusters })
}

/// The body of `/v1/listeners`, byte for byte as Go wrote it (its filter configs were text with
/// a space after two braces).
pub fn listeners(state: &ServicesState, options: &V1Options) -> Result<String, serde_json::Error> {
    let mut items = Vec::new();
    for (name, svc, service_port) in exported(state) {
        let quoted = serde_json::to_string(&name)?;
        let filter = match svc.proxy_mode.as_str() {
            "http" => format!(
                r#"{{"name":"envoy.http_connection_manager","config":{{ "codec_type":"auto","stat_prefix":"ingress_http","route_config":{{ "virtual_hosts":[{{"name":{},"domains":["*"],"routes":[{{"timeout_ms":0,"prefix":"/","host_rewrite":"","cluster":{quoted}}}]}}]}},"filters":[{{"name":"router","config":{{}}}}]}}}}"#,
                serde_json::to_string(&svc.name)?
            ),
            _ => format!(
                r#"{{"name":"envoy.tcp_proxy","config":{{"stat_prefix":"ingress_tcp","route_config":{{"routes":[{{"cluster":{quoted}}}]}}}}}}"#
            ),
        };
        let address = serde_json::to_string(&format!("tcp://{}:{service_port}", options.bind_ip))?;
        items.push(format!(
            r#"{{"name":{quoted},"address":{address},"filters":[{filter}]}}"#
        ));
    }
    Ok(format!(r#"{{"listeners":[{}]}}"#, items.join(",")))
}

#[cfg(test)]
mod tests;
