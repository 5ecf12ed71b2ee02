//! Gossiper: this node's membership of the cluster and the spreading of service records.
//!
//! Does: own the [`Membership`] (SWIM over foca) and carry out its [`Effects`] on the gossip
//! UDP socket and the actor's timers; broadcast every new version of this node's records at
//! once (a change, a drain, a tombstone; the two-hourly refresh as its version alone; a
//! steady node sends none: peers keep a live member's records because the membership vouches
//! for them); resolve the refreshes peers send against the last snapshot; join through the
//! seeds and run push/pull anti-entropy over TCP (`net`), on a period that grows with the
//! cluster, plus a few exchanges with a member that comes back, after which it checks a member
//! the peer holds dead; tell the StateKeeper the live members, the records heard and the
//! members confirmed down; leave gracefully on shutdown.
//! Does not: merge records (the StateKeeper does) or decide SWIM (the membership core does).
//!
//! Bad input on the gossip ports is dropped and counted by reason ([`GetGossipStats`]).

mod keys;
mod memory;
mod net;
mod sessions;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use slog::{Logger, debug, info, o, warn};
use tokio::net::UdpSocket;

pub use self::keys::GossipKeys;
pub use self::memory::GossiperMemory;
pub use self::net::GossipSockets;
use self::net::{Accepted, Datagram, Wire};
use crate::catalog::{Service, Snapshot};
use crate::clock::SharedClock;
use crate::gossip::admission::{Admission, AdmissionLimits};
use crate::gossip::broadcast::BroadcastItem;
use crate::gossip::lifecycle::{JoinPolicy, Lifecycle};
use crate::gossip::membership::{Effects, Membership, MembershipConfig, TimerToken};
use crate::gossip::node_id::NodeId;
use crate::gossip::schedule::heal_exchange;
use crate::gossip::wire::ClusterId;
use crate::messages::{
    ApplyRemoteServices, ExpireNode, GetGossipStats, LeaveCluster, RemoteSource, SetMembers,
    StateChanged, Subscribe,
};
use crate::supervisor::Link;

/// How the Gossiper runs.
#[derive(Clone, Debug)]
pub struct GossiperSettings {
    /// This node's name (its hostname).
    pub hostname: String,
    /// Where peers reach this node (advertise IP and the bound gossip port).
    pub advertise: SocketAddr,
    /// `SIDECAR_CLUSTER_NAME`: frames of other clusters are refused.
    pub cluster_name: String,
    /// `SIDECAR_GOSSIP_KEYS` (replaceable at run time through the admin API).
    pub keys: GossipKeys,
    /// Seeds as `host:port`.
    pub seeds: Vec<String>,
    /// One exchange with a random member this often (`SIDECAR_PUSH_PULL_INTERVAL`), in
    /// clusters up to 32 nodes; longer in larger ones
    /// ([`push_pull_period`](crate::gossip::schedule::push_pull_period)).
    pub push_pull_interval: Duration,
    /// Timeout of each TCP read, write and connect.
    pub session_timeout: Duration,
    /// Most TCP exchanges at once (both directions); liveness checks take none
    /// ([`Admission`]).
    pub max_sessions: usize,
    /// The longest wait between two join attempts.
    pub max_join_backoff: Duration,
    /// Batches of records heard from peers handed to the StateKeeper and not applied yet;
    /// past this, what is heard is dropped and counted (`state.busy`) and anti-entropy
    /// brings it again. (The mailbox bound alone does not hold here: actix lets every new
    /// sender of a [`Link`] push one message past it.)
    pub max_batches_in_flight: usize,
    /// SWIM tuning.
    pub membership: MembershipConfig,
}

/// The StateKeeper's inboxes the Gossiper writes to.
#[derive(Clone)]
pub struct StateLinks {
    /// Subscribed to in `started()`.
    pub subscribe: Link<Subscribe>,
    /// Records heard from peers.
    pub remote: Link<ApplyRemoteServices>,
    /// Members confirmed down.
    pub expire: Link<ExpireNode>,
    /// The live members.
    pub members: Link<SetMembers>,
}

/// The actor. See the [module docs](self).
pub struct Gossiper {
    settings: GossiperSettings,
    sockets: Arc<GossipSockets>,
    clock: SharedClock,
    state: StateLinks,
    membership: Membership,
    memory: GossiperMemory,
    wire: Wire,
    udp: Option<Arc<UdpSocket>>,
    local: Arc<Snapshot>,
    admission: Admission,
    /// Batches handed to the StateKeeper and not applied yet.
    in_flight: Arc<AtomicUsize>,
    rng: StdRng,
    lifecycle: Lifecycle,
    log: Logger,
}

impl Gossiper {
    /// A Gossiper on the bound `sockets`; it joins and subscribes once started. It resumes
    /// the identity and members in `memory` when an earlier instance left some.
    pub fn new(
        settings: GossiperSettings,
        sockets: Arc<GossipSockets>,
        clock: SharedClock,
        state: StateLinks,
        memory: GossiperMemory,
        log: &Logger,
    ) -> Gossiper {
        let now = clock.now();
        let me = memory.identity().unwrap_or_else(|| {
            let incarnation = u64::try_from(now.unix_nanos() / 1_000_000).unwrap_or(0);
            NodeId::new(&settings.hostname, settings.advertise, incarnation)
        });
        let seed = u64::try_from(now.unix_nanos() & i128::from(u64::MAX)).unwrap_or(0);
        let membership = Membership::new(me, settings.membership.clone(), seed);
        let wire = Wire {
            cluster: ClusterId::of(&settings.cluster_name),
            keys: settings.keys.clone(),
            name: Arc::from(settings.hostname.as_str()),
            timeout: settings.session_timeout,
            source: sockets
                .tcp
                .local_addr()
                .ok()
                .map(|a| a.ip())
                .filter(|ip| !ip.is_unspecified()),
            tcp: memory.tcp_bytes(),
            bulk: Arc::new(tokio::sync::Semaphore::new(1)),
        };
        let policy = JoinPolicy {
            max_retry: settings.max_join_backoff,
            ..JoinPolicy::default()
        };
        Gossiper {
            admission: Admission::new(AdmissionLimits {
                sessions: settings.max_sessions,
                ..AdmissionLimits::default()
            }),
            lifecycle: Lifecycle::new(policy, !settings.seeds.is_empty()),
            local: Arc::new(Snapshot::empty(&settings.hostname, &settings.cluster_name)),
            log: log.new(o!("actor" => "gossiper")),
            settings,
            sockets,
            clock,
            state,
            membership,
            memory,
            wire,
            udp: None,
            in_flight: Arc::default(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The clock in Unix seconds (stamps "busy" answers).
    fn unix_secs(&self) -> u64 {
        u64::try_from(self.clock.now().unix_nanos() / 1_000_000_000).unwrap_or(0)
    }

    fn count(&mut self, reason: String) {
        self.count_many(reason, 1);
    }

    /// Counts `n` drops for one `reason` (logged once).
    fn count_many(&mut self, reason: String, n: usize) {
        if n == 0 {
            return;
        }
        debug!(self.log, "Dropped gossip input"; "reason" => &reason, "count" => n);
        self.memory
            .count(|s| *s.dropped.entry(reason).or_insert(0) += n as u64);
    }

    /// Carries out what the membership asked for.
    fn apply(&mut self, effects: Effects, ctx: &mut Context<Self>) {
        for (to, data) in effects.send {
            self.send_datagram(to, data);
        }
        for (token, delay) in effects.timers {
            ctx.run_later(delay, move |act, ctx| act.on_timer(token, ctx));
        }
        self.apply_received(effects.received);
        for node in &effects.check {
            self.check(node.clone(), ctx);
        }
        for node in &effects.member_down {
            info!(self.log, "Member down"; "node" => %node);
            self.state.expire.do_send(ExpireNode {
                hostname: node.name.clone(),
            });
        }
        let size = self.membership.members().count() + 1;
        for node in &effects.member_up {
            info!(self.log, "Member up"; "node" => %node);
            if heal_exchange(size, self.rng.random()) {
                self.exchange_with(node.addr, false, ctx);
            }
        }
        if effects.rejoined {
            info!(self.log, "Rejoined the cluster after being declared down");
            self.exchange_with_random_member(ctx);
        }
        for node in &effects.member_renewed {
            debug!(self.log, "Member renewed its identity"; "node" => %node);
        }
        if !effects.member_up.is_empty()
            || !effects.member_down.is_empty()
            || !effects.member_renewed.is_empty()
        {
            self.publish_members();
        }
        if let Some(error) = effects.error {
            debug!(self.log, "Membership refused an input"; "error" => %error);
            self.count("swim.refused".to_owned());
        }
    }

    fn send_datagram(&mut self, to: SocketAddr, data: Vec<u8>) {
        let Some(frame) = self.wire.datagram(data) else {
            self.count("send.encode".to_owned());
            return;
        };
        let sent = self.udp.as_ref().map(|udp| udp.try_send_to(&frame, to));
        match sent {
            Some(Ok(len)) => self.memory.count(|s| s.udp_sent.count(len)),
            _ => self.count("send.udp".to_owned()),
        }
    }

    fn on_timer(&mut self, token: TimerToken, ctx: &mut Context<Self>) {
        let effects = self.membership.handle_timer(token, self.clock.now());
        self.apply(effects, ctx);
    }

    /// Records heard on broadcasts, to the StateKeeper. A refresh is resolved against the
    /// last snapshot: a record held with the content it names moves to its version; one
    /// that names other content is counted (`broadcast.refresh_unmatched`) and left to
    /// anti-entropy.
    fn apply_received(&mut self, items: Vec<BroadcastItem>) {
        let mut services = Vec::with_capacity(items.len());
        for item in items {
            let held = self.local.state().get(&item.key.hostname, &item.key.id);
            match item.resolve(held) {
                Ok(Some(svc)) => services.push(svc),
                Ok(None) => self.count("broadcast.refresh_unmatched".to_owned()),
                Err(_) => self.count("broadcast.bad_record".to_owned()),
            }
        }
        let services = self.refuse_future(services, "broadcast.future_record");
        self.hand_over(services, RemoteSource::Broadcast);
    }

    /// Hands records heard from peers to the StateKeeper, unless it has
    /// [`GossiperSettings::max_batches_in_flight`] batches not applied yet: gossip input is
    /// bounded, and what is dropped (counted as `state.busy`, per record) is brought again by
    /// anti-entropy.
    pub(super) fn hand_over(&mut self, services: Vec<Service>, source: RemoteSource) {
        if services.is_empty() {
            return;
        }
        if self.in_flight.load(Ordering::Relaxed) >= self.settings.max_batches_in_flight {
            self.count_many("state.busy".to_owned(), services.len());
            return;
        }
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let applied = self
            .state
            .remote
            .send(ApplyRemoteServices { services, source });
        let in_flight = Arc::clone(&self.in_flight);
        actix::spawn(async move {
            let _ = applied.await;
            in_flight.fetch_sub(1, Ordering::Relaxed);
        });
    }

    /// Drops and counts under `reason` the records versioned later than now plus the
    /// allowed clock skew (the catalogue refuses them too; see `Lifespans::max_skew`).
    fn refuse_future(&mut self, mut services: Vec<Service>, reason: &str) -> Vec<Service> {
        let limit = (self.clock.now()).plus(self.settings.membership.max_clock_skew);
        let before = services.len();
        services.retain(|svc| svc.updated <= limit);
        self.count_many(reason.to_owned(), before - services.len());
        services
    }

    fn publish_members(&mut self) {
        let mut names: Vec<String> = self.membership.members().map(|m| m.name.clone()).collect();
        names.sort();
        let members = self.membership.members().cloned().collect();
        self.memory.remember(self.membership.identity(), members);
        self.memory.count(|s| s.members = names.clone());
        self.state.members.do_send(SetMembers(names));
    }

    /// Checks `node` directly and answers the membership.
    fn check(&mut self, node: NodeId, ctx: &mut Context<Self>) {
        let me = self.membership.identity().clone();
        let timeout = self.settings.membership.confirm_timeout / 2;
        let now = self.unix_secs();
        let check = net::probe(node.clone(), me, self.wire.clone(), timeout, now);
        ctx.spawn(check.into_actor(self).map(move |found, act, ctx| {
            debug!(act.log, "Checked a member directly"; "node" => %node, "found" => ?found);
            let effects = act.membership.checked(&node, found);
            act.apply(effects, ctx);
        }));
    }

    /// Broadcasts one of this node's records whole.
    pub(super) fn broadcast(&mut self, svc: &Service, ctx: &mut Context<Self>) {
        match BroadcastItem::record(svc) {
            Ok(item) => self.broadcast_item(&item, ctx),
            Err(_) => self.count("send.encode".to_owned()),
        }
    }

    /// Puts `item` on the membership's broadcasts.
    fn broadcast_item(&mut self, item: &BroadcastItem, ctx: &mut Context<Self>) {
        let effects = self.membership.broadcast(item, self.clock.now());
        self.memory.count(|s| s.broadcasts += 1);
        self.apply(effects, ctx);
    }
}

impl Actor for Gossiper {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1024);
        match self.sockets.tokio() {
            Ok((udp, tcp)) => {
                ctx.add_stream(net::datagrams(Arc::clone(&udp)));
                ctx.add_stream(net::connections(tcp));
                self.udp = Some(udp);
            }
            Err(err) => {
                warn!(self.log, "Cannot use the gossip sockets"; "error" => %err);
                ctx.stop();
                return;
            }
        }
        info!(self.log, "Gossip listening"; "node" => %self.membership.identity(),
            "seeds" => self.settings.seeds.join(","));
        self.state
            .subscribe
            .do_send(Subscribe(ctx.address().recipient()));
        self.schedule_push_pull(ctx);
        self.resume(ctx);
        self.join(ctx);
    }
}

impl StreamHandler<Datagram> for Gossiper {
    fn handle(&mut self, msg: Datagram, ctx: &mut Context<Self>) {
        self.memory.count(|s| s.udp_received.count(msg.0.len()));
        match self.wire.open_datagram(&msg.0) {
            Ok(swim) => {
                let effects = self.membership.handle_data(&swim, self.clock.now());
                self.apply(effects, ctx);
            }
            Err(refused) => self.count(refused.reason()),
        }
    }
}

impl StreamHandler<Accepted> for Gossiper {
    fn handle(&mut self, msg: Accepted, ctx: &mut Context<Self>) {
        self.serve(msg.0, ctx);
    }
}

impl Handler<StateChanged> for Gossiper {
    type Result = ();

    fn handle(&mut self, msg: StateChanged, ctx: &mut Context<Self>) {
        self.local = Arc::clone(&msg.snapshot);
        if !self.lifecycle.announces() {
            return;
        }
        for svc in msg.announced.iter() {
            self.broadcast(svc, ctx);
        }
        for svc in msg.refreshed.iter() {
            self.broadcast_item(&BroadcastItem::refresh(svc), ctx);
        }
    }
}

impl Handler<GetGossipStats> for Gossiper {
    type Result = MessageResult<GetGossipStats>;

    fn handle(&mut self, _: GetGossipStats, _: &mut Context<Self>) -> Self::Result {
        let mut stats = self.memory.stats();
        stats.tcp_sent_bytes = self.wire.tcp.sent.load(Ordering::Relaxed);
        stats.tcp_received_bytes = self.wire.tcp.received.load(Ordering::Relaxed);
        stats.observed_loss_percent = (self.membership.observed_loss() * 100.0).round() as u32;
        stats.transmissions = u32::from(self.membership.transmissions());
        MessageResult(stats)
    }
}

impl Handler<LeaveCluster> for Gossiper {
    type Result = ();

    fn handle(&mut self, _: LeaveCluster, ctx: &mut Context<Self>) {
        if !self.lifecycle.leave() {
            return;
        }
        info!(self.log, "Leaving the cluster");
        let effects = self.membership.leave();
        self.apply(effects, ctx);
    }
}

crate::supervised_actor!(Gossiper);

#[cfg(test)]
mod tests;
