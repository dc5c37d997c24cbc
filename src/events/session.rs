//! The change a verified access token asks for: the user as its claims describe it,
//! the same change custom-access-token makes from the same claims.

use super::auth_hooks::AccessTokenClaims;
use super::{CustomAccessTokenInput, Delivery, HookKind, ParseError};
use crate::jwt::VerifiedToken;
use serde_json::Value;
use uuid::Uuid;

/// The delivery for a token presented to the sync endpoint. Identity and every
/// mirrored field come from the verified claims; the version is `iat`, and the
/// idempotency key is the token's digest, so presenting one token twice applies once.
pub fn session_delivery(token: &VerifiedToken) -> Result<Delivery, ParseError> {
    claims_delivery(token.claims(), token.digest())
}

/// The delivery for the claims of an access token whose SHA-256 is `digest`: what
/// [`session_delivery`] does once the token is verified. Public so the claims parser
/// can be exercised on its own, without signing a token.
pub fn claims_delivery(claims: &Value, digest: &str) -> Result<Delivery, ParseError> {
    let claims: AccessTokenClaims = super::from_value(claims).map_err(|e| match e {
        ParseError::Shape(message) => ParseError::Shape(format!("token claim {message}")),
        syntax => syntax,
    })?;
    let user_id = claims
        .sub
        .as_deref()
        .and_then(|sub| Uuid::parse_str(sub).ok())
        .ok_or_else(|| ParseError::Shape("token claim sub: not a user id".into()))?;
    let session = claims.session_id.clone().unwrap_or_default();
    let input = CustomAccessTokenInput {
        metadata: None,
        user_id,
        claims,
        authentication_method: None,
    };
    let key = format!("users-sync:{digest}");
    Ok(Delivery {
        hook: HookKind::UsersSync,
        change: input.delivery(&key)?.change,
        idempotency_key: key,
        webhook_id: session,
    })
}
