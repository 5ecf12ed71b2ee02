//! ListenerNotifier: POSTs every catalogue change to every listener (docs/COMPATIBILITY.md §12).
//!
//! Does: keep the [`Registry`] of static (`LISTENERS_URLS`) and discovered listeners in line
//! with [`ObservedLocalServices`], start a delivery worker per listener and stop it when the
//! listener goes, and turn each change of each [`StateChanged`] into one
//! [`StateChangedEvent`](crate::catalog::StateChangedEvent) body queued to every listener.
//! Does not: wait for any listener. Handlers only queue; each listener's task POSTs from its
//! own bounded queue (oldest dropped and counted when full), with a timeout per attempt and up
//! to `max_attempts` attempts that all carry the full body. A slow or dead listener therefore
//! delays neither the others nor the StateKeeper.
//!
//! The `State` of each body is the catalogue as of the change's own snapshot (Go sent the
//! state at the time the worker got round to the event).

mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use actix::prelude::*;
use reqwest::header::HeaderValue;
use slog::{Logger, error, info, o, warn};

use self::worker::{Poster, Worker};
use crate::clock::SharedClock;
use crate::listeners::{Listener, Registry, RegistryChanges, event_body};
use crate::messages::{GetListenerStats, ObservedLocalServices, StateChanged, Subscribe};
use crate::metrics::NodeMetrics;
use crate::supervisor::Link;

/// How listeners are served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerSettings {
    /// This node's OS hostname (for the session cookie).
    pub hostname: String,
    /// The limit of each POST attempt (Go: 3 s).
    pub attempt_timeout: Duration,
    /// Attempts per event, the first included (Go: 6).
    pub max_attempts: u32,
    /// Events each listener's queue holds before the oldest is dropped (Go: 20).
    pub queue: usize,
    /// `LISTENERS_URLS`: static listeners, never removed. Invalid ones are logged and skipped
    /// (`node` refuses them at start with [`validate_urls`](crate::listeners::validate_urls)).
    pub static_urls: Vec<String>,
}

/// The actor that notifies listeners. See the [module docs](self).
pub struct ListenerNotifier {
    settings: ListenerSettings,
    registry: Registry,
    workers: BTreeMap<String, Worker>,
    state_keeper: Link<Subscribe>,
    cookie: Option<HeaderValue>,
    poster: Option<Poster>,
    /// Discovered listeners already warned about for a bad URL (warn once, not per refresh).
    rejected: BTreeSet<String>,
    metrics: NodeMetrics,
    log: Logger,
}

impl ListenerNotifier {
    /// A notifier for `settings.static_urls` that subscribes to `state_keeper` once started.
    /// The session cookie carries `clock`'s time now, as Go's carries the start time.
    pub fn new(
        settings: ListenerSettings,
        state_keeper: Link<Subscribe>,
        clock: SharedClock,
        log: &Logger,
    ) -> ListenerNotifier {
        let log = log.new(o!("actor" => "listener_notifier"));
        let (registry, bad) = Registry::with_static(&settings.static_urls);
        for (url, reason) in bad {
            error!(log, "Skipping invalid listener URL"; "url" => url, "error" => reason);
        }
        ListenerNotifier {
            cookie: session_cookie(&settings.hostname, &clock.now().go_string()),
            settings,
            registry,
            workers: BTreeMap::new(),
            state_keeper,
            poster: None,
            rejected: BTreeSet::new(),
            metrics: NodeMetrics::default(),
            log,
        }
    }

    /// The same notifier, counting deliveries into the node's `metrics`.
    pub fn with_metrics(mut self, metrics: NodeMetrics) -> ListenerNotifier {
        self.metrics = metrics;
        self
    }

    /// Starts a worker for every registered listener that has none.
    fn start_missing_workers(&mut self) {
        for listener in self.registry.active().into_values() {
            if !self.workers.contains_key(&listener.name) {
                self.start_worker(listener);
            }
        }
    }

    fn start_worker(&mut self, listener: Listener) {
        let Some(poster) = self.poster.clone() else {
            return;
        };
        let worker = Worker::start(listener, poster, self.settings.queue, &self.log);
        self.workers.insert(worker.listener().name.clone(), worker);
    }

    /// Stops the workers of removed listeners and starts those of added ones.
    fn apply(&mut self, changes: RegistryChanges) {
        for (name, reason) in changes.rejected {
            if self.rejected.insert(name.clone()) {
                warn!(self.log, "Skipping discovered listener with an invalid URL";
                    "listener" => name, "error" => reason);
            }
        }
        for name in changes.removed {
            info!(self.log, "Removing listener because the service appears to be gone";
                "listener" => &name);
            self.workers.remove(&name);
            self.metrics.forget_listener(&name);
        }
        for listener in changes.added {
            info!(self.log, "Adding listener because it was just discovered";
                "listener" => &listener.name, "url" => &listener.url);
            self.rejected.remove(&listener.name);
            self.start_worker(listener);
        }
    }
}

/// `sidecar-session-host=<hostname>-<start>`, quoted as Go quotes a value with spaces.
fn session_cookie(hostname: &str, start: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("sidecar-session-host=\"{hostname}-{start}\"")).ok()
}

impl Actor for ListenerNotifier {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1024);
        match reqwest::Client::builder().build() {
            Ok(client) => {
                self.poster = Some(Poster {
                    client,
                    cookie: self.cookie.clone(),
                    attempt_timeout: self.settings.attempt_timeout,
                    max_attempts: self.settings.max_attempts,
                    metrics: self.metrics.clone(),
                });
            }
            Err(err) => {
                error!(self.log, "Cannot build the HTTP client"; "error" => %err);
                ctx.stop();
                return;
            }
        }
        self.start_missing_workers();
        self.state_keeper
            .do_send(Subscribe(ctx.address().recipient()));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.workers.clear();
    }
}

impl Handler<StateChanged> for ListenerNotifier {
    type Result = ();

    fn handle(&mut self, msg: StateChanged, _: &mut Context<Self>) {
        if msg.changes.is_empty() || self.workers.is_empty() {
            return;
        }
        let Some(state_json) = msg.snapshot.state_json() else {
            error!(self.log, "Cannot encode the state for listeners");
            return;
        };
        for change in msg.changes.iter() {
            let Some(body) = event_body(&state_json, change) else {
                continue;
            };
            for worker in self.workers.values() {
                worker.enqueue(body.clone());
            }
        }
    }
}

impl Handler<ObservedLocalServices> for ListenerNotifier {
    type Result = ();

    fn handle(&mut self, msg: ObservedLocalServices, _: &mut Context<Self>) {
        let definitions = msg.services.into_iter().filter_map(|d| d.listener);
        let changes = self.registry.observe(msg.source, definitions);
        self.apply(changes);
    }
}

impl Handler<GetListenerStats> for ListenerNotifier {
    type Result = MessageResult<GetListenerStats>;

    fn handle(&mut self, _: GetListenerStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.workers.values().map(Worker::stats).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_quoted_like_go() {
        let cookie = session_cookie("vm", "2026-11-23 08:00:32.419 +0000 UTC").unwrap();
        assert_eq!(
            cookie.to_str().unwrap(),
            "sidecar-session-host=\"vm-2026-11-23 08:00:32.419 +0000 UTC\""
        );
    }
}

crate::supervised_actor!(ListenerNotifier);
