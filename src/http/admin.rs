//! The bearer token that guards the read and edit API.

use super::{AppState, ErrorResponse};
use crate::signature::same_secret;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use secrecy::ExposeSecret;

/// `Authorization: Bearer <SUPAHOOK_ADMIN_TOKEN>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer")]
pub struct AdminToken(Bearer);

impl AdminToken {
    /// Passes when the token is the configured admin token.
    pub fn check(&self, state: &AppState) -> Result<(), ErrorResponse> {
        let Some(expected) = &state.admin_token else {
            return Err(ErrorResponse::unauthorized(
                "the read API is off: set SUPAHOOK_ADMIN_TOKEN to turn it on",
            ));
        };
        if !same_secret(&self.0.token, expected.expose_secret()) {
            return Err(ErrorResponse::unauthorized("the bearer token is not valid"));
        }
        Ok(())
    }
}
