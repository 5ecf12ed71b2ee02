//! The clusters, endpoints and listeners one catalogue makes for Envoy (docs/COMPATIBILITY.md
//! §18), each encoded once and versioned by its bytes.
//!
//! Only ALIVE records count, taken oldest `Updated` first. Each port with a service port in
//! 1–65535 names a resource `<service>:<ServicePort>`: an EDS cluster, its load assignment
//! (every ALIVE instance's ports with that service port) and a listener on
//! `ENVOY_BIND_IP:<ServicePort>` made from the first instance's proxy mode. The first service
//! name seen on a service port owns it: other names on that port are skipped (the port-collision
//! guard). Pure: hostnames are resolved by the caller.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};
use envoy_types::pb::envoy::config::core::v3::{
    Address, AggregatedConfigSource, ApiVersion, ConfigSource, SocketAddress, address,
    config_source, socket_address,
};
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints, lb_endpoint,
};
use envoy_types::pb::envoy::config::listener::v3::{Filter, FilterChain, Listener, filter};
use envoy_types::pb::envoy::config::route::v3::{
    Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost, route, route_action,
    route_match,
};
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, http_connection_manager, http_filter,
};
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3::{TcpProxy, tcp_proxy};
use envoy_types::pb::google::protobuf::{Any, BoolValue, Duration};
use envoy_types::util::pack_any;

use crate::catalog::{Service, ServiceStatus, ServicesState};

/// The three resource types served, in the order a change is pushed (clusters before their
/// endpoints, both before the listeners that route to them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    /// `envoy.config.cluster.v3.Cluster` (CDS).
    Cluster,
    /// `envoy.config.endpoint.v3.ClusterLoadAssignment` (EDS).
    Endpoint,
    /// `envoy.config.listener.v3.Listener` (LDS).
    Listener,
}

impl ResourceType {
    /// Every type, in push order.
    pub const ALL: [ResourceType; 3] = [
        ResourceType::Cluster,
        ResourceType::Endpoint,
        ResourceType::Listener,
    ];

    /// The type URL in requests, responses and `Any`s.
    pub fn type_url(self) -> &'static str {
        match self {
            ResourceType::Cluster => "type.googleapis.com/envoy.config.cluster.v3.Cluster",
            ResourceType::Endpoint => {
                "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
            }
            ResourceType::Listener => "type.googleapis.com/envoy.config.listener.v3.Listener",
        }
    }

    /// The type of a type URL; `None` for types not served.
    pub fn from_type_url(url: &str) -> Option<ResourceType> {
        ResourceType::ALL.into_iter().find(|t| t.type_url() == url)
    }

    /// A short name for logs and the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Cluster => "clusters",
            ResourceType::Endpoint => "endpoints",
            ResourceType::Listener => "listeners",
        }
    }
}

/// One resource, encoded, with the version of its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// 16 hex digits of the encoding's hash: equal bytes, equal version.
    pub version: String,
    /// The resource.
    pub body: Any,
}

impl Entry {
    fn new(body: Any) -> Entry {
        Entry {
            version: super::version_of(&[&body.value]),
            body,
        }
    }
}

/// Every resource of one catalogue, by type and name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resources {
    clusters: BTreeMap<String, Entry>,
    endpoints: BTreeMap<String, Entry>,
    listeners: BTreeMap<String, Entry>,
}

impl Resources {
    /// The resources of one type, by name.
    pub fn of(&self, kind: ResourceType) -> &BTreeMap<String, Entry> {
        match kind {
            ResourceType::Cluster => &self.clusters,
            ResourceType::Endpoint => &self.endpoints,
            ResourceType::Listener => &self.listeners,
        }
    }

    /// How many resources of each type: (clusters, endpoints, listeners).
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.clusters.len(),
            self.endpoints.len(),
            self.listeners.len(),
        )
    }
}

/// What the resources are built with (`ENVOY_BIND_IP`, `ENVOY_USE_HOSTNAMES`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XdsOptions {
    /// The address Envoy's listeners bind.
    pub bind_ip: IpAddr,
    /// Endpoints are the records' hostnames, resolved, rather than the ports' IPs.
    pub use_hostnames: bool,
}

/// A service port already owned by another service name: the squatter's port was skipped.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Collision {
    /// The service that was skipped.
    pub service: String,
    /// The contested service port.
    pub service_port: u32,
    /// The service that owns it.
    pub owner: String,
}

/// What building left out, for the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildReport {
    /// Ports skipped by the port-collision guard.
    pub collisions: BTreeSet<Collision>,
    /// Resource names with a proxy mode that makes no listener, and that mode.
    pub unknown_modes: BTreeMap<String, String>,
    /// Hostnames that did not resolve: their ports' IPs were used.
    pub unresolved: BTreeSet<String>,
}

/// The resources of `state`. `resolve` gives a hostname's address when `use_hostnames` is on.
pub fn build(
    state: &ServicesState,
    options: &XdsOptions,
    resolve: &dyn Fn(&str) -> Option<IpAddr>,
) -> (Resources, BuildReport) {
    let mut report = BuildReport::default();
    let groups = group(state, options, resolve, &mut report);
    let mut resources = Resources::default();
    for (name, group) in groups {
        resources
            .clusters
            .insert(name.clone(), Entry::new(pack_any(eds_cluster(&name))));
        let endpoints = load_assignment(&name, &group.endpoints);
        resources
            .endpoints
            .insert(name.clone(), Entry::new(pack_any(endpoints)));
        match listener(
            &name,
            group.service,
            group.service_port,
            group.mode,
            options,
        ) {
            Some(listener) => {
                resources
                    .listeners
                    .insert(name, Entry::new(pack_any(listener)));
            }
            None => {
                report.unknown_modes.insert(name, group.mode.to_owned());
            }
        }
    }
    (resources, report)
}

/// The ALIVE records, oldest `Updated` first (ties broken by host and ID, so that the same
/// catalogue always builds the same resources).
pub fn alive_by_age(state: &ServicesState) -> Vec<&Service> {
    let mut alive: Vec<&Service> = state
        .records()
        .filter(|s| s.status == ServiceStatus::Alive)
        .collect();
    alive.sort_by(|a, b| (a.updated, &a.hostname, &a.id).cmp(&(b.updated, &b.hostname, &b.id)));
    alive
}

/// A service port as Envoy takes it, `None` for 0 (not exported) and out-of-range values.
pub fn valid_port(port: i64) -> Option<u32> {
    u32::try_from(port).ok().filter(|p| (1..=65535).contains(p))
}

/// What one resource name is made of.
struct Group<'a> {
    service: &'a str,
    service_port: u32,
    /// The proxy mode of the first instance seen.
    mode: &'a str,
    /// (address, port), sorted and without repeats.
    endpoints: BTreeSet<(String, u32)>,
}

fn group<'a>(
    state: &'a ServicesState,
    options: &XdsOptions,
    resolve: &dyn Fn(&str) -> Option<IpAddr>,
    report: &mut BuildReport,
) -> BTreeMap<String, Group<'a>> {
    let mut owners: BTreeMap<u32, &str> = BTreeMap::new();
    let mut groups: BTreeMap<String, Group<'a>> = BTreeMap::new();
    for svc in alive_by_age(state) {
        for port in svc.ports() {
            let Some(service_port) = valid_port(port.service_port) else {
                continue;
            };
            let owner = *owners.entry(service_port).or_insert(&svc.name);
            if owner != svc.name {
                report.collisions.insert(Collision {
                    service: svc.name.clone(),
                    service_port,
                    owner: owner.to_owned(),
                });
                continue;
            }
            let group = groups
                .entry(format!("{}:{service_port}", svc.name))
                .or_insert_with(|| Group {
                    service: &svc.name,
                    service_port,
                    mode: &svc.proxy_mode,
                    endpoints: BTreeSet::new(),
                });
            if let Some(port_value) = valid_port(port.port) {
                let address = endpoint_address(svc, &port.ip, options, resolve, report);
                group.endpoints.insert((address, port_value));
            }
        }
    }
    groups
}

fn endpoint_address(
    svc: &Service,
    ip: &str,
    options: &XdsOptions,
    resolve: &dyn Fn(&str) -> Option<IpAddr>,
    report: &mut BuildReport,
) -> String {
    if !options.use_hostnames {
        return ip.to_owned();
    }
    match resolve(&svc.hostname) {
        Some(address) => address.to_string(),
        None => {
            report.unresolved.insert(svc.hostname.clone());
            ip.to_owned()
        }
    }
}

fn socket(address: &str, port: u32) -> Address {
    Address {
        address: Some(address::Address::SocketAddress(SocketAddress {
            address: address.to_owned(),
            port_specifier: Some(socket_address::PortSpecifier::PortValue(port)),
            ..Default::default()
        })),
    }
}

/// `connect_timeout 0.5s`, type EDS over ADS, nothing else.
fn eds_cluster(name: &str) -> Cluster {
    Cluster {
        name: name.to_owned(),
        connect_timeout: Some(Duration {
            seconds: 0,
            nanos: 500_000_000,
        }),
        cluster_discovery_type: Some(cluster::ClusterDiscoveryType::Type(
            cluster::DiscoveryType::Eds as i32,
        )),
        eds_cluster_config: Some(cluster::EdsClusterConfig {
            eds_config: Some(ConfigSource {
                resource_api_version: ApiVersion::V3 as i32,
                config_source_specifier: Some(config_source::ConfigSourceSpecifier::Ads(
                    AggregatedConfigSource {},
                )),
                ..Default::default()
            }),
            service_name: String::new(),
        }),
        ..Default::default()
    }
}

fn load_assignment(name: &str, endpoints: &BTreeSet<(String, u32)>) -> ClusterLoadAssignment {
    let lb_endpoints = endpoints
        .iter()
        .map(|(address, port)| LbEndpoint {
            host_identifier: Some(lb_endpoint::HostIdentifier::Endpoint(Endpoint {
                address: Some(socket(address, *port)),
                ..Default::default()
            })),
            ..Default::default()
        })
        .collect();
    ClusterLoadAssignment {
        cluster_name: name.to_owned(),
        endpoints: vec![LocalityLbEndpoints {
            lb_endpoints,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The listener of `name` for proxy mode `mode`; `None` for a mode other than `http`, `ws` and
/// `tcp`.
fn listener(
    name: &str,
    service: &str,
    service_port: u32,
    mode: &str,
    options: &XdsOptions,
) -> Option<Listener> {
    let filter = match mode {
        "http" => http_filter_of(name, service, false),
        "ws" => http_filter_of(name, service, true),
        "tcp" => Filter {
            name: "envoy.filters.network.tcp_proxy".to_owned(),
            config_type: Some(filter::ConfigType::TypedConfig(pack_any(TcpProxy {
                stat_prefix: "ingress_tcp".to_owned(),
                cluster_specifier: Some(tcp_proxy::ClusterSpecifier::Cluster(name.to_owned())),
                ..Default::default()
            }))),
        },
        _ => return None,
    };
    Some(Listener {
        name: name.to_owned(),
        address: Some(socket(&options.bind_ip.to_string(), service_port)),
        filter_chains: vec![FilterChain {
            filters: vec![filter],
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// The HTTP connection manager with the router and one inline route, `/` to the cluster with
/// no timeout; `websocket` allows the upgrade.
fn http_filter_of(name: &str, service: &str, websocket: bool) -> Filter {
    let route = Route {
        r#match: Some(RouteMatch {
            path_specifier: Some(route_match::PathSpecifier::Prefix("/".to_owned())),
            ..Default::default()
        }),
        action: Some(route::Action::Route(RouteAction {
            cluster_specifier: Some(route_action::ClusterSpecifier::Cluster(name.to_owned())),
            timeout: Some(Duration::default()),
            ..Default::default()
        })),
        ..Default::default()
    };
    let manager = HttpConnectionManager {
        stat_prefix: "ingress_http".to_owned(),
        http_filters: vec![HttpFilter {
            name: "envoy.filters.http.router".to_owned(),
            config_type: Some(http_filter::ConfigType::TypedConfig(pack_any(
                Router::default(),
            ))),
            ..Default::default()
        }],
        route_specifier: Some(http_connection_manager::RouteSpecifier::RouteConfig(
            RouteConfiguration {
                validate_clusters: Some(BoolValue { value: false }),
                virtual_hosts: vec![VirtualHost {
                    name: service.to_owned(),
                    domains: vec!["*".to_owned()],
                    routes: vec![route],
                    ..Default::default()
                }],
                ..Default::default()
            },
        )),
        upgrade_configs: match websocket {
            true => vec![http_connection_manager::UpgradeConfig {
                upgrade_type: "websocket".to_owned(),
                ..Default::default()
            }],
            false => Vec::new(),
        },
        ..Default::default()
    };
    Filter {
        name: "envoy.filters.network.http_connection_manager".to_owned(),
        config_type: Some(filter::ConfigType::TypedConfig(pack_any(manager))),
    }
}

#[cfg(test)]
mod tests;
