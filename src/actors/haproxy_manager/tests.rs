use std::sync::Arc;
use std::time::Duration;

use slog::{Logger, o};

use super::*;
use crate::actors::{StateKeeper, StateKeeperMemory, StateKeeperSettings};
use crate::catalog::{Lifespans, ServicesState};
use crate::clock::SystemClock;
use crate::config::HaproxyConfig;
use crate::supervisor::Slot;

fn changed(version: u64) -> StateChanged {
    let state = ServicesState::new("node", "default");
    StateChanged {
        snapshot: Arc::new(Snapshot::new(state, Vec::new(), version, version)),
        changes: Arc::from(Vec::new()),
        announced: Arc::from(Vec::new()),
        refreshed: Arc::from(Vec::new()),
    }
}

/// A manager whose every application fails at once (its template cannot render), so each
/// application shows as one failure, without any process or file being touched.
async fn failing_manager(dir: &std::path::Path) -> Addr<HaproxyManager> {
    let template = dir.join("template.cfg");
    std::fs::write(&template, "{{ no_such_variable }}").unwrap();
    let mut settings = HaproxySettings::from_config(&HaproxyConfig::default());
    settings.template_file = Some(template);
    settings.debounce = Duration::from_millis(100);
    settings.retry_interval = Duration::from_secs(60);
    let clock: SharedClock = Arc::new(SystemClock);
    let log = Logger::root(slog::Discard, o!());
    let keeper_settings = StateKeeperSettings {
        hostname: "node".to_owned(),
        cluster_name: "default".to_owned(),
        lifespans: Lifespans::default(),
        expire_interval: Duration::from_secs(3600),
    };
    let memory = StateKeeperMemory::default();
    let keeper = StateKeeper::new(keeper_settings, Arc::clone(&clock), memory, &log).start();
    let link = Slot::new(keeper).link();
    HaproxyManager::new(settings, link, None, clock, &log).start()
}

async fn failures(manager: &Addr<HaproxyManager>) -> u64 {
    manager.send(GetHaproxyStatus).await.unwrap().failures
}

/// Lets virtual time pass; everything ready runs before the clock moves on.
async fn advance(by: Duration) {
    tokio::time::sleep(by).await;
}

#[actix::test]
async fn a_lone_change_is_applied_at_once_and_the_burst_after_it_once_after_the_debounce() {
    tokio::time::pause();
    let dir = tempfile::tempdir().unwrap();
    let manager = failing_manager(dir.path()).await;
    // The snapshot sent on subscription is the first change.
    advance(Duration::from_millis(150)).await;
    assert_eq!(failures(&manager).await, 1);

    // After a quiet spell the first change is applied at once...
    manager.send(changed(1)).await.unwrap();
    advance(Duration::from_millis(1)).await;
    assert_eq!(failures(&manager).await, 2, "applied at once");
    // ...and the burst that follows it, once, when the debounce is over.
    for version in 2..=21 {
        manager.send(changed(version)).await.unwrap();
        advance(Duration::from_millis(2)).await;
    }
    let before = failures(&manager).await;
    assert_eq!(before, 2, "nothing before the debounce ends");
    advance(Duration::from_millis(100)).await;
    let after = failures(&manager).await;
    assert_eq!(after, 3, "twenty changes, one application");
    advance(Duration::from_secs(1)).await;
    let later = failures(&manager).await;
    assert_eq!(later, 3, "no change, no application");
}

#[actix::test]
async fn a_failed_application_is_retried_after_the_retry_interval_without_a_change() {
    tokio::time::pause();
    let dir = tempfile::tempdir().unwrap();
    let manager = failing_manager(dir.path()).await;
    advance(Duration::from_millis(150)).await;
    assert_eq!(failures(&manager).await, 1);
    advance(Duration::from_secs(59)).await;
    assert_eq!(failures(&manager).await, 1);
    advance(Duration::from_secs(2)).await;
    assert_eq!(failures(&manager).await, 2);
}
