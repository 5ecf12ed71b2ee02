//! JSON shapes: [`ServicesState`] against the Go sample, the views of `view.rs` and the
//! cached encodings of [`Snapshot`].

use super::*;
use crate::catalog::ServiceStatus::*;
use crate::catalog::view::{ApiServices, by_service};
use crate::catalog::{ServicesState, Snapshot};

/// `tests/fixtures/go-samples/api_state.json`: one node `vm` with the record of
/// docs/COMPATIBILITY.md §4.
const GO_STATE: &str = r#"{"Servers":{"vm":{"Name":"vm","Services":{"680088356f1f":{"ID":"680088356f1f","Name":"some_service","Image":"bb6268ff91dc42a51f51db53846f72102ed9ff3f","Created":"2026-11-23T07:59:37.419536457Z","Hostname":"vm","Ports":[{"Type":"tcp","Port":10234,"ServicePort":9999,"IP":"127.0.0.1"}],"Updated":"2026-11-23T08:00:09.419929456Z","ProxyMode":"http","Status":0}},"LastUpdated":"2026-11-23T08:00:09.419929456Z","LastChanged":"2026-11-23T07:59:41.419845889Z"}},"LastChanged":"2026-11-23T07:59:41.419845889Z","ClusterName":"default","Hostname":"vm"}"#;

/// The `Services` value of `/api/services.json` for [`go_state`] (docs/COMPATIBILITY.md §6),
/// indented.
const GO_SERVICES_BODY: &str = r#"{
  "Services": {
    "some_service": [
      {
        "ID": "680088356f1f",
        "Name": "some_service",
        "Image": "bb6268ff91dc42a51f51db53846f72102ed9ff3f",
        "Created": "2026-11-23T07:59:37.419536457Z",
        "Hostname": "vm",
        "Ports": [
          {
            "Type": "tcp",
            "Port": 10234,
            "ServicePort": 9999,
            "IP": "127.0.0.1"
          }
        ],
        "Updated": "2026-11-23T08:00:09.419929456Z",
        "ProxyMode": "http",
        "Status": 0
      }
    ]
  },"#;

const GO_MEMBERS: &str = r#"
  "ClusterMembers": {
    "vm": {
      "Name": "vm",
      "LastUpdated": "2026-11-23T08:00:09.419929456Z",
      "ServiceCount": 1
    }
  },"#;

const GO_CLUSTER_NAME: &str = r#"
  "ClusterName": "default"
}"#;

/// The state of the Go sample, reached through the rules as the Go binary reached it: the
/// record first seen at 07:59:41 (a change), then refreshed at 08:00:09 (no change).
fn go_state() -> ServicesState {
    let mut c = catalog();
    let first = Service {
        updated: ts("2026-11-23T07:59:41.419845889Z"),
        ..go_record()
    };
    let at = ts("2026-11-23T08:00:10Z");
    assert!(c.apply(first, at).into_change().is_some());
    assert!(c.apply(go_record(), at).into_change().is_none());
    c.state().clone()
}

#[test]
fn the_state_matches_the_go_sample_byte_for_byte() {
    assert_eq!(serde_json::to_string(&go_state()).unwrap(), GO_STATE);
}

#[test]
fn the_state_round_trips_through_json() {
    let mut c = catalog();
    let _ = c.apply(go_record(), now());
    let _ = c.apply(svc(PEER, "a", Draining, now()), now());
    let _ = c.apply(svc(PEER, "b", Tombstone, now().minus(secs(9))), now());
    let json = serde_json::to_string(c.state()).unwrap();
    let decoded: ServicesState = serde_json::from_str(&json).unwrap();
    assert_eq!(&decoded, c.state());
    let sample: ServicesState = serde_json::from_str(GO_STATE).unwrap();
    assert_eq!(sample, go_state());
}

#[test]
fn decoding_junk_is_an_error() {
    assert!(serde_json::from_str::<ServicesState>("junk").is_err());
    assert!(serde_json::from_str::<ServicesState>(r#"{"Servers":7}"#).is_err());
}

#[test]
fn by_service_groups_records_by_name_oldest_first_with_tombstones() {
    let mut c = catalog();
    let _ = c.apply(alive("a-host", "1", now()), now());
    let _ = c.apply(svc("b-host", "2", Tombstone, now().minus(secs(5))), now());
    let _ = c.apply(alive("c-host", "3", now().minus(secs(9))), now());
    let _ = c.apply(go_record(), now());
    let groups = by_service(c.state());
    assert_eq!(
        groups.keys().copied().collect::<Vec<_>>(),
        ["some_service", "web"]
    );
    let web: Vec<_> = groups["web"]
        .iter()
        .map(|s| (s.id.as_str(), s.status))
        .collect();
    assert_eq!(web, [("3", Alive), ("2", Tombstone), ("1", Alive)]);
}

#[test]
fn api_services_all_lists_members_with_counts_and_epoch_for_members_without_records() {
    let mut c = catalog();
    let _ = c.apply(alive(PEER, "a", now()), now());
    let _ = c.apply(svc(PEER, "b", Tombstone, now().minus(secs(5))), now());
    let members = vec![PEER.to_owned(), "idle".to_owned()];
    let api = ApiServices::all(c.state(), &members);
    let peer = &api.cluster_members[PEER];
    assert_eq!(
        (peer.name, peer.service_count, peer.last_updated),
        (PEER, 2, now())
    );
    let idle = &api.cluster_members["idle"];
    assert_eq!(
        (idle.service_count, idle.last_updated),
        (0, Timestamp::EPOCH)
    );
    assert_eq!(api.services["web"].len(), 2);
    assert_eq!(api.cluster_name, "default");
}

#[test]
fn api_services_one_has_only_that_name_and_no_cluster_members() {
    let state = go_state();
    let mut c = catalog();
    let _ = c.merge(&state, now());
    let _ = c.apply(alive(PEER, "a", now()), now());
    let one = ApiServices::one(c.state(), "some_service").unwrap();
    let json = serde_json::to_string_pretty(&one).unwrap();
    assert_eq!(json, format!("{GO_SERVICES_BODY}{GO_CLUSTER_NAME}"));
    assert!(ApiServices::one(c.state(), "nope").is_none());
}

#[test]
fn services_json_is_the_go_sample_indented_by_two_spaces() {
    let snapshot = Snapshot::new(go_state(), vec![NODE.to_owned()], 1, 1);
    let json = snapshot.services_json().unwrap();
    let expected = format!("{GO_SERVICES_BODY}{GO_MEMBERS}{GO_CLUSTER_NAME}");
    assert_eq!(std::str::from_utf8(&json).unwrap(), expected);
}

#[test]
fn snapshot_encodings_are_computed_once() {
    let snapshot = Snapshot::new(go_state(), vec![NODE.to_owned()], 3, 2);
    assert_eq!((snapshot.version(), snapshot.change_version()), (3, 2));
    let encodings: [fn(&Snapshot) -> Option<bytes::Bytes>; 3] = [
        Snapshot::state_json,
        Snapshot::services_json,
        Snapshot::by_service_json,
    ];
    for encode in encodings {
        let (first, second) = (encode(&snapshot).unwrap(), encode(&snapshot).unwrap());
        assert_eq!(first.as_ptr(), second.as_ptr());
        assert_eq!(first, second);
    }
    assert_eq!(snapshot.state_json().unwrap(), GO_STATE.as_bytes());
    let by_service: serde_json::Value =
        serde_json::from_slice(&snapshot.by_service_json().unwrap()).unwrap();
    assert_eq!(by_service["some_service"][0]["ID"], "680088356f1f");
}

#[test]
fn service_json_is_none_for_a_name_without_records() {
    let snapshot = Snapshot::new(go_state(), vec![NODE.to_owned()], 1, 1);
    assert!(snapshot.service_json("nope").is_none());
    let json = snapshot.service_json("some_service").unwrap();
    assert_eq!(
        json,
        format!("{GO_SERVICES_BODY}{GO_CLUSTER_NAME}").as_bytes()
    );
}
