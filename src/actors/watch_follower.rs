//! WatchFollower: another node's catalogue, followed through its `/api/watch` stream, for a
//! HAProxy manager that runs apart from the cluster (`sidecar haproxy --from URL`).
//!
//! Does: stream `<from>/api/watch?by_service=false`, turn each state document into a
//! [`StateChanged`] for its subscribers (as the StateKeeper does), and reconnect after the
//! stream ends or fails (backoff from 250 ms to 10 s), resuming from the full state the node
//! sends first. Does not: keep or merge a catalogue of its own.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use slog::{Logger, info, o, warn};

use crate::catalog::{ServicesState, Snapshot};
use crate::haproxy::watch_stream::WatchDecoder;
use crate::messages::{StateChanged, Subscribe};

/// The largest state document accepted.
const DOCUMENT_LIMIT: usize = 32 * 1024 * 1024;
/// A stream silent for this long is dropped and opened again (the node sends nothing while
/// nothing changes; a new stream starts with the full state).
const IDLE_LIMIT: Duration = Duration::from_secs(600);
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A state document arrived (internal).
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct RemoteState(ServicesState);

/// The actor. See the [module docs](self).
pub struct WatchFollower {
    url: String,
    subscribers: Vec<Recipient<StateChanged>>,
    current: Option<Arc<Snapshot>>,
    version: u64,
    log: Logger,
}

impl WatchFollower {
    /// A follower of the node whose HTTP API is at `from` (e.g. `http://10.0.0.5:7777`).
    pub fn new(from: &str, log: &Logger) -> WatchFollower {
        let url = format!("{}/api/watch?by_service=false", from.trim_end_matches('/'));
        WatchFollower {
            log: log.new(o!("actor" => "watch_follower", "url" => url.clone())),
            url,
            subscribers: Vec::new(),
            current: None,
            version: 0,
        }
    }
}

impl Actor for WatchFollower {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let (url, addr, log) = (self.url.clone(), ctx.address(), self.log.clone());
        ctx.spawn(follow(url, addr, log).into_actor(self));
    }
}

/// Streams the documents to `addr`, reconnecting for as long as the actor lives.
async fn follow(url: String, addr: Addr<WatchFollower>, log: Logger) {
    let client = match reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            warn!(log, "Cannot build the HTTP client"; "error" => %err);
            return;
        }
    };
    let mut backoff = FIRST_BACKOFF;
    while addr.connected() {
        match stream_once(&client, &url, &addr).await {
            Ok(documents) => {
                info!(log, "Watch stream ended"; "documents" => documents);
                if documents > 0 {
                    backoff = FIRST_BACKOFF;
                }
            }
            Err(err) => warn!(log, "Watch stream failed"; "error" => err),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One stream, until it ends: how many documents it brought.
async fn stream_once(
    client: &reqwest::Client,
    url: &str,
    addr: &Addr<WatchFollower>,
) -> Result<u64, String> {
    let mut response = client.get(url).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let mut decoder = WatchDecoder::new(DOCUMENT_LIMIT);
    let mut documents = 0;
    loop {
        let chunk = tokio::time::timeout(IDLE_LIMIT, response.chunk()).await;
        let chunk = chunk.map_err(|_| format!("nothing for {IDLE_LIMIT:?}"))?;
        let Some(bytes) = chunk.map_err(|e| e.to_string())? else {
            return Ok(documents);
        };
        for state in decoder.push(&bytes).map_err(|e| e.to_string())? {
            documents += 1;
            // Awaited: a slow subscriber slows the stream, never grows a queue.
            addr.send(RemoteState(state))
                .await
                .map_err(|e| e.to_string())?;
        }
    }
}

impl Handler<RemoteState> for WatchFollower {
    type Result = ();

    fn handle(&mut self, msg: RemoteState, _: &mut Context<Self>) {
        self.version += 1;
        let snapshot = Arc::new(Snapshot::new(msg.0, Vec::new(), self.version, self.version));
        self.current = Some(Arc::clone(&snapshot));
        let event = StateChanged {
            snapshot,
            changes: Arc::from(Vec::new()),
            announced: Arc::from(Vec::new()),
            refreshed: Arc::from(Vec::new()),
        };
        self.subscribers
            .retain(|s| !matches!(s.try_send(event.clone()), Err(SendError::Closed(_))));
    }
}

impl Handler<Subscribe> for WatchFollower {
    type Result = ();

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) {
        if let Some(snapshot) = &self.current {
            let _ = msg.0.try_send(StateChanged {
                snapshot: Arc::clone(snapshot),
                changes: Arc::from(Vec::new()),
                announced: Arc::from(Vec::new()),
                refreshed: Arc::from(Vec::new()),
            });
        }
        self.subscribers.push(msg.0);
    }
}

crate::supervised_actor!(WatchFollower);
