//! Scenarios on a [`Sim`]: service changes, kills, partitions, and the checks.

use rand::RngExt;
use sidecar::catalog::ServiceStatus;
use sidecar::clock::Timestamp;

use super::{Node, Sim};

impl Sim {
    /// Node `i` changes one of its services (ALIVE ↔ UNHEALTHY) and broadcasts it.
    pub fn change(&mut self, i: usize) {
        let s = self.rng.random_range(0..self.nodes[i].own.len());
        let now = self.now();
        let svc = &mut self.nodes[i].own[s];
        svc.status = if svc.status == ServiceStatus::Alive {
            ServiceStatus::Unhealthy
        } else {
            ServiceStatus::Alive
        };
        svc.updated = now;
        let svc = svc.clone();
        self.tracked.insert(
            (svc.hostname.clone(), svc.id.clone(), svc.updated),
            (self.now_us, 1),
        );
        self.publish(i, svc);
    }

    /// Random changes at `per_sec` cluster-wide for `us` of virtual time.
    pub fn churn(&mut self, per_sec: u64, us: u64) {
        let step = 1_000_000 / per_sec.max(1);
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
        self.nodes[i].alive = false;
        let name = self.nodes[i].m.identity().name.clone();
        self.killed.insert(name, (self.now_us, 0));
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

    /// Whether every live node holds every record of node `i` as TOMBSTONE.
    pub fn tombstoned_everywhere(&self, i: usize) -> bool {
        let name = format!("node-{i}");
        self.nodes.iter().filter(|n| n.alive).all(|n| {
            n.catalog.state().servers.get(&name).is_some_and(|s| {
                s.services
                    .values()
                    .all(|r| r.status == ServiceStatus::Tombstone)
            })
        })
    }

    pub fn unconverged_changes(&self) -> usize {
        self.tracked.len()
    }
}
