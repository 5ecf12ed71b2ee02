//! HAProxy management, the pure part: the [`ProxyModel`] of what to route (built from the
//! catalogue), its rendering into a configuration with the built-in or a user's tera
//! template ([`Renderer`]), and the [`plan`] that decides between nothing, runtime-API
//! commands and a reload (README, "HAProxy").
//!
//! Pure: no actix, tokio, files, processes or clock. The
//! [`HaproxyManager`](crate::actors::HaproxyManager) actor does the I/O.

pub mod model;
pub mod plan;
pub mod render;

#[cfg(test)]
mod tests;

pub use model::{
    BackendServer, Frontend, ProxiedService, ProxyModel, ProxySettings, Rejected, sanitize_name,
};
pub use plan::{Plan, Running, RuntimeCommand, plan};
pub use render::{DEFAULT_TEMPLATE, RenderError, Renderer};
