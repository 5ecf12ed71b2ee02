//! StaticWatcher tests with a real file in a temp dir, a manual clock, a recording recipient
//! and a log drain that counts errors.

use crate::actors::recorder::Recorder;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use slog::{Drain, Level, Never, OwnedKVList, Record};
use tokio::time::Instant;

use super::*;
use crate::clock::{Clock, ManualClock};

type Seen = Arc<Mutex<Vec<ObservedLocalServices>>>;

/// Stores every ObservedLocalServices it is sent.
/// Keeps (level, message) of every log record.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(Level, String)>>>);

impl Drain for Capture {
    type Ok = ();
    type Err = Never;
    fn log(&self, record: &Record<'_>, _: &OwnedKVList) -> Result<(), Never> {
        let entry = (record.level(), record.msg().to_string());
        self.0.lock().unwrap().push(entry);
        Ok(())
    }
}

impl Capture {
    fn errors(&self) -> usize {
        let records = self.0.lock().unwrap();
        records.iter().filter(|(l, _)| *l == Level::Error).count()
    }
}

struct Harness {
    path: std::path::PathBuf,
    clock: ManualClock,
    seen: Seen,
    logs: Capture,
    _dir: tempfile::TempDir,
}

const AB: &str = r#"[{"Service":{"Name":"a"}},{"Service":{"Name":"b","Image":"b:1"}}]"#;

fn ctx(clock: &ManualClock) -> StaticContext {
    StaticContext {
        hostname: "vm".into(),
        published_ip: "10.0.0.5".into(),
        now: clock.now(),
    }
}

fn start(text: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("static.json");
    std::fs::write(&path, text).unwrap();
    let clock = ManualClock::new(Timestamp::parse("2026-11-23T08:00:00Z").unwrap());
    let initial = static_file::load(&path, &ctx(&clock)).unwrap();
    let seen = Seen::default();
    let logs = Capture::default();
    let recorder = Recorder(Arc::clone(&seen)).start();
    let settings = StaticWatcherSettings {
        path: path.clone(),
        reload_interval: Duration::from_millis(50),
        hostname: "vm".into(),
        published_ip: "10.0.0.5".into(),
    };
    let log = Logger::root(logs.clone().fuse(), o!());
    let shared: SharedClock = Arc::new(clock.clone());
    StaticWatcher::new(
        settings,
        initial,
        shared,
        vec![crate::supervisor::Link::fixed(recorder.recipient())],
        &log,
    )
    .start();
    Harness {
        path,
        clock,
        seen,
        logs,
        _dir: dir,
    }
}

impl Harness {
    fn names(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        let last = seen.last().map(|m| m.services.as_slice()).unwrap_or(&[]);
        last.iter().map(|d| d.service.name.clone()).collect()
    }

    fn last(&self) -> Vec<Discovered> {
        self.seen.lock().unwrap().last().unwrap().services.clone()
    }

    fn sends(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    async fn until(&self, what: &str, pred: impl Fn(&Harness) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !pred(self) {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for `n` more sends (ticks) than now.
    async fn ticks(&self, n: usize) {
        let target = self.sends() + n;
        self.until("more ticks", |h| h.sends() >= target).await;
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[actix::test]
async fn the_initial_list_is_sent_at_once_and_on_every_tick() {
    let h = start(AB);
    h.until("the first send", |h| h.sends() >= 1).await;
    assert_eq!(h.names(), ["a", "b"]);
    assert_eq!(h.last()[0].service.created, h.clock.now());
    h.ticks(3).await;
    assert_eq!(h.names(), ["a", "b"]);
}

#[actix::test]
async fn an_edit_keeps_the_id_and_created_of_unchanged_entries() {
    let h = start(AB);
    h.until("the first send", |h| h.sends() >= 1).await;
    let before = h.last();
    h.clock.advance(Duration::from_secs(60));
    write(
        &h.path,
        r#"[{"Service":{"Name":"a"}},{"Service":{"Name":"c","Image":"c:22"}}]"#,
    );
    h.until("c appears", |h| h.names() == ["a", "c"]).await;
    let after = h.last();
    assert_eq!(after[0].service.id, before[0].service.id);
    assert_eq!(after[0].service.created, before[0].service.created);
    assert_eq!(after[1].service.created, h.clock.now());
    assert_eq!(h.logs.errors(), 0);
}

#[actix::test]
async fn a_removed_entry_is_missing_from_the_next_list() {
    let h = start(AB);
    write(&h.path, r#"[{"Service":{"Name":"b","Image":"b:1"}}]"#);
    h.until("a is gone", |h| h.names() == ["b"]).await;
}

#[actix::test]
async fn an_invalid_file_is_logged_once_and_the_last_good_list_stays() {
    let h = start(AB);
    h.until("the first send", |h| h.sends() >= 1).await;
    write(&h.path, "[{\"Service\": {\"Name\": \"a\",}}]");
    h.until("the error is logged", |h| h.logs.errors() == 1)
        .await;
    h.ticks(5).await;
    assert_eq!(h.logs.errors(), 1);
    assert_eq!(h.names(), ["a", "b"]);
    // A different error is logged again; fixing the file brings the new list.
    write(&h.path, "{}");
    h.until("the new error is logged", |h| h.logs.errors() == 2)
        .await;
    write(&h.path, r#"[{"Service":{"Name":"z"}}]"#);
    h.until("z appears", |h| h.names() == ["z"]).await;
}

#[actix::test]
async fn a_deleted_file_is_logged_once_and_the_last_good_list_stays() {
    let h = start(AB);
    h.until("the first send", |h| h.sends() >= 1).await;
    std::fs::remove_file(&h.path).unwrap();
    h.until("the error is logged", |h| h.logs.errors() == 1)
        .await;
    h.ticks(5).await;
    assert_eq!(h.logs.errors(), 1);
    assert_eq!(h.names(), ["a", "b"]);
}
