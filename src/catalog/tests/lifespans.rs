//! Lifespans: [`Catalog::expire`] (80 s / 10 min to tombstone, 3 h to deletion, counted from
//! the later of a record's `Updated` and the last time the membership vouched for its host)
//! and [`Catalog::expire_server`] (a member left or died).

use super::*;
use crate::catalog::ServiceStatus::*;

#[test]
fn alive_unhealthy_and_unknown_records_expire_after_80s_stamped_one_second_later() {
    for status in [Alive, Unhealthy, Unknown] {
        let mut c = catalog();
        let old = now().minus(secs(81));
        let _ = c.apply(svc(PEER, "a", status, old), old);
        let fresh = now().minus(secs(80));
        let _ = c.apply(svc(PEER, "fresh", status, fresh), fresh);
        let change = only(c.expire(now()));
        assert_eq!(change.service.id, "a");
        assert_eq!(
            (change.previous_status, change.service.status),
            (status, Tombstone)
        );
        assert_eq!(change.service.updated, old.plus(secs(1)));
        assert_eq!(change.time, old.plus(secs(1)));
        let held = c.state().get(PEER, "a").unwrap();
        assert_eq!((held.status, held.updated), (Tombstone, old.plus(secs(1))));
        assert_eq!(status_of(&c, PEER, "fresh"), status);
    }
}

#[test]
fn draining_records_survive_80s_and_expire_after_10_minutes() {
    let mut c = catalog();
    let old = now().minus(secs(601));
    let young = now().minus(secs(300));
    let _ = c.apply(svc(PEER, "old", Draining, old), old);
    let _ = c.apply(svc(PEER, "young", Draining, young), young);
    let change = only(c.expire(now()));
    assert_eq!(change.service.id, "old");
    assert_eq!(
        (change.previous_status, change.service.updated),
        (Draining, old.plus(secs(1)))
    );
    assert_eq!(status_of(&c, PEER, "young"), Draining);
}

#[test]
fn expiry_advances_the_server_and_state_last_changed() {
    let mut c = catalog();
    let old = now().minus(secs(100));
    let _ = c.apply(alive(PEER, "a", old), old);
    let _ = c.expire(now());
    assert_eq!(c.state().servers[PEER].last_changed, old.plus(secs(1)));
    assert_eq!(c.state().last_changed, old.plus(secs(1)));
}

#[test]
fn a_live_members_records_never_expire_however_old_their_version() {
    let mut c = catalog();
    let old = now().minus(secs(3600));
    let _ = c.apply(alive(PEER, "a", old), old);
    for minute in 0..30 {
        let at = now().plus(secs(60 * minute));
        c.vouch([PEER], at);
        assert!(c.expire(at).is_empty(), "minute {minute}");
    }
    // Once the membership stops vouching, the record lives its 80 s and no more.
    let last = now().plus(secs(60 * 29));
    assert!(c.expire(last.plus(secs(80))).is_empty());
    let change = only(c.expire(last.plus(secs(81))));
    assert_eq!(change.service.updated, old.plus(secs(1)));
}

#[test]
fn a_hosts_first_record_counts_as_heard_at_its_arrival() {
    // A joining node learns old records before it learns who is a member: they must not be
    // tombstoned on their age alone.
    let mut c = catalog();
    let old = now().minus(secs(3600));
    let _ = c.apply(alive(PEER, "a", old), now());
    assert!(c.expire(now().plus(secs(80))).is_empty());
    assert_eq!(only(c.expire(now().plus(secs(81)))).service.id, "a");
}

#[test]
fn this_nodes_own_records_never_expire() {
    let mut c = catalog();
    let old = now().minus(secs(3600));
    let _ = c.apply(alive(NODE, "a", old), old);
    assert!(c.expire(now()).is_empty());
}

#[test]
fn existing_tombstones_are_not_tombstoned_again() {
    let mut c = catalog();
    let old = now().minus(secs(3600));
    let _ = c.apply(svc(PEER, "a", Tombstone, old), now());
    assert!(c.expire(now()).is_empty());
    assert_eq!(c.state().get(PEER, "a").unwrap().updated, old);
}

#[test]
fn tombstones_older_than_3h_are_deleted_and_an_emptied_server_is_removed() {
    let mut c = catalog();
    let _ = c.apply(svc(PEER, "a", Tombstone, now().minus(secs(7200))), now());
    let _ = c.apply(svc(PEER, "b", Tombstone, now().minus(secs(3600))), now());
    let later = now().plus(secs(3600 + 1));
    assert!(c.expire(later).is_empty());
    assert_eq!(c.state().get(PEER, "a"), None);
    assert!(c.state().get(PEER, "b").is_some());
    assert!(c.expire(later.plus(secs(3600))).is_empty());
    assert!(c.state().servers.is_empty());
}

#[test]
fn a_tombstone_exactly_3h_old_is_kept() {
    let mut c = catalog();
    let _ = c.apply(svc(PEER, "a", Tombstone, now()), now());
    let _ = c.expire(now().plus(secs(3 * 3600)));
    assert!(c.state().get(PEER, "a").is_some());
}

#[test]
fn expire_server_tombstones_every_live_record_of_the_host_with_events() {
    let mut c = catalog();
    let _ = c.apply(alive(PEER, "a", now()), now());
    let _ = c.apply(svc(PEER, "b", Draining, now()), now());
    let _ = c.apply(alive("other", "c", now()), now());
    let later = now().plus(secs(1));
    let changes = c.expire_server(PEER, later);
    let summary: Vec<_> = changes
        .iter()
        .map(|e| {
            (
                e.service.id.as_str(),
                e.previous_status,
                e.service.status,
                e.time,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("a", Alive, Tombstone, later),
            ("b", Draining, Tombstone, later)
        ]
    );
    assert_eq!(c.state().servers[PEER].last_changed, later);
    assert_eq!(c.state().last_changed, later);
    assert_eq!(status_of(&c, "other", "c"), Alive);
}

#[test]
fn expire_server_does_not_restamp_existing_tombstones() {
    let mut c = catalog();
    let _ = c.apply(alive(PEER, "a", now()), now());
    let _ = c.apply(svc(PEER, "gone", Tombstone, now()), now());
    let changes = c.expire_server(PEER, now().plus(secs(1)));
    assert_eq!(only(changes).service.id, "a");
    assert_eq!(c.state().get(PEER, "gone").unwrap().updated, now());
}

#[test]
fn expire_server_does_nothing_for_an_unknown_host_or_one_with_only_tombstones() {
    let mut c = catalog();
    let _ = c.apply(svc(PEER, "a", Tombstone, now()), now());
    let before = c.state().clone();
    assert!(c.expire_server("nobody", now().plus(secs(1))).is_empty());
    assert!(c.expire_server(PEER, now().plus(secs(1))).is_empty());
    assert_eq!(c.state(), &before);
}

#[test]
fn expire_server_never_tombstones_this_node() {
    let mut c = catalog();
    let _ = c.apply(alive(NODE, "a", now()), now());
    assert!(c.expire_server(NODE, now().plus(secs(1))).is_empty());
    assert_eq!(status_of(&c, NODE, "a"), Alive);
}

#[test]
fn a_node_that_comes_back_beats_the_tombstones_of_its_leave() {
    let mut c = catalog();
    let _ = c.apply(alive(PEER, "a", now()), now());
    let _ = c.expire_server(PEER, now().plus(secs(1)));
    let back = now().plus(secs(2));
    let change = c.apply(alive(PEER, "a", back), back).into_change().unwrap();
    assert_eq!(
        (change.previous_status, change.service.status),
        (Tombstone, Alive)
    );
}

#[test]
fn a_drained_peer_record_comes_back_alive_once_it_was_tombstoned() {
    // As in Go: a container restarted under the same ID, or a static entry re-added, after
    // its tombstone is a new instance, ALIVE.
    let mut c = catalog();
    let _ = c.apply(svc(PEER, "a", Draining, now()), now());
    let _ = c.apply(svc(PEER, "a", Tombstone, now().plus(secs(1))), now());
    let back = now().plus(secs(2));
    let _ = c.apply(alive(PEER, "a", back), back);
    assert_eq!(status_of(&c, PEER, "a"), Alive);
}
