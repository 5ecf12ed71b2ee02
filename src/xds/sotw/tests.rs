use envoy_types::pb::google::rpc::Status;

use super::*;
use crate::xds::testdata::{catalogue, catalogue_with_more_web, resources_of};

fn request(kind: ResourceType, names: &[&str], version: &str, nonce: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        type_url: kind.type_url().to_owned(),
        resource_names: names.iter().map(|n| (*n).to_owned()).collect(),
        version_info: version.to_owned(),
        response_nonce: nonce.to_owned(),
        ..Default::default()
    }
}

fn nack(kind: ResourceType, version: &str, nonce: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        error_detail: Some(Status {
            code: 3,
            message: "cannot bind".to_owned(),
            ..Default::default()
        }),
        ..request(kind, &[], version, nonce)
    }
}

fn more_web() -> Resources {
    resources_of(&catalogue_with_more_web())
}

#[test]
fn a_first_request_is_answered_at_once_with_every_resource_and_a_fresh_nonce() {
    let resources = resources_of(&catalogue());
    let mut stream = SotwStream::new();
    let (received, response) =
        stream.on_request(&request(ResourceType::Cluster, &[], "", ""), &resources);
    assert_eq!(received, Received::Subscribed(ResourceType::Cluster));
    let (response, sent) = response.unwrap();
    assert_eq!(response.resources.len(), 4);
    assert_eq!(response.type_url, ResourceType::Cluster.type_url());
    assert!(!response.nonce.is_empty() && !response.version_info.is_empty());
    assert_eq!(sent.names, ["chat:9000", "db:5432", "odd:7000", "web:8080"]);
}

#[test]
fn endpoints_are_sent_only_for_the_clusters_asked_for() {
    let resources = resources_of(&catalogue());
    let mut stream = SotwStream::new();
    let ask = request(ResourceType::Endpoint, &["web:8080", "gone:1"], "", "");
    let (_, response) = stream.on_request(&ask, &resources);
    assert_eq!(response.unwrap().1.names, ["web:8080"]);
}

#[test]
fn an_ack_is_recorded_and_nothing_is_sent_until_the_content_changes() {
    let resources = resources_of(&catalogue());
    let mut stream = SotwStream::new();
    let (_, response) = stream.on_request(&request(ResourceType::Cluster, &[], "", ""), &resources);
    let (response, _) = response.unwrap();
    let ack = request(
        ResourceType::Cluster,
        &[],
        &response.version_info,
        &response.nonce,
    );
    let (received, again) = stream.on_request(&ack, &resources);
    assert_eq!(
        received,
        Received::Accepted(ResourceType::Cluster, response.version_info.clone())
    );
    assert!(again.is_none());
    assert_eq!(
        stream.accepted(ResourceType::Cluster),
        Some(response.version_info.as_str())
    );
    assert!(
        stream.on_resources(&resources).is_empty(),
        "same content, nothing to send"
    );
    // Another endpoint for web changes no cluster: still nothing for CDS.
    assert!(stream.on_resources(&more_web()).is_empty());
}

#[test]
fn one_response_per_type_is_in_flight_and_the_latest_content_goes_out_on_the_ack() {
    let resources = resources_of(&catalogue());
    let mut stream = SotwStream::new();
    let ask = request(ResourceType::Endpoint, &["web:8080"], "", "");
    let (_, first) = stream.on_request(&ask, &resources);
    let (first, _) = first.unwrap();
    assert!(
        stream.on_resources(&more_web()).is_empty(),
        "not before Envoy answers"
    );
    let ack = request(
        ResourceType::Endpoint,
        &["web:8080"],
        &first.version_info,
        &first.nonce,
    );
    let (_, next) = stream.on_request(&ack, &more_web());
    let (next, _) = next.unwrap();
    assert_ne!(next.version_info, first.version_info);
    assert_ne!(next.nonce, first.nonce);
}

#[test]
fn a_waiting_stream_gets_a_change_as_soon_as_it_happens() {
    let resources = resources_of(&catalogue());
    let mut stream = SotwStream::new();
    let ask = request(ResourceType::Endpoint, &["web:8080"], "", "");
    let (first, _) = stream.on_request(&ask, &resources).1.unwrap();
    let ack = request(
        ResourceType::Endpoint,
        &["web:8080"],
        &first.version_info,
        &first.nonce,
    );
    assert!(stream.on_request(&ack, &resources).1.is_none());
    let pushed = stream.on_resources(&more_web());
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].1.kind, ResourceType::Endpoint);
}

#[test]
fn a_nack_is_reported_with_envoys_message_and_the_rejected_version_is_not_sent_again() {
    let resources = resources_of(&catalogue());
    let mut stream = SotwStream::new();
    let (first, _) = stream
        .on_request(&request(ResourceType::Listener, &[], "", ""), &resources)
        .1
        .unwrap();
    let ack = request(
        ResourceType::Listener,
        &[],
        &first.version_info,
        &first.nonce,
    );
    stream.on_request(&ack, &resources);
    let mut fewer = catalogue();
    fewer.servers.remove("host-b");
    let (bad, _) = stream.on_resources(&resources_of(&fewer)).pop().unwrap();
    let (received, response) = stream.on_request(
        &nack(ResourceType::Listener, &first.version_info, &bad.nonce),
        &resources_of(&fewer),
    );
    let Received::Rejected(rejection) = received else {
        panic!("a NACK: {received:?}");
    };
    assert_eq!(
        (rejection.code, rejection.message.as_str()),
        (3, "cannot bind")
    );
    assert_eq!(rejection.version, bad.version_info);
    assert!(response.is_none(), "the rejected version is not sent again");
    assert_eq!(
        stream.accepted(ResourceType::Listener),
        Some(first.version_info.as_str())
    );
    // A later change is sent.
    assert_eq!(stream.on_resources(&resources).len(), 1);
}

#[test]
fn a_request_answering_an_older_response_is_ignored() {
    let resources = resources_of(&catalogue());
    let mut stream = SotwStream::new();
    let (first, _) = stream
        .on_request(&request(ResourceType::Cluster, &[], "", ""), &resources)
        .1
        .unwrap();
    let stale = request(ResourceType::Cluster, &[], "", "not-the-nonce");
    assert_eq!(
        stream.on_request(&stale, &resources),
        (Received::Stale(ResourceType::Cluster), None)
    );
    let ack = request(
        ResourceType::Cluster,
        &[],
        &first.version_info,
        &first.nonce,
    );
    assert!(matches!(
        stream.on_request(&ack, &resources).0,
        Received::Accepted(..)
    ));
}

#[test]
fn a_change_of_subscription_is_answered_even_if_nothing_else_changed() {
    let resources = resources_of(&catalogue());
    let mut stream = SotwStream::new();
    let ask = request(ResourceType::Endpoint, &["web:8080"], "", "");
    let (first, _) = stream.on_request(&ask, &resources).1.unwrap();
    let more = request(
        ResourceType::Endpoint,
        &["web:8080", "db:5432"],
        &first.version_info,
        &first.nonce,
    );
    let (_, sent) = stream.on_request(&more, &resources).1.unwrap();
    assert_eq!(sent.names, ["db:5432", "web:8080"]);
}

#[test]
fn unknown_types_and_oversized_subscriptions_are_refused_without_state() {
    let resources = resources_of(&catalogue());
    let mut stream = SotwStream::new();
    let secret = DiscoveryRequest {
        type_url: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret".to_owned(),
        ..Default::default()
    };
    assert!(matches!(
        stream.on_request(&secret, &resources),
        (Received::UnknownType(_), None)
    ));
    let names: Vec<String> = (0..=MAX_NAMES_PER_TYPE).map(|i| format!("s:{i}")).collect();
    let huge = DiscoveryRequest {
        resource_names: names,
        ..request(ResourceType::Endpoint, &[], "", "")
    };
    assert_eq!(
        stream.on_request(&huge, &resources),
        (Received::TooManyNames(ResourceType::Endpoint), None)
    );
    assert!(stream.types.is_empty());
}

#[test]
fn an_explicit_wildcard_subscribes_to_everything_and_a_list_to_its_names() {
    let resources = resources_of(&catalogue());
    let mut stream = SotwStream::new();
    let all = request(ResourceType::Listener, &["*"], "", "");
    let (_, sent) = stream.on_request(&all, &resources).1.unwrap();
    assert_eq!(sent.names, ["chat:9000", "db:5432", "web:8080"]);
    let one = request(ResourceType::Cluster, &["db:5432"], "", "");
    let (_, sent) = stream.on_request(&one, &resources).1.unwrap();
    assert_eq!(sent.names, ["db:5432"]);
}
