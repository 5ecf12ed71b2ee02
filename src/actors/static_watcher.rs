//! StaticWatcher: reports the services of the static file (docs/COMPATIBILITY.md §9) and follows
//! edits to it.
//!
//! Does: send the current list to its recipients at start and every `reload_interval`; on each
//! tick, stat the file and re-read it when its mtime or length changed (every tick when the
//! mtime is unavailable). Unchanged entries keep their ID (IDs are content hashes) and their
//! `Created`. A broken or missing file is logged once, and the last good list stays.
//! Does not: parse (that is [`crate::discovery::static_file`]) or health-check anything.
//!
//! Reads happen on tokio's blocking pool, never on the actor's thread.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use actix::prelude::*;
use slog::{Logger, error, info, o};

use crate::catalog::RecordKey;
use crate::clock::{SharedClock, Timestamp};
use crate::discovery::static_file::{self, StaticContext, StaticFileError};
use crate::discovery::{Discovered, DiscoverySource};
use crate::messages::ObservedLocalServices;
use crate::supervisor::Link;

/// Where the static file is and how to read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticWatcherSettings {
    /// The file (`STATIC_CONFIG_FILE`).
    pub path: PathBuf,
    /// How often the file is checked for changes and the list re-sent.
    pub reload_interval: Duration,
    /// The OS hostname (default `Hostname`, listener URLs).
    pub hostname: String,
    /// The published IP (default port `IP`).
    pub published_ip: String,
}

/// What identifies a version of the file without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

/// The outcome of one look at the file (computed on the blocking pool).
#[derive(Debug)]
enum Look {
    /// Same mtime and length as last time.
    Unchanged,
    /// Read (or tried to); `stamp` is `None` when the file could not be stat-ed.
    Read {
        stamp: Option<FileStamp>,
        result: Result<Vec<Discovered>, StaticFileError>,
    },
}

/// The static-file watcher. See the [module docs](self).
pub struct StaticWatcher {
    settings: StaticWatcherSettings,
    current: Vec<Discovered>,
    clock: SharedClock,
    recipients: Vec<Link<ObservedLocalServices>>,
    stamp: Option<FileStamp>,
    last_error: Option<String>,
    looking: bool,
    log: Logger,
}

impl StaticWatcher {
    /// A watcher starting from `initial`, the list the caller loaded (and validated) at start.
    pub fn new(
        settings: StaticWatcherSettings,
        initial: Vec<Discovered>,
        clock: SharedClock,
        recipients: Vec<Link<ObservedLocalServices>>,
        log: &Logger,
    ) -> StaticWatcher {
        StaticWatcher {
            settings,
            current: initial,
            clock,
            recipients,
            stamp: None,
            last_error: None,
            looking: false,
            log: log.new(o!("actor" => "static_watcher")),
        }
    }

    /// Sends the current list to every recipient.
    fn send(&self) {
        for recipient in &self.recipients {
            recipient.do_send(ObservedLocalServices {
                source: DiscoverySource::Static,
                services: self.current.clone(),
            });
        }
    }

    /// Re-sends the list and, unless a look is under way, looks at the file again.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.send();
        if self.looking {
            return;
        }
        self.looking = true;
        let path = self.settings.path.clone();
        let previous = self.stamp;
        let parse_ctx = StaticContext {
            hostname: self.settings.hostname.clone(),
            published_ip: self.settings.published_ip.clone(),
            now: self.clock.now(),
        };
        let look = tokio::task::spawn_blocking(move || look(&path, previous, &parse_ctx));
        ctx.spawn(look.into_actor(self).map(|joined, act, _| {
            act.looking = false;
            match joined {
                Ok(look) => act.apply(look),
                Err(err) => error!(act.log, "Static file reader failed"; "error" => %err),
            }
        }));
    }

    /// Takes a new list, or logs why there is none.
    fn apply(&mut self, look: Look) {
        let Look::Read { stamp, result } = look else {
            return;
        };
        let file_changed = stamp != self.stamp;
        self.stamp = stamp;
        match result {
            Ok(list) => {
                self.last_error = None;
                self.replace(list);
            }
            Err(err) => {
                let text = err.to_string();
                if file_changed || self.last_error.as_deref() != Some(text.as_str()) {
                    error!(self.log, "Cannot load static file, keeping the last good list";
                        "error" => &text, "services" => self.current.len());
                }
                self.last_error = Some(text);
            }
        }
    }

    /// Replaces the list, keeping the `Created` of IDs that stay; sends it if it changed.
    fn replace(&mut self, mut list: Vec<Discovered>) {
        let created: HashMap<RecordKey, Timestamp> = (self.current.iter())
            .map(|d| (key_of(d), d.service.created))
            .collect();
        for d in &mut list {
            if let Some(&at) = created.get(&key_of(d)) {
                d.service.created = at;
            }
        }
        if list == self.current {
            return;
        }
        info!(self.log, "Static services changed"; "file" => %self.settings.path.display(),
            "services" => list.len());
        self.current = list;
        self.send();
    }
}

fn key_of(d: &Discovered) -> RecordKey {
    RecordKey::of(&d.service)
}

/// Stats the file and reads it if it changed since `previous` (blocking).
fn look(path: &Path, previous: Option<FileStamp>, ctx: &StaticContext) -> Look {
    let stamp = match std::fs::metadata(path) {
        Ok(meta) => FileStamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        },
        Err(source) => {
            let path = path.to_path_buf();
            let result = Err(StaticFileError::Read { path, source });
            return Look::Read {
                stamp: None,
                result,
            };
        }
    };
    if previous == Some(stamp) && stamp.modified.is_some() {
        return Look::Unchanged;
    }
    Look::Read {
        stamp: Some(stamp),
        result: static_file::load(path, ctx),
    }
}

impl Actor for StaticWatcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.send();
        ctx.run_interval(self.settings.reload_interval, Self::tick);
    }
}

#[cfg(test)]
mod tests;
crate::supervised_actor!(StaticWatcher);
