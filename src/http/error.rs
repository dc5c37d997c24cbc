//! The one place where errors become HTTP answers: the answers themselves here, the
//! domain's errors mapped onto them in `domain`, the framework's own in `framework`.
//!
//! Every error body has the shape of a Supabase hook error object:
//! `{"error": {"http_code": 401, "code": "invalid_signature", "message": "..."}}`.

use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

mod domain;
mod framework;

pub use framework::render;

/// The one path parameter of the API: a user id.
pub const PATH_PARAMETER: &str = "id";

/// Seconds a client should wait before retrying while the database is unavailable.
pub const RETRY_AFTER_SECONDS: &str = "1";

/// What went wrong.
#[derive(Object, Debug, Clone)]
pub struct ErrorDetail {
    /// The HTTP status, repeated for clients that only see the body.
    pub http_code: u16,
    /// A stable, machine-readable code, such as `invalid_signature`.
    pub code: String,
    /// A sentence for people, naming the header, field or setting at fault.
    pub message: String,
}

/// The body of every error answer.
#[derive(Object, Debug, Clone)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

impl ErrorBody {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Json<Self> {
        Json(Self {
            error: ErrorDetail {
                http_code: status.as_u16(),
                code: code.to_owned(),
                message: message.into(),
            },
        })
    }
}

/// Error answers of the API.
#[derive(ApiResponse, Debug)]
pub enum ErrorResponse {
    /// The body is not valid JSON, a parameter is invalid, or the `webhook-signature`
    /// header holds more than 16 entries or 4096 bytes; the message names it.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// The signature or bearer token is missing or wrong. Nothing was written.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// No such resource.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The body is larger than the endpoint takes: 1 MiB for the hooks, 64 KiB for a
    /// profile edit or a sync. The rest of it is not read.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The body is not `application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// The JSON does not have the expected shape; the message names the field.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// An unexpected failure; the details are in the server log.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is unavailable. Nothing was written; retry after `Retry-After` seconds.
    /// Supabase Auth retries a 503 only when this header is present, and then at once,
    /// whatever its value: at most 3 attempts in all, within 5 s.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        String,
    ),
}

impl ErrorResponse {
    /// 401 for a request without a valid bearer token.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Unauthorized(ErrorBody::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            message,
        ))
    }

    /// 400 for a query or path parameter that cannot be used; the message starts with its name.
    pub fn invalid_parameter(name: &str, problem: &str) -> Self {
        Self::BadRequest(ErrorBody::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            format!("{name}: {problem}"),
        ))
    }

    /// 401 for a refused access token.
    pub fn invalid_token(message: impl Into<String>) -> Self {
        Self::Unauthorized(ErrorBody::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            message,
        ))
    }

    /// 404 for an unknown resource.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(ErrorBody::new(StatusCode::NOT_FOUND, "not_found", message))
    }

    /// 422 for a body of the wrong shape.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::Unprocessable(ErrorBody::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_payload",
            message,
        ))
    }

    /// 413 for a body larger than `limit` (`64 KiB`).
    pub fn payload_too_large(limit: &str) -> Self {
        Self::PayloadTooLarge(ErrorBody::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {limit}"),
        ))
    }

    /// 400 for a body the client stopped sending or sent garbled.
    pub fn unreadable_body() -> Self {
        Self::BadRequest(ErrorBody::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the body could not be read to its end",
        ))
    }

    /// 415 for a body not sent as JSON.
    pub fn unsupported_media_type() -> Self {
        Self::UnsupportedMediaType(ErrorBody::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            UNSUPPORTED_MEDIA_TYPE,
        ))
    }

    /// 503 with `Retry-After`: the request bodies held at once reached their bound.
    pub fn busy() -> Self {
        Self::Unavailable(
            ErrorBody::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "supahook holds as many request bodies as it may at once; retry shortly",
            ),
            RETRY_AFTER_SECONDS.to_owned(),
        )
    }

    /// 503 with `Retry-After`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::Unavailable(
            ErrorBody::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                message,
            ),
            RETRY_AFTER_SECONDS.to_owned(),
        )
    }
}

/// An error answer of a page outside the API's operations (the console), in the same
/// shape as every other: `status`, a stable `code`, and a sentence for people.
pub fn refusal(status: StatusCode, code: &str, message: impl Into<String>) -> poem::Response {
    use poem::IntoResponse;
    ErrorBody::new(status, code, message)
        .with_status(status)
        .into_response()
}

/// What a 415 says.
const UNSUPPORTED_MEDIA_TYPE: &str = "the body must be sent with Content-Type: application/json";
