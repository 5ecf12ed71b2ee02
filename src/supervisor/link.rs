//! [`Slot`] and [`Link`]: stable addresses for actors that the Supervisor may replace.
//!
//! A panicking actor leaves a closed mailbox behind and is not restarted by actix; the
//! Supervisor starts a fresh instance, whose `Addr` is new. Everyone who talks to a supervised
//! actor therefore holds a [`Link`], which resolves to the current instance on every send,
//! never a bare `Addr`/`Recipient` that would go stale.

use std::sync::{Arc, PoisonError, RwLock};

use actix::dev::ToEnvelope;
use actix::prelude::*;

/// The current address of a supervised actor; replaced by the Supervisor on restart.
pub struct Slot<A: Actor> {
    addr: Arc<RwLock<Addr<A>>>,
}

impl<A: Actor> Clone for Slot<A> {
    fn clone(&self) -> Self {
        Slot {
            addr: Arc::clone(&self.addr),
        }
    }
}

impl<A: Actor> Slot<A> {
    /// A slot holding `addr`.
    pub fn new(addr: Addr<A>) -> Slot<A> {
        Slot {
            addr: Arc::new(RwLock::new(addr)),
        }
    }

    /// The current instance's address.
    pub fn get(&self) -> Addr<A> {
        self.addr
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Points the slot at a new instance.
    pub fn replace(&self, addr: Addr<A>) {
        *self.addr.write().unwrap_or_else(PoisonError::into_inner) = addr;
    }

    /// A link for message `M` that follows this slot.
    pub fn link<M>(&self) -> Link<M>
    where
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
        M: Message + Send + 'static,
        M::Result: Send,
    {
        let slot = self.clone();
        Link {
            resolve: Arc::new(move || slot.get().recipient()),
        }
    }
}

/// An edge for message `M` to an actor that may be replaced: every send goes to the current
/// instance. Also made from a fixed [`Recipient`] for actors that are not replaced and tests.
pub struct Link<M: Message + Send>
where
    M::Result: Send,
{
    resolve: Arc<dyn Fn() -> Recipient<M> + Send + Sync>,
}

impl<M: Message + Send> Clone for Link<M>
where
    M::Result: Send,
{
    fn clone(&self) -> Self {
        Link {
            resolve: Arc::clone(&self.resolve),
        }
    }
}

impl<M: Message + Send + 'static> Link<M>
where
    M::Result: Send,
{
    /// A link that always sends to `recipient`.
    pub fn fixed(recipient: Recipient<M>) -> Link<M> {
        Link {
            resolve: Arc::new(move || recipient.clone()),
        }
    }

    /// The current recipient.
    pub fn recipient(&self) -> Recipient<M> {
        (self.resolve)()
    }

    /// Sends without waiting and without a bound (see actix's `do_send`); dropped silently
    /// while the target is being replaced.
    pub fn do_send(&self, msg: M) {
        self.recipient().do_send(msg);
    }

    /// Sends if the target's mailbox has room.
    pub fn try_send(&self, msg: M) -> Result<(), SendError<M>> {
        self.recipient().try_send(msg)
    }

    /// Sends and waits for the answer.
    pub fn send(&self, msg: M) -> RecipientRequest<M> {
        self.recipient().send(msg)
    }
}

impl<M: Message + Send> std::fmt::Debug for Link<M>
where
    M::Result: Send,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Link")
    }
}
