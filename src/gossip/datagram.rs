//! One gossip datagram as the Gossiper puts it on, and takes it off, its UDP socket: a SWIM
//! payload in a frame (docs/PROTOCOL.md §6), sealed when the cluster has keys (§7).
//!
//! The Gossiper and the cluster simulation (`tests/sim.rs`) both frame and open datagrams
//! here, so the simulation's byte counts and decode failures are the daemon's.
//!
//! Pure: no sockets, no clock. The only randomness is the sealing nonce.

use super::crypto::KeyRing;
use super::wire::{ClusterId, DecodeError, EncodeError, FrameContext, Message, decode, encode};

/// How one node frames and opens its datagrams.
#[derive(Clone, Copy, Debug)]
pub struct DatagramCodec<'a> {
    cluster: ClusterId,
    keys: Option<&'a KeyRing>,
    /// This node's name: the sender its sealed frames carry.
    name: &'a str,
}

/// Why a received datagram was dropped; nothing was handed to the membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatagramRefused {
    /// The frame did not decode (other cluster, wrong key, malformed…).
    Decode(DecodeError),
    /// A valid frame of a kind that does not travel by datagram (its name).
    Unexpected(&'static str),
}

impl DatagramRefused {
    /// The counter this drop is counted under (`udp.decrypt`, `udp.unexpected_hello`, …).
    pub fn reason(&self) -> String {
        match self {
            DatagramRefused::Decode(err) => format!("udp.{}", err.kind()),
            DatagramRefused::Unexpected(name) => format!("udp.unexpected_{name}"),
        }
    }
}

impl<'a> DatagramCodec<'a> {
    /// The codec of the node named `name` in `cluster`, sealing with `keys` when given.
    pub fn new(cluster: ClusterId, keys: Option<&'a KeyRing>, name: &'a str) -> Self {
        DatagramCodec {
            cluster,
            keys,
            name,
        }
    }

    /// The datagram that carries the SWIM payload `swim`; an error when it would not fit
    /// in one frame (nothing is sent then).
    pub fn seal(&self, swim: Vec<u8>) -> Result<Vec<u8>, EncodeError> {
        let ctx = FrameContext::datagram(self.cluster, self.keys).sealed_by(self.name);
        encode(&Message::Swim(swim), &ctx)
    }

    /// The SWIM payload of a received datagram.
    pub fn open(&self, frame: &[u8]) -> Result<Vec<u8>, DatagramRefused> {
        let ctx = FrameContext::datagram(self.cluster, self.keys);
        match decode(frame, &ctx).map_err(DatagramRefused::Decode)? {
            Message::Swim(swim) => Ok(swim),
            other => Err(DatagramRefused::Unexpected(other.name())),
        }
    }
}
