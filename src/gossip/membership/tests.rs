//! Two and three `Membership`s wired by hand: datagrams delivered at once, timers in a queue.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::*;

const T0: i128 = 1_800_000_000_000_000_000;

struct Net {
    nodes: Vec<Membership>,
    /// (due in ms, node, token)
    timers: Vec<(u64, usize, TimerToken)>,
    now_ms: u64,
    ups: Vec<Vec<NodeId>>,
    renewed: Vec<Vec<NodeId>>,
    downs: Vec<Vec<NodeId>>,
    received: Vec<Vec<BroadcastItem>>,
    alive: Vec<bool>,
    /// Whether a killed node's host refuses connections (or drops them: no answer).
    refuses: bool,
}

fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1 + i as u8], 7946))
}

fn id(i: usize, inc: u64) -> NodeId {
    NodeId::new(&format!("node-{i}"), addr(i), inc)
}

impl Net {
    fn new(n: usize) -> Net {
        Net::with_config(n, &MembershipConfig::default())
    }

    fn with_config(n: usize, config: &MembershipConfig) -> Net {
        Net {
            nodes: (0..n)
                .map(|i| Membership::new(id(i, 1), config.clone(), i as u64))
                .collect(),
            timers: Vec::new(),
            now_ms: 0,
            ups: vec![Vec::new(); n],
            renewed: vec![Vec::new(); n],
            downs: vec![Vec::new(); n],
            received: vec![Vec::new(); n],
            alive: vec![true; n],
            refuses: true,
        }
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_unix_nanos(T0 + i128::from(self.now_ms) * 1_000_000)
    }

    fn apply(&mut self, from: usize, effects: Effects) {
        let mut queue = vec![(from, effects)];
        while let Some((at, fx)) = queue.pop() {
            self.ups[at].extend(fx.member_up);
            self.renewed[at].extend(fx.member_renewed);
            self.downs[at].extend(fx.member_down);
            self.received[at].extend(fx.received);
            for (token, after) in fx.timers {
                let due = self.now_ms + after.as_millis() as u64;
                self.timers.push((due, at, token));
            }
            for node in fx.check {
                let found = self.check(&node);
                let fx = self.nodes[at].checked(&node, found);
                queue.push((at, fx));
            }
            for (to, data) in fx.send {
                let Some(dst) = (0..self.nodes.len()).find(|i| addr(*i) == to) else {
                    continue;
                };
                if !self.alive[dst] {
                    continue;
                }
                let now = self.now();
                let fx = self.nodes[dst].handle_data(&data, now);
                queue.push((dst, fx));
            }
        }
    }

    /// A direct check of `node`: a killed node's host refuses, an inactive one does not
    /// answer as itself.
    fn check(&self, node: &NodeId) -> Checked {
        match self.index(node) {
            Some(i) if !self.alive[i] && self.refuses => Checked::Refused,
            Some(i) if !self.alive[i] => Checked::NoAnswer,
            Some(i) if self.nodes[i].is_active() => Checked::Alive,
            _ => Checked::NoAnswer,
        }
    }

    fn index(&self, node: &NodeId) -> Option<usize> {
        (0..self.nodes.len()).find(|i| addr(*i) == node.addr)
    }

    fn run_for(&mut self, ms: u64) {
        let end = self.now_ms + ms;
        loop {
            self.timers.sort_by_key(|t| std::cmp::Reverse(t.0));
            match self.timers.last() {
                Some(t) if t.0 <= end => {}
                _ => break,
            }
            let (due, at, token) = self.timers.pop().unwrap();
            self.now_ms = due;
            if !self.alive[at] {
                continue;
            }
            let now = self.now();
            let fx = self.nodes[at].handle_timer(token, now);
            self.apply(at, fx);
        }
        self.now_ms = end;
    }

    /// Node `i` starts again under incarnation `incarnation`, announces itself to node 0,
    /// and the net runs for 5 s.
    fn restart(&mut self, i: usize, incarnation: u64) {
        self.alive[i] = true;
        self.nodes[i] = Membership::new(id(i, incarnation), MembershipConfig::default(), 99);
        let fx = self.nodes[i].announce(id(0, 0));
        self.apply(i, fx);
        self.run_for(5_000);
    }

    fn join_all(&mut self) {
        for i in 1..self.nodes.len() {
            let fx = self.nodes[i].announce(id(0, 0));
            self.apply(i, fx);
        }
        self.run_for(3_000);
    }
}

fn item(host: &str, secs: i128) -> BroadcastItem {
    BroadcastItem {
        key: crate::catalog::RecordKey::new(host, "svc"),
        version: Timestamp::from_unix_nanos(T0 + secs * 1_000_000_000),
        payload: vec![secs as u8],
    }
}

#[test]
fn announce_brings_both_sides_up() {
    let mut net = Net::new(2);
    net.join_all();
    assert_eq!(net.ups[0], vec![id(1, 1)]);
    assert_eq!(net.ups[1], vec![id(0, 1)]);
    assert_eq!(net.nodes[0].members().count(), 1);
}

#[test]
fn broadcast_reaches_the_others_and_newer_supersedes() {
    let mut net = Net::new(3);
    net.join_all();
    let now = net.now();
    let fx = net.nodes[0].broadcast(&item("node-0", 1), now);
    net.apply(0, fx);
    net.run_for(2_000);
    assert_eq!(net.received[1], vec![item("node-0", 1)]);
    assert_eq!(net.received[2], vec![item("node-0", 1)]);
    let fx = net.nodes[0].broadcast(&item("node-0", 2), now);
    net.apply(0, fx);
    net.run_for(2_000);
    assert_eq!(net.received[1].last(), Some(&item("node-0", 2)));
    assert_eq!(net.received[2].len(), 2);
}

#[test]
fn older_version_is_ignored_and_not_disseminated() {
    let mut net = Net::new(2);
    net.join_all();
    let now = net.now();
    let fx = net.nodes[0].broadcast(&item("node-0", 5), now);
    net.apply(0, fx);
    net.run_for(2_000);
    let fx = net.nodes[1].broadcast(&item("node-0", 4), now);
    assert!(fx.send.is_empty(), "an older version must not be sent");
    assert_eq!(net.nodes[1].foca.custom_broadcast_backlog(), 0);
    net.apply(1, fx);
    net.run_for(2_000);
    assert_eq!(net.received[0], Vec::<BroadcastItem>::new());
}

#[test]
fn queued_older_version_is_superseded() {
    let mut m = Membership::new(id(0, 1), MembershipConfig::default(), 7);
    let now = Timestamp::from_unix_nanos(T0);
    let _ = m.broadcast(&item("node-0", 1), now);
    let _ = m.broadcast(&item("node-0", 2), now);
    assert_eq!(m.foca.custom_broadcast_backlog(), 1);
}

#[test]
fn leave_brings_the_member_down_on_the_others() {
    let mut net = Net::new(3);
    net.join_all();
    let fx = net.nodes[2].leave();
    assert!(!net.nodes[2].is_active());
    net.apply(2, fx);
    net.alive[2] = false;
    net.run_for(5_000);
    assert_eq!(net.downs[0], vec![id(2, 1)]);
    assert_eq!(net.downs[1], vec![id(2, 1)]);
}

#[test]
fn killed_member_goes_down_after_confirmation() {
    let mut net = Net::new(3);
    net.join_all();
    net.alive[2] = false;
    net.run_for(10_000);
    assert_eq!(net.downs[0], vec![id(2, 1)]);
    assert_eq!(net.downs[1], vec![id(2, 1)]);
}

#[test]
fn a_member_reported_down_that_comes_back_is_reported_up_again() {
    let mut net = Net::new(3);
    net.join_all();
    net.alive[2] = false;
    net.run_for(10_000);
    assert_eq!(net.downs[0], vec![id(2, 1)]);
    net.restart(2, 9);
    assert!(net.ups[0].contains(&id(2, 9)), "{:?}", net.ups[0]);
    assert!(net.renewed[0].is_empty(), "{:?}", net.renewed[0]);
}

/// An announce from node 0 addressed to `dst`, as foca sends to members it holds as down
/// (every `announce_down_every`).
fn announce_to(dst: NodeId) -> Vec<u8> {
    datagram_to(dst, foca::Message::Announce)
}

#[test]
fn a_node_started_with_a_clock_behind_its_previous_life_takes_an_incarnation_past_it() {
    // Incarnations are seeded with the start time in ms. This start's clock is an hour
    // behind the previous life's, which every peer holds as down and which wins every
    // conflict: foca's own renewals (+1 per round trip) would take an hour to get past it.
    let previous = 1_800_000_000_000;
    let config = MembershipConfig::default();
    let mut node = Membership::new(id(1, previous - 3_600_000), config, 1);
    let fx = node.handle_data(
        &announce_to(id(1, previous)),
        Timestamp::from_unix_nanos(T0),
    );
    assert_eq!(node.identity().incarnation, previous + 1);
    assert!(fx.rejoined);
}

#[test]
fn a_datagram_for_a_far_later_life_does_not_move_the_incarnation() {
    let config = MembershipConfig::default();
    let mut node = Membership::new(id(1, 1), config, 1);
    let forged = id(1, 1 + MAX_INCARNATION_JUMP + 1);
    let _ = node.handle_data(&announce_to(forged), Timestamp::from_unix_nanos(T0));
    assert_eq!(node.identity().incarnation, 1);
}

#[test]
fn live_member_is_not_reported_down_when_confirmation_says_alive() {
    let mut net = Net::new(2);
    net.join_all();
    let node = id(1, 1);
    // As if foca had declared node-1 down: the direct check answers alive.
    let mut fx = Effects::default();
    net.nodes[0].ask_confirmation(node.clone(), &mut fx);
    assert!(fx.check.is_empty(), "the check waits a random while first");
    let (token, _) = fx.timers.pop().unwrap();
    let now = net.now();
    let fx = net.nodes[0].handle_timer(token, now);
    assert_eq!(fx.check, vec![node.clone()]);
    let fx = net.nodes[0].checked(&node, Checked::Alive);
    assert!(fx.member_down.is_empty());
    assert_eq!(net.nodes[0].members().count(), 1);
}

#[test]
fn a_member_restarted_under_a_renewed_identity_is_renewed_not_reported_up_again() {
    let mut net = Net::new(3);
    net.join_all();
    net.restart(2, 9);
    let names: BTreeMap<String, u64> = net.nodes[0]
        .members()
        .map(|m| (m.name.clone(), m.incarnation))
        .collect();
    assert_eq!(names.get("node-2"), Some(&9));
    assert!(net.renewed[0].contains(&id(2, 9)), "{:?}", net.renewed[0]);
    assert!(
        !net.ups[0].contains(&id(2, 9)),
        "it never went down here: nothing to heal"
    );
    assert!(net.downs[0].is_empty(), "a restart is not a death");
    assert!(net.nodes[1].members().any(|m| *m == id(2, 9)));
}

#[test]
fn the_largest_packet_fits_a_sealed_datagram_frame() {
    use crate::gossip::crypto::KeyRing;
    use crate::gossip::wire::{ClusterId, FrameContext, Message, encode};

    let keys = KeyRing::new(&[[7_u8; 32]]).unwrap();
    let largest = Message::Swim(vec![0; MembershipConfig::default().max_packet_size]);
    for keys in [None, Some(&keys)] {
        let ctx = FrameContext::datagram(ClusterId::of("test"), keys);
        assert!(encode(&largest, &ctx).is_ok(), "sealed: {}", keys.is_some());
    }
}

#[test]
fn the_checks_of_one_suspicion_are_spread_over_half_a_second_across_nodes() {
    let suspect = id(99, 1);
    let mut delays: Vec<u128> = (0..50)
        .map(|i| {
            let mut node = Membership::new(id(i, 1), MembershipConfig::default(), i as u64);
            node.up.insert(suspect.name.clone(), suspect.clone());
            let mut fx = Effects::default();
            node.ask_confirmation(suspect.clone(), &mut fx);
            assert!(fx.check.is_empty());
            fx.timers[0].1.as_millis()
        })
        .collect();
    delays.sort_unstable();
    delays.dedup();
    assert!(delays.len() > 40, "{delays:?}");
    assert!(delays.iter().all(|d| *d < 500), "{delays:?}");
}

#[test]
fn a_suspect_that_comes_back_before_its_check_starts_is_not_checked() {
    let mut net = Net::new(2);
    net.join_all();
    let node = id(1, 1);
    let mut fx = Effects::default();
    net.nodes[0].ask_confirmation(node.clone(), &mut fx);
    net.nodes[0].pending.remove(&node.name);
    let (token, _) = fx.timers.pop().unwrap();
    let now = net.now();
    let fx = net.nodes[0].handle_timer(token, now);
    assert!(fx.check.is_empty() && fx.timers.is_empty());
}

/// A suspicion window of 30 s (at three nodes), far longer than a probe period.
fn slow_suspicion() -> MembershipConfig {
    MembershipConfig {
        suspicion_base: Duration::from_secs(30),
        ..MembershipConfig::default()
    }
}

#[test]
fn a_killed_member_whose_host_refuses_is_down_everywhere_long_before_the_suspicion_window() {
    let mut net = Net::with_config(3, &slow_suspicion());
    net.join_all();
    net.alive[2] = false;
    net.run_for(5_000);
    assert_eq!(net.downs[0], vec![id(2, 1)]);
    assert_eq!(net.downs[1], vec![id(2, 1)]);
}

#[test]
fn a_member_that_does_not_answer_at_all_is_down_only_after_the_suspicion_window() {
    let mut net = Net::with_config(3, &slow_suspicion());
    net.refuses = false;
    net.join_all();
    net.alive[2] = false;
    net.run_for(20_000);
    assert!(net.downs[0].is_empty() && net.downs[1].is_empty());
    net.run_for(20_000);
    assert_eq!(net.downs[0], vec![id(2, 1)]);
    assert_eq!(net.downs[1], vec![id(2, 1)]);
}

#[test]
fn a_failed_probe_of_a_member_that_answers_its_check_changes_nothing() {
    let mut net = Net::new(2);
    net.join_all();
    let node = id(1, 1);
    let fx = net.nodes[0].checked(&node, Checked::Alive);
    assert!(fx.member_down.is_empty() && fx.send.is_empty() && fx.timers.is_empty());
    let fx = net.nodes[0].checked(&node, Checked::NoAnswer);
    assert!(fx.member_down.is_empty() && fx.send.is_empty());
    assert_eq!(net.nodes[0].members().count(), 1);
}

#[test]
fn without_the_fast_check_a_failed_probe_asks_for_no_check() {
    let config = MembershipConfig {
        check_failed_probes: false,
        ..slow_suspicion()
    };
    let mut net = Net::with_config(3, &config);
    net.join_all();
    net.alive[2] = false;
    net.run_for(20_000);
    assert!(net.downs[0].is_empty() && net.downs[1].is_empty());
}

#[test]
fn transmissions_make_up_for_the_loss_the_node_observes() {
    let config = MembershipConfig::default();
    let lossless = config.foca_config(1000, 0.0).max_transmissions.get();
    assert_eq!(lossless, 14);
    assert_eq!(config.foca_config(1000, 0.2).max_transmissions.get(), 22);
    let off = MembershipConfig {
        compensate_loss: false,
        ..config
    };
    assert_eq!(off.foca_config(1000, 0.2).max_transmissions.get(), 14);
}

#[test]
fn a_lossless_cluster_keeps_its_transmissions_as_the_probes_go_on() {
    let mut net = Net::new(3);
    net.join_all();
    net.run_for(60_000);
    for node in &net.nodes {
        assert_eq!(node.observed_loss(), 0.0);
        assert_eq!(node.transmissions(), 5);
    }
}

#[test]
fn silence_from_a_failed_probes_check_does_not_settle_a_confirmation_not_yet_started() {
    let mut net = Net::new(2);
    net.join_all();
    let node = id(1, 1);
    let mut asked = Effects::default();
    net.nodes[0].ask_confirmation(node.clone(), &mut asked);
    let fx = net.nodes[0].checked(&node, Checked::NoAnswer);
    assert!(fx.member_down.is_empty());
    let (start, _) = asked.timers.pop().unwrap();
    let now = net.now();
    let fx = net.nodes[0].handle_timer(start, now);
    assert_eq!(
        fx.check,
        vec![node.clone()],
        "the confirmation runs its own check"
    );
    let fx = net.nodes[0].checked(&node, Checked::NoAnswer);
    assert_eq!(fx.member_down, vec![node]);
}

/// A header-only datagram from node 0 to `dst` carrying `message`.
fn datagram_to(dst: NodeId, message: foca::Message<NodeId>) -> Vec<u8> {
    let header = foca::Header {
        src: id(0, 1),
        src_incarnation: 0,
        dst,
        message,
    };
    let mut data = Vec::new();
    Codec::<NodeId>::encode_header(&mut PostcardCodec, &header, &mut data).unwrap();
    data
}

#[test]
fn no_member_foca_holds_as_active_is_told_it_was_declared_down() {
    use foca::Runtime as _;

    let mut net = Net::new(2);
    net.join_all();
    let alive = id(1, 1);
    let gone = id(5, 1);
    // What foca's runtime sees when it sends: each datagram, then its header.
    let mut rt = effects::Collect::default();
    for (to, message) in [
        (alive.clone(), foca::Message::TurnUndead),
        (gone.clone(), foca::Message::TurnUndead),
        (alive.clone(), foca::Message::Gossip),
    ] {
        let header = foca::Header {
            src: id(0, 1),
            src_incarnation: 0,
            dst: to.clone(),
            message,
        };
        rt.send_to(to, &[0]);
        rt.notify(foca::Notification::DataSent(&header));
    }
    let (mut fx, collected) = rt.finish();
    net.nodes[0].drop_stray_turn_undead(&mut fx, &collected.turn_undead);
    let kept: Vec<SocketAddr> = fx.send.iter().map(|(to, _)| *to).collect();
    assert_eq!(kept, vec![gone.addr, alive.addr]);
}

#[test]
fn a_member_heard_dead_elsewhere_is_checked_and_only_a_refusal_takes_it_down() {
    let mut net = Net::new(3);
    net.join_all();
    let member = id(1, 1);
    let fx = net.nodes[0].heard_dead("node-1");
    assert_eq!(fx.check, std::slice::from_ref(&member));
    for found in [Checked::Alive, Checked::NoAnswer] {
        let fx = net.nodes[0].checked(&member, found);
        assert!(fx.member_down.is_empty(), "{found:?}");
    }
    assert_eq!(net.nodes[0].members().count(), 2);
    let fx = net.nodes[0].checked(&member, Checked::Refused);
    assert_eq!(fx.member_down, [member]);
    // Neither a member not up here nor this node's own name asks for a check.
    assert!(net.nodes[0].heard_dead("node-1").check.is_empty());
    assert!(net.nodes[0].heard_dead("node-0").check.is_empty());
}
