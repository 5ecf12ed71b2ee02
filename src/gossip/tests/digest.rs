//! Unit tests of [`super`]: plans from digests, and convergence through the real `Catalog`.

use super::*;
use crate::catalog::{Catalog, Lifespans, Service, ServiceStatus};

fn now() -> Timestamp {
    Timestamp::parse("2026-11-23T08:00:00Z").unwrap()
}

fn svc(host: &str, id: &str, secs_ago: u64) -> Service {
    Service {
        id: id.into(),
        name: format!("svc-{id}"),
        hostname: host.into(),
        updated: now().minus(std::time::Duration::from_secs(secs_ago)),
        ..Service::default()
    }
}

fn catalog(node: &str, records: &[Service]) -> Catalog {
    let mut catalog = Catalog::new(node, "default", Lifespans::default());
    for record in records {
        let _ = catalog.apply(record.clone(), now());
    }
    catalog
}

fn hosts(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// Runs the exchange both ways through `Catalog::apply`, as the TCP session does.
fn exchange(a: &mut Catalog, b: &mut Catalog) {
    let plan_a = compare(a.state(), &Digest::of(b.state()));
    let plan_b = compare(b.state(), &Digest::of(a.state()));
    assert_eq!(plan_a.send, plan_b.want, "the plan is symmetric");
    assert_eq!(plan_a.want, plan_b.send, "the plan is symmetric");
    let to_b = records_for(a.state(), &plan_a.send);
    let to_a = records_for(b.state(), &plan_b.send);
    for record in to_b {
        let _ = b.apply(Service::try_from(record).unwrap(), now());
    }
    for record in to_a {
        let _ = a.apply(Service::try_from(record).unwrap(), now());
    }
}

#[test]
fn identical_states_give_an_empty_plan() {
    let records = [svc("h1", "a", 1), svc("h2", "b", 2)];
    let (a, b) = (catalog("n1", &records), catalog("n2", &records));
    assert!(compare(a.state(), &Digest::of(b.state())).is_empty());
}

#[test]
fn one_differing_record_exchanges_exactly_that_host_both_ways() {
    let a = catalog("n1", &[svc("h1", "a", 1), svc("h2", "b", 2)]);
    let b = catalog("n2", &[svc("h1", "a", 1), svc("h2", "b", 1)]);
    let plan = compare(a.state(), &Digest::of(b.state()));
    assert_eq!(plan.send, hosts(&["h2"]));
    assert_eq!(plan.want, hosts(&["h2"]));
}

#[test]
fn a_status_change_alone_changes_the_digest() {
    let alive = svc("h1", "a", 1);
    let sick = Service {
        status: ServiceStatus::Unhealthy,
        ..alive.clone()
    };
    let (a, b) = (catalog("n1", &[alive]), catalog("n2", &[sick]));
    assert_ne!(Digest::of(a.state()), Digest::of(b.state()));
}

#[test]
fn a_host_held_on_one_side_only_is_sent_or_wanted() {
    let a = catalog("n1", &[svc("h1", "a", 1), svc("only-a", "x", 1)]);
    let b = catalog("n2", &[svc("h1", "a", 1), svc("only-b", "y", 1)]);
    let plan = compare(a.state(), &Digest::of(b.state()));
    assert_eq!(plan.send, hosts(&["only-a"]));
    assert_eq!(plan.want, hosts(&["only-b"]));
    let records = records_for(a.state(), &plan.send);
    assert_eq!(records.len(), 1);
    assert_eq!(records.first().map(|r| r.id.as_str()), Some("x"));
}

#[test]
fn after_the_exchange_both_catalogues_are_equal() {
    let shared = svc("h1", "a", 5);
    let newer = Service {
        updated: now(),
        status: ServiceStatus::Tombstone,
        ..shared.clone()
    };
    let mut a = catalog("n1", &[shared, svc("h2", "b", 3), svc("h3", "c", 1)]);
    let mut b = catalog("n2", &[newer, svc("h4", "d", 2)]);
    exchange(&mut a, &mut b);
    assert_eq!(a.state().servers, b.state().servers);
    assert!(compare(a.state(), &Digest::of(b.state())).is_empty());
}

#[test]
fn a_remote_host_listed_twice_or_empty_does_not_confuse_the_plan() {
    let a = catalog("n1", &[svc("h1", "a", 1)]);
    let mut remote = Digest::of(a.state());
    remote.servers.extend(remote.servers.clone());
    remote.servers.push(ServerDigest {
        host: "ghost".into(),
        newest: now(),
        count: 0,
        hash: 0,
    });
    assert!(compare(a.state(), &remote).is_empty());
}
