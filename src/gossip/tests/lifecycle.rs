//! Tests of [`super::Lifecycle`] in virtual time: a join timer is a wait added to a virtual
//! clock, so a minute of retries runs in microseconds.

use std::net::SocketAddr;
use std::time::Duration;

use super::*;
use crate::catalog::ServiceStatus;

fn node(name: &str) -> NodeId {
    NodeId::new(name, SocketAddr::from(([127, 0, 0, 1], 7946)), 1)
}

/// A catalogue that holds nothing.
fn empty() -> ServicesState {
    ServicesState::new("me", "test")
}

fn svc(host: &str, id: &str) -> Service {
    Service {
        id: id.into(),
        name: "web".into(),
        hostname: host.into(),
        status: ServiceStatus::Alive,
        ..Service::default()
    }
}

/// Runs the join timer from t = 0 until `until`, with a member known from `member_at` on;
/// returns the times (since start) of each attempt on the seeds.
fn attempts(life: &mut Lifecycle, until: Duration, member_at: Option<Duration>) -> Vec<u64> {
    let mut now = Duration::ZERO;
    let mut tried = Vec::new();
    while now <= until {
        let has_members = member_at.is_some_and(|t| now >= t);
        match life.join_due(has_members) {
            JoinStep::Idle => break,
            JoinStep::TrySeeds { retry } => {
                tried.push(now.as_secs());
                now += retry;
            }
        }
    }
    tried
}

#[test]
fn a_lone_node_tries_its_seeds_with_a_wait_that_doubles_up_to_the_most() {
    let mut life = Lifecycle::new(JoinPolicy::default(), true);
    let tried = attempts(&mut life, Duration::from_secs(200), None);
    assert_eq!(tried, [0, 1, 3, 7, 15, 31, 61, 91, 121, 151, 181]);
    assert_eq!(life.phase(), Phase::Joining);
}

#[test]
fn the_attempts_stop_once_a_member_is_known_and_the_node_is_a_member() {
    let mut life = Lifecycle::new(JoinPolicy::default(), true);
    let tried = attempts(
        &mut life,
        Duration::from_secs(200),
        Some(Duration::from_secs(5)),
    );
    assert_eq!(tried, [0, 1, 3]);
    assert_eq!(life.phase(), Phase::Member);
    assert_eq!(life.join_due(false), JoinStep::Idle, "members lost later");
}

#[test]
fn a_node_without_seeds_never_tries_to_join() {
    let mut life = Lifecycle::new(JoinPolicy::default(), false);
    assert_eq!(life.join_due(false), JoinStep::Idle);
}

#[test]
fn a_leaving_node_stops_joining_announcing_answering_and_anti_entropy() {
    let mut life = Lifecycle::new(JoinPolicy::default(), true);
    assert!(life.announces() && life.runs_anti_entropy() && life.answers_peers(true));
    assert!(life.leave(), "the first leave is carried out");
    assert!(!life.leave(), "a second one is not");
    assert_eq!(life.phase(), Phase::Leaving);
    assert_eq!(life.join_due(false), JoinStep::Idle);
    assert!(!life.announces() && !life.runs_anti_entropy() && !life.answers_peers(true));
}

#[test]
fn an_inactive_membership_answers_no_peer_even_before_leaving() {
    let life = Lifecycle::new(JoinPolicy::default(), true);
    assert!(!life.answers_peers(false));
}

#[test]
fn after_a_join_the_seeds_own_records_are_relayed_and_the_seed_announced_to() {
    let life = Lifecycle::new(JoinPolicy::default(), true);
    let seed = node("seed");
    let received = [svc("seed", "a"), svc("other", "b"), svc("seed", "c")];
    let next = life.after_exchange(("me", &empty()), &seed, &received, true, false);
    let relayed: Vec<&str> = next.relay.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(relayed, ["a", "c"]);
    assert_eq!(next.add_member, Some(seed.clone()));
    assert_eq!(next.announce_to, Some(seed));
}

#[test]
fn an_anti_entropy_exchange_with_a_new_peer_adds_it_without_announcing() {
    let life = Lifecycle::new(JoinPolicy::default(), true);
    let peer = node("peer");
    let next = life.after_exchange(("me", &empty()), &peer, &[], false, false);
    assert_eq!(next.add_member, Some(peer));
    assert_eq!(next.announce_to, None);
    let known = life.after_exchange(("me", &empty()), &node("peer"), &[], true, true);
    assert_eq!((known.add_member, known.announce_to), (None, None));
}

#[test]
fn an_exchange_with_itself_adds_no_member() {
    let life = Lifecycle::new(JoinPolicy::default(), true);
    let next = life.after_exchange(
        ("me", &empty()),
        &node("me"),
        &[svc("me", "x")],
        true,
        false,
    );
    assert_eq!((next.add_member, next.announce_to), (None, None));
}

#[test]
fn a_leaving_node_relays_nothing_and_adds_no_member_after_an_exchange() {
    let mut life = Lifecycle::new(JoinPolicy::default(), true);
    life.leave();
    let next = life.after_exchange(
        ("me", &empty()),
        &node("peer"),
        &[svc("peer", "a")],
        true,
        false,
    );
    assert_eq!(next, AfterExchange::default());
}

#[test]
fn only_the_peers_records_that_are_news_here_are_relayed() {
    let life = Lifecycle::new(JoinPolicy::default(), true);
    let mut local = empty();
    let held = svc("peer", "same");
    local.insert(held.clone());
    let mut newer = svc("peer", "changed");
    local.insert(newer.clone());
    newer.updated = newer.updated.plus(Duration::from_secs(1));
    let received = [held, newer, svc("peer", "new")];
    let next = life.after_exchange(("me", &local), &node("peer"), &received, false, true);
    let relayed: Vec<&str> = next.relay.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(relayed, ["changed", "new"]);
}

/// `held` tombstoned a second later.
fn tombstone_after(held: &Service) -> Service {
    Service {
        status: ServiceStatus::Tombstone,
        updated: held.updated.plus(Duration::from_secs(1)),
        ..held.clone()
    }
}

#[test]
fn a_third_hosts_tombstones_newer_than_its_live_records_here_ask_for_a_check_of_it() {
    let life = Lifecycle::new(JoinPolicy::default(), true);
    let mut local = empty();
    for host in ["dead", "peer", "me", "gone-here-too"] {
        local.insert(svc(host, "a"));
    }
    let mut gone_here_too = svc("gone-here-too", "a");
    gone_here_too.status = ServiceStatus::Tombstone;
    local.insert(gone_here_too);
    let older = Service {
        status: ServiceStatus::Tombstone,
        ..svc("older", "a")
    };
    local.insert(svc("older", "a"));
    let received = [
        tombstone_after(&svc("dead", "a")),
        tombstone_after(&svc("peer", "a")),
        tombstone_after(&svc("me", "a")),
        tombstone_after(&svc("gone-here-too", "a")),
        tombstone_after(&svc("unknown", "a")),
        older,
    ];
    let next = life.after_exchange(("me", &local), &node("peer"), &received, false, true);
    // Not the peer (its own word), not this node, not what is dead here already, not a
    // record not held, not an older tombstone.
    assert_eq!(next.check, ["dead"]);
}

#[test]
fn one_exchange_asks_for_a_few_checks_at_most() {
    let life = Lifecycle::new(JoinPolicy::default(), true);
    let mut local = empty();
    let mut received = Vec::new();
    for n in 0..10 {
        let held = svc(&format!("host-{n}"), "a");
        received.push(tombstone_after(&held));
        local.insert(held);
    }
    let next = life.after_exchange(("me", &local), &node("peer"), &received, false, true);
    assert_eq!(next.check.len(), MAX_CHECKS_PER_EXCHANGE);
}
