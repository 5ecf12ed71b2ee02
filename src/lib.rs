//! Sidecar: a peer-to-peer service discovery daemon (a drop-in Rust rebuild of Go Sidecar).
//!
//! One copy runs on every host. It discovers the services running there, health-checks them,
//! keeps the whole cluster's catalogue, gossips it with its peers and serves it over HTTP. The
//! crate is split into pure cores (no actix, tokio, sockets or clocks inside) and thin actors
//! around them:
//!
//! ```text
//!  StaticWatcher ─┐
//!  DockerWatcher ─┴─ObservedLocalServices─► HealthChecker ──ApplyLocalServices──► StateKeeper
//!                                                                                  │   ▲
//!                          StateChanged(Arc<Snapshot>) ◄───────────────────────────┘   │
//!                                  │                                  ApplyRemoteServices
//!                                  ├──► WebApi (JSON API, /api/watch streams)           │
//!                                  ├──► ListenerNotifier ──POST──► listener URLs        │
//!                                  ├──► HaproxyManager ──runtime API / reload──► HAProxy│
//!                                  ├──► XdsServer ──ADS──► Envoys                       │
//!                                  ├──► TombstoneRepeater                               │
//!                                  └──► Gossiper (SWIM, broadcasts, anti-entropy) ──────┘
//! ```
//!
//! Pure cores: [`catalog`], [`discovery`], [`health`], [`listeners`], [`gossip`], [`haproxy`],
//! [`xds`], [`config`].
//! Actors: [`actors`], their messages: [`messages`], their [`supervisor`]. [`node`] wires one
//! node together for `main` and for tests. The design is written down in `docs/ARCHITECTURE.md`,
//! `docs/PROTOCOL.md` and `docs/COMPATIBILITY.md`.
#![forbid(unsafe_code)]

pub mod actors;
pub mod api;
pub mod catalog;
pub mod client;
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
pub mod metrics;
pub mod node;
pub mod supervisor;
pub mod xds;
