//! Remembers the last panic message, so the Supervisor can say why a subsystem died.
//!
//! A panicking actor's mailbox just closes; the message itself only reaches the panic hook.

use std::panic::PanicHookInfo;
use std::sync::{Mutex, Once, PoisonError};

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);
static INSTALL: Once = Once::new();

/// Installs (once per process) a panic hook that records the message and location, then
/// runs the previous hook (which prints it).
pub fn install_panic_hook() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            record(info);
            previous(info);
        }));
    });
}

fn record(info: &PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned());
    let text = match info.location() {
        Some(at) => format!("panicked at {}:{}: {message}", at.file(), at.line()),
        None => format!("panicked: {message}"),
    };
    *LAST_PANIC.lock().unwrap_or_else(PoisonError::into_inner) = Some(text);
}

/// The last panic recorded since the previous call, if any.
pub fn take_last_panic() -> Option<String> {
    LAST_PANIC
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
}
