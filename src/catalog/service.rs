//! One service record ([`Service`]), its [`Port`]s and its [`ServiceStatus`], with the exact JSON
//! shapes of Go Sidecar (docs/COMPATIBILITY.md §4).
//!
//! Pure data: no I/O, no clock. Decoding follows Go's `encoding/json`: unknown keys are
//! ignored, missing keys leave zero values, and key matching is case-insensitive.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess};
use serde::{Deserialize, Serialize, Serializer};

use super::go_json::{self, GoObject};
use crate::clock::Timestamp;

/// The status of a service record; serialised as its Go integer code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceStatus {
    /// 0: the health check passes.
    #[default]
    Alive,
    /// 1: the service is gone; kept so that peers learn it.
    Tombstone,
    /// 2: the health check fails.
    Unhealthy,
    /// 3: no health result yet, or the check could not run.
    Unknown,
    /// 4: taken out of rotation by an operator; held against ALIVE until tombstoned.
    Draining,
}

impl ServiceStatus {
    /// The Go integer code (0–4).
    pub fn code(self) -> u8 {
        match self {
            ServiceStatus::Alive => 0,
            ServiceStatus::Tombstone => 1,
            ServiceStatus::Unhealthy => 2,
            ServiceStatus::Unknown => 3,
            ServiceStatus::Draining => 4,
        }
    }

    /// The status for a Go integer code; `None` outside 0–4.
    pub fn from_code(code: i64) -> Option<ServiceStatus> {
        Some(match code {
            0 => ServiceStatus::Alive,
            1 => ServiceStatus::Tombstone,
            2 => ServiceStatus::Unhealthy,
            3 => ServiceStatus::Unknown,
            4 => ServiceStatus::Draining,
            _ => return None,
        })
    }

    /// Go's `StatusString`: `Alive`, `Tombstone`, `Unhealthy`, `Unknown`, `Draining`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Alive => "Alive",
            ServiceStatus::Tombstone => "Tombstone",
            ServiceStatus::Unhealthy => "Unhealthy",
            ServiceStatus::Unknown => "Unknown",
            ServiceStatus::Draining => "Draining",
        }
    }
}

impl fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ServiceStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for ServiceStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = i64::deserialize(deserializer)?;
        ServiceStatus::from_code(code)
            .ok_or_else(|| de::Error::custom(format!("unknown service status {code}")))
    }
}

/// One reachable port of a service (docs/COMPATIBILITY.md §4). Field order is the Go JSON key
/// order.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Port {
    /// `"tcp"` or `"udp"` (static files may say anything).
    #[serde(rename = "Type")]
    pub kind: String,
    /// The real, reachable port on the host.
    #[serde(rename = "Port")]
    pub port: i64,
    /// The well-known port the proxy listens on for this service; 0 = not exported.
    #[serde(rename = "ServicePort")]
    pub service_port: i64,
    /// The address to reach `port` on.
    #[serde(rename = "IP")]
    pub ip: String,
}

/// One service instance on one host (docs/COMPATIBILITY.md §4). Field order is the Go JSON key
/// order.
///
/// The derived order (field by field) is only a tie-break between two versions of a record with
/// the same `Updated`; see [`super::Catalog`].
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Service {
    /// Unique per host (Docker: 12 chars of the container ID; static: 12 hex chars).
    #[serde(rename = "ID")]
    pub id: String,
    /// Logical service name: the grouping key for proxies and the API.
    #[serde(rename = "Name")]
    pub name: String,
    /// Docker image, or free text.
    #[serde(rename = "Image")]
    pub image: String,
    /// When the instance was created.
    #[serde(rename = "Created")]
    pub created: Timestamp,
    /// The host that owns and announces the record.
    #[serde(rename = "Hostname")]
    pub hostname: String,
    /// Ports; `None` is written as `null` (Go's nil slice).
    #[serde(rename = "Ports")]
    pub ports: Option<Vec<Port>>,
    /// The version of the record: the only thing compared when merging.
    #[serde(rename = "Updated")]
    pub updated: Timestamp,
    /// `http`, `tcp` or `ws`.
    #[serde(rename = "ProxyMode")]
    pub proxy_mode: String,
    /// See [`ServiceStatus`].
    #[serde(rename = "Status")]
    pub status: ServiceStatus,
}

impl Service {
    /// The ports as a slice (empty for `None`).
    pub fn ports(&self) -> &[Port] {
        self.ports.as_deref().unwrap_or(&[])
    }

    /// Go's `PortForServicePort`: the `Port` of the first port with this service port and
    /// type, or -1.
    pub fn port_for_service_port(&self, service_port: i64, kind: &str) -> i64 {
        self.ports()
            .iter()
            .find(|p| p.service_port == service_port && p.kind == kind)
            .map_or(-1, |p| p.port)
    }

    /// Go's `Invalidates`: whether this record is strictly newer than `other`.
    pub fn invalidates(&self, other: &Service) -> bool {
        self.updated > other.updated
    }

    /// Go's `ListenerName`: `Service(<Name>-<ID>)`.
    pub fn listener_name(&self) -> String {
        format!("Service({}-{})", self.name, self.id)
    }

    /// Go's `Version()`: the second `:`-separated part of the image, else the image.
    pub fn version(&self) -> &str {
        self.image.split(':').nth(1).unwrap_or(&self.image)
    }
}

impl GoObject for Port {
    const EXPECTING: &'static str = "a port object";
    const FIELDS: &'static [&'static str] = &["Type", "Port", "ServicePort", "IP"];

    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        match index {
            0 => self.kind = null_default(map.next_value()?),
            1 => self.port = null_default(map.next_value()?),
            2 => self.service_port = null_default(map.next_value()?),
            _ => self.ip = null_default(map.next_value()?),
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        go_json::deserialize(deserializer)
    }
}

impl GoObject for Service {
    const EXPECTING: &'static str = "a service object";
    const FIELDS: &'static [&'static str] = &[
        "ID",
        "Name",
        "Image",
        "Created",
        "Hostname",
        "Ports",
        "Updated",
        "ProxyMode",
        "Status",
    ];

    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        match index {
            0 => self.id = null_default(map.next_value()?),
            1 => self.name = null_default(map.next_value()?),
            2 => self.image = null_default(map.next_value()?),
            3 => self.created = map.next_value()?,
            4 => self.hostname = null_default(map.next_value()?),
            5 => self.ports = map.next_value()?,
            6 => self.updated = map.next_value()?,
            7 => self.proxy_mode = null_default(map.next_value()?),
            _ => self.status = null_default(map.next_value()?),
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Service {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        go_json::deserialize(deserializer)
    }
}

/// Go leaves a field at its zero value when the JSON says `null`.
fn null_default<T: Default>(value: Option<T>) -> T {
    value.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_RECORD: &str = r#"{"ID":"680088356f1f","Name":"some_service","Image":"bb6268ff91dc42a51f51db53846f72102ed9ff3f","Created":"2026-11-23T07:59:37.419536457Z","Hostname":"vm","Ports":[{"Type":"tcp","Port":10234,"ServicePort":9999,"IP":"127.0.0.1"}],"Updated":"2026-11-23T08:00:09.419929456Z","ProxyMode":"http","Status":0}"#;

    #[test]
    fn a_go_record_round_trips_byte_for_byte() {
        let svc: Service = serde_json::from_str(GO_RECORD).unwrap();
        assert_eq!(svc.id, "680088356f1f");
        assert_eq!(svc.ports()[0].service_port, 9999);
        assert_eq!(serde_json::to_string(&svc).unwrap(), GO_RECORD);
    }

    #[test]
    fn keys_match_case_insensitively_and_unknown_keys_are_ignored() {
        let svc: Service =
            serde_json::from_str(r#"{"id":"abc","NAME":"web","status":4,"extra":[1,2]}"#).unwrap();
        assert_eq!((svc.id.as_str(), svc.name.as_str()), ("abc", "web"));
        assert_eq!(svc.status, ServiceStatus::Draining);
    }

    #[test]
    fn missing_keys_leave_go_zero_values() {
        let svc: Service = serde_json::from_str(r#"{"Ports":[{"Port":80}]}"#).unwrap();
        assert_eq!(svc.created, Timestamp::ZERO);
        assert_eq!(
            svc.ports()[0],
            Port {
                port: 80,
                ..Port::default()
            }
        );
        let none: Service = serde_json::from_str("{}").unwrap();
        assert_eq!(none.ports, None);
        assert!(
            serde_json::to_string(&none)
                .unwrap()
                .contains(r#""Ports":null"#)
        );
    }

    #[test]
    fn status_codes_outside_zero_to_four_are_rejected() {
        let err = serde_json::from_str::<Service>(r#"{"Status":7}"#).unwrap_err();
        assert!(err.to_string().contains("unknown service status 7"));
    }

    #[test]
    fn port_for_service_port_matches_type_too() {
        let svc = Service {
            ports: Some(vec![
                Port {
                    kind: "udp".into(),
                    port: 11234,
                    service_port: 8080,
                    ip: String::new(),
                },
                Port {
                    kind: "tcp".into(),
                    port: 8173,
                    service_port: 8080,
                    ip: String::new(),
                },
            ]),
            ..Service::default()
        };
        assert_eq!(svc.port_for_service_port(8080, "tcp"), 8173);
        assert_eq!(svc.port_for_service_port(8081, "tcp"), -1);
    }

    #[test]
    fn version_is_the_tag_part_of_the_image() {
        let mut svc = Service {
            image: "nginx:1.25".into(),
            ..Service::default()
        };
        assert_eq!(svc.version(), "1.25");
        svc.image = "bb6268ff".into();
        assert_eq!(svc.version(), "bb6268ff");
    }
}
