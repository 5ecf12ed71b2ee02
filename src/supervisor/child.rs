//! [`Child`]: one supervised subsystem, as the Supervisor sees it; [`ActorChild`] makes any
//! actor one, given a factory that starts a fresh instance.

use actix::dev::ToEnvelope;
use actix::prelude::*;

use super::link::Slot;
use crate::messages::supervisor::{InjectPanic, StopActor};

/// A subsystem the Supervisor can watch, stop and start again.
pub trait Child {
    /// Its name in logs and the admin API.
    fn name(&self) -> &'static str;
    /// Whether the current instance is alive (its mailbox is open).
    fn is_running(&self) -> bool;
    /// Starts a fresh instance and points every [`Link`](super::Link) at it.
    fn restart(&mut self);
    /// Asks the current instance to stop.
    fn stop(&self);
    /// Makes the current instance panic (fault injection; a no-op without the feature).
    fn inject_panic(&self);
}

/// A supervised actor: its [`Slot`] and how to start a fresh instance.
pub struct ActorChild<A: Actor> {
    name: &'static str,
    slot: Slot<A>,
    factory: Box<dyn Fn() -> Addr<A>>,
}

impl<A> ActorChild<A>
where
    A: Actor + Handler<StopActor> + Handler<InjectPanic>,
    A::Context: ToEnvelope<A, StopActor> + ToEnvelope<A, InjectPanic>,
{
    /// Starts the first instance with `factory`; returns the child and the slot others link
    /// to.
    pub fn start(name: &'static str, factory: impl Fn() -> Addr<A> + 'static) -> (Self, Slot<A>) {
        let slot = Slot::new(factory());
        let child = ActorChild {
            name,
            slot: slot.clone(),
            factory: Box::new(factory),
        };
        (child, slot)
    }
}

impl<A> Child for ActorChild<A>
where
    A: Actor + Handler<StopActor> + Handler<InjectPanic>,
    A::Context: ToEnvelope<A, StopActor> + ToEnvelope<A, InjectPanic>,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn is_running(&self) -> bool {
        self.slot.get().connected()
    }

    fn restart(&mut self) {
        self.slot.replace((self.factory)());
    }

    fn stop(&self) {
        self.slot.get().do_send(StopActor);
    }

    fn inject_panic(&self) {
        self.slot.get().do_send(InjectPanic);
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
