//! Anti-entropy by digests (docs/PROTOCOL.md §11): a [`Digest`] summarises each host's records in
//! a few bytes (newest `Updated`, count, a stable hash of `(id, updated, status)`), and
//! [`compare`] turns a peer's digest into a [`Plan`] naming only the hosts that differ. An
//! exchange therefore costs the difference, not the catalogue. A [`Summary`] folds the whole
//! digest into one hash: two nodes that agree learn it from a dozen bytes each way, which is
//! what most exchanges of a steady cluster are.
//!
//! When a host differs, both sides send their records of that host: the merge is a join
//! (commutative, associative, idempotent), so exchanging both ways is safe and leaves both
//! sides equal for that host. Because [`compare`] is symmetric, each side can work out what
//! the other will send without being asked.
//!
//! Pure: no I/O, no clock.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::hash::Fnv64;
use super::records::{WireService, nanos};
use crate::catalog::{Server, ServicesState};
use crate::clock::Timestamp;

/// The summary of one host's records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerDigest {
    /// The hostname.
    pub host: String,
    /// The newest `Updated` among its records.
    #[serde(with = "nanos")]
    pub newest: Timestamp,
    /// How many records (all statuses).
    pub count: u32,
    /// FNV-1a 64 over its records' `(id, updated, status)` in ID order.
    pub hash: u64,
}

/// Per-host summaries of a whole catalogue, hosts in name order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// One entry per host holding at least one record.
    pub servers: Vec<ServerDigest>,
}

/// A whole catalogue in one hash: equal summaries mean equal digests (but for a 64-bit
/// collision).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// FNV-1a 64 over every host's digest entry, hosts in name order.
    pub hash: u64,
    /// How many hosts the digest lists.
    pub hosts: u32,
}

impl Digest {
    /// The summary of this digest.
    pub fn summary(&self) -> Summary {
        let mut hash = Fnv64::new();
        for server in &self.servers {
            hash.write_str(&server.host)
                .write(&server.newest.unix_nanos().to_le_bytes())
                .write(&server.count.to_le_bytes())
                .write(&server.hash.to_le_bytes());
        }
        Summary {
            hash: hash.finish(),
            hosts: u32::try_from(self.servers.len()).unwrap_or(u32::MAX),
        }
    }

    /// The digest of `state`.
    pub fn of(state: &ServicesState) -> Digest {
        Digest {
            servers: state
                .servers
                .iter()
                .filter(|(_, s)| !s.services.is_empty())
                .map(|(host, s)| server_digest(host, s))
                .collect(),
        }
    }
}

fn server_digest(host: &str, server: &Server) -> ServerDigest {
    let mut hash = Fnv64::new();
    let mut newest = Timestamp::ZERO;
    for (id, svc) in &server.services {
        hash.write_str(id)
            .write(&svc.updated.unix_nanos().to_le_bytes())
            .write(&[svc.status.code()]);
        newest = newest.max(svc.updated);
    }
    ServerDigest {
        host: host.to_owned(),
        newest,
        count: u32::try_from(server.services.len()).unwrap_or(u32::MAX),
        hash: hash.finish(),
    }
}

/// What to exchange with a peer after comparing digests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Hosts whose records we send: we hold some and the peer's summary differs.
    pub send: Vec<String>,
    /// Hosts whose records we expect: the peer holds some and ours differs.
    pub want: Vec<String>,
}

impl Plan {
    /// Whether the two catalogues already agree.
    pub fn is_empty(&self) -> bool {
        self.send.is_empty() && self.want.is_empty()
    }
}

/// Compares `local` with a peer's `remote` digest. Hosts both hold with equal summaries are
/// left out; a host held on one side only is sent or wanted; a host whose summaries differ is
/// both sent and wanted. Names come out sorted. A remote host listed twice counts once (its
/// last entry), and a remote entry with no records is treated as absent.
pub fn compare(local: &ServicesState, remote: &Digest) -> Plan {
    let ours: BTreeMap<&str, ServerDigest> = local
        .servers
        .iter()
        .filter(|(_, s)| !s.services.is_empty())
        .map(|(host, s)| (host.as_str(), server_digest(host, s)))
        .collect();
    let theirs: BTreeMap<&str, &ServerDigest> = remote
        .servers
        .iter()
        .filter(|d| d.count > 0)
        .map(|d| (d.host.as_str(), d))
        .collect();
    let mut plan = Plan::default();
    for (host, digest) in &ours {
        match theirs.get(host) {
            Some(remote) if *remote == digest => {}
            Some(_) => {
                plan.send.push((*host).to_owned());
                plan.want.push((*host).to_owned());
            }
            None => plan.send.push((*host).to_owned()),
        }
    }
    let missing = theirs.keys().filter(|host| !ours.contains_key(*host));
    plan.want.extend(missing.map(|host| (*host).to_owned()));
    plan.want.sort();
    plan
}

/// Every record `state` holds for `hosts`, in wire form (unknown hosts are skipped).
pub fn records_for(state: &ServicesState, hosts: &[String]) -> Vec<WireService> {
    hosts
        .iter()
        .filter_map(|host| state.servers.get(host))
        .flat_map(|server| server.services.values())
        .map(WireService::from)
        .collect()
}

#[cfg(test)]
#[path = "tests/digest.rs"]
mod tests;
