//! [`ApiError`]: the JSON error answers of the API (docs/COMPATIBILITY.md §6), with or without the
//! CORS headers exactly where Go sends them (the same section).

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use serde::Serialize;

/// Whether an answer carries the CORS headers (Go sends them on some errors, not others).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cors {
    /// With `Access-Control-Allow-*`.
    Sent,
    /// Without.
    Omitted,
}

/// An error answer: `{"message":"<text>","status":"error"}` as `application/json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    cors: Cors,
}

/// The JSON body, keys in Go's order.
#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
    status: &'static str,
}

impl ApiError {
    /// 404 `Not Found - Invalid content type extension`; `cors` says whether this endpoint
    /// sends the CORS headers on this error (`state.<ext>` does not).
    pub fn bad_extension(cors: Cors) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "Not Found - Invalid content type extension",
            cors,
        )
    }

    /// 404 `no instances of <name> found`.
    pub fn no_instances(name: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            &format!("no instances of {name} found"),
            Cors::Sent,
        )
    }

    /// 404 from the drain endpoint: no live record of this node has that ID.
    pub fn drain_not_found(id: &str) -> ApiError {
        let text = format!("Not Found - Service ID \"{id}\" not found");
        ApiError::new(StatusCode::NOT_FOUND, &text, Cors::Omitted)
    }

    /// 500 `Internal server error`: an encoding failed.
    pub fn encoding(cors: Cors) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            cors,
        )
    }

    /// 500 from the drain endpoint: the StateKeeper could not be reached.
    pub fn state_unavailable() -> ApiError {
        let text = "Internal Server Error - Something went terribly wrong";
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, text, Cors::Omitted)
    }

    /// 401: the admin API needs `Authorization: Bearer <SIDECAR_ADMIN_TOKEN>`.
    pub fn unauthorized() -> ApiError {
        let text = "Unauthorized - a valid bearer token is required";
        ApiError::new(StatusCode::UNAUTHORIZED, text, Cors::Omitted)
    }

    /// 403: without SIDECAR_ADMIN_TOKEN the admin API answers loopback clients only.
    pub fn forbidden() -> ApiError {
        let text = "Forbidden - the admin API answers loopback clients only \
                    (set SIDECAR_ADMIN_TOKEN to allow others)";
        ApiError::new(StatusCode::FORBIDDEN, text, Cors::Omitted)
    }

    /// 404: no subsystem has that name.
    pub fn unknown_subsystem(name: &str) -> ApiError {
        let text = format!("Not Found - no subsystem named \"{name}\"");
        ApiError::new(StatusCode::NOT_FOUND, &text, Cors::Omitted)
    }

    /// 503: the admin API is not wired to a supervisor, or it could not be reached.
    pub fn supervisor_unavailable() -> ApiError {
        ApiError::unavailable("supervisor")
    }

    /// 503: the node has no gossiper, or it is restarting or did not answer in time.
    pub fn gossiper_unavailable() -> ApiError {
        ApiError::unavailable("gossiper")
    }

    /// 400: a gossip key list that cannot be used (`reason` never holds key material).
    pub fn bad_keys(reason: &str) -> ApiError {
        let text = format!("Bad Request - gossip keys: {reason}");
        ApiError::new(StatusCode::BAD_REQUEST, &text, Cors::Omitted)
    }

    /// 400: `/api/watch?since=` is not an RFC 3339 timestamp (docs/COMPATIBILITY.md §7).
    pub fn bad_since(reason: &str) -> ApiError {
        let text = format!("Bad Request - since: {reason}");
        ApiError::new(StatusCode::BAD_REQUEST, &text, Cors::Omitted)
    }

    /// 400: the query string cannot be read (the watch stream's parameters).
    pub fn bad_query(reason: &str) -> ApiError {
        let text = format!("Bad Request - query: {reason}");
        ApiError::new(StatusCode::BAD_REQUEST, &text, Cors::Omitted)
    }

    /// The message text.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON body, `{"message":"<text>","status":"error"}`.
    pub fn body(&self) -> Vec<u8> {
        let body = ErrorBody {
            message: &self.message,
            status: "error",
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// 404 from `/v1/registration/…`, with Go's message.
    pub fn envoy_v1(error: crate::xds::v1::V1Error) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, &error.to_string(), Cors::Omitted)
    }

    /// 503: the xDS server is off or does not answer.
    pub fn xds_server_unavailable() -> ApiError {
        ApiError::unavailable("xDS server")
    }

    fn unavailable(what: &str) -> ApiError {
        let text = format!("Service Unavailable - the {what} cannot be reached");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, &text, Cors::Omitted)
    }

    fn new(status: StatusCode, message: &str, cors: Cors) -> ApiError {
        ApiError {
            status,
            message: message.to_owned(),
            cors,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.cors == Cors::Sent {
            with_cors(&mut response);
        }
        response.content_type("application/json").body(self.body())
    }
}

/// Adds Go's CORS headers: `Access-Control-Allow-Origin: *` and
/// `Access-Control-Allow-Methods: GET`.
pub(super) fn with_cors(response: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    response
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET"),
        ))
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;

    use super::*;

    fn parts(err: &ApiError) -> (u16, bool, String) {
        let response = err.error_response();
        let cors = response
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN);
        let status = response.status().as_u16();
        let body = response.into_body().try_into_bytes().unwrap();
        (status, cors, String::from_utf8(body.to_vec()).unwrap())
    }

    #[test]
    fn errors_are_go_json_bodies_with_cors_only_where_go_sends_it() {
        let (status, cors, body) = parts(&ApiError::encoding(Cors::Sent));
        assert_eq!((status, cors), (500, true));
        assert_eq!(
            body,
            r#"{"message":"Internal server error","status":"error"}"#
        );
        let (status, cors, _) = parts(&ApiError::bad_extension(Cors::Omitted));
        assert_eq!((status, cors), (404, false));
        let (status, cors, body) = parts(&ApiError::state_unavailable());
        assert_eq!((status, cors), (500, false));
        assert!(body.contains("Something went terribly wrong"));
    }

    #[test]
    fn the_message_is_escaped_json() {
        let (_, _, body) = parts(&ApiError::no_instances("a\"b"));
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["message"], "no instances of a\"b found");
    }
}
