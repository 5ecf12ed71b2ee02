//! What the Gossiper and the StateKeeper do with a membership's [`Effects`]: datagrams onto the
//! simulated network (framed and sealed by `gossip::datagram`, as the Gossiper does), the
//! direct down-check ([`super::exchange`]), records merged with `apply_remote`, members down
//! expired, and the exchanges of the heal and rejoin rules.

use sidecar::catalog::{Applied, LocalSync, Service};
use sidecar::gossip::broadcast::BroadcastItem;
use sidecar::gossip::datagram::DatagramCodec;
use sidecar::gossip::membership::Effects;
use sidecar::gossip::node_id::NodeId;
use sidecar::gossip::schedule::heal_exchange;

use rand::RngExt;

use super::metrics::{Why, datagram_kinds};
use super::{Ev, Sim, index};

/// IPv4 + UDP headers.
const UDP_IP: u64 = 28;

impl Sim {
    /// Carries out what node `at`'s membership asked for (the Gossiper's `apply`).
    pub(super) fn effects(&mut self, at: usize, fx: Effects) {
        self.errors += u64::from(fx.error.is_some());
        for (token, after) in fx.timers {
            self.push(after.as_micros() as u64, Ev::Timer { node: at, token });
        }
        for (to, data) in fx.send {
            self.datagram(at, index(to), data);
        }
        // The Gossiper's `apply_received`: refreshes resolved against what the node holds.
        let mut received = Vec::with_capacity(fx.received.len());
        for item in &fx.received {
            let state = self.nodes[at].catalog.state();
            match item.resolve(state.get(&item.key.hostname, &item.key.id)) {
                Ok(Some(svc)) => received.push(svc),
                Ok(None) => self.refresh_unmatched += 1,
                Err(_) => self.errors += 1,
            }
        }
        self.merge(at, received);
        for target in fx.check {
            self.check(at, target);
        }
        for node in fx.member_down {
            self.member_down(at, &node);
        }
        if !self.booting {
            self.members_up(at, &fx.member_up, fx.rejoined);
        }
    }

    /// The Gossiper's `send_datagram`: the SWIM payload framed and sealed as node `from`,
    /// counted, and put on the link to `to` (lost per hop, 1–5 ms latency).
    fn datagram(&mut self, from: usize, to: Option<usize>, swim: Vec<u8>) {
        let (_, records) = datagram_kinds(&swim);
        let name = &self.nodes[from].m.identity().name;
        let Ok(frame) = DatagramCodec::new(self.cluster, self.ring.as_ref(), name).seal(swim)
        else {
            // The Gossiper cannot frame it (`send.encode`): dropped before it is sent.
            self.oversize += 1;
            return;
        };
        self.bytes.swim += frame.len() as u64 - records + UDP_IP;
        self.bytes.records += records;
        let Some(dst) = to.filter(|&dst| dst < self.nodes.len()) else {
            return;
        };
        if self.linked(from, dst) && !self.lost(from, dst) {
            let latency = self.latency();
            self.push(latency, Ev::Deliver { to: dst, frame });
        }
    }

    /// The Gossiper's datagram handler: opened with node `to`'s keys (a frame that does
    /// not open is dropped and counted), then handed to its membership.
    pub(super) fn received(&mut self, to: usize, frame: &[u8]) {
        let name = &self.nodes[to].m.identity().name;
        match DatagramCodec::new(self.cluster, self.ring.as_ref(), name).open(frame) {
            Ok(swim) => {
                let now = self.now();
                let fx = self.nodes[to].m.handle_data(&swim, now);
                self.effects(to, fx);
            }
            Err(_) => self.refused += 1,
        }
    }

    /// Records heard from peers (the StateKeeper's `ApplyRemoteServices`): merged with
    /// `apply_remote`; what it overrules is this node's to announce again.
    pub(super) fn merge(&mut self, at: usize, records: Vec<Service>) {
        let now = self.now();
        let mut reasserted = Vec::new();
        for svc in records {
            let tracked = self.convergence.tracks(&svc.hostname, &svc.id);
            let heard = tracked.then(|| (svc.hostname.clone(), svc.id.clone(), svc.updated));
            let (applied, mine) = self.nodes[at].catalog.apply_remote(svc, now);
            if let (Applied::Accepted { .. }, Some((host, id, version))) = (&applied, heard) {
                let record = (host.as_str(), id.as_str(), version);
                let done = self.convergence.reached(record, at, self.live, self.now_us);
                self.note_late(at, &done);
            }
            reasserted.extend(mine);
        }
        self.reasserted += reasserted.len() as u64;
        for svc in reasserted {
            self.broadcast(at, &svc);
        }
    }

    /// Notes the changes that took more than 3 s to reach every node ([`super::Late`]).
    fn note_late(&mut self, last: usize, took: &[u64]) {
        for &t in took.iter().filter(|&&t| t > 3 * super::SEC) {
            let rejoined = self.nodes[last]
                .rejoined_us
                .is_some_and(|r| r + t + 2 * super::SEC >= self.now_us);
            self.late.push(super::Late {
                took_us: t,
                after_rejoin: rejoined,
                by_exchange: self.by_exchange,
            });
        }
    }

    /// The Gossiper's `StateChanged` handler: what node `at`'s catalogue stamped goes on
    /// foca, changes whole and refreshes as their new version alone.
    pub(super) fn announce(&mut self, at: usize, sync: LocalSync) {
        self.announced += (sync.announced.len() + sync.refreshed.len()) as u64;
        for svc in &sync.announced {
            self.broadcast(at, svc);
        }
        for svc in &sync.refreshed {
            self.broadcast_item(at, &BroadcastItem::refresh(svc));
        }
    }

    /// The Gossiper's `broadcast`: one record version on foca, whole.
    pub(super) fn broadcast(&mut self, at: usize, svc: &Service) {
        match BroadcastItem::record(svc) {
            Ok(item) => self.broadcast_item(at, &item),
            Err(_) => self.errors += 1,
        }
    }

    fn broadcast_item(&mut self, at: usize, item: &BroadcastItem) {
        let now = self.now();
        let fx = self.nodes[at].m.broadcast(item, now);
        self.effects(at, fx);
    }

    /// `ExpireNode`: the member's records are tombstoned at once.
    fn member_down(&mut self, at: usize, node: &NodeId) {
        if let Some(t) = index(node.addr).filter(|&t| self.nodes[t].alive) {
            if self.excused(t) {
                self.frozen_downs += 1;
            } else {
                self.false_downs += 1;
            }
        }
        let now = self.now();
        let _ = self.nodes[at].catalog.expire_server(&node.name, now);
        if let Some(death) = self.killed.get_mut(&node.name) {
            death.observers[at] = true;
            death.last_us = self.now_us;
        }
        self.note_deaths();
    }

    /// Records the deaths every live node has now seen, each with the time its last live
    /// node saw it (a node killed meanwhile no longer counts).
    pub(super) fn note_deaths(&mut self) {
        let alive: Vec<bool> = self.nodes.iter().map(|n| n.alive).collect();
        let everywhere = |d: &super::Death| (d.observers.iter().zip(&alive)).all(|(s, a)| *s || !a);
        let (seen, spreading): (Vec<_>, Vec<_>) =
            self.killed.drain().partition(|(_, d)| everywhere(d));
        self.killed = spreading.into_iter().collect();
        (self.death_us).extend(seen.iter().map(|(_, d)| d.last_us - d.start_us));
    }

    /// The Gossiper's rules for members that come up (a heal exchange with probability
    /// `heal_exchange`) and for rejoining after a down (one exchange with a random member);
    /// the StateKeeper vouches for the new members.
    fn members_up(&mut self, at: usize, up: &[NodeId], rejoined: bool) {
        self.member_ups += up.len() as u64;
        if !up.is_empty() {
            let now = self.now();
            let names = up.iter().map(|n| n.name.as_str());
            self.nodes[at].catalog.vouch(names, now);
            let size = self.nodes[at].m.members().count() + 1;
            for node in up {
                if heal_exchange(size, self.rng.random())
                    && let Some(peer) = index(node.addr)
                {
                    self.connect(at, peer, Why::Heal);
                }
            }
        }
        if rejoined {
            self.rejoins += 1;
            self.nodes[at].rejoined_us = Some(self.now_us);
            self.exchange_with_random_member(at, Why::Rejoin);
        }
    }

    /// One exchange with a random member the node sees up, if any.
    pub(super) fn exchange_with_random_member(&mut self, at: usize, why: Why) {
        let count = self.nodes[at].m.members().count();
        if count == 0 {
            return;
        }
        let pick = self.rng.random_range(0..count);
        let peer = self.nodes[at]
            .m
            .members()
            .nth(pick)
            .and_then(|m| index(m.addr));
        if let Some(peer) = peer {
            self.connect(at, peer, why);
        }
    }
}
