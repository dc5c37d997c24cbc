//! The edit API: the application-owned fields of a user.

use super::admin::AdminToken;
use super::json_body::JsonBody;
use super::profile_edit::ProfileEdit;
use super::user_view::UserView;
use super::{ApiTags, AppState, ErrorResponse};
use crate::storage::Queries;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use std::sync::Arc;
use uuid::Uuid;

/// The edit API.
pub struct ProfilesApi;

/// Answers to a profile edit.
#[derive(ApiResponse)]
pub enum UpdateProfileResponse {
    /// The user and its profile after the edit.
    #[oai(status = 200)]
    Ok(Json<UserView>),
}

#[OpenApi(tag = "ApiTags::Users")]
impl ProfilesApi {
    /// Edit a user's application-owned fields
    ///
    /// Sets `is_onboarded`, `display_name`, `avatar_url` and `settings`; fields left out
    /// stay as they are. These fields belong to the application: a sync never overwrites
    /// a name or avatar set here, and with `SUPAHOOK_TOKEN_PROFILE_CLAIM` set the next
    /// access token of the user carries the new `is_onboarded` and `display_name`.
    #[oai(
        path = "/v1/users/:id/profile",
        method = "patch",
        operation_id = "updateProfile"
    )]
    async fn update_profile(
        &self,
        state: Data<&Arc<AppState>>,
        token: AdminToken,
        /// The Supabase user id.
        id: Path<Uuid>,
        body: JsonBody<ProfileEdit>,
    ) -> Result<UpdateProfileResponse, ErrorResponse> {
        // The token needs no body: a caller without it costs no body read.
        token.check(&state)?;
        let changes = body
            .parse()
            .await?
            .changes()
            .map_err(ErrorResponse::unprocessable)?;
        let now = crate::events::to_micros(chrono::Utc::now());
        let edited = state.storage.update_profile(id.0, &changes, now).await?;
        // The user's next token shows the edit here at once; other replicas hear of it
        // on `supahook_claims` at the edit's commit.
        state.token_claims.forget(id.0);
        match edited {
            Some(user) => Ok(UpdateProfileResponse::Ok(Json(user.into()))),
            None => Err(ErrorResponse::not_found(format!(
                "no user with id {}",
                id.0
            ))),
        }
    }
}
