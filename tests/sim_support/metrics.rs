//! What a run measures: bytes by kind, anti-entropy sessions, how long a change takes to
//! reach every live node, and percentiles.

use std::collections::HashMap;

use foca::{Codec, PostcardCodec};
use sidecar::catalog::Service;
use sidecar::clock::Timestamp;
use sidecar::gossip::exchange::Outcome;
use sidecar::gossip::node_id::NodeId;

/// Bytes put on the network (headers included), by what carried them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bytes {
    /// SWIM datagrams: probes, acks, membership updates, announces; with their UDP/IP and
    /// frame headers.
    pub swim: u64,
    /// Service records riding in those datagrams (foca custom broadcasts).
    pub records: u64,
    /// Anti-entropy sessions over TCP.
    pub exchange: u64,
    /// Direct checks of members foca declared down, over TCP.
    pub check: u64,
}

/// Which TCP traffic a segment belongs to.
#[derive(Clone, Copy, Debug)]
pub(super) enum Tcp {
    Exchange,
    Check,
}

impl Bytes {
    pub fn total(&self) -> u64 {
        self.swim + self.records + self.exchange + self.check
    }

    /// What was sent since `earlier`.
    pub fn since(&self, earlier: &Bytes) -> Bytes {
        Bytes {
            swim: self.swim - earlier.swim,
            records: self.records - earlier.records,
            exchange: self.exchange - earlier.exchange,
            check: self.check - earlier.check,
        }
    }

    /// Bytes per node per second over `seconds`: total, SWIM, records, anti-entropy, checks.
    pub fn per_node_per_second(&self, nodes: usize, seconds: u64) -> [f64; 5] {
        let rate = |n: u64| n as f64 / nodes as f64 / seconds as f64;
        [
            rate(self.total()),
            rate(self.swim),
            rate(self.records),
            rate(self.exchange),
            rate(self.check),
        ]
    }

    pub(super) fn add(&mut self, kind: Tcp, bytes: u64) {
        match kind {
            Tcp::Exchange => self.exchange += bytes,
            Tcp::Check => self.check += bytes,
        }
    }
}

/// Splits a foca datagram into its SWIM part (header and membership updates) and the
/// service records it carries (the custom broadcasts after them).
pub(super) fn datagram_kinds(data: &[u8]) -> (u64, u64) {
    let whole = data.len() as u64;
    let mut rest = data;
    let mut codec = PostcardCodec;
    let Ok(header) = Codec::<NodeId>::decode_header(&mut codec, &mut rest) else {
        return (whole, 0);
    };
    if rest.len() >= 2 && header.message != foca::Message::Broadcast {
        let updates = u16::from_be_bytes([rest[0], rest[1]]);
        rest = &rest[2..];
        for _ in 0..updates {
            if Codec::<NodeId>::decode_member(&mut codec, &mut rest).is_err() {
                return (whole, 0);
            }
        }
    }
    let records = rest.len() as u64;
    (whole - records, records)
}

/// Why a node opened an anti-entropy session.
#[derive(Clone, Copy, Debug)]
pub(super) enum Why {
    Periodic,
    Heal,
    Rejoin,
}

/// How the anti-entropy sessions went.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExchangeStats {
    /// Sessions opened on the push/pull period, by the heal rule and on rejoining.
    pub periodic: u64,
    pub heal: u64,
    pub rejoin: u64,
    /// Sessions that got connected.
    pub sessions: u64,
    /// Sessions that ended after the summaries.
    pub in_sync: u64,
    /// Sessions that could not connect, timed out or were refused.
    pub failed: u64,
    /// Records sent in `Records` frames, both ways.
    pub records: u64,
    /// Exchanges not started for want of a local session slot (`tcp.busy`).
    pub busy_here: u64,
    /// Connections the callee answered "busy" (`tcp.busy_*`).
    pub busy_there: u64,
}

impl ExchangeStats {
    /// A session that completed, with the outcomes of both sides.
    pub(super) fn note(&mut self, caller: &Outcome, callee: &Outcome) {
        self.records += (caller.sent + callee.sent) as u64;
        self.in_sync += u64::from(caller.sent + callee.sent == 0 && caller.received.is_empty());
    }

    pub(super) fn opened(&mut self, why: Why) {
        match why {
            Why::Periodic => self.periodic += 1,
            Why::Heal => self.heal += 1,
            Why::Rejoin => self.rejoin += 1,
        }
    }
}

/// Changes being followed until every live node holds them (or a newer version).
#[derive(Debug, Default)]
pub struct Convergence {
    /// host → id → the versions followed.
    pending: HashMap<String, HashMap<String, Vec<Track>>>,
    /// How long each change took to reach every live node, in µs.
    pub times_us: Vec<u64>,
}

#[derive(Debug)]
struct Track {
    version: Timestamp,
    start_us: u64,
    /// One bit per node that holds this version or a newer one.
    holders: Vec<u64>,
    count: usize,
}

impl Convergence {
    /// Follows `svc`'s version, which node `origin` just stamped.
    pub(super) fn start(&mut self, svc: &Service, origin: usize, nodes: usize, now_us: u64) {
        let mut holders = vec![0; nodes.div_ceil(64)];
        holders[origin / 64] |= 1 << (origin % 64);
        let track = Track {
            version: svc.updated,
            start_us: now_us,
            holders,
            count: 1,
        };
        let ids = self.pending.entry(svc.hostname.clone()).or_default();
        ids.entry(svc.id.clone()).or_default().push(track);
    }

    pub(super) fn tracks(&self, host: &str, id: &str) -> bool {
        self.pending
            .get(host)
            .is_some_and(|ids| ids.contains_key(id))
    }

    /// Node `node` accepted `version` of record `(host, id)`.
    pub(super) fn reached(
        &mut self,
        (host, id, version): (&str, &str, Timestamp),
        node: usize,
        live: usize,
        now_us: u64,
    ) -> Vec<u64> {
        let Some(tracks) = self.pending.get_mut(host).and_then(|ids| ids.get_mut(id)) else {
            return Vec::new();
        };
        let (word, bit) = (node / 64, 1 << (node % 64));
        for track in tracks.iter_mut().filter(|t| t.version <= version) {
            if track.holders[word] & bit == 0 {
                track.holders[word] |= bit;
                track.count += 1;
            }
        }
        let (done, open): (Vec<Track>, Vec<Track>) =
            tracks.drain(..).partition(|t| t.count >= live);
        let took: Vec<u64> = done.iter().map(|t| now_us - t.start_us).collect();
        self.times_us.extend(&took);
        *tracks = open;
        if tracks.is_empty() {
            let ids = self.pending.get_mut(host);
            if let Some(ids) = ids {
                ids.remove(id);
                if ids.is_empty() {
                    self.pending.remove(host);
                }
            }
        }
        took
    }

    /// For each change that has not reached every live node yet, how many live nodes lack it.
    pub fn missing(&self, live: usize) -> Vec<usize> {
        self.pending
            .values()
            .flat_map(|ids| ids.values())
            .flatten()
            .map(|t| live.saturating_sub(t.count))
            .collect()
    }

    /// Changes that have not reached every live node yet.
    pub fn unconverged(&self) -> usize {
        self.pending
            .values()
            .flat_map(|ids| ids.values())
            .map(Vec::len)
            .sum()
    }
}

/// p-th percentile (0..=100) of `v` in seconds.
pub fn pct(v: &[u64], p: usize) -> f64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() - 1) * p).div_ceil(100);
    v[i] as f64 / 1e6
}
