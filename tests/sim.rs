//! Deterministic cluster simulation (see `sim_support`): convergence after a partition heals,
//! after a node is lost and after a node was falsely declared down, and no false down under
//! loss. The measurements are `#[ignore]`d:
//! `cargo test --release --test sim -- --ignored --nocapture`.
#![allow(clippy::print_stdout, missing_docs, unreachable_pub)]

mod sim_support;

use std::time::Duration;

use sidecar::catalog::{Lifespans, ServiceStatus};
use sidecar::gossip::membership::MembershipConfig;
use sim_support::{Bytes, OneWay, SEC, Sim, SimConfig, pct};

/// `nodes` nodes on links that lose `loss` of their packets, with keys (every frame sealed).
fn config(nodes: usize, loss: f64, seed: u64) -> SimConfig {
    SimConfig {
        nodes,
        services: 10,
        loss,
        seed,
        push_pull: Some(Duration::from_secs(20)),
        membership: MembershipConfig::default(),
        lifespans: Lifespans::default(),
        keys: true,
        one_way: Vec::new(),
    }
}

fn seed() -> u64 {
    std::env::var("SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed)
}

#[test]
fn partition_heals_and_catalogues_converge() {
    let seed = seed();
    let mut sim = Sim::new(config(30, 0.0, seed));
    sim.run_for(5 * SEC);
    sim.partition(true);
    sim.churn(2, 30 * SEC);
    assert!(
        sim.divergent() > 0,
        "the halves should differ (seed {seed})"
    );
    sim.partition(false);
    sim.run_for(30 * SEC);
    assert_eq!(
        sim.divergent(),
        0,
        "catalogues differ 30 s after the heal (seed {seed})"
    );
}

#[test]
fn lost_node_is_tombstoned_everywhere() {
    let seed = seed();
    let mut sim = Sim::new(config(30, 0.05, seed));
    sim.run_for(5 * SEC);
    sim.kill(7);
    sim.run_for(15 * SEC);
    assert!(
        sim.tombstoned_everywhere(7),
        "node-7 not tombstoned everywhere in 15 s (seed {seed})"
    );
    assert_eq!(sim.false_downs, 0, "seed {seed}");
}

/// A cluster of `nodes` whose node-7 has just been cut off for 20 s, well past the
/// suspicion window and the direct check: the others declared it down.
fn node_seven_cut_off(nodes: usize, seed: u64) -> Sim {
    let mut sim = Sim::new(config(nodes, 0.0, seed));
    sim.run_for(5 * SEC);
    sim.isolate(7);
    sim.run_for(20 * SEC);
    sim
}

#[test]
fn a_node_falsely_declared_down_gets_its_records_back_everywhere() {
    let seed = seed();
    let mut sim = node_seven_cut_off(30, seed);
    assert_eq!(
        sim.holders(7, ServiceStatus::Tombstone),
        29,
        "the others should have declared node-7 down (seed {seed})"
    );
    sim.partition(false);
    sim.run_for(30 * SEC);
    assert_eq!(
        sim.holders(7, ServiceStatus::Alive),
        30,
        "node-7's records are not ALIVE everywhere 30 s after the heal (seed {seed})"
    );
    sim.run_for(90 * SEC);
    assert_eq!(
        sim.misreported(),
        0,
        "2 min after the heal, some node holds a live member's record with another status \
         (seed {seed})"
    );
}

/// The production path end to end, small: 20 nodes with keys, 10 % loss, a one-way lossy
/// node and a node frozen for 2 s; every change reaches every node and no live node is
/// reported down.
#[test]
fn twenty_sealed_nodes_converge_despite_one_way_loss_and_a_short_freeze() {
    let seed = seed();
    let mut cfg = config(20, 0.1, seed);
    cfg.one_way = vec![OneWay {
        from: 3,
        to: None,
        loss: 0.3,
    }];
    let mut sim = Sim::new(cfg);
    sim.run_for(2 * SEC);
    sim.freeze(5, 2 * SEC);
    sim.churn(2, 10 * SEC);
    sim.run_for(10 * SEC);
    assert_eq!(sim.unconverged_changes(), 0, "seed {seed}");
    assert!(!sim.convergence.times_us.is_empty(), "seed {seed}");
    assert_eq!(sim.false_downs, 0, "seed {seed}");
    assert!(sim.bytes.swim > 0 && sim.refused == 0, "seed {seed}");
}

#[test]
fn no_false_down_at_ten_percent_loss() {
    let seed = seed();
    let mut sim = Sim::new(config(50, 0.10, seed));
    sim.churn(2, 180 * SEC);
    assert_eq!(
        sim.false_downs, 0,
        "live members reported down (seed {seed})"
    );
    println!(
        "foca-level false downs caught by confirmation: {}",
        sim.foca_false_downs
    );
}

/// Simulated seconds of warm-up, and of the steady-state window (one push/pull period at
/// 1,000 nodes: 120 s).
const WARM: u64 = 20;
const STEADY: u64 = 120;
/// Simulated seconds of churn, and of quiet after it.
const CHURN: u64 = 60;
const QUIET: u64 = 10;

/// The link losses to measure at 1,000 nodes (`SIM_LOSSES=0` for the quick lossless part).
fn losses() -> Vec<f64> {
    let losses = std::env::var("SIM_LOSSES").unwrap_or_else(|_| "0,0.2".to_owned());
    losses
        .split(',')
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// The figures for the issue: run explicitly in release.
#[test]
#[ignore = "1,000-node measurement: cargo test --release --test sim -- --ignored --nocapture"]
fn measure_thousand_nodes() {
    let seed = seed();
    let (mut steady, mut changes, mut notes) = (Vec::new(), Vec::new(), Vec::new());
    for loss in losses() {
        let mut sim = Sim::new(config(1000, loss, seed));
        sim.run_for(WARM * SEC);
        let before = sim.bytes;
        sim.run_for(STEADY * SEC);
        steady.push(steady_row(&sim, &before, loss));
        let before = sim.bytes;
        sim.churn(10, CHURN * SEC);
        sim.run_for(QUIET * SEC);
        changes.push(churn_row(&sim, &before, loss));
        if loss == 0.0 {
            changes.push(kills(&mut sim));
        }
        notes.push(notes_row(&sim, loss));
    }
    println!("\nseed {seed}\n");
    println!(
        "| scenario | p50 | p99 (never-converged counted as slowest) | max of the converged | not converged | bytes/node/s |"
    );
    println!("|---|---|---|---|---|---|");
    changes.iter().for_each(|row| println!("{row}"));
    println!(
        "\n| 1,000 nodes, no churn, {STEADY} s after {WARM} s | bytes/node/s | SWIM | records | anti-entropy | direct checks |"
    );
    println!("|---|---|---|---|---|---|");
    steady.iter().for_each(|row| println!("{row}"));
    println!(
        "\n| 1,000 nodes, whole run | false downs | downs refuted by the direct check | rejoins | sessions: periodic / heal / rejoin | in sync | failed | records exchanged | re-asserted | datagrams too big |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    notes.iter().for_each(|row| println!("{row}"));
    println!();
}

fn notes_row(sim: &Sim, loss: f64) -> String {
    let x = &sim.exchanges;
    format!(
        "| {:.0} % loss | {} | {} | {} | {} / {} / {} | {} | {} | {} | {} | {} |",
        loss * 100.0,
        sim.false_downs,
        sim.foca_false_downs - sim.false_downs,
        sim.rejoins,
        x.periodic,
        x.heal,
        x.rejoin,
        x.in_sync,
        x.failed,
        x.records,
        sim.reasserted,
        sim.oversize
    )
}

fn steady_row(sim: &Sim, before: &Bytes, loss: f64) -> String {
    let [total, swim, records, exchange, check] = sim
        .bytes
        .since(before)
        .per_node_per_second(sim.cfg.nodes, STEADY);
    format!(
        "| {:.0} % loss | **{total:.0}** | {swim:.0} | {records:.0} | {exchange:.0} | {check:.0} |",
        loss * 100.0
    )
}

/// The p-th percentile of how long changes took to reach every live node, counting those that
/// never did as slowest: "never" when the percentile falls among them.
fn convergence_pct(sim: &Sim, p: usize) -> String {
    let mut all = sim.convergence.times_us.clone();
    all.extend(std::iter::repeat_n(u64::MAX, sim.unconverged_changes()));
    match pct(&all, p) {
        s if s >= u64::MAX as f64 / 1e6 => "never".to_owned(),
        s => format!("{s:.2} s"),
    }
}

fn churn_row(sim: &Sim, before: &Bytes, loss: f64) -> String {
    let rate = sim.bytes.since(before).total() as f64 / sim.cfg.nodes as f64;
    let c = &sim.convergence.times_us;
    format!(
        "| 1,000 nodes, {:.0} % loss, 10 changes/s cluster-wide: one change reaches every node | {} | {} | {:.2} s | {} of {} | {:.0} |",
        loss * 100.0,
        convergence_pct(sim, 50),
        convergence_pct(sim, 99),
        pct(c, 100),
        sim.unconverged_changes(),
        c.len() + sim.unconverged_changes(),
        rate / (CHURN + QUIET) as f64
    )
}

/// Five SIGKILLs, 15 s apart: how long until every live node holds the victim's services as
/// TOMBSTONE.
fn kills(sim: &mut Sim) -> String {
    for _ in 0..5 {
        let victim = sim.random_live();
        sim.kill(victim);
        sim.run_for(15 * SEC);
    }
    let d = &sim.death_us;
    format!(
        "| 1,000 nodes, 0 % loss: SIGKILL → its services TOMBSTONE on every node (5 kills, {} complete) | {:.2} s | {:.2} s | {:.2} s | | |",
        d.len(),
        pct(d, 50),
        pct(d, 99),
        pct(d, 100)
    )
}

/// SWIM under loss at scale, on its own and quickly: what false suspicions cost (downs that
/// the direct check refutes, rejoins, checks, bytes) for a given suspicion window. Knobs:
/// `SIM_NODES` (1000), `SIM_LOSS` (0.2), `SIM_SECONDS` (60), `SIM_SUSPICION_MS` and
/// `SIM_INDIRECT`, `SIM_FANOUT` and `SIM_EXTRA_TX` (the defaults of `suspicion_base`,
/// `indirect_probes`, `gossip_fanout` and `extra_transmissions`), `SIM_CHURN` (changes a
/// second cluster-wide, then how they converged):
/// `cargo test --release --test sim -- --ignored --nocapture swim_under_loss`.
#[test]
#[ignore = "measurement: cargo test --release --test sim -- --ignored --nocapture swim_under_loss"]
fn swim_under_loss() {
    let knob = |name: &str, default: f64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let nodes = knob("SIM_NODES", 1000.0) as usize;
    let (loss, seconds) = (knob("SIM_LOSS", 0.2), knob("SIM_SECONDS", 60.0) as u64);
    let mut cfg = config(nodes, loss, seed());
    let base = cfg.membership.suspicion_base.as_millis() as f64;
    cfg.membership.suspicion_base = Duration::from_millis(knob("SIM_SUSPICION_MS", base) as u64);
    let indirect = cfg.membership.indirect_probes as f64;
    cfg.membership.indirect_probes = knob("SIM_INDIRECT", indirect) as usize;
    let fanout = cfg.membership.gossip_fanout as f64;
    cfg.membership.gossip_fanout = knob("SIM_FANOUT", fanout) as usize;
    let extra = f64::from(cfg.membership.extra_transmissions);
    cfg.membership.extra_transmissions = knob("SIM_EXTRA_TX", extra) as u8;
    let churn = knob("SIM_CHURN", 0.0) as u64;
    let mut sim = Sim::new(cfg);
    if churn > 0 {
        sim.churn(churn, seconds * SEC);
        sim.run_for(QUIET * SEC);
        let c = &sim.convergence.times_us;
        println!(
            "churn {churn}/s, fanout {}: p50 {}, p99 {}, max of the converged {:.2} s, {} of {} not converged",
            sim.cfg.membership.gossip_fanout,
            convergence_pct(&sim, 50),
            convergence_pct(&sim, 99),
            pct(c, 100),
            sim.unconverged_changes(),
            c.len() + sim.unconverged_changes()
        );
    } else {
        sim.run_for(seconds * SEC);
    }
    let [total, swim, records, exchange, check] = sim.bytes.per_node_per_second(nodes, seconds);
    println!(
        "| nodes | loss | s | suspicion base | indirect probes | false downs | refuted downs | rejoins | checks | B/node/s | SWIM | records | anti-entropy | checks |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {nodes} | {:.0} % | {seconds} | {:?} | {} | {} | {} | {} | {} | {total:.0} | {swim:.0} | {records:.0} | {exchange:.0} | {check:.0} |",
        loss * 100.0,
        sim.cfg.membership.suspicion_base,
        sim.cfg.membership.indirect_probes,
        sim.false_downs,
        sim.foca_false_downs - sim.false_downs,
        sim.rejoins,
        sim.checks,
    );
}

/// The false-down part of [`measure_thousand_nodes`] on its own, since it is much quicker:
/// `cargo test --release --test sim -- --ignored --nocapture false_downs`.
#[test]
#[ignore = "measurement: cargo test --release --test sim -- --ignored --nocapture false_downs"]
fn false_downs_among_a_hundred_nodes() {
    let seed = seed();
    println!(
        "| loss | false downs reported | foca-level downs refuted by the direct check | rejoins |"
    );
    println!("|---|---|---|---|");
    for loss in [0.1, 0.2] {
        let mut sim = Sim::new(config(100, loss, seed));
        sim.churn(1, 600 * SEC);
        println!(
            "| {:.0} % | **{}** | {} | {} |",
            loss * 100.0,
            sim.false_downs,
            sim.foca_false_downs - sim.false_downs,
            sim.rejoins
        );
    }
}

/// After a false down, how many records of live members other nodes hold with another
/// status (the isolated node's tombstones of everyone else, spread by its heal exchanges),
/// and for how long: `cargo test --release --test sim -- --ignored --nocapture collateral`.
#[test]
#[ignore = "measurement: cargo test --release --test sim -- --ignored --nocapture collateral"]
fn collateral_of_a_false_down() {
    let seed = seed();
    println!("| nodes | records misreported at the heal | peak after | time to none |");
    println!("|---|---|---|---|");
    for nodes in [30, 100, 300] {
        let mut sim = node_seven_cut_off(nodes, seed);
        let at_heal = sim.misreported();
        sim.partition(false);
        let (mut peak, mut took) = (0, None);
        for t in 1..=120 {
            sim.run_for(5 * SEC);
            let now = sim.misreported();
            peak = peak.max(now);
            if now == 0 {
                took = Some(t * 5);
                break;
            }
        }
        let took = took.map_or("> 600 s".to_owned(), |s| format!("{s} s"));
        println!("| {nodes} | {at_heal} | {peak} | {took} |");
    }
}
