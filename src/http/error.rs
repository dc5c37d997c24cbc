//! The one place where errors become HTTP answers.
//!
//! Every error body has the shape of a Supabase hook error object:
//! `{"error": {"http_code": 401, "code": "invalid_signature", "message": "..."}}`.

use crate::events::ParseError;
use crate::jwt::TokenError;
use crate::signature::SignatureError;
use crate::storage::StorageError;
use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::error::{AuthorizationError, ParseParamError, ParsePathError};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

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
    /// Supabase Auth retries a 503 only when this header is present.
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

/// What a 415 says.
const UNSUPPORTED_MEDIA_TYPE: &str = "the body must be sent with Content-Type: application/json";

impl From<SignatureError> for ErrorResponse {
    fn from(error: SignatureError) -> Self {
        tracing::warn!(reason = %error, "delivery rejected: signature");
        let message = error.to_string();
        match error {
            SignatureError::TooManySignatures(_) | SignatureError::SignatureHeaderTooLong(_) => {
                Self::BadRequest(ErrorBody::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_signature_header",
                    message,
                ))
            }
            _ => Self::Unauthorized(ErrorBody::new(
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
                message,
            )),
        }
    }
}

impl From<TokenError> for ErrorResponse {
    fn from(error: TokenError) -> Self {
        tracing::info!(reason = %error, "access token refused");
        match error {
            TokenError::KeysUnavailable => Self::Unavailable(
                ErrorBody::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "keys_unavailable",
                    error.to_string(),
                ),
                RETRY_AFTER_SECONDS.to_owned(),
            ),
            _ => Self::invalid_token(error.to_string()),
        }
    }
}

impl From<ParseError> for ErrorResponse {
    fn from(error: ParseError) -> Self {
        // The field's path only: a shape error's message can quote the value (an email).
        tracing::warn!(field = error.field(), "delivery rejected: payload");
        match error {
            ParseError::Syntax(_) => Self::BadRequest(ErrorBody::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                error.to_string(),
            )),
            ParseError::Shape(message) => Self::unprocessable(message),
        }
    }
}

impl From<StorageError> for ErrorResponse {
    fn from(error: StorageError) -> Self {
        // An outage or a full spool fails every request alike; the breaker and the spool
        // log when it starts and ends, so each request only logs at debug.
        match &error {
            StorageError::Unavailable(_) => {
                tracing::debug!(error = %error_chain(&error), "storage unavailable")
            }
            _ => tracing::error!(error = %error_chain(&error), "storage failed"),
        }
        match error {
            StorageError::Unavailable(_) => {
                Self::unavailable("the database is unavailable; retry shortly")
            }
            _ => Self::Internal(ErrorBody::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "an internal error occurred; see the server log",
            )),
        }
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Renders errors raised by the framework itself (unknown route, missing body,
/// wrong content type, oversized body, bad path parameter) as JSON error bodies.
pub async fn render(error: poem::Error) -> Response {
    if error.is_from_response() {
        return error.into_response();
    }
    // poem-openapi names path parameters by position (`param0`) in its error. Every
    // path of this API takes one parameter, the user id `id`, so the error names it.
    if let Some(ParsePathError { reason, .. }) = error.downcast_ref::<ParsePathError>() {
        return ErrorResponse::invalid_parameter(PATH_PARAMETER, reason).into_response();
    }
    // A query parameter that fails its type or the limits the spec states: the same
    // answer as a parameter the handler refuses itself.
    if let Some(ParseParamError { name, reason }) = error.downcast_ref::<ParseParamError>() {
        return ErrorResponse::invalid_parameter(name, reason).into_response();
    }
    // poem-openapi's own message ("authorization error") does not say what is wrong.
    if error.is::<AuthorizationError>() {
        return ErrorResponse::unauthorized(
            "the Authorization header is missing or is not `Bearer <token>`",
        )
        .into_response();
    }
    let status = error.status();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        s if s.is_client_error() => "bad_request",
        _ => "internal_error",
    };
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            "this path does not accept the method; the Allow header lists those it does".to_owned()
        }
        StatusCode::PAYLOAD_TOO_LARGE => "the body is larger than this endpoint takes".to_owned(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => UNSUPPORTED_MEDIA_TYPE.to_owned(),
        s if s.is_server_error() => {
            tracing::error!(error = %error, "request failed");
            "an internal error occurred; see the server log".to_owned()
        }
        _ => error.to_string(),
    };
    ErrorBody::new(status, code, message)
        .with_status(status)
        .into_response()
}
