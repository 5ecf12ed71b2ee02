//! The checks of a TCP session's hellos (docs/PROTOCOL.md, "Sessions"): each side sends a
//! fresh random challenge, the answer must carry the caller's back, and every later frame
//! authenticates both ([`super::wire::FrameContext::bound`]). So a recorded answer does not
//! pass for a fresh one, and a recorded session does not replay: its frames were sealed
//! for other challenges.
//!
//! A node too busy to read the hello answers "busy" without the challenge, stamped with its
//! clock; such an answer counts as alive only while it is recent ([`BUSY_FRESH_FOR`]).
//!
//! Pure: time comes in as Unix seconds; the challenges are drawn by the caller.

use super::wire::{Challenge, sender_of};

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

#[cfg(test)]
#[path = "tests/handshake.rs"]
mod tests;
