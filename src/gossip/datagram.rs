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

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(byte: u8) -> KeyRing {
        KeyRing::new(&[[byte; 32]]).unwrap()
    }

    #[test]
    fn a_sealed_datagram_opens_with_the_key_and_costs_the_sealing() {
        let (cluster, keys) = (ClusterId::of("c"), ring(1));
        let codec = DatagramCodec::new(cluster, Some(&keys), "node-1");
        let frame = codec.seal(b"swim".to_vec()).unwrap();
        assert_eq!(
            frame.len(),
            super::super::wire::HEADER_LEN + super::super::wire::SEALING + 4
        );
        assert_eq!(codec.open(&frame).unwrap(), b"swim");
    }

    #[test]
    fn a_datagram_under_another_key_or_of_another_kind_is_refused_by_reason() {
        let cluster = ClusterId::of("c");
        let (ours, theirs) = (ring(1), ring(2));
        let sealed = DatagramCodec::new(cluster, Some(&theirs), "x")
            .seal(vec![1])
            .unwrap();
        let codec = DatagramCodec::new(cluster, Some(&ours), "node-1");
        assert_eq!(codec.open(&sealed).unwrap_err().reason(), "udp.decrypt");
        let ctx = FrameContext::datagram(cluster, Some(&ours)).sealed_by("x");
        let leave = encode(&Message::Leave { name: "x".into() }, &ctx).unwrap();
        assert_eq!(
            codec.open(&leave).unwrap_err().reason(),
            "udp.unexpected_leave"
        );
    }
}
