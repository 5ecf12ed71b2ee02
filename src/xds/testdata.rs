//! A small catalogue for the xDS tests: the cases of docs/COMPATIBILITY.md §18.

use std::net::IpAddr;

use crate::catalog::{Port, Service, ServiceStatus, ServicesState};
use crate::clock::Timestamp;

use super::resources::{Resources, XdsOptions, build};

/// A record `name`/`id` on `host`, ALIVE, updated at second `at`, with `ports` as
/// (port, service port, ip).
pub(crate) fn record(
    host: &str,
    id: &str,
    name: &str,
    mode: &str,
    at: i64,
    ports: &[(i64, i64, &str)],
) -> Service {
    Service {
        id: id.to_owned(),
        name: name.to_owned(),
        image: format!("{name}:abc123"),
        created: Timestamp::from_unix_secs(at),
        hostname: host.to_owned(),
        ports: Some(
            ports
                .iter()
                .map(|(port, service_port, ip)| Port {
                    kind: "tcp".to_owned(),
                    port: *port,
                    service_port: *service_port,
                    ip: (*ip).to_owned(),
                })
                .collect(),
        ),
        updated: Timestamp::from_unix_secs(at),
        proxy_mode: mode.to_owned(),
        status: ServiceStatus::Alive,
    }
}

/// A catalogue of `records`.
pub(crate) fn state(records: Vec<Service>) -> ServicesState {
    let mut state = ServicesState::new("node-a", "test");
    for svc in records {
        state.insert(svc);
    }
    state
}

/// web (http, two instances and an UNHEALTHY one), db (tcp), chat (ws), a squatter on web's
/// port, a service with an empty proxy mode and a port that is not exported.
pub(crate) fn catalogue() -> ServicesState {
    let mut sick = record(
        "host-c",
        "c1",
        "web",
        "http",
        3,
        &[(10002, 8080, "10.0.0.3")],
    );
    sick.status = ServiceStatus::Unhealthy;
    state(vec![
        record(
            "host-a",
            "a1",
            "web",
            "http",
            1,
            &[(10000, 8080, "10.0.0.1"), (10009, 0, "10.0.0.1")],
        ),
        record(
            "host-b",
            "b1",
            "web",
            "http",
            2,
            &[(10001, 8080, "10.0.0.2")],
        ),
        sick,
        record("host-a", "a2", "db", "tcp", 4, &[(15432, 5432, "10.0.0.1")]),
        record(
            "host-b",
            "b2",
            "chat",
            "ws",
            5,
            &[(19000, 9000, "10.0.0.2")],
        ),
        record(
            "host-b",
            "b3",
            "squatter",
            "http",
            6,
            &[(10100, 8080, "10.0.0.2")],
        ),
        record("host-a", "a3", "odd", "", 7, &[(17000, 7000, "10.0.0.1")]),
    ])
}

/// [`catalogue`] with a third ALIVE `web` instance: only web's endpoints differ.
pub(crate) fn catalogue_with_more_web() -> ServicesState {
    let mut changed = catalogue();
    let web = record(
        "host-d",
        "d1",
        "web",
        "http",
        9,
        &[(10003, 8080, "10.0.0.4")],
    );
    changed.servers.extend(state(vec![web]).servers);
    changed
}

/// The default options: listeners on 192.168.168.168, endpoints by IP.
pub(crate) fn options() -> XdsOptions {
    XdsOptions {
        bind_ip: IpAddr::from([192, 168, 168, 168]),
        use_hostnames: false,
    }
}

/// The resources of `state` with the default options.
pub(crate) fn resources_of(state: &ServicesState) -> Resources {
    build(state, &options(), &|_| None).0
}
