//! Docker discovery against the real engine on this machine (issue 4): the built binary with
//! `SIDECAR_DISCOVERY=docker` announces labelled containers, tombstones stopped or removed ones
//! within a second of the docker command returning, survives bad labels with one warning each,
//! and keeps its services through a cut Docker connection.

// Black-box tests on plain threads: blocking waits and loud failures are fine here.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::docker::{Container, SocketProxy, build_image, unique};
use common::{Sidecar, base_env, eventually};
use serde_json::Value;

/// A node watching Docker through `docker_url`, with `extra` variables.
fn node(docker_url: &str, extra: &[(&str, &str)]) -> Sidecar {
    build_image();
    let mut env: BTreeMap<String, String> = base_env();
    env.insert("SIDECAR_DISCOVERY".into(), "docker".into());
    env.insert("DOCKER_URL".into(), docker_url.into());
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    Sidecar::start(&env, &[])
}

fn local_docker() -> String {
    format!("unix://{}", common::docker::DOCKER_SOCKET)
}

/// The record of service `name` with ID `id`, as the API shows it.
fn record(node: &Sidecar, name: &str, id: &str) -> Option<Value> {
    let services = node.get_json("/api/services.json");
    let instances = services["Services"][name].as_array()?;
    instances.iter().find(|s| s["ID"] == id).cloned()
}

fn status(node: &Sidecar, name: &str, id: &str) -> Option<i64> {
    record(node, name, id)?["Status"].as_i64()
}

const ALIVE: i64 = 0;
const TOMBSTONE: i64 = 1;

fn wait_status(node: &Sidecar, name: &str, id: &str, want: i64, within: Duration) {
    let what = format!("{name} ({id}) has status {want}");
    eventually(within, &what, || {
        (status(node, name, id) == Some(want)).then_some(())
    });
}

/// Labels of a web container checked through `{{ host }}`/`{{ tcp 8080 }}`.
fn web_labels(name: &str) -> Vec<(&str, &str)> {
    vec![
        ("ServiceName", name),
        ("ServicePort_8080", "8080"),
        ("ProxyMode", "tcp"),
        ("HealthCheck", "HttpGet"),
        (
            "HealthCheckArgs",
            "http://{{ host }}:{{ tcp 8080 }}/index.html",
        ),
    ]
}

#[test]
fn a_labelled_container_is_alive_with_its_ports_and_a_stopped_one_is_tombstoned_within_1s() {
    let name = unique("web");
    let node = node(&local_docker(), &[]);
    let web = Container::run(&name, &web_labels(&name));
    let hidden_name = unique("hidden");
    let mut hidden_labels = web_labels(&hidden_name);
    hidden_labels.push(("SidecarDiscover", "false"));
    let hidden = Container::run(&hidden_name, &hidden_labels);

    wait_status(&node, &name, web.short_id(), ALIVE, Duration::from_secs(10));
    let svc = record(&node, &name, web.short_id()).unwrap();
    assert_eq!(svc["Hostname"], "test-node");
    assert_eq!(svc["Image"], common::docker::IMAGE);
    assert_eq!(svc["ProxyMode"], "tcp");
    let ports = serde_json::json!([{
        "Type": "tcp", "Port": web.public_port(), "ServicePort": 8080, "IP": "127.0.0.1"
    }]);
    assert_eq!(svc["Ports"], ports);
    let services = node.get_json("/api/services.json");
    assert!(
        services["Services"][&hidden.name].is_null(),
        "SidecarDiscover=false is ignored"
    );

    web.stop();
    let stopped = Instant::now();
    wait_status(
        &node,
        &name,
        web.short_id(),
        TOMBSTONE,
        Duration::from_secs(1),
    );
    eprintln!(
        "tombstoned {:?} after docker stop returned",
        stopped.elapsed()
    );
}

#[test]
fn the_regex_namer_names_the_service_and_docker_rm_f_tombstones_it_within_1s() {
    let base = unique("regexed");
    let namer = [
        ("SERVICES_NAMER", "regex"),
        ("SERVICES_NAME_MATCH", "^/(.+)(-[0-9a-z]{7,14})$"),
    ];
    let node = node(&local_docker(), &namer);
    let web = Container::run(
        &format!("{base}-abcdef1234"),
        &[("ServicePort_8080", "8080")],
    );

    // No HealthCheck label: the default check (GET /version) fails, but the record exists.
    eventually(Duration::from_secs(10), "the regex-named service", || {
        record(&node, &base, web.short_id())
    });
    common::docker::docker(&["rm", "-f", &web.name]);
    let removed = Instant::now();
    wait_status(
        &node,
        &base,
        web.short_id(),
        TOMBSTONE,
        Duration::from_secs(1),
    );
    eprintln!(
        "tombstoned {:?} after docker rm -f returned",
        removed.elapsed()
    );
}

#[test]
fn a_container_with_bad_labels_is_announced_and_each_warning_is_logged_once() {
    let name = unique("badlabels");
    let node = node(&local_docker(), &[]);
    let bad = Container::run(
        &name,
        &[
            ("ServiceName", &name),
            ("ServicePort_8080", "eighty"),
            ("HealthCheck", "Telepathy"),
            ("HealthCheckArgs", "http://{{ host }}:{{ tcp 9999 }}/"),
        ],
    );
    let svc = eventually(
        Duration::from_secs(10),
        "the badly labelled service",
        || record(&node, &name, bad.short_id()),
    );
    assert_eq!(svc["Ports"][0]["ServicePort"], 0);
    assert_eq!(svc["Ports"][0]["Port"], bad.public_port());

    // Another container's start makes the watcher re-list (and re-map) everything.
    let other_name = unique("other");
    let other = Container::run(&other_name, &web_labels(&other_name));
    wait_status(
        &node,
        &other_name,
        other.short_id(),
        ALIVE,
        Duration::from_secs(10),
    );
    let warnings: Vec<String> = (node.log_lines().into_iter())
        .filter(|l| l.contains("Container label ignored") && l.contains(bad.short_id()))
        .collect();
    assert_eq!(
        warnings.len(),
        3,
        "one line per bad label:\n{}",
        warnings.join("\n")
    );
    for expected in ["ServicePort_8080", "Telepathy", "tcp 9999"] {
        assert!(
            warnings.iter().any(|w| w.contains(expected)),
            "no warning about {expected}:\n{}",
            warnings.join("\n")
        );
    }
}

#[test]
fn a_cut_docker_connection_loses_no_service_and_the_fresh_list_wins_when_it_is_back() {
    let proxy = SocketProxy::start();
    let node = node(&proxy.url(), &[]);
    let (name_a, name_b) = (unique("steady"), unique("stopped-while-cut"));
    let a = Container::run(&name_a, &web_labels(&name_a));
    let b = Container::run(&name_b, &web_labels(&name_b));
    wait_status(&node, &name_a, a.short_id(), ALIVE, Duration::from_secs(10));
    wait_status(&node, &name_b, b.short_id(), ALIVE, Duration::from_secs(10));

    proxy.cut();
    b.stop(); // directly on the engine: the node cannot see the event
    let cut_at = Instant::now();
    while cut_at.elapsed() < Duration::from_secs(3) {
        assert_eq!(status(&node, &name_a, a.short_id()), Some(ALIVE));
        // b's own check fails now (UNHEALTHY), but it is neither dropped nor tombstoned.
        let b_status = status(&node, &name_b, b.short_id());
        assert!(
            matches!(b_status, Some(s) if s != TOMBSTONE),
            "{b_status:?}"
        );
        std::thread::sleep(Duration::from_millis(100)); // sampling a state that must not change
    }
    assert!(node.logs_text().contains("Lost connection to Docker"));

    proxy.restore();
    wait_status(
        &node,
        &name_b,
        b.short_id(),
        TOMBSTONE,
        Duration::from_secs(8),
    );
    assert_eq!(status(&node, &name_a, a.short_id()), Some(ALIVE));
}

/// Starts the binary with `extra` on top of docker discovery; expects exit 2 and `needles`.
fn refused_at_start(extra: &[(&str, &str)], needles: &[&str]) {
    let mut all = vec![("SIDECAR_DISCOVERY", "docker")];
    all.extend_from_slice(extra);
    common::refused_at_start(&all, needles);
}

#[test]
fn an_unknown_namer_a_regex_without_a_group_and_tls_exit_2_naming_the_variable() {
    refused_at_start(
        &[("SERVICES_NAMER", "consul")],
        &["SERVICES_NAMER", "consul"],
    );
    let no_group = [("SERVICES_NAMER", "regex"), ("SERVICES_NAME_MATCH", "^/x")];
    refused_at_start(&no_group, &["SERVICES_NAME_MATCH", "capture group"]);
    let tls = [
        ("DOCKER_HOST", "tcp://127.0.0.1:2376"),
        ("DOCKER_TLS_VERIFY", "1"),
    ];
    refused_at_start(
        &tls,
        &[
            "DOCKER_TLS_VERIFY",
            "TLS Docker connections are not supported",
        ],
    );
}

/// A free port for TCP and UDP on 127.0.0.1 and 127.0.0.2 (gossip uses both, on the same
/// number).
fn free_gossip_port() -> u16 {
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let free = ["127.0.0.1", "127.0.0.2"].iter().all(|ip| {
            std::net::TcpListener::bind((*ip, port)).is_ok()
                && std::net::UdpSocket::bind((*ip, port)).is_ok()
        });
        if free {
            return port;
        }
    }
}

#[test]
fn a_stopped_container_is_tombstoned_on_the_other_nodes_of_the_cluster_too() {
    let port = free_gossip_port().to_string();
    let name = unique("spread");
    let watcher = node(
        &local_docker(),
        &[("SIDECAR_HOSTNAME", "node-a"), ("SIDECAR_BIND_PORT", &port)],
    );
    let mut env: BTreeMap<String, String> = base_env();
    for (k, v) in [
        ("SIDECAR_HOSTNAME", "node-b"),
        ("SIDECAR_DISCOVERY", ""),
        ("SIDECAR_BIND_IP", "127.0.0.2"),
        ("SIDECAR_ADVERTISE_IP", "127.0.0.2"),
        ("SIDECAR_HTTP_BIND_IP", "127.0.0.2"),
        ("SIDECAR_BIND_PORT", &port),
    ] {
        env.insert(k.into(), v.into());
    }
    env.insert("SIDECAR_SEEDS".into(), format!("127.0.0.1:{port}"));
    let peer = Sidecar::start(&env, &[]);

    let web = Container::run(&name, &web_labels(&name));
    wait_status(&peer, &name, web.short_id(), ALIVE, Duration::from_secs(15));
    web.stop();
    let stopped = Instant::now();
    wait_status(
        &watcher,
        &name,
        web.short_id(),
        TOMBSTONE,
        Duration::from_secs(1),
    );
    // Within a second of `docker stop` returning, on the peer too (the time is measured
    // from before both waits, so the peer gets the same budget).
    eventually(Duration::from_secs(1), "TOMBSTONE on the peer", || {
        (stopped.elapsed() <= Duration::from_secs(1)
            && status(&peer, &name, web.short_id()) == Some(TOMBSTONE))
        .then_some(())
    });
    eprintln!(
        "tombstoned on the peer {:?} after docker stop returned",
        stopped.elapsed()
    );
}
