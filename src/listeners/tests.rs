//! Unit tests of the listener registry, the outbox and the body.

use std::time::Duration;

use super::*;
use crate::catalog::{ChangeEvent, Service, ServiceStatus, ServicesState, StateChangedEvent};
use crate::clock::Timestamp;
use crate::discovery::{DiscoverySource, ListenerDefinition};

fn def(name: &str, port: u16) -> ListenerDefinition {
    ListenerDefinition {
        name: name.into(),
        url: format!("http://127.0.0.1:{port}/sidecar/update"),
    }
}

fn names(listeners: &[Listener]) -> Vec<&str> {
    listeners.iter().map(|l| l.name.as_str()).collect()
}

#[test]
fn static_urls_become_unmanaged_url_listeners() {
    let urls = vec!["http://a:1/x".to_owned(), "http://b/y".to_owned()];
    let (registry, rejected) = Registry::with_static(&urls);
    assert!(rejected.is_empty());
    let active = registry.active();
    assert_eq!(active.len(), 2);
    let a = &active["UrlListener(http://a:1/x)"];
    assert_eq!(a.url, "http://a:1/x");
    assert!(!a.managed);
}

#[test]
fn bad_static_urls_are_skipped_and_named() {
    let urls = vec![
        "not a url".to_owned(),
        "ftp://x/".to_owned(),
        "http://ok/".to_owned(),
    ];
    let (registry, rejected) = Registry::with_static(&urls);
    assert_eq!(registry.active().len(), 1);
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0].0, "not a url");
    let err = validate_urls(&urls).unwrap_err();
    assert!(err.contains("not a url"), "{err}");
    assert!(validate_urls(&["http://ok/".to_owned(), "http://ok:8443/p".to_owned()]).is_ok());
    let https = validate_urls(&["https://ok:8443/p".to_owned()]).unwrap_err();
    assert!(https.contains("no TLS"), "{https}");
    assert!(validate_urls(&["http://".to_owned()]).is_err());
}

#[test]
fn newly_discovered_listeners_are_added_once() {
    let mut registry = Registry::default();
    let first = registry.observe(DiscoverySource::Static, [def("Service(web-1)", 1)]);
    assert_eq!(names(&first.added), ["Service(web-1)"]);
    assert!(first.added[0].managed);
    assert!(first.removed.is_empty());
    let again = registry.observe(DiscoverySource::Static, [def("Service(web-1)", 1)]);
    assert_eq!(again, RegistryChanges::default());
}

#[test]
fn vanished_managed_listeners_are_removed_and_static_ones_stay() {
    let (mut registry, _) = Registry::with_static(&["http://static/".to_owned()]);
    let _ = registry.observe(DiscoverySource::Static, [def("Service(web-1)", 1)]);
    let gone = registry.observe(DiscoverySource::Static, []);
    assert_eq!(gone.removed, ["Service(web-1)"]);
    assert!(gone.added.is_empty());
    let active = registry.active();
    assert_eq!(
        active.keys().collect::<Vec<_>>(),
        ["UrlListener(http://static/)"]
    );
}

#[test]
fn each_source_keeps_its_own_list() {
    let mut registry = Registry::default();
    let _ = registry.observe(DiscoverySource::Static, [def("Service(a-1)", 1)]);
    let docker = registry.observe(DiscoverySource::Docker, [def("Service(b-2)", 2)]);
    assert_eq!(names(&docker.added), ["Service(b-2)"]);
    assert!(
        docker.removed.is_empty(),
        "Docker's list does not replace the static one"
    );
    let cleared = registry.observe(DiscoverySource::Docker, []);
    assert_eq!(cleared.removed, ["Service(b-2)"]);
    assert!(registry.active().contains_key("Service(a-1)"));
}

#[test]
fn a_listener_whose_url_changed_is_restarted() {
    let mut registry = Registry::default();
    let _ = registry.observe(DiscoverySource::Static, [def("Service(a-1)", 1)]);
    let moved = registry.observe(DiscoverySource::Static, [def("Service(a-1)", 2)]);
    assert_eq!(moved.removed, ["Service(a-1)"]);
    assert_eq!(moved.added[0].url, "http://127.0.0.1:2/sidecar/update");
}

#[test]
fn a_discovered_listener_with_a_bad_url_is_rejected() {
    let mut registry = Registry::default();
    let bad = ListenerDefinition {
        name: "Service(x-1)".into(),
        url: "http://:80/".into(),
    };
    let changes = registry.observe(DiscoverySource::Docker, [bad]);
    assert!(changes.added.is_empty());
    assert_eq!(changes.rejected[0].0, "Service(x-1)");
}

#[test]
fn a_full_queue_drops_the_oldest_and_counts_it() {
    let mut queue = BoundedQueue::new(3);
    for i in 0..3 {
        assert_eq!(queue.push(i), None);
    }
    assert_eq!(queue.push(3), Some(0));
    assert_eq!(queue.push(4), Some(1));
    assert_eq!(queue.len(), 3);
    assert_eq!(queue.dropped(), 2);
    let drained: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
    assert_eq!(drained, [2, 3, 4], "the newest are kept, in order");
    assert!(queue.is_empty());
}

#[test]
fn a_zero_capacity_queue_still_holds_the_latest_event() {
    let mut queue = BoundedQueue::new(0);
    assert_eq!(queue.capacity(), 1);
    let _ = queue.push("a");
    assert_eq!(queue.push("b"), Some("a"));
    assert_eq!(queue.pop(), Some("b"));
}

#[test]
fn the_body_is_byte_for_byte_the_serialised_state_changed_event() {
    let now = Timestamp::parse("2026-11-23T07:59:41.419845889Z").unwrap();
    let svc = Service {
        id: "680088356f1f".into(),
        name: "some_service".into(),
        hostname: "vm".into(),
        updated: now,
        ..Service::default()
    };
    let mut state = ServicesState::new("vm", "default");
    state.last_changed = now;
    let change = ChangeEvent {
        service: svc,
        previous_status: ServiceStatus::Unhealthy,
        time: now,
    };
    let state_json = serde_json::to_vec(&state).unwrap();
    let body = event_body(&state_json, &change).unwrap();
    let expected = serde_json::to_vec(&StateChangedEvent {
        state,
        change_event: change,
    })
    .unwrap();
    assert_eq!(body, expected);
}

#[test]
fn retries_back_off_like_go() {
    let delays: Vec<_> = (1..=6).map(retry_delay).collect();
    let ms = |n| Duration::from_millis(n);
    assert_eq!(delays, [ms(0), ms(0), ms(100), ms(200), ms(300), ms(400)]);
}
