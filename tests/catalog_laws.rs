//! Algebraic laws of the catalogue's merge rule, checked with proptest (docs/PROTOCOL.md §3).
//!
//! Records come from a deliberately small key space (3 hosts × 3 IDs), three versions one
//! second apart (so exact ties are frequent), all five statuses and two images. `now` is fixed
//! just after the newest version, so nothing is stale and nothing expires: these laws are about
//! [`Catalog::apply`] and [`Catalog::merge`] only.
//!
//! What is compared: every record held and each server's `Name` and `LastUpdated`. `LastChanged`
//! (server and state) is deliberately *not* order-independent: a record first seen at its newer
//! version is "new" then, while seen first at an older version the newer one is a same-status
//! refresh that must not advance `LastChanged` (docs/PROTOCOL.md §3). The unit test
//! `server_last_changed_depends_on_the_order_versions_arrive_in` pins that down; here we only check
//! `LastChanged <= LastUpdated`, and full equality where the order is the same (idempotence).
//!
//! A merge of states is exact: whether a record is DRAINING is carried by its newest version
//! alone (on a tie DRAINING ranks above ALIVE), so a state tells everything a catalogue that
//! saw every record knows. (Before peers stopped holding a newer ALIVE as DRAINING, a state
//! could hide a drain, and these laws held only up to such "hidden drains".) Records from the
//! future (beyond `now` plus the allowed skew) are refused whatever the order, so they leave
//! the catalogue as it was.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use sidecar::catalog::{Catalog, Lifespans, Service, ServiceStatus};
use sidecar::clock::Timestamp;

/// Per host: the records by ID and the server's `LastUpdated`.
type View = BTreeMap<String, (BTreeMap<String, Service>, Timestamp)>;

const HOSTS: [&str; 3] = ["h0", "h1", "h2"];
const IDS: [&str; 3] = ["a", "b", "c"];
const STATUSES: [ServiceStatus; 5] = [
    ServiceStatus::Alive,
    ServiceStatus::Tombstone,
    ServiceStatus::Unhealthy,
    ServiceStatus::Unknown,
    ServiceStatus::Draining,
];
const IMAGES: [&str; 2] = ["web:1", "web:2"];

fn base() -> Timestamp {
    Timestamp::from_unix_secs(1_795_420_800) // 2026-11-23T08:00:00Z
}

/// Fixed and just after every generated version: nothing is stale.
fn now() -> Timestamp {
    base().plus(Duration::from_secs(10))
}

fn record(host: usize, id: usize, at: u64, status: usize, image: usize) -> Service {
    Service {
        id: IDS[id].into(),
        name: format!("svc-{id}"),
        image: IMAGES[image].into(),
        hostname: HOSTS[host].into(),
        updated: base().plus(Duration::from_secs(at)),
        proxy_mode: "http".into(),
        status: STATUSES[status],
        ..Service::default()
    }
}

fn a_record() -> impl Strategy<Value = Service> {
    (
        0..HOSTS.len(),
        0..IDS.len(),
        0..3u64,
        0..STATUSES.len(),
        0..IMAGES.len(),
    )
        .prop_map(|(h, i, t, s, m)| record(h, i, t, s, m))
}

fn records() -> impl Strategy<Value = Vec<Service>> {
    prop::collection::vec(a_record(), 0..16)
}

/// A list and a permutation of it.
fn list_and_shuffle() -> impl Strategy<Value = (Vec<Service>, Vec<Service>)> {
    records().prop_flat_map(|list| (Just(list.clone()), Just(list).prop_shuffle()))
}

fn build<'a>(lists: impl IntoIterator<Item = &'a [Service]>) -> Catalog {
    let mut catalog = Catalog::new("vm", "default", Lifespans::default());
    for svc in lists.into_iter().flatten() {
        let _ = catalog.apply(svc.clone(), now());
    }
    catalog
}

/// `x` after merging `y`'s state (push/pull anti-entropy).
fn join(x: &Catalog, y: &Catalog) -> Catalog {
    let mut joined = x.clone();
    let _ = joined.merge(y.state(), now());
    joined
}

fn view(catalog: &Catalog) -> View {
    catalog
        .state()
        .servers
        .iter()
        .map(|(host, server)| {
            assert_eq!(&server.name, host);
            assert!(server.last_changed <= server.last_updated, "{server:#?}");
            (host.clone(), (server.services.clone(), server.last_updated))
        })
        .collect()
}

/// `x` and `y` hold the same records and servers.
fn assert_same(x: &Catalog, y: &Catalog) {
    assert_eq!(view(x), view(y));
}

proptest! {
    /// (a) The order in which records arrive does not matter.
    #[test]
    fn applying_records_in_any_order_gives_the_same_state((list, shuffled) in list_and_shuffle()) {
        prop_assert_eq!(view(&build([&list[..]])), view(&build([&shuffled[..]])));
    }

    /// (a') Reversal is a permutation proptest shrinks well; keep it as a second witness.
    #[test]
    fn applying_records_in_reverse_gives_the_same_state(list in records()) {
        let reversed: Vec<Service> = list.iter().rev().cloned().collect();
        prop_assert_eq!(view(&build([&list[..]])), view(&build([&reversed[..]])));
    }

    /// (b) Applying lists one after another: any grouping and order of three lists agrees.
    #[test]
    fn applying_three_lists_in_any_grouping_gives_the_same_state(
        l1 in records(), l2 in records(), l3 in records(),
    ) {
        let (l1, l2, l3) = (&l1[..], &l2[..], &l3[..]);
        let expected = view(&build([l1, l2, l3]));
        for order in [[l1, l3, l2], [l2, l1, l3], [l2, l3, l1], [l3, l1, l2], [l3, l2, l1]] {
            prop_assert_eq!(&view(&build(order)), &expected);
        }
    }

    /// (b) A merge of states is the union of the lists.
    #[test]
    fn merging_a_state_equals_applying_its_records(a in records(), b in records()) {
        let (cat_a, cat_b) = (build([&a[..]]), build([&b[..]]));
        let union = build([&a[..], &b[..]]);
        assert_same(&join(&cat_a, &cat_b), &union);
        assert_same(&join(&cat_a, &cat_b), &join(&cat_b, &cat_a));
    }

    /// (b) merge(merge(A, B), C) == merge(A, merge(B, C)).
    #[test]
    fn merging_states_is_associative(a in records(), b in records(), c in records()) {
        let (x, y, z) = (build([&a[..]]), build([&b[..]]), build([&c[..]]));
        let yz = join(&y, &z);
        let left = join(&join(&x, &y), &z);
        let right = join(&x, &yz);
        assert_same(&left, &right);
        assert_same(&left, &build([&a[..], &b[..], &c[..]]));
    }

    /// (c) Applying a list twice, or merging a catalogue's own state, changes nothing at all
    /// (LastChanged included).
    #[test]
    fn applying_records_twice_equals_applying_them_once(list in records()) {
        let once = build([&list[..]]);
        let twice = build([&list[..], &list[..]]);
        prop_assert_eq!(twice.state(), once.state());
        let self_merged = join(&once, &once);
        prop_assert_eq!(self_merged.state(), once.state());
    }

    /// (d) Two catalogues fed the same records in different orders agree after exchanging
    /// their states (and already agreed before).
    #[test]
    fn catalogues_converge_after_exchanging_states((list, shuffled) in list_and_shuffle()) {
        let (x, y) = (build([&list[..]]), build([&shuffled[..]]));
        let (x2, y2) = (join(&x, &y), join(&y, &x));
        prop_assert_eq!(view(&x2), view(&y2));
        prop_assert_eq!(view(&x2), view(&x));
    }

    /// (e) A TOMBSTONE strictly newer than every other version of its record is what is held,
    /// whatever the order.
    #[test]
    fn a_strictly_newest_tombstone_is_held_whatever_the_order(
        (list, host, id, image, gap, place) in (
            records(), 0..HOSTS.len(), 0..IDS.len(), 0..IMAGES.len(), 1..2_000_000_000u64,
            any::<prop::sample::Index>(),
        ),
    ) {
        let newest = list
            .iter()
            .filter(|s| s.hostname == HOSTS[host] && s.id == IDS[id])
            .map(|s| s.updated)
            .max()
            .unwrap_or(base());
        let tombstone = Service {
            updated: newest.plus(Duration::from_nanos(gap)),
            ..record(host, id, 0, 1, image)
        };
        let mut with = list;
        with.insert(place.index(with.len() + 1), tombstone.clone());
        let catalog = build([&with[..]]);
        prop_assert_eq!(catalog.state().get(HOSTS[host], IDS[id]), Some(&tombstone));
    }

    /// (f) Records from the future change nothing, wherever they come in the list.
    #[test]
    fn records_from_the_future_change_nothing(
        (list, ahead, place) in (records(), records(), any::<prop::sample::Index>()),
    ) {
        let beyond = Lifespans::default().max_skew + Duration::from_secs(11);
        let mut with = list.clone();
        for mut svc in ahead {
            svc.updated = svc.updated.plus(beyond);
            with.insert(place.index(with.len() + 1), svc);
        }
        let (with, without) = (build([&with[..]]), build([&list[..]]));
        prop_assert_eq!(with.state(), without.state());
    }
}
