//! Versions and clocks: the skew bound ([`Lifespans::max_skew`]), this node's authority over
//! its own records whatever version a peer holds, lifespans that a future date cannot
//! lengthen, clocks that step, and drains that end with the instance.

use super::*;
use crate::catalog::ServiceStatus::*;
use crate::catalog::{Applied, LocalSync};

fn skew() -> Duration {
    Lifespans::default().max_skew
}

/// A catalogue holding this node's ALIVE record `a`, announced at `now()`.
fn with_own_record() -> Catalog {
    let mut c = catalog();
    let _ = sync(&mut c, vec![observed("a", Alive)], now());
    c
}

#[test]
fn a_record_stamped_later_than_now_plus_the_skew_is_refused_as_from_the_future() {
    let mut c = catalog();
    let limit = now().plus(skew());
    let too_far = alive(PEER, "a", limit.plus(Duration::from_nanos(1)));
    assert_eq!(c.apply(too_far, now()), Applied::Future);
    assert!(c.state().servers.is_empty());
    let at_limit = alive(PEER, "a", limit);
    assert!(matches!(c.apply(at_limit, now()), Applied::Accepted { .. }));
}

#[test]
fn a_merge_takes_nothing_from_the_future() {
    let mut other = Catalog::new(PEER, "default", Lifespans::default());
    let year_9999 = ts("9999-12-31T23:59:59.999999999Z");
    let _ = other.apply(alive("made-up", "x", year_9999), year_9999);
    let mut c = catalog();
    assert!(c.merge(other.state(), now()).is_empty());
    assert!(c.state().servers.is_empty());
}

#[test]
fn a_far_future_tombstone_of_an_own_record_is_refused_and_changes_nothing() {
    let mut c = with_own_record();
    let forged = svc(NODE, "a", Tombstone, ts("9999-12-31T23:59:59.999999999Z"));
    assert_eq!(c.apply_remote(forged, now()), (Applied::Future, None));
    let held = c.state().get(NODE, "a").unwrap();
    assert_eq!((held.status, held.updated), (Alive, now()));
}

#[test]
fn the_origin_re_stamps_its_record_above_the_newest_version_a_peer_may_hold() {
    let mut c = with_own_record();
    let newest_allowed = now().plus(skew());
    let tombstone = svc(NODE, "a", Tombstone, newest_allowed);
    let (_, mine) = c.apply_remote(tombstone, now());
    let mine = mine.unwrap();
    assert_eq!(mine.status, Alive);
    assert_eq!(mine.updated, newest_allowed.plus(Duration::from_nanos(1)));
    // Its next change still wins over that, and is no further ahead than peers accept.
    let later = now().plus(secs(1));
    let next = sync(&mut c, vec![observed("a", Unhealthy)], later);
    let held = &next.announced[0];
    assert_eq!(held.status, Unhealthy);
    assert!(held.updated > mine.updated);
    assert!(held.updated <= later.plus(skew()));
}

#[test]
fn a_non_member_hosts_record_dated_ahead_expires_by_its_lifespan_from_its_arrival() {
    let mut c = catalog();
    let ahead = now().plus(skew());
    let _ = c.apply(alive("made-up", "x", ahead), now());
    assert!(c.expire(now().plus(secs(80))).is_empty());
    let change = only(c.expire(now().plus(secs(81))));
    assert_eq!(
        (change.service.id.as_str(), change.service.status),
        ("x", Tombstone)
    );
    // And the tombstone is deleted three hours after it was heard of, not after its date.
    assert!(c.expire(now().plus(secs(3 * 3600 + 1))).is_empty());
    assert!(c.state().servers.is_empty());
}

#[test]
fn after_the_clock_steps_back_own_changes_still_win() {
    let mut c = with_own_record();
    let back = now().minus(secs(60));
    let change = sync(&mut c, vec![observed("a", Unhealthy)], back);
    assert_eq!(
        change.announced[0].updated,
        now().plus(Duration::from_nanos(1))
    );
    let (applied, mine) = c.apply_remote(svc(NODE, "a", Alive, now()), back);
    assert_eq!((applied, mine), (Applied::Ignored, None));
}

#[test]
fn own_records_stamped_by_a_clock_that_ran_ahead_are_stamped_anew_once_it_is_corrected() {
    // Stamped an hour ahead, which every peer in step refused: stamping on from there would
    // keep the cluster refusing this node's changes for an hour.
    let mut c = catalog();
    let ahead = now().plus(secs(3600));
    let _ = sync(&mut c, vec![observed("a", Alive)], ahead);
    let corrected = sync(&mut c, vec![observed("a", Alive)], now());
    assert_eq!(corrected.announced.len(), 1);
    assert_eq!(corrected.announced[0].updated, now());
    let steady = sync(&mut c, vec![observed("a", Alive)], now().plus(secs(1)));
    assert_eq!(steady, LocalSync::default());
}

#[test]
fn a_local_drain_ends_when_the_record_is_tombstoned_and_a_new_instance_comes_back_alive() {
    let mut c = with_own_record();
    let _ = c.drain("a", now().plus(secs(1))).unwrap();
    let still = sync(&mut c, vec![observed("a", Alive)], now().plus(secs(2)));
    assert_eq!(still, LocalSync::default());
    let gone = sync(&mut c, Vec::new(), now().plus(secs(3)));
    assert_eq!(gone.announced[0].status, Tombstone);
    let back = sync(&mut c, vec![observed("a", Alive)], now().plus(secs(4)));
    assert_eq!(back.announced[0].status, Alive);
}

#[test]
fn a_stale_draining_copy_held_by_a_peer_never_drains_the_origins_live_record() {
    let mut c = with_own_record();
    let stale = svc(NODE, "a", Draining, now().minus(secs(60)));
    let (applied, mine) = c.apply_remote(stale, now());
    assert_eq!((applied, mine), (Applied::Ignored, None));
    // A newer one (a forgery, or from before this node restarted) is overruled.
    let newer = svc(NODE, "a", Draining, now().plus(secs(1)));
    let (_, mine) = c.apply_remote(newer, now());
    assert_eq!(mine.unwrap().status, Alive);
    let steady = sync(&mut c, vec![observed("a", Alive)], now().plus(secs(2)));
    assert_eq!(steady, LocalSync::default());
}
