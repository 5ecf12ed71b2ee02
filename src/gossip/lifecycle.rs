//! This node's part in the cluster over time, as decisions: when to try the seeds again, what
//! to do with what an exchange brought, and what a leaving node still does.
//!
//! Pure: no clock, sockets or timers. The caller (the Gossiper) owns those and carries the
//! decisions out; waits are returned as durations for its timers. SWIM itself is [`super::membership`]; this is what sits around
//! it (docs/PROTOCOL.md, "Joining" and "Leaving").
//!
//! ```text
//!   Joining ──(a member is known)──► Member ──(leave)──► Leaving
//!      │                                                  (final: no joins, broadcasts,
//!      └──────────────(leave)─────────────────────────►    relays or anti-entropy)
//!
//! A member that later loses every member stays a member: foca's announces to down members
//! heal that partition, not the seeds.
//! ```

use std::collections::BTreeSet;
use std::time::Duration;

use super::node_id::NodeId;
use crate::catalog::{Service, ServiceStatus, ServicesState};

/// The most hosts one exchange asks to check ([`AfterExchange::check`]): a missed death is
/// one host or a few; a partition that heals brings the other side's derived tombstones of
/// every host there, all alive, which the membership heals by itself.
pub const MAX_CHECKS_PER_EXCHANGE: usize = 4;

/// How often the seeds are tried while no member is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JoinPolicy {
    /// The wait after the first attempt; doubled after each one that found no member.
    pub first_retry: Duration,
    /// The longest wait between two attempts.
    pub max_retry: Duration,
}

impl Default for JoinPolicy {
    fn default() -> Self {
        JoinPolicy {
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(30),
        }
    }
}

/// Where this node stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// No member known yet: the seeds are tried with backoff.
    Joining,
    /// At least one member is known.
    Member,
    /// Leaving for good (shutdown): nothing more is started.
    Leaving,
}

/// What a join timer should do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinStep {
    /// Nothing, and the join timer stops: no seeds, a member is known, or leaving.
    Idle,
    /// Exchange with every seed now, and call [`Lifecycle::join_due`] again after `retry`.
    TrySeeds {
        /// When to check again.
        retry: Duration,
    },
}

/// What to do with the outcome of one exchange (join or anti-entropy).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AfterExchange {
    /// The peer's own records that are news here, to broadcast again: a joiner's first
    /// broadcasts may have gone out before it had any member, and the seed is then the only
    /// node that knows them. A record this node already holds at that version or a newer one
    /// is not relayed: an exchange that finds a host differing brings all of that host's
    /// records, and broadcasting the unchanged ones started a cluster-wide wave of gossip for
    /// each (versions that came by exchange are new to every node's broadcast handler). At
    /// 1,000 nodes and an exchange every 20 s those waves slowed the real changes: a change's
    /// p99 to every node went from 1.1–1.3 s to 2.6–3.5 s in the simulation.
    pub relay: Vec<Service>,
    /// A peer that is not a member yet: add it as alive.
    pub add_member: Option<NodeId>,
    /// The exchange was a join through this seed: announce to it (SWIM join).
    pub announce_to: Option<NodeId>,
    /// Hosts (not the peer, not this node) whose records the peer holds as tombstones newer
    /// than the live ones held here: the peer saw the host die, and this node may have
    /// missed the membership's word of it, which nothing repeats (its own probes reach the
    /// host once a round of one probe a second: up to 100 s at 100 nodes, 17 min at 1,000).
    /// The tombstones themselves are hearsay and are not applied (docs/PROTOCOL.md §12); the
    /// caller checks each host that is a live member here directly, where only a refused
    /// connection takes it down. At most [`MAX_CHECKS_PER_EXCHANGE`], in name order.
    pub check: Vec<String>,
}

/// The decisions of one node (see the module docs).
#[derive(Clone, Debug)]
pub struct Lifecycle {
    policy: JoinPolicy,
    has_seeds: bool,
    phase: Phase,
    /// The wait after the next attempt.
    backoff: Duration,
}

impl Lifecycle {
    /// A node that has not joined yet; `has_seeds` when `SIDECAR_SEEDS` names any.
    pub fn new(policy: JoinPolicy, has_seeds: bool) -> Lifecycle {
        Lifecycle {
            policy,
            has_seeds,
            phase: Phase::Joining,
            backoff: policy.first_retry,
        }
    }

    /// Where this node stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether the node is leaving.
    pub fn is_leaving(&self) -> bool {
        self.phase == Phase::Leaving
    }

    /// The node just started, or the join timer fired; `has_members` says whether any
    /// member is known by now. Each attempt doubles the next wait, up to the policy's most.
    pub fn join_due(&mut self, has_members: bool) -> JoinStep {
        if has_members && self.phase == Phase::Joining {
            self.phase = Phase::Member;
        }
        if self.phase != Phase::Joining || !self.has_seeds {
            return JoinStep::Idle;
        }
        let retry = self.backoff;
        self.backoff = retry.saturating_mul(2).min(self.policy.max_retry);
        JoinStep::TrySeeds { retry }
    }

    /// Starts leaving. True the first time only: the caller then tells the cluster.
    pub fn leave(&mut self) -> bool {
        let first = self.phase != Phase::Leaving;
        self.phase = Phase::Leaving;
        first
    }

    /// Whether this node's record changes are broadcast (not while leaving: the leave
    /// itself and the StateKeeper's tombstones say what the cluster needs to know).
    pub fn announces(&self) -> bool {
        !self.is_leaving()
    }

    /// Whether periodic anti-entropy runs.
    pub fn runs_anti_entropy(&self) -> bool {
        !self.is_leaving()
    }

    /// Whether a peer's hello is answered (and a session served): only by an active member
    /// (`membership_active`, see [`super::membership::Membership::is_active`]) that is not
    /// leaving, so that a direct liveness check of a leaving node says "gone" at once.
    pub fn answers_peers(&self, membership_active: bool) -> bool {
        membership_active && !self.is_leaving()
    }

    /// What to do after an exchange with `peer` (this node is `me`, holding `local` before
    /// the merge) that brought `received`; `join` when it was a join through a seed; `known`
    /// when `peer` is already a member.
    pub fn after_exchange(
        &self,
        (me, local): (&str, &ServicesState),
        peer: &NodeId,
        received: &[Service],
        join: bool,
        known: bool,
    ) -> AfterExchange {
        if self.is_leaving() {
            return AfterExchange::default();
        }
        let news = |s: &Service| {
            local
                .get(&s.hostname, &s.id)
                .is_none_or(|held| held.updated < s.updated)
        };
        let relay = received
            .iter()
            .filter(|s| s.hostname == peer.name && news(s))
            .cloned()
            .collect();
        let new_peer = !known && peer.name != me;
        let died_elsewhere = |s: &&Service| {
            s.status == ServiceStatus::Tombstone
                && s.hostname != peer.name
                && s.hostname != me
                && local.get(&s.hostname, &s.id).is_some_and(|held| {
                    held.status != ServiceStatus::Tombstone && held.updated < s.updated
                })
        };
        let check: BTreeSet<&str> = (received.iter())
            .filter(died_elsewhere)
            .map(|s| s.hostname.as_str())
            .collect();
        AfterExchange {
            relay,
            add_member: new_peer.then(|| peer.clone()),
            announce_to: (new_peer && join).then(|| peer.clone()),
            check: (check.into_iter())
                .take(MAX_CHECKS_PER_EXCHANGE)
                .map(str::to_owned)
                .collect(),
        }
    }
}

#[cfg(test)]
#[path = "tests/lifecycle.rs"]
mod tests;
