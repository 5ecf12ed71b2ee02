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

/// The longer CI tests' cluster: as [`config`] but plaintext. Unoptimised sealing costs
/// 30 times more in debug builds; the sealed path is covered by
/// [`twenty_sealed_nodes_converge_despite_one_way_loss_and_a_short_freeze`] and every
/// release measurement.
fn plaintext(nodes: usize, loss: f64, seed: u64) -> SimConfig {
    SimConfig {
        keys: false,
        ..config(nodes, loss, seed)
    }
}

/// `nodes` nodes on links that lose `loss` of their packets, with keys (every frame sealed).
fn config(nodes: usize, loss: f64, seed: u64) -> SimConfig {
    SimConfig {
        nodes,
        services: 10,
        loss,
        seed,
        push_pull: Some(Duration::from_secs(knob("SIM_PUSH_PULL_S", 20.0) as u64)),
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
    let mut sim = Sim::new(plaintext(30, 0.0, seed));
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
    let mut sim = Sim::new(plaintext(nodes, 0.0, seed));
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
    let mut sim = Sim::new(plaintext(50, 0.10, seed));
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

/// Seeds to measure: `SIM_SEEDS` as `first-last` or a comma list (default 1-10).
fn seeds() -> Vec<u64> {
    let spec = std::env::var("SIM_SEEDS").unwrap_or_else(|_| "1-10".to_owned());
    match spec.split_once('-') {
        Some((a, b)) => match (a.trim().parse(), b.trim().parse()) {
            (Ok(a), Ok(b)) => (a..=b).collect(),
            _ => Vec::new(),
        },
        None => spec
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
    }
}

fn knob(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The link losses to measure (`SIM_LOSSES`, a comma list).
fn losses(default: &str) -> Vec<f64> {
    let losses = std::env::var("SIM_LOSSES").unwrap_or_else(|_| default.to_owned());
    losses
        .split(',')
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Prints one result line and appends it to the file `SIM_LOG` names, if any, at once: a
/// long run that is stopped keeps every seed it finished.
fn record(line: &str) {
    use std::io::Write as _;
    println!("{line}");
    if let Ok(path) = std::env::var("SIM_LOG") {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        if let Ok(mut file) = file {
            let _ = writeln!(file, "{line}");
        }
    }
}

/// The p50 and the worst (largest) of per-seed figures.
fn spread(values: &[f64]) -> String {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match (v.get((v.len().saturating_sub(1)) / 2), v.last()) {
        (Some(p50), Some(worst)) => {
            format!("p50 {p50:.2}, worst {worst:.2} over {} seeds", v.len())
        }
        _ => "no seed".to_owned(),
    }
}

/// Simulated seconds of warm-up; of churn (10 changes a second cluster-wide) and of quiet
/// after it; between two SIGKILLs. The steady-state window is `SIM_STEADY` (default 90 s):
/// its bytes are mostly the two-hourly refreshes, a random number of which falls in any
/// window, so a short one makes a noisy figure.
const WARM: u64 = 10;
const CHURN: u64 = 30;
const QUIET: u64 = 30;
const KILL_EVERY: u64 = 12;

/// How the changes of a churn converged: the per-seed line's fields, and the p99 in
/// seconds (infinite when more than 1 % never reached every node).
fn convergence_line(sim: &Sim, before: &Bytes, seconds: u64) -> (String, f64) {
    let c = &sim.convergence.times_us;
    let total = c.len() + sim.unconverged_changes();
    let within = c.iter().filter(|&&t| t <= 30 * SEC).count();
    let mut all = c.clone();
    all.extend(std::iter::repeat_n(u64::MAX, sim.unconverged_changes()));
    let p99 = pct(&all, 99);
    let rate = sim.bytes.since(before).total() as f64 / sim.cfg.nodes as f64 / seconds as f64;
    let missing = sim.convergence.missing(sim.live());
    let line = format!(
        "p50={:.2}s p99={} max_converged={:.2}s within30s={within}/{total} never={} missing_nodes={missing:?} bytes_node_s={rate:.0}",
        pct(&all, 50),
        if p99 > 1e9 {
            "never".to_owned()
        } else {
            format!("{p99:.2}s")
        },
        pct(c, 100),
        sim.unconverged_changes()
    );
    (line, p99)
}

/// Bytes per node per second since `before`, over `seconds`, by kind.
fn bytes_line(sim: &Sim, before: &Bytes, seconds: u64) -> (String, f64) {
    let [total, swim, records, exchange, check] = sim
        .bytes
        .since(before)
        .per_node_per_second(sim.cfg.nodes, seconds);
    let line = format!(
        "bytes_node_s={total:.0} swim={swim:.0} records={records:.0} anti_entropy={exchange:.0} checks={check:.0}"
    );
    (line, total)
}

/// SIGKILLs `KILL_EVERY` s apart (`SIM_KILLS`, default 3), then up to `QUIET` s more while
/// some live node still holds a victim up: how long until every live node held each victim's
/// services as TOMBSTONE, and how many never did within the run.
fn kill_times(sim: &mut Sim) -> (Vec<f64>, usize) {
    for _ in 0..knob("SIM_KILLS", 3.0) as usize {
        let victim = sim.random_live();
        sim.kill(victim);
        sim.run_for(KILL_EVERY * SEC);
    }
    for _ in 0..QUIET {
        if sim.deaths_spreading() == 0 {
            break;
        }
        sim.run_for(SEC);
    }
    let times = sim.death_us.iter().map(|&us| us as f64 / 1e6).collect();
    (times, sim.deaths_spreading())
}

/// The cluster figures, through the production path with keys, one result line
/// per seed and part. `SIM_NODES` (1000), `SIM_SEEDS` (1-10), `SIM_LOSSES` (0,0.2),
/// `SIM_STEADY` (90), `SIM_KILLS` (3), `SIM_PUSH_PULL_S` (the push/pull base, 20), `SIM_LOG`
/// (a file the lines are appended to):
/// `cargo test --release --test sim -- --ignored --nocapture measure_cluster`.
/// Per loss and seed: warm-up, steady-state bytes, churn then quiet (convergence and the
/// share of changes everywhere within 30 s), and at 0 % loss SIGKILLs.
#[test]
#[ignore = "measurement: cargo test --release --test sim -- --ignored --nocapture measure_cluster"]
fn measure_cluster() {
    let nodes = knob("SIM_NODES", 1000.0) as usize;
    let steady_s = knob("SIM_STEADY", 90.0) as u64;
    let (mut p99s, mut steady, mut deaths) = (Vec::new(), Vec::new(), Vec::new());
    for loss in losses("0,0.2") {
        for seed in seeds() {
            let tag = format!("nodes={nodes} loss={loss:.2} seed={seed}");
            let mut sim = Sim::new(config(nodes, loss, seed));
            sim.run_for(WARM * SEC);
            let (before, announced, reasserted, unmatched) = (
                sim.bytes,
                sim.announced,
                sim.reasserted,
                sim.refresh_unmatched,
            );
            sim.run_for(steady_s * SEC);
            let (line, total) = bytes_line(&sim, &before, steady_s);
            let line = format!(
                "{line} versions={} reasserted={} refresh_unmatched={}",
                sim.announced - announced,
                sim.reasserted - reasserted,
                sim.refresh_unmatched - unmatched
            );
            record(&format!("steady {tag} {line}"));
            steady.push((loss, total));
            let before = sim.bytes;
            sim.churn(10, CHURN * SEC);
            sim.run_for(QUIET * SEC);
            let (line, p99) = convergence_line(&sim, &before, CHURN + QUIET);
            let (lo, hi, seen) = sim.transmissions();
            let downs = format!(
                "false_downs={} refuted={} rejoins={} tx={lo}-{hi} loss_seen_max={seen:.2} refresh_unmatched={} late={} late_after_rejoin={} late_by_exchange={}",
                sim.false_downs,
                sim.foca_false_downs,
                sim.rejoins,
                sim.refresh_unmatched,
                sim.late.len(),
                sim.late.iter().filter(|l| l.after_rejoin).count(),
                sim.late.iter().filter(|l| l.by_exchange).count()
            );
            let late: Vec<String> = sim
                .late
                .iter()
                .map(|l| format!("{:.1}", l.took_us as f64 / 1e6))
                .collect();
            let downs = format!("{downs} late_s={}", late.join(","));
            record(&format!("converge {tag} {line} {downs}"));
            p99s.push((loss, p99));
            if loss == 0.0 {
                let (times, never) = kill_times(&mut sim);
                let shown: Vec<String> = times.iter().map(|t| format!("{t:.2}")).collect();
                record(&format!(
                    "kills {tag} tombstoned_everywhere_s={} of={} never={never}",
                    shown.join(","),
                    knob("SIM_KILLS", 3.0)
                ));
                deaths.extend(times);
            }
        }
    }
    for loss in losses("0,0.2") {
        let of = |v: &[(f64, f64)]| {
            v.iter()
                .filter(|(l, _)| *l == loss)
                .map(|(_, x)| *x)
                .collect::<Vec<_>>()
        };
        println!(
            "{nodes} nodes, {:.0} % loss: p99 convergence (s) {}; steady bytes/node/s {}",
            loss * 100.0,
            spread(&of(&p99s)),
            spread(&of(&steady))
        );
    }
    println!(
        "SIGKILL → tombstone everywhere (s): median {:.2}, worst {:.2}, {} kills",
        pct_f(&deaths, 50),
        pct_f(&deaths, 100),
        deaths.len()
    );
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

/// The p-th percentile of figures in seconds.
fn pct_f(v: &[f64], p: usize) -> f64 {
    let us: Vec<u64> = v.iter().map(|s| (s * 1e6) as u64).collect();
    pct(&us, p)
}

/// SWIM under loss at scale, on its own and quickly: what false suspicions cost (downs that
/// the direct check refutes, rejoins, checks, bytes) for a given suspicion window. Knobs:
/// `SIM_NODES` (1000), `SIM_LOSS` (0.2), `SIM_SECONDS` (60), `SIM_SUSPICION_MS` and
/// `SIM_INDIRECT`, `SIM_FANOUT` and `SIM_EXTRA_TX` (the defaults of `suspicion_base`,
/// `indirect_probes`, `gossip_fanout` and `extra_transmissions`), `SIM_COMPENSATE` and
/// `SIM_FAST_CHECK` (1: `compensate_loss` and `check_failed_probes` on), `SIM_CHURN` (changes a
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
    cfg.membership.compensate_loss = knob("SIM_COMPENSATE", 1.0) > 0.0;
    cfg.membership.check_failed_probes = knob("SIM_FAST_CHECK", 1.0) > 0.0;
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

/// False downs among 100 nodes, through the production path with keys, one line per loss
/// and seed: base loss `SIM_LOSSES` (0.1,0.2) on every link; node 3 loses twice that of
/// what it sends and nothing of what it receives; five more links lose half of what goes
/// one way and nothing the other; node 5 is frozen for 10 s at 60 s (longer than the 4 s
/// suspicion window: its downs are true) and node 6 for 2 s at 150 s (shorter: a down of
/// it is false); one change a second for `SIM_SECONDS` (300):
/// `cargo test --release --test sim -- --ignored --nocapture false_downs`.
#[test]
#[ignore = "measurement: cargo test --release --test sim -- --ignored --nocapture false_downs"]
fn false_downs_among_a_hundred_nodes() {
    let seconds = knob("SIM_SECONDS", 300.0) as u64;
    for loss in losses("0.1,0.2") {
        let mut all = Vec::new();
        for seed in seeds() {
            let mut sim = Sim::new(hundred_with_bad_links(loss, seed));
            sim.churn(1, 60 * SEC);
            sim.freeze(5, 10 * SEC);
            sim.churn(1, 90 * SEC);
            sim.freeze(6, 2 * SEC);
            sim.churn(1, seconds.saturating_sub(150) * SEC);
            record(&format!(
                "false_downs nodes=100 loss={loss:.2} seed={seed} seconds={seconds} false_downs={} frozen_downs={} refuted_checks={} rejoins={} buffer_drops={} refused_datagrams={} unconverged={}",
                sim.false_downs,
                sim.frozen_downs,
                sim.foca_false_downs,
                sim.rejoins,
                sim.buffer_drops,
                sim.refused,
                sim.unconverged_changes()
            ));
            all.push(sim.false_downs as f64);
        }
        println!(
            "100 nodes, {:.0} % loss: false downs {}, total {}",
            loss * 100.0,
            spread(&all),
            all.iter().sum::<f64>()
        );
    }
}

/// 100 nodes at `loss`, with the one-way links of [`false_downs_among_a_hundred_nodes`].
fn hundred_with_bad_links(loss: f64, seed: u64) -> SimConfig {
    let mut cfg = config(100, loss, seed);
    cfg.one_way.push(OneWay {
        from: 3,
        to: None,
        loss: (2.0 * loss).min(0.5),
    });
    for k in 0..5 {
        cfg.one_way.push(OneWay {
            from: 10 + k,
            to: Some(50 + 7 * k),
            loss: 0.5,
        });
    }
    cfg
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
