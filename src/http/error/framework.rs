//! Errors raised by poem and poem-openapi themselves, answered in the shape of every
//! other error.

use super::{ErrorBody, ErrorResponse, PATH_PARAMETER, UNSUPPORTED_MEDIA_TYPE};
use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::error::{AuthorizationError, ParseParamError, ParsePathError};

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
