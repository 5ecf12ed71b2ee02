use std::net::IpAddr;

use serde_json::{Value, json};

use super::*;
use crate::xds::testdata::catalogue;

fn options() -> V1Options {
    V1Options {
        bind_ip: "192.168.168.168".to_owned(),
        use_hostnames: false,
    }
}

#[test]
fn a_registration_name_needs_a_numeric_port() {
    assert_eq!(parse_name("web:8080"), Ok(("web", 8080)));
    assert_eq!(parse_name("web"), Err(V1Error::NoPort));
    assert_eq!(parse_name("web:http"), Err(V1Error::BadPort));
    assert_eq!(
        parse_name("a:1:2"),
        Ok(("a", 1)),
        "the second part, as Go split it"
    );
}

#[test]
fn a_registration_lists_the_alive_instances_on_that_service_port() {
    let body = registration(&catalogue(), "web", 8080, &options(), &|_| None).unwrap();
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["env"], "test");
    assert_eq!(doc["service"], "web:8080");
    let hosts: Vec<(&str, i64)> = doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["ip_address"].as_str().unwrap(),
                h["port"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(hosts, [("10.0.0.1", 10000), ("10.0.0.2", 10001)]);
    assert_eq!(doc["hosts"][0]["revision"], "abc123");
    assert_eq!(doc["hosts"][0]["tags"], json!({}));
    let none = registration(&catalogue(), "web", 1, &options(), &|_| None).unwrap();
    assert_eq!(none, r#"{"env":"test","hosts":[],"service":"web:1"}"#);
}

#[test]
fn with_hostnames_a_registration_resolves_them_and_falls_back_to_the_ip() {
    let options = V1Options {
        use_hostnames: true,
        ..options()
    };
    let resolve = |host: &str| (host == "host-a").then(|| IpAddr::from([10, 9, 9, 9]));
    let body = registration(&catalogue(), "web", 8080, &options, &resolve).unwrap();
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["hosts"][0]["ip_address"], "10.9.9.9");
    assert_eq!(doc["hosts"][1]["ip_address"], "10.0.0.2");
}

#[test]
fn clusters_and_listeners_come_from_the_first_alive_instance_of_each_name() {
    let clusters: Value = serde_json::from_str(&clusters(&catalogue()).unwrap()).unwrap();
    let names: Vec<&str> = clusters["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "chat:9000",
            "db:5432",
            "odd:7000",
            "squatter:8080",
            "web:8080"
        ],
        "no port-collision guard in v1"
    );
    let body = listeners(&catalogue(), &options()).unwrap();
    let doc: Value = serde_json::from_str(&body).unwrap();
    let filters: Vec<(&str, &str)> = doc["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap(),
                l["filters"][0]["name"].as_str().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("chat:9000", "envoy.tcp_proxy"),
        ("db:5432", "envoy.tcp_proxy"),
        ("odd:7000", "envoy.tcp_proxy"),
        ("squatter:8080", "envoy.http_connection_manager"),
        ("web:8080", "envoy.http_connection_manager"),
    ];
    assert_eq!(filters, expected, "every mode but http is tcp_proxy");
    assert_eq!(doc["listeners"][1]["address"], "tcp://192.168.168.168:5432");
    let tcp = &doc["listeners"][1]["filters"][0]["config"];
    assert_eq!(tcp["route_config"]["routes"][0]["cluster"], "db:5432");
}
