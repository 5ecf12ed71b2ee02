//! Gossiper actor tests, in process: real sockets on 127.0.0.1, real StateKeepers.

use std::collections::BTreeSet;
use std::net::UdpSocket as StdUdp;

use slog::o;

use super::*;
use crate::actors::{StateKeeper, StateKeeperMemory, StateKeeperSettings};
use crate::catalog::{Lifespans, ServiceStatus};
use crate::clock::SystemClock;
use crate::messages::{ApplyLocalServices, GetSnapshot};

struct Node {
    keeper: Addr<StateKeeper>,
    gossiper: Addr<Gossiper>,
    addr: SocketAddr,
}

fn node(name: &str, seeds: Vec<String>) -> Node {
    node_on(name, seeds, [127, 0, 0, 1], None)
}

/// [`node`] on `ip`, handing the records it hears to `remote` instead of its StateKeeper
/// when given.
fn node_on(
    name: &str,
    seeds: Vec<String>,
    ip: [u8; 4],
    remote: Option<Recipient<ApplyRemoteServices>>,
) -> Node {
    node_with(name, seeds, ip, remote, Lifespans::default())
}

/// [`node_on`] with the catalogue's `lifespans`.
fn node_with(
    name: &str,
    seeds: Vec<String>,
    ip: [u8; 4],
    remote: Option<Recipient<ApplyRemoteServices>>,
    lifespans: Lifespans,
) -> Node {
    let log = Logger::root(slog::Discard, o!());
    let clock: SharedClock = Arc::new(SystemClock);
    let keeper = StateKeeper::new(
        StateKeeperSettings {
            hostname: name.into(),
            cluster_name: "unit".into(),
            lifespans,
            expire_interval: Duration::from_secs(2),
        },
        Arc::clone(&clock),
        StateKeeperMemory::default(),
        &log,
    )
    .start();
    let sockets = GossipSockets::bind(ip.into(), 0).unwrap();
    let addr = SocketAddr::from((ip, sockets.port().unwrap()));
    let mut settings = GossiperSettings::new(name, addr, "unit");
    settings.seeds = seeds;
    settings.max_batches_in_flight = 2;
    let links = StateLinks {
        subscribe: Link::fixed(keeper.clone().recipient()),
        remote: Link::fixed(remote.unwrap_or_else(|| keeper.clone().recipient())),
        expire: Link::fixed(keeper.clone().recipient()),
        members: Link::fixed(keeper.clone().recipient()),
    };
    let gossiper = Gossiper::new(
        settings,
        Arc::new(sockets),
        clock,
        links,
        GossiperMemory::default(),
        &log,
    )
    .start();
    Node {
        keeper,
        gossiper,
        addr,
    }
}

async fn until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

#[actix::test]
async fn garbage_datagrams_are_dropped_and_counted_by_reason() {
    let a = node("a", Vec::new());
    let udp = StdUdp::bind("127.0.0.1:0").unwrap();
    udp.send_to(b"definitely not a frame", a.addr).unwrap();
    udp.send_to(b"tiny", a.addr).unwrap();
    // A hello may be 4 KiB: a peer cannot make the node allocate a 1 MB frame for it.
    let mut tcp = std::net::TcpStream::connect(a.addr).unwrap();
    std::io::Write::write_all(&mut tcp, &1_000_000_u32.to_be_bytes()).unwrap();
    let gossiper = a.gossiper.clone();
    until("three drops counted", || {
        let gossiper = gossiper.clone();
        async move {
            let stats = gossiper.send(GetGossipStats).await.unwrap();
            stats.dropped.get("udp.bad_magic") == Some(&1)
                && stats.dropped.get("udp.too_short") == Some(&1)
                && stats.dropped.get("tcp.too_large") == Some(&1)
        }
    })
    .await;
}

/// Node `a`'s discovery report: one live service, `s1`.
fn a_runs_s1() -> ApplyLocalServices {
    let svc = Service {
        id: "s1".into(),
        name: "web".into(),
        hostname: "a".into(),
        status: ServiceStatus::Alive,
        ..Service::default()
    };
    ApplyLocalServices {
        services: vec![svc],
        pending: BTreeSet::new(),
    }
}

#[actix::test]
async fn a_joiner_learns_the_seeds_records_and_both_list_each_other() {
    let a = node("a", Vec::new());
    a.keeper.send(a_runs_s1()).await.unwrap();
    let b = node("b", vec![a.addr.to_string()]);
    let (ka, kb) = (a.keeper.clone(), b.keeper.clone());
    until("b holds a's record and both members", || {
        let (ka, kb) = (ka.clone(), kb.clone());
        async move {
            let (sa, sb) = (
                ka.send(GetSnapshot).await.unwrap(),
                kb.send(GetSnapshot).await.unwrap(),
            );
            sb.state().get("a", "s1").is_some()
                && sa.members() == ["a", "b"]
                && sb.members() == ["a", "b"]
        }
    })
    .await;
    let stats = b.gossiper.send(GetGossipStats).await.unwrap();
    assert!(stats.exchanges >= 1, "{stats:?}");
    assert_eq!(stats.members, ["a"]);
}

#[actix::test]
async fn a_refresh_reaches_a_peer_holding_the_record_as_the_record_at_its_new_version() {
    let lifespans = Lifespans {
        refresh: Duration::from_millis(300),
        ..Lifespans::default()
    };
    let a = node_with("a", Vec::new(), [127, 0, 0, 62], None, lifespans);
    a.keeper.send(a_runs_s1()).await.unwrap();
    let b = node_with(
        "b",
        vec![a.addr.to_string()],
        [127, 0, 0, 63],
        None,
        lifespans,
    );
    let kb = b.keeper.clone();
    let held_by_b = || {
        let kb = kb.clone();
        async move {
            let snapshot = kb.send(GetSnapshot).await.unwrap();
            snapshot.state().get("a", "s1").map(|s| s.updated)
        }
    };
    until("b holds a's record", || async {
        held_by_b().await.is_some()
    })
    .await;
    // The exchanges of the join are over within this; the next is 20 s away.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let exchanged = b.gossiper.send(GetGossipStats).await.unwrap();
    a.keeper.send(a_runs_s1()).await.unwrap();
    let refreshed = (a.keeper.send(GetSnapshot).await.unwrap())
        .state()
        .get("a", "s1")
        .map(|s| s.updated);
    until("b holds the refreshed version", || async {
        held_by_b().await == refreshed
    })
    .await;
    // By the broadcast, not by an exchange.
    let stats = b.gossiper.send(GetGossipStats).await.unwrap();
    assert_eq!(
        stats.exchange_records_received, exchanged.exchange_records_received,
        "{stats:?}"
    );
    assert_eq!(stats.dropped.get("broadcast.refresh_unmatched"), None);
}

#[actix::test]
async fn a_connection_that_never_says_hello_is_closed_and_counted() {
    let a = node("a", Vec::new());
    let silent = tokio::net::TcpStream::connect(a.addr).await.unwrap();
    let mut silent = silent.into_std().unwrap();
    silent.set_nonblocking(false).unwrap();
    let closed = tokio::task::spawn_blocking(move || {
        silent
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut byte = [0_u8; 1];
        std::io::Read::read(&mut silent, &mut byte)
    });
    // Closed by the node (end of stream), not by the 5 s read timeout here.
    assert_eq!(closed.await.unwrap().unwrap(), 0);
    let stats = a.gossiper.send(GetGossipStats).await.unwrap();
    assert_eq!(stats.dropped.get("tcp.timeout"), Some(&1), "{stats:?}");
}

/// A StateKeeper stand-in that never runs: nothing handed to it is ever applied.
struct Stalled;

impl Actor for Stalled {
    type Context = Context<Self>;
}

impl Handler<ApplyRemoteServices> for Stalled {
    type Result = ();
    fn handle(&mut self, _: ApplyRemoteServices, _: &mut Context<Self>) {}
}

#[actix::test]
async fn records_a_stalled_state_keeper_has_not_applied_are_not_queued_without_bound() {
    let stalled = Context::<Stalled>::new();
    let full = stalled.address().recipient();
    let a = node_on("a", Vec::new(), [127, 0, 0, 60], Some(full));
    let b = node_on("b", vec![a.addr.to_string()], [127, 0, 0, 61], None);
    let b_gossiper = b.gossiper.clone();
    until("b joined a", || {
        let gossiper = b_gossiper.clone();
        async move { gossiper.send(GetGossipStats).await.unwrap().members == ["a"] }
    })
    .await;
    for n in 0..4 {
        let services = (0..=n)
            .map(|i| Service {
                id: format!("s{i}"),
                name: "web".into(),
                hostname: "b".into(),
                ..Service::default()
            })
            .collect();
        let pending = BTreeSet::new();
        b.keeper
            .send(ApplyLocalServices { services, pending })
            .await
            .unwrap();
    }
    let gossiper = a.gossiper.clone();
    until("records counted as state.busy", || {
        let gossiper = gossiper.clone();
        async move {
            let stats = gossiper.send(GetGossipStats).await.unwrap();
            stats.dropped.get("state.busy").is_some_and(|n| *n >= 1)
        }
    })
    .await;
    drop(stalled);
}
