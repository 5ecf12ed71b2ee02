//! The cluster layer's pure pieces (docs/PROTOCOL.md); the actor that owns the sockets and ties
//! them together is [`crate::actors::gossiper`].
//!
//! - [`admission`]: which TCP connections are taken on (per-IP and waiting limits, the hello
//!   deadline, session slots), so that a liveness check is always answered;
//! - [`membership`]: SWIM over `foca`, plus a direct confirmation before a member is reported
//!   down; [`broadcast`] carries service records on foca's custom broadcasts; [`node_id`] is a
//!   member's identity;
//! - [`wire`]: versioned frames (header, compact postcard body, optional XChaCha20-Poly1305) and the
//!   compact record structs [`wire::WireService`] / [`wire::WirePort`];
//! - [`datagram`]: one SWIM datagram framed and sealed, or opened (the Gossiper's and the
//!   simulation's one code path);
//! - [`crypto`]: the [`crypto::KeyRing`] of `SIDECAR_GOSSIP_KEYS` (first key encrypts, all
//!   decrypt);
//! - [`digest`]: anti-entropy by per-host digests, so an exchange costs the difference, not
//!   the catalogue;
//! - [`records`]: the compact record structs and datagram packing (re-exported by [`wire`]);
//! - [`lifecycle`]: joining through the seeds with backoff, what to do after an exchange
//!   (relaying a peer's own records, adding it as a member), and leaving;
//! - [`limits`]: how much one frame may carry (records, hosts, bytes), with the arithmetic;
//! - [`handshake`]: the greetings built and read: the hellos' challenges, what an answer must
//!   carry (replay refusal), what a liveness check's answer says;
//! - [`hash`]: the stable FNV-1a 64 hash behind cluster ids and digests;
//! - [`exchange`]: length-prefixed frames over any async stream, and the push/pull session
//!   ([`exchange::PushPull`], a pure state machine the stream driver and the simulation share);
//! - [`repeat`]: the tombstone schedule (a vanished service announced ten times, 1 s apart);
//! - [`schedule`]: when to run anti-entropy (the period for the cluster size, and exchanges
//!   with members that come back).
//!
//! Must not: own sockets, timers or actors. Everything but [`exchange`] is pure; [`exchange`]
//! only drives a stream it is handed, with a size limit and a timeout on every read.

pub mod admission;
pub mod broadcast;
pub mod crypto;
pub mod datagram;
pub mod digest;
pub mod exchange;
pub mod handshake;
pub mod hash;
pub mod lifecycle;
pub mod limits;
pub mod membership;
pub mod node_id;
pub mod records;
pub mod repeat;
pub mod schedule;
pub mod wire;
