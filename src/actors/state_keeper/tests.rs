//! StateKeeper actor tests: real catalogue, a recording subscriber, a manual clock.

use crate::actors::recorder::Recorder;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;

use super::*;
use crate::catalog::ServiceStatus;
use crate::clock::{Clock, ManualClock, Timestamp};

/// Subscribes a [`Recorder`] to `keeper`; what it records.
async fn subscribe_recorder(keeper: &Addr<StateKeeper>) -> Arc<Mutex<Vec<StateChanged>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = Recorder(Arc::clone(&seen)).start();
    keeper.send(Subscribe(recorder.recipient())).await.unwrap();
    seen
}

fn settings() -> StateKeeperSettings {
    StateKeeperSettings {
        hostname: "node-a".into(),
        cluster_name: "default".into(),
        lifespans: Lifespans::default(),
        expire_interval: Duration::from_secs(2),
    }
}

fn start_keeper(clock: &ManualClock) -> Addr<StateKeeper> {
    start_keeper_with(clock, StateKeeperMemory::default())
}

/// A keeper whose subscribers (and last snapshot) live in `memory`, where the test sees them.
fn start_keeper_with(clock: &ManualClock, memory: StateKeeperMemory) -> Addr<StateKeeper> {
    let log = Logger::root(slog::Discard, o!());
    StateKeeper::new(settings(), Arc::new(clock.clone()), memory, &log).start()
}

/// Applies one ALIVE local record `abc`, stamped now.
async fn apply_local(keeper: &Addr<StateKeeper>) {
    let services = vec![local("abc", ServiceStatus::Alive)];
    let pending = BTreeSet::new();
    keeper
        .send(ApplyLocalServices { services, pending })
        .await
        .unwrap();
}

fn local(id: &str, status: ServiceStatus) -> Service {
    Service {
        id: id.into(),
        name: "web".into(),
        hostname: "node-a".into(),
        status,
        ..Service::default()
    }
}

/// Applies ALIVE record `xyz` of host `node-b`, stamped now.
async fn apply_remote(keeper: &Addr<StateKeeper>, clock: &ManualClock) {
    let mut remote = local("xyz", ServiceStatus::Alive);
    remote.hostname = "node-b".into();
    remote.updated = clock.now();
    let services = vec![remote];
    keeper
        .send(ApplyRemoteServices::broadcast(services))
        .await
        .unwrap();
}

fn start() -> ManualClock {
    ManualClock::new(Timestamp::parse("2026-11-23T08:00:00Z").unwrap())
}

#[actix::test]
async fn a_subscriber_gets_the_current_snapshot_at_once_and_every_change_after() {
    let clock = start();
    let keeper = start_keeper(&clock);
    let seen = subscribe_recorder(&keeper).await;
    apply_local(&keeper).await;
    keeper.send(GetSnapshot).await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].snapshot.state().is_empty());
    assert_eq!(seen[1].changes.len(), 1);
    assert_eq!(seen[1].snapshot.change_version(), 1);
    let held = seen[1].snapshot.state().get("node-a", "abc").unwrap();
    assert_eq!(held.updated, clock.now());
}

#[actix::test]
async fn a_steady_local_service_is_published_again_only_when_its_refresh_is_due() {
    let clock = start();
    let keeper = start_keeper(&clock);
    let seen = subscribe_recorder(&keeper).await;
    let refresh = Lifespans::default().refresh;
    for step in [1, refresh.as_secs(), 0] {
        apply_local(&keeper).await;
        clock.advance(Duration::from_secs(step));
    }
    let snapshot = keeper.send(GetSnapshot).await.unwrap();
    assert_eq!((snapshot.version(), snapshot.change_version()), (2, 1));
    let seen = seen.lock().unwrap();
    let versions = |of: fn(&StateChanged) -> &[Service]| -> Vec<Vec<Timestamp>> {
        (seen.iter())
            .map(|e| of(e).iter().map(|s| s.updated).collect())
            .collect()
    };
    let t0 = start().now();
    let refreshed = t0.plus(refresh + Duration::from_secs(1));
    // The refresh goes to the Gossiper as one, to be told as the new version alone.
    assert_eq!(versions(|e| &e.announced), [vec![], vec![t0], vec![]]);
    assert_eq!(
        versions(|e| &e.refreshed),
        [vec![], vec![], vec![refreshed]]
    );
}

#[actix::test]
async fn draining_a_local_service_holds_it_draining_against_later_alive_refreshes() {
    let clock = start();
    let keeper = start_keeper(&clock);
    let apply = || ApplyLocalServices {
        services: vec![local("abc", ServiceStatus::Alive)],
        pending: BTreeSet::new(),
    };
    keeper.send(apply()).await.unwrap();
    let drained = keeper
        .send(DrainService { id: "abc".into() })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(drained.status, ServiceStatus::Draining);
    keeper.send(apply()).await.unwrap();
    let snapshot = keeper.send(GetSnapshot).await.unwrap();
    let held = snapshot.state().get("node-a", "abc").unwrap();
    assert_eq!(held.status, ServiceStatus::Draining);
    let unknown = keeper
        .send(DrainService { id: "nope".into() })
        .await
        .unwrap();
    assert!(unknown.is_err());
}

#[actix::test]
async fn remote_records_expire_on_the_timer_once_their_lifespan_passes() {
    tokio::time::pause();
    let clock = start();
    let keeper = start_keeper(&clock);
    apply_remote(&keeper, &clock).await;
    clock.advance(Duration::from_secs(81));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let snapshot = keeper.send(GetSnapshot).await.unwrap();
    let held = snapshot.state().get("node-b", "xyz").unwrap();
    assert_eq!(held.status, ServiceStatus::Tombstone);
}

#[actix::test]
async fn expiring_a_node_tombstones_its_records_and_tells_the_subscribers() {
    let clock = start();
    let keeper = start_keeper(&clock);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = Recorder(Arc::clone(&seen)).start();
    keeper
        .send(Subscribe(recorder.clone().recipient()))
        .await
        .unwrap();
    apply_remote(&keeper, &clock).await;
    keeper
        .send(ExpireNode {
            hostname: "node-b".into(),
        })
        .await
        .unwrap();
    let snapshot = keeper.send(GetSnapshot).await.unwrap();
    assert_eq!(
        snapshot.state().get("node-b", "xyz").unwrap().status,
        ServiceStatus::Tombstone
    );
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[actix::test]
async fn a_third_partys_tombstone_of_a_live_members_record_is_ignored_and_the_members_own_taken() {
    let clock = start();
    let keeper = start_keeper(&clock);
    apply_remote(&keeper, &clock).await;
    keeper
        .send(SetMembers(vec!["node-b".into(), "node-c".into()]))
        .await
        .unwrap();
    let mut tombstone = local("xyz", ServiceStatus::Tombstone);
    tombstone.hostname = "node-b".into();
    tombstone.updated = clock.now().plus(Duration::from_secs(1));
    let heard_from = |peer: &str| ApplyRemoteServices {
        services: vec![tombstone.clone()],
        source: RemoteSource::Exchange { peer: peer.into() },
    };
    keeper.send(heard_from("node-c")).await.unwrap();
    assert_eq!(
        status_of_xyz(&keeper).await,
        ServiceStatus::Alive,
        "hearsay ignored"
    );
    keeper.send(heard_from("node-b")).await.unwrap();
    let own = status_of_xyz(&keeper).await;
    assert_eq!(own, ServiceStatus::Tombstone, "the member's own word");
}

/// The status of node-b's record `xyz` as the keeper holds it.
async fn status_of_xyz(keeper: &Addr<StateKeeper>) -> ServiceStatus {
    let snapshot = keeper.send(GetSnapshot).await.unwrap();
    snapshot.state().get("node-b", "xyz").unwrap().status
}

#[actix::test]
async fn a_broadcast_tombstone_of_a_live_member_is_taken() {
    let clock = start();
    let keeper = start_keeper(&clock);
    apply_remote(&keeper, &clock).await;
    keeper
        .send(SetMembers(vec!["node-b".into()]))
        .await
        .unwrap();
    let mut tombstone = local("xyz", ServiceStatus::Tombstone);
    tombstone.hostname = "node-b".into();
    tombstone.updated = clock.now().plus(Duration::from_secs(1));
    let (services, source) = (vec![tombstone], RemoteSource::Broadcast);
    keeper
        .send(ApplyRemoteServices { services, source })
        .await
        .unwrap();
    let snapshot = keeper.send(GetSnapshot).await.unwrap();
    let held = snapshot.state().get("node-b", "xyz").unwrap();
    assert_eq!(held.status, ServiceStatus::Tombstone);
}

#[actix::test]
async fn set_members_is_published_with_this_node_kept_and_survives_a_restart() {
    let clock = start();
    let memory = StateKeeperMemory::default();
    let keeper = start_keeper_with(&clock, memory.clone());
    let members = vec!["node-c".to_owned(), "node-b".to_owned()];
    keeper.send(SetMembers(members)).await.unwrap();
    let snapshot = keeper.send(GetSnapshot).await.unwrap();
    assert_eq!(snapshot.members(), ["node-a", "node-b", "node-c"]);

    let restarted = start_keeper_with(&clock, memory);
    let snapshot = restarted.send(GetSnapshot).await.unwrap();
    assert_eq!(snapshot.members(), ["node-a", "node-b", "node-c"]);
}

#[actix::test]
async fn a_subscriber_whose_mailbox_closed_is_dropped_at_the_next_publish() {
    let clock = start();
    let memory = StateKeeperMemory::default();
    let keeper = start_keeper_with(&clock, memory.clone());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let live = Recorder(Arc::clone(&seen)).start();
    keeper.send(Subscribe(live.recipient())).await.unwrap();
    // A subscriber that never runs: its mailbox closes when its context is dropped.
    let gone = Context::<Recorder<StateChanged>>::new();
    let gone_addr = gone.address();
    keeper.send(Subscribe(gone_addr.recipient())).await.unwrap();
    assert_eq!(memory.subscribers().len(), 2);

    drop(gone);
    apply_local(&keeper).await;
    assert_eq!(memory.subscribers().len(), 1, "the closed one is dropped");
    keeper.send(GetSnapshot).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2, "the live one still hears");
}

#[actix::test]
async fn a_vanished_local_service_is_announced_ten_times_with_the_tombstone_repeater() {
    use crate::actors::TombstoneRepeater;
    use crate::gossip::repeat::STEP;
    use crate::supervisor::Link;
    let clock = start();
    let keeper = start_keeper(&clock);
    let seen = subscribe_recorder(&keeper).await;
    let log = Logger::root(slog::Discard, o!());
    let (subscribe, repeat) = (
        Link::fixed(keeper.clone().recipient()),
        Link::fixed(keeper.clone().recipient()),
    );
    let _repeater =
        TombstoneRepeater::new(subscribe, repeat, Duration::from_millis(5), &log).start();
    apply_local(&keeper).await;
    clock.advance(Duration::from_secs(1));
    let gone = clock.now();
    let pending = BTreeSet::new();
    keeper
        .send(ApplyLocalServices {
            services: Vec::new(),
            pending,
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = seen.lock().unwrap();
    let tombstones: Vec<Timestamp> = (seen.iter())
        .flat_map(|e| e.announced.iter())
        .filter(|s| s.status == ServiceStatus::Tombstone)
        .map(|s| s.updated)
        .collect();
    let want: Vec<Timestamp> = (0..10).map(|k| gone.plus(STEP * k)).collect();
    assert_eq!(tombstones, want);
    let last = seen.last().unwrap();
    let changes: usize = seen.iter().map(|e| e.changes.len()).sum();
    assert_eq!(changes, 2, "the repetitions are no status changes");
    assert_eq!(last.snapshot.change_version(), 2);
}

#[actix::test]
async fn no_announcement_is_lost_when_a_subscribers_mailbox_is_full() {
    // The Gossiper's mailbox full: every record this node stamped must still reach it.
    let clock = start();
    let keeper = start_keeper(&clock);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let slow = Recorder::create(|ctx| {
        ctx.set_mailbox_capacity(1);
        Recorder(sink)
    });
    keeper.send(Subscribe(slow.recipient())).await.unwrap();
    let ids: Vec<String> = (0..20).map(|n| format!("svc{n:02}")).collect();
    for n in 1..=ids.len() {
        let services = ids[..n]
            .iter()
            .map(|id| local(id, ServiceStatus::Alive))
            .collect();
        let pending = BTreeSet::new();
        keeper.do_send(ApplyLocalServices { services, pending });
    }
    let snapshot = keeper.send(GetSnapshot).await.unwrap();
    assert_eq!(snapshot.version(), 20);
    let announced = || -> BTreeSet<String> {
        let seen = seen.lock().unwrap();
        let ids = seen.iter().flat_map(|e| e.announced.iter());
        ids.map(|s| s.id.clone()).collect()
    };
    for _ in 0..100 {
        if announced().len() == ids.len() {
            break;
        }
        tokio::time::sleep(CATCH_UP_EVERY).await;
    }
    let events = seen.lock().unwrap().len();
    assert!(events < 21, "the mailbox was never full ({events} events)");
    assert_eq!(announced(), ids.into_iter().collect::<BTreeSet<_>>());
    // And it was handed the newest snapshot once it had room.
    let last = seen.lock().unwrap().last().unwrap().snapshot.version();
    assert_eq!(last, 20);
}
