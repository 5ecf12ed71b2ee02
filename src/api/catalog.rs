//! The catalogue reads: `/api/state.{ext}`, `/api/services.{ext}`,
//! `/api/services/{name}.{ext}` and their deprecated aliases (docs/COMPATIBILITY.md §4, §6).
//!
//! Every body is one of the snapshot's cached encodings, sent without copying.

use actix_web::{HttpResponse, web};
use bytes::Bytes;

use super::error::{ApiError, Cors, with_cors};
use super::state::ApiState;

/// `GET /api/state.{ext}`: the whole state, compact. A bad extension answers without the CORS
/// headers (Go sets them only after the check).
pub(super) async fn state(
    api: web::Data<ApiState>,
    ext: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_extension(&ext, Cors::Omitted)?;
    let body = api.snapshot().state_json();
    Ok(json_with_cors(
        body.ok_or_else(|| ApiError::encoding(Cors::Sent))?,
    ))
}

/// `GET /api/services.{ext}`: every service by name, with the cluster members, indented.
pub(super) async fn services(
    api: web::Data<ApiState>,
    ext: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_extension(&ext, Cors::Sent)?;
    let body = api.snapshot().services_json();
    Ok(json_with_cors(
        body.ok_or_else(|| ApiError::encoding(Cors::Sent))?,
    ))
}

/// `GET /api/services/{name}.{ext}`: one service's records, indented. The extension is the
/// text after the last dot, so names may contain dots.
pub(super) async fn service(
    api: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, ext) = path.into_inner();
    check_extension(&ext, Cors::Sent)?;
    let snapshot = api.snapshot();
    if !snapshot.state().records().any(|svc| svc.name == name) {
        return Err(ApiError::no_instances(&name));
    }
    let body = snapshot.service_json(&name);
    Ok(json_with_cors(
        body.ok_or_else(|| ApiError::encoding(Cors::Sent))?,
    ))
}

/// Only `json` is served.
fn check_extension(ext: &str, cors: Cors) -> Result<(), ApiError> {
    if ext == "json" {
        Ok(())
    } else {
        Err(ApiError::bad_extension(cors))
    }
}

/// 200 `application/json` with the CORS headers.
fn json_with_cors(body: Bytes) -> HttpResponse {
    with_cors(&mut HttpResponse::Ok())
        .content_type("application/json")
        .body(body)
}
