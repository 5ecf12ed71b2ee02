//! Supervision and the admin API, black-box: the binary built with the `fault-injection`
//! feature panics a subsystem on request; the node must restart it, keep its catalogue and
//! keep serving; too many failures stop it with exit code 1. Run with
//! `cargo test --features fault-injection`.
#![cfg(feature = "fault-injection")]
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod common;

use std::time::Duration;

use common::{NetNs, Sidecar, Target, eventually, http_call, node_with_service, try_http_call};
use serde_json::Value;

const SUBSYSTEMS: [&str; 6] = [
    "state_keeper",
    "health_checker",
    "static_watcher",
    "web_api",
    "gossiper",
    "xds_server",
];

/// The Envoy xDS server on, on an address of its own (127.0.0.99, any port).
const WITH_XDS: [(&str, &str); 3] = [
    ("ENVOY_USE_GRPC_API", "true"),
    ("ENVOY_GRPC_BIND_IP", "127.0.0.99"),
    ("ENVOY_GRPC_PORT", "0"),
];

/// The admin API's GET paths (all behind the same access rule), each with a word its answer
/// contains.
const ADMIN_READS: [(&str, &str); 2] = [
    ("/api/admin/subsystems", "state_keeper"),
    ("/api/admin/gossip", "exchanges"),
];

fn node_with_a_healthy_service(extra: &[(&str, &str)]) -> (Sidecar, Target, tempfile::TempDir) {
    let (node, target, dir) = node_with_service("web", extra);
    eventually(Duration::from_secs(10), "web ALIVE", || {
        web_status(&node).filter(|s| *s == 0)
    });
    (node, target, dir)
}

fn web_status(node: &Sidecar) -> Option<i64> {
    let (status, body) = node.get("/api/services.json");
    let doc: Value = serde_json::from_str(&body).ok().filter(|_| status == 200)?;
    doc["Services"]["web"][0]["Status"].as_i64()
}

/// The subsystem's entry; `None` also while the HTTP server itself is being restarted (a
/// connection reset then is not a failure of the poll).
fn subsystem(node: &Sidecar, name: &str) -> Option<Value> {
    let (status, body) = try_http_call(node.http, "GET", "/api/admin/subsystems", "").ok()?;
    let list: Vec<Value> = serde_json::from_str(&body).ok().filter(|_| status == 200)?;
    list.into_iter().find(|s| s["name"] == name)
}

fn post(node: &Sidecar, path: &str) -> (u16, String) {
    http_call(node.http, "POST", path, "Content-Length: 0\r\n")
}

#[test]
fn every_subsystem_that_panics_is_restarted_and_the_node_keeps_its_catalogue_and_serves() {
    let (node, _target, _dir) = node_with_a_healthy_service(&WITH_XDS);
    for name in SUBSYSTEMS {
        let (status, _) = post(&node, &format!("/api/admin/subsystems/{name}/panic"));
        assert_eq!(status, 202, "panic {name}");
        let restarted = eventually(Duration::from_secs(10), "the subsystem restarted", || {
            subsystem(&node, name).filter(|s| s["restarts"] == 1 && s["state"] == "running")
        });
        let error = restarted["last_error"].as_str().unwrap_or_default();
        assert!(error.contains("fault injected"), "{name}: {restarted}");
        // The catalogue is intact right after the restart, not only after a refill.
        assert_eq!(web_status(&node), Some(0), "after restarting {name}");
    }
    assert!(node.logs_text().contains("Subsystem restarted"));
}

#[test]
fn a_subsystem_that_keeps_failing_stops_the_process_with_exit_code_1() {
    let extra = [
        ("SIDECAR_MAX_RESTARTS", "2"),
        ("SIDECAR_RESTART_WINDOW", "1m"),
    ];
    let (mut node, _target, _dir) = node_with_a_healthy_service(&extra);
    for round in 1..=2 {
        post(&node, "/api/admin/subsystems/health_checker/panic");
        eventually(Duration::from_secs(10), "restarted", || {
            subsystem(&node, "health_checker").filter(|s| s["restarts"] == round)
        });
    }
    post(&node, "/api/admin/subsystems/health_checker/panic");
    let status = node.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{}", node.logs_text());
    assert!(node.logs_text().contains("Subsystem keeps failing"));
}

#[test]
fn operators_restart_one_subsystem_by_name_and_unknown_names_are_404() {
    let (node, _target, _dir) = node_with_a_healthy_service(&[]);
    let (status, body) = post(&node, "/api/admin/subsystems/health_checker/restart");
    assert_eq!(
        (status, body.contains("restarting health_checker")),
        (202, true),
        "{body}"
    );
    let restarted = eventually(Duration::from_secs(10), "restarted", || {
        subsystem(&node, "health_checker").filter(|s| s["restarts"] == 1)
    });
    assert_eq!(restarted["last_error"], Value::Null);
    assert_eq!(web_status(&node), Some(0));
    let (status, body) = post(&node, "/api/admin/subsystems/nope/restart");
    assert_eq!(status, 404);
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["status"], "error");
    let listed = subsystem(&node, "state_keeper").unwrap();
    assert!(listed["uptime_seconds"].is_u64());
}

#[test]
fn the_admin_api_refuses_a_non_loopback_client_without_the_token_and_accepts_it_with_it() {
    let ns = NetNs::create(7);
    let (node, _target, _dir) = node_with_a_healthy_service(&[("SIDECAR_HTTP_BIND_IP", "0.0.0.0")]);
    let base = format!("http://{}:{}", ns.host_ip, node.http.port());
    for (path, _) in ADMIN_READS {
        let (status, body) = ns.curl("GET", &format!("{base}{path}"), None);
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("loopback"), "{path}: {body}");
    }
    // The rest of the API still answers that client.
    let services = format!("{base}/api/services.json");
    assert_eq!(ns.curl("GET", &services, None).0, 200);
    drop(node);

    let token = [
        ("SIDECAR_HTTP_BIND_IP", "0.0.0.0"),
        ("SIDECAR_ADMIN_TOKEN", "s3cret"),
    ];
    let (node, _target2, _dir2) = node_with_a_healthy_service(&token);
    let base = format!("http://{}:{}", ns.host_ip, node.http.port());
    for (path, word) in ADMIN_READS {
        let url = format!("{base}{path}");
        assert_eq!(ns.curl("GET", &url, None).0, 401, "{path}");
        let wrong = ns.curl("GET", &url, Some("Authorization: Bearer wrong"));
        assert_eq!(wrong.0, 401, "{path}");
        let (status, body) = ns.curl("GET", &url, Some("Authorization: Bearer s3cret"));
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains(word), "{path}: {body}");
        // With a token, loopback needs it too.
        assert_eq!(node.get(path).0, 401, "{path}");
    }
}
