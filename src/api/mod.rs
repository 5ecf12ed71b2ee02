//! The HTTP API (docs/COMPATIBILITY.md §6): Go Sidecar's routes, bodies, headers and status codes
//! on actix-web.
//!
//! Handlers only translate HTTP to and from the current [`Snapshot`](crate::catalog::Snapshot) and
//! the StateKeeper's messages. They read the snapshot the [`WebApi`](crate::actors::WebApi) actor
//! keeps in a `tokio::sync::watch` channel (an `Arc` clone per request, never a message round trip)
//! and answer with its cached encodings (no copy). They must not hold state of their own, decide
//! anything about the catalogue, or panic on any input.
//!
//! Left out for now: `/servers` and Go's 301 to cleaned paths (`//x`).

pub mod admin;
mod catalog;
mod drain;
mod envoy_v1;
mod error;
mod front_door;
pub mod metrics;
mod plain;
pub mod server;
mod state;
mod ui;
mod watch;

use actix_web::http::Method;
use actix_web::web;

pub use error::ApiError;
pub use state::ApiState;

/// Registers every route of the API (docs/COMPATIBILITY.md §6) and the 404 for unmatched paths.
///
/// Expects an [`ApiState`] in the app data (`App::app_data(web::Data::new(state))`). A path
/// that matches a route with another method answers 405 with an empty body, as Go's router
/// does.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use web::{get, post, put, resource};
    cfg.service(resource("/").route(get().to(plain::root)))
        .service(resource("/ui").route(get().to(ui::redirect)))
        .service(resource("/ui/").route(get().to(ui::asset)))
        .service(resource("/ui/{file}").route(get().to(ui::asset)))
        .service(api_resource("/api/state.{ext}").route(get().to(catalog::state)))
        .service(api_resource("/api/services.{ext}").route(get().to(catalog::services)))
        .service(resource("/api/services/{name}.{ext}").route(get().to(catalog::service)))
        .service(resource("/api/services/{id}/drain").route(post().to(drain::drain)))
        .service(api_resource("/api/watch").route(get().to(watch::watch)))
        .service(resource("/api/admin/subsystems").route(get().to(admin::subsystems)))
        .service(resource("/api/admin/subsystems/{name}/restart").route(post().to(admin::restart)))
        .service(resource("/api/admin/gossip").route(get().to(admin::gossip)))
        .service(resource("/api/admin/gossip/keys").route(put().to(admin::replace_keys)))
        .service(resource("/api/admin/envoy").route(get().to(admin::envoy)))
        .service(resource("/metrics").route(get().to(metrics::metrics)))
        .service(api_resource("/api/{segment}"))
        .service(resource("/v1/registration/{name}").route(get().to(envoy_v1::registration)))
        .service(resource("/v1/clusters").route(get().to(envoy_v1::clusters)))
        .service(resource("/v1/clusters/{cluster}/{node}").route(get().to(envoy_v1::clusters)))
        .service(resource("/v1/listeners").route(get().to(envoy_v1::listeners)))
        .service(resource("/v1/listeners/{cluster}/{node}").route(get().to(envoy_v1::listeners)))
        .service(resource("/state.{ext}").route(get().to(catalog::state)))
        .service(resource("/services.{ext}").route(get().to(catalog::services)))
        .service(resource("/watch").route(get().to(watch::watch)))
        .default_service(web::to(plain::not_found));
    #[cfg(feature = "fault-injection")]
    cfg.service(
        resource("/api/admin/subsystems/{name}/panic").route(post().to(admin::inject_panic)),
    );
}

/// A resource under `/api/` with one path segment: it also answers the CORS preflight.
fn api_resource(path: &str) -> actix_web::Resource {
    web::resource(path).route(web::method(Method::OPTIONS).to(plain::preflight))
}
