//! The metrics over statsd (UDP), when `SIDECAR_STATS_ADDR` is set: the same samples as
//! `GET /metrics`, sent on a timer (docs/COMPATIBILITY.md, "Metrics").
//!
//! The pure half ([`statsd_lines`], [`packets`]) turns samples into statsd lines the way Go
//! Sidecar's go-metrics wrote them: `key:value|type`, values as `%f`, counters as
//! `sidecar.<key>` (`|c`, the increase since the last report), gauges as
//! `sidecar.<hostname>.<key>` (`|g`), packets of at most 1,432 bytes. The gossip byte counts
//! keep the original's memberlist names (`memberlist.udp.sent`, `memberlist.tcp.received`…).
//!
//! The I/O half ([`StatsdReporter`]) only resolves the address and hands datagrams to a
//! non-blocking socket: an unreachable or absent statsd costs a dropped datagram, never a
//! wait.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::Sample;

/// The largest datagram sent (go-metrics' limit).
pub const MAX_PACKET: usize = 1432;

/// How long resolving the statsd address may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(1);

/// Where and how often the metrics go to statsd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsdSettings {
    /// `host:port` (UDP), as given in `SIDECAR_STATS_ADDR`.
    pub addr: String,
    /// How often a report is sent.
    pub interval: Duration,
}

/// The statsd lines for `samples`: counters as their increase since `previous` (which is
/// updated), gauges as they are. Histogram buckets are left out (their `_count` and `_sum`
/// go as counters).
pub fn statsd_lines(
    samples: &[Sample],
    hostname: &str,
    previous: &mut BTreeMap<String, f64>,
) -> Vec<String> {
    let host = sanitize(hostname);
    let mut lines = Vec::with_capacity(samples.len());
    for sample in samples {
        let name = sample.name.strip_prefix("sidecar_").unwrap_or(&sample.name);
        if name.ends_with("_bucket") {
            continue;
        }
        let counter = name.strip_suffix("_total");
        let is_counter = counter.is_some() || name.ends_with("_count") || name.ends_with("_sum");
        let key = original_key(counter.unwrap_or(name), sample)
            .unwrap_or_else(|| key_of(counter.unwrap_or(name), sample));
        if is_counter {
            let before = previous.insert(key.clone(), sample.value).unwrap_or(0.0);
            // A total that went down was reset: its whole value is new.
            let delta = if sample.value >= before {
                sample.value - before
            } else {
                sample.value
            };
            if delta > 0.0 {
                lines.push(format!("sidecar.{key}:{delta:.6}|c"));
            }
        } else {
            lines.push(format!("sidecar.{host}.{key}:{:.6}|g", sample.value));
        }
    }
    lines
}

/// The original's name for a figure it also had: the gossip byte counts.
fn original_key(name: &str, sample: &Sample) -> Option<String> {
    if name != "gossip_bytes" {
        return None;
    }
    let transport = sample.label("transport")?;
    let direction = sample.label("direction")?;
    Some(format!("memberlist.{transport}.{direction}"))
}

/// `name.labelvalue1.labelvalue2…`, each part with `:`, spaces, dots and other separators
/// replaced by `_`.
fn key_of(name: &str, sample: &Sample) -> String {
    let mut key = sanitize(name);
    for (_, value) in &sample.labels {
        key.push('.');
        key.push_str(&sanitize(value));
    }
    key
}

fn sanitize(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `lines` joined by newlines into datagrams of at most [`MAX_PACKET`] bytes (a longer line
/// goes alone).
pub fn packets(lines: &[String]) -> Vec<String> {
    let mut packets = Vec::new();
    let mut current = String::new();
    for line in lines {
        if !current.is_empty() && current.len() + line.len() + 1 > MAX_PACKET {
            packets.push(std::mem::take(&mut current));
        }
        current.push_str(line);
        current.push('\n');
    }
    if !current.is_empty() {
        packets.push(current);
    }
    packets
}

/// Sends reports to one statsd; shared by every WebApi instance of a node, so the counters'
/// last values (for the increases) survive a restart. Cheap to clone.
#[derive(Clone, Debug)]
pub struct StatsdReporter {
    settings: StatsdSettings,
    hostname: String,
    previous: Arc<Mutex<BTreeMap<String, f64>>>,
}

impl StatsdReporter {
    /// A reporter for `settings` on the node `hostname`.
    pub fn new(settings: StatsdSettings, hostname: &str) -> StatsdReporter {
        StatsdReporter {
            settings,
            hostname: hostname.to_owned(),
            previous: Arc::default(),
        }
    }

    /// How often to report.
    pub fn interval(&self) -> Duration {
        self.settings.interval
    }

    /// Sends one report of the metrics `text`. Never waits on statsd: the address is resolved
    /// under a timeout and datagrams the socket cannot take at once are dropped. Returns the
    /// datagrams sent.
    pub async fn report(&self, text: &str) -> std::io::Result<usize> {
        let samples = super::samples(text);
        let lines = {
            let mut previous = self.previous.lock().unwrap_or_else(PoisonError::into_inner);
            statsd_lines(&samples, &self.hostname, &mut previous)
        };
        let resolve = tokio::net::lookup_host(self.settings.addr.as_str());
        let target = tokio::time::timeout(RESOLVE_TIMEOUT, resolve)
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??
            .next()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::AddrNotAvailable))?;
        let local: std::net::SocketAddr = if target.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        // A std socket in non-blocking mode: a send either goes to the kernel at once or fails.
        let socket = std::net::UdpSocket::bind(local)?;
        socket.set_nonblocking(true)?;
        let mut sent = 0;
        for packet in packets(&lines) {
            if socket.send_to(packet.as_bytes(), target).is_ok() {
                sent += 1;
            }
        }
        Ok(sent)
    }
}
