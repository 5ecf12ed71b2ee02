//! `GET /api/watch` (and `/watch`): a never-ending chunked stream of JSON documents
//! (docs/COMPATIBILITY.md §7).
//!
//! The first document is written at once (with `?since=`, once the catalogue has changed after
//! that time); after that one more each time the snapshot's `change_version` moves (a record
//! appeared or changed status), never on mere refreshes. Documents are concatenated without a
//! separator. A stream holds only its own `watch` receiver and at most one document: while the
//! client is slow, intermediate snapshots are skipped and the next document is the latest
//! state. At most `SIDECAR_MAX_WATCHERS` streams are open at once; one more is answered 503.
//! The stream ends when the snapshot sender goes away (the server is stopping) or the client
//! disconnects.

use std::convert::Infallible;
use std::sync::Arc;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use bytes::Bytes;
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::watch;

use super::error::ApiError;
use super::state::{ApiState, Subscription, WatcherGuard, WatchersFull};
use crate::catalog::Snapshot;
use crate::clock::Timestamp;

/// Seconds a client refused for too many streams is asked to wait (`Retry-After`).
const RETRY_AFTER_SECS: &str = "5";

/// Which document a stream sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Document {
    /// Records by service name (the default).
    ByService,
    /// The whole state (`by_service=false`).
    State,
}

impl Document {
    /// Go: `by_service=false` (the first value of that key) selects the state; anything else
    /// the by-service map.
    fn from_query(query: &[(String, String)]) -> Document {
        match query.iter().find(|(key, _)| key == "by_service") {
            Some((_, value)) if value == "false" => Document::State,
            _ => Document::ByService,
        }
    }

    fn encode(self, snapshot: &Snapshot) -> Option<Bytes> {
        match self {
            Document::ByService => snapshot.by_service_json(),
            Document::State => snapshot.state_json(),
        }
    }
}

/// Where a stream starts (docs/COMPATIBILITY.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// With the current document (no `since`).
    Now,
    /// With the first catalogue whose `LastChanged` is later than this (`?since=`).
    After(Timestamp),
}

impl Start {
    /// The first `since` parameter, an RFC 3339 timestamp; none: [`Start::Now`].
    fn from_query(query: &[(String, String)]) -> Result<Start, ApiError> {
        match query.iter().find(|(key, _)| key == "since") {
            None => Ok(Start::Now),
            Some((_, text)) => Timestamp::parse(text)
                .map(Start::After)
                .map_err(|err| ApiError::bad_since(&err.to_string())),
        }
    }

    /// Whether a catalogue that last changed at `last_changed` may be the first document.
    fn admits(self, last_changed: Timestamp) -> bool {
        match self {
            Start::Now => true,
            Start::After(since) => last_changed > since,
        }
    }
}

/// `GET /api/watch[?by_service=false][&since=<RFC 3339>]` over actix-web: a connection whose
/// first request it is goes through the [front door](super::front_door) instead, to the same
/// [`open`]. 200 `application/json`, chunked, no CORS headers; 400 for a bad query or
/// `since`; 503 when `SIDECAR_MAX_WATCHERS` streams are open.
pub(super) async fn watch(api: web::Data<ApiState>, request: HttpRequest) -> HttpResponse {
    match open(&api, request.query_string()) {
        Ok(watcher) => HttpResponse::Ok()
            .content_type("application/json")
            .streaming(watcher.into_stream()),
        Err(refusal) => {
            let mut response = HttpResponse::build(refusal.status());
            if let Some(seconds) = refusal.retry_after() {
                response.insert_header((header::RETRY_AFTER, seconds));
            }
            response
                .content_type("application/json")
                .body(refusal.body())
        }
    }
}

/// Opens a watch stream for a request with the query string `query`: every transport's one
/// decision. Takes one of the `SIDECAR_MAX_WATCHERS` places until the [`Watcher`] drops.
pub(super) fn open(api: &ApiState, query: &str) -> Result<Watcher, Refusal> {
    let query = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|err| Refusal::Bad(ApiError::bad_query(&err.to_string())))?;
    let start = Start::from_query(&query).map_err(Refusal::Bad)?;
    let subscription = api.subscribe().map_err(Refusal::Full)?;
    Ok(Watcher::new(
        subscription,
        Document::from_query(&query),
        start,
    ))
}

/// Why a watch stream was not opened.
#[derive(Debug)]
pub(super) enum Refusal {
    /// 400: the query or `since` cannot be read.
    Bad(ApiError),
    /// 503: the limit of streams is reached.
    Full(WatchersFull),
}

/// The 503 body: Go's error keys, then the figures.
#[derive(Serialize)]
struct TooManyWatchers {
    message: &'static str,
    status: &'static str,
    open: usize,
    limit: usize,
}

impl Refusal {
    /// 400 or 503.
    pub(super) fn status(&self) -> StatusCode {
        match self {
            Refusal::Bad(err) => err.status_code(),
            Refusal::Full(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `Retry-After` seconds of a 503.
    pub(super) fn retry_after(&self) -> Option<&'static str> {
        matches!(self, Refusal::Full(_)).then_some(RETRY_AFTER_SECS)
    }

    /// The JSON body: Go's error keys; for a 503 also the open streams and the limit,
    /// `{"message":"too many watch streams","status":"error","open":N,"limit":N}`.
    pub(super) fn body(&self) -> Vec<u8> {
        match self {
            Refusal::Bad(err) => err.body(),
            Refusal::Full(full) => serde_json::to_vec(&TooManyWatchers {
                message: "too many watch streams",
                status: "error",
                open: full.open,
                limit: full.limit,
            })
            .unwrap_or_default(),
        }
    }
}

/// One client's position in the snapshot stream.
pub(super) struct Watcher {
    snapshots: watch::Receiver<Arc<Snapshot>>,
    document: Document,
    start: Start,
    /// Whether the current snapshot has been looked at (then only a newer one is).
    looked: bool,
    /// The `change_version` of the last document sent; `None` before the first.
    sent: Option<u64>,
    _guard: WatcherGuard,
}

impl Watcher {
    fn new(subscription: Subscription, document: Document, start: Start) -> Watcher {
        Watcher {
            snapshots: subscription.snapshots,
            document,
            start,
            looked: false,
            sent: None,
            _guard: subscription.guard,
        }
    }

    fn into_stream(self) -> impl Stream<Item = Result<Bytes, Infallible>> {
        futures_util::stream::unfold(self, |mut watcher| async move {
            let document = watcher.next_document().await?;
            Some((Ok(document), watcher))
        })
    }

    /// The next document to write: the current one first (once the start admits it), then
    /// one per change of `change_version` (compared for inequality so a restarted publisher
    /// is still followed). `None` when the sender has gone.
    pub(super) async fn next_document(&mut self) -> Option<Bytes> {
        loop {
            if self.looked {
                self.snapshots.changed().await.ok()?;
            }
            self.looked = true;
            let snapshot = Arc::clone(&self.snapshots.borrow_and_update());
            let version = snapshot.change_version();
            let first = self.sent.is_none();
            let withheld = first && !self.start.admits(last_changed(&snapshot));
            if self.sent == Some(version) || withheld {
                continue;
            }
            self.sent = Some(version);
            if let Some(document) = self.document.encode(&snapshot) {
                return Some(document);
            }
        }
    }
}

fn last_changed(snapshot: &Snapshot) -> Timestamp {
    snapshot.state().last_changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn only_by_service_false_selects_the_state() {
        assert_eq!(Document::from_query(&query(&[])), Document::ByService);
        let state = query(&[("by_service", "false")]);
        assert_eq!(Document::from_query(&state), Document::State);
        for other in ["true", "False", "0", ""] {
            let q = query(&[("by_service", other)]);
            assert_eq!(Document::from_query(&q), Document::ByService, "{other}");
        }
        let first_wins = query(&[("by_service", "true"), ("by_service", "false")]);
        assert_eq!(Document::from_query(&first_wins), Document::ByService);
    }

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn since_is_the_first_rfc3339_parameter_and_anything_else_is_refused() {
        assert_eq!(Start::from_query(&query(&[])), Ok(Start::Now));
        let since = "2026-11-23T07:59:41.419845889Z";
        let given = query(&[("by_service", "false"), ("since", since), ("since", "x")]);
        assert_eq!(Start::from_query(&given), Ok(Start::After(ts(since))));
        let offset = query(&[("since", "2026-11-23T08:59:41+01:00")]);
        let utc = Start::After(ts("2026-11-23T07:59:41Z"));
        assert_eq!(Start::from_query(&offset), Ok(utc));
        for bad in ["", "yesterday", "2026-11-23", "2026-11-23T08:59:41 01:00"] {
            let error = Start::from_query(&query(&[("since", bad)])).unwrap_err();
            assert!(
                error.message().starts_with("Bad Request - since: "),
                "{bad}"
            );
            assert_eq!(error.status_code().as_u16(), 400, "{bad}");
        }
    }

    #[test]
    fn a_stream_since_a_time_starts_only_with_a_catalogue_changed_after_it() {
        let since = ts("2026-11-23T07:59:41.419845889Z");
        let start = Start::After(since);
        assert!(!start.admits(Timestamp::EPOCH));
        assert!(!start.admits(since), "the state the client has seen");
        assert!(start.admits(since.plus(std::time::Duration::from_nanos(1))));
        assert!(Start::Now.admits(Timestamp::EPOCH));
    }
}
