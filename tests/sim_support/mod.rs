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
//! The production path: every datagram is framed, sealed and opened by `gossip::datagram`
//! with the cluster's keys (a frame that does not open is dropped), and every TCP call —
//! exchange or liveness check — goes through the daemon's handshake, admission and
//! push/pull code ([`exchange`]). Modelled: the network (per-hop loss, per direction, with
//! one-way lossy links; 1–5 ms latency; partitions), TCP ([`tcp`]: segments, ACKs,
//! resends, timeouts) and processes that freeze (SIGSTOP, [`Sim::freeze`]). Bytes are
//! counted by kind ([`Bytes`]).
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
use sidecar::gossip::crypto::KeyRing;
use sidecar::gossip::exchange::Outcome;
use sidecar::gossip::membership::{Membership, MembershipConfig, TimerToken};
use sidecar::gossip::node_id::NodeId;
use sidecar::gossip::schedule::push_pull_period;
use sidecar::gossip::wire::ClusterId;

mod exchange;
mod metrics;
mod net;
mod node;
mod scenario;
mod tcp;

use exchange::{Call, Ended, Slot};
pub use metrics::{Bytes, Convergence, ExchangeStats, pct};
use node::Node;

const T0_NANOS: i128 = 1_800_000_000_000_000_000;
pub const MS: u64 = 1_000;
pub const SEC: u64 = 1_000_000;
/// The health checker reports local services this often (`refresh_interval`).
const DISCOVERY_EVERY: u64 = SEC;
/// The StateKeeper's vouch-and-expire pass. The daemon runs it every 2 s
/// (`expire_interval`); here every 10 s, which changes nothing a run can see (a record
/// expires after 80 s unheard of, and a member confirmed down is expired at once) and saves
/// a fifth of the CPU at 1,000 nodes.
const EXPIRE_EVERY: u64 = 10 * SEC;

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
    /// Every frame sealed with a cluster key (`SIDECAR_GOSSIP_KEYS`), or plaintext.
    pub keys: bool,
    /// Links lossier one way than the base `loss`.
    pub one_way: Vec<OneWay>,
}

/// A link that loses `loss` of what `from` sends to `to` (to every node when `to` is
/// `None`), and nothing of what goes the other way.
#[derive(Clone, Copy, Debug)]
pub struct OneWay {
    pub from: usize,
    pub to: Option<usize>,
    pub loss: f64,
}

/// The kernel's UDP receive buffer of a frozen process (`net.core.rmem_default`), and
/// what one queued datagram takes of it beyond its bytes (the socket buffer's bookkeeping,
/// about 2.3 KB charged for a 1.4 KB datagram): datagrams that find it full are dropped.
const RCVBUF: usize = 212_992;
const SKB_OVERHEAD: usize = 900;

enum Ev {
    Deliver {
        to: usize,
        frame: Vec<u8>,
    },
    Timer {
        node: usize,
        token: TimerToken,
    },
    PushPull {
        node: usize,
    },
    Discover {
        node: usize,
    },
    Expire {
        node: usize,
    },
    /// A TCP connection reached its callee's listener.
    Accepted {
        call: Box<Call>,
    },
    /// The caller's hello reached the callee.
    Hello {
        call: Box<Call>,
        frame: Vec<u8>,
    },
    CallerDone {
        call: Box<Call>,
        ended: Ended,
    },
    CalleeDone {
        node: usize,
        peer: usize,
        slot: Slot,
        got: Option<Box<(NodeId, Outcome)>>,
    },
}

impl Ev {
    /// The node whose process handles the event (none: the network's part of a call).
    fn node(&self) -> Option<usize> {
        match self {
            Ev::Deliver { to: node, .. }
            | Ev::Timer { node, .. }
            | Ev::PushPull { node }
            | Ev::Discover { node }
            | Ev::Expire { node }
            | Ev::CalleeDone { node, .. } => Some(*node),
            Ev::CallerDone { call, .. } => Some(call.from),
            Ev::Accepted { .. } | Ev::Hello { .. } => None,
        }
    }
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

/// A change that took over 3 s to reach every node.
#[derive(Clone, Copy, Debug)]
pub struct Late {
    pub took_us: u64,
    /// The last node to get it had rejoined under a renewed identity while it spread.
    pub after_rejoin: bool,
    /// The last node got it by anti-entropy, not by gossip.
    pub by_exchange: bool,
}

/// A SIGKILL spreading: which nodes have tombstoned the victim, and when the last did.
struct Death {
    start_us: u64,
    observers: Vec<bool>,
    last_us: u64,
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
    /// The cluster's keys (`SimConfig::keys`).
    ring: Option<KeyRing>,
    pub bytes: Bytes,
    pub exchanges: ExchangeStats,
    pub convergence: Convergence,
    /// Members reported down (their records tombstoned) somewhere while alive and not
    /// excused by a freeze ([`Sim::excused`]).
    pub false_downs: u64,
    /// Reports of a member down that a freeze longer than the suspicion window excuses.
    pub frozen_downs: u64,
    /// Direct checks of a live, unfrozen, active member: foca's downs, and this node's
    /// failed probes, that the check refutes.
    pub foca_false_downs: u64,
    /// Datagrams that did not open (`udp.*` drops).
    pub refused: u64,
    /// Datagrams a frozen node's full receive buffer dropped.
    pub buffer_drops: u64,
    /// Freezes: node, start and end, µs.
    freezes: Vec<(usize, u64, u64)>,
    /// Record versions nodes stamped and broadcast: changes and refreshes.
    pub announced: u64,
    /// Refreshes heard by a node that held other content for the record (the Gossiper's
    /// `broadcast.refresh_unmatched`): left to anti-entropy.
    pub refresh_unmatched: u64,
    /// Records a node re-announced because a peer held another word on them.
    pub reasserted: u64,
    /// name of a killed node → how its death is spreading, until every live node saw it.
    killed: HashMap<String, Death>,
    /// For each death seen by every live node: how long after the kill the last one saw it.
    pub death_us: Vec<u64>,
    pub errors: u64,
    /// Datagrams too big for a gossip frame, dropped unsent.
    pub oversize: u64,
    /// Members reported up to the Gossiper (after the initial join), and rejoins after a down.
    pub member_ups: u64,
    pub rejoins: u64,
    /// Changes that took over 3 s to reach every node.
    pub late: Vec<Late>,
    /// Whether the records being merged came by anti-entropy (else by gossip).
    by_exchange: bool,
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
            ring: cfg
                .keys
                .then(|| KeyRing::new(&[[7_u8; 32]]))
                .and_then(Result::ok),
            bytes: Bytes::default(),
            exchanges: ExchangeStats::default(),
            convergence: Convergence::default(),
            false_downs: 0,
            frozen_downs: 0,
            foca_false_downs: 0,
            refused: 0,
            buffer_drops: 0,
            freezes: Vec::new(),
            announced: 0,
            refresh_unmatched: 0,
            reasserted: 0,
            killed: HashMap::new(),
            death_us: Vec::new(),
            errors: 0,
            oversize: 0,
            member_ups: 0,
            rejoins: 0,
            late: Vec::new(),
            by_exchange: false,
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
            let catalog = Catalog::from_state(state, sim.cfg.lifespans);
            let observed = node::services(i, &id.name, sim.cfg.services);
            let mut node = Node::new(m, catalog, observed);
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

    /// Whether one hop from `from` to `to` loses a packet: the base loss, unless a
    /// one-way link says otherwise (its loss one way, none the other).
    fn lost(&mut self, from: usize, to: usize) -> bool {
        let mut loss = self.cfg.loss;
        for link in &self.cfg.one_way {
            if link.from == from && link.to.is_none_or(|t| t == to) {
                loss = link.loss;
            } else if link
                .to
                .map_or(to == link.from, |t| t == from && to == link.from)
            {
                loss = 0.0;
            }
        }
        loss > 0.0 && self.rng.random_bool(loss)
    }

    /// The clock in Unix seconds (stamps "busy" answers).
    fn unix_secs(&self) -> u64 {
        u64::try_from(self.now().unix_nanos() / 1_000_000_000).unwrap_or(0)
    }

    /// Whether node `i`'s process is stopped now.
    fn frozen(&self, i: usize) -> bool {
        self.nodes[i]
            .frozen_until
            .is_some_and(|until| self.now_us < until)
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
        let node = ev.node();
        if node.is_some_and(|i| !self.nodes[i].alive) {
            return;
        }
        if let Some(i) = node.filter(|&i| self.nodes[i].frozen_until.is_some()) {
            if self.frozen(i) {
                return self.hold(i, ev);
            }
            self.nodes[i].frozen_until = None;
            self.nodes[i].buffered = 0;
        }
        let now = self.now();
        match ev {
            Ev::Deliver { to, frame } => self.received(to, &frame),
            Ev::Timer { node, token } => {
                let fx = self.nodes[node].m.handle_timer(token, now);
                self.effects(node, fx);
            }
            Ev::PushPull { node } => {
                self.exchange_with_random_member(node, metrics::Why::Periodic);
                if let Some(period) = self.push_pull_period(node) {
                    self.push(period, Ev::PushPull { node });
                }
            }
            Ev::Discover { node } => {
                self.push(DISCOVERY_EVERY, Ev::Discover { node });
                let sync = self.nodes[node].discover(now);
                self.announce(node, sync);
            }
            Ev::Expire { node } => {
                self.push(EXPIRE_EVERY, Ev::Expire { node });
                self.nodes[node].expire(now);
            }
            Ev::Accepted { call } => self.accepted(call),
            Ev::Hello { call, frame } => self.hello_arrived(call, frame),
            Ev::CallerDone { call, ended } => self.caller_ended(*call, ended),
            Ev::CalleeDone {
                node,
                peer,
                slot,
                got,
            } => self.callee_ended(node, peer, slot, got),
        }
    }

    /// An event for frozen node `i`: its timers fire, and the datagrams its receive buffer
    /// held are read, when it resumes; a datagram that finds the buffer full is dropped.
    fn hold(&mut self, i: usize, ev: Ev) {
        let Some(until) = self.nodes[i].frozen_until else {
            return;
        };
        if let Ev::Deliver { frame, .. } = &ev {
            let charge = frame.len() + SKB_OVERHEAD;
            if self.nodes[i].buffered + charge > RCVBUF {
                self.buffer_drops += 1;
                return;
            }
            self.nodes[i].buffered += charge;
        }
        self.push(until - self.now_us, ev);
    }
}
