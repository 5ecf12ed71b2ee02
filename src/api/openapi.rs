//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the whole HTTP API, kept in the
//! repository as `docs/openapi.json` and compiled into the binary (docs/ARCHITECTURE.md, "The
//! HTTP API's description").
//!
//! The document is written by hand and authoritative: a unit test here checks that it
//! describes exactly the routes of [`super::routes`], and `tests/openapi.rs` checks the answers
//! of a running node against it. Nothing here builds or changes it.

use actix_web::HttpResponse;

use super::error::with_cors;

/// The description, byte for byte as in the repository.
pub(super) const DOCUMENT: &str = include_str!("../../docs/openapi.json");

/// `GET /api/openapi.json`: 200 `application/json` with the CORS headers, as the other
/// one-segment JSON paths under `/api/`.
pub(super) async fn document() -> HttpResponse {
    with_cors(&mut HttpResponse::Ok())
        .content_type("application/json")
        .body(DOCUMENT)
}

#[cfg(test)]
mod tests;
