//! Sans-IO cluster membership: SWIM (`foca`) plus a direct confirmation before a member is
//! reported down, and service records on foca's custom broadcasts.
//!
//! The caller feeds datagrams ([`Membership::handle_data`]) and due timers
//! ([`Membership::handle_timer`]) in and carries out the returned [`Effects`]: send datagrams,
//! schedule timers (every one must be delivered back, late is fine), apply received records,
//! and answer each [`Effects::check`] with [`Membership::checked`].
//!
//! # Failure detection, and what is added to foca (Lifeguard-like)
//!
//! foca is SWIM with suspicion: a member that misses a direct and the indirect probes is
//! suspected, and if it does not refute within `suspect_to_down_after` its prober declares it
//! down for everyone. foca has no Lifeguard, so one lossy prober can get a live node declared
//! down. Here foca's verdict is not final for the application:
//!
//! 1. foca's `MemberDown` only yields `Effects::check(node)`, after a random wait of up
//!    to [`MembershipConfig::confirm_spread`] so that the whole cluster does not check one
//!    member at the same instant; the caller checks the node directly (a hello over TCP, up
//!    to [`MembershipConfig::confirm_timeout`]; a refused connection is an immediate "dead",
//!    a "busy" answer from the node "alive") and answers with [`Membership::checked`].
//!    The checked node answers with [`Membership::is_active`], so a node that left is "dead"
//!    at once. Only a failed confirmation — or no answer by the deadline — yields
//!    `member_down`. Each node confirms on its own, over its own path.
//! 2. A confirmed-alive member stays up for the application; foca's notification to the
//!    "down" node makes it renew its identity and rejoin within about a probe period. If no
//!    identity of that name is active in foca after [`MembershipConfig::recheck_after`], the
//!    confirmation is asked again, so a member cannot stay up on confirmations alone forever.
//! 3. Because a false suspicion is now caught by the confirmation, the suspicion window can be
//!    short (2 s × max(1, log10 N)), which keeps a SIGKILL fast to detect.
//! 4. A member that misses a direct ping is probed through nine members, not foca's three
//!    ([`MembershipConfig::indirect_probes`]): under loss, fewer probes fail outright, so
//!    there are fewer suspicions to gossip and refute in the first place.
//! 5. When this node's own probe of a member fails, it checks the member directly at once
//!    ([`MembershipConfig::check_failed_probes`]). If the member's host refuses the
//!    connection, nothing listens at its gossip port: the process is gone (a crash, a
//!    SIGKILL). The member is then down here at once, and foca gossips the down to the
//!    cluster without waiting out the suspicion window; every other node still checks the
//!    member itself before reporting it. Any other outcome leaves foca's suspicion to run its
//!    course. A SIGKILLed node is thus tombstoned everywhere about a probe period after its
//!    first missed probe, whatever the cluster size, instead of a suspicion window later.
//!
//! # Dissemination under loss
//!
//! Each item (a membership update, a record) is sent `max_transmissions` times by every
//! node that holds it. Under loss that leaves some nodes without it, so this node reads the
//! loss off its own probes (`membership/loss.rs`) and raises the transmissions to make up for
//! it ([`MembershipConfig::compensate_loss`]).
//!
//! Partitions heal through foca's announce to down members, every
//! [`MembershipConfig::announce_down_every`] (foca's LAN default is 65 s). foca's config is
//! re-tuned with the member count (`Config::new_lan(n)`, as corrosion does).

use std::collections::BTreeMap;
use std::num::{NonZeroU8, NonZeroU32, NonZeroUsize};
use std::time::Duration;

use foca::{Codec, Config, Foca, Member, OwnedNotification, PeriodicParams, PostcardCodec};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::broadcast::{BroadcastItem, SeenHandle, ServiceBroadcasts};
use super::node_id::NodeId;
use super::wire::{HEADER_LEN, MAX_DATAGRAM, SEALING};
use crate::clock::Timestamp;

mod effects;
mod loss;
#[cfg(test)]
mod tests;

use effects::{Collect, Kind};
pub use effects::{Effects, MembershipError, TimerToken};
use loss::LossEstimate;

/// What a direct check of a member found (the caller's answer to [`Effects::check`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// It answered the check as itself, or said it is busy: alive.
    Alive,
    /// Its host refused the connection: nothing listens at its gossip port, the process is
    /// gone.
    Refused,
    /// No valid answer in time: silence, a closed connection, another node or a stale
    /// answer.
    NoAnswer,
}

/// The largest incarnation jump [`Membership::handle_data`] follows to get past an earlier
/// life of this node: 30 days of the millisecond start times incarnations are seeded with.
pub const MAX_INCARNATION_JUMP: u64 = 30 * 24 * 3600 * 1000;

/// Tuning beyond foca's LAN defaults.
#[derive(Clone, Debug)]
pub struct MembershipConfig {
    /// Suspicion lasts this × max(1, log10 N) before foca declares a member down.
    pub suspicion_base: Duration,
    /// Members asked to probe a member that missed a direct ping. foca's LAN value (and
    /// memberlist's) is 3. Under loss, every probe that fails outright becomes a suspicion and
    /// a refutation, both gossiped to every member, and some become false downs that the
    /// direct check must refute while the member renews its identity. At 1,000 members and
    /// 20 % loss, 3 cost 27 KB/s of SWIM traffic per node and about 20 renewed identities a
    /// second; 9 cost 3.8 KB/s and none (`swim_under_loss` in the simulation; a suspicion
    /// window twice as long only cut the downs by a third). They cost nothing while direct
    /// pings are answered.
    pub indirect_probes: usize,
    /// Members each periodic gossip (every 200 ms, while there is something to send) goes
    /// to. foca's LAN value (and memberlist's) is 3, which at 1,000 members and 10 changes a
    /// second leaves the gossip saturated: changes wait in the queue (p99 7.2 s to reach
    /// every node in the simulation). With 6 the p99 is 1.0 s. It costs no extra bytes: each
    /// item is still sent `max_transmissions` times, only sooner.
    pub gossip_fanout: usize,
    /// Ask the caller to confirm a down member directly before reporting it.
    pub confirm_down: bool,
    /// No answer to the check of a member foca declared down by then counts as "dead".
    pub confirm_timeout: Duration,
    /// Each node starts its check of a member foca declared down after a random wait of up
    /// to this, so that one suspicion does not send every node of the cluster at the member
    /// at once (docs/PROTOCOL.md, "Failure detection"). Zero checks at once. Half a second
    /// spreads 1,000 nodes' checks to two a millisecond, and adds 0.25 s on average to the
    /// detection of a killed node (whose refused connection fails the check at once).
    pub confirm_spread: Duration,
    /// A member kept up by a confirmation is confirmed again after this unless it rejoined.
    pub recheck_after: Duration,
    /// How often to announce to two down members, so partitions heal.
    pub announce_down_every: Duration,
    /// Down members are forgotten (no more announces to them) after this.
    pub remove_down_after: Duration,
    /// The largest datagram foca may produce. The default is what one gossip frame can carry,
    /// sealed or not ([`MAX_DATAGRAM`] less the header and the sealing): a bigger packet
    /// could not be framed, and would be dropped before it was sent.
    pub max_packet_size: usize,
    /// Broadcast items older than this are refused (the tombstone lifespan plus a minute).
    pub item_horizon: Duration,
    /// At most this many keys are remembered with their newest version.
    pub max_seen_keys: usize,
    /// Items versioned later than now + this are neither relayed nor remembered
    /// (`SIDECAR_MAX_CLOCK_SKEW`); the Gossiper counts and drops them.
    pub max_clock_skew: Duration,
    /// Check a member directly as soon as this node's own probe of it fails, and take a
    /// refused connection as its death at once (see the module docs, point 5).
    pub check_failed_probes: bool,
    /// Raise the transmissions to make up for the loss this node's probes see (see the
    /// module docs, "Dissemination under loss").
    pub compensate_loss: bool,
    /// Each update and record is sent at least this many times, whatever the cluster size.
    /// foca's LAN value (4 × log10(N+1)) is 1–2 below ten members: a record relayed twice
    /// to random members, some of which already hold it, often dies out before reaching
    /// everyone. Go Sidecar sends every change 5 times (ALIVE_COUNT).
    pub min_transmissions: u8,
    /// Added to foca's transmissions (12 at 1,000 members). Each member hears a change about
    /// that many times, so it misses it with a probability of about e^-tx: with 12, 600
    /// changes at 1,000 nodes leave about 3.7 members without one until push/pull repairs it
    /// (within its 20 s period), enough to break a p99 one run in six. With 14, about 0.5.
    /// Costs a sixth more record bytes. Under loss, [`MembershipConfig::compensate_loss`]
    /// raises the total further.
    pub extra_transmissions: u8,
}

impl Default for MembershipConfig {
    fn default() -> Self {
        MembershipConfig {
            suspicion_base: Duration::from_secs(2),
            indirect_probes: 9,
            gossip_fanout: 6,
            confirm_down: true,
            confirm_timeout: Duration::from_millis(2500),
            confirm_spread: Duration::from_millis(500),
            recheck_after: Duration::from_secs(10),
            announce_down_every: Duration::from_secs(2),
            remove_down_after: Duration::from_secs(3600),
            max_packet_size: MAX_DATAGRAM - HEADER_LEN - SEALING,
            item_horizon: Duration::from_secs(3 * 3600 + 60),
            max_seen_keys: 1 << 20,
            max_clock_skew: Duration::from_secs(300),
            check_failed_probes: true,
            compensate_loss: true,
            min_transmissions: 5,
            extra_transmissions: 2,
        }
    }
}

impl MembershipConfig {
    /// foca's configuration for a cluster of `size` members on links that lose `loss` of
    /// their datagrams (as this node sees it; 0 when [`MembershipConfig::compensate_loss`]
    /// is off).
    pub fn foca_config(&self, size: usize, loss: f64) -> Config {
        let n = NonZeroU32::new(u32::try_from(size).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        let mut config = Config::new_lan(n);
        let scale = f64::max(1.0, f64::from(n.get()).log10());
        config.suspect_to_down_after = self.suspicion_base.mul_f64(scale);
        config.num_indirect_probes = at_least_one(self.indirect_probes);
        let lossless = config
            .max_transmissions
            .get()
            .saturating_add(self.extra_transmissions)
            .max(self.min_transmissions);
        let loss = if self.compensate_loss { loss } else { 0.0 };
        let transmissions = loss::compensated(lossless, loss);
        config.max_transmissions = NonZeroU8::new(transmissions).unwrap_or(NonZeroU8::MIN);
        config.remove_down_after = Some(self.remove_down_after);
        config.max_packet_size = at_least_one(self.max_packet_size);
        if let Some(gossip) = config.periodic_gossip.as_mut() {
            gossip.num_members = at_least_one(self.gossip_fanout);
        }
        config.periodic_announce_to_down_members = Some(PeriodicParams {
            frequency: self.announce_down_every,
            num_members: at_least_one(2),
        });
        config
    }
}

/// `n`, or 1 if it is 0 (foca's counts and sizes are non-zero).
fn at_least_one(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
}

/// A member foca declared down, awaiting the caller's check.
#[derive(Debug)]
struct Pending {
    node: NodeId,
    /// Whether its check has started (after the random wait).
    started: bool,
}

/// One node's view of the cluster (see the module docs).
pub struct Membership {
    foca: Foca<NodeId, PostcardCodec, StdRng, ServiceBroadcasts>,
    seen: SeenHandle,
    config: MembershipConfig,
    /// Members the application sees as up, by name.
    up: BTreeMap<String, NodeId>,
    /// Members foca declared down, awaiting the caller's confirmation.
    pending: BTreeMap<String, Pending>,
    tuned_for: (u8, Duration),
    /// The loss this node's probes see (`membership/loss.rs`).
    loss: LossEstimate,
    active: bool,
    /// Draws the wait before each check ([`MembershipConfig::confirm_spread`]).
    jitter: StdRng,
}

impl std::fmt::Debug for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Membership")
            .field("identity", self.foca.identity())
            .field("up", &self.up.len())
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl Membership {
    /// A node alone, not yet announced; `seed` seeds its random choices.
    pub fn new(identity: NodeId, config: MembershipConfig, seed: u64) -> Membership {
        let seen = SeenHandle::new(config.item_horizon, config.max_seen_keys)
            .with_max_skew(config.max_clock_skew);
        let foca_config = config.foca_config(1, 0.0);
        let tuned_for = (
            foca_config.max_transmissions.get(),
            foca_config.suspect_to_down_after,
        );
        let foca = Foca::with_custom_broadcast(
            identity,
            foca_config,
            StdRng::seed_from_u64(seed),
            PostcardCodec,
            ServiceBroadcasts::new(seen.clone()),
        );
        Membership {
            foca,
            seen,
            config,
            up: BTreeMap::new(),
            pending: BTreeMap::new(),
            tuned_for,
            loss: LossEstimate::default(),
            active: true,
            jitter: StdRng::seed_from_u64(seed.rotate_left(32) ^ 0x5eed),
        }
    }

    /// This node's current identity (renewed when the cluster declared it down).
    pub fn identity(&self) -> &NodeId {
        self.foca.identity()
    }

    /// Whether this node is a member (not left, not declared down without renewal). A peer's
    /// direct check ([`Effects::check`]) of this node must be answered with this.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The members the application sees as up (not this node).
    pub fn members(&self) -> impl Iterator<Item = &NodeId> {
        self.up.values()
    }

    /// How many members foca itself holds active (for metrics and tests).
    pub fn foca_members(&self) -> usize {
        self.foca.num_members()
    }

    /// The share of datagrams this node's links lose, as its own probes see it (rounded to
    /// 5 %, at most 50 %).
    pub fn observed_loss(&self) -> f64 {
        self.loss.loss()
    }

    /// How many times each update and record is now sent (foca's `max_transmissions`).
    pub fn transmissions(&self) -> u8 {
        self.tuned_for.0
    }

    /// How many record keys the broadcast handler remembers.
    pub fn seen_keys(&self) -> usize {
        self.seen.len()
    }

    /// A datagram from a peer.
    pub fn handle_data(&mut self, data: &[u8], now: Timestamp) -> Effects {
        self.seen.set_now(now);
        let mut effects = self.catch_up_identity(data);
        effects.extend(self.drive(|foca, rt| foca.handle_data(data, rt)));
        effects
    }

    /// A datagram addressed to an earlier life of this node (same name and address) whose
    /// incarnation is not below this one's: this process started with a clock behind its
    /// previous life's, whose start time seeded that incarnation. The cluster holds the
    /// earlier life and would refuse this one until it forgets it (an hour for a member
    /// down), so this node takes an incarnation past it and rejoins at once. A jump of more
    /// than [`MAX_INCARNATION_JUMP`] is not followed (a forged datagram must not push the
    /// incarnation to its end).
    fn catch_up_identity(&mut self, data: &[u8]) -> Effects {
        let Ok(header) = Codec::<NodeId>::decode_header(&mut PostcardCodec, data) else {
            return Effects::default();
        };
        let me = self.foca.identity();
        let earlier_life = header.dst.name == me.name && header.dst.addr == me.addr;
        let ahead = header.dst.incarnation.checked_sub(me.incarnation);
        match ahead {
            Some(jump) if earlier_life && jump <= MAX_INCARNATION_JUMP && header.dst != *me => {
                let renewed = NodeId {
                    incarnation: header.dst.incarnation.saturating_add(1),
                    ..me.clone()
                };
                let mut effects = self.drive(|foca, rt| foca.change_identity(renewed, rt));
                effects.rejoined = true;
                effects
            }
            _ => Effects::default(),
        }
    }

    /// A timer that came due.
    pub fn handle_timer(&mut self, token: TimerToken, now: Timestamp) -> Effects {
        self.seen.set_now(now);
        match token.0 {
            Kind::Foca(timer) => self.drive(|foca, rt| foca.handle_timer(timer, rt)),
            Kind::ConfirmDeadline(node) => self.checked(&node, Checked::NoAnswer),
            Kind::Recheck(name) => self.recheck(&name),
            Kind::StartConfirm(node) => {
                let mut effects = Effects::default();
                self.start_confirmation(&node, &mut effects);
                effects
            }
        }
    }

    /// Joins through `seed`. Only its name must be right (foca accepts an announce addressed
    /// to its name whatever the incarnation): the Gossiper learns it from the join exchange.
    pub fn announce(&mut self, seed: NodeId) -> Effects {
        self.drive(|foca, rt| foca.announce(seed, rt))
    }

    /// Adds members learnt out of band (the join exchange, a persisted list) as alive, without
    /// gossiping them.
    pub fn apply_members(&mut self, members: impl Iterator<Item = NodeId>) -> Effects {
        self.drive(|foca, rt| foca.apply_many(members.map(foca::Member::alive), false, rt))
    }

    /// Tells the cluster this node leaves; the node is then inactive.
    pub fn leave(&mut self) -> Effects {
        let effects = self.drive(|foca, rt| foca.leave_cluster(rt));
        self.active = false;
        self.up.clear();
        self.pending.clear();
        effects
    }

    /// Disseminates one record version. Ignored (empty effects) when not newer than what this
    /// node has already seen for the key.
    pub fn broadcast(&mut self, item: &BroadcastItem, now: Timestamp) -> Effects {
        self.seen.set_now(now);
        let data = match item.encode() {
            Ok(data) => data,
            Err(e) => return Effects::failed(e.into()),
        };
        self.drive(|foca, rt| match foca.add_broadcast(&data)? {
            true => foca.broadcast(rt),
            false => Ok(()),
        })
    }

    /// A peer holds member `name` dead (an exchange brought its tombstones; see
    /// `Lifecycle::after_exchange`) while it is up here: this node may have missed the word,
    /// so it checks the member directly, as after a failed probe of its own. Only a refused
    /// connection takes the member down ([`Membership::checked`]); an answer or silence
    /// leaves it to SWIM. Nothing while a check of it is pending, or without
    /// [`MembershipConfig::check_failed_probes`].
    pub fn heard_dead(&mut self, name: &str) -> Effects {
        let mut effects = Effects::default();
        if !self.config.check_failed_probes || self.pending.contains_key(name) {
            return effects;
        }
        effects.check.extend(self.up.get(name).cloned());
        effects
    }

    /// The caller's answer to [`Effects::check`]: what the direct check of `node` found.
    ///
    /// A refused connection is the member's death: it is down here at once and foca tells
    /// the cluster. Otherwise, for a member foca declared down, an answer keeps it up (and
    /// it is checked again after [`MembershipConfig::recheck_after`] unless it rejoins), and
    /// no answer reports it down; for a member whose probe failed, foca's suspicion goes on.
    pub fn checked(&mut self, node: &NodeId, found: Checked) -> Effects {
        if found == Checked::Refused && self.up.get(&node.name) == Some(node) {
            return self.gone(node);
        }
        let mut effects = Effects::default();
        let started = match self.pending.get(&node.name) {
            Some(pending) if pending.node == *node => pending.started,
            _ => return effects,
        };
        // A failed probe's check that ends in silence before the confirmation's own check
        // has started says nothing about the confirmation: it waits for its own.
        if found == Checked::NoAnswer && !started {
            return effects;
        }
        self.pending.remove(&node.name);
        if found == Checked::Alive {
            let token = TimerToken(Kind::Recheck(node.name.clone()));
            effects.timers.push((token, self.config.recheck_after));
        } else if self.up.remove(&node.name).is_some() {
            effects.member_down.push(node.clone());
        }
        effects
    }

    /// `node`'s process is gone: down here, and declared down to foca, which gossips it
    /// (its `MemberDown` notification then finds the member already gone here).
    fn gone(&mut self, node: &NodeId) -> Effects {
        self.pending.remove(&node.name);
        self.up.remove(&node.name);
        let down = std::iter::once(Member::down(node.clone()));
        let mut effects = self.drive(|foca, rt| foca.apply_many(down, true, rt));
        effects.member_down.push(node.clone());
        effects
    }

    fn recheck(&mut self, name: &str) -> Effects {
        let mut effects = Effects::default();
        let active = self.foca.iter_members().any(|m| m.id().name == name);
        if let Some(node) = self.up.get(name).filter(|_| !active).cloned() {
            self.ask_confirmation(node, &mut effects);
        }
        effects
    }

    fn ask_confirmation(&mut self, node: NodeId, effects: &mut Effects) {
        if !self.config.confirm_down {
            self.up.remove(&node.name);
            effects.member_down.push(node);
            return;
        }
        if self.pending.contains_key(&node.name) {
            return;
        }
        let pending = Pending {
            node: node.clone(),
            started: false,
        };
        self.pending.insert(node.name.clone(), pending);
        let spread = u64::try_from(self.config.confirm_spread.as_millis()).unwrap_or(u64::MAX);
        if spread == 0 {
            self.start_confirmation(&node, effects);
            return;
        }
        let delay = Duration::from_millis(self.jitter.random_range(0..spread));
        effects
            .timers
            .push((TimerToken(Kind::StartConfirm(node)), delay));
    }

    /// The check of `node` starts now, unless it came back meanwhile.
    fn start_confirmation(&mut self, node: &NodeId, effects: &mut Effects) {
        match self.pending.get_mut(&node.name) {
            Some(pending) if pending.node == *node => pending.started = true,
            _ => return,
        }
        let deadline = TimerToken(Kind::ConfirmDeadline(node.clone()));
        effects.timers.push((deadline, self.config.confirm_timeout));
        effects.check.push(node.clone());
    }

    /// Runs one foca call with a collecting runtime, then turns its notifications into
    /// effects and re-tunes foca for the member count.
    fn drive(
        &mut self,
        call: impl FnOnce(
            &mut Foca<NodeId, PostcardCodec, StdRng, ServiceBroadcasts>,
            &mut Collect,
        ) -> Result<(), foca::Error>,
    ) -> Effects {
        let mut rt = Collect::default();
        let result = call(&mut self.foca, &mut rt);
        let (mut effects, collected) = rt.finish();
        self.loss
            .record(collected.probes.pings, collected.probes.acks);
        self.drop_stray_turn_undead(&mut effects, &collected.turn_undead);
        for note in collected.notes {
            self.on_notification(note, &mut effects);
        }
        effects.received = self.seen.drain();
        self.retune();
        effects.error = result.err().map(MembershipError::from);
        effects
    }

    /// Drops every `TurnUndead` ("we declared you down") foca addresses to a member it still
    /// holds as active (`turn_undead`: index in `effects.send` and addressee). foca sends one
    /// whenever a suspicion's timer expires on the same incarnation, even when the member
    /// proved itself alive meanwhile by talking to this node directly (which clears the
    /// suspicion without a new incarnation), so the down is not applied. The member would then
    /// renew its identity for nothing, and miss what was gossiped while the cluster caught up
    /// with its new one: at 20 % loss that was two renewals a second among 1,000 nodes, none
    /// of them declared down anywhere.
    fn drop_stray_turn_undead(&self, effects: &mut Effects, turn_undead: &[(usize, NodeId)]) {
        let active = |dst: &NodeId| self.foca.iter_members().any(|m| m.id() == dst);
        let stray: Vec<usize> = turn_undead
            .iter()
            .filter(|(_, dst)| active(dst))
            .map(|(at, _)| *at)
            .collect();
        let mut at = 0;
        effects.send.retain(|_| {
            at += 1;
            !stray.contains(&(at - 1))
        });
    }

    fn on_notification(&mut self, note: OwnedNotification<NodeId>, effects: &mut Effects) {
        match note {
            OwnedNotification::MemberUp(id) | OwnedNotification::Rename(_, id) => {
                self.pending.remove(&id.name);
                match self.up.insert(id.name.clone(), id.clone()) {
                    None => effects.member_up.push(id),
                    Some(old) if old != id => effects.member_renewed.push(id),
                    Some(_) => {}
                }
            }
            OwnedNotification::MemberDown(id) if self.up.get(&id.name) == Some(&id) => {
                self.ask_confirmation(id, effects);
            }
            OwnedNotification::ProbeFailed(_, id)
                if self.config.check_failed_probes
                    && self.up.get(&id.name) == Some(&id)
                    && !self.pending.contains_key(&id.name) =>
            {
                effects.check.push(id);
            }
            OwnedNotification::Defunct => self.active = false,
            OwnedNotification::Active => self.active = true,
            OwnedNotification::Rejoin(_) => {
                self.active = true;
                effects.rejoined = true;
            }
            _ => {}
        }
    }

    fn retune(&mut self) {
        let config = self
            .config
            .foca_config(self.foca.num_members() + 1, self.loss.loss());
        let key = (config.max_transmissions.get(), config.suspect_to_down_after);
        if key != self.tuned_for && self.foca.set_config(config).is_ok() {
            self.tuned_for = key;
        }
    }
}
