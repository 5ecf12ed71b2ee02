//! ListenerNotifier end to end: a real StateKeeper feeds a real notifier, which POSTs over
//! loopback HTTP to small receivers that record what they get (no mock of the HTTP side).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "listeners/receiver.rs"]
mod receiver;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use slog::{Logger, o};
use tokio::time::Instant;

use self::receiver::{Receiver, dead_url, header};
use sidecar::actors::{
    ListenerNotifier, ListenerSettings, StateKeeper, StateKeeperMemory, StateKeeperSettings,
};
use sidecar::catalog::{Lifespans, Service, ServiceStatus, StateChangedEvent};
use sidecar::clock::{Clock, ManualClock, SystemClock, Timestamp};
use sidecar::discovery::{Discovered, DiscoverySource, ListenerDefinition};
use sidecar::messages::{
    ApplyRemoteServices, GetListenerStats, ListenerStats, ObservedLocalServices,
};
use sidecar::supervisor::Link;

/// Polls `pred` every 25 ms until it returns `Some`, or panics after `timeout` saying `what`.
async fn eventually<T>(timeout: Duration, what: &str, mut pred: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = pred() {
            return value;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A real StateKeeper on node "node-a" and a notifier subscribed to it.
struct Rig {
    clock: ManualClock,
    keeper: Addr<StateKeeper>,
    notifier: Addr<ListenerNotifier>,
}

impl Rig {
    async fn start(settings: ListenerSettings) -> Rig {
        Rig::start_logging(settings, Logger::root(slog::Discard, o!())).await
    }

    async fn start_logging(settings: ListenerSettings, log: Logger) -> Rig {
        let clock = ManualClock::new(Timestamp::parse("2026-11-23T08:00:00Z").unwrap());
        let keeper = StateKeeper::new(
            StateKeeperSettings {
                hostname: "node-a".into(),
                cluster_name: "default".into(),
                lifespans: Lifespans::default(),
                expire_interval: Duration::from_secs(2),
            },
            Arc::new(clock.clone()),
            StateKeeperMemory::default(),
            &log,
        )
        .start();
        let notifier = ListenerNotifier::new(
            settings,
            Link::fixed(keeper.clone().recipient()),
            Arc::new(clock.clone()),
            &log,
        )
        .start();
        // Answered after started(): its Subscribe is queued at the keeper before any change.
        notifier.send(GetListenerStats).await.unwrap();
        Rig {
            clock,
            keeper,
            notifier,
        }
    }

    /// A remote record `id` of "web" on node-b, one millisecond newer than anything before.
    async fn announce(&self, id: &str, status: ServiceStatus) -> Service {
        self.clock.advance(Duration::from_millis(1));
        let svc = Service {
            id: id.into(),
            name: "web".into(),
            hostname: "node-b".into(),
            updated: self.clock.now(),
            status,
            ..Service::default()
        };
        let services = vec![svc.clone()];
        self.keeper
            .send(ApplyRemoteServices::broadcast(services))
            .await
            .unwrap();
        svc
    }

    async fn stats(&self) -> Vec<ListenerStats> {
        self.notifier.send(GetListenerStats).await.unwrap()
    }

    /// The statistics once `ready` holds of them (within 10 s).
    async fn stats_when(&self, ready: impl Fn(&[ListenerStats]) -> bool) -> Vec<ListenerStats> {
        let start = Instant::now();
        loop {
            let stats = self.stats().await;
            if ready(&stats) || start.elapsed() > Duration::from_secs(10) {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn settings(urls: &[&str]) -> ListenerSettings {
    ListenerSettings::new("node-a", urls.iter().map(|u| u.to_string()).collect())
}

/// The receiver library's `ShouldNotify(old, new)` on Go status codes (docs/COMPATIBILITY.md §12).
fn should_notify(old: u8, new: u8) -> bool {
    const ALIVE: u8 = 0;
    match new {
        0 | 1 | 4 => true,     // ALIVE, TOMBSTONE, DRAINING
        2 | 3 => old == ALIVE, // UNHEALTHY, UNKNOWN
        _ => false,
    }
}

#[actix::test]
async fn a_listener_receives_the_body_the_go_receivers_accept() {
    let live = Receiver::start(Receiver::ok()).await;
    let rig = Rig::start(settings(&[&live.url])).await;
    let alive = rig.announce("abc", ServiceStatus::Alive).await;
    let sick = rig.announce("abc", ServiceStatus::Unhealthy).await;
    eventually(Duration::from_secs(5), "two events", || {
        (live.bodies().len() == 2).then_some(())
    })
    .await;

    let received = live.received();
    let events: Vec<StateChangedEvent> = received
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    for (got, (svc, previous)) in received.iter().zip([(&alive, 3), (&sick, 0)]) {
        let body = String::from_utf8(got.body.clone()).unwrap();
        assert!(
            body.starts_with("{\"State\":{\"Servers\":"),
            "State comes first: {body}"
        );
        let event: StateChangedEvent = serde_json::from_str(&body).unwrap();
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            body,
            "compact, Go key order"
        );
        let change = &event.change_event;
        assert_eq!(change.time, change.service.updated);
        assert_eq!(change.service, *svc);
        assert_eq!(change.previous_status.code(), previous);
        assert_eq!(
            event.state.get("node-b", "abc"),
            Some(svc),
            "the state holds the change"
        );
        assert_eq!(event.state.last_changed, svc.updated);
        assert_eq!(header(&got.head, "content-type"), Some("application/json"));
        let cookie = header(&got.head, "cookie").unwrap();
        assert!(
            cookie.starts_with("sidecar-session-host=\"node-a-2026-11-23 08:00:00"),
            "{cookie}"
        );
    }
    // What a receiver decides: each state is newer than the last, and both changes reload.
    assert!(events[0].state.last_changed < events[1].state.last_changed);
    let code = |s: ServiceStatus| s.code();
    let flips: Vec<bool> = events
        .iter()
        .map(|e| {
            should_notify(
                code(e.change_event.previous_status),
                code(e.change_event.service.status),
            )
        })
        .collect();
    assert_eq!(flips, [true, true], "new ALIVE, then ALIVE → UNHEALTHY");
    assert!(
        !should_notify(2, 3),
        "UNHEALTHY → UNKNOWN is not worth a reload"
    );
}

#[actix::test]
async fn a_dead_and_a_slow_listener_do_not_delay_a_live_one() {
    let live = Receiver::start(Receiver::ok()).await;
    let slow = Receiver::start(|_| (200, Duration::from_secs(10))).await;
    let dead = dead_url().await;
    let rig = Rig::start(settings(&[&dead, &slow.url, &live.url])).await;
    for i in 0..5 {
        let sent = Instant::now();
        rig.announce(&format!("svc{i}"), ServiceStatus::Alive).await;
        let got = eventually(
            Duration::from_secs(2),
            "the live listener gets the event",
            || live.received().get(i).cloned(),
        )
        .await;
        let latency = got.at - sent;
        assert!(
            latency < Duration::from_secs(1),
            "event {i} took {latency:?}"
        );
    }
    assert_eq!(
        slow.received().len(),
        1,
        "the slow one is still on its first event"
    );
    let stats = rig.stats().await;
    let live_stats = stats.iter().find(|s| s.url == live.url).unwrap();
    assert_eq!(live_stats.delivered, 5);
}

#[actix::test]
async fn every_retry_carries_the_full_body() {
    let flaky = Receiver::start(|n| (if n < 2 { 500 } else { 200 }, Duration::ZERO)).await;
    let rig = Rig::start(settings(&[&flaky.url])).await;
    rig.announce("abc", ServiceStatus::Alive).await;
    let bodies = eventually(Duration::from_secs(15), "three attempts", || {
        let bodies = flaky.bodies();
        (bodies.len() == 3).then_some(bodies)
    })
    .await;
    assert!(!bodies[0].is_empty());
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "retries re-send the same body"
    );
    let _: StateChangedEvent = serde_json::from_slice(&bodies[2]).unwrap();
    // The third answer is counted once the notifier has read it, a moment after it was sent.
    let counted = rig
        .stats_when(|stats| stats[0].delivered + stats[0].failed > 0)
        .await;
    assert_eq!((counted[0].delivered, counted[0].failed), (1, 0));
}

#[actix::test]
async fn discovered_listeners_come_and_go_with_their_service_and_static_ones_stay() {
    let fixed = Receiver::start(Receiver::ok()).await;
    let found = Receiver::start(Receiver::ok()).await;
    let rig = Rig::start(settings(&[&fixed.url])).await;
    let observe = |listener: Option<ListenerDefinition>| ObservedLocalServices {
        source: DiscoverySource::Static,
        services: vec![Discovered {
            service: Service::default(),
            check: None,
            listener,
        }],
    };
    let definition = ListenerDefinition {
        name: "Service(web-abc)".into(),
        url: found.url.clone(),
    };
    rig.notifier.send(observe(Some(definition))).await.unwrap();
    let managed: Vec<_> = rig
        .stats()
        .await
        .iter()
        .map(|s| (s.name.clone(), s.managed))
        .collect();
    let fixed_name = format!("UrlListener({})", fixed.url);
    assert_eq!(
        managed,
        [
            ("Service(web-abc)".into(), true),
            (fixed_name.clone(), false)
        ]
    );
    rig.announce("one", ServiceStatus::Alive).await;
    eventually(Duration::from_secs(5), "both get the first event", || {
        (fixed.bodies().len() == 1 && found.bodies().len() == 1).then_some(())
    })
    .await;

    rig.notifier.send(observe(None)).await.unwrap();
    let names: Vec<_> = rig.stats().await.into_iter().map(|s| s.name).collect();
    assert_eq!(names, [fixed_name]);
    rig.announce("two", ServiceStatus::Alive).await;
    eventually(
        Duration::from_secs(5),
        "the static one gets the second event",
        || (fixed.bodies().len() == 2).then_some(()),
    )
    .await;
    assert_eq!(
        found.bodies().len(),
        1,
        "a removed listener gets nothing more"
    );
}

#[actix::test]
async fn a_stalled_listener_drops_the_oldest_events_and_stays_bounded() {
    let stalled = Receiver::start(|_| (200, Duration::from_secs(600))).await;
    let mut settings = settings(&[&stalled.url]);
    settings.queue = 4;
    settings.attempt_timeout = Duration::from_secs(60);
    let rig = Rig::start(settings).await;
    rig.announce("first", ServiceStatus::Alive).await;
    eventually(
        Duration::from_secs(5),
        "the first POST is in flight",
        || (stalled.bodies().len() == 1).then_some(()),
    )
    .await;
    for i in 0..20 {
        rig.announce(&format!("svc{i}"), ServiceStatus::Alive).await;
    }
    let stats = rig.stats().await;
    assert_eq!(stats[0].queued, 4, "never more than the queue holds");
    assert_eq!(
        stats[0].dropped, 16,
        "20 queued behind the stalled POST, 4 kept"
    );
    assert_eq!((stats[0].delivered, stats[0].failed), (0, 0));
}

/// Keeps the message of every log record.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

impl slog::Drain for Capture {
    type Ok = ();
    type Err = slog::Never;
    fn log(&self, record: &slog::Record<'_>, _: &slog::OwnedKVList) -> Result<(), slog::Never> {
        self.0.lock().unwrap().push(record.msg().to_string());
        Ok(())
    }
}

#[actix::test]
async fn a_failing_listener_is_warned_about_once_per_streak_not_per_event() {
    let dead = dead_url().await;
    let mut settings = settings(&[&dead]);
    settings.max_attempts = 2;
    let capture = Capture::default();
    let rig = Rig::start_logging(settings, Logger::root(capture.clone(), o!())).await;
    for i in 0..3 {
        rig.announce(&format!("svc{i}"), ServiceStatus::Alive).await;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while rig.stats().await[0].failed < 3 {
        assert!(Instant::now() < deadline, "three events given up on");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let logs = capture.0.lock().unwrap();
    let warnings = logs.iter().filter(|m| *m == "Failed posting state").count();
    assert_eq!(warnings, 1, "{logs:?}");
}

/// The whole node as `main` runs it: a static service asking for events on its `ListenPort`
/// and a `LISTENERS_URLS` listener both hear that it came up. The discovered listener's URL
/// names the OS hostname (as in Go), so this needs the host's name to resolve to the host.
#[actix::test]
async fn a_node_notifies_its_static_and_its_discovered_listeners() {
    let fixed = Receiver::start(Receiver::ok()).await;
    let found = Receiver::start_on("0.0.0.0:0", Receiver::ok()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("static.json");
    let services = serde_json::json!([{
        "Service": {"Name": "web", "Image": "web:1", "ProxyMode": "http",
            "Ports": [{"Type": "tcp", "Port": 8080, "ServicePort": 8080, "IP": "127.0.0.1"}]},
        "Check": {"Type": "AlwaysSuccessful", "Args": ""},
        "ListenPort": found.port(),
    }]);
    std::fs::write(&file, services.to_string()).unwrap();
    let env: BTreeMap<String, String> = [
        ("SIDECAR_DISCOVERY", "static"),
        ("STATIC_CONFIG_FILE", file.to_str().unwrap()),
        ("SIDECAR_ADVERTISE_IP", "127.0.0.1"),
        ("SIDECAR_HTTP_BIND_IP", "127.0.0.1"),
        ("SIDECAR_HTTP_PORT", "0"),
        ("SIDECAR_BIND_PORT", "0"),
        ("HAPROXY_DISABLE", "true"),
        ("ENVOY_USE_GRPC_API", "false"),
        ("LISTENERS_URLS", fixed.url.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let config = sidecar::config::load(&sidecar::config::Cli::default(), &env).unwrap();
    let log = Logger::root(slog::Discard, o!());
    let plan = sidecar::config::NodePlan::new(&config).unwrap();
    let _node = sidecar::node::start(&plan, Arc::new(SystemClock), &log).unwrap();
    for receiver in [&fixed, &found] {
        eventually(Duration::from_secs(10), "web ALIVE is POSTed", || {
            receiver.bodies().iter().find_map(|body| {
                let event: StateChangedEvent = serde_json::from_slice(body).unwrap();
                let svc = event.change_event.service;
                (svc.name == "web" && svc.status == ServiceStatus::Alive).then_some(())
            })
        })
        .await;
    }
}
