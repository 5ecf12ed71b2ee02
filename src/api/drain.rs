//! `POST /api/services/{id}/drain` (docs/COMPATIBILITY.md §8): asks the StateKeeper to set one of
//! this node's services DRAINING and reports what it answered. Decides nothing itself.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::error::{ApiError, Cors};
use super::state::ApiState;
use crate::catalog::Service;
use crate::messages::DrainService;

/// The 202 body, `{"Message": "..."}`, indented as Go writes it.
#[derive(Serialize)]
struct DrainReply {
    #[serde(rename = "Message")]
    message: String,
}

/// Drains the service `id`: 202 with a message, or 404 when this node holds no live record
/// with that ID.
pub(super) async fn drain(
    api: web::Data<ApiState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let answer = api.drain().send(DrainService { id: id.clone() }).await;
    let service = answer
        .map_err(|_| ApiError::state_unavailable())?
        .map_err(|_| ApiError::drain_not_found(&id))?;
    accepted(&service)
}

/// 202 with Go's message naming the drained record.
fn accepted(service: &Service) -> Result<HttpResponse, ApiError> {
    let message = format!(
        "Service \"{}\" instance \"{}\" set to DRAINING",
        service.name, service.id
    );
    let body = serde_json::to_vec_pretty(&DrainReply { message });
    let body = body.map_err(|_| ApiError::encoding(Cors::Omitted))?;
    Ok(HttpResponse::Accepted()
        .content_type("application/json")
        .body(body))
}
