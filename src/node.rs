//! Wires one node: validates what must be valid at start, binds the sockets, starts the actors
//! in dependency order and hands back their addresses. Used by `main` and by the tests, so a
//! test runs exactly what the daemon runs.
//!
//! Must not: read the process environment or the clock itself (both come in as arguments).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use slog::{Logger, crit, info, warn};

use crate::actors::docker_watcher::{DockerWatcher, DockerWatcherSettings};
use crate::actors::health_checker::{HealthChecker, HealthSettings};
use crate::actors::static_watcher::{StaticWatcher, StaticWatcherSettings};
use crate::actors::web_api::{self, WebApi, WebSettings};
use crate::actors::{StateKeeper, StateKeeperSettings};
use crate::catalog::Lifespans;
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::discovery::static_file::{self, StaticContext, StaticFileError};
use crate::messages::ObservedLocalServices;

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
}

impl StartError {
    /// The process exit code for this error: 2 for bad input, 1 for the environment.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Config(_) | StartError::StaticFile(_) => 2,
            StartError::HttpBind { .. } => 1,
        }
    }
}

/// The running actors of one node.
pub struct NodeHandle {
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    /// The catalogue's owner.
    pub state_keeper: Addr<StateKeeper>,
    /// The HTTP API.
    pub web_api: Addr<WebApi>,
    /// The health-check pool.
    pub health_checker: Addr<HealthChecker>,
    /// The static file watcher, when static discovery is on.
    pub static_watcher: Option<Addr<StaticWatcher>>,
    /// The Docker watcher, when docker discovery is on.
    pub docker_watcher: Option<Addr<DockerWatcher>>,
}

/// Starts every actor of one node in the current actix `System`.
pub fn start(config: &Config, clock: SharedClock, log: &Logger) -> Result<NodeHandle, StartError> {
    let hostname = config.hostname();
    let discovery = &config.sidecar.discovery;
    let published_ip = if discovery.is_empty() {
        IpAddr::from([127, 0, 0, 1])
    } else {
        config.published_ip()?
    };
    let static_initial = if discovery.iter().any(|d| d == "static") {
        Some(static_file::load(
            &config.static_discovery.config_file,
            &StaticContext {
                hostname: hostname.clone(),
                published_ip: published_ip.to_string(),
                now: clock.now(),
            },
        )?)
    } else {
        None
    };
    let http_addr = http_address(config)?;
    let listener = web_api::bind(http_addr).map_err(|source| StartError::HttpBind {
        addr: http_addr.to_string(),
        source,
    })?;

    let state_keeper = StateKeeper::new(
        StateKeeperSettings {
            hostname: hostname.clone(),
            cluster_name: config.sidecar.cluster_name.clone(),
            lifespans: Lifespans::default(),
            expire_interval: Duration::from_secs(2),
        },
        Arc::clone(&clock),
        log,
    )
    .start();
    let health_checker = HealthChecker::new(
        HealthSettings {
            interval: config.sidecar.health_interval,
            timeout: config.sidecar.health_timeout,
            concurrency: config.sidecar.health_concurrency,
            refresh_interval: Duration::from_secs(1),
            published_ip: published_ip.to_string(),
            default_check_endpoint: config.sidecar.default_check_endpoint.clone(),
        },
        state_keeper.clone().recipient(),
        log,
    )
    .start();
    let observers: Vec<Recipient<ObservedLocalServices>> = vec![health_checker.clone().recipient()];
    let static_watcher = static_initial.map(|initial| {
        StaticWatcher::new(
            StaticWatcherSettings {
                path: config.static_discovery.config_file.clone(),
                reload_interval: config.static_discovery.reload_interval,
                hostname: hostname.clone(),
                published_ip: published_ip.to_string(),
            },
            initial,
            Arc::clone(&clock),
            observers.clone(),
            log,
        )
        .start()
    });
    let docker_watcher = discovery.iter().any(|d| d == "docker").then(|| {
        let settings = DockerWatcherSettings::new(
            config.docker.endpoint()?,
            hostname.clone(),
            published_ip.to_string(),
            config.services.namer()?,
        );
        Ok::<_, ConfigError>(DockerWatcher::new(settings, observers.clone(), log).start())
    });
    let docker_watcher = docker_watcher.transpose()?;
    for unsupported in discovery
        .iter()
        .filter(|d| *d != "static" && *d != "docker")
    {
        warn!(log, "Discovery method not available in this version, skipped";
            "method" => unsupported.as_str());
    }
    let settings = WebSettings::new(http_addr, &hostname, &config.sidecar.cluster_name);
    let web_api = WebApi::new(
        settings,
        listener,
        state_keeper.clone().recipient(),
        state_keeper.clone().recipient(),
        log,
    )
    .map_err(|source| StartError::HttpBind {
        addr: http_addr.to_string(),
        source,
    })?;
    let http_addr = web_api.local_addr();
    let web_api = web_api.start();
    Ok(NodeHandle {
        http_addr,
        state_keeper,
        web_api,
        health_checker,
        static_watcher,
        docker_watcher,
    })
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

/// Runs a node until SIGTERM or SIGINT, then shuts it down gracefully. Returns the exit code.
pub fn run(config: Config, log: Logger) -> ExitCode {
    let system = System::new();
    let code = system.block_on(async move {
        let node = match start(&config, Arc::new(SystemClock), &log) {
            Ok(node) => node,
            Err(err) => {
                crit!(log, "Cannot start"; "error" => %err);
                return err.exit_code();
            }
        };
        info!(log, "Sidecar started"; "http" => %node.http_addr,
            "hostname" => config.hostname(), "cluster" => &config.sidecar.cluster_name);
        let signal = wait_for_termination().await;
        info!(log, "Shutting down"; "signal" => signal);
        let _ = node.web_api.send(web_api::StopServer).await;
        System::current().stop();
        info!(log, "Sidecar stopped");
        0
    });
    ExitCode::from(code)
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
