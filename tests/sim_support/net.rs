//! What the Gossiper and the StateKeeper do with a membership's [`Effects`]: datagrams onto the
//! simulated network, the direct down-check, records merged with `apply_remote`, members down
//! expired, and the exchanges of the heal and rejoin rules.

use sidecar::catalog::{Applied, Service};
use sidecar::gossip::broadcast::BroadcastItem;
use sidecar::gossip::membership::Effects;
use sidecar::gossip::node_id::NodeId;
use sidecar::gossip::schedule::heal_exchange;
use sidecar::gossip::wire::{HEADER_LEN, MAX_DATAGRAM, WireService};

use rand::RngExt;

use super::exchange::{CLOSE, Connect};
use super::metrics::{Tcp, Why, datagram_kinds};
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
        let received: Vec<Service> = fx
            .received
            .iter()
            .filter_map(|item| postcard::from_bytes::<WireService>(&item.payload).ok())
            .filter_map(|wire| Service::try_from(wire).ok())
            .collect();
        self.merge(at, received);
        for target in fx.confirm_down {
            self.confirm(at, target);
        }
        for node in fx.member_down {
            self.member_down(at, &node);
        }
        if !self.booting {
            self.members_up(at, &fx.member_up, fx.rejoined);
        }
    }

    fn datagram(&mut self, from: usize, to: Option<usize>, data: Vec<u8>) {
        if data.len() + HEADER_LEN > MAX_DATAGRAM {
            // The Gossiper cannot frame it (`send.encode`): dropped before it is sent.
            self.oversize += 1;
            return;
        }
        let (swim, records) = datagram_kinds(&data);
        self.bytes.swim += swim + HEADER_LEN as u64 + UDP_IP;
        self.bytes.records += records;
        let Some(dst) = to.filter(|&dst| dst < self.nodes.len()) else {
            return;
        };
        if self.linked(from, dst) && !self.lost() {
            let latency = self.latency();
            self.push(latency, Ev::Deliver { to: dst, data });
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
                self.convergence.reached(record, at, self.live, self.now_us);
            }
            reasserted.extend(mine);
        }
        self.reasserted += reasserted.len() as u64;
        for svc in reasserted {
            self.broadcast(at, &svc);
        }
    }

    /// The Gossiper's `broadcast`: one record version on foca.
    pub(super) fn broadcast(&mut self, at: usize, svc: &Service) {
        let item = BroadcastItem {
            key: sidecar::catalog::RecordKey::of(svc),
            version: svc.updated,
            payload: postcard::to_allocvec(&WireService::from(svc)).unwrap_or_default(),
        };
        let now = self.now();
        let fx = self.nodes[at].m.broadcast(&item, now);
        self.effects(at, fx);
    }

    /// The direct check (`net::probe`): one TCP connection and a Hello each way within half
    /// the confirmation timeout; alive when the member answers. A killed node's host refuses
    /// (dead at once), a partition is silent (dead at the timeout).
    fn confirm(&mut self, at: usize, target: NodeId) {
        let Some(t) = index(target.addr) else {
            return;
        };
        let alive = self.nodes[t].alive && self.nodes[t].m.is_active();
        self.checks += 1;
        if alive {
            self.foca_false_downs += 1;
        }
        let timeout = self.cfg.membership.confirm_timeout.as_micros() as u64 / 2;
        let (connect, bytes) = self.handshake(at, t, timeout);
        self.bytes.add(Tcp::Check, bytes + CLOSE);
        let (after, answered) = match connect {
            Connect::Up(up) => match self.frames(Tcp::Check, &[self.hello(at, false)]) {
                None => (timeout, false),
                Some(out) if !alive => (up + out, false),
                Some(out) => match self.frames(Tcp::Check, &[self.hello(t, false)]) {
                    Some(back) => (up + out + back, true),
                    None => (timeout, false),
                },
            },
            Connect::Refused(after) => (after, false),
            Connect::Silent => (timeout, false),
        };
        let ev = Ev::Confirmed {
            node: at,
            target,
            alive: answered && after <= timeout,
        };
        self.push(after.min(timeout), ev);
    }

    /// `ExpireNode`: the member's records are tombstoned at once.
    fn member_down(&mut self, at: usize, node: &NodeId) {
        let target = index(node.addr);
        if target.is_some_and(|t| self.nodes[t].alive && self.nodes[t].m.is_active()) {
            self.false_downs += 1;
        }
        let now = self.now();
        let _ = self.nodes[at].catalog.expire_server(&node.name, now);
        if let Some((start, seen)) = self.killed.get_mut(&node.name) {
            *seen += 1;
            if *seen == self.live {
                self.death_us.push(self.now_us - *start);
            }
        }
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
