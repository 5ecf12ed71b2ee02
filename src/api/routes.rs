//! The route table of the API (docs/COMPATIBILITY.md §6) and [`configure`], which registers it.
//!
//! The table is the one list of routes: `docs/openapi.json` must describe exactly these
//! (`openapi.rs` tests it). Handlers live in their own files; nothing here decides anything.

use actix_web::Route as HandlerRoute;
use actix_web::http::Method;
use actix_web::web;

use super::{admin, catalog, drain, envoy_v1, metrics, openapi, plain, ui, watch};

/// One route of the API: a path pattern, a method and its handler. Patterns are written the
/// same way in actix and in OpenAPI (`/api/services/{name}.{ext}`), so [`ROUTES`] is both what
/// [`configure`] registers and what `docs/openapi.json` must describe (a test compares them).
pub(super) struct Route {
    /// The path pattern.
    pub(super) pattern: &'static str,
    /// The method it answers.
    pub(super) method: Method,
    /// Whether the path also answers the CORS preflight (`OPTIONS`), as Go's one-segment
    /// `/api/` paths do.
    pub(super) preflight: bool,
    /// Binds the handler.
    to: Bind,
}

impl Route {
    /// The resource answering this route (and the preflight, if it does).
    fn resource(&self) -> actix_web::Resource {
        let route = (self.to)(web::route().method(self.method.clone()));
        let resource = web::resource(self.pattern).route(route);
        match self.preflight {
            true => resource.route(web::method(Method::OPTIONS).to(plain::preflight)),
            false => resource,
        }
    }
}

/// Every route of the API (docs/COMPATIBILITY.md §6), in matching order: the first pattern
/// that matches a path answers it, with 405 if the method is not its own.
pub(super) const ROUTES: &[Route] = &[
    get("/", |r| r.to(plain::root)),
    get("/ui", |r| r.to(ui::redirect)),
    get("/ui/", |r| r.to(ui::asset)),
    get("/ui/{file}", |r| r.to(ui::asset)),
    get_and_preflight("/api/state.{ext}", |r| r.to(catalog::state)),
    get_and_preflight("/api/services.{ext}", |r| r.to(catalog::services)),
    get("/api/services/{name}.{ext}", |r| r.to(catalog::service)),
    post("/api/services/{id}/drain", |r| r.to(drain::drain)),
    get_and_preflight("/api/watch", |r| r.to(watch::watch)),
    get_and_preflight("/api/openapi.json", |r| r.to(openapi::document)),
    get("/api/admin/subsystems", |r| r.to(admin::subsystems)),
    post("/api/admin/subsystems/{name}/restart", |r| {
        r.to(admin::restart)
    }),
    get("/api/admin/gossip", |r| r.to(admin::gossip)),
    put("/api/admin/gossip/keys", |r| r.to(admin::replace_keys)),
    get("/api/admin/envoy", |r| r.to(admin::envoy)),
    get("/metrics", |r| r.to(metrics::metrics)),
    options("/api/{segment}", |r| r.to(plain::preflight)),
    get("/v1/registration/{name}", |r| r.to(envoy_v1::registration)),
    get("/v1/clusters", |r| r.to(envoy_v1::clusters)),
    get("/v1/clusters/{cluster}/{node}", |r| {
        r.to(envoy_v1::clusters)
    }),
    get("/v1/listeners", |r| r.to(envoy_v1::listeners)),
    get("/v1/listeners/{cluster}/{node}", |r| {
        r.to(envoy_v1::listeners)
    }),
    get("/state.{ext}", |r| r.to(catalog::state)),
    get("/services.{ext}", |r| r.to(catalog::services)),
    get("/watch", |r| r.to(watch::watch)),
];

/// Binds a handler to a route (given with its method guard).
type Bind = fn(HandlerRoute) -> HandlerRoute;

const fn route(method: Method, pattern: &'static str, preflight: bool, to: Bind) -> Route {
    Route {
        pattern,
        method,
        preflight,
        to,
    }
}

const fn get(pattern: &'static str, to: Bind) -> Route {
    route(Method::GET, pattern, false, to)
}

/// A GET whose path also answers the CORS preflight.
const fn get_and_preflight(pattern: &'static str, to: Bind) -> Route {
    route(Method::GET, pattern, true, to)
}

const fn post(pattern: &'static str, to: Bind) -> Route {
    route(Method::POST, pattern, false, to)
}

const fn put(pattern: &'static str, to: Bind) -> Route {
    route(Method::PUT, pattern, false, to)
}

const fn options(pattern: &'static str, to: Bind) -> Route {
    route(Method::OPTIONS, pattern, false, to)
}

/// Registers every route of the table (`routes::ROUTES`) and the 404 for unmatched paths.
///
/// Expects an [`ApiState`](super::ApiState) in the app data
/// (`App::app_data(web::Data::new(state))`). A path that matches a route with another method
/// answers 405 with an empty body, as Go's router does.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for route in ROUTES {
        cfg.service(route.resource());
    }
    cfg.default_service(web::to(plain::not_found));
    #[cfg(feature = "fault-injection")]
    cfg.service(
        web::resource("/api/admin/subsystems/{name}/panic")
            .route(web::post().to(admin::inject_panic)),
    );
}
