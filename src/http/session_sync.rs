//! The endpoint a frontend calls after sign-in: the user, mirrored from its verified
//! access token through the same use-case as the hooks.

use super::json_body::OptionalJson;
use super::profile_edit::ProfileEdit;
use super::self_edit;
use super::user_view::UserView;
use super::{ApiTags, AppState, ErrorResponse};
use crate::events;
use crate::mirror::Outcome;
use crate::storage::{ProfileChanges, Queries};
use poem::web::Data;
use poem_openapi::auth::Bearer;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, SecurityScheme};
use std::sync::Arc;

/// The path browsers call; CORS applies to it alone.
pub const SYNC_PATH: &str = "/api/auth/users/sync";

/// The frontend sync endpoint.
pub struct SessionSyncApi;

/// `Authorization: Bearer <access token>`: the Supabase session of the signed-in user
/// (`session.access_token` in supabase-js), signed with the project's JWT secret
/// (HS256) or its published keys (ES256, RS256).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT")]
pub struct SupabaseSession(Bearer);

/// The user as mirrored after the sync.
#[derive(Object, Debug)]
#[oai(example)]
pub struct SyncUserAnswer {
    /// `true` when this call mirrored the user for the first time.
    pub created: bool,
    /// What the sync did: `created`, `updated`, `unchanged`, `stale` (the token is older
    /// than what is mirrored) or `duplicate` (this token was synced before).
    pub outcome: String,
    /// The user and its profile.
    pub user: UserView,
    /// Fields of the body that were left out because users may not set them:
    /// `is_onboarded`, unless `SUPAHOOK_USERS_MAY_SET_ONBOARDED=true`. Empty when the
    /// whole body was applied.
    pub ignored: Vec<String>,
}

/// Answers to a sync.
#[derive(ApiResponse)]
pub enum SyncUserResponse {
    /// The user and its profile, as mirrored now.
    #[oai(status = 200)]
    Ok(Json<SyncUserAnswer>),
}

/// Why a body was refused, with what the body may hold.
fn body_refused(reason: &str) -> ErrorResponse {
    ErrorResponse::unprocessable(format!(
        "{reason}; the body may hold only is_onboarded, display_name, avatar_url and settings, \
         because the user and every mirrored field come from the access token"
    ))
}

#[OpenApi(tag = "ApiTags::Frontend")]
impl SessionSyncApi {
    /// Sync the signed-in user
    ///
    /// Call it from the frontend after sign-in (and on token refresh) with the user's
    /// access token. supahook verifies the token, then creates or updates the user and
    /// its profile from the token's claims, exactly as the custom-access-token hook
    /// would: ordered by `iat`, and applied once per token. The identity is never taken
    /// from the body. The body may set what users may change about themselves:
    /// `display_name`, `avatar_url` and `settings`, stored as given (within the limits
    /// below), so whatever reads them must escape them as untrusted text. `is_onboarded`
    /// belongs to the application (`PATCH /v1/users/{id}/profile`): in a body it
    /// changes nothing and is named in `ignored`, unless the operator lets users set it
    /// (`SUPAHOOK_USERS_MAY_SET_ONBOARDED=true`). Any other field is a 422. An invalid,
    /// expired or wrong-audience token is a 401 and writes nothing; a valid token whose
    /// claims cannot be mirrored (an email or phone over 255 characters, say) is a 422
    /// naming the claim, and writes nothing either.
    #[oai(
        path = "/api/auth/users/sync",
        method = "post",
        operation_id = "syncUser"
    )]
    async fn sync_user(
        &self,
        state: Data<&Arc<AppState>>,
        session: SupabaseSession,
        body: OptionalJson<ProfileEdit>,
    ) -> Result<SyncUserResponse, ErrorResponse> {
        let Some(tokens) = &state.tokens else {
            return Err(ErrorResponse::invalid_token(
                "the sync endpoint is off: set SUPAHOOK_JWT_SECRET or SUPAHOOK_JWKS_URL",
            ));
        };
        // The token needs no body: a caller without a valid one costs no body read.
        let verified = tokens.verify(&session.0.token).await?;
        let changes = match body.read().await? {
            None => ProfileChanges::default(),
            Some(Err(reason)) => return Err(body_refused(&reason)),
            Some(Ok(edit)) => edit.changes().map_err(|reason| body_refused(&reason))?,
        };
        let (changes, ignored) = self_edit::users_part(changes, state.users_may_set_onboarded);
        // The token is genuine, so a claim that cannot be mirrored is a payload error.
        let delivery = events::session_delivery(&verified)?;
        let Some(id) = delivery.change.user_id() else {
            return Err(ErrorResponse::invalid_token("the token names no user"));
        };
        let outcome = state.mirroring.apply_now(&delivery).await?;
        let storage = &state.storage;
        let user = if changes.is_empty() {
            storage.user_details(id).await?
        } else {
            let now = events::to_micros(chrono::Utc::now());
            let edited = storage.update_profile(id, &changes, now).await?;
            state.token_claims.forget(id);
            edited
        };
        let Some(user) = user else {
            return Err(ErrorResponse::not_found(format!(
                "user {id} was deleted in Supabase"
            )));
        };
        Ok(SyncUserResponse::Ok(Json(SyncUserAnswer {
            created: outcome == Outcome::Created,
            outcome: outcome.as_str().to_owned(),
            user: user.into(),
            ignored,
        })))
    }
}
