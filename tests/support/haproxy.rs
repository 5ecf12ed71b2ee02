//! What `tests/haproxy.rs` and `examples/bench_haproxy.rs` share: a StateKeeper with a
//! HaproxyManager subscribed to it, service records pointing at a backend, and a guard that
//! stops the HAProxy master a run started.

#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use slog::{Logger, o};

use sidecar::actors::haproxy_manager::{HaproxyManager, HaproxySettings};
use sidecar::actors::{StateKeeper, StateKeeperMemory, StateKeeperSettings};
use sidecar::catalog::{Lifespans, Port, Service, ServiceStatus};
use sidecar::clock::{SharedClock, SystemClock};
use sidecar::messages::{ApplyRemoteServices, GetHaproxyStatus, HaproxyStatus};
use sidecar::supervisor::Slot;

/// A StateKeeper and a HaproxyManager following it.
pub struct Catalogue {
    pub keeper: Addr<StateKeeper>,
    pub manager: Addr<HaproxyManager>,
    pub clock: SharedClock,
}

impl Catalogue {
    /// Starts both in the current actix system.
    pub fn start(settings: HaproxySettings) -> Catalogue {
        let clock: SharedClock = Arc::new(SystemClock);
        let log = Logger::root(slog::Discard, o!());
        let keeper_settings = StateKeeperSettings {
            hostname: "haproxy-test".to_owned(),
            cluster_name: "default".to_owned(),
            lifespans: Lifespans::default(),
            expire_interval: Duration::from_secs(2),
        };
        let memory = StateKeeperMemory::default();
        let keeper = StateKeeper::new(keeper_settings, Arc::clone(&clock), memory, &log).start();
        let link = Slot::new(keeper.clone()).link();
        let manager = HaproxyManager::new(settings, link, None, Arc::clone(&clock), &log).start();
        Catalogue {
            keeper,
            manager,
            clock,
        }
    }

    /// Tells the StateKeeper about `services`, as heard from peers, versioned now.
    pub async fn announce(&self, services: Vec<Service>) {
        let now = self.clock.now();
        let services = services
            .into_iter()
            .map(|s| Service { updated: now, ..s })
            .collect();
        self.keeper
            .send(ApplyRemoteServices::broadcast(services))
            .await
            .unwrap();
    }

    /// The manager's counts.
    pub async fn status(&self) -> HaproxyStatus {
        self.manager.send(GetHaproxyStatus).await.unwrap()
    }
}

/// An ALIVE instance of `name` on `host`, reached at `backend`, behind `service_port`.
pub fn instance(
    host: &str,
    name: &str,
    mode: &str,
    backend: SocketAddr,
    service_port: i64,
) -> Service {
    Service {
        id: format!("{name}{}", backend.port()),
        name: name.to_owned(),
        image: format!("{name}:1"),
        hostname: host.to_owned(),
        ports: Some(vec![Port {
            kind: "tcp".to_owned(),
            port: i64::from(backend.port()),
            service_port,
            ip: backend.ip().to_string(),
        }]),
        proxy_mode: mode.to_owned(),
        status: ServiceStatus::Alive,
        ..Service::default()
    }
}

/// Stops the HAProxy master whose pid file this is (only the one the run started, by its
/// pid), when dropped.
pub struct KillOnDrop(pub PathBuf);

impl Drop for KillOnDrop {
    /// Kills the master of the pid file, then looks again a moment later: a manager that was
    /// starting HAProxy as the run ended may have written another pid since.
    fn drop(&mut self) {
        let mut killed = String::new();
        for _ in 0..3 {
            let Ok(pid) = std::fs::read_to_string(&self.0) else {
                return;
            };
            if pid.trim() == killed {
                return;
            }
            let _ = std::process::Command::new("kill").arg(pid.trim()).status();
            killed = pid.trim().to_owned();
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}
