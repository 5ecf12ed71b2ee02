//! HTTP contract tests: a real WebApi over loopback, compared with the bodies and headers
//! captured from the Go binary (`tests/fixtures/go-samples/`, copied from the shared compat
//! samples). The catalogue is built to match the capture, so most bodies compare byte for byte
//! (which also checks Go's key order).

#[cfg(test)] // test code: unwraps and panics are the point
#[path = "api/harness.rs"]
mod harness;

#[cfg(test)]
#[path = "api/admin.rs"]
mod admin;

use std::time::Duration;

use harness::{
    CHANGED, ID, Node, UPDATED, expect_document, go_catalog, go_chunks, go_head, next_document,
    some_service,
};
use reqwest::Method;
use sidecar::actors::web_api::{self, GetWatchCount};
use sidecar::catalog::{Service, ServiceStatus};
use sidecar::messages::ApplyRemoteServices;

macro_rules! sample {
    ($name:literal) => {
        include_str!(concat!("fixtures/go-samples/", $name))
    };
}

/// Headers whose value (or absence) must match Go's.
const COMPARED: [&str; 4] = [
    "content-type",
    "location",
    "access-control-allow-origin",
    "access-control-allow-methods",
];

async fn assert_like_go(node: &Node, method: Method, path: &str, head: &str, body: &str) {
    let answer = node.fetch(method, path).await;
    let (status, headers) = go_head(head);
    assert_eq!(answer.status, status, "{path}");
    for name in COMPARED {
        assert_eq!(
            answer.headers.get(name),
            headers.get(name),
            "{path}: {name}"
        );
    }
    assert_eq!(String::from_utf8_lossy(&answer.body), body, "{path}");
}

#[actix::test]
async fn state_json_matches_go_byte_for_byte() {
    let node = Node::start(go_catalog()).await;
    let (head, body) = (sample!("api_state.json.headers"), sample!("api_state.json"));
    assert_like_go(&node, Method::GET, "/api/state.json", head, body).await;
    let (head, body) = (
        sample!("deprecated_state.json.headers"),
        sample!("deprecated_state.json"),
    );
    assert_like_go(&node, Method::GET, "/state.json", head, body).await;
    node.stop().await;
}

#[actix::test]
async fn services_json_lists_services_and_members_like_go() {
    let node = Node::start(go_catalog()).await;
    let (head, body) = (
        sample!("api_services.json.headers"),
        sample!("api_services.json"),
    );
    assert_like_go(&node, Method::GET, "/api/services.json", head, body).await;
    let head = sample!("deprecated_services.json.headers");
    let body = sample!("deprecated_services.json");
    assert_like_go(&node, Method::GET, "/services.json", head, body).await;
    node.stop().await;
}

#[actix::test]
async fn one_service_has_no_cluster_members() {
    let node = Node::start(go_catalog()).await;
    let head = sample!("api_services_some_service.json.headers");
    let body = sample!("api_services_some_service.json");
    assert_like_go(
        &node,
        Method::GET,
        "/api/services/some_service.json",
        head,
        body,
    )
    .await;
    let head = sample!("api_services_missing_service.json.headers");
    let body = sample!("api_services_missing_service.json");
    assert_like_go(&node, Method::GET, "/api/services/nope.json", head, body).await;
    node.stop().await;
}

#[actix::test]
async fn bad_extensions_are_404_with_cors_only_on_services() {
    let node = Node::start(go_catalog()).await;
    let (head, body) = (
        sample!("api_state.yaml_badext.headers"),
        sample!("api_state.yaml_badext"),
    );
    assert_like_go(&node, Method::GET, "/api/state.yaml", head, body).await;
    assert_like_go(&node, Method::GET, "/state.yaml", head, body).await;
    let head = sample!("api_services.xml_badext.headers");
    let body = sample!("api_services.xml_badext");
    assert_like_go(&node, Method::GET, "/api/services.xml", head, body).await;
    assert_like_go(&node, Method::GET, "/services.xml", head, body).await;
    assert_like_go(
        &node,
        Method::GET,
        "/api/services/some_service.xml",
        head,
        body,
    )
    .await;
    node.stop().await;
}

#[actix::test]
async fn options_on_one_api_segment_is_an_empty_cors_answer() {
    let node = Node::start(go_catalog()).await;
    let head = sample!("api_options.headers");
    for path in [
        "/api/services.json",
        "/api/state.json",
        "/api/watch",
        "/api/anything",
    ] {
        assert_like_go(&node, Method::OPTIONS, path, head, sample!("api_options")).await;
    }
    let deeper = node.fetch(Method::OPTIONS, "/api/services/x.json").await;
    assert_eq!(deeper.status, 405);
    node.stop().await;
}

#[actix::test]
async fn root_redirects_to_the_ui() {
    let node = Node::start(go_catalog()).await;
    let (head, body) = (sample!("root_redirect.headers"), sample!("root_redirect"));
    assert_like_go(&node, Method::GET, "/", head, body).await;
    node.stop().await;
}

#[actix::test]
async fn a_matched_path_with_another_method_is_405_with_an_empty_body() {
    let node = Node::start(go_catalog()).await;
    let cases = [
        (Method::DELETE, "/api/state.json"),
        (Method::POST, "/api/services.json"),
        (Method::GET, "/api/services/x/drain"),
        (Method::PUT, "/api/watch"),
        (Method::GET, "/api/anything"),
        (Method::GET, "/api/state."),
        (Method::POST, "/"),
        (Method::OPTIONS, "/state.json"),
    ];
    for (method, path) in cases {
        let answer = node.fetch(method.clone(), path).await;
        assert_eq!(answer.status, 405, "{method} {path}");
        assert!(answer.body.is_empty(), "{method} {path}");
    }
    node.stop().await;
}

#[actix::test]
async fn an_unmatched_path_is_go_plain_text_404() {
    let node = Node::start(go_catalog()).await;
    for path in ["/nope", "/api/services/nodot", "/api/a/b/c", "/ui/nope.js"] {
        let answer = node.fetch(Method::GET, path).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.body, b"404 page not found\n", "{path}");
        let content_type = answer.headers.get("content-type").map(String::as_str);
        assert_eq!(content_type, Some("text/plain; charset=utf-8"), "{path}");
    }
    node.stop().await;
}

#[actix::test]
async fn drain_answers_202_and_the_service_becomes_draining() {
    let node = Node::start(go_catalog()).await;
    let answer = node
        .fetch(Method::POST, &format!("/api/services/{ID}/drain"))
        .await;
    assert_eq!(answer.status, 202);
    let expected = "{\n  \"Message\": \"Service \\\"some_service\\\" instance \\\"680088356f1f\\\" \
                    set to DRAINING\"\n}";
    assert_eq!(String::from_utf8_lossy(&answer.body), expected);
    let content_type = answer.headers.get("content-type").map(String::as_str);
    assert_eq!(content_type, Some("application/json"));
    assert!(!answer.headers.contains_key("access-control-allow-origin"));
    let path = "/api/services/some_service.json";
    let drained = |body: &str| body.contains("\"Status\": 4");
    node.eventually(path, "the service shows DRAINING", drained)
        .await;
    node.stop().await;
}

#[actix::test]
async fn drain_of_an_unknown_remote_or_tombstoned_id_is_404() {
    let mut catalog = go_catalog();
    let now = harness::ts(harness::NOW);
    let remote = Service {
        hostname: "other".into(),
        id: "remote123456".into(),
        ..some_service(UPDATED, ServiceStatus::Alive)
    };
    let gone = Service {
        id: "gone12345678".into(),
        ..some_service(UPDATED, ServiceStatus::Tombstone)
    };
    let _ = catalog.apply(remote, now);
    let _ = catalog.apply(gone, now);
    let node = Node::start(catalog).await;
    for id in ["deadbeef", "remote123456", "gone12345678"] {
        let answer = node
            .fetch(Method::POST, &format!("/api/services/{id}/drain"))
            .await;
        assert_eq!(answer.status, 404, "{id}");
        let body = format!(
            "{{\"message\":\"Not Found - Service ID \\\"{id}\\\" not found\",\"status\":\"error\"}}"
        );
        assert_eq!(String::from_utf8_lossy(&answer.body), body);
        let content_type = answer.headers.get("content-type").map(String::as_str);
        assert_eq!(content_type, Some("application/json"));
    }
    node.stop().await;
}

#[actix::test]
async fn service_names_may_contain_dots() {
    let mut catalog = go_catalog();
    let dotted = Service {
        id: "dotted123456".into(),
        name: "a.b".into(),
        ..some_service(UPDATED, ServiceStatus::Alive)
    };
    let _ = catalog.apply(dotted, harness::ts(harness::NOW));
    let node = Node::start(catalog).await;
    let answer = node.fetch(Method::GET, "/api/services/a.b.json").await;
    assert_eq!(answer.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body["Services"]["a.b"][0]["ID"], "dotted123456");
    let missing = node.fetch(Method::GET, "/api/services/a.json").await;
    assert!(String::from_utf8_lossy(&missing.body).contains("no instances of a found"));
    let bad = node.fetch(Method::GET, "/api/services/a.b.xml").await;
    assert!(String::from_utf8_lossy(&bad.body).contains("Invalid content type extension"));
    node.stop().await;
}

#[actix::test]
async fn hostile_path_segments_get_an_answer_not_a_panic() {
    let node = Node::start(go_catalog()).await;
    let long = format!("/api/services/{}.json", "x".repeat(8_000));
    let paths = [
        "/api/services/%FF.json",
        "/api/services/%2F.json",
        "/api/state.%00",
        &long,
    ];
    for path in paths {
        let answer = node.fetch(Method::GET, path).await;
        assert!(
            (400..500).contains(&answer.status),
            "{path}: {}",
            answer.status
        );
    }
    let still_up = node.fetch(Method::GET, "/api/state.json").await;
    assert_eq!(still_up.status, 200);
    node.stop().await;
}

#[actix::test]
async fn watch_writes_the_by_service_map_at_once() {
    let node = Node::start(go_catalog()).await;
    let mut response = node.get("/api/watch").await;
    let headers = harness::headers_of(&response);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["transfer-encoding"], "chunked");
    assert!(!headers.contains_key("access-control-allow-origin"));
    let expected =
        go_chunks(sample!("api_watch.raw"))[0].replace("2026-11-23T08:00:16.419580382Z", UPDATED);
    let mut buffer = Vec::new();
    assert_eq!(expect_document(&mut response, &mut buffer).await, expected);
    let mut deprecated = node.get("/watch").await;
    assert_eq!(
        expect_document(&mut deprecated, &mut Vec::new()).await,
        expected
    );
    node.stop().await;
}

#[actix::test]
async fn watch_by_service_false_writes_the_state() {
    let node = Node::start(go_catalog()).await;
    let mut response = node.get("/api/watch?by_service=false").await;
    let expected = go_chunks(sample!("api_watch_by_service_false.raw"))[0]
        .replace("2026-11-23T08:00:23.419640545Z", UPDATED);
    assert!(expected.contains(CHANGED));
    let mut buffer = Vec::new();
    assert_eq!(expect_document(&mut response, &mut buffer).await, expected);
    node.stop().await;
}

#[actix::test]
async fn watch_writes_status_changes_but_not_refreshes() {
    let node = Node::start(go_catalog()).await;
    let flap = go_chunks(sample!("api_watch_during_health_flap.raw"));
    let mut response = node.get("/api/watch").await;
    let mut buffer = Vec::new();
    expect_document(&mut response, &mut buffer).await;
    let versions = [
        ("2026-11-23T08:00:33.41982495Z", ServiceStatus::Alive),
        ("2026-11-23T08:00:38.420167998Z", ServiceStatus::Unhealthy),
        ("2026-11-23T08:00:44.419852363Z", ServiceStatus::Alive),
    ];
    let apply =
        |(updated, status)| ApplyRemoteServices::broadcast(vec![some_service(updated, status)]);
    node.keeper.send(apply(versions[0])).await.unwrap(); // a refresh: same status
    let quiet = Duration::from_millis(300);
    let refresh = tokio::time::timeout(quiet, next_document(&mut response, &mut buffer)).await;
    assert!(refresh.is_err(), "a refresh was streamed: {refresh:?}");
    for (version, expected) in versions[1..].iter().zip(&flap[1..]) {
        node.keeper.send(apply(*version)).await.unwrap();
        assert_eq!(&expect_document(&mut response, &mut buffer).await, expected);
    }
    node.stop().await;
}

#[actix::test]
async fn watch_ends_cleanly_when_the_server_stops() {
    let node = Node::start(go_catalog()).await;
    let mut response = node.get("/api/watch").await;
    let mut buffer = Vec::new();
    expect_document(&mut response, &mut buffer).await;
    node.stop().await;
    let end = tokio::time::timeout(
        Duration::from_secs(5),
        next_document(&mut response, &mut buffer),
    );
    assert_eq!(end.await.expect("stream still open after stop"), None);
}

#[actix::test]
async fn a_watch_client_going_away_releases_its_stream() {
    let node = Node::start(go_catalog()).await;
    let mut response = node.get("/api/watch").await;
    expect_document(&mut response, &mut Vec::new()).await;
    assert_eq!(node.web.send(GetWatchCount).await.unwrap(), 1);
    drop(response);
    for _ in 0..200 {
        if node.web.send(GetWatchCount).await.unwrap() == 0 {
            node.stop().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the watch stream outlived its client");
}

#[test]
fn bind_reports_an_address_in_use_before_anything_starts() {
    let first = web_api::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let taken = first.local_addr().unwrap();
    let err = web_api::bind(taken).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}

#[actix::test]
async fn envoy_v1_clusters_and_listeners_match_go_byte_for_byte() {
    let node = Node::start(go_catalog()).await;
    for path in ["/v1/clusters", "/v1/clusters/default/vm"] {
        let head = sample!("v1_clusters.json.headers");
        let body = sample!("v1_clusters.json");
        assert_like_go(&node, Method::GET, path, head, body).await;
    }
    for path in ["/v1/listeners", "/v1/listeners/default/vm"] {
        let head = sample!("v1_listeners.json.headers");
        let body = sample!("v1_listeners.json");
        assert_like_go(&node, Method::GET, path, head, body).await;
    }
    node.stop().await;
}

#[actix::test]
async fn envoy_v1_registration_matches_go_and_needs_a_port() {
    let mut catalog = go_catalog();
    let captured = "2026-11-23T08:00:32.419415309Z";
    let _ = catalog.apply(
        some_service(captured, ServiceStatus::Alive),
        harness::ts(captured),
    );
    let node = Node::start(catalog).await;
    let head = sample!("v1_registration_some_service_9999.json.headers");
    let body = sample!("v1_registration_some_service_9999.json");
    let path = "/v1/registration/some_service:9999";
    assert_like_go(&node, Method::GET, path, head, body).await;
    let head = sample!("v1_registration_some_service.json.headers");
    let body = sample!("v1_registration_some_service.json");
    assert_like_go(
        &node,
        Method::GET,
        "/v1/registration/some_service",
        head,
        body,
    )
    .await;
    let answer = node
        .fetch(Method::GET, "/v1/registration/some_service:x")
        .await;
    assert_eq!(answer.status, 404);
    let text = String::from_utf8_lossy(&answer.body);
    assert!(text.contains("Unable to parse port!"), "{text}");
    node.stop().await;
}
