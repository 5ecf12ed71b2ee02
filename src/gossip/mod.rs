//! The cluster layer: membership, failure detection and dissemination of service records.
//!
//! Pure cores only so far; the Gossiper actor that owns them and the sockets comes later.
//! [`membership`] wraps `foca` (SWIM) and adds a direct confirmation before a member is
//! reported down; [`broadcast`] carries service records on foca's custom broadcasts;
//! [`node_id`] is a member's identity.

pub mod broadcast;
pub mod membership;
pub mod node_id;
