//! HealthChecker: the pool that health-checks this host's services and tells the StateKeeper
//! their status (docs/COMPATIBILITY.md §11).
//!
//! Does: keep a [`Monitor`] in line with every [`ObservedLocalServices`], run each new check at
//! once and then every `interval` (off the actor, each under a timeout, at most `concurrency`
//! at a time, never two runs of one check at once), and send [`ApplyLocalServices`] on every
//! change and every `refresh_interval`. Does not: decide what a result means (that is
//! [`crate::health`]) or touch the catalogue.
//!
//! Memory and tasks are bounded by the number of checks: a check whose run has not finished
//! is not started again, so hanging targets only ever hold `concurrency` runs plus one waiting
//! task per check.

mod probe;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix::prelude::*;
use slog::{Logger, debug, error, info, o, warn};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use self::probe::{Gauges, Runner};
use crate::discovery::DiscoverySource;
use crate::health::{CheckId, CheckResult, CheckStatus, Monitor, MonitorSettings, Observation};
use crate::health::{StartupRecheck, Thresholds};
use crate::messages::{ApplyLocalServices, GetHealthStats, HealthStats, ObservedLocalServices};
use crate::metrics::NodeMetrics;
use crate::supervisor::Link;

/// How the pool runs checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthSettings {
    /// Time from the start of one run of a check to the start of the next (Go: 3 s).
    pub interval: Duration,
    /// A run not finished after this is abandoned as timed out (Go: 3 s − 1 ms).
    pub timeout: Duration,
    /// At most this many runs at once.
    pub concurrency: usize,
    /// How often the full service list is re-sent to the StateKeeper.
    pub refresh_interval: Duration,
    /// This node's published IP (`{{ host }}`, default checks).
    pub published_ip: String,
    /// Path of the default HTTP check (`SIDECAR_DEFAULT_CHECK_ENDPOINT`); empty means `/`.
    pub default_check_endpoint: String,
    /// The discovery sources that will report. Nothing is reported before all of them have
    /// (or `first_report_grace` has passed): a report missing a source's services would
    /// tombstone them.
    pub sources: BTreeSet<DiscoverySource>,
    /// How long to wait for a silent source (e.g. Docker unreachable) before reporting
    /// without it.
    pub first_report_grace: Duration,
    /// Results in a row that change an established status (`SIDECAR_HEALTH_RISE`,
    /// `SIDECAR_HEALTH_FALL`; default 1 and 1, as Go).
    pub thresholds: Thresholds,
    /// Quick re-checks of a new service whose first runs fail quickly, before it is shown
    /// UNHEALTHY (default: after 100 ms, doubling, within one interval).
    pub startup_recheck: Option<StartupRecheck>,
}

/// One run of a check has finished (internal).
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct CheckFinished {
    id: CheckId,
    started: Instant,
    result: CheckResult,
}

/// The next run of a check is due (internal).
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct RunDue(CheckId);

/// How long a change waits for others to join its report.
const REPORT_DELAY: Duration = Duration::from_millis(10);

/// The health-check pool. See the [module docs](self).
pub struct HealthChecker {
    settings: HealthSettings,
    monitor: Monitor,
    state: Link<ApplyLocalServices>,
    runner: Runner,
    /// The sources that reported so far. No report before the first (an empty one would
    /// tombstone every local record of a restarted pool), nor before all expected sources
    /// did, until the grace period is over (see [`HealthChecker::ready`]).
    heard: BTreeSet<DiscoverySource>,
    /// When this instance started (for the grace period).
    since: Instant,
    /// A coalesced report is already scheduled (see [`REPORT_DELAY`]).
    report_scheduled: bool,
    runs: u64,
    timeouts: u64,
    metrics: NodeMetrics,
    log: Logger,
}

impl HealthChecker {
    /// A pool with no checks that reports to `state`.
    pub fn new(
        settings: HealthSettings,
        state: Link<ApplyLocalServices>,
        log: &Logger,
    ) -> HealthChecker {
        let monitor = Monitor::new(MonitorSettings {
            published_ip: settings.published_ip.clone(),
            default_check_endpoint: settings.default_check_endpoint.clone(),
            thresholds: settings.thresholds,
            startup_recheck: settings.startup_recheck,
        });
        let runner = Runner {
            client: None,
            permits: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            gauges: Arc::new(Gauges::default()),
            timeout: settings.timeout,
        };
        HealthChecker {
            settings,
            monitor,
            state,
            runner,
            heard: BTreeSet::new(),
            since: Instant::now(),
            report_scheduled: false,
            runs: 0,
            timeouts: 0,
            metrics: NodeMetrics::default(),
            log: log.new(o!("actor" => "health_checker")),
        }
    }

    /// The same pool, counting its runs into the node's `metrics`.
    pub fn with_metrics(mut self, metrics: NodeMetrics) -> HealthChecker {
        self.metrics = metrics;
        self
    }

    /// Sends the StateKeeper every service with a result, and the ones still pending.
    /// Reports after [`REPORT_DELAY`], folding every change made until then into one report:
    /// when 200 checks finish at once, the StateKeeper gets one list, not 200 copies of it.
    fn report_soon(&mut self, ctx: &mut Context<Self>) {
        if !self.report_scheduled {
            self.report_scheduled = true;
            ctx.run_later(REPORT_DELAY, |act, _| {
                act.report_scheduled = false;
                act.report();
            });
        }
    }

    /// Whether a report would be complete: a source has reported, and every expected
    /// source has too or the grace period is over.
    fn ready(&self) -> bool {
        let all_heard = self.settings.sources.is_subset(&self.heard);
        let waited = self.since.elapsed() >= self.settings.first_report_grace;
        !self.heard.is_empty() && (all_heard || waited)
    }

    fn report(&self) {
        if !self.ready() {
            return;
        }
        let (services, pending) = self.monitor.report();
        self.state.do_send(ApplyLocalServices { services, pending });
    }

    /// Starts one run of check `id` on a task of its own, if the check still exists.
    fn start_run(&mut self, id: CheckId, ctx: &mut Context<Self>) {
        let Some(spec) = self.monitor.spec(&id).cloned() else {
            return;
        };
        let runner = self.runner.clone();
        let addr = ctx.address();
        let started = Instant::now();
        actix::spawn(async move {
            let result = runner.run(spec).await;
            addr.do_send(CheckFinished {
                id,
                started,
                result,
            });
        });
    }

    /// Logs what an observation changed.
    fn log_observation(&self, obs: &Observation) {
        for name in &obs.dropped_without_id {
            error!(self.log, "Dropping discovered service without an ID"; "service" => name);
        }
        for new in &obs.added {
            if new.is_default {
                info!(self.log, "Using default check"; "service" => &new.name, "id" => &new.id.key.id);
            }
            if let Some(err) = &new.template_error {
                error!(self.log, "Using raw check args"; "service" => &new.name, "error" => %err);
            }
            info!(self.log, "Adding health check"; "service" => &new.name,
                "id" => &new.id.key.id, "type" => new.spec.kind.as_str(), "args" => &new.spec.args);
        }
        for key in &obs.removed {
            info!(self.log, "Removing health check"; "id" => &key.id, "host" => &key.hostname);
        }
    }

    /// Logs one result: every failure at debug, status changes at info or warn.
    fn log_result(&self, msg: &CheckFinished, name: &str, after: CheckStatus, noteworthy: bool) {
        let id = &msg.id.key.id;
        let reason = msg.result.reason();
        if let Some(reason) = reason {
            debug!(self.log, "Check failed"; "service" => name, "id" => id, "error" => reason);
        }
        match (noteworthy, reason) {
            (false, _) => {}
            (true, None) => info!(self.log, "Service is healthy"; "service" => name, "id" => id),
            (true, Some(reason)) => warn!(self.log, "Service check failed";
                "service" => name, "id" => id, "status" => ?after, "error" => reason),
        }
    }
}

impl Actor for HealthChecker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        match probe::http_client(self.settings.timeout) {
            Ok(client) => self.runner.client = Some(client),
            Err(err) => error!(self.log, "Cannot build the HTTP client"; "error" => %err),
        }
        ctx.run_interval(self.settings.refresh_interval, |act, _| act.report());
        ctx.run_later(self.settings.first_report_grace, |act, ctx| {
            act.report_soon(ctx)
        });
    }
}

impl Handler<ObservedLocalServices> for HealthChecker {
    type Result = ();

    fn handle(&mut self, msg: ObservedLocalServices, ctx: &mut Context<Self>) {
        let msg_source = msg.source;
        let obs = self.monitor.observe(msg.source, msg.services);
        self.log_observation(&obs);
        for new in obs.added.iter() {
            self.start_run(new.id.clone(), ctx);
        }
        let first_from_source = self.heard.insert(msg_source);
        if obs.changed || first_from_source {
            self.report_soon(ctx);
        }
    }
}

impl Handler<CheckFinished> for HealthChecker {
    type Result = ();

    fn handle(&mut self, msg: CheckFinished, ctx: &mut Context<Self>) {
        self.runs += 1;
        self.timeouts += u64::from(msg.result == CheckResult::TimedOut);
        let result = match msg.result {
            CheckResult::Healthy => "healthy",
            CheckResult::Sickly { .. } => "failed",
            CheckResult::Error { .. } => "error",
            CheckResult::TimedOut => "timed_out",
        };
        // From the run's start, any wait for a concurrency permit included.
        self.metrics.health_check(result, msg.started.elapsed());
        let Some(recorded) = self.monitor.record(&msg.id, &msg.result) else {
            return; // the service is gone
        };
        let noteworthy = recorded.service_status_changed || recorded.transition.changed();
        self.log_result(&msg, &recorded.name, recorded.transition.after, noteworthy);
        if recorded.service_status_changed {
            self.report_soon(ctx);
        }
        // A tokio timer rather than `ctx.run_later`: the actor's context polls every pending
        // item of its own on each wake-up, which costs O(checks) per message.
        let due = match recorded.recheck_after {
            Some(wait) => Instant::now() + wait,
            None => msg.started + self.settings.interval,
        };
        let addr = ctx.address();
        actix::spawn(async move {
            tokio::time::sleep_until(due).await;
            addr.do_send(RunDue(msg.id));
        });
    }
}

impl Handler<RunDue> for HealthChecker {
    type Result = ();

    fn handle(&mut self, msg: RunDue, ctx: &mut Context<Self>) {
        self.start_run(msg.0, ctx);
    }
}

impl Handler<GetHealthStats> for HealthChecker {
    type Result = HealthStats;

    fn handle(&mut self, _: GetHealthStats, _: &mut Context<Self>) -> HealthStats {
        let gauges = &self.runner.gauges;
        HealthStats {
            checks: self.monitor.len(),
            in_flight: gauges.in_flight.load(Ordering::Relaxed),
            waiting: gauges.waiting.load(Ordering::Relaxed),
            peak_in_flight: gauges.peak_in_flight.load(Ordering::Relaxed),
            runs: self.runs,
            timeouts: self.timeouts,
        }
    }
}
crate::supervised_actor!(HealthChecker);
