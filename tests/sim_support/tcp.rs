//! The TCP model under the sessions of [`super::exchange`]: what a connection and a frame
//! cost on the wire, and when they arrive.
//!
//! The daemon writes a frame's 4-byte length prefix and the frame with two `write_all`s on
//! a socket without `TCP_NODELAY`, so a frame costs two segments and a pure ACK; longer
//! frames are cut at the MSS. Every segment carries 52 bytes of IPv4 + TCP with timestamps;
//! a lost one is resent (counted) after the retransmission timeout, which doubles. A
//! connection costs a handshake (SYNs resent after 1 s, doubling) and a close. Loss is
//! per direction ([`Sim::lost`]), so a one-way lossy link loses data one way and ACKs
//! the other.

use super::{MS, SEC, Sim};

/// IPv4 + TCP with the timestamp option (Linux's default).
pub(super) const TCP_IP: u64 = 52;
/// A SYN or SYN-ACK, with its options.
const SYN: u64 = 60;
/// FIN, ACK, FIN, ACK.
pub(super) const CLOSE: u64 = 4 * TCP_IP;
const MSS: u64 = 1448;
const LEN_PREFIX: u64 = 4;
/// Linux's first retransmission timeouts: a SYN's, and a data segment's.
const SYN_RTO: u64 = SEC;
const DATA_RTO: u64 = 200 * MS;

/// How a connection attempt ended, µs after it started.
pub(super) enum Connect {
    Up(u64),
    Refused(u64),
    Silent,
}

impl Sim {
    /// A TCP handshake from `a` to `b` within `timeout`, and the bytes it cost. A killed
    /// node's host refuses; a partition is silent. A frozen node's kernel still completes
    /// the handshake (the connection waits in the listen backlog).
    pub(super) fn handshake(&mut self, a: usize, b: usize, timeout: u64) -> (Connect, u64) {
        let (mut at, mut rto, mut bytes) = (0, SYN_RTO, 0);
        while at < timeout {
            bytes += SYN;
            if self.linked(a, b) && !self.lost(a, b) {
                bytes += SYN;
                if !self.lost(b, a) {
                    let rtt = self.latency() + self.latency();
                    if !self.nodes[b].alive {
                        return (Connect::Refused(at + rtt), bytes);
                    }
                    return (Connect::Up(at + rtt), bytes + TCP_IP);
                }
            }
            at += rto;
            rto *= 2;
        }
        (Connect::Silent, bytes)
    }

    /// A frame of `len` bytes from `from` to `to`, written as a length prefix and the
    /// frame: the bytes it cost (resends and the ACK included), and when its last segment
    /// arrived, µs after it was written.
    pub(super) fn segments(&mut self, from: usize, to: usize, len: usize) -> (u64, u64) {
        let body = len as u64;
        let sizes = std::iter::once(LEN_PREFIX)
            .chain(std::iter::repeat_n(MSS, (body / MSS) as usize))
            .chain(Some(body % MSS).filter(|rest| *rest > 0));
        let (mut bytes, mut arrived) = (TCP_IP, 0);
        for size in sizes.collect::<Vec<_>>() {
            let (mut at, mut rto) = (0, DATA_RTO);
            bytes += size + TCP_IP;
            while self.lost(from, to) {
                bytes += size + TCP_IP;
                at += rto;
                rto *= 2;
            }
            arrived = arrived.max(at + self.latency());
        }
        (bytes, arrived)
    }
}
