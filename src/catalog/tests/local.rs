//! This node's own records: [`Catalog::sync_local`] (refresh, local observations win,
//! tombstoning what discovery stopped reporting) and [`Catalog::drain`].

use super::*;
use crate::catalog::DrainError;
use crate::catalog::ServiceStatus::*;

/// What discovery reports: a record without a hostname is filed under this node.
fn observed(id: &str, status: ServiceStatus) -> Service {
    svc("", id, status, Timestamp::ZERO)
}

#[test]
fn sync_local_files_records_under_this_node_stamped_now() {
    let mut c = catalog();
    let change = only(c.sync_local(vec![observed("a", Alive)], &no_pending(), now()));
    assert_eq!(
        (change.previous_status, change.service.status),
        (Unknown, Alive)
    );
    let held = c.state().get(NODE, "a").unwrap();
    assert_eq!((held.hostname.as_str(), held.updated), (NODE, now()));
}

#[test]
fn sync_local_refreshes_updated_without_a_change_while_the_status_holds() {
    let mut c = catalog();
    let _ = c.sync_local(vec![observed("a", Alive)], &no_pending(), now());
    let later = now().plus(secs(1));
    let changes = c.sync_local(vec![observed("a", Alive)], &no_pending(), later);
    assert!(changes.is_empty(), "{changes:#?}");
    assert_eq!(c.state().get(NODE, "a").unwrap().updated, later);
    assert_eq!(c.state().servers[NODE].last_updated, later);
    assert_eq!(c.state().servers[NODE].last_changed, now());
}

#[test]
fn sync_local_reports_a_health_change() {
    let mut c = catalog();
    let _ = c.sync_local(vec![observed("a", Alive)], &no_pending(), now());
    let later = now().plus(secs(1));
    let changes = c.sync_local(vec![observed("a", Unhealthy)], &no_pending(), later);
    let change = only(changes);
    assert_eq!((change.previous_status, change.time), (Alive, later));
}

#[test]
fn a_local_observation_wins_even_when_the_held_version_is_newer_than_now() {
    let mut c = catalog();
    let ahead = now().plus(secs(30));
    let _ = c.sync_local(vec![observed("a", Alive)], &no_pending(), ahead);
    // The clock stepped back 30 s; the next observation must still be the newest version.
    let changes = c.sync_local(vec![observed("a", Unhealthy)], &no_pending(), now());
    assert_eq!(only(changes).service.status, Unhealthy);
    let held = c.state().get(NODE, "a").unwrap();
    assert_eq!(held.updated, ahead.plus(Duration::from_nanos(1)));
}

#[test]
fn a_vanished_local_record_is_tombstoned_exactly_once() {
    let mut c = catalog();
    let both = vec![observed("a", Alive), observed("b", Unhealthy)];
    let _ = c.sync_local(both, &no_pending(), now());
    let later = now().plus(secs(1));
    let change = only(c.sync_local(vec![observed("a", Alive)], &no_pending(), later));
    assert_eq!(change.service.id, "b");
    assert_eq!(
        (change.previous_status, change.service.status),
        (Unhealthy, Tombstone)
    );
    assert_eq!(change.service.updated, later);
    assert_eq!(c.state().servers[NODE].last_changed, later);
    let again = c.sync_local(
        vec![observed("a", Alive)],
        &no_pending(),
        later.plus(secs(1)),
    );
    assert!(again.is_empty(), "{again:#?}");
    assert_eq!(c.state().get(NODE, "b").unwrap().updated, later);
}

#[test]
fn pending_records_are_left_alone() {
    let mut c = catalog();
    let _ = c.sync_local(vec![observed("a", Alive)], &no_pending(), now());
    let pending = BTreeSet::from([(NODE.to_owned(), "a".to_owned())]);
    let changes = c.sync_local(Vec::new(), &pending, now().plus(secs(1)));
    assert!(changes.is_empty(), "{changes:#?}");
    let held = c.state().get(NODE, "a").unwrap();
    assert_eq!((held.status, held.updated), (Alive, now()));
}

#[test]
fn own_records_learned_from_peers_that_discovery_does_not_report_are_tombstoned() {
    let mut c = catalog();
    // A previous incarnation of this node announced "old"; a peer hands it back.
    let _ = c.apply(alive(NODE, "old", now().minus(secs(10))), now());
    let changes = c.sync_local(vec![observed("a", Alive)], &no_pending(), now());
    let tombstoned: Vec<_> = changes.iter().filter(|e| e.service.id == "old").collect();
    assert_eq!(tombstoned.len(), 1, "{changes:#?}");
    assert_eq!(tombstoned[0].service.status, Tombstone);
    assert_eq!(status_of(&c, NODE, "old"), Tombstone);
}

#[test]
fn records_announced_under_another_hostname_are_tombstoned_when_they_vanish() {
    let mut c = catalog();
    let static_entry = svc("chaucer", "s", Alive, Timestamp::ZERO);
    let _ = c.apply(alive(PEER, "p", now()), now());
    let _ = c.sync_local(vec![static_entry], &no_pending(), now());
    assert_eq!(c.state().get("chaucer", "s").unwrap().updated, now());
    let later = now().plus(secs(1));
    let change = only(c.sync_local(Vec::new(), &no_pending(), later));
    assert_eq!(
        (change.service.hostname.as_str(), change.service.id.as_str()),
        ("chaucer", "s")
    );
    assert_eq!(
        (change.previous_status, change.service.status),
        (Alive, Tombstone)
    );
    // Records of other hosts that this node never announced are not its business.
    assert_eq!(status_of(&c, PEER, "p"), Alive);
}

#[test]
fn drain_sets_a_local_record_draining_and_returns_it_with_an_event() {
    let mut c = catalog();
    let _ = c.sync_local(vec![observed("a", Alive)], &no_pending(), now());
    let later = now().plus(secs(1));
    let (held, change) = c.drain("a", later).unwrap();
    assert_eq!((held.status, held.updated), (Draining, later));
    let change = change.unwrap();
    assert_eq!((change.previous_status, change.service), (Alive, held));
    assert_eq!(c.state().servers[NODE].last_changed, later);
}

#[test]
fn a_drained_local_record_stays_draining_while_discovery_reports_it_alive() {
    let mut c = catalog();
    let _ = c.sync_local(vec![observed("a", Alive)], &no_pending(), now());
    let _ = c.drain("a", now().plus(secs(1))).unwrap();
    let later = now().plus(secs(2));
    let changes = c.sync_local(vec![observed("a", Alive)], &no_pending(), later);
    assert!(changes.is_empty(), "{changes:#?}");
    let held = c.state().get(NODE, "a").unwrap();
    assert_eq!((held.status, held.updated), (Draining, later));
}

#[test]
fn drain_refuses_unknown_ids_other_hosts_ids_and_tombstones() {
    let mut c = catalog();
    let _ = c.sync_local(vec![observed("a", Alive)], &no_pending(), now());
    let _ = c.apply(alive(PEER, "p", now()), now());
    let later = now().plus(secs(1));
    let _ = c.sync_local(Vec::new(), &no_pending(), later);
    let before = c.state().clone();
    for id in ["nope", "p", "a"] {
        assert_eq!(c.drain(id, later), Err(DrainError::NotFound(id.to_owned())));
    }
    assert_eq!(c.state(), &before);
}
