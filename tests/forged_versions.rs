//! Versions from the future, on real processes (127.0.0.60–127.0.0.69): a fake peer that
//! holds no keys opens an anti-entropy session and hands one node far-future records — a
//! TOMBSTONE for a live service of another node and an ALIVE record of a made-up host. The
//! live service must stay ALIVE everywhere and the made-up record must not spread; the
//! refusals are counted under the gossip `dropped` reasons.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::cluster::{ClusterNode, cluster_node, free_gossip_port};
use common::{Sidecar, eventually, status};
use serde_json::Value;
use sidecar::catalog::{Service, ServiceStatus, ServicesState};
use sidecar::clock::Timestamp;
use sidecar::gossip::exchange::{self, Session, read_frame, write_frame};
use sidecar::gossip::node_id::NodeId;
use sidecar::gossip::wire::{ClusterId, FrameContext, Message, encode};

const CLUSTER: &str = "forged";
const ALIVE: i64 = 0;

/// The record of `svc` announced by `host`, as `node` sees it.
fn record(node: &Sidecar, svc: &str, host: &str) -> Option<Value> {
    let body = node.get_json("/api/services.json");
    body["Services"][svc]
        .as_array()?
        .iter()
        .find(|s| s["Hostname"] == host)
        .cloned()
}

/// `node-n` on 127.0.0.n:`port`, seeded by node 60; with a static service `svc`.
fn node(n: u8, port: u16, svc: Option<&str>) -> ClusterNode {
    cluster_node(n, 60, port, CLUSTER, svc, &[])
}

/// The sum of the gossip `dropped` counters whose reason mentions `future`.
fn future_drops(node: &Sidecar) -> u64 {
    let stats = node.get_json("/api/admin/gossip");
    let dropped = stats["dropped"].as_object().cloned().unwrap_or_default();
    dropped
        .iter()
        .filter(|(reason, _)| reason.contains("future"))
        .filter_map(|(_, n)| n.as_u64())
        .sum()
}

/// Plays a peer without keys: hello, then the push/pull session as the initiator, offering
/// `records` as its whole catalogue.
fn inject(addr: SocketAddr, records: Vec<Service>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let timeout = Duration::from_secs(5);
        let frame = FrameContext::stream(ClusterId::of(CLUSTER), None);
        let session = Session {
            frame,
            timeout,
            bulk: None,
        };
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let me = NodeId::new("intruder", "127.0.0.69:9".parse().unwrap(), 1);
        let hello = Message::Hello {
            node: me,
            exchange: true,
            challenge: [7; 16],
            answer: None,
        };
        let bytes = encode(&hello, &frame).unwrap();
        write_frame(&mut stream, &bytes, timeout).await.unwrap();
        read_frame(&mut stream, 4096, timeout).await.unwrap();
        let mut state = ServicesState::new("intruder", CLUSTER);
        for svc in records {
            state.insert(svc);
        }
        exchange::initiate(&mut stream, &state, &session)
            .await
            .unwrap();
    });
}

#[test]
fn a_far_future_tombstone_from_a_fake_peer_does_not_kill_a_live_service() {
    let port = free_gossip_port(60..=62);
    let n60 = node(60, port, None);
    let n61 = node(61, port, Some("web"));
    let n62 = node(62, port, None);
    let all = [&n60.node, &n61.node, &n62.node];
    for n in all {
        eventually(Duration::from_secs(20), "web ALIVE everywhere", || {
            (status(n, "web", "node-61") == Some(ALIVE)).then_some(())
        });
    }
    let live = record(&n61.node, "web", "node-61").unwrap();
    let mut forged: Service = serde_json::from_value(live).unwrap();
    forged.status = ServiceStatus::Tombstone;
    forged.updated = Timestamp::parse("9999-12-31T23:59:59.999999999Z").unwrap();
    let ghost = Service {
        id: "ghost0000001".into(),
        name: "ghost".into(),
        hostname: "made-up-host".into(),
        updated: forged.updated,
        ..Service::default()
    };
    // Into a node that is not the service's origin, so that only the merge rules stand
    // between the forgery and the cluster.
    inject(
        SocketAddr::new([127, 0, 0, 60].into(), port),
        vec![forged, ghost],
    );

    for n in all {
        eventually(Duration::from_secs(10), "web ALIVE everywhere", || {
            (status(n, "web", "node-61") == Some(ALIVE)).then_some(())
        });
    }
    // Still so once any anti-entropy round had time to carry the forgery on.
    std::thread::sleep(Duration::from_secs(3));
    for n in all {
        assert_eq!(status(n, "web", "node-61"), Some(ALIVE));
        assert_eq!(status(n, "ghost", "made-up-host"), None);
    }
    assert!(
        future_drops(&n60.node) >= 2,
        "{}",
        n60.node.get_json("/api/admin/gossip")
    );
}
