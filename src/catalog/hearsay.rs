//! Hearsay: what a peer says in an exchange about a third node's records.
//!
//! A peer that lost sight of a member (a partition, a false suspicion) tombstones that
//! member's records on its own authority. Once the two sides meet again, those derived
//! tombstones reach nodes that never lost the member, and would hide its live services until
//! the member re-asserted them. So a node that sees a member as live takes a tombstone of that
//! member's records only from the member itself: its broadcasts, or an exchange with it
//! (docs/PROTOCOL.md §12). Pure: the caller passes the live members.

use super::service::{Service, ServiceStatus};

/// Whether `svc`, received in an exchange with `peer`, is a tombstone of a record of another
/// live member (not `peer`, not this node `own`), which must not be applied.
pub fn is_hearsay_tombstone(svc: &Service, peer: &str, own: &str, live: &[String]) -> bool {
    svc.status == ServiceStatus::Tombstone
        && svc.hostname != peer
        && svc.hostname != own
        && live.contains(&svc.hostname)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tombstone_of(host: &str) -> Service {
        Service {
            hostname: host.into(),
            status: ServiceStatus::Tombstone,
            ..Service::default()
        }
    }

    fn live() -> Vec<String> {
        ["node-a", "node-b", "node-c"].map(String::from).to_vec()
    }

    #[test]
    fn a_third_partys_tombstone_of_a_live_members_record_is_hearsay() {
        assert!(is_hearsay_tombstone(
            &tombstone_of("node-c"),
            "node-b",
            "node-a",
            &live()
        ));
    }

    #[test]
    fn the_members_own_tombstone_is_not_hearsay() {
        assert!(!is_hearsay_tombstone(
            &tombstone_of("node-b"),
            "node-b",
            "node-a",
            &live()
        ));
    }

    #[test]
    fn a_tombstone_of_a_member_that_is_not_live_is_not_hearsay() {
        assert!(!is_hearsay_tombstone(
            &tombstone_of("node-d"),
            "node-b",
            "node-a",
            &live()
        ));
    }

    #[test]
    fn this_nodes_own_records_are_left_to_its_own_authority() {
        assert!(!is_hearsay_tombstone(
            &tombstone_of("node-a"),
            "node-b",
            "node-a",
            &live()
        ));
    }

    #[test]
    fn a_live_record_is_never_hearsay() {
        let alive = Service {
            status: ServiceStatus::Alive,
            ..tombstone_of("node-c")
        };
        assert!(!is_hearsay_tombstone(&alive, "node-b", "node-a", &live()));
    }
}
