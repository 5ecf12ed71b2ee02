//! Wires one node: binds the sockets, starts every subsystem of the [`NodePlan`] under the
//! [`Supervisor`] in dependency order and hands back their slots. Used by `main` and by the
//! tests, so a test runs exactly what the daemon runs.
//!
//! Must not: read the process environment or the clock itself (both come in as arguments),
//! parse configuration (the plan is typed) or choose a default (the plan has them all).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use actix::prelude::*;
use slog::{Logger, crit, info, warn};

use crate::actors::docker_watcher::DockerWatcher;
use crate::actors::gossiper::Gossiper;
use crate::actors::haproxy_manager::HaproxyManager;
use crate::actors::health_checker::HealthChecker;
use crate::actors::listener_notifier::ListenerNotifier;
use crate::actors::static_watcher::StaticWatcher;
use crate::actors::web_api::{self, WebApi};
use crate::actors::{StateKeeper, TombstoneRepeater};
use crate::clock::{SharedClock, SystemClock};
use crate::config::{ConfigError, NodePlan};
use crate::discovery::static_file::StaticFileError;
use crate::messages::supervisor::ShutdownSupervisor;
use crate::messages::{ApplyLocalServices, LeaveCluster};
use crate::supervisor::{Slot, Supervisor};
use subsystems::{Bound, Subsystems};

mod gossip;
mod open_files;
mod subsystems;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is unusable (exit code 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The static discovery file is missing or invalid (exit code 2).
    #[error(transparent)]
    StaticFile(#[from] StaticFileError),
    /// The HTTP API could not bind its address (exit code 1).
    #[error("cannot listen for HTTP on {addr}: {source}")]
    HttpBind {
        /// The address asked for.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The xDS server could not bind its address (exit code 1).
    #[error("cannot listen for Envoy xDS on {addr}: {source}")]
    XdsBind {
        /// The address asked for.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The gossip ports (TCP and UDP) could not be bound (exit code 1).
    #[error("cannot listen for gossip on {addr}: {source}")]
    GossipBind {
        /// The address asked for.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
}

impl StartError {
    /// The process exit code for this error: 2 for bad input, 1 for the environment.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Config(_) | StartError::StaticFile(_) => 2,
            StartError::HttpBind { .. }
            | StartError::GossipBind { .. }
            | StartError::XdsBind { .. } => 1,
        }
    }
}

/// The running subsystems of one node. Slots follow restarts.
pub struct NodeHandle {
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    /// Where the gossip ports listen (TCP and UDP), as advertised.
    pub gossip_addr: SocketAddr,
    /// Restarts failed subsystems; answers the admin API.
    pub supervisor: Addr<Supervisor>,
    /// The catalogue's owner.
    pub state_keeper: Slot<StateKeeper>,
    /// The health-check pool.
    pub health_checker: Slot<HealthChecker>,
    /// POSTs every change to the listeners.
    pub listener_notifier: Slot<ListenerNotifier>,
    /// Announces this node's tombstones again, ten times in all (docs/PROTOCOL.md §10).
    pub tombstone_repeater: Slot<TombstoneRepeater>,
    /// The static file watcher, when static discovery is on.
    pub static_watcher: Option<Slot<StaticWatcher>>,
    /// The Docker watcher, when docker discovery is on.
    pub docker_watcher: Option<Slot<DockerWatcher>>,
    /// Keeps the local HAProxy routing the catalogue, unless `HAPROXY_DISABLE`.
    pub haproxy_manager: Option<Slot<HaproxyManager>>,
    /// Cluster membership and record dissemination.
    pub gossiper: Slot<Gossiper>,
    /// The HTTP API.
    pub web_api: Slot<WebApi>,
}

/// Starts every subsystem of one node, supervised, in the current actix `System`: binds and
/// loads what must work at start, then the subsystems in dependency order (docs/ARCHITECTURE.md,
/// "How to add a subsystem").
pub fn start(plan: &NodePlan, clock: SharedClock, log: &Logger) -> Result<NodeHandle, StartError> {
    let bound = Bound::new(plan, &clock)?;
    for warning in &plan.warnings {
        warn!(log, "Setting ignored"; "reason" => warning);
    }
    let mut node = Subsystems::new(plan, clock, log);
    let state_keeper = node.state_keeper();
    let health_checker = node.health_checker(&state_keeper);
    let listener_notifier = node.listener_notifier(&state_keeper);
    let tombstone_repeater = node.tombstone_repeater(&state_keeper);
    let observers = vec![health_checker.link(), listener_notifier.link()];
    let static_watcher = node.static_watcher(bound.static_initial, &observers);
    let docker_watcher = node.docker_watcher(&observers);
    let haproxy_manager = node.haproxy_manager(&state_keeper);
    let gossiper = node.gossiper(bound.gossip, &state_keeper);
    let _xds_server = node.xds_server(bound.xds, &state_keeper);
    let web_api = node.web_api(bound.http, &state_keeper, &gossiper);
    Ok(NodeHandle {
        http_addr: bound.http_addr,
        gossip_addr: bound.gossip_addr,
        supervisor: node.run_supervisor(),
        state_keeper,
        health_checker,
        listener_notifier,
        tombstone_repeater,
        static_watcher,
        docker_watcher,
        haproxy_manager,
        gossiper,
        web_api,
    })
}

/// Runs a node until SIGTERM or SIGINT, then shuts it down gracefully. Raises the process's
/// open-file limit first (to its hard limit). Returns the exit code: 0 after a clean shutdown,
/// 1 when a subsystem kept failing, 2 for bad input at start.
pub fn run(plan: NodePlan, log: Logger) -> ExitCode {
    open_files::raise(plan.open_files_needed(), &log);
    let system = System::new();
    let started = system.block_on(async { start(&plan, Arc::new(SystemClock), &log) });
    let node = match started {
        Ok(node) => node,
        Err(err) => {
            crit!(log, "Cannot start"; "error" => %err);
            return ExitCode::from(err.exit_code());
        }
    };
    info!(log, "Sidecar started"; "http" => %node.http_addr,
        "hostname" => &plan.hostname, "cluster" => &plan.cluster_name);
    let code = run_until_signal(system, &log, move || async move {
        let _ = node.supervisor.send(ShutdownSupervisor).await;
        let tombstone_local = ApplyLocalServices {
            services: Vec::new(),
            pending: Default::default(),
        };
        let _ = node.state_keeper.get().send(tombstone_local).await;
        let _ = node.gossiper.get().send(LeaveCluster).await;
        let _ = node.web_api.get().send(web_api::StopServer).await;
    });
    info!(log, "Sidecar stopped"; "exit_code" => code);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Runs `system` until SIGTERM or SIGINT, then `shutdown` and a clean stop; the exit code
/// (0 after a clean stop, 1 when a subsystem kept failing).
pub(crate) fn run_until_signal<F>(
    system: actix::SystemRunner,
    log: &Logger,
    shutdown: impl FnOnce() -> F + 'static,
) -> i32
where
    F: std::future::Future<Output = ()> + 'static,
{
    let log = log.clone();
    system.block_on(async {
        actix::spawn(async move {
            let signal = wait_for_termination().await;
            info!(log, "Shutting down"; "signal" => signal);
            shutdown().await;
            System::current().stop_with_code(0);
        });
    });
    system.run_with_code().unwrap_or(1)
}

/// Resolves on the first SIGTERM or SIGINT (Ctrl-C) and says which.
async fn wait_for_termination() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}
