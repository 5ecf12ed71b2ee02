//! [`Child`]: one supervised subsystem, as the Supervisor sees it; [`ActorChild`] makes any
//! actor one, given a factory that builds a fresh instance.
//!
//! An [`ActorChild`] runs each instance as its own task and keeps the task's handle, so when
//! an instance ends the Supervisor learns from that handle alone whether it stopped or
//! panicked, and with which message: no process-wide record that could blame another child.

use std::any::Any;

use actix::dev::ToEnvelope;
use actix::prelude::*;
use futures_util::FutureExt;
use tokio::task::JoinHandle;

use super::link::Slot;
use crate::messages::supervisor::{InjectPanic, StopActor};

/// How an instance of a subsystem ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It stopped itself (after logging why) or was asked to stop.
    Stopped,
    /// A handler panicked; the panic's message.
    Panicked(String),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Stopped => f.write_str("stopped"),
            Exit::Panicked(message) => write!(f, "panicked: {message}"),
        }
    }
}

/// A subsystem the Supervisor can watch, stop and start again.
pub trait Child {
    /// Its name in logs and the admin API.
    fn name(&self) -> &'static str;
    /// How the current instance ended, or `None` while it runs.
    fn exit(&mut self) -> Option<Exit>;
    /// Starts a fresh instance and points every [`Link`](super::Link) at it.
    fn restart(&mut self);
    /// Asks the current instance to stop.
    fn stop(&self);
    /// Makes the current instance panic (fault injection; a no-op without the feature).
    fn inject_panic(&self);
}

/// A supervised actor: its [`Slot`], the task of its current instance and how to build a
/// fresh one.
pub struct ActorChild<A: Actor<Context = Context<A>>> {
    name: &'static str,
    slot: Slot<A>,
    task: JoinHandle<()>,
    /// How the current instance ended, once its task has been read (a task's result can be
    /// taken only once).
    ended: Option<Exit>,
    factory: Box<dyn Fn() -> A>,
}

impl<A> ActorChild<A>
where
    A: Actor<Context = Context<A>> + Handler<StopActor> + Handler<InjectPanic>,
    Context<A>: ToEnvelope<A, StopActor> + ToEnvelope<A, InjectPanic>,
{
    /// Starts the first instance built by `factory`; returns the child and the slot others
    /// link to.
    pub fn start(name: &'static str, factory: impl Fn() -> A + 'static) -> (Self, Slot<A>) {
        let (addr, task) = launch(&factory);
        let slot = Slot::new(addr);
        let child = ActorChild {
            name,
            slot: slot.clone(),
            task,
            ended: None,
            factory: Box::new(factory),
        };
        (child, slot)
    }
}

/// Runs a fresh instance as a task of its own and returns its address and the task.
fn launch<A: Actor<Context = Context<A>>>(factory: &dyn Fn() -> A) -> (Addr<A>, JoinHandle<()>) {
    let ctx = Context::new();
    let addr = ctx.address();
    let task = actix::spawn(ctx.into_future(factory()));
    (addr, task)
}

impl<A> Child for ActorChild<A>
where
    A: Actor<Context = Context<A>> + Handler<StopActor> + Handler<InjectPanic>,
    Context<A>: ToEnvelope<A, StopActor> + ToEnvelope<A, InjectPanic>,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn exit(&mut self) -> Option<Exit> {
        if self.ended.is_none() && self.task.is_finished() {
            self.ended = Some(match (&mut self.task).now_or_never() {
                Some(Err(error)) if error.is_panic() => {
                    Exit::Panicked(panic_message(error.into_panic()))
                }
                _ => Exit::Stopped,
            });
        }
        self.ended.clone()
    }

    fn restart(&mut self) {
        let (addr, task) = launch(&self.factory);
        self.slot.replace(addr);
        self.task = task;
        self.ended = None;
    }

    fn stop(&self) {
        self.slot.get().do_send(StopActor);
    }

    fn inject_panic(&self) {
        self.slot.get().do_send(InjectPanic);
    }
}

/// The text a panic was raised with (`panic!("…")` carries a `&str` or a `String`).
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or_else(|| "(no message)".to_owned(), |text| (*text).to_owned()),
    }
}

/// Implements the supervision messages for an actor: [`StopActor`] stops it, and
/// [`InjectPanic`] panics in it when built with the `fault-injection` feature.
#[macro_export]
macro_rules! supervised_actor {
    ($actor:ty) => {
        impl ::actix::Handler<$crate::messages::supervisor::StopActor> for $actor {
            type Result = ();
            fn handle(
                &mut self,
                _: $crate::messages::supervisor::StopActor,
                ctx: &mut Self::Context,
            ) {
                ::actix::ActorContext::stop(ctx);
            }
        }

        impl ::actix::Handler<$crate::messages::supervisor::InjectPanic> for $actor {
            type Result = ();
            #[allow(clippy::panic, reason = "the fault-injection hook panics on purpose")]
            fn handle(
                &mut self,
                _: $crate::messages::supervisor::InjectPanic,
                _: &mut Self::Context,
            ) {
                if cfg!(feature = "fault-injection") {
                    panic!("fault injected into {}", stringify!($actor));
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    struct Fragile;

    impl Actor for Fragile {
        type Context = Context<Self>;
    }

    crate::supervised_actor!(Fragile);

    #[derive(Message)]
    #[rtype(result = "()")]
    struct Break(&'static str);

    impl Handler<Break> for Fragile {
        type Result = ();
        #[allow(clippy::panic, reason = "the test breaks the actor on purpose")]
        fn handle(&mut self, msg: Break, _: &mut Context<Self>) {
            panic!("{}", msg.0);
        }
    }

    async fn ended(child: &mut ActorChild<Fragile>) -> Option<Exit> {
        for _ in 0..100 {
            if let Some(exit) = child.exit() {
                return Some(exit);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    #[actix::test]
    async fn a_child_that_panics_is_blamed_with_its_own_message_and_no_other_child_is() {
        let (mut first, slot) = ActorChild::start("first", || Fragile);
        let (mut second, _) = ActorChild::start("second", || Fragile);
        slot.get().do_send(Break("first broke"));
        let exit = ended(&mut first).await;
        assert_eq!(exit, Some(Exit::Panicked("first broke".to_owned())));
        assert_eq!(first.exit(), exit, "the exit is remembered");
        assert_eq!(second.exit(), None);
    }

    #[actix::test]
    async fn a_child_that_stops_itself_is_stopped_and_a_restart_runs_again() {
        let (mut child, slot) = ActorChild::start("child", || Fragile);
        slot.get().do_send(StopActor);
        assert_eq!(ended(&mut child).await, Some(Exit::Stopped));
        child.restart();
        assert_eq!(child.exit(), None);
        assert!(slot.get().connected(), "the slot follows the new instance");
    }
}
