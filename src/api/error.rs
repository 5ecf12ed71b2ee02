//! [`ApiError`]: the JSON error answers of the API (SPEC §1.8, §6.5), with or without the CORS
//! headers exactly where Go sends them (SPEC §6.2).

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use serde::Serialize;

/// An error answer: `{"message":"<text>","status":"error"}` as `application/json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    cors: bool,
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
    pub fn bad_extension(cors: bool) -> ApiError {
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
            true,
        )
    }

    /// 404 from the drain endpoint: no live record of this node has that ID.
    pub fn drain_not_found(id: &str) -> ApiError {
        let text = format!("Not Found - Service ID \"{id}\" not found");
        ApiError::new(StatusCode::NOT_FOUND, &text, false)
    }

    /// 500 `Internal server error`: an encoding failed.
    pub fn encoding(cors: bool) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            cors,
        )
    }

    /// 500 from the drain endpoint: the StateKeeper could not be reached.
    pub fn state_unavailable() -> ApiError {
        let text = "Internal Server Error - Something went terribly wrong";
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, text, false)
    }

    /// The message text.
    pub fn message(&self) -> &str {
        &self.message
    }

    fn new(status: StatusCode, message: &str, cors: bool) -> ApiError {
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
        let body = ErrorBody {
            message: &self.message,
            status: "error",
        };
        let mut response = HttpResponse::build(self.status);
        if self.cors {
            with_cors(&mut response);
        }
        response
            .content_type("application/json")
            .body(serde_json::to_vec(&body).unwrap_or_default())
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
