//! [`NodePlan`]: the configuration parsed, once, into the typed settings of every subsystem a
//! node runs. Nothing downstream of the plan parses a string or chooses a default.
//!
//! Defaults live in two places, both in this layer: the configurable ones in the `Default`
//! impls of the sections (`sections.rs`), and the internal timings and limits that no variable
//! sets in the table of constants below. Protocol constants (wire limits, SWIM tuning, record
//! lifespans) stay with the pure cores that define them (docs/PROTOCOL.md §14).

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::values::DiscoveryMethod;
use super::{Config, ConfigError, HaproxyConfig};
use crate::actors::StateKeeperSettings;
use crate::actors::docker_watcher::DockerWatcherSettings;
use crate::actors::gossiper::{GossipKeys, GossiperSettings};
use crate::actors::haproxy_manager::{HaproxyControl, HaproxySettings};
use crate::actors::health_checker::HealthSettings;
use crate::actors::listener_notifier::ListenerSettings;
use crate::actors::static_watcher::StaticWatcherSettings;
use crate::actors::web_api::HttpLimits;
use crate::actors::xds_server::XdsSettings;
use crate::catalog::Lifespans;
use crate::discovery::DiscoverySource;
use crate::discovery::namer::Namer;
use crate::gossip::crypto::KeyRing;
use crate::gossip::membership::MembershipConfig;
use crate::haproxy::ProxySettings;
use crate::health::{StartupRecheck, Thresholds};
use crate::metrics::statsd::StatsdSettings;
use crate::supervisor::RestartPolicy;
use crate::xds::XdsOptions;
use crate::xds::v1::V1Options;

// Internal timings and limits (no variable sets them).

/// How often the StateKeeper runs its expiry pass (Go: 2 s).
pub const EXPIRE_INTERVAL: Duration = Duration::from_secs(2);
/// How often this node's tombstones are announced again (ten times in all).
pub const TOMBSTONE_REPEAT_INTERVAL: Duration = Duration::from_secs(1);
/// How often the health pool re-sends the full local list to the StateKeeper.
pub const HEALTH_REFRESH_INTERVAL: Duration = Duration::from_secs(1);
/// How long the health pool waits for a silent discovery source before its first report.
pub const FIRST_REPORT_GRACE: Duration = Duration::from_secs(5);
/// The limit of each listener POST attempt (Go: 3 s).
pub const LISTENER_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts per listener event, the first included (Go: 6).
pub const LISTENER_MAX_ATTEMPTS: u32 = 6;
/// Events a listener's queue holds before the oldest is dropped.
pub const LISTENER_QUEUE: usize = 64;
/// How often Docker's containers are re-listed even without events.
pub const DOCKER_RELIST_INTERVAL: Duration = Duration::from_secs(10);
/// A container list taking longer than this counts as a lost connection.
pub const DOCKER_LIST_TIMEOUT: Duration = Duration::from_secs(5);
/// The first Docker reconnection delay; it doubles after each failure up to
/// [`DOCKER_BACKOFF_MAX`].
pub const DOCKER_BACKOFF_MIN: Duration = Duration::from_millis(100);
/// The longest Docker reconnection delay.
pub const DOCKER_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// The shortest push/pull period, whatever `SIDECAR_PUSH_PULL_INTERVAL` says.
pub const MIN_PUSH_PULL_INTERVAL: Duration = Duration::from_secs(1);
/// Timeout of each gossip TCP read, write and connect.
pub const GOSSIP_SESSION_TIMEOUT: Duration = Duration::from_secs(2);
/// Most gossip TCP sessions at once (both directions).
pub const GOSSIP_MAX_SESSIONS: usize = 8;
/// Batches of heard records the Gossiper may have handed to the StateKeeper and not seen
/// applied yet (`GossiperSettings::max_batches_in_flight`).
pub const GOSSIP_MAX_BATCHES_IN_FLIGHT: usize = 64;
/// The longest wait between two join attempts.
pub const MAX_JOIN_BACKOFF: Duration = Duration::from_secs(30);
/// The first quick re-check of a new service whose first check failed fast; the waits
/// double and add up to at most one health interval.
pub const STARTUP_RECHECK_FIRST: Duration = Duration::from_millis(100);
/// The longest a HAProxy verify or reload command may run.
pub const HAPROXY_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// Changes within this of the last HAProxy application are gathered into the next one.
pub const HAPROXY_DEBOUNCE: Duration = Duration::from_millis(50);
/// When a failed HAProxy application is tried again if no change comes first.
pub const HAPROXY_RETRY_INTERVAL: Duration = Duration::from_secs(10);
/// How often the HAProxy master is asked whether it still runs (one that does not answer is
/// started again).
pub const HAPROXY_LIVENESS_INTERVAL: Duration = Duration::from_secs(5);
/// The first supervised restart waits this long; doubled for each failure in a row…
pub const RESTART_BACKOFF_INITIAL: Duration = Duration::from_millis(100);
/// …up to this.
pub const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long the xDS server gathers catalogue changes before one build and push.
pub const XDS_COALESCE: Duration = Duration::from_millis(10);
/// Most Envoy streams connected at once.
pub const XDS_MAX_STREAMS: usize = 1024;
/// Largest request accepted from an Envoy.
pub const XDS_MAX_MESSAGE: usize = 1024 * 1024;
/// Responses queued per Envoy stream.
pub const XDS_STREAM_BUFFER: usize = 8;
/// How long a response may wait for an Envoy to read before its stream is dropped.
pub const XDS_SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// HTTP/2 ping period on xDS connections…
pub const XDS_KEEPALIVE: Duration = Duration::from_secs(30);
/// …and how long a ping may go unanswered.
pub const XDS_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the metrics go to statsd when `SIDECAR_STATS_ADDR` is set.
pub const STATSD_INTERVAL: Duration = Duration::from_secs(1);
/// Connections the HTTP server accepts beyond `SIDECAR_MAX_WATCHERS`, for every other
/// request (and for the 503 that refuses one stream too many).
pub const HTTP_OTHER_CONNECTIONS: usize = 1024;
/// Open files a node needs besides its HTTP connections, xDS streams and health checks:
/// the listening and gossip sockets, Docker, listeners, HAProxy, logs, the static file.
pub const OPEN_FILES_RESERVE: u64 = 256;

/// Everything a node runs with, typed. Built by [`NodePlan::new`]; consumed by `node::start`.
#[derive(Clone, Debug)]
pub struct NodePlan {
    /// This node's name (`SIDECAR_HOSTNAME`, else the OS hostname).
    pub hostname: String,
    /// `SIDECAR_CLUSTER_NAME`.
    pub cluster_name: String,
    /// The IP in this node's service ports and default checks (127.0.0.1 without discovery).
    pub published_ip: IpAddr,
    /// Where the HTTP API listens.
    pub http: SocketAddr,
    /// The watch streams and connections the HTTP server takes.
    pub http_limits: HttpLimits,
    /// The admin API's token, if any.
    pub admin_token: Option<String>,
    /// When a failing subsystem is restarted, and when the node gives up.
    pub restart_policy: RestartPolicy,
    /// The StateKeeper's settings.
    pub state_keeper: StateKeeperSettings,
    /// The health-check pool's settings.
    pub health: HealthSettings,
    /// The listener notifier's settings.
    pub listeners: ListenerSettings,
    /// How often this node's tombstones are announced again.
    pub tombstone_repeat_interval: Duration,
    /// The static-file watcher's settings, with static discovery.
    pub static_watcher: Option<StaticWatcherSettings>,
    /// The Docker watcher's settings, with docker discovery.
    pub docker_watcher: Option<DockerWatcherSettings>,
    /// The HAProxy manager's settings, unless `HAPROXY_DISABLE`.
    pub haproxy: Option<HaproxySettings>,
    /// The gossip ports and the Gossiper's settings.
    pub gossip: GossipPlan,
    /// The Envoy xDS server, unless `ENVOY_USE_GRPC_API=false`.
    pub xds: Option<XdsSettings>,
    /// Envoy's v1 REST API (`HAPROXY_BIND_IP`, `HAPROXY_USE_HOSTNAMES`, as Go used them).
    pub envoy_v1: V1Options,
    /// Settings that were given but have no effect here, as lines for the start-up log.
    pub warnings: Vec<String>,
    /// Where the metrics go over statsd (UDP), if anywhere (`SIDECAR_STATS_ADDR`).
    pub statsd: Option<StatsdSettings>,
}

/// Where the gossip ports bind, and what the Gossiper runs with. The advertised port is the
/// bind port until the node binds (port 0 lets the OS pick one).
#[derive(Clone, Debug)]
pub struct GossipPlan {
    /// `SIDECAR_BIND_IP`:`SIDECAR_BIND_PORT`.
    pub bind: SocketAddr,
    /// The Gossiper's settings.
    pub settings: GossiperSettings,
}

impl NodePlan {
    /// Parses `config` into the plan: every address, the Docker endpoint and namer, the
    /// listener URLs and the gossip keys. Lists the network interfaces when the published
    /// IP is not given. An error names the variable and its value (exit code 2).
    pub fn new(config: &Config) -> Result<NodePlan, ConfigError> {
        let s = &config.sidecar;
        let hostname = config.hostname();
        let methods: BTreeSet<DiscoveryMethod> = s.discovery.iter().copied().collect();
        let (published_ip, chosen_ip) = if methods.is_empty() {
            (IpAddr::from([127, 0, 0, 1]), config.published_ip())
        } else {
            let ip = config.published_ip()?;
            (ip, Ok(ip))
        };
        Ok(NodePlan {
            http: SocketAddr::new(
                parse_ip("SIDECAR_HTTP_BIND_IP", &s.http_bind_ip)?,
                s.http_port,
            ),
            http_limits: HttpLimits::for_watchers(s.max_watchers),
            admin_token: s.admin_token.clone(),
            restart_policy: RestartPolicy {
                max_restarts: s.max_restarts,
                window: s.restart_window,
                backoff_initial: RESTART_BACKOFF_INITIAL,
                backoff_max: RESTART_BACKOFF_MAX,
            },
            state_keeper: StateKeeperSettings {
                hostname: hostname.clone(),
                cluster_name: s.cluster_name.clone(),
                lifespans: Lifespans {
                    max_skew: s.max_clock_skew,
                    ..Lifespans::default()
                },
                expire_interval: EXPIRE_INTERVAL,
            },
            health: health_settings(config, published_ip, &methods),
            listeners: listener_settings(config, &hostname)?,
            tombstone_repeat_interval: TOMBSTONE_REPEAT_INTERVAL,
            static_watcher: methods
                .contains(&DiscoveryMethod::Static)
                .then(|| static_settings(config, &hostname, published_ip)),
            docker_watcher: match methods.contains(&DiscoveryMethod::Docker) {
                true => Some(docker_settings(config, &hostname, published_ip)?),
                false => None,
            },
            haproxy: (!config.haproxy.disable)
                .then(|| HaproxySettings::from_config(&config.haproxy)),
            gossip: gossip_plan(config, &hostname, chosen_ip, published_ip)?,
            xds: xds_settings(config)?,
            envoy_v1: V1Options {
                bind_ip: config.haproxy.bind_ip.clone(),
                use_hostnames: config.haproxy.use_hostnames,
            },
            warnings: warnings(config),
            statsd: s.stats_addr.clone().map(|addr| StatsdSettings {
                addr,
                interval: STATSD_INTERVAL,
            }),
            cluster_name: s.cluster_name.clone(),
            hostname,
            published_ip,
        })
    }
}

impl NodePlan {
    /// How many files the node may have open at once when every limit is reached: all HTTP
    /// connections, xDS streams and health checks, plus [`OPEN_FILES_RESERVE`].
    pub fn open_files_needed(&self) -> u64 {
        let xds = self.xds.as_ref().map_or(0, |xds| xds.max_streams);
        let sockets = self.http_limits.max_connections + xds + self.health.concurrency;
        u64::try_from(sockets).unwrap_or(u64::MAX) + OPEN_FILES_RESERVE
    }
}

// The constructors of the subsystems' settings live here, beside the constants they use, so
// that the tests of each subsystem start from the same defaults as the daemon.

impl Default for RestartPolicy {
    /// At most 5 failures a minute, restarts after 100 ms doubling up to 5 s.
    fn default() -> RestartPolicy {
        let d = super::SidecarConfig::default();
        RestartPolicy {
            max_restarts: d.max_restarts,
            window: d.restart_window,
            backoff_initial: RESTART_BACKOFF_INITIAL,
            backoff_max: RESTART_BACKOFF_MAX,
        }
    }
}

impl HttpLimits {
    /// `max_watchers` streams, and [`HTTP_OTHER_CONNECTIONS`] more connections besides.
    pub fn for_watchers(max_watchers: usize) -> HttpLimits {
        HttpLimits {
            max_watchers,
            max_connections: max_watchers.saturating_add(HTTP_OTHER_CONNECTIONS),
        }
    }
}

impl Default for HttpLimits {
    /// `SIDECAR_MAX_WATCHERS` at its default (10,000 streams, 11,024 connections).
    fn default() -> HttpLimits {
        HttpLimits::for_watchers(super::SidecarConfig::default().max_watchers)
    }
}

impl Default for HealthSettings {
    /// The configurable values at their defaults, with static discovery on 127.0.0.1 (the
    /// node's own are made by [`NodePlan::new`]).
    fn default() -> HealthSettings {
        let d = super::SidecarConfig::default();
        HealthSettings {
            interval: d.health_interval,
            timeout: d.health_timeout,
            concurrency: d.health_concurrency,
            refresh_interval: HEALTH_REFRESH_INTERVAL,
            published_ip: "127.0.0.1".into(),
            default_check_endpoint: d.default_check_endpoint,
            sources: BTreeSet::from([DiscoverySource::Static]),
            first_report_grace: FIRST_REPORT_GRACE,
            thresholds: Thresholds::default(),
            startup_recheck: Some(StartupRecheck {
                first: STARTUP_RECHECK_FIRST,
                budget: d.health_interval,
            }),
        }
    }
}

impl ListenerSettings {
    /// The defaults (3 s, 6 attempts, a queue of 64) for `hostname` and `static_urls`.
    pub fn new(hostname: &str, static_urls: Vec<String>) -> ListenerSettings {
        ListenerSettings {
            hostname: hostname.to_owned(),
            attempt_timeout: LISTENER_ATTEMPT_TIMEOUT,
            max_attempts: LISTENER_MAX_ATTEMPTS,
            queue: LISTENER_QUEUE,
            static_urls,
        }
    }
}

impl DockerWatcherSettings {
    /// The production timings: re-list every 10 s, lists time out after 5 s, backoff
    /// 100 ms → 5 s.
    pub fn new(endpoint: String, hostname: String, published_ip: String, namer: Namer) -> Self {
        DockerWatcherSettings {
            endpoint,
            hostname,
            published_ip,
            namer,
            relist_interval: DOCKER_RELIST_INTERVAL,
            list_timeout: DOCKER_LIST_TIMEOUT,
            backoff_min: DOCKER_BACKOFF_MIN,
            backoff_max: DOCKER_BACKOFF_MAX,
        }
    }
}

impl HaproxySettings {
    /// The settings of `HAPROXY_*`. The sockets go beside the pid file:
    /// `haproxy_stats.sock` (Go's default path) and `haproxy_master.sock`. The template is
    /// the built-in one unless `HAPROXY_TEMPLATE_FILE` names another file than Go's default
    /// `views/haproxy.cfg` (a Go template, which tera cannot read).
    pub fn from_config(config: &HaproxyConfig) -> HaproxySettings {
        let dir = config
            .pid_file
            .parent()
            .map_or_else(PathBuf::new, PathBuf::from);
        let stats_socket = dir.join("haproxy_stats.sock");
        let template_file = Some(config.template_file.clone())
            .filter(|t| t.as_path() != std::path::Path::new("views/haproxy.cfg"));
        HaproxySettings {
            proxy: ProxySettings {
                bind_ip: config.bind_ip.clone(),
                user: config.user.clone(),
                group: config.group.clone(),
                use_hostnames: config.use_hostnames,
                stats_bind_ip: "0.0.0.0".to_owned(),
                stats_socket: stats_socket.to_string_lossy().into_owned(),
            },
            template_file,
            control: HaproxyControl {
                config_file: config.config_file.clone(),
                pid_file: config.pid_file.clone(),
                master_socket: dir.join("haproxy_master.sock"),
                stats_socket,
                binary: "haproxy".to_owned(),
                verify_command: config.verify_command.clone(),
                reload_command: config.reload_command.clone(),
                timeout: HAPROXY_COMMAND_TIMEOUT,
            },
            debounce: HAPROXY_DEBOUNCE,
            retry_interval: HAPROXY_RETRY_INTERVAL,
            liveness_interval: HAPROXY_LIVENESS_INTERVAL,
        }
    }
}

impl GossiperSettings {
    /// Defaults for `hostname` reachable at `advertise` in `cluster_name`: no keys, no
    /// seeds, the default push/pull interval.
    pub fn new(hostname: &str, advertise: SocketAddr, cluster_name: &str) -> GossiperSettings {
        GossiperSettings {
            hostname: hostname.to_owned(),
            advertise,
            cluster_name: cluster_name.to_owned(),
            keys: GossipKeys::default(),
            seeds: Vec::new(),
            push_pull_interval: super::SidecarConfig::default().push_pull_interval,
            session_timeout: GOSSIP_SESSION_TIMEOUT,
            max_sessions: GOSSIP_MAX_SESSIONS,
            max_join_backoff: MAX_JOIN_BACKOFF,
            max_batches_in_flight: GOSSIP_MAX_BATCHES_IN_FLIGHT,
            membership: MembershipConfig::default(),
        }
    }
}

/// `text` as an IP address, or an error naming `var`.
fn parse_ip(var: &str, text: &str) -> Result<IpAddr, ConfigError> {
    text.parse().map_err(|_| ConfigError::Invalid {
        var: var.to_owned(),
        value: text.to_owned(),
        reason: "expected an IP address".to_owned(),
    })
}

fn health_settings(
    config: &Config,
    published_ip: IpAddr,
    methods: &BTreeSet<DiscoveryMethod>,
) -> HealthSettings {
    let s = &config.sidecar;
    HealthSettings {
        interval: s.health_interval,
        timeout: s.health_timeout,
        concurrency: s.health_concurrency,
        refresh_interval: HEALTH_REFRESH_INTERVAL,
        published_ip: published_ip.to_string(),
        default_check_endpoint: s.default_check_endpoint.clone(),
        sources: methods
            .iter()
            .filter_map(|method| match method {
                DiscoveryMethod::Static => Some(DiscoverySource::Static),
                DiscoveryMethod::Docker => Some(DiscoverySource::Docker),
                DiscoveryMethod::KubernetesApi => None,
            })
            .collect(),
        first_report_grace: FIRST_REPORT_GRACE,
        thresholds: Thresholds {
            rise: u32::try_from(s.health_rise).unwrap_or(u32::MAX),
            fall: u32::try_from(s.health_fall).unwrap_or(u32::MAX),
        },
        startup_recheck: Some(StartupRecheck {
            first: STARTUP_RECHECK_FIRST,
            budget: s.health_interval,
        }),
    }
}

fn listener_settings(config: &Config, hostname: &str) -> Result<ListenerSettings, ConfigError> {
    let urls = &config.listeners.urls;
    crate::listeners::validate_urls(urls).map_err(|reason| ConfigError::Invalid {
        var: "LISTENERS_URLS".to_owned(),
        value: urls.join(","),
        reason,
    })?;
    Ok(ListenerSettings::new(hostname, urls.clone()))
}

fn static_settings(config: &Config, hostname: &str, published_ip: IpAddr) -> StaticWatcherSettings {
    StaticWatcherSettings {
        path: config.static_discovery.config_file.clone(),
        reload_interval: config.static_discovery.reload_interval,
        hostname: hostname.to_owned(),
        published_ip: published_ip.to_string(),
    }
}

fn docker_settings(
    config: &Config,
    hostname: &str,
    published_ip: IpAddr,
) -> Result<DockerWatcherSettings, ConfigError> {
    Ok(DockerWatcherSettings::new(
        config.docker.endpoint()?,
        hostname.to_owned(),
        published_ip.to_string(),
        config.services.namer()?,
    ))
}

/// The xDS server's settings; `None` when `ENVOY_USE_GRPC_API` is false.
fn xds_settings(config: &Config) -> Result<Option<XdsSettings>, ConfigError> {
    let e = &config.envoy;
    if !e.use_grpc_api {
        return Ok(None);
    }
    let options = XdsOptions {
        bind_ip: parse_ip("ENVOY_BIND_IP", &e.bind_ip)?,
        use_hostnames: e.use_hostnames,
    };
    let bind_ip = parse_ip("ENVOY_GRPC_BIND_IP", &e.grpc_bind_ip)?;
    Ok(Some(XdsSettings::new(
        SocketAddr::new(bind_ip, e.grpc_port),
        options,
    )))
}

impl Default for V1Options {
    /// `HAPROXY_BIND_IP` and `HAPROXY_USE_HOSTNAMES` at their defaults.
    fn default() -> V1Options {
        let d = super::HaproxyConfig::default();
        V1Options {
            bind_ip: d.bind_ip,
            use_hostnames: d.use_hostnames,
        }
    }
}

impl XdsSettings {
    /// The limits of the table of constants, for `bind` and `options`.
    pub fn new(bind: SocketAddr, options: XdsOptions) -> XdsSettings {
        XdsSettings {
            bind,
            options,
            coalesce: XDS_COALESCE,
            max_streams: XDS_MAX_STREAMS,
            max_message: XDS_MAX_MESSAGE,
            stream_buffer: XDS_STREAM_BUFFER,
            send_timeout: XDS_SEND_TIMEOUT,
            keepalive: XDS_KEEPALIVE,
            keepalive_timeout: XDS_KEEPALIVE_TIMEOUT,
        }
    }
}

/// The gossip plan. The advertised IP is `SIDECAR_ADVERTISE_IP`, else the bind IP unless
/// unspecified, else an interface's IP as chosen for the published IP (even without
/// discovery, where the node's published IP is 127.0.0.1, which peers on other hosts cannot
/// reach).
fn gossip_plan(
    config: &Config,
    hostname: &str,
    chosen_ip: Result<IpAddr, ConfigError>,
    published_ip: IpAddr,
) -> Result<GossipPlan, ConfigError> {
    let s = &config.sidecar;
    let bind_ip = parse_ip("SIDECAR_BIND_IP", &s.bind_ip)?;
    let keys = KeyRing::from_base64(&s.gossip_keys).map_err(|error| ConfigError::Invalid {
        var: "SIDECAR_GOSSIP_KEYS".to_owned(),
        value: "<redacted>".to_owned(),
        reason: error.to_string(),
    })?;
    let advertise_ip = match s.advertise_ip {
        Some(_) => chosen_ip?,
        None if !bind_ip.is_unspecified() => bind_ip,
        None => chosen_ip.unwrap_or(published_ip),
    };
    let advertise = SocketAddr::new(advertise_ip, s.bind_port);
    let mut settings = GossiperSettings::new(hostname, advertise, &s.cluster_name);
    settings.keys = GossipKeys::new(keys);
    settings.seeds = s
        .seeds
        .iter()
        .map(|seed| seed_address(seed, s.bind_port))
        .collect();
    settings.push_pull_interval = s.push_pull_interval.max(MIN_PUSH_PULL_INTERVAL);
    settings.membership.max_clock_skew = s.max_clock_skew;
    Ok(GossipPlan {
        bind: SocketAddr::new(bind_ip, s.bind_port),
        settings,
    })
}

/// `host` or `host:port` (`[v6]:port` too) as `host:port`, with `default_port`.
fn seed_address(seed: &str, default_port: u16) -> String {
    let seed = seed.trim();
    if seed.parse::<SocketAddr>().is_ok() {
        return seed.to_owned();
    }
    match seed.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => seed.to_owned(),
        _ if seed.parse::<std::net::Ipv6Addr>().is_ok() => format!("[{seed}]:{default_port}"),
        _ => format!("{seed}:{default_port}"),
    }
}

/// Settings that were given a value other than their default but mean nothing to this
/// daemon: each is named in the start-up log, never silently ignored
/// (docs/COMPATIBILITY.md §2).
fn warnings(config: &Config) -> Vec<String> {
    let s = &config.sidecar;
    let d = super::SidecarConfig::default();
    let mut warnings = Vec::new();
    if s.discovery.contains(&DiscoveryMethod::KubernetesApi) {
        warnings.push(
            "SIDECAR_DISCOVERY=kubernetes_api: not available in this version, skipped".to_owned(),
        );
    }
    let unused = [
        (
            "SIDECAR_GOSSIP_INTERVAL",
            s.gossip_interval != d.gossip_interval,
            "the SWIM probe period is fixed by the membership (docs/PROTOCOL.md §8)",
        ),
        (
            "SIDECAR_GOSSIP_MESSAGES",
            s.gossip_messages != d.gossip_messages,
            "retransmissions scale with the cluster size (docs/PROTOCOL.md §9)",
        ),
        (
            "SIDECAR_HANDOFF_QUEUE_DEPTH",
            s.handoff_queue_depth != d.handoff_queue_depth,
            "gossip input is bounded by the actors' mailboxes",
        ),
        (
            "SIDECAR_DISCOVERY_SLEEP_INTERVAL",
            s.discovery_sleep_interval != d.discovery_sleep_interval,
            "discovery is event-driven",
        ),
        (
            "SIDECAR_DEBUG",
            s.debug,
            "there is no periodic state dump; use SIDECAR_LOGGING_LEVEL=debug and the admin API",
        ),
    ];
    for (var, set, why) in unused {
        if set {
            warnings.push(format!("{var} has no effect: {why}"));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::{Cli, load};

    fn plan(pairs: &[(&str, &str)]) -> Result<NodePlan, ConfigError> {
        let mut env: BTreeMap<String, String> = [
            ("SIDECAR_ADVERTISE_IP", "10.1.2.3"),
            ("SIDECAR_DISCOVERY", "static"),
            ("SIDECAR_HOSTNAME", "node-a"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        env.extend(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        NodePlan::new(&load(&Cli::default(), &env)?)
    }

    #[test]
    fn each_discovery_method_gets_its_watcher_and_health_source() {
        let both = plan(&[("SIDECAR_DISCOVERY", "docker,static")]).unwrap();
        assert!(both.static_watcher.is_some() && both.docker_watcher.is_some());
        let sources = [DiscoverySource::Docker, DiscoverySource::Static];
        assert_eq!(both.health.sources, BTreeSet::from(sources));
        let none = plan(&[("SIDECAR_DISCOVERY", "")]).unwrap();
        assert!(none.static_watcher.is_none() && none.docker_watcher.is_none());
        assert_eq!(none.published_ip, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(
            none.gossip.settings.advertise.ip(),
            IpAddr::from([10, 1, 2, 3])
        );
    }

    #[test]
    fn the_docker_endpoint_and_namer_are_parsed_once_into_the_plan_and_errors_name_the_variable() {
        let docker = [
            ("SIDECAR_DISCOVERY", "docker"),
            ("DOCKER_URL", "tcp://127.0.0.1:2375"),
        ];
        let settings = plan(&docker).unwrap().docker_watcher.unwrap();
        assert_eq!(settings.endpoint, "tcp://127.0.0.1:2375");
        let bad = [("SIDECAR_DISCOVERY", "docker"), ("DOCKER_URL", "ftp://x")];
        let error = plan(&bad).unwrap_err().to_string();
        assert!(
            error.starts_with(r#"invalid DOCKER_URL="ftp://x""#),
            "{error}"
        );
        let bad = [("SIDECAR_DISCOVERY", "docker"), ("SERVICES_NAMER", "nope")];
        let error = plan(&bad).unwrap_err().to_string();
        assert!(
            error.starts_with(r#"invalid SERVICES_NAMER="nope""#),
            "{error}"
        );
    }

    #[test]
    fn addresses_and_listener_urls_are_refused_by_name() {
        let error = plan(&[("SIDECAR_BIND_IP", "any")]).unwrap_err().to_string();
        assert!(
            error.starts_with(r#"invalid SIDECAR_BIND_IP="any""#),
            "{error}"
        );
        let error = plan(&[("SIDECAR_HTTP_BIND_IP", "x")])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(r#"invalid SIDECAR_HTTP_BIND_IP="x""#),
            "{error}"
        );
        let error = plan(&[("LISTENERS_URLS", "ftp://a")])
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("invalid LISTENERS_URLS="), "{error}");
    }

    #[test]
    fn the_xds_server_listens_on_its_own_address_unless_turned_off_and_bad_ips_are_named() {
        let xds = plan(&[]).unwrap().xds.unwrap();
        assert_eq!(xds.bind, "0.0.0.0:7776".parse().unwrap());
        assert_eq!(xds.options.bind_ip, IpAddr::from([192, 168, 168, 168]));
        let given = [
            ("ENVOY_GRPC_BIND_IP", "127.0.0.90"),
            ("ENVOY_GRPC_PORT", "7000"),
            ("ENVOY_USE_HOSTNAMES", "true"),
        ];
        let xds = plan(&given).unwrap().xds.unwrap();
        assert_eq!(xds.bind, "127.0.0.90:7000".parse().unwrap());
        assert!(xds.options.use_hostnames);
        assert!(
            plan(&[("ENVOY_USE_GRPC_API", "false")])
                .unwrap()
                .xds
                .is_none()
        );
        for var in ["ENVOY_BIND_IP", "ENVOY_GRPC_BIND_IP"] {
            let error = plan(&[(var, "nowhere")]).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!(r#"invalid {var}="nowhere""#)),
                "{error}"
            );
        }
    }

    #[test]
    fn settings_that_have_no_effect_are_named_in_a_warning_and_defaults_are_silent() {
        assert!(plan(&[]).unwrap().warnings.is_empty());
        let given = [
            ("SIDECAR_GOSSIP_INTERVAL", "1s"),
            ("SIDECAR_HANDOFF_QUEUE_DEPTH", "10"),
            ("SIDECAR_DEBUG", "true"),
            ("SIDECAR_DISCOVERY", "static,kubernetes_api"),
        ];
        let warnings = plan(&given).unwrap().warnings.join("\n");
        for var in [
            "SIDECAR_GOSSIP_INTERVAL",
            "SIDECAR_HANDOFF_QUEUE_DEPTH",
            "SIDECAR_DEBUG",
            "kubernetes_api",
        ] {
            assert!(warnings.contains(var), "{var} in {warnings}");
        }
    }

    #[test]
    fn the_http_server_takes_every_watch_stream_and_room_besides_and_the_files_add_up() {
        let p = plan(&[]).unwrap();
        assert_eq!(p.http_limits.max_watchers, 10_000);
        assert_eq!(
            p.http_limits.max_connections,
            10_000 + HTTP_OTHER_CONNECTIONS
        );
        // 11,024 connections + 1,024 xDS streams + 64 health checks + 256.
        assert_eq!(p.open_files_needed(), 12_368);
        let few = plan(&[
            ("SIDECAR_MAX_WATCHERS", "3"),
            ("ENVOY_USE_GRPC_API", "false"),
        ]);
        let few = few.unwrap();
        assert_eq!(few.http_limits, HttpLimits::for_watchers(3));
        assert_eq!(few.open_files_needed(), 3 + 1024 + 64 + 256);
    }

    #[test]
    fn seeds_get_the_default_port_and_the_push_pull_interval_a_floor() {
        let p = plan(&[
            ("SIDECAR_SEEDS", "10.0.0.9"),
            ("SIDECAR_PUSH_PULL_INTERVAL", "1ms"),
        ]);
        let settings = p.unwrap().gossip.settings;
        assert_eq!(settings.seeds, ["10.0.0.9:7946"]);
        assert_eq!(settings.push_pull_interval, MIN_PUSH_PULL_INTERVAL);
    }

    #[test]
    fn seeds_get_the_default_port_unless_they_have_one() {
        assert_eq!(seed_address("10.0.0.1", 7946), "10.0.0.1:7946");
        assert_eq!(seed_address(" 10.0.0.1:8000 ", 7946), "10.0.0.1:8000");
        assert_eq!(seed_address("seed.example", 7946), "seed.example:7946");
        assert_eq!(seed_address("seed.example:81", 7946), "seed.example:81");
        assert_eq!(seed_address("::1", 7946), "[::1]:7946");
        assert_eq!(seed_address("[::1]:81", 7946), "[::1]:81");
    }
}
