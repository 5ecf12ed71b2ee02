//! `GET /metrics` and statsd, black-box against the built binary on 127.0.0.100–109: the
//! text parses, and its counters move with real events (a check failing, a listener down, a
//! subsystem restarted, a gossip datagram refused), a restart does not reset them, and a
//! statsd receiver bound by the test gets the figures with the original's key names.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ops_support;

use std::net::UdpSocket;
use std::time::Duration;

use common::{eventually, http_call};
use ops_support::{ops_node, scrape, value_of};

const IP: &str = "127.0.0.100";

#[test]
fn metrics_parse_as_prometheus_text_and_move_with_checks_listeners_restarts_and_refused_gossip() {
    // A listener nobody listens on: its POSTs fail and are retried.
    let listener = "http://127.0.0.102:9/events";
    let extra = [
        ("LISTENERS_URLS", listener),
        ("ENVOY_USE_GRPC_API", "true"),
        ("ENVOY_GRPC_BIND_IP", IP),
        ("ENVOY_GRPC_PORT", "0"),
    ];
    let (node, target, _dir) = ops_node(IP, 17_946, &extra);
    let web = [("service", "web"), ("status", "Alive")];
    eventually(Duration::from_secs(10), "web ALIVE in /metrics", || {
        value_of(&scrape(&node), "sidecar_catalogue_instances", &web).filter(|n| *n == 1.0)
    });
    let samples = scrape(&node);
    let healthy = value_of(
        &samples,
        "sidecar_health_checks_total",
        &[("result", "healthy")],
    );
    assert!(healthy.unwrap() >= 1.0);
    let route = [("route", "/api/services.{ext}"), ("status", "200")];
    let before = value_of(&samples, "sidecar_http_requests_total", &route).unwrap_or(0.0);
    node.get("/api/services.json");
    let after = value_of(&scrape(&node), "sidecar_http_requests_total", &route).unwrap();
    assert!(after > before, "{before} then {after}");
    // The node counts itself a member from its first snapshot on.
    eventually(
        Duration::from_secs(10),
        "this node counted a member",
        || value_of(&scrape(&node), "sidecar_members", &[]).filter(|n| *n == 1.0),
    );
    let clusters = [("kind", "clusters")];
    assert_eq!(
        value_of(&samples, "sidecar_xds_resources", &clusters),
        Some(1.0)
    );
    assert!(value_of(&samples, "sidecar_xds_builds_total", &[]).unwrap() >= 1.0);

    target.set_failing(true);
    eventually(
        Duration::from_secs(10),
        "a failed check and web UNHEALTHY",
        || {
            let samples = scrape(&node);
            let sick = [("service", "web"), ("status", "Unhealthy")];
            value_of(&samples, "sidecar_catalogue_instances", &sick)?;
            value_of(
                &samples,
                "sidecar_health_checks_total",
                &[("result", "failed")],
            )
        },
    );
    let down = [
        ("listener", "UrlListener(http://127.0.0.102:9/events)"),
        ("outcome", "retried"),
    ];
    eventually(
        Duration::from_secs(10),
        "the dead listener's retries",
        || value_of(&scrape(&node), "sidecar_listener_events_total", &down),
    );

    let udp = UdpSocket::bind((IP, 0)).unwrap();
    udp.send_to(b"definitely not a frame", (IP, 17_946))
        .unwrap();
    let refused = [("reason", "udp.bad_magic")];
    eventually(
        Duration::from_secs(10),
        "the refused datagram counted",
        || value_of(&scrape(&node), "sidecar_gossip_dropped_total", &refused),
    );

    let (status, _) = http_call(
        node.http,
        "POST",
        "/api/admin/subsystems/gossiper/restart",
        "Content-Length: 0\r\n",
    );
    assert_eq!(status, 202);
    let samples = eventually(
        Duration::from_secs(10),
        "the gossiper's restart counted",
        || {
            let samples = scrape(&node);
            let gossiper = [("subsystem", "gossiper")];
            let restarts = value_of(&samples, "sidecar_subsystem_restarts_total", &gossiper);
            (restarts == Some(1.0)
                && value_of(&samples, "sidecar_subsystem_running", &gossiper) == Some(1.0))
            .then_some(samples)
        },
    );
    // The gossip counters outlive the Gossiper that counted them.
    let kept = value_of(&samples, "sidecar_gossip_dropped_total", &refused);
    assert_eq!(kept, Some(1.0));
}

#[test]
fn statsd_gets_the_figures_with_the_original_key_names() {
    let statsd = UdpSocket::bind("127.0.0.104:0").unwrap();
    statsd
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let addr = statsd.local_addr().unwrap().to_string();
    let ip = "127.0.0.103";
    let (node, _target, _dir) = ops_node(ip, 17_947, &[("SIDECAR_STATS_ADDR", &addr)]);
    let udp = UdpSocket::bind((ip, 0)).unwrap();
    udp.send_to(b"definitely not a frame", (ip, 17_947))
        .unwrap();
    let mut received = String::new();
    eventually(Duration::from_secs(15), "the statsd keys", || {
        let mut buf = [0u8; 2048];
        if let Ok(n) = statsd.recv(&mut buf) {
            assert!(n <= 1432, "a datagram of {n} bytes");
            received.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let alive = "sidecar.test-node.catalogue_instances.web.Alive:1.000000|g";
        let udp_in = "sidecar.memberlist.udp.received:";
        if received.len() > 200_000 {
            panic!("no keys in: {received}");
        }
        (received.contains(alive) && received.contains(udp_in)).then_some(())
    });
    assert!(
        received
            .lines()
            .all(|l| l.ends_with("|c") || l.ends_with("|g")),
        "{received}"
    );
    assert_eq!(node.get("/api/services.json").0, 200);
}

#[test]
fn an_unreachable_statsd_neither_stops_nor_delays_the_node() {
    let ip = "127.0.0.105";
    let unresolvable = [("SIDECAR_STATS_ADDR", "statsd.invalid:8125")];
    let (node, _target, _dir) = ops_node(ip, 17_948, &unresolvable);
    let (unreachable, _t, _d) = ops_node(
        "127.0.0.106",
        17_949,
        &[("SIDECAR_STATS_ADDR", "127.0.0.107:9")],
    );
    std::thread::sleep(Duration::from_secs(3));
    for node in [&node, &unreachable] {
        assert_eq!(node.get("/api/services.json").0, 200);
        assert!(!scrape(node).is_empty());
        assert!(!node.logs_text().contains("has no effect: statsd"));
    }
}
