//! Supervision: every subsystem (actor) that stops on an error or panics is replaced by a
//! fresh instance after a backoff; one that keeps failing stops the process (exit code 1) so
//! systemd or Docker restarts the whole node. A panic never leaves a node that looks alive
//! with a dead subsystem.
//!
//! actix restarts an actor that stops itself, but not one that panicked: its mailbox just
//! closes. So the [`Supervisor`] runs every instance as a task of its own, watches the tasks,
//! starts replacements from factories, and everyone reaches supervised actors through
//! [`Link`]s that follow the replacement.

pub mod actor;
pub mod child;
pub mod link;
pub mod policy;

pub use actor::Supervisor;
pub use child::{ActorChild, Child, Exit};
pub use link::{Link, Slot};
pub use policy::{Decision, FailureHistory, RestartPolicy};
