//! The client's pure parts: tables, watch lines, the stream splitter, exit codes.

use serde_json::json;

use super::render::{self, WatchLines};
use super::*;

fn instance(id: &str, host: &str, status: u8) -> Value {
    json!({
        "ID": id, "Name": "web", "Image": "web:1", "Hostname": host, "Status": status,
        "Updated": "2026-12-01T10:00:00Z",
        "Ports": [{"Type": "tcp", "Port": 32768, "ServicePort": 9999, "IP": "10.0.0.1"}]
    })
}

#[test]
fn the_services_table_counts_instances_by_status_and_lists_service_ports() {
    let doc = json!({"Services": {"web": [instance("a", "n1", 0), instance("b", "n2", 0),
        instance("c", "n3", 2)]}});
    let table = render::services(&doc);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "NAME  INSTANCES             PORTS");
    assert_eq!(lines[1], "web   2 Alive, 1 Unhealthy  9999");
}

#[test]
fn the_service_table_shows_each_instance_with_its_port_mapping() {
    let table = render::service(&json!({"Services": {"web": [instance("abc", "n1", 4)]}}));
    assert!(
        table.contains("abc  n1    Draining  9999->10.0.0.1:32768/tcp  web:1"),
        "{table}"
    );
}

#[test]
fn a_watch_prints_every_instance_first_then_only_what_changed() {
    let mut lines = WatchLines::default();
    let first = json!({"web": [instance("a", "n1", 0), instance("b", "n2", 0)]});
    assert_eq!(
        lines.next(&first),
        ["web a on n1: Alive", "web b on n2: Alive"]
    );
    let second = json!({"web": [instance("a", "n1", 2)]});
    assert_eq!(
        lines.next(&second),
        ["web a on n1: Alive -> Unhealthy", "web b on n2: gone"]
    );
    assert!(lines.next(&second).is_empty());
}

#[test]
fn concatenated_documents_are_split_and_an_incomplete_one_waits() {
    let (docs, used) = split_documents(br#"{"a":1}{"b":2}{"c":"#);
    assert_eq!(docs, [json!({"a": 1}), json!({"b": 2})]);
    assert_eq!(used, 14);
}

#[test]
fn refusals_map_to_their_exit_codes() {
    let path = "/api/admin/subsystems";
    assert_eq!(
        refusal(StatusCode::UNAUTHORIZED, path, &Value::Null).exit_code(),
        4
    );
    assert_eq!(
        refusal(StatusCode::FORBIDDEN, path, &Value::Null).exit_code(),
        4
    );
    let unknown = json!({"message": "no instances of nope found", "status": "error"});
    let failure = refusal(StatusCode::NOT_FOUND, path, &unknown);
    assert_eq!(
        (failure.exit_code(), failure.to_string().as_str()),
        (5, "no instances of nope found")
    );
    assert_eq!(
        refusal(StatusCode::SERVICE_UNAVAILABLE, path, &Value::Null).exit_code(),
        1
    );
}

#[test]
fn names_are_percent_encoded_into_one_path_segment() {
    assert_eq!(segment("web/../x y"), "web%2F..%2Fx%20y");
}

#[test]
fn only_client_commands_select_the_client() {
    let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
    assert!(run_if_client(&args(&["sidecar"])).is_none());
    assert!(run_if_client(&args(&["sidecar", "-n", "services"])).is_none());
    assert!(run_if_client(&args(&["sidecar", "--hostname", "x"])).is_none());
    let parsed =
        ClientCli::try_parse_from(args(&["sidecar", "--node", "http://x:1", "service", "web"]));
    assert_eq!(
        parsed.unwrap().command,
        Command::Service { name: "web".into() }
    );
}
