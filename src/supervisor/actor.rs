//! The Supervisor actor: notices every subsystem that stopped or panicked (its task ended),
//! starts a fresh instance after a backoff, and stops the process with exit code 1 when one
//! subsystem fails too often. Answers the admin API.
//!
//! A node is built by [`Supervisor::spawn`]ning each subsystem in dependency order before the
//! Supervisor itself runs (docs/ARCHITECTURE.md, "How to add a subsystem").
//!
//! Does not: decide the policy (see [`super::policy`]) or know what any subsystem does.

use std::time::Duration;

use actix::prelude::*;
use slog::{Logger, crit, info, o, warn};
use tokio::time::Instant;

use actix::dev::ToEnvelope;

use super::child::{ActorChild, Child, Exit};
use super::link::Slot;
use super::policy::{Decision, FailureHistory, RestartPolicy};
use crate::messages::supervisor::{
    GetSubsystems, InjectPanic, ReportSubsystemDetails, RestartSubsystem, ShutdownSupervisor,
    StopActor, SubsystemState, SubsystemStatus, UnknownSubsystem,
};

/// How often subsystems are checked for a closed mailbox.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(50);

struct Entry {
    child: Box<dyn Child>,
    state: SubsystemState,
    history: FailureHistory,
    restarts: u64,
    last_error: Option<String>,
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
    /// A supervisor of no subsystems yet; [`spawn`](Supervisor::spawn) them before starting it.
    pub fn new(policy: RestartPolicy, log: &Logger) -> Supervisor {
        Supervisor {
            entries: Vec::new(),
            policy,
            origin: Instant::now(),
            shutting_down: false,
            log: log.new(o!("actor" => "supervisor")),
        }
    }

    /// Starts the subsystem `name`, an actor built by `factory`, and supervises it: whenever
    /// it stops or panics, `factory` builds the replacement. Everyone reaches it through the
    /// returned slot (or [`Link`](super::Link)s from it), which follows the replacements.
    pub fn spawn<A>(&mut self, name: &'static str, factory: impl Fn() -> A + 'static) -> Slot<A>
    where
        A: Actor<Context = Context<A>> + Handler<StopActor> + Handler<InjectPanic>,
        Context<A>: ToEnvelope<A, StopActor> + ToEnvelope<A, InjectPanic>,
    {
        let (child, slot) = ActorChild::start(name, factory);
        self.add(Box::new(child));
        slot
    }

    /// Supervises `child` (already started).
    fn add(&mut self, child: Box<dyn Child>) {
        self.entries.push(Entry {
            child,
            state: SubsystemState::Running,
            history: FailureHistory::default(),
            restarts: 0,
            last_error: None,
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
            if entry.state != SubsystemState::Running {
                continue;
            }
            match entry.child.exit() {
                None => {
                    if entry.started.elapsed() > self.policy.window {
                        entry.history.on_stable();
                    }
                }
                Some(exit) => self.on_exit(index, &exit, ctx),
            }
        }
    }

    fn on_exit(&mut self, index: usize, exit: &Exit, ctx: &mut Context<Self>) {
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
        let error = exit.to_string();
        warn!(self.log, "Subsystem failed"; "subsystem" => name, "error" => &error);
        entry.last_error = Some(error);
        match entry.history.on_failure(now, &self.policy) {
            Decision::RestartAfter(delay) => {
                entry.state = SubsystemState::Restarting;
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
        entry.state = SubsystemState::Running;
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
        let status = |e: &mut Entry| SubsystemStatus {
            name: e.child.name().to_owned(),
            // An instance that ended since the last check is about to be replaced.
            state: match e.child.exit() {
                None => e.state,
                Some(_) => SubsystemState::Restarting,
            },
            restarts: e.restarts,
            last_error: e.last_error.clone(),
            uptime_seconds: e.started.elapsed().as_secs(),
            details: e.details.clone(),
        };
        self.entries.iter_mut().map(status).collect()
    }
}

impl Handler<RestartSubsystem> for Supervisor {
    type Result = Result<(), UnknownSubsystem>;

    fn handle(&mut self, msg: RestartSubsystem, _: &mut Context<Self>) -> Self::Result {
        let entry = self.find(&msg.name)?;
        if entry.state == SubsystemState::Running {
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
