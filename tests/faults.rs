//! The fault suite: five real daemons, each in its own network namespace, under partitions,
//! one-way cuts, a frozen process (SIGSTOP), a crash (SIGKILL) and restart, a rolling restart
//! (SIGTERM) and 20 % packet loss while services flap. An observer polls every node on a fast
//! loop; any breach of the scenario's invariant fails the test. Each scenario prints its
//! figures and appends them to `$CARGO_TARGET_TMPDIR/faults-report.txt`.
//!
//! CI runs the short forms; `FAULTS_FULL=1 cargo test --release --test faults -- --nocapture
//! --test-threads 1` runs the full-length ones (RESILIENCE.md). Needs root, iproute2 and
//! iptables.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout, missing_docs, unreachable_pub)]

mod common;
mod fault_support;

use std::collections::BTreeSet;
use std::thread::sleep;
use std::time::{Duration, Instant};

use fault_support::observer::{ALIVE, Expect, Observer, UNHEALTHY, Violation};
use fault_support::{Cluster, length, one_at_a_time, report, secs, shows_alive, shows_gone};

const NODES: usize = 5;

/// Five nodes on `subnet`, every service ALIVE everywhere, and an observer checking that
/// every node keeps seeing every service.
fn converged(subnet: u8) -> (Cluster, Observer) {
    let cluster = Cluster::start(subnet, NODES);
    let mut expect = Expect::all(NODES);
    expect.exempt = (1..=NODES).collect();
    let observer = Observer::start(cluster.addrs(), expect);
    observer.wait_for(
        Duration::from_secs(30),
        "every service ALIVE everywhere",
        |_, v| shows_alive(v, 1..=NODES),
    );
    observer.expect(|e| e.exempt.clear());
    (cluster, observer)
}

/// Watches two more seconds, stops the observer, fails on any breach (with the first ones and
/// the nodes' logs), and reports the scenario's figures with the polls made.
fn settle_and_report(
    cluster: &Cluster,
    observer: Observer,
    scenario: &str,
    figures: &[(&str, String)],
) {
    sleep(Duration::from_secs(2));
    let (violations, _, (polls, _)) = observer.finish();
    assert_no(cluster, &violations);
    let mut figures = figures.to_vec();
    figures.extend([("polls", polls.to_string()), ("violations", "0".to_owned())]);
    report(scenario, &figures);
}

fn assert_no(cluster: &Cluster, violations: &[Violation]) {
    if violations.is_empty() {
        return;
    }
    let first: Vec<String> = violations
        .iter()
        .take(20)
        .map(|v| format!("{:>8.3}s {}", v.at.as_secs_f64(), v.what))
        .collect();
    panic!(
        "{} violations, first:\n{}\n{}",
        violations.len(),
        first.join("\n"),
        cluster.logs()
    );
}

/// Node `i` is about to go down: it is no longer polled, and its services need not be seen.
fn take_down(observer: &Observer, i: usize) {
    observer.expect(|e| {
        e.live.remove(&i);
        e.exempt.insert(i);
    });
}

/// Starts node `i` again and waits until every node, itself included, shows every service
/// ALIVE; from then on its services must be seen again. How long that took.
fn bring_back(cluster: &mut Cluster, observer: &Observer, i: usize) -> Duration {
    observer.forget(i);
    let restart = Instant::now();
    cluster.node(i).start();
    observer.expect(|e| {
        e.live.insert(i);
        e.joining.insert(i);
    });
    observer.wait_for(
        Duration::from_secs(30),
        "the restarted node ALIVE everywhere",
        |_, v| shows_alive(v, 1..=NODES),
    );
    let back = restart.elapsed();
    observer.expect(|e| {
        e.exempt.remove(&i);
        e.joining.remove(&i);
    });
    back
}

fn set(nodes: &[usize]) -> BTreeSet<usize> {
    nodes.iter().copied().collect()
}

#[test]
fn a_partition_keeps_each_side_whole_and_heals_within_ten_seconds() {
    let _one = one_at_a_time();
    let (cluster, observer) = converged(101);
    let (a, b) = ([1, 2], [3, 4, 5]);
    observer.expect(|e| e.groups = vec![set(&a), set(&b)]);
    cluster.net.partition(&a, &b);
    let cut = Instant::now();
    let partition = length(Duration::from_secs(20), Duration::from_secs(60));
    let detected = observer.wait_for(
        partition,
        "each side sees the other's services gone",
        |o, v| {
            let other: &[usize] = if a.contains(&o) { &b } else { &a };
            other.iter().all(|h| shows_gone(v, *h))
        },
    );
    sleep(partition.saturating_sub(cut.elapsed()));
    cluster.net.heal();
    let healed = observer.wait_for(
        Duration::from_secs(10),
        "every service ALIVE everywhere",
        |_, v| shows_alive(v, 1..=NODES),
    );
    observer.expect(|e| e.groups.clear());
    settle_and_report(
        &cluster,
        observer,
        "partition 2|3",
        &[
            ("partition", secs(partition)),
            ("other_side_tombstoned_after", secs(detected)),
            ("converged_after_heal", secs(healed)),
        ],
    );
}

#[test]
fn a_one_way_cut_takes_no_live_node_down_anywhere() {
    let _one = one_at_a_time();
    let (cluster, observer) = converged(102);
    let cut = length(Duration::from_secs(20), Duration::from_secs(60));
    cluster.net.drop_from(1, 2);
    sleep(cut);
    cluster.net.heal();
    settle_and_report(
        &cluster,
        observer,
        "one-way cut (node-1 drops node-2)",
        &[("cut", secs(cut)), ("false_downs", "0".into())],
    );
}

#[test]
fn a_frozen_node_is_the_only_one_suspected_and_whole_again_within_five_seconds() {
    let _one = one_at_a_time();
    let (mut cluster, observer) = converged(103);
    let frozen = length(Duration::from_secs(10), Duration::from_secs(10));
    take_down(&observer, 5);
    cluster.node(5).signal("STOP");
    sleep(frozen);
    cluster.node(5).signal("CONT");
    observer.forget(5);
    observer.expect(|e| {
        e.live.insert(5);
    });
    let whole = observer.wait_for(Duration::from_secs(5), "node-5 ALIVE everywhere", |_, v| {
        shows_alive(v, 1..=NODES)
    });
    observer.expect(|e| {
        e.exempt.remove(&5);
    });
    settle_and_report(
        &cluster,
        observer,
        "SIGSTOP 10 s",
        &[
            ("frozen", secs(frozen)),
            ("whole_again_after_sigcont", secs(whole)),
        ],
    );
}

#[test]
fn a_killed_node_is_tombstoned_everywhere_and_alive_everywhere_after_its_restart() {
    let _one = one_at_a_time();
    let (mut cluster, observer) = converged(104);
    take_down(&observer, 5);
    cluster.node(5).signal("KILL");
    cluster.node(5).wait_exit(Duration::from_secs(5));
    let tombstoned = observer.wait_for(
        Duration::from_secs(30),
        "node-5's services gone everywhere",
        |_, v| shows_gone(v, 5),
    );
    sleep(length(Duration::from_secs(2), Duration::from_secs(30)));
    let back = bring_back(&mut cluster, &observer, 5);
    settle_and_report(
        &cluster,
        observer,
        "SIGKILL and restart",
        &[
            ("tombstoned_everywhere_after", secs(tombstoned)),
            ("alive_everywhere_after_restart", secs(back)),
        ],
    );
}

#[test]
fn a_rolling_restart_never_hides_a_service_of_a_node_that_is_up() {
    let _one = one_at_a_time();
    let (mut cluster, observer) = converged(105);
    let mut back = Vec::new();
    for i in 1..=NODES {
        take_down(&observer, i);
        cluster.node(i).signal("TERM");
        assert_eq!(cluster.node(i).wait_exit(Duration::from_secs(5)), Some(0));
        back.push(bring_back(&mut cluster, &observer, i));
    }
    let worst = back.iter().max().copied().unwrap_or_default();
    settle_and_report(
        &cluster,
        observer,
        "rolling restart (SIGTERM)",
        &[("alive_everywhere_after_restart_max", secs(worst))],
    );
}

#[test]
fn under_twenty_percent_loss_no_live_service_is_lost_and_every_change_reaches_every_node() {
    let _one = one_at_a_time();
    let (mut cluster, observer) = converged(106);
    for i in 1..=NODES {
        cluster.net.lossy(i, 0.2);
    }
    let run = length(Duration::from_secs(45), Duration::from_secs(300));
    let start = Instant::now();
    let mut step = 0;
    while start.elapsed() + Duration::from_secs(8) < run {
        let h = step % NODES + 1;
        let flag = fault_support::node::flag(cluster.dir.path(), h);
        let healthy = !flag.exists();
        let status = if healthy { ALIVE } else { UNHEALTHY };
        observer.announce(h, &format!("flappy-{h}"), status);
        if healthy {
            std::fs::File::create(&flag).unwrap();
        } else {
            std::fs::remove_file(&flag).unwrap();
        }
        step += 1;
        sleep(Duration::from_secs(3));
    }
    sleep(run.saturating_sub(start.elapsed()));
    // Each node read the loss off its probes and sends each item more often.
    let mut readings = Vec::new();
    for i in 1..=NODES {
        let stats = cluster.node(i).gossip_stats();
        readings.push((
            stats["observed_loss_percent"].clone(),
            stats["transmissions"].clone(),
        ));
    }
    cluster.net.heal();
    let (violations, deliveries, polls) = observer.finish();
    for (loss, tx) in &readings {
        let (loss, tx) = (loss.as_u64().unwrap_or(0), tx.as_u64().unwrap_or(0));
        assert!(
            (5..=50).contains(&loss) && tx > 5,
            "loss read and made up for: {readings:?}"
        );
    }
    assert_no(&cluster, &violations);
    let mut everywhere: Vec<Duration> = deliveries.iter().filter_map(|d| d.everywhere).collect();
    assert_eq!(
        everywhere.len(),
        deliveries.len(),
        "every change reaches every node: {deliveries:?}"
    );
    everywhere.sort();
    let spread: Vec<Duration> = deliveries
        .iter()
        .filter_map(|d| Some(d.everywhere? - d.origin?))
        .collect();
    let pct = |v: &[Duration], p: f64| {
        v.get(((v.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    let mut spread = spread;
    spread.sort();
    report(
        "20% loss, flapping services",
        &[
            ("run", secs(run)),
            ("changes", deliveries.len().to_string()),
            ("delivered_everywhere", everywhere.len().to_string()),
            ("from_change_p50", secs(pct(&everywhere, 0.5))),
            ("from_change_max", secs(pct(&everywhere, 1.0))),
            ("origin_to_everywhere_p50", secs(pct(&spread, 0.5))),
            ("origin_to_everywhere_max", secs(pct(&spread, 1.0))),
            ("polls", polls.0.to_string()),
            ("loss_read_tx", format!("{readings:?}")),
            ("violations", "0".into()),
        ],
    );
}
