use std::collections::HashMap;

use envoy_types::pb::google::rpc::Status;

use super::*;
use crate::xds::testdata::{catalogue, catalogue_with_more_web, resources_of};

fn request(kind: ResourceType, subscribe: &[&str], nonce: &str) -> DeltaDiscoveryRequest {
    DeltaDiscoveryRequest {
        type_url: kind.type_url().to_owned(),
        resource_names_subscribe: subscribe.iter().map(|n| (*n).to_owned()).collect(),
        response_nonce: nonce.to_owned(),
        ..Default::default()
    }
}

fn with_db_gone() -> Resources {
    let mut changed = catalogue();
    for server in changed.servers.values_mut() {
        server.services.retain(|_, s| s.name != "db");
    }
    resources_of(&changed)
}

fn with_more_web() -> Resources {
    resources_of(&catalogue_with_more_web())
}

/// Subscribes to every cluster and acknowledges the first response.
fn subscribed(stream: &mut DeltaStream, resources: &Resources) -> Sent {
    let (_, first) = stream.on_request(&request(ResourceType::Cluster, &[], ""), resources);
    let (response, sent) = first.unwrap();
    let ack = request(ResourceType::Cluster, &[], &response.nonce);
    assert!(stream.on_request(&ack, resources).1.is_none());
    sent
}

#[test]
fn a_wildcard_subscription_gets_every_resource_first() {
    let resources = resources_of(&catalogue());
    let mut stream = DeltaStream::new();
    let sent = subscribed(&mut stream, &resources);
    assert_eq!(sent.names, ["chat:9000", "db:5432", "odd:7000", "web:8080"]);
    assert!(sent.removed.is_empty());
}

#[test]
fn after_a_change_only_the_changed_resources_are_sent() {
    let resources = resources_of(&catalogue());
    let mut stream = DeltaStream::new();
    let (_, first) = stream.on_request(
        &request(ResourceType::Endpoint, &["web:8080", "db:5432"], ""),
        &resources,
    );
    let (first, _) = first.unwrap();
    stream.on_request(
        &request(ResourceType::Endpoint, &[], &first.nonce),
        &resources,
    );
    let pushed = stream.on_resources(&with_more_web());
    assert_eq!(pushed.len(), 1);
    let (response, sent) = &pushed[0];
    assert_eq!(sent.names, ["web:8080"]);
    assert_eq!(response.resources.len(), 1);
    assert_eq!(
        response.resources[0].version,
        with_more_web().of(ResourceType::Endpoint)["web:8080"].version
    );
}

#[test]
fn a_resource_that_disappears_is_named_as_removed() {
    let resources = resources_of(&catalogue());
    let mut stream = DeltaStream::new();
    subscribed(&mut stream, &resources);
    let pushed = stream.on_resources(&with_db_gone());
    let (response, sent) = &pushed[0];
    assert!(sent.names.is_empty());
    assert_eq!(response.removed_resources, ["db:5432"]);
    assert!(!stream.known(ResourceType::Cluster).contains_key("db:5432"));
}

#[test]
fn a_reconnecting_envoy_is_sent_only_what_differs_from_the_versions_it_has() {
    let resources = resources_of(&catalogue());
    let versions: HashMap<String, String> = resources
        .of(ResourceType::Cluster)
        .iter()
        .filter(|(name, _)| *name != "web:8080")
        .map(|(name, entry)| (name.clone(), entry.version.clone()))
        .chain([("old:1".to_owned(), "0".to_owned())])
        .collect();
    let mut stream = DeltaStream::new();
    let first = DeltaDiscoveryRequest {
        initial_resource_versions: versions,
        ..request(ResourceType::Cluster, &[], "")
    };
    let (_, sent) = stream.on_request(&first, &resources).1.unwrap();
    assert_eq!(sent.names, ["web:8080"]);
    assert_eq!(sent.removed, ["old:1"]);
}

#[test]
fn an_empty_first_answer_is_sent_so_that_envoy_finishes_starting() {
    let empty = Resources::default();
    let mut stream = DeltaStream::new();
    let (_, response) = stream.on_request(&request(ResourceType::Listener, &[], ""), &empty);
    let (response, _) = response.unwrap();
    assert!(response.resources.is_empty() && response.removed_resources.is_empty());
}

#[test]
fn changes_wait_for_the_answer_to_the_response_in_flight_and_then_go_out_together() {
    let resources = resources_of(&catalogue());
    let mut stream = DeltaStream::new();
    let (first, _) = stream
        .on_request(&request(ResourceType::Cluster, &[], ""), &resources)
        .1
        .unwrap();
    assert!(stream.on_resources(&with_db_gone()).is_empty());
    let ack = request(ResourceType::Cluster, &[], &first.nonce);
    let (_, next) = stream.on_request(&ack, &with_db_gone());
    assert_eq!(next.unwrap().1.removed, ["db:5432"]);
}

#[test]
fn a_nack_is_reported_and_the_rejected_resource_is_not_sent_again_until_it_changes() {
    let resources = resources_of(&catalogue());
    let mut stream = DeltaStream::new();
    subscribed(&mut stream, &resources);
    let mut changed = catalogue();
    changed.servers.values_mut().for_each(|s| {
        s.services
            .values_mut()
            .for_each(|svc| svc.proxy_mode = "tcp".to_owned())
    });
    let listeners = resources_of(&changed);
    let (_, first) = stream.on_request(&request(ResourceType::Listener, &[], ""), &resources);
    let (first, _) = first.unwrap();
    stream.on_request(
        &request(ResourceType::Listener, &[], &first.nonce),
        &resources,
    );
    let (pushed, _) = stream.on_resources(&listeners).pop().unwrap();
    let nack = DeltaDiscoveryRequest {
        error_detail: Some(Status {
            code: 13,
            message: "bad listener".to_owned(),
            ..Default::default()
        }),
        ..request(ResourceType::Listener, &[], &pushed.nonce)
    };
    let (received, again) = stream.on_request(&nack, &listeners);
    assert!(matches!(
        received,
        Received::Rejected(Rejection { code: 13, .. })
    ));
    assert!(again.is_none());
    assert!(stream.on_resources(&listeners).is_empty());
    assert_eq!(
        stream.on_resources(&resources).len(),
        1,
        "a later change goes out"
    );
}

#[test]
fn unsubscribing_forgets_a_resource_and_a_stale_nonce_acknowledges_nothing() {
    let resources = resources_of(&catalogue());
    let mut stream = DeltaStream::new();
    let (first, _) = stream
        .on_request(
            &request(ResourceType::Endpoint, &["web:8080", "db:5432"], ""),
            &resources,
        )
        .1
        .unwrap();
    let stale = DeltaDiscoveryRequest {
        resource_names_unsubscribe: vec!["db:5432".to_owned()],
        ..request(ResourceType::Endpoint, &[], "stale")
    };
    assert_eq!(
        stream.on_request(&stale, &resources),
        (Received::Stale(ResourceType::Endpoint), None)
    );
    assert_eq!(
        stream
            .known(ResourceType::Endpoint)
            .keys()
            .collect::<Vec<_>>(),
        ["web:8080"]
    );
    let ack = request(ResourceType::Endpoint, &[], &first.nonce);
    assert!(matches!(
        stream.on_request(&ack, &resources).0,
        Received::Accepted(..)
    ));
    assert!(
        stream.on_resources(&with_db_gone()).is_empty(),
        "db is no longer of interest"
    );
}
