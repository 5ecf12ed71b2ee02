//! The web UI under `/ui/`: a page, three JavaScript modules and a stylesheet from `static/`,
//! compiled into the binary so the daemon serves them from any working directory. No build
//! step, no dependencies, nothing loaded from elsewhere.
//!
//! The page follows `GET /api/watch` (docs/COMPATIBILITY.md §7) for the services, and fetches
//! `/api/services.json` (members) and `/api/admin/subsystems` when the stream (re)connects,
//! after changes and every 10 s (docs/ARCHITECTURE.md, "The web UI"). This module only serves
//! the files: it must not template them or read anything at request time.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

/// `(file name, content type, content)` of every UI asset.
const ASSETS: [(&str, &str, &str); 5] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../static/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    ),
    (
        "json-stream.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/json-stream.js"),
    ),
    (
        "view.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/view.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../static/style.css"),
    ),
];

/// `GET /ui`: 301 to `/ui/` (relative links need the slash).
pub(super) async fn redirect() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, "/ui/"))
        .finish()
}

/// `GET /ui/` and `GET /ui/{file}`: an asset, or 404.
pub(super) async fn asset(file: Option<web::Path<String>>) -> HttpResponse {
    let name = file.map_or_else(|| "index.html".to_owned(), |f| f.into_inner());
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => HttpResponse::Ok()
            .content_type(*content_type)
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(*body),
        None => super::plain::not_found().await,
    }
}
