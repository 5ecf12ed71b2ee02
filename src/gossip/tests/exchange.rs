//! Tests of [`super`] over `tokio::io::duplex` and a real loopback `TcpStream` pair: two
//! catalogues converge; garbage, a huge length prefix or silence end the session with an
//! error within the timeout.

use std::time::Duration;

use tokio::io::{AsyncWriteExt, DuplexStream, duplex};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::catalog::{Catalog, Lifespans, ServiceStatus};
use crate::clock::Timestamp;
use crate::gossip::crypto::KeyRing;
use crate::gossip::wire::ClusterId;

fn now() -> Timestamp {
    Timestamp::parse("2026-11-23T08:00:00Z").unwrap()
}

fn svc(host: &str, id: &str, status: ServiceStatus) -> Service {
    Service {
        id: id.into(),
        name: "web".into(),
        hostname: host.into(),
        updated: now(),
        status,
        ..Service::default()
    }
}

fn catalogs() -> (Catalog, Catalog) {
    let mut a = Catalog::new("a", "test", Lifespans::default());
    let mut b = Catalog::new("b", "test", Lifespans::default());
    for record in [
        svc("a", "1", ServiceStatus::Alive),
        svc("c", "3", ServiceStatus::Alive),
    ] {
        let _ = a.apply(record, now());
    }
    for record in [
        svc("b", "2", ServiceStatus::Alive),
        svc("c", "3", ServiceStatus::Tombstone),
    ] {
        let _ = b.apply(record, now());
    }
    (a, b)
}

fn session(keys: Option<&KeyRing>) -> Session<'_> {
    Session {
        frame: FrameContext::stream(ClusterId::of("test"), keys),
        timeout: Duration::from_millis(500),
        bulk: None,
    }
}

fn merge(catalog: &mut Catalog, outcome: Outcome) {
    for record in outcome.received {
        let _ = catalog.apply(record, now());
    }
}

async fn converge<S>(left: &mut S, right: &mut S, keys: Option<&KeyRing>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut a, mut b) = catalogs();
    let s = session(keys);
    let (from_b, from_a) =
        tokio::join!(initiate(left, a.state(), &s), respond(right, b.state(), &s));
    let (from_b, from_a) = (from_b.unwrap(), from_a.unwrap());
    assert_eq!((from_b.sent, from_a.sent), (2, 2));
    merge(&mut a, from_b);
    merge(&mut b, from_a);
    assert_eq!(a.state().servers, b.state().servers);
    assert_eq!(a.state().get("a", "3"), None);
    let c3 = a.state().get("c", "3").map(|s| s.status);
    assert_eq!(c3, Some(ServiceStatus::Tombstone));
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), accepted.unwrap().0)
}

#[tokio::test]
async fn two_catalogues_converge_over_a_duplex_pipe() {
    let (mut left, mut right) = duplex(64 * 1024);
    converge(&mut left, &mut right, None).await;
}

#[tokio::test]
async fn two_catalogues_converge_over_loopback_tcp_with_encryption() {
    let keys = KeyRing::new(&[[9_u8; 32]]).unwrap();
    let (mut left, mut right) = tcp_pair().await;
    converge(&mut left, &mut right, Some(&keys)).await;
    let (mut left, mut right) = tcp_pair().await;
    converge(&mut left, &mut right, None).await;
}

#[tokio::test]
async fn identical_catalogues_exchange_no_records() {
    let (a, _) = catalogs();
    let (mut left, mut right) = duplex(64 * 1024);
    let s = session(None);
    let (x, y) = tokio::join!(
        initiate(&mut left, a.state(), &s),
        respond(&mut right, a.state(), &s)
    );
    assert_eq!((x.unwrap().sent, y.unwrap().sent), (0, 0));
}

/// Runs `respond` against a peer that wrote `bytes` and then stayed silent, open.
async fn respond_to(bytes: &[u8]) -> (ExchangeError, DuplexStream) {
    let (a, _) = catalogs();
    let (mut peer, mut ours) = duplex(64 * 1024);
    peer.write_all(bytes).await.unwrap();
    let err = respond(&mut ours, a.state(), &session(None))
        .await
        .unwrap_err();
    (err, peer)
}

#[tokio::test(start_paused = true)]
async fn a_peer_sending_garbage_is_refused() {
    let garbage = b"this is not a sidecar frame";
    let mut framed = (garbage.len() as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(garbage);
    let (err, _peer) = respond_to(&framed).await;
    assert_eq!(err.kind(), "bad_magic");
}

#[tokio::test(start_paused = true)]
async fn a_huge_length_prefix_is_refused_before_allocating() {
    let (err, _peer) = respond_to(&u32::MAX.to_be_bytes()).await;
    assert!(matches!(err, ExchangeError::TooLarge { len, .. } if len == u64::from(u32::MAX)));
}

#[tokio::test(start_paused = true)]
async fn a_silent_peer_times_out() {
    let (err, _peer) = respond_to(b"").await;
    assert!(matches!(err, ExchangeError::Timeout(_)), "{err:?}");
    let (err, _peer) = respond_to(&100_u32.to_be_bytes()).await;
    assert!(
        matches!(err, ExchangeError::Timeout(_)),
        "a half-sent frame: {err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_hangs_up_ends_the_session() {
    let (a, _) = catalogs();
    let (peer, mut ours) = duplex(1024);
    drop(peer);
    let err = initiate(&mut ours, a.state(), &session(None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExchangeError::Io(_) | ExchangeError::Closed),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_stalled_tcp_peer_ends_the_session_within_the_timeout() {
    let (a, _) = catalogs();
    let (mut ours, _silent_peer) = tcp_pair().await;
    let started = tokio::time::Instant::now();
    let s = session(None);
    let err = initiate(&mut ours, a.state(), &s).await.unwrap_err();
    assert!(matches!(err, ExchangeError::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < s.timeout * 4);
}

#[tokio::test(start_paused = true)]
async fn a_peer_of_another_cluster_or_key_is_refused() {
    let (a, b) = catalogs();
    let keys = KeyRing::new(&[[1_u8; 16]]).unwrap();
    let other_key = KeyRing::new(&[[2_u8; 16]]).unwrap();
    let mut other_cluster = session(None);
    other_cluster.frame.cluster = ClusterId::of("other");
    let cases = [
        (other_cluster, session(None), "other_cluster"),
        (session(Some(&keys)), session(Some(&other_key)), "decrypt"),
        (session(None), session(Some(&keys)), "plaintext_refused"),
    ];
    for (theirs, ours, kind) in cases {
        let (mut left, mut right) = duplex(64 * 1024);
        let (_, mine) = tokio::join!(
            initiate(&mut left, a.state(), &theirs),
            respond(&mut right, b.state(), &ours)
        );
        assert_eq!(mine.unwrap_err().kind(), kind);
    }
}

#[tokio::test]
async fn agreeing_catalogues_stop_after_the_summaries() {
    let (a, _) = catalogs();
    let (mut peer, mut ours) = duplex(64 * 1024);
    let s = session(None);
    let summary = Digest::of(a.state()).summary();
    let hello = encode(&Message::Summary(summary), &s.frame).unwrap();
    write_frame(&mut peer, &hello, s.timeout).await.unwrap();
    let outcome = respond(&mut ours, a.state(), &s).await.unwrap();
    assert_eq!(outcome, Outcome::default());
    let reply = read_frame(&mut peer, s.frame.max_size, s.timeout)
        .await
        .unwrap();
    assert_eq!(decode(&reply, &s.frame).unwrap(), Message::Summary(summary));
    assert!(reply.len() < 32, "a summary frame is {} bytes", reply.len());
}

#[tokio::test]
async fn a_frame_of_many_chunks_arrives_whole() {
    let (mut peer, mut ours) = duplex(64 * 1024);
    let frame: Vec<u8> = (0..3_000_000_u32).map(|i| i as u8).collect();
    let write = write_frame(&mut peer, &frame, Duration::from_secs(5));
    let read = read_frame(&mut ours, frame.len(), Duration::from_secs(5));
    let (written, read) = tokio::join!(write, read);
    written.unwrap();
    assert_eq!(read.unwrap(), frame);
}

#[tokio::test]
async fn a_peer_that_announces_a_large_frame_then_stalls_times_out() {
    let (mut peer, mut ours) = duplex(64 * 1024);
    peer.write_all(&(8_000_000_u32).to_be_bytes())
        .await
        .unwrap();
    peer.write_all(&[1; 1000]).await.unwrap();
    let err = read_frame(&mut ours, 16 << 20, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "timeout");
}

#[tokio::test]
async fn large_frames_wait_for_the_bulk_gate_and_small_ones_do_not() {
    let gate = tokio::sync::Semaphore::new(1);
    let taken = gate.acquire().await.unwrap();
    let timeout = Duration::from_millis(100);
    let (mut peer, mut ours) = duplex(1 << 20);
    write_frame(&mut peer, &[7; 1000], timeout).await.unwrap();
    let mut held = None;
    let small = read_gated(&mut ours, 1 << 20, timeout, Some((&gate, &mut held))).await;
    assert_eq!(small.unwrap().len(), 1000);
    let big = vec![7; SMALL_FRAME + 1];
    let (wrote, waited) = tokio::join!(
        write_frame(&mut peer, &big, Duration::from_secs(1)),
        read_gated(&mut ours, 1 << 20, timeout, Some((&gate, &mut held)))
    );
    assert_eq!(waited.unwrap_err().kind(), "timeout");
    drop(wrote);
    drop(taken);
    let (mut peer, mut ours) = duplex(1 << 20);
    let (wrote, read) = tokio::join!(
        write_frame(&mut peer, &big, Duration::from_secs(1)),
        read_gated(&mut ours, 1 << 20, timeout, Some((&gate, &mut held)))
    );
    wrote.unwrap();
    assert_eq!(read.unwrap().len(), SMALL_FRAME + 1);
    assert!(held.is_some(), "the session keeps the pass");
}

/// Runs the pure session between two catalogues, message to message: the frames' names in
/// order and both outcomes (initiator's, responder's).
fn dialogue(a: &ServicesState, b: &ServicesState) -> (Vec<&'static str>, Outcome, Outcome) {
    let (mut initiator, first) = PushPull::initiator(a);
    let mut responder = PushPull::responder();
    let (mut names, mut outcomes) = (Vec::new(), (None, None));
    let mut next = Some((true, first));
    while let Some((forward, message)) = next.take() {
        names.push(message.name());
        let step = if forward {
            responder.step(message, b).unwrap()
        } else {
            initiator.step(message, a).unwrap()
        };
        if let Some(done) = step.done {
            *(if forward {
                &mut outcomes.1
            } else {
                &mut outcomes.0
            }) = Some(done);
        }
        next = step.send.map(|m| (!forward, m));
    }
    (names, outcomes.0.unwrap(), outcomes.1.unwrap())
}

#[test]
fn the_pure_session_sends_five_frames_when_the_catalogues_differ_and_two_when_they_agree() {
    let (a, b) = catalogs();
    let (names, at_a, at_b) = dialogue(a.state(), b.state());
    assert_eq!(names, ["summary", "digest", "digest", "records", "records"]);
    assert_eq!(
        (at_a.sent, at_b.sent),
        (at_b.received.len(), at_a.received.len())
    );
    let (names, at_a, at_b) = dialogue(a.state(), a.state());
    assert_eq!(names, ["summary", "summary"]);
    assert_eq!((at_a, at_b), (Outcome::default(), Outcome::default()));
}

#[test]
fn the_pure_session_refuses_a_frame_out_of_turn_and_then_everything() {
    let (a, _) = catalogs();
    let mut responder = PushPull::responder();
    let err = responder
        .step(Message::Records(Vec::new()), a.state())
        .unwrap_err();
    assert_eq!(err.kind(), "unexpected");
    let summary = Message::Summary(Digest::of(a.state()).summary());
    assert!(
        responder.step(summary, a.state()).is_err(),
        "a failed session stays over"
    );
}
