//! `GET /api/watch` (and `/watch`): a never-ending chunked stream of JSON documents
//! (docs/COMPATIBILITY.md §7).
//!
//! The first document is written at once; after that one more each time the snapshot's
//! `change_version` moves (a record appeared or changed status), never on mere refreshes.
//! Documents are concatenated without a separator. A stream holds only its own `watch`
//! receiver and at most one document: while the client is slow, intermediate snapshots are
//! skipped and the next document is the latest state. The stream ends when the snapshot
//! sender goes away (the server is stopping) or the client disconnects.

use std::convert::Infallible;
use std::sync::Arc;

use actix_web::{HttpResponse, web};
use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::watch;

use super::state::{ApiState, WatcherGuard};
use crate::catalog::Snapshot;

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

/// `GET /api/watch[?by_service=false]`: 200 `application/json`, chunked, no CORS headers.
pub(super) async fn watch(
    api: web::Data<ApiState>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let (snapshots, guard) = api.subscribe();
    let watcher = Watcher {
        snapshots,
        document: Document::from_query(&query),
        sent: None,
        _guard: guard,
    };
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(watcher.into_stream())
}

/// One client's position in the snapshot stream.
struct Watcher {
    snapshots: watch::Receiver<Arc<Snapshot>>,
    document: Document,
    /// The `change_version` of the last document sent; `None` before the first.
    sent: Option<u64>,
    _guard: WatcherGuard,
}

impl Watcher {
    fn into_stream(self) -> impl Stream<Item = Result<Bytes, Infallible>> {
        futures_util::stream::unfold(self, |mut watcher| async move {
            let document = watcher.next_document().await?;
            Some((Ok(document), watcher))
        })
    }

    /// The next document to write: the current one first, then one per change of
    /// `change_version` (compared for inequality so a restarted publisher is still followed).
    /// `None` when the sender has gone.
    async fn next_document(&mut self) -> Option<Bytes> {
        loop {
            if self.sent.is_some() {
                self.snapshots.changed().await.ok()?;
            }
            let snapshot = Arc::clone(&self.snapshots.borrow_and_update());
            let version = snapshot.change_version();
            if self.sent == Some(version) {
                continue;
            }
            self.sent = Some(version);
            if let Some(document) = self.document.encode(&snapshot) {
                return Some(document);
            }
        }
    }
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
}
