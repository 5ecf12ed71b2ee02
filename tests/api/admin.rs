//! The admin API's gossip statistics (`GET /api/admin/gossip`) against a stand-in gossiper:
//! the counters as JSON, the same access rule as the rest of the admin API, and 503 whenever
//! there is no gossiper to ask or it does not answer.

use std::collections::BTreeMap;
use std::time::Duration;

use actix::prelude::*;
use serde_json::{Value, json};
use sidecar::actors::gossiper::GossipKeys;
use sidecar::api::admin::AdminAccess;
use sidecar::messages::{GetGossipStats, GossipStats, Traffic};
use sidecar::supervisor::{Link, RestartPolicy, Supervisor};

use crate::harness::{Node, go_catalog};

const PATH: &str = "/api/admin/gossip";

/// A stand-in Gossiper: answers [`GetGossipStats`] with fixed counters, or never (`stuck`).
struct FakeGossiper {
    stats: GossipStats,
    stuck: bool,
}

impl Actor for FakeGossiper {
    type Context = Context<Self>;
}

impl Handler<GetGossipStats> for FakeGossiper {
    type Result = ResponseFuture<GossipStats>;
    fn handle(&mut self, _: GetGossipStats, _: &mut Context<Self>) -> Self::Result {
        let (stats, stuck) = (self.stats.clone(), self.stuck);
        Box::pin(async move {
            if stuck {
                std::future::pending::<()>().await;
            }
            stats
        })
    }
}

fn some_stats() -> GossipStats {
    let dropped = [("udp.bad_magic", 3), ("tcp.timeout", 1)];
    GossipStats {
        dropped: BTreeMap::from(dropped.map(|(reason, n)| (reason.to_owned(), n))),
        exchanges: 7,
        exchanges_in_sync: 5,
        broadcasts: 2,
        udp_sent: Traffic {
            packets: 10,
            bytes: 900,
        },
        tcp_sent_bytes: 4000,
        members: vec!["node-b".to_owned()],
        observed_loss_percent: 20,
        transmissions: 22,
        ..GossipStats::default()
    }
}

fn gossiper(stuck: bool) -> Link<GetGossipStats> {
    let stats = some_stats();
    Link::fixed(FakeGossiper { stats, stuck }.start().recipient())
}

/// A node whose admin API has a supervisor (with nothing to supervise), `token` and `gossip`.
async fn node(gossip: Option<Link<GetGossipStats>>, token: Option<&str>) -> Node {
    node_with_keys(gossip, token, None).await
}

/// [`node`] with the gossip key handle `keys`.
async fn node_with_keys(
    gossip: Option<Link<GetGossipStats>>,
    token: Option<&str>,
    keys: Option<GossipKeys>,
) -> Node {
    let log = slog::Logger::root(slog::Discard, slog::o!());
    let admin = AdminAccess {
        supervisor: Supervisor::new(RestartPolicy::default(), &log).start(),
        token: token.map(str::to_owned),
        gossip,
        keys,
        xds: None,
    };
    Node::start_with_admin(go_catalog(), Some(admin)).await
}

/// `PUT /api/admin/gossip/keys` with `body`: (status, body).
async fn put_keys(node: &Node, body: &Value) -> (u16, String) {
    let url = format!("{}/api/admin/gossip/keys", node.base);
    let request = reqwest::Client::new().put(url);
    let request = request.header("content-type", "application/json");
    let response = request.body(body.to_string()).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[actix::test]
async fn a_new_gossip_key_list_is_put_in_force_and_a_bad_one_refused_without_echoing_it() {
    let keys = GossipKeys::default();
    let node = node_with_keys(None, None, Some(keys.clone())).await;
    let (status, body) = put_keys(&node, &json!({"Keys": ["c2VjcmV0LWtleS0xNmJ5dA=="]})).await;
    assert_eq!(
        (status, body.contains("\"Keys\": 1")),
        (200, true),
        "{body}"
    );
    assert!(keys.is_set());
    let (status, body) = put_keys(&node, &json!({"Keys": ["c2hvcnQ="]})).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("key 1 is 5 bytes") && !body.contains("c2hvcnQ"),
        "{body}"
    );
    let (status, _) = put_keys(&node, &json!({"Keys": []})).await;
    assert_eq!(status, 400);
    node.stop().await;
}

#[actix::test]
async fn gossip_keys_are_503_on_a_node_without_a_gossiper() {
    let node = node(None, None).await;
    let (status, _) = put_keys(&node, &json!({"Keys": ["c2VjcmV0LWtleS0xNmJ5dA=="]})).await;
    assert_eq!(status, 503);
    node.stop().await;
}

/// Expects a 503 with the JSON error body naming the gossiper.
async fn assert_gossiper_unavailable(node: &Node) {
    let answer = node.fetch(reqwest::Method::GET, PATH).await;
    assert_eq!(answer.status, 503);
    let error: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(error["status"], "error");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("gossiper"), "{message}");
}

#[actix::test]
async fn gossip_stats_are_the_gossipers_members_exchanges_and_drops_as_json() {
    let node = node(Some(gossiper(false)), None).await;
    let answer = node.fetch(reqwest::Method::GET, PATH).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&answer.body).unwrap();
    let expected = json!({
        "members": ["node-b"],
        "exchanges": 7,
        "exchanges_in_sync": 5,
        "exchange_records_sent": 0,
        "exchange_records_received": 0,
        "broadcasts": 2,
        "udp_sent": {"packets": 10, "bytes": 900},
        "udp_received": {"packets": 0, "bytes": 0},
        "tcp_sent_bytes": 4000,
        "tcp_received_bytes": 0,
        "dropped": {"udp.bad_magic": 3, "tcp.timeout": 1},
        "observed_loss_percent": 20,
        "transmissions": 22,
    });
    assert_eq!(body, expected);
    node.stop().await;
}

#[actix::test]
async fn gossip_stats_need_the_admin_token_when_one_is_set() {
    let node = node(Some(gossiper(false)), Some("s3cret")).await;
    assert_eq!(node.get(PATH).await.status(), 401);
    assert_eq!(node.get_with_token(PATH, "wrong").await.status(), 401);
    assert_eq!(node.get_with_token(PATH, "s3cret").await.status(), 200);
    node.stop().await;
}

#[actix::test]
async fn gossip_stats_are_503_on_a_node_without_a_gossiper() {
    let node = node(None, None).await;
    assert_gossiper_unavailable(&node).await;
    node.stop().await;
}

#[actix::test]
async fn gossip_stats_are_503_while_the_gossiper_is_gone() {
    let gone = Context::<FakeGossiper>::new().address().recipient();
    let node = node(Some(Link::fixed(gone)), None).await;
    assert_gossiper_unavailable(&node).await;
    node.stop().await;
}

#[actix::test]
async fn gossip_stats_are_503_after_a_timeout_when_the_gossiper_does_not_answer() {
    let node = node(Some(gossiper(true)), None).await;
    let answered = tokio::time::timeout(Duration::from_secs(5), assert_gossiper_unavailable(&node));
    answered.await.expect("an answer within 5 s, not a hang");
    node.stop().await;
}
