//! [`Recorder`]: a test actor that keeps every message of one type it receives, for the
//! actor tests that check what a subsystem sent.

use std::sync::{Arc, Mutex, PoisonError};

use actix::prelude::*;

/// Keeps every `M` it receives in the shared list.
pub(crate) struct Recorder<M>(pub(crate) Arc<Mutex<Vec<M>>>);

impl<M: 'static> Actor for Recorder<M> {
    type Context = Context<Self>;
}

impl<M: Message<Result = ()> + 'static> Handler<M> for Recorder<M> {
    type Result = ();

    fn handle(&mut self, msg: M, _: &mut Context<Self>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(msg);
    }
}
