//! The root slog logger: text or JSON (`SIDECAR_LOGGING_FORMAT`), a level filter
//! (`SIDECAR_LOGGING_LEVEL`), an asynchronous drain that blocks rather than drops, and the
//! bridge that routes the `log` records of dependencies (actix, actix-web, reqwest…) into it.
//!
//! Must not: be called twice in one process (it installs the global `log` bridge), or be
//! dropped before the process has written its last line — keep the [`LogGuard`] alive.

use std::io::Write;

use slog::{Drain, Level, Logger, o};

use crate::config::{LogFormat, LogLevel};

/// Keeps the asynchronous drain and the `log` bridge alive; dropping it flushes every queued
/// record.
pub struct LogGuard {
    _scope: Option<slog_scope::GlobalLoggerGuard>,
    _async: slog_async::AsyncGuard,
}

/// How many records may wait for the writer thread before callers block.
const QUEUE: usize = 1024;

/// Whether [`init`] routes the `log` crate's records (from dependencies) into slog: once per
/// process, so the daemon does and tests that build several loggers do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogBridge {
    /// Install the process-wide bridge.
    Install,
    /// Leave the `log` crate alone.
    Skip,
}

/// Builds the root logger writing to `out` (stderr in the daemon), with the `log` bridge as
/// `bridge` says.
pub fn init<W>(level: LogLevel, format: LogFormat, out: W, bridge: LogBridge) -> (Logger, LogGuard)
where
    W: Write + Send + 'static,
{
    let drain: Box<dyn Drain<Ok = (), Err = slog::Never> + Send> = match format {
        LogFormat::Json => Box::new(slog_json::Json::new(out).add_default_keys().build().fuse()),
        LogFormat::Text => {
            let decorator = slog_term::PlainDecorator::new(out);
            Box::new(slog_term::FullFormat::new(decorator).build().fuse())
        }
    };
    let (drain, guard) = slog_async::Async::new(drain)
        .chan_size(QUEUE)
        .overflow_strategy(slog_async::OverflowStrategy::Block)
        .thread_name("sidecar-log".into())
        .build_with_guard();
    let drain = drain.filter_level(slog_level(level)).fuse();
    let root = Logger::root(drain, o!());
    let scope = (bridge == LogBridge::Install).then(|| install_log_bridge(&root, level));
    let guard = LogGuard {
        _scope: scope,
        _async: guard,
    };
    (root, guard)
}

fn install_log_bridge(root: &Logger, level: LogLevel) -> slog_scope::GlobalLoggerGuard {
    let scope = slog_scope::set_global_logger(root.new(o!("source" => "dependency")));
    // A second installation in the same process (tests) is harmless: the first bridge stays.
    let _ = slog_stdlog::init_with_level(log_level(level));
    scope
}

fn slog_level(level: LogLevel) -> Level {
    match level {
        LogLevel::Debug => Level::Debug,
        LogLevel::Info => Level::Info,
        LogLevel::Warn => Level::Warning,
        LogLevel::Error => Level::Error,
    }
}

/// Dependencies are noisier than we are: they log one level above ours, never at debug
/// unless we do.
fn log_level(level: LogLevel) -> log::Level {
    match level {
        LogLevel::Debug => log::Level::Debug,
        LogLevel::Info | LogLevel::Warn => log::Level::Warn,
        LogLevel::Error => log::Level::Error,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use slog::{debug, info};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn written(buffer: &Buffer) -> String {
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn json_format_writes_one_object_per_line_with_key_values() {
        let buffer = Buffer::default();
        let (log, guard) = init(
            LogLevel::Info,
            LogFormat::Json,
            buffer.clone(),
            LogBridge::Skip,
        );
        info!(log, "Node started"; "port" => 7777);
        drop(guard);
        let line = written(&buffer);
        let value: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(value["msg"], "Node started");
        assert_eq!(value["port"], 7777);
        assert_eq!(value["level"], "INFO");
    }

    #[test]
    fn records_below_the_level_are_filtered_out() {
        let buffer = Buffer::default();
        let (log, guard) = init(
            LogLevel::Info,
            LogFormat::Text,
            buffer.clone(),
            LogBridge::Skip,
        );
        debug!(log, "hidden detail");
        info!(log, "shown");
        drop(guard);
        let text = written(&buffer);
        assert!(
            text.contains("shown") && !text.contains("hidden detail"),
            "{text}"
        );
    }

    #[test]
    fn nothing_queued_is_lost_when_the_guard_is_dropped() {
        let buffer = Buffer::default();
        let (log, guard) = init(
            LogLevel::Info,
            LogFormat::Text,
            buffer.clone(),
            LogBridge::Skip,
        );
        for i in 0..20_000 {
            info!(log, "line"; "i" => i);
        }
        drop(log);
        drop(guard);
        assert_eq!(written(&buffer).lines().count(), 20_000);
    }
}
