//! [`ApiState`]: what every handler can reach (the latest snapshot, the drain inbox and, for
//! the admin API, the supervisor and the gossiper's statistics).
//!
//! Holds no catalogue data of its own: the snapshot belongs to the WebApi actor's channel.
//! Supervised actors are reached through [`Link`]s, which follow a restarted instance.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::supervisor::Link;
use tokio::sync::watch;

use super::admin::AdminAccess;
use crate::catalog::Snapshot;
use crate::messages::DrainService;
use crate::metrics::NodeMetrics;
use crate::xds::v1::V1Options;

/// The app data of the API: the latest snapshot and where drain requests go.
///
/// Cheap to clone (one per server worker).
#[derive(Clone)]
pub struct ApiState {
    snapshots: watch::Receiver<Arc<Snapshot>>,
    drain: Link<DrainService>,
    admin: Option<AdminAccess>,
    envoy_v1: Arc<V1Options>,
    watchers: Arc<AtomicUsize>,
    max_watchers: usize,
    metrics: NodeMetrics,
}

impl ApiState {
    /// State reading snapshots from `snapshots` and sending drain requests to `drain`.
    pub fn new(snapshots: watch::Receiver<Arc<Snapshot>>, drain: Link<DrainService>) -> Self {
        ApiState {
            snapshots,
            drain,
            admin: None,
            envoy_v1: Arc::new(V1Options::default()),
            watchers: Arc::new(AtomicUsize::new(0)),
            max_watchers: crate::actors::web_api::HttpLimits::default().max_watchers,
            metrics: NodeMetrics::default(),
        }
    }

    /// The same state taking at most `max` watch streams at once.
    pub fn with_max_watchers(mut self, max: usize) -> Self {
        self.max_watchers = max;
        self
    }

    /// The same state counting into the node's `metrics` (and serving them at `/metrics`).
    pub fn with_metrics(mut self, metrics: NodeMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The node's metrics.
    pub fn metrics(&self) -> &NodeMetrics {
        &self.metrics
    }

    /// The same state with the admin API enabled (its supervisor, token and gossiper).
    pub fn with_admin(mut self, admin: Option<AdminAccess>) -> Self {
        self.admin = admin;
        self
    }

    /// The same state with the settings of Envoy's v1 API.
    pub fn with_envoy_v1(mut self, options: V1Options) -> Self {
        self.envoy_v1 = Arc::new(options);
        self
    }

    /// The settings of Envoy's v1 API.
    pub(super) fn envoy_v1(&self) -> &V1Options {
        &self.envoy_v1
    }

    /// The admin API's access, when enabled.
    pub(super) fn admin(&self) -> Option<&AdminAccess> {
        self.admin.as_ref()
    }

    /// The latest published snapshot (an `Arc` clone).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshots.borrow().clone()
    }

    /// How many `/api/watch` streams are open (shared by all clones of this state).
    pub fn watchers(&self) -> usize {
        self.watchers.load(Ordering::Relaxed)
    }

    /// The drain inbox.
    pub(super) fn drain(&self) -> &Link<DrainService> {
        &self.drain
    }

    /// A receiver of its own for one watch stream, counted until the guard drops; refused
    /// when the limit of streams is reached.
    pub(super) fn subscribe(&self) -> Result<Subscription, WatchersFull> {
        let limit = self.max_watchers;
        let taken = self
            .watchers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < limit).then_some(open + 1)
            });
        match taken {
            Ok(_) => Ok(Subscription {
                snapshots: self.snapshots.clone(),
                guard: WatcherGuard(Arc::clone(&self.watchers)),
            }),
            Err(open) => Err(WatchersFull { open, limit }),
        }
    }
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("version", &self.snapshots.borrow().version())
            .field("watchers", &self.watchers())
            .finish_non_exhaustive()
    }
}

/// One watch stream's own receiver, counted among the open streams while it lives.
#[derive(Debug)]
pub(super) struct Subscription {
    /// The stream's receiver of snapshots.
    pub(super) snapshots: watch::Receiver<Arc<Snapshot>>,
    /// Counts the stream until dropped.
    pub(super) guard: WatcherGuard,
}

/// Why a watch stream was refused: `limit` streams are open already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct WatchersFull {
    /// Streams open when it was refused.
    pub(super) open: usize,
    /// `SIDECAR_MAX_WATCHERS`.
    pub(super) limit: usize,
}

/// Counts one open watch stream; decrements the count when dropped.
#[derive(Debug)]
pub(super) struct WatcherGuard(Arc<AtomicUsize>);

impl Drop for WatcherGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
