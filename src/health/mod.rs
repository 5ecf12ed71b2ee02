//! Health checks, the pure part: check kinds and the status machine ([`check`]), check-arg
//! templating ([`template`]) and the set of checks of this host's services ([`monitor`]).
//!
//! Pure: no I/O, no clock, no actix. The
//! [`HealthChecker`](crate::actors::HealthChecker) actor runs the checks.

pub mod check;
pub mod monitor;
pub mod template;

pub use check::{
    Check, CheckKind, CheckResult, CheckSpec, CheckStatus, StartupRecheck, Thresholds, Transition,
    default_check, service_status,
};
pub use monitor::{CheckId, Monitor, MonitorSettings, NewCheck, Observation, Recorded};
pub use template::{
    TemplateContext, TemplateError, localhost_if_empty_host, port_references, render, render_or_raw,
};
