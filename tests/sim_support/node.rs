//! One simulated node: what its actors hold (the membership and the catalogue) and what its
//! discovery observes of its own services, with the daemon's periodic passes over them.

use std::collections::BTreeSet;

use sidecar::catalog::{Catalog, LocalSync, Port, Service};
use sidecar::clock::Timestamp;
use sidecar::config::plan::GOSSIP_MAX_SESSIONS;
use sidecar::gossip::admission::{Admission, AdmissionLimits};
use sidecar::gossip::lifecycle::{JoinPolicy, Lifecycle};
use sidecar::gossip::membership::Membership;

pub(super) struct Node {
    pub(super) m: Membership,
    pub(super) catalog: Catalog,
    /// The Gossiper's connection counts, with the daemon's limits.
    pub(super) admission: Admission,
    /// A member of the cluster already (joined through its seeds).
    pub(super) lifecycle: Lifecycle,
    /// What discovery reports of this node's services; versions are the catalogue's business.
    pub(super) observed: Vec<Service>,
    pub(super) alive: bool,
    pub(super) group: u8,
    /// While frozen (SIGSTOP): until when, in µs of virtual time.
    pub(super) frozen_until: Option<u64>,
    /// Bytes the kernel holds in the frozen process's UDP receive buffer.
    pub(super) buffered: usize,
    /// When it last rejoined under a renewed identity, µs.
    pub(super) rejoined_us: Option<u64>,
}

impl Node {
    /// A node as after its join: `m` knows the cluster, `catalog` holds every record.
    pub(super) fn new(m: Membership, catalog: Catalog, observed: Vec<Service>) -> Node {
        let mut lifecycle = Lifecycle::new(JoinPolicy::default(), true);
        let _ = lifecycle.join_due(true);
        Node {
            m,
            catalog,
            admission: Admission::new(AdmissionLimits {
                sessions: GOSSIP_MAX_SESSIONS,
                ..AdmissionLimits::default()
            }),
            lifecycle,
            observed,
            alive: true,
            group: 0,
            frozen_until: None,
            buffered: 0,
            rejoined_us: None,
        }
    }
}

impl Node {
    /// The health checker's report (every second, and on a change): the records the
    /// catalogue stamped with a new version, which the Gossiper broadcasts.
    pub(super) fn discover(&mut self, now: Timestamp) -> LocalSync {
        let observed = self.observed.clone();
        self.catalog.sync_local(observed, &BTreeSet::new(), now)
    }

    /// The StateKeeper's pass: vouch for the live members, then expire.
    pub(super) fn expire(&mut self, now: Timestamp) {
        let members = self.m.members().map(|m| m.name.as_str());
        self.catalog.vouch(members, now);
        let _ = self.catalog.expire(now);
    }
}

/// The services node `i` runs, shaped as the Docker watcher reports them: a 12-hex container
/// ID, an image, one mapped port, a proxy mode.
pub(super) fn services(i: usize, host: &str, count: usize) -> Vec<Service> {
    let created = Timestamp::from_unix_secs(1_700_000_000);
    (0..count)
        .map(|s| Service {
            id: format!("{:012x}", (i << 16 | s) * 0x9e37_79b1 % (1 << 48)),
            name: format!("svc-{s}"),
            image: format!("registry.example.com/team/svc-{s}:1.{s}.0"),
            created,
            hostname: host.to_owned(),
            ports: Some(vec![Port {
                kind: "tcp".to_owned(),
                port: 32_768 + s as i64,
                service_port: 8_000 + s as i64,
                ip: format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
            }]),
            proxy_mode: "http".to_owned(),
            ..Service::default()
        })
        .collect()
}
