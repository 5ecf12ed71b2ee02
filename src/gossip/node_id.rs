//! A member's identity: its name (the hostname records are filed under), the address peers
//! reach it at, and an incarnation that a restart or a rejoin bumps.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::hash::fnv1a64;

/// Who a member is. foca treats two identities with the same `name` as one member: the one
/// with the greater `incarnation` wins, so a restarted node rejoins under its name and
/// supersedes its previous life.
///
/// Seed `incarnation` with the start time in milliseconds so that a restarted process starts
/// above everything its previous life could have reached by renewals.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId {
    /// The node's name: its hostname, which owns its service records.
    pub name: String,
    /// Where peers send datagrams (and open TCP connections) to reach it.
    pub addr: SocketAddr,
    /// Bumped by [`foca::Identity::renew`]; the greater one wins a name conflict.
    pub incarnation: u64,
}

impl NodeId {
    /// An identity for `name` at `addr`.
    pub fn new(name: &str, addr: SocketAddr, incarnation: u64) -> NodeId {
        NodeId {
            name: name.to_owned(),
            addr,
            incarnation,
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}#{}", self.name, self.addr, self.incarnation)
    }
}

impl foca::Identity for NodeId {
    /// The name, as its FNV-1a 64 hash: foca compares the address of every member it holds
    /// on each update it applies, so it asks for a lean type. Two names of one cluster that
    /// hash alike are vanishingly unlikely, and a name is no secret a member could not
    /// already claim outright.
    type Addr = u64;

    fn renew(&self) -> Option<Self> {
        Some(NodeId {
            incarnation: self.incarnation.wrapping_add(1),
            ..self.clone()
        })
    }

    fn addr(&self) -> u64 {
        fnv1a64(self.name.as_bytes())
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.incarnation > adversary.incarnation
    }
}

#[cfg(test)]
mod tests {
    use foca::Identity;

    use super::*;

    #[test]
    fn renewed_identity_wins_the_name_conflict() {
        let old = NodeId::new("a", "127.0.0.1:7946".parse().unwrap(), 5);
        let new = old.renew().unwrap();
        assert_eq!(new.incarnation, 6);
        assert_eq!(new.addr(), old.addr());
        assert!(new.win_addr_conflict(&old));
        assert!(!old.win_addr_conflict(&new));
    }

    #[test]
    fn another_name_is_another_member() {
        let a = NodeId::new("a", "127.0.0.1:7946".parse().unwrap(), 5);
        let b = NodeId::new("b", a.addr, 5);
        assert_ne!(a.addr(), b.addr());
    }
}
