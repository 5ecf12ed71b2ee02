//! Wires one node: validates what must be valid at start, binds the sockets, starts every
//! subsystem under the [`Supervisor`] in dependency order and hands back their slots. Used by
//! `main` and by the tests, so a test runs exactly what the daemon runs.
//!
//! Must not: read the process environment or the clock itself (both come in as arguments).

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use slog::{Logger, crit, info, warn};

use crate::actors::docker_watcher::{DockerWatcher, DockerWatcherSettings};
use crate::actors::gossiper::{GossipSockets, Gossiper, GossiperSettings};
use crate::actors::health_checker::{HealthChecker, HealthSettings};
use crate::actors::listener_notifier::{ListenerNotifier, ListenerSettings};
use crate::actors::static_watcher::{StaticWatcher, StaticWatcherSettings};
use crate::actors::web_api::{self, WebApi, WebSettings};
use crate::actors::{StateKeeper, StateKeeperMemory, StateKeeperSettings, TombstoneRepeater};
use crate::api::admin::AdminAccess;
use crate::catalog::Lifespans;
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::discovery::static_file::{self, StaticContext, StaticFileError};
use crate::discovery::{Discovered, DiscoverySource};
use crate::messages::supervisor::ShutdownSupervisor;
use crate::messages::{ApplyLocalServices, LeaveCluster};
use crate::supervisor::{ActorChild, RestartPolicy, Slot, Supervisor, install_panic_hook};
use gossip::{gossip_setup, start_gossiper};

mod gossip;
mod haproxy;

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
            StartError::HttpBind { .. } | StartError::GossipBind { .. } => 1,
        }
    }
}

/// The running subsystems of one node. Slots follow restarts.
pub struct NodeHandle {
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    /// Restarts failed subsystems; answers the admin API.
    pub supervisor: Addr<Supervisor>,
    /// The catalogue's owner.
    pub state_keeper: Slot<StateKeeper>,
    /// The health-check pool.
    pub health_checker: Slot<HealthChecker>,
    /// The static file watcher, when static discovery is on.
    pub static_watcher: Option<Slot<StaticWatcher>>,
    /// POSTs every change to the listeners.
    pub listener_notifier: Slot<ListenerNotifier>,
    /// Announces this node's tombstones again, ten times in all (SPEC §2.6).
    pub tombstone_repeater: Slot<TombstoneRepeater>,
    /// The Docker watcher, when docker discovery is on.
    pub docker_watcher: Option<Slot<DockerWatcher>>,
    /// The HTTP API.
    pub web_api: Slot<WebApi>,
    /// Where the gossip ports listen (TCP and UDP), as advertised.
    pub gossip_addr: SocketAddr,
    /// Cluster membership and record dissemination.
    pub gossiper: Slot<Gossiper>,
}

/// What [`start`] checks and binds before any actor runs.
struct Prepared {
    hostname: String,
    published_ip: IpAddr,
    static_initial: Option<Vec<Discovered>>,
    docker: Option<DockerWatcherSettings>,
    listener: Arc<TcpListener>,
    http_addr: SocketAddr,
    gossip: Arc<GossipSockets>,
    gossip_settings: GossiperSettings,
}

impl Prepared {
    fn new(config: &Config, clock: &SharedClock) -> Result<Prepared, StartError> {
        let hostname = config.hostname();
        let listener_urls = &config.listeners.urls;
        crate::listeners::validate_urls(listener_urls).map_err(|reason| ConfigError::Invalid {
            var: "LISTENERS_URLS".to_owned(),
            value: listener_urls.join(","),
            reason,
        })?;
        let discovery = &config.sidecar.discovery;
        let published_ip = if discovery.is_empty() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            config.published_ip()?
        };
        let static_initial = if discovery.iter().any(|d| d == "static") {
            let ctx = StaticContext {
                hostname: hostname.clone(),
                published_ip: published_ip.to_string(),
                now: clock.now(),
            };
            Some(static_file::load(
                &config.static_discovery.config_file,
                &ctx,
            )?)
        } else {
            None
        };
        let docker = if discovery.iter().any(|d| d == "docker") {
            Some(DockerWatcherSettings::new(
                config.docker.endpoint()?,
                hostname.clone(),
                published_ip.to_string(),
                config.services.namer()?,
            ))
        } else {
            None
        };
        let wanted = http_address(config)?;
        let bind_error = |source| StartError::HttpBind {
            addr: wanted.to_string(),
            source,
        };
        let listener = web_api::bind(wanted).map_err(bind_error)?;
        let http_addr = listener.local_addr().map_err(bind_error)?;
        let (gossip, gossip_settings) = gossip_setup(config, &hostname, published_ip)?;
        Ok(Prepared {
            hostname,
            published_ip,
            static_initial,
            docker,
            listener: Arc::new(listener),
            http_addr,
            gossip: Arc::new(gossip),
            gossip_settings,
        })
    }
}

/// Starts every subsystem of one node, supervised, in the current actix `System`.
pub fn start(config: &Config, clock: SharedClock, log: &Logger) -> Result<NodeHandle, StartError> {
    let prepared = Prepared::new(config, &clock)?;
    let policy = RestartPolicy {
        max_restarts: config.sidecar.max_restarts,
        window: config.sidecar.restart_window,
        ..RestartPolicy::default()
    };
    let mut supervisor = Supervisor::new(policy, log);
    // The supervisor's address first: the admin API needs it before the supervisor runs.
    let supervisor_ctx = Context::<Supervisor>::new();

    let settings = StateKeeperSettings {
        hostname: prepared.hostname.clone(),
        cluster_name: config.sidecar.cluster_name.clone(),
        lifespans: Lifespans::default(),
        expire_interval: Duration::from_secs(2),
    };
    let (memory, clk, lg) = (
        StateKeeperMemory::default(),
        Arc::clone(&clock),
        log.clone(),
    );
    let (child, state_keeper) = ActorChild::start("state_keeper", move || {
        StateKeeper::new(settings.clone(), Arc::clone(&clk), memory.clone(), &lg).start()
    });
    supervisor.add(Box::new(child));

    let settings = health_settings(config, prepared.published_ip);
    let (state, lg) = (state_keeper.link(), log.clone());
    let (child, health_checker) = ActorChild::start("health_checker", move || {
        HealthChecker::new(settings.clone(), state.clone(), &lg).start()
    });
    supervisor.add(Box::new(child));

    let settings = ListenerSettings::new(&prepared.hostname, config.listeners.urls.clone());
    let (sk, clk, lg) = (state_keeper.clone(), Arc::clone(&clock), log.clone());
    let (child, listener_notifier) = ActorChild::start("listener_notifier", move || {
        ListenerNotifier::new(settings.clone(), sk.link(), Arc::clone(&clk), &lg).start()
    });
    supervisor.add(Box::new(child));

    let (sk, lg) = (state_keeper.clone(), log.clone());
    let (child, tombstone_repeater) = ActorChild::start("tombstone_repeater", move || {
        TombstoneRepeater::new(sk.link(), sk.link(), Duration::from_secs(1), &lg).start()
    });
    supervisor.add(Box::new(child));

    let static_watcher = prepared.static_initial.map(|initial| {
        let settings = StaticWatcherSettings {
            path: config.static_discovery.config_file.clone(),
            reload_interval: config.static_discovery.reload_interval,
            hostname: prepared.hostname.clone(),
            published_ip: prepared.published_ip.to_string(),
        };
        let observers = vec![health_checker.link(), listener_notifier.link()];
        let (clk, lg) = (Arc::clone(&clock), log.clone());
        let (child, slot) = ActorChild::start("static_watcher", move || {
            let (settings, initial) = (settings.clone(), initial.clone());
            StaticWatcher::new(settings, initial, Arc::clone(&clk), observers.clone(), &lg).start()
        });
        supervisor.add(Box::new(child));
        slot
    });
    let docker_watcher = match prepared.docker {
        Some(settings) => {
            let observers = vec![health_checker.link(), listener_notifier.link()];
            let lg = log.clone();
            let (child, slot) = ActorChild::start("docker_watcher", move || {
                DockerWatcher::new(settings.clone(), observers.clone(), &lg).start()
            });
            supervisor.add(Box::new(child));
            Some(slot)
        }
        None => None,
    };
    let known = ["static", "docker"];
    for unsupported in config
        .sidecar
        .discovery
        .iter()
        .filter(|d| !known.contains(&d.as_str()))
    {
        warn!(log, "Discovery method not available in this version, skipped";
            "method" => unsupported.as_str());
    }

    let _haproxy = haproxy::start_haproxy_manager(
        &mut supervisor,
        supervisor_ctx.address(),
        config,
        &state_keeper,
        &clock,
        log,
    );

    // Before the WebApi: the admin API reaches the gossiper through its slot.
    let gossip_addr = prepared.gossip_settings.advertise;
    let gossiper = start_gossiper(
        &mut supervisor,
        &state_keeper,
        (prepared.gossip_settings, prepared.gossip),
        &clock,
        log,
    );

    let mut settings = WebSettings::new(
        prepared.http_addr,
        &prepared.hostname,
        &config.sidecar.cluster_name,
    );
    settings.admin = Some(AdminAccess {
        supervisor: supervisor_ctx.address(),
        token: config.sidecar.admin_token.clone(),
        gossip: Some(gossiper.link()),
    });
    let (listener, sk, lg) = (prepared.listener, state_keeper.clone(), log.clone());
    let (child, web_api) = ActorChild::start("web_api", move || {
        let (subscribe, drain) = (sk.link(), sk.link());
        WebApi::new(
            settings.clone(),
            Arc::clone(&listener),
            subscribe,
            drain,
            &lg,
        )
        .start()
    });
    supervisor.add(Box::new(child));

    Ok(NodeHandle {
        http_addr: prepared.http_addr,
        gossip_addr,
        gossiper,
        supervisor: supervisor_ctx.run(supervisor),
        state_keeper,
        health_checker,
        static_watcher,
        listener_notifier,
        tombstone_repeater,
        docker_watcher,
        web_api,
    })
}

fn health_settings(config: &Config, published_ip: IpAddr) -> HealthSettings {
    HealthSettings {
        interval: config.sidecar.health_interval,
        timeout: config.sidecar.health_timeout,
        concurrency: config.sidecar.health_concurrency,
        refresh_interval: Duration::from_secs(1),
        published_ip: published_ip.to_string(),
        default_check_endpoint: config.sidecar.default_check_endpoint.clone(),
        sources: config
            .sidecar
            .discovery
            .iter()
            .filter_map(|method| match method.as_str() {
                "static" => Some(DiscoverySource::Static),
                "docker" => Some(DiscoverySource::Docker),
                _ => None,
            })
            .collect(),
        first_report_grace: Duration::from_secs(5),
        thresholds: crate::health::Thresholds {
            rise: u32::try_from(config.sidecar.health_rise).unwrap_or(u32::MAX),
            fall: u32::try_from(config.sidecar.health_fall).unwrap_or(u32::MAX),
        },
        startup_recheck: Some(crate::health::StartupRecheck {
            first: Duration::from_millis(100),
            budget: config.sidecar.health_interval,
        }),
    }
}

/// `SIDECAR_HTTP_BIND_IP`:`SIDECAR_HTTP_PORT` as a socket address.
fn http_address(config: &Config) -> Result<SocketAddr, ConfigError> {
    let ip = &config.sidecar.http_bind_ip;
    let ip: IpAddr = ip.parse().map_err(|_| ConfigError::Invalid {
        var: "SIDECAR_HTTP_BIND_IP".to_owned(),
        value: ip.clone(),
        reason: "expected an IP address".to_owned(),
    })?;
    Ok(SocketAddr::new(ip, config.sidecar.http_port))
}

/// Runs a node until SIGTERM or SIGINT, then shuts it down gracefully. Returns the exit code:
/// 0 after a clean shutdown, 1 when a subsystem kept failing, 2 for bad input at start.
pub fn run(config: Config, log: Logger) -> ExitCode {
    install_panic_hook();
    let system = System::new();
    let started = system.block_on(async { start(&config, Arc::new(SystemClock), &log) });
    let node = match started {
        Ok(node) => node,
        Err(err) => {
            crit!(log, "Cannot start"; "error" => %err);
            return ExitCode::from(err.exit_code());
        }
    };
    info!(log, "Sidecar started"; "http" => %node.http_addr,
        "hostname" => config.hostname(), "cluster" => &config.sidecar.cluster_name);
    let shutdown_log = log.clone();
    system.block_on(async {
        actix::spawn(async move {
            let signal = wait_for_termination().await;
            info!(shutdown_log, "Shutting down"; "signal" => signal);
            let _ = node.supervisor.send(ShutdownSupervisor).await;
            let tombstone_local = ApplyLocalServices {
                services: Vec::new(),
                pending: Default::default(),
            };
            let _ = node.state_keeper.get().send(tombstone_local).await;
            let _ = node.gossiper.get().send(LeaveCluster).await;
            let _ = node.web_api.get().send(web_api::StopServer).await;
            System::current().stop_with_code(0);
        });
    });
    let code = system.run_with_code().unwrap_or(1);
    info!(log, "Sidecar stopped"; "exit_code" => code);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Resolves on the first SIGTERM or SIGINT (Ctrl-C) and says which.
pub(crate) async fn wait_for_termination() -> &'static str {
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
