//! Tests of the [`Monitor`] (docs/COMPATIBILITY.md §11: the Go tests of marking statuses and of
//! creating checks).

use super::*;
use crate::catalog::{Port, ServiceStatus};
use crate::discovery::CheckDefinition;

fn settings() -> MonitorSettings {
    MonitorSettings {
        published_ip: "10.0.0.9".into(),
        default_check_endpoint: "/".into(),
        ..MonitorSettings::default()
    }
}

fn svc(id: &str, tcp_port: Option<i64>) -> Discovered {
    let ports = tcp_port.map(|port| {
        vec![Port {
            kind: "tcp".into(),
            port,
            service_port: 8081,
            ip: "10.0.0.9".into(),
        }]
    });
    Discovered {
        service: Service {
            id: id.into(),
            name: format!("svc-{id}"),
            hostname: "indefatigable".into(),
            ports,
            ..Service::default()
        },
        check: None,
        listener: None,
    }
}

fn with_check(mut d: Discovered, kind: &str, args: &str) -> Discovered {
    d.check = Some(CheckDefinition {
        kind: kind.into(),
        args: args.into(),
    });
    d
}

fn key(id: &str) -> RecordKey {
    RecordKey::new("indefatigable", id)
}

fn sick() -> CheckResult {
    CheckResult::Sickly {
        reason: "500".into(),
    }
}

#[test]
fn a_new_service_gets_the_default_check_and_waits_for_its_first_result() {
    let mut m = Monitor::new(settings());
    let obs = m.observe(DiscoverySource::Static, vec![svc("a", Some(1234))]);
    assert!(obs.changed);
    assert_eq!(obs.added.len(), 1);
    let added = &obs.added[0];
    assert!(added.is_default);
    assert_eq!(added.spec.kind, CheckKind::HttpGet);
    assert_eq!(added.spec.args, "http://10.0.0.9:1234/");
    let (services, pending) = m.report();
    assert!(services.is_empty());
    assert_eq!(pending, BTreeSet::from([key("a")]));
}

#[test]
fn the_first_healthy_result_reports_the_service_alive() {
    let mut m = Monitor::new(settings());
    let obs = m.observe(DiscoverySource::Static, vec![svc("a", Some(1234))]);
    let rec = m.record(&obs.added[0].id, &CheckResult::Healthy).unwrap();
    assert!(rec.service_status_changed);
    let (services, pending) = m.report();
    assert!(pending.is_empty());
    assert_eq!(services[0].status, ServiceStatus::Alive);
    let again = m.record(&obs.added[0].id, &CheckResult::Healthy).unwrap();
    assert!(!again.service_status_changed);
}

#[test]
fn a_sick_check_marks_the_service_unhealthy_and_recovery_alive() {
    let mut m = Monitor::new(settings());
    let id = m
        .observe(DiscoverySource::Static, vec![svc("a", Some(1))])
        .added[0]
        .id
        .clone();
    m.record(&id, &sick());
    assert_eq!(m.report().0[0].status, ServiceStatus::Unhealthy);
    let rec = m.record(&id, &CheckResult::Healthy).unwrap();
    assert!(rec.service_status_changed && rec.transition.changed());
    assert_eq!(m.report().0[0].status, ServiceStatus::Alive);
}

#[test]
fn a_record_status_from_discovery_is_replaced_by_the_check() {
    let mut m = Monitor::new(settings());
    let mut tomb = svc("a", Some(1));
    tomb.service.status = ServiceStatus::Tombstone;
    let id = m.observe(DiscoverySource::Static, vec![tomb]).added[0]
        .id
        .clone();
    m.record(&id, &sick());
    assert_eq!(m.report().0[0].status, ServiceStatus::Unhealthy);
}

#[test]
fn services_without_an_id_are_dropped_and_reported_once() {
    let mut m = Monitor::new(settings());
    let list = vec![svc("", None), svc("b", None)];
    let obs = m.observe(DiscoverySource::Static, list.clone());
    assert_eq!(obs.dropped_without_id, ["svc-"]);
    assert_eq!(m.len(), 1);
    let again = m.observe(DiscoverySource::Static, list);
    assert!(again.dropped_without_id.is_empty());
    assert!(!again.changed);
}

#[test]
fn vanished_services_lose_their_check_and_late_results_are_ignored() {
    let mut m = Monitor::new(settings());
    let obs = m.observe(
        DiscoverySource::Static,
        vec![svc("a", None), svc("b", None)],
    );
    let gone = m.observe(DiscoverySource::Static, vec![svc("b", None)]);
    assert_eq!(gone.removed, [key("a")]);
    assert!(gone.changed);
    assert_eq!(m.record(&obs.added[0].id, &CheckResult::Healthy), None);
    // Re-created with a new generation: the old check's result still does not count.
    let back = m.observe(
        DiscoverySource::Static,
        vec![svc("a", None), svc("b", None)],
    );
    assert_ne!(back.added[0].id, obs.added[0].id);
    assert_eq!(m.spec(&obs.added[0].id), None);
    assert!(m.record(&back.added[0].id, &CheckResult::Healthy).is_some());
}

#[test]
fn each_source_replaces_only_its_own_list() {
    let mut m = Monitor::new(settings());
    m.observe(DiscoverySource::Static, vec![svc("a", None)]);
    m.observe(DiscoverySource::Docker, vec![svc("b", None)]);
    assert_eq!(m.len(), 2);
    let obs = m.observe(DiscoverySource::Docker, vec![]);
    assert_eq!(obs.removed, [key("b")]);
    assert_eq!(m.check_ids().map(|c| c.key).collect::<Vec<_>>(), [key("a")]);
}

#[test]
fn an_unchanged_list_is_not_a_change_but_new_content_is() {
    let mut m = Monitor::new(settings());
    m.observe(DiscoverySource::Static, vec![svc("a", Some(1))]);
    let mut same = svc("a", Some(1));
    same.service.updated = crate::clock::Timestamp::EPOCH;
    assert!(!m.observe(DiscoverySource::Static, vec![same]).changed);
    let mut moved = svc("a", Some(1));
    moved.service.image = "new:2".into();
    let obs = m.observe(DiscoverySource::Static, vec![moved]);
    assert!(obs.changed && obs.added.is_empty());
}

#[test]
fn explicit_checks_are_templated_once_and_start_failed() {
    let mut m = Monitor::new(settings());
    let d = with_check(
        svc("a", Some(1234)),
        "HttpGet",
        "http://{{ host }}:{{ tcp 8081 }}/{{ container }}",
    );
    let obs = m.observe(DiscoverySource::Static, vec![d]);
    let added = &obs.added[0];
    assert!(!added.is_default);
    assert_eq!(added.spec.args, "http://10.0.0.9:1234/indefatigable");
    assert_eq!(added.template_error, None);
}

#[test]
fn a_broken_template_uses_the_raw_args_and_says_why() {
    let mut m = Monitor::new(settings());
    let d = with_check(svc("a", None), "External", "test {{ nope }}");
    let added = m.observe(DiscoverySource::Static, vec![d]).added.remove(0);
    assert_eq!(added.spec.kind, CheckKind::External);
    assert_eq!(added.spec.args, "test {{ nope }}");
    assert!(added.template_error.is_some());
}

#[test]
fn empty_host_http_urls_check_localhost() {
    let mut m = Monitor::new(settings());
    let d = with_check(svc("a", None), "HttpGet", "http://:10234/");
    let added = m.observe(DiscoverySource::Static, vec![d]).added.remove(0);
    assert_eq!(added.spec.args, "http://127.0.0.1:10234/");
}

#[test]
fn a_service_without_a_tcp_port_gets_an_always_successful_check() {
    let mut m = Monitor::new(settings());
    let added = m
        .observe(DiscoverySource::Static, vec![svc("a", None)])
        .added
        .remove(0);
    assert_eq!(added.spec.kind, CheckKind::AlwaysSuccessful);
}
