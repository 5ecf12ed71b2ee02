//! A deterministic cluster simulation: N nodes, each a real `Membership` and a real `Catalog`,
//! on a virtual clock with a `BinaryHeap` event queue, a seeded `StdRng`, per-link latency,
//! loss and partitions. Datagrams are foca's; anti-entropy is modelled as a digest exchange
//! that ships only differing records; a direct down-confirmation as ping attempts 250 ms apart.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sidecar::catalog::{Applied, Catalog, Lifespans, Service};
use sidecar::clock::Timestamp;
use sidecar::gossip::broadcast::BroadcastItem;
use sidecar::gossip::membership::{Effects, Membership, MembershipConfig, TimerToken};
use sidecar::gossip::node_id::NodeId;
use sidecar::gossip::wire::WireService;

mod scenario;

const T0_NANOS: i128 = 1_800_000_000_000_000_000;
const MS: u64 = 1_000;
/// Bytes of a digest line per server (name hash, newest version, count).
const DIGEST_PER_SERVER: u64 = 32;

/// How the simulated network and cluster behave.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub nodes: usize,
    pub services: usize,
    pub loss: f64,
    pub seed: u64,
    /// Anti-entropy period (None: off).
    pub anti_entropy: Option<Duration>,
    pub membership: MembershipConfig,
}

enum Ev {
    Deliver {
        to: usize,
        data: Vec<u8>,
    },
    Timer {
        node: usize,
        token: TimerToken,
    },
    Confirmed {
        node: usize,
        target: NodeId,
        alive: bool,
    },
    AntiEntropy {
        node: usize,
    },
    Exchange {
        a: usize,
        b: usize,
    },
}

struct Node {
    m: Membership,
    catalog: Catalog,
    own: Vec<Service>,
    alive: bool,
    group: u8,
}

/// The simulated cluster.
pub struct Sim {
    pub cfg: SimConfig,
    nodes: Vec<Node>,
    addrs: HashMap<SocketAddr, usize>,
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: HashMap<usize, Ev>,
    seq: u64,
    pub now_us: u64,
    rng: StdRng,
    pub partitioned: bool,
    pub bytes: u64,
    /// (host, id, version) → (start µs, nodes holding it).
    tracked: HashMap<(String, String, Timestamp), (u64, usize)>,
    pub convergence_us: Vec<u64>,
    pub false_downs: u64,
    pub foca_false_downs: u64,
    /// name of a killed node → (kill µs, observers that tombstoned it).
    killed: HashMap<String, (u64, usize)>,
    pub death_us: Vec<u64>,
    pub errors: u64,
}

fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 7946))
}

impl Sim {
    /// A cluster whose members all know each other (as after a join), services announced.
    pub fn new(cfg: SimConfig) -> Sim {
        let mut sim = Sim {
            nodes: Vec::new(),
            addrs: HashMap::new(),
            heap: BinaryHeap::new(),
            events: HashMap::new(),
            seq: 0,
            now_us: 0,
            rng: StdRng::seed_from_u64(cfg.seed),
            partitioned: false,
            bytes: 0,
            tracked: HashMap::new(),
            convergence_us: Vec::new(),
            false_downs: 0,
            foca_false_downs: 0,
            killed: HashMap::new(),
            death_us: Vec::new(),
            errors: 0,
            cfg,
        };
        let ids: Vec<NodeId> = (0..sim.cfg.nodes)
            .map(|i| NodeId::new(&format!("node-{i}"), addr(i), 1))
            .collect();
        for (i, id) in ids.iter().enumerate() {
            let m = Membership::new(
                id.clone(),
                sim.cfg.membership.clone(),
                sim.cfg.seed ^ (i as u64) << 20,
            );
            let mut catalog = Catalog::new(&id.name, "sim", Lifespans::default());
            let own: Vec<Service> = (0..sim.cfg.services)
                .map(|s| Service {
                    id: format!("{i:06}{s:06}"),
                    name: format!("svc-{s}"),
                    hostname: id.name.clone(),
                    updated: sim.now(),
                    ..Service::default()
                })
                .collect();
            for svc in &own {
                let _ = catalog.apply(svc.clone(), sim.now());
            }
            sim.addrs.insert(id.addr, i);
            sim.nodes.push(Node {
                m,
                catalog,
                own,
                alive: true,
                group: 0,
            });
        }
        for i in 0..sim.cfg.nodes {
            let others = ids.iter().filter(|o| o.name != ids[i].name).cloned();
            let fx = sim.nodes[i].m.apply_members(others);
            sim.effects(i, fx);
            if let Some(period) = sim.cfg.anti_entropy {
                let first = sim.rng.random_range(0..period.as_micros() as u64);
                sim.push(first, Ev::AntiEntropy { node: i });
            }
        }
        // Start from a converged catalogue, as after the join exchanges.
        let all: Vec<Service> = sim.nodes.iter().flat_map(|n| n.own.clone()).collect();
        for n in &mut sim.nodes {
            for svc in &all {
                let _ = n
                    .catalog
                    .apply(svc.clone(), Timestamp::from_unix_nanos(T0_NANOS));
            }
        }
        sim
    }

    pub fn now(&self) -> Timestamp {
        Timestamp::from_unix_nanos(T0_NANOS + i128::from(self.now_us) * 1_000)
    }

    fn push(&mut self, after_us: u64, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((
            self.now_us + after_us,
            self.seq,
            self.seq as usize,
        )));
        self.events.insert(self.seq as usize, ev);
    }

    fn linked(&self, a: usize, b: usize) -> bool {
        !self.partitioned || self.nodes[a].group == self.nodes[b].group
    }

    fn hop_ok(&mut self) -> bool {
        !self.rng.random_bool(self.cfg.loss)
    }

    fn latency(&mut self) -> u64 {
        self.rng.random_range(MS..5 * MS)
    }

    /// Runs events until `us` microseconds of virtual time have passed.
    pub fn run_for(&mut self, us: u64) {
        let end = self.now_us + us;
        while let Some(Reverse((at, _, key))) = self.heap.peek().copied() {
            if at > end {
                break;
            }
            self.heap.pop();
            self.now_us = at;
            if let Some(ev) = self.events.remove(&key) {
                self.handle(ev);
            }
        }
        self.now_us = end;
    }

    fn handle(&mut self, ev: Ev) {
        let now = self.now();
        match ev {
            Ev::Deliver { to, data } if self.nodes[to].alive => {
                let fx = self.nodes[to].m.handle_data(&data, now);
                self.effects(to, fx);
            }
            Ev::Timer { node, token } if self.nodes[node].alive => {
                let fx = self.nodes[node].m.handle_timer(token, now);
                self.effects(node, fx);
            }
            Ev::Confirmed {
                node,
                target,
                alive,
            } if self.nodes[node].alive => {
                let fx = self.nodes[node].m.confirm_result(&target, alive);
                self.effects(node, fx);
            }
            Ev::AntiEntropy { node } if self.nodes[node].alive => {
                if let Some(period) = self.cfg.anti_entropy {
                    self.push(period.as_micros() as u64, Ev::AntiEntropy { node });
                }
                let peers: Vec<usize> = self.nodes[node]
                    .m
                    .members()
                    .filter_map(|m| self.addrs.get(&m.addr).copied())
                    .collect();
                if !peers.is_empty() {
                    let peer = peers[self.rng.random_range(0..peers.len())];
                    self.exchange(node, peer);
                }
            }
            Ev::Exchange { a, b } if self.nodes[a].alive => self.exchange(a, b),
            _ => {}
        }
    }

    fn effects(&mut self, at: usize, fx: Effects) {
        self.errors += u64::from(fx.error.is_some());
        for (token, after) in fx.timers {
            self.push(after.as_micros() as u64, Ev::Timer { node: at, token });
        }
        for (to, data) in fx.send {
            self.bytes += data.len() as u64 + 28;
            let Some(&dst) = self.addrs.get(&to) else {
                continue;
            };
            if self.linked(at, dst) && self.hop_ok() {
                let lat = self.latency();
                self.push(lat, Ev::Deliver { to: dst, data });
            }
        }
        for target in fx.confirm_down {
            self.confirm(at, target);
        }
        for item in fx.received {
            let decoded = postcard::from_bytes::<WireService>(&item.payload).ok();
            if let Some(svc) = decoded.and_then(|w| Service::try_from(w).ok()) {
                self.apply(at, svc);
            }
        }
        for node in fx.member_down {
            self.member_down(at, &node);
        }
        if !fx.member_up.is_empty() && self.now_us > 0 {
            for node in fx.member_up {
                if let Some(&peer) = self.addrs.get(&node.addr) {
                    self.push(
                        self.cfg.membership.announce_down_every.as_micros() as u64 / 4,
                        Ev::Exchange { a: at, b: peer },
                    );
                }
            }
        }
    }

    /// The direct check: ping attempts 250 ms apart until one round trip gets through; a
    /// killed node's host refuses (dead), a live member answers (alive), a partition is silent.
    fn confirm(&mut self, at: usize, target: NodeId) {
        let Some(&t) = self.addrs.get(&target.addr) else {
            return;
        };
        let answers = self.linked(at, t);
        let alive = self.nodes[t].alive && self.nodes[t].m.is_active();
        if alive && self.nodes[t].m.identity().name == target.name {
            self.foca_false_downs += 1;
        }
        let deadline = self.cfg.membership.confirm_timeout.as_micros() as u64;
        let mut when = 0;
        while answers && when < deadline {
            self.bytes += 2 * 60;
            if self.hop_ok() && self.hop_ok() {
                let rtt = self.latency() + self.latency();
                self.push(
                    when + rtt,
                    Ev::Confirmed {
                        node: at,
                        target,
                        alive,
                    },
                );
                return;
            }
            when += 250 * MS;
        }
    }

    fn member_down(&mut self, at: usize, node: &NodeId) {
        let target = self.addrs.get(&node.addr).copied();
        if target.is_some_and(|t| self.nodes[t].alive && self.nodes[t].m.is_active()) {
            self.false_downs += 1;
        }
        let now = self.now();
        let _ = self.nodes[at].catalog.expire_server(&node.name, now);
        let live = self.nodes.iter().filter(|n| n.alive).count();
        if let Some((start, seen)) = self.killed.get_mut(&node.name) {
            *seen += 1;
            if *seen == live {
                self.death_us.push(self.now_us - *start);
            }
        }
    }

    /// Applies a record at `at`; counts tracked changes; re-asserts own records.
    fn apply(&mut self, at: usize, svc: Service) {
        let key = (svc.hostname.clone(), svc.id.clone(), svc.updated);
        let own = svc.hostname == self.nodes[at].m.identity().name;
        let now = self.now();
        let applied = self.nodes[at].catalog.apply(svc, now);
        if matches!(applied, Applied::Accepted { .. }) && self.tracked.contains_key(&key) {
            let live = self.nodes.iter().filter(|n| n.alive).count();
            if let Some((start, count)) = self.tracked.get_mut(&key) {
                *count += 1;
                if *count == live {
                    self.convergence_us.push(self.now_us - *start);
                    self.tracked.remove(&key);
                }
            }
        }
        if own {
            self.reassert(at);
        }
    }

    /// A node that hears of its own records with another status re-announces them (as its
    /// next discovery pass would).
    fn reassert(&mut self, at: usize) {
        let now = self.now();
        let stale: Vec<Service> = self.nodes[at]
            .own
            .iter()
            .filter(|want| {
                let held = self.nodes[at].catalog.state().get(&want.hostname, &want.id);
                held.is_none_or(|h| h.status != want.status)
            })
            .cloned()
            .collect();
        for mut svc in stale {
            svc.updated = now.max(
                self.nodes[at]
                    .catalog
                    .state()
                    .get(&svc.hostname, &svc.id)
                    .map_or(now, |h| h.updated.plus(Duration::from_nanos(1))),
            );
            self.publish(at, svc);
        }
    }

    fn publish(&mut self, at: usize, svc: Service) {
        let now = self.now();
        let _ = self.nodes[at].catalog.apply(svc.clone(), now);
        let item = BroadcastItem {
            key: (svc.hostname.clone(), svc.id.clone()),
            version: svc.updated,
            // What the Gossiper puts on the wire: the compact record, postcard-encoded.
            payload: postcard::to_allocvec(&WireService::from(&svc)).unwrap_or_default(),
        };
        let fx = self.nodes[at].m.broadcast(&item, now);
        self.effects(at, fx);
    }

    /// Anti-entropy between `a` and `b`: digests both ways, then the differing records.
    fn exchange(&mut self, a: usize, b: usize) {
        if !self.nodes[b].alive || !self.linked(a, b) {
            return;
        }
        let servers = self.nodes[a].catalog.state().servers.len()
            + self.nodes[b].catalog.state().servers.len();
        self.bytes += DIGEST_PER_SERVER * servers as u64;
        for (from, to) in [(a, b), (b, a)] {
            let differing: Vec<Service> = self.nodes[from]
                .catalog
                .state()
                .records()
                .filter(|r| self.nodes[to].catalog.state().get(&r.hostname, &r.id) != Some(r))
                .cloned()
                .collect();
            for svc in differing {
                self.bytes += 250;
                self.apply(to, svc);
            }
        }
    }
}

/// p-th percentile (0..=100) of `v` in seconds.
pub fn pct(v: &[u64], p: usize) -> f64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() - 1) * p).div_ceil(100);
    v[i] as f64 / 1e6
}
