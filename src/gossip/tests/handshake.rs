//! Tests of [`super`]: replayed answers and sessions are refused.

use super::*;
use crate::gossip::crypto::KeyRing;
use crate::gossip::node_id::NodeId;
use crate::gossip::wire::{ClusterId, DecodeError, FrameContext, Message, decode, encode, open};

const MINE: Challenge = [1; 16];
const OLD: Challenge = [2; 16];

#[test]
fn an_answer_counts_only_with_this_sides_challenge() {
    assert!(answers(Some(&MINE), &MINE));
    assert!(
        !answers(Some(&OLD), &MINE),
        "a recorded answer to another hello"
    );
    assert!(!answers(None, &MINE));
}

#[test]
fn a_busy_answer_without_the_challenge_counts_only_while_recent() {
    let now = 1_800_000_000;
    assert!(busy_says_alive(None, now - 5, &MINE, now));
    assert!(
        busy_says_alive(None, now + 5, &MINE, now),
        "a clock a little ahead"
    );
    assert!(
        !busy_says_alive(None, now - 600, &MINE, now),
        "a recording replayed"
    );
    assert!(busy_says_alive(Some(&MINE), 0, &MINE, now));
    assert!(!busy_says_alive(Some(&OLD), now, &MINE, now));
}

#[test]
fn a_sealed_hello_must_be_sealed_by_the_node_it_names() {
    assert!(sealed_by_speaker(None, "a"), "plaintext: nothing to check");
    assert!(sealed_by_speaker(Some(sender_of("a")), "a"));
    assert!(!sealed_by_speaker(Some(sender_of("b")), "a"));
}

fn hello(challenge: Challenge) -> Message {
    Message::Hello {
        node: NodeId::new("a", "127.0.0.1:7946".parse().unwrap(), 1),
        exchange: true,
        challenge,
        answer: None,
    }
}

#[test]
fn a_frame_of_a_recorded_session_does_not_open_in_another_session() {
    let ring = KeyRing::new(&[[5_u8; 32]]).unwrap();
    let base = FrameContext::stream(ClusterId::of("c"), Some(&ring)).sealed_by("a");
    let recorded = base.bound(&OLD, &[3; 16]);
    let frame = encode(&Message::Leave { name: "x".into() }, &recorded).unwrap();
    assert!(decode(&frame, &recorded).is_ok());
    let fresh = base.bound(&OLD, &[4; 16]);
    assert_eq!(decode(&frame, &fresh), Err(DecodeError::Decrypt));
    assert_eq!(
        decode(&frame, &base),
        Err(DecodeError::Decrypt),
        "nor as a hello"
    );
}

#[test]
fn the_sender_is_authenticated_and_cannot_be_rewritten() {
    let ring = KeyRing::new(&[[5_u8; 16]]).unwrap();
    let ctx = FrameContext::stream(ClusterId::of("c"), Some(&ring)).sealed_by("a");
    let mut frame = encode(&hello(MINE), &ctx).unwrap();
    let opened = open(&frame, &ctx).unwrap();
    assert_eq!(opened.sender, Some(sender_of("a")));
    frame[13..21].copy_from_slice(&sender_of("b").to_be_bytes());
    assert_eq!(open(&frame, &ctx), Err(DecodeError::Decrypt));
}

#[test]
fn a_check_is_answered_only_by_the_node_checked_carrying_the_challenge_back() {
    let me = NodeId::new("node-1", "127.0.0.1:7946".parse().unwrap(), 1);
    let other = NodeId::new("node-2", "127.0.0.2:7946".parse().unwrap(), 1);
    let now = 1_800_000_000;
    assert!(check_says_alive(
        &super::hello(&me, false, OLD, Some(MINE)),
        "node-1",
        &MINE,
        now
    ));
    assert!(!check_says_alive(
        &super::hello(&other, false, OLD, Some(MINE)),
        "node-1",
        &MINE,
        now
    ));
    assert!(!check_says_alive(
        &super::hello(&me, false, OLD, Some(OLD)),
        "node-1",
        &MINE,
        now
    ));
    assert!(check_says_alive(
        &busy(&me, None, now - 5),
        "node-1",
        &MINE,
        now
    ));
    assert!(
        caller_hello(super::hello(&me, true, MINE, Some(OLD))).is_err(),
        "a caller's hello carries no answer"
    );
    assert!(matches!(
        answer_to_caller(busy(&me, Some(MINE), now), &MINE),
        Err(ExchangeError::Busy)
    ));
}
