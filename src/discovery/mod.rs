//! Discovery: pure mapping from what a watcher observes (a static file, Docker containers) to
//! service records with their health-check and listener definitions.
//!
//! Pure: no I/O here; the watchers in [`crate::actors`] read files and talk to Docker.

pub mod docker;
pub mod namer;
pub mod static_file;

use crate::catalog::Service;

/// Where a local service was discovered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DiscoverySource {
    /// The static JSON file (`STATIC_CONFIG_FILE`).
    Static,
    /// The Docker engine.
    Docker,
}

/// How a discovered service asks to be health-checked, before templating
/// (docs/COMPATIBILITY.md §11).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckDefinition {
    /// `HttpGet`, `External`, `AlwaysSuccessful`; anything else means `HttpGet`.
    pub kind: String,
    /// The argument template, e.g. `http://{{ host }}:{{ tcp 8080 }}/health`.
    pub args: String,
}

/// A URL that wants change events POSTed to it (docs/COMPATIBILITY.md §12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerDefinition {
    /// `Service(<Name>-<ID>)`.
    pub name: String,
    /// `http://<host>:<port>/sidecar/update`.
    pub url: String,
}

/// One service seen on this host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovered {
    /// The record (`Status` and `Updated` are filled in later by health and the catalogue).
    pub service: Service,
    /// Its explicit check; `None` means the default check (docs/COMPATIBILITY.md §11).
    pub check: Option<CheckDefinition>,
    /// Its event listener, if it asked for one.
    pub listener: Option<ListenerDefinition>,
}
