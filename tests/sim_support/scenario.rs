//! Scenarios on a [`Sim`]: service changes, kills, partitions, and the checks.

use rand::RngExt;
use sidecar::catalog::ServiceStatus;
use sidecar::clock::Timestamp;

use super::{Node, SEC, Sim};

impl Sim {
    /// Node `i`'s discovery sees one of its services change (ALIVE ↔ UNHEALTHY); the new
    /// version is broadcast and followed until every live node holds it.
    pub fn change(&mut self, i: usize) {
        let s = self.rng.random_range(0..self.nodes[i].observed.len());
        let svc = &mut self.nodes[i].observed[s];
        svc.status = if svc.status == ServiceStatus::Alive {
            ServiceStatus::Unhealthy
        } else {
            ServiceStatus::Alive
        };
        let id = svc.id.clone();
        let now = self.now();
        let sync = self.nodes[i].discover(now);
        for svc in sync.announced.iter().filter(|svc| svc.id == id) {
            let nodes = self.nodes.len();
            self.convergence.start(svc, i, nodes, self.now_us);
        }
        self.announce(i, sync);
    }

    /// Random changes at `per_sec` cluster-wide for `us` of virtual time.
    pub fn churn(&mut self, per_sec: u64, us: u64) {
        let step = SEC / per_sec.max(1);
        let end = self.now_us + us;
        while self.now_us < end {
            let i = self.rng.random_range(0..self.nodes.len());
            if self.nodes[i].alive {
                self.change(i);
            }
            self.run_for(step);
        }
    }

    /// SIGKILL: the node stops; its host still refuses connections.
    pub fn kill(&mut self, i: usize) {
        if !self.nodes[i].alive {
            return;
        }
        self.nodes[i].alive = false;
        self.live -= 1;
        let name = self.nodes[i].m.identity().name.clone();
        self.note_deaths();
        let death = super::Death {
            start_us: self.now_us,
            observers: vec![false; self.nodes.len()],
            last_us: self.now_us,
        };
        self.killed.insert(name, death);
    }

    /// Kills whose victim some live node still holds up.
    pub fn deaths_spreading(&self) -> usize {
        self.killed.len()
    }

    /// SIGSTOP for `us`, then SIGCONT: node `i` handles no timer, datagram or connection
    /// meanwhile; its kernel queues datagrams in the receive buffer (dropping what does not
    /// fit) and completes TCP handshakes into the listen backlog, unanswered.
    pub fn freeze(&mut self, i: usize, us: u64) {
        let until = self.now_us + us;
        self.nodes[i].frozen_until = Some(until);
        self.freezes.push((i, self.now_us, until));
    }

    /// Whether a report, now, that live node `i` is down is the doing of a freeze, and so
    /// true: `i` was frozen for at least the suspicion window (foca's suspect-to-down time
    /// for the cluster size), and the report comes during the freeze or within the direct
    /// check's spread and timeout after it (a check begun while frozen).
    pub(super) fn excused(&self, i: usize) -> bool {
        let m = &self.cfg.membership;
        let window = m
            .foca_config(self.nodes.len(), 0.0)
            .suspect_to_down_after
            .as_micros() as u64;
        let grace = (m.confirm_spread + m.confirm_timeout).as_micros() as u64;
        self.freezes.iter().any(|&(node, start, end)| {
            node == i && end - start >= window && (start..=end + grace).contains(&self.now_us)
        })
    }

    /// The fewest and most transmissions live nodes now use per item, and the highest
    /// loss one of them observes.
    pub fn transmissions(&self) -> (u8, u8, f64) {
        let live = self.nodes.iter().filter(|n| n.alive);
        live.fold((u8::MAX, 0, 0.0_f64), |(lo, hi, loss), n| {
            let tx = n.m.transmissions();
            (lo.min(tx), hi.max(tx), loss.max(n.m.observed_loss()))
        })
    }

    /// Nodes not killed.
    pub fn live(&self) -> usize {
        self.live
    }

    pub fn random_live(&mut self) -> usize {
        loop {
            let i = self.rng.random_range(0..self.nodes.len());
            if self.nodes[i].alive {
                return i;
            }
        }
    }

    /// Splits the cluster in two halves (or heals it).
    pub fn partition(&mut self, on: bool) {
        self.partitioned = on;
        let half = self.nodes.len() / 2;
        for (i, n) in self.nodes.iter_mut().enumerate() {
            n.group = u8::from(i >= half);
        }
    }

    /// Cuts node `i` off from every other node (undone by `partition(false)`).
    pub fn isolate(&mut self, i: usize) {
        self.partitioned = true;
        for (j, n) in self.nodes.iter_mut().enumerate() {
            n.group = u8::from(j == i);
        }
    }

    /// Live nodes whose catalogue differs from node `first live`'s (statuses, and versions of
    /// non-tombstones: each node stamps the tombstones of a dead member itself).
    pub fn divergent(&self) -> usize {
        let view = |n: &Node| -> Vec<(String, String, u8, Option<Timestamp>)> {
            n.catalog
                .state()
                .records()
                .map(|r| {
                    (
                        r.hostname.clone(),
                        r.id.clone(),
                        r.status.code(),
                        (r.status != ServiceStatus::Tombstone).then_some(r.updated),
                    )
                })
                .collect()
        };
        let mut live = self.nodes.iter().filter(|n| n.alive);
        let Some(first) = live.next().map(view) else {
            return 0;
        };
        live.filter(|n| view(n) != first).count()
    }

    /// Live nodes that hold every record of node `i`, all with status `status`.
    pub fn holders(&self, i: usize, status: ServiceStatus) -> usize {
        let name = format!("node-{i}");
        let all = |n: &&Node| {
            n.catalog.state().servers.get(&name).is_some_and(|s| {
                s.services.len() == self.cfg.services
                    && s.services.values().all(|r| r.status == status)
            })
        };
        self.nodes.iter().filter(|n| n.alive).filter(all).count()
    }

    /// Whether every live node holds every record of node `i` as TOMBSTONE.
    pub fn tombstoned_everywhere(&self, i: usize) -> bool {
        self.holders(i, ServiceStatus::Tombstone) == self.live
    }

    /// Records that live nodes hold with another status than their live owner gives them
    /// (a tombstone of a live member's service, say), summed over the live nodes.
    pub fn misreported(&self) -> usize {
        let owner = |host: &str| -> Option<&Node> {
            let i: usize = host.strip_prefix("node-")?.parse().ok()?;
            self.nodes.get(i).filter(|n| n.alive)
        };
        let status =
            |n: &Node, host: &str, id: &str| n.catalog.state().get(host, id).map(|r| r.status);
        self.nodes
            .iter()
            .filter(|n| n.alive)
            .flat_map(|n| n.catalog.state().records())
            .filter(|r| {
                owner(&r.hostname).is_some_and(|o| status(o, &r.hostname, &r.id) != Some(r.status))
            })
            .count()
    }

    pub fn unconverged_changes(&self) -> usize {
        self.convergence.unconverged()
    }
}
