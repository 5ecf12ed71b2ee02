//! The HTTP API against its description, `docs/openapi.json`, black-box against the built
//! binary on 127.0.0.130–139 (and, for a client off loopback, a network namespace's veth
//! address 10.231.13.1; needs root and iproute2, as `tests/supervision.rs`): the node serves
//! the document kept in the repository, and every documented operation, called on a node with
//! services alive, drained and tombstoned, the admin token set, gossip, HAProxy management and
//! the xDS server running, answers with a documented status, headers, content type and body.
//! A new field, status or route the document does not describe fails here (the route table
//! itself is compared with the document by a unit test in `src/api/openapi`).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod openapi_support;
mod ops_support;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::time::Duration;

use common::cluster::free_gossip_port;
use common::{NetNs, Sidecar, Target, base_env, eventually};
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::DiscoveryRequest;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use openapi_support::{Answer, Call, Checker, Spec, TOKEN, call, exchange};
use serde_json::{Value, json};
use tokio_stream::wrappers::ReceiverStream;

const FULL_IP: &str = "127.0.0.130";
const BARE_IP: &str = "127.0.0.131";
const SERVED_IP: &str = "127.0.0.132";
const DOCUMENT: &str = include_str!("../docs/openapi.json");
const WAIT: Duration = Duration::from_secs(30);

fn spec() -> Spec {
    Spec::new(serde_json::from_str(DOCUMENT).expect("docs/openapi.json is JSON"))
}

/// The static file: `web` (http), `db` (tcp) and `api` (http, to be drained) checked on
/// `target`, and `bare` without ports (unless `with_bare` is false).
fn write_static(dir: &Path, target: SocketAddr, with_bare: bool) -> String {
    let check = json!({"Type": "HttpGet", "Args": format!("http://{target}/health")});
    let entry = |name: &str, service_port: u16, mode: &str| {
        let port = json!({"Type": "tcp", "Port": target.port(), "ServicePort": service_port,
                          "IP": FULL_IP});
        let service = json!({"Name": name, "Image": format!("{name}:1"), "Ports": [port],
                             "ProxyMode": mode});
        json!({"Service": service, "Check": check})
    };
    let mut entries = vec![
        entry("web", 9999, "http"),
        entry("db", 9997, "tcp"),
        entry("api", 9998, "http"),
    ];
    if with_bare {
        let bare = json!({"Service": {"Name": "bare", "Image": "bare:1", "ProxyMode": "http"},
                          "Check": {"Type": "AlwaysSuccessful"}});
        entries.push(bare);
    }
    let path = dir.join("static.json");
    std::fs::write(&path, Value::Array(entries).to_string()).unwrap();
    path.display().to_string()
}

/// A port free for TCP on `ip` now.
fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The node everything runs on, with its gossip and ADS addresses.
struct FullNode {
    node: Sidecar,
    gossip: SocketAddr,
    ads: SocketAddr,
    dir: tempfile::TempDir,
    target: Target,
}

fn full_node() -> FullNode {
    let target = Target::start_on(FULL_IP, "ok");
    let dir = tempfile::tempdir().unwrap();
    let file = write_static(dir.path(), target.addr, true);
    let gossip_port = free_gossip_port(130..=130);
    let ads_port = free_port(FULL_IP);
    let in_dir = |name: &str| dir.path().join(name).display().to_string();
    let mut env = base_env();
    for (k, v) in [
        ("SIDECAR_ADVERTISE_IP", FULL_IP.to_owned()),
        ("SIDECAR_HTTP_BIND_IP", FULL_IP.to_owned()),
        ("SIDECAR_BIND_IP", FULL_IP.to_owned()),
        ("SIDECAR_BIND_PORT", gossip_port.to_string()),
        ("SIDECAR_HEALTH_INTERVAL", "300ms".to_owned()),
        ("SIDECAR_HEALTH_TIMEOUT", "200ms".to_owned()),
        ("STATIC_CONFIG_FILE", file),
        ("STATIC_RELOAD_INTERVAL", "200ms".to_owned()),
        ("SIDECAR_ADMIN_TOKEN", TOKEN.to_owned()),
        ("ENVOY_USE_GRPC_API", "true".to_owned()),
        ("ENVOY_GRPC_BIND_IP", FULL_IP.to_owned()),
        ("ENVOY_GRPC_PORT", ads_port.to_string()),
        ("HAPROXY_DISABLE", "false".to_owned()),
        ("HAPROXY_BIND_IP", FULL_IP.to_owned()),
        ("HAPROXY_CONFIG_FILE", in_dir("haproxy.cfg")),
        ("HAPROXY_PID_FILE", in_dir("haproxy.pid")),
        ("HAPROXY_VERIFY_COMMAND", "true".to_owned()),
        ("HAPROXY_RELOAD_COMMAND", "true".to_owned()),
        ("HAPROXY_USER", String::new()),
    ] {
        env.insert(k.to_owned(), v);
    }
    FullNode {
        node: Sidecar::start(&env, &[]),
        gossip: format!("{FULL_IP}:{gossip_port}").parse().unwrap(),
        ads: format!("{FULL_IP}:{ads_port}").parse().unwrap(),
        dir,
        target,
    }
}

/// A node without discovery, admin token, HAProxy or xDS server on `ip`, taking one watch
/// stream at most.
fn bare_node(ip: &str) -> Sidecar {
    let mut env = base_env();
    for (k, v) in [
        ("SIDECAR_ADVERTISE_IP", ip),
        ("SIDECAR_HTTP_BIND_IP", ip),
        ("SIDECAR_BIND_IP", ip),
        ("SIDECAR_DISCOVERY", ""),
        ("SIDECAR_MAX_WATCHERS", "1"),
    ] {
        env.insert(k.to_owned(), v.to_owned());
    }
    Sidecar::start(&env, &[])
}

/// The status of the one record named `name`, once it has one.
fn status_of(node: &Sidecar, name: &str) -> Option<i64> {
    let body = node.get_json("/api/services.json");
    body["Services"][name][0]["Status"].as_i64()
}

fn admin_get(node: &Sidecar, path: &str) -> Value {
    let header = format!("Authorization: Bearer {TOKEN}");
    let answer = exchange(node.http, "GET", path, &[&header], "");
    assert_eq!(answer.status, 200, "{path}");
    serde_json::from_slice(&answer.body).unwrap()
}

#[test]
fn the_node_serves_the_description_kept_in_the_repository() {
    let node = bare_node(SERVED_IP);
    let mut checker = Checker::new(spec());
    let path = "/api/openapi.json";
    let answer = checker.run(node.http, &call("get", path, path, 200));
    assert_eq!(String::from_utf8_lossy(&answer.body), DOCUMENT);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(answer.headers["access-control-allow-origin"], "*");
}

#[test]
fn every_documented_operation_answers_as_the_description_says() {
    let full = full_node();
    let node = &full.node;
    for name in ["web", "db", "api", "bare"] {
        eventually(WAIT, &format!("{name} ALIVE"), || {
            (status_of(node, name)? == 0).then_some(())
        });
    }
    let mut checker = Checker::new(spec());
    let api = node.get_json("/api/services/api.json");
    let drain = format!(
        "/api/services/{}/drain",
        api["Services"]["api"][0]["ID"].as_str().unwrap()
    );
    checker.run(
        node.http,
        &call("post", "/api/services/{id}/drain", &drain, 202),
    );
    eventually(WAIT, "api DRAINING", || {
        (status_of(node, "api")? == 4).then_some(())
    });
    write_static(full.dir.path(), full.target.addr, false);
    eventually(WAIT, "bare tombstoned", || {
        (status_of(node, "bare")? == 1).then_some(())
    });
    let _stream = hold_ads_stream(full.ads);
    let gossip_in = UdpSocket::bind((FULL_IP, 0)).unwrap();
    gossip_in.send_to(b"not gossip", full.gossip).unwrap();
    wait_for_admin_figures(node);

    let calls = [catalogue_calls(), admin_calls(), other_calls()];
    for call in calls.iter().flatten() {
        let answer = checker.run(node.http, call);
        if call.template == "/metrics" {
            ops_support::parse_exposition(&String::from_utf8_lossy(&answer.body));
        }
    }
    let watched = checker.run(node.http, &call("get", "/api/watch", "/api/watch", 200));
    assert!(serde_json::from_slice::<Value>(&watched.body).unwrap()["web"].is_array());
    let bare = bare_node(BARE_IP);
    let _only_stream = hold_watch_stream(bare.http);
    for call in bare_calls() {
        checker.run(bare.http, &call);
    }
    // A node on a namespace's veth address sees this process as a client off loopback.
    let ns = NetNs::create(13);
    let offsite = bare_node(&ns.host_ip);
    for call in offsite_calls() {
        checker.run(offsite.http, &call);
    }
    checker.assert_everything_documented_was_seen();
}

/// Waits until the admin API has something in every list: an xDS stream with a response, a
/// refused gossip datagram, the HAProxy manager's details.
fn wait_for_admin_figures(node: &Sidecar) {
    eventually(WAIT, "an xDS stream with a response", || {
        let stats = admin_get(node, "/api/admin/envoy");
        (!stats["streams"][0]["recent"].as_array()?.is_empty()).then_some(())
    });
    eventually(WAIT, "the refused datagram counted", || {
        let stats = admin_get(node, "/api/admin/gossip");
        (!stats["dropped"].as_object()?.is_empty()).then_some(())
    });
    eventually(WAIT, "the HAProxy manager's details", || {
        let list = admin_get(node, "/api/admin/subsystems");
        list.as_array()?
            .iter()
            .any(|s| s["details"].is_object())
            .then_some(())
    });
}

/// The catalogue reads, the watch stream, drain, the preflights and the UI.
fn catalogue_calls() -> Vec<Call> {
    let (state, services, one) = (
        "/api/state.{ext}",
        "/api/services.{ext}",
        "/api/services/{name}.{ext}",
    );
    vec![
        call("get", "/", "/", 301),
        call("get", "/ui", "/ui", 301),
        call("get", "/ui/", "/ui/", 200),
        call("get", "/ui/{file}", "/ui/index.html", 200),
        call("get", "/ui/{file}", "/ui/app.js", 200),
        call("get", "/ui/{file}", "/ui/json-stream.js", 200),
        call("get", "/ui/{file}", "/ui/view.js", 200),
        call("get", "/ui/{file}", "/ui/style.css", 200),
        call("get", "/ui/{file}", "/ui/nope.js", 404),
        call("get", state, "/api/state.json", 200),
        call("get", state, "/api/state.yaml", 404),
        call("options", state, "/api/state.json", 200),
        call("get", services, "/api/services.json", 200),
        call("get", services, "/api/services.xml", 404),
        call("options", services, "/api/services.json", 200),
        call("get", one, "/api/services/web.json", 200),
        call("get", one, "/api/services/api.json", 200),
        call("get", one, "/api/services/bare.json", 200),
        call("get", one, "/api/services/nothing.json", 404),
        call("get", one, "/api/services/web.xml", 404),
        call(
            "post",
            "/api/services/{id}/drain",
            "/api/services/deadbeef/drain",
            404,
        ),
        call("get", "/api/watch", "/api/watch?by_service=false", 200),
        call("options", "/api/watch", "/api/watch", 200),
        call("get", "/api/openapi.json", "/api/openapi.json", 200),
        call("options", "/api/openapi.json", "/api/openapi.json", 200),
        call("options", "/api/{segment}", "/api/anything", 200),
        call("get", "/state.{ext}", "/state.json", 200),
        call("get", "/state.{ext}", "/state.yaml", 404),
        call("get", "/services.{ext}", "/services.json", 200),
        call("get", "/services.{ext}", "/services.xml", 404),
        call("get", "/watch", "/watch", 200),
        call("get", "/watch", "/watch?by_service=false", 200),
        call("get", "/api/watch", "/api/watch?since=yesterday", 400),
        call("get", "/watch", "/watch?since=2026-13-01T00:00:00Z", 400),
    ]
}

/// The admin API with the token, without it and with another.
fn admin_calls() -> Vec<Call> {
    let (subsystems, restart) = (
        "/api/admin/subsystems",
        "/api/admin/subsystems/{name}/restart",
    );
    let (gossip, keys, envoy) = (
        "/api/admin/gossip",
        "/api/admin/gossip/keys",
        "/api/admin/envoy",
    );
    let repeater = "/api/admin/subsystems/tombstone_repeater/restart";
    let new_keys = r#"{"Keys": ["MDEyMzQ1Njc4OWFiY2RlZg=="]}"#;
    vec![
        call("get", subsystems, subsystems, 200).authorized(),
        call("get", subsystems, subsystems, 401),
        call("get", subsystems, subsystems, 401).header("Authorization: Bearer another"),
        call("post", restart, repeater, 202).authorized(),
        call("post", restart, "/api/admin/subsystems/nope/restart", 404).authorized(),
        call("post", restart, repeater, 401),
        call("get", gossip, gossip, 200).authorized(),
        call("get", gossip, gossip, 401),
        call("put", keys, keys, 200).authorized().json(new_keys),
        call("put", keys, keys, 400)
            .authorized()
            .json(r#"{"Keys": []}"#),
        call("put", keys, keys, 400).authorized().json("not json"),
        call("put", keys, keys, 401).json(new_keys),
        // Refused on its length, before the body is read (and before the token is checked).
        call("put", keys, keys, 413)
            .header("Content-Length: 3000000")
            .json(""),
        call("get", envoy, envoy, 200).authorized(),
        call("get", envoy, envoy, 401),
    ]
}

/// Metrics and Envoy's v1 API.
fn other_calls() -> Vec<Call> {
    let registration = "/v1/registration/{name}";
    vec![
        call("get", "/metrics", "/metrics", 200),
        call("get", registration, "/v1/registration/web:9999", 200),
        call("get", registration, "/v1/registration/web", 404),
        call("get", registration, "/v1/registration/web:x", 404),
        call("get", "/v1/clusters", "/v1/clusters", 200),
        call(
            "get",
            "/v1/clusters/{cluster}/{node}",
            "/v1/clusters/c/n",
            200,
        ),
        call("get", "/v1/listeners", "/v1/listeners", 200),
        call(
            "get",
            "/v1/listeners/{cluster}/{node}",
            "/v1/listeners/c/n",
            200,
        ),
    ]
}

/// On a node without token or xDS server: the admin API answers loopback without a token, and
/// 503 for what the node does not run; an empty catalogue; no room for one more watch stream.
fn bare_calls() -> Vec<Call> {
    vec![
        call("get", "/api/admin/subsystems", "/api/admin/subsystems", 200),
        call("get", "/api/admin/gossip", "/api/admin/gossip", 200),
        call("get", "/api/admin/envoy", "/api/admin/envoy", 503),
        call("get", "/api/services.{ext}", "/api/services.json", 200),
        call("get", "/api/state.{ext}", "/api/state.json", 200),
        // The one stream this node takes is held open (`hold_watch_stream`).
        call("get", "/api/watch", "/api/watch", 503),
        call("get", "/watch", "/watch", 503),
    ]
}

/// Opens a watch stream on `addr` and reads its first document, so that it is counted; the
/// stream stays open while the returned connection lives.
fn hold_watch_stream(addr: SocketAddr) -> std::net::TcpStream {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
        .write_all(b"GET /api/watch HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 4096];
    let n = stream.read(&mut first).unwrap();
    assert!(
        first[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&first[..n])
    );
    stream
}

/// On a node without token, from a client off loopback: every admin operation is refused.
fn offsite_calls() -> Vec<Call> {
    let (subsystems, keys) = ("/api/admin/subsystems", "/api/admin/gossip/keys");
    let restart = "/api/admin/subsystems/{name}/restart";
    vec![
        call("get", subsystems, subsystems, 403),
        call(
            "post",
            restart,
            "/api/admin/subsystems/gossiper/restart",
            403,
        ),
        call("get", "/api/admin/gossip", "/api/admin/gossip", 403),
        call("put", keys, keys, 403).json(r#"{"Keys": []}"#),
        call("get", "/api/admin/envoy", "/api/admin/envoy", 403),
        call("get", "/api/services.{ext}", "/api/services.json", 200),
    ]
}

/// Opens an ADS stream to `ads` asking for clusters, on a thread of its own, and holds it open
/// until the returned sender is dropped.
fn hold_ads_stream(ads: SocketAddr) -> std::sync::mpsc::Sender<()> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let url = format!("http://{ads}");
            let mut grpc = AggregatedDiscoveryServiceClient::connect(url)
                .await
                .unwrap();
            let (requests, outbound) = tokio::sync::mpsc::channel(1);
            let node = Node {
                id: "openapi-test".to_owned(),
                ..Default::default()
            };
            let ask = DiscoveryRequest {
                type_url: "type.googleapis.com/envoy.config.cluster.v3.Cluster".to_owned(),
                node: Some(node),
                ..Default::default()
            };
            requests.send(ask).await.unwrap();
            let outbound = ReceiverStream::new(outbound);
            let answer = grpc.stream_aggregated_resources(outbound).await.unwrap();
            let mut responses = answer.into_inner();
            let _ = responses.message().await;
            let _ = tokio::task::spawn_blocking(move || stopped.recv()).await;
            drop(requests);
        });
    });
    stop
}

#[test]
fn the_check_refuses_an_undocumented_field_a_missing_one_and_a_missing_header() {
    let sample = include_str!("fixtures/go-samples/api_state.json");
    let (template, path) = ("/api/state.{ext}", "/api/state.json");
    let answer = |body: &Value, cors: bool| {
        let mut headers =
            BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]);
        if cors {
            headers.insert("access-control-allow-origin".into(), "*".into());
            headers.insert("access-control-allow-methods".into(), "GET".into());
        }
        Answer {
            status: 200,
            headers,
            body: body.to_string().into_bytes(),
        }
    };
    let go: Value = serde_json::from_str(sample).unwrap();
    let spec = spec();
    spec.check(template, "get", path, &answer(&go, true))
        .unwrap();
    assert!(
        spec.check(template, "get", path, &answer(&go, false))
            .is_err()
    );
    let record = "/Servers/vm/Services/680088356f1f";
    let mut extra = go.clone();
    extra.pointer_mut(record).unwrap()["Extra"] = json!(1);
    assert!(
        spec.check(template, "get", path, &answer(&extra, true))
            .is_err()
    );
    let mut missing = go.clone();
    missing
        .pointer_mut(record)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove("Image");
    assert!(
        spec.check(template, "get", path, &answer(&missing, true))
            .is_err()
    );
    let mut doc: Value = serde_json::from_str(DOCUMENT).unwrap();
    let service = &mut doc["components"]["schemas"]["Service"];
    service["properties"]
        .as_object_mut()
        .unwrap()
        .remove("Image");
    service["required"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f != "Image");
    let shrunk = Spec::new(doc);
    assert!(
        shrunk
            .check(template, "get", path, &answer(&go, true))
            .is_err()
    );
}
