//! WebApi: runs the HTTP API ([`crate::api`]) on a listener bound before start, and keeps the
//! latest [`Snapshot`] for its handlers.
//!
//! Does: subscribe to the StateKeeper, publish each snapshot into a `tokio::sync::watch`
//! channel the handlers read, start the actix-web server and stop it gracefully. Does not:
//! answer requests itself or change the catalogue (drain requests go straight from the
//! handlers to the StateKeeper).

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, PoisonError};

use actix::prelude::*;
use actix_web::dev::ServerHandle;
use slog::{Logger, error, info, o};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::watch;

use crate::api::admin::AdminAccess;
use crate::api::server::ServerSettings;
use crate::api::{self, ApiState};
use crate::catalog::Snapshot;
use crate::messages::{DrainService, StateChanged, Subscribe};
use crate::metrics::NodeMetrics;
use crate::metrics::statsd::StatsdReporter;
use crate::supervisor::Link;
use crate::xds::v1::V1Options;

/// Pending connections the kernel queues before `accept`.
const BACKLOG: i32 = 1024;
/// Seconds a graceful stop waits for open connections (watch streams end at once).
const SHUTDOWN_TIMEOUT_SECS: u64 = 1;
/// Room for snapshot bursts: the StateKeeper drops events for full mailboxes.
const MAILBOX_CAPACITY: usize = 64;

/// How many watch streams and connections the HTTP server takes (docs/COMPATIBILITY.md §7,
/// §16). Built by the configuration layer ([`HttpLimits::for_watchers`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Most `/api/watch` streams open at once (`SIDECAR_MAX_WATCHERS`); one more is 503.
    pub max_watchers: usize,
    /// Most open connections per server worker: every watch stream and room for other
    /// requests besides, so that a full set of streams neither blocks the API nor the 503.
    pub max_connections: usize,
}

/// The running HTTP server of a node, shared by successive WebApi instances: a restarted
/// WebApi stops its predecessor's server (which a panic leaves running) before starting its own.
pub type ServerSlot = Arc<Mutex<Option<ServerHandle>>>;

/// What the WebApi needs to know besides its inputs.
#[derive(Clone)]
pub struct WebSettings {
    /// Where to listen (Go: `0.0.0.0:7777`). Bind it with [`bind`].
    pub bind: SocketAddr,
    /// Server worker threads (default 1: 20k requests/s, and a daemon should stay small).
    pub workers: usize,
    /// The watch streams and connections the server takes.
    pub limits: HttpLimits,
    /// This node's name, for the empty catalogue served before the first snapshot.
    pub hostname: String,
    /// The cluster name, likewise.
    pub cluster_name: String,
    /// The server of the previous instance, if any.
    pub server: ServerSlot,
    /// The admin API's supervisor and token; `None` leaves the admin API unavailable (503).
    pub admin: Option<AdminAccess>,
    /// `HAPROXY_BIND_IP` and `HAPROXY_USE_HOSTNAMES`, for Envoy's v1 API.
    pub envoy_v1: V1Options,
    /// The node's metrics, counted by the request middleware and served at `/metrics`.
    pub metrics: NodeMetrics,
    /// Sends the metrics to statsd on a timer, when `SIDECAR_STATS_ADDR` is set.
    pub statsd: Option<StatsdReporter>,
}

impl WebSettings {
    /// Settings with the default worker count.
    pub fn new(bind: SocketAddr, hostname: &str, cluster_name: &str) -> WebSettings {
        WebSettings {
            bind,
            workers: 1,
            limits: HttpLimits::default(),
            hostname: hostname.to_owned(),
            cluster_name: cluster_name.to_owned(),
            server: ServerSlot::default(),
            admin: None,
            envoy_v1: V1Options::default(),
            metrics: NodeMetrics::default(),
            statsd: None,
        }
    }
}

/// Binds the API's listener (`SO_REUSEADDR`, a backlog of 1024, non-blocking), so that bind
/// errors surface at startup and tests can bind port 0 and read the real port.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Stop the HTTP server gracefully (watch streams end first, other connections get up to a
/// second), then stop the actor. Answers once the server has stopped.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StopServer;

/// The address the API listens on.
#[derive(Debug, Message)]
#[rtype(result = "SocketAddr")]
pub struct GetLocalAddr;

/// How many `/api/watch` streams are open.
#[derive(Debug, Message)]
#[rtype(result = "usize")]
pub struct GetWatchCount;

/// The actor running the HTTP API. See the [module docs](self).
pub struct WebApi {
    settings: WebSettings,
    listener: Arc<TcpListener>,
    local_addr: SocketAddr,
    state_keeper: Link<Subscribe>,
    /// `None` once stopping: dropping the sender ends every watch stream.
    snapshots: Option<watch::Sender<Arc<Snapshot>>>,
    api: ApiState,
    server: Option<ServerHandle>,
    log: Logger,
}

impl WebApi {
    /// An actor that will serve on (a duplicate of) `listener` (from [`bind`]; its address is
    /// `settings.bind`), subscribe to `state_keeper` and send drain requests to `drain`.
    pub fn new(
        settings: WebSettings,
        listener: Arc<TcpListener>,
        state_keeper: Link<Subscribe>,
        drain: Link<DrainService>,
        log: &Logger,
    ) -> WebApi {
        let local_addr = settings.bind;
        let admin = settings.admin.clone();
        let empty = Snapshot::empty(&settings.hostname, &settings.cluster_name);
        let (sender, receiver) = watch::channel(Arc::new(empty));
        let api = ApiState::new(receiver, drain)
            .with_admin(admin)
            .with_envoy_v1(settings.envoy_v1.clone())
            .with_metrics(settings.metrics.clone())
            .with_max_watchers(settings.limits.max_watchers);
        WebApi {
            settings,
            listener,
            local_addr,
            state_keeper,
            snapshots: Some(sender),
            api,
            server: None,
            log: log.new(o!("actor" => "web_api")),
        }
    }

    /// The address the API listens on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Starts the server on the listener; the server future runs on this arbiter.
    fn start_server(&mut self) -> io::Result<ServerHandle> {
        let listener = self.listener.try_clone()?;
        let settings = ServerSettings {
            workers: self.settings.workers,
            max_connections: self.settings.limits.max_connections,
            shutdown_timeout_secs: SHUTDOWN_TIMEOUT_SECS,
        };
        let server = api::server::run(listener, self.api.clone(), settings)?;
        let handle = server.handle();
        let previous = self
            .settings
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(handle.clone());
        if let Some(previous) = previous {
            actix::spawn(previous.stop(false));
        }
        let log = self.log.clone();
        actix::spawn(async move {
            if let Err(err) = server.await {
                error!(log, "HTTP server failed"; "error" => %err);
            }
        });
        Ok(handle)
    }

    /// Sends the metrics to statsd every interval, when configured. Each report runs as a task
    /// of its own (the actors it asks answer within a timeout, the socket never waits), and a
    /// report still running when the next is due makes that one skipped.
    fn start_statsd(&self, ctx: &mut Context<Self>) {
        let Some(reporter) = self.settings.statsd.clone() else {
            return;
        };
        let busy = Arc::new(std::sync::atomic::AtomicBool::new(false));
        ctx.run_interval(reporter.interval(), move |act, _| {
            use std::sync::atomic::Ordering;
            if busy.swap(true, Ordering::AcqRel) {
                return;
            }
            let (api, reporter, busy) = (act.api.clone(), reporter.clone(), Arc::clone(&busy));
            let log = act.log.clone();
            actix::spawn(async move {
                let figures = api::metrics::gather(&api).await;
                let text = api.metrics().render(&figures);
                if let Err(err) = reporter.report(&text).await {
                    slog::debug!(log, "Cannot send metrics to statsd"; "error" => %err);
                }
                busy.store(false, Ordering::Release);
            });
        });
    }

    /// Ends the watch streams and asks the server to stop; the returned handle's `stop`
    /// future completes when it has.
    fn begin_shutdown(&mut self) -> Option<ServerHandle> {
        self.snapshots = None;
        self.server.take()
    }
}

impl Actor for WebApi {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        match self.start_server() {
            Ok(handle) => {
                info!(self.log, "HTTP API listening"; "addr" => %self.local_addr);
                self.server = Some(handle);
                self.state_keeper
                    .do_send(Subscribe(ctx.address().recipient()));
                self.start_statsd(ctx);
            }
            Err(err) => {
                error!(self.log, "Can't start HTTP server"; "error" => %err);
                ctx.stop();
            }
        }
    }

    fn stopping(&mut self, _: &mut Context<Self>) -> Running {
        if let Some(handle) = self.begin_shutdown() {
            actix::spawn(handle.stop(true));
        }
        Running::Stop
    }
}

impl Handler<StateChanged> for WebApi {
    type Result = ();

    fn handle(&mut self, msg: StateChanged, _: &mut Context<Self>) {
        if let Some(sender) = &self.snapshots {
            sender.send_replace(msg.snapshot);
        }
    }
}

impl Handler<StopServer> for WebApi {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: StopServer, ctx: &mut Context<Self>) -> Self::Result {
        let handle = self.begin_shutdown();
        ctx.stop();
        info!(self.log, "HTTP API stopping");
        Box::pin(async move {
            if let Some(handle) = handle {
                handle.stop(true).await;
            }
        })
    }
}

impl Handler<GetLocalAddr> for WebApi {
    type Result = MessageResult<GetLocalAddr>;

    fn handle(&mut self, _: GetLocalAddr, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.local_addr)
    }
}

impl Handler<GetWatchCount> for WebApi {
    type Result = MessageResult<GetWatchCount>;

    fn handle(&mut self, _: GetWatchCount, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.api.watchers())
    }
}
crate::supervised_actor!(WebApi);
