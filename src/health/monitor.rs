//! [`Monitor`]: the checks of this host's discovered services, and the service list with
//! statuses that results in (docs/COMPATIBILITY.md §11).
//!
//! Pure: it decides which checks exist and what their results mean; the HealthChecker actor
//! runs them and feeds results back. Each discovery source's list replaces that source's
//! previous list; a check is created for every new (hostname, ID) and deleted when the ID
//! disappears. Checks are never re-created while their ID persists (as in Go).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::check::{Check, CheckKind, CheckResult, CheckSpec, CheckStatus, Transition};
use super::check::{StartupRecheck, Thresholds};
use super::check::{default_check, service_status};
use super::template::{TemplateContext, TemplateError, localhost_if_empty_host, render_or_raw};
use crate::catalog::{RecordKey, Service};
use crate::discovery::{Discovered, DiscoverySource};

/// What checks are built from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MonitorSettings {
    /// This node's published IP (`{{ host }}` and the default check's host).
    pub published_ip: String,
    /// Path of the default HTTP check (`SIDECAR_DEFAULT_CHECK_ENDPOINT`); empty means `/`.
    pub default_check_endpoint: String,
    /// Results in a row that change an established status (default: each one, as Go).
    pub thresholds: Thresholds,
    /// Quick re-checks of a new service whose first runs fail; `None`: none.
    pub startup_recheck: Option<StartupRecheck>,
}

/// One check instance: a service's key and the generation of its check, so that a result of
/// a check that was deleted (and maybe re-created) in the meantime is recognised as stale.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckId {
    /// The service: (hostname, ID).
    pub key: RecordKey,
    /// Distinguishes successive checks of the same key.
    pub generation: u64,
}

/// A check that [`Monitor::observe`] created; the caller should run it at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCheck {
    /// The check.
    pub id: CheckId,
    /// The service's name, for the logs.
    pub name: String,
    /// What it runs (args already rendered).
    pub spec: CheckSpec,
    /// Whether it is the default check (the service defined none).
    pub is_default: bool,
    /// Set when the args template failed and the raw args are used.
    pub template_error: Option<TemplateError>,
}

/// What one [`Monitor::observe`] changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// Checks created for new services.
    pub added: Vec<NewCheck>,
    /// Services (and their checks) that are gone.
    pub removed: Vec<RecordKey>,
    /// Names of services newly dropped because they have no ID (each reported once).
    pub dropped_without_id: Vec<String>,
    /// Whether the service list changed (added, removed or a record's content).
    pub changed: bool,
}

/// What one result did to a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The service's name, for the logs.
    pub name: String,
    /// The check status before and after.
    pub transition: Transition,
    /// Whether the reported service status changed (including the first result).
    pub service_status_changed: bool,
    /// Set when the result was held back (a new service failing quickly): run the check
    /// again after this, not after the interval.
    pub recheck_after: Option<Duration>,
}

#[derive(Clone, Debug)]
struct Watched {
    service: Service,
    check: Check,
    generation: u64,
}

/// The checks of this host's services.
#[derive(Debug, Default)]
pub struct Monitor {
    settings: MonitorSettings,
    sources: BTreeMap<DiscoverySource, Vec<Discovered>>,
    watched: BTreeMap<RecordKey, Watched>,
    dropped: BTreeMap<DiscoverySource, BTreeSet<String>>,
    next_generation: u64,
}

impl Monitor {
    /// A monitor with no services.
    pub fn new(settings: MonitorSettings) -> Monitor {
        Monitor {
            settings,
            ..Monitor::default()
        }
    }

    /// Replaces `source`'s list with `services` and creates/deletes checks to match.
    pub fn observe(&mut self, source: DiscoverySource, services: Vec<Discovered>) -> Observation {
        let (kept, dropped): (Vec<_>, Vec<_>) =
            services.into_iter().partition(|d| !d.service.id.is_empty());
        let mut observation = Observation {
            dropped_without_id: self.note_dropped(source, dropped),
            ..Observation::default()
        };
        self.sources.insert(source, kept);
        let mut union: BTreeMap<RecordKey, Discovered> = BTreeMap::new();
        for d in self.sources.values().flatten() {
            union.entry(key_of(&d.service)).or_insert_with(|| d.clone());
        }
        let gone: Vec<RecordKey> = (self.watched.keys())
            .filter(|key| !union.contains_key(*key))
            .cloned()
            .collect();
        for key in &gone {
            self.watched.remove(key);
        }
        observation.changed = !gone.is_empty();
        observation.removed = gone;
        for (key, d) in union {
            match self.watched.get_mut(&key) {
                Some(w) if same_record(&w.service, &d.service) => {}
                Some(w) => {
                    w.service = d.service;
                    observation.changed = true;
                }
                None => {
                    observation.added.push(self.watch(key, d));
                    observation.changed = true;
                }
            }
        }
        observation
    }

    /// Remembers the names dropped for lack of an ID; returns those not dropped last time.
    fn note_dropped(&mut self, source: DiscoverySource, dropped: Vec<Discovered>) -> Vec<String> {
        let names: BTreeSet<String> = dropped.into_iter().map(|d| d.service.name).collect();
        let before = self
            .dropped
            .insert(source, names.clone())
            .unwrap_or_default();
        names.difference(&before).cloned().collect()
    }

    /// Creates the check of a new service.
    fn watch(&mut self, key: RecordKey, d: Discovered) -> NewCheck {
        let ctx = TemplateContext {
            service: &d.service,
            published_ip: &self.settings.published_ip,
        };
        let (spec, initial, template_error) = match &d.check {
            Some(def) => {
                let kind = CheckKind::from_name(&def.kind);
                let (args, err) = render_or_raw(&def.args, &ctx);
                let args = match kind {
                    CheckKind::HttpGet => localhost_if_empty_host(&args),
                    _ => args,
                };
                (CheckSpec { kind, args }, CheckStatus::Failed, err)
            }
            None => {
                let s = &self.settings;
                let (spec, initial) =
                    default_check(&d.service, &s.published_ip, &s.default_check_endpoint);
                (spec, initial, None)
            }
        };
        self.next_generation += 1;
        let id = CheckId {
            key: key.clone(),
            generation: self.next_generation,
        };
        let new = NewCheck {
            id,
            name: d.service.name.clone(),
            spec: spec.clone(),
            is_default: d.check.is_none(),
            template_error,
        };
        let watched = Watched {
            service: d.service,
            check: Check::new(spec, initial)
                .with_thresholds(self.settings.thresholds)
                .with_startup_recheck(self.settings.startup_recheck),
            generation: self.next_generation,
        };
        self.watched.insert(key, watched);
        new
    }

    /// The spec of check `id`, if it still exists.
    pub fn spec(&self, id: &CheckId) -> Option<&CheckSpec> {
        self.current(id).map(|w| &w.check.spec)
    }

    fn current(&self, id: &CheckId) -> Option<&Watched> {
        (self.watched.get(&id.key)).filter(|w| w.generation == id.generation)
    }

    /// Applies a result of check `id`; `None` when that check no longer exists.
    pub fn record(&mut self, id: &CheckId, result: &CheckResult) -> Option<Recorded> {
        let w = (self.watched.get_mut(&id.key)).filter(|w| w.generation == id.generation)?;
        if let Some(wait) = w.check.defer_first_failure(result) {
            let status = w.check.status();
            return Some(Recorded {
                name: w.service.name.clone(),
                transition: Transition {
                    before: status,
                    after: status,
                },
                service_status_changed: false,
                recheck_after: Some(wait),
            });
        }
        let before = (w.check.results() > 0).then(|| w.check.status().service_status());
        let transition = w.check.update(result);
        Some(Recorded {
            name: w.service.name.clone(),
            transition,
            service_status_changed: before != Some(transition.after.service_status()),
            recheck_after: None,
        })
    }

    /// Every current check.
    pub fn check_ids(&self) -> impl Iterator<Item = CheckId> + '_ {
        self.watched.iter().map(|(key, w)| CheckId {
            key: key.clone(),
            generation: w.generation,
        })
    }

    /// How many services (and checks) there are.
    pub fn len(&self) -> usize {
        self.watched.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.watched.is_empty()
    }

    /// The services whose check has a result, with `status` set from it, and the keys of
    /// those still waiting for their first result.
    pub fn report(&self) -> (Vec<Service>, BTreeSet<RecordKey>) {
        let mut services = Vec::with_capacity(self.watched.len());
        let mut pending = BTreeSet::new();
        for (key, w) in &self.watched {
            if w.check.results() == 0 {
                pending.insert(key.clone());
                continue;
            }
            let mut svc = w.service.clone();
            svc.status = service_status(Some(w.check.status()));
            services.push(svc);
        }
        (services, pending)
    }
}

fn key_of(svc: &Service) -> RecordKey {
    RecordKey::of(svc)
}

/// Whether two versions of a discovered record announce the same thing (ignores `Updated`
/// and `Status`, which are not discovery's business).
fn same_record(a: &Service, b: &Service) -> bool {
    (a.id == b.id && a.name == b.name && a.image == b.image && a.created == b.created)
        && (a.hostname == b.hostname && a.ports == b.ports && a.proxy_mode == b.proxy_mode)
}

#[cfg(test)]
mod tests;
