//! One listener's delivery worker: a task that takes events from the listener's bounded
//! outbox one at a time, in order, and POSTs each with retries.
//!
//! The I/O half of the ListenerNotifier. The task is owned by its [`Worker`]: dropping the
//! worker aborts the task (and any POST in flight), so a removed listener leaves nothing
//! behind. Nothing here waits on another listener or on the actor.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderValue};
use slog::{Logger, info, warn};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::listeners::{BoundedQueue, Listener, retry_delay};
use crate::messages::ListenerStats;
use crate::metrics::NodeMetrics;

/// How every worker of one notifier POSTs (cheap to clone).
#[derive(Clone, Debug)]
pub(super) struct Poster {
    /// The notifier's own client (one per actor, so per arbiter).
    pub(super) client: reqwest::Client,
    /// `sidecar-session-host=<hostname>-<start time>`, if it is a valid header value.
    pub(super) cookie: Option<HeaderValue>,
    pub(super) attempt_timeout: Duration,
    pub(super) max_attempts: u32,
    /// The node's metrics (deliveries, retries, drops per listener).
    pub(super) metrics: NodeMetrics,
}

/// A listener's queue and counters, shared by the actor (producer) and its task (consumer).
#[derive(Debug)]
struct Outbox {
    queue: Mutex<BoundedQueue<Bytes>>,
    wake: Notify,
    delivered: AtomicU64,
    failed: AtomicU64,
    /// The listener's name, as the metrics label it.
    name: String,
    metrics: NodeMetrics,
}

impl Outbox {
    fn pop(&self) -> Option<Bytes> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }
}

/// A running listener: its outbox and the task draining it. Dropping it stops the task.
#[derive(Debug)]
pub(super) struct Worker {
    listener: Listener,
    outbox: Arc<Outbox>,
    task: JoinHandle<()>,
}

impl Worker {
    /// Starts the task of `listener` on the current arbiter with an outbox of `capacity`.
    pub(super) fn start(
        listener: Listener,
        poster: Poster,
        capacity: usize,
        log: &Logger,
    ) -> Worker {
        let outbox = Arc::new(Outbox {
            queue: Mutex::new(BoundedQueue::new(capacity)),
            wake: Notify::new(),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            name: listener.name.clone(),
            metrics: poster.metrics.clone(),
        });
        let run = Run {
            url: listener.url.clone(),
            outbox: Arc::clone(&outbox),
            poster,
            log: log
                .new(slog::o!("listener" => listener.name.clone(), "url" => listener.url.clone())),
        };
        let task = actix::spawn(run.forever());
        Worker {
            listener,
            outbox,
            task,
        }
    }

    /// The listener this worker serves.
    pub(super) fn listener(&self) -> &Listener {
        &self.listener
    }

    /// Queues `body` (dropping the oldest event if the queue is full) and wakes the task.
    pub(super) fn enqueue(&self, body: Bytes) {
        let dropped = self
            .outbox
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(body);
        if dropped.is_some() {
            let outbox = &self.outbox;
            outbox.metrics.listener_event(&outbox.name, "dropped");
        }
        self.outbox.wake.notify_one();
    }

    /// The counters of this listener.
    pub(super) fn stats(&self) -> ListenerStats {
        let queue = self
            .outbox
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        ListenerStats {
            name: self.listener.name.clone(),
            url: self.listener.url.clone(),
            managed: self.listener.managed,
            queued: queue.len(),
            delivered: self.outbox.delivered.load(Ordering::Relaxed),
            failed: self.outbox.failed.load(Ordering::Relaxed),
            dropped: queue.dropped(),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the task owns.
struct Run {
    url: String,
    outbox: Arc<Outbox>,
    poster: Poster,
    log: Logger,
}

impl Run {
    /// Delivers events until aborted; warns once per failure streak, not per event.
    async fn forever(self) {
        let mut failing = false;
        loop {
            let Some(body) = self.outbox.pop() else {
                self.outbox.wake.notified().await;
                continue;
            };
            match self.deliver(body).await {
                Ok(()) => {
                    self.outbox.delivered.fetch_add(1, Ordering::Relaxed);
                    self.count("delivered");
                    if std::mem::take(&mut failing) {
                        info!(self.log, "Listener recovered");
                    }
                }
                Err(error) => {
                    self.outbox.failed.fetch_add(1, Ordering::Relaxed);
                    self.count("failed");
                    if !std::mem::replace(&mut failing, true) {
                        warn!(self.log, "Failed posting state"; "error" => error,
                            "attempts" => self.poster.max_attempts);
                    }
                }
            }
        }
    }

    fn count(&self, outcome: &'static str) {
        let outbox = &self.outbox;
        outbox.metrics.listener_event(&outbox.name, outcome);
    }

    /// Up to `max_attempts` POSTs of the same full body, with Go's backoff between them.
    async fn deliver(&self, body: Bytes) -> Result<(), String> {
        let mut failures = 0;
        loop {
            match self.attempt(body.clone()).await {
                Ok(()) => return Ok(()),
                Err(error) => {
                    failures += 1;
                    if failures >= self.poster.max_attempts.max(1) {
                        return Err(error);
                    }
                    self.count("retried");
                    tokio::time::sleep(retry_delay(failures)).await;
                }
            }
        }
    }

    /// One POST under the attempt timeout; success is any 2xx.
    async fn attempt(&self, body: Bytes) -> Result<(), String> {
        let poster = &self.poster;
        let mut request = poster
            .client
            .post(&self.url)
            .timeout(poster.attempt_timeout)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(cookie) = &poster.cookie {
            request = request.header(COOKIE, cookie.clone());
        }
        let response = request
            .send()
            .await
            .map_err(|err| crate::actors::http::error_chain(&err))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("bad status code {}", status.as_u16()))
        }
    }
}
