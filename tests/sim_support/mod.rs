//! A deterministic cluster simulation: N nodes, each a real `Membership` (foca SWIM plus the
//! direct down-check) and a real `Catalog`, on a virtual clock with a `BinaryHeap` event queue,
//! a seeded `StdRng`, per-link latency, loss and partitions. Each node runs what the daemon's
//! actors run, on their timers:
//!
//! - discovery reports its services every second (`Catalog::sync_local`): a record gets a new
//!   version only when it changes or its two-hourly refresh is due, and that version is
//!   broadcast on foca (records start with a random refresh phase per node);
//! - the StateKeeper vouches for the live members, then expires, every 2 s;
//! - records heard from peers are merged with `Catalog::apply_remote`; a record of its own that
//!   it overrules is broadcast again;
//! - push/pull with a random member every `push_pull_period(base, members)`; a member that
//!   comes up gets a heal exchange with probability `heal_exchange(size, draw)`; a node that
//!   was declared down exchanges with one random member when it rejoins;
//! - a member foca declares down is checked directly before it is reported down.
//!
//! Modelled rather than run: datagrams (lost per hop, 1–5 ms latency), TCP sessions ([`exchange`]:
//! real frames, counted with TCP/IP overhead and resends; applied at once when connected) and
//! the direct check ([`net`]). Bytes are counted by kind ([`Bytes`]).
//!
//! Must not: read the wall clock or any unseeded randomness. One seed, one run.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sidecar::catalog::{Catalog, Lifespans, ServicesState};
use sidecar::clock::Timestamp;
use sidecar::gossip::membership::{Membership, MembershipConfig, TimerToken};
use sidecar::gossip::node_id::NodeId;
use sidecar::gossip::schedule::push_pull_period;
use sidecar::gossip::wire::ClusterId;

mod exchange;
mod metrics;
mod net;
mod node;
mod scenario;

pub use metrics::{Bytes, Convergence, ExchangeStats, pct};
use node::Node;

const T0_NANOS: i128 = 1_800_000_000_000_000_000;
pub const MS: u64 = 1_000;
pub const SEC: u64 = 1_000_000;
/// The health checker reports local services this often (`refresh_interval`).
const DISCOVERY_EVERY: u64 = SEC;
/// The StateKeeper's vouch-and-expire pass (`expire_interval`).
const EXPIRE_EVERY: u64 = 2 * SEC;

/// How the simulated network and cluster behave.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub nodes: usize,
    pub services: usize,
    pub loss: f64,
    pub seed: u64,
    /// `SIDECAR_PUSH_PULL_INTERVAL`, the base of `push_pull_period` (None: no anti-entropy).
    pub push_pull: Option<Duration>,
    pub membership: MembershipConfig,
    pub lifespans: Lifespans,
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
    PushPull {
        node: usize,
    },
    Exchange {
        a: usize,
        b: usize,
    },
    Discover {
        node: usize,
    },
    Expire {
        node: usize,
    },
}

/// An event due at `at`; `seq` keeps events of one instant in the order they were queued.
struct Queued {
    at: u64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The simulated cluster.
pub struct Sim {
    pub cfg: SimConfig,
    nodes: Vec<Node>,
    queue: BinaryHeap<Reverse<Queued>>,
    seq: u64,
    pub now_us: u64,
    rng: StdRng,
    partitioned: bool,
    /// Nodes not killed (kept up to date by `kill`).
    live: usize,
    /// Set while the cluster is being assembled: the member-ups of the initial join trigger
    /// no heal exchange (the catalogues start converged, as after the join exchanges).
    booting: bool,
    cluster: ClusterId,
    pub bytes: Bytes,
    pub exchanges: ExchangeStats,
    pub convergence: Convergence,
    pub false_downs: u64,
    pub foca_false_downs: u64,
    /// Record versions nodes stamped and broadcast: changes and refreshes.
    pub announced: u64,
    /// Records a node re-announced because a peer held another word on them.
    pub reasserted: u64,
    /// name of a killed node → (kill µs, observers that tombstoned it).
    killed: HashMap<String, (u64, usize)>,
    pub death_us: Vec<u64>,
    pub errors: u64,
    /// Datagrams too big for a gossip frame, dropped unsent.
    pub oversize: u64,
    /// Members reported up to the Gossiper (after the initial join), and rejoins after a down.
    pub member_ups: u64,
    pub rejoins: u64,
    /// Direct checks of members foca declared down.
    pub checks: u64,
}

/// Node `i`'s address; [`index`] reads `i` back.
fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 7946))
}

fn index(addr: SocketAddr) -> Option<usize> {
    match addr {
        SocketAddr::V4(v4) => {
            let [_, a, b, c] = v4.ip().octets();
            Some(usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c))
        }
        SocketAddr::V6(_) => None,
    }
}

impl Sim {
    /// A cluster whose members all know each other and hold every record, as after a join.
    pub fn new(cfg: SimConfig) -> Sim {
        let mut sim = Sim {
            nodes: Vec::with_capacity(cfg.nodes),
            queue: BinaryHeap::new(),
            seq: 0,
            now_us: 0,
            rng: StdRng::seed_from_u64(cfg.seed),
            partitioned: false,
            live: cfg.nodes,
            booting: true,
            cluster: ClusterId::of("sim"),
            bytes: Bytes::default(),
            exchanges: ExchangeStats::default(),
            convergence: Convergence::default(),
            false_downs: 0,
            foca_false_downs: 0,
            announced: 0,
            reasserted: 0,
            killed: HashMap::new(),
            death_us: Vec::new(),
            errors: 0,
            oversize: 0,
            member_ups: 0,
            rejoins: 0,
            checks: 0,
            cfg,
        };
        let ids: Vec<NodeId> = (0..sim.cfg.nodes)
            .map(|i| NodeId::new(&format!("node-{i}"), addr(i), 1))
            .collect();
        let everything = sim.announce_all(&ids);
        for (i, id) in ids.iter().enumerate() {
            let seed = sim.cfg.seed ^ (i as u64) << 20;
            let m = Membership::new(id.clone(), sim.cfg.membership.clone(), seed);
            let mut state = everything.clone();
            state.hostname.clone_from(&id.name);
            let mut node = Node {
                m,
                catalog: Catalog::from_state(state, sim.cfg.lifespans),
                observed: node::services(i, &id.name, sim.cfg.services),
                alive: true,
                group: 0,
            };
            // Fills the catalogue's list of what this node announces; nothing is due yet.
            let fresh = node.discover(sim.now());
            assert!(fresh.is_empty(), "records were stamped at boot");
            sim.nodes.push(node);
        }
        for i in 0..sim.cfg.nodes {
            let others = ids.iter().filter(|o| o.name != ids[i].name).cloned();
            let fx = sim.nodes[i].m.apply_members(others);
            sim.effects(i, fx);
            sim.start_timers(i);
        }
        sim.booting = false;
        sim
    }

    /// Every node's records, each stamped at a random point of the last refresh period (a
    /// random refresh phase per node), as one catalogue.
    fn announce_all(&mut self, ids: &[NodeId]) -> ServicesState {
        let refresh = self.cfg.lifespans.refresh.as_nanos() as i128;
        let mut everything = ServicesState::new("", "sim");
        for (i, id) in ids.iter().enumerate() {
            let phase = self.rng.random_range(1..refresh);
            let stamped = Timestamp::from_unix_nanos(T0_NANOS - phase);
            let mut own = Catalog::new(&id.name, "sim", self.cfg.lifespans);
            let sync = own.sync_local(
                node::services(i, &id.name, self.cfg.services),
                &Default::default(),
                stamped,
            );
            assert_eq!(sync.announced.len(), self.cfg.services);
            everything.servers.append(&mut own.state().clone().servers);
        }
        everything
    }

    /// The node's periodic work, each at a random phase of its period.
    fn start_timers(&mut self, node: usize) {
        let discover = self.rng.random_range(0..DISCOVERY_EVERY);
        self.push(discover, Ev::Discover { node });
        let expire = self.rng.random_range(0..EXPIRE_EVERY);
        self.push(expire, Ev::Expire { node });
        if let Some(period) = self.push_pull_period(node) {
            let first = self.rng.random_range(0..period);
            self.push(first, Ev::PushPull { node });
        }
    }

    /// The node's push/pull period for its current member count, in µs.
    fn push_pull_period(&self, node: usize) -> Option<u64> {
        let size = self.nodes[node].m.members().count() + 1;
        let base = self.cfg.push_pull?;
        Some(push_pull_period(base, size).as_micros() as u64)
    }

    pub fn now(&self) -> Timestamp {
        Timestamp::from_unix_nanos(T0_NANOS + i128::from(self.now_us) * 1_000)
    }

    fn push(&mut self, after_us: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at: self.now_us + after_us,
            seq: self.seq,
            ev,
        }));
    }

    fn linked(&self, a: usize, b: usize) -> bool {
        !self.partitioned || self.nodes[a].group == self.nodes[b].group
    }

    /// Whether one hop loses a packet.
    fn lost(&mut self) -> bool {
        self.rng.random_bool(self.cfg.loss)
    }

    fn latency(&mut self) -> u64 {
        self.rng.random_range(MS..5 * MS)
    }

    /// Runs events until `us` microseconds of virtual time have passed.
    pub fn run_for(&mut self, us: u64) {
        let end = self.now_us + us;
        while self.queue.peek().is_some_and(|Reverse(q)| q.at <= end) {
            let Some(Reverse(next)) = self.queue.pop() else {
                break;
            };
            self.now_us = next.at;
            self.handle(next.ev);
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
            Ev::PushPull { node } if self.nodes[node].alive => {
                self.exchange_with_random_member(node, metrics::Why::Periodic);
                if let Some(period) = self.push_pull_period(node) {
                    self.push(period, Ev::PushPull { node });
                }
            }
            Ev::Exchange { a, b } if self.nodes[a].alive => self.exchange(a, b),
            Ev::Discover { node } if self.nodes[node].alive => {
                self.push(DISCOVERY_EVERY, Ev::Discover { node });
                for svc in self.nodes[node].discover(now) {
                    self.announced += 1;
                    self.broadcast(node, &svc);
                }
            }
            Ev::Expire { node } if self.nodes[node].alive => {
                self.push(EXPIRE_EVERY, Ev::Expire { node });
                self.nodes[node].expire(now);
            }
            _ => {}
        }
    }
}
