//! Tests of [`super::Admission`].

use std::net::{IpAddr, Ipv4Addr};

use super::*;

fn ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
}

#[test]
fn one_ip_holding_its_share_of_connections_leaves_the_others_room() {
    let mut admission = Admission::new(AdmissionLimits::default());
    for _ in 0..4 {
        assert_eq!(admission.accept(ip(66)), Ok(()));
    }
    for _ in 0..12 {
        assert_eq!(admission.accept(ip(66)), Err(Refusal::PerIp));
    }
    assert_eq!(admission.accept(ip(2)), Ok(()));
    assert_eq!(admission.hello(ip(2), true), AfterHello::RunSession);
}

#[test]
fn a_liveness_check_is_answered_even_when_every_session_slot_is_taken() {
    let limits = AdmissionLimits::default();
    let mut admission = Admission::new(limits);
    for n in 0..limits.sessions {
        let peer = ip(n as u8);
        admission.accept(peer).unwrap();
        assert_eq!(admission.hello(peer, true), AfterHello::RunSession);
    }
    admission.accept(ip(100)).unwrap();
    assert_eq!(admission.hello(ip(100), false), AfterHello::AnswerCheck);
    admission.closed(ip(100));
    admission.accept(ip(101)).unwrap();
    assert_eq!(admission.hello(ip(101), true), AfterHello::Busy);
    assert!(!admission.start_outgoing());
    admission.session_ended(ip(0));
    assert!(admission.start_outgoing());
}

#[test]
fn connections_waiting_for_their_hello_are_capped_across_ips() {
    let limits = AdmissionLimits {
        waiting: 3,
        ..AdmissionLimits::default()
    };
    let mut admission = Admission::new(limits);
    for n in 0..3 {
        admission.accept(ip(n)).unwrap();
    }
    assert_eq!(admission.accept(ip(9)), Err(Refusal::Waiting));
    admission.failed_before_hello(ip(0));
    assert_eq!(admission.accept(ip(9)), Ok(()));
    assert_eq!(admission.counts(), (3, 0));
}

#[test]
fn every_end_gives_the_ip_its_connection_back() {
    let limits = AdmissionLimits {
        per_ip: 1,
        ..AdmissionLimits::default()
    };
    let mut admission = Admission::new(limits);
    admission.accept(ip(1)).unwrap();
    admission.failed_before_hello(ip(1));
    admission.accept(ip(1)).unwrap();
    assert_eq!(admission.hello(ip(1), false), AfterHello::AnswerCheck);
    admission.closed(ip(1));
    admission.accept(ip(1)).unwrap();
    assert_eq!(admission.hello(ip(1), true), AfterHello::RunSession);
    assert_eq!(admission.accept(ip(1)), Err(Refusal::PerIp));
    admission.session_ended(ip(1));
    assert_eq!(admission.accept(ip(1)), Ok(()));
    assert_eq!(admission.counts(), (1, 0));
}
