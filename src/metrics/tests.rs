//! The text rendering and the statsd lines.

use std::collections::BTreeMap;
use std::time::Duration;

use super::statsd::{MAX_PACKET, packets, statsd_lines};
use super::*;
use crate::messages::Traffic;

fn rendered(metrics: &NodeMetrics, figures: &ScrapeFigures) -> Vec<Sample> {
    let text = metrics.render(figures);
    assert!(text.ends_with("# EOF\n"), "{text}");
    samples(&text)
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
        .map(|s| s.value)
}

#[test]
fn events_counted_into_one_registry_are_seen_by_every_clone() {
    let metrics = NodeMetrics::new();
    let clone = metrics.clone();
    clone.http_request("/api/services.{ext}", "GET", 200, Duration::from_millis(3));
    clone.health_check("failed", Duration::from_millis(20));
    clone.listener_event("UrlListener(http://x/)", "dropped");
    let samples = rendered(&metrics, &ScrapeFigures::default());
    let route = ("route", "/api/services.{ext}");
    let http = value(
        &samples,
        "sidecar_http_requests_total",
        &[route, ("status", "200")],
    );
    assert_eq!(http, Some(1.0));
    let latency = value(
        &samples,
        "sidecar_http_request_duration_seconds_count",
        &[route],
    );
    assert_eq!(latency, Some(1.0));
    let checks = value(
        &samples,
        "sidecar_health_checks_total",
        &[("result", "failed")],
    );
    assert_eq!(checks, Some(1.0));
    let dropped = [
        ("listener", "UrlListener(http://x/)"),
        ("outcome", "dropped"),
    ];
    assert_eq!(
        value(&samples, "sidecar_listener_events_total", &dropped),
        Some(1.0)
    );
}

#[test]
fn a_forgotten_listener_leaves_the_rendering() {
    let metrics = NodeMetrics::new();
    metrics.listener_event("Service(web-1)", "delivered");
    metrics.listener_event("UrlListener(http://x/)", "delivered");
    metrics.forget_listener("Service(web-1)");
    let samples = rendered(&metrics, &ScrapeFigures::default());
    let listeners: Vec<_> = samples.iter().filter_map(|s| s.label("listener")).collect();
    assert_eq!(listeners, ["UrlListener(http://x/)"]);
}

#[test]
fn gossip_figures_read_at_scrape_time_are_rendered_as_counters() {
    let mut gossip = GossipStats::default();
    gossip.dropped.insert("udp.bad_magic".to_owned(), 2);
    gossip.udp_sent = Traffic {
        packets: 3,
        bytes: 300,
    };
    gossip.exchanges = 4;
    gossip.observed_loss_percent = 20;
    let figures = ScrapeFigures {
        gossip: Some(gossip),
        watch_streams: 5,
        ..ScrapeFigures::default()
    };
    let samples = rendered(&NodeMetrics::new(), &figures);
    let reason = [("reason", "udp.bad_magic")];
    assert_eq!(
        value(&samples, "sidecar_gossip_dropped_total", &reason),
        Some(2.0)
    );
    let sent = [("transport", "udp"), ("direction", "sent")];
    assert_eq!(
        value(&samples, "sidecar_gossip_bytes_total", &sent),
        Some(300.0)
    );
    assert_eq!(
        value(&samples, "sidecar_anti_entropy_sessions_total", &[]),
        Some(4.0)
    );
    assert_eq!(value(&samples, "sidecar_watch_streams", &[]), Some(5.0));
    assert_eq!(
        value(&samples, "sidecar_gossip_observed_loss_percent", &[]),
        Some(20.0)
    );
}

#[test]
fn a_sample_line_with_escaped_label_values_parses() {
    let line = r#"x_total{a="q\"uo,te",b="back\\slash"} 7"#;
    let sample = Sample::parse(line).unwrap();
    assert_eq!(sample.name, "x_total");
    assert_eq!(sample.label("a"), Some("q\"uo,te"));
    assert_eq!(sample.label("b"), Some("back\\slash"));
    assert_eq!(sample.value, 7.0);
    assert_eq!(Sample::parse("# HELP x y"), None);
}

fn sample(name: &str, labels: &[(&str, &str)], value: f64) -> Sample {
    let labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

#[test]
fn statsd_counters_send_their_increase_and_gauges_carry_the_hostname() {
    let mut previous = BTreeMap::new();
    let bytes = [("transport", "udp"), ("direction", "sent")];
    let first = [
        sample("sidecar_gossip_bytes_total", &bytes, 100.0),
        sample("sidecar_members", &[], 3.0),
        sample(
            "sidecar_http_request_duration_seconds_bucket",
            &[("le", "1")],
            1.0,
        ),
    ];
    let lines = statsd_lines(&first, "node:1", &mut previous);
    assert_eq!(
        lines,
        [
            "sidecar.memberlist.udp.sent:100.000000|c",
            "sidecar.node_1.members:3.000000|g"
        ]
    );
    let second = [sample("sidecar_gossip_bytes_total", &bytes, 150.0)];
    let lines = statsd_lines(&second, "node:1", &mut previous);
    assert_eq!(lines, ["sidecar.memberlist.udp.sent:50.000000|c"]);
}

#[test]
fn statsd_keys_carry_the_label_values_with_separators_replaced() {
    let mut previous = BTreeMap::new();
    let labels = [("service", "web.api"), ("status", "Alive")];
    let lines = statsd_lines(
        &[sample("sidecar_catalogue_instances", &labels, 2.0)],
        "h",
        &mut previous,
    );
    assert_eq!(
        lines,
        ["sidecar.h.catalogue_instances.web_api.Alive:2.000000|g"]
    );
}

#[test]
fn statsd_packets_never_exceed_the_limit() {
    let lines: Vec<String> = (0..200)
        .map(|i| format!("sidecar.key{i}:1.000000|c"))
        .collect();
    let packets = packets(&lines);
    assert!(packets.len() > 1);
    assert!(packets.iter().all(|p| p.len() <= MAX_PACKET));
    assert_eq!(packets.concat().lines().count(), 200);
}

#[test]
fn restarts_and_a_subsystems_reported_counts_are_rendered_per_subsystem() {
    use crate::messages::supervisor::{SubsystemState, SubsystemStatus};
    let haproxy = SubsystemStatus {
        name: "haproxy_manager".to_owned(),
        state: SubsystemState::Restarting,
        restarts: 2,
        last_error: None,
        uptime_seconds: 0,
        details: Some(serde_json::json!({"reloads": 3, "failures": 1, "last_error": "x"})),
    };
    let figures = ScrapeFigures {
        subsystems: Some(vec![haproxy]),
        ..ScrapeFigures::default()
    };
    let samples = rendered(&NodeMetrics::new(), &figures);
    let subsystem = [("subsystem", "haproxy_manager")];
    assert_eq!(
        value(&samples, "sidecar_subsystem_restarts_total", &subsystem),
        Some(2.0)
    );
    assert_eq!(
        value(&samples, "sidecar_subsystem_running", &subsystem),
        Some(0.0)
    );
    let reported = "sidecar_haproxy_manager_reported_total";
    assert_eq!(
        value(&samples, reported, &[("count", "reloads")]),
        Some(3.0)
    );
    assert_eq!(
        value(&samples, reported, &[("count", "failures")]),
        Some(1.0)
    );
    assert_eq!(value(&samples, reported, &[("count", "last_error")]), None);
}
