//! The node's metrics: one [`NodeMetrics`] per node, made by `node::start` and handed to the
//! actors that count events (the HTTP middleware, the HealthChecker, the ListenerNotifier's
//! workers), so that a restarted subsystem keeps counting where its predecessor stopped.
//!
//! Two kinds of figures (docs/ARCHITECTURE.md, "Metrics"):
//! - **events**, counted as they happen into the long-lived registry here: HTTP requests and
//!   their latency, health-check runs and their latency, listener deliveries;
//! - **figures read at scrape time** ([`ScrapeFigures`]) from what already keeps them: the
//!   catalogue snapshot (instances, members), the open watch streams, the Supervisor
//!   (restarts, the HAProxy manager's counts), the Gossiper's statistics (which live in its
//!   per-node memory, so they survive its restarts too) and the xDS server's.
//!
//! [`NodeMetrics::render`] writes both in the Prometheus/OpenMetrics text format; the statsd
//! reporter (`metrics::statsd`) sends the same samples.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::catalog::Snapshot;
use crate::messages::supervisor::SubsystemStatus;
use crate::messages::{GossipStats, XdsStats};

pub mod statsd;
#[cfg(test)]
mod tests;

/// The content type of [`NodeMetrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of one metric: fixed keys, owned values.
type Labels<const N: usize> = [(&'static str, String); N];
/// A histogram family whose members are made with [`latency_buckets`].
type Histograms<const N: usize> = Family<Labels<N>, Histogram, fn() -> Histogram>;

/// Buckets from 1 ms to about 16 s, in seconds.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The long-lived metrics of one node; cheap to clone (every clone counts into the same
/// registry).
#[derive(Clone, Debug)]
pub struct NodeMetrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    http_requests: Family<Labels<3>, Counter>,
    http_duration: Histograms<1>,
    health_checks: Family<Labels<1>, Counter>,
    health_duration: Histogram,
    listener_events: Family<Labels<2>, Counter>,
}

impl Default for NodeMetrics {
    fn default() -> Self {
        NodeMetrics::new()
    }
}

impl NodeMetrics {
    /// A fresh registry with every event metric registered (at zero).
    pub fn new() -> NodeMetrics {
        let mut registry = Registry::with_prefix("sidecar");
        let http_requests = Family::<Labels<3>, Counter>::default();
        let http_duration = Histograms::<1>::new_with_constructor(latency_buckets as fn() -> _);
        let health_checks = Family::<Labels<1>, Counter>::default();
        let health_duration = latency_buckets();
        let listener_events = Family::<Labels<2>, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (to the response head), by route pattern",
            http_duration.clone(),
        );
        registry.register(
            "health_checks",
            "Health-check runs, by result (healthy, failed, error, timed_out)",
            health_checks.clone(),
        );
        registry.register(
            "health_check_duration_seconds",
            "Time a health-check run took",
            health_duration.clone(),
        );
        registry.register(
            "listener_events",
            "Listener events by listener and outcome (delivered, retried, failed, dropped)",
            listener_events.clone(),
        );
        let inner = Inner {
            registry,
            http_requests,
            http_duration,
            health_checks,
            health_duration,
            listener_events,
        };
        NodeMetrics {
            inner: Arc::new(inner),
        }
    }

    /// Counts one HTTP request: `route` is the matched pattern (never the raw path), `method`
    /// one of the standard methods or `other`.
    pub fn http_request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let labels = [
            ("route", route.to_owned()),
            ("method", method.to_owned()),
            ("status", status.to_string()),
        ];
        self.inner.http_requests.get_or_create(&labels).inc();
        let route = [("route", route.to_owned())];
        let histogram = self.inner.http_duration.get_or_create(&route);
        histogram.observe(took.as_secs_f64());
    }

    /// Counts one health-check run with its `result` (`healthy`, `failed`, `error`,
    /// `timed_out`) and how long it took.
    pub fn health_check(&self, result: &'static str, took: Duration) {
        let labels = [("result", result.to_owned())];
        self.inner.health_checks.get_or_create(&labels).inc();
        self.inner.health_duration.observe(took.as_secs_f64());
    }

    /// Counts one event of `listener` with its `outcome` (`delivered`, `retried`, `failed`,
    /// `dropped`).
    pub fn listener_event(&self, listener: &str, outcome: &'static str) {
        let labels = [
            ("listener", listener.to_owned()),
            ("outcome", outcome.to_owned()),
        ];
        self.inner.listener_events.get_or_create(&labels).inc();
    }

    /// Forgets the counts of a listener that is gone (a discovered one whose service left),
    /// so that services coming and going do not grow the label set for ever.
    pub fn forget_listener(&self, listener: &str) {
        for outcome in ["delivered", "retried", "failed", "dropped"] {
            let labels = [
                ("listener", listener.to_owned()),
                ("outcome", outcome.to_owned()),
            ];
            self.inner.listener_events.remove(&labels);
        }
    }

    /// Every metric, events and `figures`, in the OpenMetrics text format (which Prometheus
    /// reads), ending with `# EOF`.
    pub fn render(&self, figures: &ScrapeFigures) -> String {
        let mut text = String::with_capacity(8 * 1024);
        let scraped = figures.registry();
        // Writing into a String cannot fail.
        let _ = encode_registry(&mut text, &self.inner.registry);
        let _ = encode_registry(&mut text, &scraped);
        let _ = encode_eof(&mut text);
        text
    }
}

/// What is read at scrape time, from the actors that keep it. A part that could not be read
/// (its actor busy or restarting) is `None` and left out of that scrape.
#[derive(Debug, Default)]
pub struct ScrapeFigures {
    /// The latest catalogue snapshot.
    pub snapshot: Option<Arc<Snapshot>>,
    /// `/api/watch` streams open now.
    pub watch_streams: usize,
    /// The Supervisor's list.
    pub subsystems: Option<Vec<SubsystemStatus>>,
    /// The Gossiper's statistics.
    pub gossip: Option<GossipStats>,
    /// The xDS server's statistics.
    pub xds: Option<XdsStats>,
}

impl ScrapeFigures {
    /// A registry holding these figures, for one scrape.
    fn registry(&self) -> Registry {
        let mut registry = Registry::with_prefix("sidecar");
        let streams = Gauge::<i64>::default();
        streams.set(clamp(self.watch_streams as u64));
        registry.register("watch_streams", "/api/watch streams open now", streams);
        if let Some(snapshot) = &self.snapshot {
            register_catalogue(&mut registry, snapshot);
        }
        if let Some(subsystems) = &self.subsystems {
            register_subsystems(&mut registry, subsystems);
        }
        if let Some(gossip) = &self.gossip {
            register_gossip(&mut registry, gossip);
        }
        if let Some(xds) = &self.xds {
            register_xds(&mut registry, xds);
        }
        registry
    }
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Registers counters already at their values (totals kept elsewhere, read at scrape time):
/// `(name, help, value)` each.
fn register_counters(registry: &mut Registry, counters: &[(&str, &str, u64)]) {
    for (name, help, value) in counters {
        let counter: Counter = Counter::default();
        counter.inc_by(*value);
        registry.register(*name, *help, counter);
    }
}

fn register_catalogue(registry: &mut Registry, snapshot: &Snapshot) {
    let mut counts: BTreeMap<(String, &'static str), i64> = BTreeMap::new();
    for server in snapshot.state().servers.values() {
        for service in server.services.values() {
            *counts
                .entry((service.name.clone(), service.status.as_str()))
                .or_default() += 1;
        }
    }
    let instances = Family::<Labels<2>, Gauge>::default();
    for ((service, status), n) in counts {
        let labels = [("service", service), ("status", status.to_owned())];
        instances.get_or_create(&labels).set(n);
    }
    registry.register(
        "catalogue_instances",
        "Service instances in the catalogue, by service name and status",
        instances,
    );
    let members = Gauge::<i64>::default();
    members.set(clamp(snapshot.members().len() as u64));
    registry.register("members", "Cluster members seen up", members);
}

fn register_subsystems(registry: &mut Registry, subsystems: &[SubsystemStatus]) {
    let restarts = Family::<Labels<1>, Counter>::default();
    let running = Family::<Labels<1>, Gauge>::default();
    for subsystem in subsystems {
        let labels = [("subsystem", subsystem.name.clone())];
        restarts.get_or_create(&labels).inc_by(subsystem.restarts);
        let up = subsystem.state == crate::messages::supervisor::SubsystemState::Running;
        running.get_or_create(&labels).set(i64::from(up));
    }
    registry.register(
        "subsystem_restarts",
        "Restarts of each subsystem since the node started (failures and operator restarts)",
        restarts,
    );
    registry.register(
        "subsystem_running",
        "1 when the subsystem's current instance runs, 0 while it waits for its restart",
        running,
    );
    let details = subsystems
        .iter()
        .filter_map(|s| Some((s.name.as_str(), s.details.as_ref()?.as_object()?)));
    for (name, fields) in details {
        let counts = Family::<Labels<1>, Counter>::default();
        for (field, value) in fields {
            if let Some(n) = value.as_u64() {
                counts.get_or_create(&[("count", field.clone())]).inc_by(n);
            }
        }
        let help = format!("What the {name} subsystem reported doing, by count");
        registry.register(format!("{name}_reported"), help, counts);
    }
}

fn register_gossip(registry: &mut Registry, gossip: &GossipStats) {
    let dropped = Family::<Labels<1>, Counter>::default();
    for (reason, n) in &gossip.dropped {
        dropped
            .get_or_create(&[("reason", reason.clone())])
            .inc_by(*n);
    }
    registry.register(
        "gossip_dropped",
        "Refused gossip datagrams and TCP sessions, by reason",
        dropped,
    );
    let packets = Family::<Labels<2>, Counter>::default();
    let bytes = Family::<Labels<2>, Counter>::default();
    let traffic = [
        (
            "udp",
            "sent",
            gossip.udp_sent.packets,
            gossip.udp_sent.bytes,
        ),
        (
            "udp",
            "received",
            gossip.udp_received.packets,
            gossip.udp_received.bytes,
        ),
    ];
    for (transport, direction, n_packets, n_bytes) in traffic {
        let labels = [
            ("transport", transport.to_owned()),
            ("direction", direction.to_owned()),
        ];
        packets.get_or_create(&labels).inc_by(n_packets);
        bytes.get_or_create(&labels).inc_by(n_bytes);
    }
    for (direction, n) in [
        ("sent", gossip.tcp_sent_bytes),
        ("received", gossip.tcp_received_bytes),
    ] {
        let labels = [
            ("transport", "tcp".to_owned()),
            ("direction", direction.to_owned()),
        ];
        bytes.get_or_create(&labels).inc_by(n);
    }
    registry.register("gossip_packets", "Gossip datagrams", packets);
    registry.register("gossip_bytes", "Gossip payload bytes", bytes);
    register_exchanges(registry, gossip);
}

fn register_exchanges(registry: &mut Registry, gossip: &GossipStats) {
    let records = Family::<Labels<1>, Counter>::default();
    records
        .get_or_create(&[("direction", "sent".to_owned())])
        .inc_by(gossip.exchange_records_sent);
    records
        .get_or_create(&[("direction", "received".to_owned())])
        .inc_by(gossip.exchange_records_received);
    let figures = &[
        (
            "anti_entropy_sessions",
            "Anti-entropy exchanges completed (either side)",
            gossip.exchanges,
        ),
        (
            "anti_entropy_sessions_in_sync",
            "Anti-entropy exchanges that found both catalogues equal",
            gossip.exchanges_in_sync,
        ),
        (
            "gossip_broadcasts",
            "Record versions this node broadcast",
            gossip.broadcasts,
        ),
    ];
    register_counters(registry, figures);
    let gauges = [
        (
            "gossip_observed_loss_percent",
            "Datagrams lost on this node's links as its probes see them, percent",
            gossip.observed_loss_percent,
        ),
        (
            "gossip_transmissions",
            "Times each membership update and record is sent now",
            gossip.transmissions,
        ),
    ];
    for (name, help, value) in gauges {
        let gauge = Gauge::<i64>::default();
        gauge.set(i64::from(value));
        registry.register(name, help, gauge);
    }
    registry.register(
        "anti_entropy_records",
        "Records sent and received by anti-entropy",
        records,
    );
}

fn register_xds(registry: &mut Registry, xds: &XdsStats) {
    let counters = &[
        (
            "xds_builds",
            "Catalogue changes that changed Envoy's resources",
            xds.builds,
        ),
        (
            "xds_responses",
            "xDS responses sent, all streams",
            xds.responses,
        ),
        (
            "xds_accepted",
            "xDS responses Envoys accepted",
            xds.accepted,
        ),
        (
            "xds_rejected",
            "xDS responses Envoys rejected (NACK)",
            xds.rejected,
        ),
        (
            "xds_streams_opened",
            "xDS streams opened since start",
            xds.streams_opened,
        ),
    ];
    register_counters(registry, counters);
    let resources = Family::<Labels<1>, Gauge>::default();
    for (kind, n) in [
        ("clusters", xds.clusters),
        ("endpoints", xds.endpoints),
        ("listeners", xds.listeners),
    ] {
        resources
            .get_or_create(&[("kind", kind.to_owned())])
            .set(clamp(n as u64));
    }
    registry.register(
        "xds_resources",
        "Resources served to Envoy now, by kind",
        resources,
    );
    let streams = Gauge::<i64>::default();
    streams.set(clamp(xds.streams.len() as u64));
    registry.register("xds_streams", "xDS streams connected now", streams);
}

/// Every sample of a text rendering, comments left out.
pub fn samples(text: &str) -> Vec<Sample> {
    text.lines().filter_map(Sample::parse).collect()
}

/// One sample of the text format: `name{labels} value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The metric's sample name (`sidecar_http_requests_total`).
    pub name: String,
    /// Its labels, in order.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
}

impl Sample {
    /// Parses one line of the text format; `None` for comments, blank lines and lines that
    /// are not a sample.
    pub fn parse(line: &str) -> Option<Sample> {
        if line.starts_with('#') || line.trim().is_empty() {
            return None;
        }
        let (series, value) = line.rsplit_once(' ')?;
        let value: f64 = value.parse().ok()?;
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}')?)?),
            None => (series, Vec::new()),
        };
        Some(Sample {
            name: name.to_owned(),
            labels,
            value,
        })
    }

    /// The value of label `key`, if present.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `a="x",b="y"` (values with `\"`, `\\` and `\n` escapes).
fn parse_labels(text: &str) -> Option<Vec<(String, String)>> {
    let mut labels = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.push((key.trim_start_matches(',').to_owned(), value));
        rest = &after[end + 1..];
    }
    Some(labels)
}
