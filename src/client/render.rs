//! What the command-line client prints, from the JSON the node answers: pure functions of the
//! documents, so each table and each watch line is tested without a node.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;

use crate::catalog::ServiceStatus;

/// The status name of a record's numeric `Status` (`Alive`, `Unhealthy`…), `?` if unknown.
fn status_name(status: &Value) -> &'static str {
    status
        .as_i64()
        .and_then(ServiceStatus::from_code)
        .map_or("?", ServiceStatus::as_str)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Columns padded to their widest cell, two spaces apart; no trailing spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `sidecar services`: one row per service name with its instances by status and its
/// service ports, from `/api/services.json`.
pub fn services(doc: &Value) -> String {
    let mut rows = Vec::new();
    let empty = serde_json::Map::new();
    let services = doc["Services"].as_object().unwrap_or(&empty);
    for (name, instances) in services {
        let instances = instances.as_array().map(Vec::as_slice).unwrap_or_default();
        let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
        let mut ports = BTreeSet::new();
        for instance in instances {
            *by_status
                .entry(status_name(&instance["Status"]))
                .or_default() += 1;
            for port in instance["Ports"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if let Some(service_port) = port["ServicePort"].as_u64().filter(|p| *p > 0) {
                    ports.insert(service_port);
                }
            }
        }
        let counts: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
        let ports: Vec<String> = ports.iter().map(u64::to_string).collect();
        rows.push(vec![name.clone(), counts.join(", "), ports.join(",")]);
    }
    table(&["NAME", "INSTANCES", "PORTS"], &rows)
}

/// `sidecar service NAME`: one row per instance, from `/api/services/NAME.json` (the
/// instances of every name under `Services`: the one asked for).
pub fn service(doc: &Value) -> String {
    let empty = serde_json::Map::new();
    let services = doc["Services"].as_object().unwrap_or(&empty);
    let instances = services.values().filter_map(Value::as_array).flatten();
    let rows: Vec<Vec<String>> = instances
        .map(|instance| {
            let ports = instance["Ports"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let ports: Vec<String> = ports.iter().map(port).collect();
            vec![
                text(&instance["ID"]),
                text(&instance["Hostname"]),
                status_name(&instance["Status"]).to_owned(),
                ports.join(","),
                text(&instance["Image"]),
                text(&instance["Updated"]),
            ]
        })
        .collect();
    table(
        &["ID", "HOST", "STATUS", "PORTS", "IMAGE", "UPDATED"],
        &rows,
    )
}

/// `9999->127.0.0.1:32768/tcp`: the service port, where it is served, the protocol.
fn port(port: &Value) -> String {
    let target = format!("{}:{}", text(&port["IP"]), text(&port["Port"]));
    match port["ServicePort"].as_u64().filter(|p| *p > 0) {
        Some(service_port) => format!("{service_port}->{target}/{}", text(&port["Type"])),
        None => format!("{target}/{}", text(&port["Type"])),
    }
}

/// `sidecar members`: from `/api/services.json`'s `ClusterMembers`.
pub fn members(doc: &Value) -> String {
    let empty = serde_json::Map::new();
    let members = doc["ClusterMembers"].as_object().unwrap_or(&empty);
    let rows: Vec<Vec<String>> = members
        .iter()
        .map(|(name, member)| {
            vec![
                name.clone(),
                text(&member["ServiceCount"]),
                text(&member["LastUpdated"]),
            ]
        })
        .collect();
    table(&["NAME", "SERVICES", "LAST UPDATED"], &rows)
}

/// `sidecar subsystems`: from `/api/admin/subsystems`.
pub fn subsystems(list: &Value) -> String {
    let list = list.as_array().map(Vec::as_slice).unwrap_or_default();
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|s| {
            vec![
                text(&s["name"]),
                text(&s["state"]),
                text(&s["restarts"]),
                format!("{}s", text(&s["uptime_seconds"])),
                text(&s["last_error"]),
            ]
        })
        .collect();
    table(
        &["NAME", "STATE", "RESTARTS", "UPTIME", "LAST ERROR"],
        &rows,
    )
}

/// `sidecar gossip`: the figures of `/api/admin/gossip`, one per line, then the drops by
/// reason.
pub fn gossip(stats: &Value) -> String {
    let members: Vec<String> = stats["members"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(text)
        .collect();
    let mut out = String::new();
    let _ = writeln!(out, "members:            {}", members.join(", "));
    let figures = [
        ("exchanges", "exchanges"),
        ("exchanges in sync", "exchanges_in_sync"),
        ("records sent", "exchange_records_sent"),
        ("records received", "exchange_records_received"),
        ("broadcasts", "broadcasts"),
        ("tcp bytes sent", "tcp_sent_bytes"),
        ("tcp bytes received", "tcp_received_bytes"),
    ];
    for (label, key) in figures {
        let _ = writeln!(out, "{:<20}{}", format!("{label}:"), text(&stats[key]));
    }
    for (label, key) in [("udp sent", "udp_sent"), ("udp received", "udp_received")] {
        let traffic = &stats[key];
        let _ = writeln!(
            out,
            "{:<20}{} packets, {} bytes",
            format!("{label}:"),
            text(&traffic["packets"]),
            text(&traffic["bytes"])
        );
    }
    let empty = serde_json::Map::new();
    let dropped = stats["dropped"].as_object().unwrap_or(&empty);
    let rows: Vec<Vec<String>> = dropped
        .iter()
        .map(|(r, n)| vec![r.clone(), text(n)])
        .collect();
    if !rows.is_empty() {
        out.push('\n');
        out.push_str(&table(&["DROPPED", "COUNT"], &rows));
    }
    out
}

/// Follows a watch stream's documents (records by service name) and says what changed.
#[derive(Debug, Default)]
pub struct WatchLines {
    /// `(service, id, host)` → status name, as of the last document.
    known: BTreeMap<(String, String, String), &'static str>,
}

impl WatchLines {
    /// The lines for the next document: on the first, every instance as it is
    /// (`web abc123 on node-1: Alive`); then one line per instance that appeared, changed
    /// status (`web abc123 on node-1: Alive -> Unhealthy`) or left the document (`gone`).
    pub fn next(&mut self, doc: &Value) -> Vec<String> {
        let mut now = BTreeMap::new();
        let empty = serde_json::Map::new();
        for (name, instances) in doc.as_object().unwrap_or(&empty) {
            for instance in instances.as_array().map(Vec::as_slice).unwrap_or_default() {
                let key = (
                    name.clone(),
                    text(&instance["ID"]),
                    text(&instance["Hostname"]),
                );
                now.insert(key, status_name(&instance["Status"]));
            }
        }
        let mut lines = Vec::new();
        for (key @ (name, id, host), status) in &now {
            match self.known.get(key) {
                Some(before) if before == status => {}
                Some(before) => lines.push(format!("{name} {id} on {host}: {before} -> {status}")),
                None => lines.push(format!("{name} {id} on {host}: {status}")),
            }
        }
        for (name, id, host) in self.known.keys().filter(|k| !now.contains_key(*k)) {
            lines.push(format!("{name} {id} on {host}: gone"));
        }
        self.known = now;
        lines
    }
}
