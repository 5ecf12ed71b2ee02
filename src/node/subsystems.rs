//! The subsystems of a node, one method each: what must be bound or loaded before any actor
//! runs ([`Bound`]), and [`Subsystems`], which spawns each actor under the Supervisor with the
//! settings of the plan. Adding a subsystem is one method here and one line in
//! [`start`](super::start) (docs/ARCHITECTURE.md, "How to add a subsystem").

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix::prelude::*;
use slog::Logger;

use super::StartError;
use super::gossip::BoundGossip;
use crate::actors::docker_watcher::DockerWatcher;
use crate::actors::gossiper::Gossiper;
use crate::actors::haproxy_manager::{HaproxyManager, SUBSYSTEM};
use crate::actors::health_checker::HealthChecker;
use crate::actors::listener_notifier::ListenerNotifier;
use crate::actors::static_watcher::StaticWatcher;
use crate::actors::web_api::{self, WebApi, WebSettings};
use crate::actors::xds_server::{self, XdsServer};
use crate::actors::{StateKeeper, StateKeeperMemory, TombstoneRepeater};
use crate::api::admin::AdminAccess;
use crate::clock::SharedClock;
use crate::config::NodePlan;
use crate::discovery::Discovered;
use crate::discovery::static_file::{self, StaticContext};
use crate::messages::{GetXdsStats, ObservedLocalServices};
use crate::metrics::NodeMetrics;
use crate::metrics::statsd::StatsdReporter;
use crate::supervisor::{Link, Slot, Supervisor};

/// What [`start`](super::start) binds and loads before any actor runs, so that a port in use
/// or a bad static file stops the node at once.
pub(super) struct Bound {
    /// The static file's services, with static discovery.
    pub(super) static_initial: Option<Vec<Discovered>>,
    /// The HTTP API's listener.
    pub(super) http: Arc<TcpListener>,
    /// Where it listens (the real port when the plan asked for port 0).
    pub(super) http_addr: SocketAddr,
    /// The gossip ports and the Gossiper's settings with the real port.
    pub(super) gossip: BoundGossip,
    /// Where the gossip ports listen, as advertised.
    pub(super) gossip_addr: SocketAddr,
    /// The xDS server's listener, unless the gRPC API is off.
    pub(super) xds: Option<Arc<TcpListener>>,
}

impl Bound {
    pub(super) fn new(plan: &NodePlan, clock: &SharedClock) -> Result<Bound, StartError> {
        let static_initial = match &plan.static_watcher {
            Some(settings) => {
                let ctx = StaticContext {
                    hostname: plan.hostname.clone(),
                    published_ip: plan.published_ip.to_string(),
                    now: clock.now(),
                };
                Some(static_file::load(&settings.path, &ctx)?)
            }
            None => None,
        };
        let bind_error = |source| StartError::HttpBind {
            addr: plan.http.to_string(),
            source,
        };
        let http = web_api::bind(plan.http).map_err(bind_error)?;
        let http_addr = http.local_addr().map_err(bind_error)?;
        let gossip = BoundGossip::bind(&plan.gossip)?;
        let xds = match &plan.xds {
            Some(settings) => Some(Arc::new(xds_server::bind(settings.bind).map_err(
                |source| StartError::XdsBind {
                    addr: settings.bind.to_string(),
                    source,
                },
            )?)),
            None => None,
        };
        Ok(Bound {
            xds,
            static_initial,
            http: Arc::new(http),
            http_addr,
            gossip_addr: gossip.settings.advertise,
            gossip,
        })
    }
}

/// Spawns the subsystems of one node under its Supervisor.
pub(super) struct Subsystems<'a> {
    plan: &'a NodePlan,
    supervisor: Supervisor,
    /// The Supervisor's context, made first: the admin API needs its address before it runs.
    supervisor_ctx: Context<Supervisor>,
    clock: SharedClock,
    log: Logger,
    /// The xDS server's statistics, for the admin API, once it is spawned.
    xds_stats: Option<Link<GetXdsStats>>,
    /// The node's metrics: made once, shared by every instance of every subsystem that
    /// counts, so that counts survive restarts.
    metrics: NodeMetrics,
}

impl<'a> Subsystems<'a> {
    pub(super) fn new(plan: &'a NodePlan, clock: SharedClock, log: &Logger) -> Self {
        Subsystems {
            plan,
            supervisor: Supervisor::new(plan.restart_policy, log),
            supervisor_ctx: Context::new(),
            clock,
            log: log.clone(),
            xds_stats: None,
            metrics: NodeMetrics::new(),
        }
    }

    /// Starts the Supervisor over everything spawned so far.
    pub(super) fn run_supervisor(self) -> Addr<Supervisor> {
        self.supervisor_ctx.run(self.supervisor)
    }

    pub(super) fn state_keeper(&mut self) -> Slot<StateKeeper> {
        let settings = self.plan.state_keeper.clone();
        let (clock, log) = (Arc::clone(&self.clock), self.log.clone());
        // One memory for every instance: a restarted StateKeeper resumes from it.
        let memory = StateKeeperMemory::default();
        self.supervisor.spawn("state_keeper", move || {
            StateKeeper::new(settings.clone(), Arc::clone(&clock), memory.clone(), &log)
        })
    }

    pub(super) fn health_checker(&mut self, sk: &Slot<StateKeeper>) -> Slot<HealthChecker> {
        let (settings, state, log) = (self.plan.health.clone(), sk.link(), self.log.clone());
        let metrics = self.metrics.clone();
        self.supervisor.spawn("health_checker", move || {
            HealthChecker::new(settings.clone(), state.clone(), &log).with_metrics(metrics.clone())
        })
    }

    pub(super) fn listener_notifier(&mut self, sk: &Slot<StateKeeper>) -> Slot<ListenerNotifier> {
        let (settings, sk) = (self.plan.listeners.clone(), sk.clone());
        let (clock, log, metrics) = (
            Arc::clone(&self.clock),
            self.log.clone(),
            self.metrics.clone(),
        );
        self.supervisor.spawn("listener_notifier", move || {
            ListenerNotifier::new(settings.clone(), sk.link(), Arc::clone(&clock), &log)
                .with_metrics(metrics.clone())
        })
    }

    pub(super) fn tombstone_repeater(&mut self, sk: &Slot<StateKeeper>) -> Slot<TombstoneRepeater> {
        let (interval, sk, log) = (
            self.plan.tombstone_repeat_interval,
            sk.clone(),
            self.log.clone(),
        );
        self.supervisor.spawn("tombstone_repeater", move || {
            TombstoneRepeater::new(sk.link(), sk.link(), interval, &log)
        })
    }

    /// The static-file watcher, started from the file as read at start (`initial`).
    pub(super) fn static_watcher(
        &mut self,
        initial: Option<Vec<Discovered>>,
        observers: &[Link<ObservedLocalServices>],
    ) -> Option<Slot<StaticWatcher>> {
        let (settings, initial) = (self.plan.static_watcher.clone()?, initial?);
        let (observers, clock, log) = (
            observers.to_vec(),
            Arc::clone(&self.clock),
            self.log.clone(),
        );
        Some(self.supervisor.spawn("static_watcher", move || {
            let (settings, initial) = (settings.clone(), initial.clone());
            StaticWatcher::new(
                settings,
                initial,
                Arc::clone(&clock),
                observers.clone(),
                &log,
            )
        }))
    }

    pub(super) fn docker_watcher(
        &mut self,
        observers: &[Link<ObservedLocalServices>],
    ) -> Option<Slot<DockerWatcher>> {
        let settings = self.plan.docker_watcher.clone()?;
        let (observers, log) = (observers.to_vec(), self.log.clone());
        Some(self.supervisor.spawn("docker_watcher", move || {
            DockerWatcher::new(settings.clone(), observers.clone(), &log)
        }))
    }

    pub(super) fn gossiper(
        &mut self,
        bound: BoundGossip,
        sk: &Slot<StateKeeper>,
    ) -> Slot<Gossiper> {
        let factory = bound.factory(sk, &self.clock, &self.log);
        self.supervisor.spawn("gossiper", factory)
    }

    /// The HAProxy manager, unless `HAPROXY_DISABLE`; it reports its counts to the Supervisor
    /// for the admin API. HAProxy missing does not stop the node: the manager reports the
    /// failure and tries again.
    pub(super) fn haproxy_manager(
        &mut self,
        sk: &Slot<StateKeeper>,
    ) -> Option<Slot<HaproxyManager>> {
        let settings = self.plan.haproxy.clone()?;
        let report = self.supervisor_ctx.address().recipient();
        let (sk, clock, log) = (sk.clone(), Arc::clone(&self.clock), self.log.clone());
        Some(self.supervisor.spawn(SUBSYSTEM, move || {
            let (settings, report) = (settings.clone(), Some(report.clone()));
            HaproxyManager::new(settings, sk.link(), report, Arc::clone(&clock), &log)
        }))
    }

    /// The Envoy xDS server on the listener bound at start, unless the gRPC API is off.
    pub(super) fn xds_server(
        &mut self,
        listener: Option<Arc<TcpListener>>,
        sk: &Slot<StateKeeper>,
    ) -> Option<Slot<XdsServer>> {
        let (settings, listener) = (self.plan.xds.clone()?, listener?);
        let (sk, log) = (sk.clone(), self.log.clone());
        let slot = self.supervisor.spawn("xds_server", move || {
            XdsServer::new(settings.clone(), Arc::clone(&listener), sk.link(), &log)
        });
        self.xds_stats = Some(slot.link());
        Some(slot)
    }

    /// The HTTP API, with the admin API reaching the Supervisor and the gossiper.
    pub(super) fn web_api(
        &mut self,
        listener: Arc<TcpListener>,
        sk: &Slot<StateKeeper>,
        gossiper: &Slot<Gossiper>,
    ) -> Slot<WebApi> {
        let plan = self.plan;
        let mut settings = WebSettings::new(plan.http, &plan.hostname, &plan.cluster_name);
        if let Ok(addr) = listener.local_addr() {
            settings.bind = addr;
        }
        settings.envoy_v1 = plan.envoy_v1.clone();
        settings.limits = plan.http_limits;
        settings.metrics = self.metrics.clone();
        settings.statsd =
            (plan.statsd.clone()).map(|statsd| StatsdReporter::new(statsd, &plan.hostname));
        settings.admin = Some(AdminAccess {
            supervisor: self.supervisor_ctx.address(),
            token: plan.admin_token.clone(),
            gossip: Some(gossiper.link()),
            keys: Some(plan.gossip.settings.keys.clone()),
            xds: self.xds_stats.clone(),
        });
        let (sk, log) = (sk.clone(), self.log.clone());
        self.supervisor.spawn("web_api", move || {
            let listener = Arc::clone(&listener);
            WebApi::new(settings.clone(), listener, sk.link(), sk.link(), &log)
        })
    }
}
