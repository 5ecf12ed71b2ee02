//! Sidecar: a peer-to-peer service discovery daemon (a drop-in Rust rebuild of Go Sidecar).
//!
//! One copy runs on every host. It discovers the services running there, health-checks them,
//! keeps the whole cluster's catalogue and serves it over HTTP. The crate is split into pure
//! cores (no actix, tokio, sockets or clocks inside) and thin actors around them:
//!
//! ```text
//!  StaticWatcher ──ObservedLocalServices──► HealthChecker ──ApplyLocalServices──► StateKeeper
//!                                                                                  │
//!                          StateChanged(Arc<Snapshot>) ◄───────────────────────────┘
//!                                  │
//!                                  ├──► WebApi (JSON API, /api/watch streams)
//!                                  ├──► HaproxyManager ──runtime API / reload──► HAProxy
//!                                  └──► ListenerNotifier ──POST──► listener URLs
//! ```
//!
//! Pure cores: [`catalog`], [`discovery`], [`health`], [`listeners`], [`haproxy`],
//! [`config`]. Actors: [`actors`], their messages: [`messages`]. [`node`] wires one node
//! together for `main` and for tests; [`follower`] runs `sidecar haproxy --from URL`.
#![forbid(unsafe_code)]

pub mod actors;
pub mod api;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod discovery;
pub mod follower;
pub mod gossip;
pub mod haproxy;
pub mod health;
pub mod listeners;
pub mod logging;
pub mod messages;
pub mod node;
pub mod supervisor;
