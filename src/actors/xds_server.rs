//! XdsServer: Envoy's control plane, the ADS of xDS v3, state-of-the-world and delta
//! (docs/COMPATIBILITY.md §18).
//!
//! Does: subscribe to the StateKeeper; build the resources ([`crate::xds::resources`]) from the
//! latest snapshot at most once per `coalesce` window, so a burst of changes costs one build;
//! publish them, when they changed, into a `tokio::sync::watch` channel that every stream reads,
//! so each connected Envoy is sent the change at once; run the gRPC server on the listener bound
//! at start; keep the streams' statistics and log what Envoys reject. Does not: decide what a
//! stream sends (its state machine does, in its own task, see `streams`).
//!
//! Stopping the actor (a restart, a panic, shutdown) drops the channel's sender: every stream
//! ends, the server stops accepting, and the Envoys reconnect to the next instance, which serves
//! on the same socket.

mod streams;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use actix::prelude::*;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server::AggregatedDiscoveryServiceServer;
use slog::{Logger, error, info, o, warn};
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::time::Instant;
use tokio_stream::wrappers::TcpListenerStream;

use self::streams::{Ads, StreamLimits};
use crate::catalog::Snapshot;
use crate::messages::xds::{SentSummary, XdsStreamStats};
use crate::messages::{GetXdsStats, StateChanged, Subscribe, XdsStats, XdsStreamEvent};
use crate::supervisor::Link;
use crate::xds::resources::{self, BuildReport};
use crate::xds::{Received, Resources, XdsOptions};

/// Room for snapshot bursts and stream reports.
const MAILBOX_CAPACITY: usize = 1024;
/// Responses kept per stream for the admin API.
const RECENT_PER_STREAM: usize = 8;
/// How long a hostname lookup may take (`ENVOY_USE_HOSTNAMES`).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);
/// The port-collision warning is repeated at most this often.
const COLLISION_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// How the xDS server runs (`ENVOY_*`; the limits from the plan's constants).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XdsSettings {
    /// `ENVOY_GRPC_BIND_IP`:`ENVOY_GRPC_PORT`. Bind it with [`bind`].
    pub bind: SocketAddr,
    /// `ENVOY_BIND_IP`, `ENVOY_USE_HOSTNAMES`.
    pub options: XdsOptions,
    /// How long changes are gathered before one build.
    pub coalesce: Duration,
    /// Most streams connected at once; more are refused.
    pub max_streams: usize,
    /// Largest request accepted from Envoy, in bytes.
    pub max_message: usize,
    /// Responses queued per stream before its task waits.
    pub stream_buffer: usize,
    /// How long a response may wait for Envoy to read before the stream is dropped.
    pub send_timeout: Duration,
    /// HTTP/2 keepalive: a ping this often finds dead connections…
    pub keepalive: Duration,
    /// …that do not answer within this.
    pub keepalive_timeout: Duration,
}

/// Binds the xDS server's listener (non-blocking), so that a port in use stops the node at
/// start and a restarted server serves on the same socket.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = crate::actors::web_api::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// One connected stream, as the actor keeps it.
struct StreamInfo {
    stats: XdsStreamStats,
    recent: VecDeque<SentSummary>,
}

/// The actor. See the [module docs](self).
pub struct XdsServer {
    settings: XdsSettings,
    listener: Arc<TcpListener>,
    state_keeper: Link<Subscribe>,
    latest: Option<Arc<Snapshot>>,
    build_scheduled: bool,
    resources: watch::Sender<Arc<Resources>>,
    /// Dropping it stops the gRPC server.
    shutdown: Option<oneshot::Sender<()>>,
    streams: BTreeMap<u64, StreamInfo>,
    stats: XdsStats,
    /// Hostnames resolved for `ENVOY_USE_HOSTNAMES`.
    resolved: BTreeMap<String, IpAddr>,
    /// Hostnames being resolved now.
    resolving: BTreeSet<String>,
    last_collision_log: Option<Instant>,
    unknown_modes: BTreeSet<String>,
    log: Logger,
}

impl XdsServer {
    /// A server on (a duplicate of) `listener`, fed by `state_keeper`'s snapshots.
    pub fn new(
        settings: XdsSettings,
        listener: Arc<TcpListener>,
        state_keeper: Link<Subscribe>,
        log: &Logger,
    ) -> XdsServer {
        XdsServer {
            settings,
            listener,
            state_keeper,
            latest: None,
            build_scheduled: false,
            resources: watch::Sender::new(Arc::new(Resources::default())),
            shutdown: None,
            streams: BTreeMap::new(),
            stats: XdsStats::default(),
            resolved: BTreeMap::new(),
            resolving: BTreeSet::new(),
            last_collision_log: None,
            unknown_modes: BTreeSet::new(),
            log: log.new(o!("actor" => "xds_server")),
        }
    }

    /// Starts the gRPC server on this arbiter.
    fn start_server(&mut self, ctx: &mut Context<Self>) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::from_std(self.listener.try_clone()?)?;
        let ads = Ads {
            resources: self.resources.subscribe(),
            events: ctx.address().recipient(),
            permits: Arc::new(Semaphore::new(self.settings.max_streams)),
            next_id: Arc::new(AtomicU64::new(1)),
            limits: StreamLimits {
                buffer: self.settings.stream_buffer,
                send_timeout: self.settings.send_timeout,
            },
        };
        let service = AggregatedDiscoveryServiceServer::new(ads)
            .max_decoding_message_size(self.settings.max_message);
        let (stop, stopped) = oneshot::channel::<()>();
        self.shutdown = Some(stop);
        let server = tonic::transport::Server::builder()
            .http2_keepalive_interval(Some(self.settings.keepalive))
            .http2_keepalive_timeout(Some(self.settings.keepalive_timeout))
            .tcp_nodelay(true)
            .serve_with_incoming_shutdown(service, TcpListenerStream::new(listener), async {
                let _ = stopped.await;
            });
        let log = self.log.clone();
        actix::spawn(async move {
            if let Err(err) = server.await {
                error!(log, "xDS server failed"; "error" => %err);
            }
        });
        Ok(())
    }

    /// Builds the resources of the latest snapshot and publishes them if they changed.
    fn build(&mut self, ctx: &mut Context<Self>) {
        self.build_scheduled = false;
        let Some(snapshot) = self.latest.clone() else {
            return;
        };
        let resolved = &self.resolved;
        let (built, report) = resources::build(snapshot.state(), &self.settings.options, &|h| {
            resolved.get(h).copied()
        });
        self.report(&report, ctx);
        if **self.resources.borrow() == built {
            return;
        }
        let (clusters, endpoints, listeners) = built.counts();
        self.stats.builds += 1;
        (
            self.stats.clusters,
            self.stats.endpoints,
            self.stats.listeners,
        ) = (clusters, endpoints, listeners);
        self.resources.send_replace(Arc::new(built));
        info!(self.log, "Envoy resources changed";
            "clusters" => clusters, "endpoints" => endpoints, "listeners" => listeners,
            "streams" => self.streams.len());
    }

    /// Logs what the build left out: collisions at most once a minute, each unknown proxy mode
    /// once.
    fn report(&mut self, report: &BuildReport, ctx: &mut Context<Self>) {
        let due = self
            .last_collision_log
            .is_none_or(|at| at.elapsed() >= COLLISION_LOG_INTERVAL);
        if due && !report.collisions.is_empty() {
            self.last_collision_log = Some(Instant::now());
            for c in &report.collisions {
                warn!(
                    self.log,
                    "Port collision! {} is attempting to squat on port {} owned by {}",
                    c.service,
                    c.service_port,
                    c.owner
                );
            }
        }
        for (name, mode) in &report.unknown_modes {
            if self.unknown_modes.insert(name.clone()) {
                error!(self.log, "Unknown proxy mode: no Envoy listener";
                    "resource" => name, "proxy_mode" => mode);
            }
        }
        self.unknown_modes
            .retain(|name| report.unknown_modes.contains_key(name));
        if self.settings.options.use_hostnames {
            self.resolve(&report.unresolved, ctx);
        }
    }

    /// Resolves hostnames off the actor, each at most once at a time, within
    /// [`RESOLVE_TIMEOUT`]; a rebuild follows each answer. Forgets hosts no longer known.
    fn resolve(&mut self, hostnames: &BTreeSet<String>, ctx: &mut Context<Self>) {
        if let Some(snapshot) = &self.latest {
            let servers = &snapshot.state().servers;
            self.resolved.retain(|host, _| servers.contains_key(host));
        }
        for host in hostnames {
            if !self.resolving.insert(host.clone()) {
                continue;
            }
            let host = host.clone();
            let lookup = async move {
                let found = tokio::time::timeout(
                    RESOLVE_TIMEOUT,
                    tokio::net::lookup_host((host.as_str(), 0)),
                );
                let address = match found.await {
                    Ok(Ok(mut addresses)) => addresses.next().map(|a| a.ip()),
                    _ => None,
                };
                (host, address)
            };
            ctx.spawn(lookup.into_actor(self).map(|(host, address), act, ctx| {
                act.resolving.remove(&host);
                match address {
                    Some(address) => {
                        act.resolved.insert(host, address);
                        act.schedule_build(ctx);
                    }
                    None => {
                        warn!(act.log, "Can't resolve hostname, using the IP"; "hostname" => host)
                    }
                }
            }));
        }
    }

    fn schedule_build(&mut self, ctx: &mut Context<Self>) {
        if !self.build_scheduled {
            self.build_scheduled = true;
            ctx.run_later(self.settings.coalesce, |act, ctx| act.build(ctx));
        }
    }

    fn on_stream_event(&mut self, event: XdsStreamEvent) {
        match event {
            XdsStreamEvent::Opened { id, protocol } => {
                self.stats.streams_opened += 1;
                let stats = XdsStreamStats {
                    id,
                    node: String::new(),
                    protocol,
                    responses: 0,
                    rejected: 0,
                    recent: Vec::new(),
                };
                let recent = VecDeque::new();
                self.streams.insert(id, StreamInfo { stats, recent });
            }
            XdsStreamEvent::Identified { id, node } => {
                info!(self.log, "Envoy connected"; "node" => &node, "stream" => id);
                if let Some(info) = self.streams.get_mut(&id) {
                    info.stats.node = node;
                }
            }
            XdsStreamEvent::Received { id, received } => self.on_received(id, received),
            XdsStreamEvent::Sent { id, sent } => {
                self.stats.responses += 1;
                if let Some(info) = self.streams.get_mut(&id) {
                    info.stats.responses += 1;
                    if info.recent.len() == RECENT_PER_STREAM {
                        info.recent.pop_front();
                    }
                    info.recent.push_back(SentSummary::from(&sent));
                }
            }
            XdsStreamEvent::Closed { id } => {
                if let Some(info) = self.streams.remove(&id) {
                    info!(self.log, "Envoy disconnected"; "node" => info.stats.node, "stream" => id);
                }
            }
        }
    }

    fn on_received(&mut self, id: u64, received: Received) {
        let node = self.streams.get(&id).map(|i| i.stats.node.clone());
        let node = node.unwrap_or_default();
        match received {
            Received::Accepted(..) => self.stats.accepted += 1,
            Received::Rejected(rejection) => {
                self.stats.rejected += 1;
                if let Some(info) = self.streams.get_mut(&id) {
                    info.stats.rejected += 1;
                }
                warn!(self.log, "Received Envoy error code {}: {}", rejection.code, rejection.message;
                    "node" => node, "type" => rejection.kind.as_str(), "version" => &rejection.version);
                self.stats.last_rejection = Some(rejection.message);
            }
            Received::UnknownType(url) => {
                warn!(self.log, "Envoy asked for a type not served"; "node" => node, "type" => url);
            }
            Received::TooManyNames(kind) => {
                warn!(self.log, "Envoy subscribed to too many names; ignored";
                    "node" => node, "type" => kind.as_str());
            }
            Received::Subscribed(_) | Received::Stale(_) => {}
        }
    }
}

impl Actor for XdsServer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        match self.start_server(ctx) {
            Ok(()) => {
                info!(self.log, "xDS server listening"; "addr" => %self.settings.bind);
                self.state_keeper
                    .do_send(Subscribe(ctx.address().recipient()));
            }
            Err(err) => {
                error!(self.log, "Can't start the xDS server"; "error" => %err);
                ctx.stop();
            }
        }
    }
}

impl Handler<StateChanged> for XdsServer {
    type Result = ();

    fn handle(&mut self, msg: StateChanged, ctx: &mut Context<Self>) {
        self.latest = Some(msg.snapshot);
        self.schedule_build(ctx);
    }
}

impl Handler<XdsStreamEvent> for XdsServer {
    type Result = ();

    fn handle(&mut self, event: XdsStreamEvent, _: &mut Context<Self>) {
        self.on_stream_event(event);
    }
}

impl Handler<GetXdsStats> for XdsServer {
    type Result = MessageResult<GetXdsStats>;

    fn handle(&mut self, _: GetXdsStats, _: &mut Context<Self>) -> Self::Result {
        let mut stats = self.stats.clone();
        stats.streams = self
            .streams
            .values()
            .map(|info| XdsStreamStats {
                recent: info.recent.iter().cloned().collect(),
                ..info.stats.clone()
            })
            .collect();
        MessageResult(stats)
    }
}

crate::supervised_actor!(XdsServer);

#[cfg(test)]
mod tests;
