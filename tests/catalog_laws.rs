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
//! What a state merge cannot express: whether a record was ever DRAINING lives in the
//! catalogue's drained set, outside the JSON state. A state that holds a record as UNHEALTHY,
//! UNKNOWN or TOMBSTONE hides a DRAINING version it saw before, so a catalogue merging that
//! state may later hold a newer ALIVE version as ALIVE where a catalogue that saw every record
//! holds it as DRAINING. The merge laws are therefore exact for every record except those
//! "hidden drains", which agree once DRAINING and ALIVE are identified.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use proptest::prelude::*;
use sidecar::catalog::{Catalog, Lifespans, Service, ServiceStatus};
use sidecar::clock::Timestamp;

type Key = (String, String);
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

/// The view with DRAINING read as ALIVE: what a state can tell about a drained record.
fn forget_drain(mut view: View) -> View {
    for (services, _) in view.values_mut() {
        for svc in services.values_mut() {
            if svc.status == ServiceStatus::Draining {
                svc.status = ServiceStatus::Alive;
            }
        }
    }
    view
}

/// The view without the records of `keys`.
fn without(mut view: View, keys: &BTreeSet<Key>) -> View {
    for (host, id) in keys {
        if let Some((services, _)) = view.get_mut(host) {
            services.remove(id);
        }
    }
    view
}

/// Records that `shipped` (built from `lists`) holds as non-DRAINING although one of their
/// versions in `lists` was DRAINING: a merge of its state cannot pass that on.
fn hidden_drains(shipped: &Catalog, lists: &[&[Service]]) -> BTreeSet<Key> {
    lists
        .iter()
        .copied()
        .flatten()
        .filter(|svc| svc.status == ServiceStatus::Draining)
        .filter(|svc| {
            shipped
                .state()
                .get(&svc.hostname, &svc.id)
                .is_none_or(|held| held.status != ServiceStatus::Draining)
        })
        .map(|svc| (svc.hostname.clone(), svc.id.clone()))
        .collect()
}

/// `x` and `y` hold the same records, exactly outside `hidden`, up to DRAINING/ALIVE inside.
fn assert_same_up_to(x: &Catalog, y: &Catalog, hidden: &BTreeSet<Key>) {
    assert_eq!(forget_drain(view(x)), forget_drain(view(y)));
    assert_eq!(without(view(x), hidden), without(view(y), hidden));
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

    /// (b) A merge of states is the union of the lists, except for drains a state hides.
    #[test]
    fn merging_a_state_equals_applying_its_records(a in records(), b in records()) {
        let (cat_a, cat_b) = (build([&a[..]]), build([&b[..]]));
        let union = build([&a[..], &b[..]]);
        let hidden = hidden_drains(&cat_b, &[&b]);
        assert_same_up_to(&join(&cat_a, &cat_b), &union, &hidden);
        let hidden_both = &hidden | &hidden_drains(&cat_a, &[&a]);
        assert_same_up_to(&join(&cat_a, &cat_b), &join(&cat_b, &cat_a), &hidden_both);
    }

    /// (b) merge(merge(A, B), C) == merge(A, merge(B, C)), up to hidden drains.
    #[test]
    fn merging_states_is_associative(a in records(), b in records(), c in records()) {
        let (x, y, z) = (build([&a[..]]), build([&b[..]]), build([&c[..]]));
        let yz = join(&y, &z);
        let left = join(&join(&x, &y), &z);
        let right = join(&x, &yz);
        let mut hidden = hidden_drains(&y, &[&b]);
        hidden.extend(hidden_drains(&z, &[&c]));
        hidden.extend(hidden_drains(&yz, &[&b, &c]));
        assert_same_up_to(&left, &right, &hidden);
        assert_same_up_to(&left, &build([&a[..], &b[..], &c[..]]), &hidden);
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
}
