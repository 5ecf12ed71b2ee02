//! The answers that carry no catalogue data: the `/` redirect, the CORS preflight and Go's
//! plain-text 404 for unmatched paths (docs/COMPATIBILITY.md §6).

use actix_web::HttpResponse;
use actix_web::http::header;

use super::error::with_cors;

/// Go's `http.Redirect` body for a 301 to `/ui/`.
const REDIRECT_BODY: &str = "<a href=\"/ui/\">Moved Permanently</a>.\n\n";
/// Go's `http.NotFound` body.
const NOT_FOUND_BODY: &str = "404 page not found\n";

/// `GET /`: 301 to the UI.
pub(super) async fn root() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, "/ui/"))
        .content_type("text/html; charset=utf-8")
        .body(REDIRECT_BODY)
}

/// `OPTIONS /api/{segment}`: 200, empty body, the CORS headers.
pub(super) async fn preflight() -> HttpResponse {
    with_cors(&mut HttpResponse::Ok()).finish()
}

/// Any unmatched path: Go's `404 page not found` as plain text.
pub(super) async fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(NOT_FOUND_BODY)
}
