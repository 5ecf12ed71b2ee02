//! The Supervisor actor: notices every subsystem that stopped or panicked (its mailbox closed),
//! starts a fresh instance after a backoff, and stops the process with exit code 1 when one
//! subsystem fails too often. Answers the admin API.
//!
//! Does not: decide the policy (see [`super::policy`]) or know what any subsystem does.

use std::time::Duration;

use actix::prelude::*;
use slog::{Logger, crit, info, o, warn};
use tokio::time::Instant;

use super::child::Child;
use super::panics::take_last_panic;
use super::policy::{Decision, FailureHistory, RestartPolicy};
use crate::messages::supervisor::{
    GetSubsystems, ReportFailure, ReportSubsystemDetails, RestartSubsystem, ShutdownSupervisor,
    SubsystemStatus, UnknownSubsystem,
};

/// How often subsystems are checked for a closed mailbox.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(50);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Running,
    Restarting,
}

struct Entry {
    child: Box<dyn Child>,
    state: State,
    history: FailureHistory,
    restarts: u64,
    last_error: Option<String>,
    reported_error: Option<String>,
    started: Instant,
    operator_restart: bool,
    details: Option<serde_json::Value>,
}

/// The actor. See the [module docs](self).
pub struct Supervisor {
    entries: Vec<Entry>,
    policy: RestartPolicy,
    origin: Instant,
    shutting_down: bool,
    log: Logger,
}

impl Supervisor {
    /// A supervisor of no subsystems yet; add them with [`Supervisor::add`] before starting.
    pub fn new(policy: RestartPolicy, log: &Logger) -> Supervisor {
        Supervisor {
            entries: Vec::new(),
            policy,
            origin: Instant::now(),
            shutting_down: false,
            log: log.new(o!("actor" => "supervisor")),
        }
    }

    /// Supervises `child` (already started).
    pub fn add(&mut self, child: Box<dyn Child>) {
        self.entries.push(Entry {
            child,
            state: State::Running,
            history: FailureHistory::default(),
            restarts: 0,
            last_error: None,
            reported_error: None,
            started: Instant::now(),
            operator_restart: false,
            details: None,
        });
    }

    fn check(&mut self, ctx: &mut Context<Self>) {
        if self.shutting_down {
            return;
        }
        for index in 0..self.entries.len() {
            let Some(entry) = self.entries.get_mut(index) else {
                continue;
            };
            if entry.state != State::Running {
                continue;
            }
            if entry.child.is_running() {
                if entry.started.elapsed() > self.policy.window {
                    entry.history.on_stable();
                }
                continue;
            }
            self.on_stopped(index, ctx);
        }
    }

    fn on_stopped(&mut self, index: usize, ctx: &mut Context<Self>) {
        let now = self.origin.elapsed();
        let Some(entry) = self.entries.get_mut(index) else {
            return;
        };
        let name = entry.child.name();
        if std::mem::take(&mut entry.operator_restart) {
            info!(self.log, "Restarting subsystem on request"; "subsystem" => name);
            self.restart(index);
            return;
        }
        let error = entry.reported_error.take().or_else(take_last_panic);
        let error = error.unwrap_or_else(|| "stopped".to_owned());
        warn!(self.log, "Subsystem failed"; "subsystem" => name, "error" => &error);
        entry.last_error = Some(error);
        match entry.history.on_failure(now, &self.policy) {
            Decision::RestartAfter(delay) => {
                entry.state = State::Restarting;
                ctx.run_later(delay, move |act, _| act.restart(index));
            }
            Decision::GiveUp => {
                crit!(self.log, "Subsystem keeps failing, stopping the node";
                    "subsystem" => name, "max_restarts" => self.policy.max_restarts,
                    "window" => ?self.policy.window);
                self.shutting_down = true;
                System::current().stop_with_code(1);
            }
        }
    }

    fn restart(&mut self, index: usize) {
        if self.shutting_down {
            return;
        }
        let Some(entry) = self.entries.get_mut(index) else {
            return;
        };
        entry.child.restart();
        entry.state = State::Running;
        entry.started = Instant::now();
        entry.restarts += 1;
        info!(self.log, "Subsystem restarted"; "subsystem" => entry.child.name(),
            "restarts" => entry.restarts);
    }

    fn find(&mut self, name: &str) -> Result<&mut Entry, UnknownSubsystem> {
        self.entries
            .iter_mut()
            .find(|e| e.child.name() == name)
            .ok_or_else(|| UnknownSubsystem(name.to_owned()))
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(CHECK_INTERVAL, |act, ctx| act.check(ctx));
    }
}

impl Handler<GetSubsystems> for Supervisor {
    type Result = Vec<SubsystemStatus>;

    fn handle(&mut self, _: GetSubsystems, _: &mut Context<Self>) -> Self::Result {
        let status = |e: &Entry| SubsystemStatus {
            name: e.child.name().to_owned(),
            state: match e.state {
                State::Running if e.child.is_running() => "running",
                State::Running | State::Restarting => "restarting",
            }
            .to_owned(),
            restarts: e.restarts,
            last_error: e.last_error.clone(),
            uptime_seconds: e.started.elapsed().as_secs(),
            details: e.details.clone(),
        };
        self.entries.iter().map(status).collect()
    }
}

impl Handler<RestartSubsystem> for Supervisor {
    type Result = Result<(), UnknownSubsystem>;

    fn handle(&mut self, msg: RestartSubsystem, _: &mut Context<Self>) -> Self::Result {
        let entry = self.find(&msg.name)?;
        if entry.state == State::Running {
            entry.operator_restart = true;
            entry.child.stop();
        }
        Ok(())
    }
}

#[cfg(feature = "fault-injection")]
impl Handler<crate::messages::supervisor::PanicSubsystem> for Supervisor {
    type Result = Result<(), UnknownSubsystem>;

    fn handle(
        &mut self,
        msg: crate::messages::supervisor::PanicSubsystem,
        _: &mut Context<Self>,
    ) -> Self::Result {
        self.find(&msg.name)?.child.inject_panic();
        Ok(())
    }
}

impl Handler<ReportFailure> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: ReportFailure, _: &mut Context<Self>) {
        if let Ok(entry) = self.find(&msg.name) {
            entry.reported_error = Some(msg.error);
        }
    }
}

impl Handler<ReportSubsystemDetails> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: ReportSubsystemDetails, _: &mut Context<Self>) {
        if let Ok(entry) = self.find(&msg.name) {
            entry.details = Some(msg.details);
        }
    }
}

impl Handler<ShutdownSupervisor> for Supervisor {
    type Result = ();

    fn handle(&mut self, _: ShutdownSupervisor, _: &mut Context<Self>) {
        self.shutting_down = true;
    }
}
