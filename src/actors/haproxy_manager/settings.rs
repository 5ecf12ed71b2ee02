//! [`HaproxySettings`]: what the manager does. Built from the `HAPROXY_*` settings by the
//! node's plan (`config/plan.rs`), where its timings are.

use std::path::PathBuf;
use std::time::Duration;

use super::HaproxyControl;
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
