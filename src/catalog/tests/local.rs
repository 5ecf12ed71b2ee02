//! This node's own records: [`Catalog::sync_local`] (new versions only for what changed or is
//! due for a refresh, local observations win, tombstoning what discovery stopped reporting),
//! [`Catalog::apply_remote`] (a peer never overrules this node on its records) and
//! [`Catalog::drain`].

use super::*;
use crate::catalog::DrainError;
use crate::catalog::LocalSync;
use crate::catalog::ServiceStatus::*;

/// The IDs and versions a sync announced.
fn announced(sync: &LocalSync) -> Vec<(&str, Timestamp)> {
    sync.announced
        .iter()
        .map(|s| (s.id.as_str(), s.updated))
        .collect()
}

#[test]
fn sync_local_files_records_under_this_node_stamped_now_and_announces_them() {
    let mut c = catalog();
    let first = sync(&mut c, vec![observed("a", Alive)], now());
    assert_eq!(announced(&first), [("a", now())]);
    let change = only(first.changes);
    assert_eq!(
        (change.previous_status, change.service.status),
        (Unknown, Alive)
    );
    let held = c.state().get(NODE, "a").unwrap();
    assert_eq!((held.hostname.as_str(), held.updated), (NODE, now()));
}

#[test]
fn a_steady_record_keeps_its_version_and_nothing_is_announced() {
    let mut c = catalog();
    let _ = sync(&mut c, vec![observed("a", Alive)], now());
    for second in (1..7200).step_by(7).chain([7200]) {
        let again = sync(&mut c, vec![observed("a", Alive)], now().plus(secs(second)));
        assert_eq!(again, LocalSync::default(), "second {second}");
    }
    assert_eq!(c.state().get(NODE, "a").unwrap().updated, now());
}

#[test]
fn a_steady_record_gets_a_new_version_when_its_two_hourly_refresh_is_due() {
    let mut c = catalog();
    let _ = sync(&mut c, vec![observed("a", Alive)], now());
    let due = now().plus(secs(7201));
    let refreshed = sync(&mut c, vec![observed("a", Alive)], due);
    assert!(refreshed.changes.is_empty(), "{refreshed:#?}");
    assert!(refreshed.announced.is_empty(), "{refreshed:#?}");
    let versions: Vec<_> = (refreshed.refreshed.iter())
        .map(|s| (s.id.as_str(), s.updated))
        .collect();
    assert_eq!(versions, [("a", due)]);
    assert_eq!(c.state().servers[NODE].last_updated, due);
    assert_eq!(c.state().servers[NODE].last_changed, now());
}

#[test]
fn a_record_that_changed_when_its_refresh_was_due_is_announced_whole() {
    let mut c = catalog();
    let _ = sync(&mut c, vec![observed("a", Alive)], now());
    let due = now().plus(secs(7201));
    let changed = sync(&mut c, vec![observed("a", Unhealthy)], due);
    assert_eq!(announced(&changed), [("a", due)]);
    assert!(changed.refreshed.is_empty(), "{changed:#?}");
}

#[test]
fn a_record_filed_under_another_hostname_is_refreshed_every_20_seconds() {
    // No membership vouches for a static entry's own Hostname: peers would expire it at 80 s.
    let mut c = catalog();
    let entry = || svc("chaucer", "s", Alive, Timestamp::ZERO);
    let _ = sync(&mut c, vec![entry()], now());
    assert!(
        sync(&mut c, vec![entry()], now().plus(secs(20)))
            .announced
            .is_empty()
    );
    let due = now().plus(secs(21));
    // Whole: a peer that missed a version would expire the entry before any other came.
    let refreshed = sync(&mut c, vec![entry()], due);
    assert_eq!(announced(&refreshed), [("s", due)]);
    assert!(refreshed.refreshed.is_empty());
}

#[test]
fn a_record_whose_ports_changed_gets_a_new_version_without_a_status_change() {
    let mut c = catalog();
    let _ = sync(&mut c, vec![observed("a", Alive)], now());
    let mut moved = observed("a", Alive);
    if let Some(port) = moved.ports.as_mut().and_then(|p| p.first_mut()) {
        port.port = 20000;
    }
    let later = now().plus(secs(1));
    let changed = sync(&mut c, vec![moved], later);
    assert!(changed.changes.is_empty(), "{changed:#?}");
    assert_eq!(announced(&changed), [("a", later)]);
    assert_eq!(c.state().get(NODE, "a").unwrap().ports()[0].port, 20000);
}

#[test]
fn sync_local_reports_and_announces_a_health_change() {
    let mut c = catalog();
    let _ = sync(&mut c, vec![observed("a", Alive)], now());
    let later = now().plus(secs(1));
    let changed = sync(&mut c, vec![observed("a", Unhealthy)], later);
    assert_eq!(announced(&changed), [("a", later)]);
    let change = only(changed.changes);
    assert_eq!((change.previous_status, change.time), (Alive, later));
}

#[test]
fn a_local_observation_wins_even_when_the_held_version_is_newer_than_now() {
    let mut c = catalog();
    let ahead = now().plus(secs(30));
    let _ = sync(&mut c, vec![observed("a", Alive)], ahead);
    // The clock stepped back 30 s; the next observation must still be the newest version.
    let changed = sync(&mut c, vec![observed("a", Unhealthy)], now());
    assert_eq!(only(changed.changes).service.status, Unhealthy);
    let held = c.state().get(NODE, "a").unwrap();
    assert_eq!(held.updated, ahead.plus(Duration::from_nanos(1)));
}

#[test]
fn a_vanished_local_record_is_tombstoned_and_announced_exactly_once() {
    let mut c = catalog();
    let both = vec![observed("a", Alive), observed("b", Unhealthy)];
    let _ = sync(&mut c, both, now());
    let later = now().plus(secs(1));
    let gone = sync(&mut c, vec![observed("a", Alive)], later);
    assert_eq!(announced(&gone), [("b", later)]);
    let change = only(gone.changes);
    assert_eq!(change.service.id, "b");
    assert_eq!(
        (change.previous_status, change.service.status),
        (Unhealthy, Tombstone)
    );
    assert_eq!(change.service.updated, later);
    assert_eq!(c.state().servers[NODE].last_changed, later);
    let again = sync(&mut c, vec![observed("a", Alive)], later.plus(secs(1)));
    assert_eq!(again, LocalSync::default());
    assert_eq!(c.state().get(NODE, "b").unwrap().updated, later);
}

#[test]
fn pending_records_are_left_alone() {
    let mut c = catalog();
    let _ = sync(&mut c, vec![observed("a", Alive)], now());
    let pending = BTreeSet::from([crate::catalog::RecordKey::new(NODE, "a")]);
    let left = c.sync_local(Vec::new(), &pending, now().plus(secs(1)));
    assert_eq!(left, LocalSync::default());
    let held = c.state().get(NODE, "a").unwrap();
    assert_eq!((held.status, held.updated), (Alive, now()));
}

#[test]
fn own_records_learned_from_peers_that_discovery_does_not_report_are_tombstoned() {
    let mut c = catalog();
    // A previous incarnation of this node announced "old"; a peer hands it back.
    let _ = c.apply(alive(NODE, "old", now().minus(secs(10))), now());
    let synced = sync(&mut c, vec![observed("a", Alive)], now());
    let tombstoned: Vec<_> = (synced.changes.iter())
        .filter(|e| e.service.id == "old")
        .collect();
    assert_eq!(tombstoned.len(), 1, "{synced:#?}");
    assert_eq!(tombstoned[0].service.status, Tombstone);
    assert_eq!(status_of(&c, NODE, "old"), Tombstone);
}

#[test]
fn records_announced_under_another_hostname_are_tombstoned_when_they_vanish() {
    let mut c = catalog();
    let static_entry = svc("chaucer", "s", Alive, Timestamp::ZERO);
    let _ = c.apply(alive(PEER, "p", now()), now());
    let _ = sync(&mut c, vec![static_entry], now());
    assert_eq!(c.state().get("chaucer", "s").unwrap().updated, now());
    let later = now().plus(secs(1));
    let change = only(sync(&mut c, Vec::new(), later).changes);
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
fn a_peers_tombstone_of_a_record_this_node_announces_is_overruled_not_taken() {
    // Peers tombstone a member's records when they think it died; when it was alive all
    // along, it hears of that and must re-assert, without its own view ever flapping.
    let mut c = catalog();
    let _ = sync(&mut c, vec![observed("a", Alive)], now());
    let theirs = svc(NODE, "a", Tombstone, now().plus(secs(5)));
    let at = now().plus(secs(6));
    let (applied, mine) = c.apply_remote(theirs, at);
    assert_eq!(applied.into_change(), None);
    let mine = mine.unwrap();
    assert_eq!((mine.status, mine.updated), (Alive, at));
    assert_eq!(c.state().get(NODE, "a"), Some(&mine));
    // A peer's word is still taken on records this node does not announce.
    let (applied, mine) = c.apply_remote(svc(NODE, "old", Alive, now()), at);
    assert!(mine.is_none());
    assert!(matches!(applied, crate::catalog::Applied::Accepted { .. }));
}

#[test]
fn a_peers_copy_of_this_nodes_record_is_taken_when_it_says_the_same() {
    let mut c = catalog();
    let _ = sync(&mut c, vec![observed("a", Alive)], now());
    let mut same = c.state().get(NODE, "a").unwrap().clone();
    same.updated = now().plus(secs(1));
    let (_, mine) = c.apply_remote(same.clone(), now().plus(secs(2)));
    assert!(mine.is_none());
    assert_eq!(c.state().get(NODE, "a"), Some(&same));
}

#[test]
fn drain_sets_a_local_record_draining_and_returns_it_with_an_event() {
    let mut c = catalog();
    let _ = sync(&mut c, vec![observed("a", Alive)], now());
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
    let _ = sync(&mut c, vec![observed("a", Alive)], now());
    let drained_at = now().plus(secs(1));
    let _ = c.drain("a", drained_at).unwrap();
    let later = now().plus(secs(2));
    let steady = sync(&mut c, vec![observed("a", Alive)], later);
    assert_eq!(steady, LocalSync::default());
    let held = c.state().get(NODE, "a").unwrap();
    assert_eq!((held.status, held.updated), (Draining, drained_at));
}

#[test]
fn drain_refuses_unknown_ids_other_hosts_ids_and_tombstones() {
    let mut c = catalog();
    let _ = sync(&mut c, vec![observed("a", Alive)], now());
    let _ = c.apply(alive(PEER, "p", now()), now());
    let later = now().plus(secs(1));
    let _ = sync(&mut c, Vec::new(), later);
    let before = c.state().clone();
    for id in ["nope", "p", "a"] {
        assert_eq!(c.drain(id, later), Err(DrainError::NotFound(id.to_owned())));
    }
    assert_eq!(c.state(), &before);
}

#[test]
fn a_tombstone_is_repeated_50ns_newer_only_while_held_at_that_version() {
    let mut c = catalog();
    let _ = sync(&mut c, vec![observed("a", Alive)], now());
    let gone = now().plus(secs(1));
    let _ = sync(&mut c, Vec::new(), gone);
    let step = Duration::from_nanos(50);
    let again = c.repeat_tombstone(NODE, "a", gone, step, gone).unwrap();
    assert_eq!((again.status, again.updated), (Tombstone, gone.plus(step)));
    assert_eq!(c.state().get(NODE, "a"), Some(&again));
    // A stale request (the version moved on) changes nothing.
    assert_eq!(c.repeat_tombstone(NODE, "a", gone, step, gone), None);
    // Nor does one for a record that came back.
    let back = gone.plus(secs(1));
    let _ = sync(&mut c, vec![observed("a", Alive)], back);
    assert_eq!(c.repeat_tombstone(NODE, "a", back, step, back), None);
    assert_eq!(status_of(&c, NODE, "a"), Alive);
}
