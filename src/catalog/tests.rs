//! Unit tests of the catalogue: the merge rules of [`Catalog::apply`], the local sync, expiry, node
//! leave and drain (docs/PROTOCOL.md §3–§5), and the JSON shapes of the state and its views
//! (docs/COMPATIBILITY.md §4).
//!
//! Every test passes `now` explicitly; nothing here reads a clock. The sub-modules group the
//! tests by the method under test; the fixtures are here.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Catalog, ChangeEvent, Lifespans, Port, Service, ServiceStatus};
use crate::clock::Timestamp;

mod apply;
mod json;
mod lifespans;
mod local;
mod versions;

/// This node's name in every test (the name in the Go samples).
const NODE: &str = "vm";
/// A peer.
const PEER: &str = "peer";

fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The "now" of most tests.
fn now() -> Timestamp {
    ts("2026-11-23T08:00:00Z")
}

fn catalog() -> Catalog {
    Catalog::new(NODE, "default", Lifespans::default())
}

/// A record of service `web` on `host` with the given ID, status and version.
fn svc(host: &str, id: &str, status: ServiceStatus, updated: Timestamp) -> Service {
    Service {
        id: id.into(),
        name: "web".into(),
        image: "web:1".into(),
        created: ts("2026-11-23T07:00:00Z"),
        hostname: host.into(),
        ports: Some(vec![Port {
            kind: "tcp".into(),
            port: 10234,
            service_port: 9999,
            ip: "127.0.0.1".into(),
        }]),
        updated,
        proxy_mode: "http".into(),
        status,
    }
}

fn alive(host: &str, id: &str, updated: Timestamp) -> Service {
    svc(host, id, ServiceStatus::Alive, updated)
}

/// The record of docs/COMPATIBILITY.md §4, exactly as the Go binary emits it.
fn go_record() -> Service {
    Service {
        id: "680088356f1f".into(),
        name: "some_service".into(),
        image: "bb6268ff91dc42a51f51db53846f72102ed9ff3f".into(),
        created: ts("2026-11-23T07:59:37.419536457Z"),
        hostname: "vm".into(),
        ports: Some(vec![Port {
            kind: "tcp".into(),
            port: 10234,
            service_port: 9999,
            ip: "127.0.0.1".into(),
        }]),
        updated: ts("2026-11-23T08:00:09.419929456Z"),
        proxy_mode: "http".into(),
        status: ServiceStatus::Alive,
    }
}

/// The status held for `(host, id)`.
fn status_of(catalog: &Catalog, host: &str, id: &str) -> ServiceStatus {
    catalog.state().get(host, id).unwrap().status
}

/// The single change `changes` holds.
fn only(changes: Vec<ChangeEvent>) -> ChangeEvent {
    assert_eq!(
        changes.len(),
        1,
        "expected exactly one change: {changes:#?}"
    );
    changes.into_iter().next().unwrap()
}

fn no_pending() -> BTreeSet<super::RecordKey> {
    BTreeSet::new()
}

/// What discovery reports: a record without a hostname is filed under this node.
fn observed(id: &str, status: ServiceStatus) -> Service {
    svc("", id, status, Timestamp::ZERO)
}

/// One local sync of `observed` at `at`, nothing pending.
fn sync(c: &mut Catalog, observed: Vec<Service>, at: Timestamp) -> super::LocalSync {
    c.sync_local(observed, &no_pending(), at)
}
