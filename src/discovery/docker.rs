//! Docker containers → services (docs/COMPATIBILITY.md §10): names, published ports, labels, checks
//! and listeners.
//!
//! Pure: no I/O, no clock, no logging. The DockerWatcher builds a [`ContainerInfo`] from what
//! Docker returns and calls [`to_discovered`]; label problems come back as [`LabelWarning`]s
//! for the caller to log (once per container), never as errors that stop discovery.

use std::collections::BTreeMap;

use super::namer::Namer;
use super::{CheckDefinition, Discovered, ListenerDefinition};
use crate::catalog::{Port, Service};
use crate::clock::Timestamp;
use crate::health::template;

/// Check types Sidecar knows; any other `HealthCheck` value runs as `HttpGet`.
pub const CHECK_TYPES: [&str; 3] = ["HttpGet", "External", "AlwaysSuccessful"];

/// What the mapping needs to know about one container (built from Docker's list answer).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    /// The full container ID (any length; the service ID is its first 12 characters).
    pub id: String,
    /// Docker's names, each starting with `/`.
    pub names: Vec<String>,
    /// The image as the container was started with it.
    pub image: String,
    /// Creation time, unix seconds.
    pub created: i64,
    /// The container's labels.
    pub labels: BTreeMap<String, String>,
    /// Its port bindings, published or not.
    pub ports: Vec<ContainerPort>,
}

/// One port binding as Docker lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerPort {
    /// The port inside the container.
    pub private: u16,
    /// The published port on the host; 0 = not published.
    pub public: u16,
    /// `tcp`, `udp` (or `sctp`).
    pub kind: String,
    /// The host address it is bound to (`0.0.0.0`, `::` or empty = all).
    pub ip: String,
}

/// What this node contributes to every service.
#[derive(Clone, Copy, Debug)]
pub struct DockerContext<'a> {
    /// The OS hostname (`Hostname` of every service).
    pub hostname: &'a str,
    /// The published IP, for ports bound to all addresses.
    pub published_ip: &'a str,
    /// How services are named.
    pub namer: &'a Namer,
}

/// Why a container is not a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// It has the label `SidecarDiscover=false`.
    DiscoveryDisabled,
    /// Docker gave it no ID.
    NoId,
}

/// A label that could not be used as written; the service is announced anyway.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LabelWarning {
    /// `ServicePort_<n>` is not an integer: that port gets ServicePort 0.
    #[error("label {label}={value:?} is not an integer: ServicePort 0 is used")]
    BadServicePort {
        /// The label name.
        label: String,
        /// Its value.
        value: String,
    },
    /// `SidecarListener` is not an integer: no listener.
    #[error("label SidecarListener={value:?} is not an integer: no listener")]
    BadListener {
        /// Its value.
        value: String,
    },
    /// `SidecarListener` names a ServicePort no published tcp port has: no listener.
    #[error("label SidecarListener={service_port}: no published tcp port has that ServicePort")]
    ListenerPortNotFound {
        /// The ServicePort asked for.
        service_port: i64,
    },
    /// `HealthCheck` is not a known type: the check runs as `HttpGet`.
    #[error(
        "label HealthCheck={kind:?} is not HttpGet, External or AlwaysSuccessful: HttpGet is used"
    )]
    UnknownCheckType {
        /// The type given.
        kind: String,
    },
    /// `HealthCheckArgs` uses `{{ tcp N }}`/`{{ udp N }}` for a ServicePort no port has: -1.
    #[error(
        "label HealthCheckArgs uses {{{{ {kind} {service_port} }}}} but no {kind} port has that ServicePort: it renders as -1"
    )]
    UnmappedCheckPort {
        /// `tcp` or `udp`.
        kind: String,
        /// The ServicePort named.
        service_port: i64,
    },
}

/// A container mapped to a service, with what was wrong with its labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapped {
    /// The service, its check and its listener.
    pub discovered: Discovered,
    /// Label problems, in label order; empty when all is well.
    pub warnings: Vec<LabelWarning>,
}

/// Maps one running container to a service exactly as docs/COMPATIBILITY.md §10 says, except that
/// Docker's duplicate IPv6 `::` bindings do not produce duplicate ports
/// (docs/COMPATIBILITY.md §13.4).
pub fn to_discovered(c: &ContainerInfo, ctx: &DockerContext<'_>) -> Result<Mapped, Skip> {
    if c.labels.get("SidecarDiscover").map(String::as_str) == Some("false") {
        return Err(Skip::DiscoveryDisabled);
    }
    if c.id.is_empty() {
        return Err(Skip::NoId);
    }
    let mut warnings = Vec::new();
    let service = Service {
        id: c.id.chars().take(12).collect(),
        name: ctx.namer.name(c),
        image: c.image.clone(),
        created: Timestamp::from_unix_secs(c.created),
        hostname: ctx.hostname.to_owned(),
        ports: Some(ports(c, ctx.published_ip, &mut warnings)),
        updated: Timestamp::ZERO,
        proxy_mode: c
            .labels
            .get("ProxyMode")
            .cloned()
            .unwrap_or_else(|| "http".into()),
        status: Default::default(),
    };
    let check = check(c, &service, &mut warnings);
    let listener = listener(c, &service, &mut warnings);
    let discovered = Discovered {
        service,
        check,
        listener,
    };
    Ok(Mapped {
        discovered,
        warnings,
    })
}

/// The published ports, sorted, without duplicates.
fn ports(c: &ContainerInfo, published_ip: &str, warnings: &mut Vec<LabelWarning>) -> Vec<Port> {
    let mut bindings: Vec<&ContainerPort> = c.ports.iter().filter(|p| p.public != 0).collect();
    bindings.sort_by_key(|p| (p.private, &p.kind, p.public));
    let mut ports: Vec<Port> = Vec::with_capacity(bindings.len());
    let mut warned: Vec<u16> = Vec::new();
    for binding in bindings {
        let label = format!("ServicePort_{}", binding.private);
        let service_port = match c.labels.get(&label) {
            None => 0,
            Some(value) => value.trim().parse::<i64>().unwrap_or_else(|_| {
                if !warned.contains(&binding.private) {
                    warned.push(binding.private);
                    let value = value.clone();
                    warnings.push(LabelWarning::BadServicePort { label, value });
                }
                0
            }),
        };
        let ip = match binding.ip.as_str() {
            "" | "0.0.0.0" | "::" => published_ip.to_owned(),
            ip => ip.to_owned(),
        };
        let port = Port {
            kind: binding.kind.clone(),
            port: i64::from(binding.public),
            service_port,
            ip,
        };
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    ports
}

/// The `HealthCheck`/`HealthCheckArgs` labels; `None` (the default check) without a type.
fn check(
    c: &ContainerInfo,
    service: &Service,
    warnings: &mut Vec<LabelWarning>,
) -> Option<CheckDefinition> {
    let kind = c.labels.get("HealthCheck").filter(|k| !k.is_empty())?;
    if !CHECK_TYPES.contains(&kind.as_str()) {
        warnings.push(LabelWarning::UnknownCheckType { kind: kind.clone() });
    }
    let args = c.labels.get("HealthCheckArgs").cloned().unwrap_or_default();
    for (port_kind, service_port) in template::port_references(&args) {
        if service.port_for_service_port(service_port, &port_kind) < 0 {
            let kind = port_kind;
            warnings.push(LabelWarning::UnmappedCheckPort { kind, service_port });
        }
    }
    Some(CheckDefinition {
        kind: kind.clone(),
        args,
    })
}

/// The `SidecarListener=<ServicePort>` label: the tcp port with that ServicePort.
fn listener(
    c: &ContainerInfo,
    service: &Service,
    warnings: &mut Vec<LabelWarning>,
) -> Option<ListenerDefinition> {
    let value = c.labels.get("SidecarListener")?;
    let Ok(service_port) = value.trim().parse::<i64>() else {
        let value = value.clone();
        warnings.push(LabelWarning::BadListener { value });
        return None;
    };
    let found = (service.ports())
        .iter()
        .find(|p| p.service_port == service_port && p.kind == "tcp");
    let Some(port) = found else {
        warnings.push(LabelWarning::ListenerPortNotFound { service_port });
        return None;
    };
    Some(ListenerDefinition {
        name: service.listener_name(),
        url: format!("http://{}:{}/sidecar/update", port.ip, port.port),
    })
}

#[cfg(test)]
mod tests;
