//! TCP sessions as the Gossiper runs them (`gossip::exchange`, `actors::gossiper::net`).
//!
//! Push/pull: Hello both ways, then the initiator's `Summary`; equal summaries end it with the
//! responder's `Summary`, otherwise the responder sends its `Digest`, the initiator its
//! `Digest`, the responder the `Records` of `compare(local_r, D_i).send` and the initiator
//! those of `compare(local_i, D_r).send`. The direct check: Hello both ways.
//!
//! Each frame is the real encoding (`wire::encode`) behind its 4-byte length prefix. The
//! daemon writes the prefix and the frame with two `write_all`s on a socket without
//! `TCP_NODELAY`, so a frame costs two segments and a pure ACK; longer frames are cut at the
//! MSS. Every segment carries 52 bytes of IPv4 + TCP with timestamps; a lost one is resent
//! (counted) after the retransmission timeout, and a read that waits longer than the
//! session timeout ends the session. A session costs a handshake (SYNs resent after 1 s) and
//! a close. It takes effect at once when its last frame arrives; the few milliseconds a
//! session lasts are not modelled.

use sidecar::catalog::Service;
use sidecar::gossip::digest::{Digest, compare, records_for};
use sidecar::gossip::wire::{FrameContext, Message, WireService, encode};

use super::metrics::{Tcp, Why};
use super::{Ev, MS, SEC, Sim};

/// IPv4 + TCP with the timestamp option (Linux's default).
const TCP_IP: u64 = 52;
/// A SYN or SYN-ACK, with its options.
const SYN: u64 = 60;
/// FIN, ACK, FIN, ACK.
pub(super) const CLOSE: u64 = 4 * TCP_IP;
const MSS: u64 = 1448;
const LEN_PREFIX: u64 = 4;
/// Linux's first retransmission timeouts: a SYN's, and a data segment's (it doubles).
const SYN_RTO: u64 = SEC;
const DATA_RTO: u64 = 200 * MS;
/// `GossiperSettings::session_timeout`: every connect and read.
const SESSION_TIMEOUT: u64 = 2 * SEC;

/// How a connection attempt ended, µs after it started.
pub(super) enum Connect {
    Up(u64),
    Refused(u64),
    Silent,
}

impl Sim {
    /// Node `a` opens a push/pull session to `b`; it runs when connected.
    pub(super) fn connect(&mut self, a: usize, b: usize, why: Why) {
        self.exchanges.opened(why);
        let (connect, bytes) = self.handshake(a, b, SESSION_TIMEOUT);
        self.bytes.add(Tcp::Exchange, bytes);
        match connect {
            Connect::Up(after) => self.push(after, Ev::Exchange { a, b }),
            Connect::Refused(_) | Connect::Silent => self.exchanges.failed += 1,
        }
    }

    /// A TCP handshake from `a` to `b` within `timeout`, and the bytes it cost. A killed
    /// node's host refuses; a partition is silent.
    pub(super) fn handshake(&mut self, a: usize, b: usize, timeout: u64) -> (Connect, u64) {
        let (mut at, mut rto, mut bytes) = (0, SYN_RTO, 0);
        while at < timeout {
            bytes += SYN;
            if self.linked(a, b) && !self.lost() {
                bytes += SYN;
                if !self.lost() {
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

    /// The push/pull session between `a` (initiator) and `b`, once connected.
    pub(super) fn exchange(&mut self, a: usize, b: usize) {
        self.exchanges.sessions += 1;
        let done = self.session(a, b);
        self.bytes.add(Tcp::Exchange, CLOSE);
        match done {
            Some((to_a, to_b)) => {
                self.exchanged(a, b, to_a);
                self.exchanged(b, a, to_b);
            }
            None => self.exchanges.failed += 1,
        }
    }

    /// Sends the session's frames; what each side received, unless it broke off.
    fn session(&mut self, a: usize, b: usize) -> Option<(Vec<WireService>, Vec<WireService>)> {
        if !self.nodes[b].alive || !self.linked(a, b) {
            return None;
        }
        self.frames(Tcp::Exchange, &[self.hello(a, true)])?;
        if !self.nodes[b].m.is_active() {
            return None;
        }
        self.frames(Tcp::Exchange, &[self.hello(b, true)])?;
        let (local_a, local_b) = (self.nodes[a].catalog.state(), self.nodes[b].catalog.state());
        let (d_a, d_b) = (Digest::of(local_a), Digest::of(local_b));
        let (s_a, s_b) = (d_a.summary(), d_b.summary());
        if s_a == s_b {
            self.exchanges.in_sync += 1;
            self.frames(
                Tcp::Exchange,
                &[Message::Summary(s_a), Message::Summary(s_b)],
            )?;
            return Some(Default::default());
        }
        let to_a = records_for(local_b, &compare(local_b, &d_a).send);
        let to_b = records_for(local_a, &compare(local_a, &d_b).send);
        self.exchanges.records += (to_a.len() + to_b.len()) as u64;
        let mut frames = vec![
            Message::Summary(s_a),
            Message::Digest(d_b),
            Message::Digest(d_a),
            Message::Records(to_a),
            Message::Records(to_b),
        ];
        self.frames(Tcp::Exchange, &frames)?;
        match (frames.pop(), frames.pop()) {
            (Some(Message::Records(to_b)), Some(Message::Records(to_a))) => Some((to_a, to_b)),
            _ => None,
        }
    }

    pub(super) fn hello(&self, node: usize, exchange: bool) -> Message {
        Message::Hello {
            node: self.nodes[node].m.identity().clone(),
            exchange,
            challenge: [0; 16],
            answer: None,
        }
    }

    /// Sends `frames` in turn, counting their bytes as `kind`; how long they took, or None if
    /// one waited past the timeout.
    pub(super) fn frames(&mut self, kind: Tcp, frames: &[Message]) -> Option<u64> {
        let ctx = FrameContext::stream(self.cluster, None);
        let mut took = 0;
        for frame in frames {
            let len = encode(frame, &ctx).map_or(0, |f| f.len() as u64);
            let (bytes, after) = self.segments(len + LEN_PREFIX);
            self.bytes.add(kind, bytes);
            if after > SESSION_TIMEOUT {
                return None;
            }
            took += after;
        }
        Some(took)
    }

    /// The bytes of `len` bytes written as a length prefix and a frame (two writes), and
    /// when the last segment arrived, µs after they were written.
    fn segments(&mut self, len: u64) -> (u64, u64) {
        let body = len - LEN_PREFIX;
        let sizes = std::iter::once(LEN_PREFIX)
            .chain(std::iter::repeat_n(MSS, (body / MSS) as usize))
            .chain(Some(body % MSS).filter(|rest| *rest > 0));
        let (mut bytes, mut arrived) = (TCP_IP, 0);
        for size in sizes.collect::<Vec<_>>() {
            let (mut at, mut rto) = (0, DATA_RTO);
            bytes += size + TCP_IP;
            while self.lost() {
                bytes += size + TCP_IP;
                at += rto;
                rto *= 2;
            }
            arrived = arrived.max(at + self.latency());
        }
        (bytes, arrived)
    }

    /// What the Gossiper does with a finished session: the peer's own records are relayed on
    /// foca, everything is merged, and a peer not seen up is added as a member.
    fn exchanged(&mut self, at: usize, peer: usize, received: Vec<WireService>) {
        let received: Vec<Service> = received
            .into_iter()
            .filter_map(|wire| Service::try_from(wire).ok())
            .collect();
        let peer_id = self.nodes[peer].m.identity().clone();
        for svc in received.iter().filter(|s| s.hostname == peer_id.name) {
            self.broadcast(at, svc);
        }
        self.merge(at, received);
        let known = self.nodes[at].m.members().any(|m| m.name == peer_id.name);
        if !known {
            let fx = self.nodes[at].m.apply_members(std::iter::once(peer_id));
            self.effects(at, fx);
        }
    }
}
