//! What a [`super::Membership`] call asks of its caller, and the runtime that collects it.

use std::net::SocketAddr;
use std::time::Duration;

use foca::{Message, Notification, OwnedNotification, Runtime, Timer};

use crate::gossip::broadcast::{BroadcastError, BroadcastItem};
use crate::gossip::node_id::NodeId;

/// A timer to hand back to [`super::Membership::handle_timer`] once its delay has passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerToken(pub(super) Kind);

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Foca(Timer<NodeId>),
    ConfirmDeadline(NodeId),
    StartConfirm(NodeId),
    Recheck(String),
}

/// Everything the caller must do after one call. Nothing here has happened yet.
#[derive(Debug, Default)]
#[must_use = "datagrams must be sent, timers scheduled and confirmations answered"]
pub struct Effects {
    /// Datagrams to send.
    pub send: Vec<(SocketAddr, Vec<u8>)>,
    /// Timers to deliver back after their delay.
    pub timers: Vec<(TimerToken, Duration)>,
    /// Members now up for the application: new, or back after they were reported down.
    pub member_up: Vec<NodeId>,
    /// Members that stayed up for the application and now go by a renewed identity (foca
    /// declared them down, the direct check said otherwise, and they rejoined). Nothing of
    /// theirs was tombstoned here, so there is nothing to heal.
    pub member_renewed: Vec<NodeId>,
    /// Members confirmed down: tombstone their records.
    pub member_down: Vec<NodeId>,
    /// Members to check directly now: foca declared them down, or this node's own probe of
    /// them just failed. Check each and answer with [`super::Membership::checked`].
    pub check: Vec<NodeId>,
    /// Records new to this node, received from peers (foca relays them).
    pub received: Vec<BroadcastItem>,
    /// This node had been declared down and rejoined under a renewed identity: peers may
    /// hold its records as tombstones, so it should exchange with a member and re-assert them.
    pub rejoined: bool,
    /// The input was refused (count it); everything above still applies.
    pub error: Option<MembershipError>,
}

impl Effects {
    /// Appends `other` to these effects.
    pub fn extend(&mut self, other: Effects) {
        self.send.extend(other.send);
        self.timers.extend(other.timers);
        self.member_up.extend(other.member_up);
        self.member_renewed.extend(other.member_renewed);
        self.member_down.extend(other.member_down);
        self.check.extend(other.check);
        self.received.extend(other.received);
        self.rejoined |= other.rejoined;
        self.error = self.error.take().or(other.error);
    }

    pub(super) fn failed(error: MembershipError) -> Effects {
        Effects {
            error: Some(error),
            ..Effects::default()
        }
    }
}

/// Why a call failed; the node's state is still consistent (foca drops the bad input).
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    /// foca refused the input (malformed, too big, from ourselves, ...).
    #[error("membership: {0}")]
    Foca(#[from] foca::Error),
    /// A broadcast item could not be encoded.
    #[error(transparent)]
    Item(#[from] BroadcastError),
}

/// Direct probes sent and acks received during one foca call (for the loss estimate).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Probes {
    pub(super) pings: u32,
    pub(super) acks: u32,
}

/// What one foca call did besides its effects: its notifications, the direct probes' pings
/// and acks (counted, not kept: foca reports every datagram), and which of the datagrams to
/// send tell their member it was declared down (`TurnUndead`), by index in `send`.
#[derive(Default)]
pub(super) struct Collected {
    pub(super) notes: Vec<OwnedNotification<NodeId>>,
    pub(super) probes: Probes,
    pub(super) turn_undead: Vec<(usize, NodeId)>,
}

/// foca's runtime: collects sends and timers, and what [`Collected`] lists.
#[derive(Default)]
pub(super) struct Collect {
    effects: Effects,
    collected: Collected,
}

impl Collect {
    pub(super) fn finish(self) -> (Effects, Collected) {
        (self.effects, self.collected)
    }
}

impl Runtime<NodeId> for Collect {
    fn notify(&mut self, notification: Notification<'_, NodeId>) {
        let collected = &mut self.collected;
        match notification {
            // foca reports a datagram right after handing it to `send_to`.
            Notification::DataSent(header) => match header.message {
                Message::Ping(_) => collected.probes.pings += 1,
                Message::TurnUndead => {
                    let sent = self.effects.send.len().saturating_sub(1);
                    collected.turn_undead.push((sent, header.dst.clone()));
                }
                _ => {}
            },
            Notification::DataReceived(header) => {
                collected.probes.acks += u32::from(matches!(header.message, Message::Ack(_)));
            }
            other => collected.notes.push(other.to_owned()),
        }
    }

    fn send_to(&mut self, to: NodeId, data: &[u8]) {
        self.effects.send.push((to.addr, data.to_vec()));
    }

    fn submit_after(&mut self, event: Timer<NodeId>, after: Duration) {
        self.effects
            .timers
            .push((TimerToken(Kind::Foca(event)), after));
    }
}
