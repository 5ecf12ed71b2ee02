//! [`ProxyModel`]: what HAProxy should route, computed from the catalogue. It is both the
//! data a template renders and what [`super::plan`] compares to decide between doing
//! nothing, changing servers through the runtime API, and reloading.
//!
//! Pure: borrows the state, allocates only the model.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::{Service, ServiceStatus, ServicesState};

/// The settings that shape the rendered configuration (from the `HAPROXY_*` variables).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProxySettings {
    /// `HAPROXY_BIND_IP`: the address every frontend binds.
    pub bind_ip: String,
    /// `HAPROXY_USER`: the `user` of the `global` section; empty leaves the line empty.
    pub user: String,
    /// `HAPROXY_GROUP`: the `group` of the `global` section; empty omits the line.
    pub group: String,
    /// `HAPROXY_USE_HOSTNAMES`: servers are addressed by their host's name, not their IP.
    pub use_hostnames: bool,
    /// The address of the stats listeners (ports 3212 and 32012); Go binds `0.0.0.0`.
    pub stats_bind_ip: String,
    /// The admin stats socket (the runtime API), beside the pid file.
    pub stats_socket: String,
}

impl Default for ProxySettings {
    fn default() -> Self {
        ProxySettings {
            bind_ip: "192.168.168.168".to_owned(),
            user: "haproxy".to_owned(),
            group: String::new(),
            use_hostnames: false,
            stats_bind_ip: "0.0.0.0".to_owned(),
            stats_socket: "/var/run/haproxy_stats.sock".to_owned(),
        }
    }
}

/// One `server` line of a backend.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BackendServer {
    /// `<Hostname>-<ID>`: unique within the backend, the runtime API's name for it.
    pub name: String,
    /// The IP (or, with `HAPROXY_USE_HOSTNAMES`, the host name) to reach it on.
    pub ip: String,
    /// The real port.
    pub port: i64,
    /// `<Hostname>-<Port>`, as Go writes it.
    pub cookie: String,
}

impl BackendServer {
    /// `ip:port`, as a `server` line and `add server` write it.
    pub fn address(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }
}

/// One ServicePort of one service: a frontend and the backend of the same name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Frontend {
    /// `<sanitized service name>-<ServicePort>`: the frontend's and the backend's name.
    pub name: String,
    /// The service's name.
    pub service: String,
    /// The well-known port the frontend binds on `bind_ip`.
    pub service_port: i64,
    /// `http` or `tcp` (`ws` is served as `http`).
    pub mode: String,
    /// The ALIVE instances, ordered by address then name.
    pub servers: Vec<BackendServer>,
}

/// A service whose instances are routed, with its frontends (none when it has no TCP
/// ServicePort).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProxiedService {
    /// The service's name.
    pub name: String,
    /// One per TCP ServicePort other than 0, in the string order of the port (as Go).
    pub frontends: Vec<Frontend>,
}

/// An instance left out of its service because its ServicePorts differ from the first
/// instance's (Go's "non-matching ports" rule).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The service's name.
    pub service: String,
    /// The host of the instance left out.
    pub hostname: String,
    /// Its ID.
    pub id: String,
    /// The ServicePorts of the first instance and of this one, as compared.
    pub expected: Vec<String>,
    /// What this instance has.
    pub found: Vec<String>,
}

/// What HAProxy should route. See the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProxyModel {
    /// The settings it was built with.
    pub settings: ProxySettings,
    /// Go's `.Services`: the ALIVE instances with at least one port, by service name, each
    /// group ordered by host then ID.
    pub services: BTreeMap<String, Vec<Service>>,
    /// Go's `getMode`: the proxy mode of each service name (any status; `ws` as `http`).
    pub modes: BTreeMap<String, String>,
    /// The routed services in name order, with their frontends.
    pub proxied: Vec<ProxiedService>,
    /// Instances left out for non-matching ports.
    pub rejected: Vec<Rejected>,
}

impl ProxyModel {
    /// The model of `state` under `settings`.
    pub fn build(state: &ServicesState, settings: &ProxySettings) -> ProxyModel {
        let (services, rejected) = alive_groups(state);
        let modes = modes(state);
        let proxied = services
            .iter()
            .map(|(name, group)| ProxiedService {
                name: name.clone(),
                frontends: frontends(name, group, &modes, settings),
            })
            .collect();
        ProxyModel {
            settings: settings.clone(),
            services,
            modes,
            proxied,
            rejected,
        }
    }

    /// Every frontend, service by service.
    pub fn frontends(&self) -> impl Iterator<Item = &Frontend> {
        self.proxied.iter().flat_map(|s| s.frontends.iter())
    }
}

/// Go's `sanitizeName`: every character outside `[a-z0-9-]` becomes `-` (uppercase too).
pub fn sanitize_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' => c,
            _ => '-',
        })
        .collect()
}

/// Go's `getPorts`: the group's TCP ServicePorts other than 0 (of its first instance), as
/// strings in string order, each with the first instance's port.
pub fn service_ports(group: &[Service]) -> BTreeMap<String, String> {
    let Some(first) = group.first() else {
        return BTreeMap::new();
    };
    first
        .ports()
        .iter()
        .filter(|p| p.kind == "tcp" && p.service_port != 0)
        .map(|p| (p.service_port.to_string(), p.port.to_string()))
        .collect()
}

/// Go's `portFor`: the port of `svc`'s first port with this ServicePort (any type), or -1.
pub fn port_for(service_port: i64, svc: &Service) -> i64 {
    svc.ports()
        .iter()
        .find(|p| p.service_port == service_port)
        .map_or(-1, |p| p.port)
}

/// Go's `ipFor`: the host's name with `use_hostnames`; else the IP of `svc`'s first port with
/// this ServicePort; else the host's name.
pub fn ip_for(service_port: i64, svc: &Service, use_hostnames: bool) -> String {
    if use_hostnames {
        return svc.hostname.clone();
    }
    svc.ports()
        .iter()
        .find(|p| p.service_port == service_port)
        .map_or_else(|| svc.hostname.clone(), |p| p.ip.clone())
}

/// The proxy mode HAProxy understands: `tcp` stays, everything else (`http`, `ws`, unset)
/// is `http`.
fn haproxy_mode(proxy_mode: &str) -> &'static str {
    if proxy_mode == "tcp" { "tcp" } else { "http" }
}

/// The ALIVE records with ports, grouped by name; instances whose ServicePorts do not match
/// their group's first instance are left out (and listed) rather than crash, as Go did.
fn alive_groups(state: &ServicesState) -> (BTreeMap<String, Vec<Service>>, Vec<Rejected>) {
    let mut candidates: Vec<&Service> = state
        .records()
        .filter(|s| s.status == ServiceStatus::Alive && !s.ports().is_empty())
        .collect();
    candidates.sort_by(|a, b| (&a.name, &a.hostname, &a.id).cmp(&(&b.name, &b.hostname, &b.id)));
    let mut groups: BTreeMap<String, Vec<Service>> = BTreeMap::new();
    let mut rejected = Vec::new();
    for svc in candidates {
        let group = groups.entry(svc.name.clone()).or_default();
        if let Some(first) = group.first() {
            let expected = sorted_service_ports(first);
            let found = sorted_service_ports(svc);
            let matches = found.len() >= expected.len()
                && expected.iter().zip(found.iter()).all(|(a, b)| a == b);
            if !matches {
                rejected.push(Rejected {
                    service: svc.name.clone(),
                    hostname: svc.hostname.clone(),
                    id: svc.id.clone(),
                    expected,
                    found,
                });
                continue;
            }
        }
        group.push(svc.clone());
    }
    (groups, rejected)
}

/// Every ServicePort of `svc` (all types) as a string, in string order.
fn sorted_service_ports(svc: &Service) -> Vec<String> {
    let mut ports: Vec<String> = svc
        .ports()
        .iter()
        .map(|p| p.service_port.to_string())
        .collect();
    ports.sort();
    ports
}

/// The mode of each service name over all records: the most recently updated record's.
fn modes(state: &ServicesState) -> BTreeMap<String, String> {
    let mut latest: BTreeMap<&str, &Service> = BTreeMap::new();
    for svc in state.records() {
        let entry = latest.entry(svc.name.as_str()).or_insert(svc);
        if (svc.updated, &svc.hostname, &svc.id) > (entry.updated, &entry.hostname, &entry.id) {
            *entry = svc;
        }
    }
    latest
        .into_iter()
        .map(|(name, svc)| (name.to_owned(), haproxy_mode(&svc.proxy_mode).to_owned()))
        .collect()
}

fn frontends(
    name: &str,
    group: &[Service],
    modes: &BTreeMap<String, String>,
    settings: &ProxySettings,
) -> Vec<Frontend> {
    let mode = modes.get(name).map_or("http", String::as_str);
    service_ports(group)
        .keys()
        .filter_map(|sp| sp.parse::<i64>().ok())
        .map(|service_port| {
            let mut servers: Vec<BackendServer> = group
                .iter()
                .map(|svc| backend_server(service_port, svc, settings.use_hostnames))
                .collect();
            servers.sort_by(|a, b| (&a.ip, a.port, &a.name).cmp(&(&b.ip, b.port, &b.name)));
            Frontend {
                name: format!("{}-{service_port}", sanitize_name(name)),
                service: name.to_owned(),
                service_port,
                mode: mode.to_owned(),
                servers,
            }
        })
        .collect()
}

fn backend_server(service_port: i64, svc: &Service, use_hostnames: bool) -> BackendServer {
    let port = port_for(service_port, svc);
    BackendServer {
        name: format!("{}-{}", svc.hostname, svc.id),
        ip: ip_for(service_port, svc, use_hostnames),
        port,
        cookie: format!("{}-{port}", svc.hostname),
    }
}
