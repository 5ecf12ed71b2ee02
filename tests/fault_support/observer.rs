//! The observer: a thread that polls every live node's `/api/state.json` on a fast loop and
//! checks, on every answer, that each service the scenario says must be visible is there and
//! not TOMBSTONE (a steady service must be ALIVE). Every breach is recorded with its time, and
//! a breach fails the test. It also times the delivery of the changes a scenario announces.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::try_get as get;

/// ALIVE and TOMBSTONE, as the JSON API writes them.
pub const ALIVE: u64 = 0;
/// See [`ALIVE`].
pub const TOMBSTONE: u64 = 1;
/// UNHEALTHY.
pub const UNHEALTHY: u64 = 2;

/// What one node shows: host → service name → status.
pub type View = BTreeMap<String, BTreeMap<String, u64>>;

/// What must hold right now; the scenario changes it as it injects faults.
#[derive(Clone, Debug, Default)]
pub struct Expect {
    /// Nodes whose process runs and is not frozen: they are polled, and their services must
    /// be seen.
    pub live: BTreeSet<usize>,
    /// Who must see whom: a node must see the services of the live nodes of its group (one
    /// group of everyone when empty).
    pub groups: Vec<BTreeSet<usize>>,
    /// Hosts whose services need not be seen (e.g. a killed node, until it is back).
    pub exempt: BTreeSet<usize>,
    /// Nodes (re)starting: polled, but what they show is not checked until they have joined.
    pub joining: BTreeSet<usize>,
}

impl Expect {
    /// Everyone live, seeing everyone.
    pub fn all(nodes: usize) -> Expect {
        Expect {
            live: (1..=nodes).collect(),
            ..Expect::default()
        }
    }

    fn must_see(&self, observer: usize) -> Vec<usize> {
        let group = self.groups.iter().find(|g| g.contains(&observer));
        self.live
            .iter()
            .copied()
            .filter(|h| group.is_none_or(|g| g.contains(h)) && !self.exempt.contains(h))
            .collect()
    }
}

/// One breach of the invariant.
#[derive(Clone, Debug)]
pub struct Violation {
    /// Since the observer started.
    pub at: Duration,
    /// The node that showed it.
    pub observer: usize,
    /// What was wrong.
    pub what: String,
}

/// A change announced by the scenario, and when it was seen.
#[derive(Clone, Debug)]
struct Change {
    host: usize,
    service: String,
    status: u64,
    made: Instant,
    origin: Option<Duration>,
    everywhere: Option<Duration>,
    seen: BTreeSet<usize>,
}

/// How one announced change travelled.
#[derive(Clone, Copy, Debug)]
pub struct Delivery {
    /// From the change to its origin showing it (the health check's part).
    pub origin: Option<Duration>,
    /// From the change to every live node showing it.
    pub everywhere: Option<Duration>,
}

#[derive(Default)]
struct Shared {
    expect: Expect,
    views: BTreeMap<usize, View>,
    violations: Vec<Violation>,
    changes: Vec<Change>,
    polls: u64,
    unanswered: u64,
}

/// The running observer.
pub struct Observer {
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    started: Instant,
}

impl Observer {
    /// Starts polling `nodes` (index → API address) under `expect`.
    pub fn start(nodes: BTreeMap<usize, SocketAddr>, expect: Expect) -> Observer {
        let shared = Arc::new(Mutex::new(Shared {
            expect,
            ..Shared::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let (sh, st) = (Arc::clone(&shared), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let live = sh.lock().unwrap().expect.live.clone();
                for o in live {
                    let view = get(nodes[&o], "/api/state.json").and_then(|body| parse(&body));
                    record(&sh, o, view, started);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Observer {
            shared,
            stop,
            thread: Some(thread),
            started,
        }
    }

    /// Changes what must hold from now on.
    pub fn expect(&self, change: impl FnOnce(&mut Expect)) {
        change(&mut self.shared.lock().unwrap().expect);
    }

    /// Announces that `service` of node `host` is about to take `status`.
    pub fn announce(&self, host: usize, service: &str, status: u64) {
        self.shared.lock().unwrap().changes.push(Change {
            host,
            service: service.to_owned(),
            status,
            made: Instant::now(),
            origin: None,
            everywhere: None,
            seen: BTreeSet::new(),
        });
    }

    /// Waits until `pred` holds for the latest views of every live node; how long it took.
    pub fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(usize, &View) -> bool,
    ) -> Duration {
        let start = Instant::now();
        loop {
            {
                let shared = self.shared.lock().unwrap();
                let live = &shared.expect.live;
                let ok = live
                    .iter()
                    .all(|o| shared.views.get(o).is_some_and(|v| pred(*o, v)));
                if ok && !live.is_empty() {
                    return start.elapsed();
                }
            }
            if start.elapsed() >= timeout {
                let sh = self.shared.lock().unwrap();
                let (views, polls, unanswered) = (&sh.views, sh.polls, sh.unanswered);
                panic!(
                    "timed out after {timeout:?} waiting for: {what}; {polls} polls, \
                     {unanswered} unanswered; last views: {views:?}"
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Forgets the views of node `i` (after it restarts, its old answers must not count).
    pub fn forget(&self, i: usize) {
        self.shared.lock().unwrap().views.remove(&i);
    }

    /// Stops polling; the breaches, the announced changes' deliveries and (polls, unanswered).
    pub fn finish(mut self) -> (Vec<Violation>, Vec<Delivery>, (u64, u64)) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let shared = self.shared.lock().unwrap();
        let deliveries = shared
            .changes
            .iter()
            .map(|c| Delivery {
                origin: c.origin,
                everywhere: c.everywhere,
            })
            .collect();
        (
            shared.violations.clone(),
            deliveries,
            (shared.polls, shared.unanswered),
        )
    }

    /// Time since the observer started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `/api/state.json` as host → service name → status.
fn parse(body: &str) -> Option<View> {
    let state: Value = serde_json::from_str(body).ok()?;
    let mut view = View::new();
    for (host, server) in state["Servers"].as_object()? {
        let services = view.entry(host.clone()).or_default();
        for svc in server["Services"].as_object()?.values() {
            services.insert(svc["Name"].as_str()?.to_owned(), svc["Status"].as_u64()?);
        }
    }
    Some(view)
}

fn record(shared: &Mutex<Shared>, o: usize, view: Option<View>, started: Instant) {
    let mut sh = shared.lock().unwrap();
    sh.polls += 1;
    let Some(view) = view else {
        sh.unanswered += 1;
        return;
    };
    if !sh.expect.live.contains(&o) || sh.expect.joining.contains(&o) {
        sh.views.insert(o, view);
        return;
    }
    let at = started.elapsed();
    for h in sh.expect.must_see(o) {
        for (name, wanted_alive) in [
            (format!("steady-{h}"), true),
            (format!("flappy-{h}"), false),
        ] {
            let status = view
                .get(&format!("node-{h}"))
                .and_then(|s| s.get(&name))
                .copied();
            let bad = match status {
                None => Some("missing".to_owned()),
                Some(TOMBSTONE) => Some("TOMBSTONE".to_owned()),
                Some(s) if wanted_alive && s != ALIVE => Some(format!("status {s}")),
                Some(_) => None,
            };
            if let Some(bad) = bad {
                let what = format!("node-{o} shows {name} of node-{h} {bad}");
                sh.violations.push(Violation {
                    at,
                    observer: o,
                    what,
                });
            }
        }
    }
    let live = sh.expect.live.clone();
    for change in sh.changes.iter_mut().filter(|c| c.everywhere.is_none()) {
        let shown = view
            .get(&format!("node-{}", change.host))
            .and_then(|s| s.get(&change.service));
        if shown != Some(&change.status) {
            change.seen.remove(&o);
            continue;
        }
        if o == change.host && change.origin.is_none() {
            change.origin = Some(change.made.elapsed());
        }
        change.seen.insert(o);
        if live.iter().all(|n| change.seen.contains(n)) {
            change.everywhere = Some(change.made.elapsed());
        }
    }
    sh.views.insert(o, view);
}
