//! The checks of a TCP session's hellos (docs/PROTOCOL.md, "Sessions"): each side sends a
//! fresh random challenge, the answer must carry the caller's back, and every later frame
//! authenticates both ([`super::wire::FrameContext::bound`]). So a recorded answer does not
//! pass for a fresh one, and a recorded session does not replay: its frames were sealed
//! for other challenges.
//!
//! A node too busy to read the hello answers "busy" without the challenge, stamped with its
//! clock; such an answer counts as alive only while it is recent ([`BUSY_FRESH_FOR`]).
//!
//! The greetings themselves are built and read here too ([`hello`], [`greeting`],
//! [`busy`], [`caller_hello`], [`answer_to_caller`], [`check_says_alive`]), so that the Gossiper's
//! sessions and the cluster simulation (`tests/sim.rs`) take the same decisions.
//!
//! Pure: time comes in as Unix seconds; the challenges are drawn by the caller.

use super::exchange::ExchangeError;
use super::node_id::NodeId;
use super::wire::{Challenge, FrameContext, Message, open, sender_of};

/// The largest greeting frame: an unauthenticated peer can make a node allocate only this
/// much before the session proves to be of this cluster.
pub const MAX_HELLO: usize = 4096;

/// How far a busy answer without the challenge may be from the checker's clock (either
/// way, so clocks a little apart still agree).
pub const BUSY_FRESH_FOR: u64 = 30;

/// Whether `answer` carries back this side's challenge `mine`.
pub fn answers(answer: Option<&Challenge>, mine: &Challenge) -> bool {
    answer == Some(mine)
}

/// Whether a busy answer says the node is alive: it carries `mine` back, or it carries no
/// challenge and was stamped (`at`) within [`BUSY_FRESH_FOR`] of `now`.
pub fn busy_says_alive(answer: Option<&Challenge>, at: u64, mine: &Challenge, now: u64) -> bool {
    match answer {
        Some(answer) => answer == mine,
        None => now.abs_diff(at) <= BUSY_FRESH_FOR,
    }
}

/// Whether a frame sealed by `sender` (`None`: plaintext) may speak for the node named
/// `speaker`: a sealed hello must be sealed by the node it names.
pub fn sealed_by_speaker(sender: Option<u64>, speaker: &str) -> bool {
    sender.is_none_or(|sender| sender == sender_of(speaker))
}

/// A hello from `me`: `exchange` when the push/pull session follows (else a liveness
/// check), with this side's fresh `challenge` and, in an answer, the caller's.
pub fn hello(
    me: &NodeId,
    exchange: bool,
    challenge: Challenge,
    answer: Option<Challenge>,
) -> Message {
    Message::Hello {
        node: me.clone(),
        exchange,
        challenge,
        answer,
    }
}

/// The "busy" answer of `me` at `now` (Unix seconds), carrying the caller's challenge back
/// when its hello was read.
pub fn busy(me: &NodeId, answer: Option<Challenge>, now: u64) -> Message {
    Message::Busy {
        node: me.clone(),
        answer,
        at: now,
    }
}

/// The first frame of a connection, opened with `ctx` within [`MAX_HELLO`]: a hello, or
/// (from a peer this node called) "busy"; a sealed one must be sealed by the node it names.
pub fn greeting(frame: &[u8], ctx: &FrameContext<'_>) -> Result<Message, ExchangeError> {
    let ctx = FrameContext {
        max_size: MAX_HELLO,
        ..*ctx
    };
    let opened = open(frame, &ctx)?;
    let speaker = match &opened.message {
        Message::Hello { node, .. } | Message::Busy { node, .. } => node,
        other => return Err(unexpected_greeting(other.name())),
    };
    if !sealed_by_speaker(opened.sender, &speaker.name) {
        return Err(ExchangeError::Impostor);
    }
    Ok(opened.message)
}

/// A caller's hello, as the side that accepted the connection reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerHello {
    /// Who calls.
    pub node: NodeId,
    /// Whether it asks for an exchange (else it is a liveness check).
    pub exchange: bool,
    /// Its challenge, to carry back.
    pub challenge: Challenge,
}

/// The caller's greeting: a hello that carries no answer.
pub fn caller_hello(greeting: Message) -> Result<CallerHello, ExchangeError> {
    match greeting {
        Message::Hello {
            node,
            exchange,
            challenge,
            answer: None,
        } => Ok(CallerHello {
            node,
            exchange,
            challenge,
        }),
        Message::Hello { .. } => Err(unexpected_greeting("answer")),
        other => Err(unexpected_greeting(other.name())),
    }
}

/// The callee's answer to an exchange's hello of challenge `mine`: who it is and its
/// challenge, or why the exchange cannot go on (busy, or an answer without `mine`).
pub fn answer_to_caller(
    greeting: Message,
    mine: &Challenge,
) -> Result<(NodeId, Challenge), ExchangeError> {
    match greeting {
        Message::Hello {
            node,
            challenge,
            answer,
            ..
        } if answers(answer.as_ref(), mine) => Ok((node, challenge)),
        Message::Busy { .. } => Err(ExchangeError::Busy),
        _ => Err(ExchangeError::Replayed),
    }
}

/// Whether the answer `greeting` to a liveness check of the node named `target`, whose
/// hello carried `mine`, says it is alive at `now` (Unix seconds): a hello as itself with
/// `mine` back, or a busy as itself that [`busy_says_alive`].
pub fn check_says_alive(greeting: &Message, target: &str, mine: &Challenge, now: u64) -> bool {
    match greeting {
        Message::Hello { node, answer, .. } => {
            node.name == target && answers(answer.as_ref(), mine)
        }
        Message::Busy { node, answer, at } => {
            node.name == target && busy_says_alive(answer.as_ref(), *at, mine, now)
        }
        _ => false,
    }
}

fn unexpected_greeting(got: &'static str) -> ExchangeError {
    ExchangeError::Unexpected {
        expected: "hello",
        got,
    }
}

#[cfg(test)]
#[path = "tests/handshake.rs"]
mod tests;
