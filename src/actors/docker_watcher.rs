//! DockerWatcher: reports the running containers of the Docker engine as services
//! (docs/COMPATIBILITY.md §10) and follows their lifecycle events.
//!
//! Does: list the running containers, then follow the container event stream. `die`, `stop`
//! and `destroy` drop that container at once and re-send the list (so its service is
//! tombstoned within a second); `start` triggers a re-list; a re-list also runs every
//! `relist_interval` as a safety net. A lost connection (the stream ends or fails, a list
//! fails or times out) is retried with exponential backoff, and every reconnection re-lists.
//! While Docker is unreachable it keeps re-sending the last good list every second, so nothing
//! is dropped or tombstoned; once back, the fresh list wins. Label problems are
//! logged once per container.
//! Does not: map containers (that is [`crate::discovery::docker`]) or health-check anything.

mod engine;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use actix::prelude::*;
use bollard::Docker;
use slog::{Logger, debug, info, o, warn};

use self::engine::{ContainerEvent, EventsEnded};
use crate::discovery::docker::{ContainerInfo, DockerContext, Skip, to_discovered};
use crate::discovery::namer::Namer;
use crate::discovery::{Discovered, DiscoverySource};
use crate::messages::{DockerStatus, GetDockerStatus, ObservedLocalServices};
use crate::supervisor::Link;

/// Where Docker is and how to follow it.
#[derive(Clone, Debug)]
pub struct DockerWatcherSettings {
    /// The engine (`unix://`, `tcp://` or `http://`), from
    /// [`crate::config::DockerConfig::endpoint`].
    pub endpoint: String,
    /// The OS hostname (`Hostname` of every service).
    pub hostname: String,
    /// The published IP (ports bound to all addresses).
    pub published_ip: String,
    /// How services are named.
    pub namer: Namer,
    /// How often the containers are re-listed even without events.
    pub relist_interval: Duration,
    /// A list taking longer than this counts as a lost connection.
    pub list_timeout: Duration,
    /// First reconnection delay; it doubles after each failure…
    pub backoff_min: Duration,
    /// …up to this.
    pub backoff_max: Duration,
}

/// How often the current list is re-sent without asking Docker.
const RESEND_INTERVAL: Duration = Duration::from_secs(1);

/// The Docker watcher. See the [module docs](self).
pub struct DockerWatcher {
    settings: DockerWatcherSettings,
    recipients: Vec<Link<ObservedLocalServices>>,
    log: Logger,
    docker: Option<Docker>,
    events: Option<tokio::task::JoinHandle<()>>,
    /// Bumped on every lost connection: late answers of an older connection are ignored.
    generation: u64,
    connected: bool,
    reconnect_pending: bool,
    reconnects: u64,
    backoff: Duration,
    /// Lists are numbered so that an older answer never overwrites a newer one.
    lists_sent: u64,
    lists_applied: u64,
    /// Container ID → its service.
    current: BTreeMap<String, Discovered>,
    /// Containers a `die`/`stop`/`destroy` removed; a list still showing them is ignored for
    /// them until they start again or vanish from the list.
    gone: HashSet<String>,
    /// Containers whose label warnings have been logged.
    warned: HashSet<String>,
}

impl DockerWatcher {
    /// A watcher that sends its lists to `recipients`.
    pub fn new(
        settings: DockerWatcherSettings,
        recipients: Vec<Link<ObservedLocalServices>>,
        log: &Logger,
    ) -> DockerWatcher {
        let backoff = settings.backoff_min;
        DockerWatcher {
            log: log.new(o!("actor" => "docker_watcher", "docker" => settings.endpoint.clone())),
            settings,
            recipients,
            docker: None,
            events: None,
            generation: 0,
            connected: false,
            reconnect_pending: false,
            reconnects: 0,
            backoff,
            lists_sent: 0,
            lists_applied: 0,
            current: BTreeMap::new(),
            gone: HashSet::new(),
            warned: HashSet::new(),
        }
    }

    /// Opens a client, follows the events, then lists (so no event between is missed).
    fn connect(&mut self, ctx: &mut Context<Self>) {
        match Docker::connect_with_host(&self.settings.endpoint) {
            Ok(docker) => {
                let events = engine::follow_events(docker.clone(), self.generation, ctx.address());
                self.events = Some(events);
                self.docker = Some(docker);
                self.list(ctx);
            }
            Err(err) => self.lost(self.generation, &err.to_string(), ctx),
        }
    }

    /// Starts a list of the running containers.
    fn list(&mut self, ctx: &mut Context<Self>) {
        let Some(docker) = self.docker.clone() else {
            return;
        };
        self.lists_sent += 1;
        let (generation, number) = (self.generation, self.lists_sent);
        let listing = engine::list(docker, self.settings.list_timeout);
        ctx.spawn(listing.into_actor(self).map(move |result, act, ctx| {
            if generation != act.generation || number < act.lists_applied {
                return;
            }
            match result {
                Ok(list) => {
                    act.lists_applied = number;
                    act.listed(list);
                }
                Err(why) => act.lost(generation, &why, ctx),
            }
        }));
    }

    /// Takes a fresh list as the truth and sends it.
    fn listed(&mut self, list: Vec<ContainerInfo>) {
        if !self.connected {
            info!(self.log, "Connected to Docker"; "containers" => list.len());
        }
        self.connected = true;
        self.backoff = self.settings.backoff_min;
        let listed: HashSet<&str> = list.iter().map(|c| c.id.as_str()).collect();
        self.gone.retain(|id| listed.contains(id.as_str()));
        self.warned.retain(|id| listed.contains(id.as_str()));
        let mut current = BTreeMap::new();
        let running: Vec<&ContainerInfo> = (list.iter())
            .filter(|c| !self.gone.contains(&c.id))
            .collect();
        for container in running {
            if let Some(discovered) = self.map(container) {
                current.insert(container.id.clone(), discovered);
            }
        }
        self.current = current;
        self.send();
    }

    /// Maps one container, logging its label warnings the first time it is seen.
    fn map(&mut self, container: &ContainerInfo) -> Option<Discovered> {
        let ctx = DockerContext {
            hostname: &self.settings.hostname,
            published_ip: &self.settings.published_ip,
            namer: &self.settings.namer,
        };
        match to_discovered(container, &ctx) {
            Ok(mapped) => {
                let svc = &mapped.discovered.service;
                if !mapped.warnings.is_empty() && self.warned.insert(container.id.clone()) {
                    for warning in &mapped.warnings {
                        warn!(self.log, "Container label ignored"; "service" => &svc.name,
                            "id" => &svc.id, "warning" => %warning);
                    }
                }
                Some(mapped.discovered)
            }
            Err(Skip::DiscoveryDisabled | Skip::NoId) => None,
        }
    }

    /// Sends the current list to every recipient.
    fn send(&self) {
        let services: Vec<Discovered> = self.current.values().cloned().collect();
        for recipient in &self.recipients {
            recipient.do_send(ObservedLocalServices {
                source: DiscoverySource::Docker,
                services: services.clone(),
            });
        }
    }

    /// Connection `generation` is gone: stop listening, keep the last list, retry later.
    fn lost(&mut self, generation: u64, why: &str, ctx: &mut Context<Self>) {
        if generation != self.generation || self.reconnect_pending {
            return;
        }
        if self.connected {
            warn!(self.log, "Lost connection to Docker, re-connecting; keeping the last list";
                "error" => why, "services" => self.current.len());
        } else {
            debug!(self.log, "Cannot reach Docker"; "error" => why, "retry_in" => ?self.backoff);
        }
        self.connected = false;
        self.generation += 1;
        self.docker = None;
        if let Some(events) = self.events.take() {
            events.abort();
        }
        let delay = self.backoff;
        self.backoff = (self.backoff * 2).min(self.settings.backoff_max);
        self.reconnect_pending = true;
        ctx.run_later(delay, |act, ctx| {
            act.reconnect_pending = false;
            act.reconnects += 1;
            act.connect(ctx);
        });
    }
}

impl Actor for DockerWatcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.connect(ctx);
        ctx.run_interval(self.settings.relist_interval, |act, ctx| act.list(ctx));
        // The last good list again every second, Docker reachable or not: refills a restarted
        // HealthChecker at once and keeps known services while Docker is away.
        ctx.run_interval(RESEND_INTERVAL, |act, _| {
            if act.lists_applied > 0 {
                act.send();
            }
        });
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        if let Some(events) = self.events.take() {
            events.abort();
        }
    }
}

impl Handler<ContainerEvent> for DockerWatcher {
    type Result = ();

    fn handle(&mut self, msg: ContainerEvent, ctx: &mut Context<Self>) {
        if msg.generation != self.generation {
            return;
        }
        if msg.action == "start" {
            self.gone.remove(&msg.id);
            self.list(ctx);
        } else {
            self.gone.insert(msg.id.clone());
            if let Some(d) = self.current.remove(&msg.id) {
                info!(self.log, "Deleting container based on Docker event";
                    "id" => &d.service.id, "service" => &d.service.name, "event" => &msg.action);
                self.send();
            }
        }
    }
}

impl Handler<EventsEnded> for DockerWatcher {
    type Result = ();

    fn handle(&mut self, msg: EventsEnded, ctx: &mut Context<Self>) {
        self.lost(msg.generation, &msg.why, ctx);
    }
}

impl Handler<GetDockerStatus> for DockerWatcher {
    type Result = DockerStatus;

    fn handle(&mut self, _: GetDockerStatus, _: &mut Context<Self>) -> DockerStatus {
        DockerStatus {
            connected: self.connected,
            containers: self.current.len(),
            reconnects: self.reconnects,
        }
    }
}

crate::supervised_actor!(DockerWatcher);
