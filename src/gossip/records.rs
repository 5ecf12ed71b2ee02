//! Compact wire forms of a service record ([`WireService`], [`WirePort`]) and the packing of
//! records into datagrams ([`split_services`]).
//!
//! The catalogue's `Service` deserialises from Go's case-insensitive JSON map, which a
//! non-self-describing format such as postcard cannot drive, so the wire carries these derived
//! structs instead: timestamps as i128 nanoseconds since the Unix epoch, the status as its Go
//! code (validated on the way back). The conversions are lossless both ways.
//!
//! Pure: no I/O.

use serde::{Deserialize, Serialize};

use crate::catalog::{Port, Service, ServiceStatus};
use crate::clock::Timestamp;

/// A [`Port`] on the wire; same fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WirePort {
    /// `tcp` or `udp`.
    pub kind: String,
    /// The reachable port.
    pub port: i64,
    /// The proxy's well-known port; 0 = not exported.
    pub service_port: i64,
    /// The address to reach `port` on.
    pub ip: String,
}

/// A [`Service`] on the wire; same fields, times as nanoseconds, status as its Go code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireService {
    /// Unique per host.
    pub id: String,
    /// Logical service name.
    pub name: String,
    /// Image or free text.
    pub image: String,
    /// Creation time.
    #[serde(with = "nanos")]
    pub created: Timestamp,
    /// The owning host.
    pub hostname: String,
    /// Ports; `None` is Go's nil slice.
    pub ports: Option<Vec<WirePort>>,
    /// The record's version.
    #[serde(with = "nanos")]
    pub updated: Timestamp,
    /// `http`, `tcp` or `ws`.
    pub proxy_mode: String,
    /// Go status code, 0–4 (checked by `TryFrom<WireService> for Service`).
    pub status: u8,
}

/// A [`WireService`] whose status code is outside 0–4. The record is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown service status {0}")]
pub struct BadStatus(pub u8);

impl From<&Port> for WirePort {
    fn from(p: &Port) -> WirePort {
        WirePort {
            kind: p.kind.clone(),
            port: p.port,
            service_port: p.service_port,
            ip: p.ip.clone(),
        }
    }
}

impl From<WirePort> for Port {
    fn from(p: WirePort) -> Port {
        Port {
            kind: p.kind,
            port: p.port,
            service_port: p.service_port,
            ip: p.ip,
        }
    }
}

impl From<&Service> for WireService {
    fn from(s: &Service) -> WireService {
        WireService {
            id: s.id.clone(),
            name: s.name.clone(),
            image: s.image.clone(),
            created: s.created,
            hostname: s.hostname.clone(),
            ports: s
                .ports
                .as_ref()
                .map(|ps| ps.iter().map(WirePort::from).collect()),
            updated: s.updated,
            proxy_mode: s.proxy_mode.clone(),
            status: s.status.code(),
        }
    }
}

impl TryFrom<WireService> for Service {
    type Error = BadStatus;

    fn try_from(w: WireService) -> Result<Service, BadStatus> {
        let status = ServiceStatus::from_code(i64::from(w.status)).ok_or(BadStatus(w.status))?;
        Ok(Service {
            id: w.id,
            name: w.name,
            image: w.image,
            created: w.created,
            hostname: w.hostname,
            ports: w.ports.map(|ps| ps.into_iter().map(Port::from).collect()),
            updated: w.updated,
            proxy_mode: w.proxy_mode,
            status,
        })
    }
}

/// Serde adapter: a [`Timestamp`] as i128 nanoseconds since the Unix epoch; values outside
/// the timestamp range (year 1 to 9999) are refused rather than clamped.
pub mod nanos {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de};

    use crate::clock::Timestamp;

    /// Writes `ts` as i128 Unix nanoseconds.
    pub fn serialize<S: Serializer>(ts: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i128(ts.unix_nanos())
    }

    /// Reads i128 Unix nanoseconds; out of range is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let nanos = i128::deserialize(deserializer)?;
        // Checked before converting: `from_unix_nanos` overflows on extreme i128 values.
        let first = Timestamp::ZERO.unix_nanos();
        let last = Timestamp::ZERO.plus(Duration::MAX).unix_nanos();
        if (first..=last).contains(&nanos) {
            Ok(Timestamp::from_unix_nanos(nanos))
        } else {
            Err(de::Error::custom("timestamp out of range"))
        }
    }
}

/// Records packed for datagrams by [`split_services`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packed {
    /// Batches whose encoded body fits the budget; each becomes one datagram.
    pub datagrams: Vec<Vec<WireService>>,
    /// Records too large for any datagram on their own: send them over TCP. They never hold
    /// up the others (the head-of-line blocking of docs/COMPATIBILITY.md §13.14).
    pub oversized: Vec<WireService>,
}

/// Packs `records` into as few batches as fit `budget` body bytes each (first fit, in order),
/// setting aside any record that cannot fit even alone. `budget` is the body budget of a
/// datagram frame: see [`super::wire::FrameContext::body_budget`].
pub fn split_services(records: Vec<WireService>, budget: usize) -> Packed {
    let mut oversized = Vec::new();
    let mut bins: Vec<(Vec<WireService>, usize)> = Vec::new();
    for record in records {
        let size = postcard::to_stdvec(&record).map_or(usize::MAX, |b| b.len());
        if size.saturating_add(varint_len(1)) > budget {
            oversized.push(record);
            continue;
        }
        let cost =
            |batch: &[WireService]| size + varint_len(batch.len() + 1) - varint_len(batch.len());
        match bins.iter_mut().find(|(b, used)| *used + cost(b) <= budget) {
            Some((batch, used)) => {
                *used += cost(batch);
                batch.push(record);
            }
            None => bins.push((vec![record], varint_len(1) + size)),
        }
    }
    Packed {
        datagrams: bins.into_iter().map(|(batch, _)| batch).collect(),
        oversized,
    }
}

/// Bytes of postcard's varint encoding of a length `n`.
fn varint_len(n: usize) -> usize {
    let bits = usize::BITS - n.leading_zeros();
    (bits.max(1) as usize).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_lengths_match_postcard() {
        for n in [0_usize, 1, 127, 128, 16_383, 16_384, 2_097_152] {
            let encoded = postcard::to_stdvec(&vec![(); n]).unwrap();
            assert_eq!(varint_len(n), encoded.len(), "{n}");
        }
    }

    #[test]
    fn out_of_range_nanos_are_refused_not_clamped() {
        #[derive(Serialize, Deserialize)]
        struct T(#[serde(with = "nanos")] Timestamp);
        for extreme in [i128::MAX, i128::MIN, 253_402_300_800 * 1_000_000_000] {
            let bytes = postcard::to_stdvec(&extreme).unwrap();
            assert!(postcard::from_bytes::<T>(&bytes).is_err(), "{extreme}");
        }
        let last = Timestamp::ZERO.plus(std::time::Duration::MAX);
        let bytes = postcard::to_stdvec(&T(last)).unwrap();
        assert_eq!(postcard::from_bytes::<T>(&bytes).unwrap().0, last);
        let ok = postcard::to_stdvec(&T(Timestamp::ZERO)).unwrap();
        assert_eq!(postcard::from_bytes::<T>(&ok).unwrap().0, Timestamp::ZERO);
    }

    #[test]
    fn a_bad_status_code_is_refused() {
        let wire = WireService {
            status: 5,
            ..WireService::default()
        };
        assert_eq!(Service::try_from(wire), Err(BadStatus(5)));
    }
}
