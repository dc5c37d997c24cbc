//! How the errors of the domain (signatures, access tokens, payloads, storage)
//! become answers, and what each logs.

use super::{ErrorBody, ErrorResponse, RETRY_AFTER_SECONDS};
use crate::events::ParseError;
use crate::infra::error_chain::describe;
use crate::jwt::TokenError;
use crate::signature::SignatureError;
use crate::storage::StorageError;
use crate::token_claims::AnswerError;
use poem::http::StatusCode;

/// Where a request without signature headers learns how to sign one.
const HOW_TO_SIGN: &str = "hooks are signed per Standard Webhooks: `supahook sign body.json` \
     prints the three headers for a body (README, \"Commands\")";

impl From<SignatureError> for ErrorResponse {
    fn from(error: SignatureError) -> Self {
        tracing::warn!(reason = %error, "delivery rejected: signature");
        let message = match error {
            // Most often a first request sent by hand, unsigned.
            SignatureError::MissingHeader(_) | SignatureError::NoCredentials => {
                format!("{error}; {HOW_TO_SIGN}")
            }
            _ => error.to_string(),
        };
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

impl From<AnswerError> for ErrorResponse {
    fn from(error: AnswerError) -> Self {
        match error {
            AnswerError::Storage(error) => error.into(),
            AnswerError::Claims(error) => error.into(),
        }
    }
}

impl From<StorageError> for ErrorResponse {
    fn from(error: StorageError) -> Self {
        // An outage or a full spool fails every request alike; the breaker and the spool
        // log when it starts and ends, so each request only logs at debug.
        match &error {
            StorageError::Unavailable(_) => {
                tracing::debug!(error = %describe(&error), "storage unavailable")
            }
            _ => tracing::error!(error = %describe(&error), "storage failed"),
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
