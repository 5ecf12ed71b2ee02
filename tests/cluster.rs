//! Clusters of real processes (the built binary) on 127.0.0.1–127.0.0.5, each node on its
//! own loopback IP with the same gossip port: join, dissemination, `ClusterMembers`, failure
//! detection after SIGKILL, graceful leave on SIGTERM, cluster isolation by name, and garbage
//! on the gossip ports.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use common::cluster::{ClusterNode, cluster_node, free_gossip_port};
use common::{Sidecar, eventually, members, status};
use serde_json::Value;

fn free_port() -> u16 {
    free_gossip_port(1..=5)
}

type Member = ClusterNode;

/// Node `n` (`node-n` on 127.0.0.n:`port`) seeded by node 1; with a static service `svc`.
fn member(n: u8, port: u16, cluster: &str, svc: Option<&str>) -> Member {
    member_with(n, port, cluster, svc, &[])
}

/// [`member`] with `extra` environment.
fn member_with(
    n: u8,
    port: u16,
    cluster: &str,
    svc: Option<&str>,
    extra: &[(&str, &str)],
) -> Member {
    cluster_node(n, 1, port, cluster, svc, extra)
}

const ALIVE: i64 = 0;
const TOMBSTONE: i64 = 1;
const UNHEALTHY: i64 = 2;

fn wait_status(nodes: &[&Sidecar], svc: &str, host: &str, want: i64, within: Duration) {
    for node in nodes {
        eventually(within, &format!("{svc}@{host} has status {want}"), || {
            (status(node, svc, host) == Some(want)).then_some(())
        });
    }
}

/// Nodes 1–3 with node 2 announcing `web`, once nodes 1 and 3 see it ALIVE.
fn three_nodes_with_web_on_node_2() -> [Member; 3] {
    let port = free_port();
    let n1 = member(1, port, "test", None);
    let n2 = member(2, port, "test", Some("web"));
    let n3 = member(3, port, "test", None);
    wait_status(
        &[&n1.node, &n3.node],
        "web",
        "node-2",
        ALIVE,
        Duration::from_secs(20),
    );
    [n1, n2, n3]
}

#[test]
fn three_nodes_share_records_and_members_and_detect_a_sigkill() {
    let [n1, n2, n3] = three_nodes_with_web_on_node_2();
    let others = [&n1.node, &n3.node];
    let all = vec![
        "node-1".to_owned(),
        "node-2".to_owned(),
        "node-3".to_owned(),
    ];
    eventually(
        Duration::from_secs(10),
        "node 1 lists three members",
        || (members(&n1.node) == all).then_some(()),
    );

    n2.node.signal("KILL");
    let killed = Instant::now();
    wait_status(&others, "web", "node-2", TOMBSTONE, Duration::from_secs(15));
    assert!(
        killed.elapsed() < Duration::from_secs(12),
        "took {:?}",
        killed.elapsed()
    );
    eventually(
        Duration::from_secs(5),
        "node 2 leaves ClusterMembers",
        || (!members(&n1.node).contains(&"node-2".to_owned())).then_some(()),
    );
}

#[test]
fn a_node_frozen_until_declared_down_is_whole_again_everywhere_once_it_thaws() {
    // Peers tombstone a member's records when it is declared down. A member that was alive
    // all along (a long pause, a partition) must get them back everywhere, although it no
    // longer re-broadcasts its records periodically: it learns of the tombstones and
    // re-asserts its records.
    let [n1, n2, n3] = three_nodes_with_web_on_node_2();
    let others = [&n1.node, &n3.node];
    n2.node.signal("STOP");
    wait_status(&others, "web", "node-2", TOMBSTONE, Duration::from_secs(20));
    n2.node.signal("CONT");
    let thawed = Instant::now();
    let all = [&n1.node, &n2.node, &n3.node];
    // Well inside the 20 s push/pull period: this is the heal path, not the periodic repair.
    wait_status(&all, "web", "node-2", ALIVE, Duration::from_secs(5));
    eprintln!("ALIVE everywhere {:?} after the thaw", thawed.elapsed());
    eventually(Duration::from_secs(10), "node 1 lists node 2 again", || {
        members(&n1.node)
            .contains(&"node-2".to_owned())
            .then_some(())
    });
}

#[test]
fn sigterm_tombstones_the_leaving_nodes_records_everywhere_quickly() {
    let port = free_port();
    let n1 = member(1, port, "test", None);
    let mut n2 = member(2, port, "test", Some("api"));
    let n3 = member(3, port, "test", None);
    let others = [&n1.node, &n3.node];
    wait_status(&others, "api", "node-2", ALIVE, Duration::from_secs(20));

    n2.node.signal("TERM");
    let stopped = Instant::now();
    wait_status(&others, "api", "node-2", TOMBSTONE, Duration::from_secs(5));
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "took {:?}",
        stopped.elapsed()
    );
    let status = n2.node.wait_exit(Duration::from_secs(3));
    assert!(status.success(), "{status}");
}

#[test]
fn a_node_of_another_cluster_never_sees_the_others_records() {
    let port = free_port();
    let n1 = member(1, port, "blue", Some("blue-svc"));
    let n2 = member(2, port, "green", None);
    let n3 = member(3, port, "blue", None);
    wait_status(
        &[&n3.node],
        "blue-svc",
        "node-1",
        ALIVE,
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(status(&n2.node, "blue-svc", "node-1"), None);
    assert_eq!(members(&n2.node), vec!["node-2".to_owned()]);
    assert!(!members(&n1.node).contains(&"node-2".to_owned()));
}

fn dropped(node: &Sidecar, reason: &str) -> bool {
    node.log_lines().iter().any(|line| {
        let v: Value = serde_json::from_str(line).unwrap_or_default();
        v["msg"] == "Dropped gossip input" && v["reason"] == reason
    })
}

/// `GET /api/admin/gossip` (the test runs on loopback, which the admin API answers).
fn gossip_stats(node: &Sidecar) -> Value {
    node.get_json("/api/admin/gossip")
}

/// The gossiper's restarts, from `GET /api/admin/subsystems`.
fn gossiper_restarts(node: &Sidecar) -> Option<u64> {
    let list = node.get_json("/api/admin/subsystems");
    let gossiper = list.as_array()?.iter().find(|s| s["name"] == "gossiper")?;
    gossiper["restarts"].as_u64()
}

#[test]
fn a_steady_cluster_exchanges_only_summaries_and_broadcasts_no_records() {
    // In Go every node re-announces every record every minute; here a steady node sends
    // none, and anti-entropy finds the catalogues equal from one hash each way.
    let port = free_port();
    let fast = [("SIDECAR_PUSH_PULL_INTERVAL", "1s")];
    let n1 = member_with(1, port, "test", Some("web"), &fast);
    let n2 = member_with(2, port, "test", Some("api"), &fast);
    let n3 = member_with(3, port, "test", None, &fast);
    let nodes = [&n1.node, &n2.node, &n3.node];
    wait_status(&nodes, "web", "node-1", ALIVE, Duration::from_secs(20));
    wait_status(&nodes, "api", "node-2", ALIVE, Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(2));
    let before: Vec<Value> = nodes.iter().map(|n| gossip_stats(n)).collect();
    std::thread::sleep(Duration::from_secs(6));
    for (node, before) in nodes.iter().zip(&before) {
        let after = gossip_stats(node);
        let grew = |key: &str| after[key].as_u64().unwrap() - before[key].as_u64().unwrap();
        assert!(grew("exchanges") >= 3, "{before} → {after}");
        assert_eq!(grew("exchanges_in_sync"), grew("exchanges"), "{after}");
        assert_eq!(grew("exchange_records_sent"), 0, "{after}");
        assert_eq!(grew("broadcasts"), 0, "{after}");
    }
}

#[test]
fn garbage_on_the_gossip_ports_is_dropped_and_counted() {
    let port = free_port();
    let n4 = member(4, port, "test", Some("svc"));
    let addr = format!("127.0.0.4:{port}");
    let udp = UdpSocket::bind("127.0.0.4:0").unwrap();
    udp.send_to(b"definitely not a frame", &addr).unwrap();
    let mut other = vec![b'S', b'C', sidecar::gossip::wire::VERSION, 0];
    other.extend_from_slice(&[7; 9]);
    udp.send_to(&other, &addr).unwrap();
    udp.send_to(&[0xff; 4000], &addr).unwrap();
    let mut tcp = TcpStream::connect(&addr).unwrap();
    tcp.write_all(&u32::MAX.to_be_bytes()).unwrap();
    let mut tcp2 = TcpStream::connect(&addr).unwrap();
    tcp2.write_all(&[0, 0, 0, 5, 1, 2, 3, 4, 5]).unwrap();
    let reasons = [
        "udp.bad_magic",
        "udp.other_cluster",
        "udp.too_large",
        "tcp.too_large",
        "tcp.too_short",
    ];
    let counted = |stats: &Value, reason: &str| stats["dropped"][reason].as_u64().unwrap_or(0);
    let stats = eventually(Duration::from_secs(5), "every reason counted", || {
        let stats = gossip_stats(&n4.node);
        reasons
            .iter()
            .all(|r| counted(&stats, r) >= 1)
            .then_some(stats)
    });
    assert!(stats["exchanges"].is_u64(), "{stats}");
    assert!(stats["members"].is_array(), "{stats}");
    // Still healthy: its service stays ALIVE and the gossiper did not have to be restarted.
    wait_status(&[&n4.node], "svc", "node-4", ALIVE, Duration::from_secs(10));
    assert_eq!(gossiper_restarts(&n4.node), Some(0));
}

#[test]
fn five_nodes_all_see_each_other_and_a_record_from_any_node() {
    let port = free_port();
    let mut nodes = vec![member(1, port, "five", None)];
    for n in 2..=5 {
        nodes.push(member(n, port, "five", (n == 4).then_some("db")));
    }
    let all: Vec<String> = (1..=5).map(|n| format!("node-{n}")).collect();
    for m in &nodes {
        eventually(Duration::from_secs(15), "five members everywhere", || {
            (members(&m.node) == all).then_some(())
        });
    }
    let refs: Vec<&Sidecar> = nodes.iter().map(|m| &m.node).collect();
    wait_status(&refs, "db", "node-4", ALIVE, Duration::from_secs(15));
}

const KEY_1: &str = "AAAAAAAAAAAAAAAAAAAAAA==";
const KEY_2: &str = "AQEBAQEBAQEBAQEBAQEBAQ==";

#[test]
fn with_gossip_keys_only_nodes_holding_the_key_take_part() {
    let port = free_port();
    let keys = |k| [("SIDECAR_GOSSIP_KEYS", k)];
    let n1 = member_with(1, port, "sealed", Some("secret"), &keys(KEY_1));
    let n2 = member_with(2, port, "sealed", None, &keys(KEY_1));
    let n3 = member_with(3, port, "sealed", None, &keys(KEY_2));
    wait_status(
        &[&n2.node],
        "secret",
        "node-1",
        ALIVE,
        Duration::from_secs(15),
    );
    eventually(
        Duration::from_secs(5),
        "node 1 refuses node 3's join",
        || dropped(&n1.node, "tcp.decrypt").then_some(()),
    );
    assert_eq!(status(&n3.node, "secret", "node-1"), None);
    assert_eq!(members(&n3.node), vec!["node-3".to_owned()]);
    assert!(!members(&n1.node).contains(&"node-3".to_owned()));
}

#[test]
fn a_node_whose_seed_is_not_up_yet_keeps_trying_and_joins_later() {
    let port = free_port();
    let n2 = member(2, port, "late", Some("early"));
    eventually(Duration::from_secs(5), "a failed join attempt", || {
        n2.node
            .logs_text()
            .contains("Exchange failed")
            .then_some(())
    });
    let n1 = member(1, port, "late", None);
    wait_status(
        &[&n1.node],
        "early",
        "node-2",
        ALIVE,
        Duration::from_secs(15),
    );
    let both = vec!["node-1".to_owned(), "node-2".to_owned()];
    eventually(Duration::from_secs(5), "both members on node 2", || {
        (members(&n2.node) == both).then_some(())
    });
}

fn restart_gossiper(node: &Sidecar) {
    let (status, body) = common::http_call(
        node.http,
        "POST",
        "/api/admin/subsystems/gossiper/restart",
        "Content-Length: 0\r\n",
    );
    assert!((200..300).contains(&status), "{status} {body}");
}

#[test]
fn restarted_gossipers_rejoin_and_keep_spreading_records() {
    let port = free_port();
    let n1 = member(1, port, "again", None);
    let n2 = member(2, port, "again", Some("first"));
    let n3 = member(3, port, "again", None);
    wait_status(
        &[&n1.node, &n3.node],
        "first",
        "node-2",
        ALIVE,
        Duration::from_secs(15),
    );
    restart_gossiper(&n1.node);
    restart_gossiper(&n2.node);
    let n4 = member(4, port, "again", Some("second"));
    let others = [&n1.node, &n2.node, &n3.node];
    wait_status(&others, "second", "node-4", ALIVE, Duration::from_secs(15));
    let all: Vec<String> = (1..=4).map(|n| format!("node-{n}")).collect();
    for node in [&n1.node, &n2.node, &n3.node, &n4.node] {
        eventually(Duration::from_secs(15), "four members everywhere", || {
            (members(node) == all).then_some(())
        });
    }
    assert_eq!(status(&n4.node, "first", "node-2"), Some(ALIVE));
}

#[test]
fn a_health_change_on_one_node_reaches_the_others_and_back() {
    let port = free_port();
    let n1 = member(1, port, "health", None);
    let n2 = member(2, port, "health", Some("flaky"));
    let n3 = member(3, port, "health", None);
    let others = [&n1.node, &n3.node];
    wait_status(&others, "flaky", "node-2", ALIVE, Duration::from_secs(15));
    let target = n2.target.as_ref().unwrap();
    target.set_failing(true);
    wait_status(
        &[&n2.node],
        "flaky",
        "node-2",
        UNHEALTHY,
        Duration::from_secs(20),
    );
    let local = Instant::now();
    wait_status(
        &others,
        "flaky",
        "node-2",
        UNHEALTHY,
        Duration::from_secs(5),
    );
    assert!(
        local.elapsed() < Duration::from_secs(3),
        "{:?}",
        local.elapsed()
    );
    target.set_failing(false);
    wait_status(&others, "flaky", "node-2", ALIVE, Duration::from_secs(20));
}
