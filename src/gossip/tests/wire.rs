//! Tests of [`super`]: round trips of every message kind with and without keys, refusals by
//! kind, datagram packing, and decoding that never panics on arbitrary or mutated bytes.

use proptest::prelude::*;

use super::*;
use crate::catalog::{Port, Service, ServiceStatus};
use crate::clock::Timestamp;
use crate::gossip::digest::{ServerDigest, Summary};

fn ring(byte: u8) -> KeyRing {
    KeyRing::new(&[[byte; 32]]).unwrap()
}

fn ctx(keys: Option<&KeyRing>) -> FrameContext<'_> {
    FrameContext::stream(ClusterId::of("test"), keys)
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (-62_135_596_800_i64..253_402_300_799, 0_u32..1_000_000_000).prop_map(|(secs, nanos)| {
        Timestamp::from_unix_nanos(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
    })
}

fn wire_port() -> impl Strategy<Value = WirePort> {
    ("[a-z]{0,4}", any::<i64>(), any::<i64>(), "[0-9.]{0,15}").prop_map(
        |(kind, port, service_port, ip)| WirePort {
            kind,
            port,
            service_port,
            ip,
        },
    )
}

fn wire_service() -> impl Strategy<Value = WireService> {
    let text = "\\PC{0,16}";
    let ports = proptest::option::of(proptest::collection::vec(wire_port(), 0..4));
    (
        (text, text, text, timestamp(), text),
        (ports, timestamp(), text, 0_u8..5),
    )
        .prop_map(
            |((id, name, image, created, hostname), (ports, updated, mode, status))| WireService {
                id,
                name,
                image,
                created,
                hostname,
                ports,
                updated,
                proxy_mode: mode,
                status,
            },
        )
}

fn message() -> impl Strategy<Value = Message> {
    let records = || proptest::collection::vec(wire_service(), 0..6);
    let server = ("\\PC{0,12}", timestamp(), any::<u32>(), any::<u64>()).prop_map(
        |(host, newest, count, hash)| ServerDigest {
            host,
            newest,
            count,
            hash,
        },
    );
    let digest = proptest::collection::vec(server, 0..6).prop_map(|servers| Digest { servers });
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Message::Swim),
        records().prop_map(Message::Services),
        digest.prop_map(Message::Digest),
        (any::<u64>(), any::<u32>())
            .prop_map(|(hash, hosts)| Message::Summary(Summary { hash, hosts })),
        records().prop_map(Message::Records),
        "\\PC{0,12}".prop_map(|name| Message::Leave { name }),
        (
            "\\PC{0,12}",
            any::<u64>(),
            any::<bool>(),
            any::<[u8; 16]>(),
            proptest::option::of(any::<[u8; 16]>())
        )
            .prop_map(|(name, inc, exchange, challenge, answer)| {
                let addr = std::net::SocketAddr::from(([127, 0, 0, 2], 7946));
                Message::Hello {
                    node: crate::gossip::node_id::NodeId::new(&name, addr, inc),
                    exchange,
                    challenge,
                    answer,
                }
            }),
        (
            "\\PC{0,12}",
            any::<u64>(),
            proptest::option::of(any::<[u8; 16]>()),
            any::<u64>()
        )
            .prop_map(|(name, inc, answer, at)| {
                let addr = std::net::SocketAddr::from(([127, 0, 0, 3], 7946));
                Message::Busy {
                    node: crate::gossip::node_id::NodeId::new(&name, addr, inc),
                    answer,
                    at,
                }
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_message_round_trips_with_and_without_keys(msg in message()) {
        let keys = ring(7);
        for ctx in [ctx(None), ctx(Some(&keys))] {
            let frame = encode(&msg, &ctx).unwrap();
            prop_assert_eq!(decode(&frame, &ctx).unwrap(), msg.clone());
        }
    }

    #[test]
    fn wire_records_convert_to_services_and_back_losslessly(wire in wire_service()) {
        let service = Service::try_from(wire.clone()).unwrap();
        prop_assert_eq!(WireService::from(&service), wire);
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let keys = ring(7);
        let _ = decode(&bytes, &ctx(None));
        let _ = decode(&bytes, &ctx(Some(&keys)));
        let mut framed = header(ClusterId::of("test"), 0, bytes.first().map_or(2, |b| b % 8));
        let mut with_header = framed.to_vec();
        with_header.extend_from_slice(&bytes);
        let _ = decode(&with_header, &ctx(None));
        framed[3] = FLAG_ENCRYPTED;
        let _ = decode(&[&framed[..], &bytes].concat(), &ctx(Some(&keys)));
    }

    #[test]
    fn decode_never_panics_on_mutated_frames(
        msg in message(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 0_u8..8), 1..4),
        cut in any::<prop::sample::Index>(),
        tail in proptest::collection::vec(any::<u8>(), 1..8),
    ) {
        let keys = ring(7);
        for ctx in [ctx(None), ctx(Some(&keys))] {
            let frame = encode(&msg, &ctx).unwrap();
            let mut flipped = frame.clone();
            for (at, bit) in &flips {
                if let Some(byte) = flipped.get_mut(at.index(frame.len())) {
                    *byte ^= 1 << bit;
                }
            }
            let truncated = frame.get(..cut.index(frame.len())).unwrap_or_default();
            let extended = [&frame[..], &tail].concat();
            let results = [decode(&flipped, &ctx), decode(truncated, &ctx), decode(&extended, &ctx)];
            if ctx.keys.is_some() {
                // Authenticated: no mutation gets through (two flips of the same bit are
                // no mutation).
                prop_assert!(flipped == frame || results[0].is_err());
                prop_assert!(results[1..].iter().all(Result::is_err));
            }
        }
    }

    #[test]
    fn packed_datagrams_fit_and_lose_nothing(
        records in proptest::collection::vec(wire_service(), 0..40),
        budget in 64_usize..600,
    ) {
        let packed = split_services(records.clone(), budget);
        let ctx = FrameContext { max_size: budget + HEADER_LEN, ..ctx(None) };
        for batch in &packed.datagrams {
            prop_assert!(!batch.is_empty());
            let frame = encode(&Message::Services(batch.clone()), &ctx);
            prop_assert!(frame.is_ok(), "{:?}", frame);
        }
        for big in &packed.oversized {
            prop_assert!(encode(&Message::Services(vec![big.clone()]), &ctx).is_err());
        }
        let mut all: Vec<_> = packed.datagrams.into_iter().flatten().chain(packed.oversized).collect();
        let mut expected = records;
        let key = |r: &WireService| postcard::to_stdvec(r).unwrap();
        all.sort_by_key(key);
        expected.sort_by_key(key);
        prop_assert_eq!(all, expected);
    }
}

fn sample() -> Message {
    let service = Service {
        id: "abc".into(),
        hostname: "h1".into(),
        ports: Some(vec![Port::default()]),
        status: ServiceStatus::Draining,
        ..Service::default()
    };
    Message::Services(vec![WireService::from(&service)])
}

#[test]
fn a_frame_of_another_cluster_is_refused() {
    let theirs = FrameContext {
        cluster: ClusterId::of("other"),
        ..ctx(None)
    };
    let frame = encode(&sample(), &theirs).unwrap();
    assert_eq!(decode(&frame, &ctx(None)), Err(DecodeError::OtherCluster));
}

#[test]
fn a_frame_sealed_with_another_key_is_refused() {
    let (ours, theirs) = (ring(1), ring(2));
    let frame = encode(&sample(), &ctx(Some(&theirs))).unwrap();
    assert_eq!(decode(&frame, &ctx(Some(&ours))), Err(DecodeError::Decrypt));
}

#[test]
fn a_rotated_ring_reads_the_old_key_and_writes_the_new_one() {
    let old = KeyRing::new(&[[1_u8; 16]]).unwrap();
    let new = KeyRing::new(&[[2_u8; 32]]).unwrap();
    let rotated = KeyRing::new(&[vec![2_u8; 32], vec![1_u8; 16]]).unwrap();
    let from_old = encode(&sample(), &ctx(Some(&old))).unwrap();
    assert_eq!(decode(&from_old, &ctx(Some(&rotated))), Ok(sample()));
    let from_rotated = encode(&sample(), &ctx(Some(&rotated))).unwrap();
    assert_eq!(decode(&from_rotated, &ctx(Some(&new))), Ok(sample()));
    assert_eq!(
        decode(&from_rotated, &ctx(Some(&old))),
        Err(DecodeError::Decrypt)
    );
}

#[test]
fn plaintext_is_refused_when_keys_are_set_and_sealed_frames_without_keys() {
    let keys = ring(1);
    let plain = encode(&sample(), &ctx(None)).unwrap();
    assert_eq!(
        decode(&plain, &ctx(Some(&keys))),
        Err(DecodeError::PlaintextRefused)
    );
    let sealed = encode(&sample(), &ctx(Some(&keys))).unwrap();
    assert_eq!(decode(&sealed, &ctx(None)), Err(DecodeError::NoKeys));
    let mut forged = sealed;
    if let Some(flags) = forged.get_mut(3) {
        *flags = 0;
    }
    assert_eq!(
        decode(&forged, &ctx(Some(&keys))),
        Err(DecodeError::PlaintextRefused)
    );
}

#[test]
fn oversized_frames_are_refused_both_ways() {
    let small = FrameContext::datagram(ClusterId::of("test"), None);
    let big = Message::Swim(vec![0; MAX_DATAGRAM]);
    let err = encode(&big, &small).unwrap_err();
    assert!(matches!(
        err,
        EncodeError::TooLarge {
            max: MAX_DATAGRAM,
            ..
        }
    ));
    let frame = encode(&big, &ctx(None)).unwrap();
    let err = decode(&frame, &small).unwrap_err();
    assert_eq!(err.kind(), "too_large");
}

#[test]
fn header_checks_say_why() {
    let frame = encode(&sample(), &ctx(None)).unwrap();
    let with = |at: usize, value: u8| {
        let mut f = frame.clone();
        if let Some(b) = f.get_mut(at) {
            *b = value;
        }
        decode(&f, &ctx(None)).unwrap_err().kind()
    };
    assert_eq!(with(0, b'X'), "bad_magic");
    assert_eq!(
        with(2, 1),
        "unsupported_version",
        "version 1 frames are refused"
    );
    assert_eq!(with(3, 0x80), "malformed");
    assert_eq!(with(12, 99), "unknown_kind");
    assert_eq!(
        decode(&frame[..5], &ctx(None)).unwrap_err().kind(),
        "too_short"
    );
    let trailing = [&frame[..], &[0]].concat();
    assert_eq!(
        decode(&trailing, &ctx(None)).unwrap_err().kind(),
        "malformed"
    );
}

#[test]
fn an_oversized_record_does_not_block_the_others() {
    let small = |id: &str| WireService {
        id: id.into(),
        ..WireService::default()
    };
    let huge = WireService {
        image: "x".repeat(2000),
        ..small("big")
    };
    let records = vec![small("a"), huge.clone(), small("b")];
    let budget = FrameContext::datagram(ClusterId::of("test"), None).body_budget();
    let packed = split_services(records, budget);
    assert_eq!(packed.oversized, vec![huge]);
    assert_eq!(packed.datagrams, vec![vec![small("a"), small("b")]]);
}

#[test]
fn the_body_budget_accounts_for_the_header_and_sealing() {
    let keys = ring(1);
    let plain = FrameContext::datagram(ClusterId::of("test"), None);
    let sealed = FrameContext::datagram(ClusterId::of("test"), Some(&keys));
    assert_eq!(plain.body_budget(), MAX_DATAGRAM - HEADER_LEN);
    // Sender (8), nonce (24), tag (16).
    assert_eq!(sealed.body_budget(), MAX_DATAGRAM - HEADER_LEN - 48);
    let exact = Message::Swim(vec![0; sealed.body_budget()]);
    assert_eq!(encode(&exact, &sealed).map(|f| f.len()), Ok(MAX_DATAGRAM));
}

#[test]
fn cluster_ids_are_stable_across_builds() {
    assert_eq!(
        ClusterId::of("default"),
        ClusterId(0xebad_a516_8620_c5fe_u64)
    );
}
