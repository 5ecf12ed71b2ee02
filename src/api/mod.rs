//! The HTTP API (docs/COMPATIBILITY.md §6): Go Sidecar's routes, bodies, headers and status codes
//! on actix-web.
//!
//! Handlers only translate HTTP to and from the current [`Snapshot`](crate::catalog::Snapshot) and
//! the StateKeeper's messages. They read the snapshot the [`WebApi`](crate::actors::WebApi) actor
//! keeps in a `tokio::sync::watch` channel (an `Arc` clone per request, never a message round trip)
//! and answer with its cached encodings (no copy). They must not hold state of their own, decide
//! anything about the catalogue, or panic on any input.
//!
//! Left out for now: `/servers` and Go's 301 to cleaned paths (`//x`).

pub mod admin;
mod catalog;
mod drain;
mod envoy_v1;
mod error;
mod front_door;
pub mod metrics;
mod openapi;
mod plain;
mod routes;
pub mod server;
mod state;
mod ui;
mod watch;

pub use error::ApiError;
pub use routes::configure;
pub use state::ApiState;
