//! A member's identity: its name (the hostname records are filed under), the address peers
//! reach it at, and an incarnation that a restart or a rejoin bumps.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

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
    /// The name, folded into 64 bits (`fold`): foca compares the address of every member
    /// it holds on each update it applies, so it asks for a lean type.
    type Addr = u64;

    fn renew(&self) -> Option<Self> {
        Some(NodeId {
            incarnation: self.incarnation.wrapping_add(1),
            ..self.clone()
        })
    }

    fn addr(&self) -> u64 {
        fold(self.name.as_bytes())
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.incarnation > adversary.incarnation
    }
}

/// Folds `bytes` into 64 bits eight at a time, as rustc's FxHasher does: several times
/// quicker than a byte-wise hash on the short strings hostnames are. Names of up to eight
/// bytes and one length never collide; longer names collide about as rarely as under any
/// 64-bit hash unless crafted to, and a name is no secret a member could not already claim
/// outright.
fn fold(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let step = |hash: u64, word: u64| (hash.rotate_left(5) ^ word).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    let mut hash = (bytes.len() as u64).wrapping_mul(K);
    for word in &mut words {
        hash = step(
            hash,
            u64::from_le_bytes(word.try_into().unwrap_or_default()),
        );
    }
    let tail = words.remainder().iter().rev();
    step(
        hash,
        tail.fold(0, |word, byte| word << 8 | u64::from(*byte)),
    )
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
