//! The configuration sections and their defaults. The `Default` impls here are the one place
//! defaults live (docs/COMPATIBILITY.md §2); every layer (TOML file, environment, flags) only
//! overrides.
//!
//! Each field's doc names its environment variable, the bare Go fallback name in brackets
//! (`none` when there is no fallback) and its default. TOML keys are the field names, in the
//! section named like the struct field of [`super::Config`].
//!
//! Pure data: no I/O here.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration::serde_go;
use super::values::{
    DiscoveryMethod, LogFormat, LogLevel, discovery_list, empty_is_none, string_list,
};

/// `[sidecar]`: the daemon itself (gossip, HTTP, health checks, logging).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SidecarConfig {
    /// `SIDECAR_LOGGING_LEVEL` (`LOGGING_LEVEL`), default `info`; case-insensitive, empty = info.
    pub logging_level: LogLevel,
    /// `SIDECAR_LOGGING_FORMAT` (`LOGGING_FORMAT`), default text; `json` selects JSON lines.
    pub logging_format: LogFormat,
    /// `SIDECAR_DISCOVERY` (`DISCOVERY`), default `docker`; any of `docker`, `static`,
    /// `kubernetes_api`.
    #[serde(deserialize_with = "discovery_list")]
    pub discovery: Vec<DiscoveryMethod>,
    /// `SIDECAR_SEEDS` (`SEEDS`), default empty: seed hosts (`host` or `host:port`) to join.
    #[serde(deserialize_with = "string_list")]
    pub seeds: Vec<String>,
    /// `SIDECAR_CLUSTER_NAME` (`CLUSTER_NAME`), default `default`.
    pub cluster_name: String,
    /// `SIDECAR_BIND_PORT` (`BIND_PORT`), default 7946: gossip port (TCP+UDP), also
    /// advertised; 0 lets the OS pick (tests).
    pub bind_port: u16,
    /// `SIDECAR_ADVERTISE_IP` (`ADVERTISE_IP`), default unset: published IP override;
    /// empty = unset.
    #[serde(deserialize_with = "empty_is_none")]
    pub advertise_ip: Option<String>,
    /// `SIDECAR_EXCLUDE_IPS` (`EXCLUDE_IPS`), default `192.168.168.168`: never chosen as the
    /// published IP.
    #[serde(deserialize_with = "string_list")]
    pub exclude_ips: Vec<String>,
    /// `SIDECAR_STATS_ADDR` (`STATS_ADDR`), default unset: statsd `host:port` (UDP); empty =
    /// no metrics.
    #[serde(deserialize_with = "empty_is_none")]
    pub stats_addr: Option<String>,
    /// `SIDECAR_PUSH_PULL_INTERVAL` (`PUSH_PULL_INTERVAL`), default `20s`; `0` is replaced by
    /// 79s when loading.
    #[serde(with = "serde_go")]
    pub push_pull_interval: Duration,
    /// `SIDECAR_GOSSIP_MESSAGES` (`GOSSIP_MESSAGES`), default 15; `0` is replaced by 3 when
    /// loading.
    pub gossip_messages: u32,
    /// `SIDECAR_GOSSIP_INTERVAL` (`GOSSIP_INTERVAL`), default `200ms`.
    #[serde(with = "serde_go")]
    pub gossip_interval: Duration,
    /// `SIDECAR_HANDOFF_QUEUE_DEPTH` (`HANDOFF_QUEUE_DEPTH`), default 1024.
    pub handoff_queue_depth: u32,
    /// `SIDECAR_DEFAULT_CHECK_ENDPOINT` (`DEFAULT_CHECK_ENDPOINT`), default `/version`: path
    /// of the default HTTP health check.
    pub default_check_endpoint: String,
    /// `SIDECAR_DEBUG` (`DEBUG`), default false: dump members and state at debug level.
    pub debug: bool,
    /// `SIDECAR_DISCOVERY_SLEEP_INTERVAL` (`DISCOVERY_SLEEP_INTERVAL`), default `1s`; has no
    /// effect (kept for compatibility, docs/COMPATIBILITY.md §13.2).
    #[serde(with = "serde_go")]
    pub discovery_sleep_interval: Duration,
    /// `SIDECAR_HOSTNAME` (none), default unset = the OS hostname; see
    /// [`super::Config::hostname`].
    #[serde(deserialize_with = "empty_is_none")]
    pub hostname: Option<String>,
    /// `SIDECAR_BIND_IP` (none), default `0.0.0.0`: address the gossip sockets bind.
    pub bind_ip: String,
    /// `SIDECAR_HTTP_BIND_IP` (none), default `0.0.0.0`: address the HTTP API binds.
    pub http_bind_ip: String,
    /// `SIDECAR_HTTP_PORT` (none), default 7777: HTTP API port; 0 lets the OS pick (tests).
    pub http_port: u16,
    /// `SIDECAR_HEALTH_CONCURRENCY` (none), default 64: most health checks running at once.
    pub health_concurrency: usize,
    /// `SIDECAR_MAX_WATCHERS` (none), default 10000: most `/api/watch` streams open at once;
    /// one more is answered 503. At least 1.
    pub max_watchers: usize,
    /// `SIDECAR_HEALTH_INTERVAL` (none), default `3s`: how often each check runs.
    #[serde(with = "serde_go")]
    pub health_interval: Duration,
    /// `SIDECAR_HEALTH_TIMEOUT` (none), default `2.999s`: a check slower than this is
    /// UNKNOWN; must be shorter than `health_interval`.
    #[serde(with = "serde_go")]
    pub health_timeout: Duration,
    /// `SIDECAR_HEALTH_RISE` (none), default 1: healthy results in a row before a service that
    /// is not ALIVE is ALIVE again (HAProxy's `rise`; 1 = Go's rule).
    pub health_rise: usize,
    /// `SIDECAR_HEALTH_FALL` (none), default 1: failed results in a row before an ALIVE
    /// service stops being ALIVE (HAProxy's `fall`; 1 = Go's rule).
    pub health_fall: usize,
    /// `SIDECAR_ADMIN_TOKEN` (none), default unset: secret required by admin endpoints;
    /// empty = unset. Never logged.
    #[serde(deserialize_with = "empty_is_none")]
    pub admin_token: Option<String>,
    /// `SIDECAR_MAX_RESTARTS` (none), default 5: a subsystem failing more often than this
    /// within `restart_window` stops the process (exit code 1).
    pub max_restarts: u32,
    /// `SIDECAR_RESTART_WINDOW` (none), default `1m0s`: the window for `max_restarts`.
    #[serde(with = "serde_go")]
    pub restart_window: Duration,
    /// `SIDECAR_GOSSIP_KEYS` (none), default empty = no encryption: comma list of base64
    /// keys of 16, 24 or 32 bytes (each stretched by HKDF into an XChaCha20-Poly1305 key;
    /// docs/PROTOCOL.md §7). The first encrypts, all decrypt (rotation without
    /// downtime); with keys, plaintext gossip is refused. Never logged.
    #[serde(deserialize_with = "string_list")]
    pub gossip_keys: Vec<String>,
    /// `SIDECAR_MAX_CLOCK_SKEW` (none), default `5m0s`: how far ahead of this node's clock a
    /// record's version may be; later ones are refused as from the future. Clocks of the
    /// cluster must agree within this. Must be longer than zero.
    #[serde(with = "serde_go")]
    pub max_clock_skew: Duration,
}

impl Default for SidecarConfig {
    fn default() -> Self {
        Self {
            logging_level: LogLevel::Info,
            logging_format: LogFormat::Text,
            discovery: vec![DiscoveryMethod::Docker],
            seeds: Vec::new(),
            cluster_name: "default".to_owned(),
            bind_port: 7946,
            advertise_ip: None,
            exclude_ips: vec!["192.168.168.168".to_owned()],
            stats_addr: None,
            push_pull_interval: Duration::from_secs(20),
            gossip_messages: 15,
            gossip_interval: Duration::from_millis(200),
            handoff_queue_depth: 1024,
            default_check_endpoint: "/version".to_owned(),
            debug: false,
            discovery_sleep_interval: Duration::from_secs(1),
            hostname: None,
            bind_ip: "0.0.0.0".to_owned(),
            http_bind_ip: "0.0.0.0".to_owned(),
            http_port: 7777,
            health_concurrency: 64,
            max_watchers: 10_000,
            health_interval: Duration::from_secs(3),
            health_timeout: Duration::from_millis(2999),
            health_rise: 1,
            health_fall: 1,
            admin_token: None,
            max_restarts: 5,
            restart_window: Duration::from_secs(60),
            gossip_keys: Vec::new(),
            max_clock_skew: Duration::from_secs(300),
        }
    }
}

/// `[docker]`: Docker discovery. Which engine is used is decided by
/// [`DockerConfig::endpoint`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DockerConfig {
    /// `DOCKER_URL` (`URL`), default unset. Set: that engine. Unset or empty: Docker's own
    /// variables, `DOCKER_HOST` (default `unix:///var/run/docker.sock`) and
    /// `DOCKER_TLS_VERIFY`.
    #[serde(deserialize_with = "empty_is_none")]
    pub url: Option<String>,
    /// `DOCKER_HOST` (none), default unset: the engine when `DOCKER_URL` is unset or empty.
    #[serde(deserialize_with = "empty_is_none")]
    pub host: Option<String>,
    /// `DOCKER_TLS_VERIFY` (none), default unset: any non-empty value asks for TLS, as the
    /// docker CLI reads it. TLS is not supported in this build: start-up fails.
    #[serde(deserialize_with = "empty_is_none")]
    pub tls_verify: Option<String>,
    /// `DOCKER_CERT_PATH` (none), default unset: the TLS certificates' directory.
    #[serde(deserialize_with = "empty_is_none")]
    pub cert_path: Option<String>,
}

/// `[static_discovery]`: services listed in a JSON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StaticConfig {
    /// `STATIC_CONFIG_FILE` (`CONFIG_FILE`), default `static.json`.
    pub config_file: PathBuf,
    /// `STATIC_RELOAD_INTERVAL` (none), default `1s`: how often the file is re-read.
    #[serde(with = "serde_go")]
    pub reload_interval: Duration,
}

impl Default for StaticConfig {
    fn default() -> Self {
        Self {
            config_file: PathBuf::from("static.json"),
            reload_interval: Duration::from_secs(1),
        }
    }
}

/// `[services]`: how Docker containers are named as services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServicesConfig {
    /// `SERVICES_NAMER` (`NAMER`), default `docker_label`; or `regex`.
    pub namer: String,
    /// `SERVICES_NAME_MATCH` (`NAME_MATCH`), default empty: the regex of the `regex` namer.
    pub name_match: String,
    /// `SERVICES_NAME_LABEL` (`NAME_LABEL`), default `ServiceName`: the label of the
    /// `docker_label` namer.
    pub name_label: String,
}

impl Default for ServicesConfig {
    fn default() -> Self {
        Self {
            namer: "docker_label".to_owned(),
            name_match: String::new(),
            name_label: "ServiceName".to_owned(),
        }
    }
}

/// `[listeners]`: static event listeners.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenersConfig {
    /// `LISTENERS_URLS` (`URLS`), default empty: URLs that receive every state change.
    #[serde(deserialize_with = "string_list")]
    pub urls: Vec<String>,
}

/// `[haproxy]`: the managed HAProxy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HaproxyConfig {
    /// `HAPROXY_DISABLE` (`DISABLE`), default false.
    pub disable: bool,
    /// `HAPROXY_RELOAD_COMMAND` (`RELOAD_COMMAND`), default unset = derived
    /// (docs/COMPATIBILITY.md §17).
    #[serde(deserialize_with = "empty_is_none")]
    pub reload_command: Option<String>,
    /// `HAPROXY_VERIFY_COMMAND` (`VERIFY_COMMAND`), default unset = derived
    /// (docs/COMPATIBILITY.md §17).
    #[serde(deserialize_with = "empty_is_none")]
    pub verify_command: Option<String>,
    /// `HAPROXY_BIND_IP` (`BIND_IP`), default `192.168.168.168`; also used by the Envoy v1 API.
    pub bind_ip: String,
    /// `HAPROXY_TEMPLATE_FILE` (`TEMPLATE_FILE`), default `views/haproxy.cfg`.
    pub template_file: PathBuf,
    /// `HAPROXY_CONFIG_FILE` (`CONFIG_FILE`), default `/etc/haproxy.cfg`.
    pub config_file: PathBuf,
    /// `HAPROXY_PID_FILE` (`PID_FILE`), default `/var/run/haproxy.pid`.
    pub pid_file: PathBuf,
    /// `HAPROXY_USER` (`USER`), default `haproxy`.
    pub user: String,
    /// `HAPROXY_GROUP` (`GROUP`), default empty.
    pub group: String,
    /// `HAPROXY_USE_HOSTNAMES` (`USE_HOSTNAMES`), default false; also used by the Envoy v1 API.
    pub use_hostnames: bool,
}

impl Default for HaproxyConfig {
    fn default() -> Self {
        Self {
            disable: false,
            reload_command: None,
            verify_command: None,
            bind_ip: "192.168.168.168".to_owned(),
            template_file: PathBuf::from("views/haproxy.cfg"),
            config_file: PathBuf::from("/etc/haproxy.cfg"),
            pid_file: PathBuf::from("/var/run/haproxy.pid"),
            user: "haproxy".to_owned(),
            group: String::new(),
            use_hostnames: false,
        }
    }
}

/// `[envoy]`: the Envoy xDS server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnvoyConfig {
    /// `ENVOY_USE_GRPC_API` (`USE_GRPC_API`), default true.
    pub use_grpc_api: bool,
    /// `ENVOY_BIND_IP` (`BIND_IP`), default `192.168.168.168`: address of Envoy's listeners.
    pub bind_ip: String,
    /// `ENVOY_USE_HOSTNAMES` (`USE_HOSTNAMES`), default false: endpoints use the hostname.
    pub use_hostnames: bool,
    /// `ENVOY_GRPC_PORT` (`GRPC_PORT`), default 7776.
    pub grpc_port: u16,
    /// `ENVOY_GRPC_BIND_IP` (none), default `0.0.0.0`: address the gRPC server binds.
    pub grpc_bind_ip: String,
}

impl Default for EnvoyConfig {
    fn default() -> Self {
        Self {
            use_grpc_api: true,
            bind_ip: "192.168.168.168".to_owned(),
            use_hostnames: false,
            grpc_port: 7776,
            grpc_bind_ip: "0.0.0.0".to_owned(),
        }
    }
}

/// `[k8s]`: Kubernetes API discovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct K8sConfig {
    /// `K8S_KUBE_API_IP` (`KUBE_API_IP`), default `127.0.0.1`.
    pub kube_api_ip: String,
    /// `K8S_KUBE_API_PORT` (`KUBE_API_PORT`), default 8080; https iff 443.
    pub kube_api_port: u16,
    /// `K8S_NAMESPACE` (`NAMESPACE`), default `default`; unused (as in Go).
    pub namespace: String,
    /// `K8S_KUBE_TIMEOUT` (`KUBE_TIMEOUT`), default `3s`.
    #[serde(with = "serde_go")]
    pub kube_timeout: Duration,
    /// `K8S_CREDS_PATH` (`CREDS_PATH`), default `/var/run/secrets/kubernetes.io/serviceaccount`.
    pub creds_path: PathBuf,
    /// `K8S_ANNOUNCE_ALL_NODES` (`ANNOUNCE_ALL_NODES`), default false.
    pub announce_all_nodes: bool,
}

impl Default for K8sConfig {
    fn default() -> Self {
        Self {
            kube_api_ip: "127.0.0.1".to_owned(),
            kube_api_port: 8080,
            namespace: "default".to_owned(),
            kube_timeout: Duration::from_secs(3),
            creds_path: PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount"),
            announce_all_nodes: false,
        }
    }
}
