//! [`HaproxySettings`]: what the manager does, from the `HAPROXY_*` settings.

use std::path::PathBuf;
use std::time::Duration;

use super::HaproxyControl;
use crate::config::HaproxyConfig;
use crate::haproxy::ProxySettings;

/// How HAProxy is managed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaproxySettings {
    /// What the configuration routes and how it is rendered.
    pub proxy: ProxySettings,
    /// A user's tera template (`HAPROXY_TEMPLATE_FILE`), re-read at every change; `None`
    /// for the built-in one.
    pub template_file: Option<PathBuf>,
    /// Files and commands.
    pub control: HaproxyControl,
    /// The least time between the starts of two applications: changes arriving within it
    /// are gathered into one.
    pub debounce: Duration,
    /// When a failed application is tried again if no change comes first.
    pub retry_interval: Duration,
    /// How often the master (of the default reload) is asked whether it still runs; one that
    /// does not answer is started again with the current configuration.
    pub liveness_interval: Duration,
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
                timeout: Duration::from_secs(10),
            },
            debounce: Duration::from_millis(50),
            retry_interval: Duration::from_secs(10),
            liveness_interval: Duration::from_secs(5),
        }
    }
}
