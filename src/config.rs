//! Configuration: Go Sidecar's environment variables (docs/COMPATIBILITY.md §2–§3), an optional
//! TOML file and the command-line flags, merged into one [`Config`].
//!
//! Layers, lowest first: the `Default` impls < the TOML file (`--config` or
//! `SIDECAR_CONFIG_FILE`) < the environment < the flags that were given. [`load`] parses and
//! validates everything up front: a bad value is an error naming the variable (or TOML key)
//! and its text, never a silently substituted default.
//!
//! Must not: read the process environment itself (callers pass the map), log, or touch the
//! network beyond listing interfaces in [`Config::published_ip`].

mod cli;
mod docker;
mod duration;
mod env_table;
pub mod plan;
mod published_ip;
mod sections;
mod sources;
#[cfg(test)]
mod tests;
mod values;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use figment::Figment;
use figment::providers::Serialized;
use serde::{Deserialize, Serialize};

use crate::gossip::crypto::KeyRing;

pub use cli::Cli;
pub use docker::{DEFAULT_DOCKER_HOST, NO_TLS};
pub use duration::{DurationError, format_go_duration, parse_go_duration, serde_go};
pub use env_table::{CONFIG_FILE_VAR, ENV_VARS, EnvKind, EnvVar};
pub use plan::{GossipPlan, NodePlan};
pub use published_ip::{choose_published_ip, interface_ips};
pub use sections::{
    DockerConfig, EnvoyConfig, HaproxyConfig, K8sConfig, ListenersConfig, ServicesConfig,
    SidecarConfig, StaticConfig,
};
pub use sources::{Layer, env_layer, toml_layer};
pub use values::{DiscoveryMethod, LogFormat, LogLevel, parse_discovery, split_list};

/// Why the configuration could not be loaded. Every variant stops the daemon at start
/// (exit code 2); none has touched any state.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An environment variable or flag has an unusable value. `var` is the name that was
    /// actually read (`BIND_PORT` when the bare fallback supplied it).
    #[error("invalid {var}={value:?}: {reason}")]
    Invalid {
        /// Variable or flag name, e.g. `SIDECAR_BIND_PORT` or `--logging-level`.
        var: String,
        /// The text as given.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A value in the TOML file (or an unknown key there) cannot be used.
    #[error("invalid {key} in {origin}: {reason}")]
    Value {
        /// The dotted key, e.g. `sidecar.bind_port`.
        key: String,
        /// The layer that supplied it, e.g. `TOML file /etc/sidecar.toml`.
        origin: String,
        /// What was wrong.
        reason: String,
    },
    /// The TOML file cannot be read or is not valid TOML.
    #[error("can't load config file {}: {message}", path.display())]
    File {
        /// The file as named by `--config` or `SIDECAR_CONFIG_FILE`.
        path: PathBuf,
        /// The I/O or syntax error.
        message: String,
    },
    /// The command line cannot be parsed, or `--help`/`--version` was asked for: `main`
    /// should call [`clap::Error::exit`], which prints clap's text and exits 2 (0 for help).
    #[error(transparent)]
    Cli(#[from] clap::Error),
    /// No interface has a private, non-excluded IPv4 address and none was advertised.
    #[error("failed to find private IP address (can't find address!)")]
    NoPrivateIp,
    /// The network interfaces cannot be listed.
    #[error("can't list network interfaces: {0}")]
    Interfaces(#[source] std::io::Error),
}

impl ConfigError {
    /// Turns figment's extraction error into the one naming the key and the layer.
    fn from_figment(error: figment::Error) -> Self {
        let reason = match &error.kind {
            figment::error::Kind::UnknownField(_, expected) => {
                format!("unknown key (expected one of {})", expected.join(", "))
            }
            kind => kind.to_string(),
        };
        Self::Value {
            key: error.path.join("."),
            origin: error
                .metadata
                .map_or_else(|| "configuration".to_owned(), |m| m.name.into()),
            reason,
        }
    }
}

/// The whole configuration; see each section for its fields, variables and defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[sidecar]`, variables `SIDECAR_*`.
    pub sidecar: SidecarConfig,
    /// `[docker]`, variable `DOCKER_URL`.
    pub docker: DockerConfig,
    /// `[static_discovery]`, variables `STATIC_*`.
    pub static_discovery: StaticConfig,
    /// `[services]`, variables `SERVICES_*`.
    pub services: ServicesConfig,
    /// `[listeners]`, variable `LISTENERS_URLS`.
    pub listeners: ListenersConfig,
    /// `[haproxy]`, variables `HAPROXY_*`.
    pub haproxy: HaproxyConfig,
    /// `[envoy]`, variables `ENVOY_*`.
    pub envoy: EnvoyConfig,
    /// `[k8s]`, variables `K8S_*`.
    pub k8s: K8sConfig,
}

/// Push/pull interval used when `SIDECAR_PUSH_PULL_INTERVAL` is 0 (Go: alive lifespan − 1 s).
pub const ZERO_PUSH_PULL_INTERVAL: Duration = Duration::from_secs(79);

/// Gossip messages used when `SIDECAR_GOSSIP_MESSAGES` is 0 (the memberlist default).
pub const ZERO_GOSSIP_MESSAGES: u32 = 3;

/// Loads the configuration: defaults < TOML file < `env` < `cli`, then validates it and
/// applies Go's zero-value substitutions (push/pull 0 → 79s, gossip messages 0 → 3).
///
/// `env` is the process environment in `main` (`std::env::vars().collect()`), a literal map
/// in tests.
pub fn load(cli: &Cli, env: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = config_file(cli, env) {
        figment = figment.merge(toml_layer(&path)?);
    }
    let figment = figment.merge(env_layer(env)?).merge(cli.layer()?);
    let mut config: Config = figment.extract().map_err(ConfigError::from_figment)?;
    config.validate()?;
    config.apply_zero_defaults();
    Ok(config)
}

/// The TOML file to read: `--config`, else a non-empty `SIDECAR_CONFIG_FILE`, else none.
fn config_file(cli: &Cli, env: &BTreeMap<String, String>) -> Option<PathBuf> {
    let from_env = env.get(CONFIG_FILE_VAR).filter(|path| !path.is_empty());
    cli.config.clone().or_else(|| from_env.map(PathBuf::from))
}

impl Config {
    /// Checks what the types alone cannot: a parseable advertise IP, a health timeout shorter
    /// than the interval, non-zero timer periods and concurrency. Values that become typed
    /// settings (addresses, the Docker endpoint and namer, listener URLs) are parsed once, by
    /// [`NodePlan::new`]. Errors name the environment variable of the offending field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_gossip_keys()?;
        let s = &self.sidecar;
        let invalid = |var: &str, value: String, reason: String| {
            Err(ConfigError::Invalid {
                var: var.to_owned(),
                value,
                reason,
            })
        };
        choose_published_ip(s.advertise_ip.as_deref(), &[], &[])?;
        if s.health_timeout >= s.health_interval {
            let reason = format!(
                "must be shorter than SIDECAR_HEALTH_INTERVAL ({})",
                format_go_duration(s.health_interval)
            );
            return invalid(
                "SIDECAR_HEALTH_TIMEOUT",
                format_go_duration(s.health_timeout),
                reason,
            );
        }
        let counts = [
            ("SIDECAR_HEALTH_CONCURRENCY", s.health_concurrency),
            ("SIDECAR_MAX_WATCHERS", s.max_watchers),
        ];
        if let Some((var, _)) = counts.iter().find(|(_, count)| *count == 0) {
            return invalid(var, "0".into(), "must be at least 1".into());
        }
        let periods = [
            ("SIDECAR_GOSSIP_INTERVAL", s.gossip_interval),
            ("SIDECAR_MAX_CLOCK_SKEW", s.max_clock_skew),
            (
                "STATIC_RELOAD_INTERVAL",
                self.static_discovery.reload_interval,
            ),
        ];
        if let Some((var, _)) = periods.iter().find(|(_, period)| period.is_zero()) {
            return invalid(var, "0s".into(), "must be longer than zero".into());
        }
        Ok(())
    }

    /// Checks `SIDECAR_GOSSIP_KEYS`; the error never shows the keys.
    fn validate_gossip_keys(&self) -> Result<(), ConfigError> {
        match KeyRing::from_base64(&self.sidecar.gossip_keys) {
            Ok(_) => Ok(()),
            Err(error) => Err(ConfigError::Invalid {
                var: "SIDECAR_GOSSIP_KEYS".to_owned(),
                value: "<redacted>".to_owned(),
                reason: error.to_string(),
            }),
        }
    }

    /// Go's zero-value rules: push/pull interval 0 → 79s, gossip messages 0 → 3.
    fn apply_zero_defaults(&mut self) {
        if self.sidecar.push_pull_interval.is_zero() {
            self.sidecar.push_pull_interval = ZERO_PUSH_PULL_INTERVAL;
        }
        if self.sidecar.gossip_messages == 0 {
            self.sidecar.gossip_messages = ZERO_GOSSIP_MESSAGES;
        }
    }

    /// The hostname this node publishes: `SIDECAR_HOSTNAME` if set, else the OS hostname.
    pub fn hostname(&self) -> String {
        self.sidecar
            .hostname
            .clone()
            .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned())
    }

    /// The published IP (docs/COMPATIBILITY.md §2): the advertise IP, else the first private IPv4
    /// of the interfaces that is not excluded.
    pub fn published_ip(&self) -> Result<IpAddr, ConfigError> {
        let s = &self.sidecar;
        let advertise = s.advertise_ip.as_deref();
        let candidates = if advertise.is_some() {
            Vec::new()
        } else {
            interface_ips()?
        };
        choose_published_ip(advertise, &s.exclude_ips, &candidates)?.ok_or(ConfigError::NoPrivateIp)
    }

    /// The effective configuration as `section.field = value` lines, for the start-up log.
    /// Durations are in Go syntax, unset options show `<unset>`, the admin token only
    /// shows `<set>`/`<unset>` and the gossip keys only their count.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let Ok(serde_json::Value::Object(sections)) = serde_json::to_value(self) else {
            return lines;
        };
        for (section, fields) in sections_in_order(&sections) {
            for (field, value) in fields {
                let shown = match (section, field.as_str(), value) {
                    ("sidecar", "admin_token", serde_json::Value::Null) => "<unset>".to_owned(),
                    ("sidecar", "admin_token", _) => "<set>".to_owned(),
                    ("sidecar", "gossip_keys", serde_json::Value::Array(keys)) => {
                        format!("<{} keys>", keys.len())
                    }
                    ("sidecar", "gossip_keys", _) => "<redacted>".to_owned(),
                    (_, _, value) => describe_value(value),
                };
                lines.push(format!("{section}.{field} = {shown}"));
            }
        }
        lines
    }
}

/// The sections of a serialised [`Config`] in declaration order, each with its fields.
fn sections_in_order(
    sections: &serde_json::Map<String, serde_json::Value>,
) -> Vec<(&'static str, &serde_json::Map<String, serde_json::Value>)> {
    let order = [
        "sidecar",
        "docker",
        "static_discovery",
        "services",
        "listeners",
        "haproxy",
        "envoy",
        "k8s",
    ];
    order
        .into_iter()
        .filter_map(|name| match sections.get(name) {
            Some(serde_json::Value::Object(fields)) => Some((name, fields)),
            _ => None,
        })
        .collect()
}

/// One value as shown by [`Config::describe`]: strings bare, lists as `[a, b]`.
fn describe_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "<unset>".to_owned(),
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(describe_value).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}
