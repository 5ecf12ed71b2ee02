//! HaproxyManager: keeps the local HAProxy routing to the ALIVE instances of every service
//! (README, "HAProxy").
//!
//! Does: follow the StateKeeper's [`StateChanged`], coalesce a burst of changes (a change
//! after a quiet spell is applied at once; those that follow within `debounce` of an
//! application start are applied together once it is over), build the [`ProxyModel`], and apply what the pure
//! [`plan`] decides: nothing when the routing is unchanged, runtime-API commands when only
//! servers of known backends change, else render → verify → replace → reload. Report its
//! counts to the supervisor (the admin API's `details`).
//! Does not: stop the node when HAProxy is missing or refuses a configuration. A failure
//! keeps the previous file and the running HAProxy, is logged and counted, and is retried
//! at the next change (or after `retry_interval`). Applications never overlap.

mod apply;
mod process;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use slog::{Logger, info, o, warn};
use tokio::time::Instant;

pub use self::apply::HaproxyControl;
use self::apply::{Outcome, execute};
use crate::catalog::Snapshot;
use crate::clock::SharedClock;
use crate::haproxy::{Plan, ProxyModel, ProxySettings, Renderer, Running, plan};
use crate::messages::supervisor::ReportSubsystemDetails;
use crate::messages::{GetHaproxyStatus, HaproxyStatus, StateChanged, Subscribe};
use crate::supervisor::Link;

/// The supervisor's name for this subsystem.
pub const SUBSYSTEM: &str = "haproxy_manager";

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
}

/// The actor. See the [module docs](self).
pub struct HaproxyManager {
    settings: HaproxySettings,
    control: Arc<HaproxyControl>,
    builtin: Option<Renderer>,
    state_keeper: Link<Subscribe>,
    supervisor: Option<Recipient<ReportSubsystemDetails>>,
    clock: SharedClock,
    latest: Option<Arc<Snapshot>>,
    /// The snapshot changed since the last application started.
    pending: bool,
    /// The next application, and whether it is a retry after a failure.
    scheduled: Option<(SpawnHandle, bool)>,
    busy: bool,
    last_started: Option<Instant>,
    running: Option<Running>,
    /// The last applied render of a user's template with an empty `now` (its "routing").
    fingerprint: Option<String>,
    status: HaproxyStatus,
    log: Logger,
}

impl HaproxyManager {
    /// A manager that subscribes to `state_keeper` once started and reports its counts to
    /// `supervisor`.
    pub fn new(
        settings: HaproxySettings,
        state_keeper: Link<Subscribe>,
        supervisor: Option<Recipient<ReportSubsystemDetails>>,
        clock: SharedClock,
        log: &Logger,
    ) -> HaproxyManager {
        HaproxyManager {
            control: Arc::new(settings.control.clone()),
            settings,
            builtin: None,
            state_keeper,
            supervisor,
            clock,
            latest: None,
            pending: false,
            scheduled: None,
            busy: false,
            last_started: None,
            running: None,
            fingerprint: None,
            status: HaproxyStatus::default(),
            log: log.new(o!("actor" => SUBSYSTEM)),
        }
    }

    /// The wait before applying a change: none after a quiet spell, else until `debounce`
    /// after the last application started.
    fn debounce_delay(&self) -> Duration {
        let due = self.last_started.map(|t| t + self.settings.debounce);
        due.map_or(Duration::ZERO, |due| {
            due.saturating_duration_since(Instant::now())
        })
    }

    /// Applies the latest snapshot after `delay`, unless an application is already due.
    fn schedule(&mut self, delay: Duration, retry: bool, ctx: &mut Context<Self>) {
        if self.scheduled.is_some() || self.busy {
            return;
        }
        let handle = ctx.run_later(delay, |act, ctx| {
            act.scheduled = None;
            act.apply_latest(ctx);
        });
        self.scheduled = Some((handle, retry));
    }

    /// The renderer: the built-in template, or the user's read again now.
    fn renderer(&mut self) -> Result<Renderer, String> {
        let Some(path) = &self.settings.template_file else {
            if let Some(builtin) = &self.builtin {
                return Ok(builtin.clone());
            }
            let builtin = Renderer::builtin().map_err(|e| e.to_string())?;
            self.builtin = Some(builtin.clone());
            return Ok(builtin);
        };
        let source = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the template {}: {e}", path.display()))?;
        Renderer::from_source(&source).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Whether the template is the built-in one, the configuration, and (for a user's
    /// template) its render without the time, which changes only when the routing does.
    fn render(&mut self, model: &ProxyModel) -> Result<(bool, String, Option<String>), String> {
        let renderer = self.renderer()?;
        let now = self.clock.now().go_string();
        let text = renderer.render(model, &now).map_err(|e| e.to_string())?;
        let fingerprint = match renderer.is_builtin() {
            true => None,
            false => Some(renderer.render(model, "").map_err(|e| e.to_string())?),
        };
        Ok((renderer.is_builtin(), text, fingerprint))
    }

    fn apply_latest(&mut self, ctx: &mut Context<Self>) {
        let Some(snapshot) = self.latest.clone() else {
            return;
        };
        self.pending = false;
        self.last_started = Some(Instant::now());
        let model = ProxyModel::build(snapshot.state(), &self.settings.proxy);
        for rejected in &model.rejected {
            warn!(self.log, "Service not added: non-matching ports";
                "service" => &rejected.service, "host" => &rejected.hostname,
                "expected" => ?rejected.expected, "found" => ?rejected.found);
        }
        let (builtin, text, fingerprint) = match self.render(&model) {
            Ok(rendered) => rendered,
            Err(e) => return self.failed(e, ctx),
        };
        let unchanged_user = fingerprint.is_some() && fingerprint == self.fingerprint;
        let decided = if unchanged_user {
            Plan::Nothing
        } else {
            plan(self.running.as_ref(), &model, builtin)
        };
        if decided == Plan::Nothing {
            self.status.unchanged += 1;
            self.report();
            return;
        }
        self.busy = true;
        let control = Arc::clone(&self.control);
        let job = async move { execute(&control, decided, text).await };
        ctx.spawn(job.into_actor(self).map(move |outcome, act, ctx| {
            act.busy = false;
            act.finished(outcome, model, fingerprint, ctx);
        }));
    }

    fn finished(
        &mut self,
        outcome: Result<Outcome, String>,
        model: ProxyModel,
        fingerprint: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        match outcome {
            Ok(Outcome::Reloaded) => {
                info!(self.log, "HAProxy reloaded"; "frontends" => model.frontends().count());
                self.status.reloads += 1;
                self.running = Some(Running::reloaded(model));
                self.succeeded(fingerprint);
            }
            Ok(Outcome::Runtime {
                sent,
                not_deleted,
                file_error,
            }) => {
                info!(self.log, "HAProxy servers updated through the runtime API";
                    "commands" => sent, "parked" => not_deleted.len());
                self.status.runtime_updates += 1;
                self.status.runtime_commands += sent as u64;
                self.running = Some(Running::after_runtime(model, &not_deleted));
                self.succeeded(fingerprint);
                if let Some(err) = file_error {
                    warn!(self.log, "Cannot rewrite the HAProxy configuration file"; "error" => &err);
                    self.status.last_error = Some(err);
                }
            }
            Err(err) => return self.failed(err, ctx),
        }
        self.report();
        if self.pending {
            self.schedule(self.debounce_delay(), false, ctx);
        }
    }

    fn succeeded(&mut self, fingerprint: Option<String>) {
        self.fingerprint = fingerprint;
        self.status.last_error = None;
    }

    /// Keeps what runs, says why, and tries again at the next change or after a while.
    fn failed(&mut self, error: String, ctx: &mut Context<Self>) {
        warn!(self.log, "HAProxy not updated, keeping the previous configuration";
            "error" => &error);
        self.status.failures += 1;
        self.status.last_error = Some(error);
        self.report();
        self.pending = true;
        if self.latest.is_some() {
            self.schedule(self.settings.retry_interval, true, ctx);
        }
    }

    fn report(&self) {
        let Some(supervisor) = &self.supervisor else {
            return;
        };
        if let Ok(details) = serde_json::to_value(&self.status) {
            supervisor.do_send(ReportSubsystemDetails {
                name: SUBSYSTEM.to_owned(),
                details,
            });
        }
    }
}

impl Actor for HaproxyManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1024);
        self.report();
        self.state_keeper
            .do_send(Subscribe(ctx.address().recipient()));
    }
}

impl Handler<StateChanged> for HaproxyManager {
    type Result = ();

    fn handle(&mut self, msg: StateChanged, ctx: &mut Context<Self>) {
        self.latest = Some(msg.snapshot);
        self.pending = true;
        if let Some((handle, true)) = self.scheduled {
            // A retry after a failure is far away: a change is a reason to try sooner.
            ctx.cancel_future(handle);
            self.scheduled = None;
        }
        self.schedule(self.debounce_delay(), false, ctx);
    }
}

impl Handler<GetHaproxyStatus> for HaproxyManager {
    type Result = MessageResult<GetHaproxyStatus>;

    fn handle(&mut self, _: GetHaproxyStatus, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.status.clone())
    }
}

crate::supervised_actor!(HaproxyManager);

#[cfg(test)]
mod tests;
