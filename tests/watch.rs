//! `/api/watch` beyond Go's contract (docs/COMPATIBILITY.md §7): the bound on open streams,
//! `?since=`, a slow reader skipping to the newest document, and the same answers whether a
//! watch request comes in by the front door or not, and the time for a request head. A real
//! WebApi on 127.0.0.150–157, fed by the fake StateKeeper of `tests/api.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(test)] // test code: unwraps and panics are the point; not every helper is used here
#[allow(dead_code)]
#[path = "api/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::time::Duration;

use harness::{CHANGED, ID, NOW, Node, expect_document, go_catalog, next_document, some_service};
use sidecar::actors::web_api::{GetWatchCount, HttpLimits};
use sidecar::catalog::{Catalog, Lifespans, Port, Service, ServiceStatus};
use sidecar::messages::ApplyRemoteServices;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};

/// How long a stream that must stay silent is watched.
const QUIET: Duration = Duration::from_millis(300);

async fn watch_count(node: &Node) -> usize {
    node.web.send(GetWatchCount).await.unwrap()
}

/// Polls the open-stream count every 25 ms until it is `expected` (5 s at most).
async fn eventually_streams(node: &Node, expected: usize) {
    for _ in 0..200 {
        if watch_count(node).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "{} streams open, expected {expected}",
        watch_count(node).await
    );
}

#[actix::test]
async fn a_stream_beyond_the_limit_is_refused_with_the_count_until_one_closes() {
    let limits = HttpLimits::for_watchers(3);
    let node = Node::start_on("127.0.0.150", go_catalog(), |s| s.limits = limits).await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut stream = node.get("/api/watch").await;
        expect_document(&mut stream, &mut Vec::new()).await;
        streams.push(stream);
    }
    let refused = node.fetch(reqwest::Method::GET, "/api/watch").await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.headers["retry-after"], "5");
    assert_eq!(refused.headers["content-type"], "application/json");
    let body = r#"{"message":"too many watch streams","status":"error","open":3,"limit":3}"#;
    assert_eq!(String::from_utf8_lossy(&refused.body), body);
    let other = node.fetch(reqwest::Method::GET, "/api/state.json").await;
    assert_eq!(other.status, 200, "other requests are still served");
    assert_eq!(
        watch_count(&node).await,
        3,
        "the refused stream was not counted"
    );
    let metrics = node.fetch(reqwest::Method::GET, "/metrics").await;
    let metrics = String::from_utf8(metrics.body).unwrap();
    for (status, count) in [("200", 3), ("503", 1)] {
        let sample = format!(
            r#"sidecar_http_requests_total{{route="/api/watch",method="GET",status="{status}"}} {count}"#
        );
        assert!(metrics.contains(&sample), "{sample} in\n{metrics}");
    }
    drop(streams.pop());
    eventually_streams(&node, 2).await;
    let mut again = node.get("/api/watch").await;
    assert_eq!(again.status(), 200);
    expect_document(&mut again, &mut Vec::new()).await;
    node.stop().await;
}

#[actix::test]
async fn a_stream_since_the_last_change_waits_for_a_later_one_and_then_sends_it() {
    let node = Node::start_on("127.0.0.151", go_catalog(), |_| {}).await;
    let mut earlier = node.get("/api/watch?since=2026-11-23T07:00:00Z").await;
    let document = expect_document(&mut earlier, &mut Vec::new()).await;
    assert!(
        document.contains(ID),
        "a change after `since`: sent at once"
    );
    let path = format!("/api/watch?by_service=false&since={CHANGED}");
    let mut response = node.get(&path).await;
    assert_eq!(response.status(), 200, "the answer starts at once");
    let mut buffer = Vec::new();
    let refresh = ApplyRemoteServices::broadcast(vec![some_service(NOW, ServiceStatus::Alive)]);
    node.keeper.send(refresh).await.unwrap();
    let nothing = tokio::time::timeout(QUIET, next_document(&mut response, &mut buffer)).await;
    assert!(
        nothing.is_err(),
        "sent before anything changed: {nothing:?}"
    );
    let later = "2026-11-23T08:00:10.5Z";
    let change = some_service(later, ServiceStatus::Unhealthy);
    node.keeper
        .send(ApplyRemoteServices::broadcast(vec![change]))
        .await
        .unwrap();
    let document = expect_document(&mut response, &mut buffer).await;
    let state: serde_json::Value = serde_json::from_str(&document).unwrap();
    assert_eq!(state["LastChanged"], "2026-11-23T08:00:10.5Z");
    assert_eq!(state["Servers"]["vm"]["Services"][ID]["Status"], 2);
    node.stop().await;
}

#[actix::test]
async fn a_since_that_is_not_a_timestamp_is_400_and_opens_no_stream() {
    let node = Node::start_on("127.0.0.151", go_catalog(), |_| {}).await;
    let answer = node
        .fetch(reqwest::Method::GET, "/api/watch?since=yesterday")
        .await;
    assert_eq!(answer.status, 400);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("Bad Request - since: invalid RFC3339"),
        "{message}"
    );
    assert_eq!(body["status"], "error");
    assert_eq!(watch_count(&node).await, 0);
    node.stop().await;
}

/// Services in the slow-reader test: documents of about 90 kB, far more than the kernel
/// buffers hold for a reader that does not read.
const BIG: usize = 300;
/// Changes made while the reader does not read.
const CHANGES: usize = 30;

fn record(i: usize, updated: &str, status: ServiceStatus) -> Service {
    let mut svc = some_service(updated, status);
    svc.id = format!("id-{i:04}");
    svc.name = format!("svc-{i:04}");
    svc.ports = Some(vec![Port {
        kind: "tcp".into(),
        port: 10_000 + i as i64,
        service_port: 9999,
        ip: "127.0.0.1".into(),
    }]);
    svc
}

fn big_catalog() -> Catalog {
    let mut catalog = Catalog::new("vm", "default", Lifespans::default());
    for i in 0..BIG {
        let svc = record(i, "2026-11-23T08:00:00Z", ServiceStatus::Alive);
        let _ = catalog.apply(svc, harness::ts(NOW));
    }
    catalog
}

/// A connection to the node read by hand, through a receive buffer of `recv_buffer` bytes
/// if given (a tiny one lets the reader control when the server can write).
struct Raw(BufReader<TcpStream>);

impl Raw {
    async fn open(node: &Node, source: &str, recv_buffer: Option<u32>) -> Raw {
        let socket = TcpSocket::new_v4().unwrap();
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
        let server = node.base.trim_start_matches("http://").parse().unwrap();
        Raw(BufReader::with_capacity(
            4096,
            socket.connect(server).await.unwrap(),
        ))
    }

    /// Sends `bytes` as they are.
    async fn send(&mut self, bytes: &[u8]) {
        self.0.get_mut().write_all(bytes).await.unwrap();
    }

    /// Whether the server closes the connection within `wait` (reading whatever comes).
    async fn closed_within(&mut self, wait: Duration) -> bool {
        let mut rest = Vec::new();
        tokio::time::timeout(wait, self.0.read_to_end(&mut rest))
            .await
            .is_ok()
    }

    /// Sends `GET path` and reads the answer's status and headers (lower-case names).
    async fn get(&mut self, path: &str) -> (u16, BTreeMap<String, String>) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
        self.0
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .unwrap();
        let mut line = String::new();
        self.0.read_line(&mut line).await.unwrap();
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = BTreeMap::new();
        loop {
            line.clear();
            self.0.read_line(&mut line).await.unwrap();
            let Some((name, value)) = line.split_once(':') else {
                return (status, headers);
            };
            headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
        }
    }

    /// A body of `content-length` bytes.
    async fn body(&mut self, headers: &BTreeMap<String, String>) -> String {
        let mut body = vec![0; headers["content-length"].parse().unwrap()];
        self.0.read_exact(&mut body).await.unwrap();
        String::from_utf8(body).unwrap()
    }

    /// The next chunk (one document), or `None` when nothing arrives within `wait`.
    async fn chunk(&mut self, wait: Duration) -> Option<String> {
        let mut line = String::new();
        tokio::time::timeout(wait, self.0.read_line(&mut line))
            .await
            .ok()?
            .unwrap();
        let size = usize::from_str_radix(line.trim_end(), 16).unwrap();
        let mut chunk = vec![0; size + 2];
        self.0.read_exact(&mut chunk).await.unwrap();
        chunk.truncate(size);
        Some(String::from_utf8(chunk).unwrap())
    }
}

fn unhealthy_in(document: &str) -> usize {
    document.matches(r#""Status":2"#).count()
}

#[actix::test]
async fn a_slow_reader_gets_the_newest_document_next_not_the_ones_it_missed() {
    let node = Node::start_on("127.0.0.152", big_catalog(), |_| {}).await;
    let mut reader = Raw::open(&node, "127.0.0.153", Some(4096)).await;
    assert_eq!(reader.get("/api/watch").await.0, 200);
    let wait = Duration::from_secs(10);
    let first = reader.chunk(wait).await.expect("the first document");
    assert!(first.len() > 80_000, "{} bytes", first.len());
    for i in 0..CHANGES {
        let svc = record(i, "2026-11-23T08:00:05Z", ServiceStatus::Unhealthy);
        let change = ApplyRemoteServices::broadcast(vec![svc]);
        node.keeper.send(change).await.unwrap();
    }
    let mut seen = Vec::new();
    while seen.last() != Some(&CHANGES) {
        let document = reader
            .chunk(wait)
            .await
            .expect("the newest state within 10 s");
        seen.push(unhealthy_in(&document));
    }
    assert!(
        seen.len() < CHANGES,
        "{} documents: none skipped",
        seen.len()
    );
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert_eq!(
        reader.chunk(QUIET).await,
        None,
        "nothing after the newest state"
    );
    node.stop().await;
}

#[actix::test]
async fn a_watch_request_after_another_on_its_connection_is_answered_alike() {
    // The first request of a connection comes in by the front door; later ones are
    // actix-web's (src/api/front_door.rs). Both must answer the same.
    let node = Node::start_on("127.0.0.154", go_catalog(), |_| {}).await;
    let bad = node
        .fetch(reqwest::Method::GET, "/api/watch?since=yesterday")
        .await;
    let mut front = node.get("/api/watch").await;
    let document = expect_document(&mut front, &mut Vec::new()).await;
    let mut raw = Raw::open(&node, "127.0.0.155", None).await;
    let (status, headers) = raw.get("/api/state.json").await;
    assert_eq!(status, 200);
    raw.body(&headers).await;
    let (status, headers) = raw.get("/api/watch?since=yesterday").await;
    assert_eq!(
        (status, headers["content-type"].as_str()),
        (400, "application/json")
    );
    assert_eq!(raw.body(&headers).await.as_bytes(), bad.body);
    let (status, headers) = raw.get("/api/watch").await;
    assert_eq!(
        (status, headers["transfer-encoding"].as_str()),
        (200, "chunked")
    );
    assert_eq!(raw.chunk(Duration::from_secs(5)).await, Some(document));
    assert_eq!(watch_count(&node).await, 2);
    node.stop().await;
}

#[actix::test]
async fn a_connection_that_does_not_finish_its_request_head_in_time_is_closed() {
    // 5 s for a request head (docs/COMPATIBILITY.md §6), whether the front door is still
    // deciding or reading a watch request's head.
    let node = Node::start_on("127.0.0.156", go_catalog(), |_| {}).await;
    let mut undecided = Raw::open(&node, "127.0.0.157", None).await;
    undecided.send(b"GET /api/wat").await;
    let mut unfinished = Raw::open(&node, "127.0.0.157", None).await;
    unfinished
        .send(b"GET /api/watch HTTP/1.1\r\nHost: te")
        .await;
    let silent = Raw::open(&node, "127.0.0.157", None).await;
    for (what, mut raw) in [
        ("undecided", undecided),
        ("unfinished", unfinished),
        ("silent", silent),
    ] {
        assert!(
            raw.closed_within(Duration::from_secs(10)).await,
            "{what} still open"
        );
    }
    assert_eq!(watch_count(&node).await, 0);
    node.stop().await;
}
