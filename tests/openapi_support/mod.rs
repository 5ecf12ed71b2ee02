//! Checks real HTTP answers against `docs/openapi.json` (used by `tests/openapi.rs`).

mod checker;
mod http;
mod spec;

pub(crate) use checker::{Call, Checker, TOKEN, call};
pub(crate) use http::{Answer, exchange};
pub(crate) use spec::Spec;
