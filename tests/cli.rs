//! Black-box tests of the built `sidecar` binary: start-up, bad input, health flips seen
//! through the API and the watch stream, and graceful shutdown.

mod common;

use std::time::Duration;

use common::{
    Sidecar, Target, base_env, eventually, node_with_service, refused_at_start, spawn, static_file,
};
use serde_json::Value;

fn status_of(node: &Sidecar, name: &str) -> Option<i64> {
    let services = node.get_json("/api/services.json");
    services["Services"][name][0]["Status"].as_i64()
}

fn statuses_in(docs: &[Value], name: &str) -> Vec<i64> {
    docs.iter()
        .filter_map(|doc| doc[name][0]["Status"].as_i64())
        .collect()
}

#[test]
fn a_static_service_turns_alive_then_unhealthy_and_the_watch_stream_sees_both() {
    let (node, target, _dir) = node_with_service("web", &[]);
    let watch = common::watch(node.http, "/api/watch");

    eventually(Duration::from_secs(10), "web ALIVE (0)", || {
        (status_of(&node, "web") == Some(0)).then_some(())
    });
    target.set_failing(true);
    eventually(Duration::from_secs(10), "web UNHEALTHY (2)", || {
        (status_of(&node, "web") == Some(2)).then_some(())
    });
    eventually(
        Duration::from_secs(5),
        "the watch stream pushed ALIVE then UNHEALTHY",
        || {
            let statuses = statuses_in(&watch.lock().unwrap(), "web");
            statuses.ends_with(&[0, 2]).then_some(())
        },
    );
}

#[test]
fn an_invalid_static_file_at_start_exits_2_naming_the_file_and_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "[\n  {\"Service\": {\"Name\": \"x\",}}\n]").unwrap();
    let mut env = base_env();
    env.insert("STATIC_CONFIG_FILE".into(), path.display().to_string());
    let (mut child, logs) = spawn(&env, &[]);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2));
    // Not "broken.json" alone: the Config lines name the file before the error is logged.
    let error = eventually(Duration::from_secs(5), "the error is logged", || {
        let lines = logs.lock().unwrap();
        lines
            .iter()
            .find(|l| !l.contains("\"Config\"") && l.contains("broken.json"))
            .cloned()
    });
    assert!(error.contains("line 2"), "{error}");
}

#[test]
fn a_missing_static_file_at_start_exits_2_naming_the_file() {
    let mut env = base_env();
    env.insert(
        "STATIC_CONFIG_FILE".into(),
        "/nonexistent/static.json".into(),
    );
    let (mut child, logs) = spawn(&env, &[]);
    assert_eq!(child.wait().unwrap().code(), Some(2));
    eventually(Duration::from_secs(5), "the error names the file", || {
        logs.lock()
            .unwrap()
            .join("\n")
            .contains("/nonexistent/static.json")
            .then_some(())
    });
}

#[test]
fn a_bad_environment_value_exits_2_naming_the_variable_and_the_value() {
    refused_at_start(
        &[("SIDECAR_HTTP_PORT", "seventy")],
        &["SIDECAR_HTTP_PORT", "seventy"],
    );
}

#[test]
fn a_bad_listener_url_exits_2_naming_the_variable_and_the_url() {
    let urls = ("LISTENERS_URLS", "http://ok:1/x,not a url");
    refused_at_start(&[urls], &["LISTENERS_URLS", "not a url"]);
}

#[test]
fn sigterm_stops_the_node_cleanly_within_two_seconds_and_the_last_log_line_is_written() {
    let (mut node, _target, _dir) = node_with_service("web", &[]);
    node.signal("TERM");
    let status = node.wait_exit(Duration::from_secs(2));
    assert_eq!(status.code(), Some(0), "{}", node.logs_text());
    eventually(
        Duration::from_secs(2),
        "'Sidecar stopped' is logged",
        || node.logs_text().contains("Sidecar stopped").then_some(()),
    );
}

#[test]
fn sigint_stops_the_node_cleanly_too() {
    let (mut node, _target, _dir) = node_with_service("web", &[]);
    node.signal("INT");
    assert_eq!(node.wait_exit(Duration::from_secs(2)).code(), Some(0));
}

#[test]
fn cli_flags_override_the_environment() {
    let target = Target::start();
    let dir = tempfile::tempdir().unwrap();
    let mut env = base_env();
    let file = static_file(dir.path(), "web", target.addr);
    env.insert("STATIC_CONFIG_FILE".into(), file.display().to_string());
    env.insert("SIDECAR_CLUSTER_NAME".into(), "from-env".into());
    let node = Sidecar::start(&env, &["-n", "from-flag", "--hostname", "flag-host"]);
    let state = node.get_json("/api/state.json");
    assert_eq!(state["ClusterName"], "from-flag");
    assert_eq!(state["Hostname"], "flag-host");
}

#[test]
fn the_root_redirects_to_a_ui_that_the_binary_serves_from_anywhere() {
    let (node, _target, _dir) = node_with_service("web", &[]);
    assert_eq!(node.get("/").0, 301);
    let (status, page) = node.get("/ui/");
    assert_eq!(status, 200);
    assert!(page.contains("<title>Sidecar</title>") && page.contains("app.js"));
    let (status, script) = node.get("/ui/app.js");
    assert_eq!(status, 200);
    assert!(script.contains("/api/services.json"));
    assert_eq!(node.get("/ui/nope.js").0, 404);
}
