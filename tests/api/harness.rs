//! The harness for `tests/api.rs`: a real [`WebApi`] on 127.0.0.1:0, fed by [`FakeKeeper`], a
//! minimal stand-in for the StateKeeper that uses the real [`Catalog`] and [`Snapshot`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use reqwest::{Method, Response};
use sidecar::actors::web_api::{self, GetLocalAddr, StopServer};
use sidecar::actors::{WebApi, WebSettings};
use sidecar::api::admin::AdminAccess;
use sidecar::catalog::{
    Catalog, ChangeEvent, DrainError, Lifespans, Port, Service, ServiceStatus, Snapshot,
};
use sidecar::clock::Timestamp;
use sidecar::messages::{ApplyRemoteServices, DrainService, GetSnapshot, StateChanged, Subscribe};
use sidecar::supervisor::Link;

/// The catalogue's "now": just after the Go capture.
pub(crate) const NOW: &str = "2026-11-23T08:00:10Z";
/// `Updated` of the record in the Go samples.
pub(crate) const UPDATED: &str = "2026-11-23T08:00:09.419929456Z";
/// When the record in the Go samples last changed status.
pub(crate) const CHANGED: &str = "2026-11-23T07:59:41.419845889Z";
/// The ID of the record in the Go samples.
pub(crate) const ID: &str = "680088356f1f";

pub(crate) fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// The record of the Go samples (host `vm`) at version `updated`.
pub(crate) fn some_service(updated: &str, status: ServiceStatus) -> Service {
    Service {
        id: ID.into(),
        name: "some_service".into(),
        image: "bb6268ff91dc42a51f51db53846f72102ed9ff3f".into(),
        created: ts("2026-11-23T07:59:37.419536457Z"),
        hostname: "vm".into(),
        ports: Some(vec![Port {
            kind: "tcp".into(),
            port: 10234,
            service_port: 9999,
            ip: "127.0.0.1".into(),
        }]),
        updated: ts(updated),
        proxy_mode: "http".into(),
        status,
    }
}

/// The catalogue of the Go capture: node `vm`, cluster `default`, `some_service` ALIVE since
/// [`CHANGED`] and refreshed at [`UPDATED`].
pub(crate) fn go_catalog() -> Catalog {
    let mut catalog = Catalog::new("vm", "default", Lifespans::default());
    for updated in [CHANGED, UPDATED] {
        let _ = catalog.apply(some_service(updated, ServiceStatus::Alive), ts(NOW));
    }
    catalog
}

/// A stand-in StateKeeper: publishes one snapshot per input, bumping `change_version` only
/// when the real catalogue reports a change.
pub(crate) struct FakeKeeper {
    catalog: Catalog,
    current: Arc<Snapshot>,
    subscribers: Vec<Recipient<StateChanged>>,
}

impl FakeKeeper {
    pub(crate) fn new(catalog: Catalog) -> FakeKeeper {
        let current = Arc::new(Snapshot::new(catalog.state().clone(), members(), 1, 1));
        FakeKeeper {
            catalog,
            current,
            subscribers: Vec::new(),
        }
    }

    fn publish(&mut self, changes: Vec<ChangeEvent>) {
        let version = self.current.version() + 1;
        let change_version = self.current.change_version() + u64::from(!changes.is_empty());
        let state = self.catalog.state().clone();
        self.current = Arc::new(Snapshot::new(state, members(), version, change_version));
        let event = StateChanged {
            snapshot: Arc::clone(&self.current),
            changes: changes.into(),
            announced: Vec::new().into(),
            refreshed: Vec::new().into(),
        };
        for subscriber in &self.subscribers {
            subscriber.do_send(event.clone());
        }
    }
}

fn members() -> Vec<String> {
    vec!["vm".to_owned()]
}

impl Actor for FakeKeeper {
    type Context = Context<Self>;
}

impl Handler<Subscribe> for FakeKeeper {
    type Result = ();
    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) {
        msg.0.do_send(StateChanged {
            snapshot: Arc::clone(&self.current),
            changes: Vec::new().into(),
            announced: Vec::new().into(),
            refreshed: Vec::new().into(),
        });
        self.subscribers.push(msg.0);
    }
}

impl Handler<ApplyRemoteServices> for FakeKeeper {
    type Result = ();
    fn handle(&mut self, msg: ApplyRemoteServices, _: &mut Context<Self>) {
        let now = ts(NOW);
        let changes = msg.services.into_iter();
        let changes = changes.filter_map(|s| self.catalog.apply(s, now).into_change());
        let changes = changes.collect();
        self.publish(changes);
    }
}

impl Handler<DrainService> for FakeKeeper {
    type Result = Result<Service, DrainError>;
    fn handle(&mut self, msg: DrainService, _: &mut Context<Self>) -> Self::Result {
        let (service, change) = self.catalog.drain(&msg.id, ts(NOW))?;
        self.publish(change.into_iter().collect());
        Ok(service)
    }
}

impl Handler<GetSnapshot> for FakeKeeper {
    type Result = MessageResult<GetSnapshot>;
    fn handle(&mut self, _: GetSnapshot, _: &mut Context<Self>) -> Self::Result {
        MessageResult(Arc::clone(&self.current))
    }
}

/// One WebApi over loopback with its keeper and an HTTP client that follows no redirects.
pub(crate) struct Node {
    pub(crate) web: Addr<WebApi>,
    pub(crate) keeper: Addr<FakeKeeper>,
    pub(crate) base: String,
    client: reqwest::Client,
}

impl Node {
    /// Starts the keeper and the API; returns once the API serves the keeper's snapshot.
    pub(crate) async fn start(catalog: Catalog) -> Node {
        Node::start_with_admin(catalog, None).await
    }

    /// [`Node::start`] with the admin API reaching `admin` (`None`: no admin API, 503).
    pub(crate) async fn start_with_admin(catalog: Catalog, admin: Option<AdminAccess>) -> Node {
        Node::start_on("127.0.0.1", catalog, |settings| settings.admin = admin).await
    }

    /// [`Node::start`] on `ip` (any port), with `configure` applied to the API's settings.
    pub(crate) async fn start_on(
        ip: &str,
        catalog: Catalog,
        configure: impl FnOnce(&mut WebSettings),
    ) -> Node {
        let keeper = FakeKeeper::new(catalog).start();
        let listener = web_api::bind(format!("{ip}:0").parse().unwrap()).unwrap();
        let mut settings = WebSettings::new(listener.local_addr().unwrap(), "vm", "default");
        settings.workers = 1;
        configure(&mut settings);
        let log = slog::Logger::root(slog::Discard, slog::o!());
        let subscribe = Link::fixed(keeper.clone().recipient());
        let drain = Link::fixed(keeper.clone().recipient());
        let web = WebApi::new(settings, Arc::new(listener), subscribe, drain, &log);
        let web = web.start();
        let addr = web.send(GetLocalAddr).await.unwrap(); // started(): Subscribe is queued
        keeper.send(GetSnapshot).await.unwrap(); // Subscribe handled: StateChanged queued
        web.send(GetLocalAddr).await.unwrap(); // StateChanged handled
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        Node {
            web,
            keeper,
            base: format!("http://{addr}"),
            client,
        }
    }

    pub(crate) async fn request(&self, method: Method, path: &str) -> Response {
        let url = format!("{}{path}", self.base);
        self.client.request(method, url).send().await.unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).await
    }

    /// `GET path` with `Authorization: Bearer <token>`.
    pub(crate) async fn get_with_token(&self, path: &str, token: &str) -> Response {
        let url = format!("{}{path}", self.base);
        let request = self.client.get(url).bearer_auth(token);
        request.send().await.unwrap()
    }

    /// Status, headers and body of a finished request.
    pub(crate) async fn fetch(&self, method: Method, path: &str) -> Answer {
        let response = self.request(method, path).await;
        let status = response.status().as_u16();
        let headers = headers_of(&response);
        let body = response.bytes().await.unwrap().to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Polls `path` every 25 ms until `pred` holds on its body (5 s at most).
    pub(crate) async fn eventually(&self, path: &str, what: &str, pred: impl Fn(&str) -> bool) {
        for _ in 0..200 {
            let body = self.get(path).await.text().await.unwrap();
            if pred(&body) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for: {what}");
    }

    pub(crate) async fn stop(&self) {
        self.web.send(StopServer).await.unwrap();
    }
}

/// A finished response.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: Vec<u8>,
}

/// Response headers by lower-case name.
pub(crate) fn headers_of(response: &Response) -> BTreeMap<String, String> {
    let headers = response.headers().iter();
    let pairs = headers.map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()));
    pairs.collect()
}

/// The status and headers (lower-case names) of a `curl -D` capture.
pub(crate) fn go_head(text: &str) -> (u16, BTreeMap<String, String>) {
    let mut lines = text.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines.filter_map(|line| line.split_once(": "));
    let headers = headers.map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()));
    (status, headers.collect())
}

/// The chunks of a raw chunked response capture (headers, then `size\r\ndata\r\n`...).
pub(crate) fn go_chunks(raw: &str) -> Vec<String> {
    let (_, mut body) = raw.split_once("\r\n\r\n").unwrap();
    let mut chunks = Vec::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 {
            break;
        }
        chunks.push(rest[..size].to_owned());
        body = rest[size..].trim_start_matches("\r\n");
    }
    chunks
}

/// Reads the next whole JSON document of a watch stream; `None` when the stream ended.
pub(crate) async fn next_document(response: &mut Response, buffer: &mut Vec<u8>) -> Option<String> {
    loop {
        let mut documents = serde_json::Deserializer::from_slice(buffer).into_iter();
        if let Some(Ok(serde_json::Value::Object(_))) = documents.next() {
            let end = documents.byte_offset();
            return Some(String::from_utf8(buffer.drain(..end).collect()).unwrap());
        }
        buffer.extend_from_slice(&response.chunk().await.unwrap()?);
    }
}

/// The next document, failing the test if none comes within 5 s.
pub(crate) async fn expect_document(response: &mut Response, buffer: &mut Vec<u8>) -> String {
    let next = tokio::time::timeout(Duration::from_secs(5), next_document(response, buffer));
    next.await
        .expect("no watch document within 5 s")
        .expect("stream ended")
}
