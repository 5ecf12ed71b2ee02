//! Decides how to bring the running HAProxy from what it routes now to a new
//! [`ProxyModel`]: nothing, a few commands on the runtime API, or a reload.
//!
//! A reload is needed only when the frontends change (a service or ServicePort appears or
//! goes, a mode or a setting changes), or when the runtime API cannot express the change (a
//! user's template, whose server names are unknown; addresses by host name; a server whose
//! address moved). Instances moving in or out of existing backends (a health flap, a new
//! instance of a known service, a drain) become runtime commands: `add server` + `set server
//! ... state ready` for a new one, `set server ... state maint` + `del server` for one that
//! left. A server that cannot be deleted yet (connections still open) stays *parked* in
//! maintenance until a later change deletes it, or brings it back with `state ready`.
//!
//! Pure: no I/O; the caller sends the commands and reports which deletions failed.

use std::collections::BTreeMap;

use super::model::{BackendServer, Frontend, ProxyModel};

/// What the running HAProxy routes, as this manager last applied it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Running {
    /// The model it was brought to (by a reload, then by runtime commands).
    pub model: ProxyModel,
    /// Servers in maintenance that are no longer in `model`, by `(backend, server)`, with
    /// their address: still known to HAProxy, routed nothing.
    pub parked: BTreeMap<(String, String), String>,
}

impl Running {
    /// HAProxy was (re)started on the configuration of `model`.
    pub fn reloaded(model: ProxyModel) -> Running {
        Running {
            model,
            parked: BTreeMap::new(),
        }
    }

    /// The runtime commands brought HAProxy to `model`, except for the deletions in
    /// `not_deleted` (still parked).
    pub fn after_runtime(model: ProxyModel, not_deleted: &[RuntimeCommand]) -> Running {
        let parked = not_deleted
            .iter()
            .filter_map(|c| match c {
                RuntimeCommand::DelServer {
                    backend,
                    server,
                    address,
                } => Some(((backend.clone(), server.clone()), address.clone())),
                _ => None,
            })
            .collect();
        Running { model, parked }
    }
}

/// One command on HAProxy's runtime API (the admin stats socket).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeCommand {
    /// `add server <backend>/<server> <address>`: a dynamic server, created in maintenance.
    AddServer {
        /// The backend.
        backend: String,
        /// The server's name.
        server: String,
        /// `ip:port`.
        address: String,
    },
    /// `set server <backend>/<server> state ready`: route to it.
    SetReady {
        /// The backend.
        backend: String,
        /// The server's name.
        server: String,
    },
    /// `set server <backend>/<server> state maint`: route nothing new to it.
    SetMaint {
        /// The backend.
        backend: String,
        /// The server's name.
        server: String,
    },
    /// `del server <backend>/<server>`: forget it (refused while it has connections).
    DelServer {
        /// The backend.
        backend: String,
        /// The server's name.
        server: String,
        /// Its address (kept while it stays parked).
        address: String,
    },
}

impl RuntimeCommand {
    /// The command line sent to the socket.
    pub fn line(&self) -> String {
        match self {
            RuntimeCommand::AddServer {
                backend,
                server,
                address,
            } => format!("add server {backend}/{server} {address}"),
            RuntimeCommand::SetReady { backend, server } => {
                format!("set server {backend}/{server} state ready")
            }
            RuntimeCommand::SetMaint { backend, server } => {
                format!("set server {backend}/{server} state maint")
            }
            RuntimeCommand::DelServer {
                backend, server, ..
            } => format!("del server {backend}/{server}"),
        }
    }

    /// Whether HAProxy's `reply` to this command says it was done.
    pub fn succeeded(&self, reply: &str) -> bool {
        let reply = reply.trim();
        match self {
            RuntimeCommand::AddServer { .. } => reply.starts_with("New server registered"),
            RuntimeCommand::DelServer { .. } => reply.starts_with("Server deleted"),
            RuntimeCommand::SetReady { .. } | RuntimeCommand::SetMaint { .. } => reply.is_empty(),
        }
    }

    /// Whether failing it is harmless: a deletion refused now leaves the server parked.
    pub fn may_fail(&self) -> bool {
        matches!(self, RuntimeCommand::DelServer { .. })
    }
}

/// How to apply a new model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// HAProxy already routes this.
    Nothing,
    /// The frontends are unchanged: these commands, in order, then rewrite the file.
    Runtime(Vec<RuntimeCommand>),
    /// Write the file and reload.
    Reload,
}

/// How to bring HAProxy from `running` (`None`: nothing applied yet) to `desired`.
/// `runtime_api`: whether the runtime API may be used (the built-in template's server names,
/// IP addresses).
pub fn plan(running: Option<&Running>, desired: &ProxyModel, runtime_api: bool) -> Plan {
    let Some(running) = running else {
        return Plan::Reload;
    };
    let current = &running.model;
    if current.settings == desired.settings && current.proxied == desired.proxied {
        return Plan::Nothing;
    }
    if !runtime_api || desired.settings.use_hostnames || !same_layout(current, desired) {
        return Plan::Reload;
    }
    let mut commands = Vec::new();
    for (old, new) in current.frontends().zip(desired.frontends()) {
        match backend_commands(&new.name, &old.servers, &new.servers, &running.parked) {
            Some(more) => commands.extend(more),
            None => return Plan::Reload,
        }
    }
    if commands.is_empty() {
        Plan::Nothing
    } else {
        Plan::Runtime(commands)
    }
}

/// Same settings and the same frontends (name, port, mode) in the same order.
fn same_layout(a: &ProxyModel, b: &ProxyModel) -> bool {
    let layout = |f: &Frontend| (f.name.clone(), f.service_port, f.mode.clone());
    a.settings == b.settings && a.frontends().map(layout).eq(b.frontends().map(layout))
}

/// The commands that turn backend `backend` from `old` (plus its parked servers) into
/// `new`; `None` when a server's address changed (a reload does it).
fn backend_commands(
    backend: &str,
    old: &[BackendServer],
    new: &[BackendServer],
    parked: &BTreeMap<(String, String), String>,
) -> Option<Vec<RuntimeCommand>> {
    let ids = |server: &str| (backend.to_owned(), server.to_owned());
    let (backend_s, mut commands) = (backend.to_owned(), Vec::new());
    for server in new {
        let name = server.name.clone();
        let address = server.address();
        if let Some(previous) = old.iter().find(|o| o.name == server.name) {
            if previous.address() != address {
                return None;
            }
            continue;
        }
        match parked.get(&ids(&server.name)) {
            Some(parked_at) if *parked_at != address => return None,
            Some(_) => {}
            None => commands.push(RuntimeCommand::AddServer {
                backend: backend_s.clone(),
                server: name.clone(),
                address,
            }),
        }
        commands.push(RuntimeCommand::SetReady {
            backend: backend_s.clone(),
            server: name,
        });
    }
    let gone = |name: &str| !new.iter().any(|n| n.name == name);
    for server in old.iter().filter(|o| gone(&o.name)) {
        commands.push(RuntimeCommand::SetMaint {
            backend: backend_s.clone(),
            server: server.name.clone(),
        });
        commands.push(RuntimeCommand::DelServer {
            backend: backend_s.clone(),
            server: server.name.clone(),
            address: server.address(),
        });
    }
    for ((_, server), address) in parked.iter().filter(|((b, s), _)| b == backend && gone(s)) {
        commands.push(RuntimeCommand::DelServer {
            backend: backend_s.clone(),
            server: server.clone(),
            address: address.clone(),
        });
    }
    Some(commands)
}
